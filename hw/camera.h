/* Camera: libv4l2 capture from /dev/videoN (format negotiation to RGB24, mmap streaming,
 * conversion by libv4l2), or a synthetic source delivering RGB24 frames on a clock at the
 * configured rate, readable through a file descriptor (a timerfd: readable when a new frame
 * is due), each frame one of a few prerendered variants with fiducial markers drawn at known
 * places (see hw/markers.h for the marker format and the truth).
 */
#ifndef AB_CAMERA_H
#define AB_CAMERA_H

#include "ab.h"
#include "hw.h"

typedef struct ab_camera ab_camera_t;

typedef struct ab_frame_meta {
  uint64_t seq;        /* frame number since the stream started */
  int64_t t_capture;   /* CLOCK_MONOTONIC ns when the frame was complete */
  int32_t width, height, stride; /* stride in bytes; pixels are RGB24 */
  int32_t variant;     /* synthetic: which prerendered frame (truth known); real: -1 */
  int32_t pad;
  uint64_t check;      /* synthetic: ab_frame_checksum of the pixels as sent; real: 0 */
} ab_frame_meta_t;

/* A checksum of n bytes (n a multiple of 8 or not) fast enough for every frame: four
 * independent multiply-xor lanes over 64-bit words, so it streams at memory speed. */
uint64_t ab_frame_checksum(const void *p, size_t n);

/* Geometry as prepared (valid in the supervisor after prepare, and in the owner). */
void ab_camera_geometry(const void *state, int *width, int *height);
/* Copy the newest complete frame into dst (cap >= width*height*3, else -EINVAL), packed:
 * stride width*3 whatever the driver's row padding. Waits up to timeout_ns for one if none
 * is new since the last grab (0: do not wait; < 0: wait as long as it takes); -ETIMEDOUT if
 * none came. Frames skipped because a newer one was ready (and, real cameras, frames the
 * driver flagged corrupted) are added to *skipped (may be NULL). Synthetic: variant is
 * seq % 4 and t_capture the frame's intended completion, stream start + seq * period; the
 * stream starts when the device is opened, and again at the run's start (devops start), so
 * that frame 0 is complete just before the run's first instant.
 * Owner side only, like open/close. */
int ab_camera_grab_h(ab_camera_t *c, void *dst, size_t cap, ab_frame_meta_t *meta,
                   int64_t timeout_ns, uint64_t *skipped);
/* Is a frame ready to grab without waiting? (The fd is readable.) */
int ab_camera_ready_h(ab_camera_t *c);
/* The same from a role, on the camera it owns, through its context (a grab is marked as
 * blocking, so a runtime can wrap it); -ENODEV (ready: 0) if the role owns no camera. */
int ab_camera_grab(ab_ctx_t *ctx, void *dst, size_t cap, ab_frame_meta_t *meta, int64_t timeout_ns,
                   uint64_t *skipped);
int ab_camera_ready(ab_ctx_t *ctx);

#endif
