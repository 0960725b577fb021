/* The rules of compare's verdicts that a change could bend while the planted slowdowns of
 * tests/test_compare.c still come out right: the defaults, the tail's gate (both sides, and
 * before all else), how many repeats it needs (over the gated metrics), the improvement's own
 * threshold and its own Holm correction, and how the overall verdict ranks. Through the
 * binary, on tests/cmpfix.h's hand-made sides.
 */
#include <math.h>

#include "cmpfix.h"
#include "jresult.h"
#include "proc.h"
#include "test.h"

/* Without options: threshold 5% and alpha 0.01. A 4% slowdown of p50 (16 repeats a side,
 * interval 1.030..1.055, p far below alpha) straddles 5%: inconclusive, no regression, exit 0;
 * the same sides at --threshold 2% are a regression. */
TEST_T(compare_defaults_are_threshold_5pct_and_alpha_0_01, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 16, 16, &(cx_side_t){ .p50 = 0.04 });
  char *out = cx_compare(&pr, NULL, 0);
  ASSERT_CONTAINS(out, "at alpha 0.01 after Holm, threshold 5%");
  json_t *d = cx_json(&pr);
  ASSERT_DBL(jnum(d, "threshold"), ==, 0.05);
  ASSERT_DBL(jnum(d, "alpha"), ==, 0.01);
  ASSERT_STR(cx_verdict(d, ID_P50), "inconclusive");
  ASSERT_DBL(jnum(cx_metric(d, ID_P50), "p"), <, 1e-4);
  ASSERT_DBL(cx_ci(d, ID_P50, 0), >, 1.02);
  ASSERT_DBL(cx_ci(d, ID_P50, 1), >, 1.05);
  ASSERT_EQ(jnum(d, "exit"), 0);
  json_decref(d);
  free(out);
  free(cx_compare(&pr, L("--threshold", "2%"), 1));
  d = cx_json(&pr);
  ASSERT_STR(cx_verdict(d, ID_P50), "regression");
  json_decref(d);
  cleanup_now();
}

/* p99.9 gates only when every repeat of BOTH sides holds 10000 samples: 9999 in one repeat of
 * BASE, NEW holding 10000 everywhere and half as slow again, is still not gated. */
TEST_T(compare_tail_gate_counts_the_samples_of_base_too, 30)
{
  cx_pair_t pr;
  cx_sides_of(&pr, &(cx_side_t){ .n = 10, .seed = 1, .count = 10000, .count_last = 9999 },
              &(cx_side_t){ .n = 10, .seed = 2, .count = 10000, .p999 = 0.5 });
  free(cx_compare(&pr, NULL, 0));
  json_t *d = cx_json(&pr), *m = cx_metric(d, ID_P999);
  ASSERT_STR(jstr(m, "verdict"), "not gated");
  ASSERT(json_is_false(json_object_get(m, "gated")));
  ASSERT_CONTAINS(jstr(m, "why"), "9999");
  ASSERT_EQ(jnum(d, "gated"), 4);
  json_decref(d);
  cleanup_now();
}

/* The tail's rule comes first: a p99.9 on 1000 samples a repeat is not gated even when every
 * repeat of both sides shows the same figure (a histogram's bucket), which would otherwise be
 * "no change" that could never fail. */
TEST_T(compare_tail_rule_holds_when_every_sample_is_equal, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 6, 6, &(cx_side_t){ 0 });
  for (int s = 0; s < 2; s++)
    for (int k = 1; k <= 6; k++) {
      char path[PATH_MAX + 32];
      snprintf(path, sizeof path, "%.4000s/run%02d/" CX_KEY ".json", s ? pr.new_ : pr.base, k);
      cx_set(path, "metrics/" CX_MET "/p999", json_integer(900000));
    }
  free(cx_compare(&pr, NULL, 0));
  json_t *d = cx_json(&pr), *m = cx_metric(d, ID_P999);
  ASSERT_DBL(jnum(m, "ratio"), ==, 1);
  ASSERT_STR(jstr(m, "verdict"), "not gated");
  ASSERT_CONTAINS(jstr(m, "why"), "10000");
  ASSERT_EQ(jnum(d, "gated"), 4);
  json_decref(d);
  cleanup_now();
}

/* Too few repeats to test at alpha is bad input, naming how many are needed. Holm's first
 * step asks p < alpha / M over the M gated metrics (4 here: p99.9 is not gated), and the U
 * test's best p with k a side is 1/C(2k, k): 1/20, 1/70, 1/252, 1/924, 1/3432 at k = 3..7.
 * Over 4 metrics at 0.01: 1/252 at 5 is not below 0.0025 (though below 0.01, enough for one
 * metric), 1/924 at 6 is. One metric at 0.01: 1/70 at 4 is not, 1/252 at 5 is. One at 0.05:
 * 1/20 at 3 equals it, so 4. M counts the gated metrics only: 6 a side at 0.005 pass with
 * 4/924 = 0.0043 (5/924 = 0.0054, counting p99.9, would not), and fail at 0.004, needing 7. */
TEST_T(compare_too_few_repeats_exits_2_naming_how_many_are_needed, 30)
{
  static const struct {
    int n;
    const char *alpha, *metrics, *needed; /* needed: NULL when n is enough */
  } rows[] = { { 2, "0.01", NULL, "6" },   { 5, "0.01", NULL, "6" },    { 6, "0.01", NULL, NULL },
               { 4, "0.01", ID_P50, "5" }, { 5, "0.01", ID_P50, NULL }, { 3, "0.05", ID_P50, "4" },
               { 4, "0.05", ID_P50, NULL }, { 6, "0.005", NULL, NULL }, { 6, "0.004", NULL, "7" } };
  for (int i = 0; i < (int)(sizeof rows / sizeof rows[0]); i++) {
    cx_pair_t pr;
    cx_sides(&pr, rows[i].n, rows[i].n, &(cx_side_t){ 0 });
    proc_t p;
    run_ab(&p, rows[i].metrics ? L("compare", pr.base, pr.new_, "--alpha", rows[i].alpha, "--metrics", rows[i].metrics)
                               : L("compare", pr.base, pr.new_, "--alpha", rows[i].alpha), CX_TIMEOUT_S);
    if (p.code != (rows[i].needed ? 2 : 0))
      AB_FAIL("%d a side, --alpha %s, %s: `%s` exited %d, expected %d: %s", rows[i].n, rows[i].alpha,
              rows[i].metrics ? rows[i].metrics : "every metric", p.cmd, p.code, rows[i].needed ? 2 : 0, p.err);
    if (rows[i].needed) {
      char want[64];
      snprintf(want, sizeof want, "with %s or more on each side", rows[i].needed);
      ASSERT_CONTAINS(p.err, "too few repeats");
      if (!rows[i].metrics)
        ASSERT_CONTAINS(p.err, "across 4 metrics");
      ASSERT_CONTAINS(p.err, want);
      ASSERT_STR(p.out, "");
    }
    proc_free(&p);
    cleanup_now();
  }
}

/* An improvement needs the interval wholly below 1 - threshold, the mirror of a regression:
 * a 3% speedup (16 a side: interval 0.957..0.982, significantly better) is below 1 and below
 * 1 + threshold, yet within 5%: no change. At a 1% threshold it is an improvement. */
TEST_T(compare_improvement_needs_the_interval_below_1_minus_threshold, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 16, 16, &(cx_side_t){ .micro = -0.03 });
  free(cx_compare(&pr, NULL, 0));
  json_t *d = cx_json(&pr), *m = cx_metric(d, ID_MICRO);
  ASSERT_DBL(jnum(m, "p_better"), <, 1e-3);
  ASSERT_DBL(cx_ci(d, ID_MICRO, 0), >=, 0.95);
  ASSERT_DBL(cx_ci(d, ID_MICRO, 1), <, 0.99);
  ASSERT_STR(jstr(m, "verdict"), "no change");
  ASSERT_STR(jstr(d, "verdict"), "no change");
  json_decref(d);
  free(cx_compare(&pr, L("--threshold", "1%"), 0));
  d = cx_json(&pr);
  ASSERT_STR(cx_verdict(d, ID_MICRO), "improvement");
  json_decref(d);
  cleanup_now();
}

/* The better direction has a Holm correction of its own over the same 4 gated metrics: the
 * 20% speedup's p_better_raw is the smallest of the four, so its p_better is 4 times it (at
 * most 1), and no metric's p_better is below its raw one. */
TEST_T(compare_improvement_p_is_holm_adjusted_over_the_gated_metrics, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 10, 10, &(cx_side_t){ .micro = -0.20 });
  free(cx_compare(&pr, NULL, 0));
  json_t *d = cx_json(&pr), *ms = json_object_get(d, "metrics"), *e;
  ASSERT_EQ(jnum(d, "gated"), 4);
  double raw = jnum(cx_metric(d, ID_MICRO), "p_better_raw");
  size_t i;
  json_array_foreach(ms, i, e) {
    if (!json_is_true(json_object_get(e, "gated")))
      continue;
    ASSERT_DBL(jnum(e, "p_better"), >=, jnum(e, "p_better_raw"));
    if (strcmp(jstr(e, "id"), ID_MICRO))
      ASSERT_DBL(jnum(e, "p_better_raw"), >, raw);
  }
  ASSERT_STR(cx_verdict(d, ID_MICRO), "improvement");
  double want = fmin(1, 4 * raw);
  ASSERT_DBL(fabs(jnum(cx_metric(d, ID_MICRO), "p_better") - want), <=, 1e-9 * want);
  json_decref(d);
  cleanup_now();
}

/* The overall verdict is the gravest metric's: regression > improvement > inconclusive > no
 * change. At a 10% threshold: CPU 10% slower is inconclusive; add micro 20% faster and the
 * run is an improvement; add p50 20% slower and it is a regression (exit 1). */
TEST_T(compare_overall_verdict_ranks_regression_improvement_inconclusive, 30)
{
  static const struct {
    cx_side_t s;
    const char *verdict;
    int code;
  } rows[] = { { { .cpu = 0.10 }, "inconclusive", 0 },
               { { .cpu = 0.10, .micro = -0.20 }, "improvement", 0 },
               { { .cpu = 0.10, .micro = -0.20, .p50 = 0.20 }, "regression", 1 } };
  for (int i = 0; i < 3; i++) {
    cx_pair_t pr;
    cx_sides(&pr, 10, 10, &rows[i].s);
    char md[PATH_MAX + 16], want[64];
    snprintf(md, sizeof md, "%s/summary.md", pr.base);
    char *out = cx_compare(&pr, L("--threshold", "10%", "--markdown", md), rows[i].code);
    json_t *d = cx_json(&pr);
    ASSERT_STR(cx_verdict(d, ID_CPU), "inconclusive");
    if (i >= 1)
      ASSERT_STR(cx_verdict(d, ID_MICRO), "improvement");
    if (i >= 2)
      ASSERT_STR(cx_verdict(d, ID_P50), "regression");
    if (strcmp(jstr(d, "verdict"), rows[i].verdict))
      AB_FAIL("row %d: the verdict is \"%s\", expected \"%s\"", i, jstr(d, "verdict"), rows[i].verdict);
    ASSERT_EQ(jnum(d, "exit"), rows[i].code);
    snprintf(want, sizeof want, "compare: %s: ", rows[i].verdict);
    ASSERT_CONTAINS(out, want);
    char *s = slurp(md);
    snprintf(want, sizeof want, "### archbench compare: %s%s%s\n", i == 2 ? "**" : "", rows[i].verdict, i == 2 ? "**" : "");
    ASSERT_CONTAINS(s, want);
    free(s);
    free(out);
    json_decref(d);
    cleanup_now();
  }
}
