/* The test runner's own promise: every test runs in a temporary directory of its own, and
 * nothing a test leaves in it outlives the test, whether it passed or failed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "test.h"

/* Leaves a file and a directory with a file in its TMPDIR, and passes or fails as told
 * (AB_RUNNER_LITTER_FAIL): the runner is what must take them away. */
TEST(runner_litter_in_the_tests_tmpdir)
{
  const char *tmp = getenv("TMPDIR");
  ASSERT(tmp != NULL);
  ASSERT_CONTAINS(tmp, "/ab-test-");
  char names[256];
  ASSERT_EQ(dir_entries(tmp, names, sizeof names), 0); /* fresh for this test */
  const char *d = temp_path(1);
  ASSERT_EQ(strncmp(d, tmp, strlen(tmp)), 0);
  char f[PATH_MAX];
  snprintf(f, sizeof f, "%s/left", d);
  FILE *fp = fopen(f, "w");
  ASSERT(fp != NULL);
  fputs("litter\n", fp);
  fclose(fp);
  snprintf(f, sizeof f, "%s/direct", tmp); /* and one no helper of ours knows of */
  fp = fopen(f, "w");
  ASSERT(fp != NULL);
  fclose(fp);
  const char *fail = getenv("AB_RUNNER_LITTER_FAIL");
  if (fail && *fail)
    AB_FAIL("failing as asked, with %s left", f);
}

/* run-tests (this very binary) on the littering test, with TMPDIR a directory of ours: once
 * it is over, passed or failed, that directory is empty again. */
static void litter_and_look(int fail)
{
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  ASSERT(n > 0);
  exe[n] = 0;
  const char *base = temp_path(1);
  char cmd[3 * PATH_MAX], out[PATH_MAX];
  snprintf(out, sizeof out, "%s.out", base);
  snprintf(cmd, sizeof cmd, "TMPDIR='%s' AB_RUNNER_LITTER_FAIL=%s '%s' runner_litter_in_the_tests_tmpdir >'%s' 2>&1",
           base, fail ? "1" : "", exe, out);
  int st = system(cmd);
  char *said = slurp(out);
  unlink(out);
  ASSERT_CONTAINS(said, fail ? "0 passed, 1 failed" : "1 passed, 0 failed");
  ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == (fail ? 1 : 0));
  char names[512];
  int left = dir_entries(base, names, sizeof names);
  if (left)
    AB_FAIL("%d entries left in the TMPDIR given to run-tests after a test that %s: %s", left,
            fail ? "failed" : "passed", names);
  free(said);
  cleanup_now();
}

TEST(runner_removes_a_passing_tests_temporary_files) { litter_and_look(0); }
TEST(runner_removes_a_failing_tests_temporary_files) { litter_and_look(1); }
