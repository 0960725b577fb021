/* Tests of the simulated motor controller (ab_motorsim_run, hw/serial_motorsim.c) alone,
 * without the serial device: it answers on a socket and exits at its EOF, stops cleanly on
 * SIGTERM on a pty, and schedules each reply for when its last byte would be off the wire, no
 * sooner. The pty mock and the libserialport backend that drive it are tested in
 * tests/test_serial.c; the helpers both use are in tests/serialutil.h.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab.h"
#include "motor_proto.h"
#include "serial.h"
#include "serialutil.h"
#include "shm.h"
#include "test.h"

/* ---- the simulator alone --------------------------------------------------------------- */

TEST(motorsim_answers_on_a_socket_and_exits_at_its_eof)
{
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  pid_t pid = start_sim(sv[1], 115200, sv[0]);
  close(sv[1]);
  uint8_t b[AB_MP_MAX_FRAME];
  int n = ab_mp_encode(b, AB_MP_READ, 9, NULL, 0);
  ASSERT_EQ(write(sv[0], b, (size_t)n), n);
  ab_mp_parser_t p;
  ab_mp_parser_init(&p);
  ab_mp_frame_t f;
  int got = 0;
  while (!got) {
    uint8_t in[64];
    ssize_t r = read(sv[0], in, sizeof in);
    ASSERT_INT(r, >, 0);
    size_t off = 0;
    do
      off += ab_mp_feed(&p, in + off, (size_t)r - off, &f, &got);
    while (!got && off < (size_t)r);
  }
  ASSERT_EQ(got, 1);
  ASSERT_EQ(f.type, AB_MP_STATUS);
  ASSERT_EQ(f.seq, 9);
  close(sv[0]);
  expect_clean_exit(pid);
}

TEST(motorsim_on_a_pty_exits_cleanly_on_sigterm)
{
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_INT(m, >=, 0);
  ASSERT_EQ(grantpt(m), 0);
  ASSERT_EQ(unlockpt(m), 0);
  pid_t pid = start_sim(m, 115200, -1);
  close(m);
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int st;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  /* Either it was still starting (killed by the default action) or it stopped itself. */
  ASSERT((WIFEXITED(st) && WEXITSTATUS(st) == 0) || (WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM));
}

/* ---- the simulator's schedule ------------------------------------------------------------
 * The simulator reads a request, then arms its timerfd for the absolute time the reply's last
 * byte would arrive. The first such arm is recorded here, in memory shared with the forked
 * simulator (timerfd_settime is interposed for the whole test binary; it only records while
 * sim_arm is set). The request was seen before the arm, so due - t_arm is at most the exchange's
 * wire time, and only a delay inside the simulator between its read and its arm makes it less:
 * a schedule that is short shows as short whatever the machine's load. */

static struct { int64_t t_arm, due; uint32_t n; } *sim_arm;

int timerfd_settime(int fd, int flags, const struct itimerspec *nv, struct itimerspec *old)
{
  if (sim_arm && nv && (nv->it_value.tv_sec || nv->it_value.tv_nsec) &&
      !__atomic_load_n(&sim_arm->n, __ATOMIC_ACQUIRE)) {
    int64_t now = ab_now_ns();
    int64_t v = (int64_t)nv->it_value.tv_sec * AB_NS_PER_S + nv->it_value.tv_nsec;
    sim_arm->t_arm = now;
    sim_arm->due = flags & TFD_TIMER_ABSTIME ? v : now + v;
    __atomic_store_n(&sim_arm->n, 1, __ATOMIC_RELEASE);
  }
  return (int)syscall(SYS_timerfd_settime, fd, flags, nv, old);
}

/* At 300 baud the exchange takes 2 s on the wire: the 10% allowed for the simulator's own
 * work between read and arm is 200 ms. Nobody waits for the reply. */
TEST(motorsim_schedules_a_reply_after_the_whole_wire_time_and_no_later)
{
  const int baud = 300;
  sim_arm = ab_shm_alloc(sizeof *sim_arm, 1);
  ASSERT(sim_arm != NULL);
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  pid_t pid = start_sim(sv[1], baud, sv[0]);
  close(sv[1]);
  uint8_t b[AB_MP_MAX_FRAME];
  int n = ab_mp_encode_set(b, 1, T);
  ASSERT_EQ(n, SET_BYTES);
  ASSERT_EQ(write(sv[0], b, (size_t)n), n);
  int64_t t0 = ab_now_ns();
  while (!__atomic_load_n(&sim_arm->n, __ATOMIC_ACQUIRE)) {
    ASSERT_INT(ab_now_ns() - t0, <, 5 * SANE_NS);
    usleep(1000);
  }
  int64_t wire = ab_serial_wire_ns(SET_BYTES + STATUS_BYTES, baud) + AB_MOTORSIM_PROC_NS;
  int64_t sched = sim_arm->due - sim_arm->t_arm;
  printf("reply due %.3f s after the arm; wire time %.3f s\n", sched / 1e9, wire / 1e9);
  ASSERT_INT(sched, >=, wire - wire / 10);
  ASSERT_INT(sched, <=, wire);
  close(sv[0]); /* EOF: it stops with the reply still pending */
  expect_clean_exit(pid);
  ab_shm_free(sim_arm, sizeof *sim_arm, 1);
  sim_arm = NULL;
}
