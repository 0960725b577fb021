/* The robot: a 1 kHz torque-controlled arm behind libfranka's contract, reached over UDP (the
 * wire format is hw/franka_proto.h). Only the mock exists ("mock-udp"): a robot simulator in a
 * helper process on 127.0.0.1 (hw/franka_robot.c); libfranka is not packaged for Debian, so
 * there is no real backend and the device's option (--robot) is never parsed.
 *
 * The robot sends state k at t_start + k * period on its own clock. The controller answers
 * each state with a command carrying its seq. The robot judges every state by its own clock,
 * whatever the controller believes:
 *   deadline   the state's actual send time + period (before the next state is due, counted
 *              from when it really left, so the mock's own lateness never counts against the
 *              controller); commands are timestamped by the kernel on arrival.
 *   on time    its first command arrived by the deadline.
 *   violation  late (the command came after the deadline) or missed (none came at all).
 *   reflex     after reflex_after consecutive violations (communication_constraints_violation):
 *              for reflex_reset the robot refuses every command (`refused`) while states keep
 *              flowing; a state whose send-to-deadline window overlaps the reflex is not
 *              judged but counted `in_reflex`; then the consecutive count starts again.
 *   bad        a datagram the robot cannot take (malformed, a STATE, a second START), a
 *              command for a seq never sent (or, beyond the log, over 4096 states old);
 *              `duplicate`: a second command for the same state. Neither answers anything.
 */
#ifndef AB_FRANKA_H
#define AB_FRANKA_H

#include "ab.h"
#include "franka_proto.h"
#include "hw.h"

typedef struct ab_franka ab_franka_t;

#define AB_FRANKA_DEFAULT_PERIOD_NS AB_NS_PER_MS
#define AB_FRANKA_DEFAULT_REFLEX_AFTER 1
#define AB_FRANKA_DEFAULT_REFLEX_RESET_NS (100 * AB_NS_PER_MS)
#define AB_FRANKA_LOG_STATES (1u << 18) /* states judged one by one: 262 s at 1 kHz */

/* Supervisor, after prepare and before the run (a scenario's setup): period_ns in 10 us..1 s,
 * duration_ns 0 (until STOP) or up to a day, reflex_after 1..1e9, reflex_reset_ns 0..60 s.
 * The robot reads them when START arrives. 0 or -EINVAL (the caller names the parameter). */
int ab_franka_config(void *state, int64_t period_ns, int64_t duration_ns, int reflex_after,
                     int64_t reflex_reset_ns);

/* Owner side, on the handle ab_franka_ops.open returned; neither blocks. recv: 1 with the next
 * state in *s, 0 if none is waiting (malformed datagrams are skipped). send: 0. Both return a
 * negative errno on failure. */
int ab_franka_recv_state_h(void *h, ab_franka_state_t *s);
int ab_franka_send_cmd_h(void *h, uint64_t seq, const double tau[AB_FK_JOINTS]);
/* The same from a role, on the robot it owns, through its context (marked as blocking, so a
 * runtime can wrap them); -ENODEV if the role owns no robot. */
int ab_franka_recv_state(ab_ctx_t *ctx, ab_franka_state_t *s);
int ab_franka_send_cmd(ab_ctx_t *ctx, uint64_t seq, const double tau[AB_FK_JOINTS]);

typedef struct ab_franka_stats {
  /* States whose deadline was at or before t_end, by their verdict:
   * states == on_time + late + missed + in_reflex + unjudged. */
  uint64_t states, on_time, violations, late, missed, in_reflex;
  uint64_t reflexes; /* triggered by those states' violations */
  uint64_t refused;  /* commands for those states refused during a reflex */
  uint64_t unjudged; /* no verdict yet when the wait ran out (a stalled or dead robot) */
  /* Every one the robot saw, not cut at t_end (they answer no state). */
  uint64_t bad, duplicate;
  /* ns. Response: command arrival - the state's send, over the states answered on time or
   * late. Send lateness: the robot's own, send - schedule (when it is large the robot, not
   * the controller, was late). */
  int64_t resp_p50, resp_p99, resp_p999, resp_max;
  int64_t send_late_p99, send_late_max;
  /* More states than AB_FRANKA_LOG_STATES: those beyond are in the counts above, though not
   * cut at t_end, and in send_late_max, not in the percentiles. */
  int log_full;
  /* The robot ran SCHED_FIFO, above the controller and everything else of the run, as a
   * robot on its own computer would be; 0 where the machine did not allow it. */
  int sched_fifo;
} ab_franka_stats_t;

/* Supervisor, after the run (a scenario's finish, before release): the verdicts of the states
 * due by t_end (CLOCK_MONOTONIC; an interrupted run's last states are not the controller's).
 * Waits for the robot to judge them (it is done at once after STOP or the configured duration)
 * up to 3 periods or 200 ms, whichever is longer, past t_end, or past now if t_end has passed
 * (a t_end more than a second ahead counts as one second ahead). 0, or -ETIMEDOUT with *out
 * filled as far as judged (`unjudged`), or -EINVAL before prepare, or -ENOMEM. */
int ab_franka_stats(const void *state, int64_t t_end, ab_franka_stats_t *out);
/* fn(arg, ns) for the response time of each state counted as on time or late in the same
 * window (without waiting: call it after ab_franka_stats). The number of calls, or -EINVAL. */
int ab_franka_response_times(const void *state, int64_t t_end, void (*fn)(void *arg, int64_t ns),
                             void *arg);

#endif
