/* Not tests: the helpers of tests/chanutil.h, shared by the channel tests (the pattern, making
 * channels, running the two ends). The name only matches the Makefile's tests/test_*.c.
 */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chanutil.h"
#include "test.h"

static uint64_t mix(uint64_t x)
{
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/* A pattern from seq and position: a lost, reordered or misplaced chunk shows. */
void fill(void *p, size_t n, uint64_t seq)
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

void verify(const void *p, size_t n, uint64_t seq)
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

int is_procs_transport(const char *t)
{
  return strcmp(t, "ring") != 0;
}

void mk_shared(ab_chan_t *c, const char *t, size_t msg_max, unsigned depth, int policy,
               int want_fd, int shared)
{
  int r = ab_chan_create(c, t, ab_transport_find(t), msg_max, depth, policy, shared, want_fd);
  ASSERT_EQ(r, 0);
}

/* ring is the private ring; everything else as the procs runtime makes it (shared). */
void mk(ab_chan_t *c, const char *t, size_t msg_max, unsigned depth, int policy, int want_fd)
{
  mk_shared(c, t, msg_max, depth, policy, want_fd, is_procs_transport(t));
}

void wait_child_ok(pid_t pid)
{
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  if (WIFSIGNALED(st))
    AB_FAIL("child killed by signal %d", WTERMSIG(st));
  ASSERT(WIFEXITED(st));
  ASSERT_EQ(WEXITSTATUS(st), 0);
}

void *thr_main(void *p)
{
  thr_arg_t *a = p;
  if (a->attach)
    ab_chan_attach(a->c, AB_SIDE_TX);
  a->fn(a->c, a->arg);
  return NULL;
}

void run_pair(ab_chan_t *c, int procs, side_fn tx, side_fn rx, void *arg)
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
