/* The supervisor: one run of one scenario under one runtime, from the options to the result
 * file, with teardown on every path.
 *
 *   resolve   every refusal first, with nothing created (validate.c: ab_run_new);
 *   set up    memory lock, probe effect, the shared block, devices, the scenario's own set-up
 *             (calibration), channels and registers; PM QoS held for the run;
 *   run       spawn through the runtime, the start barrier, the measured window: signals make
 *             a partial result, a dead role a failed one; the memory of every process of the
 *             run is read at one instant, the same way under every runtime;
 *   collect   stop, join, costs, merge, the scenario's finish, requirements (evaluated once,
 *             here), the result file.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"
#include "internal.h"
#include "result.h"
#include "shm.h"
#include "stats.h"

#define AB_START_LEAD_NS (20 * AB_NS_PER_MS)
#define AB_READY_TIMEOUT_NS (60 * AB_NS_PER_S)
#define AB_TICK_NS (250 * AB_NS_PER_MS) /* the supervisor's longest sleep in the window */

/* The mock devices' and the scenario's helper processes and state: what must go even when a
 * role is wedged. */
static void ab__release_devices(ab_run_t *run)
{
  for (int i = 0; i < run->nhelpers; i++)
    ab_helper_stop(run->helpers[i], 1000);
  run->nhelpers = 0;
  for (int d = 0; d < run->sc->ndevs; d++) {
    if (run->dev_prepared[d])
      run->devops[d]->release(run->devstate[d]);
    run->dev_prepared[d] = 0;
  }
}

static void ab__teardown(ab_run_t *run)
{
  const ab_scenario_t *sc = run->sc;
  ab__gil_teardown(run);
  for (int q = 0; q < run->nphys; q++)
    if (run->pchan_made && run->pchan_made[q]) {
      ab_chan_destroy(&run->pchans[q]);
      run->pchan_made[q] = 0;
    }
  ab_arena_free(&run->arena);
  for (int g = 0; g < sc->nregs; g++)
    if (run->regs[g]) {
      ab_reg_destroy(run->regs[g]);
      run->regs[g] = NULL;
    }
  ab__release_devices(run);
  for (int d = 0; d < sc->ndevs; d++) {
    if (run->devstate[d])
      ab_shm_free(run->devstate[d], run->devops[d]->state_size, run->shared);
    run->devstate[d] = NULL;
  }
  if (run->scen_shared)
    ab_shm_free(run->scen_shared, run->scen_shared_size, run->shared);
  run->scen_shared = NULL;
}

void ab_run_free(ab_run_t *run)
{
  if (!run)
    return;
  if (ab_run_wedged(run)) { /* a role thread still uses the rest: only the supervisor's own goes */
    free(run->merged);
    free(run->ctotal);
    run->merged = NULL;
    run->ctotal = NULL;
    return;
  }
  ab__teardown(run);
  ab__block_free(run);
  free(run->rt_state);
  ab_result_free(run->result);
  free(run->merged);
  free(run->ctotal);
  free(run);
}

static void ab__utc_now(char *buf, size_t len)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}


/* The probe effect on this machine, in every result: what one timestamp costs, and one
 * timestamp plus a histogram record (what every measured event pays). */
static void ab__probe(ab_run_t *run)
{
  enum { N = 200000 };
  ab_hist_t *h = malloc(sizeof *h);
  if (!h)
    return;
  ab_hist_init(h);
  uint64_t sink = 0; /* wraps, as it may: only kept so the reads are not removed */
  int64_t t0 = ab_now_ns();
  for (int i = 0; i < N; i++)
    sink += (uint64_t)ab_now_ns();
  int64_t t1 = ab_now_ns();
  for (int i = 0; i < N; i++)
    ab_hist_record(h, ab_now_ns() - t1);
  int64_t t2 = ab_now_ns();
  ab_calib_set(run, "probe.clock_ns", (double)(t1 - t0) / N + (sink == 42 ? 1e-9 : 0));
  ab_calib_set(run, "probe.clock_record_ns", (double)(t2 - t1) / N);
  free(h);
}

/* ---- devices -------------------------------------------------------------------------------- */

static int ab__prepare_devices(ab_run_t *run, char *err, size_t len)
{
  const ab_scenario_t *sc = run->sc;
  for (int d = 0; d < sc->ndevs; d++) {
    const ab_devops_t *ops = ab_devops_for(sc->devs[d].kind); /* known: checked at resolve */
    run->devops[d] = ops;
    run->devstate[d] = ab_shm_alloc(ops->state_size, run->shared);
    if (!run->devstate[d]) {
      snprintf(err, len, "device %s: shared memory for its state: %s", sc->devs[d].name, strerror(errno));
      return -errno;
    }
    char msg[AB_ERRLEN] = "";
    int r = ops->prepare(run->devstate[d], &run->devopts, msg);
    if (r < 0) {
      snprintf(err, len, "%s", msg[0] ? msg : strerror(-r));
      return r;
    }
    run->dev_prepared[d] = 1;
  }
  return 0;
}

/* ---- memory: every process of the run at one instant ------------------------------------ */

/* The supervisor's process and every role process (slot_pid, set by runtimes whose roles
 * have processes of their own), read back to back while all of them are alive: the sum of
 * PSS then counts every shared page once. */
static void ab__mem_sample(ab_run_t *run, int final)
{
  ab_mem_t *m = &run->mem;
  int n = run->nslots, ok = 1;
  int64_t *rss = run->mem_scratch_rss, *pss = run->mem_scratch_pss, sr = 0, sp = 0;
  memset(rss, 0, sizeof(int64_t) * (n + 1));
  memset(pss, 0, sizeof(int64_t) * (n + 1));
  ok &= ab_mem_pid(getpid(), &rss[n], &pss[n]) == 0;
  int64_t xr = 0, xp = 0; /* the runtime's own processes (a pool's workers) */
  for (int k = 0; k < run->n_rt_pids; k++) {
    int64_t r1 = 0, p1 = 0;
    ok &= ab_mem_pid(run->rt_pids[k], &r1, &p1) == 0;
    xr += r1, xp += p1;
  }
  sr += xr, sp += xp;
  for (int i = 0; i < n; i++) {
    if (!final && !(i & 63) && ab_now_ns() >= run->ctl->t_end)
      return; /* the window is over: its end's own snapshot comes next, on time */
    if (run->slot_pid[i])
      ok &= ab_mem_pid(run->slot_pid[i], &rss[i], &pss[i]) == 0;
  }
  for (int i = 0; i <= n; i++)
    sr += rss[i], sp += pss[i];
  if (ok) {
    m->samples++;
    m->rss_peak_kb = sr > m->rss_peak_kb ? sr : m->rss_peak_kb;
    m->pss_peak_kb = sp > m->pss_peak_kb ? sp : m->pss_peak_kb;
  }
  if (!final)
    return;
  m->rss_kb = sr;
  m->pss_kb = sp;
  m->valid = ok;
  m->rt_rss_kb = xr;
  m->rt_pss_kb = xp;
  m->t_ns = ab_now_ns();
  memcpy(m->proc_rss_kb, rss, sizeof(int64_t) * (n + 1));
  memcpy(m->proc_pss_kb, pss, sizeof(int64_t) * (n + 1));
}

/* ---- costs ----------------------------------------------------------------------------------- */

/* The supervisor's own account: its thread where roles share its process, else its process. */
static int ab__super_who(const ab_run_t *run)
{
  return run->rt->same_process || run->rt->pooled ? RUSAGE_THREAD : RUSAGE_SELF;
}

static void ab__res_window_begin(ab_run_t *run, ab_res_t *proc)
{
  ab__res_begin(proc, RUSAGE_SELF);
  ab__res_begin(&run->res_super, ab__super_who(run));
}

/* The total is measured whole where it can be (one process: its own account), so that the
 * per-role figures, measured apart, can be checked against it; across processes it is the
 * sum of each process's own account. */
static void ab__res_window_end(ab_run_t *run, ab_res_t *proc)
{
  ab__res_end(proc, RUSAGE_SELF);
  ab__res_end(&run->res_super, ab__super_who(run));
  ab_res_t *t = &run->res_total;
  if (run->rt->same_process) {
    *t = *proc;
    for (int i = 0; i < run->nslots; i++) /* a role offloaded to a process of its own */
      if (run->slot_pid[i] && run->slots[i].res.valid)
        ab__res_add(t, &run->slots[i].res);
  } else if (run->rt->pooled) { /* the supervisor's process, and the pool's own */
    *t = *proc;
    ab__res_add(t, &run->res_rt_procs);
    if (run->res_rt_procs.maxrss_kb > t->maxrss_kb)
      t->maxrss_kb = run->res_rt_procs.maxrss_kb;
  } else {
    *t = run->res_super;
    for (int i = 0; i < run->nslots; i++)
      if (run->slots[i].res.valid) {
        ab__res_add(t, &run->slots[i].res);
        if (run->slots[i].res.maxrss_kb > t->maxrss_kb)
          t->maxrss_kb = run->slots[i].res.maxrss_kb;
      }
  }
  t->rss_kb = run->mem.rss_kb;
  t->pss_kb = run->mem.pss_kb;
}

void ab_run_total(const ab_run_t *run, ab_res_t *total) { *total = run->res_total; }

/* ---- the run ------------------------------------------------------------------------------------ */

static void ab__progress(const ab_run_opts_t *o, const ab_run_t *run, int64_t now, int done)
{
  if (!o->on_progress)
    return;
  char label[64];
  ab_progress_t p = { run->sc->name, ab_run_label(run, label, sizeof label), (now - run->ctl->t_start) / 1e9,
                      run->duration_ns / 1e9, done };
  if (p.elapsed_s < 0)
    p.elapsed_s = 0;
  if (p.elapsed_s > p.total_s)
    p.elapsed_s = p.total_s;
  o->on_progress(o->cb_arg, &p);
}

static void ab__say(const ab_run_opts_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ab__say(const ab_run_opts_t *o, const char *fmt, ...)
{
  if (!o->on_message)
    return;
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  o->on_message(o->cb_arg, msg);
}

/* PM QoS for the run: asked for, it must hold; implied by --rt-prio, a failure is noted. */
static int ab__latency_hold(ab_run_t *run, const ab_run_opts_t *o, char *err, size_t len)
{
  if (run->latency_target_us < 0) {
    snprintf(run->latency_note, sizeof run->latency_note, "off");
    return 0;
  }
  char msg[256];
  int fd = ab__latency_open(run->latency_target_us, msg, sizeof msg);
  if (fd >= 0) {
    run->latency_fd = fd;
    snprintf(run->latency_note, sizeof run->latency_note, "%d us (/dev/cpu_dma_latency held)",
             run->latency_target_us);
    return 0;
  }
  if (o->latency_explicit) {
    snprintf(err, len, "%s", msg);
    return fd;
  }
  snprintf(run->latency_note, sizeof run->latency_note, "not held: %s", strerror(-fd));
  if (!o->quiet)
    ab__say(o, "warning: %s", msg);
  return 0;
}

/* Wait for every role to be ready (or one to fail); 0 or -errno with err set. */
static int ab__wait_ready(ab_run_t *run, char *err, size_t len)
{
  ab_ctl_t *ctl = run->ctl;
  int64_t t_wait = ab_now_ns();
  while (__atomic_load_n(&ctl->ready, __ATOMIC_ACQUIRE) < (uint32_t)run->nslots) {
    char m[AB_ERRLEN];
    if (run->rt->check(run, m, sizeof m)) {
      snprintf(err, len, "%s (before the run started)", m);
      return -ECHILD;
    }
    if (ab_now_ns() - t_wait > AB_READY_TIMEOUT_NS) {
      snprintf(err, len, "roles not ready after %llds", (long long)(AB_READY_TIMEOUT_NS / AB_NS_PER_S));
      return -ETIMEDOUT;
    }
    struct timespec ts = { 0, 2 * AB_NS_PER_MS };
    nanosleep(&ts, NULL);
  }
  for (int i = 0; i < run->nslots; i++)
    if (run->slots[i].init_err) {
      snprintf(err, len, "%s", run->slots[i].init_msg);
      return run->slots[i].init_err;
    }
  return 0;
}

static void ab__stop(ab_run_t *run)
{
  __atomic_store_n(&run->ctl->t_stop, ab_now_ns(), __ATOMIC_RELEASE);
  __atomic_store_n(&run->ctl->stop, 1, __ATOMIC_RELEASE);
  ab_futex_wake(&run->ctl->stop, INT_MAX, run->shared);
  ab_futex_wake(&run->ctl->go, INT_MAX, run->shared);
  for (int i = 0; run->pchans && i < run->nphys; i++)
    ab_chan_kick(&run->pchans[i]);
}

/* Wait until `until` (a tick at most), watching signals and dead roles: 1 when the window
 * must end now. */
static int ab__watch(ab_run_t *run, const sigset_t *sigs, int64_t until)
{
  int64_t wait = until - ab_now_ns();
  struct timespec ts = ab_ts(wait < 0 ? 0 : wait > AB_TICK_NS ? AB_TICK_NS : wait);
  siginfo_t si;
  int s = sigtimedwait(sigs, &si, &ts);
  if (s == SIGINT || s == SIGTERM || s == SIGHUP) {
    run->interrupted = s;
    return 1;
  }
  char m[AB_ERRLEN];
  if (run->rt->check(run, m, sizeof m)) {
    ab_run_fail(run, "%s", m);
    return 1;
  }
  return 0;
}

/* The measured window: release the barrier, then watch signals, dead roles and the clock.
 * Memory is sampled through the window; the last snapshot (every role alive) is timed to be
 * done by the window's end, however long reading every process takes. */
static void ab__window(ab_run_t *run, const ab_run_opts_t *o, const sigset_t *sigs)
{
  ab_ctl_t *ctl = run->ctl;
  ab_res_t proc;
  run->t_setup1 = ab_now_ns();
  ctl->t_start = run->t_setup1 + ab__env_ns("AB_START_LEAD", AB_START_LEAD_NS, 10 * AB_NS_PER_S, AB_START_LEAD_NS);
  ctl->t_end = ctl->t_start + run->duration_ns;
  ab__res_window_begin(run, &proc);
  int64_t next_sample = 0, lead = 0;
  int ended = 0;
  __atomic_store_n(&ctl->go, 1, __ATOMIC_RELEASE);
  ab_futex_wake(&ctl->go, INT_MAX, run->shared);
  for (;;) {
    int64_t now = ab_now_ns();
    if (now >= ctl->t_end - lead || ab_stopped(run))
      break;
    if (now >= ctl->t_start && now >= next_sample) {
      /* A snapshot reads every process's page tables: with a thousand processes it takes a
       * while, so the next waits fifty times as long as this one took (2% of a CPU). */
      ab__mem_sample(run, 0);
      int64_t took = ab_now_ns() - now;
      next_sample = now + (50 * took > AB_TICK_NS ? 50 * took : AB_TICK_NS);
      int64_t want = 2 * took > lead ? 2 * took : lead; /* the longest seen, twice */
      lead = want < run->duration_ns / 2 ? want : run->duration_ns / 2;
    }
    ab__progress(o, run, now, 0);
    if ((ended = ab__watch(run, sigs, ctl->t_end - lead)))
      break;
  }
  /* Every role is still alive here, whatever ended the window. */
  int64_t t_snap = ab_now_ns();
  ab__mem_sample(run, 1);
  run->mem.snap_ns = ab_now_ns() - t_snap;
  while (!ended && !ab_stopped(run) && ab_now_ns() < ctl->t_end)
    ended = ab__watch(run, sigs, ctl->t_end);
  ab__progress(o, run, ab_now_ns(), 1);
  ab__stop(run);
  run->t_run1 = ab_now_ns();
  run->rt->join(run);
  ab__res_window_end(run, &proc);
}

/* ---- the phases ------------------------------------------------------------------------------
 * resolve (ab_run_new) -> set up -> spawn and barrier -> the window (run, stop, measure) ->
 * result -> teardown. Each returns 0 or an exit code with err set. */

static int ab__setup(ab_run_t *run, const ab_run_opts_t *o, char *err, size_t len)
{
  const ab_scenario_t *sc = run->sc;
  int r;
  if ((r = ab__latency_hold(run, o, err, len)) < 0)
    return ab__exit_for(r);
  ab__tables(run);
  run->mlock_err = ab__lock_memory();
  ab__probe(run);
  for (int c = 0; c < sc->nchans; c++)
    run->chan_size[c] = sc->chans[c].msg_max;
  for (int i = 0; i < sc->nroles; i++)
    run->period[i] = sc->roles[i].period_ns;
  if ((r = ab__block_alloc(run)) < 0) {
    snprintf(err, len, "shared memory for the run: %s", strerror(-r));
    return AB_EXIT_RESOURCE;
  }
  if (run->gil_on && (r = ab__gil_setup(run)) < 0) {
    snprintf(err, len, "the GIL model: %s", strerror(-r));
    return AB_EXIT_RESOURCE;
  }
  if ((r = ab__prepare_devices(run, err, len)) < 0)
    return ab__exit_for(r);
  if (sc->setup && (r = sc->setup(run)) < 0) {
    if (!err[0])
      snprintf(err, len, "%s: set-up failed: %.400s", sc->name, run->error[0] ? run->error : strerror(-r));
    return ab__exit_for(r);
  }
  ab__series_plan(run); /* from the periods set-up chose */
  return ab__build(run, err, len) < 0 ? AB_EXIT_RESOURCE : 0;
}

/* Every instance started and past its init, waiting at the barrier. */
static int ab__spawn(ab_run_t *run, char *err, size_t len)
{
  int r = (run->rt_state = calloc(1, run->rt->state_size ? run->rt->state_size : 1)) ? run->rt->start(run) : -ENOMEM;
  if (r == 0)
    r = ab__wait_ready(run, err, len);
  if (r == 0)
    return 0;
  int init_err = r != -ECHILD && r != -ETIMEDOUT;
  ab__stop(run);
  if (run->rt_state)
    run->rt->join(run);
  if (!err[0])
    snprintf(err, len, "starting the roles: %s", strerror(-r));
  return init_err ? ab__exit_for(r) : AB_EXIT_RESOURCE;
}

/* After the window: the outcome, the merged figures, the scenario's finish, requirements
 * (once), the result (built once, written if asked). */
static int ab__conclude(ab_run_t *run, const ab_run_opts_t *o)
{
  int code = 0, r;
  char m[AB_ERRLEN];
  if (!run->error[0] && run->rt->check(run, m, sizeof m))
    ab_run_fail(run, "%s", m);
  ab_ctl_t *ctl = run->ctl;
  if (ctl->failed_slot_plus1 && run->status != AB_ST_FAILED)
    ab_run_fail(run, "%s", run->slots[ctl->failed_slot_plus1 - 1].init_msg);
  if (run->interrupted && run->status == AB_ST_OK)
    run->status = AB_ST_PARTIAL;
  ab__block_merge(run);
  if (run->sc->finish && run->status != AB_ST_FAILED)
    run->sc->finish(run);
  ab_run_requirements(run);
  run->t_teardown1 = ab_now_ns();
  run->result = ab_result_of_run(run);
  if (!run->result) {
    ab__say(o, "%s %s: out of memory for its result", run->sc->name, run->rt->name);
    code = AB_EXIT_RESOURCE;
  } else if (o->result_path && (r = ab_result_save(run->result, o->result_path)) < 0) {
    ab__say(o, "writing %s: %s", o->result_path, strerror(-r));
    code = AB_EXIT_RESOURCE;
  }
  if (run->interrupted)
    code = AB_EXIT_INTR;
  else if (run->status == AB_ST_FAILED || run->req_failed)
    code = code ? code : AB_EXIT_FAIL;
  if (run->status == AB_ST_FAILED) /* why, whatever --quiet says */
    ab__say(o, "%s %s: failed: %s", run->sc->name, run->rt->name, run->error);
  return code;
}

/* Undo everything on every path. A role thread still running inside the run (wedged) keeps
 * its memory, channels and registers in place (the process ends soon: nothing more is run);
 * only the mock devices' processes go. An interruption after the window still stops the
 * command, whatever this run gave. */
static int ab__teardown_all(ab_run_t *run, ab_run_opts_t *o, const sigset_t *sigs, int code)
{
  if (ab_run_wedged(run)) {
    ab__release_devices(run);
    o->wedged = 1;
  } else {
    ab__teardown(run);
  }
  if (run->latency_fd >= 0)
    close(run->latency_fd);
  run->latency_fd = -1;
  struct timespec zero = { 0, 0 };
  siginfo_t si;
  int s;
  while ((s = sigtimedwait(sigs, &si, &zero)) > 0) /* SIGCHLD from a mock device: nothing */
    if (s == SIGINT || s == SIGTERM || s == SIGHUP)
      code = AB_EXIT_INTR;
  munlockall();
  if (o->want_result) {
    o->result = run->result; /* handed over */
    run->result = NULL;
  }
  if (!ab_run_wedged(run))
    ab_run_free(run);
  return code;
}

int ab_run_exec(ab_run_t *run, ab_run_opts_t *o)
{
  char err[512] = "";
  run->t_setup0 = ab_now_ns();
  ab__utc_now(run->started_at, sizeof run->started_at);
  /* Signals are taken synchronously by the supervisor; every thread inherits the mask. */
  sigset_t sigs, old;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  sigaddset(&sigs, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &sigs, &old);
  signal(SIGPIPE, SIG_IGN);
  int code = ab__setup(run, o, err, sizeof err);
  if (!code)
    code = ab__spawn(run, err, sizeof err);
  if (!code) {
    ab__window(run, o, &sigs);
    code = ab__conclude(run, o);
  }
  if (err[0])
    ab__say(o, "%s", err);
  code = ab__teardown_all(run, o, &sigs, code);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return code;
}

int ab_run_one(ab_run_opts_t *o)
{
  char err[512];
  int code;
  ab_run_t *run = ab_run_new(o, &code, err, sizeof err);
  if (!run) {
    ab__say(o, "%s", err);
    return code;
  }
  return ab_run_exec(run, o);
}
