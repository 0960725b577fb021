/* The serial device (hw.h, serial.h): ab_serial_ops and the simulated motor controller.
 *
 * prepare (supervisor) either checks the --serial path or starts the mock: a pty whose master
 * goes to a forked "ab-motorsim" process running ab_motorsim_run. Only plain data lands in the
 * shared state block (paths, baud, the simulator's pid), because forked roles read it. open
 * (owner role) opens the pty slave with termios, or a real port through libserialport. release
 * (supervisor, the process that prepared) stops and reaps the simulator. Call prepare from a
 * thread that lives as long as the run: the simulator's PR_SET_PDEATHSIG follows the thread
 * that forked it. A supervisor reaping with waitpid(-1) would take the simulator too; release
 * copes (ECHILD), but reaping roles by pid keeps the exit status where it belongs.
 *
 * The simulator is an event loop over the pty master and a timerfd: input is timestamped the
 * moment it arrives even while replies are pending (the loop runtime pipelines a SET behind a
 * READ), and each reply is written whole when its last byte would have arrived on a real line,
 * an absolute CLOCK_MONOTONIC deadline.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <libserialport.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "ab.h"
#include "motor_proto.h"
#include "serial.h"

#define AB__SERIAL_PATH 256
#define AB__SERIAL_HINT "expected a serial port such as /dev/ttyUSB0"
#define AB__SIM_QUEUE 32        /* replies in flight; a real controller would have fewer */
#define AB__SIM_STOP_GRACE_MS 1000

typedef struct ab__serial_state {
  char path[AB__SERIAL_PATH];    /* pty slave of the mock, or the device the user named */
  char backend[AB__SERIAL_PATH]; /* "mock-pty" or the path */
  int baud;
  int mock;
  pid_t sim_pid; /* 0: no simulator running */
} ab__serial_state_t;

struct ab_serial {
  int fd;
  int baud;
  struct sp_port *port; /* NULL for the mock pty */
};

static int ab__fail(char *err, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int ab__fail(char *err, int rc, const char *fmt, ...)
{
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, AB_ERRLEN, fmt, ap);
    va_end(ap);
  }
  return rc;
}

static speed_t ab__speed(int baud)
{
  static const struct { int baud; speed_t speed; } tab[] = {
    { 50, B50 }, { 75, B75 }, { 110, B110 }, { 134, B134 }, { 150, B150 }, { 200, B200 },
    { 300, B300 }, { 600, B600 }, { 1200, B1200 }, { 1800, B1800 }, { 2400, B2400 },
    { 4800, B4800 }, { 9600, B9600 }, { 19200, B19200 }, { 38400, B38400 },
    { 57600, B57600 }, { 115200, B115200 }, { 230400, B230400 }, { 460800, B460800 },
    { 500000, B500000 }, { 576000, B576000 }, { 921600, B921600 }, { 1000000, B1000000 },
    { 1152000, B1152000 }, { 1500000, B1500000 }, { 2000000, B2000000 },
    { 2500000, B2500000 }, { 3000000, B3000000 }, { 3500000, B3500000 },
    { 4000000, B4000000 },
  };
  for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
    if (tab[i].baud == baud)
      return tab[i].speed;
  return B0;
}

/* 8N1, raw, no flow control. A pty has no line rate, so an unlisted baud leaves the speed
 * alone: the simulator times the wire from the number, not from termios. */
static int ab__make_raw(int fd, int baud)
{
  struct termios t;
  if (tcgetattr(fd, &t) < 0)
    return -errno;
  cfmakeraw(&t);
  t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CSTOPB | CRTSCTS);
  t.c_cflag |= CS8 | CLOCAL | CREAD;
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  speed_t sp = ab__speed(baud);
  if (sp != B0)
    cfsetspeed(&t, sp);
  if (tcsetattr(fd, TCSANOW, &t) < 0)
    return -errno;
  return 0;
}

/* ---- the simulated controller ------------------------------------------------------- */

typedef struct ab__sim_reply {
  int64_t due; /* when its last byte would have arrived at the host */
  int len;
  uint8_t bytes[AB_MP_MAX_FRAME];
} ab__sim_reply_t;

typedef struct ab__sim {
  int fd, baud;
  int64_t rx_free, tx_free; /* when each direction of the line is next idle */
  int64_t t_model;          /* joints are integrated up to here */
  double pos[AB_MP_JOINTS], target[AB_MP_JOINTS]; /* micro-radians */
  ab__sim_reply_t q[AB__SIM_QUEUE];
  unsigned head, count;
  uint64_t dropped;
} ab__sim_t;

static volatile sig_atomic_t ab__sim_stop;

static void ab__sim_on_term(int sig)
{
  (void)sig;
  ab__sim_stop = 1;
}

static void ab__sim_advance(ab__sim_t *s, int64_t t)
{
  if (t <= s->t_model)
    return;
  double step = AB_MOTORSIM_URAD_PER_S * (double)(t - s->t_model) / (double)AB_NS_PER_S;
  for (int j = 0; j < AB_MP_JOINTS; j++) {
    double d = s->target[j] - s->pos[j];
    s->pos[j] = fabs(d) <= step ? s->target[j] : s->pos[j] + (d > 0 ? step : -step);
  }
  s->t_model = t;
}

static int ab__sim_status(ab__sim_t *s, uint8_t *out, uint8_t seq)
{
  int32_t q[AB_MP_JOINTS];
  uint8_t flags = 0;
  for (int j = 0; j < AB_MP_JOINTS; j++) {
    q[j] = (int32_t)llround(s->pos[j]);
    if (s->pos[j] != s->target[j])
      flags |= AB_MP_F_MOVING;
  }
  return ab_mp_encode_status(out, seq, q, flags);
}

static int ab__sim_nak(uint8_t *out, uint8_t seq, uint8_t reason)
{
  return ab_mp_encode(out, AB_MP_NAK, seq, &reason, 1);
}

/* One request (or rejected frame) whose first byte was seen at t_seen: work out when the
 * controller would have it, answer as of then, and queue the reply for its arrival time. */
static void ab__sim_request(ab__sim_t *s, const ab_mp_frame_t *f, int got, int64_t t_seen)
{
  size_t nreq = got == -AB_MP_NAK_LEN ? 4 : 4 + (size_t)f->len + 2;
  int64_t start = t_seen > s->rx_free ? t_seen : s->rx_free;
  s->rx_free = start + ab_serial_wire_ns(nreq, s->baud);
  int64_t t_proc = s->rx_free + AB_MOTORSIM_PROC_NS;
  ab__sim_advance(s, t_proc);

  uint8_t out[AB_MP_MAX_FRAME];
  int32_t q[AB_MP_JOINTS];
  int n;
  if (got < 0) {
    n = ab__sim_nak(out, f->seq, (uint8_t)-got);
  } else if (f->type == AB_MP_SET) {
    if (ab_mp_set_targets(f, q) == 0) {
      for (int j = 0; j < AB_MP_JOINTS; j++)
        s->target[j] = q[j];
      n = ab__sim_status(s, out, f->seq);
    } else {
      n = ab__sim_nak(out, f->seq, AB_MP_NAK_LEN);
    }
  } else if (f->type == AB_MP_READ) {
    n = f->len == 0 ? ab__sim_status(s, out, f->seq) : ab__sim_nak(out, f->seq, AB_MP_NAK_LEN);
  } else {
    n = ab__sim_nak(out, f->seq, AB_MP_NAK_TYPE);
  }

  int64_t tx = t_proc > s->tx_free ? t_proc : s->tx_free;
  s->tx_free = tx + ab_serial_wire_ns((size_t)n, s->baud);
  if (s->count == AB__SIM_QUEUE) {
    s->dropped++; /* the host is not reading; a UART would overrun just the same */
    return;
  }
  ab__sim_reply_t *r = &s->q[(s->head + s->count++) % AB__SIM_QUEUE];
  r->due = s->tx_free;
  r->len = n;
  memcpy(r->bytes, out, (size_t)n);
}

/* Write a reply whole. The host not reading for 100 ms fills the pty buffer; the reply is
 * then dropped rather than letting one slow host wedge the controller. */
static int ab__sim_write(int fd, const uint8_t *p, size_t n)
{
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno != EAGAIN)
      return -errno;
    struct pollfd pfd = { .fd = fd, .events = POLLOUT };
    int r = poll(&pfd, 1, 100);
    if (r == 0)
      return 0;
    if (r < 0 && errno != EINTR)
      return -errno;
  }
  return 0;
}

static int ab__sim_flush(ab__sim_t *s, int64_t now)
{
  while (s->count && s->q[s->head].due <= now) {
    ab__sim_reply_t *r = &s->q[s->head];
    int rc = ab__sim_write(s->fd, r->bytes, (size_t)r->len);
    if (rc < 0)
      return rc;
    s->head = (s->head + 1) % AB__SIM_QUEUE;
    s->count--;
  }
  return 0;
}

static int ab__sim_loop(ab__sim_t *s, int tfd, const sigset_t *wait_mask)
{
  ab_mp_parser_t p;
  ab_mp_parser_init(&p);
  int64_t t_frame = -1; /* when the partly buffered frame's first byte arrived */
  uint8_t in[256];

  while (!ab__sim_stop) {
    int rc = ab__sim_flush(s, ab_now_ns());
    if (rc < 0)
      return rc;
    struct itimerspec its = { { 0, 0 }, { 0, 0 } };
    if (s->count)
      its.it_value = ab_ts(s->q[s->head].due);
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
      return -errno;

    struct pollfd pfd[2] = { { .fd = s->fd, .events = POLLIN }, { .fd = tfd, .events = POLLIN } };
    if (ppoll(pfd, 2, NULL, wait_mask) < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (pfd[1].revents & POLLIN) {
      uint64_t ticks;
      if (read(tfd, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
        return -errno;
    }
    if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
      continue;
    ssize_t n = read(s->fd, in, sizeof in);
    int64_t t = ab_now_ns();
    if (n == 0 || (n < 0 && errno == EIO))
      return 0; /* the host side is gone for good */
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR)
        continue;
      return -errno;
    }
    size_t off = 0;
    int got;
    do {
      ab_mp_frame_t f;
      off += ab_mp_feed(&p, in + off, (size_t)n - off, &f, &got);
      if (got) {
        ab__sim_request(s, &f, got, t_frame >= 0 ? t_frame : t);
        t_frame = -1;
      }
    } while (off < (size_t)n || got);
    if (p.have && t_frame < 0)
      t_frame = t;
  }
  return 0;
}

int ab_motorsim_run(int fd, int baud)
{
  if (fd < 0 || baud <= 0)
    return -EINVAL;
  int rc, hold = -1, fl, tfd;
  char name[64];
  /* Hold the slave ourselves: with no slave open the master reads EIO and polls POLLHUP
   * forever, and the host could never close and reopen the port. */
  if (ptsname_r(fd, name, sizeof name) == 0) {
    hold = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (hold < 0)
      return -errno;
    /* No echo: with the line discipline's default ECHO our replies would come back to us. */
    if ((rc = ab__make_raw(hold, baud)) < 0)
      goto close_hold;
  }
  fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    rc = -errno;
    goto close_hold;
  }
  tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (tfd < 0) {
    rc = -errno;
    goto restore_flags;
  }

  ab__sim_t sim;
  memset(&sim, 0, sizeof sim);
  sim.fd = fd;
  sim.baud = baud;
  sim.t_model = ab_now_ns();

  /* SIGTERM stays blocked except inside ppoll, so a stop can never slip in between the
   * check of the flag and the wait. */
  struct sigaction sa = { .sa_handler = ab__sim_on_term }, old_sa;
  sigset_t term, old_mask, wait_mask;
  sigemptyset(&sa.sa_mask);
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ab__sim_stop = 0;
  sigaction(SIGTERM, &sa, &old_sa);
  pthread_sigmask(SIG_BLOCK, &term, &old_mask);
  wait_mask = old_mask;
  sigdelset(&wait_mask, SIGTERM);

  rc = ab__sim_loop(&sim, tfd, &wait_mask);

  pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
  sigaction(SIGTERM, &old_sa, NULL);
  close(tfd);
restore_flags:
  fcntl(fd, F_SETFL, fl);
close_hold:
  if (hold >= 0)
    close(hold);
  return rc;
}

/* ---- supervisor side --------------------------------------------------------------- */

static void ab__sim_child(int m, int baud, pid_t parent) __attribute__((noreturn));
static void ab__sim_child(int m, int baud, pid_t parent)
{
  prctl(PR_SET_NAME, "ab-motorsim");
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) /* the supervisor died before the death signal was armed */
    _exit(0);
  signal(SIGINT, SIG_IGN); /* Ctrl-C is the supervisor's to handle; it then releases us */
  /* A group of our own: a SIGTERM or SIGHUP sent to the run's process group is for the
   * supervisor, which then stops the run and releases us in order. */
  setpgid(0, 0);
  /* Keep none of the supervisor's descriptors: a pipe end held here would hide EOF from a
   * role until release. */
  if (m > 3)
    close_range(3, (unsigned)m - 1, 0);
  close_range((unsigned)(m > 2 ? m + 1 : 3), ~0U, 0);
  _exit(ab_motorsim_run(m, baud) < 0 ? 1 : 0);
}

static int ab__start_mock(ab__serial_state_t *st, char *err)
{
  int rc;
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) {
    rc = -errno;
    return ab__fail(err, rc, "mock serial: posix_openpt: %s (expected /dev/ptmx and devpts)",
                    strerror(-rc));
  }
  if (grantpt(m) < 0 || unlockpt(m) < 0 || (errno = ptsname_r(m, st->path, sizeof st->path))) {
    rc = -errno;
    ab__fail(err, rc, "mock serial: setting up the pty: %s", strerror(-rc));
    goto close_master;
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    rc = -errno;
    ab__fail(err, rc, "mock serial: fork of the motor simulator: %s", strerror(-rc));
    goto close_master;
  }
  if (pid == 0)
    ab__sim_child(m, st->baud, parent);
  close(m); /* the simulator owns the master now */
  st->sim_pid = pid;
  st->mock = 1;
  snprintf(st->backend, sizeof st->backend, "mock-pty");
  return 0;

close_master:
  close(m);
  st->path[0] = '\0';
  return rc;
}

static int ab__path_fail(char *err, const char *path, int e)
{
  if (e == EACCES)
    return ab__fail(err, -e, "serial device %s: %s (expected read and write access: is the user "
                    "in the device's group, such as dialout?)", path, strerror(e));
  return ab__fail(err, -e, "serial device %s: %s (%s)", path, strerror(e), AB__SERIAL_HINT);
}

/* The checks a user's typo deserves before any role starts. Opening the port once is the
 * only way to ask whether it is a terminal; sp_open will open it again in the owner. */
static int ab__check_path(ab__serial_state_t *st, const char *path, char *err)
{
  struct stat sb;
  if (strlen(path) >= sizeof st->path)
    return ab__fail(err, -EINVAL, "serial device %.64s...: path too long (%s)", path,
                    AB__SERIAL_HINT);
  if (stat(path, &sb) < 0)
    return ab__path_fail(err, path, errno == ENOTDIR ? ENOENT : errno);
  if (!S_ISCHR(sb.st_mode))
    return ab__fail(err, -ENOTTY, "serial device %s: not a character device (%s)", path,
                    AB__SERIAL_HINT);
  int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) /* ENXIO: a node with no hardware behind it */
    return ab__path_fail(err, path, errno == ENXIO ? ENODEV : errno == EPERM ? EACCES : errno);
  int tty = isatty(fd);
  close(fd);
  if (!tty)
    return ab__fail(err, -ENOTTY, "serial device %s: a character device but not a terminal (%s)",
                    path, AB__SERIAL_HINT);
  snprintf(st->path, sizeof st->path, "%s", path);
  snprintf(st->backend, sizeof st->backend, "%s", path);
  st->mock = 0;
  return 0;
}

static int ab__serial_prepare(void *state, const ab_dev_opts_t *o, char *err)
{
  ab__serial_state_t *st = state;
  int baud = o->baud ? o->baud : AB_SERIAL_DEFAULT_BAUD;
  if (baud < 50 || baud > 4000000)
    return ab__fail(err, -EINVAL, "serial baud %d: expected 50..4000000, such as 115200", baud);
  st->baud = baud;
  st->sim_pid = 0;
  return o->serial ? ab__check_path(st, o->serial, err) : ab__start_mock(st, err);
}

/* Wait up to ms for pid to exit. A pidfd is pollable, so this is a wait, not a poll loop;
 * without one (Linux < 5.3) there is no grace period and the caller kills at once. */
static void ab__wait_exit(pid_t pid, int ms)
{
  int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pfd < 0)
    return;
  struct pollfd p = { .fd = pfd, .events = POLLIN };
  int64_t deadline = ab_now_ns() + ms * AB_NS_PER_MS;
  for (;;) {
    int64_t left = deadline - ab_now_ns();
    if (left <= 0 || poll(&p, 1, (int)((left + AB_NS_PER_MS - 1) / AB_NS_PER_MS)) >= 0)
      break;
    if (errno != EINTR)
      break;
  }
  close(pfd);
}

static void ab__serial_release(void *state)
{
  ab__serial_state_t *st = state;
  pid_t pid = st->sim_pid;
  if (pid <= 0)
    return;
  st->sim_pid = 0;
  if (kill(pid, SIGTERM) < 0)
    return; /* ESRCH: someone else already reaped it */
  ab__wait_exit(pid, AB__SIM_STOP_GRACE_MS);
  pid_t r;
  while ((r = waitpid(pid, NULL, WNOHANG)) < 0 && errno == EINTR)
    ;
  if (r != 0)
    return; /* reaped, or ECHILD: not ours to wait for */
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
    ;
}

static const char *ab__serial_backend(const void *state)
{
  const ab__serial_state_t *st = state;
  return st->backend;
}

/* ---- owner side -------------------------------------------------------------------- */

static int ab__sp_errno(enum sp_return r)
{
  switch (r) {
  case SP_OK:
    return 0;
  case SP_ERR_ARG:
    return -EINVAL;
  case SP_ERR_MEM:
    return -ENOMEM;
  case SP_ERR_SUPP:
    return -ENOTSUP;
  default: {
    int e = sp_last_error_code();
    return e > 0 ? -e : -EIO;
  }
  }
}

static int ab__sp_fail(char *err, enum sp_return r, const char *path, const char *what)
{
  int rc = ab__sp_errno(r);
  if (r == SP_ERR_FAIL) {
    char *msg = sp_last_error_message();
    ab__fail(err, rc, "serial device %s: %s: %s (%s)", path, what, msg ? msg : strerror(-rc),
             AB__SERIAL_HINT);
    sp_free_error_message(msg);
  } else {
    ab__fail(err, rc, "serial device %s: %s: %s (%s)", path, what, strerror(-rc), AB__SERIAL_HINT);
  }
  return rc;
}

static int ab__open_pty(ab_serial_t *s, const ab__serial_state_t *st, char *err)
{
  int rc;
  int fd = open(st->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    rc = -errno;
    return ab__fail(err, rc, "mock serial %s: open: %s", st->path, strerror(-rc));
  }
  if ((rc = ab__make_raw(fd, st->baud)) < 0) {
    ab__fail(err, rc, "mock serial %s: termios: %s", st->path, strerror(-rc));
    goto close_fd;
  }
  tcflush(fd, TCIOFLUSH); /* nothing a previous owner left half-sent */
  s->fd = fd;
  return 0;

close_fd:
  close(fd);
  return rc;
}

static int ab__open_sp(ab_serial_t *s, const ab__serial_state_t *st, char *err)
{
  struct sp_port *port = NULL;
  enum sp_return r;
  const char *what = "sp_get_port_by_name";
  int rc, fd = -1;

  if ((r = sp_get_port_by_name(st->path, &port)) != SP_OK) {
    if (r == SP_ERR_ARG) /* libserialport found no serial port under /sys/class/tty */
      return ab__fail(err, -ENOTTY, "serial device %s: not a serial port libserialport knows (%s)",
                      st->path, AB__SERIAL_HINT);
    return ab__sp_fail(err, r, st->path, what);
  }
  what = "sp_open";
  if ((r = sp_open(port, SP_MODE_READ_WRITE)) != SP_OK)
    goto free_port;
  what = "setting 8N1 without flow control";
  if ((r = sp_set_baudrate(port, st->baud)) != SP_OK || (r = sp_set_bits(port, 8)) != SP_OK ||
      (r = sp_set_parity(port, SP_PARITY_NONE)) != SP_OK ||
      (r = sp_set_stopbits(port, 1)) != SP_OK ||
      (r = sp_set_flowcontrol(port, SP_FLOWCONTROL_NONE)) != SP_OK)
    goto close_port;
  what = "sp_get_port_handle";
  if ((r = sp_get_port_handle(port, &fd)) != SP_OK)
    goto close_port;
  sp_flush(port, SP_BUF_BOTH);
  s->port = port;
  s->fd = fd;
  return 0;

close_port:
  rc = ab__sp_fail(err, r, st->path, what);
  sp_close(port);
  sp_free_port(port);
  return rc;
free_port:
  rc = ab__sp_fail(err, r, st->path, what);
  sp_free_port(port);
  return rc;
}

static int ab__serial_open(void *state, void **handle, char *err)
{
  const ab__serial_state_t *st = state;
  if (!st->path[0])
    return ab__fail(err, -EINVAL, "serial: open before a successful prepare");
  ab_serial_t *s = calloc(1, sizeof *s);
  if (!s)
    return ab__fail(err, -ENOMEM, "serial: out of memory");
  s->fd = -1;
  s->baud = st->baud;
  int rc = st->mock ? ab__open_pty(s, st, err) : ab__open_sp(s, st, err);
  if (rc < 0) {
    free(s);
    return rc;
  }
  *handle = s;
  return 0;
}

static int ab__serial_fd(void *handle)
{
  return ((ab_serial_t *)handle)->fd;
}

static void ab__serial_close(void *handle)
{
  ab_serial_t *s = handle;
  if (!s)
    return;
  if (s->port) {
    sp_close(s->port);
    sp_free_port(s->port);
  } else if (s->fd >= 0) {
    close(s->fd);
  }
  free(s);
}

ssize_t ab_serial_write_h(ab_serial_t *s, const void *buf, size_t len)
{
  if (s->port) {
    enum sp_return r = sp_blocking_write(s->port, buf, len, 0);
    return r < 0 ? ab__sp_errno(r) : (ssize_t)r;
  }
  const uint8_t *p = buf;
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(s->fd, p + done, len - done);
    if (n >= 0) {
      done += (size_t)n;
      continue;
    }
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN)
      return -errno;
    struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
    if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
      return -errno;
  }
  return (ssize_t)done;
}

ssize_t ab_serial_read_h(ab_serial_t *s, void *buf, size_t cap)
{
  if (cap == 0)
    return 0;
  if (s->port) {
    enum sp_return r = sp_nonblocking_read(s->port, buf, cap);
    return r < 0 ? ab__sp_errno(r) : (ssize_t)r;
  }
  for (;;) {
    ssize_t n = read(s->fd, buf, cap);
    if (n > 0)
      return n;
    if (n == 0)
      return -EIO; /* hangup: the simulator has gone */
    if (errno == EINTR)
      continue;
    return errno == EAGAIN ? 0 : -errno;
  }
}

int ab_serial_baud(const ab_serial_t *s)
{
  return s->baud;
}

const ab_devops_t ab_serial_ops = {
  .kind = "serial",
  .option = "--serial",
  .path_off = offsetof(ab_dev_opts_t, serial),
  .state_size = sizeof(ab__serial_state_t),
  .prepare = ab__serial_prepare,
  .release = ab__serial_release,
  .backend = ab__serial_backend,
  .open = ab__serial_open,
  .fd = ab__serial_fd,
  .close = ab__serial_close,
};
