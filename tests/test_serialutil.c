/* Not tests: the helpers of tests/serialutil.h, shared by the serial tests (the motion
 * targets, a forked simulator). The name only matches the Makefile's tests/test_*.c.
 */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "serial.h"
#include "serialutil.h"
#include "test.h"

/* The targets of the motion tests: no 0xA5 in any byte, largest move 0.3 rad. */
const int32_t T[AB_MP_JOINTS] = { 200000, -100000, 50000, 0, -300000, 150000 };

/* Fork a simulator on fd; other_end is closed in it so that our closing it means EOF. */
pid_t start_sim(int fd, int baud, int other_end)
{
  pid_t pid = fork();
  ASSERT_INT(pid, >=, 0);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (other_end >= 0)
      close(other_end);
    _exit(ab_motorsim_run(fd, baud) < 0 ? 1 : 0);
  }
  return pid;
}

void expect_clean_exit(pid_t pid)
{
  int st;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  ASSERT(WIFEXITED(st));
  ASSERT_EQ(WEXITSTATUS(st), 0);
}
