/* Channels: what every transport promises. Every size carried in order and intact, in threads
 * and across processes; the depth policies (drop counts, block holds the sender); timeouts;
 * the stop word; no fd nor /dev/shm entry outlives a channel; and the generic layer (release,
 * oversize, bad arguments, the transport table). The ring's in-place slots and its
 * eventfd/futex wake-ups are in tests/test_chan_ring.c; what the kernel transports alone do (a
 * gone peer, mq sizing) in tests/test_chan_kernel.c; the shared helpers in tests/chanutil.h.
 * Orderings are observed, never latencies.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "chan.h"
#include "chanutil.h"
#include "shm.h"
#include "test.h"

/* ---- helpers -------------------------------------------------------------------------- */

static int64_t ms_since(int64_t t0)
{
  return (ab_now_ns() - t0) / AB_NS_PER_MS;
}

static int count_fds(void)
{
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  ASSERT(d != NULL);
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.')
      n++;
  closedir(d);
  return n - 1; /* the directory's own */
}

static int count_entries(const char *dir, const char *prefix)
{
  int n = 0;
  DIR *d = opendir(dir);
  if (!d)
    return -1;
  struct dirent *e;
  while ((e = readdir(d)))
    if (!strncmp(e->d_name, prefix, strlen(prefix)))
      n++;
  closedir(d);
  return n;
}

/* ---- every size, in order, intact ------------------------------------------------------ */

#define NSMALL 300
static const size_t small_sizes[] = { 1, 64, 4096, 0 };
static const size_t large_sizes[] = { 65537, 65537, 65537, 1 << 20, 1 << 20, 1 << 20, FRAME, FRAME, FRAME };
#define NPLAN (NSMALL + (int)(sizeof large_sizes / sizeof large_sizes[0]))

static size_t plan_len(int i)
{
  return i < NSMALL ? small_sizes[i % 4] : large_sizes[i - NSMALL];
}

static int64_t plan_chain(int i)
{
  return i % 2 ? 0 : 1000 + i;
}

/* Every third message is written in place (send_begin/send_end), the rest copied. */
static void plan_tx(ab_chan_t *c, void *arg)
{
  unsigned char *buf = malloc(FRAME);
  ASSERT(buf != NULL);
  for (int i = 0; i < NPLAN; i++) {
    size_t len = plan_len(i);
    int r;
    if (i % 3 == 1) {
      void *p = ab_chan_send_begin(c, len);
      ASSERT(p != NULL);
      fill(p, len, (uint64_t)i + 1);
      r = ab_chan_send_end(c, len, plan_chain(i));
    } else {
      fill(buf, len, (uint64_t)i + 1);
      r = ab_chan_send(c, buf, len, plan_chain(i));
    }
    ASSERT_EQ(r, 0);
  }
  free(buf);
}

static void plan_rx(ab_chan_t *c, void *arg)
{
  int64_t last_sent = 0;
  for (int i = 0; i < NPLAN; i++) {
    ab_msg_t h;
    const void *d = NULL;
    ASSERT_EQ(ab_chan_recv(c, &h, &d, -1), 0);
    ASSERT_EQ(h.seq, i + 1);
    ASSERT_EQ(h.len, plan_len(i));
    ASSERT_INT(h.t_sent, >=, last_sent);
    if (plan_chain(i))
      ASSERT_EQ(h.t_chain, plan_chain(i));
    else
      ASSERT_EQ(h.t_chain, h.t_sent);
    last_sent = h.t_sent;
    verify(d, h.len, h.seq);
    ab_chan_release(c);
  }
  ab_msg_t h;
  const void *d;
  int r = ab_chan_recv(c, &h, &d, 0); /* nothing more; or the sender has gone already */
  if (r != -EPIPE)
    ASSERT_EQ(r, -EAGAIN);
}

/* Threads use private channels (one struct, attached from both threads) but for shm. */
static void delivers_every_size(const char *t, int procs)
{
  ab_chan_t c;
  mk_shared(&c, t, FRAME, 4, AB_BLOCK, 0, procs || !strcmp(t, "shm"));
  run_pair(&c, procs, plan_tx, plan_rx, NULL);
  ASSERT_EQ(c.ctl->sent, NPLAN);
  ASSERT_EQ(c.ctl->received, NPLAN);
  ASSERT_EQ(c.ctl->dropped, 0);
  ASSERT_INT(c.ctl->max_depth, <=, 4);
  ASSERT_INT(c.ctl->max_depth, >=, 1);
  ab_chan_destroy(&c);
}

#define SIZES_PROCS(T)                                                                   \
  TEST(chan_##T##_procs_delivers_every_size_in_order_intact) { delivers_every_size(#T, 1); }
#define SIZES_THREADS(T)                                                                 \
  TEST(chan_##T##_threads_delivers_every_size_in_order_intact) { delivers_every_size(#T, 0); }
SHARED_TRANSPORTS(SIZES_PROCS)
ALL_TRANSPORTS(SIZES_THREADS)

/* ---- AB_DROP ----------------------------------------------------------------------------- */

/* A full AB_DROP channel with nobody receiving: each further send returns 1, is counted and
 * uses up its seq, so the receiver sees the gap. The stop word is set while the channel is
 * full: a send that waited for room instead of dropping would return -ECANCELED, so "never
 * blocked" is observed, not timed. */
static void drop_counts(const char *t, unsigned depth, unsigned k)
{
  ab_chan_t c;
  char buf[64];
  ab_msg_t h;
  const void *d;
  uint32_t stop = 0;
  mk(&c, t, 256, depth, AB_DROP, 0);
  ab_chan_attach(&c, AB_SIDE_BOTH);
  c.stop = &stop;
  for (unsigned i = 1; i <= depth; i++) {
    fill(buf, sizeof buf, i);
    ASSERT_EQ(ab_chan_send(&c, buf, sizeof buf, 0), 0);
  }
  stop = 1;
  for (unsigned i = 1; i < k; i++) {
    fill(buf, sizeof buf, depth + i);
    ASSERT_EQ(ab_chan_send(&c, buf, sizeof buf, 0), 1);
  }
  /* in place too: a buffer to fill all the same, and the drop reported at the end */
  void *p = ab_chan_send_begin(&c, 16);
  ASSERT(p != NULL);
  memset(p, 0xee, 16);
  ASSERT_EQ(ab_chan_send_end(&c, 16, 0), 1);
  stop = 0;
  ASSERT_EQ(c.ctl->dropped, k);
  ASSERT_EQ(c.ctl->sent, depth);
  ASSERT_EQ(c.ctl->max_depth, depth);
  for (unsigned i = 1; i <= depth; i++) {
    ASSERT_EQ(ab_chan_recv(&c, &h, &d, 0), 0);
    ASSERT_EQ(h.seq, i);
    verify(d, h.len, h.seq);
    ab_chan_release(&c);
  }
  ASSERT_EQ(ab_chan_recv(&c, &h, &d, 0), -EAGAIN);
  /* room again; the next seq shows the k drops as a gap */
  fill(buf, sizeof buf, depth + k + 1);
  ASSERT_EQ(ab_chan_send(&c, buf, sizeof buf, 0), 0);
  ASSERT_EQ(ab_chan_recv(&c, &h, &d, 1000 * AB_NS_PER_MS), 0);
  ASSERT_EQ(h.seq, depth + k + 1);
  verify(d, h.len, h.seq);
  ab_chan_release(&c);
  ASSERT_EQ(c.ctl->dropped, k);
  ab_chan_destroy(&c);
}

#define DROP(T)                                                                          \
  TEST(chan_##T##_drop_policy_drops_at_depth_counts_and_never_blocks)                    \
  {                                                                                      \
    drop_counts(#T, 4, 7);                                                               \
    drop_counts(#T, 1, 3);                                                               \
  }
ALL_TRANSPORTS(DROP)

/* ---- AB_BLOCK ---------------------------------------------------------------------------- */

#define BLK_DEPTH 2
#define BLK_N 12
typedef struct { uint32_t progress, released; } blk_t;

/* After the i-th send returns, at least i - depth messages must have been released. */
static void blk_tx(ab_chan_t *c, void *arg)
{
  blk_t *b = arg;
  char buf[100];
  for (int i = 1; i <= BLK_N; i++) {
    fill(buf, sizeof buf, (uint64_t)i);
    ASSERT_EQ(ab_chan_send(c, buf, sizeof buf, 0), 0);
    ASSERT_INT(__atomic_load_n(&b->released, __ATOMIC_ACQUIRE), >=, i - BLK_DEPTH);
    __atomic_store_n(&b->progress, (uint32_t)i, __ATOMIC_RELEASE);
  }
}

static void blk_rx(ab_chan_t *c, void *arg)
{
  blk_t *b = arg;
  while (__atomic_load_n(&b->progress, __ATOMIC_ACQUIRE) < BLK_DEPTH)
    usleep(1000);
  /* The producer has filled the channel; without a release it must stay where it is. */
  usleep(100 * 1000);
  ASSERT_EQ(__atomic_load_n(&b->progress, __ATOMIC_ACQUIRE), BLK_DEPTH);
  for (int i = 1; i <= BLK_N; i++) {
    ab_msg_t h;
    const void *d;
    ASSERT_EQ(ab_chan_recv(c, &h, &d, -1), 0);
    ASSERT_EQ(h.seq, i);
    verify(d, h.len, h.seq);
    __atomic_store_n(&b->released, (uint32_t)i, __ATOMIC_RELEASE); /* before it frees room */
    ab_chan_release(c);
    usleep(2000); /* slower than the producer, so it has to wait every time */
  }
}

static void block_holds(const char *t)
{
  ab_chan_t c;
  blk_t *b = ab_shm_alloc(sizeof *b, 1);
  ASSERT(b != NULL);
  mk(&c, t, 128, BLK_DEPTH, AB_BLOCK, 0);
  run_pair(&c, is_procs_transport(t), blk_tx, blk_rx, b);
  ASSERT_EQ(c.ctl->dropped, 0);
  ASSERT_EQ(c.ctl->max_depth, BLK_DEPTH);
  ab_chan_destroy(&c);
  ab_shm_free(b, sizeof *b, 1);
}

#define BLOCK(T) TEST(chan_##T##_block_policy_holds_sender_until_release) { block_holds(#T); }
ALL_TRANSPORTS(BLOCK)

/* ---- timeouts ---------------------------------------------------------------------------- */

static void recv_times_out(const char *t)
{
  ab_chan_t c;
  ab_msg_t h;
  const void *d;
  mk(&c, t, 64, 4, AB_BLOCK, 0);
  ab_chan_attach(&c, AB_SIDE_BOTH);
  ASSERT_EQ(ab_chan_recv(&c, &h, &d, 0), -EAGAIN);
  int64_t t0 = ab_now_ns();
  ASSERT_EQ(ab_chan_recv(&c, &h, &d, 30 * AB_NS_PER_MS), -EAGAIN);
  ASSERT_INT(ms_since(t0), >=, 30); /* it waited, not just polled */
  /* a stop word only slices the wait: still -EAGAIN at the deadline */
  uint32_t stop = 0;
  c.stop = &stop;
  ASSERT_EQ(ab_chan_recv(&c, &h, &d, 120 * AB_NS_PER_MS), -EAGAIN);
  char x = 7;
  ASSERT_EQ(ab_chan_send(&c, &x, 1, 0), 0);
  ASSERT_EQ(ab_chan_recv(&c, &h, &d, 30 * AB_NS_PER_MS), 0);
  ASSERT_EQ(*(const char *)d, 7);
  ab_chan_release(&c);
  ab_chan_destroy(&c);
}

#define TIMEOUT(T) TEST(chan_##T##_recv_times_out_with_eagain_when_empty) { recv_times_out(#T); }
ALL_TRANSPORTS(TIMEOUT)

/* ---- the stop word ------------------------------------------------------------------------ */

typedef struct {
  ab_chan_t *c;
  int what; /* 0 recv, 1 send into a full channel, 2 large sends until the kernel is full */
  int result;
  int done;
} stop_arg_t;

static void *stop_thr(void *p)
{
  stop_arg_t *a = p;
  ab_msg_t h;
  const void *d;
  int r = 0;
  if (a->what == 0) {
    r = ab_chan_recv(a->c, &h, &d, -1);
  } else if (a->what == 1) {
    char x = 1;
    r = ab_chan_send(a->c, &x, 1, 0);
    if (r == 0)
      r = ab_chan_send(a->c, &x, 1, 0); /* depth 1: this one waits */
  } else {
    for (int i = 0; i < 64 && r == 0; i++) {
      void *q = ab_chan_send_begin(a->c, FRAME);
      memset(q, i, 4096);
      r = ab_chan_send_end(a->c, FRAME, 0);
    }
  }
  a->result = r;
  __atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
  return NULL;
}

static void stop_cancels(const char *t, int what)
{
  ab_chan_t c;
  uint32_t stop = 0;
  signal(SIGPIPE, SIG_IGN);
  mk(&c, t, what == 2 ? FRAME : 64, what == 2 ? 64 : 1, AB_BLOCK, 0);
  c.stop = &stop;
  ab_chan_attach(&c, AB_SIDE_BOTH);
  stop_arg_t a = { &c, what, 0, 0 };
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, NULL, stop_thr, &a), 0);
  usleep(80 * 1000);
  ASSERT_EQ(__atomic_load_n(&a.done, __ATOMIC_ACQUIRE), 0); /* it is waiting, not failed */
  __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
  ASSERT_EQ(pthread_join(th, NULL), 0);
  ASSERT_EQ(a.result, -ECANCELED);
  ab_chan_destroy(&c);
}

#define STOP(T)                                                                          \
  TEST(chan_##T##_stop_cancels_blocked_recv) { stop_cancels(#T, 0); }                    \
  TEST(chan_##T##_stop_cancels_send_blocked_on_depth) { stop_cancels(#T, 1); }
#define STOP_KERNEL(T)                                                                   \
  TEST(chan_##T##_stop_cancels_send_blocked_in_kernel) { stop_cancels(#T, 2); }
ALL_TRANSPORTS(STOP)
KERNEL_TRANSPORTS(STOP_KERNEL)

/* ---- what a channel leaves behind --------------------------------------------------------- */

static void no_fd_leak(const char *t)
{
  static const int sides[] = { -1, AB_SIDE_BOTH, AB_SIDE_NONE, AB_SIDE_TX, AB_SIDE_RX };
  int before = count_fds();
  for (size_t i = 0; i < sizeof sides / sizeof sides[0]; i++)
    for (int want_fd = 0; want_fd <= 1; want_fd++) {
      ab_chan_t c;
      mk(&c, t, 70000, 4, AB_BLOCK, want_fd);
      if (sides[i] >= 0)
        ab_chan_attach(&c, sides[i]);
      if (sides[i] == AB_SIDE_BOTH) {
        char buf[60000] = { 0 }; /* fits the kernel's buffers: one thread does both ends */
        ab_msg_t h;
        const void *d;
        ASSERT_EQ(ab_chan_send(&c, buf, sizeof buf, 0), 0);
        ASSERT_EQ(ab_chan_recv(&c, &h, &d, -1), 0);
        ab_chan_release(&c);
      }
      ab_chan_destroy(&c);
      ab_chan_destroy(&c); /* twice is harmless */
      ASSERT_EQ(count_fds(), before);
    }
}

#define FDLEAK(T) TEST(chan_##T##_destroy_leaks_no_fd) { no_fd_leak(#T); }
ALL_TRANSPORTS(FDLEAK)

TEST(chan_shared_channels_leave_nothing_in_dev_shm_or_mqueue)
{
  int shm0 = count_entries("/dev/shm", "archbench-");
  int mq0 = count_entries("/dev/mqueue", "archbench-"); /* -1 where mqueue is not mounted */
  ab_chan_t c[8];
  int n = 0;
  for (const char *const *t = ab_proc_transports; *t; t++)
    mk(&c[n++], *t, FRAME, 2, AB_BLOCK, 1);
  /* names exist only between open and unlink, inside create */
  ASSERT_EQ(count_entries("/dev/shm", "archbench-"), shm0);
  ASSERT_EQ(count_entries("/dev/mqueue", "archbench-"), mq0);
  for (int i = 0; i < n; i++) {
    ab_chan_attach(&c[i], AB_SIDE_NONE);
    ab_chan_destroy(&c[i]);
  }
  ASSERT_EQ(count_entries("/dev/shm", "archbench-"), shm0);
  ASSERT_EQ(count_entries("/dev/mqueue", "archbench-"), mq0);
}

/* ---- the generic layer ---------------------------------------------------------------------- */

TEST(chan_recv_without_release_releases_the_previous_message)
{
  ab_chan_t c;
  ab_msg_t h;
  const void *d;
  char x = 0;
  mk(&c, "ring", 8, 4, AB_BLOCK, 0);
  for (int i = 0; i < 3; i++)
    ASSERT_EQ(ab_chan_send(&c, &x, 1, 0), 0);
  ASSERT_EQ(ab_chan_recv(&c, &h, &d, 0), 0);
  ASSERT_EQ(ab_chan_recv(&c, &h, &d, 0), 0);
  ASSERT_EQ(h.seq, 2);
  ASSERT_EQ(c.ctl->received, 1);
  ab_chan_release(&c);
  ab_chan_release(&c); /* a second release of the same message is ignored */
  ASSERT_EQ(c.ctl->received, 2);
  ab_chan_destroy(&c);
}

TEST(chan_send_rejects_oversize_with_emsgsize)
{
  for (const char *const *t = ab_proc_transports; *t; t++) {
    ab_chan_t c;
    char buf[65] = { 0 };
    mk(&c, *t, 64, 4, AB_BLOCK, 0);
    ab_chan_attach(&c, AB_SIDE_BOTH);
    ASSERT_EQ(ab_chan_send(&c, buf, 65, 0), -EMSGSIZE);
    errno = 0;
    ASSERT(ab_chan_send_begin(&c, 65) == NULL);
    ASSERT_EQ(errno, EMSGSIZE);
    ASSERT_EQ(c.ctl->sent + c.ctl->dropped, 0);
    ab_chan_destroy(&c);
  }
}

TEST(chan_create_rejects_bad_arguments)
{
  ab_chan_t c;
  ASSERT_EQ(ab_chan_create(&c, "x", NULL, 64, 4, AB_BLOCK, 0, 0), -EINVAL);
  ASSERT_EQ(ab_chan_create(&c, "x", &ab_transport_ring, 64, 0, AB_BLOCK, 0, 0), -EINVAL);
  ASSERT_EQ(ab_chan_create(&c, "x", &ab_transport_ring, 0, 4, AB_BLOCK, 0, 0), -EINVAL);
  ASSERT_EQ(ab_chan_create(&c, "x", &ab_transport_ring, 64, 4, 7, 0, 0), -EINVAL);
  ab_chan_destroy(&c); /* a failed create leaves nothing to destroy */
}

TEST(chan_transport_find_knows_every_proc_transport)
{
  int n = 0;
  for (const char *const *t = ab_proc_transports; *t; t++, n++)
    ASSERT(ab_transport_find(*t) != NULL);
  ASSERT_EQ(n, 5);
  ASSERT(ab_transport_find("shm") == &ab_transport_ring);
  ASSERT(ab_transport_find("ring") == &ab_transport_ring);
  ASSERT_STR(ab_transport_find("mq")->name, "mq");
  ASSERT(ab_transport_find("carrier-pigeon") == NULL);
  ASSERT(ab_transport_find(NULL) == NULL);
}
