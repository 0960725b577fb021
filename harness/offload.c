/* The loop runtime's offload variants (--offload): where the loop's offloadable roles run
 * (ab__offloadable: triggered by a channel, flagged CPU, owning no device), as an asyncio
 * program would hand a blocking call off:
 *
 *   inline    on the loop itself (loop.call_soon): a step blocks every other role;
 *   executor  a pool of min(32, CPUs + 4) threads, Python's ThreadPoolExecutor default:
 *             an idle worker takes the next request from the role's queue, so requests that
 *             pile up run at once, on several threads (run_in_executor);
 *   thread    one dedicated thread with the role's queue (a worker thread and a queue.Queue);
 *   process   a child process, its queues pipes (multiprocessing behind a proxy).
 *
 * Threads share the loop's process and so its GIL model (--gil); the child has its own.
 * The loop hears an offloaded role's messages through its channels' fds in its epoll set.
 * An offloaded role's costs are its threads' or its process's own, apart from the loop's.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "offload.h"

const char *const ab_offload_names[AB_OFF_N + 1] = { "inline", "executor", "thread", "process", NULL };

int ab_offload_find(const char *name)
{
  for (int k = 0; k < AB_OFF_N; k++)
    if (!strcmp(name, ab_offload_names[k]))
      return k;
  return -1;
}

/* ---- executor: a pool of threads over one role's queue ---------------------------------- */

typedef struct ab__worker {
  ab_ctx_t ctx;
  ab__offl_t *off;
  int k;                   /* its index in the pool */
  ab_hist_t *row;          /* its own histograms and counters, merged at the join: the */
  int64_t *counters;       /* workers of one role step at once */
  void *buf;               /* the request it took, copied out of the queue */
  ab_res_t res;
  int started;
  pthread_t tid;
} ab__worker_t;

/* Until the start barrier opens, without counting as ready: a role's first worker did. */
static void ab__await_go(ab_ctx_t *ctx)
{
  ab_ctl_t *ctl = ctx->run->ctl;
  ab_block_begin(ctx);
  while (!__atomic_load_n(&ctl->go, __ATOMIC_ACQUIRE) && !ab_stopped(ctx->run))
    ab_futex_wait(&ctl->go, 0, 100 * AB_NS_PER_MS, ctx->run->shared);
  ab_block_end(ctx);
}

/* The next request for this worker: one idle worker at a time waits on the queue (as the
 * executor's workers on its SimpleQueue), the others on the lock, without the GIL. 1 with a
 * request in w->buf (stashed as the step's trigger), 0 at the stop, < 0 on an error. */
static int ab__worker_take(ab__worker_t *w)
{
  ab_ctx_t *ctx = &w->ctx;
  ab_run_t *run = ctx->run;
  int chan = ctx->desc->trigger;
  ab_chan_t *c = ab__pchan(run, chan, ctx->inst);
  const void *data = NULL;
  int r = -EAGAIN;
  ab_block_begin(ctx);
  pthread_mutex_lock(&w->off->take);
  while (!ab_stopped(run) && (r = ab_chan_recv(c, &ctx->stash_msg, &data, run->slice_ns)) == -EAGAIN)
    ;
  if (r == 0) {
    memcpy(w->buf, data, ctx->stash_msg.len);
    ab_chan_release(c);
  }
  pthread_mutex_unlock(&w->off->take);
  ab_block_end(ctx);
  if (r < 0)
    return r == -EAGAIN || ab_stopped(run) ? 0 : r;
  ab__rec(ctx, run->mt_chan[chan], ab_now_ns() - ctx->stash_msg.t_sent);
  ctx->received[chan]++;
  ctx->stash_data = w->buf;
  ctx->stash_chan = chan; /* not held: the queue's slot is free already */
  return 1;
}

static void *ab__worker_main(void *arg)
{
  ab__worker_t *w = arg;
  ab_ctx_t *ctx = &w->ctx;
  ab_run_t *run = ctx->run;
  char who[64], name[64];
  snprintf(name, sizeof name, "%s-x%d", ab__who(ctx, who, sizeof who), w->k);
  ab__name_self(name, 0);
  ab__apply_sched(run, 0);
  int r = ab__role_prepare(ctx, 0);
  if (w->k == 0)
    ab__role_ready(ctx);
  else
    ab__await_go(ctx);
  if (r == 0 && !ab_stopped(run)) {
    ab__res_begin(&w->res, RUSAGE_THREAD);
    while (!ab_stopped(run) && ab__worker_take(w) > 0)
      if (ab__role_step_stashed(ctx) < 0)
        break;
    ab__res_end(&w->res, RUSAGE_THREAD);
  }
  ab__role_finish(ctx);
  return NULL;
}

static int ab__executor_start(ab_run_t *run, ab__offl_t *o, int slot)
{
  int n = run->executor_threads;
  ab__worker_t *w = o->workers = calloc(n, sizeof *w);
  if (!w)
    return -ENOMEM;
  o->nworkers = n;
  o->exec_slot = slot;
  pthread_mutex_init(&o->take, NULL);
  o->take_init = 1;
  for (int k = 0; k < n; k++) {
    ab__ctx_init(&w[k].ctx, run, slot);
    w[k].off = o, w[k].k = k;
    w[k].row = calloc(run->nmt, sizeof *w[k].row);
    w[k].counters = calloc(run->nct, sizeof *w[k].counters);
    w[k].buf = malloc(run->chan_size[w[k].ctx.desc->trigger] + 1);
    if (!w[k].row || !w[k].counters || !w[k].buf)
      return -ENOMEM;
    for (int m = 0; m < run->nmt; m++)
      ab_hist_init(&w[k].row[m]);
    w[k].ctx.hists = w[k].row;
    w[k].ctx.counters = w[k].counters;
  }
  for (int k = 0; k < n; k++) {
    int e = pthread_create(&w[k].tid, NULL, ab__worker_main, &w[k]);
    if (e) { /* the first worker counts the role at the barrier: count it failed instead */
      if (k == 0)
        __atomic_add_fetch(&run->ctl->ready, 1, __ATOMIC_SEQ_CST);
      return -e;
    }
    w[k].started = 1;
  }
  return 0;
}

/* The workers' figures into the role's row, their costs into its slot. */
static void ab__executor_merge(ab_run_t *run, ab__offl_t *o)
{
  ab__worker_t *w = o->workers;
  int slot = o->exec_slot, role = run->slot_role[slot];
  ab_hist_t *row = run->hists + (size_t)run->role_row[role] * run->nmt;
  ab_res_t *sum = &run->slots[slot].res;
  memset(sum, 0, sizeof *sum);
  for (int k = 0; k < o->nworkers; k++) {
    for (int m = 0; m < run->nmt; m++)
      if (w[k].row[m].count)
        ab_hist_merge(&row[m], &w[k].row[m]);
    for (int c = 0; c < run->nct; c++)
      run->counters[(size_t)slot * run->nct + c] += w[k].counters[c];
    if (!w[k].res.valid)
      continue;
    sum->cpu_user_s += w[k].res.cpu_user_s, sum->cpu_sys_s += w[k].res.cpu_sys_s;
    sum->ctx_vol += w[k].res.ctx_vol, sum->ctx_invol += w[k].res.ctx_invol;
    sum->valid = 1;
  }
  sum->pid = getpid();
}

/* ---- process: a child per offloaded role, its queues pipes ------------------------------- */

void ab__offload_attach(ab_run_t *run)
{
  const ab_scenario_t *sc = run->sc;
  for (int c = 0; c < sc->nchans; c++) {
    int from = sc->chans[c].from, to = sc->chans[c].to;
    if (run->offloaded[from] == run->offloaded[to])
      continue;
    int side = (run->offloaded[from] ? 0 : AB_SIDE_TX) | (run->offloaded[to] ? 0 : AB_SIDE_RX);
    for (int q = 0; q < run->chan_n[c]; q++)
      ab_chan_attach(ab__pchan(run, c, q), side);
  }
}

static int ab__reap_child(ab_run_t *run, ab__offl_t *o, int i, int flags)
{
  struct rusage ru;
  int st;
  if (!o->pid[i] || o->reaped[i] || wait4(o->pid[i], &st, flags, &ru) != o->pid[i])
    return 0;
  o->reaped[i] = 1;
  o->wstatus[i] = st;
  ab__res_reaped(run, i, o->pid[i], &ru);
  return 1;
}

/* ---- the variants together --------------------------------------------------------------- */

int ab__offload_start(ab_run_t *run, ab__offl_t *o)
{
  int n = run->nslots;
  if (run->offload == AB_OFF_INLINE)
    return 0;
  if (run->offload == AB_OFF_EXECUTOR) {
    for (int i = 0; i < n; i++)
      if (run->offloaded[run->slot_role[i]])
        return ab__executor_start(run, o, i); /* one role: checked when the run was resolved */
    return 0;
  }
  o->tid = calloc(n, sizeof *o->tid), o->ctx = calloc(n, sizeof *o->ctx), o->started = calloc(n, 1);
  o->pid = calloc(n, sizeof *o->pid), o->reaped = calloc(n, 1), o->wstatus = calloc(n, sizeof *o->wstatus);
  if (!o->tid || !o->ctx || !o->started || !o->pid || !o->reaped || !o->wstatus)
    return -ENOMEM;
  pid_t parent = getpid();
  for (int i = 0; i < n; i++) {
    if (!run->offloaded[run->slot_role[i]])
      continue;
    if (run->offload == AB_OFF_THREAD) {
      ab__ctx_init(&o->ctx[i], run, i);
      o->started[i] = ab__role_thread_start(run, &o->tid[i], &o->ctx[i]);
      continue;
    }
    fflush(NULL);
    pid_t p = fork();
    if (p < 0) {
      char who[64];
      run->slots[i].init_err = -errno;
      snprintf(run->slots[i].init_msg, AB_ERRLEN, "role %s: fork: %s", ab__slot_name(run, i, who, sizeof who),
               strerror(errno));
      __atomic_add_fetch(&run->ctl->ready, 1, __ATOMIC_SEQ_CST);
      continue;
    }
    if (p == 0)
      ab__role_child(run, i, parent); /* as procs' roles: it never returns */
    o->pid[i] = run->slot_pid[i] = p;
  }
  if (run->offload == AB_OFF_PROCESS)
    ab__offload_attach(run);
  return 0;
}

int ab__offload_check(ab_run_t *run, ab__offl_t *o, char *msg, size_t len)
{
  for (int i = 0; o->pid && i < run->nslots; i++) {
    if (!ab__reap_child(run, o, i, WNOHANG) || ab_stopped(run))
      continue;
    int st = o->wstatus[i];
    char who[64];
    ab__slot_name(run, i, who, sizeof who);
    if (WIFSIGNALED(st))
      snprintf(msg, len, "role %s (pid %d, offloaded to a process) died: killed by signal %d (%s)", who, (int)o->pid[i],
               WTERMSIG(st), strsignal(WTERMSIG(st)));
    else if (WEXITSTATUS(st) == 0 || !run->slots[i].init_err)
      snprintf(msg, len, "role %s (pid %d, offloaded to a process) exited with status %d before the end of the run", who,
               (int)o->pid[i], WEXITSTATUS(st));
    else
      continue; /* its init failed: its own message says so */
    return 1;
  }
  return 0;
}

void ab__offload_join(ab_run_t *run, ab__offl_t *o)
{
  int64_t deadline = ab_now_ns() + 10 * AB_NS_PER_S;
  for (int k = 0; o->workers && k < o->nworkers; k++)
    if (o->workers[k].started && !ab__thread_join_by(o->workers[k].tid, deadline)) {
      if (!run->error[0])
        ab_run_fail(run, "an executor thread did not stop within 10 s of the end of the run");
      run->slot_wedged[o->exec_slot] = 1;
      o->workers = NULL; /* still in use: kept */
    }
  if (o->workers) {
    ab__executor_merge(run, o);
    for (int k = 0; k < o->nworkers; k++)
      free(o->workers[k].row), free(o->workers[k].counters), free(o->workers[k].buf);
    free(o->workers);
    o->workers = NULL;
  }
  if (o->take_init && !run->slot_wedged[o->exec_slot])
    pthread_mutex_destroy(&o->take), o->take_init = 0;
  int wedged = 0;
  for (int i = 0; o->started && i < run->nslots; i++)
    if (o->started[i])
      wedged |= !ab__role_thread_join(run, o->tid[i], i, deadline);
  for (int i = 0; o->pid && i < run->nslots; i++) {
    while (o->pid[i] && !o->reaped[i] && ab_now_ns() < deadline - 5 * AB_NS_PER_S) {
      if (ab__reap_child(run, o, i, WNOHANG))
        break;
      nanosleep(&(struct timespec){ 0, 2 * AB_NS_PER_MS }, NULL);
    }
    if (o->pid[i] && !o->reaped[i]) {
      char who[64];
      if (!run->error[0])
        ab_run_fail(run, "role %s (pid %d, offloaded to a process) did not stop within 5 s of the end of the run; killed",
                    ab__slot_name(run, i, who, sizeof who), (int)o->pid[i]);
      kill(o->pid[i], SIGKILL);
      ab__reap_child(run, o, i, 0);
    }
    if (o->reaped[i] && WIFSIGNALED(o->wstatus[i]) && !run->error[0] && !run->interrupted) {
      char who[64];
      ab_run_fail(run, "role %s (pid %d, offloaded to a process) died: killed by signal %d (%s)",
                  ab__slot_name(run, i, who, sizeof who), (int)o->pid[i], WTERMSIG(o->wstatus[i]),
                  strsignal(WTERMSIG(o->wstatus[i])));
    }
  }
  if (!wedged)
    free(o->ctx), o->ctx = NULL;
  free(o->tid), free(o->started), free(o->pid), free(o->reaped), free(o->wstatus);
  o->tid = NULL, o->started = NULL, o->pid = NULL, o->reaped = NULL, o->wstatus = NULL;
}
