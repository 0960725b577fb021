/* A scenario's parameters (typed, ranged, with units; resolved from their defaults and the
 * command line, every bad value named), and the tables of metrics, counters and values a
 * run records, by which requirements name what they check. A requirement on a figure with
 * no data never passes as 0. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "stats.h"

/* ---- parameters ------------------------------------------------------------------------------ */

static int ab__param_idx(const ab_scenario_t *sc, const char *name)
{
  for (int i = 0; i < sc->nparams; i++)
    if (!strcmp(sc->params[i].name, name))
      return i;
  return -1;
}

double ab_param(const ab_run_t *run, const char *name)
{
  int i = ab__param_idx(run->sc, name);
  return i < 0 ? 0 : run->pval[i];
}

const char *ab_param_str(const ab_run_t *run, const char *name)
{
  int i = ab__param_idx(run->sc, name);
  return i < 0 ? "" : run->pstr[i];
}

static const char *ab__ptype(int t)
{
  switch (t) {
  case AB_P_DURATION: return "a duration such as 10ms or 500us";
  case AB_P_SIZE: return "a size such as 64KB or 6MB";
  case AB_P_INT: return "an integer";
  case AB_P_DOUBLE: return "a number";
  default: return "one of the choices";
  }
}

/* v as p's type, within p's range, into *out; or an error naming both. */
static int ab__param_parse(const ab_param_desc_t *p, const char *v, double *out, char *err, size_t len)
{
  if (strlen(v) >= sizeof ((ab_run_t *)0)->pstr[0]) { /* the result records it as given: whole or not at all */
    snprintf(err, len, "--param %s=%.20s...: value too long (at most %zu characters)", p->name, v,
             sizeof ((ab_run_t *)0)->pstr[0] - 1);
    return -EINVAL;
  }
  double x = 0;
  int r = 0;
  int64_t iv;
  switch (p->type) {
  case AB_P_DURATION: r = ab_parse_duration(v, &iv); x = (double)iv; break;
  case AB_P_SIZE: r = ab_parse_size(v, &iv); x = (double)iv; break;
  case AB_P_INT: r = ab_parse_int(v, &iv); x = (double)iv; break;
  case AB_P_DOUBLE: r = ab_parse_double(v, &x); break;
  case AB_P_ENUM: {
    r = -EINVAL;
    const char *s = p->choices;
    for (int k = 0; s && *s; k++) {
      size_t n = strcspn(s, "|");
      if (strlen(v) == n && !strncmp(s, v, n)) {
        x = k;
        r = 0;
        break;
      }
      s += n + (s[n] == '|');
    }
    if (r < 0) {
      snprintf(err, len, "--param %s=%s: unknown value (expected one of %s)", p->name, v, p->choices);
      return -EINVAL;
    }
    break;
  }
  }
  if (r < 0) {
    snprintf(err, len, "--param %s=%s: not %s", p->name, v, ab__ptype(p->type));
    return -EINVAL;
  }
  if (p->type != AB_P_ENUM && (x < p->min || x > p->max)) {
    char lo[32], hi[32];
    if (p->type == AB_P_DURATION) {
      ab_fmt_ns(lo, sizeof lo, p->min);
      ab_fmt_ns(hi, sizeof hi, p->max);
    } else {
      snprintf(lo, sizeof lo, "%g", p->min);
      snprintf(hi, sizeof hi, "%g", p->max);
    }
    snprintf(err, len, "--param %s=%s: out of range (expected %s to %s)", p->name, v, lo, hi);
    return -ERANGE;
  }
  *out = x;
  return 0;
}

static int ab__param_set(ab_run_t *run, int i, const char *v, char *err, size_t len)
{
  int r = ab__param_parse(&run->sc->params[i], v, &run->pval[i], err, len);
  if (r == 0)
    snprintf(run->pstr[i], sizeof run->pstr[i], "%s", v);
  return r;
}

/* The harness's own parameters, taken by every scenario that does not declare the name. */
enum { AB_HP_GIL_FREE, AB_HP_WORKERS, AB_HP_N };
static const ab_param_desc_t ab__hparams[AB_HP_N] = {
  [AB_HP_GIL_FREE] = { .name = "gil_free", .type = AB_P_DOUBLE, .def = "0", .min = 0, .max = 1,
                       .help = "with --gil: the fraction of each compute run without the GIL (numpy's BLAS calls)" },
  [AB_HP_WORKERS] = { .name = "workers", .type = AB_P_INT, .def = "the CPU count", .min = 1, .max = 256,
                      .help = "pool and hybrid: worker processes (Python's Pool(processes=))" },
};

static int ab__hparam_idx(const char *name)
{
  for (int i = 0; i < AB_HP_N; i++)
    if (!strcmp(name, ab__hparams[i].name))
      return i;
  return -1;
}

/* Its value in this run. */
static double ab__hparam_value(const ab_run_t *run, int h)
{
  return h == AB_HP_GIL_FREE ? run->gil_free : run->workers;
}

const ab_param_desc_t *ab_param_desc(const ab_scenario_t *sc, const char *name)
{
  int i = ab__param_idx(sc, name), h = ab__hparam_idx(name);
  return i >= 0 ? &sc->params[i] : h >= 0 ? &ab__hparams[h] : NULL;
}

int ab_param_text_value(const ab_param_desc_t *p, const char *text, double *out)
{
  char err[128];
  return ab__param_parse(p, text, out, err, sizeof err);
}

int ab_run_param_is(const ab_run_t *run, const char *name, const char *text)
{
  const ab_param_desc_t *p = ab_param_desc(run->sc, name);
  int i = ab__param_idx(run->sc, name);
  double v;
  if (!p || ab_param_text_value(p, text, &v) < 0)
    return 0;
  return (i >= 0 ? run->pval[i] : ab__hparam_value(run, ab__hparam_idx(name))) == v;
}

/* 1: not one of the harness's; 0: taken; -EINVAL with err. */
static int ab__harness_param(ab_run_t *run, const char *name, const char *v, char *err, size_t len)
{
  int h = ab__hparam_idx(name);
  double x;
  if (h < 0)
    return 1;
  if (h == AB_HP_GIL_FREE && !run->gil_on) {
    snprintf(err, len, "--param gil_free=%s: only with --gil (there is no GIL to run without)", v);
    return -EINVAL;
  }
  if (h == AB_HP_WORKERS && !(run->rt && run->rt->pooled)) {
    snprintf(err, len, "--param workers=%s: only for the pool and hybrid runtimes (--arch %s has no workers)", v,
             run->rt ? run->rt->name : "?");
    return -EINVAL;
  }
  int r = ab__param_parse(&ab__hparams[h], v, &x, err, len);
  if (r == 0 && h == AB_HP_GIL_FREE)
    run->gil_free = x;
  else if (r == 0)
    run->workers = (int)x;
  return r;
}

int ab_param_resolve(ab_run_t *run, const char *const *kv, int n, char *err, size_t len)
{
  const ab_scenario_t *sc = run->sc;
  for (int i = 0; i < sc->nparams; i++) {
    int r = ab__param_set(run, i, sc->params[i].def, err, len);
    if (r < 0)
      return r; /* a descriptor bug; says which */
  }
  for (int k = 0; k < n; k++) {
    const char *eq = strchr(kv[k], '=');
    if (!eq || eq == kv[k]) {
      snprintf(err, len, "--param %s: expected NAME=VALUE", kv[k]);
      return -EINVAL;
    }
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(eq - kv[k]), kv[k]);
    int i = ab__param_idx(sc, name), r;
    if (i < 0 && (r = ab__harness_param(run, name, eq + 1, err, len)) <= 0) {
      if (r < 0)
        return r;
      continue;
    }
    if (i < 0) {
      int o = snprintf(err, len, "--param %s: scenario %s has no such parameter (expected one of:", name, sc->name);
      for (int j = 0; j < sc->nparams && o > 0 && (size_t)o < len; j++)
        o += snprintf(err + o, len - o, " %s", sc->params[j].name);
      if (o > 0 && (size_t)o < len)
        snprintf(err + o, len - o, "%s)", sc->nparams ? "" : " none");
      return -EINVAL;
    }
    if ((r = ab__param_set(run, i, eq + 1, err, len)) < 0)
      return r;
    run->pset[i] = 1;
  }
  return 0;
}

/* ---- metric tables and requirements -------------------------------------------------------------- */

void ab__tables(ab_run_t *run)
{
  const ab_scenario_t *sc = run->sc;
  int m = 0, c = 0;
  for (int r = 0; r < sc->nroles; r++) {
    run->mt_lateness[r] = run->ct_missed[r] = run->ct_closed[r] = -1;
    if (sc->roles[r].period_ns > 0) {
      snprintf(run->mt_name[m], AB_NAMELEN, "%s.lateness_ns", sc->roles[r].name);
      run->mt_lateness[r] = m++;
      snprintf(run->ct_name[c], AB_NAMELEN, "%s.missed_periods", sc->roles[r].name);
      run->ct_missed[r] = c++;
      snprintf(run->ct_name[c], AB_NAMELEN, "%s.closed_at_stop", sc->roles[r].name);
      run->ct_closed[r] = c++;
    }
    snprintf(run->mt_name[m], AB_NAMELEN, "%s.step_ns", sc->roles[r].name);
    run->mt_step[r] = m++;
    run->mt_gil[r] = run->ct_gil_forced[r] = run->mt_transfer[r] = run->mt_queue[r] = run->mt_gil_wake[r] = -1;
    if (run->rt && ab__role_pooled(run, r)) {
      snprintf(run->mt_name[m], AB_NAMELEN, "%s.transfer_ns", sc->roles[r].name);
      run->mt_transfer[r] = m++;
      snprintf(run->mt_name[m], AB_NAMELEN, "%s.queue_ns", sc->roles[r].name);
      run->mt_queue[r] = m++;
    }
    if (run->gil_on) {
      snprintf(run->mt_name[m], AB_NAMELEN, "%s.gil_wait_ns", sc->roles[r].name);
      run->mt_gil[r] = m++;
      snprintf(run->ct_name[c], AB_NAMELEN, "%s.gil_forced_switches", sc->roles[r].name);
      run->ct_gil_forced[r] = c++;
      if (run->arch == AB_ARCH_LOOP) { /* its wake-ups' takes apart: the contention a wake meets */
        snprintf(run->mt_name[m], AB_NAMELEN, "%s.gil_wake_ns", sc->roles[r].name);
        run->mt_gil_wake[r] = m++;
      }
    }
  }
  for (int k = 0; k < sc->nchans; k++) {
    const char *n = sc->chans[k].name;
    snprintf(run->mt_name[m], AB_NAMELEN, "%s.latency_ns", n);
    run->mt_chan[k] = m++;
    snprintf(run->ct_name[c], AB_NAMELEN, "%s.messages", n);
    run->ct_msgs[k] = c++;
    snprintf(run->ct_name[c], AB_NAMELEN, "%s.drops", n);
    run->ct_drops[k] = c++;
    snprintf(run->ct_name[c], AB_NAMELEN, "%s.max_depth", n);
    run->ct_maxdepth[k] = c++;
    snprintf(run->ct_name[c], AB_NAMELEN, "%s.bytes", n);
    run->ct_bytes[k] = c++;
  }
  run->mt_base = m;
  for (int k = 0; k < sc->nmetrics; k++)
    snprintf(run->mt_name[m++], AB_NAMELEN, "%s", sc->metrics[k].name);
  run->ct_base = c;
  for (int k = 0; k < sc->ncounters; k++)
    snprintf(run->ct_name[c++], AB_NAMELEN, "%s", sc->counters[k]);
  run->nmt = m;
  run->nct = c;
}

int ab_metric_index(const ab_run_t *run, const char *name)
{
  for (int i = 0; i < run->nmt; i++)
    if (!strcmp(run->mt_name[i], name))
      return i;
  return -1;
}

int ab_counter_index(const ab_run_t *run, const char *name)
{
  for (int i = 0; i < run->nct; i++)
    if (!strcmp(run->ct_name[i], name))
      return i;
  return -1;
}

int ab_value_index(const ab_run_t *run, const char *name)
{
  for (int i = 0; i < run->sc->nvalues; i++)
    if (!strcmp(run->sc->values[i], name))
      return i;
  return -1;
}

static const char *const ab__stats[] = { "p50", "p90", "p99", "p999", "p9999", "max", "min", "mean", "count", NULL };

/* A metric's statistic by name: its index in ab__stats, or -1. */
static int ab__metric_stat(const ab_run_t *run, const char *name, int *stat)
{
  const char *dot = strrchr(name, '.');
  if (!dot)
    return -1;
  char mname[AB_NAMELEN];
  snprintf(mname, sizeof mname, "%.*s", (int)(dot - name), name);
  *stat = -1;
  for (int i = 0; ab__stats[i]; i++)
    if (!strcmp(dot + 1, ab__stats[i]))
      *stat = i;
  return *stat < 0 ? -1 : ab_metric_index(run, mname);
}

int ab_req_resolves(const ab_run_t *run, const char *name)
{
  int stat;
  return ab_counter_index(run, name) >= 0 || ab_value_index(run, name) >= 0 ||
         ab__metric_stat(run, name, &stat) >= 0;
}

/* The role whose missed periods this counter counts, or -1. */
static int ab__missed_role(const ab_run_t *run, int counter)
{
  for (int r = 0; r < run->sc->nroles; r++)
    if (run->ct_missed[r] == counter)
      return r;
  return -1;
}

const char *ab_req_op_name(int op)
{
  static const char *const ops[] = { "?", "<=", "<", ">=", "==" };
  return op >= AB_LE && op <= AB_EQ ? ops[op] : ops[0];
}

/* "inner.lateness_ns.p999" -> that statistic of the merged metric; a counter or a derived
 * value by its name. An empty histogram has no statistic: no data, never 0. */
int ab_req_value(const ab_run_t *run, const char *name, double *value)
{
  int c = ab_counter_index(run, name);
  if (c >= 0) {
    int r = ab__missed_role(run, c);
    if (r >= 0 && !run->merged[run->mt_lateness[r]].count)
      return -ENODATA; /* no activation at all is not "no missed period" */
    *value = (double)run->ctotal[c];
    return 0;
  }
  int v = ab_value_index(run, name);
  if (v >= 0) {
    if (!run->value_set[v])
      return -ENODATA;
    *value = run->values[v];
    return 0;
  }
  int stat, m = ab__metric_stat(run, name, &stat);
  if (m < 0)
    return -ENOENT;
  ab_summary_t s;
  ab_summarize(&run->merged[m], &s);
  if (!s.count && strcmp(ab__stats[stat], "count"))
    return -ENODATA;
  const double st[] = { s.p50, s.p90, s.p99, s.p999, s.p9999, s.max, s.min, s.mean, s.count };
  *value = st[stat];
  return 0;
}

/* Evaluated once, after the run (supervisor.c); the result carries them to the rest. */
void ab_run_requirements(ab_run_t *run)
{
  const ab_scenario_t *sc = run->sc;
  run->req_failed = 0;
  for (int i = 0; i < sc->nreqs; i++) {
    const ab_req_desc_t *q = &sc->reqs[i];
    ab_req_eval_t *e = &run->req[i];
    e->value = NAN;
    e->limit = q->limit_param ? ab_param(run, q->limit_param) * q->limit_scale : q->limit;
    e->have = ab_req_value(run, q->name, &e->value) == 0;
    double v = e->value, lim = e->limit;
    e->pass = e->have &&
              (q->op == AB_LE ? v <= lim : q->op == AB_LT ? v < lim : q->op == AB_GE ? v >= lim : v == lim);
    if (!e->pass)
      run->req_failed++;
  }
}
