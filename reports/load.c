/* The report's input: every result file of the run directories, checked by result.h's reader,
 * grouped into what one recommendation compares (a scenario at one sweep point, with or
 * without the GIL) and, within a group, into candidates (an architecture with its repeats
 * pooled). Each requirement that rests on a periodic role's timing is paired with the same
 * figure of the `baseline` scenario on the same runtime: the machine's own floor.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "report.h"

static int ab__cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

double ab_rep_figure(const ab_result_t *r, const char *name)
{
  int64_t c;
  if (ab_result_counter(r, name, &c) == 0)
    return (double)c;
  json_t *v = json_object_get(json_object_get(r->doc, "values"), name);
  if (json_is_number(v))
    return json_number_value(v);
  const char *dot = strrchr(name, '.');
  char m[128];
  ab_summary_t s;
  if (!dot || (size_t)(dot - name) >= sizeof m)
    return NAN;
  snprintf(m, sizeof m, "%.*s", (int)(dot - name), name);
  if (ab_result_metric(r, m, &s) != 0)
    return NAN;
  static const char *const stat[] = { "count", "min", "max", "p50", "p90", "p99", "p999", "p9999", "mean" };
  double val[] = { (double)s.count, (double)s.min, (double)s.max, (double)s.p50, (double)s.p90,
                   (double)s.p99, (double)s.p999, (double)s.p9999, s.mean };
  for (size_t i = 0; i < sizeof stat / sizeof stat[0]; i++)
    if (!strcmp(dot + 1, stat[i]))
      return val[i];
  return NAN;
}

const char *ab_rep_table(const ab_result_t *r, const char *k)
{
  json_t *t = json_object_get(r->doc, "table");
  if (t)
    return json_string_value(json_object_get(t, k));
  /* a result written before results said so: the scenario's descriptor, if this build has it */
  const ab_scenario_t *sc = ab_scenario_find(r->scenario);
  if (!sc)
    return NULL;
  return !strcmp(k, "role") ? sc->table_role : !strcmp(k, "chain") ? sc->table_chain
         : !strcmp(k, "rate") ? sc->table_rate : !strcmp(k, "count") ? sc->table_count : NULL;
}

static int ab__load_dir(ab_rep_t *rp, const char *dir, char *err, size_t len)
{
  DIR *d = opendir(dir);
  if (!d) {
    snprintf(err, len, "report: %s: %s (expected a run directory, such as results/latest)", dir, strerror(errno));
    return AB_EXIT_USAGE;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < 6 || strcmp(e->d_name + l - 5, ".json") || !strcmp(e->d_name, "compare.json"))
      continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      char **nn = realloc(names, cap * sizeof *names);
      if (!nn)
        break;
      names = nn;
    }
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  if (n)
    qsort(names, n, sizeof *names, ab__cmp_str);
  int rc = 0, found = 0;
  for (size_t i = 0; i < n; i++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    if (!strcmp(names[i], "micro.json")) {
      if (!rp->micro) {
        json_error_t je;
        rp->micro = json_load_file(path, 0, &je);
        if (!rp->micro || !json_is_array(json_object_get(rp->micro, "benchmarks"))) {
          snprintf(err, len, "report: %s: not a micro-benchmark file (expected Google Benchmark's JSON with "
                   "\"benchmarks\"): %s", path, rp->micro ? "no benchmarks" : je.text);
          json_decref(rp->micro);
          rp->micro = NULL;
          rc = AB_EXIT_USAGE;
          break;
        }
        snprintf(rp->micro_file, sizeof rp->micro_file, "%s", path);
      }
      found = 1;
      continue;
    }
    if (rp->nrun == AB_REP_MAX_RUNS) {
      snprintf(err, len, "report: more than %d results in %s and the rest: give fewer directories", AB_REP_MAX_RUNS, dir);
      rc = AB_EXIT_USAGE;
      break;
    }
    char why[512];
    ab_result_t *r = ab_result_load(path, why, sizeof why);
    if (!r) {
      snprintf(err, len, "report: %s", why);
      rc = AB_EXIT_USAGE;
      break;
    }
    ab_rep_run_t *u = &rp->run[rp->nrun++];
    memset(u, 0, sizeof *u);
    u->r = r;
    snprintf(u->file, sizeof u->file, "%s", path);
    ab_result_label(r, u->label, sizeof u->label);
    if (r->sweep_param)
      snprintf(u->point, sizeof u->point, "%s=%s", r->sweep_param, r->sweep_value);
    snprintf(u->group, sizeof u->group, "%s%s%s%s", r->scenario, u->point[0] ? " " : "", u->point, r->gil ? " gil" : "");
    json_t *rep = json_object_get(json_object_get(r->doc, "repeat"), "index");
    u->rep = json_is_integer(rep) ? (int)json_integer_value(rep) : 1;
    found = 1;
  }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  if (!rc && !found) {
    snprintf(err, len, "report: %s holds no result (*.json) and no micro.json: expected a run directory, "
             "such as results/latest", dir);
    rc = AB_EXIT_USAGE;
  }
  return rc;
}

/* The baseline's figure matching requirement `name` of run u (on u's runtime): NaN if none. */
static double ab__floor(const ab_rep_t *rp, const ab_rep_run_t *u, const char *name)
{
  const char *role = ab_rep_table(u->r, "role");
  size_t rl = role ? strlen(role) : 0;
  /* timing only: a count (missed periods) depends on the period and the length of the run */
  if (!rl || strncmp(name, role, rl) || strncmp(name + rl, ".lateness_ns.", 13) || !strcmp(u->r->scenario, "baseline"))
    return NAN;
  double sum = 0;
  int n = 0;
  for (int i = 0; i < rp->nrun; i++) {
    const ab_result_t *b = rp->run[i].r;
    const char *brole = ab_rep_table(b, "role");
    if (strcmp(b->scenario, "baseline") || !brole || strcmp(b->arch, u->r->arch) || b->gil != u->r->gil)
      continue;
    char f[160];
    snprintf(f, sizeof f, "%s%s", brole, name + rl);
    double v = ab_rep_figure(b, f);
    if (!isnan(v))
      sum += v, n++;
  }
  return n ? sum / n : NAN;
}

static int ab__meets(const char *op, double v, double limit)
{
  if (isnan(v))
    return 0;
  if (!strcmp(op, "<="))
    return v <= limit;
  if (!strcmp(op, "<"))
    return v < limit;
  if (!strcmp(op, ">="))
    return v >= limit;
  return v == limit;
}

/* Pool v into a mean and a range over the *k values with data so far. */
static void ab__span(double *mean, double *lo, double *hi, double v, int *k)
{
  if (isnan(v))
    return;
  if ((*k)++ == 0) {
    *mean = *lo = *hi = v;
    return;
  }
  *mean += (v - *mean) / *k;
  *lo = v < *lo ? v : *lo;
  *hi = v > *hi ? v : *hi;
}

static void ab__add(ab_rep_t *rp, ab_rep_cand_t *c, int i)
{
  const ab_result_t *r = rp->run[i].r;
  int k = c->nrep;
  if (k < (int)(sizeof c->run / sizeof c->run[0]))
    c->run[c->nrep++] = i;
  else
    return;
  c->ok = (k == 0 || c->ok) && r->status == 0;
  ab__span(&c->cpu, &c->cpu_lo, &c->cpu_hi, r->cpu_percent, &c->ncpu);
  ab__span(&c->pss, &c->pss_lo, &c->pss_hi, r->pss_kb / 1024.0, &c->npss);
  for (int q = 0; q < r->nreqs && q < AB_REP_MAX_REQ; q++) {
    const ab_result_req_t *x = &r->reqs[q];
    ab_rep_req_t *y = NULL;
    for (int j = 0; j < c->nreq; j++)
      if (!strcmp(c->req[j].name, x->name))
        y = &c->req[j];
    if (!y) {
      if (c->nreq == AB_REP_MAX_REQ)
        continue;
      y = &c->req[c->nreq++];
      snprintf(y->name, sizeof y->name, "%s", x->name);
      snprintf(y->op, sizeof y->op, "%s", x->op);
      y->limit = x->limit;
      y->value = y->lo = y->hi = NAN;
      y->floor = ab__floor(rp, &rp->run[i], x->name);
      y->floor_pass = isnan(y->floor) ? -1 : ab__meets(y->op, y->floor, y->limit);
    }
    ab__span(&y->value, &y->lo, &y->hi, x->have ? x->value : NAN, &y->nv);
    y->n++;
    y->npass += x->pass;
  }
  c->pass = c->ok;
  for (int j = 0; j < c->nreq; j++)
    c->pass = c->pass && c->req[j].npass == c->req[j].n && c->req[j].n == c->nrep;
}

static void ab__group(ab_rep_t *rp)
{
  for (int i = 0; i < rp->nrun; i++) {
    ab_rep_run_t *u = &rp->run[i];
    ab_rep_group_t *g = NULL;
    for (int k = 0; k < rp->ngroup; k++)
      if (!strcmp(rp->group[k].key, u->group))
        g = &rp->group[k];
    if (!g) {
      if (rp->ngroup == AB_REP_MAX_GROUPS)
        continue;
      g = &rp->group[rp->ngroup++];
      memset(g, 0, sizeof *g);
      snprintf(g->key, sizeof g->key, "%s", u->group);
      snprintf(g->scenario, sizeof g->scenario, "%s", u->r->scenario);
      snprintf(g->point, sizeof g->point, "%s", u->point);
      g->gil = u->r->gil;
    }
    ab_rep_cand_t *c = NULL;
    for (int k = 0; k < g->ncand; k++)
      if (!strcmp(g->cand[k].label, u->label))
        c = &g->cand[k];
    if (!c) {
      if (g->ncand == AB_REP_MAX_CAND)
        continue;
      c = &g->cand[g->ncand++];
      snprintf(c->label, sizeof c->label, "%s", u->label);
      c->cpu = c->pss = NAN;
    }
    ab__add(rp, c, i);
  }
  /* a candidate that shows fewer requirements than its group's others has not met them */
  for (int k = 0; k < rp->ngroup; k++) {
    ab_rep_group_t *g = &rp->group[k];
    int most = 0;
    for (int i = 0; i < g->ncand; i++)
      most = g->cand[i].nreq > most ? g->cand[i].nreq : most;
    for (int i = 0; i < g->ncand; i++)
      if (g->cand[i].nreq < most) {
        g->cand[i].pass = 0;
        g->cand[i].missing = most - g->cand[i].nreq;
      }
  }
}

/* The group that stands for a scenario (its headline and figures): without the GIL, at its
 * largest sweep point, the hardest case. */
const ab_rep_group_t *ab_rep_main_group(const ab_rep_t *rp, const char *scenario)
{
  const ab_rep_group_t *best = NULL;
  for (int k = 0; k < rp->ngroup; k++) {
    const ab_rep_group_t *g = &rp->group[k];
    if (strcmp(g->scenario, scenario))
      continue;
    const char *eq = strchr(g->point, '=');
    double v = eq ? atof(eq + 1) : 0;
    const char *beq = best ? strchr(best->point, '=') : NULL;
    if (!best || (best->gil && !g->gil) || (best->gil == g->gil && v > (beq ? atof(beq + 1) : 0)))
      best = g;
  }
  return best;
}

/* Groups by scenario, then sweep point (as numbers: n=2 before n=10), without the GIL first. */
static int ab__cmp_group(const void *a, const void *b)
{
  const ab_rep_group_t *x = a, *y = b;
  int c = strcmp(x->scenario, y->scenario);
  if (c)
    return c;
  const char *ex = strchr(x->point, '='), *ey = strchr(y->point, '=');
  double px = ex ? atof(ex + 1) : 0, py = ey ? atof(ey + 1) : 0;
  if (px != py)
    return px < py ? -1 : 1;
  return x->gil - y->gil;
}

int ab_rep_load(ab_rep_t *rp, int ndirs, char **dirs, char *err, size_t len)
{
  memset(rp, 0, sizeof *rp);
  rp->run = calloc(AB_REP_MAX_RUNS, sizeof *rp->run);
  rp->group = calloc(AB_REP_MAX_GROUPS, sizeof *rp->group);
  if (!rp->run || !rp->group) {
    snprintf(err, len, "report: out of memory");
    return AB_EXIT_RESOURCE;
  }
  rp->dirs = dirs;
  rp->ndirs = ndirs;
  for (int i = 0; i < ndirs; i++) {
    int rc = ab__load_dir(rp, dirs[i], err, len);
    if (rc)
      return rc;
  }
  ab__group(rp);
  qsort(rp->group, rp->ngroup, sizeof *rp->group, ab__cmp_group);
  for (int k = 0; k < rp->ngroup; k++)
    ab_rep_recommend(&rp->group[k]);
  return 0;
}

void ab_rep_free(ab_rep_t *rp)
{
  for (int i = 0; rp->run && i < rp->nrun; i++)
    ab_result_free(rp->run[i].r);
  free(rp->run);
  free(rp->group);
  json_decref(rp->micro);
  memset(rp, 0, sizeof *rp);
}
