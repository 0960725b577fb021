/* compare on sides that real runs produce now and then: a CPU of 0 in a run too short to
 * have one, a micro.json some repeats lack, a histogram's percentiles that tie, an output
 * that cannot be written while a metric regressed. Through the binary, on tests/cmpfix.h's
 * hand-made sides, edited where a test needs it.
 */
#include <math.h>
#include <unistd.h>

#include "cmpfix.h"
#include "jresult.h"
#include "proc.h"
#include "test.h"

/* Repeat k's result of a side of run directories, member keys set to v[k - 1], k = 1..n. */
static void cx_set_each(const char *dir, int n, const char *keys, const double *v)
{
  char path[PATH_MAX + 32];
  for (int k = 1; k <= n; k++) {
    snprintf(path, sizeof path, "%.4000s/run%02d/" CX_KEY ".json", dir, k);
    cx_set(path, keys, json_real(v[k - 1]));
  }
}

/* A CPU of 0 in one repeat of BASE leaves no ratio of values; the metric is still judged, on
 * the Hodges-Lehmann shift NEW - BASE over BASE's median: NEW 50% busier is a regression,
 * saying how its ratio was had. With BASE's median itself 0 there is nothing to divide by:
 * not gated, saying why, and the other metrics judged as ever. */
TEST_T(compare_value_of_0_is_judged_on_the_shift_over_base, 30)
{
  static const double base[10] = { 0, 40, 41, 39, 40.5, 39.5, 40.2, 39.8, 40.7, 39.1 },
                      zeros[10] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
  cx_pair_t pr;
  cx_sides(&pr, 10, 10, &(cx_side_t){ .cpu = 0.5 });
  cx_set_each(pr.base, 10, "resources/cpu_percent", base);
  free(cx_compare(&pr, NULL, 1));
  json_t *d = cx_json(&pr), *m = cx_metric(d, ID_CPU);
  ASSERT_STR(jstr(m, "verdict"), "regression");
  ASSERT(json_is_true(json_object_get(m, "gated")));
  ASSERT(json_is_true(json_object_get(m, "shift")));
  ASSERT_DBL(jnum(m, "ratio"), >, 1.4);
  ASSERT_DBL(jnum(m, "ratio"), <, 1.6);
  ASSERT_DBL(cx_ci(d, ID_CPU, 0), >, 1.05);
  ASSERT_CONTAINS(jstr(m, "why"), "0 or less");
  ASSERT_EQ(jnum(d, "gated"), 4);
  json_decref(d);
  cx_set_each(pr.base, 10, "resources/cpu_percent", zeros);
  free(cx_compare(&pr, NULL, 0));
  d = cx_json(&pr), m = cx_metric(d, ID_CPU);
  ASSERT_STR(jstr(m, "verdict"), "not gated");
  ASSERT_CONTAINS(jstr(m, "why"), "no ratio");
  ASSERT_EQ(jnum(d, "gated"), 3);
  ASSERT_STR(cx_verdict(d, ID_P50), "no change");
  json_decref(d);
  cleanup_now();
}

/* A metric some repeats lack (micro.json missing from 4 of NEW's 6 runs: 2 against 6 cannot
 * reach alpha / M) is not gated, saying in how many repeats it is, with a note; compare does
 * not stop at it, and gates the others over M = 3. Missing from 1 of 10, enough remain: it
 * gates on the 9. */
TEST_T(compare_metric_missing_from_some_repeats_is_not_gated_saying_so, 30)
{
  static const struct {
    int n, missing, gated;
    const char *verdict, *why;
  } rows[] = { { 6, 4, 0, "not gated", "in 6 of 6 repeats of BASE and 2 of 6 of NEW" }, { 10, 1, 1, "no change", NULL } };
  for (int i = 0; i < 2; i++) {
    cx_pair_t pr;
    cx_sides(&pr, rows[i].n, rows[i].n, &(cx_side_t){ 0 });
    for (int k = 1; k <= rows[i].missing; k++) {
      char path[PATH_MAX + 32];
      snprintf(path, sizeof path, "%.4000s/run%02d/micro.json", pr.new_, k);
      ASSERT_EQ(unlink(path), 0);
    }
    char *out = cx_compare(&pr, NULL, 0);
    json_t *d = cx_json(&pr), *m = cx_metric(d, ID_MICRO);
    ASSERT_EQ(jnum(m, "n_new"), rows[i].n - rows[i].missing);
    ASSERT_EQ(json_is_true(json_object_get(m, "gated")), rows[i].gated);
    ASSERT_STR(jstr(m, "verdict"), rows[i].verdict);
    ASSERT_EQ(jnum(d, "gated"), 3 + rows[i].gated);
    if (rows[i].why) {
      ASSERT_CONTAINS(jstr(m, "why"), rows[i].why);
      char *notes = json_dumps(json_object_get(d, "notes"), 0);
      ASSERT_CONTAINS(notes, "missing from some repeats");
      free(notes);
      ASSERT_CONTAINS(out, "note: 1 metric is missing from some repeats");
    }
    free(out);
    json_decref(d);
    cleanup_now();
  }
}

/* A histogram's p50 ties often. Six against six, each side on two bucket values and NEW 20%
 * above: the exact permutation test (up to 60 samples, ties included) gives the best p the
 * test has, 1/C(12, 6) = 1/924, and Holm over the 4 gated metrics 4/924: a regression. */
TEST_T(compare_tied_samples_get_the_exact_u_test, 30)
{
  static const double base[6] = { 100000, 100100, 100000, 100100, 100000, 100100 },
                      new_[6] = { 120100, 120000, 120100, 120000, 120100, 120000 };
  cx_pair_t pr;
  cx_sides(&pr, 6, 6, &(cx_side_t){ 0 });
  cx_set_each(pr.base, 6, "metrics/" CX_MET "/p50", base);
  cx_set_each(pr.new_, 6, "metrics/" CX_MET "/p50", new_);
  free(cx_compare(&pr, NULL, 1));
  json_t *d = cx_json(&pr), *m = cx_metric(d, ID_P50);
  ASSERT(json_is_true(json_object_get(m, "exact")));
  ASSERT_DBL(fabs(jnum(m, "p_raw") - 1 / 924.0), <=, 1e-12);
  ASSERT_DBL(fabs(jnum(m, "p") - 4 / 924.0), <=, 1e-12);
  ASSERT_STR(jstr(m, "verdict"), "regression");
  json_decref(d);
  cleanup_now();
}

/* An output that cannot be written is exit 3 when nothing regressed (test_compare.c), but a
 * regression still exits 1: the verdict is not lost to a full disk. Each output stands on its
 * own: compare.json and the Markdown are written though the JUnit cannot be. */
TEST_T(compare_regression_exits_1_though_an_output_cannot_be_written, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 10, 10, &(cx_side_t){ .p50 = 0.20 });
  char md[PATH_MAX + 16];
  snprintf(md, sizeof md, "%s/summary.md", pr.base);
  proc_t p;
  run_ab(&p, L("compare", pr.base, pr.new_, "--junit", "/nonexistent/dir/junit.xml", "--markdown", md), CX_TIMEOUT_S);
  if (p.code != 1)
    AB_FAIL("`%s` exited %d, expected 1: %s", p.cmd, p.code, p.err);
  ASSERT_CONTAINS(p.err, "/nonexistent/dir/junit.xml");
  ASSERT_CONTAINS(p.out, "regression");
  proc_free(&p);
  json_t *d = cx_json(&pr);
  ASSERT_STR(jstr(d, "verdict"), "regression");
  json_decref(d);
  char *s = slurp(md);
  ASSERT_CONTAINS(s, "`" ID_P50 "`");
  free(s);
  cleanup_now();
}
