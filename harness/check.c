/* A scenario descriptor checked against itself before anything runs: limits of the static
 * tables, indices between roles, channels and devices, and every name a requirement or a
 * table column refers to. A mistake here is the scenario's, not the user's; it is caught at
 * start-up, named, and never turns into an overrun or a requirement that silently cannot be
 * evaluated. tests/test_check.c runs it over every registered scenario. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int ab__bad(char *err, size_t len, const ab_scenario_t *sc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int ab__bad(char *err, size_t len, const ab_scenario_t *sc, const char *fmt, ...)
{
  int n = snprintf(err, len, "scenario %s: descriptor error: ", sc->name ? sc->name : "(unnamed)");
  va_list ap;
  va_start(ap, fmt);
  if (n >= 0 && (size_t)n < len)
    vsnprintf(err + n, len - n, fmt, ap);
  va_end(ap);
  return -EINVAL;
}

/* A name the tables can hold with the suffixes the harness adds (".closed_at_stop"). */
static int ab__name_ok(const char *name) { return name && *name && strlen(name) < AB_NAMELEN - 16; }

static int ab__counts(const ab_scenario_t *sc, char *err, size_t len)
{
  const struct { const char *what; int n, max, min; } c[] = {
    { "roles", sc->nroles, AB_MAX_ROLES, 1 },       { "channels", sc->nchans, AB_MAX_CHANS, 0 },
    { "registers", sc->nregs, AB_MAX_REGS, 0 },     { "devices", sc->ndevs, AB_MAX_DEVS, 0 },
    { "metrics", sc->nmetrics, AB_MAX_METRICS, 0 }, { "counters", sc->ncounters, AB_MAX_COUNTERS, 0 },
    { "requirements", sc->nreqs, AB_MAX_REQS, 0 },  { "params", sc->nparams, AB_MAX_PARAMS, 0 },
    { "values", sc->nvalues, AB_MAX_VALUES, 0 },
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
    if (c[i].n < c[i].min || c[i].n > c[i].max)
      return ab__bad(err, len, sc, "%d %s (expected %d to %d)", c[i].n, c[i].what, c[i].min, c[i].max);
  return 0;
}

/* A role's instance count is an integer parameter ranging within 0..AB_MAX_INSTANCES, from 1
 * for a role with a channel (0: absent from the run); an instanced role owns no device (a
 * device has one owner). */
static int ab__instances_bad(const ab_scenario_t *sc, const ab_role_desc_t *d, int owns, char *err, size_t len)
{
  const ab_param_desc_t *p = NULL;
  for (int i = 0; i < sc->nparams; i++)
    if (sc->params[i].name && !strcmp(sc->params[i].name, d->instances))
      p = &sc->params[i];
  if (!p || p->type != AB_P_INT || p->min < 0 || p->max > AB_MAX_INSTANCES)
    return ab__bad(err, len, sc, "role %s takes its instances from %s, which is not an integer parameter within 0 to %d",
                   d->name, d->instances, AB_MAX_INSTANCES);
  int r = (int)(d - sc->roles), linked = 0;
  for (int k = 0; k < sc->nchans; k++)
    linked |= sc->chans[k].from == r || sc->chans[k].to == r;
  if (p->min < 1 && linked) /* a channel needs both its ends */
    return ab__bad(err, len, sc, "role %s may have no instance (%s from 0) but has a channel", d->name, d->instances);
  if (owns)
    return ab__bad(err, len, sc, "role %s has instances and owns a device (a device has one owner)", d->name);
  return 0;
}

static int ab__roles(const ab_scenario_t *sc, char *err, size_t len)
{
  for (int r = 0; r < sc->nroles; r++) {
    const ab_role_desc_t *d = &sc->roles[r];
    if (!ab__name_ok(d->name) || !d->step)
      return ab__bad(err, len, sc, "role %d needs a name (under %d bytes) and a step", r, AB_NAMELEN - 16);
    if ((d->period_ns > 0) + (d->trigger >= 0) + (d->continuous != 0) != 1 || d->period_ns < 0)
      return ab__bad(err, len, sc, "role %s must be one of periodic (period_ns > 0), triggered by a channel or continuous",
                     d->name);
    if (d->trigger >= sc->nchans || (d->trigger >= 0 && sc->chans[d->trigger].to != r))
      return ab__bad(err, len, sc, "role %s is triggered by channel %d, which does not lead to it", d->name,
                     d->trigger);
    int owns = 0;
    for (int k = 0; k < sc->ndevs; k++)
      owns += sc->devs[k].owner == r;
    if (owns > 1)
      return ab__bad(err, len, sc, "role %s owns %d devices (at most one)", d->name, owns);
    if (d->on_device && (!owns || !d->io))
      return ab__bad(err, len, sc, "role %s waits on its device but owns none or has no io", d->name);
    if (d->instances && ab__instances_bad(sc, d, owns, err, len))
      return -EINVAL;
    if (d->state_size > AB_MAX_STATE)
      return ab__bad(err, len, sc, "role %s has %zu bytes of state (at most %d: a pool copies it with every step)",
                     d->name, d->state_size, AB_MAX_STATE);
    if (d->continuous && (d->flags & AB_ROLE_CPU) && owns && (sc->archs & AB_ARCHS_POOLED))
      return ab__bad(err, len, sc, "role %s would be pooled (continuous, AB_ROLE_CPU) but owns a device", d->name);
  }
  return 0;
}

/* pool and hybrid run a scenario only through its pooled roles. */
static int ab__archs(const ab_scenario_t *sc, char *err, size_t len)
{
  int pooled = 0;
  for (int r = 0; r < sc->nroles; r++)
    pooled += sc->roles[r].continuous && (sc->roles[r].flags & AB_ROLE_CPU);
  if ((sc->archs & AB_ARCHS_POOLED) && !pooled)
    return ab__bad(err, len, sc, "offers pool or hybrid but has no role they would pool (a continuous role flagged "
                                 "AB_ROLE_CPU)");
  if (!(sc->archs & AB_ARCHS_ALL))
    return ab__bad(err, len, sc, "runs under no runtime of this build (archs)");
  return 0;
}

/* Names must be unique within their kind: a requirement or a fault finds the first. */
#define AB__UNIQUE(what, arr, n, field)                                                         \
  for (int i = 0; i < (n); i++)                                                                 \
    for (int k = 0; k < i; k++)                                                                 \
      if ((arr)[i].field && (arr)[k].field && !strcmp((arr)[i].field, (arr)[k].field))         \
        return ab__bad(err, len, sc, "two %s named %s", what, (arr)[i].field);

static int ab__unique(const ab_scenario_t *sc, char *err, size_t len)
{
  AB__UNIQUE("roles", sc->roles, sc->nroles, name)
  AB__UNIQUE("channels", sc->chans, sc->nchans, name)
  AB__UNIQUE("registers", sc->regs, sc->nregs, name)
  AB__UNIQUE("devices", sc->devs, sc->ndevs, name)
  return 0;
}

static int ab__links(const ab_scenario_t *sc, char *err, size_t len)
{
  for (int c = 0; c < sc->nchans; c++) {
    const ab_chan_desc_t *d = &sc->chans[c];
    if (!ab__name_ok(d->name) || d->from < 0 || d->from >= sc->nroles || d->to < 0 || d->to >= sc->nroles ||
        d->from == d->to)
      return ab__bad(err, len, sc, "channel %d (%s) must join two different roles", c, d->name ? d->name : "?");
    if (!d->msg_max || !d->depth || (d->policy != AB_BLOCK && d->policy != AB_DROP))
      return ab__bad(err, len, sc, "channel %s needs msg_max > 0, depth > 0 and a policy", d->name);
  }
  for (int g = 0; g < sc->nregs; g++)
    if (!ab__name_ok(sc->regs[g].name) || !sc->regs[g].size)
      return ab__bad(err, len, sc, "register %d needs a name and a size", g);
  for (int k = 0; k < sc->ndevs; k++) {
    const ab_dev_desc_t *d = &sc->devs[k];
    if (!ab__name_ok(d->name) || d->owner < 0 || d->owner >= sc->nroles)
      return ab__bad(err, len, sc, "device %d needs a name and an owner role", k);
    if (!ab_devops_for(d->kind))
      return ab__bad(err, len, sc, "device %s is of kind %d, which this build does not know", d->name, d->kind);
  }
  return 0;
}

/* Would this name read as a metric's statistic ("tick.lateness_ns.max")? */
static int ab__metric_named(const ab_run_t *run, const char *name)
{
  const char *dot = strrchr(name, '.');
  if (!dot)
    return 0;
  char m[AB_NAMELEN];
  snprintf(m, sizeof m, "%.*s", (int)(dot - name), name);
  return ab_metric_index(run, m) >= 0;
}

/* Names resolve against the tables the run would build. */
static int ab__names(const ab_scenario_t *sc, ab_run_t *run, char *err, size_t len)
{
  for (int i = 0; i < sc->nmetrics; i++)
    if (!ab__name_ok(sc->metrics[i].name) || ab_metric_index(run, sc->metrics[i].name) != run->mt_base + i)
      return ab__bad(err, len, sc, "metric %s is unnamed or named twice", sc->metrics[i].name);
  for (int i = 0; i < sc->ncounters; i++)
    if (!ab__name_ok(sc->counters[i]) || ab_counter_index(run, sc->counters[i]) != run->ct_base + i)
      return ab__bad(err, len, sc, "counter %s is unnamed or named twice", sc->counters[i]);
  for (int i = 0; i < sc->nvalues; i++) {
    if (!ab__name_ok(sc->values[i]) || ab_value_index(run, sc->values[i]) != i ||
        ab_counter_index(run, sc->values[i]) >= 0 || ab__metric_named(run, sc->values[i]))
      return ab__bad(err, len, sc, "value %s is unnamed or named twice (or like a metric's statistic)",
                     sc->values[i]);
  }
  for (int i = 0; i < sc->nreqs; i++) {
    const ab_req_desc_t *q = &sc->reqs[i];
    if (!q->name || !ab_req_resolves(run, q->name))
      return ab__bad(err, len, sc, "requirement %s names no metric statistic, counter or value",
                     q->name ? q->name : "(null)");
    if (q->op < AB_LE || q->op > AB_EQ)
      return ab__bad(err, len, sc, "requirement %s has no comparison", q->name);
    int found = !q->limit_param;
    for (int p = 0; p < sc->nparams && !found; p++)
      found = !strcmp(sc->params[p].name, q->limit_param);
    if (!found)
      return ab__bad(err, len, sc, "requirement %s takes its limit from %s, which is no param", q->name,
                     q->limit_param);
    if (q->limit_param && q->limit_scale == 0)
      return ab__bad(err, len, sc, "requirement %s scales its limit from %s by 0", q->name, q->limit_param);
  }
  if (sc->table_role) {
    int r = 0;
    while (r < sc->nroles && strcmp(sc->roles[r].name, sc->table_role))
      r++;
    if (r == sc->nroles || sc->roles[r].period_ns <= 0)
      return ab__bad(err, len, sc, "table_role %s is not a periodic role", sc->table_role);
  }
  if (sc->table_chain && ab_metric_index(run, sc->table_chain) < 0)
    return ab__bad(err, len, sc, "table_chain %s is not a metric", sc->table_chain);
  if (sc->table_chain_lost && ab_counter_index(run, sc->table_chain_lost) < 0)
    return ab__bad(err, len, sc, "table_chain_lost %s is not a counter", sc->table_chain_lost);
  return 0;
}

int ab_scenario_check(const ab_scenario_t *sc, char *err, size_t len)
{
  int r;
  if (!sc->name || !*sc->name)
    return ab__bad(err, len, sc, "no name");
  if ((r = ab__counts(sc, err, len)) < 0 || (r = ab__unique(sc, err, len)) < 0 || (r = ab__roles(sc, err, len)) < 0 ||
      (r = ab__archs(sc, err, len)) < 0 ||
      (r = ab__links(sc, err, len)) < 0)
    return r;
  ab_run_t *run = calloc(1, sizeof *run);
  if (!run)
    return -ENOMEM;
  run->sc = sc;
  ab__tables(run);
  char perr[256];
  r = ab_param_resolve(run, NULL, 0, perr, sizeof perr); /* every default parses, in range */
  int64_t total = 0;
  for (int k = 0; k < sc->nroles; k++)
    total += sc->roles[k].instances ? (int64_t)ab_param(run, sc->roles[k].instances) : 1;
  if (r < 0)
    r = ab__bad(err, len, sc, "default %s", perr);
  else if (total < 1 || total > AB_MAX_INSTANCES) /* its default run would be refused */
    r = ab__bad(err, len, sc, "%lld role instances by default (expected 1 to %d)", (long long)total, AB_MAX_INSTANCES);
  else
    r = ab__names(sc, run, err, len);
  free(run);
  return r;
}
