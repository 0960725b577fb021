/* Tests of hw/camera.c's libv4l2 backend: against real paths that are not cameras (missing,
 * /dev/null, a file, a directory, no permission), and against a fake capture device: this file
 * defines v4l2_fd_open, v4l2_ioctl, v4l2_mmap, v4l2_munmap and v4l2_close, which take
 * precedence over libv4l2's for the whole test binary. They pass every call through to
 * libv4l2 (dlsym RTLD_NEXT) unless it concerns the fake, which is only ever switched on inside
 * one forked test: an ioctl on a raw fd of a chosen character device (/dev/zero and friends)
 * answers QUERYCAP as the fake, and v4l2_fd_open on such an fd hands out a timerfd that
 * stands for the streaming device. The synthetic backend is tested in tests/test_camera.c.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libv4l2.h>
#include <linux/videodev2.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab.h"
#include "camera.h"
#include "camutil.h"
#include "test.h"

/* ---- a fake V4L2 capture device ------------------------------------------------------- */

enum { FAKE_CAPTURE = 1, FAKE_OUTPUT_ONLY, FAKE_NO_STREAMING };
#define FAKE_NBUF 4

static struct fake {
  int on;
  dev_t rdev;           /* raw fds of this character device are the fake */
  int kind;
  int fd;               /* the timerfd handed out by v4l2_fd_open, -1 when closed */
  int64_t period_ns;
  unsigned long fail_req; /* an ioctl to fail with EIO, for the unwinding tests */
  uint32_t error_every;   /* frames whose seq is a multiple of this come flagged ERROR */
  int no_monotonic;       /* stamp buffers with an unknown clock */
  unsigned grant;         /* REQBUFS grants at most this many when set */
  uint32_t pixfmt;        /* S_FMT answers this format when set (no conversion) */
  uint32_t w, h, bpl;
  unsigned nbuf, mapped, streaming, closed;
  struct { uint8_t *mem; size_t len; int queued, done; uint32_t seq; int64_t t; } b[FAKE_NBUF];
  unsigned qorder[64], nq; /* queued buffers, oldest first */
  unsigned dorder[64], nd; /* filled buffers, oldest first */
  uint32_t seq;
  int64_t t0;
  uint64_t ticks;
} F = { .fd = -1 };

static uint8_t fake_pixel(uint32_t seq, uint32_t x, uint32_t y, int ch)
{
  return (uint8_t)(seq * 7 + x * 3 + y * 5 + ch);
}

static int fake_is_raw(int fd)
{
  struct stat sb;
  return F.on && fd != F.fd && fstat(fd, &sb) == 0 && S_ISCHR(sb.st_mode) && sb.st_rdev == F.rdev;
}

/* fake_pixel along a row is (seq * 7 + y * 5 + byte index) mod 256: a row is a slice of
 * the 0..255 ramp, copied in one go (a byte-by-byte fill misses its period under TSan). */
static void fake_fill(unsigned i, uint32_t seq, int64_t t)
{
  static uint8_t ramp[3 * 8192 + 256];
  if (!ramp[1])
    for (size_t k = 0; k < sizeof ramp; k++)
      ramp[k] = (uint8_t)k;
  for (uint32_t y = 0; y < F.h; y++) {
    uint8_t *row = F.b[i].mem + (size_t)y * F.bpl;
    memcpy(row, ramp + fake_pixel(seq, 0, y, 0), F.w * 3);
    memset(row + F.w * 3, 0xee, F.bpl - F.w * 3); /* padding a copy must not take */
  }
  F.b[i].seq = seq;
  F.b[i].t = t;
}

/* The sensor: every timer tick completes a frame into the oldest queued buffer, or drops
 * it when none is queued, as a driver does. */
static void fake_run(void)
{
  uint64_t n;
  if (!F.streaming || read(F.fd, &n, sizeof n) != sizeof n)
    return;
  for (uint64_t k = 0; k < n; k++) {
    int64_t t = F.t0 + (int64_t)(F.ticks + 1) * F.period_ns;
    F.ticks++;
    uint32_t seq = F.seq++;
    if (F.nq == 0)
      continue;
    unsigned i = F.qorder[0];
    memmove(F.qorder, F.qorder + 1, --F.nq * sizeof F.qorder[0]);
    F.b[i].queued = 0;
    F.b[i].done = 1;
    fake_fill(i, seq, t);
    F.dorder[F.nd++] = i;
  }
}

static int fake_ioctl(unsigned long req, void *arg)
{
  if (req == F.fail_req) {
    errno = EIO;
    return -1;
  }
  switch (req) {
  case VIDIOC_S_FMT: {
    struct v4l2_format *f = arg;
    if (f->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || F.nbuf) {
      errno = F.nbuf ? EBUSY : EINVAL;
      return -1;
    }
    /* Like many drivers: width in steps of 16, rows padded, RGB24 by conversion. */
    F.w = f->fmt.pix.width / 16 * 16;
    F.w = F.w ? F.w : 16;
    F.h = f->fmt.pix.height;
    F.bpl = F.w * 3 + 64;
    f->fmt.pix.width = F.w;
    f->fmt.pix.bytesperline = F.bpl;
    f->fmt.pix.sizeimage = F.bpl * F.h;
    f->fmt.pix.pixelformat = F.pixfmt ? F.pixfmt : V4L2_PIX_FMT_RGB24;
    return 0;
  }
  case VIDIOC_REQBUFS: {
    struct v4l2_requestbuffers *r = arg;
    for (unsigned i = 0; i < F.nbuf; i++)
      munmap(F.b[i].mem, F.b[i].len);
    memset(F.b, 0, sizeof F.b);
    F.nq = F.nd = 0;
    F.nbuf = r->count < FAKE_NBUF ? r->count : FAKE_NBUF;
    if (F.grant && F.nbuf > F.grant)
      F.nbuf = F.grant;
    for (unsigned i = 0; i < F.nbuf; i++) {
      F.b[i].len = (size_t)F.bpl * F.h;
      F.b[i].mem = mmap(NULL, F.b[i].len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
    }
    r->count = F.nbuf;
    return 0;
  }
  case VIDIOC_QUERYBUF: {
    struct v4l2_buffer *b = arg;
    if (b->index >= F.nbuf) {
      errno = EINVAL;
      return -1;
    }
    b->length = (uint32_t)F.b[b->index].len;
    b->m.offset = b->index << 20;
    return 0;
  }
  case VIDIOC_QBUF: {
    struct v4l2_buffer *b = arg;
    if (b->index >= F.nbuf || F.b[b->index].queued) {
      errno = EINVAL;
      return -1;
    }
    F.b[b->index].queued = 1;
    F.b[b->index].done = 0;
    F.qorder[F.nq++] = b->index;
    return 0;
  }
  case VIDIOC_DQBUF: {
    struct v4l2_buffer *b = arg;
    fake_run();
    if (F.nd == 0) {
      errno = EAGAIN;
      return -1;
    }
    unsigned i = F.dorder[0];
    memmove(F.dorder, F.dorder + 1, --F.nd * sizeof F.dorder[0]);
    F.b[i].done = 0;
    b->index = i;
    b->sequence = F.b[i].seq;
    b->bytesused = (uint32_t)F.b[i].len;
    b->flags = F.no_monotonic ? V4L2_BUF_FLAG_TIMESTAMP_UNKNOWN
                              : V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
    if (F.error_every && F.b[i].seq % F.error_every == 0)
      b->flags |= V4L2_BUF_FLAG_ERROR;
    b->timestamp.tv_sec = F.b[i].t / AB_NS_PER_S;
    b->timestamp.tv_usec = F.b[i].t % AB_NS_PER_S / 1000;
    return 0;
  }
  case VIDIOC_STREAMON: {
    F.t0 = ab_now_ns();
    struct itimerspec its = { .it_interval = ab_ts(F.period_ns),
                              .it_value = ab_ts(F.t0 + F.period_ns) };
    timerfd_settime(F.fd, TFD_TIMER_ABSTIME, &its, NULL);
    F.streaming = 1;
    return 0;
  }
  case VIDIOC_STREAMOFF: {
    struct itimerspec its = { { 0, 0 }, { 0, 0 } };
    timerfd_settime(F.fd, 0, &its, NULL);
    F.streaming = 0;
    for (unsigned i = 0; i < F.nbuf; i++)
      F.b[i].queued = F.b[i].done = 0;
    F.nq = F.nd = 0;
    return 0;
  }
  }
  errno = ENOTTY;
  return -1;
}

/* libv4l2's own definition. With --as-needed the linker drops libv4l2 from the binary when
 * these definitions satisfy every reference, so load it by name if it is not there. */
static void *next(const char *name)
{
  void *p = dlsym(RTLD_NEXT, name);
  if (!p) {
    void *lib = dlopen("libv4l2.so.0", RTLD_NOW | RTLD_LOCAL);
    p = lib ? dlsym(lib, name) : NULL;
  }
  if (!p)
    AB_FAIL("no libv4l2 definition of %s: %s", name, dlerror());
  return p;
}

int v4l2_ioctl(int fd, unsigned long int request, ...)
{
  va_list ap;
  va_start(ap, request);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  if (F.on && fd == F.fd)
    return fake_ioctl(request, arg);
  if (fake_is_raw(fd) && request == VIDIOC_QUERYCAP) {
    struct v4l2_capability *c = arg;
    memset(c, 0, sizeof *c);
    strcpy((char *)c->driver, "fake");
    strcpy((char *)c->card, "archbench fake camera");
    uint32_t caps = F.kind == FAKE_CAPTURE ? V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING
                    : F.kind == FAKE_OUTPUT_ONLY ? V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_STREAMING
                                                 : V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_READWRITE;
    c->device_caps = caps;
    c->capabilities = caps | V4L2_CAP_DEVICE_CAPS;
    return 0;
  }
  int (*real)(int, unsigned long, ...) = next("v4l2_ioctl");
  return real(fd, request, arg);
}

int v4l2_fd_open(int fd, int v4l2_flags)
{
  if (fake_is_raw(fd)) {
    close(fd);
    F.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    return F.fd;
  }
  int (*real)(int, int) = next("v4l2_fd_open");
  return real(fd, v4l2_flags);
}

void *v4l2_mmap(void *start, size_t length, int prot, int flags, int fd, int64_t offset)
{
  if (F.on && fd == F.fd) {
    unsigned i = (unsigned)(offset >> 20);
    if (i >= F.nbuf || length != F.b[i].len) {
      errno = EINVAL;
      return MAP_FAILED;
    }
    F.mapped++;
    return F.b[i].mem;
  }
  void *(*real)(void *, size_t, int, int, int, int64_t) = next("v4l2_mmap");
  return real(start, length, prot, flags, fd, offset);
}

int v4l2_munmap(void *start, size_t length)
{
  for (unsigned i = 0; F.on && i < F.nbuf; i++)
    if (start == F.b[i].mem) {
      F.mapped--;
      return 0;
    }
  int (*real)(void *, size_t) = next("v4l2_munmap");
  return real(start, length);
}

int v4l2_close(int fd)
{
  if (F.on && fd == F.fd) {
    F.closed++;
    F.fd = -1;
    return close(fd);
  }
  int (*real)(int) = next("v4l2_close");
  return real(fd);
}

static void fake_on(const char *node, int kind, int64_t period_ns)
{
  struct stat sb;
  if (stat(node, &sb) < 0 || !S_ISCHR(sb.st_mode))
    SKIP("%s is not a character device here", node);
  F.on = 1;
  F.rdev = sb.st_rdev;
  F.kind = kind;
  F.period_ns = period_ns;
}

/* ---- helpers -------------------------------------------------------------------------- */

static int prepare_path(void *st, const char *path, char *err);

/* The fake capture device on /dev/zero, delivering a frame every period_ns, prepared. */
static void *fake_prepared(int64_t period_ns)
{
  char err[AB_ERRLEN];
  fake_on("/dev/zero", FAKE_CAPTURE, period_ns);
  void *st = new_state();
  int r = prepare_path(st, "/dev/zero", err);
  if (r != 0)
    AB_FAIL("prepare /dev/zero: %d %s", r, err);
  return st;
}

static int prepare_path(void *st, const char *path, char *err)
{
  ab_dev_opts_t o = { .camera = path, .width = 640, .height = 480, .fps = 30 };
  err[0] = 0;
  return ab_camera_ops.prepare(st, &o, err);
}

/* ---- libv4l2: real paths that are not cameras ----------------------------------------- */

TEST(camera_v4l2_missing_path_is_enoent_naming_it)
{
  void *st = new_state();
  char err[AB_ERRLEN];
  ASSERT_EQ(prepare_path(st, "/dev/video-archbench-missing", err), -ENOENT);
  ASSERT_CONTAINS(err, "camera /dev/video-archbench-missing:");
}

TEST(camera_v4l2_dev_null_is_enotty_not_a_capture_device)
{
  void *st = new_state();
  char err[AB_ERRLEN];
  ASSERT_EQ(prepare_path(st, "/dev/null", err), -ENOTTY);
  ASSERT_STR(err, "camera /dev/null: not a V4L2 capture device (VIDIOC_QUERYCAP: "
                  "Inappropriate ioctl for device)");
}

TEST(camera_v4l2_regular_file_or_directory_is_enotty)
{
  void *st = new_state();
  char err[AB_ERRLEN], path[] = "/tmp/archbench-cam-XXXXXX";
  int fd = mkstemp(path);
  ASSERT(fd >= 0);
  close(fd);
  ASSERT_EQ(prepare_path(st, path, err), -ENOTTY);
  ASSERT_CONTAINS(err, path);
  ASSERT_CONTAINS(err, "not a V4L2 capture device");
  unlink(path);
  ASSERT_EQ(prepare_path(st, "/tmp", err), -ENOTTY);
  ASSERT_CONTAINS(err, "camera /tmp: not a V4L2 capture device");
}

TEST(camera_v4l2_unreachable_path_is_eacces)
{
  char dir[] = "/tmp/archbench-camdir-XXXXXX", path[64], err[AB_ERRLEN];
  ASSERT(mkdtemp(dir) != NULL);
  snprintf(path, sizeof path, "%s/video0", dir);
  void *st = new_state();
  if (geteuid() == 0) {
    /* Root passes every permission check: become nobody, in this forked test only. */
    ASSERT_EQ(chmod(dir, 0700), 0);
    pid_t pid = fork();
    if (pid == 0) {
      if (setgid(65534) || setuid(65534))
        _exit(77);
      _exit(prepare_path(st, path, err) == -EACCES && strstr(err, path) ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    rmdir(dir);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
      SKIP("cannot drop root privileges");
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    return;
  }
  ASSERT_EQ(chmod(dir, 0), 0);
  int r = prepare_path(st, path, err);
  chmod(dir, 0700);
  rmdir(dir);
  ASSERT_EQ(r, -EACCES);
  ASSERT_CONTAINS(err, path);
}

/* ---- libv4l2: the fake capture device ------------------------------------------------- */

TEST(camera_v4l2_fake_output_only_device_is_enotty)
{
  fake_on("/dev/full", FAKE_OUTPUT_ONLY, AB_NS_PER_S);
  void *st = new_state();
  char err[AB_ERRLEN];
  ASSERT_EQ(prepare_path(st, "/dev/full", err), -ENOTTY);
  ASSERT_CONTAINS(err, "camera /dev/full: not a V4L2 capture device");
  ASSERT_EQ(F.fd, -1); /* never handed to libv4l2 */
}

TEST(camera_v4l2_fake_device_without_streaming_is_enotty)
{
  fake_on("/dev/urandom", FAKE_NO_STREAMING, AB_NS_PER_S);
  void *st = new_state();
  char err[AB_ERRLEN];
  ASSERT_EQ(prepare_path(st, "/dev/urandom", err), -ENOTTY);
  ASSERT_CONTAINS(err, "camera /dev/urandom:");
  ASSERT_CONTAINS(err, "stream");
}

TEST(camera_v4l2_fake_prepare_takes_the_driver_geometry)
{
  fake_on("/dev/zero", FAKE_CAPTURE, 10 * AB_NS_PER_MS);
  void *st = new_state();
  char err[AB_ERRLEN] = "";
  ab_dev_opts_t o = { .camera = "/dev/zero", .width = 70, .height = 50, .fps = 30 };
  ASSERT_EQ(ab_camera_ops.prepare(st, &o, err), 0);
  int w, h;
  ab_camera_geometry(st, &w, &h);
  ASSERT_EQ(w, 64); /* the driver's step of 16 */
  ASSERT_EQ(h, 50);
  ASSERT_STR(ab_camera_ops.backend(st), "/dev/zero");
  ASSERT_EQ(F.closed, 1); /* the probe closed the device again */
  ab_camera_ops.release(st);
}

TEST(camera_v4l2_fake_streams_frames_packed_with_driver_timestamps)
{
  void *st = fake_prepared(10 * AB_NS_PER_MS);
  ab_camera_t *c = open_cam(st);
  ASSERT_EQ(F.streaming, 1);
  ASSERT_EQ(F.mapped, FAKE_NBUF);
  ASSERT_EQ(ab_camera_ops.fd(c), F.fd);
  size_t cap = 640 * 480 * 3;
  uint8_t *buf = malloc(cap);
  uint64_t prev = 0;
  for (int i = 0; i < 5; i++) {
    ab_frame_meta_t m;
    ASSERT_EQ(ab_camera_grab_h(c, buf, cap, &m, AB_NS_PER_S, NULL), 0);
    ASSERT_EQ(m.variant, -1);
    ASSERT_EQ(m.width, 640);
    ASSERT_EQ(m.stride, 640 * 3);
    if (i)
      ASSERT_INT(m.seq, >, prev);
    prev = m.seq;
    /* The driver stamped frame seq at t0 + (ticks) * period, to the microsecond. */
    int64_t want = F.t0 + (int64_t)(m.seq + 1) * F.period_ns;
    ASSERT_EQ(m.t_capture / 1000, want / 1000);
    for (uint32_t y = 0; y < 480; y += 37)
      for (uint32_t x = 0; x < 640; x += 13)
        for (int ch = 0; ch < 3; ch++)
          ASSERT_EQ(buf[(y * 640 + x) * 3 + ch], fake_pixel((uint32_t)m.seq, x, y, ch));
    ASSERT(buf[640 * 3] == fake_pixel((uint32_t)m.seq, 0, 1, 0)); /* row 1 follows row 0 */
    ASSERT_EQ(F.nq + F.nd, FAKE_NBUF); /* every buffer back with the driver */
  }
  ab_camera_ops.close(c);
  ASSERT_EQ(F.mapped, 0);
  ASSERT_EQ(F.streaming, 0);
  ASSERT_EQ(F.nbuf, 0); /* REQBUFS(0) */
  ASSERT_EQ(F.fd, -1);
  ab_camera_ops.release(st);
  free(buf);
}

TEST(camera_v4l2_fake_slow_reader_gets_the_newest_and_counts_skipped)
{
  void *st = fake_prepared(10 * AB_NS_PER_MS);
  ab_camera_t *c = open_cam(st);
  size_t cap = 640 * 480 * 3;
  uint8_t *buf = malloc(cap);
  ab_frame_meta_t a, b;
  uint64_t skipped = 0;
  ASSERT_EQ(ab_camera_grab_h(c, buf, cap, &a, AB_NS_PER_S, &skipped), 0);
  uint64_t before = skipped;
  usleep(80 * 1000); /* 8 ticks: all 4 buffers fill, the driver drops the rest */
  ASSERT_EQ(ab_camera_grab_h(c, buf, cap, &b, AB_NS_PER_S, &skipped), 0);
  ASSERT_EQ(skipped - before, FAKE_NBUF - 1);
  ASSERT_INT(b.seq, >=, a.seq + FAKE_NBUF);
  ASSERT_EQ(buf[0], fake_pixel((uint32_t)b.seq, 0, 0, 0));
  ASSERT_EQ(F.nq, FAKE_NBUF); /* older ones requeued, the newest too after the copy */
  ab_camera_ops.close(c);
  ab_camera_ops.release(st);
  free(buf);
}

TEST(camera_v4l2_fake_corrupted_frames_are_never_delivered)
{
  void *st = fake_prepared(5 * AB_NS_PER_MS);
  F.error_every = 2;
  ab_camera_t *c = open_cam(st);
  size_t cap = 640 * 480 * 3;
  uint8_t *buf = malloc(cap);
  uint64_t skipped = 0;
  for (int i = 0; i < 6; i++) {
    ab_frame_meta_t m;
    ASSERT_EQ(ab_camera_grab_h(c, buf, cap, &m, AB_NS_PER_S, &skipped), 0);
    ASSERT_EQ(m.seq % 2, 1);
    ASSERT_EQ(buf[0], fake_pixel((uint32_t)m.seq, 0, 0, 0));
  }
  ASSERT_INT(skipped, >=, 5); /* at least the corrupted ones between the six */
  ASSERT_EQ(F.nq + F.nd, FAKE_NBUF);
  ab_camera_ops.close(c);
  free(buf);
}

TEST(camera_v4l2_fake_unknown_timestamp_clock_falls_back_to_now)
{
  void *st = fake_prepared(5 * AB_NS_PER_MS);
  F.no_monotonic = 1;
  ab_camera_t *c = open_cam(st);
  uint8_t *buf = malloc(640 * 480 * 3);
  ab_frame_meta_t m;
  usleep(20 * 1000); /* frames are waiting: their driver stamps would be older */
  int64_t t0 = ab_now_ns();
  ASSERT_EQ(ab_camera_grab_h(c, buf, 640 * 480 * 3, &m, AB_NS_PER_S, NULL), 0);
  ASSERT_INT(m.t_capture, >=, t0);
  ASSERT_INT(m.t_capture, <=, ab_now_ns());
  ab_camera_ops.close(c);
  free(buf);
}

TEST(camera_v4l2_fake_refuses_too_few_buffers_and_formats_it_cannot_convert)
{
  fake_on("/dev/zero", FAKE_CAPTURE, 10 * AB_NS_PER_MS);
  void *st = new_state(), *h = NULL;
  char err[AB_ERRLEN];
  ASSERT_EQ(prepare_path(st, "/dev/zero", err), 0);
  F.grant = 1;
  ASSERT_EQ(ab_camera_ops.open(st, &h, err), -ENOMEM);
  ASSERT_CONTAINS(err, "granted 1 buffers");
  ASSERT_EQ(F.nbuf, 0);
  ASSERT_EQ(F.fd, -1);
  F.grant = 0;
  F.pixfmt = V4L2_PIX_FMT_YUYV;
  ASSERT_EQ(prepare_path(st, "/dev/zero", err), -EINVAL);
  ASSERT_CONTAINS(err, "camera /dev/zero: libv4l2 cannot convert to RGB24 (driver offers YUYV)");
}

TEST(camera_v4l2_fake_grab_times_out_without_frames)
{
  void *st = fake_prepared(5 * AB_NS_PER_S);
  ab_camera_t *c = open_cam(st);
  uint8_t *buf = malloc(640 * 480 * 3);
  ASSERT_EQ(ab_camera_grab_h(c, buf, 640 * 480 * 3, NULL, 30 * AB_NS_PER_MS, NULL), -ETIMEDOUT);
  ab_camera_ops.close(c);
  free(buf);
}

TEST(camera_v4l2_fake_open_failure_unwinds_everything)
{
  unsigned long reqs[] = { VIDIOC_STREAMON, VIDIOC_QBUF, VIDIOC_QUERYBUF };
  const char *names[] = { "VIDIOC_STREAMON", "VIDIOC_QBUF", "VIDIOC_QUERYBUF" };
  for (int i = 0; i < 3; i++) {
    memset(&F, 0, sizeof F);
    F.fd = -1;
    fake_on("/dev/zero", FAKE_CAPTURE, 10 * AB_NS_PER_MS);
    void *st = new_state(), *h = NULL;
    char err[AB_ERRLEN];
    ASSERT_EQ(prepare_path(st, "/dev/zero", err), 0);
    F.fail_req = reqs[i];
    ASSERT_EQ(ab_camera_ops.open(st, &h, err), -EIO);
    ASSERT_CONTAINS(err, "camera /dev/zero:");
    ASSERT_CONTAINS(err, names[i]);
    ASSERT_EQ(F.mapped, 0);
    ASSERT_EQ(F.nbuf, 0);
    ASSERT_EQ(F.fd, -1);
    ASSERT_EQ(F.closed, 2); /* the probe's and the failed open's */
  }
}
