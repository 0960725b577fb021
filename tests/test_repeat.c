/* --repeat K (harness/cli.c, execute.c): every run of the command K times, in rounds, so that
 * drift on a shared machine reaches every architecture alike. Each result is a file of its
 * own (.r1 .. .rK before .json) that says which round it was; K=1 changes nothing; a bad K
 * is refused naming itself and the range, with nothing created; Ctrl-C in a later round
 * leaves the whole results so far and nothing else. Order is checked by the results' own
 * started_at (whole seconds: the runs last a second) and by when each file was written. */
#include <jansson.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jresult.h"
#include "proc.h"
#include "test.h"

/* `archbench args` exits 2 with one line naming the value and the range, creating nothing. */
static void refused(const char *cmd, const char *k)
{
  const char *out = temp_path(1);
  char opt[32];
  snprintf(opt, sizeof opt, "--repeat %s", k);
  proc_t p;
  if (!strcmp(cmd, "run"))
    run_ab(&p, L("run", "baseline", "--repeat", k, "--duration", "100ms", "--out", out), 30);
  else
    run_ab(&p, L("bench", "--repeat", k, "--out", out), 30);
  if (p.code != 2)
    AB_FAIL("`%s` exited %d, expected 2; stderr: %s", p.cmd, p.code, p.err);
  ASSERT_CONTAINS(p.err, opt);
  ASSERT_CONTAINS(p.err, "1 to 100");
  ASSERT(strchr(p.err, '\n') == p.err + strlen(p.err) - 1);
  char names[512];
  if (dir_entries(out, names, sizeof names))
    AB_FAIL("a refused command wrote into its --out dir: %s", names);
  proc_free(&p);
}

TEST(repeat_out_of_range_or_not_a_number_exits_2_naming_it_and_the_range)
{
  static const char *const bad[] = { "0", "101", "x", "-1", "2.5", "" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    refused("run", bad[i]);
  refused("bench", "0");
  refused("bench", "101");
  cleanup_now();
}

/* When the file was last written, in ns. */
static double mtime_ns(const char *out, const char *file)
{
  char path[512];
  struct stat sb;
  snprintf(path, sizeof path, "%s/%s", out, file);
  if (stat(path, &sb) != 0)
    AB_FAIL("no %s", path);
  return sb.st_mtim.tv_sec * 1e9 + sb.st_mtim.tv_nsec;
}

TEST_T(repeat_3_writes_a_result_per_round_in_alternating_rounds, 90)
{
  const char *out = temp_path(1);
  proc_t p;
  run_ab(&p, L("run", "baseline", "--arch", "threads,loop", "--repeat", "3", "--duration", "1s", "--out", out), 90);
  if (p.code != 0)
    AB_FAIL("`%s` exited %d; stderr: %s", p.cmd, p.code, p.err);
  char names[1024];
  ASSERT_EQ(dir_entries(out, names, sizeof names), 8); /* six results, two summaries, no lock */
  /* the order they ran in: every runtime once a round */
  static const char *const order[] = { "baseline.threads.r1.json", "baseline.loop.r1.json",
                                       "baseline.threads.r2.json", "baseline.loop.r2.json",
                                       "baseline.threads.r3.json", "baseline.loop.r3.json" };
  char prev_start[32] = "";
  double prev_written = 0;
  for (int i = 0; i < 6; i++) {
    json_t *r = load_result(out, order[i]);
    ASSERT_STR(jstr(r, "status"), "ok");
    ASSERT_STR(jstr(r, "arch"), i % 2 ? "loop" : "threads");
    json_t *k = jobj(r, "repeat");
    ASSERT_DBL(jnum(k, "index"), ==, i / 2 + 1);
    ASSERT_DBL(jnum(k, "of"), ==, 3);
    /* the same format throughout, so the strings order as the times do */
    const char *start = jstr(r, "started_at");
    if (strcmp(prev_start, start) >= 0)
      AB_FAIL("%s started at %s, not after the run before it (%s)", order[i], start, prev_start);
    snprintf(prev_start, sizeof prev_start, "%s", start);
    double written = mtime_ns(out, order[i]);
    ASSERT_DBL(written, >, prev_written);
    prev_written = written;
    json_decref(r);
  }
  /* a row per result in both summaries, the round shown */
  char path[600];
  snprintf(path, sizeof path, "%s/summary.txt", out);
  char *txt = slurp(path);
  ASSERT_CONTAINS(txt, "threads #2");
  ASSERT_CONTAINS(txt, "loop #3");
  snprintf(path, sizeof path, "%s/summary.csv", out);
  char *csv = slurp(path);
  int lines = 0;
  for (const char *c = csv; *c; c++)
    lines += *c == '\n';
  ASSERT_EQ(lines, 7);
  ASSERT_CONTAINS(csv, "\r\nbaseline,threads,2,");
  ASSERT_CONTAINS(csv, "\r\nbaseline,loop,3,");
  free(txt), free(csv);
  proc_free(&p);
  cleanup_now();
}

TEST(repeat_1_keeps_the_names_and_says_no_repeat)
{
  const char *out = temp_path(1);
  proc_t p;
  run_ab(&p, L("run", "baseline", "--repeat", "1", "--duration", "200ms", "--out", out, "--quiet"), 60);
  ASSERT_EQ(p.code, 0);
  char names[512];
  ASSERT_EQ(dir_entries(out, names, sizeof names), 1);
  json_t *r = load_result(out, "baseline.threads.json");
  ASSERT(json_is_null(json_object_get(r, "repeat")));
  json_decref(r);
  proc_free(&p);
  cleanup_now();
}

/* Ctrl-C in round 2: round 1's result whole, round 2's partial, no round 3, no lock, no
 * temporary, no process or shared memory left. */
TEST_T(repeat_interrupted_in_a_later_round_leaves_whole_results_only, 90)
{
  const char *out = temp_path(1);
  proc_t p;
  start_ab(&p, L("run", "baseline", "--arch", "procs", "--repeat", "3", "--duration", "1s", "--out", out, "--quiet"));
  char first[600];
  snprintf(first, sizeof first, "%s/baseline.procs.shm.r1.json", out);
  double t0 = now_s();
  while (access(first, F_OK) != 0) {
    if (wait_ab(&p, 0))
      AB_FAIL("the command exited %d before round 1 ended; stderr: %s", p.code, p.err);
    if (now_s() - t0 > 60) {
      kill(-p.pid, SIGKILL);
      AB_FAIL("round 1 never wrote its result");
    }
    usleep(10000);
  }
  usleep(400000);
  ASSERT_EQ(kill(-p.pid, SIGINT), 0);
  finish_ab(&p, 30);
  if (p.code != 130)
    AB_FAIL("exit %d after SIGINT, expected 130; stderr: %s", p.code, p.err);
  assert_nothing_left(&p);
  char names[1024];
  int n = dir_entries(out, names, sizeof names);
  if (n != 2)
    AB_FAIL("expected the results of rounds 1 and 2 alone, found %d: %s", n, names);
  json_t *r = load_result(out, "baseline.procs.shm.r1.json");
  ASSERT_STR(jstr(r, "status"), "ok");
  json_decref(r);
  r = load_result(out, "baseline.procs.shm.r2.json");
  ASSERT_STR(jstr(r, "status"), "partial");
  ASSERT_DBL(jnum(jobj(r, "repeat"), "index"), ==, 2);
  json_decref(r);
  proc_free(&p);
  cleanup_now();
}
