/* `archbench report RUN_DIR [RUN_DIR...]`: the page and its figures into RUN_DIR/report/ (the
 * first directory's; several directories pool their results, as repeats). The figures'
 * templates are found in $AB_REPORTS, else beside the binary (../reports from build/), else
 * in ./reports. The page is written under a temporary name and renamed, so an interrupted
 * report leaves the previous page whole.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "report.h"

extern char **environ;

static int ab__has_tmpl(const char *dir)
{
  char p[PATH_MAX + 64];
  snprintf(p, sizeof p, "%s/spectrum.gp", dir);
  return access(p, R_OK) == 0;
}

static void ab__find_templates(ab_rep_t *rp)
{
  const char *env = getenv("AB_REPORTS");
  char exe[PATH_MAX];
  ssize_t n;
  if (env && ab__has_tmpl(env)) {
    snprintf(rp->tmpl, sizeof rp->tmpl, "%s", env);
    return;
  }
  if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) > 0) {
    exe[n] = 0;
    char *d = dirname(exe);
    snprintf(rp->tmpl, sizeof rp->tmpl, "%s/../reports", d);
    if (ab__has_tmpl(rp->tmpl))
      return;
    snprintf(rp->tmpl, sizeof rp->tmpl, "%s/../../reports", d); /* build-<sanitizer>/ too */
    if (ab__has_tmpl(rp->tmpl))
      return;
  }
  if (getcwd(exe, sizeof exe))
    snprintf(rp->tmpl, sizeof rp->tmpl, "%s/reports", exe);
}

/* Does gnuplot run here? */
static int ab__gnuplot_here(void)
{
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  char *argv[] = { "gnuplot", "--version", NULL };
  pid_t pid;
  int st = 0, rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc)
    return 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* The previous report's files: a figure not drawn this time must not linger on the page. */
static void ab__clear(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  if (!d)
    return;
  while ((e = readdir(d))) {
    const char *x = strrchr(e->d_name, '.');
    if ((x && (!strcmp(x, ".svg") || !strcmp(x, ".dat") || !strcmp(x, ".log"))) ||
        !strncmp(e->d_name, ".index.html.", 12)) /* and a page a killed report left half written */
      unlinkat(dirfd(d), e->d_name, 0);
  }
  closedir(d);
}

int ab_report(int ndirs, char **dirs)
{
  ab_rep_t rp;
  char err[1024];
  if (ndirs < 1) {
    fprintf(stderr, "archbench: report: missing RUN_DIR (for example results/latest)\n");
    return AB_EXIT_USAGE;
  }
  int rc = ab_rep_load(&rp, ndirs, dirs, err, sizeof err);
  if (rc) {
    fprintf(stderr, "archbench: %s\n", err);
    ab_rep_free(&rp);
    return rc;
  }
  if (rp.nrun == 0) {
    fprintf(stderr, "archbench: report: %s holds micro.json but no scenario result: run `make bench` or "
                    "`archbench run SCENARIO` into it first\n", dirs[0]);
    ab_rep_free(&rp);
    return AB_EXIT_USAGE;
  }
  snprintf(rp.out, sizeof rp.out, "%s/report", dirs[0]);
  if (mkdir(rp.out, 0755) && errno != EEXIST) {
    fprintf(stderr, "archbench: report: cannot create %s: %s\n", rp.out, strerror(errno));
    ab_rep_free(&rp);
    return AB_EXIT_RESOURCE;
  }
  /* One report at a time in a folder (a second waits), and Ctrl-C waits for the page (a few
   * seconds at most): the old figures are cleared and the new page renamed whole, never a
   * page whose figures are gone. */
  char lockp[PATH_MAX + 16];
  snprintf(lockp, sizeof lockp, "%s/.lock", rp.out);
  int lock = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0 || flock(lock, LOCK_EX) < 0) {
    fprintf(stderr, "archbench: report: cannot lock %s: %s\n", lockp, strerror(errno));
    if (lock >= 0)
      close(lock);
    ab_rep_free(&rp);
    return AB_EXIT_RESOURCE;
  }
  sigset_t stop, old;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT), sigaddset(&stop, SIGTERM), sigaddset(&stop, SIGHUP);
  sigprocmask(SIG_BLOCK, &stop, &old);
  ab__clear(rp.out);
  ab__find_templates(&rp);
  /* the folder goes into gnuplot's commands quoted: a quote in it could end the string */
  rp.gnuplot = ab__has_tmpl(rp.tmpl) && !strchr(rp.tmpl, '\'') && ab__gnuplot_here();
  if (!rp.gnuplot)
    fprintf(stderr, "archbench: report: %s; the page has its tables, and says which figures need it\n",
            ab__has_tmpl(rp.tmpl) ? "gnuplot is not installed (apt-get install gnuplot-nox)"
                                  : "the figures' templates (reports/*.gp) are not found: set AB_REPORTS");
  char page[PATH_MAX + 32], tmp[PATH_MAX + 48];
  snprintf(page, sizeof page, "%s/index.html", rp.out);
  snprintf(tmp, sizeof tmp, "%s/.index.html.%d", rp.out, (int)getpid());
  if (ab_rep_html(&rp, tmp) || rename(tmp, page)) {
    fprintf(stderr, "archbench: report: cannot write %s: %s\n", page, strerror(errno));
    unlink(tmp);
    ab_rep_free(&rp);
    close(lock);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return AB_EXIT_RESOURCE;
  }
  close(lock);
  sigprocmask(SIG_SETMASK, &old, NULL);
  char real[PATH_MAX], *rel = realpath(page, real), cwd[PATH_MAX];
  size_t cl = getcwd(cwd, sizeof cwd) ? strlen(cwd) : 0;
  /* the run's own path (results/latest moves on with the next run), relative when it can be */
  if (rel && cl && !strncmp(real, cwd, cl) && real[cl] == '/')
    rel = real + cl + 1;
  printf("report: %s\n", rel ? rel : page);
  ab_rep_free(&rp);
  return AB_EXIT_OK;
}
