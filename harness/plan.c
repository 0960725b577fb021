/* The plan of one command: which (scenario, arch, transport) runs it makes, from --arch and
 * --transport lists (each item named, none empty, duplicates run once), each with its run
 * options built from the command's. Nothing is checked against the machine here. */
#include <stdio.h>
#include <string.h>

#include "cli.h"


/* The items of a comma list, each non-empty; at most max. Returns the count or -1 after an
 * error naming the option. */
static int ab__list(const char *opt, const char *s, char items[][32], int max)
{
  int n = 0;
  const char *p = s;
  for (;;) {
    size_t len = strcspn(p, ",");
    if (len == 0)
      return ab_usage_error("%s '%s': an empty name in the list", opt, s), -1;
    if (len >= 32 || n == max)
      return ab_usage_error("%s %s: not a list of known names", opt, s), -1;
    snprintf(items[n++], 32, "%.*s", (int)len, p);
    if (!p[len])
      return n;
    p += len + 1;
  }
}

static int ab__plan_one(ab__plan_t *p, const ab__cli_t *c, const ab_scenario_t *sc, int arch, const char *transport,
                        const char *offload, int point)
{
  if (p->n == AB_MAX_PLAN)
    return ab_usage_error("too many runs in one command (at most %s)%s", AB__PLAN_MAX_TEXT, "");
  ab_run_opts_t *o = &p->run[p->n];
  memset(o, 0, sizeof *o);
  o->sc = sc;
  o->arch = arch;
  o->transport = transport;
  o->offload = offload;
  o->duration_ns = c->duration_ns;
  o->nparams = c->nparams;
  memcpy(o->params, c->params, sizeof o->params);
  if (point >= 0) {
    if (o->nparams == AB_MAX_PARAMS)
      return ab_usage_error("--sweep %s: too many parameters with it (at most 16)%s", c->sweep, "");
    char kv[sizeof p->sweep_kv[0]];
    snprintf(kv, sizeof kv, "%s=%s", p->sweep_key, p->sweep_vals[point]);
    memcpy(p->sweep_kv[p->n], kv, sizeof kv);
    o->params[o->nparams++] = p->sweep_kv[p->n];
    memcpy(p->sweep_at[p->n], kv, sizeof kv);
    p->sweep_at[p->n][strlen(p->sweep_key)] = 0;
    o->sweep_key = p->sweep_at[p->n];
    o->sweep_value = p->sweep_at[p->n] + strlen(p->sweep_key) + 1;
    o->sweep_points = strchr(c->sweep, '=') + 1;
  }
  o->nfaults = c->nfaults;
  memcpy(o->faults, c->faults, sizeof o->faults);
  o->dev = c->dev;
  /* bench: a device option goes to the scenarios that have such a device */
  for (int k = AB_DEV_NONE + 1; k < AB_DEV_N; k++)
    if (!c->scenario && !ab_scenario_has_dev(sc, k))
      *ab_dev_path(ab_devops_for(k), &o->dev) = NULL;
  o->rt_prio = c->rt_prio;
  o->cpus = c->cpus_set ? (cpu_set_t *)&c->cpus : NULL;
  o->quiet = c->quiet;
  o->detail = c->detail;
  o->gil = c->gil;
  o->gil_interval_ns = c->gil_interval_ns;
  o->latency_explicit = c->latency_set;
  o->latency_target_us = c->latency_off ? -1 : c->latency_set ? c->latency_us : c->rt_prio > 0 ? 0 : -1;
  o->want_result = 1;
  o->repeat_of = c->repeat > 1 ? c->repeat : 0; /* its rounds are made as it runs */
  o->repeat_index = o->repeat_of ? 1 : 0;
  p->rounds = c->repeat > 1 ? c->repeat : 1;
  p->n++;
  return 0;
}

/* A run for each point of the sweep (or just the one). */
static int ab__plan_add(ab__plan_t *p, const ab__cli_t *c, const ab_scenario_t *sc, int arch, const char *transport,
                        const char *offload)
{
  int r = 0;
  for (int k = 0; k < (c->sweep ? p->nsweep : 1) && !r; k++)
    r = ab__plan_one(p, c, sc, arch, transport, offload, c->sweep ? k : -1);
  return r;
}

/* The loop's offload variants: --offload's list (all: every one), else the scenario's own
 * (sc->offloads), else inline. Names from ab_offload_names, so they outlive the command line. */
static int ab__plan_offloads(const ab__cli_t *c, const ab_scenario_t *sc, const char *out[AB_OFF_N])
{
  char items[AB_OFF_N + 4][32];
  const char *list = c->offload ? c->offload : sc->offloads ? sc->offloads : "inline";
  int n = ab__list("--offload", list, items, AB_OFF_N + 4), k = 0;
  if (n < 0)
    return -1;
  int want[AB_OFF_N] = { 0 };
  for (int i = 0; i < n; i++) {
    int all = !strcmp(items[i], "all"), o = ab_offload_find(items[i]);
    if (!all && o < 0)
      return ab_usage_error("--offload %s: unknown (expected inline, executor, thread, process, a comma list, or all)%s",
                            items[i], ""), -1;
    for (int j = 0; j < AB_OFF_N; j++)
      want[j] |= all || j == o;
  }
  for (int j = 0; j < AB_OFF_N; j++)
    if (want[j])
      out[k++] = ab_offload_names[j];
  return k;
}

/* --sweep k=a,b,c: k a parameter of the scenario not also given with --param; the points a
 * list of values (each checked as --param k=v would be, when the runs are made). */
static int ab__plan_sweep(ab__plan_t *p, const ab__cli_t *c, const ab_scenario_t *sc)
{
  const char *eq = strchr(c->sweep, '=');
  if (!eq || eq == c->sweep || eq - c->sweep >= (long)sizeof p->sweep_key || !eq[1])
    return ab_usage_error("--sweep %s: expected NAME=V1,V2,... (e.g. n=1,10,50)%s", c->sweep, "");
  snprintf(p->sweep_key, sizeof p->sweep_key, "%.*s", (int)(eq - c->sweep), c->sweep);
  const ab_param_desc_t *pd = ab_param_desc(sc, p->sweep_key);
  if (!pd) {
    char names[256] = "";
    for (int i = 0; i < sc->nparams; i++)
      snprintf(names + strlen(names), sizeof names - strlen(names), " %s", sc->params[i].name);
    fprintf(stderr, "archbench: --sweep %s: scenario %s has no such parameter (expected one of:%s)\n", p->sweep_key,
            sc->name, sc->nparams ? names : " none");
    return AB_EXIT_USAGE;
  }
  for (int i = 0; i < c->nparams; i++)
    if (!strncmp(c->params[i], p->sweep_key, strlen(p->sweep_key)) && c->params[i][strlen(p->sweep_key)] == '=')
      return ab_usage_error("--sweep %s and --param %s: choose one", p->sweep_key, c->params[i]);
  char opt[48];
  snprintf(opt, sizeof opt, "--sweep %s", p->sweep_key);
  if ((p->nsweep = ab__list(opt, eq + 1, p->sweep_vals, AB_MAX_SWEEP)) < 0)
    return AB_EXIT_USAGE;
  for (int i = 0; i < p->nsweep; i++)
    for (int j = 0; j < i; j++) { /* the same value written twice (1 and 01, 1ms and 1000us) */
      double a, b;
      int same = ab_param_text_value(pd, p->sweep_vals[i], &a) == 0 && ab_param_text_value(pd, p->sweep_vals[j], &b) == 0
                     ? a == b
                     : !strcmp(p->sweep_vals[i], p->sweep_vals[j]);
      if (same)
        return ab_usage_error("--sweep %s: %s twice", c->sweep, p->sweep_vals[i]);
    }
  return 0;
}

int ab_plan_scenario(ab__plan_t *p, const ab__cli_t *c, const ab_scenario_t *sc, const char *archs,
                             const char *transports)
{
  int want[AB_ARCH_N] = { 0 }, na, nt = 0;
  char items[AB_ARCH_N + 8][32];
  if (c->sweep && ab__plan_sweep(p, c, sc))
    return AB_EXIT_USAGE;
  if ((na = ab__list("--arch", archs ? archs : "threads", items, AB_ARCH_N + 8)) < 0)
    return AB_EXIT_USAGE;
  for (int i = 0; i < na; i++) {
    if (!strcmp(items[i], "all")) {
      for (int a = 0; a < AB_ARCH_N; a++)
        want[a] = ab_runtime_get(a) && ((sc->archs >> a) & 1);
      continue;
    }
    int a = ab_arch_find(items[i]);
    if (a < 0 || !ab_runtime_get(a)) {
      char known[128] = "";
      for (int k = 0; k < AB_ARCH_N; k++)
        if (ab_runtime_get(k))
          snprintf(known + strlen(known), sizeof known - strlen(known), "%s, ", ab_arch_name(k));
      return ab_usage_error("--arch %s: unknown runtime (expected %sa comma list, or all)", items[i], known);
    }
    if (!((sc->archs >> a) & 1))
      return ab_usage_error("--arch %s: scenario %s does not run under it", items[i], sc->name);
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
        return ab_usage_error("--transport %s: unknown (expected pipe, unix, mq, shm, tcp, a comma list, or all)",
                               titems[i], "");
    }
    if (!any_transport)
      return ab_usage_error("--transport %s: only the procs runtime uses a transport (add --arch procs)", transports, "");
  }
  if (!nt)
    tl[nt++] = "shm";
  /* A scenario without channels has nothing for a transport to carry: run procs once. */
  if (sc->nchans == 0)
    nt = 1;
  if (c->offload && !want[AB_ARCH_LOOP])
    return ab_usage_error("--offload %s: only the loop runtime offloads (add --arch loop)%s", c->offload, "");
  const char *ol[AB_OFF_N];
  int no = ab__plan_offloads(c, sc, ol);
  if (no < 0)
    return AB_EXIT_USAGE;
  for (int a = 0; a < AB_ARCH_N; a++) {
    if (!want[a])
      continue;
    int r;
    if (ab_runtime_get(a)->uses_transport) {
      for (int k = 0; k < nt; k++)
        if ((r = ab__plan_add(p, c, sc, a, sc->nchans ? tl[k] : "shm", NULL)))
          return r;
    } else if (a == AB_ARCH_LOOP) {
      for (int k = 0; k < no; k++)
        if ((r = ab__plan_add(p, c, sc, a, NULL, strcmp(ol[k], "inline") ? ol[k] : NULL)))
          return r;
    } else if ((r = ab__plan_add(p, c, sc, a, NULL, NULL))) {
      return r;
    }
  }
  return 0;
}

