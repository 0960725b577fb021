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
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "offload.h"

enum { EV_TIMER = 1, EV_DEV = 2, EV_CHAN = 3 };

typedef struct ab__loop {
  pthread_t tid;
  int started;
  ab_ctx_t *ctx;                   /* [nslots]: every role instance's, on the loop's thread */
  int *tfd;                        /* [nslots]: a periodic instance's timerfd, else -1 */
  int ep;
  ab__offl_t off;                  /* the roles run off the loop (--offload) */
  ab_chan_t *woke[AB_MAX_CHANS];   /* ... the queues from them to the loop, in the epoll set */
  int nwoke;
} ab__loop_t;

/* Does slot i run on the loop (not offloaded)? */
static int ab__on_loop(const ab_run_t *run, int i) { return !run->offloaded[run->slot_role[i]]; }

static ab_ctx_t *ab__lctx(ab_run_t *run) { return ((ab__loop_t *)run->rt_state)->ctx; }

/* Costs per role: each callback is charged to the role it runs (ab__charge, exact), and
 * callbacks never nest (a timer's drain is charged to the roles drained, not to the timer's
 * role), so the roles and the loop's own dispatch add up to the thread's total. */

/* A step that asked for its device: its fd joins epoll until the device is ready. */
static void ab__want_dev(int ep, ab_ctx_t *ctx)
{
  if (!ctx->waiting_dev || ctx->desc->on_device || ab__wait_fd(ctx) < 0)
    return;
  struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ((uint64_t)ctx->slot << 8) | EV_DEV };
  if (epoll_ctl(ep, EPOLL_CTL_ADD, ab__wait_fd(ctx), &ev) < 0 && errno != EEXIST)
    ab_fail(ctx, "loop: epoll on the device of role %s: %s", ctx->desc->name, strerror(errno));
  else
    ctx->ep_fd = ab__wait_fd(ctx); /* what to remove, whatever the role names next */
}

static void ab__drain(ab_run_t *run, int ep)
{
  ab_ctx_t *lctx = ab__lctx(run);
  /* Keep delivering until no triggered role has a message: a step may send to another. */
  /* Marks cost ~2 us: a role is charged only when it ran, from the mark after the last
   * role that did (an empty poll before it is a few ns); the rest is the loop's own. */
  int more = 1;
  while (more && !ab_stopped(run)) {
    more = 0;
    ab__mark_t m;
    ab__mark(&m);
    for (int i = 0; i < run->nslots; i++) {
      ab_ctx_t *ctx = &lctx[i];
      if (ctx->desc->trigger < 0 || !ab__on_loop(run, i))
        continue;
      uint64_t before = ctx->activation;
      ab__role_deliver(ctx);
      if (ctx->activation == before)
        continue;
      ab__gil_charge(run, ctx);
      ab__charge(&ctx->res, &m);
      ab__want_dev(ep, ctx);
      more = 1;
      ab__mark(&m);
    }
  }
}

/* One step of each continuous role that is not waiting for its device: 1 if any stepped. */
static int ab__continue(ab_run_t *run, int ep)
{
  ab_ctx_t *lctx = ab__lctx(run);
  int any = 0;
  for (int i = 0; i < run->nslots && !ab_stopped(run); i++) {
    ab_ctx_t *ctx = &lctx[i];
    if (!ctx->desc->continuous)
      continue;
    ab__mark_t m;
    ab__mark(&m);
    if (!ab__role_continue(ctx))
      continue;
    ab__charge(&ctx->res, &m);
    ab__want_dev(ep, ctx);
    any = 1;
  }
  return any;
}

static void ab__on_timer(ab_run_t *run, int ep, int fd, ab_ctx_t *ctx)
{
  uint64_t exp = 0;
  if (read(fd, &exp, sizeof exp) != sizeof exp)
    return;
  ab__gil_charge(run, ctx);
  /* One activation per expiry, each at its own intended time: never re-based. */
  for (uint64_t j = 0; j < exp && !ab_stopped(run); j++) {
    int64_t intended = run->ctl->t_start + (int64_t)ctx->next_k * run->period[ctx->role];
    if (intended >= run->ctl->t_end)
      break;
    ctx->next_k++;
    ab__mark_t m;
    ab__mark(&m);
    ab__role_activate(ctx, intended, ab_now_ns());
    ab__charge(&ctx->res, &m);
    ab__want_dev(ep, ctx);
    ab__drain(run, ep);
  }
}

static void ab__on_dev(ab_run_t *run, int ep, ab_ctx_t *ctx)
{
  if (!ctx->desc->on_device) { /* a step's wait is over */
    if (ctx->ep_fd >= 0)
      epoll_ctl(ep, EPOLL_CTL_DEL, ctx->ep_fd, NULL);
    ctx->ep_fd = -1;
    if (!ctx->waiting_dev)
      return;
    ctx->waiting_dev = 0;
  }
  ab__gil_charge(run, ctx);
  ab__mark_t m;
  ab__mark(&m);
  ab__role_io(ctx);
  ab__charge(&ctx->res, &m);
  ab__want_dev(ep, ctx);
}

static void ab__loop_body(ab_run_t *run, int ep, int *tfd)
{
  ab_ctx_t *lctx = ab__lctx(run);
  enum { NEV = 64 };
  struct epoll_event evs[NEV];
  ab__sleep_to_start(&lctx[0]); /* the window opens for every role at once */
  while (!ab_stopped(run) && ab_now_ns() < run->ctl->t_end) {
    ab__drain(run, ep);
    /* Continuous roles take a step each between looks at the events, which then cannot wait. */
    int busy = ab__continue(run, ep), n;
    if (busy) {
      n = epoll_wait(ep, evs, NEV, 0);
    } else {
      ab__loop_t *l = run->rt_state;
      int news = 0;
      for (int k = 0; k < l->nwoke; k++) /* an offloaded role's message wakes the loop */
        news |= ab_chan_arm(l->woke[k]) > 0;
      ab__block_run(run, 1);
      n = epoll_wait(ep, evs, NEV, news ? 0 : 50);
      ab__block_run(run, 0);
      for (int k = 0; k < l->nwoke; k++)
        ab_chan_disarm(l->woke[k]);
    }
    for (int e = 0; e < n && !ab_stopped(run); e++) {
      int slot = (int)(evs[e].data.u64 >> 8), kind = (int)(evs[e].data.u64 & 0xff);
      if (kind == EV_CHAN)
        continue; /* drained below */
      if (kind == EV_TIMER)
        ab__on_timer(run, ep, tfd[slot], &lctx[slot]);
      else
        ab__on_dev(run, ep, &lctx[slot]);
      ab__drain(run, ep);
    }
  }
}

/* Every instance's context, prepared; epoll with a timerfd per periodic instance and the
 * device fds of the roles woken by them. 0, or -1 after saying why in slot 0 (unless a role
 * said why itself). */
static int ab__loop_setup(ab_run_t *run, ab__loop_t *l)
{
  const ab_scenario_t *sc = run->sc;
  int failed = 0;
  for (int i = 0; i < run->nslots; i++) {
    ab__ctx_init(&l->ctx[i], run, i);
    if (!failed && ab__on_loop(run, i) && ab__role_prepare(&l->ctx[i], 0) < 0)
      failed = 1;
  }
  l->ep = epoll_create1(EPOLL_CLOEXEC);
  for (int c = 0; c < sc->nchans && l->ep >= 0 && !failed; c++) { /* from an offloaded role to the loop */
    if (!run->offloaded[sc->chans[c].from] || run->offloaded[sc->chans[c].to])
      continue;
    for (int q = 0; q < run->chan_n[c] && !failed; q++) {
      ab_chan_t *pc = ab__pchan(run, c, q);
      struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_CHAN };
      if (ab_chan_fd(pc) < 0 || epoll_ctl(l->ep, EPOLL_CTL_ADD, ab_chan_fd(pc), &ev) < 0)
        failed = 1;
      else if (pc->t == &ab_transport_ring)
        l->woke[l->nwoke++] = pc; /* armed before each wait: the producer writes its eventfd */
    }
  }
  for (int i = 0; i < run->nslots && l->ep >= 0 && !failed; i++) {
    const ab_role_desc_t *d = &sc->roles[run->slot_role[i]];
    if (!ab__on_loop(run, i))
      continue;
    struct epoll_event ev = { .events = EPOLLIN };
    if (d->period_ns > 0) {
      l->tfd[i] = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
      ev.data.u64 = ((uint64_t)i << 8) | EV_TIMER;
      if (l->tfd[i] < 0 || epoll_ctl(l->ep, EPOLL_CTL_ADD, l->tfd[i], &ev) < 0)
        failed = 1;
    }
    if (d->on_device && l->ctx[i].dev_fd >= 0) {
      ev.data.u64 = ((uint64_t)i << 8) | EV_DEV;
      if (epoll_ctl(l->ep, EPOLL_CTL_ADD, l->ctx[i].dev_fd, &ev) < 0)
        failed = 1;
    }
  }
  if (l->ep >= 0 && !failed)
    return 0;
  int e = errno ? errno : EIO, any = 0;
  for (int i = 0; i < run->nslots; i++)
    any |= run->slots[i].init_err != 0;
  if (!any) {
    run->slots[0].init_err = -e;
    snprintf(run->slots[0].init_msg, AB_ERRLEN, "loop: epoll/timerfd set-up: %s", strerror(e));
  }
  return -1;
}

/* The probe effect of this accounting (two clock reads and two getrusage per callback),
 * which the loop's own 'runtime' figure includes: measured here, in every loop result. */
static void ab__loop_probe(ab_run_t *run)
{
  enum { N = 500 };
  ab_ctx_t probe;
  memset(&probe, 0, sizeof probe);
  int64_t t0 = ab_now_ns();
  for (int k = 0; k < N; k++) {
    ab__mark_t m;
    ab__mark(&m);
    ab__charge(&probe.res, &m);
  }
  ab_calib_set(run, "probe.loop_charge_ns", (double)(ab_now_ns() - t0) / N);
}

/* The thread as a whole since `all`; what is left after its roles is the loop's own dispatch
 * (epoll_wait, timerfd reads), reported apart as the runtime's. */
static void ab__loop_costs(ab_run_t *run, const ab__mark_t *all)
{
  ab_ctx_t *lctx = ab__lctx(run), whole;
  memset(&whole, 0, sizeof whole);
  ab__charge(&whole.res, all);
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  double u = ru.ru_utime.tv_sec - all->ru.ru_utime.tv_sec + (ru.ru_utime.tv_usec - all->ru.ru_utime.tv_usec) / 1e6;
  double y = ru.ru_stime.tv_sec - all->ru.ru_stime.tv_sec + (ru.ru_stime.tv_usec - all->ru.ru_stime.tv_usec) / 1e6;
  double user_share = u + y > 0 ? u / (u + y) : 1;
  ab_res_t *rt = &run->ctl->res_runtime;
  *rt = whole.res;
  rt->pid = getpid();
  rt->tid = gettid();
  rt->valid = 1;
  for (int i = 0; i < run->nslots; i++) {
    if (!ab__on_loop(run, i))
      continue; /* its own thread's or process's, measured there */
    ab_res_t *r = &run->slots[i].res;
    *r = lctx[i].res;
    ab__split(r, user_share);
    r->pid = rt->pid;
    r->tid = rt->tid;
    r->valid = 1;
    rt->cpu_user_s -= lctx[i].res.cpu_user_s;
    rt->ctx_vol -= r->ctx_vol;
    rt->ctx_invol -= r->ctx_invol;
  }
  if (rt->cpu_user_s < 0 && rt->cpu_user_s > -1e-6)
    rt->cpu_user_s = 0; /* rounding of the sums of ns converted to s */
  ab__split(rt, user_share);
}

static void *ab__loop_thread(void *arg)
{
  ab_run_t *run = arg;
  ab__loop_t *l = run->rt_state;
  ab_ctx_t *lctx = l->ctx;
  ab__name_self("loop", 0);
  ab__apply_sched(run, 1);
  ab__loop_setup(run, l);
  ab__loop_probe(run);
  /* Every instance on the loop reaches the barrier at once: they share this thread. */
  int first = -1;
  for (int i = 0; i < run->nslots; i++)
    if (ab__on_loop(run, i) && first < 0)
      first = i;
    else if (ab__on_loop(run, i))
      __atomic_add_fetch(&run->ctl->ready, 1, __ATOMIC_SEQ_CST);
  ab__role_ready(&lctx[first]); /* some role is on the loop: an offloaded one is triggered */
  if (!ab_stopped(run)) {
    ab__mark_t all;
    ab__mark(&all);
    for (int i = 0; i < run->nslots; i++) {
      if (!ab__on_loop(run, i))
        continue;
      ab__role_begin(&lctx[i]);
      if (l->tfd[i] >= 0) {
        struct itimerspec its = { .it_value = ab_ts(run->ctl->t_start),
                                  .it_interval = ab_ts(run->period[run->slot_role[i]]) };
        timerfd_settime(l->tfd[i], TFD_TIMER_ABSTIME, &its, NULL);
      }
    }
    ab__loop_body(run, l->ep, l->tfd);
    for (int i = 0; i < run->nslots; i++)
      if (ab__on_loop(run, i))
        ab__role_close_due(&lctx[i]);
    ab__loop_costs(run, &all);
  }
  for (int i = 0; i < run->nslots; i++) {
    if (ab__on_loop(run, i))
      ab__role_finish(&lctx[i]);
    if (l->tfd[i] >= 0)
      close(l->tfd[i]);
  }
  if (l->ep >= 0)
    close(l->ep);
  return NULL;
}

static int ab__loop_start(ab_run_t *run)
{
  ab__loop_t *l = run->rt_state;
  l->ctx = calloc(run->nslots, sizeof *l->ctx);
  l->tfd = malloc(sizeof *l->tfd * run->nslots);
  l->ep = -1;
  if (!l->ctx || !l->tfd)
    return -ENOMEM;
  for (int i = 0; i < run->nslots; i++)
    l->tfd[i] = -1;
  int r = ab__offload_start(run, &l->off); /* before this process has a second thread */
  if (r < 0)
    return r;
  r = pthread_create(&l->tid, NULL, ab__loop_thread, run);
  if (r)
    return -r;
  l->started = 1;
  return 0;
}

static int ab__loop_check(ab_run_t *run, char *msg, size_t len)
{
  return ab__offload_check(run, &((ab__loop_t *)run->rt_state)->off, msg, len);
}

static int ab__loop_join(ab_run_t *run)
{
  ab__loop_t *l = run->rt_state;
  ab__offload_join(run, &l->off);
  if (!l->started) {
    free(l->ctx), free(l->tfd);
    l->ctx = NULL, l->tfd = NULL;
    return 0;
  }
  struct timespec ts;
  int64_t grace = ab__stop_grace_ns(run, 10 * AB_NS_PER_S);
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += grace / AB_NS_PER_S;
  ts.tv_nsec += grace % AB_NS_PER_S;
  if (ts.tv_nsec >= AB_NS_PER_S)
    ts.tv_sec++, ts.tv_nsec -= AB_NS_PER_S;
  if (pthread_timedjoin_np(l->tid, NULL, &ts) == ETIMEDOUT) {
    ab__stop_overrun(run, "the loop did not stop within %.3g s of the end of the run (a step never returned)",
                     (double)grace / 1e9);
    pthread_detach(l->tid);
    memset(run->slot_wedged, 1, run->nslots); /* it keeps the run's memory in use */
    l->started = 0;
    return 0;
  }
  l->started = 0;
  free(l->ctx), free(l->tfd);
  l->ctx = NULL, l->tfd = NULL;
  return 0;
}

const ab_runtime_t ab_rt_loop = {
  .name = "loop",
  .state_size = sizeof(ab__loop_t),
  .same_process = 1,
  .one_thread = 1,
  .start = ab__loop_start,
  .check = ab__loop_check,
  .join = ab__loop_join,
};
