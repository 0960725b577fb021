/* Helper processes (helper.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab.h"
#include "helper.h"

static int ab__cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* Close every descriptor from 3 up but those kept (sorted). */
static void ab__keep_only(const int *keep, int nkeep)
{
  int k[16], n = 0;
  for (int i = 0; i < nkeep && n < 16; i++)
    if (keep[i] > 2)
      k[n++] = keep[i];
  qsort(k, (size_t)n, sizeof *k, ab__cmp_int);
  unsigned from = 3;
  for (int i = 0; i < n; i++) {
    if ((unsigned)k[i] > from)
      close_range(from, (unsigned)k[i] - 1, 0);
    from = (unsigned)k[i] + 1;
  }
  close_range(from, ~0U, 0);
}

pid_t ab_helper_start(const char *name, int (*main)(void *arg), void *arg, const int *keep, int nkeep)
{
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0)
    return -errno;
  if (pid > 0)
    return pid;
  prctl(PR_SET_NAME, name);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) /* the starter died before the death signal was armed */
    _exit(0);
  signal(SIGINT, SIG_IGN);
  setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  ab__keep_only(keep, nkeep);
  _exit(main(arg) < 0 ? 1 : 0);
}

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

void ab_helper_stop(pid_t pid, int grace_ms)
{
  if (pid <= 0 || kill(pid, SIGTERM) < 0)
    return; /* ESRCH: someone else already reaped it */
  ab__wait_exit(pid, grace_ms);
  pid_t r;
  while ((r = waitpid(pid, NULL, WNOHANG)) < 0 && errno == EINTR)
    ;
  if (r != 0)
    return; /* reaped, or ECHILD: not ours to wait for */
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
    ;
}
