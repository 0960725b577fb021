/* The run: what every runtime shares.
 *
 *  - a role's costs (CPU, switches), its name, scheduling and memory lock;
 *  - a role's life: attach its channel ends, open its device, init, the start barrier, the
 *    activation loop (absolute clock_nanosleep for periodic roles, a blocking receive or a
 *    poll on channel + device for triggered ones), the due activations closed at the stop,
 *    fini;
 * The role API is role.c's, the set-up calls run.c's, the supervisor supervisor.c's;
 * parameters and requirements are params.c's.
 *
 * Lateness is measured against the intended start (t_start + k * period) and the schedule is
 * never re-based: a late activation still runs, its lateness recorded, and counts as a
 * missed period when it starts at or after the next one's intended start.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "shm.h"
#include "stats.h"

/* How often a blocked role looks at the stop flag: run->slice_ns (validate.c). */
#define AB_POLL_SLICE_MS(run) ((int)((run)->slice_ns / AB_NS_PER_MS))

/* ---- resources --------------------------------------------------------------------------- */

static double tv_s(struct timeval tv) { return tv.tv_sec + tv.tv_usec / 1e6; }

void ab__res_begin(ab_res_t *r, int who)
{
  struct rusage ru;
  getrusage(who, &ru);
  memset(r, 0, sizeof *r);
  r->cpu_user_s = -tv_s(ru.ru_utime);
  r->cpu_sys_s = -tv_s(ru.ru_stime);
  r->ctx_vol = -ru.ru_nvcsw;
  r->ctx_invol = -ru.ru_nivcsw;
}

/* Memory is not read here: the supervisor reads every process at one instant (ab__mem_sample);
 * a role reading its own at its end would count pages its exited peers no longer share. */
void ab__res_end(ab_res_t *r, int who)
{
  struct rusage ru;
  getrusage(who, &ru);
  r->cpu_user_s += tv_s(ru.ru_utime);
  r->cpu_sys_s += tv_s(ru.ru_stime);
  r->ctx_vol += ru.ru_nvcsw;
  r->ctx_invol += ru.ru_nivcsw;
  r->pid = getpid();
  r->tid = gettid();
  r->maxrss_kb = who == RUSAGE_SELF ? ru.ru_maxrss : 0;
  r->valid = 1;
}

void ab__res_add(ab_res_t *sum, const ab_res_t *r)
{
  sum->cpu_user_s += r->cpu_user_s;
  sum->cpu_sys_s += r->cpu_sys_s;
  sum->ctx_vol += r->ctx_vol;
  sum->ctx_invol += r->ctx_invol;
}

static int64_t ab__thread_cpu_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (int64_t)ts.tv_sec * AB_NS_PER_S + ts.tv_nsec;
}

void ab__mark(ab__mark_t *m)
{
  getrusage(RUSAGE_THREAD, &m->ru);
  m->cpu_ns = ab__thread_cpu_ns();
}

void ab__charge(ab_res_t *r, const ab__mark_t *m)
{
  int64_t cpu = ab__thread_cpu_ns() - m->cpu_ns;
  struct rusage now;
  getrusage(RUSAGE_THREAD, &now);
  r->cpu_user_s += cpu / 1e9;
  r->ctx_vol += now.ru_nvcsw - m->ru.ru_nvcsw;
  r->ctx_invol += now.ru_nivcsw - m->ru.ru_nivcsw;
}

/* The thread's own user:system ratio over the window, applied to each part: the parts keep
 * their exact CPU and sum to the thread's split. (Per callback the kernel cannot tell.) */
void ab__split(ab_res_t *r, double user_share)
{
  double cpu = r->cpu_user_s + r->cpu_sys_s;
  r->cpu_user_s = cpu * user_share;
  r->cpu_sys_s = cpu - r->cpu_user_s;
  r->apportioned = 1;
}

void ab__child_enter(pid_t parent)
{
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent)
    _exit(1);
  /* Ctrl-C, or a SIGTERM/SIGHUP sent to the whole group, is the supervisor's to handle: it
   * stops the run through the stop word and SIGKILLs a process that does not stop. */
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

void ab__name_self(const char *role, int process)
{
  char name[16];
  snprintf(name, sizeof name, "ab-%s", role);
  if (process)
    prctl(PR_SET_NAME, name);
  else
    pthread_setname_np(pthread_self(), name);
}

/* Lock memory as real-time programs (and cyclictest -m) do, so no reclaim scan or swap-in
 * lands in a measured wake-up. MCL_ONFAULT: a page is locked when first touched (in the
 * warm-up, for a role's working set), not populated up front: populating would make every
 * thread's whole 8 MB stack resident and, in a forked role, copy every writable page it
 * inherited, and the memory column would price our locking instead of the architecture.
 * Not inherited across fork: every process calls it. Not under AddressSanitizer, whose
 * terabytes of reserved shadow cannot be locked. */
int ab__lock_memory(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return -ENOTSUP;
#else
  return mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0 ? -errno : 0;
#endif
}

void ab__apply_sched(ab_run_t *run, int periodic)
{
  if (!run->rt->same_process)
    ab__lock_memory(); /* not inherited across fork */
  if (run->cpus)
    sched_setaffinity(0, sizeof(cpu_set_t), run->cpus);
  if (run->rt_prio > 0 && periodic) {
    struct sched_param sp = { .sched_priority = run->rt_prio };
    sched_setscheduler(0, SCHED_FIFO, &sp); /* checked up front by the supervisor */
  }
}

/* ---- a role's life ------------------------------------------------------------------------- */

void ab__ctx_init(ab_ctx_t *ctx, ab_run_t *run, int slot)
{
  memset(ctx, 0, sizeof *ctx);
  int role = run->slot_role[slot];
  ctx->run = run;
  ctx->role = role;
  ctx->slot = slot;
  ctx->inst = run->slot_inst[slot];
  ctx->desc = &run->sc->roles[role];
  ctx->hists = run->role_row[role] >= 0 ? run->hists + (size_t)run->role_row[role] * run->nmt : NULL;
  ctx->sidx = run->sidx + (size_t)slot * run->nmt;
  ctx->counters = run->counters + (size_t)slot * run->nct;
  ctx->stash_chan = -1;
  ctx->state = run->state_size[role] ? run->state + run->state_off[role] + (size_t)ctx->inst * run->state_size[role] : NULL;
  ctx->devi = -1;
  ctx->dev_fd = ctx->wait_fd = ctx->ep_fd = -1;
  for (int d = 0; d < run->sc->ndevs; d++)
    if (run->sc->devs[d].owner == role)
      ctx->devi = d;
}

static void ab__init_fail(ab_ctx_t *ctx, int err, const char *msg)
{
  ab_slot_t *s = &ctx->run->slots[ctx->slot];
  s->init_err = err;
  snprintf(s->init_msg, AB_ERRLEN, "%s", msg);
}

int ab__role_prepare(ab_ctx_t *ctx, int procs)
{
  ab_run_t *run = ctx->run;
  const ab_scenario_t *sc = run->sc;
  if (procs) { /* a sender writes to every queue of its channel, a receiver reads its own */
    for (int c = 0; c < sc->nchans; c++)
      for (int q = 0; q < run->chan_n[c]; q++) {
        int side = (sc->chans[c].from == ctx->role ? AB_SIDE_TX : 0) |
                   (sc->chans[c].to == ctx->role && q == ctx->inst ? AB_SIDE_RX : 0);
        ab_chan_t *pc = ab__pchan(run, c, q);
        /* Another instance's shared-memory queue: nothing of it is in this process's page
         * tables (fork copies none for shared mappings) and no end of it signals a peer's
         * death, so it is left alone (a thousand munmaps per process otherwise). A kernel
         * transport's ends are always closed: one left open hides a dead peer. */
        if (side == AB_SIDE_NONE && pc->t == &ab_transport_ring)
          continue;
        ab_chan_attach(pc, side);
      }
  }
  if (ctx->devi >= 0) {
    char msg[AB_ERRLEN] = "";
    int d = ctx->devi;
    int r = run->devops[d]->open(run->devstate[d], &ctx->dev, msg);
    if (r < 0) {
      if (!msg[0])
        snprintf(msg, sizeof msg, "%s: open failed: %s", sc->devs[d].name, strerror(-r));
      ab__init_fail(ctx, r, msg);
      return r;
    }
    ctx->dev_fd = run->devops[d]->fd(ctx->dev);
  }
  if (ctx->desc->init) {
    int r = ctx->desc->init(ctx);
    if (r < 0) {
      char msg[AB_ERRLEN];
      char who[64];
      const char *said = run->slots[ctx->slot].init_msg;
      snprintf(msg, sizeof msg, "role %s: init failed: %.180s", ab__who(ctx, who, sizeof who), said[0] ? said : strerror(-r));
      ab__init_fail(ctx, r, msg);
      return r;
    }
  }
  return 0;
}

void ab__role_ready(ab_ctx_t *ctx)
{
  ab_ctl_t *ctl = ctx->run->ctl;
  __atomic_add_fetch(&ctl->ready, 1, __ATOMIC_SEQ_CST);
  ab_block_begin(ctx);
  while (!__atomic_load_n(&ctl->go, __ATOMIC_ACQUIRE) && !ab_stopped(ctx->run))
    ab_futex_wait(&ctl->go, 0, 100 * AB_NS_PER_MS, ctx->run->shared);
  ab_block_end(ctx);
}

void ab__role_finish(ab_ctx_t *ctx)
{
  /* Its end releases what a runtime wraps around its work (a GIL), as a thread's exit
   * does: one that failed mid-run would otherwise keep the others waiting until the stop. */
  const ab_hooks_t *h = ctx->run->hooks;
  if (h && h->leave)
    h->leave(h->arg, ctx);
  for (int c = 0; c < ctx->run->sc->nchans; c++)
    ab_recv_done(ctx, c);
  if (ctx->desc->fini)
    ctx->desc->fini(ctx);
  if (ctx->dev) {
    ctx->run->devops[ctx->devi]->close(ctx->dev);
    ctx->dev = NULL;
  }
}

/* A send or receive that was waiting when the run stopped returns -ECANCELED, and a send to
 * a receiver that has already ended at the stop -EPIPE: the end of the run, not a failure of
 * the role (which would hide the run's real outcome). A receiver that died before the stop
 * fails the run by its own death. */
static int ab__cut_by_stop(const ab_ctx_t *ctx, int r)
{
  return (r == -ECANCELED || r == -EPIPE) && ab_stopped(ctx->run);
}

static int ab__step(ab_ctx_t *ctx, int64_t t0)
{
  if (ctx->run->nfaults)
    ab__fault_step(ctx);
  ctx->wait_fd = -1; /* a wait is named by the step that asks for it */
  int r = ctx->desc->step(ctx);
  if (r == AB_STEP_WAIT_DEV && ab__wait_fd(ctx) < 0) /* a send's "dropped" (1) passed on? */
    r = ab_fail(ctx, "role %s: its step asked to wait (returned %d, AB_STEP_WAIT_DEV) for no device and no fd",
                ab__who(ctx, (char[64]){ 0 }, 64), AB_STEP_WAIT_DEV);
  if (r == AB_STEP_WAIT_DEV) {
    ctx->waiting_dev = 1;
    r = 0;
  }
  ab__rec(ctx, ctx->run->mt_step[ctx->role], ab_now_ns() - t0);
  __atomic_fetch_add(&ctx->run->slots[ctx->slot].steps, 1, __ATOMIC_RELAXED); /* an executor's workers share it */
  ctx->activation++;
  for (int c = 0; c < ctx->run->sc->nchans; c++)
    if (ctx->held[c])
      ab_recv_done(ctx, c); /* a step that forgot recv_done must not wedge the channel */
  if (r < 0 && !ab__cut_by_stop(ctx, r) && !ctx->run->ctl->failed_slot_plus1)
    ab_fail(ctx, "role %s: step failed: %s", ab__who(ctx, (char[64]){ 0 }, 64), strerror(-r));
  return r;
}

int ab__role_step_stashed(ab_ctx_t *ctx) { return ab__step(ctx, ab_now_ns()); }

/* Lateness against the intended start, never re-based: a late activation still runs, and is
 * a missed period when it starts at or after the next one's intended start. */
static void ab__lateness(ab_ctx_t *ctx, int64_t intended, int64_t now)
{
  ab_run_t *run = ctx->run;
  int64_t late = now - intended;
  int missed = late >= run->period[ctx->role];
  ab__rec(ctx, run->mt_lateness[ctx->role], late);
  if (missed)
    ctx->counters[run->ct_missed[ctx->role]]++;
  ab__series_rec(ctx, intended, late, missed);
}

int ab__role_activate(ab_ctx_t *ctx, int64_t intended, int64_t now)
{
  ab__lateness(ctx, intended, now);
  ctx->intended = intended;
  return ab__step(ctx, now);
}

void ab__role_close_due(ab_ctx_t *ctx)
{
  ab_run_t *run = ctx->run;
  if (run->mt_lateness[ctx->role] < 0 || !run->ctl->t_start)
    return;
  int64_t now = ab_now_ns(), limit = ab_run_end_time(run);
  if (now < limit)
    limit = now; /* a role failing on its own stops before the supervisor says so */
  int64_t period = run->period[ctx->role];
  for (;; ctx->next_k++) {
    int64_t intended = run->ctl->t_start + (int64_t)ctx->next_k * period;
    if (intended >= limit)
      break;
    /* never started: a missed period whatever its lateness so far */
    ab__rec(ctx, run->mt_lateness[ctx->role], now - intended);
    ctx->counters[run->ct_missed[ctx->role]]++;
    ctx->counters[run->ct_closed[ctx->role]]++;
    ab__series_rec(ctx, intended, now - intended, 1);
  }
}

void ab__role_begin(ab_ctx_t *ctx)
{
  if (ctx->dev && ctx->run->devops[ctx->devi]->start)
    ctx->run->devops[ctx->devi]->start(ctx->dev, ctx->run->ctl->t_start);
}

int ab__role_wait_dev(ab_ctx_t *ctx)
{
  ab_run_t *run = ctx->run;
  while (ctx->waiting_dev && !ab_stopped(run)) {
    struct pollfd pf = { .fd = ab__wait_fd(ctx), .events = POLLIN };
    /* One blocking section however many slices it takes: a wrapper (a GIL) sees one wait,
     * as CPython sees one select() however often the harness looks at the stop word. */
    int n = 0;
    ab_block_begin(ctx);
    while (n <= 0 && !ab_stopped(run))
      n = poll(&pf, 1, AB_POLL_SLICE_MS(run));
    ab_block_end(ctx);
    if (n <= 0)
      continue;
    ctx->waiting_dev = 0;
    int r = ab__role_io(ctx);
    if (r < 0)
      return r;
  }
  return 0;
}

int ab__role_deliver(ab_ctx_t *ctx)
{
  int chan = ctx->desc->trigger;
  ab_chan_t *c = ab__pchan(ctx->run, chan, ctx->inst);
  while (!ab_stopped(ctx->run)) {
    const void *data;
    int r = ab_chan_recv(c, &ctx->stash_msg, &data, 0);
    if (r == -EAGAIN)
      return 0;
    if (r < 0)
      return r;
    ctx->stash_data = data;
    ctx->stash_chan = chan;
    ab__got(ctx, chan, &ctx->stash_msg, data);
    ab__step(ctx, ab_now_ns());
  }
  return 0;
}

int ab__role_io(ab_ctx_t *ctx)
{
  if (!ctx->desc->io)
    return 0;
  ctx->wait_fd = -1; /* a wait is named anew each time */
  int r = ctx->desc->io(ctx);
  if (r == AB_STEP_WAIT_DEV && ab__wait_fd(ctx) < 0)
    return ab_fail(ctx, "role %s: its io asked to wait (returned %d, AB_STEP_WAIT_DEV) for no device and no fd",
                   ab__who(ctx, (char[64]){ 0 }, 64), AB_STEP_WAIT_DEV);
  if (r == AB_STEP_WAIT_DEV) {
    ctx->waiting_dev = 1;
    return 0;
  }
  if (r < 0 && !ab__cut_by_stop(ctx, r) && !ctx->run->ctl->failed_slot_plus1)
    ab_fail(ctx, "role %s: device I/O failed: %s", ab__who(ctx, (char[64]){ 0 }, 64), strerror(-r));
  return r;
}

static void ab__run_periodic(ab_ctx_t *ctx)
{
  ab_run_t *run = ctx->run;
  int64_t period = run->period[ctx->role];
  while (!ab_stopped(run)) {
    int64_t intended = run->ctl->t_start + (int64_t)ctx->next_k * period;
    if (intended >= run->ctl->t_end)
      break;
    struct timespec ts = ab_ts(intended);
    ab_block_begin(ctx);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
      ;
    ab_block_end(ctx);
    int64_t now = ab_now_ns();
    if (ab_stopped(run))
      break;
    ctx->next_k++;
    if (ab__role_activate(ctx, intended, now) < 0 || ab__role_wait_dev(ctx) < 0)
      break;
  }
  ab__role_close_due(ctx);
  /* Past its last period a role still belongs to the run until it is told to stop. */
  ab_block_begin(ctx);
  while (!ab_stopped(run))
    ab_futex_wait(&run->ctl->stop, 0, run->slice_ns, run->shared);
  ab_block_end(ctx);
}

static void ab__run_triggered(ab_ctx_t *ctx)
{
  ab_run_t *run = ctx->run;
  int chan = ctx->desc->trigger;
  ab_chan_t *c = ab__pchan(run, chan, ctx->inst);
  if (!ctx->desc->on_device || ctx->dev_fd < 0) {
    while (!ab_stopped(run)) {
      const void *data;
      int r;
      ab_block_begin(ctx); /* one section across the slices (see ab__role_wait_dev) */
      while ((r = ab_chan_recv(c, &ctx->stash_msg, &data, run->slice_ns)) == -EAGAIN && !ab_stopped(run))
        ;
      ab_block_end(ctx);
      if (r == -EAGAIN)
        continue;
      if (r < 0)
        break;
      ctx->stash_data = data;
      ctx->stash_chan = chan;
      ab__got(ctx, chan, &ctx->stash_msg, data);
      if (ab__step(ctx, ab_now_ns()) < 0 || ab__role_wait_dev(ctx) < 0)
        break;
    }
    return;
  }
  struct pollfd pf[2] = { { .fd = ab_chan_fd(c), .events = POLLIN }, { .fd = ctx->dev_fd, .events = POLLIN } };
  while (!ab_stopped(run)) {
    pf[0].revents = pf[1].revents = 0;
    ab_block_begin(ctx);
    if (!ab_chan_arm(c))
      poll(pf, 2, AB_POLL_SLICE_MS(run));
    ab_chan_disarm(c);
    ab_block_end(ctx);
    if (pf[1].revents & (POLLIN | POLLERR | POLLHUP))
      if (ab__role_io(ctx) < 0)
        break;
    if (ab__role_deliver(ctx) < 0)
      break;
  }
}

/* The loop runtime's turn of a continuous role: one step unless it waits for its device
 * or the window is over. 1 when it stepped. */
int ab__role_continue(ab_ctx_t *ctx)
{
  int64_t now = ab_now_ns();
  if (ctx->waiting_dev || now < ctx->run->ctl->t_start || now >= ctx->run->ctl->t_end)
    return 0;
  return ab__step(ctx, ab_now_ns()) < 0 ? 0 : 1;
}

/* Until the window opens (t_start, a little after the barrier's release), as a periodic
 * role's first sleep: work done before it would be counted in a window that excludes it. */
void ab__sleep_to_start(ab_ctx_t *ctx)
{
  struct timespec ts = ab_ts(ctx->run->ctl->t_start);
  ab_block_begin(ctx);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
    ;
  ab_block_end(ctx);
}

/* Step after step through the window; then it waits for the stop, as a periodic role does. */
static void ab__run_continuous(ab_ctx_t *ctx)
{
  ab_run_t *run = ctx->run;
  ab__sleep_to_start(ctx);
  while (!ab_stopped(run) && ab_now_ns() < run->ctl->t_end)
    if (ab__step(ctx, ab_now_ns()) < 0 || ab__role_wait_dev(ctx) < 0)
      break;
  ab_block_begin(ctx);
  while (!ab_stopped(run))
    ab_futex_wait(&run->ctl->stop, 0, run->slice_ns, run->shared);
  ab_block_end(ctx);
}

int64_t ab__stop_grace_ns(const ab_run_t *run, int64_t def)
{
  if (run->sc->stop_grace_ns > 0)
    def = run->sc->stop_grace_ns;
  return ab__env_ns("AB_STOP_GRACE", 1, def - 1, def);
}

void ab__stop_overrun(ab_run_t *run, const char *fmt, ...)
{
  if (run->sc->stop_grace_ns > 0 || run->error[0]) /* the scenario's shutdown terminates it, and says so */
    return;
  char msg[sizeof run->error];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  ab_run_fail(run, "%s", msg);
}

void ab__role_run(ab_ctx_t *ctx)
{
  if (ctx->desc->period_ns > 0)
    ab__run_periodic(ctx);
  else if (ctx->desc->trigger >= 0)
    ab__run_triggered(ctx);
  else
    ab__run_continuous(ctx);
}
