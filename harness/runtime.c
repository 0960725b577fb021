/* The run: what every runtime shares.
 *
 *  - the role API of ab.h (send/recv/store/load/record/count), working the same whatever
 *    the runtime: a role cannot tell where it runs;
 *  - a role's life: attach its channel ends, open its device, init, the start barrier, the
 *    activation loop (absolute clock_nanosleep for periodic roles, a blocking receive or a
 *    poll on channel + device for triggered ones), fini;
 *  - the supervisor (ab_run_one): set-up, calibration, spawn through the runtime, the
 *    barrier release, the measured window (signals: Ctrl-C makes a partial result, a dead
 *    child a failed one), stop, merge, requirements, the result file, teardown on every path.
 *
 * Lateness is measured against the intended start (t_start + k * period) and the schedule is
 * never re-based: a late activation still runs, its lateness recorded, and counts as a
 * missed period when it starts at or after the next one's intended start.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "shm.h"
#include "stats.h"

#define AB_POLL_SLICE_MS 50       /* how often a blocked role looks at the stop flag */
#define AB_START_LEAD_NS (20 * AB_NS_PER_MS)
#define AB_READY_TIMEOUT_NS (60 * AB_NS_PER_S)

/* ---- role API -------------------------------------------------------------------------- */

int ab_stopped(const ab_run_t *run) { return __atomic_load_n(&run->ctl->stop, __ATOMIC_ACQUIRE) != 0; }
int ab_stopping(const ab_ctx_t *ctx) { return ab_stopped(ctx->run); }
int ab_role_index(const ab_ctx_t *ctx) { return ctx->role; }
int64_t ab_intended(const ab_ctx_t *ctx) { return ctx->intended; }
void *ab_dev(ab_ctx_t *ctx) { return ctx->dev; }
void *ab_shared(ab_ctx_t *ctx) { return ctx->run->scen_shared; }
void **ab_priv(ab_ctx_t *ctx) { return &ctx->priv; }

double ab_ctx_param(const ab_ctx_t *ctx, const char *name) { return ab_param(ctx->run, name); }

void ab_record(ab_ctx_t *ctx, int metric, int64_t value)
{
  ab_hist_record(&ctx->hists[ctx->run->mt_base + metric], value);
}

void ab_count(ab_ctx_t *ctx, int counter, int64_t n) { ctx->counters[ctx->run->ct_base + counter] += n; }

int ab_fail(ab_ctx_t *ctx, const char *fmt, ...)
{
  ab_ctl_t *ctl = ctx->run->ctl;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctl->init_msg[ctx->role], AB_ERRLEN, fmt, ap);
  va_end(ap);
  uint32_t none = 0;
  __atomic_compare_exchange_n(&ctl->failed_role_plus1, &none, (uint32_t)ctx->role + 1, 0,
                              __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  __atomic_store_n(&ctl->stop, 1, __ATOMIC_RELEASE);
  return -EIO;
}

int ab_send(ab_ctx_t *ctx, int chan, const void *buf, size_t len, int64_t t_chain)
{
  int r = ab_chan_send(&ctx->run->chans[chan], buf, len, t_chain);
  return r < 0 ? r : 0;
}

void *ab_send_begin(ab_ctx_t *ctx, int chan, size_t len)
{
  return ab_chan_send_begin(&ctx->run->chans[chan], len);
}

int ab_send_end(ab_ctx_t *ctx, int chan, size_t len, int64_t t_chain)
{
  int r = ab_chan_send_end(&ctx->run->chans[chan], len, t_chain);
  return r < 0 ? r : 0;
}

static void ab__got(ab_ctx_t *ctx, int chan, const ab_msg_t *m)
{
  ab_hist_record(&ctx->hists[ctx->run->mt_chan[chan]], ab_now_ns() - m->t_sent);
  ctx->held[chan] = 1;
}

const void *ab_recv(ab_ctx_t *ctx, int chan, ab_msg_t *msg, int *err)
{
  const void *data = NULL;
  if (err)
    *err = 0;
  if (ctx->stash_chan == chan) {
    *msg = ctx->stash_msg;
    ctx->stash_chan = -1;
    return ctx->stash_data;
  }
  if (ctx->held[chan])
    ab_recv_done(ctx, chan);
  int r = ab_chan_recv(&ctx->run->chans[chan], msg, &data, 0);
  if (r < 0) {
    if (err)
      *err = r;
    return NULL;
  }
  ab__got(ctx, chan, msg);
  return data;
}

void ab_recv_done(ab_ctx_t *ctx, int chan)
{
  if (!ctx->held[chan])
    return;
  ctx->held[chan] = 0;
  if (ctx->stash_chan == chan)
    ctx->stash_chan = -1;
  ab_chan_release(&ctx->run->chans[chan]);
}

void ab_store(ab_ctx_t *ctx, int reg, const void *val) { ab_reg_store(ctx->run->regs[reg], val); }
uint64_t ab_load(ab_ctx_t *ctx, int reg, void *val) { return ab_reg_load(ctx->run->regs[reg], val); }

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

void ab__res_end(ab_res_t *r, int who, int with_mem)
{
  struct rusage ru;
  getrusage(who, &ru);
  r->cpu_user_s += tv_s(ru.ru_utime);
  r->cpu_sys_s += tv_s(ru.ru_stime);
  r->ctx_vol += ru.ru_nvcsw;
  r->ctx_invol += ru.ru_nivcsw;
  r->pid = getpid();
  r->tid = gettid();
  if (with_mem) {
    ab_mem_self(&r->rss_kb, &r->pss_kb);
    struct rusage self;
    getrusage(RUSAGE_SELF, &self);
    r->maxrss_kb = self.ru_maxrss;
  }
  r->valid = 1;
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
  if (run->arch == AB_ARCH_PROCS)
    ab__lock_memory();
  if (run->cpus)
    sched_setaffinity(0, sizeof(cpu_set_t), run->cpus);
  if (run->rt_prio > 0 && periodic) {
    struct sched_param sp = { .sched_priority = run->rt_prio };
    sched_setscheduler(0, SCHED_FIFO, &sp); /* checked up front by the supervisor */
  }
}

/* ---- a role's life ------------------------------------------------------------------------- */

void ab__ctx_init(ab_ctx_t *ctx, ab_run_t *run, int role)
{
  memset(ctx, 0, sizeof *ctx);
  ctx->run = run;
  ctx->role = role;
  ctx->desc = &run->sc->roles[role];
  ctx->hists = run->hists + (size_t)role * run->nmt;
  ctx->counters = run->counters + (size_t)role * run->nct;
  ctx->stash_chan = -1;
  ctx->devi = -1;
  ctx->dev_fd = -1;
  for (int d = 0; d < run->sc->ndevs; d++)
    if (run->sc->devs[d].owner == role)
      ctx->devi = d;
}

static void ab__init_fail(ab_ctx_t *ctx, int err, const char *msg)
{
  ab_ctl_t *ctl = ctx->run->ctl;
  ctl->init_err[ctx->role] = err;
  snprintf(ctl->init_msg[ctx->role], AB_ERRLEN, "%s", msg);
}

int ab__role_prepare(ab_ctx_t *ctx, int procs)
{
  ab_run_t *run = ctx->run;
  const ab_scenario_t *sc = run->sc;
  if (procs) {
    for (int c = 0; c < sc->nchans; c++) {
      int side = (sc->chans[c].from == ctx->role ? AB_SIDE_TX : 0) |
                 (sc->chans[c].to == ctx->role ? AB_SIDE_RX : 0);
      ab_chan_attach(&run->chans[c], side);
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
      snprintf(msg, sizeof msg, "role %s: init failed: %s", ctx->desc->name,
               run->ctl->init_msg[ctx->role][0] ? run->ctl->init_msg[ctx->role] : strerror(-r));
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
  while (!__atomic_load_n(&ctl->go, __ATOMIC_ACQUIRE) && !ab_stopped(ctx->run))
    ab_futex_wait(&ctl->go, 0, 100 * AB_NS_PER_MS, ctx->run->shared);
}

void ab__role_finish(ab_ctx_t *ctx)
{
  for (int c = 0; c < ctx->run->sc->nchans; c++)
    ab_recv_done(ctx, c);
  if (ctx->desc->fini)
    ctx->desc->fini(ctx);
  if (ctx->dev) {
    ctx->run->devops[ctx->devi]->close(ctx->dev);
    ctx->dev = NULL;
  }
}

static int ab__step(ab_ctx_t *ctx, int64_t t0)
{
  int r = ctx->desc->step(ctx);
  ab_hist_record(&ctx->hists[ctx->run->mt_step[ctx->role]], ab_now_ns() - t0);
  ctx->run->ctl->role_steps[ctx->role]++;
  ctx->activation++;
  for (int c = 0; c < ctx->run->sc->nchans; c++)
    if (ctx->held[c])
      ab_recv_done(ctx, c); /* a step that forgot recv_done must not wedge the channel */
  if (r < 0 && !ctx->run->ctl->failed_role_plus1)
    ab_fail(ctx, "role %s: step failed: %s", ctx->desc->name, strerror(-r));
  return r;
}

int ab__role_activate(ab_ctx_t *ctx, int64_t intended, int64_t now)
{
  ab_run_t *run = ctx->run;
  int64_t late = now - intended;
  ab_hist_record(&ctx->hists[run->mt_lateness[ctx->role]], late);
  if (late >= run->period[ctx->role])
    ctx->counters[run->ct_missed[ctx->role]]++;
  ctx->intended = intended;
  return ab__step(ctx, now);
}

int ab__role_deliver(ab_ctx_t *ctx)
{
  int chan = ctx->desc->trigger;
  ab_chan_t *c = &ctx->run->chans[chan];
  while (!ab_stopped(ctx->run)) {
    const void *data;
    int r = ab_chan_recv(c, &ctx->stash_msg, &data, 0);
    if (r == -EAGAIN)
      return 0;
    if (r < 0)
      return r;
    ctx->stash_data = data;
    ctx->stash_chan = chan;
    ab__got(ctx, chan, &ctx->stash_msg);
    ab__step(ctx, ab_now_ns());
  }
  return 0;
}

int ab__role_io(ab_ctx_t *ctx)
{
  if (!ctx->desc->io)
    return 0;
  int r = ctx->desc->io(ctx);
  if (r < 0 && !ctx->run->ctl->failed_role_plus1)
    ab_fail(ctx, "role %s: device I/O failed: %s", ctx->desc->name, strerror(-r));
  return r;
}

static void ab__run_periodic(ab_ctx_t *ctx)
{
  ab_run_t *run = ctx->run;
  int64_t period = run->period[ctx->role];
  for (uint64_t k = 0; !ab_stopped(run); k++) {
    int64_t intended = run->ctl->t_start + (int64_t)k * period;
    if (intended >= run->ctl->t_end)
      break;
    struct timespec ts = ab_ts(intended);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
      ;
    int64_t now = ab_now_ns();
    if (ab_stopped(run))
      break;
    if (ab__role_activate(ctx, intended, now) < 0)
      break;
  }
  /* Past its last period a role still belongs to the run until it is told to stop. */
  while (!ab_stopped(run))
    ab_futex_wait(&run->ctl->stop, 0, AB_POLL_SLICE_MS * AB_NS_PER_MS, run->shared);
}

static void ab__run_triggered(ab_ctx_t *ctx)
{
  ab_run_t *run = ctx->run;
  int chan = ctx->desc->trigger;
  ab_chan_t *c = &run->chans[chan];
  if (!ctx->desc->on_device || ctx->dev_fd < 0) {
    while (!ab_stopped(run)) {
      const void *data;
      int r = ab_chan_recv(c, &ctx->stash_msg, &data, AB_POLL_SLICE_MS * AB_NS_PER_MS);
      if (r == -EAGAIN)
        continue;
      if (r < 0)
        break;
      ctx->stash_data = data;
      ctx->stash_chan = chan;
      ab__got(ctx, chan, &ctx->stash_msg);
      if (ab__step(ctx, ab_now_ns()) < 0)
        break;
    }
    return;
  }
  struct pollfd pf[2] = { { .fd = ab_chan_fd(c), .events = POLLIN }, { .fd = ctx->dev_fd, .events = POLLIN } };
  while (!ab_stopped(run)) {
    pf[0].revents = pf[1].revents = 0;
    if (!ab_chan_arm(c))
      poll(pf, 2, AB_POLL_SLICE_MS);
    ab_chan_disarm(c);
    if (pf[1].revents & (POLLIN | POLLERR | POLLHUP))
      if (ab__role_io(ctx) < 0)
        break;
    if (ab__role_deliver(ctx) < 0)
      break;
  }
}

void ab__role_run(ab_ctx_t *ctx)
{
  if (ctx->desc->period_ns > 0)
    ab__run_periodic(ctx);
  else if (ctx->desc->trigger >= 0)
    ab__run_triggered(ctx);
}

/* ---- parameters ------------------------------------------------------------------------------ */

static int ab__param_idx(const ab_scenario_t *sc, const char *name)
{
  for (int i = 0; i < sc->nparams; i++)
    if (!strcmp(sc->params[i].name, name))
      return i;
  return -1;
}

double ab_param(const ab_run_t *run, const char *name)
{
  int i = ab__param_idx(run->sc, name);
  return i < 0 ? 0 : run->pval[i];
}

const char *ab_param_str(const ab_run_t *run, const char *name)
{
  int i = ab__param_idx(run->sc, name);
  return i < 0 ? "" : run->pstr[i];
}

static const char *ab__ptype(int t)
{
  switch (t) {
  case AB_P_DURATION: return "a duration such as 10ms or 500us";
  case AB_P_SIZE: return "a size such as 64KB or 6MB";
  case AB_P_INT: return "an integer";
  case AB_P_DOUBLE: return "a number";
  default: return "one of the choices";
  }
}

static int ab__param_set(ab_run_t *run, int i, const char *v, char *err, size_t len)
{
  const ab_param_desc_t *p = &run->sc->params[i];
  double x = 0;
  int r = 0;
  int64_t iv;
  switch (p->type) {
  case AB_P_DURATION: r = ab_parse_duration(v, &iv); x = (double)iv; break;
  case AB_P_SIZE: r = ab_parse_size(v, &iv); x = (double)iv; break;
  case AB_P_INT: r = ab_parse_int(v, &iv); x = (double)iv; break;
  case AB_P_DOUBLE: r = ab_parse_double(v, &x); break;
  case AB_P_ENUM: {
    r = -EINVAL;
    const char *s = p->choices;
    for (int k = 0; s && *s; k++) {
      size_t n = strcspn(s, "|");
      if (strlen(v) == n && !strncmp(s, v, n)) {
        x = k;
        r = 0;
        break;
      }
      s += n + (s[n] == '|');
    }
    if (r < 0) {
      snprintf(err, len, "--param %s=%s: unknown value (expected one of %s)", p->name, v, p->choices);
      return -EINVAL;
    }
    break;
  }
  }
  if (r < 0) {
    snprintf(err, len, "--param %s=%s: not %s", p->name, v, ab__ptype(p->type));
    return -EINVAL;
  }
  if (p->type != AB_P_ENUM && (x < p->min || x > p->max)) {
    char lo[32], hi[32];
    if (p->type == AB_P_DURATION) {
      ab_fmt_ns(lo, sizeof lo, p->min);
      ab_fmt_ns(hi, sizeof hi, p->max);
    } else {
      snprintf(lo, sizeof lo, "%g", p->min);
      snprintf(hi, sizeof hi, "%g", p->max);
    }
    snprintf(err, len, "--param %s=%s: out of range (expected %s to %s)", p->name, v, lo, hi);
    return -ERANGE;
  }
  run->pval[i] = x;
  snprintf(run->pstr[i], sizeof run->pstr[i], "%s", v);
  return 0;
}

int ab_param_resolve(ab_run_t *run, const char *const *kv, int n, char *err, size_t len)
{
  const ab_scenario_t *sc = run->sc;
  for (int i = 0; i < sc->nparams; i++) {
    int r = ab__param_set(run, i, sc->params[i].def, err, len);
    if (r < 0)
      return r; /* a descriptor bug; says which */
  }
  for (int k = 0; k < n; k++) {
    const char *eq = strchr(kv[k], '=');
    if (!eq || eq == kv[k]) {
      snprintf(err, len, "--param %s: expected NAME=VALUE", kv[k]);
      return -EINVAL;
    }
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(eq - kv[k]), kv[k]);
    int i = ab__param_idx(sc, name);
    if (i < 0) {
      int o = snprintf(err, len, "--param %s: scenario %s has no such parameter (expected one of:", name, sc->name);
      for (int j = 0; j < sc->nparams && o > 0 && (size_t)o < len; j++)
        o += snprintf(err + o, len - o, " %s", sc->params[j].name);
      if (o > 0 && (size_t)o < len)
        snprintf(err + o, len - o, "%s)", sc->nparams ? "" : " none");
      return -EINVAL;
    }
    int r = ab__param_set(run, i, eq + 1, err, len);
    if (r < 0)
      return r;
    run->pset[i] = 1;
  }
  return 0;
}

/* ---- set-up calls ------------------------------------------------------------------------------ */

int64_t ab_run_duration(const ab_run_t *run) { return run->duration_ns; }
int64_t ab_run_window(const ab_run_t *run)
{
  return run->t_run1 > run->ctl->t_start && run->ctl->t_start ? run->t_run1 - run->ctl->t_start : 0;
}
int ab_run_serial_baud(const ab_run_t *run) { return run->devopts.baud > 0 ? run->devopts.baud : 115200; }

int ab_run_period(ab_run_t *run, int role, int64_t period_ns)
{
  if (role < 0 || role >= run->sc->nroles || run->sc->roles[role].period_ns <= 0 || period_ns <= 0)
    return -EINVAL;
  run->period[role] = period_ns;
  return 0;
}

int ab_run_chan_size(ab_run_t *run, int chan, size_t msg_max)
{
  if (chan < 0 || chan >= run->sc->nchans)
    return -EINVAL;
  run->chan_size[chan] = msg_max;
  return 0;
}

static ab_calib_t *ab__calib(ab_run_t *run, const char *key)
{
  for (int i = 0; i < run->ncalib; i++)
    if (!strcmp(run->calib[i].key, key))
      return &run->calib[i];
  if (run->ncalib == AB_MAX_CALIB)
    return NULL;
  ab_calib_t *c = &run->calib[run->ncalib++];
  snprintf(c->key, sizeof c->key, "%s", key);
  return c;
}

void ab_calib_set(ab_run_t *run, const char *key, double value)
{
  ab_calib_t *c = ab__calib(run, key);
  if (c) {
    c->num = value;
    c->is_str = 0;
  }
}

void ab_calib_str(ab_run_t *run, const char *key, const char *value)
{
  ab_calib_t *c = ab__calib(run, key);
  if (c) {
    snprintf(c->str, sizeof c->str, "%s", value);
    c->is_str = 1;
  }
}

void *ab_run_shared(ab_run_t *run, size_t size)
{
  if (!run->scen_shared) {
    run->scen_shared = ab_shm_alloc(size, run->shared);
    run->scen_shared_size = size;
  }
  return run->scen_shared;
}

int64_t ab_run_counter(const ab_run_t *run, int counter)
{
  return run->ctotal ? run->ctotal[run->ct_base + counter] : 0;
}

void ab_run_counter_set(ab_run_t *run, int counter, int64_t value)
{
  if (run->ctotal)
    run->ctotal[run->ct_base + counter] = value;
}

void ab_run_fail(ab_run_t *run, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(run->error, sizeof run->error, fmt, ap);
  va_end(ap);
  run->status = AB_ST_FAILED;
}

void *ab_run_dev(ab_run_t *run, int dev) { return run->devstate[dev]; }

/* ---- metric tables and requirements -------------------------------------------------------------- */

static void ab__tables(ab_run_t *run)
{
  const ab_scenario_t *sc = run->sc;
  int m = 0, c = 0;
  for (int r = 0; r < sc->nroles; r++) {
    run->mt_lateness[r] = -1;
    if (sc->roles[r].period_ns > 0) {
      snprintf(run->mt_name[m], AB_NAMELEN, "%s.lateness_ns", sc->roles[r].name);
      run->mt_lateness[r] = m++;
      snprintf(run->ct_name[c], AB_NAMELEN, "%s.missed_periods", sc->roles[r].name);
      run->ct_missed[r] = c++;
    }
    snprintf(run->mt_name[m], AB_NAMELEN, "%s.step_ns", sc->roles[r].name);
    run->mt_step[r] = m++;
  }
  for (int k = 0; k < sc->nchans; k++) {
    const char *n = sc->chans[k].name;
    snprintf(run->mt_name[m], AB_NAMELEN, "%s.latency_ns", n);
    run->mt_chan[k] = m++;
    snprintf(run->ct_name[c], AB_NAMELEN, "%s.messages", n);
    run->ct_msgs[k] = c++;
    snprintf(run->ct_name[c], AB_NAMELEN, "%s.drops", n);
    run->ct_drops[k] = c++;
    snprintf(run->ct_name[c], AB_NAMELEN, "%s.max_depth", n);
    run->ct_maxdepth[k] = c++;
    snprintf(run->ct_name[c], AB_NAMELEN, "%s.bytes", n);
    run->ct_bytes[k] = c++;
  }
  run->mt_base = m;
  for (int k = 0; k < sc->nmetrics; k++)
    snprintf(run->mt_name[m++], AB_NAMELEN, "%s", sc->metrics[k].name);
  run->ct_base = c;
  for (int k = 0; k < sc->ncounters; k++)
    snprintf(run->ct_name[c++], AB_NAMELEN, "%s", sc->counters[k]);
  run->nmt = m;
  run->nct = c;
}

int ab_metric_index(const ab_run_t *run, const char *name)
{
  for (int i = 0; i < run->nmt; i++)
    if (!strcmp(run->mt_name[i], name))
      return i;
  return -1;
}

int ab_counter_index(const ab_run_t *run, const char *name)
{
  for (int i = 0; i < run->nct; i++)
    if (!strcmp(run->ct_name[i], name))
      return i;
  return -1;
}

/* "inner.lateness_ns.p999" -> that statistic of the merged metric; a counter by its name. */
int ab_req_value(const ab_run_t *run, const char *name, double *value)
{
  int c = ab_counter_index(run, name);
  if (c >= 0) {
    *value = (double)run->ctotal[c];
    return 0;
  }
  const char *dot = strrchr(name, '.');
  if (!dot)
    return -ENOENT;
  char mname[AB_NAMELEN];
  snprintf(mname, sizeof mname, "%.*s", (int)(dot - name), name);
  int m = ab_metric_index(run, mname);
  if (m < 0)
    return -ENOENT;
  ab_summary_t s;
  ab_summarize(&run->merged[m], &s);
  const char *st = dot + 1;
  if (!strcmp(st, "p50")) *value = s.p50;
  else if (!strcmp(st, "p90")) *value = s.p90;
  else if (!strcmp(st, "p99")) *value = s.p99;
  else if (!strcmp(st, "p999")) *value = s.p999;
  else if (!strcmp(st, "p9999")) *value = s.p9999;
  else if (!strcmp(st, "max")) *value = s.max;
  else if (!strcmp(st, "min")) *value = s.min;
  else if (!strcmp(st, "mean")) *value = s.mean;
  else if (!strcmp(st, "count")) *value = s.count;
  else return -ENOENT;
  return 0;
}

/* ---- the supervisor ------------------------------------------------------------------------------ */

static int ab__exit_for(int err)
{
  switch (-err) {
  case ENOENT: case EACCES: case EPERM: case ENODEV: case EBUSY: case ENXIO:
    return AB_EXIT_RESOURCE;
  default:
    return AB_EXIT_USAGE;
  }
}

static int ab__alloc(ab_run_t *run)
{
  size_t hsz = sizeof(ab_hist_t) * run->nmt * run->sc->nroles;
  size_t csz = sizeof(int64_t) * run->nct * run->sc->nroles;
  size_t off_h = (sizeof(ab_ctl_t) + 63) & ~(size_t)63;
  size_t off_c = off_h + hsz;
  run->blk_size = off_c + csz;
  run->blk = ab_shm_alloc(run->blk_size, run->shared);
  if (!run->blk)
    return -errno;
  run->ctl = run->blk;
  run->hists = (ab_hist_t *)((char *)run->blk + off_h);
  run->counters = (int64_t *)((char *)run->blk + off_c);
  for (int i = 0; i < run->nmt * run->sc->nroles; i++)
    ab_hist_init(&run->hists[i]);
  run->merged = calloc(run->nmt ? run->nmt : 1, sizeof(ab_hist_t));
  run->ctotal = calloc(run->nct ? run->nct : 1, sizeof(int64_t));
  return run->merged && run->ctotal ? 0 : -ENOMEM;
}

static void ab__teardown(ab_run_t *run)
{
  const ab_scenario_t *sc = run->sc;
  for (int c = 0; c < sc->nchans; c++)
    if (run->chan_made[c]) {
      ab_chan_destroy(&run->chans[c]);
      run->chan_made[c] = 0;
    }
  for (int g = 0; g < sc->nregs; g++)
    if (run->regs[g]) {
      ab_reg_destroy(run->regs[g]);
      run->regs[g] = NULL;
    }
  for (int d = 0; d < sc->ndevs; d++) {
    if (run->dev_prepared[d])
      run->devops[d]->release(run->devstate[d]);
    run->dev_prepared[d] = 0;
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
  ab__teardown(run);
  if (run->blk)
    ab_shm_free(run->blk, run->blk_size, run->shared);
  free(run->merged);
  free(run->ctotal);
  free(run);
}

static void ab__merge(ab_run_t *run)
{
  const ab_scenario_t *sc = run->sc;
  for (int m = 0; m < run->nmt; m++) {
    ab_hist_init(&run->merged[m]);
    for (int r = 0; r < sc->nroles; r++)
      ab_hist_merge(&run->merged[m], &run->hists[(size_t)r * run->nmt + m]);
  }
  for (int c = 0; c < run->nct; c++) {
    run->ctotal[c] = 0;
    for (int r = 0; r < sc->nroles; r++)
      run->ctotal[c] += run->counters[(size_t)r * run->nct + c];
  }
  for (int k = 0; k < sc->nchans; k++) {
    ab_chan_ctl_t *cc = run->chans[k].ctl;
    if (!cc)
      continue;
    run->ctotal[run->ct_msgs[k]] = (int64_t)cc->sent;
    run->ctotal[run->ct_drops[k]] = (int64_t)cc->dropped;
    run->ctotal[run->ct_maxdepth[k]] = (int64_t)cc->max_depth;
    run->ctotal[run->ct_bytes[k]] = (int64_t)cc->bytes;
  }
}

static void ab__progress(const ab_run_opts_t *o, const ab_run_t *run, int64_t now, int done)
{
  if (o->quiet || !isatty(2))
    return;
  double el = (now - run->ctl->t_start) / 1e9, tot = run->duration_ns / 1e9;
  if (el < 0)
    el = 0;
  if (el > tot)
    el = tot;
  fprintf(stderr, "\r%s %s %s%s%s %4.1fs/%.1fs%s", o->progress_label ? o->progress_label : "",
          run->sc->name, ab_arch_name(run->arch), run->arch == AB_ARCH_PROCS ? "/" : "",
          run->arch == AB_ARCH_PROCS ? run->transport_name : "", el, tot, done ? "\r\033[K" : "  ");
}

static void ab__utc_now(char *buf, size_t len)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void ab__requirements(ab_run_t *run)
{
  const ab_scenario_t *sc = run->sc;
  for (int i = 0; i < sc->nreqs; i++) {
    double v;
    if (ab_req_value(run, sc->reqs[i].name, &v) < 0)
      continue;
    const ab_req_desc_t *q = &sc->reqs[i];
    double lim = q->limit_param ? ab_param(run, q->limit_param) * q->limit_scale : q->limit;
    int pass = q->op == AB_LE ? v <= lim : q->op == AB_LT ? v < lim : q->op == AB_GE ? v >= lim : v == lim;
    if (!pass)
      run->req_failed++;
  }
}

/* Everything after the devices are prepared and before the roles start. */
static int ab__build(ab_run_t *run, char *err, size_t len)
{
  const ab_scenario_t *sc = run->sc;
  int r;
  for (int c = 0; c < sc->nchans; c++) {
    const ab_chan_desc_t *cd = &sc->chans[c];
    const ab_transport_t *t = run->arch == AB_ARCH_PROCS ? run->transport : &ab_transport_ring;
    int want_fd = sc->roles[cd->to].on_device;
    /* A single-threaded loop cannot block on a full channel: its consumer is itself. */
    int policy = run->arch == AB_ARCH_LOOP ? AB_DROP : cd->policy;
    r = ab_chan_create(&run->chans[c], cd->name, t, run->chan_size[c], cd->depth, policy,
                       run->shared, want_fd);
    if (r < 0) {
      snprintf(err, len, "channel %s over %s (%zu-byte messages): %s", cd->name, t->name,
               run->chan_size[c], strerror(-r));
      return r;
    }
    run->chans[c].stop = &run->ctl->stop;
    run->chan_made[c] = 1;
    if (run->arch != AB_ARCH_PROCS)
      ab_chan_attach(&run->chans[c], AB_SIDE_BOTH);
  }
  for (int g = 0; g < sc->nregs; g++) {
    run->regs[g] = ab_reg_create(sc->regs[g].size, run->shared);
    if (!run->regs[g]) {
      snprintf(err, len, "register %s: %s", sc->regs[g].name, strerror(errno));
      return -errno;
    }
  }
  return 0;
}

static int ab__prepare_devices(ab_run_t *run, char *err, size_t len)
{
  const ab_scenario_t *sc = run->sc;
  for (int d = 0; d < sc->ndevs; d++) {
    const ab_devops_t *ops = sc->devs[d].kind == AB_DEV_SERIAL ? &ab_serial_ops : &ab_camera_ops;
    run->devops[d] = ops;
    run->devstate[d] = ab_shm_alloc(ops->state_size, run->shared);
    if (!run->devstate[d]) {
      snprintf(err, len, "device %s: %s", sc->devs[d].name, strerror(errno));
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

/* The probe effect on this machine, in every result: what one timestamp costs, and one
 * timestamp plus a histogram record (what every measured event pays). */
static void ab__probe(ab_run_t *run)
{
  enum { N = 200000 };
  ab_hist_t *h = malloc(sizeof *h);
  if (!h)
    return;
  ab_hist_init(h);
  int64_t sink = 0, t0 = ab_now_ns();
  for (int i = 0; i < N; i++)
    sink += ab_now_ns();
  int64_t t1 = ab_now_ns();
  for (int i = 0; i < N; i++)
    ab_hist_record(h, ab_now_ns() - t1);
  int64_t t2 = ab_now_ns();
  ab_calib_set(run, "probe.clock_ns", (double)(t1 - t0) / N + (sink == 42 ? 1e-9 : 0));
  ab_calib_set(run, "probe.clock_record_ns", (double)(t2 - t1) / N);
  free(h);
}

static void *ab__noop_thread(void *arg) { return arg; }

static int ab__check_sched(ab_run_t *run, char *err, size_t len)
{
  if (run->rt_prio <= 0)
    return 0;
  int max = sched_get_priority_max(SCHED_FIFO);
  if (run->rt_prio > max) {
    snprintf(err, len, "--rt-prio %d: out of range (expected 1 to %d)", run->rt_prio, max);
    return -EINVAL;
  }
  /* Try it on a throwaway thread so the supervisor itself stays SCHED_OTHER. */
  pthread_attr_t a;
  pthread_attr_init(&a);
  struct sched_param sp = { .sched_priority = run->rt_prio };
  int r = pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
  if (!r) r = pthread_attr_setschedpolicy(&a, SCHED_FIFO);
  if (!r) r = pthread_attr_setschedparam(&a, &sp);
  pthread_t t;
  if (!r) {
    r = pthread_create(&t, &a, ab__noop_thread, NULL);
    if (!r)
      pthread_join(t, NULL);
  }
  pthread_attr_destroy(&a);
  if (r) {
    snprintf(err, len, "--rt-prio %d: SCHED_FIFO refused: %s (needs root or CAP_SYS_NICE, and an RT budget)",
             run->rt_prio, strerror(r));
    return -EPERM;
  }
  return 0;
}

int ab_run_one(ab_run_opts_t *o)
{
  char err[512] = "";
  int code = AB_EXIT_OK, r;
  ab_run_t *run = calloc(1, sizeof *run);
  if (!run) {
    fprintf(stderr, "archbench: out of memory\n");
    return AB_EXIT_RESOURCE;
  }
  run->sc = o->sc;
  run->arch = o->arch;
  run->rt = ab_runtime_get(o->arch);
  run->shared = o->arch == AB_ARCH_PROCS;
  run->duration_ns = o->duration_ns;
  run->rt_prio = o->rt_prio;
  run->cpus = o->cpus;
  run->quiet = o->quiet;
  run->devopts = o->dev;
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

  if (!(o->sc->archs & (1u << o->arch))) {
    snprintf(err, sizeof err, "scenario %s does not run under --arch %s", o->sc->name, ab_arch_name(o->arch));
    code = AB_EXIT_USAGE;
    goto out_early;
  }
  if (!run->rt) {
    snprintf(err, sizeof err, "--arch %s: not available in this build (expected threads, procs or loop)",
             ab_arch_name(o->arch));
    code = AB_EXIT_USAGE;
    goto out_early;
  }
  if (o->arch == AB_ARCH_PROCS) {
    const char *tn = o->transport ? o->transport : "shm";
    run->transport = strcmp(tn, "ring") ? ab_transport_find(tn) : NULL;
    if (!run->transport) {
      snprintf(err, sizeof err, "--transport %s: unknown (expected pipe, unix, mq, shm or tcp)", o->transport);
      code = AB_EXIT_USAGE;
      goto out_early;
    }
    run->transport_name = o->transport ? o->transport : "shm";
  } else {
    run->transport_name = "ring";
  }
  r = ab_param_resolve(run, o->params, o->nparams, err, sizeof err);
  if (r < 0) {
    code = AB_EXIT_USAGE;
    goto out_early;
  }
  if ((r = ab__check_sched(run, err, sizeof err)) < 0) {
    code = ab__exit_for(r);
    goto out_early;
  }
  ab__tables(run);
  run->mlock_err = ab__lock_memory();
  ab__probe(run);
  for (int c = 0; c < o->sc->nchans; c++)
    run->chan_size[c] = o->sc->chans[c].msg_max;
  for (int i = 0; i < o->sc->nroles; i++)
    run->period[i] = o->sc->roles[i].period_ns;
  if ((r = ab__alloc(run)) < 0) {
    snprintf(err, sizeof err, "shared memory for the run: %s", strerror(-r));
    code = AB_EXIT_RESOURCE;
    goto out_teardown;
  }
  if ((r = ab__prepare_devices(run, err, sizeof err)) < 0) {
    code = ab__exit_for(r);
    goto out_teardown;
  }
  if (o->sc->setup && (r = o->sc->setup(run)) < 0) {
    if (!err[0])
      snprintf(err, sizeof err, "%s: set-up failed: %.400s", o->sc->name, run->error[0] ? run->error : strerror(-r));
    code = ab__exit_for(r);
    goto out_teardown;
  }
  if ((r = ab__build(run, err, sizeof err)) < 0) {
    code = AB_EXIT_RESOURCE;
    goto out_teardown;
  }

  ab_ctl_t *ctl = run->ctl;
  r = run->rt->start(run);
  int64_t t_wait = ab_now_ns();
  while (r == 0 && __atomic_load_n(&ctl->ready, __ATOMIC_ACQUIRE) < (uint32_t)o->sc->nroles) {
    char m[AB_ERRLEN];
    if (run->rt->check(run, m, sizeof m)) {
      snprintf(err, sizeof err, "%s (before the run started)", m);
      r = -ECHILD;
      break;
    }
    if (ab_now_ns() - t_wait > AB_READY_TIMEOUT_NS) {
      snprintf(err, sizeof err, "roles not ready after %llds", (long long)(AB_READY_TIMEOUT_NS / AB_NS_PER_S));
      r = -ETIMEDOUT;
      break;
    }
    struct timespec ts = { 0, 2 * AB_NS_PER_MS };
    nanosleep(&ts, NULL);
  }
  int init_err = 0;
  for (int i = 0; i < o->sc->nroles && !init_err; i++)
    if (ctl->init_err[i]) {
      init_err = ctl->init_err[i];
      snprintf(err, sizeof err, "%s", ctl->init_msg[i]);
    }
  if (r < 0 || init_err) {
    __atomic_store_n(&ctl->stop, 1, __ATOMIC_RELEASE);
    ab_futex_wake(&ctl->go, INT_MAX, run->shared);
    run->rt->join(run);
    if (!err[0])
      snprintf(err, sizeof err, "starting the roles: %s", strerror(-r));
    code = init_err ? ab__exit_for(init_err) : AB_EXIT_RESOURCE;
    goto out_teardown;
  }

  /* The measured window. */
  run->t_setup1 = ab_now_ns();
  ctl->t_start = run->t_setup1 + AB_START_LEAD_NS;
  ctl->t_end = ctl->t_start + run->duration_ns;
  ab__res_begin(&run->res_super, RUSAGE_SELF);
  __atomic_store_n(&ctl->go, 1, __ATOMIC_RELEASE);
  ab_futex_wake(&ctl->go, INT_MAX, run->shared);

  for (;;) {
    int64_t now = ab_now_ns();
    if (now >= ctl->t_end || ab_stopped(run))
      break;
    ab__progress(o, run, now, 0);
    int64_t wait = ctl->t_end - now;
    if (wait > 250 * AB_NS_PER_MS)
      wait = 250 * AB_NS_PER_MS;
    struct timespec ts = ab_ts(wait);
    siginfo_t si;
    int s = sigtimedwait(&sigs, &si, &ts);
    if (s == SIGINT || s == SIGTERM || s == SIGHUP) {
      run->interrupted = s;
      break;
    }
    char m[AB_ERRLEN];
    if (run->rt->check(run, m, sizeof m)) {
      ab_run_fail(run, "%s", m);
      break;
    }
  }
  ab__progress(o, run, ab_now_ns(), 1);
  __atomic_store_n(&ctl->stop, 1, __ATOMIC_RELEASE);
  ab_futex_wake(&ctl->stop, INT_MAX, run->shared);
  run->t_run1 = ab_now_ns();
  run->rt->join(run);
  /* The supervisor's own costs (procs: a process of its own, counted in the total). */
  ab__res_end(&run->res_super, RUSAGE_SELF, 1);
  if (!run->error[0]) {
    char m[AB_ERRLEN];
    if (run->rt->check(run, m, sizeof m))
      ab_run_fail(run, "%s", m);
  }
  if (ctl->failed_role_plus1 && run->status != AB_ST_FAILED)
    ab_run_fail(run, "%s", ctl->init_msg[ctl->failed_role_plus1 - 1]);
  if (run->interrupted && run->status == AB_ST_OK)
    run->status = AB_ST_PARTIAL;

  ab__merge(run);
  if (o->sc->finish && run->status != AB_ST_FAILED)
    o->sc->finish(run);
  ab__requirements(run);
  run->t_teardown1 = ab_now_ns();

  if (o->outdir) {
    char tag[96];
    if (run->arch == AB_ARCH_PROCS)
      snprintf(tag, sizeof tag, "%s.procs.%s", o->sc->name, run->transport_name);
    else
      snprintf(tag, sizeof tag, "%s.%s", o->sc->name, ab_arch_name(run->arch));
    snprintf(o->result_path, sizeof o->result_path, "%s/%s.json", o->outdir, tag);
    if ((r = ab_run_result_write(run, o->result_path)) < 0) {
      fprintf(stderr, "archbench: writing %s: %s\n", o->result_path, strerror(-r));
      code = AB_EXIT_RESOURCE;
    }
  }
  if (run->interrupted)
    code = AB_EXIT_INTR;
  else if (run->status == AB_ST_FAILED || run->req_failed)
    code = code ? code : AB_EXIT_FAIL;
  if (run->status == AB_ST_FAILED && !o->quiet)
    fprintf(stderr, "archbench: %s %s: failed: %s\n", o->sc->name, ab_arch_name(run->arch), run->error);

out_teardown:
  ab__teardown(run);
  /* A mock device's child may have raised SIGCHLD; nothing else is pending that matters. */
out_early:
  if (err[0])
    fprintf(stderr, "archbench: %s\n", err);
  {
    struct timespec zero = { 0, 0 };
    siginfo_t si;
    int s;
    while ((s = sigtimedwait(&sigs, &si, &zero)) > 0)
      if ((s == SIGINT || s == SIGTERM || s == SIGHUP) && code == AB_EXIT_OK)
        code = AB_EXIT_INTR;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  munlockall();
  if (o->keep && run->t_run1)
    o->kept = run; /* teardown done; the figures stay */
  else
    ab_run_free(run);
  return code;
}
