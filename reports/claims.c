/* The claims table: every claim of the source documents (WORKLOADS.md), one row each, with
 * what archbench measured for it, the command that measures it, and the verdict. The claims
 * are declared beside what measures them (a scenario's descriptor, or ab_claims_pending for
 * the workloads not built yet); the figures come from the results and micro.json only.
 *
 * Verdicts: a bound ("under", "over") holds when the figure is on its side; a range when the
 * figure is inside it; an "about" figure when the measurement is within 1.5x of it. Otherwise
 * the claim is wrong by the factor to the nearest end, and the direction is said.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "report.h"

#define AB_ABOUT_TOL 1.5

int ab_rep_nclaims(void)
{
  int n = 0;
  for (int i = 0; ab_scenarios[i]; i++)
    n += ab_scenarios[i]->nclaims;
  for (int i = 0; ab_claims_pending[i].scenario; i++)
    n += ab_claims_pending[i].nclaims;
  return n;
}

/* A micro figure (ns) in the claim's unit. */
static double ab__in_unit(const ab_claim_t *c, double ns)
{
  if (!strcmp(c->unit, "ns"))
    return ns;
  if (!strcmp(c->unit, "us"))
    return ns / 1e3;
  if (!strcmp(c->unit, "ms"))
    return ns / 1e6;
  if (!strcmp(c->unit, "s"))
    return ns / 1e9;
  return ns * (c->scale ? c->scale : 1);
}

/* Is this run the one of a ratio_to claim's other side: same scenario, point and GIL, that
 * runtime? */
static int ab__partner(const ab_result_t *a, const ab_result_t *b, const char *arch)
{
  return !strcmp(a->scenario, b->scenario) && !strcmp(b->arch, arch) && a->gil == b->gil &&
         !(a->sweep_value ? !b->sweep_value || strcmp(a->sweep_value, b->sweep_value) : b->sweep_value != NULL);
}

/* The measured figure (NaN: not measured here), the command that measures it, and where a
 * sweep gave it at several points, which one it is and the others (note). */
static double ab__measure(const ab_rep_t *rp, const char *scenario, const ab_claim_t *c, char *cmd, size_t len,
                          char *note, size_t nlen)
{
  const char *f = c->figure;
  if (!f || !*f)
    return NAN;
  if (!strncmp(f, "micro:", 6)) {
    snprintf(cmd, len, "build/archbench-micro --benchmark_filter='^%s$'", f + 6);
    return ab__in_unit(c, ab_rep_micro_ns(rp, f + 6));
  }
  if (!strncmp(f, "micro_ratio:", 12)) {
    char a[128];
    const char *colon = strchr(f + 12, ':');
    if (!colon)
      return NAN;
    snprintf(a, sizeof a, "%.*s", (int)(colon - f - 12), f + 12);
    snprintf(cmd, len, "build/archbench-micro --benchmark_filter='^(%s|%s)$'", a, colon + 1);
    return ab_rep_micro_ns(rp, a) / ab_rep_micro_ns(rp, colon + 1);
  }
  /* a scenario's figure: the runs it applies to, pooled */
  char flags[160] = "";
  size_t k = 0;
  for (const char *p = c->when; p && *p;) {
    size_t n = strcspn(p, " ");
    if (!strncmp(p, "arch=", 5))
      k += snprintf(flags + k, sizeof flags - k, " --arch %.*s", (int)n - 5, p + 5);
    else if (!strncmp(p, "offload=", 8))
      k += snprintf(flags + k, sizeof flags - k, " --offload %.*s", (int)n - 8, p + 8);
    else if (n == 3 && !strncmp(p, "gil", 3))
      k += snprintf(flags + k, sizeof flags - k, " --gil");
    else if (memchr(p, '=', n))
      k += snprintf(flags + k, sizeof flags - k, " --param %.*s", (int)n, p);
    p += n + (p[n] == ' ');
    if (k >= sizeof flags)
      break;
  }
  const char *ratio = !strncmp(f, "ratio_to:", 9) ? strchr(f + 9, ':') : NULL;
  if (ratio)
    snprintf(cmd, len, "archbench run %s%s, and again with --arch %.*s", scenario, flags, (int)(ratio - f - 9), f + 9);
  else
    snprintf(cmd, len, "archbench run %s%s", scenario, flags);
  /* pooled per sweep point; the figure is the largest point's (the document speaks of scale),
   * and the others are listed beside it */
  enum { NP = 16 };
  double sum[NP] = { 0 }, at[NP];
  int n[NP] = { 0 }, np = 0;
  const char *pname = NULL;
  for (int i = 0; i < rp->nrun; i++) {
    const ab_result_t *r = rp->run[i].r;
    json_t *a = json_object_get(r->doc, "claims"), *o;
    size_t j;
    if (strcmp(r->scenario, scenario))
      continue;
    json_array_foreach(a, j, o) {
      if (strcmp(json_string_value(json_object_get(o, "id")) ?: "", c->id) || !json_is_true(json_object_get(o, "applies")))
        continue;
      double v = json_number_value(json_object_get(o, ratio ? "here" : "measured"));
      if (!json_is_number(json_object_get(o, ratio ? "here" : "measured")))
        continue;
      if (ratio) { /* over the same figure of the run that differs only in its runtime */
        char arch[32];
        snprintf(arch, sizeof arch, "%.*s", (int)(ratio - f - 9), f + 9);
        double other = NAN;
        for (int q = 0; q < rp->nrun && isnan(other); q++)
          if (ab__partner(r, rp->run[q].r, arch))
            other = ab_rep_figure(rp->run[q].r, ratio + 1);
        v = other > 0 ? v / other : NAN;
      }
      char pt[160];
      snprintf(pt, sizeof pt, "%s=%s", r->sweep_param ? r->sweep_param : "", r->sweep_value ? r->sweep_value : "");
      double p = r->sweep_value ? ab_rep_point_value(r->scenario, pt) : 0;
      int pi = 0;
      while (pi < np && at[pi] != p)
        pi++;
      if (isnan(v) || (pi == np && np == NP))
        continue;
      if (pi == np)
        at[np++] = p;
      pname = r->sweep_param ? r->sweep_param : pname;
      sum[pi] += v, n[pi]++;
    }
  }
  int top = -1;
  for (int pi = 0; pi < np; pi++)
    if (top < 0 || at[pi] > at[top])
      top = pi;
  if (top < 0)
    return NAN;
  if (np > 1 && pname) { /* "at n=50 (n=1: 0.95, n=10: 0.61)" */
    size_t l = strlen(note);
    l += snprintf(note + l, nlen - l, "at %s=%g (", pname, at[top]);
    for (int pi = 0, first = 1; pi < np && l < nlen; pi++)
      if (pi != top) {
        l += snprintf(note + l, nlen - l, "%s%s=%g: %.3g", first ? "" : ", ", pname, at[pi], sum[pi] / n[pi]);
        first = 0;
      }
    if (l < nlen)
      snprintf(note + l, nlen - l, ")");
  }
  return sum[top] / n[top];
}

/* The verdict, HTML; 1 if it holds. */
static int ab__verdict(char *s, size_t len, const ab_claim_t *c, double m)
{
  double lo = c->doc, hi = c->sense == AB_RANGE ? c->doc_hi : c->doc;
  if (c->sense == AB_ABOUT)
    lo = c->doc / AB_ABOUT_TOL, hi = c->doc * AB_ABOUT_TOL;
  if (c->sense == AB_AT_MOST)
    lo = -INFINITY;
  if (c->sense == AB_AT_LEAST)
    hi = INFINITY;
  if (m >= lo && m <= hi) {
    snprintf(s, len, "<span class=\"pass\">holds</span>");
    return 1;
  }
  double ref = m > hi ? (c->sense == AB_ABOUT ? c->doc : hi) : (c->sense == AB_ABOUT ? c->doc : lo);
  double x = m > hi ? m / ref : ref / m;
  if (!(m > 0) || !(ref > 0))
    snprintf(s, len, "<span class=\"fail\">wrong</span> (measured %s)", m > hi ? "higher" : "lower");
  else
    snprintf(s, len, "<span class=\"fail\">wrong by %.3g&times;</span>: %s than it says", x,
             m > hi ? "higher" : "lower");
  return 0;
}

static void ab__row(ab_rep_t *rp, FILE *f, const char *scenario, const char *source, const ab_claim_t *c, int built)
{
  char cmd[512] = "", verdict[256], note[256] = "";
  double m = ab__measure(rp, scenario, c, cmd, sizeof cmd, note, sizeof note);
  fprintf(f, "<tr id=\"claim-%s\"><td>&ldquo;", c->id);
  ab_rep_esc(f, c->says);
  fprintf(f, "&rdquo;</td><td>%s<br><small>", scenario);
  ab_rep_esc(f, source ? source : "");
  fprintf(f, "</small></td><td>");
  if (!isnan(m)) {
    fprintf(f, "%.3g %s%s%s<br><small><code>", m, c->unit, note[0] ? " " : "", note);
    ab_rep_esc(f, cmd);
    fprintf(f, "</code></small></td><td>");
    ab__verdict(verdict, sizeof verdict, c, m);
    fprintf(f, "%s", verdict);
  } else if (!built || !*c->figure) {
    fprintf(f, "&mdash;</td><td><span class=\"na\">not measured yet</span>: the <code>%s</code> scenario will "
               "measure it", scenario);
  } else {
    fprintf(f, "&mdash;<br><small><code>");
    ab_rep_esc(f, cmd);
    fprintf(f, "</code></small></td><td><span class=\"na\">not measured in this run</span>: the command beside it does");
  }
  fprintf(f, "</td></tr>\n");
}

void ab_rep_claims(ab_rep_t *rp, FILE *f)
{
  fprintf(f, "<div class=\"wide\"><table class=\"claims\"><tr><th>the claim</th><th>document</th><th>measured here</th><th>verdict</th></tr>\n");
  for (int i = 0; ab_scenarios[i]; i++)
    for (int j = 0; j < ab_scenarios[i]->nclaims; j++)
      ab__row(rp, f, ab_scenarios[i]->name, ab_scenarios[i]->source, &ab_scenarios[i]->claims[j], 1);
  for (int i = 0; ab_claims_pending[i].scenario; i++)
    for (int j = 0; j < ab_claims_pending[i].nclaims; j++)
      ab__row(rp, f, ab_claims_pending[i].scenario, ab_claims_pending[i].source, &ab_claims_pending[i].claims[j], 0);
  fprintf(f, "</table></div>\n<p class=\"note\">A bound holds when the figure is on its side, a range when the figure is "
             "inside it, an &ldquo;about&rdquo; figure when the measurement is within %.1f&times; of it. The documents' "
             "queues are Python's; these are the same hand-overs in C, so a large factor is the language's share.</p>\n",
          AB_ABOUT_TOL);
}
