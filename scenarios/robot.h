/* The robot scenario's own pieces shared between scenarios/robot.c (its roles, set-up and
 * descriptor) and scenarios/robot_vision.c (vision's image processing and its calibration).
 * Not for other scenarios. */
#ifndef AB_ROBOT_H
#define AB_ROBOT_H

#include <stdint.h>

#include "camera.h"
#include "markers.h"

/* Set-up figures every role reads (shared memory for procs). */
#define OBS_RING 64 /* the times of the latest observations, for the accounting at the stop */

typedef struct shared {
  int decim;
  uint64_t last_commanded;   /* driver: the latest observation a command carried */
  int64_t obs_t[OBS_RING];   /* vision: when observation n was published, at n % OBS_RING */
  int64_t pad_rows;   /* rows of the full-resolution edge pass that pad detection to target */
  int width, height;
  int ik_iters, waypoints;
  int64_t serial_timeout_ns;
} shared_t;

/* Frame integrity, detection and the edge pad: what vision.detect_ns times. Returns the
 * markers found (or -errno); *corrupt when a synthetic frame's checksum does not match;
 * *edge_row is where the next pad pass starts (it walks the whole frame in turn). */
int robot_vision_detect(const shared_t *sh, const ab_frame_meta_t *meta, const uint8_t *px, int *edge_row,
                        ab_marker_t *found, int *corrupt);

/* What the detector costs here, measured once per command: every architecture of one
 * command runs the same image processing (the same decimation and pad), so they differ
 * only in how they run it. (A cache across runs, not per-run state: the supervisor's.) */
typedef struct vision_calib {
  int w, h;
  int64_t target;
  int decim, nt;
  int64_t cost[3];            /* at each of decims[] */
  int64_t detect_ns, pad_ns;  /* at the decimation chosen; what the pad adds to reach target */
  int64_t pad_rows;
  double row_ns;
} vision_calib_t;
extern const int robot_decims[3];
/* Calibrate vision for sh's frame size and this target (sets sh->decim as it goes): 0, 1
 * when this command's earlier calibration is reused, -EINVAL when no decimation finds the
 * markers drawn, -ENOMEM. */
int robot_calibrate_vision(shared_t *sh, int64_t target, vision_calib_t *c);

#endif
