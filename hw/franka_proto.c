/* The robot link's wire format (franka_proto.h): encoding and checked decoding. Byte by byte,
 * so the layout is the same on any host and no unaligned access happens in a received
 * buffer; doubles travel as their IEEE 754 bit patterns.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "franka_proto.h"

static void ab__put64(uint8_t *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t ab__get64(const uint8_t *p)
{
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static void ab__put_doubles(uint8_t *p, const double *v, int n)
{
  for (int i = 0; i < n; i++) {
    uint64_t u;
    memcpy(&u, &v[i], sizeof u);
    ab__put64(p + 8 * i, u);
  }
}

/* 0, or -EDOM if one of them is not finite. */
static int ab__get_doubles(const uint8_t *p, double *v, int n)
{
  for (int i = 0; i < n; i++) {
    uint64_t u = ab__get64(p + 8 * i);
    memcpy(&v[i], &u, sizeof u);
    if (!isfinite(v[i]))
      return -EDOM;
  }
  return 0;
}

static void ab__put_hdr(uint8_t *out, uint32_t kind)
{
  ab__put64(out, (uint64_t)kind << 32 | AB_FK_MAGIC);
}

size_t ab_fk_encode_state(uint8_t *out, const ab_franka_state_t *s)
{
  ab__put_hdr(out, AB_FK_STATE);
  ab__put64(out + 8, s->seq);
  ab__put64(out + 16, (uint64_t)s->t_sent);
  ab__put_doubles(out + 24, s->q, AB_FK_JOINTS);
  ab__put_doubles(out + 24 + 8 * AB_FK_JOINTS, s->dq, AB_FK_JOINTS);
  return AB_FK_STATE_LEN;
}

size_t ab_fk_encode_cmd(uint8_t *out, uint64_t seq, const double tau[AB_FK_JOINTS])
{
  ab__put_hdr(out, AB_FK_CMD);
  ab__put64(out + 8, seq);
  ab__put_doubles(out + 16, tau, AB_FK_JOINTS);
  return AB_FK_CMD_LEN;
}

size_t ab_fk_encode_start(uint8_t *out, int64_t t_start)
{
  ab__put_hdr(out, AB_FK_START);
  ab__put64(out + 8, (uint64_t)t_start);
  return AB_FK_START_LEN;
}

size_t ab_fk_encode_stop(uint8_t *out)
{
  ab__put_hdr(out, AB_FK_STOP);
  return AB_FK_STOP_LEN;
}

int ab_fk_decode(const void *buf, size_t len, ab_fk_msg_t *m)
{
  static const size_t lens[] = { [AB_FK_STATE] = AB_FK_STATE_LEN, [AB_FK_CMD] = AB_FK_CMD_LEN,
                                 [AB_FK_START] = AB_FK_START_LEN, [AB_FK_STOP] = AB_FK_STOP_LEN };
  const uint8_t *p = buf;
  if (len < AB_FK_HDR_LEN)
    return -EMSGSIZE;
  uint64_t hdr = ab__get64(p);
  uint32_t kind = (uint32_t)(hdr >> 32);
  if ((uint32_t)hdr != AB_FK_MAGIC || kind < AB_FK_STATE || kind > AB_FK_STOP)
    return -EBADMSG;
  if (len != lens[kind])
    return -EMSGSIZE;
  memset(m, 0, sizeof *m);
  m->kind = kind;
  switch (kind) {
  case AB_FK_STATE:
    m->state.seq = ab__get64(p + 8);
    m->state.t_sent = (int64_t)ab__get64(p + 16);
    if (ab__get_doubles(p + 24, m->state.q, AB_FK_JOINTS) < 0 ||
        ab__get_doubles(p + 24 + 8 * AB_FK_JOINTS, m->state.dq, AB_FK_JOINTS) < 0)
      return -EDOM;
    break;
  case AB_FK_CMD:
    m->cmd.seq = ab__get64(p + 8);
    if (ab__get_doubles(p + 16, m->cmd.tau, AB_FK_JOINTS) < 0)
      return -EDOM;
    break;
  case AB_FK_START:
    m->t_start = (int64_t)ab__get64(p + 8);
    break;
  }
  return (int)kind;
}
