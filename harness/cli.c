/* The command line: `list`, `run`, `bench` (the default profile behind `make bench`), and
 * the summary table printed after runs. Options are typed and range-checked; every bad
 * value is named in a one-line error with what was expected, and mapped to the exit codes
 * of DESIGN.md (2 bad usage, 3 missing resource).
 *
 * Order of work: parse, plan, validate every run of the plan (ab_run_validate: params,
 * faults, devices, scheduling), check the output directory, and only then create anything:
 * a refused command leaves no directory behind and never repoints results/latest. Each
 * result file is locked for the time of its run, so two runs writing the same result into
 * one directory cannot silently replace each other (different results may share it).
 * Errors always go to stderr; --quiet only drops the progress line and the table.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "stats.h"

#define AB_MAX_PLAN 64

static const char usage[] =
    "usage: archbench list\n"
    "       archbench run SCENARIO [--arch A[,B..]|all] [--duration 10s] [--transport T[,U..]|all]\n"
    "                     [--out DIR] [--param k=v ...] [--serial DEV] [--baud N] [--camera DEV]\n"
    "                     [--cpus LIST] [--rt-prio N] [--latency-target US | --no-latency-target]\n"
    "                     [--fault SPEC ...] [--quiet]\n"
    "       archbench bench [--duration 4s] [--out DIR] [--quiet]\n"
    "--latency-target US holds /dev/cpu_dma_latency at US for the run (PM QoS, as cyclictest does);\n"
    "    it is 0 by default with --rt-prio, off otherwise.\n"
    "--fault stall:ROLE:K:DUR | corrupt:CHAN:K injects a known fault (for tests; the result lists it).\n"
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
  int status, req_failed, nreqs, faults;
  double lat[3];
  int64_t missed;
  double chain[3];
  int64_t chain_lost;
  int has_lat, has_chain, has_lost;
  double cpu_pct, pss_mb;
  char failed_reqs[200];
} ab__row_t;

typedef struct ab__table {
  ab__row_t *rows;
  int n, cap;
} ab__table_t;

/* A row from a finished run: what it measured and its requirements as evaluated. */
static void ab__row_add(ab__table_t *tb, const ab_run_t *run)
{
  if (tb->n == tb->cap) {
    int cap = tb->cap ? 2 * tb->cap : 16;
    ab__row_t *r = realloc(tb->rows, cap * sizeof *r);
    if (!r)
      return;
    tb->rows = r;
    tb->cap = cap;
  }
  ab__row_t *w = &tb->rows[tb->n++];
  memset(w, 0, sizeof *w);
  const ab_scenario_t *sc = run->sc;
  snprintf(w->scenario, sizeof w->scenario, "%s", sc->name);
  ab_run_label(run, w->arch, sizeof w->arch);
  w->status = run->status;
  w->faults = run->nfaults;
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
  if (sc->table_chain_lost) {
    int c = ab_counter_index(run, sc->table_chain_lost);
    w->chain_lost = c >= 0 ? run->ctotal[c] : 0;
    w->has_lost = c >= 0;
  }
  ab_res_t t;
  ab_run_total(run, &t);
  double win = (run->t_run1 - run->ctl->t_start) / 1e9;
  w->cpu_pct = win > 0 ? 100.0 * (t.cpu_user_s + t.cpu_sys_s) / win : 0;
  w->pss_mb = t.pss_kb / 1024.0;
  w->nreqs = sc->nreqs;
  w->req_failed = run->req_failed;
  for (int i = 0; i < sc->nreqs; i++)
    if (!run->req[i].pass) {
      size_t n = strlen(w->failed_reqs);
      snprintf(w->failed_reqs + n, sizeof w->failed_reqs - n, "%s%s%s", n ? ", " : "", sc->reqs[i].name,
               run->req[i].have ? "" : " (no data)");
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

static void ab__table_to(const ab__table_t *tb, FILE *f)
{
  fprintf(f, "%-9s %-12s %9s %9s %9s %6s  %9s %9s %9s %5s %6s %7s  %s\n", "scenario", "arch", "late p50",
          "p99", "p99.9", "missed", "chain p50", "p99", "max", "lost", "cpu%", "PSS MB", "verdict");
  for (int i = 0; i < tb->n; i++) {
    const ab__row_t *w = &tb->rows[i];
    char c[6][16], lost[16];
    ab__cell_ns(c[0], 16, w->lat[0], w->has_lat);
    ab__cell_ns(c[1], 16, w->lat[1], w->has_lat);
    ab__cell_ns(c[2], 16, w->lat[2], w->has_lat);
    ab__cell_ns(c[3], 16, w->chain[0], w->has_chain);
    ab__cell_ns(c[4], 16, w->chain[1], w->has_chain);
    ab__cell_ns(c[5], 16, w->chain[2], w->has_chain);
    snprintf(lost, sizeof lost, w->has_lost ? "%lld" : "-", (long long)w->chain_lost);
    char verdict[260];
    if (w->status == AB_ST_FAILED)
      snprintf(verdict, sizeof verdict, "RUN FAILED");
    else if (w->req_failed)
      snprintf(verdict, sizeof verdict, "FAIL: %s", w->failed_reqs);
    else if (!w->nreqs)
      snprintf(verdict, sizeof verdict, "no requirements%s", w->status == AB_ST_PARTIAL ? " (partial)" : "");
    else
      snprintf(verdict, sizeof verdict, "pass (%d/%d)%s", w->nreqs, w->nreqs,
               w->status == AB_ST_PARTIAL ? " partial" : "");
    fprintf(f, "%-9s %-12s %9s %9s %9s %6lld  %9s %9s %9s %5s %6.1f %7.1f  %s%s\n", w->scenario, w->arch, c[0],
            c[1], c[2], (long long)w->missed, c[3], c[4], c[5], lost, w->cpu_pct, w->pss_mb, verdict,
            w->faults ? " [faults injected]" : "");
  }
}

/* The table on stdout, and in <out>/summary.txt beside the results it sums up: written under
 * a fresh name and renamed, so a symlink planted as summary.txt is replaced, never followed. */
static void ab__table(const ab__table_t *tb, const char *out)
{
  if (!tb->n)
    return;
  putchar('\n');
  ab__table_to(tb, stdout);
  char *path = NULL, *tmp = NULL;
  if (asprintf(&path, "%s/summary.txt", out) < 0 || asprintf(&tmp, "%s.XXXXXX", path) < 0) {
    free(path);
    return;
  }
  int fd = mkostemp(tmp, O_CLOEXEC), ok = 0;
  FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
  if (f) {
    fchmod(fd, 0644);
    ab__table_to(tb, f);
    ok = fclose(f) == 0 && rename(tmp, path) == 0;
  } else if (fd >= 0) {
    close(fd);
  }
  if (!ok) {
    fprintf(stderr, "archbench: could not write %s: %s\n", path, strerror(errno));
    if (fd >= 0)
      unlink(tmp);
  }
  free(tmp);
  free(path);
}

/* ---- options ----------------------------------------------------------------------------------- */

typedef struct ab__cli {
  const char *scenario;
  const char *arch, *transport, *outdir;
  int64_t duration_ns;
  int duration_set;
  const char *params[AB_MAX_PARAMS];
  int nparams;
  const char *faults[AB_MAX_FAULTS];
  int nfaults;
  ab_dev_opts_t dev;
  int rt_prio, quiet;
  int latency_us, latency_set, latency_off;
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

#define AB__HELP (-1) /* ab__parse: --help was asked for */

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
      return AB__HELP;
    } else if (OPT("--arch")) {
      VAL("--arch");
      c->arch = v;
    } else if (OPT("--transport")) {
      VAL("--transport");
      c->transport = v;
    } else if (OPT("--out")) {
      VAL("--out");
      if (!*v)
        return ab__usage_error("--out '': expected a directory%s%s", "", "");
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
    } else if (OPT("--fault")) {
      VAL("--fault");
      if (c->nfaults == AB_MAX_FAULTS)
        return ab__usage_error("--fault %s: too many faults (at most 4)", v, "");
      c->faults[c->nfaults++] = v;
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
    } else if (OPT("--latency-target")) {
      VAL("--latency-target");
      int64_t us;
      if (ab_parse_int(v, &us) < 0 || us < 0 || us > 2000000)
        return ab__usage_error("--latency-target %s: expected microseconds, an integer from 0 to 2000000", v, "");
      c->latency_us = (int)us;
      c->latency_set = 1;
    } else if (!strcmp(a, "--no-latency-target")) {
      c->latency_off = 1;
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
  if (c->latency_set && c->latency_off)
    return ab__usage_error("--latency-target and --no-latency-target: choose one%s%s", "", "");
  if (need_scenario && !c->scenario)
    return ab__usage_error("run: missing SCENARIO (see `archbench list`)%s%s", "", "");
  return 0;
}

/* ---- the plan: the (scenario, arch, transport) runs of one command ------------------------------- */

typedef struct ab__plan {
  ab_run_opts_t run[AB_MAX_PLAN];
  char *path[AB_MAX_PLAN]; /* each run's result file */
  int lock[AB_MAX_PLAN];   /* its lock, held for the command */
  int n;
} ab__plan_t;

/* The items of a comma list, each non-empty; at most max. Returns the count or -1 after an
 * error naming the option. */
static int ab__list(const char *opt, const char *s, char items[][32], int max)
{
  int n = 0;
  const char *p = s;
  for (;;) {
    size_t len = strcspn(p, ",");
    if (len == 0)
      return ab__usage_error("%s '%s': an empty name in the list", opt, s), -1;
    if (len >= 32 || n == max)
      return ab__usage_error("%s %s: not a list of known names", opt, s), -1;
    snprintf(items[n++], 32, "%.*s", (int)len, p);
    if (!p[len])
      return n;
    p += len + 1;
  }
}

static int ab__plan_add(ab__plan_t *p, const ab__cli_t *c, const ab_scenario_t *sc, int arch, const char *transport)
{
  if (p->n == AB_MAX_PLAN)
    return ab__usage_error("too many runs in one command (at most %s)%s", "64", "");
  ab_run_opts_t *o = &p->run[p->n];
  memset(o, 0, sizeof *o);
  o->sc = sc;
  o->arch = arch;
  o->transport = transport;
  o->duration_ns = c->duration_ns;
  o->nparams = c->nparams;
  memcpy(o->params, c->params, sizeof o->params);
  o->nfaults = c->nfaults;
  memcpy(o->faults, c->faults, sizeof o->faults);
  o->dev = c->dev;
  /* bench: a device option goes to the scenarios that have such a device */
  for (int k = 0; k < 2; k++) {
    int kind = k ? AB_DEV_CAMERA : AB_DEV_SERIAL, has = 0;
    for (int d = 0; d < sc->ndevs; d++)
      has |= sc->devs[d].kind == kind;
    if (!has && !c->scenario) {
      if (kind == AB_DEV_SERIAL)
        o->dev.serial = NULL;
      else
        o->dev.camera = NULL;
    }
  }
  o->rt_prio = c->rt_prio;
  o->cpus = c->cpus_set ? (cpu_set_t *)&c->cpus : NULL;
  o->quiet = c->quiet;
  o->latency_explicit = c->latency_set;
  o->latency_target_us = c->latency_off ? -1 : c->latency_set ? c->latency_us : c->rt_prio > 0 ? 0 : -1;
  o->keep = 1;
  p->lock[p->n] = -1;
  p->n++;
  return 0;
}

static int ab__plan_scenario(ab__plan_t *p, const ab__cli_t *c, const ab_scenario_t *sc, const char *archs,
                             const char *transports)
{
  int want[AB_ARCH_N] = { 0 }, na, nt = 0;
  char items[AB_ARCH_N + 8][32];
  if ((na = ab__list("--arch", archs ? archs : "threads", items, AB_ARCH_N + 8)) < 0)
    return AB_EXIT_USAGE;
  for (int i = 0; i < na; i++) {
    if (!strcmp(items[i], "all")) {
      for (int a = 0; a < AB_ARCH_N; a++)
        want[a] = ab_runtime_get(a) && ((sc->archs >> a) & 1);
      continue;
    }
    int a = ab_arch_find(items[i]);
    if (a < 0 || !ab_runtime_get(a))
      return ab__usage_error("--arch %s: unknown runtime (expected threads, procs, loop, a comma list, or all)",
                             items[i], "");
    if (!((sc->archs >> a) & 1))
      return ab__usage_error("--arch %s: scenario %s does not run under it", items[i], sc->name);
    want[a] = 1;
  }
  const char *tl[8];
  int any_transport = 0;
  for (int a = 0; a < AB_ARCH_N; a++)
    any_transport |= want[a] && ab_runtime_get(a)->uses_transport;
  if (transports) {
    char titems[16][32];
    int n = ab__list("--transport", transports, titems, 16);
    if (n < 0)
      return AB_EXIT_USAGE;
    for (int i = 0; i < n; i++) {
      int all = !strcmp(titems[i], "all"), known = 0;
      for (int k = 0; ab_proc_transports[k]; k++) {
        if (!all && strcmp(ab_proc_transports[k], titems[i]))
          continue;
        known = 1;
        int dup = 0;
        for (int j = 0; j < nt; j++)
          dup |= !strcmp(tl[j], ab_proc_transports[k]);
        if (!dup && nt < 8)
          tl[nt++] = ab_proc_transports[k];
      }
      if (!known)
        return ab__usage_error("--transport %s: unknown (expected pipe, unix, mq, shm, tcp, a comma list, or all)",
                               titems[i], "");
    }
    if (!any_transport)
      return ab__usage_error("--transport %s: only the procs runtime uses a transport (add --arch procs)", transports, "");
  }
  if (!nt)
    tl[nt++] = "shm";
  /* A scenario without channels has nothing for a transport to carry: run procs once. */
  if (sc->nchans == 0)
    nt = 1;
  for (int a = 0; a < AB_ARCH_N; a++) {
    if (!want[a])
      continue;
    int r;
    if (ab_runtime_get(a)->uses_transport) {
      for (int k = 0; k < nt; k++)
        if ((r = ab__plan_add(p, c, sc, a, sc->nchans ? tl[k] : "shm")))
          return r;
    } else if ((r = ab__plan_add(p, c, sc, a, NULL))) {
      return r;
    }
  }
  return 0;
}

/* ---- output directory ----------------------------------------------------------------------- */

/* A path the kernel will take: under PATH_MAX with every component under NAME_MAX. */
static int ab__path_fits(const char *path, size_t extra)
{
  if (strlen(path) + extra >= PATH_MAX)
    return 0;
  for (const char *p = path; *p;) {
    size_t n = strcspn(p, "/");
    if (n > NAME_MAX)
      return 0;
    p += n + (p[n] == '/');
  }
  return 1;
}

/* Would mkdir -p path work, and could we write there? 0, or an exit code after the error.
 * Nothing is created. */
static int ab__check_out(const char *opt, const char *path)
{
  if (!ab__path_fits(path, 64))
    return fprintf(stderr, "archbench: %s %.60s...: path too long (at most %d bytes, %d a component)\n", opt,
                   path, PATH_MAX - 64, NAME_MAX), AB_EXIT_USAGE;
  char *p = strdup(path);
  if (!p)
    return AB_EXIT_RESOURCE;
  struct stat sb;
  /* The deepest part that exists decides: a directory we may write into, or a refusal. */
  for (;;) {
    if (stat(p, &sb) == 0)
      break;
    if (errno != ENOENT) {
      int e = errno;
      fprintf(stderr, "archbench: %s %s: %s\n", opt, path, strerror(e));
      free(p);
      return e == ENOTDIR ? AB_EXIT_USAGE : AB_EXIT_RESOURCE;
    }
    char *slash = strrchr(p, '/');
    while (slash && slash > p && slash[1] == 0) { /* trailing slashes */
      *slash = 0;
      slash = strrchr(p, '/');
    }
    if (!slash) {
      strcpy(p, ".");
    } else if (slash == p) {
      p[1] = 0;
    } else {
      *slash = 0;
    }
  }
  int code = 0;
  if (!S_ISDIR(sb.st_mode)) {
    fprintf(stderr, "archbench: %s %s: %s is not a directory\n", opt, path, p);
    code = AB_EXIT_USAGE;
  } else if (access(p, W_OK | X_OK) < 0) {
    fprintf(stderr, "archbench: %s %s: cannot write into %s: %s\n", opt, path, p, strerror(errno));
    code = AB_EXIT_RESOURCE;
  }
  free(p);
  return code;
}

static int ab__mkdirs(const char *path)
{
  char *buf = strdup(path);
  if (!buf)
    return -ENOMEM;
  int r = 0;
  for (char *p = buf + 1; *p && !r; p++)
    if (*p == '/') {
      *p = 0;
      if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        r = -errno;
      *p = '/';
    }
  if (!r && mkdir(buf, 0755) < 0 && errno != EEXIST)
    r = -errno;
  free(buf);
  return r;
}

/* Where the results go, and what creating it changed (undone if no result lands). */
typedef struct ab__out {
  char *dir;
  int created;       /* the directory did not exist before */
  int is_default;    /* results/<run-id>, with results/latest repointed */
  char *prev_latest; /* where results/latest pointed before (NULL: nowhere) */
} ab__out_t;

/* results/<run-id>/ and results/latest pointing at it. */
static int ab__default_out(ab__out_t *out)
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
    char *o = NULL;
    if ((k == 1 ? asprintf(&o, "results/%s", id) : asprintf(&o, "results/%s-%d", id, k)) < 0)
      return -ENOMEM;
    if (mkdir(o, 0755) == 0) {
      char prev[PATH_MAX];
      ssize_t n = readlink("results/latest", prev, sizeof prev - 1);
      if (n > 0) {
        prev[n] = 0;
        out->prev_latest = strdup(prev);
      }
      unlink("results/latest.tmp");
      if (symlink(o + strlen("results/"), "results/latest.tmp") == 0)
        rename("results/latest.tmp", "results/latest");
      out->dir = o;
      out->created = out->is_default = 1;
      return 0;
    }
    int e = errno;
    free(o);
    if (e != EEXIST)
      return -e;
  }
  return -EEXIST;
}

/* Checked, then created: --out DIR, or results/<run-id>/. Returns 0 or an exit code. */
static int ab__outdir(const ab__cli_t *c, ab__out_t *out)
{
  memset(out, 0, sizeof *out);
  int r = ab__check_out(c->outdir ? "--out" : "results/", c->outdir ? c->outdir : "results");
  if (r)
    return r;
  if (!c->outdir) {
    if ((r = ab__default_out(out)) < 0) {
      fprintf(stderr, "archbench: results/: %s\n", strerror(-r));
      return AB_EXIT_RESOURCE;
    }
    return 0;
  }
  struct stat sb;
  out->created = stat(c->outdir, &sb) < 0;
  if ((r = ab__mkdirs(c->outdir)) < 0) {
    fprintf(stderr, "archbench: --out %s: %s\n", c->outdir, strerror(-r));
    return r == -ENOTDIR || r == -EEXIST ? AB_EXIT_USAGE : AB_EXIT_RESOURCE;
  }
  out->dir = strdup(c->outdir);
  return out->dir ? 0 : AB_EXIT_RESOURCE;
}

/* No result landed (every run refused at set-up): the directory we made goes again, and
 * results/latest points where it did, so the last real results stay in view. */
static void ab__outdir_done(ab__out_t *out)
{
  if (out->created && rmdir(out->dir) == 0 && out->is_default) {
    if (out->prev_latest) {
      unlink("results/latest.tmp");
      if (symlink(out->prev_latest, "results/latest.tmp") == 0)
        rename("results/latest.tmp", "results/latest");
    } else {
      unlink("results/latest");
    }
  }
  free(out->dir);
  free(out->prev_latest);
  memset(out, 0, sizeof *out);
}

/* ---- result locks ---------------------------------------------------------------------------- */

/* <result>.lock, flock'ed for the run and removed after. The lock is only ours if the name
 * still leads to the file we locked (another run may have removed and re-created it). */
static int ab__lock(const char *result, int *fd_out)
{
  char *path = NULL;
  if (asprintf(&path, "%s.lock", result) < 0)
    return AB_EXIT_RESOURCE;
  for (;;) {
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) { /* ELOOP: a symlink planted there, which we never follow */
      fprintf(stderr, "archbench: %s: %s\n", path, strerror(errno));
      free(path);
      return AB_EXIT_RESOURCE;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
      char pid[32] = "";
      ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
      pid[n > 0 ? n : 0] = 0;
      pid[strcspn(pid, "\n")] = 0;
      fprintf(stderr, "archbench: %s is being written by another run (pid %s); choose another --out\n", result,
              pid[0] ? pid : "?");
      close(fd);
      free(path);
      return AB_EXIT_RESOURCE;
    }
    struct stat a, b;
    if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
      char pid[32];
      int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
      if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, n, 0) != n)
        pid[0] = 0; /* the pid is only a courtesy to whoever is refused */
      free(path);
      *fd_out = fd;
      return 0;
    }
    close(fd); /* removed under us: take the new one */
  }
}

static void ab__unlock(const char *result, int fd)
{
  if (fd < 0)
    return;
  char *path = NULL;
  if (asprintf(&path, "%s.lock", result) >= 0) {
    unlink(path); /* while still held: nobody can be refused by a dead lock */
    free(path);
  }
  close(fd);
}

/* ---- running a plan --------------------------------------------------------------------------- */

static int ab__worse(int code, int r)
{
  if (r == AB_EXIT_INTR || code == AB_EXIT_INTR)
    return AB_EXIT_INTR;
  return r > code ? r : code;
}

/* Every refusal before anything is created. */
static int ab__plan_validate(const ab__plan_t *p)
{
  for (int k = 0; k < p->n; k++) {
    int r = ab_run_validate(&p->run[k]);
    if (r)
      return r;
  }
  return 0;
}

/* Result paths and their locks, all before the first run. */
static int ab__plan_claim(ab__plan_t *p, const char *out)
{
  for (int k = 0; k < p->n; k++) {
    char *name = ab_result_name(p->run[k].sc, p->run[k].arch, p->run[k].transport);
    if (!name || asprintf(&p->path[k], "%s/%s", out, name) < 0) {
      free(name);
      return AB_EXIT_RESOURCE;
    }
    free(name);
    p->run[k].result_path = p->path[k];
    int dup = 0;
    for (int j = 0; j < k; j++)
      dup |= !strcmp(p->path[j], p->path[k]);
    if (!dup) {
      int r = ab__lock(p->path[k], &p->lock[k]);
      if (r)
        return r;
    }
  }
  return 0;
}

static void ab__plan_release(ab__plan_t *p)
{
  for (int k = 0; k < p->n; k++) {
    ab__unlock(p->path[k], p->lock[k]);
    free(p->path[k]);
    p->path[k] = NULL;
    p->lock[k] = -1;
  }
}

static int ab__plan_run(ab__plan_t *p, ab__table_t *tb, int bench)
{
  int code = 0;
  for (int k = 0; k < p->n; k++) {
    char label[32];
    snprintf(label, sizeof label, "[%d/%d]", k + 1, p->n);
    ab_run_opts_t *o = &p->run[k];
    o->progress_label = label;
    o->kept = NULL;
    int r = ab_run_one(o);
    int failed_run = 0;
    if (o->kept) {
      failed_run = o->kept->status == AB_ST_FAILED;
      ab__row_add(tb, o->kept);
      ab_run_free(o->kept);
      o->kept = NULL;
    }
    if (bench && r == AB_EXIT_FAIL && !failed_run)
      r = 0; /* in the profile a failed requirement is a finding, not an error */
    code = ab__worse(code, r);
    if (o->wedged) {
      if (k + 1 < p->n)
        fprintf(stderr, "archbench: a role never stopped and its thread cannot be killed: the %d remaining "
                        "run(s) are not started\n", p->n - k - 1);
      break;
    }
    if (r == AB_EXIT_INTR || r == AB_EXIT_USAGE || r == AB_EXIT_RESOURCE)
      break;
  }
  return code;
}

/* validate, create the output directory, claim the results, run, print the table. */
static int ab__execute(ab__plan_t *p, const ab__cli_t *c, int bench)
{
  int r = ab__plan_validate(p);
  if (r)
    return r;
  /* From here on something exists that a signal must not leave behind (locks): Ctrl-C is
   * taken by the run in progress, or at the end if it came between runs. */
  sigset_t sigs, old;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  sigprocmask(SIG_BLOCK, &sigs, &old);
  ab__out_t out;
  if ((r = ab__outdir(c, &out))) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    return r;
  }
  ab__table_t tb = { 0 };
  if ((r = ab__plan_claim(p, out.dir)) == 0) {
    if (bench && !c->quiet)
      fprintf(stderr, "archbench: default profile, %d runs of %.1fs each, into %s/\n", p->n, c->duration_ns / 1e9,
              out.dir);
    r = ab__plan_run(p, &tb, bench);
    if ((!c->quiet || bench) && tb.n) {
      ab__table(&tb, out.dir);
      printf(bench ? "\nresults: %s/  (results/latest points at it)\n" : "\nresults: %s/\n", out.dir);
    }
  }
  ab__plan_release(p);
  free(tb.rows);
  ab__outdir_done(&out);
  struct timespec zero = { 0, 0 };
  if (sigtimedwait(&sigs, NULL, &zero) > 0)
    r = AB_EXIT_INTR;
  sigprocmask(SIG_SETMASK, &old, NULL);
  return r;
}

/* `run`'s arguments as far as the plan, with nothing created: 0 and the plan, or an exit code
 * (AB__HELP for --help). */
static int ab__run_plan(int argc, char **argv, ab__cli_t *c, ab__plan_t *p)
{
  int r = ab__parse(argc, argv, 2, c, 1);
  if (r)
    return r;
  const ab_scenario_t *sc = ab_scenario_find(c->scenario);
  if (!sc) {
    fprintf(stderr, "archbench: run %s: unknown scenario (expected one of:", c->scenario);
    for (int i = 0; ab_scenarios[i]; i++)
      fprintf(stderr, " %s", ab_scenarios[i]->name);
    fprintf(stderr, ")\n");
    return AB_EXIT_USAGE;
  }
  if (sc->unavailable) {
    fprintf(stderr, "archbench: scenario %s is unavailable in this build: %s\n", sc->name, sc->unavailable);
    return AB_EXIT_RESOURCE;
  }
  if (!c->duration_set)
    c->duration_ns = 10 * AB_NS_PER_S;
  p->n = 0;
  return ab__plan_scenario(p, c, sc, c->arch, c->transport);
}

int ab_cli_plan_only(int argc, char **argv)
{
  ab__cli_t c;
  static ab__plan_t p;
  int r = ab__run_plan(argc, argv, &c, &p);
  return r == AB__HELP ? 0 : r;
}

static int ab__cmd_run(int argc, char **argv)
{
  ab__cli_t c;
  static ab__plan_t p;
  int r = ab__run_plan(argc, argv, &c, &p);
  if (r == AB__HELP) {
    fputs(usage, stdout);
    return 0;
  }
  if (r)
    return r;
  return ab__execute(&p, &c, 0);
}

static int ab__cmd_bench(int argc, char **argv)
{
  ab__cli_t c;
  int r = ab__parse(argc, argv, 2, &c, 0);
  if (r == AB__HELP) {
    fputs(usage, stdout);
    return 0;
  }
  if (r)
    return r;
  if (c.arch || c.transport || c.nparams || c.nfaults)
    return ab__usage_error("bench: runs every scenario with every runtime and its defaults (use `run` to choose)%s%s",
                           "", "");
  if (!c.duration_set)
    c.duration_ns = 4 * AB_NS_PER_S;
  static ab__plan_t p;
  p.n = 0;
  int serial_used = 0, camera_used = 0;
  for (int i = 0; ab_scenarios[i]; i++) {
    const ab_scenario_t *sc = ab_scenarios[i];
    if (sc->unavailable) {
      fprintf(stderr, "archbench: skipping %s: %s\n", sc->name, sc->unavailable);
      continue;
    }
    for (int d = 0; d < sc->ndevs; d++) {
      serial_used |= sc->devs[d].kind == AB_DEV_SERIAL;
      camera_used |= sc->devs[d].kind == AB_DEV_CAMERA;
    }
    if ((r = ab__plan_scenario(&p, &c, sc, "all", "all")))
      return r;
  }
  if (c.dev.serial && !serial_used)
    return ab__usage_error("--serial %s: no scenario has a serial device%s", c.dev.serial, "");
  if (c.dev.camera && !camera_used)
    return ab__usage_error("--camera %s: no scenario has a camera%s", c.dev.camera, "");
  return ab__execute(&p, &c, 1);
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
