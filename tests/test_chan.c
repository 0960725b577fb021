/* Channels: every transport carries every size in order and intact, in threads and across
 * processes; the depth policies (drop counts, block holds the sender); timeouts, a gone
 * peer, the stop word; the ring's in-place slots and its eventfd/futex wake-ups; and no fd
 * nor /dev/shm entry outlives a channel. Orderings are observed, never latencies.
 */
#include <dirent.h>
#include <errno.h>
#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan.h"
#include "shm.h"
#include "test.h"

#define FRAME (1920 * 1080 * 3) /* 6220800: a raw 1080p RGB frame */

/* ---- helpers -------------------------------------------------------------------------- */

static uint64_t mix(uint64_t x)
{
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/* A pattern from seq and position: a lost, reordered or misplaced chunk shows. */
static void fill(void *p, size_t n, uint64_t seq)
{
  unsigned char *b = p;
  uint64_t base = mix(seq);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w = base + i * 0x9e3779b97f4a7c15ULL;
    memcpy(b + i, &w, 8);
  }
  for (; i < n; i++)
    b[i] = (unsigned char)(base >> (8 * (i & 7))) ^ (unsigned char)i;
}

static unsigned char expect_byte(uint64_t base, size_t n, size_t i)
{
  if (i < (n & ~(size_t)7))
    return (unsigned char)((base + (i & ~(size_t)7) * 0x9e3779b97f4a7c15ULL) >> (8 * (i & 7)));
  return (unsigned char)(base >> (8 * (i & 7))) ^ (unsigned char)i;
}

static void verify(const void *p, size_t n, uint64_t seq)
{
  const unsigned char *b = p;
  uint64_t base = mix(seq);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) { /* fast path; the byte loop below names the first bad byte */
    uint64_t w = base + i * 0x9e3779b97f4a7c15ULL, got;
    memcpy(&got, b + i, 8);
    if (got != w)
      break;
  }
  for (; i < n; i++)
    if (b[i] != expect_byte(base, n, i))
      AB_FAIL("seq %" PRIu64 " len %zu: byte %zu is 0x%02x, want 0x%02x", seq, n, i, b[i],
              expect_byte(base, n, i));
}

static int is_procs_transport(const char *t)
{
  return strcmp(t, "ring") != 0;
}

static void mk_shared(ab_chan_t *c, const char *t, size_t msg_max, unsigned depth, int policy,
                      int want_fd, int shared)
{
  int r = ab_chan_create(c, t, ab_transport_find(t), msg_max, depth, policy, shared, want_fd);
  ASSERT_EQ(r, 0);
}

/* ring is the private ring; everything else as the procs runtime makes it (shared). */
static void mk(ab_chan_t *c, const char *t, size_t msg_max, unsigned depth, int policy, int want_fd)
{
  mk_shared(c, t, msg_max, depth, policy, want_fd, is_procs_transport(t));
}

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

static void wait_child_ok(pid_t pid)
{
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  if (WIFSIGNALED(st))
    AB_FAIL("child killed by signal %d", WTERMSIG(st));
  ASSERT(WIFEXITED(st));
  ASSERT_EQ(WEXITSTATUS(st), 0);
}

/* Run tx and rx on the two ends: a forked child sends while we receive, or a thread sends.
 * A private channel is attached from both threads at once, as the threads runtime does. */
typedef void (*side_fn)(ab_chan_t *c, void *arg);
typedef struct { ab_chan_t *c; side_fn fn; void *arg; int attach; } thr_arg_t;

static void *thr_main(void *p)
{
  thr_arg_t *a = p;
  if (a->attach)
    ab_chan_attach(a->c, AB_SIDE_TX);
  a->fn(a->c, a->arg);
  return NULL;
}

static void run_pair(ab_chan_t *c, int procs, side_fn tx, side_fn rx, void *arg)
{
  if (procs) {
    fflush(NULL);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
      ab_chan_attach(c, AB_SIDE_TX);
      tx(c, arg);
      _exit(0);
    }
    ab_chan_attach(c, AB_SIDE_RX);
    rx(c, arg);
    wait_child_ok(pid);
    return;
  }
  if (c->shared)
    ab_chan_attach(c, AB_SIDE_BOTH);
  thr_arg_t a = { c, tx, arg, !c->shared };
  pthread_t th;
  ASSERT_EQ(pthread_create(&th, NULL, thr_main, &a), 0);
  if (!c->shared)
    ab_chan_attach(c, AB_SIDE_RX);
  rx(c, arg);
  ASSERT_EQ(pthread_join(th, NULL), 0);
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

/* The transports each behaviour is pinned for: kernel ones carry bytes through a kernel
 * object, shared ones work between processes, and the ring serves threads alone. */
#define KERNEL_TRANSPORTS(X) X(pipe) X(unix) X(mq) X(tcp)
#define SHARED_TRANSPORTS(X) X(shm) KERNEL_TRANSPORTS(X)
#define ALL_TRANSPORTS(X) X(ring) SHARED_TRANSPORTS(X)

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
