/* The report's rules after its audit, one test each, on hand-made results and micro.json:
 * the figures are invented, so every expectation is exact and none is a latency of this
 * machine. Unplain names refused, free text escaped, a price's p50, the machine as the limit,
 * the worst repeat, ties on CPU's standard deviation, the matrix's columns, repeats' params,
 * a sweep's largest point, "about" within 1.5x.
 */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hist.h"
#include "proc.h"
#include "repfix.h"
#include "test.h"

#define LIMIT_NS 1000000 /* robot's inner.lateness_ns.p999 <= 1 ms */
#define EXEC_TIMEOUT_S 30.0

/* ---- directories, removed with whatever the report put in them -------------------------------- */

static char made[16][64];
static int nmade;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) { return remove(path), 0; }

/* A passing test ends in _exit(0), which runs no atexit handler: it calls this itself. */
static void done(void)
{
  cleanup_now();
  for (int i = 0; i < nmade; i++)
    nftw(made[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  nmade = 0;
}

static const char *tdir(void)
{
  static int registered;
  if (!registered++)
    atexit(done);
  ASSERT(nmade < 16);
  snprintf(made[nmade], sizeof made[0], "/tmp/ab-audit-XXXXXX");
  if (!mkdtemp(made[nmade]))
    AB_FAIL("mkdtemp: %s", strerror(errno));
  return made[nmade++];
}

/* ---- hand-made results --------------------------------------------------------------------- */

typedef struct fx_req { const char *name, *op; double limit, value; } fx_req_t;

typedef struct fx {
  const char *scenario, *arch;
  const char *role;      /* table.role, NULL: none */
  double cpu, pss_mb;
  int rep, of;           /* "repeat": index and count; 0: not repeated */
  const char *metric;    /* a lateness metric with this p999 (ns), NULL: none */
  long long p999;
  fx_req_t req[4];       /* up to the first without a name */
  const char *extra;     /* a JSON object merged into the document (source, params, sweep, claims) */
  const char *file;      /* the file's name; NULL: <scenario>.<arch>.ring[.r<rep>].json */
} fx_t;

static int fx_meets(const char *op, double v, double limit)
{
  return !strcmp(op, "<=") ? v <= limit : !strcmp(op, "<") ? v < limit : !strcmp(op, ">=") ? v >= limit : v == limit;
}

static void fx_write(const char *dir, const fx_t *f)
{
  json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:s, s:n, s:n, s:n, s:s, s:f, s:{}, s:{}, s:{s:f, s:{s:f, s:f}}, s:[], s:{}}",
                        "schema", AB_RESULT_SCHEMA, "scenario", f->scenario, "arch", f->arch, "transport", "ring",
                        "status", "ok", "error", "gil", "sweep", "started_at", "2024-01-01T00:00:00Z", "duration_s", 1.0,
                        "metrics", "counters", "resources", "cpu_percent", f->cpu, "total", "rss_kb", f->pss_mb * 2048,
                        "pss_kb", f->pss_mb * 1024, "requirements", "table");
  ASSERT(d);
  if (f->metric)
    json_object_set_new(json_object_get(d, "metrics"), f->metric, fx_metric(f->p999));
  for (int i = 0; i < 4 && f->req[i].name; i++) {
    const fx_req_t *q = &f->req[i];
    json_array_append_new(json_object_get(d, "requirements"),
                          json_pack("{s:s, s:s, s:f, s:o, s:b}", "name", q->name, "op", q->op, "limit", q->limit, "value",
                                    isnan(q->value) ? json_null() : json_real(q->value), "pass",
                                    fx_meets(q->op, q->value, q->limit)));
  }
  if (f->role)
    json_object_set_new(json_object_get(d, "table"), "role", json_string(f->role));
  if (f->rep)
    json_object_set_new(d, "repeat", json_pack("{s:i, s:i}", "index", f->rep, "of", f->of));
  if (f->extra) {
    json_error_t je;
    json_t *x = json_loads(f->extra, 0, &je);
    if (!x)
      AB_FAIL("fixture JSON %s: %s", f->extra, je.text);
    json_object_update(d, x);
    json_decref(x);
  }
  char path[PATH_MAX], rep[16] = "";
  if (f->rep)
    snprintf(rep, sizeof rep, ".r%d", f->rep);
  if (f->file)
    snprintf(path, sizeof path, "%s/%s", dir, f->file);
  else
    snprintf(path, sizeof path, "%s/%s.%s.ring%s.json", dir, f->scenario, f->arch, rep);
  if (json_dump_file(d, path, JSON_INDENT(1)))
    AB_FAIL("cannot write %s: %s", path, strerror(errno));
  json_decref(d);
}

/* A robot-like result: role inner, its p999 lateness (ns) and the requirement on it. */
static fx_t robot(const char *arch, double cpu, double pss, double p999)
{
  return (fx_t){ .scenario = "robot", .arch = arch, .role = "inner", .cpu = cpu, .pss_mb = pss,
                 .metric = "inner.lateness_ns", .p999 = (long long)p999,
                 .req = { { "inner.lateness_ns.p999", "<=", LIMIT_NS, p999 } } };
}

static void put(const char *dir, fx_t f) { fx_write(dir, &f); }

/* The machine's floor on a runtime: a baseline whose tick lateness p999 is p999 ns. */
static void baseline(const char *dir, const char *arch, double p999, int rep, int of)
{
  fx_write(dir, &(fx_t){ .scenario = "baseline", .arch = arch, .role = "tick", .cpu = 1, .pss_mb = 1, .rep = rep,
                         .of = of, .metric = "tick.lateness_ns", .p999 = (long long)p999 });
}

/* ---- micro.json ------------------------------------------------------------------------------ */

/* One plain entry of Google Benchmark's JSON. */
static json_t *bench(const char *name, double real_time, const char *unit)
{
  return json_pack("{s:s, s:s, s:s, s:I, s:f, s:f, s:s}", "name", name, "run_name", name, "run_type", "iteration",
                   "iterations", (json_int_t)1000, "real_time", real_time, "cpu_time", real_time, "time_unit", unit);
}

/* dir/micro.json holding these entries (taken). */
static void micro_write(const char *dir, json_t *benchmarks)
{
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/micro.json", dir);
  json_t *d = json_pack("{s:{}, s:o}", "context", "benchmarks", benchmarks);
  if (json_dump_file(d, path, JSON_INDENT(1)))
    AB_FAIL("cannot write %s", path);
  json_decref(d);
}

/* ---- what the page says ---------------------------------------------------------------------- */

/* The claims table (or the price table) of rp, as HTML. */
static char *table_of(ab_rep_t *rp, int prices)
{
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  prices ? ab_rep_price_table(rp, f) : ab_rep_claims(rp, f);
  fclose(f);
  return out;
}

/* The whole page of rp, written into dir/report as the command writes it (no figures drawn). */
static char *page_of(ab_rep_t *rp, const char *dir)
{
  char path[PATH_MAX + 32];
  snprintf(rp->out, sizeof rp->out, "%s/report", dir);
  if (mkdir(rp->out, 0755) && errno != EEXIST)
    AB_FAIL("mkdir %s: %s", rp->out, strerror(errno));
  rp->gnuplot = 0;
  snprintf(path, sizeof path, "%s/index.html", rp->out);
  ASSERT_EQ(ab_rep_html(rp, path), 0);
  return slurp(path);
}

/* The text from start (which must be there) to the next "</tr>", as a string of its own. */
static char *row(const char *html, const char *start)
{
  const char *s = strstr(html, start);
  if (!s)
    AB_FAIL("no \"%s\" in: %s", start, html);
  const char *e = strstr(s, "</tr>");
  return strndup(s, e ? (size_t)(e - s) : strlen(s));
}

/* The claims table of dir: claim id's row says a and b. */
static void claim_says(const char *dir, const char *id, const char *a, const char *b)
{
  ab_rep_t rp;
  rep_load(&rp, dir);
  char key[128], *h = table_of(&rp, 0), *r;
  snprintf(key, sizeof key, "<tr id=\"claim-%s\">", id);
  r = row(h, key);
  ASSERT_CONTAINS(r, a);
  ASSERT_CONTAINS(r, b);
  free(r), free(h);
  ab_rep_free(&rp);
}

static int count(const char *hay, const char *needle)
{
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

/* ---- 1. unplain names ------------------------------------------------------------------------- */

static int pwned;
static int find_pwned(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
  return pwned |= !strcmp(path + ftw->base, "PWNED"), 0;
}

TEST_T(report_audit_unplain_name_is_refused_naming_it_and_nothing_is_written, 60)
{
  static const struct { const char *field, *value; } bad[] = {
    { "scenario", "a';system('touch PWNED');b='" },
    { "scenario", "../../x" },
    { "arch", "threads;touch PWNED" },
    { "table role", "inner'.system('touch PWNED').'" },
    { "requirement", "inner.lateness_ns.p999\"><b>x" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *root = tdir();
    char a[PATH_MAX], dir[PATH_MAX], want[256], names[256];
    snprintf(a, sizeof a, "%s/a", root);
    snprintf(dir, sizeof dir, "%s/a/run", root);
    ASSERT(mkdir(a, 0755) == 0 && mkdir(dir, 0755) == 0);
    fx_t f = robot("threads", 10, 10, 400000);
    f.file = "r.json";
    if (!strcmp(bad[i].field, "scenario"))
      f.scenario = bad[i].value;
    else if (!strcmp(bad[i].field, "arch"))
      f.arch = bad[i].value;
    else if (!strcmp(bad[i].field, "table role"))
      f.role = bad[i].value;
    else
      f.req[0].name = bad[i].value;
    fx_write(dir, &f);
    proc_t p;
    run_ab(&p, L("report", dir), EXEC_TIMEOUT_S);
    if (p.code != 2)
      AB_FAIL("%s %s: `%s` exited %d, expected 2; stderr: \"%s\"", bad[i].field, bad[i].value, p.cmd, p.code, p.err);
    snprintf(want, sizeof want, "%s \"%s\"", bad[i].field, bad[i].value);
    ASSERT_CONTAINS(p.err, want);
    ASSERT_CONTAINS(p.err, "r.json");
    const char *nl = strchr(p.err, '\n');
    if (!nl || nl[1])
      AB_FAIL("stderr is not one line: \"%s\"", p.err);
    ASSERT_STR(p.out, "");
    proc_free(&p);
    /* nothing beside the result, above it or in it: no report/, no x-*.dat two levels up */
    const char *in[][2] = { { root, "a" }, { a, "run" }, { dir, "r.json" } };
    for (int k = 0; k < 3; k++) {
      ASSERT_EQ(dir_entries(in[k][0], names, sizeof names), 1);
      ASSERT_STR(names, in[k][1]);
    }
    pwned = 0;
    nftw(root, find_pwned, 16, FTW_PHYS);
    ASSERT(!pwned);
  }
  /* the names results do give, letters, digits and _.=+- , load */
  const char *dir = tdir();
  fx_t f = robot("threads", 10, 10, 400000);
  f.req[1] = (fx_req_t){ "inner_1.x=y+z-w.p50", "<=", 1, 0 };
  fx_write(dir, &f);
  ab_rep_t rp;
  rep_load(&rp, dir);
  ASSERT_EQ(rep_cand(rep_group(&rp, "robot"), "threads")->nreq, 2);
  ab_rep_free(&rp);
  done();
}

/* ---- 2. free text escaped ---------------------------------------------------------------------- */

TEST_T(report_audit_source_and_benchmark_names_are_escaped_on_the_page, 30)
{
  const char *dir = tdir();
  static const char evil[] = "robot-zz/procs/rtt/8\"><b>x</b>";
  fx_t f = robot("threads", 10, 10, 400000);
  f.extra = "{\"source\": \"<script>alert(1)</script>\"}";
  fx_write(dir, &f);
  micro_write(dir, json_pack("[o]", bench(evil, 5000, "ns")));
  ab_rep_t rp;
  rep_load(&rp, dir);
  char *html = page_of(&rp, dir);
  ASSERT_CONTAINS(html, "<small class=\"sub\">(&lt;script&gt;alert(1)&lt;/script&gt;)</small>");
  ASSERT(!strstr(html, "<script"));
  ASSERT_CONTAINS(html, "<tr id=\"price-robot-zz/procs/rtt/8&quot;&gt;&lt;b&gt;x&lt;/b&gt;\"><td><code>"
                        "robot-zz/procs/rtt/8&quot;&gt;&lt;b&gt;x&lt;/b&gt;</code></td><td class=\"num\">5.0 µs</td>");
  ASSERT(!strstr(html, "<b>x</b>"));
  free(html);
  ab_rep_free(&rp);
  done();
}

/* ---- 3. a benchmark's price ------------------------------------------------------------------- */

TEST_T(report_audit_price_is_the_p50_else_real_time_in_its_unit_and_the_mean_of_repetitions, 30)
{
  static const char obs[] = "robot-obs-ring/threads/oneway/48";
  /* its own p50 (50 us, under the 100 us bound), not its paced cycle (300 us) */
  const char *d1 = tdir();
  json_t *a = json_array(), *b = bench(obs, 300000, "ns");
  json_object_set_new(b, "p50_ns", json_real(50000));
  json_array_append_new(a, b);
  micro_write(d1, a);
  claim_says(d1, "robot_thread_handoff", "<td>50 us<br>", "holds");
  /* no p50: real_time 0.05 in ms is 50 us */
  const char *d2 = tdir();
  micro_write(d2, json_pack("[o]", bench(obs, 0.05, "ms")));
  claim_says(d2, "robot_thread_handoff", "<td>50 us<br>", "holds");
  /* --benchmark_repetitions=3: three runs (40, 60 and 170 us), then the aggregates; the mean
   * (90 us) stands for it, and the price table lists it once */
  const char *d3 = tdir();
  fx_write(d3, &(fx_t){ .scenario = "robot", .arch = "threads", .role = "inner", .cpu = 10, .pss_mb = 10 });
  a = json_array();
  static const double runs[] = { 40000, 60000, 170000 };
  for (int k = 0; k < 3; k++) {
    b = bench(obs, runs[k], "ns");
    json_object_set_new(b, "repetitions", json_integer(3));
    json_object_set_new(b, "repetition_index", json_integer(k));
    json_object_set_new(b, "p50_ns", json_real(runs[k]));
    json_array_append_new(a, b);
  }
  static const struct { const char *agg; double v; } aggs[] = { { "mean", 90000 }, { "median", 60000 }, { "stddev", 70000 } };
  for (int k = 0; k < 3; k++) {
    char nm[96];
    snprintf(nm, sizeof nm, "%s_%s", obs, aggs[k].agg);
    b = bench(nm, aggs[k].v, "ns");
    json_object_set_new(b, "run_name", json_string(obs));
    json_object_set_new(b, "run_type", json_string("aggregate"));
    json_object_set_new(b, "aggregate_name", json_string(aggs[k].agg));
    json_object_set_new(b, "repetitions", json_integer(3));
    json_object_set_new(b, "p50_ns", json_real(aggs[k].v));
    json_array_append_new(a, b);
  }
  micro_write(d3, a);
  claim_says(d3, "robot_thread_handoff", "<td>90 us<br>", "holds");
  ab_rep_t rp;
  rep_load(&rp, d3);
  char *h = table_of(&rp, 1);
  ASSERT_EQ(count(h, "<tr id=\"price-"), 1);
  ASSERT_CONTAINS(h, "<tr id=\"price-robot-obs-ring/threads/oneway/48\"><td><code>robot-obs-ring/threads/oneway/48</code>"
                     "</td><td class=\"num\">90.0 µs</td>");
  free(h);
  ab_rep_free(&rp);
  done();
}

/* ---- 4. the machine as the limit --------------------------------------------------------------- */

TEST_T(report_audit_machine_is_the_limit_only_with_every_runtime_floored_failing_and_failed, 30)
{
  ab_rep_t rp;
  /* (a) threads on a failing floor, loop with none: nothing says loop's runtime could not pass */
  const char *d1 = tdir();
  put(d1, robot("threads", 10, 10, 2000000));
  put(d1, robot("loop", 20, 10, 3000000));
  baseline(d1, "threads", 1500000, 0, 0);
  rep_load(&rp, d1);
  const ab_rep_group_t *g = rep_group(&rp, "robot");
  ASSERT_EQ(rep_cand(g, "threads")->req[0].floor_pass, 0);
  ASSERT_EQ(rep_cand(g, "loop")->req[0].floor_pass, -1);
  ASSERT_EQ(g->kind, AB_REC_NONE_PASS);
  ASSERT(!strstr(g->sentence, "machine itself is the limit"));
  ab_rep_free(&rp);
  /* ... and with loop's own floor failing too, it is the machine */
  baseline(d1, "loop", 2500000, 0, 0);
  rep_load(&rp, d1);
  g = rep_group(&rp, "robot");
  ASSERT_EQ(g->kind, AB_REC_FLOOR_FAILS);
  ASSERT_CONTAINS(g->sentence, "the machine itself is the limit");
  ab_rep_free(&rp);
  /* (b) every floor fails, but loop meets the lateness (it fails a count): not the machine */
  const char *d2 = tdir();
  fx_t t = robot("threads", 10, 10, 2000000), l = robot("loop", 20, 10, 500000);
  t.req[1] = (fx_req_t){ "inner.missed_periods", "<=", 0, 0 };
  l.req[1] = (fx_req_t){ "inner.missed_periods", "<=", 0, 3 };
  fx_write(d2, &t);
  fx_write(d2, &l);
  baseline(d2, "threads", 1500000, 0, 0);
  baseline(d2, "loop", 1500000, 0, 0);
  rep_load(&rp, d2);
  g = rep_group(&rp, "robot");
  ASSERT_EQ(rep_cand(g, "threads")->req[0].floor_pass, 0);
  ASSERT_EQ(rep_cand(g, "loop")->req[0].floor_pass, 0);
  ASSERT_EQ(g->kind, AB_REC_NONE_PASS);
  ASSERT(!strstr(g->sentence, "machine itself is the limit"));
  ab_rep_free(&rp);
  /* (c) the floor is the quietest baseline repeat: 0.5 ms of 0.5 and 3 ms, which passes */
  const char *d3 = tdir();
  put(d3, robot("threads", 10, 10, 2000000));
  baseline(d3, "threads", 500000, 1, 2);
  baseline(d3, "threads", 3000000, 2, 2);
  rep_load(&rp, d3);
  g = rep_group(&rp, "robot");
  ASSERT_DBL(rep_cand(g, "threads")->req[0].floor, ==, 500000);
  ASSERT_EQ(rep_cand(g, "threads")->req[0].floor_pass, 1);
  ASSERT_EQ(g->kind, AB_REC_NONE_PASS);
  ASSERT_CONTAINS(g->sentence, "the machine is not the limit");
  ASSERT_CONTAINS(g->sentence, "the baseline's own is 500.0 µs");
  ab_rep_free(&rp);
  done();
}

/* ---- 5. the worst repeat ----------------------------------------------------------------------- */

TEST_T(report_audit_requirement_value_over_repeats_is_the_worst_repeat, 30)
{
  const char *dir = tdir();
  static const double p999[] = { 400000, 900000 }, missed[] = { 0, 1 }, rate[] = { 0.99, 0.97 };
  for (int k = 0; k < 2; k++) {
    fx_t f = robot("threads", 10, 10, p999[k]);
    f.rep = k + 1, f.of = 2;
    f.req[1] = (fx_req_t){ "inner.missed_periods", "==", 0, missed[k] };
    f.req[2] = (fx_req_t){ "vision.rate", ">=", 0.95, rate[k] };
    fx_write(dir, &f);
  }
  ab_rep_t rp;
  rep_load(&rp, dir);
  const ab_rep_group_t *g = rep_group(&rp, "robot");
  const ab_rep_cand_t *c = rep_cand(g, "threads");
  ASSERT_EQ(c->nreq, 3); /* in the results' order */
  ASSERT_DBL(c->req[0].value, ==, 900000); /* the worst of 0.4 and 0.9 ms, not their mean */
  ASSERT_DBL(c->req[0].mean, ==, 650000);
  ASSERT_EQ(c->req[0].npass, 2);
  ASSERT_DBL(c->req[1].value, ==, 1); /* == 0: the farther from 0 of 0 and 1 */
  ASSERT_EQ(c->req[1].npass, 1);
  ASSERT_DBL(c->req[2].value, ==, 0.97); /* >= 0.95: the lower of 0.99 and 0.97 */
  ASSERT(!c->pass);
  ASSERT_EQ(g->kind, AB_REC_NONE_PASS);
  ASSERT_CONTAINS(g->sentence, "bring <code>inner.missed_periods</code> from 1 to = 0");
  ab_rep_free(&rp);
  done();
}

/* ---- 6. ties on CPU's standard deviation -------------------------------------------------------- */

TEST_T(report_audit_cpu_tie_is_within_the_standard_deviation_not_the_range, 30)
{
  const char *dir = tdir();
  /* threads: 10 nine times and 30 once (mean 12, sd sqrt(40) = 6.32, range 20); loop: a steady
   * 19 (twice), with half the memory: 7 points above, beyond 6.32 but within 20 */
  for (int k = 1; k <= 10; k++) {
    fx_t t = robot("threads", k == 10 ? 30 : 10, 10, 400000), l = robot("loop", 19, 5, 400000);
    t.rep = l.rep = k, t.of = 10, l.of = 2;
    fx_write(dir, &t);
    if (k <= 2)
      fx_write(dir, &l);
  }
  ab_rep_t rp;
  rep_load(&rp, dir);
  const ab_rep_group_t *g = rep_group(&rp, "robot");
  const ab_rep_cand_t *t = rep_cand(g, "threads");
  ASSERT_EQ(t->nrep, 10);
  ASSERT_DBL(fabs(t->cpu - 12), <, 1e-9);
  ASSERT_DBL(fabs(t->cpu_sd - sqrt(40)), <, 1e-9);
  ASSERT_DBL(rep_cand(g, "loop")->cpu_sd, ==, 0);
  ASSERT(g->spread_known);
  ASSERT_EQ(g->kind, AB_REC_CLEAR);
  ASSERT_EQ(g->ntied, 1);
  ASSERT_STR(rep_at(g, 0), "threads");
  ASSERT(!strstr(g->sentence, "ties"));
  ASSERT_CONTAINS(rep_cand(g, "loop")->why, "passes, but costs more");
  ASSERT_CONTAINS(g->spread_note, "6.3 points");
  ab_rep_free(&rp);
  done();
}

/* ---- 7. the matrix's columns ------------------------------------------------------------------- */

TEST_T(report_audit_matrix_shows_every_requirement_any_architecture_shows, 30)
{
  const char *dir = tdir();
  fx_t t = robot("threads", 30, 10, 400000);
  t.req[1] = (fx_req_t){ "inner.missed_periods", "<=", 0, 0 };
  fx_write(dir, &t);
  put(dir, robot("loop", 5, 5, 400000)); /* the first candidate (its file sorts first), without B */
  ab_rep_t rp;
  rep_load(&rp, dir);
  const ab_rep_group_t *g = rep_group(&rp, "robot");
  ASSERT_STR(g->cand[0].label, "loop");
  ASSERT(!rep_cand(g, "loop")->pass);
  ASSERT_EQ(g->kind, AB_REC_CLEAR);
  ASSERT_STR(rep_at(g, 0), "threads");
  char *html = page_of(&rp, dir);
  ASSERT_CONTAINS(html, "<th><code>inner.lateness_ns.p999</code>");
  ASSERT_CONTAINS(html, "<th><code>inner.missed_periods</code>");
  char *lr = row(html, "<tr><td><b>loop</b></td>"), *tr = row(html, "<tr><td><b>threads</b></td>");
  ASSERT_CONTAINS(lr, "no figure");
  ASSERT_EQ(count(lr, "<td"), 6); /* its name, two requirements, CPU, memory, runs */
  ASSERT(!strstr(tr, "no figure"));
  ASSERT_EQ(count(tr, "<span class=\"pass\">pass</span>"), 2);
  free(lr), free(tr), free(html);
  ab_rep_free(&rp);
  done();
}

/* ---- 8. repeats with other params --------------------------------------------------------------- */

/* Two robot threads repeats of dir with these params (JSON objects): ab_rep_load's code. */
static int two_repeats(const char *p1, const char *p2, char *err, size_t len)
{
  const char *dir = tdir();
  const char *params[] = { p1, p2 };
  for (int k = 0; k < 2; k++) {
    char extra[256];
    fx_t f = robot("threads", 10, 10, 400000);
    snprintf(extra, sizeof extra, "{\"params\": %s}", params[k]);
    f.rep = k + 1, f.of = 2, f.extra = extra;
    fx_write(dir, &f);
  }
  ab_rep_t rp;
  err[0] = 0;
  int rc = ab_rep_load(&rp, 1, (char *[]){ (char *)dir }, err, len);
  if (!rc)
    ASSERT_EQ(rep_cand(rep_group(&rp, "robot"), "threads")->nrep, 2);
  ab_rep_free(&rp);
  return rc;
}

TEST_T(report_audit_repeats_whose_params_differ_are_refused, 30)
{
  char err[1024];
  ASSERT_EQ(two_repeats("{\"detect\": \"0\"}", "{\"detect\": \"0\"}", err, sizeof err), 0);
  ASSERT_EQ(two_repeats("{\"detect\": \"0\"}", "{\"detect\": \"4ms\"}", err, sizeof err), 2);
  ASSERT_CONTAINS(err, "param detect (0 against 4ms)");
  ASSERT_CONTAINS(err, "robot.threads.ring.r1.json");
  ASSERT_CONTAINS(err, "robot.threads.ring.r2.json");
  /* one the second lacks */
  ASSERT_EQ(two_repeats("{\"detect\": \"0\", \"waypoints\": \"16\"}", "{\"detect\": \"0\"}", err, sizeof err), 2);
  ASSERT_CONTAINS(err, "params differ");
  done();
}

/* ---- 9. the largest sweep point ------------------------------------------------------------------ */

TEST_T(report_audit_claim_over_a_sweep_is_judged_at_its_largest_point, 30)
{
  const char *dir = tdir();
  /* files in the order n=10, n=50, n=1: the largest is neither the first nor the last read */
  static const struct { const char *file, *n; double mb; } pt[] = {
    { "agents.p1.json", "10", 4 }, { "agents.p2.json", "50", 2 }, { "agents.p3.json", "1", 8 } };
  for (int i = 0; i < 3; i++) {
    char extra[1024];
    int ten = !strcmp(pt[i].n, "10");
    snprintf(extra, sizeof extra,
             "{\"gil\": {\"interval_s\": 0.005, \"free\": 0}, \"sweep\": {\"param\": \"n\", \"value\": \"%s\", "
             "\"points\": [\"1\", \"10\", \"50\"]}, \"claims\": [{\"id\": \"mem_per_thread\", \"applies\": true, "
             "\"measured\": %g}, {\"id\": \"gil_efficiency_10\", \"applies\": %s, \"measured\": %s}]}",
             pt[i].n, pt[i].mb, ten ? "true" : "false", ten ? "0.7" : "null");
    fx_write(dir, &(fx_t){ .scenario = "agents", .arch = "threads", .cpu = 100, .pss_mb = 10, .extra = extra,
                           .file = pt[i].file });
  }
  ab_rep_t rp;
  rep_load(&rp, dir);
  ASSERT_EQ(rp.ngroup, 3);
  ab_rep_free(&rp);
  claim_says(dir, "mem_per_thread", "<td>2 MB at n=50 (", "<span class=\"pass\">holds</span>");
  claim_says(dir, "mem_per_thread", "n=10: 4", "n=1: 8");
  /* measured at one point only: no other listed */
  claim_says(dir, "gil_efficiency_10", "<td>0.7 ratio<br>", "<span class=\"pass\">holds</span>");
  done();
}

/* ---- 10. "about" within 1.5x ------------------------------------------------------------------- */

TEST_T(report_audit_about_claim_holds_within_one_and_a_half_times_only, 30)
{
  /* audio_thread_queue: about 10 us */
  static const struct { double ns; const char *verdict; } c[] = {
    { 14000, "<span class=\"pass\">holds</span>" },
    { 16000, "wrong by 1.6&times;</span>: higher" },
    { 7000, "<span class=\"pass\">holds</span>" },
    { 6250, "wrong by 1.6&times;</span>: lower" },
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    const char *dir = tdir();
    char want[32];
    micro_write(dir, json_pack("[o]", bench("chan-ring/threads/oneway/8", c[i].ns, "ns")));
    snprintf(want, sizeof want, "<td>%g us<br>", c[i].ns / 1e3);
    claim_says(dir, "audio_thread_queue", want, c[i].verdict);
  }
  done();
}
