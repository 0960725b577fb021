/* Registers: a value round-trips at any size, concurrent writers (threads, and processes
 * through shared memory) never let a reader see a torn value, versions only grow and count
 * every store. A stored value has every 8-byte word equal to (writer << 32 | counter), so a
 * mix of two writes shows as two different words.
 *
 * Racing threads only make a torn read likely; the seqlock's two rules (retry when the
 * sequence moved during the copy, wait while it is odd) are also pinned deterministically, by
 * stopping a load or a store halfway through its copy (a guard page, see below).
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "reg.h"
#include "shm.h"
#include "test.h"

#define NWRITERS 2
#define NREADERS 2
#define NSTORES 20000

TEST(reg_starts_at_version_zero_with_a_zero_value)
{
  for (int shared = 0; shared <= 1; shared++) {
    ab_reg_t *r = ab_reg_create(24, shared);
    ASSERT(r != NULL);
    unsigned char v[24];
    memset(v, 0xaa, sizeof v);
    ASSERT_EQ(ab_reg_load(r, v), 0);
    for (size_t i = 0; i < sizeof v; i++)
      ASSERT_EQ(v[i], 0);
    ab_reg_destroy(r);
  }
}

TEST(reg_round_trips_any_size_without_touching_past_it)
{
  static const size_t sizes[] = { 1, 7, 8, 13, 64, 100, 4096, 4099 };
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    size_t n = sizes[k];
    ab_reg_t *r = ab_reg_create(n, k & 1);
    ASSERT(r != NULL);
    ASSERT_EQ(ab_reg_size(r), n);
    unsigned char *in = malloc(n), *out = malloc(n + 16);
    ASSERT(in && out);
    for (int round = 1; round <= 3; round++) {
      for (size_t i = 0; i < n; i++)
        in[i] = (unsigned char)(i * 31 + round);
      ab_reg_store(r, in); /* reads exactly n bytes of `in` (ASan would catch more) */
      memset(out, 0x5c, n + 16);
      ASSERT_EQ(ab_reg_load(r, out), round);
      ASSERT(memcmp(in, out, n) == 0);
      for (size_t i = n; i < n + 16; i++)
        ASSERT_EQ(out[i], 0x5c);
    }
    free(in);
    free(out);
    ab_reg_destroy(r);
  }
}

TEST(reg_create_rejects_size_zero)
{
  errno = 0;
  ASSERT(ab_reg_create(0, 0) == NULL);
  ASSERT_EQ(errno, EINVAL);
}

/* ---- the seqlock, stopped halfway ---------------------------------------------------------
 * A register of two pages is copied from or into a two-page buffer whose second page is
 * PROT_NONE: the copy faults on its first word there, with the first page done. The SIGSEGV
 * handler runs a hook at that exact point, opens the page and returns, and the copy goes on.
 * No timing decides what the tests see. */

#define WORDS_A 0x1111111111111111ULL /* every word of the value before */
#define WORDS_B 0x2222222222222222ULL /* and after */

static struct {
  unsigned char *mem; /* the two pages */
  size_t page;
  void (*hook)(void);
  int hits;
} G;

static void guard_on_segv(int sig, siginfo_t *si, void *uc)
{
  unsigned char *a = si->si_addr;
  if (!G.mem || a < G.mem + G.page || a >= G.mem + 2 * G.page) {
    signal(SIGSEGV, SIG_DFL); /* not ours: fault again, and crash */
    return;
  }
  G.hits++;
  G.hook();
  ASSERT_EQ(mprotect(G.mem + G.page, G.page, PROT_READ | PROT_WRITE), 0);
}

/* Two pages of `fill` words, the second closed, and the hook armed. */
static void guard_new(uint64_t fill, void (*hook)(void))
{
  G.page = (size_t)sysconf(_SC_PAGESIZE);
  G.mem = mmap(NULL, 2 * G.page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT(G.mem != MAP_FAILED);
  for (size_t i = 0; i < 2 * G.page; i += 8)
    memcpy(G.mem + i, &fill, 8);
  ASSERT_EQ(mprotect(G.mem + G.page, G.page, PROT_NONE), 0);
  G.hook = hook;
  G.hits = 0;
  struct sigaction sa = { .sa_sigaction = guard_on_segv, .sa_flags = SA_SIGINFO };
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGSEGV, &sa, NULL), 0);
}

/* A register of the guard's size holding WORDS_A at version 1. */
static ab_reg_t *reg_of_a(void)
{
  size_t n = 2 * (size_t)sysconf(_SC_PAGESIZE);
  uint64_t *a = malloc(n);
  ASSERT(a != NULL);
  for (size_t i = 0; i < n / 8; i++)
    a[i] = WORDS_A;
  ab_reg_t *r = ab_reg_create(n, 0);
  ASSERT(r != NULL);
  ab_reg_store(r, a);
  free(a);
  return r;
}

static void assert_all_words(const void *v, size_t n, uint64_t want)
{
  for (size_t i = 0; i < n / 8; i++) {
    uint64_t w;
    memcpy(&w, (const char *)v + 8 * i, 8);
    if (w != want)
      AB_FAIL("word %zu of %zu is %#" PRIx64 ", want %#" PRIx64 " (a torn value)", i, n / 8, w, want);
  }
}

static ab_reg_t *G_reg;
static uint64_t *G_b; /* a whole value of B, made before the handler needs it */

static void store_b_whole(void)
{
  ab_reg_store(G_reg, G_b);
}

/* A load has copied the first page of A when a whole store of B lands: the sequence moved, so
 * the load must copy again and return B at version 2, not half of each at version 1. */
TEST(reg_load_retries_when_a_store_lands_during_its_copy)
{
  G_reg = reg_of_a();
  size_t n = ab_reg_size(G_reg);
  G_b = malloc(n);
  ASSERT(G_b != NULL);
  for (size_t i = 0; i < n / 8; i++)
    G_b[i] = WORDS_B;
  guard_new(0, store_b_whole);
  uint64_t ver = ab_reg_load(G_reg, G.mem); /* the load's destination is the guard */
  ASSERT_EQ(G.hits, 1);
  ASSERT_EQ(ver, 2);
  assert_all_words(G.mem, n, WORDS_B);
  free(G_b);
  ab_reg_destroy(G_reg);
}

static uint32_t parked, unpark;

static void park(void)
{
  __atomic_store_n(&parked, 1, __ATOMIC_RELEASE);
  while (!__atomic_load_n(&unpark, __ATOMIC_ACQUIRE))
    usleep(1000);
}

static void *store_from_guard(void *p)
{
  ab_reg_store(G_reg, G.mem); /* the store's source is the guard: parks halfway */
  return NULL;
}

typedef struct {
  uint64_t *out;
  uint64_t ver;
  uint32_t done;
} load_arg_t;

static void *load_thread(void *p)
{
  load_arg_t *a = p;
  a->ver = ab_reg_load(G_reg, a->out);
  __atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
  return NULL;
}

/* CPU time thread t has used; INT64_MAX once it has exited (its clock is gone). */
static int64_t thread_cpu_ns(pthread_t t)
{
  clockid_t cid;
  struct timespec ts;
  if (pthread_getcpuclockid(t, &cid) != 0 || clock_gettime(cid, &ts) != 0)
    return INT64_MAX;
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A store is parked halfway (sequence odd, the first page B, the second still A). A load must
 * not return while it is: the loading thread is watched until it has spent 20 ms of its own
 * CPU time in the load (a load that ignored the odd sequence returns within microseconds of
 * CPU, however the threads are scheduled). Once the store completes, the load returns B.
 * The waiting load spins and yields (reg.c); one that slept instead would burn no CPU and hold
 * this test until its timeout, so that change would have to come with this test's. */
TEST(reg_load_waits_while_a_store_is_in_progress_then_returns_it)
{
  G_reg = reg_of_a();
  guard_new(WORDS_B, park);
  pthread_t w, r;
  ASSERT_EQ(pthread_create(&w, NULL, store_from_guard, NULL), 0);
  while (!__atomic_load_n(&parked, __ATOMIC_ACQUIRE))
    usleep(1000);
  load_arg_t a = { malloc(2 * G.page), 0, 0 };
  ASSERT(a.out != NULL);
  ASSERT_EQ(pthread_create(&r, NULL, load_thread, &a), 0);
  while (!__atomic_load_n(&a.done, __ATOMIC_ACQUIRE) && thread_cpu_ns(r) < 20 * 1000000)
    usleep(1000);
  int returned_early = __atomic_load_n(&a.done, __ATOMIC_ACQUIRE);
  __atomic_store_n(&unpark, 1, __ATOMIC_RELEASE);
  ASSERT_EQ(pthread_join(w, NULL), 0);
  ASSERT_EQ(pthread_join(r, NULL), 0);
  if (returned_early)
    AB_FAIL("the load returned version %" PRIu64 " while the store was in progress", a.ver);
  ASSERT_EQ(G.hits, 1);
  ASSERT_EQ(a.ver, 2);
  assert_all_words(a.out, 2 * G.page, WORDS_B);
  free(a.out);
  ab_reg_destroy(G_reg);
}

/* ---- concurrency ------------------------------------------------------------------------ */

typedef struct {
  ab_reg_t *r;
  uint32_t done;   /* writers finished */
  uint64_t loads;  /* total, over readers */
} shared_t;

static void writer(ab_reg_t *r, uint64_t id)
{
  size_t n = ab_reg_size(r) / 8;
  uint64_t *v = malloc(n * 8);
  ASSERT(v != NULL);
  for (uint64_t k = 1; k <= NSTORES; k++) {
    for (size_t i = 0; i < n; i++)
      v[i] = id << 32 | k;
    ab_reg_store(r, v);
  }
  free(v);
}

/* Loads until the writers are done (then once more): every value whole, versions never go
 * back, and no writer's counter goes back either (the seqlock is linearisable). */
static uint64_t reader(ab_reg_t *r, const uint32_t *done)
{
  size_t n = ab_reg_size(r) / 8;
  uint64_t *v = malloc(n * 8), last_ver = 0, loads = 0, seen[NWRITERS + 1] = { 0 };
  ASSERT(v != NULL);
  for (int last = 0; !last;) {
    last = __atomic_load_n(done, __ATOMIC_ACQUIRE) != 0;
    uint64_t ver = ab_reg_load(r, v);
    loads++;
    ASSERT_INT(ver, >=, last_ver);
    last_ver = ver;
    if (ver == 0)
      continue;
    for (size_t i = 1; i < n; i++)
      if (v[i] != v[0])
        AB_FAIL("torn value at version %" PRIu64 ": word 0 = %#" PRIx64 ", word %zu = %#" PRIx64,
                ver, v[0], i, v[i]);
    uint64_t id = v[0] >> 32, k = v[0] & 0xffffffffu;
    ASSERT(id >= 1 && id <= NWRITERS);
    ASSERT_INT(k, >=, seen[id]);
    seen[id] = k;
  }
  ASSERT_EQ(last_ver, (uint64_t)NWRITERS * NSTORES);
  free(v);
  return loads;
}

typedef struct { shared_t *s; uint64_t id; } targ_t;

static void *wthr(void *p)
{
  targ_t *a = p;
  writer(a->s->r, a->id);
  return NULL;
}

static void *rthr(void *p)
{
  targ_t *a = p;
  uint64_t n = reader(a->s->r, &a->s->done);
  __atomic_fetch_add(&a->s->loads, n, __ATOMIC_RELAXED);
  return NULL;
}

static void threads_never_tear(size_t size)
{
  shared_t s = { ab_reg_create(size, 0), 0, 0 };
  ASSERT(s.r != NULL);
  pthread_t w[NWRITERS], rd[NREADERS];
  targ_t wa[NWRITERS], ra[NREADERS];
  for (int i = 0; i < NREADERS; i++) {
    ra[i] = (targ_t){ &s, 0 };
    ASSERT_EQ(pthread_create(&rd[i], NULL, rthr, &ra[i]), 0);
  }
  for (int i = 0; i < NWRITERS; i++) {
    wa[i] = (targ_t){ &s, (uint64_t)i + 1 };
    ASSERT_EQ(pthread_create(&w[i], NULL, wthr, &wa[i]), 0);
  }
  for (int i = 0; i < NWRITERS; i++)
    ASSERT_EQ(pthread_join(w[i], NULL), 0);
  __atomic_store_n(&s.done, 1, __ATOMIC_RELEASE);
  for (int i = 0; i < NREADERS; i++)
    ASSERT_EQ(pthread_join(rd[i], NULL), 0);
  ASSERT_INT(s.loads, >=, NREADERS);
  uint64_t *v = malloc(size);
  ASSERT_EQ(ab_reg_load(s.r, v), (uint64_t)NWRITERS * NSTORES);
  ASSERT_EQ(v[0] & 0xffffffffu, NSTORES); /* the last store of whichever writer came last */
  free(v);
  ab_reg_destroy(s.r);
}

TEST(reg_threads_never_tear_64_bytes) { threads_never_tear(64); }
TEST(reg_threads_never_tear_512_bytes) { threads_never_tear(512); }
TEST(reg_threads_never_tear_4096_bytes) { threads_never_tear(4096); }

static void procs_never_tear(size_t size)
{
  shared_t *s = ab_shm_alloc(sizeof *s, 1);
  ASSERT(s != NULL);
  s->r = ab_reg_create(size, 1); /* mapped before fork: the same address in every child */
  ASSERT(s->r != NULL);
  pid_t w[NWRITERS], rd[NREADERS];
  fflush(NULL);
  for (int i = 0; i < NREADERS; i++) {
    ASSERT((rd[i] = fork()) >= 0);
    if (rd[i] == 0) {
      uint64_t n = reader(s->r, &s->done);
      __atomic_fetch_add(&s->loads, n, __ATOMIC_RELAXED);
      _exit(0);
    }
  }
  for (int i = 0; i < NWRITERS; i++) {
    ASSERT((w[i] = fork()) >= 0);
    if (w[i] == 0) {
      writer(s->r, (uint64_t)i + 1);
      _exit(0);
    }
  }
  for (int i = 0; i < NWRITERS + NREADERS; i++) {
    pid_t pid = i < NWRITERS ? w[i] : rd[i - NWRITERS];
    int st = 0;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    ASSERT(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 0);
    if (i == NWRITERS - 1)
      __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
  }
  ASSERT_INT(s->loads, >=, NREADERS);
  uint64_t *v = malloc(size);
  ASSERT_EQ(ab_reg_load(s->r, v), (uint64_t)NWRITERS * NSTORES);
  free(v);
  ab_reg_destroy(s->r);
  ab_shm_free(s, sizeof *s, 1);
}

TEST(reg_procs_never_tear_through_shared_memory_64_bytes) { procs_never_tear(64); }
TEST(reg_procs_never_tear_through_shared_memory_4096_bytes) { procs_never_tear(4096); }

TEST(reg_shared_leaves_nothing_in_dev_shm)
{
  int before = 0, after = 0;
  DIR *d;
  struct dirent *e;
  if ((d = opendir("/dev/shm"))) {
    while ((e = readdir(d)))
      before += !strncmp(e->d_name, "archbench-", 10);
    closedir(d);
  }
  ab_reg_t *r = ab_reg_create(4096, 1);
  ASSERT(r != NULL);
  if ((d = opendir("/dev/shm"))) {
    while ((e = readdir(d)))
      after += !strncmp(e->d_name, "archbench-", 10);
    closedir(d);
  }
  ab_reg_destroy(r);
  ASSERT_EQ(after, before);
}
