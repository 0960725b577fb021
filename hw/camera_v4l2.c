/* Camera, the libv4l2 backend (see camera.c for the other and the device interface):
 * prepare probes the node (capture + streaming capabilities, RGB24 negotiated through
 * libv4l2's conversion) and closes it again; open sets up mmap streaming with AB__NBUF
 * buffers in the owner; grab drains every ready buffer, keeps the newest and requeues the
 * rest, never handing out one the driver flagged corrupted. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libv4l2.h>
#include <linux/videodev2.h>

#include "ab.h"
#include "camera_impl.h"

static int ab__ioctl(int fd, unsigned long req, void *arg)
{
  int r;
  do
    r = v4l2_ioctl(fd, req, arg);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}

/* Open failures split into "not there / not allowed" (exit 3) and "wrong kind of path"
 * (exit 2), as hw.h asks. */
static int ab__open_errno(const char *path, int e, char *err)
{
  switch (e) {
  case ENOENT:
    ab__cam_err(err, "camera %s: no such device (%s)", path, strerror(e));
    return -ENOENT;
  case EACCES:
  case EPERM:
    ab__cam_err(err, "camera %s: permission denied (%s); is the user in group video?", path,
            strerror(e));
    return -EACCES;
  case EISDIR:
  case ENOTDIR:
    ab__cam_err(err, "camera %s: not a V4L2 capture device (%s)", path, strerror(e));
    return -ENOTTY;
  case ENXIO:
  case ENODEV:
    ab__cam_err(err, "camera %s: device not present (%s)", path, strerror(e));
    return -ENODEV;
  default:
    ab__cam_err(err, "camera %s: cannot open (%s)", path, strerror(e));
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
    ab__cam_err(err, "camera %s: cannot set RGB24 %dx%d (VIDIOC_S_FMT: %s)", path, w, h,
            strerror(-r));
    return r == -EBUSY ? r : -EINVAL;
  }
  uint32_t pf = f->fmt.pix.pixelformat;
  if (pf != V4L2_PIX_FMT_RGB24) {
    ab__cam_err(err, "camera %s: libv4l2 cannot convert to RGB24 (driver offers %c%c%c%c)", path,
            pf & 0xff, (pf >> 8) & 0xff, (pf >> 16) & 0xff, (pf >> 24) & 0xff);
    return -EINVAL;
  }
  if (f->fmt.pix.width == 0 || f->fmt.pix.height == 0 ||
      f->fmt.pix.bytesperline < f->fmt.pix.width * 3) {
    ab__cam_err(err, "camera %s: driver returned an unusable format %ux%u, %u bytes per line",
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
    ab__cam_err(err, "camera %s: not a V4L2 capture device (%s; expected a character device "
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
    ab__cam_err(err, "camera %s: not a V4L2 capture device (VIDIOC_QUERYCAP: %s)", path,
            strerror(-r));
    r = -ENOTTY;
    goto fail;
  }
  uint32_t caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ? cap.device_caps : cap.capabilities;
  if (!(caps & V4L2_CAP_VIDEO_CAPTURE)) {
    ab__cam_err(err, "camera %s: not a V4L2 capture device (%.32s has no video capture)", path,
            (const char *)cap.card);
    r = -ENOTTY;
    goto fail;
  }
  if (!(caps & V4L2_CAP_STREAMING)) {
    ab__cam_err(err, "camera %s: V4L2 device %.32s cannot stream (no mmap streaming I/O)", path,
            (const char *)cap.card);
    r = -ENOTTY;
    goto fail;
  }
  int vfd = v4l2_fd_open(fd, 0);
  if (vfd < 0) {
    r = -errno;
    ab__cam_err(err, "camera %s: libv4l2 cannot take the device (%s)", path, strerror(-r));
    goto fail;
  }
  return vfd;

fail:
  close(fd);
  return r;
}

int ab__v4l2_prepare(ab__cam_state_t *st, char *err)
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

int ab__v4l2_open(ab__cam_state_t *st, ab_camera_t *c, char *err)
{
  const char *path = st->path;
  int r;
  if ((c->fd = ab__v4l2_node(path, err)) < 0)
    return c->fd;

  struct v4l2_format f;
  if ((r = ab__v4l2_fmt(c->fd, path, st->width, st->height, &f, err)) < 0)
    goto fail_fd;
  if ((int)f.fmt.pix.width != st->width || (int)f.fmt.pix.height != st->height) {
    ab__cam_err(err, "camera %s: geometry changed since prepare (%dx%d, now %ux%u)", path,
            st->width, st->height, f.fmt.pix.width, f.fmt.pix.height);
    r = -EIO;
    goto fail_fd;
  }
  st->bytesperline = f.fmt.pix.bytesperline;

  struct v4l2_requestbuffers req = { .count = AB__NBUF, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                                     .memory = V4L2_MEMORY_MMAP };
  if ((r = ab__ioctl(c->fd, VIDIOC_REQBUFS, &req)) < 0) {
    ab__cam_err(err, "camera %s: VIDIOC_REQBUFS: %s", path, strerror(-r));
    goto fail_fd;
  }
  if (req.count < 2) {
    ab__cam_err(err, "camera %s: driver granted %u buffers, need at least 2", path, req.count);
    r = -ENOMEM;
    goto fail_bufs;
  }
  /* Never more than we have room for, whatever the driver grants. */
  unsigned nbuf = req.count < AB__NBUF ? req.count : AB__NBUF;
  for (c->nbuf = 0; c->nbuf < nbuf; c->nbuf++) {
    struct v4l2_buffer b = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP,
                             .index = c->nbuf };
    if ((r = ab__ioctl(c->fd, VIDIOC_QUERYBUF, &b)) < 0) {
      ab__cam_err(err, "camera %s: VIDIOC_QUERYBUF %u: %s", path, c->nbuf, strerror(-r));
      goto fail_map;
    }
    void *p = v4l2_mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, b.m.offset);
    if (p == MAP_FAILED) {
      r = -errno;
      ab__cam_err(err, "camera %s: mmap of buffer %u: %s", path, c->nbuf, strerror(-r));
      goto fail_map;
    }
    c->buf[c->nbuf].start = p;
    c->buf[c->nbuf].len = b.length;
  }
  for (unsigned i = 0; i < c->nbuf; i++) {
    struct v4l2_buffer b = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP,
                             .index = i };
    if ((r = ab__ioctl(c->fd, VIDIOC_QBUF, &b)) < 0) {
      ab__cam_err(err, "camera %s: VIDIOC_QBUF %u: %s", path, i, strerror(-r));
      goto fail_map;
    }
  }
  int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  if ((r = ab__ioctl(c->fd, VIDIOC_STREAMON, &type)) < 0) {
    ab__cam_err(err, "camera %s: VIDIOC_STREAMON: %s", path, strerror(-r));
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

int ab__v4l2_grab(ab_camera_t *c, void *dst, ab_frame_meta_t *meta, int64_t deadline,
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
    if ((r = ab__cam_wait(c->fd, deadline)) < 0)
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

void ab__v4l2_close(ab_camera_t *c)
{
  int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  ab__ioctl(c->fd, VIDIOC_STREAMOFF, &type);
  ab__v4l2_unmap(c);
  struct v4l2_requestbuffers req = { .count = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
                                     .memory = V4L2_MEMORY_MMAP };
  ab__ioctl(c->fd, VIDIOC_REQBUFS, &req);
  v4l2_close(c->fd);
}

