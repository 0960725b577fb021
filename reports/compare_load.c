/* compare's input: the two sides' repeats, one sample per repeat of every metric both share.
 * What a sample is:
 *   - a scenario result file gives, for each histogram metric, its p50, p99 and p99.9, and the
 *     run's CPU (% of one CPU): "robot.threads:inner.step_ns.p50", "robot.threads:cpu_pct";
 *   - a micro.json gives each benchmark's per-op time, its p50 when it measured one, else its
 *     mean (real time): "micro:pipe/procs/rtt/8". Repetitions within one file are one run:
 *     their median is its sample (within a run they share the run's conditions).
 * Every metric here is a time or a cost: larger is worse.
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "compare.h"
#include "result.h"

static const char *const ab__side_name[2] = { "BASE", "NEW" };

typedef struct ab__load {
  ab_cmp_t *c;
  const char **globs;
  int nglobs, *glob_hits;
  char **keys[2];           /* the result keys of each side */
  int nkeys[2];
  json_t *params[2];        /* key -> params of the first result seen on that side */
} ab__load_t;

static int ab__err(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int ab__err(char *err, size_t len, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, len, fmt, ap);
  va_end(ap);
  return AB_EXIT_USAGE;
}

static void ab__note(ab_cmp_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ab__note(ab_cmp_t *c, const char *fmt, ...)
{
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  for (int i = 0; i < c->nnotes; i++)
    if (!strcmp(c->notes[i], buf))
      return;
  if (c->nnotes < (int)(sizeof c->notes / sizeof c->notes[0]))
    snprintf(c->notes[c->nnotes++], sizeof c->notes[0], "%s", buf);
}

/* The metric id, found or added; NULL when the globs leave it out (or out of memory). */
static ab_cmp_metric_t *ab__metric(ab__load_t *L, const char *id, const char *kind, const char *unit, double q)
{
  ab_cmp_t *c = L->c;
  for (int i = c->nm - 1; i >= 0; i--)
    if (!strcmp(c->m[i].id, id))
      return &c->m[i];
  if (L->nglobs) {
    int hit = 0;
    for (int g = 0; g < L->nglobs; g++)
      if (fnmatch(L->globs[g], id, 0) == 0)
        hit = 1, L->glob_hits[g]++;
    if (!hit)
      return NULL;
  }
  if (c->nm == c->cap) {
    int cap = c->cap ? 2 * c->cap : 64;
    ab_cmp_metric_t *more = realloc(c->m, (size_t)cap * sizeof *more);
    if (!more)
      return NULL;
    c->m = more, c->cap = cap;
  }
  ab_cmp_metric_t *m = &c->m[c->nm];
  memset(m, 0, sizeof *m);
  m->base = malloc(2 * AB_CMP_MAX_SAMPLES * sizeof *m->base);
  if (!m->base)
    return NULL;
  m->new_ = m->base + AB_CMP_MAX_SAMPLES;
  snprintf(m->id, sizeof m->id, "%s", id);
  m->kind = kind, m->unit = unit, m->q = q;
  m->min_count = INFINITY;
  m->ratio = m->lo = m->hi = m->p = m->p_raw = m->p_better = m->p_better_raw = NAN;
  c->nm++;
  return m;
}

static int ab__add(ab__load_t *L, int side, const char *id, const char *kind, const char *unit, double q, double v,
                   double count, char *err, size_t len)
{
  if (!isfinite(v))
    return 0;
  ab_cmp_metric_t *m = ab__metric(L, id, kind, unit, q);
  if (!m)
    return 0;
  int *n = side ? &m->nn : &m->nb;
  if (*n == AB_CMP_MAX_SAMPLES)
    return ab__err(err, len, "compare: %s: more than %d repeats of %s", ab__side_name[side], AB_CMP_MAX_SAMPLES, id);
  (side ? m->new_ : m->base)[(*n)++] = v;
  if (count < m->min_count)
    m->min_count = count;
  return 0;
}

/* "robot.threads.r3.json" -> "robot.threads" */
static void ab__key(const char *file, char *key, size_t len)
{
  size_t l = strlen(file) - 5; /* without ".json" */
  const char *r = NULL;
  for (const char *p = file; p < file + l; p++)
    if (p[0] == '.' && p[1] == 'r' && p[2] >= '0' && p[2] <= '9')
      r = p;
  if (r) { /* ".r<digits>" right before ".json" */
    const char *p = r + 2;
    while (p < file + l && *p >= '0' && *p <= '9')
      p++;
    if (p == file + l)
      l = (size_t)(r - file);
  }
  snprintf(key, len, "%.*s", (int)l, file);
}

static void ab__remember_key(ab__load_t *L, int side, const char *key)
{
  for (int i = 0; i < L->nkeys[side]; i++)
    if (!strcmp(L->keys[side][i], key))
      return;
  char **more = realloc(L->keys[side], (size_t)(L->nkeys[side] + 1) * sizeof *more);
  if (!more)
    return;
  L->keys[side] = more;
  more[L->nkeys[side]++] = strdup(key);
}

static int ab__result(ab__load_t *L, int side, const char *path, const char *file, char *err, size_t len)
{
  char why[512], key[128], id[192];
  ab_result_t *r = ab_result_load(path, why, sizeof why);
  if (!r)
    return ab__err(err, len, "compare: %s", why);
  int rc = 0;
  if (r->status == AB_ST_FAILED) {
    rc = ab__err(err, len, "compare: %s: the run failed (%s): a failed run has no figures to compare; run it again",
                 path, r->error ? r->error : "no reason given");
    goto out;
  }
  ab__key(file, key, sizeof key);
  ab__remember_key(L, side, key);
  if (r->status != AB_ST_OK)
    ab__note(L->c, "%s: %s ended %s: its figures cover part of the run", ab__side_name[side], key, r->status_name);
  if (r->nfaults) {
    json_t *f = json_object_get(r->doc, "faults");
    ab__note(L->c, "%s: %s had faults injected on purpose (%s): a test's figures, not a measurement",
             ab__side_name[side], key, json_is_array(f) && json_is_string(json_array_get(f, 0)) ?
             json_string_value(json_array_get(f, 0)) : "--fault");
  }
  json_t *params = json_object_get(r->doc, "params"), *seen = json_object_get(L->params[side], key);
  if (!seen)
    json_object_set(L->params[side], key, params ? params : json_null());
  else if (!json_equal(seen, params))
    ab__note(L->c, "%s: the repeats of %s differ in their params", ab__side_name[side], key);
  static const char *const stat[] = { "p50", "p99", "p999" };
  static const double q[] = { 0, 0, 0.999 };
  const char *name;
  json_t *v;
  json_object_foreach(json_object_get(r->doc, "metrics"), name, v) {
    ab_summary_t s;
    if (ab_result_metric(r, name, &s) != 0 || s.count == 0)
      continue;
    double val[] = { (double)s.p50, (double)s.p99, (double)s.p999 };
    for (int k = 0; k < 3 && !rc; k++) {
      snprintf(id, sizeof id, "%s:%s.%s", key, name, stat[k]);
      rc = ab__add(L, side, id, "scenario", "ns", q[k], val[k], (double)s.count, err, len);
    }
  }
  if (!rc) {
    snprintf(id, sizeof id, "%s:cpu_pct", key);
    rc = ab__add(L, side, id, "scenario", "%", 0, r->cpu_percent, INFINITY, err, len);
  }
out:
  ab_result_free(r);
  return rc;
}

static double ab__unit_ns(const char *u)
{
  return !u || !strcmp(u, "ns") ? 1 : !strcmp(u, "us") ? 1e3 : !strcmp(u, "ms") ? 1e6 : !strcmp(u, "s") ? 1e9 : NAN;
}

/* micro.json: one sample per benchmark (the median of its repetitions in this file). */
static int ab__micro(ab__load_t *L, int side, const char *path, char *err, size_t len)
{
  json_error_t je;
  json_t *doc = json_load_file(path, 0, &je), *b = json_object_get(doc, "benchmarks"), *e;
  if (!json_is_array(b)) {
    json_decref(doc);
    return ab__err(err, len, "compare: %s: not a micro-benchmark file (expected Google Benchmark's JSON with "
                   "\"benchmarks\"): %s", path, doc ? "no benchmarks" : je.text);
  }
  json_t *plant = json_object_get(json_object_get(doc, "context"), "ab_plant");
  if (json_is_string(plant) && *json_string_value(plant))
    ab__note(L->c, "%s: micro-benchmarks with work planted on purpose (%s): a test's figures, not a measurement",
             ab__side_name[side], json_string_value(plant));
  size_t n = json_array_size(b), i, j;
  char *done = calloc(n ? n : 1, 1);
  double *rep = malloc((n ? n : 1) * sizeof *rep);
  int rc = 0;
  for (i = 0; i < n && !rc && done && rep; i++) {
    if (done[i])
      continue;
    const char *name = json_string_value(json_object_get(json_array_get(b, i), "name"));
    int k = 0;
    for (j = i; j < n; j++) {
      e = json_array_get(b, j);
      const char *nj = json_string_value(json_object_get(e, "name")), *rt = json_string_value(json_object_get(e, "run_type"));
      if (!name || !nj || strcmp(nj, name))
        continue;
      done[j] = 1;
      if ((rt && strcmp(rt, "iteration")) || json_is_true(json_object_get(e, "error_occurred")))
        continue;
      json_t *p50 = json_object_get(e, "p50_ns");
      double v = json_is_number(p50) ? json_number_value(p50)
                 : json_number_value(json_object_get(e, "real_time")) *
                     ab__unit_ns(json_string_value(json_object_get(e, "time_unit")));
      if (isfinite(v) && v > 0)
        rep[k++] = v;
    }
    if (k) {
      char id[192];
      snprintf(id, sizeof id, "micro:%s", name);
      rc = ab__add(L, side, id, "micro", "ns", 0, ab_cmp_median(rep, k), INFINITY, err, len);
    }
  }
  if (!done || !rep)
    rc = ab__err(err, len, "compare: %s: out of memory", path);
  free(done), free(rep);
  json_decref(doc);
  return rc;
}

static int ab__cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The names in dir, sorted; *n of them (NULL and errno on failure). */
static char **ab__ls(const char *dir, int *n)
{
  DIR *d = opendir(dir);
  *n = 0;
  if (!d)
    return NULL;
  char **v = NULL;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char **more = realloc(v, (size_t)(*n + 1) * sizeof *v);
    if (!more)
      break;
    v = more;
    v[(*n)++] = strdup(e->d_name);
  }
  closedir(d);
  if (*n)
    qsort(v, (size_t)*n, sizeof *v, ab__cmp_str);
  return v ? v : calloc(1, sizeof *v);
}

static void ab__free_ls(char **v, int n)
{
  for (int i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static int ab__is_dir(const char *p)
{
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int ab__skip_json(const char *f)
{
  size_t l = strlen(f);
  return l < 6 || strcmp(f + l - 5, ".json") || !strcmp(f, "compare.json") || !strcmp(f, "calibration.json");
}

/* Load one run directory: 1 when it held a result or micro.json, 0 when none, or -exit. */
static int ab__load_run(ab__load_t *L, int side, const char *dir, char *err, size_t len)
{
  int n, found = 0, rc = 0;
  char **names = ab__ls(dir, &n);
  if (!names)
    return -ab__err(err, len, "compare: %s: %s", dir, strerror(errno));
  for (int i = 0; i < n && !rc; i++) {
    char path[PATH_MAX];
    if (ab__skip_json(names[i]))
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    if (ab__is_dir(path))
      continue;
    found = 1;
    rc = !strcmp(names[i], "micro.json") ? ab__micro(L, side, path, err, len) : ab__result(L, side, path, names[i], err, len);
  }
  ab__free_ls(names, n);
  return rc ? -rc : found;
}

static void ab__push_dir(char ***v, int *n, const char *d)
{
  char **more = realloc(*v, (size_t)(*n + 1) * sizeof *more);
  if (more)
    *v = more, more[(*n)++] = strdup(d);
}

/* A side: DIR itself when it holds results, and each subdirectory that does (one level; not
 * the report's folder, nor a link). */
static int ab__load_side(ab__load_t *L, int side, const char *dir, char *err, size_t len)
{
  ab_cmp_t *c = L->c;
  char ***dirs = side ? &c->new_dirs : &c->base_dirs;
  int *nd = side ? &c->nnew_dirs : &c->nbase_dirs;
  if (!ab__is_dir(dir))
    return ab__err(err, len, "compare: %s %s: %s (expected a run directory, or a directory of run directories)",
                   ab__side_name[side], dir, access(dir, F_OK) ? strerror(errno) : "not a directory");
  int rc = ab__load_run(L, side, dir, err, len);
  if (rc < 0)
    return -rc;
  if (rc)
    ab__push_dir(dirs, nd, dir);
  int n;
  char **names = ab__ls(dir, &n);
  for (int i = 0; names && i < n; i++) {
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/%s", dir, names[i]);
    struct stat st; /* not a link: results/latest beside the run it names would count twice */
    if (!strcmp(names[i], "report") || lstat(sub, &st) || !S_ISDIR(st.st_mode))
      continue;
    if ((rc = ab__load_run(L, side, sub, err, len)) < 0)
      break;
    if (rc)
      ab__push_dir(dirs, nd, sub);
    rc = 0;
  }
  ab__free_ls(names, n);
  if (rc < 0)
    return -rc;
  if (*nd == 0)
    return ab__err(err, len, "compare: %s %s holds no result (*.json) and no micro.json, nor do its subdirectories: "
                   "expected a run directory such as results/latest, or a directory of them", ab__side_name[side], dir);
  return 0;
}

static int ab__has_key(const ab__load_t *L, int side, const char *key)
{
  for (int i = 0; i < L->nkeys[side]; i++)
    if (!strcmp(L->keys[side][i], key))
      return 1;
  return 0;
}

/* Scenarios run on one side only: bad input. Metrics on one side only: a note, left out. */
static int ab__match(ab__load_t *L, char *err, size_t len)
{
  ab_cmp_t *c = L->c;
  for (int s = 0; s < 2; s++)
    for (int i = 0; i < L->nkeys[s]; i++) {
      const char *k = L->keys[s][i];
      int wanted = 0; /* it has a metric the globs keep */
      for (int j = 0; j < c->nm && !wanted; j++)
        wanted = !strncmp(c->m[j].id, k, strlen(k)) && c->m[j].id[strlen(k)] == ':';
      if (wanted && !ab__has_key(L, !s, k))
        return ab__err(err, len, "compare: mismatched scenarios: %s is in %s (%s) but not in %s (%s): compare runs "
                       "of the same set, or choose with --metrics", k, ab__side_name[s], s ? c->new_dirs[0] : c->base_dirs[0],
                       ab__side_name[!s], s ? c->base_dirs[0] : c->new_dirs[0]);
    }
  int w = 0, left[2] = { 0, 0 };
  char first[2][192] = { "", "" };
  for (int j = 0; j < c->nm; j++) {
    ab_cmp_metric_t *m = &c->m[j];
    if (m->nb && m->nn) {
      c->m[w++] = *m;
      continue;
    }
    int s = m->nb ? 0 : 1;
    if (!left[s]++)
      snprintf(first[s], sizeof first[s], "%s", m->id);
    free(m->base);
  }
  c->nm = w;
  for (int s = 0; s < 2; s++)
    if (left[s])
      ab__note(c, "%d metric%s only in %s, not compared (%s%s)", left[s], left[s] > 1 ? "s" : "", ab__side_name[s],
               first[s], left[s] > 1 ? ", ..." : "");
  if (!c->nm)
    return ab__err(err, len, "compare: BASE and NEW share no metric%s", L->nglobs ? " that --metrics keeps" : "");
  return 0;
}


int ab_compare_load(ab_cmp_t *c, const char *base, const char *new_, const char *globs, char *err, size_t len)
{
  ab__load_t L = { .c = c };
  char *gcopy = globs ? strdup(globs) : NULL, *save = NULL;
  const char *gv[64];
  int ghits[64] = { 0 }, rc = 0;
  for (char *t = gcopy ? strtok_r(gcopy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
    if (L.nglobs < 64)
      gv[L.nglobs++] = t;
  if (globs && !L.nglobs)
    rc = ab__err(err, len, "compare: --metrics \"%s\": expected one or more globs, separated by commas", globs);
  L.globs = gv, L.glob_hits = ghits;
  L.params[0] = json_object(), L.params[1] = json_object();
  if (!rc)
    rc = ab__load_side(&L, 0, base, err, len);
  if (!rc)
    rc = ab__load_side(&L, 1, new_, err, len);
  for (int g = 0; !rc && g < L.nglobs; g++)
    if (!ghits[g])
      rc = ab__err(err, len, "compare: --metrics %s matches no metric (ids read like robot.threads:inner.step_ns.p50, "
                   "robot.threads:cpu_pct, micro:pipe/procs/rtt/8)", gv[g]);
  if (!rc)
    rc = ab__match(&L, err, len);
  for (int s = 0; s < 2; s++) {
    for (int i = 0; i < L.nkeys[s]; i++)
      free(L.keys[s][i]);
    free(L.keys[s]);
    json_decref(L.params[s]);
  }
  free(gcopy);
  return rc;
}
