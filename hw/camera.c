/* Camera device (see camera.h, hw.h): two backends behind ab_camera_ops.
 *
 * synthetic  prepare renders AB__VARIANTS scenes with fiducial markers (hw/markers.c)
 *            into shared memory, so a forked owner role sees them at the same address. open
 *            starts an absolute periodic timerfd: its expirations are the frames the sensor
 *            finished, so the fd is readable exactly when a frame is due and a slow reader
 *            finds several expirations (frames it skipped). grab copies the newest frame's
 *            pixels, as DMA plus libv4l2's conversion would on a real camera.
 * libv4l2    prepare probes the node (capture + streaming capabilities, RGB24 negotiated
 *            through libv4l2's conversion) and closes it again; open sets up mmap streaming
 *            with AB__NBUF buffers in the owner; grab drains every ready buffer, keeps the
 *            newest and requeues the rest.
 * `state` lives in memory shared by every role, so it holds plain data only; the handle
 * (fds, mappings) belongs to the owner role that opened it. The libv4l2 backend is
 * camera_v4l2.c's; the two share camera_impl.h.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "ab.h"
#include "camera.h"
#include "camera_impl.h"
#include "markers.h"
#include "shm.h"

void ab__cam_err(char *err, const char *fmt, ...)
{
  if (!err)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, AB_ERRLEN, fmt, ap);
  va_end(ap);
}

/* Wait until fd is readable or the deadline (CLOCK_MONOTONIC ns, < 0: none) passes. */
int ab__cam_wait(int fd, int64_t deadline)
{
  for (;;) {
    struct timespec ts, *tp = NULL;
    if (deadline >= 0) {
      int64_t left = deadline - ab_now_ns();
      if (left <= 0)
        return -ETIMEDOUT;
      ts = ab_ts(left);
      tp = &ts;
    }
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r = ppoll(&p, 1, tp, NULL);
    if (r > 0)
      return 0;
    if (r == 0)
      return -ETIMEDOUT;
    if (errno != EINTR)
      return -errno;
  }
}

/* ---- synthetic ------------------------------------------------------------------------ */

static int ab__syn_prepare(ab__cam_state_t *st, char *err)
{
  st->frame_bytes = (size_t)st->width * st->height * 3;
  st->frames_size = st->frame_bytes * AB__VARIANTS;
  st->frames = ab_shm_alloc(st->frames_size, 1);
  if (!st->frames) {
    int e = errno ? errno : ENOMEM;
    ab__cam_err(err, "camera synthetic: cannot allocate %zu bytes of shared memory for %d frames (%s)",
            st->frames_size, AB__VARIANTS, strerror(e));
    st->frames_size = 0;
    return -e;
  }
  for (int v = 0; v < AB__VARIANTS; v++) {
    ab_markers_render(v, st->frames + v * st->frame_bytes, st->width, st->height,
                      st->width * 3);
    st->check[v] = ab_frame_checksum(st->frames + v * st->frame_bytes, st->frame_bytes);
  }
  return 0;
}

/* The sensor's clock: frame k is complete at t_first + k * period. */
static int ab__syn_clock(ab_camera_t *c, int64_t t_first, char *err)
{
  c->t_first = t_first;
  c->expired = 0;
  struct itimerspec its = { .it_interval = ab_ts(c->st->period_ns), .it_value = ab_ts(t_first) };
  if (timerfd_settime(c->fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
    int e = errno;
    ab__cam_err(err, "camera synthetic: timerfd_settime: %s", strerror(e));
    return -e;
  }
  return 0;
}

static int ab__syn_open(ab__cam_state_t *st, ab_camera_t *c, char *err)
{
  c->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (c->fd < 0) {
    int e = errno;
    ab__cam_err(err, "camera synthetic: timerfd_create: %s", strerror(e));
    return -e;
  }
  int r = ab__syn_clock(c, ab_now_ns() + st->period_ns, err);
  if (r < 0) {
    close(c->fd);
    c->fd = -1;
  }
  return r;
}

static int ab__syn_grab(ab_camera_t *c, void *dst, ab_frame_meta_t *meta, int64_t deadline,
                        uint64_t *skipped)
{
  const ab__cam_state_t *st = c->st;
  uint64_t n = 0;
  for (;;) {
    ssize_t r = read(c->fd, &n, sizeof n);
    if (r == (ssize_t)sizeof n && n > 0)
      break;
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0 && errno != EAGAIN)
      return -errno;
    int w = ab__cam_wait(c->fd, deadline);
    if (w < 0)
      return w;
  }
  c->expired += n;
  uint64_t seq = c->expired - 1;
  int variant = (int)(seq % AB__VARIANTS);
  memcpy(dst, st->frames + variant * st->frame_bytes, st->frame_bytes);
  if (skipped)
    *skipped += n - 1;
  if (meta)
    *meta = (ab_frame_meta_t){ .seq = seq,
                               .t_capture = c->t_first + (int64_t)seq * st->period_ns,
                               .width = st->width, .height = st->height,
                               .stride = st->width * 3, .variant = variant,
                               .check = st->check[variant] };
  return 0;
}

/* ---- the device interface ------------------------------------------------------------- */

static int ab__cam_prepare(void *state, const ab_dev_opts_t *o, char *err)
{
  ab__cam_state_t *st = state;
  ab_dev_opts_t def = { .width = 1920, .height = 1080, .fps = 30 };
  if (!o)
    o = &def;
  if (st->frames) /* prepared before and never released */
    ab_shm_free(st->frames, st->frames_size, 1);
  memset(st, 0, sizeof *st);
  st->width = o->width ? o->width : 1920;
  st->height = o->height ? o->height : 1080;
  st->fps = o->fps != 0 ? o->fps : 30;
  if (st->width < 16 || st->width > 8192 || st->height < 16 || st->height > 8192) {
    ab__cam_err(err, "camera: size %dx%d out of range (16x16 to 8192x8192)", o->width, o->height);
    return -EINVAL;
  }
  if (!(st->fps > 0 && st->fps <= 1000)) {
    ab__cam_err(err, "camera: fps %g out of range (0 < fps <= 1000)", o->fps);
    return -EINVAL;
  }
  st->period_ns = llround(1e9 / st->fps);
  st->frame_bytes = (size_t)st->width * st->height * 3;
  if (!o->camera)
    return ab__syn_prepare(st, err);
  if (strlen(o->camera) >= sizeof st->path) {
    ab__cam_err(err, "camera %.64s...: path longer than %zu bytes", o->camera, sizeof st->path - 1);
    return -EINVAL;
  }
  strcpy(st->path, o->camera);
  st->real = 1;
  int r = ab__v4l2_prepare(st, err);
  if (r < 0)
    st->real = 0;
  return r;
}

static void ab__cam_release(void *state)
{
  ab__cam_state_t *st = state;
  if (st->frames)
    ab_shm_free(st->frames, st->frames_size, 1);
  memset(st, 0, sizeof *st);
}

static const char *ab__cam_backend(const void *state)
{
  const ab__cam_state_t *st = state;
  return st->real ? st->path : "synthetic";
}

static int ab__cam_open(void *state, void **handle, char *err)
{
  ab__cam_state_t *st = state;
  if (!st->real && !st->frames) {
    ab__cam_err(err, "camera: open before a successful prepare");
    return -EINVAL;
  }
  ab_camera_t *c = calloc(1, sizeof *c);
  if (!c) {
    ab__cam_err(err, "camera: out of memory");
    return -ENOMEM;
  }
  c->st = st;
  c->fd = -1;
  int r = st->real ? ab__v4l2_open(st, c, err) : ab__syn_open(st, c, err);
  if (r < 0) {
    free(c);
    return r;
  }
  *handle = c;
  return 0;
}

static int ab__cam_fd(void *handle)
{
  return ((ab_camera_t *)handle)->fd;
}

/* The run starts: the synthetic sensor is streaming, its frame 0 complete 1 ms before the
 * run's first instant (so a role grabbing at the start finds it, whatever order the two
 * timers fire in). A real camera keeps its own clock. */
static void ab__cam_start(void *handle, int64_t t_start)
{
  ab_camera_t *c = handle;
  char err[AB_ERRLEN];
  if (!c->st->real) /* re-arming drops the old clock's expirations: they were no frames */
    ab__syn_clock(c, t_start - AB_NS_PER_MS, err);
}

static void ab__cam_close(void *handle)
{
  ab_camera_t *c = handle;
  if (!c)
    return;
  if (c->st->real)
    ab__v4l2_close(c);
  else
    close(c->fd);
  free(c);
}

const ab_devops_t ab_camera_ops = {
  .kind = "camera",
  .option = "--camera",
  .path_off = offsetof(ab_dev_opts_t, camera),
  .state_size = sizeof(ab__cam_state_t),
  .prepare = ab__cam_prepare,
  .release = ab__cam_release,
  .backend = ab__cam_backend,
  .open = ab__cam_open,
  .fd = ab__cam_fd,
  .start = ab__cam_start,
  .close = ab__cam_close,
};

void ab_camera_geometry(const void *state, int *width, int *height)
{
  const ab__cam_state_t *st = state;
  if (width)
    *width = st->width;
  if (height)
    *height = st->height;
}

int ab_camera_grab_h(ab_camera_t *c, void *dst, size_t cap, ab_frame_meta_t *meta,
                   int64_t timeout_ns, uint64_t *skipped)
{
  if (!c || !dst || cap < c->st->frame_bytes)
    return -EINVAL;
  int64_t deadline = timeout_ns < 0 ? -1 : ab_now_ns() + timeout_ns;
  return c->st->real ? ab__v4l2_grab(c, dst, meta, deadline, skipped)
                     : ab__syn_grab(c, dst, meta, deadline, skipped);
}

int ab_camera_ready_h(ab_camera_t *c)
{
  struct pollfd p = { .fd = c->fd, .events = POLLIN };
  return poll(&p, 1, 0) > 0;
}

uint64_t ab_frame_checksum(const void *p, size_t n)
{
  const uint64_t K = 0x9e3779b97f4a7c15ull;
  uint64_t a = 1, b = 2, c = 3, d = 4, w[4];
  const unsigned char *s = p;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    memcpy(w, s + i, 32);
    a = (a ^ w[0]) * K;
    b = (b ^ w[1]) * K;
    c = (c ^ w[2]) * K;
    d = (d ^ w[3]) * K;
  }
  for (; i < n; i++)
    a = (a ^ s[i]) * K;
  return (a ^ (b >> 1) ^ (c >> 2) ^ (d >> 3) ^ n) | 1; /* never 0: 0 means "unknown" */
}
