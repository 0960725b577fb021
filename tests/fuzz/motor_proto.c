/* Fuzz target: the motor-controller protocol's streaming parser and frame decoders
 * (hw/motor_proto.c). The first byte picks what the rest is:
 *
 *   even  raw bytes off the wire;
 *   odd   frames to encode, each maybe behind junk (no SOF in it) or behind a truncated
 *         copy of another frame, as a noisy or reset link delivers them.
 *
 * Either stream is fed whole and again in pieces of 1 to 8 bytes (sizes taken from the
 * input), and these must hold:
 *   - the pieces change nothing: the same events, frames and counters in the same order;
 *   - every call makes progress: it consumes a byte or reports an event;
 *   - a frame comes out only if it was on the wire: its encoding is in the stream, it
 *     decodes alone from that encoding, and a STATUS or SET re-encodes from its decoded
 *     values to the same bytes;
 *   - a rejection is a bad length (len > 64) or a bad CRC, each counted once;
 *   - frames built with junk or truncated frames in front all come out, in order, and
 *     nothing else does, once the line has idled a frame's length after them (a truncated
 *     header holds the frames behind it until its own length has arrived); unless a
 *     truncated frame's bytes met a CRC by chance (then a frame that was never sent comes
 *     out: a CRC16 framing cannot tell, and that case is let be).
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "motor_proto.h"

#define MAX_STREAM 4096
#define MAX_EVENTS (2 * MAX_STREAM + 8)

typedef struct event {
  int got;
  ab_mp_frame_t f;
} event_t;

typedef struct trace {
  event_t ev[MAX_EVENTS];
  int n;
  ab_mp_parser_t p;
} trace_t;

static int frame_eq(const ab_mp_frame_t *a, const ab_mp_frame_t *b)
{
  return a->type == b->type && a->seq == b->seq && a->len == b->len &&
         (a->len > AB_MP_MAX_PAYLOAD || !memcmp(a->payload, b->payload, a->len));
}

/* Feed s in pieces (piece == NULL: in one), recording every event. */
static void feed(trace_t *t, const uint8_t *s, size_t n, const uint8_t *piece, size_t npiece)
{
  size_t at = 0, k = 0;
  ab_mp_parser_init(&t->p);
  t->n = 0;
  while (at < n) {
    size_t len = piece ? 1 + piece[k++ % npiece] % 8 : n - at;
    if (len > n - at)
      len = n - at;
    const uint8_t *in = s + at;
    at += len;
    for (;;) {
      ab_mp_frame_t f;
      int got = 7;
      size_t used = ab_mp_feed(&t->p, in, len, &f, &got);
      assert(used <= len);
      assert(got == 0 || got == 1 || got == -AB_MP_NAK_CRC || got == -AB_MP_NAK_LEN);
      assert(t->p.have <= AB_MP_MAX_FRAME);
      assert(t->p.have == 0 || t->p.buf[0] == AB_MP_SOF);
      in += used;
      len -= used;
      if (got == 0) {
        assert(len == 0); /* nothing to report: it took every byte */
        break;
      }
      assert(t->n < MAX_EVENTS);
      t->ev[t->n].got = got;
      t->ev[t->n++].f = f;
    }
  }
}

/* A frame that came out: on the wire, alone it decodes to itself, and its typed payload
 * re-encodes to the same bytes. */
static void check_frame(const ab_mp_frame_t *f, const uint8_t *s, size_t n)
{
  uint8_t enc[AB_MP_MAX_FRAME], again[AB_MP_MAX_FRAME];
  assert(f->len <= AB_MP_MAX_PAYLOAD);
  int k = ab_mp_encode(enc, f->type, f->seq, f->payload, f->len);
  assert(k == 4 + f->len + 2);
  assert(memmem(s, n, enc, (size_t)k));

  ab_mp_parser_t p;
  ab_mp_frame_t g;
  int got;
  ab_mp_parser_init(&p);
  assert(ab_mp_feed(&p, enc, (size_t)k, &g, &got) == (size_t)k && got == 1 && frame_eq(f, &g));
  assert(ab_mp_feed(&p, enc, 0, &g, &got) == 0 && got == 0 && p.have == 0);
  assert(!p.crc_errors && !p.len_errors && !p.resyncs);

  int32_t q[AB_MP_JOINTS];
  uint8_t flags;
  int st = ab_mp_status(f, q, &flags);
  assert(st == 0 || st == -EINVAL);
  assert((st == 0) == (f->type == AB_MP_STATUS && f->len == AB_MP_STATUS_LEN));
  if (st == 0)
    assert(ab_mp_encode_status(again, f->seq, q, flags) == k && !memcmp(again, enc, (size_t)k));
  st = ab_mp_set_targets(f, q);
  assert((st == 0) == (f->type == AB_MP_SET && f->len == AB_MP_SET_LEN));
  if (st == 0)
    assert(ab_mp_encode_set(again, f->seq, q) == k && !memcmp(again, enc, (size_t)k));
}

static void check_stream(const uint8_t *s, size_t n, const uint8_t *piece, size_t npiece,
                         const ab_mp_frame_t *sent, int nsent)
{
  static trace_t whole, pieces;
  feed(&whole, s, n, NULL, 0);
  feed(&pieces, s, n, piece, npiece);
  assert(whole.n == pieces.n);
  uint64_t crc = 0, len = 0;
  for (int i = 0; i < whole.n; i++) {
    const event_t *a = &whole.ev[i], *b = &pieces.ev[i];
    assert(a->got == b->got);
    if (a->got == 1) {
      assert(frame_eq(&a->f, &b->f));
      check_frame(&a->f, s, n);
    } else {
      assert(a->f.type == b->f.type && a->f.seq == b->f.seq && a->f.len == b->f.len);
      assert((a->got == -AB_MP_NAK_LEN) == (a->f.len > AB_MP_MAX_PAYLOAD));
      crc += a->got == -AB_MP_NAK_CRC;
      len += a->got == -AB_MP_NAK_LEN;
    }
  }
  assert(whole.p.crc_errors == crc && whole.p.len_errors == len);
  assert(pieces.p.crc_errors == crc && pieces.p.len_errors == len);
  assert(whole.p.resyncs == pieces.p.resyncs && whole.p.have == pieces.p.have);

  if (!sent)
    return;
  int k = 0;
  for (int i = 0; i < whole.n; i++) {
    if (whole.ev[i].got != 1)
      continue;
    if (k < nsent && frame_eq(&whole.ev[i].f, &sent[k])) {
      k++;
      continue;
    }
    return; /* a frame never sent: truncated bytes met a CRC by chance (see the top) */
  }
  assert(k == nsent);
}

/* The odd mode: [ctl type seq len junk... payload...]... ; ctl bit 0: junk first (the next
 * ctl>>2 bytes of input, SOF turned into 0); bit 1: a truncated copy of the previous frame
 * first (cut at ctl>>2). Then the line idles (zeros) for a whole frame's length. */
static size_t build(const uint8_t *d, size_t n, uint8_t *s, ab_mp_frame_t *sent, int *nsent)
{
  size_t at = 0, out = 0;
  uint8_t prev[AB_MP_MAX_FRAME];
  int prevlen = 0;
  *nsent = 0;
  /* room for one more turn (junk, a truncated frame, a frame) and the idle tail */
  while (at + 4 <= n && out + 4 * AB_MP_MAX_FRAME <= MAX_STREAM && *nsent < 256) {
    uint8_t ctl = d[at], type = d[at + 1], seq = d[at + 2];
    uint8_t len = d[at + 3] % (AB_MP_MAX_PAYLOAD + 1);
    at += 4;
    if (ctl & 1) {
      for (size_t j = 0; j < (size_t)(ctl >> 2) && at < n; j++, at++)
        s[out++] = d[at] == AB_MP_SOF ? 0 : d[at];
    }
    if ((ctl & 2) && prevlen > 1) {
      size_t cut = 1 + (size_t)(ctl >> 2) % (size_t)(prevlen - 1);
      memcpy(s + out, prev, cut);
      out += cut;
    }
    ab_mp_frame_t *f = &sent[(*nsent)++];
    memset(f, 0, sizeof *f);
    f->type = type;
    f->seq = seq;
    f->len = len;
    for (size_t j = 0; j < len; j++)
      f->payload[j] = at < n ? d[at++] : 0;
    prevlen = ab_mp_encode(prev, type, seq, f->payload, len);
    memcpy(s + out, prev, (size_t)prevlen);
    out += (size_t)prevlen;
  }
  memset(s + out, 0, AB_MP_MAX_FRAME); /* the line idles */
  return out + AB_MP_MAX_FRAME;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static uint8_t stream[MAX_STREAM];
  static ab_mp_frame_t sent[256];
  if (size < 1 || size > MAX_STREAM)
    return 0;
  const uint8_t *rest = data + 1;
  size_t n = size - 1;
  if (!(data[0] & 1)) {
    check_stream(rest, n, data, size, NULL, 0);
  } else {
    int nsent;
    size_t len = build(rest, n, stream, sent, &nsent);
    check_stream(stream, len, data, size, sent, nsent);
  }
  return 0;
}
