/* Tests of `archbench compare BASE NEW` through the binary, as CI runs it, on the hand-made
 * sides of tests/cmpfix.h: the verdicts and their exit codes (0, or 1 on a regression), where
 * the samples come from, and what it writes (compare.json, the JUnit XML, the Markdown). Bad
 * input is tests/test_compare_input.c's, the finer rules tests/test_compare_rules.c's and
 * test_compare_io.c's. Never a latency of this machine.
 */
#include <math.h>
#include <unistd.h>

#include "cmpfix.h"
#include "jresult.h"
#include "proc.h"
#include "test.h"

/* ---- the verdicts ---------------------------------------------------------------------- */

TEST_T(compare_a_a_same_distribution_exits_0_with_no_regression, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 10, 10, &(cx_side_t){ 0 });
  free(cx_compare(&pr, NULL, 0));
  json_t *d = cx_json(&pr);
  ASSERT_EQ(jnum(d, "exit"), 0);
  ASSERT_STR(jstr(d, "verdict"), "no change");
  ASSERT_EQ(json_array_size(json_object_get(d, "metrics")), 5);
  ASSERT_EQ(cx_count(d, "regression"), 0);
  ASSERT_EQ(cx_count(d, "improvement"), 0);
  ASSERT_EQ(cx_count(d, "no change"), 4);
  ASSERT_EQ(cx_count(d, "not gated"), 1); /* p999 of 1000 samples a repeat */
  static const char *const ids[] = { ID_P50, ID_P99, ID_CPU, ID_MICRO };
  for (int i = 0; i < 4; i++) {
    json_t *m = cx_metric(d, ids[i]);
    ASSERT_EQ(jnum(m, "n_base"), 10);
    ASSERT_EQ(jnum(m, "n_new"), 10);
    ASSERT(json_is_true(json_object_get(m, "gated")));
    ASSERT_DBL(cx_ci(d, ids[i], 0), >=, 0.95);
    ASSERT_DBL(cx_ci(d, ids[i], 1), <=, 1.05);
    ASSERT_DBL(cx_ci(d, ids[i], 0), <=, jnum(m, "ratio"));
    ASSERT_DBL(jnum(m, "ratio"), <=, cx_ci(d, ids[i], 1));
  }
  json_decref(d);
  cleanup_now();
}

/* Whether the JUnit file is well-formed XML: by Python's parser when /usr/bin/python3 is here
 * (it prints the number of test cases, then each failing one's name), else by counting tags. */
static void cx_check_junit(const char *path, int ncases, const char *failing)
{
  char *x = slurp(path);
  ASSERT_CONTAINS(x, "<?xml");
  int cases = 0, fails = 0;
  for (const char *s = x; (s = strstr(s, "<testcase ")); s++)
    cases++;
  for (const char *s = x; (s = strstr(s, "<failure ")); s++)
    fails++;
  ASSERT_EQ(cases, ncases);
  ASSERT_EQ(fails, failing ? 1 : 0);
  ASSERT_EQ(strstr(x, "</testsuites>") != NULL, 1);
  free(x);
  if (access("/usr/bin/python3", X_OK) != 0)
    return;
  static const char py[] = "import sys, xml.etree.ElementTree as E\n"
                           "r = E.parse(sys.argv[1]).getroot()\n"
                           "print(len(r.findall('.//testcase')))\n"
                           "for t in r.iter('testcase'):\n"
                           "    if t.find('failure') is not None: print(t.get('classname') + ':' + t.get('name'))\n";
  proc_t p;
  run_prog(&p, "/usr/bin/python3", L("-c", py, path), 20);
  if (p.code != 0)
    AB_FAIL("%s is not well-formed XML: %s", path, p.err);
  char want[512];
  snprintf(want, sizeof want, "%d\n%s%s", ncases, failing ? failing : "", failing ? "\n" : "");
  ASSERT_STR(p.out, want);
  proc_free(&p);
}

TEST_T(compare_planted_20pct_slowdown_of_one_metric_exits_1_naming_only_it, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 10, 10, &(cx_side_t){ .p50 = 0.20 });
  char junit[PATH_MAX + 16], md[PATH_MAX + 16];
  snprintf(junit, sizeof junit, "%s/junit.xml", pr.base);
  snprintf(md, sizeof md, "%s/summary.md", pr.base);
  char *out = cx_compare(&pr, L("--junit", junit, "--markdown", md), 1);
  json_t *d = cx_json(&pr);
  ASSERT_EQ(jnum(d, "exit"), 1);
  ASSERT_STR(jstr(d, "verdict"), "regression");
  ASSERT_EQ(cx_count(d, "regression"), 1);
  ASSERT_STR(cx_verdict(d, ID_P50), "regression");
  json_t *m = cx_metric(d, ID_P50);
  ASSERT_DBL(jnum(m, "ratio"), >, 1.15);
  ASSERT_DBL(jnum(m, "ratio"), <, 1.25);
  ASSERT_DBL(cx_ci(d, ID_P50, 0), >, 1.05);
  ASSERT_DBL(jnum(m, "p"), <, 0.01);
  ASSERT_DBL(jnum(m, "p"), >=, jnum(m, "p_raw")); /* Holm never lowers a p */
  static const char *const others[] = { ID_P99, ID_CPU, ID_MICRO };
  for (int i = 0; i < 3; i++)
    ASSERT_STR(cx_verdict(d, others[i]), "no change");
  /* the table on stdout, the JUnit and the Markdown name it */
  ASSERT_CONTAINS(out, "regression");
  ASSERT_CONTAINS(out, ID_P50);
  cx_check_junit(junit, 5, ID_P50);
  char *s = slurp(md);
  ASSERT_CONTAINS(s, "REGRESSION");
  ASSERT_CONTAINS(s, "`" ID_P50 "`");
  ASSERT(!strstr(s, ID_P99) && !strstr(s, ID_CPU)); /* only the rows that say something */
  free(s);
  free(out);
  json_decref(d);
  cleanup_now();
}

TEST_T(compare_20pct_speedup_exits_0_as_an_improvement, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 10, 10, &(cx_side_t){ .micro = -0.20 });
  char junit[PATH_MAX + 16];
  snprintf(junit, sizeof junit, "%s/junit.xml", pr.base);
  free(cx_compare(&pr, L("--junit", junit), 0));
  json_t *d = cx_json(&pr);
  ASSERT_EQ(jnum(d, "exit"), 0);
  ASSERT_STR(jstr(d, "verdict"), "improvement");
  ASSERT_STR(cx_verdict(d, ID_MICRO), "improvement");
  ASSERT_EQ(cx_count(d, "improvement"), 1);
  ASSERT_EQ(cx_count(d, "regression"), 0);
  json_t *m = cx_metric(d, ID_MICRO);
  ASSERT_DBL(cx_ci(d, ID_MICRO, 1), <, 0.95);
  ASSERT_DBL(jnum(m, "p_better"), <, 0.01);
  ASSERT_DBL(jnum(m, "p"), >, 0.5); /* not worse */
  cx_check_junit(junit, 5, NULL);   /* an improvement fails nothing */
  json_decref(d);
  cleanup_now();
}

TEST_T(compare_shift_within_the_threshold_is_no_regression, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 10, 10, &(cx_side_t){ .p50 = 0.03 });
  free(cx_compare(&pr, L("--threshold", "5%"), 0));
  json_t *d = cx_json(&pr);
  ASSERT_EQ(cx_count(d, "regression"), 0);
  ASSERT(strcmp(cx_verdict(d, ID_P50), "regression"));
  ASSERT_DBL(cx_ci(d, ID_P50, 0), <=, 1.05);
  json_decref(d);
  cleanup_now();
}

/* A 10% slowdown (estimate 1.094, interval 1.079..1.114): a regression beyond a 5% threshold;
 * within a 15% one, no change. At 8.5%, 10% and 11% the interval straddles the threshold:
 * inconclusive, though the test is significant (at 8.5% the estimate is above it, at 11% below:
 * the interval decides, not the estimate). */
TEST_T(compare_threshold_decides_what_a_10pct_shift_is, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 10, 10, &(cx_side_t){ .cpu = 0.10 });
  static const struct {
    const char *t, *verdict;
    int code;
  } rows[] = { { "5%", "regression", 1 },     { "0.15", "no change", 0 }, { "10%", "inconclusive", 0 },
               { "8.5%", "inconclusive", 0 }, { "11%", "inconclusive", 0 } };
  for (int i = 0; i < 5; i++) {
    free(cx_compare(&pr, L("--threshold", rows[i].t), rows[i].code));
    json_t *d = cx_json(&pr);
    if (strcmp(cx_verdict(d, ID_CPU), rows[i].verdict))
      AB_FAIL("--threshold %s: %s is \"%s\", expected \"%s\" (interval %.4f..%.4f)", rows[i].t, ID_CPU,
              cx_verdict(d, ID_CPU), rows[i].verdict, cx_ci(d, ID_CPU, 0), cx_ci(d, ID_CPU, 1));
    ASSERT_EQ(jnum(d, "exit"), rows[i].code);
    if (i >= 2) {
      ASSERT_DBL(jnum(cx_metric(d, ID_CPU), "p"), <, 0.01);
      ASSERT_CONTAINS(jstr(cx_metric(d, ID_CPU), "why"), "straddles");
    }
    json_decref(d);
  }
  cleanup_now();
}

/* p99.9 gates only when every repeat of both sides holds 10/(1 - 0.999) = 10000 samples. */
TEST_T(compare_tail_gates_only_with_10000_samples_in_every_repeat, 30)
{
  static const struct {
    long count, last;
    const char *verdict;
    int code;
  } rows[] = { { 9999, 0, "not gated", 0 }, { 10000, 9999, "not gated", 0 }, { 10000, 0, "regression", 1 } };
  for (int i = 0; i < 3; i++) {
    cx_pair_t pr;
    cx_sides(&pr, 10, 10, &(cx_side_t){ .p999 = 0.5, .count = rows[i].count, .count_last = rows[i].last });
    char md[PATH_MAX + 16];
    snprintf(md, sizeof md, "%s/../pr.md", pr.base);
    free(cx_compare(&pr, L("--markdown", md), rows[i].code));
    json_t *d = cx_json(&pr);
    json_t *m = cx_metric(d, ID_P999);
    char *text = slurp(md);
    ASSERT_CONTAINS(text, ID_P999); /* a tail that moved by half is in the comment, gated or not */
    free(text);
    if (strcmp(jstr(m, "verdict"), rows[i].verdict))
      AB_FAIL("%ld samples a repeat (last %ld): %s is \"%s\", expected \"%s\"", rows[i].count, rows[i].last, ID_P999,
              jstr(m, "verdict"), rows[i].verdict);
    ASSERT_EQ(json_is_true(json_object_get(m, "gated")), rows[i].code);
    if (!rows[i].code) {
      ASSERT_CONTAINS(jstr(m, "why"), "10000");
      ASSERT_DBL(jnum(m, "ratio"), >, 1.4); /* reported all the same */
    }
    json_decref(d);
    cleanup_now();
  }
}

/* The p that gates is Holm's over the gated metrics: a 3% slowdown of p50, its interval above
 * a 0.5% threshold, is the smallest of the 4 gated p's (p99.9 is not gated), so its p is 4 times
 * its raw one. With alpha between the raw p and Holm's it is no regression but inconclusive;
 * with alpha above Holm's, a regression. alpha is set from the raw p the first run reports. */
TEST_T(compare_gates_on_holms_p_over_the_gated_metrics, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 12, 12, &(cx_side_t){ .p50 = 0.03 });
  free(cx_compare(&pr, L("--threshold", "0.5%"), 1));
  json_t *d = cx_json(&pr), *m = cx_metric(d, ID_P50);
  double raw = jnum(m, "p_raw");
  ASSERT_EQ(jnum(d, "gated"), 4);
  ASSERT_DBL(fabs(jnum(m, "p") - 4 * raw), <=, 1e-9 * raw);
  ASSERT_DBL(cx_ci(d, ID_P50, 0), >, 1.005);
  ASSERT_DBL(raw, >, 1e-6); /* so that 12 repeats a side can reach alpha = 2 raw */
  json_decref(d);
  static const struct {
    double times;
    const char *verdict;
    int code;
  } rows[] = { { 2, "inconclusive", 0 }, { 5, "regression", 1 } };
  for (int i = 0; i < 2; i++) {
    char alpha[32];
    snprintf(alpha, sizeof alpha, "%.6g", rows[i].times * raw);
    free(cx_compare(&pr, L("--threshold", "0.5%", "--alpha", alpha), rows[i].code));
    d = cx_json(&pr);
    ASSERT_STR(cx_verdict(d, ID_P50), rows[i].verdict);
    if (!rows[i].code)
      ASSERT_CONTAINS(jstr(cx_metric(d, ID_P50), "why"), "is not below");
    json_decref(d);
  }
  cleanup_now();
}

/* A scenario run on one side only is bad input (test_compare_input.c), unless --metrics
 * leaves it out. */
TEST_T(compare_metrics_glob_leaves_out_a_scenario_run_on_one_side, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 6, 6, &(cx_side_t){ 0 });
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/run01/robot.loop.json", pr.new_);
  cx_result(path, "loop", cx_hist_metric(1e5, 2e5, 3e5, 1000), 10, NULL, NULL, NULL);
  free(cx_compare(&pr, L("--metrics", CX_KEY ":*,micro:*"), 0));
  json_t *d = cx_json(&pr);
  ASSERT_EQ(json_array_size(json_object_get(d, "metrics")), 5);
  json_decref(d);
  free(cx_compare(&pr, L("--metrics", "*threads*.p50"), 0));
  d = cx_json(&pr);
  ASSERT_EQ(json_array_size(json_object_get(d, "metrics")), 1);
  cx_metric(d, ID_P50);
  json_decref(d);
  cleanup_now();
}

/* ---- repeats: where they come from (how many: tests/test_compare_rules.c) --------------- */

/* Repeat files (robot.threads.r1.json ...) in one run directory and one file in each of
 * several run directories are the same samples under the same ids; micro.json's real_time in
 * us is read as ns, and its aggregate rows are no samples. */
TEST_T(compare_pools_repeat_files_and_run_directories_alike, 30)
{
  const char *top = temp_path(1);
  cx_pair_t pr;
  snprintf(pr.base, sizeof pr.base, "%s/flat", top);
  snprintf(pr.new_, sizeof pr.new_, "%s/dirs", top);
  ASSERT_EQ(mkdir(pr.base, 0755), 0);
  ASSERT_EQ(mkdir(pr.new_, 0755), 0);
  cx_write_side(pr.base, &(cx_side_t){ .n = 8, .seed = 3, .flat = 1 });
  cx_write_side(pr.new_, &(cx_side_t){ .n = 8, .seed = 3, .micro_real_us = 1 });
  /* micro.json in NEW only: mismatched sides, unless --metrics leaves the micro-benchmarks out */
  proc_t pp;
  run_ab(&pp, L("compare", pr.base, pr.new_), CX_TIMEOUT_S);
  ASSERT_EQ(pp.code, 2);
  ASSERT_CONTAINS(pp.err, "micro.json");
  proc_free(&pp);
  free(cx_compare(&pr, L("--metrics", CX_KEY ":*"), 0));
  json_t *d = cx_json(&pr);
  ASSERT_EQ(json_array_size(json_object_get(d, "metrics")), 4);
  ASSERT_EQ(json_array_size(json_object_get(d, "base")), 1);
  ASSERT_EQ(json_array_size(json_object_get(d, "new")), 8);
  static const char *const ids[] = { ID_P50, ID_P99, ID_CPU };
  for (int i = 0; i < 3; i++) {
    json_t *m = cx_metric(d, ids[i]);
    ASSERT_EQ(jnum(m, "n_base"), 8);
    ASSERT_EQ(jnum(m, "n_new"), 8);
    ASSERT_DBL(jnum(m, "ratio"), ==, 1); /* the same seed: the same figures */
    ASSERT_DBL(jnum(m, "base"), ==, jnum(m, "new"));
  }
  json_decref(d);
  /* the same microseconds as nanoseconds on the other side, aggregates at 50 times */
  cx_side_t us = { .n = 8, .seed = 4, .micro_real_us = 1 }, ns = { .n = 8, .seed = 4 };
  cleanup_now();
  top = temp_path(1);
  snprintf(pr.base, sizeof pr.base, "%s/ns", top);
  snprintf(pr.new_, sizeof pr.new_, "%s/us", top);
  ASSERT_EQ(mkdir(pr.base, 0755), 0);
  ASSERT_EQ(mkdir(pr.new_, 0755), 0);
  cx_write_side(pr.base, &ns);
  cx_write_side(pr.new_, &us);
  free(cx_compare(&pr, L("--metrics", "micro:*"), 0));
  d = cx_json(&pr);
  ASSERT_EQ(json_array_size(json_object_get(d, "metrics")), 1);
  json_t *m = cx_metric(d, ID_MICRO);
  ASSERT_DBL(fabs(jnum(m, "base") - jnum(m, "new")), <=, 1e-9 * jnum(m, "base"));
  ASSERT_DBL(jnum(m, "base"), >, 4500);
  ASSERT_DBL(jnum(m, "base"), <, 5500);
  json_decref(d);
  cleanup_now();
}

/* ---- where it writes -------------------------------------------------------------------- */

TEST_T(compare_writes_compare_json_into_new_or_where_asked, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 6, 6, &(cx_side_t){ 0 });
  char other[PATH_MAX + 32], def[PATH_MAX + 16];
  snprintf(other, sizeof other, "%s/../elsewhere.json", pr.base);
  snprintf(def, sizeof def, "%s/compare.json", pr.new_);
  free(cx_compare(&pr, L("--json", other, "--quiet"), 0));
  ASSERT_EQ(access(def, F_OK), -1);
  json_t *d = cx_load(other);
  ASSERT_EQ(jnum(d, "exit"), 0);
  json_decref(d);
  /* a second run over NEW, its compare.json now in it, reads the same five metrics */
  free(cx_compare(&pr, NULL, 0));
  free(cx_compare(&pr, NULL, 0));
  d = cx_json(&pr);
  ASSERT_EQ(json_array_size(json_object_get(d, "metrics")), 5);
  json_decref(d);
  /* nor is an output put inside a side, under any name, read as a result the next time */
  snprintf(other, sizeof other, "%s/cmp.json", pr.base);
  free(cx_compare(&pr, L("--json", other, "--quiet"), 0));
  char *out = cx_compare(&pr, NULL, 0);
  ASSERT(!strstr(out, "differ in their params")); /* and repeats with the same params are not said to differ */
  free(out);
  /* a file it cannot write: not a verdict, not bad input */
  proc_t p;
  run_ab(&p, L("compare", pr.base, pr.new_, "--junit", "/nonexistent/dir/junit.xml"), CX_TIMEOUT_S);
  ASSERT_EQ(p.code, 3);
  ASSERT_CONTAINS(p.err, "/nonexistent/dir/junit.xml");
  proc_free(&p);
  cleanup_now();
}
