/* The test runner's own promise: every test runs in a temporary directory of its own, and
 * nothing a test leaves, files in that directory or a process in a session of its own,
 * outlives the test, whether it passed, failed or was stopped by Ctrl-C. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "test.h"

/* Leaves a file, a directory with a file and a sleeping process in a session of its own
 * (its pid written to $AB_RUNNER_LITTER_PID), then passes, fails or hangs as
 * AB_RUNNER_LITTER says: the runner is what must take them away. */
TEST(runner_litter_in_the_tests_tmpdir)
{
  const char *tmp = getenv("TMPDIR"), *how = getenv("AB_RUNNER_LITTER"), *pidf = getenv("AB_RUNNER_LITTER_PID");
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
  if (!how || !pidf)
    return;
  pid_t kid = fork();
  ASSERT(kid >= 0);
  if (kid == 0) {
    setsid();
    for (int i = 0; i < 600; i++)
      usleep(100000);
    _exit(0);
  }
  char tmpf[PATH_MAX];
  snprintf(tmpf, sizeof tmpf, "%s.tmp", pidf);
  fp = fopen(tmpf, "w");
  ASSERT(fp != NULL);
  fprintf(fp, "%d\n", (int)kid);
  fclose(fp);
  ASSERT_EQ(rename(tmpf, pidf), 0);
  if (!strcmp(how, "fail"))
    AB_FAIL("failing as asked, with %s left", f);
  if (!strcmp(how, "hang"))
    for (;;)
      pause();
}

static pid_t read_pid(const char *path)
{
  char *s = slurp(path);
  pid_t p = (pid_t)atoi(s);
  free(s);
  return p;
}

/* run-tests (this very binary) on the littering test, with TMPDIR a directory of ours: once
 * it is over (passed, failed, or Ctrl-C while it hangs), that directory is empty again and
 * the process it left is gone. */
static void litter_and_look(const char *how)
{
  int term = !strcmp(how, "hang-term"); /* the hang, stopped by SIGTERM instead */
  if (term)
    how = "hang";
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  ASSERT(n > 0);
  exe[n] = 0;
  const char *base = temp_path(1), *pidf = temp_path(0);
  unlink(pidf);
  setenv("AB_RUNNER_LITTER", how, 1);
  setenv("AB_RUNNER_LITTER_PID", pidf, 1);
  char tmpdir[PATH_MAX + 8];
  snprintf(tmpdir, sizeof tmpdir, "TMPDIR=%s", base); /* for run-tests only: env execs it */
  proc_t p;
  start_prog(&p, "/usr/bin/env", L(tmpdir, exe, "runner_litter_in_the_tests_tmpdir"));
  if (!strcmp(how, "hang")) {
    double t0 = now_s();
    while (access(pidf, F_OK) != 0 && now_s() - t0 < 20)
      usleep(10000);
    ASSERT_EQ(access(pidf, F_OK), 0);
    kill(p.pid, term ? SIGTERM : SIGINT);
  }
  finish_ab(&p, 30);
  const char *want = !strcmp(how, "pass")   ? "1 passed, 0 failed"
                     : !strcmp(how, "fail") ? "0 passed, 1 failed"
                     : term                 ? "stopped by signal 15"
                                            : "stopped by signal 2";
  if (!strstr(p.out, want))
    AB_FAIL("run-tests (%s) said, exit %d: %s%s; expected \"%s\"", how, p.code, p.out, p.err, want);
  ASSERT_EQ(p.code, !strcmp(how, "pass") ? 0 : !strcmp(how, "fail") ? 1 : term ? 143 : 130);
  pid_t kid = read_pid(pidf);
  ASSERT(kid > 0);
  double t0 = now_s();
  while (kill(kid, 0) == 0 && now_s() - t0 < 2) /* a zombie of the runner's, reaped at its exit */
    usleep(10000);
  if (kill(kid, 0) == 0 || errno != ESRCH)
    AB_FAIL("the test's process %d (a session of its own) outlived run-tests (%s)", (int)kid, how);
  char names[512];
  int left = dir_entries(base, names, sizeof names);
  if (left)
    AB_FAIL("%d entries left in the TMPDIR given to run-tests after a test that was to %s: %s", left, how, names);
  proc_free(&p);
  cleanup_now();
}

TEST(runner_removes_a_passing_tests_temporary_files) { litter_and_look("pass"); }
TEST(runner_removes_a_failing_tests_temporary_files) { litter_and_look("fail"); }
TEST(runner_ctrl_c_ends_the_test_and_removes_what_it_left) { litter_and_look("hang"); }
TEST(runner_sigterm_ends_the_test_and_removes_what_it_left) { litter_and_look("hang-term"); }

/* A TMPDIR the tests cannot use is refused before any test runs, naming it (exit 2). */
TEST(runner_refuses_a_tmpdir_it_cannot_use_naming_it)
{
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  ASSERT(n > 0);
  exe[n] = 0;
  char bad[PATH_MAX], env[PATH_MAX + 8];
  snprintf(bad, sizeof bad, "%s/missing", temp_path(1));
  snprintf(env, sizeof env, "TMPDIR=%s", bad);
  proc_t p;
  start_prog(&p, "/usr/bin/env", L(env, exe, "runner_litter_in_the_tests_tmpdir"));
  finish_ab(&p, 30);
  if (p.code != 2 || !strstr(p.err, bad) || !strstr(p.err, "expected a writable directory") || strstr(p.out, "passed"))
    AB_FAIL("TMPDIR=%s: exit %d, said: %s%s; expected exit 2 naming it before any test", bad, p.code, p.out, p.err);
  proc_free(&p);
  cleanup_now();
}
