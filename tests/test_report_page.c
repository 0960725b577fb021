/* The report's page end to end, on real results: short runs of baseline, robot and agents (a
 * sweep) and a few micro-benchmarks go into a fresh directory, `archbench report` makes the
 * page, and the tests hold the page to what it promises: an answer for every scenario run
 * (the sentence the decision wrote), a row for every claim, every figure it shows on disk,
 * nothing fetched from the network, a size a mail can carry; drawn by a real browser, it is
 * more than a blank page; and without gnuplot it still comes out, saying what the figures
 * need and showing none. Nothing here asserts a latency: the runs' figures are whatever this
 * machine gives, and the checks are of structure, counts and ratios.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "proc.h"
#include "repfix.h"
#include "test.h"

#define RUN_TIMEOUT_S 60.0
#define REPORT_TIMEOUT_S 60.0 /* the sanity bound on `archbench report` */
#define PAGE_MAX_BYTES (5 << 20)

/* ---- a run directory, removed with what the report put in it ---------------------------------- */

static char run_dir[64];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
  remove(path);
  return 0;
}

static void rm_run_dir(void)
{
  if (run_dir[0])
    nftw(run_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  run_dir[0] = 0;
}

/* A fresh directory; removed, report/ and all, by done() or at a failure's exit. */
static const char *fresh_dir(void)
{
  static int registered;
  snprintf(run_dir, sizeof run_dir, "/tmp/ab-report-XXXXXX");
  if (!mkdtemp(run_dir))
    AB_FAIL("mkdtemp: %s", strerror(errno));
  if (!registered++)
    atexit(rm_run_dir);
  return run_dir;
}

/* A passing test ends in _exit(0), which runs no atexit handler. The sessions go first, so
 * nothing writes into the directory while it is removed. */
static void done(void)
{
  cleanup_now();
  rm_run_dir();
}

/* ---- the runs -------------------------------------------------------------------------------- */

/* `archbench args` exits 0, or 1 when a requirement failed and fail_ok. */
static void ab_ok(const char *const *args, int fail_ok)
{
  proc_t p;
  run_ab(&p, args, RUN_TIMEOUT_S);
  if (p.code != 0 && !(fail_ok && p.code == 1))
    AB_FAIL("`%s` exited %d; stderr: %.2000s", p.cmd, p.code, p.err);
  proc_free(&p);
}

/* micro-benchmarks matching filter, briefly, into dir/micro.json. */
static void micro(const char *dir, const char *filter)
{
  char f[512], out[PATH_MAX + 32];
  snprintf(f, sizeof f, "--benchmark_filter=%s", filter);
  snprintf(out, sizeof out, "--benchmark_out=%s/micro.json", dir);
  proc_t p;
  run_prog(&p, micro_bin(), L(f, "--benchmark_min_time=0.01", out, "--benchmark_out_format=json"), RUN_TIMEOUT_S);
  if (p.code != 0)
    AB_FAIL("`%s` exited %d; stderr: %.2000s", p.cmd, p.code, p.err);
  proc_free(&p);
}

/* The full set: every runtime's floor, robot on two runtimes and two transports, agents as a
 * sweep on two runtimes, audio under threads, and the micro-benchmarks behind the robot's
 * prices. The scenarios' runs side by side (the page is checked, not their figures), each
 * into a directory of its own, their results then gathered into dir. */
static void full_runs(const char *dir)
{
  const char *const *runs[] = {
    L("run", "baseline", "--arch", "all", "--duration", "500ms", "--quiet", "--out"),
    L("run", "robot", "--arch", "threads,procs", "--transport", "shm,pipe", "--duration", "500ms", "--quiet", "--out"),
    L("run", "agents", "--arch", "threads,hybrid", "--sweep", "n=1,2", "--duration", "500ms", "--quiet", "--out"),
    L("run", "audio", "--arch", "threads", "--duration", "1s", "--quiet", "--out"),
  };
  enum { N = sizeof runs / sizeof runs[0] };
  proc_t p[N];
  const char *outs[N];
  for (int k = 0; k < N; k++) {
    const char *args[24];
    int n = 0;
    while (runs[k][n])
      args[n] = runs[k][n], n++;
    args[n++] = outs[k] = temp_path(1);
    args[n] = NULL;
    start_ab(&p[k], args);
  }
  for (int k = 0; k < N; k++) {
    finish_ab(&p[k], RUN_TIMEOUT_S);
    if (p[k].code != 0 && !(k && p[k].code == 1)) /* baseline has no requirement to fail */
      AB_FAIL("`%s` exited %d; stderr: %.2000s", p[k].cmd, p[k].code, p[k].err);
    proc_free(&p[k]);
    DIR *d = opendir(outs[k]);
    ASSERT(d);
    for (struct dirent *e; (e = readdir(d));) {
      size_t len = strlen(e->d_name);
      char from[PATH_MAX], to[PATH_MAX];
      if (len < 6 || strcmp(e->d_name + len - 5, ".json"))
        continue;
      snprintf(from, sizeof from, "%s/%s", outs[k], e->d_name);
      snprintf(to, sizeof to, "%s/%s", dir, e->d_name);
      ASSERT_EQ(rename(from, to), 0);
    }
    closedir(d);
  }
  micro(dir, "^(pipe|cacheline)/procs/rtt/(8|64|1024)$|^robot-(obs|frame)-(pipe|ring|inplace-shm)/");
}

/* `archbench report dir` within the sanity bound: exit 0, the page's path on stdout. Its
 * stderr (malloc'd) is returned. */
static char *report(const char *dir)
{
  proc_t p;
  char want[PATH_MAX];
  double t0 = now_s();
  run_ab(&p, L("report", dir), REPORT_TIMEOUT_S);
  if (p.code != 0)
    AB_FAIL("`%s` exited %d after %.1f s; stderr: %.2000s", p.cmd, p.code, now_s() - t0, p.err);
  /* the page's path, as it likes (relative to our directory, or absolute) but the page's */
  char got[PATH_MAX], real_want[PATH_MAX], real_got[PATH_MAX];
  size_t len = strlen(p.out);
  if (strncmp(p.out, "report: ", 8) || len < 10 || p.out[len - 1] != '\n' || strchr(p.out, '\n') != p.out + len - 1)
    AB_FAIL("`%s` printed \"%s\", not one line \"report: <the page>\"", p.cmd, p.out);
  snprintf(got, sizeof got, "%.*s", (int)(len - 9), p.out + 8);
  snprintf(want, sizeof want, "%s/report/index.html", dir);
  if (!realpath(want, real_want) || !realpath(got, real_got) || strcmp(real_want, real_got))
    AB_FAIL("`%s` printed \"%s\", which is not the page %s", p.cmd, got, want);
  char *err = strdup(p.err);
  proc_free(&p);
  return err;
}

/* ---- reading the page ------------------------------------------------------------------------- */

static long long file_size(const char *path)
{
  struct stat sb;
  return stat(path, &sb) ? -1 : (long long)sb.st_size;
}

static int count(const char *hay, const char *needle)
{
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

/* html holds needle; the failure names what is missing, not the whole page. */
static void page_has(const char *html, const char *needle)
{
  if (!strstr(html, needle))
    AB_FAIL("the page (%zu bytes) does not hold \"%s\"", strlen(html), needle);
}

/* Nothing in text is fetched from elsewhere: no http(s) address in the page; in a figure
 * (SVG, whose xmlns names are namespaces, not addresses) no href or src to one; and no
 * script from a file. */
static void assert_nothing_fetched(const char *what, const char *text, int svg)
{
  static const char *const page_bad[] = { "http://", "https://", "HTTP://", "HTTPS://" };
  static const char *const svg_bad[] = { "href=\"http", "src=\"http", "href='http", "url(http" };
  for (int i = 0; i < 4; i++)
    if (strstr(text, svg ? svg_bad[i] : page_bad[i]))
      AB_FAIL("%s holds \"%s\": %.200s", what, svg ? svg_bad[i] : page_bad[i], strstr(text, svg ? svg_bad[i] : page_bad[i]));
  for (const char *s = text; (s = strstr(s, "<script")); s++) {
    const char *end = strchr(s, '>');
    if (end && memmem(s, end - s, "src", 3))
      AB_FAIL("%s loads a script: %.*s", what, (int)(end - s + 1), s);
  }
}

/* The page's checks that hold with or without gnuplot; *nfig gets how many figures it
 * shows. Every src names a non-empty file beside the page, the page and its figures weigh
 * under 5 MB, and nothing is fetched. */
static char *check_page(const char *dir, int *nfig)
{
  char page[PATH_MAX], path[PATH_MAX + 128];
  snprintf(page, sizeof page, "%s/report/index.html", dir);
  char *html = slurp(page);
  long long total = (long long)strlen(html);
  *nfig = 0;
  assert_nothing_fetched("the page", html, 0);
  for (const char *s = html; (s = strstr(s, "src=\"")); s += 5) {
    const char *v = s + 5, *e = strchr(v, '"');
    ASSERT(e != NULL);
    snprintf(path, sizeof path, "%s/report/%.*s", dir, (int)(e - v), v);
    long long sz = file_size(path);
    if (sz <= 0)
      AB_FAIL("the page shows %.*s, which is %s", (int)(e - v), v, sz < 0 ? "not there" : "empty");
    char *fig = slurp(path);
    assert_nothing_fetched(path, fig, 1);
    free(fig);
    total += sz;
    (*nfig)++;
  }
  if (total >= PAGE_MAX_BYTES)
    AB_FAIL("the page and its %d figures weigh %lld bytes, not under %d", *nfig, total, PAGE_MAX_BYTES);
  return html;
}

/* For each scenario of the results: an answer id="rec-<scenario>" holding the sentence the
 * decision wrote for the scenario's main group; and no answer for anything else. */
static void check_answers(const char *dir, const char *html, const char *const *scenarios)
{
  ab_rep_t rp;
  rep_load(&rp, dir);
  for (int k = 0; k < rp.ngroup; k++)
    rep_check(&rp.group[k]); /* the decision's invariants, on real results */
  int n = 0;
  for (; scenarios[n]; n++) {
    char id[96];
    snprintf(id, sizeof id, "<li id=\"rec-%s\">", scenarios[n]);
    const char *li = strstr(html, id), *end = li ? strstr(li, "</li>") : NULL;
    if (!li || !end)
      AB_FAIL("the page has no answer %s", id);
    const ab_rep_group_t *g = ab_rep_main_group(&rp, scenarios[n]);
    ASSERT(g != NULL);
    ASSERT(strlen(g->sentence) > 40);
    const char *s = strstr(li, g->sentence);
    if (!s || s > end)
      AB_FAIL("the answer for %s is not its decision's sentence \"%s\": %.*s", scenarios[n], g->sentence,
              (int)(end - li), li);
    page_has(html, g->spread_note);
  }
  ASSERT_EQ(count(html, "id=\"rec-"), n);
  ab_rep_free(&rp);
}

/* One row per claim, each claim of every scenario and of the workloads to come. */
static void check_claims(const char *html)
{
  char row[160];
  int n = 0;
  for (int i = 0; ab_scenarios[i]; i++)
    for (int j = 0; j < ab_scenarios[i]->nclaims; j++, n++) {
      snprintf(row, sizeof row, "<tr id=\"claim-%s\">", ab_scenarios[i]->claims[j].id);
      page_has(html, row);
    }
  for (int i = 0; ab_claims_pending[i].scenario; i++)
    for (int j = 0; j < ab_claims_pending[i].nclaims; j++, n++) {
      snprintf(row, sizeof row, "<tr id=\"claim-%s\">", ab_claims_pending[i].claims[j].id);
      page_has(html, row);
    }
  ASSERT(n > 0);
  ASSERT_EQ(n, ab_rep_nclaims());
  ASSERT_EQ(count(html, "<tr id=\"claim-"), ab_rep_nclaims());
}

/* name on $PATH, into path; 0 if it is not there. */
static int on_path(const char *name, char *path, size_t len)
{
  const char *env = getenv("PATH");
  char dirs[4096];
  snprintf(dirs, sizeof dirs, "%s", env ? env : "/usr/bin:/bin");
  for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    snprintf(path, len, "%s/%s", d, name);
    if (access(path, X_OK) == 0)
      return 1;
  }
  return 0;
}

static const char *const scenarios_run[] = { "baseline", "robot", "agents", "audio", NULL };

/* The page of dir drawn by headless Chromium (installed when missing and we are root; else
 * the test is skipped, saying why, after every other check passed) and by the same browser
 * for a blank page: the page's screenshot must hold several times more. */
static void render(const char *dir)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  /* under a sanitizer the page was written and checked; drawing it is the browser's work */
  fprintf(stderr, "page checked; not rendered under a sanitizer\n");
  (void)dir;
  return;
#endif
  char chromium[PATH_MAX];
  if (!on_path("chromium", chromium, sizeof chromium) && geteuid() == 0)
    (void)!system("(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium || (apt-get update -qq && "
                  "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)) >/dev/null 2>&1");
  if (!on_path("chromium", chromium, sizeof chromium))
    SKIP("the page passed its checks, but is not rendered: chromium is not on PATH, and %s",
         geteuid() ? "we are not root to install it (apt-get install chromium)"
                   : "`apt-get install -y chromium` did not install it");
  /* the page and a blank one, drawn alike; each browser with a profile of its own */
  static const char *const what[2] = { "page", "blank" };
  char shot[2][PATH_MAX + 32], prof[2][PATH_MAX + 48], url[PATH_MAX + 32];
  proc_t p[2];
  snprintf(url, sizeof url, "file://%s/report/index.html", dir);
  for (int i = 0; i < 2; i++) {
    snprintf(shot[i], sizeof shot[i], "--screenshot=%s/%s.png", dir, what[i]);
    snprintf(prof[i], sizeof prof[i], "--user-data-dir=%s/profile-%s", dir, what[i]);
    start_prog(&p[i], chromium, L("--headless", "--no-sandbox", "--disable-gpu", prof[i], shot[i], "--window-size=1280,2000",
                                  i ? "about:blank" : url));
  }
  long long size[2];
  for (int i = 0; i < 2; i++) {
    finish_ab(&p[i], 180);
    if (p[i].code != 0)
      AB_FAIL("`%s` exited %d; stderr: %.2000s", p[i].cmd, p[i].code, p[i].err);
    size[i] = file_size(shot[i] + strlen("--screenshot="));
    if (size[i] <= 0)
      AB_FAIL("`%s` wrote no screenshot; stderr: %.2000s", p[i].cmd, p[i].err);
    proc_free(&p[i]);
  }
  /* a blank screenshot compresses to almost nothing; text, tables and figures do not */
  if (size[0] < 4 * size[1])
    AB_FAIL("the page's screenshot is %lld bytes, the blank page's %lld: not 4 times more (%.1fx)", size[0], size[1],
            (double)size[0] / size[1]);
}

/* ---- the tests ------------------------------------------------------------------------------- */

TEST_T(report_page_of_real_runs_answers_every_scenario_and_renders, 900)
{
  SKIP_UNDER_TSAN("the report is single-threaded; its runs are the e2e tests'");
  const char *dir = fresh_dir();
  char gp[PATH_MAX];
  full_runs(dir);
  free(report(dir));
  int nfig;
  char *html = check_page(dir, &nfig);
  if (on_path("gnuplot", gp, sizeof gp)) { /* a figure per scenario at least, and the prices */
    for (int i = 0; scenarios_run[i]; i++) {
      char fig[64];
      snprintf(fig, sizeof fig, "src=\"%s-", scenarios_run[i]);
      page_has(html, fig);
    }
    page_has(html, "src=\"prices.svg\"");
    ASSERT(!strstr(html, "need gnuplot"));
  }
  check_answers(dir, html, scenarios_run);
  check_claims(html);
  page_has(html, "id=\"prices\"");
  page_has(html, "micro.json");
  free(html);
  render(dir);
  done();
}

TEST_T(report_without_gnuplot_says_figures_need_it_and_shows_none, 120)
{
  SKIP_UNDER_TSAN("the report is single-threaded");
  const char *dir = fresh_dir();
  char gp[PATH_MAX], report_dir[PATH_MAX + 16], dat[PATH_MAX + 64];
  ab_ok(L("run", "baseline", "--arch", "threads", "--duration", "1s", "--out", dir, "--quiet"), 0);
  ab_ok(L("run", "robot", "--arch", "threads", "--duration", "1s", "--out", dir, "--quiet"), 1);
  micro(dir, "^robot-obs-(pipe|ring)/");
  snprintf(report_dir, sizeof report_dir, "%s/report", dir);
  int drawn = 0, nfig;
  if (on_path("gnuplot", gp, sizeof gp)) { /* first with it: figures that must not linger */
    free(report(dir));
    free(check_page(dir, &nfig));
    ASSERT_INT(nfig, >, 0);
    drawn = nfig;
  }
  char *path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
  setenv("PATH", "/nonexistent", 1); /* report spawns gnuplot by name */
  char *err = report(dir);
  if (path)
    setenv("PATH", path, 1);
  free(path);
  ASSERT_CONTAINS(err, "gnuplot is not installed");
  free(err);
  char *html = check_page(dir, &nfig);
  ASSERT_EQ(nfig, 0);
  ASSERT(!strstr(html, "<img"));
  ASSERT_INT(count(html, "need gnuplot, which is not installed here"), ==, 2); /* each scenario */
  page_has(html, "The price charts need gnuplot");
  char names[4096];
  dir_entries(report_dir, names, sizeof names);
  if (strstr(names, ".svg"))
    AB_FAIL("figures of the earlier report (%d drawn) linger beside the page: %s", drawn, names);
  snprintf(dat, sizeof dat, "%s/robot-spectrum.dat", report_dir); /* "their data files are beside this page" */
  ASSERT_INT(file_size(dat), >, 0);
  check_answers(dir, html, (const char *const[]){ "baseline", "robot", NULL });
  free(html);
  done();
}
