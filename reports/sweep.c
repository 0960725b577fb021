/* A sweep's points as numbers, and where each architecture stops meeting its requirements.
 *
 * A point is "name=value" as the command line gave it: 10, 1ms, 2MB. Its number is the value
 * in the parameter's base units (ns, bytes, a count), read as --param reads it, so that 250us
 * sorts before 1ms; a value no parameter explains is read as a plain number.
 *
 * The pass table answers the sweep's question ("up to what policy cost may I call it
 * inline?"): for each architecture, with and without the GIL, every point's verdict and
 * figure, and the largest point up to which it meets every requirement at every point.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "report.h"

double ab_rep_point_value(const char *scenario, const char *point)
{
  const char *eq = point ? strchr(point, '=') : NULL;
  if (!eq)
    return 0;
  const ab_scenario_t *sc = ab_scenario_find(scenario);
  char name[64];
  snprintf(name, sizeof name, "%.*s", (int)(eq - point), point);
  const ab_param_desc_t *pd = sc ? ab_param_desc(sc, name) : NULL;
  double v;
  if (pd && ab_param_text_value(pd, eq + 1, &v) == 0)
    return v;
  return atof(eq + 1);
}

/* The groups of scenario at one GIL setting, by point ascending: their indices into idx. */
static int ab__points(const ab_rep_t *rp, const char *scenario, int gil, int *idx, int max)
{
  int n = 0;
  for (int k = 0; k < rp->ngroup && n < max; k++) /* the groups are sorted by point already */
    if (!strcmp(rp->group[k].scenario, scenario) && rp->group[k].gil == gil && rp->group[k].point[0])
      idx[n++] = k;
  return n;
}

static const ab_rep_cand_t *ab__cand(const ab_rep_group_t *g, const char *label)
{
  for (int i = 0; i < g->ncand; i++)
    if (!strcmp(g->cand[i].label, label))
      return &g->cand[i];
  return NULL;
}

int ab_rep_sweep_passes(FILE *f, const ab_rep_t *rp, const char *scenario)
{
  const ab_scenario_t *sc = ab_scenario_find(scenario);
  const char *fig = sc ? sc->sweep_figure : NULL;
  int shown = 0;
  for (int gil = 0; gil < 2; gil++) {
    int idx[AB_REP_MAX_GROUPS], np = ab__points(rp, scenario, gil, idx, AB_REP_MAX_GROUPS);
    if (np < 2)
      continue;
    const ab_rep_group_t *g0 = &rp->group[idx[0]];
    const char *eq = strchr(g0->point, '=');
    char pname[64];
    snprintf(pname, sizeof pname, "%.*s", (int)(eq - g0->point), g0->point);
    const ab_param_desc_t *pd = sc ? ab_param_desc(sc, pname) : NULL;
    int choice = pd && pd->type == AB_P_ENUM; /* choices, not a scale: which, not up to what */
    fprintf(f, "<h3>%s %s each meets every requirement%s</h3>\n<table><tr><th>architecture</th>",
            choice ? "With which" : "Up to what", pname, gil ? ", under the GIL" : "");
    for (int p = 0; p < np; p++)
      fprintf(f, "<th>%s</th>", strchr(rp->group[idx[p]].point, '=') + 1);
    fprintf(f, "<th>meets every requirement %s</th></tr>\n", choice ? "with" : "up to");
    char summary[1024] = "";
    size_t sl = 0;
    for (int i = 0; i < g0->ncand; i++) {
      const char *label = g0->cand[i].label;
      fprintf(f, "<tr><td>%s</td>", label);
      int upto = -1, broken = 0;
      for (int p = 0; p < np; p++) {
        const ab_rep_cand_t *c = ab__cand(&rp->group[idx[p]], label);
        double v = NAN;
        for (int r = 0; c && fig && r < c->nrep; r++)
          v = (isnan(v) ? 0 : v) + ab_rep_figure(rp->run[c->run[r]].r, fig) / c->nrep;
        char num[48];
        ab_rep_fmt(num, sizeof num, fig ? fig : "", v);
        fprintf(f, "<td class=\"%s\">%s%s%s</td>", !c ? "" : c->pass ? "pass" : "fail", !c ? "not run" : c->pass ? "pass" : "FAIL",
                fig && c ? ": " : "", fig && c ? num : "");
        if (c && c->pass && !broken)
          upto = p;
        else
          broken = 1;
      }
      const char *at = upto >= 0 ? strchr(rp->group[idx[upto]].point, '=') + 1 : NULL;
      char with[256] = "";
      for (int p = 0, wl = 0; choice && p < np; p++) { /* every passing choice, in any order */
        const ab_rep_cand_t *c = ab__cand(&rp->group[idx[p]], label);
        if (c && c->pass && wl < (int)sizeof with)
          wl += snprintf(with + wl, sizeof with - wl, "%s%s", wl ? ", " : "", strchr(rp->group[idx[p]].point, '=') + 1);
      }
      if (choice)
        at = with[0] ? with : NULL;
      fprintf(f, "<td>%s%s</td></tr>\n", at ? at : "none of them", !choice && upto == np - 1 ? " (every point)" : "");
      if (sl < sizeof summary)
        sl += snprintf(summary + sl, sizeof summary - sl, "%s<b>%s</b> %s%s", i ? "; " : "", label,
                       at ? (choice ? "with " : "up to ") : (choice ? "with none" : "at none"), at ? at : "");
    }
    fprintf(f, "</table>\n<p class=\"rec\">Meets every requirement%s: %s.%s%s</p>\n", gil ? " under the GIL" : "",
            summary, fig ? " Each cell gives " : "", fig ? fig : "");
    shown++;
  }
  return shown;
}
