/* Registers: a value round-trips at any size, concurrent writers (threads, and processes
 * through shared memory) never let a reader see a torn value, versions only grow and count
 * every store. A stored value has every 8-byte word equal to (writer << 32 | counter), so a
 * mix of two writes shows as two different words.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/wait.h>
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
