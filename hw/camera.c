/* Camera device (see camera.h, hw.h): two backends behind ab_camera_ops.
 *
 * synthetic  prepare renders AB__VARIANTS scenes with fiducial markers (scenarios/markers.c)
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
 * (fds, mappings) belongs to the owner role that opened it.
 */
#include <errno.h>
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

#include <libv4l2.h>
#include <linux/videodev2.h>

#include "ab.h"
#include "camera.h"
#include "markers.h"
#include "shm.h"

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

static void ab__err(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ab__err(char *err, const char *fmt, ...)
{
  if (!err)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, AB_ERRLEN, fmt, ap);
  va_end(ap);
}

static int ab__ioctl(int fd, unsigned long req, void *arg)
{
  int r;
  do
    r = v4l2_ioctl(fd, req, arg);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}

/* Wait until fd is readable or the deadline (CLOCK_MONOTONIC ns, < 0: none) passes. */
static int ab__wait(int fd, int64_t deadline)
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
    ab__err(err, "camera synthetic: cannot allocate %zu bytes of shared memory for %d frames (%s)",
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
    ab__err(err, "camera synthetic: timerfd_settime: %s", strerror(e));
    return -e;
  }
  return 0;
}

static int ab__syn_open(ab__cam_state_t *st, ab_camera_t *c, char *err)
{
  c->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (c->fd < 0) {
    int e = errno;
    ab__err(err, "camera synthetic: timerfd_create: %s", strerror(e));
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
    int w = ab__wait(c->fd, deadline);
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

/* ---- libv4l2 -------------------------------------------------------------------------- */

/* Open failures split into "not there / not allowed" (exit 3) and "wrong kind of path"
 * (exit 2), as hw.h asks. */
static int ab__open_errno(const char *path, int e, char *err)
{
  switch (e) {
  case ENOENT:
    ab__err(err, "camera %s: no such device (%s)", path, strerror(e));
    return -ENOENT;
  case EACCES:
  case EPERM:
    ab__err(err, "camera %s: permission denied (%s); is the user in group video?", path,
            strerror(e));
    return -EACCES;
  case EISDIR:
  case ENOTDIR:
    ab__err(err, "camera %s: not a V4L2 capture device (%s)", path, strerror(e));
    return -ENOTTY;
  case ENXIO:
  case ENODEV:
    ab__err(err, "camera %s: device not present (%s)", path, strerror(e));
    return -ENODEV;
  default:
    ab__err(err, "camera %s: cannot open (%s)", path, strerror(e));
    return -e;
  }
}

static int ab__v4l2_fmt(int fd, const char *path, int w, int h, struct v4l2_format *f, char *err)
{
  memset(f, 0, sizeof *f);
  f->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  f->fmt.pix.width = (uint32_t)w;
  f->fmt.pix.height = (uint32_t)h;
  f->fmt.pix.pixelformat = V4L2_PIX_FMT_RGB24;
  f->fmt.pix.field = V4L2_FIELD_ANY;
  int r = ab__ioctl(fd, VIDIOC_S_FMT, f);
  if (r < 0) {
    ab__err(err, "camera %s: cannot set RGB24 %dx%d (VIDIOC_S_FMT: %s)", path, w, h,
            strerror(-r));
    return r == -EBUSY ? r : -EINVAL;
  }
  uint32_t pf = f->fmt.pix.pixelformat;
  if (pf != V4L2_PIX_FMT_RGB24) {
    ab__err(err, "camera %s: libv4l2 cannot convert to RGB24 (driver offers %c%c%c%c)", path,
            pf & 0xff, (pf >> 8) & 0xff, (pf >> 16) & 0xff, (pf >> 24) & 0xff);
    return -EINVAL;
  }
  if (f->fmt.pix.width == 0 || f->fmt.pix.height == 0 ||
      f->fmt.pix.bytesperline < f->fmt.pix.width * 3) {
    ab__err(err, "camera %s: driver returned an unusable format %ux%u, %u bytes per line",
            path, f->fmt.pix.width, f->fmt.pix.height, f->fmt.pix.bytesperline);
    return -EINVAL;
  }
  return 0;
}

/* Check the node with a plain open and an ioctl on the raw fd (which libv4l2 passes
 * straight through), so a wrong path gets our one-line message instead of libv4l2's chatter
 * on stderr; only a real capture device is then handed to libv4l2 for format conversion.
 * Returns the libv4l2 fd or a negative errno. */
static int ab__v4l2_node(const char *path, char *err)
{
  struct stat sb;
  if (stat(path, &sb) < 0)
    return ab__open_errno(path, errno, err);
  if (!S_ISCHR(sb.st_mode)) {
    ab__err(err, "camera %s: not a V4L2 capture device (%s; expected a character device "
            "such as /dev/video0)", path,
            S_ISREG(sb.st_mode) ? "a regular file" : S_ISDIR(sb.st_mode) ? "a directory"
                                                                         : "not a device");
    return -ENOTTY;
  }
  int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return ab__open_errno(path, errno, err);

  int r;
  struct v4l2_capability cap;
  memset(&cap, 0, sizeof cap);
  if ((r = ab__ioctl(fd, VIDIOC_QUERYCAP, &cap)) < 0) {
    ab__err(err, "camera %s: not a V4L2 capture device (VIDIOC_QUERYCAP: %s)", path,
            strerror(-r));
    r = -ENOTTY;
    goto fail;
  }
  uint32_t caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps : cap.capabilities;
  if (!(caps & V4L2_CAP_VIDEO_CAPTURE)) {
    ab__err(err, "camera %s: not a V4L2 capture device (%.32s has no video capture)", path,
            (const char *)cap.card);
    r = -ENOTTY;
    goto fail;
  }
  if (!(caps & V4L2_CAP_STREAMING)) {
    ab__err(err, "camera %s: V4L2 device %.32s cannot stream (no mmap streaming I/O)", path,
            (const char *)cap.card);
    r = -ENOTTY;
    goto fail;
  }
  int vfd = v4l2_fd_open(fd, 0);
  if (vfd < 0) {
    r = -errno;
    ab__err(err, "camera %s: libv4l2 cannot take the device (%s)", path, strerror(-r));
    goto fail;
  }
  return vfd;

fail:
  close(fd);
  return r;
}

static int ab__v4l2_prepare(ab__cam_state_t *st, char *err)
{
  int fd = ab__v4l2_node(st->path, err);
  if (fd < 0)
    return fd;
  struct v4l2_format f;
  int r = ab__v4l2_fmt(fd, st->path, st->width, st->height, &f, err);
  if (r == 0) {
    st->width = (int)f.fmt.pix.width;
    st->height = (int)f.fmt.pix.height;
    st->bytesperline = f.fmt.pix.bytesperline;
    st->frame_bytes = (size_t)st->width * st->height * 3;
  }
  v4l2_close(fd);
  return r;
}

static void ab__v4l2_unmap(ab_camera_t *c)
{
  for (unsigned i = 0; i < c->nbuf; i++)
    if (c->buf[i].start)
      v4l2_munmap(c->buf[i].start, c->buf[i].len);
  c->nbuf = 0;
}

static int ab__v4l2_open(ab__cam_state_t *st, ab_camera_t *c, char *err)
{
  const char *path = st->path;
  int r;
  if ((c->fd = ab__v4l2_node(path, err)) < 0)
    return c->fd;

  struct v4l2_format f;
  if ((r = ab__v4l2_fmt(c->fd, path, st->width, st->height, &f, err)) < 0)
    goto fail_fd;
  if ((int)f.fmt.pix.width != st->width || (int)f.fmt.pix.height != st->height) {
    ab__err(err, "camera %s: geometry changed since prepare (%dx%d, now %ux%u)", path,
            st->width, st->height, f.fmt.pix.width, f.fmt.pix.height);
    r = -EIO;
    goto fail_fd;
  }
  st->bytesperline = f.fmt.pix.bytesperline;

  struct v4l2_requestbuffers req = { .count = AB__NBUF, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                                     .memory = V4L2_MEMORY_MMAP };
  if ((r = ab__ioctl(c->fd, VIDIOC_REQBUFS, &req)) < 0) {
    ab__err(err, "camera %s: VIDIOC_REQBUFS: %s", path, strerror(-r));
    goto fail_fd;
  }
  if (req.count < 2) {
    ab__err(err, "camera %s: driver granted %u buffers, need at least 2", path, req.count);
    r = -ENOMEM;
    goto fail_bufs;
  }
  /* Never more than we have room for, whatever the driver grants. */
  unsigned nbuf = req.count < AB__NBUF ? req.count : AB__NBUF;
  for (c->nbuf = 0; c->nbuf < nbuf; c->nbuf++) {
    struct v4l2_buffer b = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP,
                             .index = c->nbuf };
    if ((r = ab__ioctl(c->fd, VIDIOC_QUERYBUF, &b)) < 0) {
      ab__err(err, "camera %s: VIDIOC_QUERYBUF %u: %s", path, c->nbuf, strerror(-r));
      goto fail_map;
    }
    void *p = v4l2_mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, b.m.offset);
    if (p == MAP_FAILED) {
      r = -errno;
      ab__err(err, "camera %s: mmap of buffer %u: %s", path, c->nbuf, strerror(-r));
      goto fail_map;
    }
    c->buf[c->nbuf].start = p;
    c->buf[c->nbuf].len = b.length;
  }
  for (unsigned i = 0; i < c->nbuf; i++) {
    struct v4l2_buffer b = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP,
                             .index = i };
    if ((r = ab__ioctl(c->fd, VIDIOC_QBUF, &b)) < 0) {
      ab__err(err, "camera %s: VIDIOC_QBUF %u: %s", path, i, strerror(-r));
      goto fail_map;
    }
  }
  int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  if ((r = ab__ioctl(c->fd, VIDIOC_STREAMON, &type)) < 0) {
    ab__err(err, "camera %s: VIDIOC_STREAMON: %s", path, strerror(-r));
    goto fail_map;
  }
  return 0;

fail_map:
  ab__v4l2_unmap(c);
fail_bufs:
  req.count = 0;
  ab__ioctl(c->fd, VIDIOC_REQBUFS, &req);
fail_fd:
  v4l2_close(c->fd);
  c->fd = -1;
  return r;
}

static int ab__v4l2_grab(ab_camera_t *c, void *dst, ab_frame_meta_t *meta, int64_t deadline,
                         uint64_t *skipped)
{
  const ab__cam_state_t *st = c->st;
  struct v4l2_buffer last;
  int have = 0, r;
  for (;;) {
    struct v4l2_buffer b = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP };
    r = ab__ioctl(c->fd, VIDIOC_DQBUF, &b);
    if (r == 0) {
      if (b.index >= c->nbuf)
        return -EIO; /* not ours to requeue */
      if (b.flags & V4L2_BUF_FLAG_ERROR) { /* a corrupted frame: never hand it out */
        if (skipped)
          ++*skipped;
        if ((r = ab__ioctl(c->fd, VIDIOC_QBUF, &b)) < 0)
          goto requeue;
        continue;
      }
      if (have) { /* an older frame: give it straight back */
        r = ab__ioctl(c->fd, VIDIOC_QBUF, &last);
        if (skipped)
          ++*skipped;
      }
      last = b;
      have = 1;
      if (r < 0)
        goto requeue;
      continue;
    }
    if (r != -EAGAIN)
      goto requeue;
    if (have)
      break;
    if ((r = ab__wait(c->fd, deadline)) < 0)
      return r;
  }

  /* Rows may be padded to bytesperline; dst is packed. */
  const uint8_t *src = c->buf[last.index].start;
  size_t row = (size_t)st->width * 3, len = c->buf[last.index].len;
  uint8_t *d = dst;
  for (int y = 0; y < st->height; y++) {
    size_t off = (size_t)y * st->bytesperline;
    if (off + row > len)
      break;
    memcpy(d + (size_t)y * row, src + off, row);
  }
  if (meta) {
    int64_t t = ab_now_ns();
    if ((last.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) == V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC)
      t = (int64_t)last.timestamp.tv_sec * AB_NS_PER_S + (int64_t)last.timestamp.tv_usec * 1000;
    *meta = (ab_frame_meta_t){ .seq = last.sequence, .t_capture = t, .width = st->width,
                               .height = st->height, .stride = st->width * 3, .variant = -1 };
  }
  r = 0;
requeue:
  if (have) {
    int q = ab__ioctl(c->fd, VIDIOC_QBUF, &last);
    if (r == 0)
      r = q;
  }
  return r;
}

static void ab__v4l2_close(ab_camera_t *c)
{
  int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  ab__ioctl(c->fd, VIDIOC_STREAMOFF, &type);
  ab__v4l2_unmap(c);
  struct v4l2_requestbuffers req = { .count = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                                     .memory = V4L2_MEMORY_MMAP };
  ab__ioctl(c->fd, VIDIOC_REQBUFS, &req);
  v4l2_close(c->fd);
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
    ab__err(err, "camera: size %dx%d out of range (16x16 to 8192x8192)", o->width, o->height);
    return -EINVAL;
  }
  if (!(st->fps > 0 && st->fps <= 1000)) {
    ab__err(err, "camera: fps %g out of range (0 < fps <= 1000)", o->fps);
    return -EINVAL;
  }
  st->period_ns = llround(1e9 / st->fps);
  st->frame_bytes = (size_t)st->width * st->height * 3;
  if (!o->camera)
    return ab__syn_prepare(st, err);
  if (strlen(o->camera) >= sizeof st->path) {
    ab__err(err, "camera %.64s...: path longer than %zu bytes", o->camera, sizeof st->path - 1);
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
    ab__err(err, "camera: open before a successful prepare");
    return -EINVAL;
  }
  ab_camera_t *c = calloc(1, sizeof *c);
  if (!c) {
    ab__err(err, "camera: out of memory");
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

int ab_camera_grab(ab_camera_t *c, void *dst, size_t cap, ab_frame_meta_t *meta,
                   int64_t timeout_ns, uint64_t *skipped)
{
  if (!c || !dst || cap < c->st->frame_bytes)
    return -EINVAL;
  int64_t deadline = timeout_ns < 0 ? -1 : ab_now_ns() + timeout_ns;
  return c->st->real ? ab__v4l2_grab(c, dst, meta, deadline, skipped)
                     : ab__syn_grab(c, dst, meta, deadline, skipped);
}

int ab_camera_ready(ab_camera_t *c)
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
