/* make regress (bench/regress) and make regress-calibrate (bench/calibrate.py) refuse what
 * they cannot do, naming it, before they build or run anything: no BASE, a BASE that is no
 * commit, a budget that is no duration, a CPU this process may not use, a side-run's
 * addition to a run the profile does not have. Their runs themselves take minutes: the
 * numbers they give are measured by `make regress-calibrate`, not asserted here.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "test.h"

#define REGRESS "bench/regress"

/* `bin args` exits 2 with `needle` on stderr, and build/regress/ holds what it held before
 * (nothing was built, no worktree made, no round run). */
static void refused(const char *bin, const char *const *args, const char *needle)
{
  char before[4096] = "", after[4096] = "";
  int had = access("build/regress", F_OK) == 0;
  if (had)
    dir_entries("build/regress", before, sizeof before);
  proc_t p;
  run_prog(&p, bin, args, 30);
  if (p.code != 2)
    AB_FAIL("`%s` exited %d, expected 2; stderr: \"%s\"", p.cmd, p.code, p.err);
  ASSERT_CONTAINS(p.err, needle);
  if (had)
    dir_entries("build/regress", after, sizeof after);
  else
    ASSERT(access("build/regress", F_OK) != 0);
  ASSERT_STR(after, before);
  proc_free(&p);
}

TEST_T(regress_without_base_exits_2_saying_it_is_required, 30)
{
  refused(REGRESS, (const char *const[]){ NULL }, "BASE is required: make regress BASE=<git rev>");
  cleanup_now();
}

TEST_T(regress_base_that_is_no_commit_exits_2_naming_it, 30)
{
  refused(REGRESS, L("no-such-rev~3"), "BASE=no-such-rev~3 is not a commit");
  cleanup_now();
}

TEST_T(regress_budget_that_is_no_duration_exits_2_naming_it, 30)
{
  static const char *const bad[] = { "10x", "0", "1m5", "m", "-5m", "25h", "59s", "99999999999999999999h" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char needle[64];
    setenv("REGRESS_BUDGET", bad[i], 1);
    snprintf(needle, sizeof needle, "REGRESS_BUDGET=%s is not a duration", bad[i]);
    refused(REGRESS, L("HEAD"), needle);
  }
  cleanup_now();
}

TEST_T(regress_cpu_it_may_not_use_exits_2_naming_it, 30)
{
  setenv("REGRESS_CPU", "4095", 1);
  refused(REGRESS, L("HEAD"), "REGRESS_CPU=4095 is not a CPU this process may use");
  unsetenv("REGRESS_CPU");
  setenv("REGRESS_SEED", "08", 1);
  refused(REGRESS, L("HEAD"), "REGRESS_SEED=08 is not a whole number");
  unsetenv("REGRESS_SEED");
  setenv("REGRESS_CPU", "08", 1);
  refused(REGRESS, L("HEAD"), "REGRESS_CPU=08");
  setenv("REGRESS_CPU", "one", 1);
  refused(REGRESS, L("HEAD"), "REGRESS_CPU=one");
  cleanup_now();
}

TEST_T(regress_side_run_addition_to_no_run_exits_2_naming_it, 30)
{
  const char *dir = temp_path(1);
  char out[600];
  snprintf(out, sizeof out, "%s/r01", dir);
  refused(REGRESS, L("--side-run", out, "build", "robot.loop=--fault slow:inner:1us"), "'robot.loop' is no run of the set");
  refused(REGRESS, L("--side-run", out, "build", "robot.threads"), "'robot.threads' is not KEY=ARGS");
  /* A directory that holds something is no new round's: Ctrl-C would remove it. */
  char keep[600];
  snprintf(keep, sizeof keep, "%s/precious.json", dir);
  FILE *f = fopen(keep, "w");
  ASSERT(f != NULL);
  fclose(f);
  refused(REGRESS, L("--side-run", dir, "build"), "exists and is not empty");
  ASSERT(access(out, F_OK) != 0);
  cleanup_now();
}

TEST_T(regress_calibrate_budget_that_is_no_duration_exits_2_naming_it, 30)
{
  if (access("/usr/bin/python3", X_OK) != 0)
    SKIP("no /usr/bin/python3 (make regress-calibrate installs it)");
  refused("/usr/bin/python3", L("bench/calibrate.py", "--budget", "20x"), "'20x' is not a duration");
  setenv("CALIBRATE_BUDGET", "0", 1);
  refused("/usr/bin/python3", L("bench/calibrate.py"), "'0' is not a duration");
  cleanup_now();
}

/* The blocks' orders: each ABBA or BAAB (so each side runs first in half the blocks, and a
 * drift within a block reaches both alike), both drawn, and a seed draws the same again. */
TEST_T(regress_blocks_are_abba_or_baab_and_a_seed_repeats_them, 30)
{
  proc_t p, q;
  run_prog(&p, REGRESS, L("--order", "12345", "40"), 10);
  run_prog(&q, REGRESS, L("--order", "12345", "40"), 10);
  ASSERT_EQ(p.code, 0);
  ASSERT_STR(p.out, q.out);
  int abba = 0, baab = 0;
  for (char *line = strtok(p.out, "\n"); line; line = strtok(NULL, "\n")) {
    if (!strcmp(line, "ABBA"))
      abba++;
    else if (!strcmp(line, "BAAB"))
      baab++;
    else
      AB_FAIL("block order '%s', expected ABBA or BAAB", line);
  }
  ASSERT_EQ(abba + baab, 40);
  if (abba < 8 || baab < 8) /* 40 fair draws: fewer than 8 of one has probability < 1e-4 */
    AB_FAIL("%d ABBA and %d BAAB in 40 blocks: not drawn at random", abba, baab);
  proc_free(&p);
  proc_free(&q);
  cleanup_now();
}

/* Ctrl-C while a side-run's program runs: the program and everything it started (here a
 * grandchild that ignores SIGINT, as a background job's does, standing for a build's
 * compilers or a run's roles) are gone, the round's directory is removed, exit 130. */
TEST_T(regress_ctrl_c_stops_the_whole_run_and_removes_its_round, 40)
{
  const char *bin = temp_path(1), *dir = temp_path(1);
  char prog[600], pidf[600], round[600], text[3200];
  snprintf(prog, sizeof prog, "%s/archbench", bin);
  snprintf(pidf, sizeof pidf, "%s/grandchild.pid", bin);
  snprintf(round, sizeof round, "%s/r01", dir);
  /* The grandchild: perl, which takes SIGINT even where its shell parent set it ignored,
   * and leaves a mark when it does (the whole group got the Ctrl-C, not only the leader).
   * The child itself becomes a sleep that leaves SIGINT as it found it: it ends on the
   * Ctrl-C only if make regress gave it SIGINT's default back (a background job's is
   * ignored, as make's and the compilers' were). */
  snprintf(text, sizeof text,
           "#!/bin/sh\nperl -e '$SIG{INT} = sub { open(my $f, \">\", \"%s.int\"); exit 0 };"
           " open(my $p, \">\", \"%s.tmp\"); print $p $$; close($p); rename(\"%s.tmp\", \"%s\"); sleep 300' &\n"
           "exec sleep 300\n", pidf, pidf, pidf, pidf); /* its pid written once its handler is in place */
  FILE *f = fopen(prog, "w");
  ASSERT(f != NULL);
  fputs(text, f);
  fclose(f);
  ASSERT_EQ(chmod(prog, 0755), 0);
  proc_t p;
  start_prog(&p, REGRESS, L("--side-run", round, bin));
  double t0 = now_s();
  while (access(pidf, F_OK) != 0) {
    if (wait_ab(&p, 0))
      AB_FAIL("exit %d before the run started; stderr: %s", p.code, p.err);
    if (now_s() - t0 > 10)
      AB_FAIL("the side-run's program did not start within 10 s");
    usleep(10000);
  }
  char *pid_text = slurp(pidf);
  pid_t grandchild = (pid_t)atoi(pid_text);
  free(pid_text);
  ASSERT(grandchild > 0 && kill(grandchild, 0) == 0);
  ASSERT_EQ(kill(-p.pid, SIGINT), 0); /* as a terminal's Ctrl-C: the whole foreground group */
  double t_int = now_s();
  if (!wait_ab(&p, 15))
    AB_FAIL("no exit within 15 s of Ctrl-C");
  if (now_s() - t_int > 4) /* 5 s is the fallback to SIGKILL: SIGINT alone must end it */
    AB_FAIL("%.1f s from Ctrl-C to the exit: SIGINT did not end the run's group", now_s() - t_int);
  if (p.code != 130)
    AB_FAIL("exit %d after Ctrl-C, expected 130; stderr: %s", p.code, p.err);
  ASSERT_CONTAINS(p.err, "interrupted");
  ASSERT(access(round, F_OK) != 0);
  char mark[700];
  snprintf(mark, sizeof mark, "%s.int", pidf);
  if (access(mark, F_OK) != 0)
    AB_FAIL("the run's grandchild never got the SIGINT (only the group's leader did, or none)");
  /* Ended, it is a zombie of this test process (a subreaper: tests/test_proc.c). */
  pid_t got = 0;
  for (int i = 0; i < 100 && (got = waitpid(grandchild, NULL, WNOHANG)) == 0; i++)
    usleep(10000); /* it may still be on its way out after leaving its mark */
  if (got != grandchild && !(got < 0 && kill(grandchild, 0) != 0)) /* or reaped already */
    AB_FAIL("the run's grandchild %d outlived the Ctrl-C", (int)grandchild);
  proc_free(&p);
  cleanup_now();
}

/* bench/calibrate.py's arithmetic (tests/calibrate_check.py): the plants are X% of the
 * median, only a regression verdict counts as detected, A/A halves are disjoint, the
 * false-alarm bound is Clopper-Pearson's. */
TEST_T(regress_calibrate_arithmetic, 60)
{
  if (access("/usr/bin/python3", X_OK) != 0)
    SKIP("no /usr/bin/python3 (make regress-calibrate installs it)");
  proc_t p;
  run_prog(&p, "/usr/bin/python3", L("tests/calibrate_check.py"), 50);
  printf("%s", p.out);
  if (p.code != 0)
    AB_FAIL("tests/calibrate_check.py exited %d: %s%s", p.code, p.out, p.err);
  ASSERT_CONTAINS(p.out, "ok upper_bound_0_of_60");
  proc_free(&p);
  cleanup_now();
}
