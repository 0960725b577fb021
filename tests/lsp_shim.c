/* LD_PRELOAD shim for the libserialport-over-pty test (tests/test_serial.c): a pty has no
 * modem lines, so TIOCMGET and friends fail with ENOTTY there and libserialport 0.1.1's
 * sp_open gives up. Here those requests, when the kernel refuses them on a pty slave, act on
 * a per-descriptor copy of the lines instead, so the real sp_open/sp_set_* code runs against
 * the simulated controller. Everything else goes to the real ioctl untouched.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define AB__SHIM_FDS 1024
#define AB__PTS_MAJOR_FIRST 136 /* Unix98 pty slaves: majors 136..143 */
#define AB__PTS_MAJOR_LAST 143

/* How many requests were answered here: the test reads it to know the shim was in the path. */
unsigned long ab_lsp_shim_calls;

static int ab__lines[AB__SHIM_FDS];
static unsigned char ab__known[AB__SHIM_FDS];

static int ab__is_pty_slave(int fd)
{
  struct stat sb;
  return fstat(fd, &sb) == 0 && S_ISCHR(sb.st_mode) && major(sb.st_rdev) >= AB__PTS_MAJOR_FIRST &&
         major(sb.st_rdev) <= AB__PTS_MAJOR_LAST;
}

int ioctl(int fd, unsigned long req, ...)
{
  static int (*real)(int, unsigned long, ...);
  va_list ap;
  va_start(ap, req);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  if (!real)
    real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
  if (!real) {
    errno = ENOSYS;
    return -1;
  }
  int r = real(fd, req, arg);
  if (r == 0 || errno != ENOTTY)
    return r;
  if (req != TIOCMGET && req != TIOCMSET && req != TIOCMBIS && req != TIOCMBIC)
    return r;
  if (fd < 0 || fd >= AB__SHIM_FDS || !arg || !ab__is_pty_slave(fd)) {
    errno = ENOTTY;
    return r;
  }
  if (!ab__known[fd]) {
    /* A cable with the far end present: DSR, CTS and carrier up, DTR/RTS as the host sets. */
    ab__lines[fd] = TIOCM_DTR | TIOCM_RTS | TIOCM_CTS | TIOCM_DSR | TIOCM_CAR;
    ab__known[fd] = 1;
  }
  int *bits = arg;
  const int settable = TIOCM_DTR | TIOCM_RTS;
  if (req == TIOCMGET)
    *bits = ab__lines[fd];
  else if (req == TIOCMSET)
    ab__lines[fd] = (ab__lines[fd] & ~settable) | (*bits & settable);
  else if (req == TIOCMBIS)
    ab__lines[fd] |= *bits & settable;
  else
    ab__lines[fd] &= ~(*bits & settable);
  __atomic_fetch_add(&ab_lsp_shim_calls, 1, __ATOMIC_RELAXED);
  return 0;
}
