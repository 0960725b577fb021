/* Tests of the motor-controller wire protocol (hw/motor_proto.c): the CRC, frame round trips,
 * and the streaming parser's recovery from corrupt, truncated and garbage input. The serial
 * tests exercise the same code through the simulated controller.
 */
#include <errno.h>

#include "motor_proto.h"
#include "test.h"

/* What a parser run produced: one entry per call that reported something. */
typedef struct mp_event {
  int got;
  ab_mp_frame_t f;
} mp_event_t;

/* Feed `n` bytes in pieces of `chunk` (0: all at once), looping as the header asks: until all
 * is consumed and a call reports nothing. */
static int feed_all(ab_mp_parser_t *p, const uint8_t *in, size_t n, size_t chunk,
                    mp_event_t *ev, int max_ev)
{
  int nev = 0;
  size_t off = 0;
  while (off < n) {
    size_t piece = chunk && n - off > chunk ? chunk : n - off, used = 0;
    int got;
    do {
      ab_mp_frame_t f;
      memset(&f, 0, sizeof f);
      used += ab_mp_feed(p, in + off + used, piece - used, &f, &got);
      if (got) {
        ASSERT_INT(nev, <, max_ev);
        ev[nev].got = got;
        ev[nev].f = f;
        nev++;
      }
    } while (used < piece || got);
    off += piece;
  }
  return nev;
}

static const int32_t Q[AB_MP_JOINTS] = { 100000, -200000, 314159, 0, 2147483647, -2147483647 - 1 };

TEST(mp_crc16_is_ccitt_false_123456789_gives_0x29b1)
{
  ASSERT_EQ(ab_mp_crc16((const uint8_t *)"123456789", 9), 0x29B1);
  ASSERT_EQ(ab_mp_crc16(NULL, 0), 0xFFFF);
}

TEST(mp_set_frame_round_trips_through_the_parser)
{
  uint8_t buf[AB_MP_MAX_FRAME];
  int n = ab_mp_encode_set(buf, 42, Q);
  ASSERT_EQ(n, 4 + AB_MP_SET_LEN + 2);
  ASSERT_EQ(buf[0], AB_MP_SOF);
  ab_mp_parser_t p;
  ab_mp_parser_init(&p);
  mp_event_t ev[4];
  ASSERT_EQ(feed_all(&p, buf, (size_t)n, 0, ev, 4), 1);
  ASSERT_EQ(ev[0].got, 1);
  ASSERT_EQ(ev[0].f.type, AB_MP_SET);
  ASSERT_EQ(ev[0].f.seq, 42);
  ASSERT_EQ(ev[0].f.len, AB_MP_SET_LEN);
  int32_t q[AB_MP_JOINTS];
  ASSERT_EQ(ab_mp_set_targets(&ev[0].f, q), 0);
  for (int j = 0; j < AB_MP_JOINTS; j++)
    ASSERT_EQ(q[j], Q[j]);
  ASSERT_EQ(p.crc_errors + p.len_errors + p.resyncs, 0);
  ASSERT_EQ(p.have, 0);
}

TEST(mp_status_frame_round_trips_with_flags)
{
  uint8_t buf[AB_MP_MAX_FRAME];
  int n = ab_mp_encode_status(buf, 255, Q, AB_MP_F_MOVING);
  ASSERT_EQ(n, 4 + AB_MP_STATUS_LEN + 2);
  ab_mp_parser_t p;
  ab_mp_parser_init(&p);
  mp_event_t ev[4];
  ASSERT_EQ(feed_all(&p, buf, (size_t)n, 0, ev, 4), 1);
  int32_t q[AB_MP_JOINTS];
  uint8_t flags = 0;
  ASSERT_EQ(ab_mp_status(&ev[0].f, q, &flags), 0);
  ASSERT_EQ(ev[0].f.seq, 255);
  ASSERT_EQ(flags, AB_MP_F_MOVING);
  for (int j = 0; j < AB_MP_JOINTS; j++)
    ASSERT_EQ(q[j], Q[j]);
}

TEST(mp_empty_read_and_one_byte_nak_round_trip)
{
  uint8_t buf[2 * AB_MP_MAX_FRAME];
  int n = ab_mp_encode(buf, AB_MP_READ, 7, NULL, 0);
  ASSERT_EQ(n, 6);
  uint8_t reason = AB_MP_NAK_TYPE;
  int m = ab_mp_encode(buf + n, AB_MP_NAK, 8, &reason, 1);
  ASSERT_EQ(m, 7);
  ab_mp_parser_t p;
  ab_mp_parser_init(&p);
  mp_event_t ev[4];
  ASSERT_EQ(feed_all(&p, buf, (size_t)(n + m), 0, ev, 4), 2);
  ASSERT_EQ(ev[0].f.type, AB_MP_READ);
  ASSERT_EQ(ev[0].f.seq, 7);
  ASSERT_EQ(ev[0].f.len, 0);
  ASSERT_EQ(ev[1].f.type, AB_MP_NAK);
  ASSERT_EQ(ev[1].f.seq, 8);
  ASSERT_EQ(ev[1].f.len, 1);
  ASSERT_EQ(ev[1].f.payload[0], AB_MP_NAK_TYPE);
}

TEST(mp_encode_rejects_payload_longer_than_max)
{
  uint8_t buf[AB_MP_MAX_FRAME], pl[AB_MP_MAX_PAYLOAD + 1] = { 0 };
  ASSERT_EQ(ab_mp_encode(buf, AB_MP_SET, 1, pl, AB_MP_MAX_PAYLOAD + 1), -EINVAL);
  ASSERT_EQ(ab_mp_encode(buf, AB_MP_SET, 1, NULL, 3), -EINVAL);
  ASSERT_EQ(ab_mp_encode(buf, AB_MP_SET, 1, pl, AB_MP_MAX_PAYLOAD), AB_MP_MAX_FRAME);
}

TEST(mp_status_decode_rejects_wrong_type_or_length)
{
  ab_mp_frame_t f;
  int32_t q[AB_MP_JOINTS];
  memset(&f, 0, sizeof f);
  f.type = AB_MP_STATUS;
  f.len = AB_MP_STATUS_LEN - 1;
  ASSERT_EQ(ab_mp_status(&f, q, NULL), -EINVAL);
  f.type = AB_MP_NAK;
  f.len = AB_MP_STATUS_LEN;
  ASSERT_EQ(ab_mp_status(&f, q, NULL), -EINVAL);
  f.type = AB_MP_SET;
  f.len = AB_MP_SET_LEN + 1;
  ASSERT_EQ(ab_mp_set_targets(&f, q), -EINVAL);
}

TEST(mp_corrupt_byte_counted_and_next_frame_still_parses)
{
  uint8_t buf[2 * AB_MP_MAX_FRAME];
  int n = ab_mp_encode_set(buf, 1, Q);
  int m = ab_mp_encode(buf + n, AB_MP_READ, 2, NULL, 0);
  buf[10] ^= 0x40; /* a payload byte: header intact, crc wrong */
  ab_mp_parser_t p;
  ab_mp_parser_init(&p);
  mp_event_t ev[4];
  ASSERT_EQ(feed_all(&p, buf, (size_t)(n + m), 0, ev, 4), 2);
  ASSERT_EQ(ev[0].got, -AB_MP_NAK_CRC);
  ASSERT_EQ(ev[0].f.type, AB_MP_SET); /* enough to NAK the right request */
  ASSERT_EQ(ev[0].f.seq, 1);
  ASSERT_EQ(ev[1].got, 1);
  ASSERT_EQ(ev[1].f.type, AB_MP_READ);
  ASSERT_EQ(ev[1].f.seq, 2);
  ASSERT_EQ(p.crc_errors, 1);
  ASSERT_EQ(p.len_errors, 0);
  /* Everything after the bad frame's SOF up to the READ's SOF was searched and skipped. */
  ASSERT_EQ(p.resyncs, (uint64_t)n - 1);
}

TEST(mp_truncated_frame_then_good_frame_yields_good_one)
{
  uint8_t buf[2 * AB_MP_MAX_FRAME];
  int32_t t[AB_MP_JOINTS] = { 1, 2, 3, 4, 5, 6 };
  ab_mp_encode_set(buf, 9, t);
  size_t cut = 10; /* the host died mid-frame */
  int n = ab_mp_encode_set(buf + cut, 10, Q);
  ab_mp_parser_t p;
  ab_mp_parser_init(&p);
  mp_event_t ev[4];
  ASSERT_EQ(feed_all(&p, buf, cut + (size_t)n, 0, ev, 4), 2);
  /* The truncated SET swallowed the start of the good one, failed its crc, and gave the
   * swallowed bytes back. */
  ASSERT_EQ(ev[0].got, -AB_MP_NAK_CRC);
  ASSERT_EQ(ev[0].f.seq, 9);
  ASSERT_EQ(ev[1].got, 1);
  ASSERT_EQ(ev[1].f.seq, 10);
  int32_t q[AB_MP_JOINTS];
  ASSERT_EQ(ab_mp_set_targets(&ev[1].f, q), 0);
  ASSERT_EQ(q[2], Q[2]);
  ASSERT_EQ(p.have, 0);
}

TEST(mp_truncated_frame_alone_waits_for_more_bytes)
{
  uint8_t buf[AB_MP_MAX_FRAME];
  ab_mp_encode_set(buf, 3, Q);
  ab_mp_parser_t p;
  ab_mp_parser_init(&p);
  mp_event_t ev[4];
  ASSERT_EQ(feed_all(&p, buf, 20, 0, ev, 4), 0);
  ASSERT_EQ(p.have, 20);
  ASSERT_EQ(p.crc_errors + p.len_errors, 0);
}

TEST(mp_garbage_prefix_is_skipped_and_counted)
{
  uint8_t buf[64 + AB_MP_MAX_FRAME];
  size_t g = 0;
  static const uint8_t garbage[] = { 0x00, 0xFF, 0x13, 0x5A, 0x42, 0x81, 0xEE, 0x01, 0x02 };
  memcpy(buf, garbage, sizeof garbage);
  g = sizeof garbage;
  int n = ab_mp_encode_status(buf + g, 77, Q, 0);
  ab_mp_parser_t p;
  ab_mp_parser_init(&p);
  mp_event_t ev[4];
  ASSERT_EQ(feed_all(&p, buf, g + (size_t)n, 0, ev, 4), 1);
  ASSERT_EQ(ev[0].got, 1);
  ASSERT_EQ(ev[0].f.seq, 77);
  ASSERT_EQ(p.resyncs, g);
  ASSERT_EQ(p.crc_errors + p.len_errors, 0);
}

TEST(mp_garbage_containing_sof_resyncs_on_the_real_frame)
{
  /* A stray 0xA5 followed by a plausible header: the parser must not lose the real frame
   * that starts inside what the stray header claimed. */
  uint8_t buf[8 + AB_MP_MAX_FRAME] = { AB_MP_SOF, AB_MP_READ, 0, 5 };
  int n = ab_mp_encode_set(buf + 4, 33, Q);
  ab_mp_parser_t p;
  ab_mp_parser_init(&p);
  mp_event_t ev[4];
  int nev = feed_all(&p, buf, 4 + (size_t)n, 0, ev, 4);
  ASSERT_EQ(nev, 2);
  ASSERT_EQ(ev[0].got, -AB_MP_NAK_CRC);
  ASSERT_EQ(ev[1].got, 1);
  ASSERT_EQ(ev[1].f.seq, 33);
}

TEST(mp_overlong_len_field_is_rejected_at_the_header)
{
  uint8_t buf[4 + AB_MP_MAX_FRAME] = { AB_MP_SOF, AB_MP_SET, 5, AB_MP_MAX_PAYLOAD + 1 };
  int n = ab_mp_encode(buf + 4, AB_MP_READ, 6, NULL, 0);
  ab_mp_parser_t p;
  ab_mp_parser_init(&p);
  mp_event_t ev[4];
  /* The header alone is enough to reject it: no waiting for 65 payload bytes. */
  ASSERT_EQ(feed_all(&p, buf, 4, 0, ev, 4), 1);
  ASSERT_EQ(ev[0].got, -AB_MP_NAK_LEN);
  ASSERT_EQ(ev[0].f.seq, 5);
  ASSERT_EQ(ev[0].f.len, AB_MP_MAX_PAYLOAD + 1);
  ASSERT_EQ(p.len_errors, 1);
  ASSERT_EQ(feed_all(&p, buf + 4, (size_t)n, 0, ev, 4), 1);
  ASSERT_EQ(ev[0].got, 1);
  ASSERT_EQ(ev[0].f.seq, 6);
  ASSERT_EQ(p.resyncs, 3);
}

TEST(mp_byte_at_a_time_equals_bulk_feeding)
{
  /* A stream with every kind of trouble: garbage, a good frame, a corrupt one, a truncated
   * one, an over-long len, several good frames back to back. */
  uint8_t s[1024];
  size_t n = 0;
  static const uint8_t junk[] = { 0x11, AB_MP_SOF, 0x22, 0x01, 0x33 };
  memcpy(s + n, junk, sizeof junk);
  n += sizeof junk;
  n += (size_t)ab_mp_encode_set(s + n, 1, Q);
  size_t bad = n;
  n += (size_t)ab_mp_encode_status(s + n, 2, Q, 1);
  s[bad + 7] ^= 0xFF;
  n += 12; /* truncated SET: keep only 12 of its bytes */
  ab_mp_encode_set(s + n - 12, 3, Q);
  for (int i = 0; i < 3; i++)
    n += (size_t)ab_mp_encode(s + n, AB_MP_READ, (uint8_t)(10 + i), NULL, 0);
  s[n++] = AB_MP_SOF, s[n++] = AB_MP_SET, s[n++] = 4, s[n++] = 200;
  n += (size_t)ab_mp_encode_status(s + n, 20, Q, 0);
  n += (size_t)ab_mp_encode(s + n, AB_MP_READ, 21, NULL, 0);

  mp_event_t bulk[32], bytes[32], odd[32];
  ab_mp_parser_t pb, p1, p7;
  ab_mp_parser_init(&pb);
  ab_mp_parser_init(&p1);
  ab_mp_parser_init(&p7);
  int nb = feed_all(&pb, s, n, 0, bulk, 32);
  int n1 = feed_all(&p1, s, n, 1, bytes, 32);
  int n7 = feed_all(&p7, s, n, 7, odd, 32);
  ASSERT_INT(nb, >=, 6);
  ASSERT_EQ(n1, nb);
  ASSERT_EQ(n7, nb);
  for (int i = 0; i < nb; i++) {
    ASSERT_EQ(bytes[i].got, bulk[i].got);
    ASSERT_EQ(odd[i].got, bulk[i].got);
    ASSERT_EQ(bytes[i].f.seq, bulk[i].f.seq);
    ASSERT_EQ(odd[i].f.seq, bulk[i].f.seq);
    ASSERT_EQ(bytes[i].f.type, bulk[i].f.type);
    ASSERT_EQ(bytes[i].f.len, bulk[i].f.len);
    if (bulk[i].got > 0)
      ASSERT_EQ(memcmp(bytes[i].f.payload, bulk[i].f.payload, bulk[i].f.len), 0);
  }
  ASSERT_EQ(p1.crc_errors, pb.crc_errors);
  ASSERT_EQ(p1.len_errors, pb.len_errors);
  ASSERT_EQ(p1.resyncs, pb.resyncs);
  ASSERT_EQ(p7.resyncs, pb.resyncs);
  ASSERT_EQ(pb.len_errors, 1);
  ASSERT_INT(pb.crc_errors, >=, 2);
  /* The last two good frames survive everything before them. */
  ASSERT_EQ(bulk[nb - 2].got, 1);
  ASSERT_EQ(bulk[nb - 2].f.seq, 20);
  ASSERT_EQ(bulk[nb - 1].got, 1);
  ASSERT_EQ(bulk[nb - 1].f.seq, 21);
}
