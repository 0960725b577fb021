/* franka (seed 004): a 1 kHz control loop that must never be starved, beside a policy.
 *
 * The robot (hw/franka.h) sends its state every 1 ms over UDP and judges, on its own clock,
 * whether each state was answered before the next was due; a late or missing answer is a
 * violation, and the robot's reflex refuses commands for a while after it. Two roles:
 *
 *   control  woken by each state packet: a joint-impedance command on the 7 joints (a real
 *            PD law towards the policy's target, plus `control` of calibrated work for the
 *            dynamics model a real controller evaluates), sent with the state's seq; it asks
 *            the policy for a new target at `policy_hz`. Woken too by the policy's answers.
 *   policy   a model's forward pass per request: an optional cold file read (`read` bytes,
 *            the page cache dropped first), an optional blocking sleep (`sleep`), then
 *            `policy` of compute, of which `policy_gil` holds the GIL (the rest runs in C
 *            without it); or, GPU-like, `launches` short kernel launches of `launch_gil` each
 *            holding the GIL, the GPU's share waited without it.
 *
 * The document's variants are the runtimes' (DESIGN.md), not copies of this file: inline,
 * executor, thread and process are the loop runtime's --offload (the policy on the loop, in
 * a pool of threads, on its own thread, in a child behind pipes), server is procs/shm (the
 * control loop in a process of its own, the policy in another, through shared memory), and
 * threads is every role on a thread of its own. Each with --gil on or off.
 *
 * Device-side truth: violations, reflexes and response times are the robot's count, never
 * the controller's; the controller's own view (control.violations) is kept beside it so that
 * a stall can be seen by both.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ab.h"
#include "franka.h"

enum { R_CONTROL, R_POLICY, NR };
enum { CH_REQ, CH_ACT, NC };
enum { D_ROBOT };
enum { M_WAKE, M_RESPONSE, M_COMPUTE, M_RTT, M_OVERHEAD, NM };
enum {
  K_ANSWERED, K_STALE, K_CTL_VIOL, K_REQS, K_RESULTS, K_BAD, K_UNCHECKED, /* the controller's */
  K_R_STATES, K_R_ONTIME, K_R_VIOL, K_R_LATE, K_R_MISSED, K_R_REFLEX, K_R_REFUSED, K_R_INREFLEX, K_R_BAD, K_R_UNJUDGED, NK
};
enum { V_RESP_P50, V_RESP_P99, V_RESP_P999, V_RESP_MAX, V_SEND_LATE, V_ALONE, V_INFL, V_STEP_INFL, V_RTT_FRAC, V_OVERHEAD, V_GIL_P999, NV };

#define NJ AB_FK_JOINTS
#define OUTSTANDING 1024 /* requests remembered for checking their answers */

typedef struct req {
  uint64_t id;
  double q[NJ];
} req_t;

typedef struct act {
  uint64_t id;
  double target[NJ];
  double check;
  int64_t step_ns; /* the policy's own time for it, request taken -> answer sent */
} act_t;

typedef struct cfg { /* from the params, in set-up; read by every role (shared memory) */
  int64_t period, control_ns, policy_ns, sleep_ns, launch_gil_ns, req_every_ns, read_bytes;
  int launches;
  double policy_gil;
  int read_fd;
} cfg_t;

typedef struct ctl {
  double qd[NJ];
  int have_target;
  uint64_t next_id;
  int64_t next_req;
  req_t sent[OUTSTANDING]; /* by id % OUTSTANDING */
  double sink;             /* the calibrated work's checksum, kept */
} ctl_t;

/* ---- the policy's answer: a pure function of the request, so the control can check it -- */

static void policy_answer(const req_t *q, act_t *a)
{
  memset(a, 0, sizeof *a);
  a->id = q->id;
  for (int j = 0; j < NJ; j++)
    a->target[j] = q->q[j] + 0.05 * sin(1e-3 * (double)q->id + j);
  a->check = (double)((q->id * 2654435761u) % 1000003u);
}

/* 1: the answer to its request; 0: a wrong one; -1: to a request too old to be remembered
 * (a slow policy's, over OUTSTANDING requests late: not checked, and not called wrong). */
static int answer_ok(const ctl_t *c, const act_t *a)
{
  const req_t *q = &c->sent[a->id % OUTSTANDING];
  if (a->id && a->id < c->next_id && c->next_id - a->id >= OUTSTANDING)
    return -1;
  if (q->id != a->id || a->id == 0)
    return 0;
  act_t want;
  policy_answer(q, &want);
  want.step_ns = a->step_ns; /* not the answer: how long it took */
  return !memcmp(&want, a, sizeof want);
}

/* ---- the policy ----------------------------------------------------------------------- */

/* `bytes` of the file, its page cache dropped first: a cold read from the disk. */
static int cold_read(int fd, int64_t bytes, char *buf, size_t cap)
{
  posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  for (int64_t off = 0; off < bytes;) {
    size_t n = (size_t)(bytes - off) < cap ? (size_t)(bytes - off) : cap;
    ssize_t got = pread(fd, buf, n, off);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return got < 0 ? -errno : -EIO;
    off += got;
  }
  return 0;
}

/* The forward pass. ctx NULL: alone in set-up, with no runtime around it. */
static void forward(ab_ctx_t *ctx, const cfg_t *g, const ab_kernel_t *k)
{
  if (g->launches > 1) { /* GPU-like: each launch holds the GIL, the GPU's time does not */
    int64_t gpu = (g->policy_ns - g->launches * g->launch_gil_ns) / g->launches;
    for (int i = 0; i < g->launches; i++) {
      if (ctx)
        ab_compute(ctx, g->launch_gil_ns), ab_sleep(ctx, gpu);
      else
        ab_compute_ns(k, g->launch_gil_ns), nanosleep(&(struct timespec){ 0, gpu }, NULL);
    }
    return;
  }
  int64_t held = (int64_t)llround((double)g->policy_ns * g->policy_gil), free_ns = g->policy_ns - held;
  if (!ctx) {
    ab_compute_ns(k, g->policy_ns);
    return;
  }
  if (held > 0)
    ab_compute(ctx, held);
  if (free_ns > 0)
    ab_compute_nogil(ctx, free_ns);
}

enum { READ_BUF = 1 << 20 };

static int policy_init(ab_ctx_t *ctx)
{
  const cfg_t *g = ab_shared(ctx);
  if (g->read_bytes && !(*ab_priv(ctx) = malloc(READ_BUF)))
    return -ENOMEM;
  return 0;
}

static void policy_fini(ab_ctx_t *ctx)
{
  free(*ab_priv(ctx));
  *ab_priv(ctx) = NULL;
}

static int policy_step(ab_ctx_t *ctx)
{
  const cfg_t *g = ab_shared(ctx);
  ab_msg_t m;
  int err;
  const req_t *in = ab_recv(ctx, CH_REQ, &m, &err);
  if (!in)
    return err == -EAGAIN ? 0 : err;
  req_t q = *in;
  int64_t t0 = ab_now_ns();
  ab_recv_done(ctx, CH_REQ);
  if (g->read_bytes) {
    ab_block_begin(ctx);
    int r = cold_read(g->read_fd, g->read_bytes, *ab_priv(ctx), READ_BUF);
    ab_block_end(ctx);
    if (r < 0)
      return ab_fail(ctx, "policy: reading %lld bytes of its model file: %s", (long long)g->read_bytes, strerror(-r));
  }
  if (g->sleep_ns)
    ab_sleep(ctx, g->sleep_ns);
  forward(ctx, g, NULL);
  act_t a;
  policy_answer(&q, &a);
  a.step_ns = ab_now_ns() - t0;
  int r = ab_send(ctx, CH_ACT, &a, sizeof a, m.t_chain); /* the request's time rides back */
  return r < 0 ? r : 0;
}

/* ---- the control loop ------------------------------------------------------------------- */

static int control_init(ab_ctx_t *ctx)
{
  ctl_t *c = calloc(1, sizeof *c);
  if (!c)
    return -ENOMEM;
  *ab_priv(ctx) = c;
  return 0;
}

static void control_fini(ab_ctx_t *ctx)
{
  free(*ab_priv(ctx));
  *ab_priv(ctx) = NULL;
}

/* Joint impedance: tau = K (q_d - q) - D dq, the stiffness per joint as a Panda's defaults. */
static void impedance(const ctl_t *c, const ab_franka_state_t *s, double tau[NJ])
{
  static const double K[NJ] = { 600, 600, 600, 600, 250, 150, 50 }, D[NJ] = { 50, 50, 50, 20, 20, 20, 10 };
  for (int j = 0; j < NJ; j++)
    tau[j] = K[j] * ((c->have_target ? c->qd[j] : s->q[j]) - s->q[j]) - D[j] * s->dq[j];
}

/* Each state that came in: answered in order, the command computed once for the newest.
 * Every one older than the newest is stale (the loop woke late): answered all the same,
 * since only the robot knows whether it still counts. */
static int control_io(ab_ctx_t *ctx)
{
  ctl_t *c = *ab_priv(ctx);
  const cfg_t *g = ab_shared(ctx);
  int64_t t_wake = ab_now_ns();
  ab_franka_state_t st[8];
  int n = 0, r;
  while (n < 8 && (r = ab_franka_recv_state(ctx, &st[n])) == 1)
    n++;
  if (r < 0)
    return r;
  if (!n)
    return 0;
  const ab_franka_state_t *s = &st[n - 1];
  for (int i = 0; i < n; i++) /* each state's: a late wake-up shows in the oldest's */
    ab_record(ctx, M_WAKE, t_wake - st[i].t_sent);
  double tau[NJ];
  impedance(c, s, tau);
  if (g->control_ns)
    c->sink += ab_compute(ctx, g->control_ns); /* the dynamics model's cost */
  /* Every state answered, the stale ones too, each timed as its command is handed to the
   * kernel: the robot's clock is the kernel's arrival stamp, taken inside the send, so a
   * controller preempted on the way out of sendto (by the robot it has just woken, or by
   * anyone) would otherwise see itself late where the robot, rightly, did not. */
  int64_t t_sent = 0;
  for (int i = 0; i < n; i++) {
    t_sent = ab_now_ns();
    ab_record(ctx, M_RESPONSE, t_sent - st[i].t_sent);
    ab_count(ctx, K_CTL_VIOL, t_sent > st[i].t_sent + g->period); /* the controller's own view */
    if ((r = ab_franka_send_cmd(ctx, st[i].seq, tau)) < 0)
      return r;
  }
  ab_record(ctx, M_COMPUTE, t_sent - t_wake);
  ab_count(ctx, K_ANSWERED, n);
  ab_count(ctx, K_STALE, n - 1);
  if (g->req_every_ns && t_sent >= c->next_req) { /* a new target, at policy_hz; never a burst to catch up */
    req_t q = { .id = ++c->next_id };
    memcpy(q.q, s->q, sizeof q.q);
    c->sent[q.id % OUTSTANDING] = q;
    ab_count(ctx, K_REQS, 1);
    if ((r = ab_send(ctx, CH_REQ, &q, sizeof q, 0)) < 0)
      return r;
    c->next_req = (c->next_req ? c->next_req : t_sent) + g->req_every_ns;
    if (c->next_req < t_sent)
      c->next_req = t_sent + g->req_every_ns;
  }
  return 0;
}

/* The policy's answer: its round trip (request -> answer in the control's hands) and its
 * check against the request it answers. */
static int control_step(ab_ctx_t *ctx)
{
  ctl_t *c = *ab_priv(ctx);
  ab_msg_t m;
  int err;
  const act_t *a = ab_recv(ctx, CH_ACT, &m, &err);
  if (!a)
    return err == -EAGAIN ? 0 : err;
  int64_t rtt = ab_now_ns() - m.t_chain;
  ab_record(ctx, M_RTT, rtt);
  int ok = m.len == sizeof *a ? answer_ok(c, a) : 0;
  if (ok > 0) /* what the round trip cost beyond this very step: queues, wake-ups, the GIL */
    ab_record(ctx, M_OVERHEAD, rtt - a->step_ns);
  if (ok < 0) {
    ab_count(ctx, K_UNCHECKED, 1);
  } else if (!ok) {
    ab_count(ctx, K_BAD, 1);
  } else {
    ab_count(ctx, K_RESULTS, 1);
    memcpy(c->qd, a->target, sizeof c->qd);
    c->have_target = 1;
  }
  ab_recv_done(ctx, CH_ACT);
  return 0;
}

/* ---- set-up and finish ------------------------------------------------------------------ */

/* The model file the policy reads: a real file on disk, unlinked at once (nothing is left
 * behind, whatever happens to the run), its pages written back so that they can be dropped. */
static int model_file(ab_run_t *run, cfg_t *g)
{
  const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
  char path[512];
  snprintf(path, sizeof path, "%s/archbench-franka-XXXXXX", dir);
  int fd = mkstemp(path);
  if (fd < 0) {
    ab_run_fail(run, "franka: a %lld-byte model file in %s: %s", (long long)g->read_bytes, dir, strerror(errno));
    return -errno;
  }
  unlink(path);
  char *buf = calloc(1, READ_BUF);
  int r = buf ? 0 : -ENOMEM;
  for (int64_t off = 0; !r && off < g->read_bytes;) {
    size_t n = (size_t)(g->read_bytes - off) < READ_BUF ? (size_t)(g->read_bytes - off) : READ_BUF;
    for (size_t i = 0; i < n; i += 4096)
      buf[i] = (char)(off + i);
    ssize_t w = pwrite(fd, buf, n, off);
    r = w > 0 ? 0 : -errno;
    off += w > 0 ? w : 0;
  }
  if (!r && fdatasync(fd) < 0)
    r = -errno;
  if (r < 0) {
    free(buf), close(fd);
    ab_run_fail(run, "franka: writing its %lld-byte model file in %s: %s", (long long)g->read_bytes, dir, strerror(-r));
    return r;
  }
  /* Cold against warm, so the result shows whether dropping the cache took (tmpfs: no). */
  int64_t t0 = ab_now_ns();
  cold_read(fd, g->read_bytes, buf, READ_BUF);
  int64_t t1 = ab_now_ns();
  for (int64_t off = 0; off < g->read_bytes; off += READ_BUF)
    if (pread(fd, buf, READ_BUF, off) < 0)
      break;
  ab_calib_set(run, "policy.read_cold_ns", (double)(t1 - t0));
  ab_calib_set(run, "policy.read_warm_ns", (double)(ab_now_ns() - t1));
  free(buf);
  g->read_fd = fd;
  return 0;
}

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* The policy's step alone, in the supervisor before anything runs: its read, sleep and
 * compute with nothing to contend with. Its median is what inflation is measured against. */
static void policy_alone(ab_run_t *run, const cfg_t *g, const char *key)
{
  enum { MAXK = 25 };
  int64_t t[MAXK], per = g->policy_ns + g->sleep_ns + 1;
  int k = (int)(200 * AB_NS_PER_MS / per);
  k = k < 5 ? 5 : k > MAXK ? MAXK : k;
  char *buf = g->read_bytes ? malloc(READ_BUF) : NULL;
  for (int i = 0; i < k; i++) {
    int64_t t0 = ab_now_ns();
    if (buf)
      cold_read(g->read_fd, g->read_bytes, buf, READ_BUF);
    if (g->sleep_ns)
      nanosleep(&(struct timespec){ g->sleep_ns / AB_NS_PER_S, g->sleep_ns % AB_NS_PER_S }, NULL);
    forward(NULL, g, ab_run_kernel_of(run));
    t[i] = ab_now_ns() - t0;
  }
  free(buf);
  qsort(t, k, sizeof t[0], cmp_i64);
  ab_calib_set(run, key, (double)t[k / 2]);
  ab_calib_set(run, "policy.alone_runs", k);
}

static int franka_setup(ab_run_t *run)
{
  int r;
  if ((r = ab_run_kernel(run)) < 0)
    return r;
  cfg_t *g = ab_run_shared(run, sizeof *g);
  if (!g)
    return -ENOMEM;
  g->period = (int64_t)ab_param(run, "period");
  g->control_ns = (int64_t)ab_param(run, "control");
  g->policy_ns = (int64_t)ab_param(run, "policy");
  g->sleep_ns = (int64_t)ab_param(run, "sleep");
  g->read_bytes = (int64_t)ab_param(run, "read");
  g->policy_gil = ab_param(run, "policy_gil");
  g->launches = (int)ab_param(run, "launches");
  g->launch_gil_ns = (int64_t)ab_param(run, "launch_gil");
  double hz = ab_param(run, "policy_hz");
  if (hz > 0 && hz < 0.01) { /* 1e9 / hz would not fit a period */
    ab_run_fail(run, "franka: policy_hz=%g: expected 0 (no policy: the loop's floor) or 0.01 to 1000", hz);
    return -EINVAL;
  }
  g->req_every_ns = hz > 0 ? (int64_t)llround(1e9 / hz) : 0; /* 0: the policy off, the loop's floor */
  g->read_fd = -1;
  if (g->launches > 1 && (int64_t)g->launches * g->launch_gil_ns > g->policy_ns) {
    ab_run_fail(run, "franka: launches=%d of launch_gil=%lld ns each hold the GIL longer than the whole step "
                "(policy=%lld ns); expected launches * launch_gil <= policy", g->launches, (long long)g->launch_gil_ns,
                (long long)g->policy_ns);
    return -EINVAL;
  }
  if (g->control_ns >= g->period) {
    ab_run_fail(run, "franka: control=%lld ns is not below the robot's period=%lld ns: every state would be late",
                (long long)g->control_ns, (long long)g->period);
    return -EINVAL;
  }
  if (ab_franka_config(ab_run_dev(run, D_ROBOT), g->period, ab_run_duration(run), (int)ab_param(run, "reflex_after"),
                       (int64_t)ab_param(run, "reflex_reset")) < 0) {
    ab_run_fail(run, "franka: the robot refused period=%lld ns, reflex_after=%d, reflex_reset=%lld ns",
                (long long)g->period, (int)ab_param(run, "reflex_after"), (long long)ab_param(run, "reflex_reset"));
    return -EINVAL;
  }
  if (g->read_bytes && (r = model_file(run, g)) < 0)
    return r;
  ab_calib_set(run, "policy.gil_share", g->launches > 1 ? (double)g->launches * g->launch_gil_ns / g->policy_ns
                                                         : g->policy_gil);
  if (g->req_every_ns)
    policy_alone(run, g, "policy.alone_ns");
  return 0;
}

static int franka_finish(ab_run_t *run)
{
  cfg_t *g = ab_run_shared(run, sizeof *g);
  ab_franka_stats_t s;
  int r = ab_franka_stats(ab_run_dev(run, D_ROBOT), ab_run_end_time(run), &s);
  if (r < 0 && r != -ETIMEDOUT) {
    if (g->read_fd >= 0)
      close(g->read_fd), g->read_fd = -1;
    ab_run_fail(run, "franka: the robot's account: %s", strerror(-r));
    return r;
  }
  const uint64_t k[] = { [K_R_STATES] = s.states, [K_R_ONTIME] = s.on_time, [K_R_VIOL] = s.violations, [K_R_LATE] = s.late,
                         [K_R_MISSED] = s.missed, [K_R_REFLEX] = s.reflexes, [K_R_REFUSED] = s.refused,
                         [K_R_INREFLEX] = s.in_reflex, [K_R_BAD] = s.bad + s.duplicate, [K_R_UNJUDGED] = s.unjudged };
  for (int c = K_R_STATES; c < NK; c++)
    ab_run_counter_set(run, c, (int64_t)k[c]);
  if (s.on_time + s.late) {
    ab_run_value_set(run, V_RESP_P50, s.resp_p50 / 1e3);
    ab_run_value_set(run, V_RESP_P99, s.resp_p99 / 1e3);
    ab_run_value_set(run, V_RESP_P999, s.resp_p999 / 1e3);
    ab_run_value_set(run, V_RESP_MAX, s.resp_max / 1e3);
  }
  ab_run_value_set(run, V_SEND_LATE, s.send_late_p99 / 1e3);
  ab_calib_set(run, "robot.sched_fifo", s.sched_fifo);
  /* The step alone, again after the run: calibrated work drifts on a shared machine, so the
   * run is judged against the two sittings' geometric mean, and their ratio is kept. */
  double before = ab_run_calib(run, "policy.alone_ns"), alone = 0, rtt = 0, step = 0, gil = 0, ov = 0;
  if (g->req_every_ns && before > 0) {
    policy_alone(run, g, "policy.alone_after_ns");
    double after = ab_run_calib(run, "policy.alone_after_ns");
    alone = after > 0 ? sqrt(before * after) : before;
    ab_calib_set(run, "policy.alone_drift", after / before);
    ab_run_value_set(run, V_ALONE, alone / 1e6);
  }
  if (g->read_fd >= 0)
    close(g->read_fd), g->read_fd = -1;
  if (ab_run_figure(run, "policy.rtt_ns.p50", &rtt) == 0 && alone > 0)
    ab_run_value_set(run, V_INFL, rtt / alone);
  if (ab_run_figure(run, "policy.overhead_ns.p50", &ov) == 0) /* per answer: its round trip less its step */
    ab_run_value_set(run, V_OVERHEAD, ov / 1e3);
  /* --gil: how long a wake of the loop waits for it (the loop runtime's wake takes; elsewhere
   * every take, the role's own thread or process waking from its waits) */
  if (ab_run_figure(run, "control.gil_wake_ns.p999", &gil) == 0 || ab_run_figure(run, "control.gil_wait_ns.p999", &gil) == 0)
    ab_run_value_set(run, V_GIL_P999, gil / 1e3);
  if (ab_run_figure(run, "policy.step_ns.p50", &step) == 0 && alone > 0)
    ab_run_value_set(run, V_STEP_INFL, step / alone);
  double p99;
  if (g->req_every_ns && ab_run_figure(run, "policy.rtt_ns.p99", &p99) == 0)
    ab_run_value_set(run, V_RTT_FRAC, p99 / g->req_every_ns);
  else if (!g->req_every_ns) /* the policy off (the floor): no request, so none overran its period */
    ab_run_value_set(run, V_RTT_FRAC, 0);
  if (r == -ETIMEDOUT)
    ab_run_fail(run, "franka: the robot judged only part of the run's states (%llu left unjudged)",
                (unsigned long long)s.unjudged);
  return 0;
}

/* ---- the descriptor ------------------------------------------------------------------------ */

static const ab_param_desc_t params[] = {
  { "policy", AB_P_DURATION, "2ms", 0, 1e9, NULL, "the policy's forward pass (compute)" },
  { "policy_hz", AB_P_DOUBLE, "30", 0, 1000, NULL, "policy requests per second (0: the policy off)" },
  { "policy_gil", AB_P_DOUBLE, "1", 0, 1, NULL, "share of the forward pass holding the GIL (1: Python CPU work)" },
  { "launches", AB_P_INT, "1", 1, 10000, NULL, "GPU-like: kernel launches per pass, each holding the GIL" },
  { "launch_gil", AB_P_DURATION, "20us", 0, 1e8, NULL, "GPU-like: each launch's time holding the GIL" },
  { "read", AB_P_SIZE, "0", 0, 1 << 30, NULL, "a blocking cold read of this much of a file per pass (e.g. 2MB)" },
  { "sleep", AB_P_DURATION, "0", 0, 1e9, NULL, "a blocking sleep per pass (time.sleep)" },
  { "control", AB_P_DURATION, "30us", 0, 1e8, NULL, "the control law's calibrated work per state" },
  { "period", AB_P_DURATION, "1ms", 1e5, 1e8, NULL, "the robot's state period (1 kHz)" },
  { "reflex_after", AB_P_INT, "1", 1, 1e9, NULL, "consecutive violations before the robot's reflex" },
  { "reflex_reset", AB_P_DURATION, "100ms", 0, 6e10, NULL, "how long the reflex refuses commands" },
};

static const ab_role_desc_t roles[NR] = {
  [R_CONTROL] = { .name = "control", .trigger = CH_ACT, .on_device = 1, .init = control_init, .step = control_step,
                  .io = control_io, .fini = control_fini, .flags = AB_ROLE_IO },
  [R_POLICY] = { .name = "policy", .trigger = CH_REQ, .init = policy_init, .step = policy_step, .fini = policy_fini,
                 .flags = AB_ROLE_CPU },
};

static const ab_chan_desc_t chans[NC] = {
  [CH_REQ] = { .name = "request", .from = R_CONTROL, .to = R_POLICY, .msg_max = sizeof(req_t), .depth = 4,
               .policy = AB_DROP },
  [CH_ACT] = { .name = "action", .from = R_POLICY, .to = R_CONTROL, .msg_max = sizeof(act_t), .depth = 4,
               .policy = AB_DROP },
};

static const ab_dev_desc_t devs[] = { [D_ROBOT] = { .name = "robot", .kind = AB_DEV_FRANKA, .owner = R_CONTROL } };

static const ab_metric_desc_t metrics[NM] = {
  [M_WAKE] = { "control.wake_ns" },         /* the state's send -> the loop woke for it */
  [M_RESPONSE] = { "control.response_ns" }, /* the state's send -> its command sent */
  [M_COMPUTE] = { "control.compute_ns" },   /* woke -> command sent: the loop's own cost */
  [M_RTT] = { "policy.rtt_ns" },            /* request -> its answer in the control's hands */
  [M_OVERHEAD] = { "policy.overhead_ns" },  /* ... minus that answer's own step time */
};

static const char *const counters[NK] = {
  [K_ANSWERED] = "control.answered", [K_STALE] = "control.stale", [K_CTL_VIOL] = "control.violations",
  [K_REQS] = "policy.requests", [K_RESULTS] = "policy.results", [K_BAD] = "policy.bad", [K_UNCHECKED] = "policy.unchecked",
  [K_R_STATES] = "robot.states", [K_R_ONTIME] = "robot.on_time", [K_R_VIOL] = "robot.violations", [K_R_LATE] = "robot.late",
  [K_R_MISSED] = "robot.missed", [K_R_REFLEX] = "robot.reflexes", [K_R_REFUSED] = "robot.refused",
  [K_R_INREFLEX] = "robot.in_reflex", [K_R_BAD] = "robot.bad", [K_R_UNJUDGED] = "robot.unjudged",
};

static const char *const values[NV] = {
  [V_RESP_P50] = "robot.response_p50_us", [V_RESP_P99] = "robot.response_p99_us",
  [V_RESP_P999] = "robot.response_p999_us",
  [V_RESP_MAX] = "robot.response_max_us", [V_SEND_LATE] = "robot.send_late_p99_us",
  [V_ALONE] = "policy.alone_ms", [V_INFL] = "policy.inflation", [V_STEP_INFL] = "policy.step_inflation",
  [V_RTT_FRAC] = "policy.rtt_p99_over_period", [V_OVERHEAD] = "policy.overhead_us",
  [V_GIL_P999] = "control.gil_wait_p999_us",
};

static const ab_req_desc_t reqs[] = {
  { .name = "robot.violations", .op = AB_LE, .limit = 0 },
  { .name = "policy.rtt_p99_over_period", .op = AB_LT, .limit = 1 },
  { .name = "policy.bad", .op = AB_LE, .limit = 0 },
};

/* WORKLOADS.md §2: the document's statements, each with what checks it here. */
static const ab_claim_t claims[] = {
  { "franka_inline_1ms", "anything synchronous over about 1 ms on the event loop starves the 1 kHz loop", 1,
    "count", "robot.violations", "arch=loop offload=inline policy=2ms", AB_AT_LEAST },
  { "franka_inline_sleep", "even time.sleep(0.002) on the loop causes a violation", 1, "count", "robot.violations",
    "arch=loop offload=inline sleep=2ms policy=0", AB_AT_LEAST },
  { "franka_inline_under_2ms", "a policy under about 2 ms may be called inline", 0, "count", "robot.violations",
    "arch=loop offload=inline policy=1ms", AB_AT_MOST },
  { "franka_executor_inflation", "under the GIL, a thread-pool executor inflates a 1 ms policy step about 40x (to 50 ms+)",
    40, "x", "policy.inflation", "arch=loop offload=executor gil policy=1ms", AB_AT_LEAST },
  { "franka_thread_queue_only", "a dedicated inference thread costs only a queue round trip (under the GIL)", 100,
    "us", "policy.overhead_us", "arch=loop offload=thread gil", AB_AT_MOST },
  /* "Removes the contention": the control loop's waits for the GIL stay under a tenth of its
   * period at p99.9 (a thread or an executor beside it: over 1 ms; its own process: ~1 us).
   * Violations are no test of it: this machine's floor is not 0 (README, franka). */
  { "franka_process_removes", "a separate process (mpify) removes the GIL contention (loop's GIL wait p99.9 < 0.1 period)",
    100, "us", "control.gil_wait_p999_us", "arch=loop offload=process gil", AB_AT_MOST },
  { "franka_server_removes", "the control loop in its own process (server mode) removes the contention (same bound)", 100,
    "us", "control.gil_wait_p999_us", "arch=procs gil", AB_AT_MOST },
};

const ab_scenario_t ab_scenario_franka = {
  .name = "franka",
  .source = "seeds/004_75bfef391b2a304f.txt",
  .summary = "a 1 kHz robot control loop over UDP beside a policy: the robot counts every late answer",
  .roles = roles, .nroles = NR,
  .chans = chans, .nchans = NC,
  .devs = devs, .ndevs = 1,
  .metrics = metrics, .nmetrics = NM,
  .counters = counters, .ncounters = NK,
  .values = values, .nvalues = NV,
  .reqs = reqs, .nreqs = sizeof reqs / sizeof reqs[0],
  .claims = claims, .nclaims = sizeof claims / sizeof claims[0],
  .params = params, .nparams = sizeof params / sizeof params[0],
  .setup = franka_setup,
  .finish = franka_finish,
  .archs = AB_ARCHS_DEDICATED,
  .offloads = "inline,executor,thread,process",
  .table_chain = "control.response_ns",
  .table_chain_lost = "robot.violations",
  .sweep_figure = "robot.violations",
  .bench = { .gil_too = 1, .transports = "shm", .duration_ns = 3 * AB_NS_PER_S / 2 },
};
