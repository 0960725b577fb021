/* What compare reads as a side and what it tells: repetitions inside one micro.json, a
 * results/ folder with its `latest` link, a run's report/ folder; the JUnit counts, --quiet,
 * the notes and the p of a row. Through the binary, on tests/cmpfix.h's hand-made sides.
 */
#include <unistd.h>

#include "cmpfix.h"
#include "jresult.h"
#include "proc.h"
#include "test.h"

/* Whether some line of text starts with `start` and holds `part`. */
static int cx_has_line(const char *text, const char *start, const char *part)
{
  size_t ls = strlen(start);
  for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
    const char *end = strchr(l, '\n'), *hit = strstr(l, part);
    if (!strncmp(l, start, ls) && hit && (!end || hit < end))
      return 1;
  }
  return 0;
}

/* ---- what a side is --------------------------------------------------------------------- */

/* A micro.json run with --benchmark_repetitions=3 is one repeat: its sample is the median of
 * the three, not the first, the last nor the mean (the middle one moves about the rows). */
TEST_T(compare_micro_repetitions_in_one_file_give_their_median, 30)
{
  cx_pair_t pr;
  const char *top = temp_path(1);
  snprintf(pr.base, sizeof pr.base, "%s/base", top);
  snprintf(pr.new_, sizeof pr.new_, "%s/new", top);
  for (int s = 0; s < 2; s++)
    for (int k = 1; k <= 6; k++) {
      char run[PATH_MAX];
      double mid = 5000 + 100 * k, v[3];
      for (int i = 0; i < 3; i++) /* low, middle and high, the middle at row (k + 1) % 3 */
        v[(k + i) % 3] = i == 0 ? mid / 2 : i == 1 ? mid : mid * 3;
      snprintf(run, sizeof run, "%.4000s/run%02d", s ? pr.new_ : pr.base, k);
      if ((k == 1 && mkdir(s ? pr.new_ : pr.base, 0755)) || mkdir(run, 0755))
        AB_FAIL("mkdir %s: %s", run, strerror(errno));
      cx_micro_reps(run, v, 3, 0);
    }
  free(cx_compare(&pr, NULL, 0));
  json_t *d = cx_json(&pr), *m = cx_metric(d, ID_MICRO);
  ASSERT_EQ(json_array_size(json_object_get(d, "metrics")), 1);
  ASSERT_EQ(jnum(m, "n_base"), 6);
  json_t *b = json_object_get(m, "base_samples");
  ASSERT_EQ(json_array_size(b), 6);
  for (int k = 1; k <= 6; k++) {
    double got = json_number_value(json_array_get(b, k - 1));
    if (got != 5000 + 100 * k)
      AB_FAIL("run%02d's sample is %.9g, expected the median of its repetitions, %d", k, got, 5000 + 100 * k);
  }
  ASSERT_DBL(jnum(m, "base"), ==, 5350);
  json_decref(d);
  cleanup_now();
}

/* A side given as results/ holds results/latest, a link to one of its runs: that run counts
 * once (six runs, six samples). A side given through a link is read all the same. */
TEST_T(compare_latest_link_in_a_side_counts_its_run_once, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 6, 6, &(cx_side_t){ 0 });
  char link[PATH_MAX + 16];
  snprintf(link, sizeof link, "%s/latest", pr.base);
  ASSERT_EQ(symlink("run06", link), 0);
  cx_pair_t via = pr;
  snprintf(via.new_, sizeof via.new_, "%.4000s-latest", pr.new_);
  ASSERT_EQ(symlink(pr.new_, via.new_), 0);
  free(cx_compare(&via, NULL, 0));
  json_t *d = cx_json(&pr);
  ASSERT_EQ(json_array_size(json_object_get(d, "base")), 6);
  ASSERT_EQ(json_array_size(json_object_get(d, "new")), 6);
  static const char *const ids[] = { ID_P50, ID_CPU, ID_MICRO };
  for (int i = 0; i < 3; i++) {
    json_t *m = cx_metric(d, ids[i]);
    ASSERT_EQ(jnum(m, "n_base"), 6);
    ASSERT_EQ(jnum(m, "n_new"), 6);
  }
  json_decref(d);
  cleanup_now();
}

/* `archbench report` writes RUN_DIR/report/: never a run of the side, whatever lies in it
 * (here a stray copy of a result beside the page). */
TEST_T(compare_report_folder_of_a_run_is_never_read_as_a_run, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 6, 6, &(cx_side_t){ .flat = 1 });
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/report", pr.base);
  ASSERT_EQ(mkdir(path, 0755), 0);
  snprintf(path, sizeof path, "%s/report/index.html", pr.base);
  FILE *f = fopen(path, "w");
  ASSERT(f != NULL);
  fputs("<html></html>\n", f);
  fclose(f);
  snprintf(path, sizeof path, "%s/report/" CX_KEY ".json", pr.base);
  cx_result(path, "threads", cx_hist_metric(1e5, 2.5e5, 9e5, 1000), 40, NULL, NULL, NULL);
  free(cx_compare(&pr, NULL, 0));
  json_t *d = cx_json(&pr);
  ASSERT_EQ(json_array_size(json_object_get(d, "base")), 1);
  ASSERT_STR(json_string_value(json_array_get(json_object_get(d, "base"), 0)), pr.base);
  ASSERT_EQ(jnum(cx_metric(d, ID_P50), "n_base"), 6);
  ASSERT_EQ(jnum(cx_metric(d, ID_CPU), "n_base"), 6);
  json_decref(d);
  cleanup_now();
}

/* ---- what it tells ---------------------------------------------------------------------- */

/* The value of attribute attr of the first <tag ...> in xml ("" when absent). */
static const char *cx_attr(const char *xml, const char *tag, const char *attr, char *buf, size_t len)
{
  char open[64], key[64];
  snprintf(open, sizeof open, "<%s ", tag);
  snprintf(key, sizeof key, " %s=\"", attr);
  const char *t = strstr(xml, open), *end = t ? strchr(t, '>') : NULL, *a = t ? strstr(t, key) : NULL;
  buf[0] = 0;
  if (a && a < end) {
    a += strlen(key);
    snprintf(buf, len, "%.*s", (int)(strcspn(a, "\"")), a);
  }
  return buf;
}

/* Two regressions: the JUnit's <testsuites> and its <testsuite> both say failures="2" (CI
 * tools read one or the other), of 5 tests, the ungated p99.9 skipped. */
TEST_T(compare_junit_suites_count_every_regression_as_a_failure, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 10, 10, &(cx_side_t){ .p50 = 0.20, .micro = 0.20 });
  char junit[PATH_MAX + 16], v[32];
  snprintf(junit, sizeof junit, "%s/junit.xml", pr.base);
  free(cx_compare(&pr, L("--junit", junit), 1));
  json_t *d = cx_json(&pr);
  ASSERT_EQ(cx_count(d, "regression"), 2);
  json_decref(d);
  char *x = slurp(junit);
  static const char *const tags[] = { "testsuites", "testsuite" };
  for (int i = 0; i < 2; i++) {
    if (strcmp(cx_attr(x, tags[i], "failures", v, sizeof v), "2"))
      AB_FAIL("<%s failures=\"%s\">, expected 2: %.600s", tags[i], v, x);
    ASSERT_STR(cx_attr(x, tags[i], "tests", v, sizeof v), "5");
    ASSERT_STR(cx_attr(x, tags[i], "skipped", v, sizeof v), "1");
  }
  ASSERT_STR(cx_attr(x, "testsuite", "errors", v, sizeof v), "0");
  int fails = 0;
  for (const char *s = x; (s = strstr(s, "<failure ")); s++)
    fails++;
  ASSERT_EQ(fails, 2);
  free(x);
  cleanup_now();
}

/* --quiet leaves out the rows of no change and the ungated, never a regression, an
 * improvement or an inconclusive one (threshold 10%: p50 20% slower, micro 20% faster, CPU
 * 10% slower). */
TEST_T(compare_quiet_keeps_every_row_that_says_something, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 10, 10, &(cx_side_t){ .p50 = 0.20, .micro = -0.20, .cpu = 0.10 });
  char *out = cx_compare(&pr, L("--threshold", "10%", "--quiet"), 1);
  static const struct {
    const char *verdict, *id;
  } rows[] = { { "regression ", ID_P50 }, { "improvement ", ID_MICRO }, { "inconclusive ", ID_CPU } };
  for (int i = 0; i < 3; i++)
    if (!cx_has_line(out, rows[i].verdict, rows[i].id))
      AB_FAIL("--quiet: no row \"%s... %s\" on stdout: %s", rows[i].verdict, rows[i].id, out);
  ASSERT(!strstr(out, ID_P99) && !strstr(out, ID_P999));
  ASSERT(cx_has_line(out, "compare: regression: 1 regression, 1 improvement, 1 inconclusive", ""));
  free(out);
  cleanup_now();
}

/* A result with faults injected on purpose, and one of a run that ended partial, are said:
 * a "note: ..." line on stdout, compare.json's "notes" and the Markdown's Notes. */
TEST_T(compare_notes_of_faults_and_partial_runs_reach_every_output, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 6, 6, &(cx_side_t){ 0 });
  char path[PATH_MAX + 32], md[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/run02/" CX_KEY ".json", pr.new_);
  cx_set(path, "faults", json_pack("[s]", "slow:inner:2ms"));
  snprintf(path, sizeof path, "%s/run03/" CX_KEY ".json", pr.base);
  cx_set(path, "status", json_string("partial"));
  snprintf(md, sizeof md, "%s/summary.md", pr.base);
  char *out = cx_compare(&pr, L("--markdown", md), 0);
  json_t *d = cx_json(&pr);
  char *notes = json_dumps(json_object_get(d, "notes"), 0), *s = slurp(md);
  static const struct {
    const char *start, *part;
  } want[] = { { "note: NEW: " CX_KEY, "slow:inner:2ms" }, { "note: BASE: " CX_KEY, "partial" } };
  ASSERT_CONTAINS(s, "**Notes**");
  for (int i = 0; i < 2; i++) {
    if (!cx_has_line(out, want[i].start, want[i].part))
      AB_FAIL("no line \"%s...%s\" on stdout: %s", want[i].start, want[i].part, out);
    ASSERT_CONTAINS(notes, want[i].start + strlen("note: "));
    ASSERT_CONTAINS(notes, want[i].part);
    if (!cx_has_line(s, "- ", want[i].part))
      AB_FAIL("the Markdown has no note \"- ...%s\": %s", want[i].part, s);
  }
  free(s), free(notes), free(out);
  json_decref(d);
  cleanup_now();
}

/* BASE and NEW that ran the scenario with other params, or one directory given as both sides,
 * measure nothing comparable: said in a note, the comparison made all the same. */
TEST_T(compare_notes_params_differing_across_sides_and_one_directory_twice, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 6, 6, &(cx_side_t){ 0 });
  for (int k = 1; k <= 6; k++) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%.4000s/run%02d/" CX_KEY ".json", pr.new_, k);
    cx_set(path, "params/period", json_string("2ms"));
  }
  static const char *const want[] = { "BASE and NEW ran " CX_KEY " with different params",
                                      "BASE and NEW are the same directory" };
  for (int i = 0; i < 2; i++) {
    if (i)
      strcpy(pr.base, pr.new_);
    char *out = cx_compare(&pr, NULL, 0);
    json_t *d = cx_json(&pr);
    char *notes = json_dumps(json_object_get(d, "notes"), 0);
    ASSERT_CONTAINS(notes, want[i]);
    ASSERT(!strstr(notes, "differ in their params")); /* the repeats of each side agree */
    if (!cx_has_line(out, "note: ", want[i]))
      AB_FAIL("no note \"%s\" on stdout: %s", want[i], out);
    free(notes), free(out);
    json_decref(d);
  }
  cleanup_now();
}

/* The p in a row is its direction's: for a metric NEW made faster (ratio below 1) the
 * better-direction p, here a 3% speedup within the threshold (no change), whose worse-direction
 * p is near 1. */
TEST_T(compare_row_shows_the_p_of_its_direction, 30)
{
  cx_pair_t pr;
  cx_sides(&pr, 16, 16, &(cx_side_t){ .micro = -0.03 });
  char *out = cx_compare(&pr, NULL, 0), want[32], line[512];
  json_t *d = cx_json(&pr), *m = cx_metric(d, ID_MICRO);
  ASSERT_STR(jstr(m, "verdict"), "no change");
  ASSERT_DBL(jnum(m, "p"), >, 0.5);
  const char *l = strstr(out, " " ID_MICRO " ");
  ASSERT(l != NULL);
  snprintf(line, sizeof line, "%.*s", (int)strcspn(l, "\n"), l);
  snprintf(want, sizeof want, " %.2g ", jnum(m, "p_better"));
  ASSERT_CONTAINS(line, want);
  free(out);
  json_decref(d);
  cleanup_now();
}
