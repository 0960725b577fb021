/* The lateness series of a periodic role (harness/series.c), the result's "series": its
 * windows are whole periods counted from the run's start, at most 2000 of them, and they
 * hold the same activations as the role's lateness metric: the counts add up to its count,
 * the missed periods to its counter, the largest window maximum is its (exact) max. Under
 * procs the roles write them from their own processes; the instances of a role share them;
 * an interrupted run's series ends where the run did; a run without a periodic role has an
 * empty one; a reader refuses a series that does not hold together.
 *
 * Nothing here depends on how late anything was: only counts, structure and equalities
 * between two records of the same activations.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <unistd.h>

#include "internal.h"
#include "jresult.h"
#include "proc.h"
#include "result.h"
#include "test.h"

/* The series of role `role` (period_ns, the run asked for duration_ns) agrees with its
 * metric and counters; returns its number of windows. `whole`: the run was not cut short,
 * so every window but the last holds exactly its periods' activations (times per_period,
 * the role's instances). */
static int check_series(json_t *r, const char *role, int64_t period_ns, int64_t duration_ns, int per_period, int whole)
{
  char name[64], missed_name[64];
  snprintf(name, sizeof name, "%s.lateness_ns", role);
  snprintf(missed_name, sizeof missed_name, "%s.missed_periods", role);
  json_t *s = jobj(jobj(r, "series"), name), *m = metric(r, name);
  int64_t w = (int64_t)jnum(s, "window_ns");
  ASSERT_DBL(jnum(s, "t0_ns"), ==, 0);
  /* max(period, ceil(duration / 2000)) rounded up to whole periods */
  int64_t want = (duration_ns + 1999) / 2000;
  want = want > period_ns ? (want + period_ns - 1) / period_ns * period_ns : period_ns;
  ASSERT_EQ(w, want);
  json_t *mx = json_object_get(s, "max_ns"), *ct = json_object_get(s, "count"), *ms = json_object_get(s, "missed");
  ASSERT(json_is_array(mx) && json_is_array(ct) && json_is_array(ms));
  int n = (int)json_array_size(ct);
  ASSERT_EQ(json_array_size(mx), n);
  ASSERT_EQ(json_array_size(ms), n);
  ASSERT_INT(n, <=, 2000);
  ASSERT_INT(n, >=, 1);
  if (whole)
    ASSERT_EQ(n, (duration_ns + w - 1) / w);
  double count = 0, missed = 0, top = -1;
  for (int k = 0; k < n; k++) {
    double c = json_number_value(json_array_get(ct, k)), x = json_number_value(json_array_get(ms, k));
    json_t *v = json_array_get(mx, k);
    if (c > 0 ? !json_is_number(v) : !json_is_null(v))
      AB_FAIL("series %s window %d: %g activations but max_ns %s", name, k, c, json_is_null(v) ? "null" : "a number");
    if (x > c)
      AB_FAIL("series %s window %d: %g missed of %g activations", name, k, x, c);
    if (whole && k < n - 1 && c != (double)(w / period_ns) * per_period)
      AB_FAIL("series %s window %d of %d: %g activations, its %lld periods hold %lld", name, k, n, c,
              (long long)(w / period_ns), (long long)(w / period_ns) * per_period);
    count += c, missed += x;
    if (json_is_number(v) && json_number_value(v) > top)
      top = json_number_value(v);
  }
  ASSERT_DBL(count, ==, jnum(m, "count"));
  ASSERT_DBL(missed, ==, counter(r, missed_name));
  ASSERT_DBL(top, ==, jnum(m, "max"));
  return n;
}

/* A 2 s baseline at 700 us: 2857 periods, more than 2000, so windows of two periods. */
static void baseline_series(const char *arch, const char *file)
{
  const char *out = temp_path(1);
  proc_t p;
  run_ab(&p, L("run", "baseline", "--arch", arch, "--duration", "2s", "--param", "period=700us", "--out", out,
               "--quiet"), 90);
  if (p.code != 0)
    AB_FAIL("`%s` exited %d; stderr: %s", p.cmd, p.code, p.err);
  json_t *r = load_result(out, file);
  ASSERT_EQ(check_series(r, "tick", 700 * AB_NS_PER_US, 2 * AB_NS_PER_S, 1, 1), 1429);
  json_decref(r);
  /* the reader's accessor says what the file says */
  ab_result_t *res = load_view(out, file);
  static int64_t mx[2000], ct[2000], ms[2000];
  int64_t w = 0, total = 0;
  ASSERT_EQ(ab_result_series(res, "tick.lateness_ns", &w, mx, ct, ms, 2000), 1429);
  ASSERT_EQ(w, 1400 * AB_NS_PER_US);
  for (int k = 0; k < 1429; k++)
    total += ct[k];
  ab_summary_t s;
  ASSERT_EQ(ab_result_metric(res, "tick.lateness_ns", &s), 0);
  ASSERT_EQ(total, (int64_t)s.count);
  ASSERT_EQ(ab_result_series(res, "nothing.lateness_ns", &w, mx, ct, ms, 2000), -ENOENT);
  ab_result_free(res);
  proc_free(&p);
  cleanup_now();
}

#define SERIES_BASELINE_TEST(name, arch, file) TEST_T(name, 120) { baseline_series(arch, file); }
SERIES_BASELINE_TEST(series_threads_windows_of_whole_periods_add_up_to_the_metric, "threads", "baseline.threads.json")
SERIES_BASELINE_TEST(series_procs_children_write_the_windows, "procs", "baseline.procs.shm.json")
SERIES_BASELINE_TEST(series_loop_windows_add_up_to_the_metric, "loop", "baseline.loop.json")

/* robot: two periodic roles, each a series of its own, windows of one period each. */
static void robot_series(const char *arch, const char *file)
{
  const char *out = temp_path(1);
  proc_t p;
  run_ab(&p, L("run", "robot", "--arch", arch, "--duration", "1.5s", "--out", out, "--quiet"), 90);
  if (p.code != 0 && p.code != 1) /* a requirement may fail on a loaded machine */
    AB_FAIL("`%s` exited %d; stderr: %s", p.cmd, p.code, p.err);
  json_t *r = load_result(out, file);
  ASSERT_EQ(json_object_size(jobj(r, "series")), 2);
  ASSERT_EQ(check_series(r, "inner", 10 * AB_NS_PER_MS, 1500 * AB_NS_PER_MS, 1, 1), 150);
  ASSERT_EQ(check_series(r, "camera", 50 * AB_NS_PER_MS, 1500 * AB_NS_PER_MS, 1, 1), 30);
  json_decref(r);
  proc_free(&p);
  cleanup_now();
}

TEST_T(series_robot_threads_one_per_periodic_role, 90) { robot_series("threads", "robot.threads.json"); }
TEST_T(series_robot_procs_one_per_periodic_role, 90) { robot_series("procs", "robot.procs.shm.json"); }

/* Ctrl-C a second into a 10 s run: the series ends with the window the stop fell in. */
TEST_T(series_of_an_interrupted_run_ends_where_the_run_did, 90)
{
  const char *out = temp_path(1);
  proc_t p;
  start_ab(&p, L("run", "baseline", "--arch", "procs", "--duration", "10s", "--out", out, "--quiet"));
  usleep(1500 * 1000);
  ASSERT_EQ(kill(-p.pid, SIGINT), 0);
  finish_ab(&p, 30);
  if (p.code != 130)
    AB_FAIL("exit %d after SIGINT, expected 130; stderr: %s", p.code, p.err);
  json_t *r = load_result(out, "baseline.procs.shm.json");
  ASSERT_STR(jstr(r, "status"), "partial");
  int n = check_series(r, "tick", AB_NS_PER_MS, 10 * AB_NS_PER_S, 1, 0);
  double w = jnum(jobj(jobj(r, "series"), "tick.lateness_ns"), "window_ns");
  ASSERT_DBL((n - 1) * w, <, jnum(r, "duration_s") * 1e9); /* the stop came within the window */
  ASSERT_INT(n, <, 2000);
  json_decref(r);
  proc_free(&p);
  cleanup_now();
}

/* ---- a role of several instances, and a scenario without a periodic role --------------------- */

enum { R_TICK, R_SPIN, NR };

static int tick_step(ab_ctx_t *ctx) { return 0; }
static int spin_step(ab_ctx_t *ctx)
{
  ab_sleep(ctx, AB_NS_PER_MS);
  return 0;
}

static const ab_param_desc_t params[] = {
  { .name = "n", .type = AB_P_INT, .def = "4", .min = 1, .max = 64, .help = "tick instances" },
};
static const ab_role_desc_t roles[NR] = {
  [R_TICK] = { .name = "tick", .period_ns = 2 * AB_NS_PER_MS, .trigger = -1, .step = tick_step, .instances = "n" },
  [R_SPIN] = { .name = "spin", .continuous = 1, .trigger = -1, .step = spin_step },
};
static const ab_scenario_t ticks = { .name = "ticks", .summary = "test: an instanced periodic role",
                                     .roles = roles, .nroles = 1, .params = params, .nparams = 1,
                                     .archs = AB_ARCHS_DEDICATED };
static const ab_scenario_t spin = { .name = "spin", .summary = "test: no periodic role", .roles = roles + 1,
                                    .nroles = 1, .archs = AB_ARCHS_DEDICATED };

static ab_result_t *run_direct(const ab_scenario_t *sc, int arch, const char *param)
{
  ab_run_opts_t o = { .sc = sc, .arch = arch, .duration_ns = AB_NS_PER_S, .latency_target_us = -1, .quiet = 1,
                      .want_result = 1, .nparams = param ? 1 : 0 };
  o.params[0] = param;
  int code = ab_run_one(&o);
  if (code != AB_EXIT_OK)
    AB_FAIL("%s under %s: exit %d: %s", sc->name, ab_arch_name(arch), code,
            o.result && o.result->error ? o.result->error : "");
  ASSERT(o.result);
  return o.result;
}

/* Six instances, in threads and in processes, add to one series: each 2 ms window holds
 * one activation of each. */
static void instanced_series(int arch)
{
  ab_result_t *r = run_direct(&ticks, arch, "n=6");
  ASSERT_EQ(check_series(r->doc, "tick", 2 * AB_NS_PER_MS, AB_NS_PER_S, 6, 1), 500);
  ab_summary_t s;
  ASSERT_EQ(ab_result_metric(r, "tick.lateness_ns", &s), 0);
  ASSERT_EQ(s.count, 6 * 500);
  ab_result_free(r);
}

TEST_T(series_instances_threads_share_their_role_series, 60) { instanced_series(AB_ARCH_THREADS); }
TEST_T(series_instances_procs_share_their_role_series, 60) { instanced_series(AB_ARCH_PROCS); }

TEST(series_is_an_empty_object_without_a_periodic_role)
{
  ab_result_t *r = run_direct(&spin, AB_ARCH_THREADS, NULL);
  json_t *s = json_object_get(r->doc, "series");
  ASSERT(json_is_object(s));
  ASSERT_EQ(json_object_size(s), 0);
  ab_result_free(r);
}

/* ---- reading ------------------------------------------------------------------------------------ */

static void series_refused(const char *series, const char *needle)
{
  char text[1024], err[256];
  snprintf(text, sizeof text,
           "{\"schema\":\"archbench-result/1\",\"scenario\":\"s\",\"arch\":\"threads\",\"transport\":\"ring\","
           "\"status\":\"ok\",\"error\":null,\"started_at\":\"t\",\"duration_s\":1,\"metrics\":{},\"counters\":{},"
           "\"series\":%s,\"resources\":{\"total\":{\"rss_kb\":1,\"pss_kb\":1},\"cpu_percent\":1},"
           "\"requirements\":[]}",
           series);
  ab_result_t *r = ab_result_parse(json_loads(text, 0, NULL), err, sizeof err);
  if (needle && r)
    AB_FAIL("taken as a result: %s", series);
  if (!needle && !r)
    AB_FAIL("refused (%s): %s", err, series);
  if (needle)
    ASSERT_CONTAINS(err, needle);
  ab_result_free(r);
}

TEST(series_that_does_not_hold_together_is_refused_naming_it)
{
  series_refused("{}", NULL);
  series_refused("{\"t.lateness_ns\":{\"window_ns\":5,\"t0_ns\":0,\"max_ns\":[3,null],\"count\":[1,0],\"missed\":[0,0]}}",
                 NULL);
  series_refused("[]", "series");
  series_refused("{\"t.lateness_ns\":{\"window_ns\":0,\"t0_ns\":0,\"max_ns\":[],\"count\":[],\"missed\":[]}}",
                 "window_ns");
  series_refused("{\"t.lateness_ns\":{\"window_ns\":5,\"t0_ns\":0,\"max_ns\":[3],\"count\":[1,0],\"missed\":[0,0]}}",
                 "max_ns");
  series_refused("{\"t.lateness_ns\":{\"window_ns\":5,\"t0_ns\":0,\"max_ns\":[3],\"count\":[-1],\"missed\":[0]}}",
                 "count");
  series_refused("{\"t.lateness_ns\":{\"window_ns\":5,\"t0_ns\":0,\"max_ns\":[3],\"count\":[1],\"missed\":[null]}}",
                 "missed");
}
