/* Test runner: forks every registered test under its timeout and prints one line each, then
 * "N passed, N failed" (", N skipped"). Arguments are substrings selecting tests by name.
 * Each test runs with TMPDIR a fresh directory of its own (ab-test-XXXXXX under the caller's
 * TMPDIR, else /tmp), removed with whatever is in it once the test is over, with every
 * process the test left (a test that passes ends in _exit and runs no clean-up of its own,
 * one that fails or times out may not reach it). SIGINT, SIGTERM, SIGHUP or SIGQUIT (unless
 * ignored when it started) end the test in progress the same way, then the runner (exit 128
 * + the signal, even between two tests). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "test.h"

#define MAX_TESTS 1024
static ab_test_t tests[MAX_TESTS];
static int ntests, nlost;

void ab_test_register(const char *name, void (*fn)(void), int timeout_s)
{
  if (ntests < MAX_TESTS)
    tests[ntests++] = (ab_test_t){ name, fn, timeout_s };
  else
    nlost++;
}

static int cmp(const void *a, const void *b)
{
  return strcmp(((const ab_test_t *)a)->name, ((const ab_test_t *)b)->name);
}

/* The tests to run: those whose name holds one of the arguments (all when there is none to
 * hold), less those holding one given as -WORD. */
static int selected(const char *name, int argc, char **argv)
{
  int want = 0, any = 0;
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-' && argv[i][1]) {
      if (strstr(name, argv[i] + 1))
        return 0;
      continue;
    }
    any = 1;
    want |= strstr(name, argv[i]) != NULL;
  }
  return want || !any;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st, (void)flag, (void)ftw;
  if (remove(path) != 0 && errno != ENOENT)
    fprintf(stderr, "runner: cannot remove %s: %s\n", path, strerror(errno));
  return 0;
}

/* Where the tests' directories go: TMPDIR, else /tmp; NULL after saying why it is unusable. */
static const char *tmp_base(void)
{
  static char abs[PATH_MAX]; /* absolute: a test may chdir */
  const char *base = getenv("TMPDIR");
  base = base && *base ? base : "/tmp";
  struct stat sb;
  errno = 0;
  if (stat(base, &sb) != 0 || !S_ISDIR(sb.st_mode) || access(base, W_OK | X_OK) != 0 || !realpath(base, abs)) {
    fprintf(stderr, "runner: TMPDIR=%s: %s (expected a writable directory for the tests' temporary files)\n", base,
            errno ? strerror(errno) : "not a directory");
    return NULL;
  }
  return abs;
}

/* The children the runner had before any test (a caller that forked and then exec'd it):
 * not a test's leftovers. */
static pid_t before[64];
static int nbefore;

static int was_before(pid_t p)
{
  for (int i = 0; i < nbefore; i++)
    if (before[i] == p)
      return 1;
  return 0;
}

/* Kill what a test left behind: its process group, then every process that became ours (the
 * runner is a subreaper: a session the test started and left, once the test is gone), until
 * none is left; then remove its directory. */
static void end_test(pid_t pid, const char *tmp)
{
  kill(-pid, SIGKILL);
  double t0 = now_s();
  for (;;) {
    ab_child_t kids[256];
    int n = my_children(kids, 256), left = 0;
    for (int k = 0; k < n; k++) {
      if (was_before(kids[k].pid))
        continue;
      kids[left++] = kids[k];
      kill(-kids[k].pid, SIGKILL); /* its group, if it leads one */
      kill(kids[k].pid, SIGKILL);
    }
    for (pid_t r; (r = waitpid(-1, NULL, WNOHANG)) > 0;)
      ;
    if (!left)
      break;
    if (now_s() - t0 > 5) { /* the next test starts beside them: say so */
      for (int k = 0; k < left; k++)
        fprintf(stderr, "runner: %d (%s), left by a test, has not died 5 s after SIGKILL (state %c)\n",
                (int)kids[k].pid, kids[k].comm, kids[k].state);
      break;
    }
    usleep(1000);
  }
  if (*tmp)
    nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static volatile sig_atomic_t stop_sig;
static void on_stop(int sig) { stop_sig = sig; }
static const int stop_sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

int main(int argc, char **argv)
{
  int passed = 0, failed = 0, skipped = 0;
  const char *ff = getenv("AB_TEST_FAILFAST");
  int failfast = ff && *ff && strcmp(ff, "0");
  if (nlost) { /* a test left out would pass unseen */
    fprintf(stderr, "runner: %d tests registered, room for %d: raise MAX_TESTS in tests/runner.c\n", ntests + nlost,
            MAX_TESTS);
    return 2;
  }
  const char *base = tmp_base();
  if (!base)
    return 2;
  /* the tests run in process groups of their own, out of reach of a terminal's Ctrl-C: the
   * runner takes the signal, ends the test in progress and its leftovers, and exits */
  struct sigaction sa = { .sa_handler = on_stop }, was;
  sigemptyset(&sa.sa_mask);
  for (size_t k = 0; k < sizeof stop_sigs / sizeof stop_sigs[0]; k++)
    if (sigaction(stop_sigs[k], NULL, &was) == 0 && was.sa_handler != SIG_IGN) /* nohup stays nohup */
      sigaction(stop_sigs[k], &sa, NULL);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  ab_child_t kids[64];
  nbefore = my_children(kids, 64);
  for (int k = 0; k < nbefore; k++)
    before[k] = kids[k].pid;
  qsort(tests, ntests, sizeof tests[0], cmp);
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 0; i < ntests && !stop_sig; i++) {
    ab_test_t *t = &tests[i];
    if (!selected(t->name, argc, argv))
      continue;
    double t0 = now_s();
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s/ab-test-XXXXXX", base);
    if (!mkdtemp(tmp)) {
      fprintf(stderr, "runner: mkdtemp %s: %s\n", tmp, strerror(errno));
      return 2;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
      setpgid(0, 0); /* so a timeout kills whatever the test started */
      for (size_t k = 0; k < sizeof stop_sigs / sizeof stop_sigs[0]; k++)
        signal(stop_sigs[k], SIG_DFL);
      prctl(PR_SET_PDEATHSIG, SIGKILL); /* a runner killed outright takes its test along */
      setenv("TMPDIR", tmp, 1);
      alarm(0);
      t->fn();
      fflush(NULL);
      _exit(0);
    }
    setpgid(pid, pid);
    int status = 0, timed_out = 0;
    for (;;) {
      /* as init would: an orphan that ends is reaped at once (its zombie would otherwise
       * linger in /proc, in the session a test looks into) */
      int st = 0;
      pid_t r = waitpid(-1, &st, WNOHANG);
      if (r == pid) {
        status = st;
        break;
      }
      if (r > 0)
        continue;
      if (r < 0 && errno != EINTR) {
        status = 1 << 8;
        break;
      }
      if (stop_sig || now_s() - t0 > t->timeout_s) { /* Ctrl-C: the test goes, counted as nothing */
        timed_out = !stop_sig;
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
        break;
      }
      usleep(2000);
    }
    end_test(pid, tmp);
    if (stop_sig) {
      printf("runner: stopped by signal %d (%s) in %s\n", (int)stop_sig, strsignal(stop_sig), t->name);
      return 128 + stop_sig;
    }
    double dt = now_s() - t0;
    if (timed_out) {
      printf("FAIL %-52s timed out after %ds\n", t->name, t->timeout_s);
      failed++;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      printf("ok   %-52s %6.2fs\n", t->name, dt);
      passed++;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
      printf("skip %-52s\n", t->name);
      skipped++;
    } else if (WIFSIGNALED(status)) {
      printf("FAIL %-52s killed by signal %d (%s)\n", t->name, WTERMSIG(status),
             strsignal(WTERMSIG(status)));
      failed++;
    } else {
      printf("FAIL %-52s exit %d\n", t->name, WEXITSTATUS(status));
      failed++;
    }
    if (failed && failfast) /* one failure is the answer (a mutant's run): the rest are not run */
      break;
  }
  if (stop_sig) { /* between two tests: the run is not whole, whatever passed */
    printf("runner: stopped by signal %d (%s) between tests\n", (int)stop_sig, strsignal(stop_sig));
    return 128 + stop_sig;
  }
  if (skipped)
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  else
    printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
