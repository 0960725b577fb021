/* The motor-controller wire protocol: small binary frames with a checksum.
 *
 *   0xA5 | type | seq | len | payload[len] | crc16 (CCITT-FALSE over type..payload, LE)
 *
 * Requests:  AB_MP_SET  payload 6 x int32 LE joint targets (micro-radians)
 *            AB_MP_READ payload empty
 * Replies:   AB_MP_STATUS payload 6 x int32 LE encoder positions (micro-radians) + uint8 flags
 *            AB_MP_NAK    payload 1 byte reason (bad crc, bad length, unknown type)
 * A reply carries the seq of its request. The parser resynchronises on 0xA5 after any error:
 * a rejected frame gives up only its own SOF, and the bytes it had swallowed are searched
 * again, so a good frame hidden behind a truncated one is still found.
 */
#ifndef AB_MOTOR_PROTO_H
#define AB_MOTOR_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define AB_MP_SOF 0xA5
#define AB_MP_JOINTS 6
#define AB_MP_MAX_PAYLOAD 64
#define AB_MP_MAX_FRAME (4 + AB_MP_MAX_PAYLOAD + 2)

enum { AB_MP_SET = 0x01, AB_MP_READ = 0x02, AB_MP_STATUS = 0x81, AB_MP_NAK = 0xEE };
enum { AB_MP_NAK_CRC = 1, AB_MP_NAK_LEN = 2, AB_MP_NAK_TYPE = 3 };
enum { AB_MP_F_MOVING = 1 }; /* STATUS flags: some joint has not reached its target */
#define AB_MP_SET_LEN (AB_MP_JOINTS * 4)
#define AB_MP_STATUS_LEN (AB_MP_JOINTS * 4 + 1)

typedef struct ab_mp_frame {
  uint8_t type, seq, len;
  uint8_t payload[AB_MP_MAX_PAYLOAD];
} ab_mp_frame_t;

typedef struct ab_mp_parser {
  uint8_t buf[AB_MP_MAX_FRAME];
  size_t have;
  uint64_t crc_errors, len_errors, resyncs; /* bytes skipped looking for SOF */
} ab_mp_parser_t;

uint16_t ab_mp_crc16(const uint8_t *p, size_t n);
/* Encode into out (>= AB_MP_MAX_FRAME bytes); returns the frame length or -EINVAL. */
int ab_mp_encode(uint8_t *out, uint8_t type, uint8_t seq, const void *payload, uint8_t len);
int ab_mp_encode_set(uint8_t *out, uint8_t seq, const int32_t q[AB_MP_JOINTS]);
int ab_mp_encode_status(uint8_t *out, uint8_t seq, const int32_t q[AB_MP_JOINTS], uint8_t flags);
/* Feed bytes; each call consumes up to n bytes and returns how many it consumed. *got is
 * set to 1 when a whole, valid frame is in *f (call again with the rest of the bytes), to
 * -AB_MP_NAK_CRC or -AB_MP_NAK_LEN when a frame was rejected (f->type, f->seq and f->len
 * are what its header said, so a controller can NAK it), else to 0. Loop until every byte
 * is consumed and a call reports *got == 0: after a rejection the bytes already buffered
 * are searched again and may hold a whole frame, which comes out with nothing consumed. */
size_t ab_mp_feed(ab_mp_parser_t *p, const uint8_t *in, size_t n, ab_mp_frame_t *f, int *got);
void ab_mp_parser_init(ab_mp_parser_t *p);
/* Decode a STATUS payload. Returns 0 or -EINVAL if the frame is not a well-formed STATUS. */
int ab_mp_status(const ab_mp_frame_t *f, int32_t q[AB_MP_JOINTS], uint8_t *flags);
/* Decode a SET payload (the controller's side). Returns 0 or -EINVAL. */
int ab_mp_set_targets(const ab_mp_frame_t *f, int32_t q[AB_MP_JOINTS]);

#endif
