/* The report's figures: a data file per figure, written from the results, and a gnuplot
 * template (reports/<name>.gp) that draws it to SVG. The template gets its file names, the
 * number of series and the reference lines as variables (-e); the data files hold one block
 * per series, the series' name on the block's first line, blocks apart by two blank lines,
 * so a reader can plot them again with anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hist.h"
#include "internal.h"
#include "report.h"

extern char **environ;

/* gnuplot -e VARS TEMPLATE, its output to report/figures.log: 0 when it made `out`. */
int ab_rep_gnuplot(const ab_rep_t *rp, const char *tmpl, const char *vars, const char *out)
{
  char gp[PATH_MAX + 96], log[PATH_MAX + 16], path[PATH_MAX + 128];
  snprintf(gp, sizeof gp, "%s/%s.gp", rp->tmpl, tmpl);
  snprintf(log, sizeof log, "%s/figures.log", rp->out);
  snprintf(path, sizeof path, "%s/%s", rp->out, out);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addchdir_np(&fa, rp->out);
  char all[PATH_MAX + 2048];
  snprintf(all, sizeof all, "tmpl='%s'; %s", rp->tmpl, vars);
  char *argv[] = { "gnuplot", "-e", all, gp, NULL };
  pid_t pid;
  int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ), st = 0;
  posix_spawn_file_actions_destroy(&fa);
  if (rc)
    return -rc;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  struct stat sb;
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 && stat(path, &sb) == 0 && sb.st_size > 0 ? 0 : -EIO;
}

static FILE *ab__dat(const ab_rep_t *rp, const char *name)
{
  char path[PATH_MAX + 256];
  snprintf(path, sizeof path, "%s/%s", rp->out, name);
  return fopen(path, "w");
}

/* A candidate's histogram of metric m, its repeats merged: 0, or -1 without data. */
static int ab__hist(const ab_rep_t *rp, const ab_rep_cand_t *c, const char *m, ab_hist_t *h)
{
  ab_hist_t one;
  ab_hist_init(h);
  for (int i = 0; i < c->nrep; i++)
    if (ab_result_hist(rp->run[c->run[i]].r, m, &one) == 0)
      ab_hist_merge(h, &one);
  return h->count ? 0 : -1;
}

static const char *ab__table(const ab_rep_t *rp, const ab_rep_group_t *g, const char *k)
{
  return ab_rep_table(rp->run[g->cand[0].run[0]].r, k);
}

/* The unit a set of nanosecond figures reads best in. */
static double ab__unit(int64_t max, const char **name)
{
  *name = max >= 10000000 ? "ms" : max >= 10000 ? "µs" : "ns";
  return max >= 10000000 ? 1e6 : max >= 10000 ? 1e3 : 1;
}

/* One block of a percentile spectrum: 1/(1-q) against the value, up to 1 - 1/count. */
static void ab__spectrum_block(FILE *f, const char *label, const ab_hist_t *h, double unit)
{
  fprintf(f, "\"%s\"\n", label);
  double top = 1.0 - 1.0 / (double)h->count;
  for (int k = 0; k <= 120; k++) {
    double q = 1.0 - pow(10.0, -k / 20.0);
    if (q > top)
      break;
    fprintf(f, "%.6g %.6g\n", 1.0 / (1.0 - q), (double)ab_hist_quantile(h, q) / unit);
  }
  fprintf(f, "%.6g %.6g\n\n\n", (double)h->count, (double)h->max / unit);
}

static void ab__cdf_block(FILE *f, const char *label, const ab_hist_t *h, double unit)
{
  fprintf(f, "\"%s\"\n", label);
  uint64_t seen = 0;
  for (int i = 0; i < AB_HIST_NBUCKETS; i++) {
    if (!h->buckets[i])
      continue;
    seen += h->buckets[i];
    int64_t up = ab_hist_upper(i);
    fprintf(f, "%.6g %.6g\n", (double)(up > h->max ? h->max : up) / unit, (double)seen / h->count);
  }
  fprintf(f, "\n\n");
}

static int ab__add(char (*names)[96], char (*titles)[160], int n, int max, const char *file, const char *title)
{
  if (n >= max)
    return n;
  snprintf(names[n], 96, "%s", file);
  snprintf(titles[n], 160, "%s", title);
  return n + 1;
}

/* Spectrum and CDF of a periodic role's lateness: every candidate, the baseline floors of the
 * same runtimes dashed, the scenario's limit on it drawn in. */
static int ab__lateness(ab_rep_t *rp, const ab_rep_group_t *g, char (*names)[96], char (*titles)[160], int n, int max)
{
  const char *role = ab__table(rp, g, "role");
  if (!role)
    return n;
  char m[96], fs[128], fc[128], vars[1024];
  snprintf(m, sizeof m, "%s.lateness_ns", role);
  ab_hist_t *h = malloc(sizeof *h);
  if (!h)
    return n;
  int64_t top = 0;
  double limit = NAN;
  for (int i = 0; i < g->ncand; i++) {
    if (ab__hist(rp, &g->cand[i], m, h) == 0 && h->max > top)
      top = h->max;
    for (int j = 0; j < g->cand[i].nreq; j++)
      if (!strncmp(g->cand[i].req[j].name, m, strlen(m)) && strchr("<", g->cand[i].req[j].op[0]))
        limit = g->cand[i].req[j].limit;
  }
  const char *un;
  double unit = ab__unit(top, &un);
  snprintf(fs, sizeof fs, "%s-spectrum", g->scenario);
  snprintf(fc, sizeof fc, "%s-cdf", g->scenario);
  char ds[160], dc[160];
  snprintf(ds, sizeof ds, "%s.dat", fs);
  snprintf(dc, sizeof dc, "%s.dat", fc);
  FILE *s = ab__dat(rp, ds), *c = ab__dat(rp, dc);
  int ns = 0, nf = 0;
  for (int i = 0; s && c && i < g->ncand; i++)
    if (ab__hist(rp, &g->cand[i], m, h) == 0) {
      ab__spectrum_block(s, g->cand[i].label, h, unit);
      ab__cdf_block(c, g->cand[i].label, h, unit);
      ns++;
    }
  /* the floors: the baseline's periodic role on each runtime shown */
  const ab_rep_group_t *b = strcmp(g->scenario, "baseline") ? ab_rep_main_group(rp, "baseline") : NULL;
  for (int i = 0; b && s && c && i < b->ncand; i++) {
    int shown = 0;
    for (int j = 0; j < g->ncand; j++)
      shown |= !strncmp(g->cand[j].label, b->cand[i].label, strcspn(b->cand[i].label, "/"));
    char bm[96], lab[96];
    snprintf(bm, sizeof bm, "%s.lateness_ns", ab__table(rp, b, "role") ? ab__table(rp, b, "role") : "tick");
    snprintf(lab, sizeof lab, "floor %s", b->cand[i].label);
    if (shown && ab__hist(rp, &b->cand[i], bm, h) == 0) {
      ab__spectrum_block(s, lab, h, unit);
      ab__cdf_block(c, lab, h, unit);
      nf++;
    }
  }
  if (s)
    fclose(s);
  if (c)
    fclose(c);
  free(h);
  if (!ns)
    return n;
  snprintf(vars, sizeof vars, "dat='%s'; out='%s.svg'; n=%d; nf=%d; limit=%.6g; ylab='lateness of %s (%s)'", ds, fs, ns, nf,
           isnan(limit) ? -1.0 : limit / unit, role, un);
  char t[160];
  snprintf(t, sizeof t, "%s: wake-up lateness of %s by percentile, every architecture%s%s", g->scenario, role,
           nf ? ", with the machine's floor (dashed)" : "", isnan(limit) ? "" : " and the limit");
  if (rp->gnuplot && ab_rep_gnuplot(rp, "spectrum", vars, strcat(fs, ".svg")) == 0)
    n = ab__add(names, titles, n, max, fs, t);
  snprintf(vars, sizeof vars, "dat='%s'; out='%s.svg'; n=%d; nf=%d; limit=%.6g; xlab='lateness of %s (%s)'", dc, fc, ns, nf,
           isnan(limit) ? -1.0 : limit / unit, role, un);
  snprintf(t, sizeof t, "%s: the same lateness as a CDF", g->scenario);
  if (rp->gnuplot && ab_rep_gnuplot(rp, "cdf", vars, strcat(fc, ".svg")) == 0)
    n = ab__add(names, titles, n, max, fc, t);
  return n;
}

/* Lateness over time: each window's worst, from the result's bounded series. */
static int ab__timeline(ab_rep_t *rp, const ab_rep_group_t *g, char (*names)[96], char (*titles)[160], int n, int max)
{
  const char *role = ab__table(rp, g, "role");
  if (!role)
    return n;
  char m[96], d[128], vars[768], t[160];
  snprintf(m, sizeof m, "%s.lateness_ns", role);
  snprintf(d, sizeof d, "%s-timeline.dat", g->scenario);
  FILE *f = ab__dat(rp, d);
  int ns = 0;
  double top = 0;
  for (int i = 0; f && i < g->ncand; i++) {
    json_t *s = json_object_get(json_object_get(rp->run[g->cand[i].run[0]].r->doc, "series"), m);
    json_t *mx = json_object_get(s, "max_ns");
    double w = json_number_value(json_object_get(s, "window_ns"));
    if (!json_is_array(mx) || !(w > 0))
      continue;
    fprintf(f, "\"%s\"\n", g->cand[i].label);
    /* at most 150 points a line (seven lines stay readable): consecutive windows merged, each
     * point their worst */
    size_t nw = json_array_size(mx), per = (nw + 149) / 150;
    for (size_t k0 = 0; k0 < nw; k0 += per) {
      double v = -1;
      for (size_t k = k0; k < k0 + per && k < nw; k++) {
        json_t *cnt = json_array_get(json_object_get(s, "count"), k), *x = json_array_get(mx, k);
        if (json_is_number(x) && !(cnt && json_number_value(cnt) == 0)) /* an empty window has none */
          v = fmax(v, json_number_value(x));
      }
      if (v >= 0)
        fprintf(f, "%.6g %.6g\n", (k0 + per / 2.0) * w / 1e9, v / 1e6);
      top = fmax(top, v);
    }
    fprintf(f, "\n\n");
    ns++;
  }
  if (f)
    fclose(f);
  if (!ns)
    return n;
  snprintf(vars, sizeof vars, "dat='%s'; out='%s-timeline.svg'; n=%d; ylab='worst lateness of %s per window (ms)'", d,
           g->scenario, ns, role);
  snprintf(t, sizeof t, "%s: the worst lateness of %s in each window of the run", g->scenario, role);
  char out[96];
  snprintf(out, sizeof out, "%s-timeline.svg", g->scenario);
  if (rp->gnuplot && ab_rep_gnuplot(rp, "timeline", vars, out) == 0)
    n = ab__add(names, titles, n, max, out, t);
  return n;
}

/* Chain latency percentiles, and CPU and memory, per candidate. */
static int ab__bars(ab_rep_t *rp, const ab_rep_group_t *g, char (*names)[96], char (*titles)[160], int n, int max)
{
  const char *chain = ab__table(rp, g, "chain");
  char d[128], vars[768], t[160], out[96];
  ab_hist_t *h = malloc(sizeof *h);
  if (!h)
    return n;
  if (chain) {
    snprintf(d, sizeof d, "%s-chain.dat", g->scenario);
    FILE *f = ab__dat(rp, d);
    int rows = 0;
    if (f)
      fprintf(f, "arch p50 p99 p99.9 max\n");
    for (int i = 0; f && i < g->ncand; i++)
      if (ab__hist(rp, &g->cand[i], chain, h) == 0) {
        fprintf(f, "\"%s\" %.6g %.6g %.6g %.6g\n", g->cand[i].label, ab_hist_quantile(h, 0.5) / 1e6,
                ab_hist_quantile(h, 0.99) / 1e6, ab_hist_quantile(h, 0.999) / 1e6, h->max / 1e6);
        rows++;
      }
    if (f)
      fclose(f);
    snprintf(out, sizeof out, "%s-chain.svg", g->scenario);
    snprintf(vars, sizeof vars, "dat='%s'; out='%s'; ylab='%s (ms)'", d, out, chain);
    snprintf(t, sizeof t, "%s: %s, p50 to max, per architecture", g->scenario, chain);
    if (rows && rp->gnuplot && ab_rep_gnuplot(rp, "chain", vars, out) == 0)
      n = ab__add(names, titles, n, max, out, t);
  }
  free(h);
  snprintf(d, sizeof d, "%s-cost.dat", g->scenario);
  FILE *f = ab__dat(rp, d);
  if (!f)
    return n;
  fprintf(f, "arch cpu_percent pss_mb\n");
  for (int i = 0; i < g->ncand; i++)
    fprintf(f, "\"%s\" %.6g %.6g\n", g->cand[i].label, g->cand[i].cpu, g->cand[i].pss);
  fclose(f);
  snprintf(out, sizeof out, "%s-cost.svg", g->scenario);
  snprintf(vars, sizeof vars, "dat='%s'; out='%s'", d, out);
  snprintf(t, sizeof t, "%s: CPU (%% of one core) and memory (PSS) per architecture", g->scenario);
  if (rp->gnuplot && ab_rep_gnuplot(rp, "cost", vars, out) == 0)
    n = ab__add(names, titles, n, max, out, t);
  return n;
}

/* A sweep (agents over N): throughput, efficiency and memory per instance against the point,
 * for every architecture with and without the GIL, with the ideal. */
static int ab__sweep(ab_rep_t *rp, const char *scenario, char (*names)[96], char (*titles)[160], int n, int max)
{
  const ab_rep_group_t *g0 = ab_rep_main_group(rp, scenario);
  if (!g0 || !g0->point[0])
    return n;
  const ab_result_t *r0 = rp->run[g0->cand[0].run[0]].r;
  const ab_scenario_t *sc = ab_scenario_find(scenario);
  const char *rate = sc && sc->sweep_figure ? sc->sweep_figure : ab__table(rp, g0, "rate");
  if (!rate)
    return n;
  int figure_only = sc && sc->sweep_figure != NULL; /* no efficiency, no memory per instance */
  const ab_param_desc_t *pd = sc ? ab_param_desc(sc, r0->sweep_param) : NULL;
  double xunit = pd && pd->type == AB_P_DURATION ? 1e6 : 1; /* durations in ms */
  char key[96], eff[96], single[96], bound[96], d[128];
  snprintf(eff, sizeof eff, "%s.efficiency", scenario);
  snprintf(single, sizeof single, "%s.single_rate_per_s", scenario);
  snprintf(bound, sizeof bound, "%s.machine_bound_per_s", scenario);
  snprintf(key, sizeof key, "%s", r0->sweep_param);
  snprintf(d, sizeof d, "%s-sweep.dat", scenario);
  FILE *f = ab__dat(rp, d);
  if (!f)
    return n;
  double s1 = json_number_value(json_object_get(json_object_get(r0->doc, "calibration"), single));
  double bd = json_number_value(json_object_get(json_object_get(r0->doc, "calibration"), bound));
  char labels[AB_REP_MAX_CAND * 2][64], lcs[256] = "";
  int nl = 0, ngil0 = 0;
  for (int gil = 0; gil < 2; gil++) /* the labels: without the GIL first, then with it */
    for (int k = 0; k < rp->ngroup; k++)
      for (int i = 0; !strcmp(rp->group[k].scenario, scenario) && rp->group[k].gil == gil && i < rp->group[k].ncand; i++) {
        int seen = 0;
        for (int j = 0; j < nl; j++)
          seen |= !strcmp(labels[j], rp->group[k].cand[i].label);
        if (!seen && nl < AB_REP_MAX_CAND * 2)
          snprintf(labels[nl++], 64, "%s", rp->group[k].cand[i].label);
        ngil0 += !gil && !seen;
      }
  /* one colour per architecture, dashed under the GIL: threads and threads+gil side by side */
  char bases[AB_REP_MAX_CAND * 2][64];
  int nb = 0;
  for (int j = 0; j < nl; j++) {
    size_t base = strcspn(labels[j], "+"), l1 = strlen(lcs);
    int col = 0;
    while (col < nb && strcmp(bases[col], labels[j]) != 0 && !(strlen(bases[col]) == base && !strncmp(bases[col], labels[j], base)))
      col++;
    if (col == nb)
      snprintf(bases[nb++], 64, "%.*s", (int)base, labels[j]);
    snprintf(lcs + l1, sizeof lcs - l1, "%s%d", j ? " " : "", col % 8 + 1);
  }
  for (int j = 0; j < nl; j++) {
    fprintf(f, "\"%s\"\n", labels[j]);
    /* points ascending: the groups in order of their point's value */
    double last = -1;
    for (;;) {
      double next = INFINITY;
      const ab_rep_cand_t *c = NULL;
      for (int k = 0; k < rp->ngroup; k++) {
        const ab_rep_group_t *g = &rp->group[k];
        double v = strchr(g->point, '=') ? ab_rep_point_value(g->scenario, g->point) : NAN;
        if (strcmp(g->scenario, scenario) || !(v > last) || !(v < next))
          continue;
        for (int i = 0; i < g->ncand; i++)
          if (!strcmp(g->cand[i].label, labels[j]))
            next = v, c = &g->cand[i];
      }
      if (!c)
        break;
      double rt = 0, ef = 0;
      for (int i = 0; i < c->nrep; i++) {
        rt += ab_rep_figure(rp->run[c->run[i]].r, rate) / c->nrep;
        ef += ab_rep_figure(rp->run[c->run[i]].r, eff) / c->nrep;
      }
      fprintf(f, "%.6g %.6g %.6g %.6g\n", next / xunit, rt, ef, c->pss / next);
      last = next;
    }
    fprintf(f, "\n\n");
  }
  fclose(f);
  char vars[1024], out[96], t[160];
  static const char *const what[][2] = { { "throughput", "%s/s against %s, every architecture, and the ideal" },
                                         { "efficiency", "efficiency (%s over %s x one alone) and the ideal" },
                                         { "memory", "PSS per instance (MB) against %s" } };
  if (figure_only && xunit > 1)
    snprintf(key + strlen(key), sizeof key - strlen(key), " (ms)");
  for (int w = 0; w < (figure_only ? 1 : 3); w++) {
    snprintf(out, sizeof out, "%s-%s.svg", scenario, figure_only ? "sweep" : what[w][0]);
    snprintf(vars, sizeof vars, "dat='%s'; out='%s'; n=%d; col=%d; single=%.6g; bound=%.6g; xlab='%s'; ylab='%s'; "
             "lcs='%s'; ng=%d", d, out, nl, w + 2, isnan(s1) ? -1.0 : s1, isnan(bd) ? -1.0 : bd, key,
             w == 0 ? rate : w == 1 ? eff : "PSS per instance (MB)", lcs, ngil0);
    if (figure_only)
      snprintf(t, sizeof t, "%s against %s, every architecture (dashed: under the GIL)", rate, key);
    else if (w == 2)
      snprintf(t, sizeof t, what[w][1], key);
    else
      snprintf(t, sizeof t, what[w][1], w == 0 ? rate : rate, key);
    if (rp->gnuplot && ab_rep_gnuplot(rp, "sweep", vars, out) == 0)
      n = ab__add(names, titles, n, max, out, t);
  }
  return n;
}

int ab_rep_scenario_figures(ab_rep_t *rp, const char *scenario, char (*names)[96], char (*titles)[160], int max)
{
  const ab_rep_group_t *g = ab_rep_main_group(rp, scenario);
  int n = 0;
  if (!g)
    return 0;
  if (g->point[0])
    n = ab__sweep(rp, scenario, names, titles, n, max);
  n = ab__lateness(rp, g, names, titles, n, max);
  n = ab__timeline(rp, g, names, titles, n, max);
  return ab__bars(rp, g, names, titles, n, max);
}
