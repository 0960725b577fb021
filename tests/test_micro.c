/* archbench-micro: the Google Benchmark shim reports what a C benchmark asked for (arguments,
 * counters, rates, manual time, pause/resume, errors, repetitions) in Google Benchmark's own
 * JSON; every registered benchmark runs once in smoke mode, reports the latency counters and
 * leaves no process, /dev/shm or /dev/mqueue entry behind; and, where Google Benchmark's
 * tools/compare.py is at hand (`make micro-compare-tools`), it reads two of our outputs.
 * Values are checked, latencies are not.
 */
#include <glob.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include "proc.h"
#include "test.h"

/* ---- helpers -------------------------------------------------------------------------- */

/* Both keep their capture files until the test calls cleanup_now (proc.h), as each test here
 * does at its end.
 *
 * Run archbench-micro with args to its end; fails the test unless it exits 0 with JSON on
 * stdout and leaves no process or IPC name behind. */
static json_t *micro_json(const char *const *args)
{
  proc_t p;
  run_prog(&p, micro_bin(), args, 110);
  if (p.code != 0)
    AB_FAIL("`%s` exited %d; stderr: %.2000s", p.cmd, p.code, p.err);
  json_error_t err;
  json_t *root = json_loads(p.out, 0, &err);
  if (!root)
    AB_FAIL("`%s` wrote no JSON (%s, line %d): %.2000s", p.cmd, err.text, err.line, p.out);
  assert_nothing_left(&p);
  proc_free(&p);
  return root;
}

/* Run bin with args to its end and expect exit code `code`; stderr is returned (malloc'd). */
static char *run_expect(const char *bin, const char *const *args, int code)
{
  proc_t p;
  run_prog(&p, bin, args, 110);
  if (p.code != code)
    AB_FAIL("`%s` exited %d, not %d; stdout: %.1000s stderr: %.1000s", p.cmd, p.code, code,
            p.out, p.err);
  char *err = strdup(p.err);
  ASSERT(err);
  proc_free(&p);
  return err;
}

static json_t *find_bench(json_t *root, const char *name)
{
  json_t *list = json_object_get(root, "benchmarks"), *b;
  size_t i;
  json_array_foreach(list, i, b) {
    if (!strcmp(json_string_value(json_object_get(b, "name")), name))
      return b;
  }
  return NULL;
}

static json_t *need_bench(json_t *root, const char *name)
{
  json_t *b = find_bench(root, name);
  if (!b)
    AB_FAIL("no benchmark named %s in the output", name);
  return b;
}

static double num(json_t *b, const char *key)
{
  json_t *v = json_object_get(b, key);
  if (!json_is_number(v))
    AB_FAIL("%s has no number %s", json_string_value(json_object_get(b, "name")), key);
  return json_number_value(v);
}

/* ---- the shim ------------------------------------------------------------------------- */

TEST(micro_shim_reports_counters_manual_time_and_errors_in_json)
{
  json_t *root = micro_json(L("--shim-selftest", "--benchmark_format=json"));

  /* Manual time: 1 ms per iteration was declared, the clock is not consulted. */
  json_t *b = need_bench(root, "shim/manual/iterations:5/manual_time");
  ASSERT_EQ(num(b, "iterations"), 5);
  ASSERT_STR(json_string_value(json_object_get(b, "time_unit")), "ns");
  ASSERT_DBL(num(b, "real_time"), >, 0.999e6);
  ASSERT_DBL(num(b, "real_time"), <, 1.001e6);

  /* Arguments and every kind of counter. */
  for (int arg = 8; arg <= 64; arg *= 8) {
    char name[64];
    snprintf(name, sizeof name, "shim/counters/%d/iterations:100", arg);
    b = need_bench(root, name);
    ASSERT_EQ(num(b, "iterations"), 100);
    ASSERT_EQ(num(b, "arg"), arg);
    ASSERT_EQ(num(b, "answer"), 42);
    ASSERT_DBL(num(b, "per_iter"), ==, 3.0);  /* 3 * iterations, averaged over iterations */
    ASSERT_DBL(num(b, "rate"), >, 1000.0);    /* 1000 per run, divided by well under 1 s */
    ASSERT_DBL(num(b, "bytes_per_second"), >, 0);
    ASSERT_DBL(num(b, "items_per_second"), >, 0);
    ASSERT_STR(json_string_value(json_object_get(b, "label")), "shim");
  }

  /* Pause/resume: each iteration sleeps 2 ms with the timer paused. */
  b = need_bench(root, "shim/pause/iterations:3");
  ASSERT_STR(json_string_value(json_object_get(b, "time_unit")), "us");
  ASSERT_DBL(num(b, "real_time"), <, 1000.0);

  /* Skip with an error. */
  b = need_bench(root, "shim/skip");
  ASSERT(json_is_true(json_object_get(b, "error_occurred")));
  ASSERT_CONTAINS(json_string_value(json_object_get(b, "error_message")), "deliberate");

  /* Repetitions: three runs and the aggregates. */
  const char *rep = "shim/repeat/1/iterations:10/repeats:3";
  json_t *list = json_object_get(root, "benchmarks");
  size_t i;
  int runs = 0;
  json_array_foreach(list, i, b) {
    if (!strcmp(json_string_value(json_object_get(b, "name")), rep))
      runs++;
  }
  ASSERT_EQ(runs, 3);
  char agg[128];
  snprintf(agg, sizeof agg, "%s_mean", rep);
  ASSERT_STR(json_string_value(json_object_get(need_bench(root, agg), "aggregate_name")), "mean");
  snprintf(agg, sizeof agg, "%s_stddev", rep);
  need_bench(root, agg);

  /* Batches and what the loop was told to run. */
  b = need_bench(root, "shim/batch/iterations:32");
  ASSERT_EQ(num(b, "iterations"), 32);
  ASSERT_EQ(num(b, "max_iterations"), 32);
  json_decref(root);
  cleanup_now();
}

/* ---- bad usage ------------------------------------------------------------------------ */

/* Every bad usage exits 2 with one line on stderr naming the bad value and what was
 * expected, whether the flag is ours or Google Benchmark's (which on its own would exit 0
 * for a filter that matches nothing or does not compile, and 1 for a flag it does not know).
 * X(name, arguments, the value as named, what is expected) */
#define MICRO_BAD_USAGE(X)                                                                     \
  X(filter_matching_nothing, L("--shim-selftest", "--benchmark_filter=^no-such/bench$"),       \
    "'^no-such/bench$'", "--benchmark_list_tests")                                             \
  X(filter_not_a_regex, L("--shim-selftest", "--benchmark_filter=shim/(manual"),               \
    "'shim/(manual'", "regular expression")                                                    \
  X(unknown_flag, L("--shim-selftest", "--no-such-flag"), "'--no-such-flag'",                  \
    "--benchmark_NAME=VALUE")                                                                  \
  X(google_benchmark_flag_bad_value, L("--shim-selftest", "--benchmark_format=xml"), "'xml'",  \
    "console, json, csv")                                                                      \
  X(pin_bad_value, L("--pin=sideways", "--benchmark_filter=^clock/"), "'sideways'",            \
    "none, same, cross")                                                                       \
  X(interval_not_a_number, L("--interval=soon", "--benchmark_filter=^mutex/"), "'soon'",       \
    "whole number of microseconds from 0 to 1000000")                                          \
  X(interval_negative, L("--interval=-5", "--benchmark_filter=^mutex/"), "'-5'",               \
    "from 0 to 1000000")                                                                       \
  X(interval_beyond_a_second, L("--interval=1001ms", "--benchmark_filter=^mutex/"), "'1001ms'", \
    "from 0 to 1000000")                                                                       \
  X(interval_not_whole_microseconds, L("--interval=1500ns", "--benchmark_filter=^mutex/"),     \
    "'1500ns'", "whole number of microseconds")

static void expect_usage_error(const char *const *args, const char *value, const char *expected)
{
  char *err = run_expect(micro_bin(), args, 2);
  ASSERT_CONTAINS(err, value);
  ASSERT_CONTAINS(err, expected);
  const char *nl = strchr(err, '\n');
  if (!nl || nl[1])
    AB_FAIL("not one line on stderr: \"%s\"", err);
  free(err);
  cleanup_now();
}

#define MICRO_BAD_USAGE_TEST(name, args, value, expected)                                      \
  TEST(micro_bad_usage_##name##_exits_2_naming_it) { expect_usage_error(args, value, expected); }
MICRO_BAD_USAGE(MICRO_BAD_USAGE_TEST)

/* ---- smoke: every benchmark once ------------------------------------------------------ */

TEST_T(micro_smoke_runs_every_benchmark_once_and_leaves_nothing, 120)
{
  /* What is registered, as Google Benchmark lists it... */
  proc_t list;
  run_prog(&list, micro_bin(), L("--benchmark_list_tests"), 30);
  ASSERT_EQ(list.code, 0);
  char *names = strdup(list.out);
  ASSERT(names);
  proc_free(&list);

  /* ...and what one smoke run reports (and that it leaves nothing behind). */
  json_t *root = micro_json(L("--smoke", "--benchmark_format=json"));

  int listed = 0;
  for (char *save = NULL, *n = strtok_r(names, "\n", &save); n; n = strtok_r(NULL, "\n", &save)) {
    listed++;
    json_t *b = find_bench(root, n);
    if (!b)
      AB_FAIL("%s is registered but did not run", n);
    if (json_is_true(json_object_get(b, "error_occurred")))
      AB_FAIL("%s: %s", n, json_string_value(json_object_get(b, "error_message")));
    ASSERT_INT(num(b, "iterations"), <=, 64); /* one turn of the loop; batches run 64 */
    if (strstr(n, "/rtt/") || strstr(n, "/oneway/") || !strncmp(n, "spawn/", 6)) {
      static const char *const c[] = { "mean_ns", "p50_ns", "p99_ns", "p999_ns", "max_ns" };
      for (int k = 0; k < 5; k++)
        ASSERT_DBL(num(b, c[k]), >, 0);
    }
  }
  free(names);

  /* The names the issue and the fidelity checks rely on. */
  static const char *const must[] = {
    "pipe/procs/rtt/8", "pipe/threads/rtt/8", "pipe/procs/oneway/6220800",
    "cacheline/threads/rtt/8", "cacheline/procs/rtt/8",
#if !defined(__SANITIZE_THREAD__) /* not built under ThreadSanitizer: see bench/sync.c */
    "mutex/threads/oneway/0",
#endif
    "condvar/procs/rtt/0", "futex/threads/oneway/0", "sem/procs/rtt/0", "eventfd/procs/rtt/8",
    "unix-stream/procs/rtt/64", "unix-seqpacket/threads/oneway/1048576", "mq/threads/oneway/8",
    "sysvmq/procs/rtt/1024", "tcp/procs/rtt/65536", "chan-shm-spin/procs/rtt/8",
    "chan-shm/procs/oneway/6220800", "chan-ring/threads/rtt/8", "chan-ring-spin/threads/rtt/8",
    "chan-pipe/procs/rtt/8", "chan-unix/procs/rtt/8", "chan-mq/procs/rtt/8", "chan-tcp/procs/rtt/8",
    "reg/procs/rtt/64", "reg/threads/load-contended/64", "reg/procs/store-contended/8",
    "robot-obs-shm/procs/oneway/48", "robot-frame-pipe/procs/oneway/6220800",
    "robot-frame-inplace-shm/procs/oneway/6220800", "spawn/threads/create-join",
    "spawn/procs/fork-wait", "spawn/procs/posix_spawn-wait", "clock/ab_now_ns",
    "hist/ab_hist_record",
  };
  for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
    need_bench(root, must[i]);
  ASSERT_INT(listed, >=, 250);
  json_decref(root);
  cleanup_now();
}

/* ---- compare.py ----------------------------------------------------------------------- */

static int find_compare(char *path, size_t len)
{
  const char *env = getenv("AB_GB_COMPARE");
  if (env) {
    snprintf(path, len, "%s", env);
    return access(path, R_OK) == 0;
  }
  char pat[1100], tmp[1024];
  snprintf(tmp, sizeof tmp, "%s", micro_bin());
  const char *dirs[] = { dirname(tmp), "build" };
  for (int i = 0; i < 2; i++) {
    glob_t g;
    snprintf(pat, sizeof pat, "%s/gbench-src/benchmark-*/tools/compare.py", dirs[i]);
    if (glob(pat, 0, NULL, &g) == 0) {
      snprintf(path, len, "%s", g.gl_pathv[0]);
      globfree(&g);
      return 1;
    }
  }
  return 0;
}

TEST(micro_json_is_read_unchanged_by_google_benchmark_compare_py)
{
  char compare[1024];
  if (!find_compare(compare, sizeof compare))
    SKIP("Google Benchmark's tools/compare.py is not here (it is in no Debian binary package): "
         "`make micro-compare-tools` fetches it, or set AB_GB_COMPARE=/path/to/compare.py");
  const char *py = "/usr/bin/python3";
  if (access(py, X_OK) != 0)
    SKIP("no %s to run compare.py with", py);
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "%s -c 'import numpy, scipy.stats' 2>/dev/null", py);
  if (system(cmd) != 0)
    SKIP("compare.py needs numpy and scipy for %s (apt-get install python3-numpy python3-scipy)", py);

  const char *dir = temp_path(1);
  char a[PATH_MAX], b[PATH_MAX], outa[PATH_MAX + 20], outb[PATH_MAX + 20];
  snprintf(a, sizeof a, "%s/old.json", dir);
  snprintf(b, sizeof b, "%s/new.json", dir);
  snprintf(outa, sizeof outa, "--benchmark_out=%s", a);
  snprintf(outb, sizeof outb, "--benchmark_out=%s", b);
  for (int k = 0; k < 2; k++)
    free(run_expect(micro_bin(),
                    L("--benchmark_filter=^(clock|hist)/|^pipe/threads/rtt/8$",
                      "--benchmark_min_time=0.01", "--benchmark_repetitions=3",
                      "--benchmark_out_format=json", k ? outb : outa), 0));
  proc_t p;
  run_prog(&p, py, L(compare, "benchmarks", a, b), 60);
  if (p.code != 0)
    AB_FAIL("compare.py exited %d: %s %s", p.code, p.out, p.err);
  ASSERT_CONTAINS(p.out, "clock/ab_now_ns");
  ASSERT_CONTAINS(p.out, "pipe/threads/rtt/8");
  ASSERT_CONTAINS(p.out, "U Test"); /* three repetitions each: the Mann-Whitney verdict */
  proc_free(&p);
  cleanup_now();
}

/* ---- placement and signals ------------------------------------------------------------ */

TEST(micro_pin_same_runs_blocking_links_and_refuses_polling_ones)
{
  json_t *root = micro_json(L("--pin=same", "--benchmark_min_time=0",
                              "--benchmark_filter=^(pipe/threads/rtt/8|cacheline/threads/rtt/8)$",
                              "--benchmark_format=json"));
  json_t *ctx = json_object_get(root, "context");
  ASSERT_CONTAINS(json_string_value(json_object_get(ctx, "pin")), "same: both sides on CPU");
  ASSERT_STR(json_string_value(json_object_get(ctx, "interval_us")), "0"); /* back to back */
  json_t *b = need_bench(root, "pipe/threads/rtt/8");
  ASSERT(!json_is_true(json_object_get(b, "error_occurred")));
  ASSERT_DBL(num(b, "p50_ns"), >, 0);
  b = need_bench(root, "cacheline/threads/rtt/8");
  ASSERT(json_is_true(json_object_get(b, "error_occurred")));
  ASSERT_CONTAINS(json_string_value(json_object_get(b, "error_message")), "polls");
  json_decref(root);
  cleanup_now();
}

/* --interval paces every one-way benchmark as pmqtest/ptsematest -i do: the peer sleeps the
 * interval before each ack, so N messages take at least N intervals of wall time (a physical
 * lower bound, never a latency bound). The benchmark says so in its name and counts its
 * iterations in wall time; round trips stay back to back under their own names; the JSON
 * context records the interval. */
TEST(micro_interval_paces_every_oneway_message_and_is_recorded)
{
  double t0 = now_s();
  json_t *root = micro_json(L("--interval=2ms", "--benchmark_min_time=0.05",
                              "--benchmark_filter=^sem/threads/", "--benchmark_format=json"));
  double wall = now_s() - t0;
  ASSERT_STR(json_string_value(json_object_get(json_object_get(root, "context"), "interval_us")),
             "2000");
  json_t *b = need_bench(root, "sem/threads/oneway/0/interval_us:2000/real_time");
  ASSERT(!json_is_true(json_object_get(b, "error_occurred")));
  ASSERT_STR(json_string_value(json_object_get(b, "time_unit")), "ns");
  double n = num(b, "iterations");
  ASSERT_DBL(n, >=, 1);
  ASSERT_DBL(num(b, "real_time"), >=, 2e6); /* per message, its interval included */
  ASSERT_DBL(wall, >=, n * 2e-3);           /* and the reported run alone took that long */
  ASSERT_DBL(num(b, "p50_ns"), >, 0);
  need_bench(root, "sem/threads/rtt/0");
  json_decref(root);
  cleanup_now();
}

/* SysV queues outlive their process unless removed: a SIGINT mid-benchmark removes them,
 * the peer dies with its parent, and the run ends by the signal, as Ctrl-C should. */
/* Queues that process a sent to or received from last (the bench side uses both of a pair). */
static int sysv_queues_of(pid_t a)
{
  FILE *f = fopen("/proc/sysvipc/msg", "re");
  char line[512];
  int n = 0;
  if (!f)
    return 0;
  while (fgets(line, sizeof line, f)) {
    long key, id, perms, cbytes, qnum, lspid, lrpid;
    if (sscanf(line, "%ld %ld %lo %ld %ld %ld %ld", &key, &id, &perms, &cbytes, &qnum, &lspid,
               &lrpid) == 7 && (lspid == a || lrpid == a))
      n++;
  }
  fclose(f);
  return n;
}

TEST(micro_sigint_mid_sysv_benchmark_removes_its_queues_and_peer)
{
  if (access("/proc/sysvipc/msg", R_OK) != 0)
    SKIP("/proc/sysvipc/msg is not readable here");
  proc_t p;
  start_prog(&p, micro_bin(), L("--benchmark_filter=^sysvmq/procs/rtt/8$", "--benchmark_min_time=60"));
  /* Google Benchmark runs the function a few times while it sizes the loop: each run has
   * its own peer and queues, so look for both at once, and again until they are there. */
  pid_t peer = 0;
  int queues = 0;
  for (int i = 0; i < 500 && !(peer && queues == 2); i++) {
    usleep(10000);
    peer = session_find(p.pid, "abm-sysvmq", 0);
    queues = sysv_queues_of(p.pid);
  }
  kill(p.pid, SIGINT);
#if defined(__SANITIZE_THREAD__)
  finish_ab(&p, 30); /* TSan defers a signal to its next interception point; CI is loaded */
#else
  finish_ab(&p, 10);
#endif
  if (!peer || queues != 2)
    AB_FAIL("the benchmark did not get going within 5 s (peer %d, queues %d)", (int)peer, queues);
  ASSERT_EQ(p.code, -SIGINT);
  assert_nothing_left(&p); /* the peer too */
  ASSERT_EQ(sysv_queues_of(p.pid), 0);
  proc_free(&p);
  cleanup_now();
}

/* bench/fidelity.py (make fidelity) refuses what it cannot do, naming it, before it runs
 * anything. */
TEST(micro_fidelity_script_bad_usage_exits_2_naming_the_value)
{
  if (access("/usr/bin/python3", X_OK) != 0)
    SKIP("no /usr/bin/python3 (make fidelity installs it)");
  static const char *const cases[][3] = {
    { "--only", "pipe,nope", "nope" },
    { "--tolerance", "2", "2" },
    { "--rounds", "0", "--rounds" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *err = run_expect("/usr/bin/python3", L("bench/fidelity.py", cases[i][0], cases[i][1],
                                                 "--out", "/dev/null"), 2);
    ASSERT_CONTAINS(err, cases[i][2]);
    free(err);
  }
  cleanup_now();
}
