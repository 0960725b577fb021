/* Tests of the report's decision (reports/recommend.c, reached through load.c as `archbench
 * report` reaches it) on hand-made results: each test writes a few result files, with just
 * the fields harness/result_read.c requires, into a fresh directory, loads it, and checks the
 * kind of each decision, the architecture it picks, the order of the runners-up and what the
 * sentences say. The figures are invented, so every expectation is exact; none is a latency
 * of this machine. Then `archbench report`'s refusals: a bad directory or argument exits 2
 * naming it.
 */
#include <errno.h>
#include <math.h>
#include <unistd.h>

#include "hist.h"
#include "proc.h"
#include "repfix.h"
#include "test.h"

#define LIMIT_NS 1000000 /* robot's inner.lateness_ns.p999 <= 1 ms */
#define EXEC_TIMEOUT_S 30.0

/* ---- hand-made results --------------------------------------------------------------------- */

typedef struct fx_req {
  const char *name, *op;
  double limit, value; /* value NaN: no data (null), which fails */
} fx_req_t;

typedef struct fx {
  const char *scenario, *arch;
  const char *transport; /* NULL: "ring" */
  const char *role;      /* table.role, NULL: none */
  double cpu, pss_mb;
  int rep, of;           /* "repeat": index and count; 0: not repeated */
  const char *status;    /* NULL: "ok" */
  const char *metric;    /* a lateness metric with this p999 (ns), NULL: none */
  long long p999;
  int missed;            /* the counter <role>.missed_periods */
  fx_req_t req[4];       /* up to the first without a name */
} fx_t;

static int fx_meets(const char *op, double v, double limit)
{
  if (isnan(v))
    return 0;
  return !strcmp(op, "<=") ? v <= limit : !strcmp(op, "<") ? v < limit : !strcmp(op, ">=") ? v >= limit : v == limit;
}

/* f as a result file in dir, named <scenario>.<arch>.<transport>[.r<rep>].json. */
static void fx_write(const char *dir, const fx_t *f)
{
  const char *tr = f->transport ? f->transport : "ring";
  json_t *d = json_object(), *reqs = json_array(), *table = json_object(), *metrics = json_object();
  json_object_set_new(d, "schema", json_string(AB_RESULT_SCHEMA));
  json_object_set_new(d, "scenario", json_string(f->scenario));
  json_object_set_new(d, "arch", json_string(f->arch));
  json_object_set_new(d, "transport", json_string(tr));
  json_object_set_new(d, "status", json_string(f->status ? f->status : "ok"));
  json_object_set_new(d, "error", json_null());
  json_object_set_new(d, "gil", json_null());
  json_object_set_new(d, "sweep", json_null());
  json_object_set_new(d, "started_at", json_string("2024-01-01T00:00:00Z"));
  json_object_set_new(d, "duration_s", json_real(1.0));
  if (f->metric)
    json_object_set_new(metrics, f->metric, fx_metric(f->p999));
  json_object_set_new(d, "metrics", metrics);
  json_t *counters = json_object();
  if (f->role) {
    char k[96];
    snprintf(k, sizeof k, "%s.missed_periods", f->role);
    json_object_set_new(counters, k, json_integer(f->missed));
  }
  json_object_set_new(d, "counters", counters);
  json_object_set_new(d, "resources", json_pack("{s:f, s:{s:f, s:f}}", "cpu_percent", f->cpu, "total", "rss_kb",
                                                f->pss_mb * 2048, "pss_kb", f->pss_mb * 1024));
  for (int i = 0; i < 4 && f->req[i].name; i++) {
    const fx_req_t *q = &f->req[i];
    json_array_append_new(reqs, json_pack("{s:s, s:s, s:f, s:o, s:b}", "name", q->name, "op", q->op, "limit", q->limit,
                                          "value", isnan(q->value) ? json_null() : json_real(q->value), "pass",
                                          fx_meets(q->op, q->value, q->limit)));
  }
  json_object_set_new(d, "requirements", reqs);
  if (f->role)
    json_object_set_new(table, "role", json_string(f->role));
  json_object_set_new(d, "table", table);
  if (f->rep)
    json_object_set_new(d, "repeat", json_pack("{s:i, s:i}", "index", f->rep, "of", f->of));
  char path[PATH_MAX], rep[16] = "";
  if (f->rep)
    snprintf(rep, sizeof rep, ".r%d", f->rep);
  snprintf(path, sizeof path, "%s/%s.%s.%s%s.json", dir, f->scenario, f->arch, tr, rep);
  if (json_dump_file(d, path, JSON_INDENT(1)))
    AB_FAIL("cannot write %s: %s", path, strerror(errno));
  json_decref(d);
}

/* A robot-like result: role inner, one requirement on its p999 lateness (ns). */
static void robot(const char *dir, const char *arch, const char *tr, double cpu, double pss, double p999)
{
  fx_write(dir, &(fx_t){ .scenario = "robot", .arch = arch, .transport = tr, .role = "inner", .cpu = cpu, .pss_mb = pss,
                         .metric = "inner.lateness_ns", .p999 = (long long)p999,
                         .req = { { "inner.lateness_ns.p999", "<=", LIMIT_NS, p999 } } });
}

/* The machine's floor on a runtime: a baseline result whose tick lateness p999 is p999 ns;
 * it missed periods, which is no floor for anything (a count depends on the run). */
static void baseline(const char *dir, const char *arch, double p999)
{
  fx_write(dir, &(fx_t){ .scenario = "baseline", .arch = arch, .role = "tick", .cpu = 1, .pss_mb = 1,
                         .metric = "tick.lateness_ns", .p999 = (long long)p999, .missed = 5 });
}

/* A candidate repeated twice, its CPU lo then hi, its requirement met. */
static void robot_twice(const char *dir, const char *arch, double lo, double hi, double pss)
{
  for (int k = 1; k <= 2; k++)
    fx_write(dir, &(fx_t){ .scenario = "robot", .arch = arch, .role = "inner", .cpu = k == 1 ? lo : hi, .pss_mb = pss,
                           .rep = k, .of = 2, .req = { { "inner.lateness_ns.p999", "<=", LIMIT_NS, 400000 } } });
}

/* ---- the decision -------------------------------------------------------------------------- */

TEST_T(report_clear_winner_is_the_passing_architecture_with_least_cpu, 20)
{
  const char *dir = temp_path(1);
  robot(dir, "threads", NULL, 30, 12, 500000);
  robot(dir, "loop", NULL, 12, 40, 700000);
  robot(dir, "procs", "shm", 20, 25, 300000);
  ab_rep_t rp;
  rep_load(&rp, dir);
  ASSERT_EQ(rp.nrun, 3);
  ASSERT_EQ(rp.ngroup, 1);
  const ab_rep_group_t *g = rep_group(&rp, "robot");
  ASSERT_EQ(g->ncand, 3);
  ASSERT_EQ(g->kind, AB_REC_CLEAR);
  ASSERT_STR(rep_at(g, 0), "loop");
  ASSERT_STR(rep_at(g, 1), "procs/shm");
  ASSERT_STR(rep_at(g, 2), "threads");
  ASSERT_CONTAINS(g->sentence, "Use <b class=\"pick\">loop</b>");
  ASSERT_CONTAINS(g->sentence, "12.0% of a CPU");
  ASSERT_CONTAINS(g->sentence, "inner.lateness_ns.p999"); /* the requirement nearest its limit */
  ASSERT_CONTAINS(g->sentence, "700.0 µs");
  for (int i = 1; i < 3; i++) {
    const ab_rep_cand_t *c = &g->cand[g->order[i]];
    ASSERT_CONTAINS(c->why, "passes, but costs more");
    ASSERT_CONTAINS(c->why, "against 12.0%");
  }
  ASSERT_CONTAINS(rep_cand(g, "threads")->why, "30.0% of a CPU");
  ab_rep_free(&rp);
  cleanup_now();
}

/* threads: CPU lo..hi over its two repeats, 10 MB; loop: lo2..hi2, 30 MB. */
static void two_repeated(const char *dir, double lo, double hi, double lo2, double hi2)
{
  robot_twice(dir, "threads", lo, hi, 10);
  robot_twice(dir, "loop", lo2, hi2, 30);
}

TEST_T(report_cpu_within_the_spread_is_a_tie_that_memory_decides, 20)
{
  const char *dir = temp_path(1);
  two_repeated(dir, 20, 26, 18, 24); /* means 23 and 21; both ranges 6 points wide */
  ab_rep_t rp;
  rep_load(&rp, dir);
  ASSERT_EQ(rp.nrun, 4);
  const ab_rep_group_t *g = rep_group(&rp, "robot");
  ASSERT_EQ(g->ncand, 2);
  ASSERT_EQ(rep_cand(g, "threads")->nrep, 2);
  ASSERT_DBL(rep_cand(g, "threads")->cpu, >, rep_cand(g, "loop")->cpu);
  ASSERT(g->spread_known);
  ASSERT_EQ(g->kind, AB_REC_TIE);
  ASSERT_EQ(g->ntied, 2);
  ASSERT_STR(rep_at(g, 0), "threads"); /* more CPU on average, a third of the memory */
  ASSERT_CONTAINS(g->sentence, "ties on CPU with loop");
  ASSERT_CONTAINS(g->sentence, "wins on memory");
  ASSERT_CONTAINS(rep_cand(g, "loop")->why, "ties on CPU");
  ASSERT_CONTAINS(rep_cand(g, "loop")->why, "30.0 MB against 10.0 MB");
  ASSERT_CONTAINS(g->spread_note, "4.2 points"); /* the standard deviation of 20 and 26 */
  ab_rep_free(&rp);
  cleanup_now();
}

TEST_T(report_cpu_apart_beyond_the_spread_is_a_clear_win, 20)
{
  const char *dir = temp_path(1);
  two_repeated(dir, 22.9, 23.1, 20.9, 21.1); /* the same means, ranges 0.2 points wide */
  ab_rep_t rp;
  rep_load(&rp, dir);
  const ab_rep_group_t *g = rep_group(&rp, "robot");
  ASSERT(g->spread_known);
  ASSERT_EQ(g->kind, AB_REC_CLEAR);
  ASSERT_EQ(g->ntied, 1);
  ASSERT_STR(rep_at(g, 0), "loop");
  ASSERT(!strstr(g->sentence, "ties"));
  ASSERT_CONTAINS(rep_cand(g, "threads")->why, "costs more");
  ASSERT_CONTAINS(g->spread_note, "repeated");
  ab_rep_free(&rp);
  cleanup_now();
}

TEST_T(report_single_runs_leave_the_spread_unknown, 20)
{
  const char *dir = temp_path(1);
  robot(dir, "threads", NULL, 10.5, 10, 400000);
  robot(dir, "loop", NULL, 10.0, 30, 400000); /* 5% apart: a win only because nothing says otherwise */
  ab_rep_t rp;
  rep_load(&rp, dir);
  const ab_rep_group_t *g = rep_group(&rp, "robot");
  ASSERT(!g->spread_known);
  ASSERT_EQ(g->kind, AB_REC_CLEAR);
  ASSERT_STR(rep_at(g, 0), "loop");
  ASSERT_CONTAINS(g->spread_note, "unknown");
  ASSERT_CONTAINS(g->spread_note, "--repeat");
  ab_rep_free(&rp);
  cleanup_now();
}

TEST_T(report_none_passing_while_the_floor_passes_says_what_must_change, 20)
{
  const char *dir = temp_path(1);
  for (int i = 0; i < 2; i++) { /* and a count, which has no floor: it is not timing */
    const char *arch = i ? "loop" : "threads";
    double p999 = i ? 2500000 : 1600000;
    fx_write(dir, &(fx_t){ .scenario = "robot", .arch = arch, .role = "inner", .cpu = i ? 5 : 40, .pss_mb = 10,
                           .metric = "inner.lateness_ns", .p999 = (long long)p999,
                           .req = { { "inner.lateness_ns.p999", "<=", LIMIT_NS, p999 },
                                    { "inner.missed_periods", "<=", 0, 0 } } });
    baseline(dir, arch, 200000);
  }
  ab_rep_t rp;
  rep_load(&rp, dir);
  const ab_rep_group_t *g = rep_group(&rp, "robot");
  const ab_rep_cand_t *t = rep_cand(g, "threads");
  ASSERT_STR(t->req[0].name, "inner.lateness_ns.p999");
  ASSERT_DBL(t->req[0].floor, ==, 200000);
  ASSERT_EQ(t->req[0].floor_pass, 1);
  ASSERT(isnan(t->req[1].floor));
  ASSERT_EQ(t->req[1].floor_pass, -1);
  ASSERT_EQ(g->kind, AB_REC_NONE_PASS);
  ASSERT_STR(rep_at(g, 0), "threads"); /* the nearer to its limit, though it costs 8 times more */
  ASSERT_CONTAINS(g->sentence, "the machine is not the limit");
  ASSERT_CONTAINS(g->sentence, "would have to bring <code>inner.lateness_ns.p999</code> from 1.60 ms to ≤ 1.00 ms");
  ASSERT_CONTAINS(g->sentence, "the baseline's own is 200.0 µs");
  ASSERT_CONTAINS(rep_cand(g, "loop")->why, "fails <code>inner.lateness_ns.p999</code>: 2.50 ms &gt; 1.00 ms");
  ASSERT_EQ(rep_group(&rp, "baseline")->kind, AB_REC_NO_REQS);
  ab_rep_free(&rp);
  cleanup_now();
}

/* Both fail, repeated: threads (40% CPU) at 1.7 ms and loop (5%) at 1.8 ms on average,
 * each over a range of half_ms either side. */
static void none_pass_twice(const char *dir, double half_ms)
{
  for (int k = 1; k <= 2; k++)
    for (int i = 0; i < 2; i++) {
      double v = ((i ? 1.8 : 1.7) + (k == 1 ? -half_ms : half_ms)) * 1e6;
      fx_write(dir, &(fx_t){ .scenario = "robot", .arch = i ? "loop" : "threads", .role = "inner", .cpu = i ? 5 : 40,
                             .pss_mb = 10, .rep = k, .of = 2, .req = { { "inner.lateness_ns.p999", "<=", LIMIT_NS, v } } });
    }
}

TEST_T(report_none_passing_within_the_spread_ties_and_names_the_cheapest, 20)
{
  const char *dir = temp_path(1);
  none_pass_twice(dir, 0.2); /* 0.1 ms apart, ranges 0.4 ms wide */
  ab_rep_t rp;
  rep_load(&rp, dir);
  const ab_rep_group_t *g = rep_group(&rp, "robot");
  ASSERT(g->spread_known);
  ASSERT_EQ(g->kind, AB_REC_NONE_PASS);
  ASSERT_EQ(g->ntied, 2);
  ASSERT_STR(rep_at(g, 0), "loop");
  ASSERT_CONTAINS(g->sentence, "Within the run-to-run spread it ties with threads (40.0%");
  ASSERT_CONTAINS(rep_cand(g, "threads")->why, "it ties with loop within the run-to-run spread, but costs more");
  ab_rep_free(&rp);
  cleanup_now();
}

TEST_T(report_none_passing_apart_beyond_the_spread_names_the_nearest, 20)
{
  const char *dir = temp_path(1);
  none_pass_twice(dir, 0.01); /* 0.1 ms apart, ranges 0.02 ms wide */
  ab_rep_t rp;
  rep_load(&rp, dir);
  const ab_rep_group_t *g = rep_group(&rp, "robot");
  ASSERT(g->spread_known);
  ASSERT_EQ(g->kind, AB_REC_NONE_PASS);
  ASSERT_EQ(g->ntied, 1);
  ASSERT_STR(rep_at(g, 0), "threads");
  ASSERT(!strstr(g->sentence, "ties with"));
  ab_rep_free(&rp);
  cleanup_now();
}

TEST_T(report_floor_failing_names_the_machine_and_ranks_by_excess_over_floor, 20)
{
  const char *dir = temp_path(1);
  /* threads: 2.0 ms on a 1.5 ms floor (+0.5); loop: 3.2 ms on a 3.0 ms floor (+0.2). threads
   * is lower in raw value and in CPU: only what each adds over its own floor puts loop first. */
  robot(dir, "threads", NULL, 10, 10, 2000000);
  robot(dir, "loop", NULL, 20, 10, 3200000);
  baseline(dir, "threads", 1500000);
  baseline(dir, "loop", 3000000);
  ab_rep_t rp;
  rep_load(&rp, dir);
  const ab_rep_group_t *g = rep_group(&rp, "robot");
  ASSERT_EQ(rep_cand(g, "threads")->req[0].floor_pass, 0);
  ASSERT_DBL(rep_cand(g, "loop")->req[0].floor, ==, 3000000);
  ASSERT_EQ(g->kind, AB_REC_FLOOR_FAILS);
  ASSERT_STR(rep_at(g, 0), "loop");
  ASSERT_STR(rep_at(g, 1), "threads");
  ASSERT_CONTAINS(g->sentence, "the machine itself is the limit");
  ASSERT_CONTAINS(g->sentence, "1.50 ms to 3.00 ms, by runtime");
  ASSERT_CONTAINS(g->sentence, "≤ 1.00 ms is required");
  ASSERT_CONTAINS(g->sentence, "adding 200.0 µs over its runtime's floor");
  ASSERT_CONTAINS(rep_cand(g, "threads")->why, "adds 500.0 µs over its runtime's floor of 1.50 ms");
  ab_rep_free(&rp);
  cleanup_now();
}

/* threads fails on a floor that passes (1.1 ms on 0.2 ms), loop on a floor that fails (3.1 ms
 * on 3.0 ms): one runtime shows the machine can meet the limit, so it is not "the machine",
 * and threads, nearest to passing, is named with what must change. */
TEST_T(report_floor_failing_on_one_runtime_only_is_not_the_machine, 20)
{
  const char *dir = temp_path(1);
  robot(dir, "threads", NULL, 10, 10, 1100000);
  robot(dir, "loop", NULL, 20, 10, 3100000);
  baseline(dir, "threads", 200000);
  baseline(dir, "loop", 3000000);
  ab_rep_t rp;
  rep_load(&rp, dir);
  const ab_rep_group_t *g = rep_group(&rp, "robot");
  ASSERT_EQ(g->kind, AB_REC_NONE_PASS);
  ASSERT_STR(rep_at(g, 0), "threads");
  ASSERT(!strstr(g->sentence, "machine itself is the limit"));
  ASSERT_CONTAINS(g->sentence, "would have to bring");
  ab_rep_free(&rp);
  cleanup_now();
}

/* A result that shows none of the requirements its group's others meet has not met them:
 * however cheap, it ranks below the one that passes, and says why. */
TEST_T(report_candidate_without_the_requirements_does_not_pass, 20)
{
  const char *dir = temp_path(1);
  robot(dir, "threads", NULL, 30, 10, 500000);
  fx_write(dir, &(fx_t){ .scenario = "robot", .arch = "loop", .role = "inner", .cpu = 5, .pss_mb = 5 });
  ab_rep_t rp;
  rep_load(&rp, dir);
  const ab_rep_group_t *g = rep_group(&rp, "robot");
  ASSERT_EQ(g->kind, AB_REC_CLEAR);
  ASSERT_STR(rep_at(g, 0), "threads");
  ASSERT_CONTAINS(rep_cand(g, "loop")->why, "shows no figure for 1 of the requirements");
  ab_rep_free(&rp);
  cleanup_now();
}

/* A repeat without the figure (null: no data) makes the worst "no data", never the other
 * repeats' value: 400 us in one repeat and nothing in the other has not met 1 ms. */
TEST_T(report_repeat_without_the_figure_leaves_no_value, 20)
{
  const char *dir = temp_path(1);
  for (int k = 1; k <= 2; k++)
    fx_write(dir, &(fx_t){ .scenario = "robot", .arch = "threads", .role = "inner", .cpu = 10, .pss_mb = 10, .rep = k,
                           .of = 2, .req = { { "inner.lateness_ns.p999", "<=", LIMIT_NS, k == 1 ? NAN : 400000 } } });
  ab_rep_t rp;
  rep_load(&rp, dir);
  const ab_rep_group_t *g = rep_group(&rp, "robot");
  ASSERT(isnan(rep_cand(g, "threads")->req[0].value));
  ASSERT(!rep_cand(g, "threads")->pass);
  ab_rep_free(&rp);
  cleanup_now();
}

TEST_T(report_no_requirements_names_the_cheapest, 20)
{
  const char *dir = temp_path(1);
  static const struct { const char *arch; double cpu, pss; } a[] = { { "threads", 30, 5 }, { "loop", 8, 50 }, { "procs", 15, 20 } };
  for (int i = 0; i < 3; i++)
    fx_write(dir, &(fx_t){ .scenario = "agents", .arch = a[i].arch, .transport = i == 2 ? "pipe" : NULL, .cpu = a[i].cpu,
                           .pss_mb = a[i].pss });
  ab_rep_t rp;
  rep_load(&rp, dir);
  const ab_rep_group_t *g = rep_group(&rp, "agents");
  ASSERT_EQ(g->kind, AB_REC_NO_REQS);
  ASSERT_STR(rep_at(g, 0), "loop");
  ASSERT_STR(rep_at(g, 1), "procs/pipe");
  ASSERT_CONTAINS(g->sentence, "sets no requirements");
  ASSERT_CONTAINS(g->sentence, "<b class=\"pick\">loop</b>: 8.0% of a CPU and 50.0 MB");
  ASSERT_CONTAINS(rep_cand(g, "threads")->why, "runs, but costs more");
  ab_rep_free(&rp);
  cleanup_now();
}

TEST_T(report_failing_candidate_never_ranks_above_a_passing_one, 20)
{
  const char *dir = temp_path(1);
  robot(dir, "threads", NULL, 50, 10, 900000);
  robot(dir, "loop", NULL, 2, 1, 1100000); /* 25 times cheaper, 10% over the limit */
  robot(dir, "procs", "shm", 60, 30, 300000);
  ab_rep_t rp;
  rep_load(&rp, dir);
  const ab_rep_group_t *g = rep_group(&rp, "robot");
  ASSERT_EQ(g->kind, AB_REC_CLEAR);
  ASSERT_STR(rep_at(g, 0), "threads");
  ASSERT_STR(rep_at(g, 1), "procs/shm");
  ASSERT_STR(rep_at(g, 2), "loop");
  ASSERT_CONTAINS(rep_cand(g, "loop")->why, "fails <code>inner.lateness_ns.p999</code>: 1.10 ms &gt; 1.00 ms");
  ab_rep_free(&rp);
  cleanup_now();
}

TEST_T(report_failing_one_repeat_or_not_finishing_is_not_passing, 20)
{
  const char *dir = temp_path(1);
  robot_twice(dir, "threads", 40, 41, 10);
  for (int k = 1; k <= 2; k++) /* the cheapest, but its second repeat misses the limit */
    fx_write(dir, &(fx_t){ .scenario = "robot", .arch = "loop", .role = "inner", .cpu = 5, .pss_mb = 5, .rep = k, .of = 2,
                           .req = { { "inner.lateness_ns.p999", "<=", LIMIT_NS, k == 1 ? 500000 : 1200000 } } });
  for (int k = 1; k <= 2; k++) /* cheap and within the limit, but one repeat stopped short */
    fx_write(dir, &(fx_t){ .scenario = "robot", .arch = "procs", .transport = "pipe", .role = "inner", .cpu = 6,
                           .pss_mb = 5, .rep = k, .of = 2, .status = k == 2 ? "partial" : NULL,
                           .req = { { "inner.lateness_ns.p999", "<=", LIMIT_NS, 500000 } } });
  ab_rep_t rp;
  rep_load(&rp, dir);
  const ab_rep_group_t *g = rep_group(&rp, "robot");
  const ab_rep_cand_t *loop = rep_cand(g, "loop"), *pp = rep_cand(g, "procs/pipe");
  ASSERT_EQ(loop->req[0].n, 2);
  ASSERT_EQ(loop->req[0].npass, 1);
  ASSERT(!loop->pass);
  ASSERT(!pp->ok && !pp->pass);
  ASSERT_EQ(g->kind, AB_REC_CLEAR);
  ASSERT_STR(rep_at(g, 0), "threads");
  ASSERT_CONTAINS(loop->why, "in some repeats");
  ASSERT_CONTAINS(pp->why, "did not run to the end");
  ab_rep_free(&rp);
  cleanup_now();
}

/* ---- `archbench report` refuses bad input ----------------------------------------------------- */

/* `archbench report args...` exits 2, its stderr one line holding needle. */
static void expect_usage(const char *const *args, const char *needle)
{
  proc_t p;
  run_ab(&p, args, EXEC_TIMEOUT_S);
  if (p.code != 2)
    AB_FAIL("`%s` exited %d, expected 2; stdout: \"%s\" stderr: \"%s\"", p.cmd, p.code, p.out, p.err);
  ASSERT_CONTAINS(p.err, needle);
  const char *nl = strchr(p.err, '\n');
  if (!nl || nl[1])
    AB_FAIL("`%s`: stderr is not one line: \"%s\"", p.cmd, p.err);
  ASSERT_STR(p.out, "");
  proc_free(&p);
}

static void write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  if (!f)
    AB_FAIL("%s: %s", path, strerror(errno));
  fputs(text, f);
  fclose(f);
}

TEST_T(report_missing_directory_exits_2_naming_it, 30)
{
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s/no-such-run", temp_path(1));
  expect_usage(L("report", dir), dir);
  cleanup_now();
}

TEST_T(report_broken_json_exits_2_naming_the_file, 30)
{
  const char *dir = temp_path(1);
  char bad[PATH_MAX], out[PATH_MAX];
  robot(dir, "threads", NULL, 10, 10, 400000); /* a good one beside it does not save it */
  snprintf(bad, sizeof bad, "%s/robot.loop.ring.json", dir);
  write_file(bad, "{\"schema\": \"archbench-result/1\", \"scenario\": ");
  expect_usage(L("report", dir), bad);
  snprintf(out, sizeof out, "%s/report", dir);
  ASSERT_EQ(access(out, F_OK), -1); /* nothing written */
  cleanup_now();
}

TEST_T(report_json_that_is_not_a_result_exits_2_naming_the_field, 30)
{
  const char *dir = temp_path(1);
  char bad[PATH_MAX];
  snprintf(bad, sizeof bad, "%s/robot.loop.ring.json", dir);
  write_file(bad, "{\"schema\": \"archbench-result/1\", \"scenario\": \"robot\"}\n");
  expect_usage(L("report", dir), "\"arch\"");
  cleanup_now();
}

TEST_T(report_empty_directory_exits_2_naming_it, 30)
{
  const char *dir = temp_path(1);
  expect_usage(L("report", dir), dir);
  cleanup_now();
}

TEST_T(report_without_a_directory_exits_2_asking_for_one, 30)
{
  expect_usage(L("report"), "RUN_DIR");
  cleanup_now();
}

TEST_T(report_unknown_option_exits_2_naming_it, 30)
{
  const char *dir = temp_path(1);
  robot(dir, "threads", NULL, 10, 10, 400000);
  expect_usage(L("report", dir, "--frobnicate"), "--frobnicate");
  cleanup_now();
}
