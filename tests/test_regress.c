/* make regress (bench/regress) and make regress-calibrate (bench/calibrate.py) refuse what
 * they cannot do, naming it, before they build or run anything: no BASE, a BASE that is no
 * commit, a budget that is no duration, a CPU this process may not use, a side-run's
 * addition to a run the profile does not have. Their runs themselves take minutes: the
 * numbers they give are measured by `make regress-calibrate`, not asserted here.
 */
#include <stdlib.h>
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
  static const char *const bad[] = { "10x", "0", "1m5", "m", "-5m" };
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
