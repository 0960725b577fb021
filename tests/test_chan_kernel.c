/* Channels: what the kernel transports (pipe, unix, mq, tcp) alone do. A gone peer gives
 * EPIPE, to the sender and to the receiver once what was sent before has arrived; and mq sizes
 * its queues to the system's limits (msgsize_max when unprivileged, RLIMIT_MSGQUEUE). What
 * every transport, these included, promises is in tests/test_chan.c; the helpers in
 * tests/chanutil.h.
 */
#include <errno.h>
#include <mqueue.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

#include "chan.h"
#include "chanutil.h"
#include "test.h"

/* ---- a gone peer (kernel transports) ----------------------------------------------------- */

static void dead_sender(const char *t)
{
  ab_chan_t c;
  ab_msg_t h;
  const void *d;
  mk(&c, t, 200000, 16, AB_BLOCK, 0);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    ab_chan_attach(&c, AB_SIDE_TX);
    static char buf[150000];
    for (int i = 1; i <= 3; i++) {
      fill(buf, sizeof buf, (uint64_t)i);
      if (ab_chan_send(&c, buf, sizeof buf, 0) != 0)
        _exit(1);
    }
    _exit(0);
  }
  ab_chan_attach(&c, AB_SIDE_RX);
  for (int i = 1; i <= 3; i++) { /* what it sent before dying still arrives */
    ASSERT_EQ(ab_chan_recv(&c, &h, &d, -1), 0);
    ASSERT_EQ(h.seq, i);
    verify(d, h.len, h.seq);
    ab_chan_release(&c);
  }
  ASSERT_EQ(ab_chan_recv(&c, &h, &d, -1), -EPIPE);
  wait_child_ok(pid);
  ab_chan_destroy(&c);
}

static void dead_receiver(const char *t)
{
  ab_chan_t c;
  char buf[1000];
  signal(SIGPIPE, SIG_IGN); /* the pipe's writer is told by EPIPE, not killed */
  mk(&c, t, sizeof buf, 64, AB_BLOCK, 0);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    ab_chan_attach(&c, AB_SIDE_RX);
    _exit(0);
  }
  ab_chan_attach(&c, AB_SIDE_TX);
  wait_child_ok(pid);
  /* A stream may take a write or two before it learns; an mq only once it is full. */
  int r = 0, i;
  for (i = 0; i < 60 && r == 0; i++)
    r = ab_chan_send(&c, buf, sizeof buf, 0);
  ASSERT_EQ(r, -EPIPE);
  ab_chan_destroy(&c);
}

#define DEAD(T)                                                                          \
  TEST(chan_##T##_dead_sender_gives_epipe) { dead_sender(#T); }                          \
  TEST(chan_##T##_dead_receiver_gives_epipe) { dead_receiver(#T); }
KERNEL_TRANSPORTS(DEAD)

/* ---- mq sizing --------------------------------------------------------------------------------- */

typedef struct { size_t len; } mqbig_t;

static void big_tx(ab_chan_t *c, void *arg)
{
  size_t len = ((mqbig_t *)arg)->len;
  unsigned char *b = malloc(len);
  ASSERT(b != NULL);
  for (int i = 1; i <= 3; i++) {
    fill(b, len, (uint64_t)i);
    ASSERT_EQ(ab_chan_send(c, b, len, 0), 0);
  }
  free(b);
}

static void big_rx(ab_chan_t *c, void *arg)
{
  for (int i = 1; i <= 3; i++) {
    ab_msg_t h;
    const void *d;
    ASSERT_EQ(ab_chan_recv(c, &h, &d, -1), 0);
    ASSERT_EQ(h.seq, i);
    ASSERT_EQ(h.len, ((mqbig_t *)arg)->len);
    verify(d, h.len, h.seq);
    ab_chan_release(c);
  }
}

static long proc_long(const char *path)
{
  long v = -1;
  FILE *f = fopen(path, "r");
  if (f) {
    if (fscanf(f, "%ld", &v) != 1)
      v = -1;
    fclose(f);
  }
  return v;
}

TEST(chan_mq_falls_back_to_system_msgsize_when_unprivileged)
{
  long sys = proc_long("/proc/sys/fs/mqueue/msgsize_max");
  if (sys <= 0 || sys >= 65536)
    SKIP("msgsize_max is %ld: 64 KiB fragments are allowed anyway", sys);
  if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
    SKIP("cannot drop root to test the unprivileged limit");
  ab_chan_t c;
  mqbig_t m = { 200000 };
  ASSERT_EQ(ab_chan_create(&c, "mq", &ab_transport_mq, m.len, 4, AB_BLOCK, 0, 0), 0);
  ASSERT_EQ(c.frag, sys);
  run_pair(&c, 0, big_tx, big_rx, &m);
  ab_chan_destroy(&c);
}

static long mq_bytes(const ab_chan_t *c)
{
  struct mq_attr a;
  ASSERT_EQ(mq_getattr((mqd_t)c->fd[0], &a), 0);
  return a.mq_maxmsg * a.mq_msgsize;
}

TEST(chan_mq_shrinks_a_queue_to_fit_the_rlimit)
{
  ab_chan_t c[2];
  mqbig_t m = { 300000 };
  ASSERT_EQ(ab_chan_create(&c[0], "mq", &ab_transport_mq, m.len, 4, AB_BLOCK, 0, 0), 0);
  long full = mq_bytes(&c[0]);
  ab_chan_destroy(&c[0]);
  /* room for one queue and a half: the second has to make do with less */
  struct rlimit rl = { (rlim_t)(full * 3 / 2), (rlim_t)(full * 3 / 2) };
  if (setrlimit(RLIMIT_MSGQUEUE, &rl) != 0)
    SKIP("cannot set RLIMIT_MSGQUEUE to %ld bytes", full * 3 / 2);
  for (int i = 0; i < 2; i++)
    ASSERT_EQ(ab_chan_create(&c[i], "mq", &ab_transport_mq, m.len, 4, AB_BLOCK, 0, 0), 0);
  ASSERT_INT(mq_bytes(&c[1]), <, full);
  for (int i = 0; i < 2; i++) {
    run_pair(&c[i], 0, big_tx, big_rx, &m);
    ab_chan_destroy(&c[i]);
  }
}
