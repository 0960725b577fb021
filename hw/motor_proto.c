/* The motor-controller wire protocol (motor_proto.h): frame encoding, CRC16 and the streaming
 * parser. Both ends use it: the owner role of the serial device speaks it to the controller,
 * and the simulated controller in serial.c parses requests with the same parser. No I/O and no
 * allocation here, so a role can call it inside a timed step.
 */
#include <errno.h>
#include <string.h>

#include "motor_proto.h"

/* Header (SOF, type, seq, len) and trailer (crc16) around the payload. */
#define AB__MP_HDR 4
#define AB__MP_CRC 2

uint16_t ab_mp_crc16(const uint8_t *p, size_t n)
{
  uint16_t crc = 0xFFFF;
  while (n--) {
    crc ^= (uint16_t)(*p++ << 8);
    for (int i = 0; i < 8; i++)
      crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
  }
  return crc;
}

static void ab__put_le32(uint8_t *p, int32_t v)
{
  uint32_t u = (uint32_t)v;
  p[0] = (uint8_t)u;
  p[1] = (uint8_t)(u >> 8);
  p[2] = (uint8_t)(u >> 16);
  p[3] = (uint8_t)(u >> 24);
}

static int32_t ab__get_le32(const uint8_t *p)
{
  return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                   (uint32_t)p[3] << 24);
}

int ab_mp_encode(uint8_t *out, uint8_t type, uint8_t seq, const void *payload, uint8_t len)
{
  if (len > AB_MP_MAX_PAYLOAD || (len && !payload))
    return -EINVAL;
  out[0] = AB_MP_SOF;
  out[1] = type;
  out[2] = seq;
  out[3] = len;
  if (len)
    memcpy(out + AB__MP_HDR, payload, len);
  uint16_t crc = ab_mp_crc16(out + 1, 3 + (size_t)len);
  out[AB__MP_HDR + len] = (uint8_t)crc;
  out[AB__MP_HDR + len + 1] = (uint8_t)(crc >> 8);
  return AB__MP_HDR + len + AB__MP_CRC;
}

int ab_mp_encode_set(uint8_t *out, uint8_t seq, const int32_t q[AB_MP_JOINTS])
{
  uint8_t pl[AB_MP_SET_LEN];
  for (int j = 0; j < AB_MP_JOINTS; j++)
    ab__put_le32(pl + 4 * j, q[j]);
  return ab_mp_encode(out, AB_MP_SET, seq, pl, sizeof pl);
}

int ab_mp_encode_status(uint8_t *out, uint8_t seq, const int32_t q[AB_MP_JOINTS], uint8_t flags)
{
  uint8_t pl[AB_MP_STATUS_LEN];
  for (int j = 0; j < AB_MP_JOINTS; j++)
    ab__put_le32(pl + 4 * j, q[j]);
  pl[AB_MP_JOINTS * 4] = flags;
  return ab_mp_encode(out, AB_MP_STATUS, seq, pl, sizeof pl);
}

int ab_mp_status(const ab_mp_frame_t *f, int32_t q[AB_MP_JOINTS], uint8_t *flags)
{
  if (f->type != AB_MP_STATUS || f->len != AB_MP_STATUS_LEN)
    return -EINVAL;
  for (int j = 0; j < AB_MP_JOINTS; j++)
    q[j] = ab__get_le32(f->payload + 4 * j);
  if (flags)
    *flags = f->payload[AB_MP_JOINTS * 4];
  return 0;
}

int ab_mp_set_targets(const ab_mp_frame_t *f, int32_t q[AB_MP_JOINTS])
{
  if (f->type != AB_MP_SET || f->len != AB_MP_SET_LEN)
    return -EINVAL;
  for (int j = 0; j < AB_MP_JOINTS; j++)
    q[j] = ab__get_le32(f->payload + 4 * j);
  return 0;
}

void ab_mp_parser_init(ab_mp_parser_t *p)
{
  memset(p, 0, sizeof *p);
}

/* Drop the first k buffered bytes, then anything before the next SOF: the buffer always
 * starts with a SOF or is empty, which is what lets a rejected frame be searched again. */
static void ab__mp_drop(ab_mp_parser_t *p, size_t k)
{
  memmove(p->buf, p->buf + k, p->have - k);
  p->have -= k;
  size_t i = 0;
  while (i < p->have && p->buf[i] != AB_MP_SOF)
    i++;
  if (i) {
    p->resyncs += i;
    memmove(p->buf, p->buf + i, p->have - i);
    p->have -= i;
  }
}

/* Judge what is buffered: 0 need more bytes, 1 a valid frame, -AB_MP_NAK_* rejected. The
 * length is checked as soon as the header is in, so a corrupt len never makes us wait for
 * (or buffer) bytes that belong to the next frame beyond what a legal frame could hold. */
static int ab__mp_judge(ab_mp_parser_t *p, ab_mp_frame_t *f, size_t *flen)
{
  if (p->have < AB__MP_HDR)
    return 0;
  uint8_t len = p->buf[3];
  size_t need = AB__MP_HDR + (size_t)len + AB__MP_CRC;
  if (len <= AB_MP_MAX_PAYLOAD && p->have < need)
    return 0;
  f->type = p->buf[1];
  f->seq = p->buf[2];
  f->len = len;
  if (len > AB_MP_MAX_PAYLOAD) {
    p->len_errors++;
    return -AB_MP_NAK_LEN;
  }
  uint16_t want = (uint16_t)(p->buf[need - 2] | p->buf[need - 1] << 8);
  if (ab_mp_crc16(p->buf + 1, 3 + (size_t)len) != want) {
    p->crc_errors++;
    return -AB_MP_NAK_CRC;
  }
  memcpy(f->payload, p->buf + AB__MP_HDR, len);
  *flen = need;
  return 1;
}

size_t ab_mp_feed(ab_mp_parser_t *p, const uint8_t *in, size_t n, ab_mp_frame_t *f, int *got)
{
  size_t used = 0;
  for (;;) {
    size_t flen = 0;
    int r = ab__mp_judge(p, f, &flen);
    if (r) {
      /* A rejected frame gives back everything after its SOF: a truncated frame swallows the
       * start of the next one, which must still be found. */
      ab__mp_drop(p, r > 0 ? flen : 1);
      *got = r;
      return used;
    }
    if (used == n)
      break;
    uint8_t b = in[used++];
    if (p->have == 0 && b != AB_MP_SOF) {
      p->resyncs++;
      continue;
    }
    p->buf[p->have++] = b;
  }
  *got = 0;
  return used;
}
