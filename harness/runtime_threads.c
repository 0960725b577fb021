/* The threads runtime: a pthread per role, named after it; channels are in-memory rings and
 * registers seqlocks in the one address space. The supervisor is the main thread. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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
  ab__thr_t *thr; /* [nslots]: a thread per role instance */
} ab__threads_t;

void *ab__role_thread(void *arg)
{
  ab_ctx_t *ctx = arg;
  ab_run_t *run = ctx->run;
  char who[64];
  ab__name_self(ab__who(ctx, who, sizeof who), 0);
  ab__apply_sched(run, ctx->desc->period_ns > 0);
  int r = ab__role_prepare(ctx, 0);
  ab__role_ready(ctx);
  if (r == 0 && !ab_stopped(run)) {
    ab_res_t res;
    ab__res_begin(&res, RUSAGE_THREAD);
    ab__role_begin(ctx);
    ab__role_run(ctx);
    ab__res_end(&res, RUSAGE_THREAD); /* memory is the process's: counted in the total */
    run->slots[ctx->slot].res = res;
  }
  ab__role_finish(ctx);
  return NULL;
}

int ab__role_thread_start(ab_run_t *run, pthread_t *t, ab_ctx_t *ctx)
{
  int r = pthread_create(t, NULL, ab__role_thread, ctx);
  if (!r)
    return 1;
  /* Roles already started wait at the barrier; count this one as failed there too. */
  char who[64];
  int i = ctx->slot;
  run->slots[i].init_err = -r;
  snprintf(run->slots[i].init_msg, AB_ERRLEN, "role %s: pthread_create: %s", ab__slot_name(run, i, who, sizeof who),
           strerror(r));
  __atomic_add_fetch(&run->ctl->ready, 1, __ATOMIC_SEQ_CST);
  return 0;
}

static int ab__threads_start(ab_run_t *run)
{
  ab__threads_t *st = run->rt_state;
  /* Never freed while a thread may still use it (a wedged run keeps it: ab_run_wedged). */
  ab__thr_t *thr = st->thr = calloc(run->nslots, sizeof *thr);
  if (!thr)
    return -ENOMEM;
  for (int i = 0; i < run->nslots; i++) {
    ab__ctx_init(&thr[i].ctx, run, i);
    thr[i].started = ab__role_thread_start(run, &thr[i].tid, &thr[i].ctx);
  }
  return 0;
}

static int ab__threads_check(ab_run_t *run, char *msg, size_t len) { return 0; }

int ab__thread_join_by(pthread_t t, int64_t deadline)
{
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
  if (pthread_timedjoin_np(t, NULL, &ts) == ETIMEDOUT) {
    pthread_detach(t);
    return 0;
  }
  return 1;
}

int ab__role_thread_join(ab_run_t *run, pthread_t t, int slot, int64_t deadline)
{
  if (ab__thread_join_by(t, deadline))
    return 1;
  /* A thread cannot be killed: it keeps the run's memory in use (ab_run_wedged). */
  char who[64];
  ab__stop_overrun(run, "role %s did not stop within %.3g s of the end of the run",
                   ab__slot_name(run, slot, who, sizeof who), (double)ab__stop_grace_ns(run, 10 * AB_NS_PER_S) / 1e9);
  run->slot_wedged[slot] = 1;
  return 0;
}

static int ab__threads_join(ab_run_t *run)
{
  ab__threads_t *st = run->rt_state;
  ab__thr_t *thr = st->thr;
  int64_t deadline = ab_now_ns() + ab__stop_grace_ns(run, 10 * AB_NS_PER_S), wedged = 0;
  for (int i = 0; thr && i < run->nslots; i++) {
    if (!thr[i].started)
      continue;
    wedged |= !ab__role_thread_join(run, thr[i].tid, i, deadline);
    thr[i].started = 0;
  }
  if (!wedged) {
    free(thr);
    st->thr = NULL;
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
