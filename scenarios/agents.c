/* agents (seed 001, WORKLOADS.md §3): N agents, each stepping back to back; a step is about
 * 70% CPU and 30% blocking I/O against real local endpoints:
 *
 *  - think: real belief-update work calibrated to `think`: the harness's kernel (matrix-vector
 *    products and a norm, through ab_compute, so a GIL model sees every microsecond of it)
 *    and the agent's own update of its belief state: a transition, an observation's
 *    likelihood, normalisation, and an expected-free-energy score over candidate actions;
 *  - the shared belief cache (--param cache=): `manager`, a PUT and a GET round trip to a
 *    server process per step, as the document's mp.Manager().dict(); `shm`, a seqlocked table
 *    in shared memory; `none`;
 *  - act: a query to the loopback "database" (hw/agentdb.c, its own process, not counted)
 *    answered after `act`, a datagram to a loopback sink, an append to a file. The step sends
 *    the query and waits on its socket (ab_step_wait_fd): a thread or process blocks there,
 *    the event loop multiplexes it with epoll.
 *
 * A coordinator broadcasts a consensus every `period` (fan-out) and gathers the agents'
 * belief summaries (fan-in): coord.latency_ns is, for each summary, the time from the
 * broadcast to the agent's answer, so how long a consensus takes to reach the agents.
 *
 * Figures: agent.steps (cycles completed), agent.cycle_ns (from the end of an agent's previous
 * step, or the start of its first, to the end of this one: the waits for a CPU, the GIL or a
 * pool's worker are in it), and values
 * agents.steps_per_s, agents.efficiency (steps/s against N x the single-agent rate
 * 1/(think+act), the document's definition) and agents.efficiency_machine (against
 * min(N x that rate, CPUs / think), what the machine can give). think there is the CPU a
 * step's thinking took as measured (agent.think_cpu_ns / steps), not the nominal param. The requirement: efficiency
 * against the machine's bound at least `floor` (0.8).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ab.h"
#include "agentdb.h"

enum { R_AGENT, R_COORD, NR };
enum { C_CONS, C_BELIEF, NC };
enum { K_STEPS, K_CACHE_MISS, K_ROUNDS, K_STATE_BAD, K_THINK_CPU, NK };
enum { M_CYCLE, M_COORD, NM };
enum { V_RATE, V_EFF, V_EFF_MACHINE, NV };
enum { CACHE_NONE, CACHE_SHM, CACHE_MANAGER };

#define D 32 /* belief states */
#define K 8  /* candidate actions */

typedef struct { uint64_t round; int64_t t_b; double consensus; } cons_t;
typedef struct { uint64_t round; int64_t t_b, t_reply; uint32_t agent; double entropy; } belief_t;
typedef struct { uint32_t seq; uint32_t pad; double v[AB_DB_VAL / sizeof(double)]; } cache_ent_t;

/* What an agent is: everything a step changes, the state a pool carries with each task
 * (ab_state) and brings back. */
typedef struct {
  uint32_t index;         /* whose it is: a step checks it is its own */
  uint64_t steps, rng;
  double belief[D], pref[D];
  double last_entropy;
  int64_t t_cycle;        /* when the step in flight began */
  int64_t t_last;         /* when its previous step completed (0: none yet) */
  int64_t think_cpu;      /* ... and the CPU its thinking took */
  uint64_t qid;           /* the last query sent */
} agent_state_t;

typedef struct {          /* the instance's own ends, read-only after init */
  int db, sink, file;
} agent_t;

typedef struct {
  ab_db_t db;
  double trans[D][D];     /* the transition model, shared read-only */
  int64_t update_ns;      /* the agent's own update, calibrated */
  int64_t act_ns;         /* one agent's I/O alone, calibrated (calibrate_act) */
  cache_ent_t cache[];    /* cache=shm: one entry per agent */
} shared_t;


/* ---- the belief update (real work) ----------------------------------------------------------- */

static uint64_t xs(uint64_t *s)
{
  *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
  return *s;
}

/* Predict through the transition model, weigh by an observation's likelihood, normalise;
 * then score each candidate action (expected free energy: divergence from the preferences
 * of the belief the action would lead to). Returns the chosen action. */
static int belief_update(agent_state_t *a, const double trans[D][D])
{
  double p[D] = { 0 }, sum = 0;
  int obs = (int)(xs(&a->rng) % D);
  for (int j = 0; j < D; j++)
    for (int i = 0; i < D; i++)
      p[i] += trans[j][i] * a->belief[j];
  for (int i = 0; i < D; i++) {
    p[i] *= i == obs ? 0.6 : 0.4 / (D - 1);
    sum += p[i];
  }
  double h = 0;
  for (int i = 0; i < D; i++) {
    a->belief[i] = sum > 0 ? p[i] / sum : 1.0 / D;
    h -= a->belief[i] > 0 ? a->belief[i] * log(a->belief[i]) : 0;
  }
  a->last_entropy = h;
  int best = 0;
  double best_g = INFINITY;
  for (int k = 0; k < K; k++) {
    double g = 0;
    for (int i = 0; i < D; i++) {
      double q = a->belief[(i + k) % D] + 1e-12;
      g += q * log(q / a->pref[i]);
    }
    if (g < best_g)
      best_g = g, best = k;
  }
  return best;
}

/* ---- an agent ---------------------------------------------------------------------------------- */

static int agent_init(ab_ctx_t *ctx)
{
  shared_t *sh = ab_shared(ctx);
  agent_t *a = calloc(1, sizeof *a);
  agent_state_t *st = ab_state(ctx);
  if (!a)
    return -ENOMEM;
  *ab_priv(ctx) = a;
  st->index = (uint32_t)ab_instance(ctx);
  st->rng = 0x9e3779b97f4a7c15ULL * (st->index + 1);
  for (int i = 0; i < D; i++) {
    st->belief[i] = 1.0 / D;
    st->pref[i] = (1.0 + (double)((i + st->index) % D)) / (D * (D + 1) / 2.0);
  }
  a->sink = a->file = -1;
  /* Failures keep their errno (a read-only /tmp is a missing resource: exit 3). */
  int e = (a->db = ab_db_connect(sh->db.tcp_port, 0)) < 0 ? a->db : (a->sink = ab_db_connect(sh->db.udp_port, 1));
  if (e < 0) {
    ab_fail(ctx, "agent %u: connecting to the database: %s", st->index, strerror(-e));
    return e;
  }
  /* an unnamed file of its own, gone with its last descriptor */
  if ((a->file = open("/tmp", O_TMPFILE | O_WRONLY | O_APPEND | O_CLOEXEC, 0600)) < 0) {
    e = -errno;
    ab_fail(ctx, "agent %u: a file to append to in /tmp: %s", st->index, strerror(-e));
    return e;
  }
  return 0;
}

static void agent_fini(ab_ctx_t *ctx)
{
  agent_t *a = *ab_priv(ctx);
  if (!a)
    return;
  if (a->db >= 0)
    close(a->db);
  if (a->sink >= 0)
    close(a->sink);
  if (a->file >= 0)
    close(a->file);
  free(a);
  *ab_priv(ctx) = NULL;
}

/* The newest consensus, if one came: answer it with this agent's belief summary. */
static void agent_consensus(ab_ctx_t *ctx, const agent_state_t *st)
{
  ab_msg_t m;
  cons_t c = { 0 };
  const cons_t *got;
  while ((got = ab_recv(ctx, C_CONS, &m, NULL))) {
    c = *got;
    ab_recv_done(ctx, C_CONS);
  }
  if (!c.round)
    return;
  belief_t b = { c.round, c.t_b, ab_now_ns(), st->index, st->last_entropy };
  ab_send(ctx, C_BELIEF, &b, sizeof b, 0);
}

/* The shared belief cache: write ours, read a neighbour's. */
static int agent_cache(ab_ctx_t *ctx, const agent_t *a, agent_state_t *st, int how)
{
  shared_t *sh = ab_shared(ctx);
  uint32_t n = (uint32_t)ab_instances(ctx, R_AGENT), next = (st->index + 1) % n;
  if (how == CACHE_SHM) {
    cache_ent_t *e = &sh->cache[st->index], *o = &sh->cache[next];
    __atomic_add_fetch(&e->seq, 1, __ATOMIC_ACQ_REL);
    memcpy(e->v, st->belief, sizeof e->v);
    __atomic_add_fetch(&e->seq, 1, __ATOMIC_RELEASE);
    double v[sizeof o->v / sizeof(double)];
    for (int tries = 0; tries < 100; tries++) {
      uint32_t s0 = __atomic_load_n(&o->seq, __ATOMIC_ACQUIRE);
      memcpy(v, o->v, sizeof v);
      if (!(s0 & 1) && __atomic_load_n(&o->seq, __ATOMIC_ACQUIRE) == s0)
        return 0;
    }
    ab_count(ctx, K_CACHE_MISS, 1);
    return 0;
  }
  if (how != CACHE_MANAGER)
    return 0;
  ab_db_msg_t q = { .op = AB_DB_PUT, .key = st->index % AB_DB_KEYS, .id = ++st->qid };
  memcpy(q.val, st->belief, sizeof q.val);
  ab_block_begin(ctx);
  int r = ab_db_send(a->db, &q);
  if (!r)
    r = ab_db_recv(a->db, &q);
  q = (ab_db_msg_t){ .op = AB_DB_GET, .key = next % AB_DB_KEYS, .id = ++st->qid };
  if (!r)
    r = ab_db_send(a->db, &q);
  if (!r)
    r = ab_db_recv(a->db, &q);
  ab_block_end(ctx);
  return r;
}

/* This thread's CPU time: what a step's thinking really cost, preemption and GIL waits apart
 * (the kernel is calibrated once; the machine's speed moves under it). */
static int64_t thread_cpu_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * AB_NS_PER_S + ts.tv_nsec;
}

/* A state that is not this instance's, or that went back in time, was mixed up or lost on
 * its way (a pool copies it to each step and back). */
static int agent_state_ok(ab_ctx_t *ctx, const agent_state_t *st)
{
  if (st->index == (uint32_t)ab_instance(ctx))
    return 0;
  ab_count(ctx, K_STATE_BAD, 1);
  return ab_fail(ctx, "agent %d: stepped with the state of agent %u", ab_instance(ctx), st->index);
}

static int agent_step(ab_ctx_t *ctx)
{
  shared_t *sh = ab_shared(ctx);
  agent_t *a = *ab_priv(ctx);
  agent_state_t *st = ab_state(ctx);
  if (agent_state_ok(ctx, st) < 0)
    return -EIO;
  st->t_cycle = ab_now_ns();
  agent_consensus(ctx, st);
  int64_t think = (int64_t)ab_ctx_param(ctx, "think"), c0 = thread_cpu_ns();
  ab_compute(ctx, think > sh->update_ns ? think - sh->update_ns : 0);
  belief_update(st, sh->trans);
  st->think_cpu = thread_cpu_ns() - c0; /* counted with the step, once it completes */
  int r = agent_cache(ctx, a, st, (int)ab_ctx_param(ctx, "cache"));
  if (r < 0)
    return r;
  ab_db_msg_t q = { .op = AB_DB_QUERY, .id = ++st->qid, .service_us = (uint32_t)(ab_ctx_param(ctx, "act") / 1e3) };
  ab_block_begin(ctx);
  r = ab_db_send(a->db, &q);
  ab_block_end(ctx);
  return r < 0 ? r : ab_step_wait_fd(ctx, a->db);
}

/* The query's answer is in: send to the sink, append to the file, and the step is done. */
static int agent_io(ab_ctx_t *ctx)
{
  agent_t *a = *ab_priv(ctx);
  agent_state_t *st = ab_state(ctx);
  if (agent_state_ok(ctx, st) < 0)
    return -EIO;
  ab_db_msg_t q;
  char line[96];
  ab_block_begin(ctx);
  int r = ab_db_recv(a->db, &q);
  int n = snprintf(line, sizeof line, "agent %u step %llu entropy %.6f\n", st->index,
                   (unsigned long long)st->steps, st->last_entropy);
  if (!r && send(a->sink, line, (size_t)n, MSG_NOSIGNAL) < 0)
    r = -errno;
  if (!r && write(a->file, line, (size_t)n) != n)
    r = -EIO;
  ab_block_end(ctx);
  if (r < 0)
    return r;
  if (q.id != st->qid)
    return ab_fail(ctx, "agent %u: the database answered query %llu, expected %llu", st->index,
                   (unsigned long long)q.id, (unsigned long long)st->qid);
  st->steps++;
  ab_count(ctx, K_STEPS, 1);
  ab_count(ctx, K_THINK_CPU, st->think_cpu);
  /* From the end of its previous step: whatever kept it from stepping (a CPU, the GIL, a
   * free worker of a pool) is in its cycle. */
  int64_t now = ab_now_ns();
  ab_record(ctx, M_CYCLE, now - (st->t_last ? st->t_last : st->t_cycle));
  st->t_last = now;
  return 0;
}

/* ---- the coordinator ------------------------------------------------------------------------- */

static int coord_step(ab_ctx_t *ctx)
{
  uint64_t *round = *ab_priv(ctx) ? *ab_priv(ctx) : (*ab_priv(ctx) = calloc(1, sizeof(uint64_t)));
  if (!round)
    return -ENOMEM;
  ab_msg_t m;
  const belief_t *b;
  double sum = 0;
  int n = 0;
  while ((b = ab_recv(ctx, C_BELIEF, &m, NULL))) {
    ab_record(ctx, M_COORD, b->t_reply - b->t_b);
    sum += b->entropy;
    n++;
    ab_recv_done(ctx, C_BELIEF);
  }
  cons_t c = { ++*round, ab_now_ns(), n ? sum / n : 0 };
  ab_count(ctx, K_ROUNDS, 1);
  /* A consensus an agent has not taken yet makes room for no newer one: dropped (counted as
   * the channel's drops), the round goes on. */
  int r = ab_send_to(ctx, C_CONS, AB_ALL, &c, sizeof c, 0);
  return r < 0 ? r : 0;
}

static void coord_fini(ab_ctx_t *ctx)
{
  free(*ab_priv(ctx));
  *ab_priv(ctx) = NULL;
}

/* ---- set-up, finish, the descriptor ----------------------------------------------------------- */

static int64_t calibrate_update(const shared_t *sh)
{
  agent_state_t a = { .rng = 1 };
  for (int i = 0; i < D; i++)
    a.belief[i] = a.pref[i] = 1.0 / D;
  int64_t best = INT64_MAX;
  for (int batch = 0; batch < 5; batch++) {
    int64_t t0 = ab_now_ns();
    for (int k = 0; k < 200; k++)
      belief_update(&a, sh->trans);
    int64_t dt = (ab_now_ns() - t0) / 200;
    best = dt < best ? dt : best;
  }
  return best;
}

/* One agent's whole I/O alone, as a step does it (the cache's round trips, a query, the sink,
 * the file), fastest of 9 after five to warm up, plus the query's service time (act): the
 * single-agent rate's I/O part, with what the nominal act leaves out (loopback round trips,
 * wake-ups). */
static int calibrate_act(ab_run_t *run, shared_t *sh)
{
  int db = ab_db_connect(sh->db.tcp_port, 0), sink = ab_db_connect(sh->db.udp_port, 1), r = 0;
  int file = open("/tmp", O_TMPFILE | O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
  double t[9];
  for (int k = -5; k < 9 && db >= 0 && sink >= 0 && file >= 0 && !r; k++) { /* 5 to warm up */
    int64_t t0 = ab_now_ns();
    ab_db_msg_t q = { .op = AB_DB_PUT, .id = 1 };
    if ((int)ab_param(run, "cache") == CACHE_MANAGER) {
      r = ab_db_send(db, &q) < 0 || ab_db_recv(db, &q) < 0;
      q = (ab_db_msg_t){ .op = AB_DB_GET, .id = 2 };
      r = r || ab_db_send(db, &q) < 0 || ab_db_recv(db, &q) < 0;
    }
    q = (ab_db_msg_t){ .op = AB_DB_QUERY, .id = 3, .service_us = 0 }; /* act itself is added below */
    r = r || ab_db_send(db, &q) < 0 || ab_db_recv(db, &q) < 0;
    r = r || send(sink, "calibration\n", 12, MSG_NOSIGNAL) != 12 || write(file, "calibration\n", 12) != 12;
    if (k >= 0)
      t[k] = (double)(ab_now_ns() - t0);
  }
  if (file < 0) {
    r = -errno;
    ab_run_fail(run, "agents: a file to append to in /tmp: %s", strerror(-r));
  } else if (db < 0 || sink < 0) {
    r = db < 0 ? db : sink;
    ab_run_fail(run, "agents: connecting to the database: %s", strerror(-r));
  } else if (r) {
    r = -EIO;
    ab_run_fail(run, "agents: timing one agent's I/O against the database: the exchange failed");
  }
  if (!r) {
    double best = t[0]; /* the fastest: an idle CPU's wake-ups slow the others down */
    for (int i = 1; i < 9; i++)
      best = t[i] < best ? t[i] : best;
    sh->act_ns = (int64_t)best + (int64_t)ab_param(run, "act");
    ab_calib_set(run, "agent.act_ns", (double)sh->act_ns);
  }
  if (db >= 0)
    close(db);
  if (sink >= 0)
    close(sink);
  if (file >= 0)
    close(file);
  return r;
}

static int agents_setup(ab_run_t *run)
{
  int n = ab_run_instances(run, R_AGENT), r;
  shared_t *sh = ab_run_shared(run, sizeof(shared_t) + (size_t)n * sizeof(cache_ent_t));
  if (!sh)
    return -ENOMEM;
  for (int j = 0; j < D; j++) { /* a row-stochastic transition model, the same every run */
    double sum = 0;
    for (int i = 0; i < D; i++)
      sum += sh->trans[j][i] = 1.0 + (double)((i * 7 + j * 13) % 11);
    for (int i = 0; i < D; i++)
      sh->trans[j][i] /= sum;
  }
  sh->update_ns = calibrate_update(sh);
  ab_calib_set(run, "agent.update_ns", (double)sh->update_ns);
  if ((r = ab_run_kernel(run)) < 0 || (r = ab_run_period(run, R_COORD, (int64_t)ab_param(run, "period"))) < 0)
    return r;
  if ((r = ab_db_start(run, &sh->db)) < 0) {
    ab_run_fail(run, "agents: starting the database service: %s", strerror(-r));
    return r;
  }
  return calibrate_act(run, sh);
}

static int agents_finish(ab_run_t *run)
{
  double window = (double)ab_run_window(run) / 1e9, n = ab_run_instances(run, R_AGENT);
  shared_t *sh = ab_run_shared(run, 0);
  double act = (double)sh->act_ns / 1e9, steps = (double)ab_run_counter(run, K_STEPS);
  double cpus = ab_run_ncpus(run);
  if (window <= 0)
    return 0;
  /* Every completed step is in its agent's state too: a state lost on its way (a pool that
   * did not bring it back) counts fewer. */
  int64_t in_states = 0;
  for (int i = 0; i < (int)n; i++) {
    const agent_state_t *st = ab_run_state(run, R_AGENT, i);
    in_states += st ? (int64_t)st->steps : 0;
  }
  if (in_states != (int64_t)steps) {
    ab_run_counter_set(run, K_STATE_BAD, ab_run_counter(run, K_STATE_BAD) + llabs((int64_t)steps - in_states));
    ab_run_fail(run, "agents: %lld steps completed but the agents' states count %lld: state lost on its way",
                (long long)steps, (long long)in_states);
  }
  /* CPU per step as measured (the nominal think when no step completed: a rate of 0 is a
   * figure too, not a missing one) */
  double think = steps > 0 ? (double)ab_run_counter(run, K_THINK_CPU) / 1e9 / steps : ab_param(run, "think") / 1e9;
  double rate = steps / window, ideal = n / (think + act);
  double bound = ideal < cpus / think ? ideal : cpus / think;
  ab_calib_set(run, "agents.think_cpu_s", think);
  ab_run_value_set(run, V_RATE, rate);
  ab_run_value_set(run, V_EFF, rate / ideal);
  ab_run_value_set(run, V_EFF_MACHINE, rate / bound);
  ab_calib_set(run, "agents.single_rate_per_s", 1 / (think + act));
  ab_calib_set(run, "agents.machine_bound_per_s", bound);
  return 0;
}

static const ab_param_desc_t params[] = {
  { "n", AB_P_INT, "10", 1, 1000, NULL, "agents" },
  { "think", AB_P_DURATION, "7ms", 1e5, 1e9, NULL, "CPU per step (belief update)" },
  { "act", AB_P_DURATION, "3ms", 1e5, 1e9, NULL, "blocking I/O per step (the database's service time)" },
  { "cache", AB_P_ENUM, "manager", 0, 0, "none|shm|manager", "the shared belief cache" },
  { "period", AB_P_DURATION, "100ms", 1e7, 1e10, NULL, "the coordinator's round" },
  { "floor", AB_P_DOUBLE, "0.8", 0, 1, NULL, "required steps/s against the machine's bound" },
};

static const ab_role_desc_t roles[NR] = {
  [R_AGENT] = { .name = "agent", .continuous = 1, .trigger = -1, .step = agent_step, .io = agent_io,
                .init = agent_init, .fini = agent_fini, .flags = AB_ROLE_CPU, .instances = "n",
                .state_size = sizeof(agent_state_t) },
  [R_COORD] = { .name = "coord", .period_ns = 100 * AB_NS_PER_MS, .trigger = -1, .step = coord_step,
                .fini = coord_fini, .flags = AB_ROLE_IO },
};

static const ab_chan_desc_t chans[NC] = {
  [C_CONS] = { .name = "consensus", .from = R_COORD, .to = R_AGENT, .msg_max = sizeof(cons_t), .depth = 4,
               .policy = AB_DROP },
  [C_BELIEF] = { .name = "belief", .from = R_AGENT, .to = R_COORD, .msg_max = sizeof(belief_t), .depth = 1024,
                 .policy = AB_DROP },
};

static const char *const counters[NK] = { [K_STEPS] = "agent.steps", [K_CACHE_MISS] = "agent.cache_retries",
                                          [K_ROUNDS] = "coord.rounds", [K_STATE_BAD] = "agent.state_bad",
                                          [K_THINK_CPU] = "agent.think_cpu_ns" };
static const ab_metric_desc_t metrics[NM] = { [M_CYCLE] = { "agent.cycle_ns" }, [M_COORD] = { "coord.latency_ns" } };
static const char *const values[NV] = { [V_RATE] = "agents.steps_per_s", [V_EFF] = "agents.efficiency",
                                        [V_EFF_MACHINE] = "agents.efficiency_machine" };
static const ab_req_desc_t reqs[] = {
  { .name = "agents.efficiency_machine", .op = AB_GE, .limit_param = "floor", .limit_scale = 1.0 },
};

/* WORKLOADS.md §3: the document's numbers, each with what checks it here. */
static const ab_claim_t claims[] = {
  { "gil_efficiency_10", "threads reach 71% efficiency at 10 agents (under the GIL)", 0.71, "ratio",
    "agents.efficiency", "arch=threads gil n=10", AB_ABOUT },
  { "gil_efficiency_30", "threads reach 38% efficiency at 30 agents (under the GIL)", 0.38, "ratio",
    "agents.efficiency", "arch=threads gil n=30" },
  { "gil_efficiency_50", "threads reach 28.4% efficiency at 50 agents (under the GIL)", 0.284, "ratio",
    "agents.efficiency", "arch=threads gil n=50" },
  { "mem_per_thread", "an agent thread costs about 2 MB", 2, "MB", "pss_mb_per:agent", "arch=threads" },
  { "mem_per_process", "an agent process costs about 50 MB (with its interpreter)", 50, "MB", "pss_mb_per:agent",
    "arch=procs" },
  { "shared_access", "shared data is reached in 0.1 us", 0.1, "us", "micro:reg/threads/oneway/8", "" },
  { "thread_queue", "a thread queue costs 1 us", 1, "us", "micro:chan-ring/threads/oneway/8", "" },
  { "process_queue", "a process queue costs 100 us", 100, "us", "micro:mq/procs/oneway/8", "" },
  { "shared_memory", "shared memory costs 10 us", 10, "us", "micro:chan-shm/procs/oneway/8", "" },
  { "hybrid_speedup", "the hybrid gives 3-4x the throughput of threads (under the GIL)", 3, "x",
    "ratio_to:threads:agents.steps_per_s", "arch=hybrid gil", AB_RANGE, 4 },
};

const ab_scenario_t ab_scenario_agents = {
  .name = "agents",
  .source = "seeds/001_a54357a6fa252976.txt",
  .summary = "N agents stepping back to back: think (real belief updates) then act (database, sink, file)",
  .roles = roles, .nroles = NR,
  .chans = chans, .nchans = NC,
  .counters = counters, .ncounters = NK,
  .metrics = metrics, .nmetrics = NM,
  .values = values, .nvalues = NV,
  .reqs = reqs, .nreqs = 1,
  .claims = claims, .nclaims = sizeof claims / sizeof claims[0],
  .params = params, .nparams = sizeof params / sizeof params[0],
  .setup = agents_setup,
  .finish = agents_finish,
  .archs = AB_ARCHS_ALL,
  .table_chain = "agent.cycle_ns",
  .table_rate = "agents.steps_per_s",
  .table_count = "agent.steps",
  .bench = { .sweep = "n=1,10,50", .gil_too = 1, .transports = "shm", .duration_ns = 3 * AB_NS_PER_S / 2 },
};
