/* Samples and run directories for the tests of `compare` (tests/test_compare_stats.c,
 * test_compare.c, test_compare_input.c): a seeded generator, so that every sample and so every
 * expectation is the same on every run; and two sides of hand-made repeats, each repeat a
 * subdirectory holding one result file (robot.threads.json, with just the fields
 * harness/result_read.c requires, and params as every real result has) and a micro.json
 * (Google Benchmark's JSON). Their figures lie around fixed middles with +-3% noise, and a
 * shift is planted in NEW where a test wants one. The five metrics of a side:
 *   robot.threads:inner.step_ns.p50, .p99, .p999, robot.threads:cpu_pct, micro:pipe/procs/rtt/8
 * Then running the binary on two sides and reading its compare.json, each field checked.
 */
#ifndef AB_TEST_CMPFIX_H
#define AB_TEST_CMPFIX_H

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>

#include "jresult.h"
#include "proc.h"
#include "result.h"
#include "test.h"

#define CX_KEY "robot.threads"
#define CX_MET "inner.step_ns"
#define CX_BENCH "pipe/procs/rtt/8"
#define ID_P50 CX_KEY ":" CX_MET ".p50"
#define ID_P99 CX_KEY ":" CX_MET ".p99"
#define ID_P999 CX_KEY ":" CX_MET ".p999"
#define ID_CPU CX_KEY ":cpu_pct"
#define ID_MICRO "micro:" CX_BENCH
#define CX_TIMEOUT_S 30.0

static inline uint64_t cf_next(uint64_t *s) /* splitmix64 */
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double cf_unif(uint64_t *s)
{
  return (cf_next(s) >> 11) * 0x1p-53;
}

/* n values around mid, each mid * (1 + u) with u uniform in [-noise, +noise). */
static inline void cf_fill(double *v, int n, double mid, double noise, uint64_t *s)
{
  for (int i = 0; i < n; i++)
    v[i] = mid * (1 + noise * (2 * cf_unif(s) - 1));
}

/* ---- hand-made sides ------------------------------------------------------------------- */

/* A side: n repeats; shifts are fractions added to NEW's middles (0.2: 20% slower). */
typedef struct cx_side {
  int n;
  uint64_t seed;
  double p50, p99, p999, cpu, micro; /* shifts */
  long count;         /* samples behind each repeat's figures; 0: 1000 (too few to gate p999) */
  long count_last;    /* the last repeat's count instead, when not 0 */
  int flat;           /* repeats as CX_KEY.r<k>.json in the directory itself (no micro.json) */
  int micro_real_us;  /* micro.json without p50_ns: real_time in microseconds */
} cx_side_t;

static inline void cx_dump(json_t *d, const char *path)
{
  if (json_dump_file(d, path, JSON_INDENT(1)))
    AB_FAIL("cannot write %s: %s", path, strerror(errno));
  json_decref(d);
}

static inline json_t *cx_hist_metric(double p50, double p99, double p999, long count)
{
  long long a = llround(p50), b = llround(p99), c = llround(p999);
  return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:[[I, I], [I, I]]}", "count",
                   (json_int_t)count, "min", (json_int_t)a / 2, "max", (json_int_t)c, "p50", (json_int_t)a, "p90",
                   (json_int_t)b, "p99", (json_int_t)b, "p999", (json_int_t)c, "p9999", (json_int_t)c, "mean", (double)a,
                   "stddev", (double)a / 10, "hist", (json_int_t)a, (json_int_t)(count - 1), (json_int_t)c, (json_int_t)1);
}

/* A result file: status "ok" unless given (then with error), schema AB_RESULT_SCHEMA unless given. */
static inline void cx_result(const char *path, const char *arch, json_t *metric, double cpu, const char *status,
                             const char *error, const char *schema)
{
  json_t *d = json_object();
  json_object_set_new(d, "schema", json_string(schema ? schema : AB_RESULT_SCHEMA));
  json_object_set_new(d, "scenario", json_string("robot"));
  json_object_set_new(d, "arch", json_string(arch));
  json_object_set_new(d, "transport", json_string("ring"));
  json_object_set_new(d, "status", json_string(status ? status : "ok"));
  json_object_set_new(d, "error", error ? json_string(error) : json_null());
  json_object_set_new(d, "gil", json_null());
  json_object_set_new(d, "sweep", json_null());
  json_object_set_new(d, "started_at", json_string("2024-01-01T00:00:00Z"));
  json_object_set_new(d, "duration_s", json_real(1.0));
  json_object_set_new(d, "params", json_pack("{s:s}", "period", "1ms"));
  json_object_set_new(d, "metrics", json_pack("{s:o}", CX_MET, metric));
  json_object_set_new(d, "counters", json_object());
  json_object_set_new(d, "resources", json_pack("{s:f, s:{s:f, s:f}}", "cpu_percent", cpu, "total", "rss_kb", 2048.0,
                                                "pss_kb", 1024.0));
  json_object_set_new(d, "requirements", json_array());
  json_object_set_new(d, "table", json_object());
  cx_dump(d, path);
}

/* micro.json with CX_BENCH repeated k times (--benchmark_repetitions), at ns[i] per op (p50_ns,
 * or real_time in us), and an aggregate row whose figure is far off: only iterations are
 * samples. */
static inline void cx_micro_reps(const char *dir, const double *ns, int k, int real_us)
{
  char path[PATH_MAX + 16];
  json_t *rows = json_array();
  for (int i = 0; i < k; i++) {
    json_t *it = json_pack("{s:s, s:s, s:i, s:i, s:I, s:f, s:f, s:s}", "name", CX_BENCH, "run_type", "iteration",
                           "repetitions", k, "repetition_index", i, "iterations", (json_int_t)100000, "real_time",
                           real_us ? ns[i] / 1000 : ns[i] * 1.3, "cpu_time", ns[i], "time_unit", real_us ? "us" : "ns");
    if (!real_us)
      json_object_set_new(it, "p50_ns", json_real(ns[i]));
    json_array_append_new(rows, it);
  }
  json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:f, s:f, s:s}", "name", CX_BENCH "_mean", "run_type",
                                        "aggregate", "aggregate_name", "mean", "real_time", ns[0] * 50, "cpu_time",
                                        ns[0] * 50, "time_unit", "ns"));
  snprintf(path, sizeof path, "%s/micro.json", dir);
  cx_dump(json_pack("{s:{s:s, s:i}, s:o}", "context", "date", "2024-01-01T00:00:00+00:00", "num_cpus", 2,
                    "benchmarks", rows), path);
}

static inline void cx_micro(const char *dir, double ns, int real_us) { cx_micro_reps(dir, &ns, 1, real_us); }

/* dir filled with side s's repeats. */
static inline void cx_write_side(const char *dir, const cx_side_t *s)
{
  uint64_t rng = s->seed;
  for (int k = 1; k <= s->n; k++) {
    double v[5];
    cf_fill(v, 5, 1, 0.03, &rng);
    long count = k == s->n && s->count_last ? s->count_last : s->count ? s->count : 1000;
    json_t *m = cx_hist_metric(100000 * (1 + s->p50) * v[0], 250000 * (1 + s->p99) * v[1],
                               900000 * (1 + s->p999) * v[2], count);
    char run[PATH_MAX], path[PATH_MAX + 32];
    if (s->flat) {
      snprintf(path, sizeof path, "%s/" CX_KEY ".r%d.json", dir, k);
    } else {
      snprintf(run, sizeof run, "%s/run%02d", dir, k);
      if (mkdir(run, 0755))
        AB_FAIL("mkdir %s: %s", run, strerror(errno));
      snprintf(path, sizeof path, "%s/" CX_KEY ".json", run);
      cx_micro(run, 5000 * (1 + s->micro) * v[4], s->micro_real_us);
    }
    cx_result(path, "threads", m, 40 * (1 + s->cpu) * v[3], NULL, NULL, NULL);
  }
}

/* The JSON file at path with the member at keys ("resources/cpu_percent": '/' between the
 * keys, as a result's own keys hold dots) set to v (a new reference, taken). */
static inline void cx_set(const char *path, const char *keys, json_t *v)
{
  json_error_t je;
  json_t *d = json_load_file(path, 0, &je), *o = d;
  if (!d)
    AB_FAIL("%s: %s", path, je.text);
  char k[256];
  for (const char *s = keys, *slash; (slash = strchr(s, '/')); s = slash + 1) {
    snprintf(k, sizeof k, "%.*s", (int)(slash - s), s);
    if (!(o = json_object_get(o, k)))
      AB_FAIL("%s has no %s", path, keys);
  }
  json_object_set_new(o, strrchr(keys, '/') ? strrchr(keys, '/') + 1 : keys, v);
  cx_dump(d, path);
}

typedef struct cx_pair {
  char base[PATH_MAX], new_[PATH_MAX];
} cx_pair_t;

/* Two fresh sides in a temporary directory, <tmp>/base and <tmp>/new, written as b and n say. */
static inline void cx_sides_of(cx_pair_t *pr, const cx_side_t *b, const cx_side_t *n)
{
  const char *top = temp_path(1);
  snprintf(pr->base, sizeof pr->base, "%s/base", top);
  snprintf(pr->new_, sizeof pr->new_, "%s/new", top);
  if (mkdir(pr->base, 0755) || mkdir(pr->new_, 0755))
    AB_FAIL("mkdir in %s: %s", top, strerror(errno));
  cx_write_side(pr->base, b);
  cx_write_side(pr->new_, n);
}

/* BASE (seed 1) and NEW (seed 2) with nb and nn repeats; nw's shifts and count_last apply to
 * NEW, its count and layout to both. */
static inline void cx_sides(cx_pair_t *pr, int nb, int nn, const cx_side_t *nw)
{
  cx_side_t n = *nw;
  n.n = nn, n.seed = 2;
  cx_sides_of(pr, &(cx_side_t){ .n = nb, .seed = 1, .count = nw->count, .flat = nw->flat }, &n);
}

/* ---- running it and reading what it wrote ---------------------------------------------- */

/* `archbench compare BASE NEW extra...`, expecting exit code; its stdout (malloc'd). */
static inline char *cx_compare(const cx_pair_t *pr, const char *const *extra, int code)
{
  const char *args[24] = { "compare", pr->base, pr->new_ };
  int n = 3;
  for (int i = 0; extra && extra[i]; i++) {
    ASSERT(n < 23);
    args[n++] = extra[i];
  }
  args[n] = NULL;
  proc_t p;
  run_ab(&p, args, CX_TIMEOUT_S);
  if (p.code != code)
    AB_FAIL("`%s` exited %d, expected %d; stdout: %.3000s stderr: %.1000s", p.cmd, p.code, code, p.out, p.err);
  char *out = strdup(p.out);
  proc_free(&p);
  return out;
}

static inline json_t *cx_load(const char *path)
{
  json_error_t je;
  json_t *d = json_load_file(path, 0, &je);
  if (!d)
    AB_FAIL("%s: %s", path, je.text);
  ASSERT_STR(jstr(d, "schema"), "archbench-compare/1");
  return d;
}

/* NEW/compare.json */
static inline json_t *cx_json(const cx_pair_t *pr)
{
  char path[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/compare.json", pr->new_);
  return cx_load(path);
}

/* The metric id of compare.json, every field there; fails listing the ids. */
static inline json_t *cx_metric(json_t *doc, const char *id)
{
  json_t *ms = json_object_get(doc, "metrics"), *m;
  size_t i;
  char ids[1024] = "";
  json_array_foreach(ms, i, m) {
    if (!strcmp(jstr(m, "id"), id)) {
      jnum(m, "n_base"), jnum(m, "n_new"), jstr(m, "verdict"), jstr(m, "why");
      if (!json_is_array(json_object_get(m, "ci")) || json_array_size(json_object_get(m, "ci")) != 2)
        AB_FAIL("%s: \"ci\" is not [lo, hi]", id);
      if (!json_is_boolean(json_object_get(m, "gated")))
        AB_FAIL("%s: \"gated\" is not true or false", id);
      return m;
    }
    snprintf(ids + strlen(ids), sizeof ids - strlen(ids), " %s", jstr(m, "id"));
  }
  AB_FAIL("compare.json has no metric %s; it has:%s", id, ids);
  return NULL;
}

static inline const char *cx_verdict(json_t *doc, const char *id) { return jstr(cx_metric(doc, id), "verdict"); }

static inline double cx_ci(json_t *doc, const char *id, int k)
{
  return json_number_value(json_array_get(json_object_get(cx_metric(doc, id), "ci"), k));
}

/* The count of verdict v in "counts", and of metrics so judged in "metrics": they agree. */
static inline int cx_count(json_t *doc, const char *v)
{
  json_t *ms = json_object_get(doc, "metrics"), *m;
  size_t i;
  int n = 0;
  json_array_foreach(ms, i, m) n += !strcmp(jstr(m, "verdict"), v);
  ASSERT_EQ(jnum(jobj(doc, "counts"), v), n);
  return n;
}

#endif
