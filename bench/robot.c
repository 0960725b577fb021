/* The robot scenario's two hand-overs (scenarios/robot.c), through the harness channels with
 * the robot's own declarations, every way a runtime can carry them:
 *
 *   robot-obs-<t>/<arch>/oneway/48          the motor command (motor_msg_t, 48 bytes) on the
 *                                            "motor" channel: depth 8, drop when full.
 *   robot-frame-<t>/<arch>/oneway/6220800   a 1920x1080 RGB frame on the "frame" channel:
 *                                            depth 2, drop when full, msg_max frame + 64,
 *                                            handed over by copy (ab_chan_send of a captured
 *                                            buffer; the kernel transports copy it twice).
 *   robot-frame-inplace-<ring|shm>/...      the same frame written in place (send_begin /
 *                                            send_end) and read in place (the slot itself).
 * <t> is ring for threads and shm, pipe, unix, mq, tcp for procs. One-way only: in the
 * scenario these flow one way, paced by their producer.
 */
#include <stdint.h>

#include "abm.h"
#include "channels.h"
#include "motor_proto.h"

/* scenarios/robot.c keeps motor_msg_t private; this is its layout. */
typedef struct abm_motor_msg {
  int32_t q[AB_MP_JOINTS];
  uint64_t obs_seq;
  int64_t t_obs, t_frame;
} abm_motor_msg_t;
_Static_assert(sizeof(abm_motor_msg_t) == 48, "the robot's observation/command is 48 bytes");

#define OBS(t) { t, 0, 8, AB_DROP, 0 }
#define FRAME(t) { t, 0, 2, AB_DROP, 64 }

static const abm_chan_cfg_t obs_ring = OBS("ring"), obs_shm = OBS("shm"), obs_pipe = OBS("pipe"),
                            obs_unix = OBS("unix"), obs_mq = OBS("mq"), obs_tcp = OBS("tcp");
static const abm_chan_cfg_t fr_ring = FRAME("ring"), fr_shm = FRAME("shm"), fr_pipe = FRAME("pipe"),
                            fr_unix = FRAME("unix"), fr_mq = FRAME("mq"), fr_tcp = FRAME("tcp");

static const int64_t obs_size[] = { sizeof(abm_motor_msg_t) }, frame_size[] = { ABM_FRAME };

#define T ABM_ARCH(ABM_THREADS)
#define P ABM_ARCH(ABM_PROCS)
#define OW ABM_MODE(ABM_ONEWAY)

static const abm_link_def_t defs[] = {
  { "robot-obs-ring", &abm_chan_ops, &obs_ring, T, OW, obs_size, 1, 0 },
  { "robot-obs-shm", &abm_chan_ops, &obs_shm, P, OW, obs_size, 1, 0 },
  { "robot-obs-pipe", &abm_chan_ops, &obs_pipe, P, OW, obs_size, 1, 0 },
  { "robot-obs-unix", &abm_chan_ops, &obs_unix, P, OW, obs_size, 1, 0 },
  { "robot-obs-mq", &abm_chan_ops, &obs_mq, P, OW, obs_size, 1, 0 },
  { "robot-obs-tcp", &abm_chan_ops, &obs_tcp, P, OW, obs_size, 1, 0 },
  { "robot-frame-ring", &abm_chan_ops, &fr_ring, T, OW, frame_size, 1, 0 },
  { "robot-frame-shm", &abm_chan_ops, &fr_shm, P, OW, frame_size, 1, 0 },
  { "robot-frame-pipe", &abm_chan_ops, &fr_pipe, P, OW, frame_size, 1, 0 },
  { "robot-frame-unix", &abm_chan_ops, &fr_unix, P, OW, frame_size, 1, 0 },
  { "robot-frame-mq", &abm_chan_ops, &fr_mq, P, OW, frame_size, 1, 0 },
  { "robot-frame-tcp", &abm_chan_ops, &fr_tcp, P, OW, frame_size, 1, 0 },
  { "robot-frame-inplace-ring", &abm_chan_inplace_ops, &fr_ring, T, OW, frame_size, 1, 0 },
  { "robot-frame-inplace-shm", &abm_chan_inplace_ops, &fr_shm, P, OW, frame_size, 1, 0 },
};

void abm_register_robot(void)
{
  abm_register_links(defs, (int)(sizeof defs / sizeof defs[0]));
}
