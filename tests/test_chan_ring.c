/* Channels: the ring's own, private (ring) and shared (shm): send_begin and recv work in
 * place in its slots, its eventfd stays quiet unless armed, and its eventfd and futex
 * wake-ups lose nothing, in a poll loop and in ping-pong, in threads and across processes.
 * What every transport promises is in tests/test_chan.c; the helpers in tests/chanutil.h.
 * Orderings are observed, never latencies.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "chan.h"
#include "chanutil.h"
#include "test.h"

/* ---- the ring ------------------------------------------------------------------------------ */

static void in_place(const char *t)
{
  ab_chan_t c;
  ab_msg_t h;
  const void *d;
  mk(&c, t, 1 << 20, 2, AB_BLOCK, 0);
  ab_chan_attach(&c, AB_SIDE_BOTH);
  char *lo = c.mem, *hi = lo + c.mem_size;
  for (int i = 1; i <= 5; i++) {
    char *p = ab_chan_send_begin(&c, 300000);
    ASSERT(p >= lo && p + 300000 <= hi);
    fill(p, 300000, (uint64_t)i);
    ASSERT_EQ(ab_chan_send_end(&c, 300000, 0), 0);
    ASSERT_EQ(ab_chan_recv(&c, &h, &d, 0), 0);
    ASSERT((const char *)d == p); /* the receiver reads the very slot the sender wrote */
    ASSERT_EQ(h.seq, i);
    verify(d, h.len, h.seq);
    ab_chan_release(&c);
  }
  ab_chan_destroy(&c);
}

TEST(chan_ring_send_begin_and_recv_are_in_place) { in_place("ring"); }
TEST(chan_shm_send_begin_and_recv_are_in_place) { in_place("shm"); }

static int readable(int fd)
{
  struct pollfd p = { fd, POLLIN, 0 };
  return poll(&p, 1, 0);
}

TEST(chan_ring_eventfd_stays_quiet_unless_armed)
{
  ab_chan_t c;
  ab_msg_t h;
  const void *d;
  char x = 1;
  mk(&c, "ring", 64, 8, AB_BLOCK, 1);
  int fd = ab_chan_fd(&c);
  ASSERT_INT(fd, >=, 0);
  ASSERT_EQ(ab_chan_send(&c, &x, 1, 0), 0);
  ASSERT_EQ(readable(fd), 0); /* a busy receiver: the sender made no syscall */
  ASSERT_EQ(ab_chan_recv(&c, &h, &d, 0), 0);
  ab_chan_release(&c);
  ASSERT_EQ(ab_chan_arm(&c), 0);
  ASSERT_EQ(readable(fd), 0);
  ASSERT_EQ(ab_chan_send(&c, &x, 1, 0), 0);
  ASSERT_EQ(readable(fd), 1); /* armed: woken */
  ASSERT_EQ(ab_chan_send(&c, &x, 1, 0), 0);
  ab_chan_disarm(&c);
  ASSERT_EQ(readable(fd), 0); /* drained */
  ASSERT_EQ(ab_chan_recv(&c, &h, &d, 0), 0);
  ASSERT_EQ(h.seq, 2);
  ASSERT_EQ(ab_chan_recv(&c, &h, &d, 0), 0);
  ASSERT_EQ(h.seq, 3);
  ab_chan_release(&c);
  ab_chan_destroy(&c);
  ab_chan_t p;
  mk(&p, "ring", 64, 8, AB_BLOCK, 0);
  ASSERT_EQ(ab_chan_fd(&p), -ENOTSUP); /* no eventfd unless asked for */
  ab_chan_destroy(&p);
}

TEST(chan_ring_arm_reports_a_waiting_message)
{
  ab_chan_t c;
  ab_msg_t h;
  const void *d;
  char x = 1;
  mk(&c, "ring", 64, 8, AB_BLOCK, 1);
  ASSERT_EQ(ab_chan_send(&c, &x, 1, 0), 0);
  ASSERT_EQ(ab_chan_arm(&c), 1);
  ASSERT_EQ(readable(ab_chan_fd(&c)), 0);
  ASSERT_EQ(ab_chan_recv(&c, &h, &d, 0), 0);
  ASSERT_EQ(ab_chan_arm(&c), 0); /* the one held is not news */
  ab_chan_disarm(&c);
  ab_chan_destroy(&c);
}

/* A consumer that sleeps in poll(), as the loop runtime does. */
#define EV_N 20000
static void ev_tx(ab_chan_t *c, void *arg)
{
  for (uint64_t i = 1; i <= EV_N; i++) {
    ASSERT_EQ(ab_chan_send(c, &i, sizeof i, 0), 0);
    if (i % 7 == 0)
      sched_yield(); /* vary the interleaving: sometimes the consumer is asleep */
    if (i % 1000 == 0)
      usleep(200);
  }
}

static void ev_rx(ab_chan_t *c, void *arg)
{
  int fd = ab_chan_fd(c);
  ASSERT_INT(fd, >=, 0);
  for (uint64_t i = 1; i <= EV_N;) {
    ab_msg_t h;
    const void *d;
    int r = ab_chan_recv(c, &h, &d, 0);
    if (r == -EAGAIN) {
      if (ab_chan_arm(c) == 0) {
        struct pollfd p = { fd, POLLIN, 0 };
        /* a lost wake-up would sleep here for good; 5 s is a sanity bound, not a timing */
        ASSERT_EQ(poll(&p, 1, 5000), 1);
      }
      ab_chan_disarm(c);
      continue;
    }
    ASSERT_EQ(r, 0);
    ASSERT_EQ(h.seq, i);
    uint64_t v;
    memcpy(&v, d, sizeof v);
    ASSERT_EQ(v, i);
    ab_chan_release(c);
    i++;
  }
}

TEST_T(chan_ring_eventfd_loop_loses_no_wakeup, 30)
{
  ab_chan_t c;
  mk(&c, "ring", 64, 16, AB_BLOCK, 1);
  run_pair(&c, 0, ev_tx, ev_rx, NULL);
  ab_chan_destroy(&c);
}

TEST_T(chan_shm_eventfd_loop_loses_no_wakeup_across_processes, 30)
{
  ab_chan_t c;
  mk(&c, "shm", 64, 16, AB_BLOCK, 1);
  run_pair(&c, 1, ev_tx, ev_rx, NULL);
  ab_chan_destroy(&c);
}

/* Ping-pong: each side sleeps in recv on every message, the worst case for a lost wake. */
#define PP_N 10000
typedef struct { ab_chan_t *ab, *ba; } pp_t;

static void pp_echo(ab_chan_t *unused, void *arg)
{
  pp_t *p = arg;
  for (int i = 0; i < PP_N; i++) {
    ab_msg_t h;
    const void *d;
    ASSERT_EQ(ab_chan_recv(p->ab, &h, &d, -1), 0);
    uint64_t v;
    memcpy(&v, d, sizeof v);
    ab_chan_release(p->ab);
    ASSERT_EQ(ab_chan_send(p->ba, &v, sizeof v, 0), 0);
  }
}

static void pp_drive(ab_chan_t *unused, void *arg)
{
  pp_t *p = arg;
  for (uint64_t i = 1; i <= PP_N; i++) {
    ab_msg_t h;
    const void *d;
    ASSERT_EQ(ab_chan_send(p->ab, &i, sizeof i, 0), 0);
    ASSERT_EQ(ab_chan_recv(p->ba, &h, &d, -1), 0);
    uint64_t v;
    memcpy(&v, d, sizeof v);
    ASSERT_EQ(v, i);
    ab_chan_release(p->ba);
  }
}

static void pingpong(const char *t, int procs, int64_t spin_ns)
{
  ab_chan_t ab, ba;
  mk(&ab, t, 64, 4, AB_BLOCK, 0);
  mk(&ba, t, 64, 4, AB_BLOCK, 0);
  ab.spin_ns = ba.spin_ns = spin_ns;
  pp_t p = { &ab, &ba };
  if (procs) {
    fflush(NULL);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
      ab_chan_attach(&ab, AB_SIDE_RX);
      ab_chan_attach(&ba, AB_SIDE_TX);
      pp_echo(NULL, &p);
      _exit(0);
    }
    ab_chan_attach(&ab, AB_SIDE_TX);
    ab_chan_attach(&ba, AB_SIDE_RX);
    pp_drive(NULL, &p);
    wait_child_ok(pid);
  } else {
    ab_chan_attach(&ab, AB_SIDE_BOTH);
    ab_chan_attach(&ba, AB_SIDE_BOTH);
    thr_arg_t a = { &ab, pp_echo, &p, 0 };
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, thr_main, &a), 0);
    pp_drive(NULL, &p);
    ASSERT_EQ(pthread_join(th, NULL), 0);
  }
  ab_chan_destroy(&ab);
  ab_chan_destroy(&ba);
}

TEST_T(chan_ring_pingpong_loses_no_wakeup, 30) { pingpong("ring", 0, 0); }
TEST_T(chan_ring_spin_then_sleep_loses_no_wakeup, 30) { pingpong("ring", 0, 20 * AB_NS_PER_US); }
TEST_T(chan_shm_pingpong_loses_no_wakeup_across_processes, 30) { pingpong("shm", 1, 0); }

/* ---- the stop kick -------------------------------------------------------------------------- */

typedef struct { ab_chan_t *c; int r; } kick_rx_t;

static void *kick_rx(void *p)
{
  kick_rx_t *k = p;
  ab_msg_t h;
  const void *d;
  k->r = ab_chan_recv(k->c, &h, &d, -1);
  return NULL;
}

/* A receiver asleep with a 6 s slice leaves at once when the stop word is set and the channel
 * kicked: a run of 1,000 instances (a 1 s slice) need not wait out its slice at teardown. */
static void kicked(const char *t, int want_fd)
{
  ab_chan_t c;
  uint32_t stop = 0;
  mk(&c, t, 64, 8, AB_BLOCK, want_fd);
  c.stop = &stop;
  c.slice_ns = 6 * AB_NS_PER_S;
  ab_chan_attach(&c, AB_SIDE_BOTH);
  kick_rx_t k = { &c, 1 };
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, NULL, kick_rx, &k), 0);
  usleep(100 * 1000); /* asleep on the futex by now, or about to be */
  int64_t t0 = ab_now_ns();
  __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
  ab_chan_kick(&c);
  pthread_join(th, NULL);
  ASSERT_EQ(k.r, -ECANCELED);
  ASSERT_INT(ab_now_ns() - t0, <, 3 * AB_NS_PER_S); /* half the slice: woken, not timed out */
  ab_chan_destroy(&c);
}

TEST_T(chan_ring_kick_at_stop_wakes_a_sleeping_receiver, 60) { kicked("ring", 0); }
TEST_T(chan_shm_kick_at_stop_wakes_a_sleeping_receiver, 60) { kicked("shm", 1); }

static void *kick_tx(void *p)
{
  kick_rx_t *k = p;
  char x = 2;
  k->r = ab_chan_send(k->c, &x, 1, 0);
  return NULL;
}

/* A sender asleep on a full queue leaves at the kick too (its receiver busy elsewhere). */
static void kicked_sender(const char *t)
{
  ab_chan_t c;
  uint32_t stop = 0;
  char x = 1;
  mk(&c, t, 64, 1, AB_BLOCK, 0);
  c.stop = &stop;
  c.slice_ns = 6 * AB_NS_PER_S;
  ab_chan_attach(&c, AB_SIDE_BOTH);
  ASSERT_EQ(ab_chan_send(&c, &x, 1, 0), 0); /* the queue is full */
  kick_rx_t k = { &c, 1 };
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, NULL, kick_tx, &k), 0);
  usleep(100 * 1000);
  int64_t t0 = ab_now_ns();
  __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
  ab_chan_kick(&c);
  pthread_join(th, NULL);
  ASSERT_EQ(k.r, -ECANCELED);
  ASSERT_INT(ab_now_ns() - t0, <, 3 * AB_NS_PER_S);
  ab_chan_destroy(&c);
}

TEST_T(chan_ring_kick_at_stop_wakes_a_sender_waiting_for_room, 60) { kicked_sender("ring"); }
TEST_T(chan_pipe_kick_at_stop_wakes_a_sender_waiting_for_room, 60) { kicked_sender("pipe"); }
