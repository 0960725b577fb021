/* The command line: `list`, `run`, `bench` (the default profile behind `make bench`), and
 * the summary table printed after runs. Options are typed and range-checked; every bad
 * value is named in a one-line error with what was expected, and mapped to the exit codes
 * of DESIGN.md (2 bad usage, 3 missing resource). */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "stats.h"

#define AB_MAX_RUNS 64

static const char usage[] =
    "usage: archbench list\n"
    "       archbench run SCENARIO [--arch A[,B..]|all] [--duration 10s] [--transport T[,U..]|all]\n"
    "                     [--out DIR] [--param k=v ...] [--serial DEV] [--baud N] [--camera DEV]\n"
    "                     [--cpus LIST] [--rt-prio N] [--quiet]\n"
    "       archbench bench [--duration 4s] [--out DIR] [--quiet]\n"
    "exit codes: 0 ok, 1 a requirement failed, 2 bad usage, 3 missing device or permission, 130 interrupted\n";

static int ab__usage_error(const char *fmt, const char *a, const char *b)
{
  fprintf(stderr, "archbench: ");
  fprintf(stderr, fmt, a, b);
  fputc('\n', stderr); /* one line: the usage is one `archbench --help` away */
  return AB_EXIT_USAGE;
}

/* ---- the summary table --------------------------------------------------------------------- */

typedef struct ab__row {
  char scenario[32], arch[24];
  int status, req_failed, nreqs;
  double lat[3];
  int64_t missed;
  double chain[3];
  int has_lat, has_chain;
  double cpu_pct, pss_mb;
  char failed_reqs[160];
} ab__row_t;

static ab__row_t rows[AB_MAX_RUNS];
static int nrows;

static void ab__row_add(const ab_run_t *run)
{
  if (nrows == AB_MAX_RUNS)
    return;
  ab__row_t *w = &rows[nrows++];
  memset(w, 0, sizeof *w);
  const ab_scenario_t *sc = run->sc;
  snprintf(w->scenario, sizeof w->scenario, "%s", sc->name);
  if (run->arch == AB_ARCH_PROCS)
    snprintf(w->arch, sizeof w->arch, "procs/%s", run->transport_name);
  else
    snprintf(w->arch, sizeof w->arch, "%s", ab_arch_name(run->arch));
  w->status = run->status;
  char name[96];
  if (sc->table_role) {
    snprintf(name, sizeof name, "%s.lateness_ns", sc->table_role);
    int m = ab_metric_index(run, name);
    if (m >= 0 && run->merged[m].count) {
      ab_summary_t s;
      ab_summarize(&run->merged[m], &s);
      w->lat[0] = s.p50, w->lat[1] = s.p99, w->lat[2] = s.p999;
      w->has_lat = 1;
    }
    snprintf(name, sizeof name, "%s.missed_periods", sc->table_role);
    int c = ab_counter_index(run, name);
    if (c >= 0)
      w->missed = run->ctotal[c];
  }
  if (sc->table_chain) {
    int m = ab_metric_index(run, sc->table_chain);
    if (m >= 0 && run->merged[m].count) {
      ab_summary_t s;
      ab_summarize(&run->merged[m], &s);
      w->chain[0] = s.p50, w->chain[1] = s.p99, w->chain[2] = s.max;
      w->has_chain = 1;
    }
  }
  ab_res_t t;
  ab_run_total(run, &t);
  double win = (run->t_run1 - run->ctl->t_start) / 1e9;
  w->cpu_pct = win > 0 ? 100.0 * (t.cpu_user_s + t.cpu_sys_s) / win : 0;
  w->pss_mb = t.pss_kb / 1024.0;
  w->nreqs = sc->nreqs;
  for (int i = 0; i < sc->nreqs; i++) {
    const ab_req_desc_t *q = &sc->reqs[i];
    double v;
    if (ab_req_value(run, q->name, &v) < 0)
      continue;
    double lim = q->limit_param ? ab_param(run, q->limit_param) * q->limit_scale : q->limit;
    int pass = q->op == AB_LE ? v <= lim : q->op == AB_LT ? v < lim : q->op == AB_GE ? v >= lim : v == lim;
    if (!pass) {
      w->req_failed++;
      size_t n = strlen(w->failed_reqs);
      snprintf(w->failed_reqs + n, sizeof w->failed_reqs - n, "%s%s", n ? ", " : "", q->name);
    }
  }
}

static void ab__cell_ns(char *buf, size_t len, double ns, int have)
{
  if (!have) {
    snprintf(buf, len, "-");
    return;
  }
  if (ns < 1e4)
    snprintf(buf, len, "%.1fus", ns / 1e3);
  else if (ns < 1e6)
    snprintf(buf, len, "%.0fus", ns / 1e3);
  else
    snprintf(buf, len, "%.2fms", ns / 1e6);
}

static void ab__table_to(FILE *f)
{
  fprintf(f, "%-9s %-12s %9s %9s %9s %6s  %9s %9s %9s %6s %7s  %s\n", "scenario", "arch", "late p50",
         "p99", "p99.9", "missed", "chain p50", "p99", "max", "cpu%", "PSS MB", "verdict");
  for (int i = 0; i < nrows; i++) {
    ab__row_t *w = &rows[i];
    char c[6][16];
    ab__cell_ns(c[0], 16, w->lat[0], w->has_lat);
    ab__cell_ns(c[1], 16, w->lat[1], w->has_lat);
    ab__cell_ns(c[2], 16, w->lat[2], w->has_lat);
    ab__cell_ns(c[3], 16, w->chain[0], w->has_chain);
    ab__cell_ns(c[4], 16, w->chain[1], w->has_chain);
    ab__cell_ns(c[5], 16, w->chain[2], w->has_chain);
    char verdict[200];
    if (w->status == AB_ST_FAILED)
      snprintf(verdict, sizeof verdict, "RUN FAILED");
    else if (w->req_failed)
      snprintf(verdict, sizeof verdict, "FAIL: %s", w->failed_reqs);
    else if (!w->nreqs)
      snprintf(verdict, sizeof verdict, "no requirements%s",
               w->status == AB_ST_PARTIAL ? " (partial)" : "");
    else
      snprintf(verdict, sizeof verdict, "pass (%d/%d)%s", w->nreqs, w->nreqs,
               w->status == AB_ST_PARTIAL ? " partial" : "");
    fprintf(f, "%-9s %-12s %9s %9s %9s %6lld  %9s %9s %9s %6.1f %7.1f  %s\n", w->scenario, w->arch, c[0],
           c[1], c[2], (long long)w->missed, c[3], c[4], c[5], w->cpu_pct, w->pss_mb, verdict);
  }
}

/* The table on stdout, and in <out>/summary.txt beside the results it sums up. */
static void ab__table(const char *out)
{
  if (!nrows)
    return;
  putchar('\n');
  ab__table_to(stdout);
  char path[600];
  snprintf(path, sizeof path, "%s/summary.txt", out);
  FILE *f = fopen(path, "we");
  if (f) {
    ab__table_to(f);
    if (fclose(f) == 0)
      return;
  }
  fprintf(stderr, "archbench: could not write %s: %s\n", path, strerror(errno));
}

/* ---- output directory ----------------------------------------------------------------------- */

static int ab__mkdirs(const char *path)
{
  char buf[512];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return -errno;
      *p = '/';
    }
  if (mkdir(buf, 0755) < 0 && errno != EEXIST)
    return -errno;
  return 0;
}

/* results/<run-id>/ and results/latest pointing at it. */
static int ab__default_out(char *out, size_t len)
{
  int r = ab__mkdirs("results");
  if (r < 0)
    return r;
  time_t t = time(NULL);
  struct tm tm;
  localtime_r(&t, &tm);
  char id[64];
  strftime(id, sizeof id, "%Y%m%d-%H%M%S", &tm);
  for (int k = 1; k < 100; k++) {
    if (k == 1)
      snprintf(out, len, "results/%s", id);
    else
      snprintf(out, len, "results/%s-%d", id, k);
    if (mkdir(out, 0755) == 0) {
      unlink("results/latest.tmp");
      if (symlink(out + strlen("results/"), "results/latest.tmp") == 0)
        rename("results/latest.tmp", "results/latest");
      return 0;
    }
    if (errno != EEXIST)
      return -errno;
  }
  return -EEXIST;
}

/* --out DIR, or results/<run-id>/; returns 0 or an exit code. */
struct ab__cli;
static int ab__outdir(const struct ab__cli *c, char *out, size_t len);

/* ---- options ----------------------------------------------------------------------------------- */

typedef struct ab__cli {
  const char *scenario;
  const char *arch, *transport, *outdir;
  int64_t duration_ns;
  int duration_set;
  const char *params[AB_MAX_PARAMS];
  int nparams;
  ab_dev_opts_t dev;
  int rt_prio, quiet;
  cpu_set_t cpus;
  int cpus_set;
} ab__cli_t;

static int ab__parse_cpus(const char *s, cpu_set_t *set)
{
  CPU_ZERO(set);
  long ncpu = sysconf(_SC_NPROCESSORS_CONF);
  const char *p = s;
  while (*p) {
    char *end;
    long a = strtol(p, &end, 10), b;
    if (end == p || a < 0)
      return -EINVAL;
    b = a;
    if (*end == '-') {
      p = end + 1;
      b = strtol(p, &end, 10);
      if (end == p || b < a)
        return -EINVAL;
    }
    if (b >= ncpu)
      return -ERANGE;
    for (long c = a; c <= b; c++)
      CPU_SET(c, set);
    p = end;
    if (*p == ',')
      p++;
    else if (*p)
      return -EINVAL;
  }
  return CPU_COUNT(set) ? 0 : -EINVAL;
}

/* --name value or --name=value; returns the value or NULL (then an error was printed). */
static const char *ab__optval(int argc, char **argv, int *i, const char *name, int *err)
{
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (a[n] == '=')
    return a + n + 1;
  if (*i + 1 >= argc) {
    *err = ab__usage_error("%s: missing value%s", name, "");
    return NULL;
  }
  return argv[++*i];
}

static int ab__parse(int argc, char **argv, int first, ab__cli_t *c, int need_scenario)
{
  memset(c, 0, sizeof *c);
  c->dev.baud = 115200;
  c->dev.width = 1920;
  c->dev.height = 1080;
  c->dev.fps = 30;
  int err = 0;
  for (int i = first; i < argc; i++) {
    const char *a = argv[i], *v;
#define OPT(nm) (!strncmp(a, nm, strlen(nm)) && (a[strlen(nm)] == 0 || a[strlen(nm)] == '='))
#define VAL(nm) if (!(v = ab__optval(argc, argv, &i, nm, &err))) return err
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage, stdout);
      exit(0);
    } else if (OPT("--arch")) {
      VAL("--arch");
      c->arch = v;
    } else if (OPT("--transport")) {
      VAL("--transport");
      c->transport = v;
    } else if (OPT("--out")) {
      VAL("--out");
      c->outdir = v;
    } else if (OPT("--duration")) {
      VAL("--duration");
      if (ab_parse_duration(v, &c->duration_ns) < 0)
        return ab__usage_error("--duration %s: not a duration (expected a number with a unit: ns, us, ms, s, m, e.g. 10s or 500ms)", v, "");
      if (c->duration_ns < 10 * AB_NS_PER_MS || c->duration_ns > 24 * 3600 * AB_NS_PER_S)
        return ab__usage_error("--duration %s: out of range (expected 10ms to 24h)", v, "");
      c->duration_set = 1;
    } else if (OPT("--param")) {
      VAL("--param");
      if (c->nparams == AB_MAX_PARAMS)
        return ab__usage_error("--param %s: too many parameters (at most 16)", v, "");
      c->params[c->nparams++] = v;
    } else if (OPT("--serial")) {
      VAL("--serial");
      c->dev.serial = v;
    } else if (OPT("--baud")) {
      VAL("--baud");
      int64_t b;
      if (ab_parse_int(v, &b) < 0 || b < 300 || b > 4000000)
        return ab__usage_error("--baud %s: expected an integer from 300 to 4000000", v, "");
      c->dev.baud = (int)b;
    } else if (OPT("--camera")) {
      VAL("--camera");
      c->dev.camera = v;
    } else if (OPT("--cpus")) {
      VAL("--cpus");
      int r = ab__parse_cpus(v, &c->cpus);
      if (r < 0)
        return ab__usage_error("--cpus %s: expected a list of online CPUs such as 0,1 or 0-1 (this machine has %s)",
                               v, r == -ERANGE ? "fewer CPUs" : "CPUs numbered from 0");
      c->cpus_set = 1;
    } else if (OPT("--rt-prio")) {
      VAL("--rt-prio");
      int64_t p;
      if (ab_parse_int(v, &p) < 0 || p < 1 || p > 99)
        return ab__usage_error("--rt-prio %s: expected an integer from 1 to 99", v, "");
      c->rt_prio = (int)p;
    } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
      c->quiet = 1;
    } else if (a[0] == '-') {
      return ab__usage_error("unknown option %s%s", a, "");
    } else if (need_scenario && !c->scenario) {
      c->scenario = a;
    } else {
      return ab__usage_error("unexpected argument %s%s", a, "");
    }
#undef OPT
#undef VAL
  }
  if (need_scenario && !c->scenario)
    return ab__usage_error("run: missing SCENARIO (see `archbench list`)%s%s", "", "");
  return 0;
}

static int ab__outdir(const ab__cli_t *c, char *out, size_t len)
{
  int r;
  if (c->outdir) {
    if ((r = ab__mkdirs(c->outdir)) < 0) {
      fprintf(stderr, "archbench: --out %s: %s\n", c->outdir, strerror(-r));
      return AB_EXIT_RESOURCE;
    }
    snprintf(out, len, "%s", c->outdir);
  } else if ((r = ab__default_out(out, len)) < 0) {
    fprintf(stderr, "archbench: results/: %s\n", strerror(-r));
    return AB_EXIT_RESOURCE;
  }
  return 0;
}

/* A plan: the (arch, transport) pairs to run for one scenario. */
typedef struct ab__plan {
  int arch[AB_MAX_RUNS];
  const char *transport[AB_MAX_RUNS];
  int n;
} ab__plan_t;

static int ab__plan(const ab_scenario_t *sc, const char *archs, const char *transports, ab__plan_t *p)
{
  static const char *const all_t[] = { "pipe", "unix", "mq", "shm", "tcp" };
  int want[AB_ARCH_N] = { 0 };
  char buf[256];
  snprintf(buf, sizeof buf, "%s", archs ? archs : "threads");
  for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (!strcmp(tok, "all")) {
      for (int a = 0; a < AB_ARCH_N; a++)
        want[a] = (sc->archs >> a) & 1;
      continue;
    }
    int a = ab_arch_find(tok);
    if (a < 0 || !ab_runtime_get(a))
      return ab__usage_error("--arch %s: unknown runtime (expected threads, procs, loop, a comma list, or all)", tok, "");
    if (!((sc->archs >> a) & 1))
      return ab__usage_error("--arch %s: scenario %s does not run under it", tok, sc->name);
    want[a] = 1;
  }
  const char *tl[8];
  int nt = 0;
  char tbuf[128];
  if (transports) {
    snprintf(tbuf, sizeof tbuf, "%s", transports);
    for (char *save, *tok = strtok_r(tbuf, ",", &save); tok && nt < 8; tok = strtok_r(NULL, ",", &save)) {
      if (!strcmp(tok, "all")) {
        nt = 0;
        for (int k = 0; k < 5; k++)
          tl[nt++] = all_t[k];
        break;
      }
      const ab_transport_t *t = ab_transport_find(tok);
      if (!t || !strcmp(tok, "ring"))
        return ab__usage_error("--transport %s: unknown (expected pipe, unix, mq, shm, tcp, a comma list, or all)", tok, "");
      for (int k = 0; k < 5; k++)
        if (!strcmp(all_t[k], tok))
          tl[nt++] = all_t[k];
    }
    if (!want[AB_ARCH_PROCS])
      return ab__usage_error("--transport %s: only the procs runtime uses a transport (add --arch procs)", transports, "");
  }
  if (!nt)
    tl[nt++] = "shm";
  /* A scenario without channels has nothing for a transport to carry: run procs once. */
  if (sc->nchans == 0)
    nt = 1;
  p->n = 0;
  for (int a = 0; a < AB_ARCH_N; a++) {
    if (!want[a])
      continue;
    if (a == AB_ARCH_PROCS)
      for (int k = 0; k < nt; k++) {
        p->arch[p->n] = a;
        p->transport[p->n++] = sc->nchans ? tl[k] : "shm";
      }
    else {
      p->arch[p->n] = a;
      p->transport[p->n++] = NULL;
    }
  }
  return 0;
}

static int ab__worse(int code, int r)
{
  if (r == AB_EXIT_INTR || code == AB_EXIT_INTR)
    return AB_EXIT_INTR;
  return r > code ? r : code;
}

static int ab__run_plan(const ab_scenario_t *sc, const ab__plan_t *p, ab__cli_t *c, const char *outdir,
                        int *done, int total, int bench)
{
  int code = 0;
  for (int k = 0; k < p->n; k++) {
    char label[32];
    snprintf(label, sizeof label, "[%d/%d]", ++*done, total);
    ab_run_opts_t o = {
      .sc = sc, .arch = p->arch[k], .transport = p->transport[k],
      .duration_ns = c->duration_ns, .nparams = c->nparams, .dev = c->dev, .outdir = outdir,
      .rt_prio = c->rt_prio, .cpus = c->cpus_set ? &c->cpus : NULL, .quiet = c->quiet,
      .progress_label = label, .keep = 1,
    };
    memcpy(o.params, c->params, sizeof o.params);
    int r = ab_run_one(&o);
    if (o.kept) {
      ab__row_add(o.kept);
      ab_run_free(o.kept);
    }
    if (bench && r == AB_EXIT_FAIL && nrows && rows[nrows - 1].status != AB_ST_FAILED)
      r = 0; /* in the profile a failed requirement is a finding, not an error */
    code = ab__worse(code, r);
    if (r == AB_EXIT_INTR || r == AB_EXIT_USAGE || r == AB_EXIT_RESOURCE)
      break;
  }
  return code;
}

static int ab__cmd_run(int argc, char **argv)
{
  ab__cli_t c;
  int r = ab__parse(argc, argv, 2, &c, 1);
  if (r)
    return r;
  const ab_scenario_t *sc = ab_scenario_find(c.scenario);
  if (!sc) {
    fprintf(stderr, "archbench: run %s: unknown scenario (expected one of:", c.scenario);
    for (int i = 0; ab_scenarios[i]; i++)
      fprintf(stderr, " %s", ab_scenarios[i]->name);
    fprintf(stderr, ")\n");
    return AB_EXIT_USAGE;
  }
  if (sc->unavailable) {
    fprintf(stderr, "archbench: scenario %s is unavailable in this build: %s\n", sc->name, sc->unavailable);
    return AB_EXIT_RESOURCE;
  }
  if (!c.duration_set)
    c.duration_ns = 10 * AB_NS_PER_S;
  ab__plan_t p;
  if ((r = ab__plan(sc, c.arch, c.transport, &p)))
    return r;
  char out[512];
  if ((r = ab__outdir(&c, out, sizeof out)))
    return r;
  int done = 0;
  int code = ab__run_plan(sc, &p, &c, out, &done, p.n, 0);
  if (!c.quiet) {
    ab__table(out);
    printf("\nresults: %s/\n", out);
  }
  return code;
}

static int ab__cmd_bench(int argc, char **argv)
{
  ab__cli_t c;
  int r = ab__parse(argc, argv, 2, &c, 0);
  if (r)
    return r;
  if (!c.duration_set)
    c.duration_ns = 4 * AB_NS_PER_S;
  char out[512];
  if ((r = ab__outdir(&c, out, sizeof out)))
    return r;
  ab__plan_t plans[16];
  const ab_scenario_t *scs[16];
  int n = 0, total = 0;
  for (int i = 0; ab_scenarios[i] && n < 16; i++) {
    if (ab_scenarios[i]->unavailable) {
      fprintf(stderr, "archbench: skipping %s: %s\n", ab_scenarios[i]->name, ab_scenarios[i]->unavailable);
      continue;
    }
    scs[n] = ab_scenarios[i];
    if ((r = ab__plan(scs[n], "all", "all", &plans[n])))
      return r;
    total += plans[n++].n;
  }
  if (!c.quiet)
    fprintf(stderr, "archbench: default profile, %d runs of %.1fs each, into %s/\n", total,
            c.duration_ns / 1e9, out);
  int code = 0, done = 0;
  for (int i = 0; i < n && code != AB_EXIT_INTR; i++)
    code = ab__worse(code, ab__run_plan(scs[i], &plans[i], &c, out, &done, total, 1));
  ab__table(out);
  printf("\nresults: %s/  (results/latest points at it)\n", out);
  return code;
}

/* ---- list ------------------------------------------------------------------------------------- */

static int ab__cmd_list(void)
{
  printf("scenarios:\n");
  for (int i = 0; ab_scenarios[i]; i++) {
    const ab_scenario_t *sc = ab_scenarios[i];
    char archs[64] = "";
    for (int a = 0; a < AB_ARCH_N; a++)
      if ((sc->archs >> a) & 1) {
        size_t n = strlen(archs);
        snprintf(archs + n, sizeof archs - n, "%s%s", n ? "," : "", ab_arch_name(a));
      }
    printf("  %-10s %s\n             runtimes: %s%s%s\n", sc->name, sc->summary, archs,
           sc->unavailable ? "  UNAVAILABLE: " : "", sc->unavailable ? sc->unavailable : "");
    for (int k = 0; k < sc->nparams; k++)
      printf("             --param %s=%s  %s\n", sc->params[k].name, sc->params[k].def,
             sc->params[k].help ? sc->params[k].help : "");
  }
  printf("runtimes:\n  threads    a thread per role\n  procs      a process per role; --transport pipe|unix|mq|shm|tcp\n"
         "  loop       one thread around epoll\n");
  printf("transports (procs): pipe unix mq shm tcp\n");
  printf("devices found:\n");
  const char *pats[] = { "/dev/ttyUSB*", "/dev/ttyACM*", "/dev/video*", NULL };
  int any = 0;
  for (int k = 0; pats[k]; k++) {
    glob_t g;
    if (glob(pats[k], 0, NULL, &g) == 0) {
      for (size_t j = 0; j < g.gl_pathc; j++, any++)
        printf("  %s\n", g.gl_pathv[j]);
      globfree(&g);
    }
  }
  if (!any)
    printf("  none (runs use the loopback mocks: a pty motor controller and a synthetic camera)\n");
  return 0;
}

int ab_cli_main(int argc, char **argv)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2)
    return ab__usage_error("missing command (expected list, run or bench)%s%s", "", "");
  if (!strcmp(argv[1], "list"))
    return argc > 2 ? ab__usage_error("list: unexpected argument %s%s", argv[2], "") : ab__cmd_list();
  if (!strcmp(argv[1], "run"))
    return ab__cmd_run(argc, argv);
  if (!strcmp(argv[1], "bench"))
    return ab__cmd_bench(argc, argv);
  if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
    fputs(usage, stdout);
    return 0;
  }
  return ab__usage_error("unknown command %s (expected list, run or bench)%s", argv[1], "");
}
