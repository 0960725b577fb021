/* The harness-channel link (bench/channels.c), shared with bench/robot.c. */
#ifndef ABM_CHANNELS_H
#define ABM_CHANNELS_H

#include <stddef.h>
#include <stdint.h>

#include "abm.h"

typedef struct abm_chan_cfg {
  const char *transport; /* ab_transport_find name: ring, shm, pipe, unix, mq, tcp */
  int64_t spin_ns;
  unsigned depth;        /* 0: 4 */
  int policy;            /* AB_BLOCK or AB_DROP */
  size_t extra;          /* msg_max beyond the payload (the robot's frame channel has 64) */
} abm_chan_cfg_t;

extern const abm_link_ops_t abm_chan_ops, abm_chan_inplace_ops;

#endif
