/* The camera's two backends share these (hw/camera.c: synthetic and the interface;
 * hw/camera_v4l2.c: libv4l2). Not for anyone else. */
#ifndef AB_CAMERA_IMPL_H
#define AB_CAMERA_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "camera.h"

#define AB__VARIANTS 4
#define AB__NBUF 4

typedef struct ab__cam_state {
  int real;
  int width, height;
  uint32_t bytesperline; /* real: as negotiated (rows may be padded) */
  double fps;
  int64_t period_ns;
  size_t frame_bytes;    /* width * height * 3: what grab writes */
  uint8_t *frames;       /* synthetic: AB__VARIANTS frames, shared memory */
  size_t frames_size;
  uint64_t check[AB__VARIANTS]; /* synthetic: each frame's checksum */
  char path[240];
} ab__cam_state_t;

struct ab_camera {
  ab__cam_state_t *st;
  int fd;
  /* synthetic */
  int64_t t_first;  /* when frame 0 was complete: the stream start */
  uint64_t expired; /* frames completed so far */
  /* libv4l2 */
  unsigned nbuf;
  struct { void *start; size_t len; } buf[AB__NBUF];
};

/* A one-line message into err (AB_ERRLEN bytes; NULL: none). */
void ab__cam_err(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Wait until fd is readable or the deadline (CLOCK_MONOTONIC ns, < 0: none) passes:
 * 0, -ETIMEDOUT or -errno. */
int ab__cam_wait(int fd, int64_t deadline);

/* libv4l2 (camera_v4l2.c) */
int ab__v4l2_prepare(ab__cam_state_t *st, char *err);
int ab__v4l2_open(ab__cam_state_t *st, ab_camera_t *c, char *err);
int ab__v4l2_grab(ab_camera_t *c, void *dst, ab_frame_meta_t *meta, int64_t deadline, uint64_t *skipped);
void ab__v4l2_close(ab_camera_t *c);

#endif
