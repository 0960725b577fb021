/* Tests of the serial device (hw/serial.c): the pty mock end to end (replies, wire time,
 * joint motion, NAKs, no child left behind), and the libserialport backend driven against
 * the same simulated controller. The checks on a --serial path are in
 * tests/test_serial_paths.c, the simulator alone in tests/test_motorsim.c; the helpers shared
 * with the latter are in tests/serialutil.h.
 *
 * Timing is only bounded from below (a reply cannot beat the wire) or by generous sanity
 * limits, so a loaded machine cannot make these fail. A host that looks late can hide a
 * simulator that answers early, though: tests/test_motorsim.c reads the simulator's own
 * schedule as well (its timerfd, interposed), which no delay can blur.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab.h"
#include "motor_proto.h"
#include "proc.h"
#include "serial.h"
#include "serialutil.h"
#include "shm.h"
#include "test.h"

/* The host end of the link, as the owner role would hold it. */
typedef struct host {
  void *state;
  void *h;
  ab_serial_t *s;
  int fd;
  ab_mp_parser_t p;
  uint8_t rx[512];
  size_t off, len;
} host_t;

static void host_prepare(host_t *h, const char *path, int baud)
{
  char err[AB_ERRLEN] = "";
  memset(h, 0, sizeof *h);
  h->state = ab_shm_alloc(ab_serial_ops.state_size, 1);
  ASSERT(h->state != NULL);
  ab_dev_opts_t o = { .serial = path, .baud = baud };
  int rc = ab_serial_ops.prepare(h->state, &o, err);
  if (rc)
    AB_FAIL("prepare(%s): %d (%s)", path ? path : "mock", rc, err);
}

static void host_open(host_t *h)
{
  char err[AB_ERRLEN] = "";
  int rc = ab_serial_ops.open(h->state, &h->h, err);
  if (rc)
    AB_FAIL("open: %d (%s)", rc, err);
  h->s = h->h;
  h->fd = ab_serial_ops.fd(h->h);
  ASSERT_INT(h->fd, >=, 0);
  ab_mp_parser_init(&h->p);
  h->off = h->len = 0;
}

static void host_close(host_t *h)
{
  ab_serial_ops.close(h->h);
  h->h = h->s = NULL;
}

static void host_release(host_t *h)
{
  ab_serial_ops.release(h->state);
  ab_shm_free(h->state, ab_serial_ops.state_size, 1);
  h->state = NULL;
}

static void host_send(host_t *h, const uint8_t *buf, int n)
{
  ASSERT_EQ(ab_serial_write_h(h->s, buf, (size_t)n), n);
}

/* Next frame (or rejected frame) from the controller; 0 if none within timeout_ms. */
static int host_recv(host_t *h, ab_mp_frame_t *f, int timeout_ms)
{
  int64_t deadline = ab_now_ns() + timeout_ms * AB_NS_PER_MS;
  for (;;) {
    int got;
    h->off += ab_mp_feed(&h->p, h->rx + h->off, h->len - h->off, f, &got);
    if (got)
      return got;
    h->off = h->len = 0;
    int64_t left = deadline - ab_now_ns();
    if (left <= 0)
      return 0;
    struct pollfd pfd = { .fd = h->fd, .events = POLLIN };
    int r = poll(&pfd, 1, (int)((left + AB_NS_PER_MS - 1) / AB_NS_PER_MS));
    if (r < 0 && errno == EINTR)
      continue;
    ASSERT_INT(r, >=, 0);
    if (r == 0)
      continue;
    ssize_t n = ab_serial_read_h(h->s, h->rx, sizeof h->rx);
    ASSERT_INT(n, >=, 0);
    h->len = (size_t)n;
  }
}

static void expect_status(host_t *h, uint8_t seq, int32_t q[AB_MP_JOINTS], uint8_t *flags)
{
  ab_mp_frame_t f;
  ASSERT_EQ(host_recv(h, &f, 1000), 1);
  ASSERT_EQ(f.type, AB_MP_STATUS);
  ASSERT_EQ(f.seq, seq);
  ASSERT_EQ(ab_mp_status(&f, q, flags), 0);
}

static void expect_nak(host_t *h, uint8_t seq, uint8_t reason)
{
  ab_mp_frame_t f;
  ASSERT_EQ(host_recv(h, &f, 1000), 1);
  ASSERT_EQ(f.type, AB_MP_NAK);
  ASSERT_EQ(f.seq, seq);
  ASSERT_EQ(f.len, 1);
  ASSERT_EQ(f.payload[0], reason);
}

static void send_read(host_t *h, uint8_t seq)
{
  uint8_t b[AB_MP_MAX_FRAME];
  host_send(h, b, ab_mp_encode(b, AB_MP_READ, seq, NULL, 0));
}

static void send_set(host_t *h, uint8_t seq, const int32_t q[AB_MP_JOINTS])
{
  uint8_t b[AB_MP_MAX_FRAME];
  host_send(h, b, ab_mp_encode_set(b, seq, q));
}

/* From rest at zero, SET the targets, then READ until the controller says it has arrived.
 * Checks every sample: each joint moves only toward its target, never past it, and no faster
 * than the speed allows since the SET left the host. Returns the time from SET to arrival,
 * and in *set_rtt the SET -> STATUS round trip. */
static int64_t drive_to_targets(host_t *h, int64_t *set_rtt)
{
  int32_t q[AB_MP_JOINTS], prev[AB_MP_JOINTS] = { 0 };
  uint8_t flags, seq = 100;
  int64_t t_set = ab_now_ns();
  send_set(h, seq, T);
  expect_status(h, seq, q, &flags);
  if (set_rtt)
    *set_rtt = ab_now_ns() - t_set;
  ASSERT(flags & AB_MP_F_MOVING);
  for (int samples = 0;; samples++) {
    int64_t now = ab_now_ns();
    double bound = AB_MOTORSIM_URAD_PER_S * (double)(now - t_set) / AB_NS_PER_S + 1;
    for (int j = 0; j < AB_MP_JOINTS; j++) {
      int64_t dq = (int64_t)q[j] - prev[j], rest = (int64_t)T[j] - q[j];
      ASSERT(dq == 0 || (dq > 0) == (T[j] > 0)); /* only toward the target */
      ASSERT(rest == 0 || (rest > 0) == (T[j] > 0)); /* never past it */
      ASSERT_DBL(fabs((double)q[j]), <=, bound);
      prev[j] = q[j];
    }
    if (!(flags & AB_MP_F_MOVING)) {
      for (int j = 0; j < AB_MP_JOINTS; j++)
        ASSERT_EQ(q[j], T[j]);
      ASSERT_INT(samples, >, 2); /* we saw it on the way, not just at both ends */
      return now - t_set;
    }
    ASSERT_INT(now - t_set, <, 2 * SANE_NS);
    send_read(h, ++seq);
    expect_status(h, seq, q, &flags);
  }
}

/* ---- the pty mock -------------------------------------------------------------------- */

TEST(serial_mock_is_mock_pty_and_set_gets_status_seq)
{
  host_t h;
  host_prepare(&h, NULL, 0);
  ASSERT_STR(ab_serial_ops.backend(h.state), "mock-pty");
  host_open(&h);
  ASSERT_EQ(ab_serial_baud(h.s), AB_SERIAL_DEFAULT_BAUD);
  int32_t q[AB_MP_JOINTS];
  uint8_t flags;
  send_set(&h, 5, T);
  expect_status(&h, 5, q, &flags);
  for (int j = 0; j < AB_MP_JOINTS; j++)
    ASSERT_EQ(q[j], 0); /* the arm starts at zero and has not moved yet */
  ASSERT_EQ(flags, AB_MP_F_MOVING);
  send_read(&h, 6);
  expect_status(&h, 6, q, &flags);
  host_close(&h);
  host_release(&h);
}

static void check_wire_time(int baud)
{
  host_t h;
  host_prepare(&h, NULL, baud);
  host_open(&h);
  int32_t q[AB_MP_JOINTS];
  send_read(&h, 1); /* first contact out of the way */
  expect_status(&h, 1, q, NULL);
  int64_t t0 = ab_now_ns();
  send_set(&h, 2, T);
  expect_status(&h, 2, q, NULL);
  int64_t dt = ab_now_ns() - t0;
  int64_t wire = ab_serial_wire_ns(SET_BYTES + STATUS_BYTES, baud) + AB_MOTORSIM_PROC_NS;
  ASSERT_DBL((double)dt, >=, 0.9 * (double)wire);
  ASSERT_INT(dt, <, SANE_NS);
  host_close(&h);
  host_release(&h);
}

TEST(serial_mock_reply_no_sooner_than_wire_time_115200)
{
  check_wire_time(115200);
}

TEST(serial_mock_reply_no_sooner_than_wire_time_9600)
{
  check_wire_time(9600);
}

TEST(serial_mock_pipelined_requests_queue_on_the_line)
{
  host_t h;
  host_prepare(&h, NULL, 115200);
  host_open(&h);
  int32_t q[AB_MP_JOINTS];
  send_read(&h, 1);
  expect_status(&h, 1, q, NULL);
  uint8_t b[2 * AB_MP_MAX_FRAME];
  int n = ab_mp_encode(b, AB_MP_READ, 2, NULL, 0);
  n += ab_mp_encode(b + n, AB_MP_READ, 3, NULL, 0);
  int64_t t0 = ab_now_ns();
  host_send(&h, b, n);
  expect_status(&h, 2, q, NULL);
  expect_status(&h, 3, q, NULL);
  int64_t dt = ab_now_ns() - t0;
  /* The second reply queues behind the first on the way back. */
  int64_t wire = ab_serial_wire_ns(READ_BYTES + 2 * STATUS_BYTES, 115200) + AB_MOTORSIM_PROC_NS;
  ASSERT_DBL((double)dt, >=, 0.9 * (double)wire);
  ASSERT_INT(dt, <, SANE_NS);
  host_close(&h);
  host_release(&h);
}

TEST(serial_mock_joints_move_to_targets_at_bounded_speed)
{
  host_t h;
  host_prepare(&h, NULL, 115200);
  host_open(&h);
  int64_t dt = drive_to_targets(&h, NULL);
  /* The longest move is 0.3 rad at 2 rad/s. */
  ASSERT_DBL((double)dt, >=, 0.9 * 300000.0 / AB_MOTORSIM_URAD_PER_S * AB_NS_PER_S);
  host_close(&h);
  host_release(&h);
}

TEST(serial_mock_corrupt_frame_gets_nak_crc_then_service)
{
  host_t h;
  host_prepare(&h, NULL, 115200);
  host_open(&h);
  uint8_t b[AB_MP_MAX_FRAME];
  int n = ab_mp_encode_set(b, 11, T);
  b[9] ^= 0x10;
  host_send(&h, b, n);
  expect_nak(&h, 11, AB_MP_NAK_CRC);
  int32_t q[AB_MP_JOINTS];
  uint8_t flags;
  send_read(&h, 12);
  expect_status(&h, 12, q, &flags);
  ASSERT_EQ(flags, 0); /* the corrupt SET set no targets */
  host_close(&h);
  host_release(&h);
}

TEST(serial_mock_bad_type_or_length_gets_nak_with_reason)
{
  host_t h;
  host_prepare(&h, NULL, 115200);
  host_open(&h);
  uint8_t b[AB_MP_MAX_FRAME], two[2] = { 1, 2 };
  host_send(&h, b, ab_mp_encode(b, 0x33, 21, NULL, 0));
  expect_nak(&h, 21, AB_MP_NAK_TYPE);
  host_send(&h, b, ab_mp_encode(b, AB_MP_READ, 22, two, 2));
  expect_nak(&h, 22, AB_MP_NAK_LEN);
  host_send(&h, b, ab_mp_encode(b, AB_MP_SET, 23, two, 2));
  expect_nak(&h, 23, AB_MP_NAK_LEN);
  const uint8_t overlong[4] = { AB_MP_SOF, AB_MP_SET, 24, AB_MP_MAX_PAYLOAD + 1 };
  host_send(&h, overlong, 4);
  expect_nak(&h, 24, AB_MP_NAK_LEN);
  int32_t q[AB_MP_JOINTS];
  send_read(&h, 25);
  expect_status(&h, 25, q, NULL);
  host_close(&h);
  host_release(&h);
}

TEST(serial_mock_truncated_frame_unanswered_until_filled)
{
  host_t h;
  host_prepare(&h, NULL, 115200);
  host_open(&h);
  uint8_t b[4 * AB_MP_MAX_FRAME];
  ab_mp_encode_set(b, 30, T);
  host_send(&h, b, 10); /* the host gave up mid-frame */
  ab_mp_frame_t f;
  ASSERT_EQ(host_recv(&h, &f, 50), 0); /* nothing to answer: the host must time out */
  /* Four READs fill the truncated SET's 30 bytes and then some: the controller NAKs the
   * SET, finds the READs it swallowed, and answers every one. */
  int n = 0;
  for (int i = 0; i < 4; i++)
    n += ab_mp_encode(b + n, AB_MP_READ, (uint8_t)(31 + i), NULL, 0);
  host_send(&h, b, n);
  expect_nak(&h, 30, AB_MP_NAK_CRC);
  int32_t q[AB_MP_JOINTS];
  for (int i = 0; i < 4; i++)
    expect_status(&h, (uint8_t)(31 + i), q, NULL);
  host_close(&h);
  host_release(&h);
}

TEST(serial_mock_host_can_close_and_reopen_the_port)
{
  host_t h;
  host_prepare(&h, NULL, 115200);
  int32_t q[AB_MP_JOINTS];
  for (int round = 0; round < 3; round++) {
    host_open(&h);
    send_read(&h, (uint8_t)round);
    expect_status(&h, (uint8_t)round, q, NULL);
    host_close(&h);
  }
  host_release(&h);
}

TEST(serial_mock_release_reaps_named_sim_idempotently)
{
  host_t h;
  host_prepare(&h, NULL, 115200);
  host_open(&h);
  int32_t q[AB_MP_JOINTS];
  send_read(&h, 1); /* once it has answered it has long since named itself */
  expect_status(&h, 1, q, NULL);
  pid_t sim = find_child("ab-motorsim");
  ASSERT_INT(sim, >, 0);
  ASSERT_EQ(waitpid(-1, NULL, WNOHANG), 0); /* a child, still running */
  host_close(&h);
  ab_serial_ops.release(h.state);
  ASSERT_EQ(kill(sim, 0), -1);
  ASSERT_EQ(errno, ESRCH); /* gone, and not a zombie either */
  ASSERT_EQ(waitpid(-1, NULL, WNOHANG), -1);
  ASSERT_EQ(errno, ECHILD);
  ab_serial_ops.release(h.state);
  ab_shm_free(h.state, ab_serial_ops.state_size, 1);
}

TEST(serial_mock_release_reaps_with_host_still_open)
{
  host_t h;
  host_prepare(&h, NULL, 115200);
  host_open(&h);
  send_set(&h, 1, T); /* a reply in flight when the stop comes */
  ab_serial_ops.release(h.state);
  ASSERT_EQ(waitpid(-1, NULL, WNOHANG), -1);
  ASSERT_EQ(errno, ECHILD);
  host_close(&h);
  ab_shm_free(h.state, ab_serial_ops.state_size, 1);
}

TEST(serial_release_after_failed_prepare_is_harmless)
{
  char err[AB_ERRLEN] = "";
  void *st = ab_shm_alloc(ab_serial_ops.state_size, 1);
  ab_dev_opts_t o = { .serial = "/nonexistent/ttyUSB0", .baud = 115200 };
  ASSERT_EQ(ab_serial_ops.prepare(st, &o, err), -ENOENT);
  ab_serial_ops.release(st);
  ab_serial_ops.release(st);
  ASSERT_EQ(waitpid(-1, NULL, WNOHANG), -1);
  ASSERT_EQ(errno, ECHILD);
  ab_shm_free(st, ab_serial_ops.state_size, 1);
}

/* ---- libserialport against the pty mock ------------------------------------------------ *
 * libserialport 0.1.1 will not take a pty: sp_get_port_by_name lstat()s and readlink()s
 * /sys/class/tty/<name after /dev/> (absent for pts/N), and sp_open fails on TIOCMGET
 * (ENOTTY on a pty). So the test re-executes this binary for just this test, with
 * LD_PRELOAD=$AB_SHIM answering the modem-line ioctls, and that copy, in a private mount
 * namespace, binds a directory holding the pts/N link over /sys/class/tty. */

#define LSP_TEST "serial_libserialport_backend_talks_to_the_pty_mock"
#define LSP_ENV "AB_LSP_INNER"

static void lsp_inner(const char *dir)
{
  prctl(PR_SET_PDEATHSIG, SIGKILL); /* go when the outer test's copy of the runner goes */
  if (unshare(CLONE_NEWNS) < 0) {
    if (errno == EPERM)
      SKIP("unshare(CLONE_NEWNS): %s (a private mount namespace is needed)", strerror(errno));
    AB_FAIL("unshare(CLONE_NEWNS): %s", strerror(errno));
  }
  /* Private first: the bind below must not propagate back into the host's namespace. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    AB_FAIL("making / private: %s", strerror(errno));

  int m = posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_INT(m, >=, 0);
  ASSERT_EQ(grantpt(m), 0);
  ASSERT_EQ(unlockpt(m), 0);
  char pts[64], cls[PATH_MAX], link[PATH_MAX], target[PATH_MAX];
  ASSERT_EQ(ptsname_r(m, pts, sizeof pts), 0);
  ASSERT(!strncmp(pts, "/dev/pts/", 9));
  snprintf(cls, sizeof cls, "%s/tty", dir);
  ASSERT_EQ(mkdir(cls, 0755), 0);
  snprintf(link, sizeof link, "%s/tty/pts", dir);
  ASSERT_EQ(mkdir(link, 0755), 0);
  snprintf(link, sizeof link, "%s/tty/%s", dir, pts + 5);
  /* Only the link's text is read: nothing "usb" or "bluetooth" in it makes a native port. */
  snprintf(target, sizeof target, "../../devices/virtual/tty/pts%s", pts + 9);
  ASSERT_EQ(symlink(target, link), 0);
  if (mount(cls, "/sys/class/tty", NULL, MS_BIND, NULL) < 0)
    AB_FAIL("bind %s over /sys/class/tty: %s", cls, strerror(errno));

  pid_t sim = start_sim(m, 115200, -1);
  close(m);

  host_t h;
  host_prepare(&h, pts, 115200);
  ASSERT_STR(ab_serial_ops.backend(h.state), pts);
  host_open(&h);
  unsigned long *calls = dlsym(RTLD_DEFAULT, "ab_lsp_shim_calls");
  ASSERT(calls != NULL); /* LD_PRELOAD took */
  ASSERT_INT(*calls, >, 0); /* and sp_open's modem-line requests came through it */

  int32_t q[AB_MP_JOINTS];
  uint8_t flags;
  send_read(&h, 1);
  expect_status(&h, 1, q, &flags);
  ASSERT_EQ(flags, 0);
  int64_t rtt;
  drive_to_targets(&h, &rtt);
  ASSERT_DBL((double)rtt, >=,
             0.9 * (double)(ab_serial_wire_ns(SET_BYTES + STATUS_BYTES, 115200) + AB_MOTORSIM_PROC_NS));

  host_close(&h);
  host_release(&h);
  ASSERT_EQ(kill(sim, SIGTERM), 0);
  expect_clean_exit(sim);
  umount2("/sys/class/tty", MNT_DETACH);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
  (void)sb, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

TEST(serial_libserialport_backend_talks_to_the_pty_mock)
{
  const char *inner = getenv(LSP_ENV);
  if (inner) {
    lsp_inner(inner);
    return;
  }
  if (geteuid() != 0)
    SKIP("not root: a private mount namespace is needed to give the pty a /sys/class/tty entry");
  const char *shim = getenv("AB_SHIM");
  if (!shim || !*shim)
    SKIP("AB_SHIM is not set: `make test` builds build/lsp_shim.so and exports it");
  if (access(shim, R_OK) < 0)
    AB_FAIL("AB_SHIM=%s: %s", shim, strerror(errno));

  char dir[] = "/tmp/ab-lsp-XXXXXX", out[PATH_MAX];
  ASSERT(mkdtemp(dir) != NULL);
  snprintf(out, sizeof out, "%s/out", dir);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    AB_FAIL("fork: %s", strerror(errno));
  }
  if (pid == 0) {
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
      _exit(126);
    setenv(LSP_ENV, dir, 1);
    setenv("LD_PRELOAD", shim, 1);
    /* Under ASan the shim comes ahead of the sanitizer runtime; that is the point of it. */
    char asan[512];
    const char *old = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof asan, "%s%sverify_asan_link_order=0", old ? old : "", old ? ":" : "");
    setenv("ASAN_OPTIONS", asan, 1);
    char *argv[] = { (char *)"tests", (char *)LSP_TEST, NULL };
    execv("/proc/self/exe", argv);
    _exit(127);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;

  char buf[4096] = "";
  FILE *fp = fopen(out, "r");
  if (fp) {
    buf[fread(buf, 1, sizeof buf - 1, fp)] = '\0';
    fclose(fp);
  }
  nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
  if (!strncmp(buf, "skip ", 5))
    SKIP("the re-executed copy skipped (reason above)");
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !strstr(buf, "ok   " LSP_TEST))
    AB_FAIL("re-executed copy (status 0x%x) said: %s", st, buf);
}
