/* Role instances: a source broadcasts to N worker instances (fan-out, a queue each), every
 * worker computes and answers one sink (fan-in, its senders taking turns), and every figure
 * adds up: each worker saw every round, the sink got every answer whole, the instances'
 * sparse metrics merge to the role's counts, the result says how many instances and what
 * the harness held for them. 1,000 instances under threads and under procs over shm. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "result.h"
#include "test.h"

enum { R_SRC, R_WORKER, R_SINK, NR };
enum { C_OUT, C_IN, NC };
enum { K_GOT, K_SUNK, K_BAD, NK };
enum { M_ROUND };

typedef struct answer {
  uint64_t magic, inst, round, check;
} answer_t;

#define MAGIC 0x616e737765720a00ull
static uint64_t check_of(uint64_t inst, uint64_t round) { return (inst * 2654435761u) ^ (round << 20) ^ MAGIC; }

static int src_step(ab_ctx_t *ctx)
{
  int64_t round = ab_intended(ctx); /* the workers answer with the queue's sequence number */
  int r = ab_send_to(ctx, C_OUT, AB_ALL, &round, sizeof round, 0);
  return r < 0 ? r : 0;
}

/* The bytes after the answer, each a function of its check word and place: a message torn or
 * interleaved with another sender's cannot pass. */
static void fill_pad(answer_t *a, size_t pad)
{
  uint8_t *p = (uint8_t *)(a + 1);
  for (size_t i = 0; i < pad; i++)
    p[i] = (uint8_t)(a->check + i * 31);
}

static int pad_ok(const answer_t *a, size_t pad)
{
  const uint8_t *p = (const uint8_t *)(a + 1);
  for (size_t i = 0; i < pad; i++)
    if (p[i] != (uint8_t)(a->check + i * 31))
      return 0;
  return 1;
}

static int worker_step(ab_ctx_t *ctx)
{
  ab_msg_t m;
  int err;
  const uint64_t *round = ab_recv(ctx, C_OUT, &m, &err);
  if (!round)
    return 0;
  ab_count(ctx, K_GOT, 1);
  ab_record(ctx, M_ROUND, (int64_t)m.seq);
  ab_compute(ctx, 2 * AB_NS_PER_US);
  uint64_t inst = (uint64_t)ab_instance(ctx);
  size_t pad = (size_t)ab_ctx_param(ctx, "pad");
  answer_t *a = *ab_priv(ctx);
  *a = (answer_t){ MAGIC, inst, m.seq, check_of(inst, m.seq) };
  fill_pad(a, pad);
  ab_recv_done(ctx, C_OUT);
  int r = ab_send(ctx, C_IN, a, sizeof *a + pad, m.t_sent);
  return r == -ECANCELED ? 0 : r;
}

static int worker_init(ab_ctx_t *ctx)
{
  *ab_priv(ctx) = malloc(sizeof(answer_t) + (size_t)ab_ctx_param(ctx, "pad"));
  return *ab_priv(ctx) ? 0 : -ENOMEM;
}

static void worker_fini(ab_ctx_t *ctx) { free(*ab_priv(ctx)); }

static int sink_step(ab_ctx_t *ctx)
{
  ab_msg_t m;
  int err;
  const answer_t *a = ab_recv(ctx, C_IN, &m, &err);
  if (!a)
    return 0;
  ab_count(ctx, K_SUNK, 1);
  size_t pad = (size_t)ab_ctx_param(ctx, "pad");
  if (m.len != sizeof *a + pad || a->magic != MAGIC || a->inst >= (uint64_t)ab_instances(ctx, R_WORKER) ||
      a->check != check_of(a->inst, a->round) || !pad_ok(a, pad))
    ab_count(ctx, K_BAD, 1);
  return 0;
}

static int fan_setup(ab_run_t *run)
{
  ab_run_period(run, R_SRC, (int64_t)ab_param(run, "period"));
  ab_run_chan_size(run, C_IN, sizeof(answer_t) + (size_t)ab_param(run, "pad"));
  return ab_run_kernel(run);
}

static const ab_param_desc_t params[] = {
  { .name = "n", .type = AB_P_INT, .def = "1000", .min = 1, .max = 100000, .help = "worker instances" },
  { .name = "period", .type = AB_P_DURATION, .def = "50ms", .min = 1e6, .max = 1e9, .help = "between rounds" },
  { .name = "pad", .type = AB_P_SIZE, .def = "0", .min = 0, .max = 1 << 20, .help = "bytes after each answer" },
};
static const ab_role_desc_t roles[NR] = {
  [R_SRC] = { .name = "src", .period_ns = 50 * AB_NS_PER_MS, .trigger = -1, .step = src_step },
  [R_WORKER] = { .name = "worker", .trigger = C_OUT, .step = worker_step, .init = worker_init, .fini = worker_fini,
                 .instances = "n" },
  [R_SINK] = { .name = "sink", .trigger = C_IN, .step = sink_step },
};
static const ab_chan_desc_t chans[NC] = {
  [C_OUT] = { .name = "out", .from = R_SRC, .to = R_WORKER, .msg_max = 8, .depth = 8, .policy = AB_BLOCK },
  [C_IN] = { .name = "in", .from = R_WORKER, .to = R_SINK, .msg_max = sizeof(answer_t), .depth = 256, .policy = AB_BLOCK },
};
static const char *const counters[NK] = { [K_GOT] = "got", [K_SUNK] = "sunk", [K_BAD] = "bad" };
static const ab_metric_desc_t metrics[] = { { "worker.seq" } };
static const ab_scenario_t fan = { .name = "fan", .summary = "test: fan-out to instances, fan-in from them",
                                   .roles = roles, .nroles = NR, .chans = chans, .nchans = NC,
                                   .counters = counters, .ncounters = NK, .metrics = metrics, .nmetrics = 1,
                                   .params = params, .nparams = 3, .archs = AB_ARCHS_DEDICATED, .setup = fan_setup };

/* A thousand instances; two hundred under a sanitizer, whose per-thread and per-process
 * shadow memory would make a thousand the test of the sanitizer rather than of archbench. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MANY "200"
#else
#define MANY "1000"
#endif

static int64_t ctr(const ab_result_t *r, const char *name)
{
  int64_t v = -1;
  if (ab_result_counter(r, name, &v) < 0)
    AB_FAIL("no counter %s", name);
  return v;
}

/* Rounds 50 ms apart; 250 ms for a thousand processes, for which a 50 ms round does not
 * keep up on two cores: every waiting instance also wakes every 50 ms to look at the stop
 * word, a cost of the harness that a thousand processes multiply (being fixed). This test
 * checks that every message arrives whole and every figure adds up, not throughput. */
static ab_result_t *run_fan_pad(int arch, const char *transport, const char *n, int detail, const char *pad)
{
  char kv[32];
  snprintf(kv, sizeof kv, "n=%s", n);
  int slow = arch == AB_ARCH_PROCS && atoi(n) > 300;
  ab_run_opts_t o = { .sc = &fan, .arch = arch, .transport = transport, .duration_ns = (slow ? 2 : 1) * AB_NS_PER_S,
                      .latency_target_us = -1, .quiet = 1, .want_result = 1, .nparams = 3, .detail = detail };
  o.params[0] = kv;
  o.params[1] = slow ? "period=250ms" : "period=50ms";
  o.params[2] = pad;
  int code = ab_run_one(&o);
  if (code != AB_EXIT_OK)
    AB_FAIL("%s run with %s: exit %d: %s", ab_arch_name(arch), kv, code, o.result && o.result->error ? o.result->error : "");
  ASSERT(o.result);
  return o.result;
}

static ab_result_t *run_fan(int arch, const char *transport, const char *n, int detail)
{
  return run_fan_pad(arch, transport, n, detail, "pad=0");
}

/* Every round reached every worker, every answer reached the sink whole, and the merged
 * figures agree with the counts. */
static void check_fan(const ab_result_t *r, int n)
{
  ab_summary_t s;
  ASSERT_EQ(ab_result_metric(r, "src.lateness_ns", &s), 0);
  int64_t rounds = (int64_t)s.count - ctr(r, "src.closed_at_stop");
  int64_t got = ctr(r, "got"), sunk = ctr(r, "sunk");
  printf("%s: %d instances, %lld rounds, %lld received by workers, %lld by the sink, %lld bad\n", r->arch, n,
         (long long)rounds, (long long)got, (long long)sunk, (long long)ctr(r, "bad"));
  ASSERT(rounds >= 2);
  ASSERT_EQ(ctr(r, "bad"), 0);
  ASSERT_EQ(ctr(r, "out.drops"), 0);
  /* Every round went to every worker (the last may be cut by the stop while the source
   * waited for room); each worker took all but what its queue held at the stop, answered all
   * but the one it was sending then; the sink took all but what its queue held. */
  int64_t out = ctr(r, "out.messages"), in = ctr(r, "in.messages");
  ASSERT(out <= rounds * n && out >= (rounds - 1) * n);
  ASSERT(got <= out && got >= out - (int64_t)chans[C_OUT].depth * n);
  ASSERT(in <= got && in >= got - n);
  ASSERT(sunk <= in && sunk >= in - (int64_t)chans[C_IN].depth);
  ASSERT_EQ(ab_result_metric(r, "worker.step_ns", &s), 0);
  ASSERT_EQ((int64_t)s.count, got);
  ASSERT_EQ(ab_result_metric(r, "worker.seq", &s), 0);
  ASSERT_EQ((int64_t)s.count, got);
  ASSERT_EQ(ab_result_metric(r, "out.latency_ns", &s), 0);
  ASSERT_EQ((int64_t)s.count, got);
  /* the merged buckets hold every value the instances recorded */
  const char *merged[] = { "worker.step_ns", "worker.seq", "out.latency_ns" };
  ab_hist_t *hh = malloc(sizeof *hh);
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ(ab_result_hist(r, merged[i], hh), 0);
    uint64_t sum = 0;
    for (int b = 0; b < AB_HIST_NBUCKETS; b++)
      sum += hh->buckets[b];
    if ((int64_t)sum != got)
      AB_FAIL("%s: the buckets hold %llu values, its count is %lld", merged[i], (unsigned long long)sum, (long long)got);
  }
  free(hh);
  json_t *w = json_object_get(json_object_get(json_object_get(r->doc, "resources"), "roles"), "worker");
  ASSERT_EQ((int)json_integer_value(json_object_get(w, "instances")), n);
  json_t *ph = json_object_get(r->doc, "phases");
  printf("phases: setup %.2f s, run %.2f s, teardown %.2f s\n", json_number_value(json_object_get(ph, "setup_s")),
         json_number_value(json_object_get(ph, "run_s")), json_number_value(json_object_get(ph, "teardown_s")));
  json_t *h = json_object_get(json_object_get(r->doc, "resources"), "harness");
  double per = json_number_value(json_object_get(h, "bytes_per_instance"));
  json_t *tot = json_object_get(json_object_get(r->doc, "resources"), "total");
  printf("harness: %.0f bytes, %.0f per instance, %lld metric pages; PSS %.1f MB total, read in %.3f s\n",
         json_number_value(json_object_get(h, "bytes")), per, (long long)json_integer_value(json_object_get(h, "metric_pages")),
         r->pss_kb / 1024, json_number_value(json_object_get(tot, "mem_snapshot_s")));
  ASSERT_EQ((int)json_integer_value(json_object_get(h, "instances")), n + 2);
  ASSERT_DBL(per, <=, 64 * 1024);
}

TEST_T(instances_1000_under_threads_fan_out_and_in_and_add_up, 120)
{
  ab_result_t *r = run_fan(AB_ARCH_THREADS, NULL, MANY, 0);
  check_fan(r, atoi(MANY));
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  /* 1,002 instances wait in slices of a second (validate.c); the stop kicks every queue, so
   * the workers do not wait theirs out. Half a slice, not an absolute time. */
  double down = json_number_value(json_object_get(json_object_get(r->doc, "phases"), "teardown_s"));
  ASSERT_DBL(down, <, 0.5);
#endif
  ab_result_free(r);
}

TEST_T(instances_1000_under_procs_shm_fan_out_and_in_and_add_up, 180)
{
  ab_result_t *r = run_fan(AB_ARCH_PROCS, "shm", MANY, 0);
  check_fan(r, atoi(MANY));
  ab_result_free(r);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  /* The supervisor has unmapped the rings; the kick reaches their receivers through the
   * channels' control blocks, which it keeps: 300 processes (0.9 s slices) do not wait
   * theirs out. A fraction of the slice, not an absolute time. */
  r = run_fan(AB_ARCH_PROCS, "shm", "300", 0);
  double down = json_number_value(json_object_get(json_object_get(r->doc, "phases"), "teardown_s"));
  ASSERT_DBL(down, <, 0.6);
  ab_result_free(r);
#endif
}

TEST_T(instances_under_loop_and_procs_pipe_keep_every_message_whole, 120)
{
  ab_result_t *r = run_fan(AB_ARCH_LOOP, NULL, "100", 0);
  check_fan(r, 100);
  /* one thread cannot wait for itself: the loop's channels drop when full, and say so */
  json_t *cal = json_object_get(r->doc, "calibration");
  ASSERT_CONTAINS(json_string_value(json_object_get(cal, "in.policy")), "drop when full");
  ASSERT_CONTAINS(json_string_value(json_object_get(cal, "out.policy")), "drop when full");
  ab_result_free(r);
  r = run_fan(AB_ARCH_PROCS, "pipe", "50", 0);
  check_fan(r, 50);
  ab_result_free(r);
}

/* Answers far over PIPE_BUF from many senders at once over a byte stream: without the
 * senders' turns each write would interleave with the others' (and on the ring they would
 * race for the same slot); every byte is checked at the sink. */
TEST_T(instances_fan_in_of_large_messages_is_never_interleaved, 120)
{
  const char *transports[] = { "pipe", "tcp", "shm" };
  for (int i = 0; i < 3; i++) {
    ab_result_t *r = run_fan_pad(AB_ARCH_PROCS, transports[i], "40", 0, "pad=48KiB");
    check_fan(r, 40);
    ab_result_free(r);
  }
  ab_result_t *r = run_fan_pad(AB_ARCH_THREADS, NULL, "40", 0, "pad=48KiB");
  check_fan(r, 40);
  ab_result_free(r);
}

/* Per instance only where asked: each one's activations, adding up to the role's. */
TEST_T(instances_detail_lists_each_instance_and_adds_up, 60)
{
  ab_result_t *r = run_fan(AB_ARCH_THREADS, NULL, "7", 0);
  ASSERT(!json_object_get(json_object_get(r->doc, "resources"), "instances"));
  ab_result_free(r);
  r = run_fan(AB_ARCH_THREADS, NULL, "7", 1);
  json_t *a = json_object_get(json_object_get(json_object_get(r->doc, "resources"), "instances"), "worker");
  ASSERT_EQ((int)json_array_size(a), 7);
  int64_t steps = 0;
  size_t i;
  json_t *e;
  json_array_foreach(a, i, e) steps += json_integer_value(json_object_get(e, "steps"));
  ASSERT_EQ(steps, ctr(r, "got"));
  ab_result_free(r);
}

/* A descriptor whose instances are not an integer parameter of at least 1, or an instanced
 * role that owns a device, is refused at start-up. */
TEST(instances_descriptor_errors_are_named)
{
  char err[256];
  static const ab_param_desc_t dp[] = { { .name = "d", .type = AB_P_DURATION, .def = "1ms", .min = 0, .max = 1e9 } };
  static const ab_role_desc_t r1[] = {
    { .name = "a", .period_ns = AB_NS_PER_MS, .trigger = -1, .step = src_step, .instances = "d" } };
  ab_scenario_t sc = { .name = "bad", .roles = r1, .nroles = 1, .params = dp, .nparams = 1, .archs = AB_ARCHS_DEDICATED };
  ASSERT(ab_scenario_check(&sc, err, sizeof err) < 0);
  ASSERT_CONTAINS(err, "not an integer parameter");
  static const ab_role_desc_t r2[] = {
    { .name = "a", .period_ns = AB_NS_PER_MS, .trigger = -1, .step = src_step, .instances = "nope" } };
  sc.roles = r2;
  ASSERT(ab_scenario_check(&sc, err, sizeof err) < 0);
  ASSERT_CONTAINS(err, "nope");
  static const ab_role_desc_t r3[] = {
    { .name = "a", .period_ns = AB_NS_PER_MS, .trigger = -1, .step = src_step, .instances = "n" } };
  static const ab_dev_desc_t dv[] = { { .name = "s", .kind = AB_DEV_SERIAL, .owner = 0 } };
  sc.roles = r3;
  sc.params = params;
  sc.devs = dv;
  sc.ndevs = 1;
  ASSERT(ab_scenario_check(&sc, err, sizeof err) < 0);
  ASSERT_CONTAINS(err, "owns a device");
  /* A count whose range runs past what a run may hold is refused before any run asks for it. */
  static const ab_param_desc_t big[] = { { .name = "n", .type = AB_P_INT, .def = "1", .min = 1, .max = 3e9 } };
  sc.params = big;
  sc.devs = NULL;
  sc.ndevs = 0;
  ASSERT(ab_scenario_check(&sc, err, sizeof err) < 0);
  ASSERT_CONTAINS(err, "within 0 to 100000");
}

/* Two instanced roles within their own ranges but over the run's limit together: exit 2,
 * naming the limit and each count, before anything is allocated. */
TEST(instances_over_the_run_limit_together_exit_2_naming_each_count)
{
  static const ab_param_desc_t p2[] = {
    { .name = "a", .type = AB_P_INT, .def = "1", .min = 1, .max = AB_MAX_INSTANCES },
    { .name = "b", .type = AB_P_INT, .def = "1", .min = 1, .max = AB_MAX_INSTANCES } };
  static const ab_role_desc_t r2[] = {
    { .name = "x", .period_ns = AB_NS_PER_MS, .trigger = -1, .step = src_step, .instances = "a" },
    { .name = "y", .period_ns = AB_NS_PER_MS, .trigger = -1, .step = src_step, .instances = "b" } };
  ab_scenario_t sc = { .name = "big", .roles = r2, .nroles = 2, .params = p2, .nparams = 2, .archs = AB_ARCHS_DEDICATED };
  char err[256];
  ASSERT_EQ(ab_scenario_check(&sc, err, sizeof err), 0);
  ab_run_opts_t o = { .sc = &sc, .arch = AB_ARCH_THREADS, .duration_ns = AB_NS_PER_S, .latency_target_us = -1, .quiet = 1,
                      .params = { "a=60000", "b=50000" }, .nparams = 2 };
  int code = 0;
  ASSERT(ab_run_new(&o, &code, err, sizeof err) == NULL);
  ASSERT_EQ(code, AB_EXIT_USAGE);
  ASSERT_CONTAINS(err, "110000 role instances");
  ASSERT_CONTAINS(err, "at most 100000");
  ASSERT_CONTAINS(err, "--param a=60000");
  ASSERT_CONTAINS(err, "--param b=50000");
  /* Exactly the limit is allowed. */
  o.params[0] = "a=99999";
  o.params[1] = "b=1";
  ab_run_t *run = ab_run_new(&o, &code, err, sizeof err);
  if (!run)
    AB_FAIL("100000 instances refused: %s", err);
  ab_run_free(run);
  /* Defaults over the limit: the descriptor is refused, not every default run. */
  static const ab_param_desc_t p3[] = {
    { .name = "a", .type = AB_P_INT, .def = "60000", .min = 1, .max = AB_MAX_INSTANCES },
    { .name = "b", .type = AB_P_INT, .def = "60000", .min = 1, .max = AB_MAX_INSTANCES } };
  sc.params = p3;
  ASSERT(ab_scenario_check(&sc, err, sizeof err) < 0);
  ASSERT_CONTAINS(err, "120000 role instances by default");
}


/* Waiting instances look at the stop word less often the more of them there are: two hundred
 * idle workers wake a few times a second each, not twenty (50 ms slices), so the harness's
 * own wake-ups do not become the figure (an audit found them 1.2 CPU-s/s at a thousand). */
TEST_T(instances_idle_wake_up_rarely, 60)
{
  ab_run_opts_t o = { .sc = &fan, .arch = AB_ARCH_THREADS, .duration_ns = AB_NS_PER_S, .latency_target_us = -1,
                      .quiet = 1, .want_result = 1, .nparams = 3 };
  o.params[0] = "n=200";
  o.params[1] = "period=1s";
  o.params[2] = "pad=0";
  ASSERT_EQ(ab_run_one(&o), AB_EXIT_OK);
  json_t *w = json_object_get(json_object_get(json_object_get(o.result->doc, "resources"), "roles"), "worker");
  double vol = json_number_value(json_object_get(w, "ctx_vol"));
  printf("200 idle workers for 1 s: %.0f voluntary switches (%.1f each)\n", vol, vol / 200);
  ASSERT_DBL(vol / 200, <, 8); /* one round, the barrier, a few looks at the stop word */
  ab_result_free(o.result);
}
