/* Planted slowdowns, the known causes the regression gate is calibrated against (issue 11):
 *
 *  - `--fault slow:ROLE:DUR` adds DUR of busy work to every step of ROLE, under every
 *    runtime: each step's time is at least DUR, and the role spent that much CPU (it spun, it
 *    did not sleep); the result lists the fault, so the run never passes as a measurement;
 *  - ABM_PLANT=NAME=NS adds NS of busy work to every timed iteration of the link benchmarks
 *    NAME names (whole up to a '/') and no other; micro.json carries it (context ab_plant,
 *    the benchmark's plant_ns) and stderr says it;
 *  - a bad spec or value exits 2 with one line naming it, before anything runs.
 *
 * Times are bounded below by what was planted; against an unplanted figure only as a ratio.
 */
#include <jansson.h>
#include <stdlib.h>

#include "jresult.h"
#include "proc.h"
#include "test.h"

#define MS 1e6
#define SLOW "slow:tick:2ms"

/* baseline at 10 ms for 200 ms (20 steps) under arch, with --fault SLOW when slow. */
static json_t *baseline(const char *arch, const char *file, int slow)
{
  const char *out = temp_path(1);
  proc_t p;
  const char *const *args =
      slow ? L("run", "baseline", "--arch", arch, "--param", "period=10ms", "--duration", "200ms", "--quiet", "--out",
               out, "--fault", SLOW)
           : L("run", "baseline", "--arch", arch, "--param", "period=10ms", "--duration", "200ms", "--quiet", "--out",
               out);
  run_ab(&p, args, 60);
  if (p.code != 0)
    AB_FAIL("`%s` exited %d; stderr: %s", p.cmd, p.code, p.err);
  assert_nothing_left(&p);
  proc_free(&p);
  return load_result(out, file);
}

static void slow_every_step(const char *arch, const char *file)
{
  json_t *r = baseline(arch, file, 1);
  json_t *step = metric(r, "tick.step_ns"), *faults = json_object_get(r, "faults");
  double n = jnum(step, "count");
  ASSERT_DBL(n, ==, jnum(metric(r, "tick.lateness_ns"), "count"));
  ASSERT_DBL(n, >=, 10);
  ASSERT_DBL(jnum(step, "min"), >=, 2 * MS); /* every step, not some */
  json_t *tick = jobj(jobj(jobj(r, "resources"), "roles"), "tick");
  ASSERT_DBL(jnum(tick, "cpu_user_s") + jnum(tick, "cpu_sys_s"), >=, 0.5 * n * 2e-3); /* spun */
  ASSERT(json_is_array(faults) && json_array_size(faults) == 1);
  ASSERT_STR(json_string_value(json_array_get(faults, 0)), SLOW);
  json_decref(r);
  cleanup_now();
}

#define SLOW_TEST(name, arch, file) \
  TEST_T(plant_slow_fault_busies_every_step_##name, 30) { slow_every_step(arch, file); }
BASELINE_RUNTIMES(SLOW_TEST)

/* The same role unplanted: its steps are a small fraction of the planted ones. */
TEST_T(plant_slow_fault_is_what_makes_the_step_slow, 30)
{
  json_t *plain = baseline("threads", "baseline.threads.json", 0);
  json_t *slow = baseline("threads", "baseline.threads.json", 1);
  double p50 = jnum(metric(plain, "tick.step_ns"), "p50"), p50_slow = jnum(metric(slow, "tick.step_ns"), "p50");
  ASSERT_DBL(p50_slow, >=, 2 * MS);
  ASSERT_DBL(p50 * 4, <, p50_slow);
  ASSERT(!json_object_get(plain, "faults"));
  json_decref(plain);
  json_decref(slow);
  cleanup_now();
}

/* bin (NULL: archbench) with args exits 2 with one line on stderr naming `needle`, and
 * nothing on stdout. */
static void refused(const char *bin, const char *const *args, const char *needle)
{
  proc_t p;
  if (bin)
    run_prog(&p, bin, args, 30);
  else
    run_ab(&p, args, 30);
  if (p.code != 2)
    AB_FAIL("`%s` exited %d, expected 2; stderr: \"%s\"", p.cmd, p.code, p.err);
  ASSERT_CONTAINS(p.err, needle);
  ASSERT(strchr(p.err, '\n') == p.err + strlen(p.err) - 1);
  ASSERT_STR(p.out, "");
  proc_free(&p);
}

TEST_T(plant_bad_slow_fault_exits_2_naming_it, 30)
{
  const char *out = temp_path(1);
#define RUN(spec) L("run", "baseline", "--out", out, "--fault", spec)
  refused(NULL, RUN("slow:tick:fast"), "fast is not a duration");
  refused(NULL, RUN("slow:tick:2s"), "2s is not a duration from 1ns to 1s");
  refused(NULL, RUN("slow:tick:0ms"), "0ms is not a duration");
  refused(NULL, RUN("slow:nobody:1ms"), "no role named nobody");
  refused(NULL, RUN("slow:tick"), "slow:ROLE:DURATION");
  refused(NULL, RUN("slow:tick:1:2ms"), "slow:ROLE:DURATION");
#undef RUN
  char names[256];
  ASSERT_EQ(dir_entries(out, names, sizeof names), 0);
  cleanup_now();
}

/* ---- ABM_PLANT ---------------------------------------------------------------------------- */

static json_t *bench_named(json_t *root, const char *name)
{
  json_t *b;
  size_t i;
  json_array_foreach(json_object_get(root, "benchmarks"), i, b) {
    if (!strcmp(json_string_value(json_object_get(b, "name")), name))
      return b;
  }
  AB_FAIL("no benchmark named %s in the output", name);
}

TEST_T(plant_micro_spins_in_every_iteration_of_what_it_names_only, 60)
{
  setenv("ABM_PLANT", "pipe/procs/rtt=1ms", 1);
  proc_t p;
  run_prog(&p, micro_bin(), L("--benchmark_filter=^pipe/(procs|threads)/rtt/(8|64)$", "--benchmark_min_time=0.01",
                              "--benchmark_format=json"), 60);
  if (p.code != 0)
    AB_FAIL("`%s` exited %d; stderr: %.2000s", p.cmd, p.code, p.err);
  ASSERT_CONTAINS(p.err, "ABM_PLANT=pipe/procs/rtt=1000000");
  ASSERT_CONTAINS(p.err, "not measurements");
  json_t *root = json_loads(p.out, 0, NULL);
  ASSERT(root);
  ASSERT_STR(json_string_value(json_object_get(json_object_get(root, "context"), "ab_plant")),
             "pipe/procs/rtt=1000000");
  double lowest = 1e18;
  for (const char *const *n = L("pipe/procs/rtt/8", "pipe/procs/rtt/64"); *n; n++) {
    json_t *b = bench_named(root, *n);
    ASSERT_DBL(jnum(b, "p50_ns"), >=, 1 * MS);
    ASSERT_DBL(jnum(b, "plant_ns"), ==, 1 * MS);
    lowest = jnum(b, "p50_ns") < lowest ? jnum(b, "p50_ns") : lowest;
  }
  for (const char *const *n = L("pipe/threads/rtt/8", "pipe/threads/rtt/64"); *n; n++) {
    json_t *b = bench_named(root, *n);
    ASSERT(!json_object_get(b, "plant_ns"));
    ASSERT_DBL(jnum(b, "p50_ns") * 2, <, lowest);
  }
  json_decref(root);
  assert_nothing_left(&p);
  proc_free(&p);
  cleanup_now();
}

TEST_T(plant_micro_bad_value_exits_2_naming_it, 30)
{
  const char *const *args = L("--benchmark_filter=^pipe/procs/rtt/8$", "--benchmark_min_time=0.01");
  static const char *const bad[][2] = {
    { "pipe/procs/rtt", "'pipe/procs/rtt' has no NAME=NS" },
    { "pipe/procs/rtt=fast", "'pipe/procs/rtt=fast' does not give NS" },
    { "pipe/procs/rtt=2s", "'pipe/procs/rtt=2s' does not give NS from 1ns to 1s" },
    { "pipe/procs/rtt=0", "'pipe/procs/rtt=0' does not give NS" },
    { "pipe/procs/rtt=5us,=5us", "'=5us' has no NAME=NS" },
    { "pipe/procs/rt=5us", "'pipe/procs/rt=5000' matches no link benchmark" },
    { "nosuch=5", "'nosuch=5' matches no link benchmark" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    setenv("ABM_PLANT", bad[i][0], 1);
    refused(micro_bin(), args, bad[i][1]);
  }
  cleanup_now();
}
