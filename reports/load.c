/* The report's input: every result file of the run directories, checked by result.h's reader,
 * grouped into what one recommendation compares (a scenario at one sweep point, with or
 * without the GIL) and, within a group, into candidates (an architecture with its repeats
 * pooled). Each requirement that rests on a periodic role's timing is paired with the same
 * figure of the `baseline` scenario on the same runtime: the machine's own floor.
 */
#include <ctype.h>
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

/* The names a result gives that the report puts in file names, gnuplot commands and the page:
 * letters, digits and _.=+- only (every scenario, runtime, transport, role and param is). The
 * first that is not, quoted, else NULL. */
static const char *ab__unsafe(const ab_result_t *r)
{
  static __thread char why[192];
  const char *v[8 + 64], *k[8 + 64] = { "scenario", "arch", "transport", "sweep param", "sweep value", "table role",
                                        "table chain", "table rate" };
  int n = 0;
  v[n++] = r->scenario, v[n++] = r->arch, v[n++] = r->transport, v[n++] = r->sweep_param, v[n++] = r->sweep_value;
  v[n++] = ab_rep_table(r, "role"), v[n++] = ab_rep_table(r, "chain"), v[n++] = ab_rep_table(r, "rate");
  for (int q = 0; q < r->nreqs && n < 8 + 64; q++)
    k[n] = "requirement", v[n++] = r->reqs[q].name;
  for (int i = 0; i < n; i++)
    for (const char *p = v[i]; p && *p; p++)
      if (!(isalnum((unsigned char)*p) || strchr("_.=+-", *p)) || (p == v[i] && *p == '.')) {
        snprintf(why, sizeof why, "%s \"%.120s\"", k[i], v[i]);
        return why;
      }
  return NULL;
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
    if (rp->nrun == rp->cap) {
      ab_rep_run_t *more = realloc(rp->run, 2 * rp->cap * sizeof *more);
      if (!more) {
        snprintf(err, len, "report: out of memory at %d results", rp->nrun);
        rc = AB_EXIT_RESOURCE;
        break;
      }
      rp->run = more, rp->cap *= 2;
    }
    char why[512];
    struct stat st;
    if (stat(path, &st) || !S_ISREG(st.st_mode)) {
      snprintf(err, len, "report: %s: not a result file (%s)", path, errno && !S_ISDIR(st.st_mode) ? strerror(errno) : "a directory");
      rc = AB_EXIT_USAGE;
      break;
    }
    ab_result_t *r = ab_result_load(path, why, sizeof why);
    if (!r) {
      snprintf(err, len, "report: %s", why);
      rc = AB_EXIT_USAGE;
      break;
    }
    const char *bad = ab__unsafe(r);
    if (bad) {
      snprintf(err, len, "report: %s: %s: a name a result never holds (expected letters, digits and _.=+-)", path, bad);
      ab_result_free(r);
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
  double best = NAN;
  int n = 0;
  for (int i = 0; i < rp->nrun; i++) {
    const ab_result_t *b = rp->run[i].r;
    const char *brole = ab_rep_table(b, "role");
    if (strcmp(b->scenario, "baseline") || !brole || strcmp(b->arch, u->r->arch) || b->gil != u->r->gil)
      continue;
    char f[160];
    snprintf(f, sizeof f, "%s%s", brole, name + rl);
    double v = ab_rep_figure(b, f);
    if (!isnan(v) && (!n++ || v < best)) /* the machine at its best: its quietest repeat */
      best = v;
  }
  return n ? best : NAN;
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

/* Add run i to candidate c as a repeat: 0, or AB_EXIT_USAGE with err when it cannot be one
 * (its params differ from the first repeat's, or there are too many). */
static int ab__add(ab_rep_t *rp, ab_rep_cand_t *c, int i, char *err, size_t len)
{
  const ab_result_t *r = rp->run[i].r;
  int k = c->nrep;
  if (k == (int)(sizeof c->run / sizeof c->run[0])) {
    snprintf(err, len, "report: %s: more than %d repeats of %s %s", rp->run[i].file, k, rp->run[i].group, c->label);
    return AB_EXIT_USAGE;
  }
  if (k) { /* a repeat is the same run again: its params must be the first's */
    json_t *p0 = json_object_get(rp->run[c->run[0]].r->doc, "params"), *p1 = json_object_get(r->doc, "params"), *v;
    const char *key;
    json_object_foreach(p1, key, v) {
      json_t *v0 = json_object_get(p0, key);
      if (!v0 || !json_equal(v0, v)) {
        snprintf(err, len, "report: %s and %s are both %s %s but differ in param %s (%s against %s): report them apart",
                 rp->run[c->run[0]].file, rp->run[i].file, rp->run[i].group, c->label, key,
                 v0 && json_is_string(v0) ? json_string_value(v0) : "none", json_is_string(v) ? json_string_value(v) : "?");
        return AB_EXIT_USAGE;
      }
    }
    if (json_object_size(p0) != json_object_size(p1)) {
      snprintf(err, len, "report: %s and %s are both %s %s but their params differ: report them apart",
               rp->run[c->run[0]].file, rp->run[i].file, rp->run[i].group, c->label);
      return AB_EXIT_USAGE;
    }
  }
  c->run[c->nrep++] = i;
  c->ok = (k == 0 || c->ok) && r->status == 0;
  double before = c->cpu;
  ab__span(&c->cpu, &c->cpu_lo, &c->cpu_hi, r->cpu_percent, &c->ncpu);
  if (c->ncpu > 1 && !isnan(r->cpu_percent)) { /* Welford: the sum of squares about the mean */
    c->cpu_m2 += (r->cpu_percent - before) * (r->cpu_percent - c->cpu);
    c->cpu_sd = sqrt(c->cpu_m2 / (c->ncpu - 1));
  }
  ab__span(&c->pss, &c->pss_lo, &c->pss_hi, r->pss_kb / 1024.0, &c->npss);
  if (r->nreqs > AB_REP_MAX_REQ) {
    snprintf(err, len, "report: %s: %d requirements, more than the %d a report shows", rp->run[i].file, r->nreqs,
             AB_REP_MAX_REQ);
    return AB_EXIT_USAGE;
  }
  for (int q = 0; q < r->nreqs; q++) {
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
      y->value = y->mean = y->lo = y->hi = NAN;
      y->floor = ab__floor(rp, &rp->run[i], x->name);
      y->floor_pass = isnan(y->floor) ? -1 : ab__meets(y->op, y->floor, y->limit);
    }
    ab__span(&y->mean, &y->lo, &y->hi, x->have ? x->value : NAN, &y->nv);
    y->n++;
    y->npass += x->pass;
  }
  c->pass = c->ok;
  for (int j = 0; j < c->nreq; j++)
    c->pass = c->pass && c->req[j].npass == c->req[j].n && c->req[j].n == c->nrep;
  return 0;
}

static int ab__group(ab_rep_t *rp, char *err, size_t len)
{
  for (int i = 0; i < rp->nrun; i++) {
    ab_rep_run_t *u = &rp->run[i];
    ab_rep_group_t *g = NULL;
    for (int k = 0; k < rp->ngroup; k++)
      if (!strcmp(rp->group[k].key, u->group))
        g = &rp->group[k];
    if (!g) {
      if (rp->ngroup == AB_REP_MAX_GROUPS) {
        snprintf(err, len, "report: more than %d configurations (scenario, sweep point, GIL) to decide: give fewer "
                 "results", AB_REP_MAX_GROUPS);
        return AB_EXIT_USAGE;
      }
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
      if (g->ncand == AB_REP_MAX_CAND) {
        snprintf(err, len, "report: %s: more than %d architectures in %s", u->file, AB_REP_MAX_CAND, g->key);
        return AB_EXIT_USAGE;
      }
      c = &g->cand[g->ncand++];
      snprintf(c->label, sizeof c->label, "%s", u->label);
      c->cpu = c->pss = NAN;
    }
    int rc = ab__add(rp, c, i, err, len);
    if (rc)
      return rc;
  }
  /* each requirement's value is its worst repeat's: every repeat must meet it */
  for (int k = 0; k < rp->ngroup; k++)
    for (int i = 0; i < rp->group[k].ncand; i++)
      for (int j = 0; j < rp->group[k].cand[i].nreq; j++) {
        ab_rep_req_t *q = &rp->group[k].cand[i].req[j];
        int up = !strcmp(q->op, "<=") || !strcmp(q->op, "<");
        q->value = up ? q->hi : !strcmp(q->op, ">=") ? q->lo : fabs(q->hi - q->limit) > fabs(q->lo - q->limit) ? q->hi : q->lo;
        if (q->nv < q->n) /* a repeat without the figure: the worst is "no data", not the others' */
          q->value = NAN;
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
  return 0;
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
    double v = ab_rep_point_value(g->scenario, g->point);
    if (!best || (best->gil && !g->gil) || (best->gil == g->gil && v > ab_rep_point_value(best->scenario, best->point)))
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
  double px = ab_rep_point_value(x->scenario, x->point), py = ab_rep_point_value(y->scenario, y->point);
  if (px != py)
    return px < py ? -1 : 1;
  return x->gil - y->gil;
}

int ab_rep_load(ab_rep_t *rp, int ndirs, char **dirs, char *err, size_t len)
{
  memset(rp, 0, sizeof *rp);
  rp->cap = 256;
  rp->run = calloc(rp->cap, sizeof *rp->run);
  rp->group = calloc(AB_REP_MAX_GROUPS, sizeof *rp->group);
  if (!rp->run || !rp->group) {
    snprintf(err, len, "report: out of memory");
    return AB_EXIT_RESOURCE;
  }
  /* the page names them: kept as copies, the caller's array may be gone by then */
  rp->dirs = calloc(ndirs > 0 ? ndirs : 1, sizeof *rp->dirs);
  for (int i = 0; rp->dirs && i < ndirs; i++)
    if ((rp->dirs[i] = strdup(dirs[i])))
      rp->ndirs++;
  for (int i = 0; i < ndirs; i++) {
    int rc = ab__load_dir(rp, dirs[i], err, len);
    if (rc)
      return rc;
  }
  int rc = ab__group(rp, err, len);
  if (rc)
    return rc;
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
  for (int i = 0; rp->dirs && i < rp->ndirs; i++)
    free(rp->dirs[i]);
  free(rp->dirs);
  json_decref(rp->micro);
  memset(rp, 0, sizeof *rp);
}
