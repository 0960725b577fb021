/* The robot link's wire format: UDP datagrams between the controller (the owner role of the
 * franka device) and the robot (hw/franka_robot.c's mock, or a bridge to a real robot), in
 * the manner of libfranka's realtime interface: the robot sends its state every period on
 * its own clock, the controller answers each state with a command naming the state's seq.
 *
 * Every datagram is little-endian, fixed size by kind, and starts with the same 8 bytes:
 *
 *   off  size  field
 *     0     4  magic   AB_FK_MAGIC (the bytes 'A' 'B' 'F' 'K')
 *     4     4  kind    enum ab_fk_kind
 *
 * STATE   robot -> controller, 136 bytes, every period from START until STOP or the end:
 *     8     8  seq        uint64, 0 for the first state after START, +1 each period
 *    16     8  t_sent_ns  int64, the robot's CLOCK_MONOTONIC when it sent this state
 *    24    56  q[7]       double (IEEE 754 binary64), joint positions, rad
 *    80    56  dq[7]      double, joint velocities, rad/s
 * CMD     controller -> robot, 72 bytes, one per state:
 *     8     8  seq        uint64, the seq of the state it answers
 *    16    56  tau[7]     double, joint torques, Nm
 * START   controller -> robot, 16 bytes:
 *     8     8  t_start_ns int64, CLOCK_MONOTONIC: state k is due at t_start + k * period
 * STOP    controller -> robot, 8 bytes: no more states.
 *
 * The robot answers to the address START came from. A datagram whose length is not its
 * kind's, whose magic or kind is unknown, or that carries a non-finite double is malformed:
 * decoding rejects it and the receiver counts it and goes on. Encoding and decoding are pure
 * (no I/O, no allocation, no state), so a role can call them inside a timed step.
 */
#ifndef AB_FRANKA_PROTO_H
#define AB_FRANKA_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define AB_FK_MAGIC 0x4B464241u /* "ABFK" read as a little-endian uint32 */
#define AB_FK_JOINTS 7

enum ab_fk_kind { AB_FK_STATE = 1, AB_FK_CMD = 2, AB_FK_START = 3, AB_FK_STOP = 4 };

#define AB_FK_HDR_LEN 8
#define AB_FK_STATE_LEN (AB_FK_HDR_LEN + 16 + 2 * AB_FK_JOINTS * 8)
#define AB_FK_CMD_LEN (AB_FK_HDR_LEN + 8 + AB_FK_JOINTS * 8)
#define AB_FK_START_LEN (AB_FK_HDR_LEN + 8)
#define AB_FK_STOP_LEN AB_FK_HDR_LEN
#define AB_FK_MAX_LEN AB_FK_STATE_LEN

typedef struct ab_franka_state {
  uint64_t seq;
  int64_t t_sent; /* the robot's CLOCK_MONOTONIC ns at send */
  double q[AB_FK_JOINTS], dq[AB_FK_JOINTS];
} ab_franka_state_t;

typedef struct ab_fk_cmd {
  uint64_t seq;
  double tau[AB_FK_JOINTS];
} ab_fk_cmd_t;

typedef struct ab_fk_msg {
  uint32_t kind; /* enum ab_fk_kind: which member holds the datagram */
  union {
    ab_franka_state_t state;
    ab_fk_cmd_t cmd;
    int64_t t_start; /* START */
  };
} ab_fk_msg_t;

/* Encode into out (at least AB_FK_MAX_LEN bytes); each returns the datagram's length. */
size_t ab_fk_encode_state(uint8_t *out, const ab_franka_state_t *s);
size_t ab_fk_encode_cmd(uint8_t *out, uint64_t seq, const double tau[AB_FK_JOINTS]);
size_t ab_fk_encode_start(uint8_t *out, int64_t t_start);
size_t ab_fk_encode_stop(uint8_t *out);
/* Decode one datagram of len bytes: its kind (> 0) with *m filled, or -EBADMSG (bad magic or
 * unknown kind), -EMSGSIZE (not the kind's length), -EDOM (a non-finite double). */
int ab_fk_decode(const void *buf, size_t len, ab_fk_msg_t *m);

#endif
