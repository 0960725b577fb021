/* The result as the one seam (harness/result.h): a result in memory and its file are the
 * same document, the file reads back and writes out byte for byte, the typed view and the
 * rebuilt histograms say what the file says, a file that is not a result is refused naming
 * the field, the summary table is a function of the results alone, and the supervisor says
 * nothing on its own (its caller's callbacks do). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "internal.h"
#include "jresult.h"
#include "proc.h"
#include "result.h"
#include "test.h"

TEST(result_file_reads_back_and_writes_out_byte_for_byte)
{
  const char *out = run_baseline_pair();
  const char *files[] = { "baseline.threads.json", "baseline.procs.shm.json" };
  for (int i = 0; i < 2; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", out, files[i]);
    char *text = slurp(path);
    ab_result_t *r = load_view(out, files[i]);
    char *again = ab_result_dumps(r);
    ASSERT(again);
    if (strcmp(text, again))
      AB_FAIL("%s written back differs (%zu vs %zu bytes)", files[i], strlen(text), strlen(again));
    /* and what is written again reads as the same document */
    char p2[600];
    snprintf(p2, sizeof p2, "%s.again", path);
    ASSERT_EQ(ab_result_save(r, p2), 0);
    char *text2 = slurp(p2);
    ASSERT_STR(text2, text);
    free(text), free(again), free(text2);
    ab_result_free(r);
  }
}

TEST(result_view_says_what_the_file_says)
{
  const char *out = run_baseline_pair();
  ab_result_t *r = load_view(out, "baseline.procs.shm.json");
  json_t *doc = r->doc;
  ASSERT_STR(r->scenario, "baseline");
  ASSERT_STR(r->arch, "procs");
  ASSERT_STR(r->transport, "shm");
  ASSERT_EQ(r->status, AB_ST_OK);
  char label[64];
  ASSERT_STR(ab_result_label(r, label, sizeof label), "procs/shm");
  json_t *res = json_object_get(doc, "resources");
  ASSERT_DBL(r->cpu_percent, ==, json_number_value(json_object_get(res, "cpu_percent")));
  json_t *tot = json_object_get(res, "total");
  ASSERT_DBL(r->pss_kb, ==, json_number_value(json_object_get(tot, "pss_kb")));
  ASSERT_DBL(r->rss_kb, ==, json_number_value(json_object_get(tot, "rss_kb")));
  ASSERT_DBL(r->pss_kb, >, 0);
  ASSERT_DBL(r->duration_s, ==, json_number_value(json_object_get(doc, "duration_s")));
  ASSERT_EQ(r->nreqs, (int)json_array_size(json_object_get(doc, "requirements")));
  int64_t missed;
  ASSERT_EQ(ab_result_counter(r, "tick.missed_periods", &missed), 0);
  ASSERT_EQ(missed, (int64_t)json_number_value(json_object_get(json_object_get(doc, "counters"), "tick.missed_periods")));
  ASSERT_EQ(ab_result_counter(r, "no.such_counter", &missed), -ENOENT);
  ab_summary_t s;
  ASSERT_EQ(ab_result_metric(r, "no.such_metric", &s), -ENOENT);
  ab_result_free(r);
  cleanup_now();
}

/* The buckets give back every quantile the file states, and count, min and max exactly. */
TEST(result_histogram_rebuilds_the_stated_quantiles)
{
  const char *out = run_baseline_pair();
  ab_result_t *r = load_view(out, "baseline.threads.json");
  ab_summary_t stated, again;
  ASSERT_EQ(ab_result_metric(r, "tick.lateness_ns", &stated), 0);
  ASSERT(stated.count > 100);
  ab_hist_t *h = malloc(sizeof *h);
  ASSERT_EQ(ab_result_hist(r, "tick.lateness_ns", h), 0);
  ab_summarize(h, &again);
  ASSERT_EQ(again.count, stated.count);
  ASSERT_EQ(again.min, stated.min);
  ASSERT_EQ(again.max, stated.max);
  ASSERT_EQ(again.p50, stated.p50);
  ASSERT_EQ(again.p90, stated.p90);
  ASSERT_EQ(again.p99, stated.p99);
  ASSERT_EQ(again.p999, stated.p999);
  ASSERT_EQ(again.p9999, stated.p9999);
  ASSERT_DBL(fabs(again.mean - stated.mean), <=, 1e-6 * stated.mean);
  /* buckets that do not add up to the count are refused */
  json_t *hist = json_object_get(json_object_get(json_object_get(r->doc, "metrics"), "tick.lateness_ns"), "hist");
  json_t *first = json_array_get(json_array_get(hist, 0), 1);
  json_integer_set(first, json_integer_value(first) + 1);
  ASSERT_EQ(ab_result_hist(r, "tick.lateness_ns", h), -EINVAL);
  free(h);
  ab_result_free(r);
  cleanup_now();
}

/* In memory (handed over by ab_run_one) and in its file: the same document, value for value,
 * and the same view. */
TEST(result_in_memory_is_the_document_its_file_holds)
{
  const char *out = temp_path(1);
  char path[512];
  snprintf(path, sizeof path, "%s/baseline.threads.json", out);
  ab_run_opts_t o = { .sc = ab_scenario_find("baseline"), .arch = AB_ARCH_THREADS, .duration_ns = 300 * AB_NS_PER_MS,
                      .result_path = path, .latency_target_us = -1, .quiet = 1, .want_result = 1 };
  ASSERT(o.sc);
  ASSERT_EQ(ab_run_one(&o), AB_EXIT_OK);
  ASSERT(o.result);
  ab_result_t *f = load_view(out, "baseline.threads.json");
  if (!json_equal(o.result->doc, f->doc)) {
    char *a = ab_result_dumps(o.result), *b = ab_result_dumps(f);
    AB_FAIL("the file differs from the result in memory:\n%.600s\n---\n%.600s", a, b);
  }
  ASSERT_STR(o.result->scenario, f->scenario);
  ASSERT_STR(o.result->arch, f->arch);
  ASSERT_DBL(o.result->cpu_percent, ==, f->cpu_percent);
  ASSERT_DBL(o.result->duration_s, ==, f->duration_s);
  ASSERT_EQ(o.result->req_failed, f->req_failed);
  ab_result_free(o.result);
  ab_result_free(f);
  cleanup_now();
}

static void refused(const char *text, const char *field)
{
  char err[512];
  json_error_t je;
  json_t *doc = json_loads(text, 0, &je);
  ASSERT(doc);
  ab_result_t *r = ab_result_parse(doc, err, sizeof err);
  if (r)
    AB_FAIL("taken as a result: %s", text);
  ASSERT_CONTAINS(err, field);
}

TEST(result_not_a_result_is_refused_naming_the_field)
{
  const char *ok_tail = "\"scenario\":\"s\",\"arch\":\"threads\",\"transport\":\"ring\",\"status\":\"ok\","
                        "\"error\":null,\"started_at\":\"t\",\"duration_s\":1,\"metrics\":{},\"counters\":{},"
                        "\"resources\":{\"total\":{\"rss_kb\":1,\"pss_kb\":1},\"cpu_percent\":1},"
                        "\"requirements\":[]}";
  char text[2048];
  snprintf(text, sizeof text, "{\"schema\":\"archbench-result/1\",%s", ok_tail);
  char err[256];
  json_t *doc = json_loads(text, 0, NULL);
  ab_result_t *r = ab_result_parse(doc, err, sizeof err);
  if (!r)
    AB_FAIL("a minimal result refused: %s", err);
  ab_result_free(r);
  snprintf(text, sizeof text, "{\"schema\":\"archbench-result/9\",%s", ok_tail);
  refused(text, "schema");
  snprintf(text, sizeof text, "{%s", ok_tail);
  refused(text, "schema");
  refused("{\"schema\":\"archbench-result/1\",\"scenario\":\"s\",\"arch\":\"threads\",\"transport\":\"ring\","
          "\"status\":\"bogus\",\"error\":null,\"started_at\":\"t\",\"duration_s\":1,\"metrics\":{},"
          "\"counters\":{},\"resources\":{\"total\":{}},\"requirements\":[]}",
          "status");
  refused("{\"schema\":\"archbench-result/1\",\"scenario\":\"s\",\"arch\":\"threads\",\"transport\":\"ring\","
          "\"status\":\"ok\",\"error\":null,\"started_at\":\"t\",\"duration_s\":\"1s\",\"metrics\":{},"
          "\"counters\":{},\"resources\":{\"total\":{}},\"requirements\":[]}",
          "duration_s");
  refused("{\"schema\":\"archbench-result/1\",\"scenario\":\"s\",\"arch\":\"threads\",\"transport\":\"ring\","
          "\"status\":\"ok\",\"error\":null,\"started_at\":\"t\",\"duration_s\":1,\"metrics\":{},"
          "\"counters\":{},\"resources\":{\"total\":{\"rss_kb\":1,\"pss_kb\":null},\"cpu_percent\":1},"
          "\"requirements\":[{\"name\":\"x\",\"op\":\"<=\",\"limit\":1,\"value\":1,\"pass\":1}]}",
          "pass");
  refused("[1,2]", "object");
  /* figures a reader would take for numbers they are not */
  const char *bad_figures[][2] = {
    { "\"metrics\":{\"m\":{\"count\":-5,\"min\":0,\"max\":0,\"p50\":0,\"p90\":0,\"p99\":0,\"p999\":0,\"p9999\":0,\"mean\":0,\"stddev\":0,\"hist\":[]}},\"counters\":{}", "count" },
    { "\"metrics\":{\"m\":{\"count\":\"12\",\"min\":0,\"max\":0,\"p50\":0,\"p90\":0,\"p99\":0,\"p999\":0,\"p9999\":0,\"mean\":0,\"stddev\":0,\"hist\":[]}},\"counters\":{}", "count" },
    { "\"metrics\":{\"m\":{\"count\":1,\"min\":0,\"max\":0,\"p50\":1e300,\"p90\":0,\"p99\":0,\"p999\":0,\"p9999\":0,\"mean\":0,\"stddev\":0,\"hist\":[]}},\"counters\":{}", "p50" },
    { "\"metrics\":{\"m\":{\"count\":1,\"min\":0,\"max\":0,\"p50\":0,\"p90\":0,\"p99\":0,\"p999\":0,\"p9999\":0,\"mean\":0,\"stddev\":0,\"hist\":[[\"a\",\"b\"]]}},\"counters\":{}", "hist" },
    { "\"metrics\":{\"m\":3},\"counters\":{}", "metrics" },
    { "\"metrics\":{},\"counters\":{\"c\":\"14\"}", "counters" },
  };
  for (size_t i = 0; i < sizeof bad_figures / sizeof bad_figures[0]; i++) {
    snprintf(text, sizeof text,
             "{\"schema\":\"archbench-result/1\",\"scenario\":\"s\",\"arch\":\"threads\",\"transport\":\"ring\","
             "\"status\":\"ok\",\"error\":null,\"started_at\":\"t\",\"duration_s\":1,%s,"
             "\"resources\":{\"total\":{\"rss_kb\":1,\"pss_kb\":1},\"cpu_percent\":1},\"requirements\":[]}",
             bad_figures[i][0]);
    refused(text, bad_figures[i][1]);
  }
  refused("{\"schema\":\"archbench-result/1\",\"scenario\":\"s\",\"arch\":\"threads\",\"transport\":\"ring\","
          "\"status\":\"ok\",\"error\":null,\"started_at\":\"t\",\"duration_s\":1,\"metrics\":{},"
          "\"counters\":{},\"resources\":{\"total\":{\"rss_kb\":1,\"pss_kb\":1},\"cpu_percent\":1},"
          "\"requirements\":[{\"name\":\"x\",\"op\":\"<=\",\"limit\":1,\"value\":null,\"pass\":true}]}",
          "no value");
  /* a file: the path in the message, and no result for what does not parse */
  const char *bad = temp_path(0);
  FILE *f = fopen(bad, "w");
  fputs("{\"schema\": ", f);
  fclose(f);
  ASSERT(!ab_result_load(bad, err, sizeof err));
  ASSERT_CONTAINS(err, bad);
  cleanup_now();
}

/* The cells of summary.txt, checked against the JSON, and the whole table rebuilt from the
 * result files alone. */
static void cell_ns(char *buf, size_t len, double ns)
{
  if (ns < 1e4)
    snprintf(buf, len, "%.1fus", ns / 1e3);
  else if (ns < 1e6)
    snprintf(buf, len, "%.0fus", ns / 1e3);
  else
    snprintf(buf, len, "%.2fms", ns / 1e6);
}

TEST(summary_txt_is_the_table_of_the_result_files)
{
  const char *out = run_baseline_pair();
  char path[512];
  snprintf(path, sizeof path, "%s/summary.txt", out);
  char *text = slurp(path);
  ab__table_t tb = { 0 };
  const char *files[] = { "baseline.threads.json", "baseline.procs.shm.json" };
  for (int i = 0; i < 2; i++) {
    ab_result_t *r = load_view(out, files[i]);
    ab_table_add(&tb, r);
    /* the row of this run, cell by cell */
    char label[64], want[128], p50[16], p99[16];
    ab_summary_t s;
    ASSERT_EQ(ab_result_metric(r, "tick.lateness_ns", &s), 0);
    cell_ns(p50, sizeof p50, (double)s.p50);
    cell_ns(p99, sizeof p99, (double)s.p99);
    char p999[16];
    int64_t missed;
    cell_ns(p999, sizeof p999, (double)s.p999);
    ASSERT_EQ(ab_result_counter(r, "tick.missed_periods", &missed), 0);
    snprintf(want, sizeof want, "%-14s %-16s %9s %9s %9s %6lld", "baseline", ab_result_label(r, label, sizeof label), p50,
             p99, p999, (long long)missed);
    ASSERT_CONTAINS(text, want);
    json_t *res = json_object_get(r->doc, "resources");
    snprintf(want, sizeof want, " %6.1f %7.1f  no requirements",
             json_number_value(json_object_get(res, "cpu_percent")),
             json_number_value(json_object_get(json_object_get(res, "total"), "pss_kb")) / 1024.0);
    ASSERT_CONTAINS(text, want);
    ab_result_free(r);
  }
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ab_table_write(&tb, f);
  fclose(f);
  ASSERT_STR(buf, text);
  free(buf), free(text), free(tb.rows);
  cleanup_now();
}

static char said[4096];
static void on_message(void *arg, const char *msg)
{
  (void)arg;
  size_t n = strlen(said);
  snprintf(said + n, sizeof said - n, "%s\n", msg);
}

/* A run that cannot start says why through on_message, and nothing on stderr. */
TEST(supervisor_prints_nothing_its_caller_says_it)
{
  const char *errf = temp_path(0);
  ab_run_opts_t o = { .sc = ab_scenario_find("baseline"), .arch = AB_ARCH_THREADS, .duration_ns = AB_NS_PER_S,
                      .latency_target_us = -1, .nparams = 1, .on_message = on_message };
  o.params[0] = "period=1h";
  fflush(stderr);
  int saved = dup(2), fd = open(errf, O_WRONLY | O_TRUNC);
  ASSERT(saved >= 0 && fd >= 0);
  dup2(fd, 2);
  int code = ab_run_one(&o);
  fflush(stderr);
  dup2(saved, 2);
  close(fd);
  ASSERT_EQ(code, AB_EXIT_USAGE);
  ASSERT_CONTAINS(said, "period");
  char *e = slurp(errf);
  if (e[0])
    AB_FAIL("the supervisor wrote to stderr: %s", e);
  free(e);
  cleanup_now();
}

/* --per-instance: each instance's costs and activations, only when asked. */
TEST(cli_per_instance_adds_each_instance_only_when_asked)
{
  const char *out = temp_path(1);
  proc_t p;
  run_ab(&p, L("run", "baseline", "--duration", "300ms", "--out", out, "--quiet", "--per-instance"), 60);
  ASSERT_EQ(p.code, 0);
  proc_free(&p);
  ab_result_t *r = load_view(out, "baseline.threads.json");
  json_t *a = json_object_get(json_object_get(json_object_get(r->doc, "resources"), "instances"), "tick");
  ASSERT_EQ((int)json_array_size(a), 1);
  ab_summary_t s;
  ASSERT_EQ(ab_result_metric(r, "tick.step_ns", &s), 0);
  ASSERT_EQ(json_integer_value(json_object_get(json_array_get(a, 0), "steps")), (json_int_t)s.count);
  ab_result_free(r);
  run_ab(&p, L("run", "baseline", "--duration", "300ms", "--out", out, "--quiet"), 60);
  ASSERT_EQ(p.code, 0);
  proc_free(&p);
  r = load_view(out, "baseline.threads.json");
  ASSERT(!json_object_get(json_object_get(r->doc, "resources"), "instances"));
  ab_result_free(r);
  cleanup_now();
}
