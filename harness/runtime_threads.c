/* The threads runtime: a pthread per role, named after it; channels are in-memory rings and
 * registers seqlocks in the one address space. The supervisor is the main thread. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "internal.h"

typedef struct ab__thr {
  pthread_t tid;
  ab_ctx_t ctx;
  int started;
} ab__thr_t;

typedef struct ab__threads {
  ab__thr_t thr[AB_MAX_ROLES];
} ab__threads_t;

static void *ab__role_thread(void *arg)
{
  ab_ctx_t *ctx = arg;
  ab_run_t *run = ctx->run;
  ab__name_self(ctx->desc->name, 0);
  ab__apply_sched(run, ctx->desc->period_ns > 0);
  int r = ab__role_prepare(ctx, 0);
  ab__role_ready(ctx);
  if (r == 0 && !ab_stopped(run)) {
    ab_res_t res;
    ab__res_begin(&res, RUSAGE_THREAD);
    ab__role_begin(ctx);
    ab__role_run(ctx);
    ab__res_end(&res, RUSAGE_THREAD); /* memory is the process's: counted in the total */
    run->ctl->res[ctx->role] = res;
  }
  ab__role_finish(ctx);
  return NULL;
}

static int ab__threads_start(ab_run_t *run)
{
  ab__thr_t *thr = ((ab__threads_t *)run->rt_state)->thr;
  for (int i = 0; i < run->sc->nroles; i++) {
    ab__ctx_init(&thr[i].ctx, run, i);
    int r = pthread_create(&thr[i].tid, NULL, ab__role_thread, &thr[i].ctx);
    if (r) {
      /* Roles already started wait at the barrier; count this one as failed there too. */
      run->ctl->init_err[i] = -r;
      snprintf(run->ctl->init_msg[i], AB_ERRLEN, "role %s: pthread_create: %s", run->sc->roles[i].name, strerror(r));
      __atomic_add_fetch(&run->ctl->ready, 1, __ATOMIC_SEQ_CST);
      continue;
    }
    thr[i].started = 1;
  }
  return 0;
}

static int ab__threads_check(ab_run_t *run, char *msg, size_t len) { return 0; }

static int ab__threads_join(ab_run_t *run)
{
  ab__thr_t *thr = ((ab__threads_t *)run->rt_state)->thr;
  int64_t deadline = ab_now_ns() + 10 * AB_NS_PER_S;
  for (int i = 0; i < run->sc->nroles; i++) {
    if (!thr[i].started)
      continue;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t left = deadline - ab_now_ns();
    if (left < 0)
      left = 0;
    ts.tv_sec += left / AB_NS_PER_S;
    ts.tv_nsec += left % AB_NS_PER_S;
    if (ts.tv_nsec >= AB_NS_PER_S) {
      ts.tv_sec++;
      ts.tv_nsec -= AB_NS_PER_S;
    }
    if (pthread_timedjoin_np(thr[i].tid, NULL, &ts) == ETIMEDOUT) {
      /* A thread cannot be killed: it keeps the run's memory in use (ab_run_wedged). */
      if (!run->error[0])
        ab_run_fail(run, "role %s did not stop within 10 s of the end of the run", run->sc->roles[i].name);
      pthread_detach(thr[i].tid);
      run->role_wedged[i] = 1;
    }
    thr[i].started = 0;
  }
  return 0;
}

const ab_runtime_t ab_rt_threads = {
  .name = "threads",
  .state_size = sizeof(ab__threads_t),
  .same_process = 1,
  .start = ab__threads_start,
  .check = ab__threads_check,
  .join = ab__threads_join,
};
