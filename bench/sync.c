/* Hand-off primitives that carry no payload: mutex, condition variable, futex, semaphore,
 * and eventfd (an 8-byte counter). A "message" is one signal; the driver (abm.c) makes the
 * ping-pong (rtt) or the paced one-way hand-off (oneway). Between processes each object is
 * process-shared and lives in shared memory.
 *
 *   mutex    rt-tests' ptsematest: two mutexes used as binary semaphores, both locked at
 *            set-up; a side hands off by unlocking the other side's mutex, which the other
 *            side is blocked locking. (Unlocking a mutex another thread locked is what
 *            ptsematest does; glibc's default mutex allows it.)
 *   condvar  one mutex, a condition variable and a sequence number per direction.
 *   futex    a word per direction: bump it and FUTEX_WAKE; the waiter FUTEX_WAITs while
 *            the word is what it last saw. No waiter tracking: the raw price of a wake.
 *   sem      a POSIX semaphore per direction (sem_post wakes only when someone waits).
 *   eventfd  an eventfd per direction: write 1, read it back.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "abm.h"
#include "chan.h" /* ab_futex_wait/ab_futex_wake */

static void sync_enter(abm_link_t *l, int side) { (void)l; (void)side; }
static void sync_none(abm_link_t *l) { (void)l; }

/* ---- mutex --------------------------------------------------------------------------------- */

typedef struct mutex_sh {
  struct { _Alignas(64) pthread_mutex_t m; } to[2];
} mutex_sh_t;

static int mutex_setup(abm_link_t *l)
{
  mutex_sh_t *sh = l->sh;
  pthread_mutexattr_t a;
  int r = pthread_mutexattr_init(&a);
  if (!r)
    r = pthread_mutexattr_setpshared(&a, l->procs ? PTHREAD_PROCESS_SHARED : PTHREAD_PROCESS_PRIVATE);
  for (int i = 0; i < 2 && !r; i++)
    if (!(r = pthread_mutex_init(&sh->to[i].m, &a)))
      r = pthread_mutex_lock(&sh->to[i].m);
  pthread_mutexattr_destroy(&a);
  return -r;
}

static int mutex_send(abm_link_t *l, int side, const void *buf, size_t n)
{
  mutex_sh_t *sh = l->sh;
  (void)buf;
  (void)n;
  return -pthread_mutex_unlock(&sh->to[!side].m);
}

static int mutex_recv(abm_link_t *l, int side, void *buf, size_t n, const void **data)
{
  mutex_sh_t *sh = l->sh;
  (void)n;
  *data = buf;
  return -pthread_mutex_lock(&sh->to[side].m);
}

static const abm_link_ops_t mutex_ops __attribute__((unused)) = { /* unused under TSan */
  .shared_size = sizeof(mutex_sh_t), .setup = mutex_setup, .enter = sync_enter,
  .send = mutex_send, .recv = mutex_recv, .teardown = sync_none,
};

/* ---- condvar ------------------------------------------------------------------------------- */

typedef struct cond_sh {
  pthread_mutex_t m;
  pthread_cond_t cv[2];
  uint64_t seq[2];
} cond_sh_t;

static int cond_setup(abm_link_t *l)
{
  cond_sh_t *sh = l->sh;
  int pshared = l->procs ? PTHREAD_PROCESS_SHARED : PTHREAD_PROCESS_PRIVATE;
  pthread_mutexattr_t ma;
  pthread_condattr_t ca;
  int r = pthread_mutexattr_init(&ma);
  if (r)
    return -r;
  if (!(r = pthread_condattr_init(&ca))) {
    if (!(r = pthread_mutexattr_setpshared(&ma, pshared)) &&
        !(r = pthread_condattr_setpshared(&ca, pshared)) &&
        !(r = pthread_mutex_init(&sh->m, &ma)) && !(r = pthread_cond_init(&sh->cv[0], &ca)))
      r = pthread_cond_init(&sh->cv[1], &ca);
    pthread_condattr_destroy(&ca);
  }
  pthread_mutexattr_destroy(&ma);
  return -r;
}

static int cond_send(abm_link_t *l, int side, const void *buf, size_t n)
{
  cond_sh_t *sh = l->sh;
  (void)buf;
  (void)n;
  pthread_mutex_lock(&sh->m);
  sh->seq[!side]++;
  pthread_cond_signal(&sh->cv[!side]);
  pthread_mutex_unlock(&sh->m);
  return 0;
}

static int cond_recv(abm_link_t *l, int side, void *buf, size_t n, const void **data)
{
  cond_sh_t *sh = l->sh;
  (void)n;
  pthread_mutex_lock(&sh->m);
  while (sh->seq[side] == l->side[side].seen)
    pthread_cond_wait(&sh->cv[side], &sh->m);
  l->side[side].seen = sh->seq[side];
  pthread_mutex_unlock(&sh->m);
  *data = buf;
  return 0;
}

static void cond_teardown(abm_link_t *l)
{
  cond_sh_t *sh = l->sh;
  pthread_cond_destroy(&sh->cv[0]);
  pthread_cond_destroy(&sh->cv[1]);
  pthread_mutex_destroy(&sh->m);
}

static const abm_link_ops_t cond_ops = {
  .shared_size = sizeof(cond_sh_t), .setup = cond_setup, .enter = sync_enter,
  .send = cond_send, .recv = cond_recv, .teardown = cond_teardown,
};

/* ---- futex --------------------------------------------------------------------------------- */

typedef struct futex_sh {
  struct { _Alignas(64) uint32_t w; } to[2];
} futex_sh_t;

static int futex_setup(abm_link_t *l) { (void)l; return 0; }

static int futex_send(abm_link_t *l, int side, const void *buf, size_t n)
{
  futex_sh_t *sh = l->sh;
  (void)buf;
  (void)n;
  __atomic_fetch_add(&sh->to[!side].w, 1, __ATOMIC_SEQ_CST);
  int r = ab_futex_wake(&sh->to[!side].w, 1, l->procs);
  return r < 0 ? r : 0;
}

static int futex_recv(abm_link_t *l, int side, void *buf, size_t n, const void **data)
{
  futex_sh_t *sh = l->sh;
  uint32_t seen = (uint32_t)l->side[side].seen, v;
  (void)n;
  while ((v = __atomic_load_n(&sh->to[side].w, __ATOMIC_ACQUIRE)) == seen)
    ab_futex_wait(&sh->to[side].w, seen, -1, l->procs);
  l->side[side].seen = v;
  *data = buf;
  return 0;
}

static const abm_link_ops_t futex_ops = {
  .shared_size = sizeof(futex_sh_t), .setup = futex_setup, .enter = sync_enter,
  .send = futex_send, .recv = futex_recv, .teardown = sync_none,
};

/* ---- sem ----------------------------------------------------------------------------------- */

typedef struct sem_sh {
  struct { _Alignas(64) sem_t s; } to[2];
} sem_sh_t;

static int sem_setup(abm_link_t *l)
{
  sem_sh_t *sh = l->sh;
  for (int i = 0; i < 2; i++)
    if (sem_init(&sh->to[i].s, l->procs, 0) < 0)
      return -errno;
  return 0;
}

static int sem_send(abm_link_t *l, int side, const void *buf, size_t n)
{
  sem_sh_t *sh = l->sh;
  (void)buf;
  (void)n;
  return sem_post(&sh->to[!side].s) < 0 ? -errno : 0;
}

static int sem_recv(abm_link_t *l, int side, void *buf, size_t n, const void **data)
{
  sem_sh_t *sh = l->sh;
  (void)n;
  *data = buf;
  while (sem_wait(&sh->to[side].s) < 0)
    if (errno != EINTR)
      return -errno;
  return 0;
}

static void sem_teardown(abm_link_t *l)
{
  sem_sh_t *sh = l->sh;
  sem_destroy(&sh->to[0].s);
  sem_destroy(&sh->to[1].s);
}

static const abm_link_ops_t sem_ops = {
  .shared_size = sizeof(sem_sh_t), .setup = sem_setup, .enter = sync_enter,
  .send = sem_send, .recv = sem_recv, .teardown = sem_teardown,
};

/* ---- eventfd ------------------------------------------------------------------------------- */

static int efd_setup(abm_link_t *l)
{
  for (int i = 0; i < 2; i++)
    if ((l->fd[i] = eventfd(0, EFD_CLOEXEC)) < 0)
      return -errno;
  return 0;
}

static int efd_send(abm_link_t *l, int side, const void *buf, size_t n)
{
  uint64_t one = 1;
  (void)buf;
  (void)n;
  return abm_write_full(l->fd[!side], &one, sizeof one);
}

static int efd_recv(abm_link_t *l, int side, void *buf, size_t n, const void **data)
{
  (void)n;
  *data = buf;
  return abm_read_full(l->fd[side], buf, sizeof(uint64_t));
}

static void efd_teardown(abm_link_t *l)
{
  for (int i = 0; i < 2; i++)
    if (l->fd[i] >= 0)
      close(l->fd[i]);
}

static const abm_link_ops_t efd_ops = {
  .setup = efd_setup, .enter = sync_enter, .send = efd_send, .recv = efd_recv,
  .teardown = efd_teardown,
};

static const int64_t none[] = { 0 }, word[] = { 8 };

static const abm_link_def_t defs[] = {
#if !defined(__SANITIZE_THREAD__)
  /* Unlocking the mutex the other thread locked (ptsematest's hand-off, which glibc allows)
   * breaks ThreadSanitizer's model of who owns what: it then reports races that the hand-off
   * itself orders. Not built under it. */
  { "mutex", &mutex_ops, NULL, ABM_BOTH_ARCHS, ABM_BOTH_MODES, none, 1, 0 },
#endif
  { "condvar", &cond_ops, NULL, ABM_BOTH_ARCHS, ABM_BOTH_MODES, none, 1, 0 },
  { "futex", &futex_ops, NULL, ABM_BOTH_ARCHS, ABM_BOTH_MODES, none, 1, 0 },
  { "sem", &sem_ops, NULL, ABM_BOTH_ARCHS, ABM_BOTH_MODES, none, 1, 0 },
  { "eventfd", &efd_ops, NULL, ABM_BOTH_ARCHS, ABM_BOTH_MODES, word, 1, 0 },
};

void abm_register_sync(void)
{
  abm_register_links(defs, (int)(sizeof defs / sizeof defs[0]));
}
