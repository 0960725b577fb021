/* The loop runtime: every role on one thread around epoll, as an asyncio or libuv program
 * would be. Periodic roles are timerfds armed on absolute times from the common start;
 * device fds wake the roles that own them; channels are in-memory rings drained after every
 * callback (run to completion). Work runs inline and blocks the loop: that is what this
 * runtime measures. A timerfd that expired several times while the loop was busy runs the
 * role once per expiry, each with its own intended time, so lateness is never re-based.
 * The supervisor stays on the main thread, as in the other runtimes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

enum { EV_TIMER = 1, EV_DEV = 2 };

static pthread_t loop_tid;
static int loop_started;
static ab_ctx_t lctx[AB_MAX_ROLES];

static double ab__thread_cpu(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void ab__drain(ab_run_t *run)
{
  /* Keep delivering until no triggered role has a message: a step may send to another. */
  int more = 1;
  while (more && !ab_stopped(run)) {
    more = 0;
    for (int i = 0; i < run->sc->nroles; i++) {
      ab_ctx_t *ctx = &lctx[i];
      if (ctx->desc->trigger < 0)
        continue;
      uint64_t before = ctx->activation;
      double c0 = ab__thread_cpu();
      ab__role_deliver(ctx);
      ctx->cpu_s += ab__thread_cpu() - c0;
      if (ctx->activation != before)
        more = 1;
    }
  }
}

static void ab__loop_body(ab_run_t *run, int ep, int *tfd)
{
  uint64_t next_k[AB_MAX_ROLES] = { 0 };
  struct epoll_event evs[AB_MAX_ROLES * 2];
  while (!ab_stopped(run) && ab_now_ns() < run->ctl->t_end) {
    ab__drain(run);
    int n = epoll_wait(ep, evs, AB_MAX_ROLES * 2, 50);
    for (int e = 0; e < n && !ab_stopped(run); e++) {
      int role = (int)(evs[e].data.u64 >> 8), kind = (int)(evs[e].data.u64 & 0xff);
      ab_ctx_t *ctx = &lctx[role];
      double c0 = ab__thread_cpu();
      if (kind == EV_TIMER) {
        uint64_t exp = 0;
        if (read(tfd[role], &exp, sizeof exp) != sizeof exp)
          continue;
        for (uint64_t j = 0; j < exp && !ab_stopped(run); j++) {
          int64_t intended = run->ctl->t_start + (int64_t)next_k[role]++ * run->period[role];
          if (intended >= run->ctl->t_end)
            break;
          ab__role_activate(ctx, intended, ab_now_ns());
          ab__drain(run);
        }
      } else {
        ab__role_io(ctx);
      }
      ctx->cpu_s += ab__thread_cpu() - c0;
      ab__drain(run);
    }
  }
}

static void *ab__loop_thread(void *arg)
{
  ab_run_t *run = arg;
  const ab_scenario_t *sc = run->sc;
  int tfd[AB_MAX_ROLES], ep = -1, failed = 0;
  for (int i = 0; i < AB_MAX_ROLES; i++)
    tfd[i] = -1;
  ab__name_self("loop", 0);
  ab__apply_sched(run, 1);
  for (int i = 0; i < sc->nroles; i++) {
    ab__ctx_init(&lctx[i], run, i);
    if (!failed && ab__role_prepare(&lctx[i], 0) < 0)
      failed = 1;
  }
  ep = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < sc->nroles && ep >= 0 && !failed; i++) {
    struct epoll_event ev = { .events = EPOLLIN };
    if (sc->roles[i].period_ns > 0) {
      tfd[i] = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
      ev.data.u64 = ((uint64_t)i << 8) | EV_TIMER;
      if (tfd[i] < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, tfd[i], &ev) < 0)
        failed = 1;
    }
    if (sc->roles[i].on_device && lctx[i].dev_fd >= 0) {
      ev.data.u64 = ((uint64_t)i << 8) | EV_DEV;
      if (epoll_ctl(ep, EPOLL_CTL_ADD, lctx[i].dev_fd, &ev) < 0)
        failed = 1;
    }
  }
  if ((ep < 0 || failed) && !run->ctl->init_err[0]) {
    int e = errno ? errno : EIO;
    int any = 0;
    for (int i = 0; i < sc->nroles; i++)
      any |= run->ctl->init_err[i] != 0;
    if (!any) {
      run->ctl->init_err[0] = -e;
      snprintf(run->ctl->init_msg[0], AB_ERRLEN, "loop: epoll/timerfd set-up: %s", strerror(e));
    }
  }
  /* Every role reaches the barrier at once: they share this thread. */
  for (int i = 0; i < sc->nroles; i++)
    if (i)
      __atomic_add_fetch(&run->ctl->ready, 1, __ATOMIC_SEQ_CST);
  ab__role_ready(&lctx[0]);
  if (!ab_stopped(run)) {
    for (int i = 0; i < sc->nroles; i++)
      if (tfd[i] >= 0) {
        struct itimerspec its = { .it_value = ab_ts(run->ctl->t_start),
                                  .it_interval = ab_ts(run->period[i]) };
        timerfd_settime(tfd[i], TFD_TIMER_ABSTIME, &its, NULL);
      }
    ab_res_t all;
    ab__res_begin(&all, RUSAGE_THREAD);
    ab__loop_body(run, ep, tfd);
    ab__res_end(&all, RUSAGE_THREAD, 0);
    /* Per role: the CPU time of its own callbacks; switches belong to the one thread. */
    for (int i = 0; i < sc->nroles; i++) {
      ab_res_t *r = &run->ctl->res[i];
      memset(r, 0, sizeof *r);
      r->cpu_user_s = lctx[i].cpu_s;
      r->pid = all.pid;
      r->tid = all.tid;
      r->valid = 1;
    }
  }
  for (int i = 0; i < sc->nroles; i++) {
    ab__role_finish(&lctx[i]);
    if (tfd[i] >= 0)
      close(tfd[i]);
  }
  if (ep >= 0)
    close(ep);
  return NULL;
}

static int ab__loop_start(ab_run_t *run)
{
  int r = pthread_create(&loop_tid, NULL, ab__loop_thread, run);
  if (r)
    return -r;
  loop_started = 1;
  return 0;
}

static int ab__loop_check(ab_run_t *run, char *msg, size_t len) { return 0; }

static int ab__loop_join(ab_run_t *run)
{
  if (!loop_started)
    return 0;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += 10;
  if (pthread_timedjoin_np(loop_tid, NULL, &ts) == ETIMEDOUT) {
    if (!run->error[0])
      ab_run_fail(run, "the loop did not stop within 10 s of the end of the run (a step never returned)");
    pthread_detach(loop_tid);
  }
  loop_started = 0;
  return 0;
}

const ab_runtime_t ab_rt_loop = {
  .name = "loop",
  .start = ab__loop_start,
  .check = ab__loop_check,
  .join = ab__loop_join,
};

static const char *const arch_names[AB_ARCH_N] = { "threads", "procs", "loop", "hybrid" };

const ab_runtime_t *ab_runtime_get(int arch)
{
  switch (arch) {
  case AB_ARCH_THREADS: return &ab_rt_threads;
  case AB_ARCH_PROCS: return &ab_rt_procs;
  case AB_ARCH_LOOP: return &ab_rt_loop;
  default: return NULL;
  }
}

const char *ab_arch_name(int arch) { return arch >= 0 && arch < AB_ARCH_N ? arch_names[arch] : "?"; }

int ab_arch_find(const char *name)
{
  for (int i = 0; i < AB_ARCH_N; i++)
    if (!strcmp(arch_names[i], name))
      return i;
  return -1;
}
