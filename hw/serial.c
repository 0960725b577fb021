/* The serial device (hw.h, serial.h): ab_serial_ops, its two backends and the handle I/O.
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
 * The simulated controller itself is in serial_motorsim.c; serial_impl.h is what the two share.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <libserialport.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "ab.h"
#include "helper.h"
#include "serial.h"
#include "serial_impl.h"

#define AB__SERIAL_PATH 256
#define AB__SERIAL_HINT "expected a serial port such as /dev/ttyUSB0"
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
int ab__serial_make_raw(int fd, int baud)
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

/* ---- supervisor side --------------------------------------------------------------- */

typedef struct { int m, baud; } ab__sim_arg_t;

static int ab__sim_main(void *arg)
{
  const ab__sim_arg_t *a = arg;
  return ab_motorsim_run(a->m, a->baud);
}

static int ab__start_mock(ab__serial_state_t *st, char *err)
{
  int rc;
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0) {
    rc = -errno;
    return ab_dev_fail(err, rc, "mock serial: posix_openpt: %s (expected /dev/ptmx and devpts)",
                       strerror(-rc));
  }
  if (grantpt(m) < 0 || unlockpt(m) < 0 || (errno = ptsname_r(m, st->path, sizeof st->path))) {
    rc = -errno;
    ab_dev_fail(err, rc, "mock serial: setting up the pty: %s", strerror(-rc));
    goto close_master;
  }
  ab__sim_arg_t a = { m, st->baud };
  pid_t pid = ab_helper_start("ab-motorsim", ab__sim_main, &a, &m, 1);
  if (pid < 0) {
    rc = (int)pid;
    ab_dev_fail(err, rc, "mock serial: fork of the motor simulator: %s", strerror(-rc));
    goto close_master;
  }
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
    return ab_dev_fail(err, -e, "serial device %s: %s (expected read and write access: is the user "
                       "in the device's group, such as dialout?)", path, strerror(e));
  return ab_dev_fail(err, -e, "serial device %s: %s (%s)", path, strerror(e), AB__SERIAL_HINT);
}

/* The checks a user's typo deserves before any role starts. Opening the port once is the
 * only way to ask whether it is a terminal; sp_open will open it again in the owner. */
static int ab__check_path(ab__serial_state_t *st, const char *path, char *err)
{
  struct stat sb;
  if (strlen(path) >= sizeof st->path)
    return ab_dev_fail(err, -EINVAL, "serial device %.64s...: path too long (%s)", path,
                       AB__SERIAL_HINT);
  if (stat(path, &sb) < 0)
    return ab__path_fail(err, path, errno == ENOTDIR ? ENOENT : errno);
  if (!S_ISCHR(sb.st_mode))
    return ab_dev_fail(err, -ENOTTY, "serial device %s: not a character device (%s)", path,
                       AB__SERIAL_HINT);
  int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) /* ENXIO: a node with no hardware behind it */
    return ab__path_fail(err, path, errno == ENXIO ? ENODEV : errno == EPERM ? EACCES : errno);
  int tty = isatty(fd);
  close(fd);
  if (!tty)
    return ab_dev_fail(err, -ENOTTY, "serial device %s: a character device but not a terminal (%s)",
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
    return ab_dev_fail(err, -EINVAL, "serial baud %d: expected 50..4000000, such as 115200", baud);
  st->baud = baud;
  st->sim_pid = 0;
  return o->serial ? ab__check_path(st, o->serial, err) : ab__start_mock(st, err);
}

/* Wait up to ms for pid to exit. A pidfd is pollable, so this is a wait, not a poll loop;
 * without one (Linux < 5.3) there is no grace period and the caller kills at once. */
static void ab__serial_release(void *state)
{
  ab__serial_state_t *st = state;
  pid_t pid = st->sim_pid;
  st->sim_pid = 0;
  ab_helper_stop(pid, AB__SIM_STOP_GRACE_MS);
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
    ab_dev_fail(err, rc, "serial device %s: %s: %s (%s)", path, what, msg ? msg : strerror(-rc),
                AB__SERIAL_HINT);
    sp_free_error_message(msg);
  } else {
    ab_dev_fail(err, rc, "serial device %s: %s: %s (%s)", path, what, strerror(-rc), AB__SERIAL_HINT);
  }
  return rc;
}

static int ab__open_pty(ab_serial_t *s, const ab__serial_state_t *st, char *err)
{
  int rc;
  int fd = open(st->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    rc = -errno;
    return ab_dev_fail(err, rc, "mock serial %s: open: %s", st->path, strerror(-rc));
  }
  if ((rc = ab__serial_make_raw(fd, st->baud)) < 0) {
    ab_dev_fail(err, rc, "mock serial %s: termios: %s", st->path, strerror(-rc));
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
      return ab_dev_fail(err, -ENOTTY, "serial device %s: not a serial port libserialport knows (%s)",
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
    return ab_dev_fail(err, -EINVAL, "serial: open before a successful prepare");
  ab_serial_t *s = calloc(1, sizeof *s);
  if (!s)
    return ab_dev_fail(err, -ENOMEM, "serial: out of memory");
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
