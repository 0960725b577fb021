/* The GIL model (gil.h): take and drop as Python/ceval_gil.c's take_gil and drop_gil do,
 * with FORCE_SWITCHING; and the hooks that put it around a run's roles (--gil): compute
 * checks the drop request every slice (about 1 us of work), a blocking section drops it,
 * and every take records its wait in <role>.gil_wait_ns, every forced drop in
 * <role>.gil_forced_switches.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "gil.h"
#include "internal.h"

/* The calling thread's identity as a holder (its address differs per thread), and the GIL it
 * holds, if any. */
static __thread const ab_gil_t *ab__gil_mine;
static __thread char ab__gil_key;
/* This thread's last take with no role's context (the loop's after its wait for events),
 * until ab__gil_charge gives it to the role that wake runs; -1: none. Per thread: a pool's
 * I/O threads take it with no context too. */
static __thread int64_t ab__gil_loop_wait = -1;

static int ab__gil_stopped(const ab_gil_t *g) { return g->stop && __atomic_load_n(g->stop, __ATOMIC_RELAXED); }

int ab_gil_init(ab_gil_t *g, int64_t interval_ns, const volatile uint32_t *stop)
{
  memset(g, 0, sizeof *g);
  g->interval_ns = interval_ns > 0 ? interval_ns : 5 * AB_NS_PER_MS;
  g->stop = stop;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  int r = pthread_mutex_init(&g->mu, NULL);
  if (!r && !(r = pthread_mutex_init(&g->switch_mu, NULL)) && !(r = pthread_cond_init(&g->cond, &ca)))
    r = pthread_cond_init(&g->switch_cond, &ca);
  pthread_condattr_destroy(&ca);
  return -r;
}

void ab_gil_destroy(ab_gil_t *g)
{
  pthread_mutex_destroy(&g->mu);
  pthread_mutex_destroy(&g->switch_mu);
  pthread_cond_destroy(&g->cond);
  pthread_cond_destroy(&g->switch_cond);
}

int ab_gil_held(const ab_gil_t *g) { return ab__gil_mine == g; }

/* pthread_cond_timedwait for ns on CLOCK_MONOTONIC: 1 when it timed out. */
static int ab__gil_wait(pthread_cond_t *c, pthread_mutex_t *m, int64_t ns)
{
  struct timespec ts = ab_ts(ab_now_ns() + ns);
  return pthread_cond_timedwait(c, m, &ts) == ETIMEDOUT;
}

int64_t ab_gil_take(ab_gil_t *g)
{
  if (ab__gil_mine == g)
    return 0;
  int64_t t0 = ab_now_ns();
  pthread_mutex_lock(&g->mu);
  while (g->locked) {
    if (ab__gil_stopped(g)) { /* the run is over: nobody will be asked to drop it */
      pthread_mutex_unlock(&g->mu);
      return ab_now_ns() - t0;
    }
    uint64_t saved = g->switch_number;
    int timed_out = ab__gil_wait(&g->cond, &g->mu, g->interval_ns);
    /* A whole interval without a switch: ask the holder to drop it. */
    if (timed_out && g->locked && g->switch_number == saved)
      __atomic_store_n(&g->drop_request, 1, __ATOMIC_RELAXED);
  }
  pthread_mutex_lock(&g->switch_mu);
  g->locked = 1;
  if (__atomic_load_n(&g->last_holder, __ATOMIC_RELAXED) != &ab__gil_key) {
    __atomic_store_n(&g->last_holder, &ab__gil_key, __ATOMIC_RELAXED);
    g->switch_number++;
  }
  pthread_cond_signal(&g->switch_cond);
  pthread_mutex_unlock(&g->switch_mu);
  __atomic_store_n(&g->drop_request, 0, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&g->mu);
  ab__gil_mine = g;
  return ab_now_ns() - t0;
}

int ab_gil_drop(ab_gil_t *g)
{
  if (ab__gil_mine != g)
    return 0;
  ab__gil_mine = NULL;
  pthread_mutex_lock(&g->mu);
  /* last_holder is read under switch_mu alone (the forced-switch wait): atomic, as CPython's */
  __atomic_store_n(&g->last_holder, &ab__gil_key, __ATOMIC_RELAXED);
  g->locked = 0;
  pthread_cond_signal(&g->cond);
  pthread_mutex_unlock(&g->mu);
  if (!__atomic_load_n(&g->drop_request, __ATOMIC_RELAXED))
    return 0;
  /* Forced switching: not switched yet, so wait until another thread has taken it. */
  pthread_mutex_lock(&g->switch_mu);
  if (__atomic_load_n(&g->last_holder, __ATOMIC_RELAXED) == &ab__gil_key) {
    __atomic_store_n(&g->drop_request, 0, __ATOMIC_RELAXED);
    while (__atomic_load_n(&g->last_holder, __ATOMIC_RELAXED) == &ab__gil_key && !ab__gil_stopped(g))
      ab__gil_wait(&g->switch_cond, &g->switch_mu, 10 * AB_NS_PER_MS);
  }
  pthread_mutex_unlock(&g->switch_mu);
  return 1;
}

int64_t ab_gil_check(ab_gil_t *g, int *forced)
{
  *forced = 0;
  if (ab__gil_mine != g)
    return ab_gil_take(g);
  if (!__atomic_load_n(&g->drop_request, __ATOMIC_RELAXED))
    return -1;
  ab_gil_drop(g); /* forced: it waits for another to take it, unless one already has */
  *forced = 1;
  return ab_gil_take(g);
}

/* ---- around a run's roles ------------------------------------------------------------------- */

static void ab__gil_took(ab_run_t *run, ab_ctx_t *ctx, int64_t waited, int forced)
{
  if (!ctx) { /* the loop's own wait: the role its wake-up runs first is charged (ab__gil_charge) */
    ab__gil_loop_wait = waited;
    return;
  }
  ab__rec(ctx, run->mt_gil[ctx->role], waited);
  if (forced)
    ctx->counters[run->ct_gil_forced[ctx->role]]++;
}

static void ab__gil_block(void *arg, ab_ctx_t *ctx, int begin)
{
  ab_run_t *run = arg;
  if (begin)
    ab_gil_drop(&run->gil);
  else
    ab__gil_took(run, ctx, ab_gil_take(&run->gil), 0);
}

static void ab__gil_compute(void *arg, ab_ctx_t *ctx, int begin)
{
  ab_run_t *run = arg;
  if (!begin)
    return;
  int forced;
  int64_t waited = ab_gil_check(&run->gil, &forced);
  if (waited >= 0)
    ab__gil_took(run, ctx, waited, forced);
}

void ab__gil_charge(ab_run_t *run, ab_ctx_t *ctx)
{
  if (ab__gil_loop_wait >= 0 && run->hooks == &run->gil_hooks && run->mt_gil[ctx->role] >= 0) {
    ab__rec(ctx, run->mt_gil[ctx->role], ab__gil_loop_wait);
    if (run->mt_gil_wake[ctx->role] >= 0)
      ab__rec(ctx, run->mt_gil_wake[ctx->role], ab__gil_loop_wait);
  }
  ab__gil_loop_wait = -1;
}

static void ab__gil_leave(void *arg, ab_ctx_t *ctx)
{
  (void)ctx;
  ab_gil_drop(&((ab_run_t *)arg)->gil);
}

int ab__gil_setup(ab_run_t *run)
{
  int r = ab_gil_init(&run->gil, run->gil_interval_ns, &run->ctl->stop);
  if (r < 0)
    return r;
  run->gil_hooks = (ab_hooks_t){ .block = ab__gil_block, .compute = ab__gil_compute, .leave = ab__gil_leave,
                                 .slice_ns = run->gil_check_ns, .free = run->gil_free, .arg = run };
  run->hooks = &run->gil_hooks;
  run->gil_ready = 1;
  return 0;
}

void ab__gil_teardown(ab_run_t *run)
{
  if (run->gil_ready)
    ab_gil_destroy(&run->gil);
  run->gil_ready = 0;
}
