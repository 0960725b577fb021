/* The decision for one group: the architecture that meets every requirement at the lowest
 * cost, CPU first and memory second; the runners-up, each with why it loses.
 *
 * Two candidates whose CPU differs by less than the run-to-run spread (the widest range of
 * either over its repeats) tie, and memory breaks the tie. With one run each the spread is
 * unknown, and the page says so rather than calling a 1% difference a win.
 *
 * When none passes, the baseline (a bare periodic role on the same runtime) decides what the
 * page says: if its own figure already fails a limit, the machine is the limit and the
 * candidates are ranked by what they add over that floor; if it passes, the candidate
 * closest to passing is named with what would have to change.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

const char *ab_rep_fmt(char *buf, size_t len, const char *name, double v)
{
  if (isnan(v))
    snprintf(buf, len, "no data");
  else if (strstr(name, "_ns"))
    fabs(v) >= 1e9 ? snprintf(buf, len, "%.2f s", v / 1e9)
    : fabs(v) >= 1e6 ? snprintf(buf, len, "%.2f ms", v / 1e6)
    : fabs(v) >= 1e3 ? snprintf(buf, len, "%.1f µs", v / 1e3)
    : snprintf(buf, len, "%.0f ns", v);
  else if (strstr(name, "per_s")) /* not ".rate": vision.rate is a fraction of frames */
    snprintf(buf, len, "%.1f/s", v);
  else if (v == floor(v) && fabs(v) < 1e15)
    snprintf(buf, len, "%.0f", v);
  else
    snprintf(buf, len, "%.3g", v);
  return buf;
}

/* How far a value is from meeting its limit, relative to the limit: 0 when it meets it. */
static double ab__short(const ab_rep_req_t *q)
{
  double v = q->value, l = q->limit, scale = fabs(l) > 0 ? fabs(l) : 1;
  if (isnan(v))
    return 1e9;
  if (!strcmp(q->op, "<=") || !strcmp(q->op, "<"))
    return v > l ? (v - l) / scale : 0;
  if (!strcmp(q->op, ">="))
    return v < l ? (l - v) / scale : 0;
  return v != l ? fabs(v - l) / scale : 0;
}

static int ab__failed(const ab_rep_req_t *q) { return q->npass < q->n || q->n == 0; }

/* A requirement that fails with its floor failing too, the machine's part: the one named
 * (the group's machine limit), or with no name the first. */
static const ab_rep_req_t *ab__floor_fail(const ab_rep_cand_t *c, const char *name)
{
  for (int j = 0; j < c->nreq; j++)
    if (ab__failed(&c->req[j]) && c->req[j].floor_pass == 0 && (!name || !*name || !strcmp(c->req[j].name, name)))
      return &c->req[j];
  return NULL;
}

/* The requirement nearest its limit: the one that decided. Exact ones (== 0) only if all are. */
static const ab_rep_req_t *ab__tightest(const ab_rep_cand_t *c)
{
  const ab_rep_req_t *best = NULL;
  double bm = -1;
  for (int j = 0; j < c->nreq; j++) {
    const ab_rep_req_t *q = &c->req[j];
    double m = -1;
    if (!strcmp(q->op, "<=") || !strcmp(q->op, "<"))
      m = q->limit > 0 ? q->value / q->limit : -1;
    else if (!strcmp(q->op, ">="))
      m = q->value > 0 ? q->limit / q->value : -1;
    if (!best || m > bm)
      best = q, bm = m;
  }
  return best;
}

const char *ab_rep_op(const char *op)
{
  return !strcmp(op, "<=") ? "≤" : !strcmp(op, "<") ? "&lt;" : !strcmp(op, ">=") ? "≥" : !strcmp(op, "==") ? "=" : "?";
}

/* The operator a failed value stands in, HTML. */
static const char *ab__neg(const char *op)
{
  return !strcmp(op, "<=") ? "&gt;" : !strcmp(op, "<") ? "≥" : !strcmp(op, ">=") ? "&lt;" : "≠";
}

/* "fails inner.lateness_ns.p999: 1.62 ms > 1.00 ms" for up to two failed requirements, but
 * the one skipped. */
static int ab__fails(char *s, size_t len, const ab_rep_cand_t *c, const ab_rep_req_t *skip)
{
  int n = 0, k = 0;
  char v[32], l[32];
  for (int j = 0; j < c->nreq && n < 2; j++) {
    const ab_rep_req_t *q = &c->req[j];
    if (!ab__failed(q) || q == skip)
      continue;
    k += snprintf(s + k, len > (size_t)k ? len - k : 0, "%s<code>%s</code>: %s %s %s%s", n ? "; " : "fails ", q->name,
                  ab_rep_fmt(v, sizeof v, q->name, q->value), ab__neg(q->op), ab_rep_fmt(l, sizeof l, q->name, q->limit),
                  q->npass && q->npass < q->n ? " in some repeats" : "");
    n++;
  }
  if (!n && !c->ok)
    snprintf(s, len, "did not run to the end");
  else if (!n && c->missing)
    snprintf(s, len, "shows no figure for %d of the requirements the others meet", c->missing);
  return n;
}

/* How much a candidate's rank key moves between its repeats: the ranges of the figures that
 * make it, scaled as they are in the key. */
static double ab__key_spread(const ab_rep_cand_t *c, const char *machine)
{
  int floor_fails = machine && *machine;
  const ab_rep_req_t *f = floor_fails ? ab__floor_fail(c, machine) : NULL;
  double s = 0;
  for (int j = 0; j < c->nreq; j++) {
    const ab_rep_req_t *q = &c->req[j];
    if (!ab__failed(q) || isnan(q->lo))
      continue;
    double r = (q->hi - q->lo) / (fabs(q->limit) > 0 ? fabs(q->limit) : 1);
    s += floor_fails && q != f ? r * 1e6 : r;
  }
  return s;
}

/* The run-to-run spread of two candidates' CPU: the larger standard deviation over repeats
 * (not the range, which only grows with the number of repeats). */
static double ab__spread(const ab_rep_cand_t *a, const ab_rep_cand_t *b)
{
  return fmax(a->cpu_sd, b->cpu_sd);
}

/* Is the machine the limit? For requirement R (one some candidate fails with its runtime's
 * floor failing too): only if every candidate fails R, each has a floor for it, and every one
 * of those floors fails it as well. Returns R, or NULL. */
static const ab_rep_req_t *ab__machine_limit(const ab_rep_group_t *g)
{
  for (int c0 = 0; c0 < g->ncand; c0++) /* every such requirement, whatever the order of the files */
    for (int j0 = 0; j0 < g->cand[c0].nreq; j0++) {
      const ab_rep_req_t *r = &g->cand[c0].req[j0];
      int all = ab__failed(r) && r->floor_pass == 0;
      for (int i = 0; all && i < g->ncand; i++) {
        const ab_rep_req_t *q = NULL;
        for (int j = 0; j < g->cand[i].nreq; j++)
          if (!strcmp(g->cand[i].req[j].name, r->name))
            q = &g->cand[i].req[j];
        all = q && ab__failed(q) && q->floor_pass == 0;
      }
      if (all)
        return r;
    }
  return NULL;
}

static int ab__cheaper(const ab_rep_cand_t *a, const ab_rep_cand_t *b)
{
  if (a->cpu != b->cpu)
    return a->cpu < b->cpu || isnan(b->cpu);
  return a->pss < b->pss;
}

/* order[] sorted by key(): insertion sort, small n. */
static void ab__sort(ab_rep_group_t *g, int from, int to, int by_key)
{
  for (int i = from + 1; i < to; i++)
    for (int j = i; j > from; j--) {
      const ab_rep_cand_t *a = &g->cand[g->order[j]], *b = &g->cand[g->order[j - 1]];
      int less = by_key ? (a->rank_key < b->rank_key || (a->rank_key == b->rank_key && ab__cheaper(a, b)))
                        : ab__cheaper(a, b);
      if (!less)
        break;
      int t = g->order[j];
      g->order[j] = g->order[j - 1];
      g->order[j - 1] = t;
    }
}

static void ab__why(ab_rep_group_t *g)
{
  const ab_rep_cand_t *w = &g->cand[g->order[0]];
  char a[32], b[32];
  for (int k = 1; k < g->ncand; k++) {
    ab_rep_cand_t *c = &g->cand[g->order[k]];
    if (c->pass || (g->kind == AB_REC_NO_REQS && c->ok)) {
      if (k < g->ntied)
        snprintf(c->why, sizeof c->why, "ties on CPU (%.1f%% against %.1f%%) but uses more memory: %.1f MB against %.1f MB",
                 c->cpu, w->cpu, c->pss, w->pss);
      else
        snprintf(c->why, sizeof c->why, "%s, but costs more: %.1f%% of a CPU against %.1f%%, %.1f MB against %.1f MB",
                 g->kind == AB_REC_NO_REQS ? "runs" : "passes", c->cpu, w->cpu, c->pss, w->pss);
      continue;
    }
    int n = ab__fails(c->why, sizeof c->why, c, NULL);
    const ab_rep_req_t *f = ab__floor_fail(c, g->machine);
    size_t l = strlen(c->why);
    if (n && g->kind == AB_REC_FLOOR_FAILS && f && f->value > f->floor)
      snprintf(c->why + l, sizeof c->why - l, "; adds %s over its runtime's floor of %s",
               ab_rep_fmt(a, sizeof a, f->name, f->value - f->floor), ab_rep_fmt(b, sizeof b, f->name, f->floor));
    else if (n && g->kind == AB_REC_FLOOR_FAILS && f)
      snprintf(c->why + l, sizeof c->why - l, "; no more than its runtime's floor of %s", ab_rep_fmt(b, sizeof b, f->name, f->floor));
    char pick[sizeof w->label];
    memcpy(pick, w->label, sizeof pick);
    l = strlen(c->why);
    if (k < g->ntied)
      snprintf(c->why + l, sizeof c->why - l, "; it ties with %s within the run-to-run spread, but costs more: %.1f%% of a "
               "CPU against %.1f%%, %.1f MB against %.1f MB", pick, c->cpu, w->cpu, c->pss, w->pss);
  }
}

void ab_rep_recommend(ab_rep_group_t *g)
{
  char v[32], l[32], x[32];
  int np = 0, reqs = 0;
  g->ntied = 1;
  g->kind = 0;
  g->machine[0] = 0;
  g->sentence[0] = 0;
  if (g->ncand == 0)
    return;
  g->spread_known = 1;
  for (int i = 0; i < g->ncand; i++) {
    g->spread_known = g->spread_known && g->cand[i].ncpu >= 2;
    reqs += g->cand[i].nreq;
  }
  /* passing (or, without requirements, finished) candidates first, by cost */
  for (int pass = 1; pass >= 0; pass--)
    for (int i = 0; i < g->ncand; i++) {
      const ab_rep_cand_t *c = &g->cand[i];
      int good = reqs ? c->pass : c->ok;
      if (good == pass)
        g->order[np++] = i;
    }
  int ngood = 0;
  while (ngood < g->ncand && (reqs ? g->cand[g->order[ngood]].pass : g->cand[g->order[ngood]].ok))
    ngood++;
  if (ngood) {
    g->kind = reqs ? AB_REC_CLEAR : AB_REC_NO_REQS;
    ab__sort(g, 0, ngood, 0);
    /* the tie: every good candidate within the spread of the cheapest; memory decides */
    if (g->spread_known) {
      const ab_rep_cand_t *best = &g->cand[g->order[0]];
      while (g->ntied < ngood && g->cand[g->order[g->ntied]].cpu - best->cpu <= ab__spread(best, &g->cand[g->order[g->ntied]]))
        g->ntied++;
      for (int i = 1; i < g->ntied; i++) /* the least memory among the tied first */
        if (g->cand[g->order[i]].pss < g->cand[g->order[0]].pss) {
          int t = g->order[0];
          g->order[0] = g->order[i];
          g->order[i] = t;
        }
      if (g->ntied > 1 && reqs)
        g->kind = AB_REC_TIE;
    }
    for (int i = ngood; i < g->ncand; i++) /* the failing ones, nearest to passing first */
      g->cand[g->order[i]].rank_key = 0;
    for (int i = ngood; i < g->ncand; i++)
      for (int j = 0; j < g->cand[g->order[i]].nreq; j++)
        g->cand[g->order[i]].rank_key += ab__short(&g->cand[g->order[i]].req[j]);
    ab__sort(g, ngood, g->ncand, 1);
  } else {
    /* the machine is the limit when every runtime's own floor fails what every candidate
     * fails; one runtime whose floor passes, or one without a floor, or one candidate that
     * meets it, and an architecture could pass: then it is not said */
    const ab_rep_req_t *lim = ab__machine_limit(g);
    int floor_fails = lim != NULL;
    snprintf(g->machine, sizeof g->machine, "%s", lim ? lim->name : "");
    g->kind = floor_fails ? AB_REC_FLOOR_FAILS : AB_REC_NONE_PASS;
    for (int i = 0; i < g->ncand; i++) {
      ab_rep_cand_t *c = &g->cand[i];
      const ab_rep_req_t *f = ab__floor_fail(c, g->machine);
      c->rank_key = c->ok ? 0 : 1e12;
      for (int j = 0; j < c->nreq; j++) /* what it adds over the floor, or how far it is */
        if (&c->req[j] != f || !floor_fails)
          c->rank_key += ab__short(&c->req[j]) * (floor_fails ? 1e6 : 1);
      if (floor_fails)
        c->rank_key += f ? (f->value - f->floor) / (fabs(f->limit) > 0 ? fabs(f->limit) : 1) : 0;
    }
    ab__sort(g, 0, g->ncand, 1);
    if (g->spread_known) { /* within the spread of what ranked them, they tie: the cheapest first */
      const ab_rep_cand_t *b = &g->cand[g->order[0]];
      while (g->ntied < g->ncand) {
        const ab_rep_cand_t *c = &g->cand[g->order[g->ntied]];
        if (c->ok != b->ok || c->rank_key - b->rank_key > fmax(ab__key_spread(b, g->machine), ab__key_spread(c, g->machine)))
          break;
        g->ntied++;
      }
      ab__sort(g, 0, g->ntied, 0);
    }
  }

  const ab_rep_cand_t *w = &g->cand[g->order[0]];
  const ab_rep_req_t *t = ab__tightest(w);
  static const ab_rep_req_t none = { .name = "none", .op = "==" };
  if (!t) /* passing with no requirement is the NO_REQS case; never read through NULL */
    t = &none;
  char nr[48];
  if (w->nreq == 1)
    snprintf(nr, sizeof nr, "its requirement");
  else
    snprintf(nr, sizeof nr, "all %d requirements", w->nreq);
  char grp[192];
  snprintf(grp, sizeof grp, "<b>%s</b>", g->key);
  switch (g->kind) {
  case AB_REC_CLEAR:
  case AB_REC_TIE:
    snprintf(g->sentence, sizeof g->sentence,
             "Use <b class=\"pick\">%s</b> for %s: it meets %s (the closest, <code>%s</code>: %s against "
             "%s %s) %s %.1f%% of a CPU and %.1f MB%s",
             w->label, grp, nr, t->name, ab_rep_fmt(v, sizeof v, t->name, t->value), ab_rep_op(t->op),
             ab_rep_fmt(l, sizeof l, t->name, t->limit), g->kind == AB_REC_TIE ? "with" : "at the lowest cost,", w->cpu, w->pss,
             g->kind == AB_REC_TIE ? "; it ties on CPU with " : ".");
    if (g->kind == AB_REC_TIE) {
      size_t k = strlen(g->sentence);
      for (int i = 1; i < g->ntied; i++)
        k += snprintf(g->sentence + k, sizeof g->sentence - k, "%s%s (%.1f%%, %.1f MB)", i > 1 ? ", " : "",
                      g->cand[g->order[i]].label, g->cand[g->order[i]].cpu, g->cand[g->order[i]].pss);
      snprintf(g->sentence + k, sizeof g->sentence - k,
               ", within the run-to-run spread, and wins on memory.");
    }
    break;
  case AB_REC_NO_REQS:
    snprintf(g->sentence, sizeof g->sentence,
             "%s sets no requirements, so any architecture will do; the cheapest is <b class=\"pick\">%s</b>: "
             "%.1f%% of a CPU and %.1f MB.", grp, w->label, w->cpu, w->pss);
    break;
  case AB_REC_FLOOR_FAILS: {
    const ab_rep_req_t *f = ab__machine_limit(g);
    double flo = INFINITY, fhi = -INFINITY;
    for (int i = 0; i < g->ncand; i++) /* that floor on every runtime shown */
      for (int j = 0; j < g->cand[i].nreq; j++)
        if (!strcmp(g->cand[i].req[j].name, f->name) && !isnan(g->cand[i].req[j].floor))
          flo = fmin(flo, g->cand[i].req[j].floor), fhi = fmax(fhi, g->cand[i].req[j].floor);
    char fl[80], add[96] = "";
    ab_rep_fmt(v, sizeof v, f->name, flo);
    ab_rep_fmt(x, sizeof x, f->name, fhi);
    if (flo == fhi)
      snprintf(fl, sizeof fl, "%s", v);
    else
      snprintf(fl, sizeof fl, "%s to %s, by runtime,", v, x);
    const ab_rep_req_t *wf = ab__floor_fail(w, g->machine);
    if (wf && wf->value > wf->floor)
      snprintf(add, sizeof add, ", adding %s over its runtime's floor,", ab_rep_fmt(x, sizeof x, f->name, wf->value - wf->floor));
    else if (wf)
      snprintf(add, sizeof add, ", which adds nothing measurable over its runtime's floor,");
    char also[400] = "", fails[360];
    if (ab__fails(fails, sizeof fails, w, wf) > 0)
      snprintf(also, sizeof also, " Beyond the floor, it also %s.", fails);
    snprintf(g->sentence, sizeof g->sentence,
             "No architecture meets %s's requirements on this machine, and <b>the machine itself is the limit</b>: "
             "a bare periodic role alone (the baseline) reaches %s for <code>%s</code>, where %s %s is required. "
             "Ranked by the other requirements they fail, then by what they add over that floor, the best is "
             "<b class=\"pick\">%s</b>%s at %.1f%% of a CPU and %.1f MB.%s",
             grp, fl, f->name, ab_rep_op(f->op), ab_rep_fmt(l, sizeof l, f->name, f->limit), w->label, add, w->cpu, w->pss,
             also);
    break;
  }
  default: {
    const ab_rep_req_t *f = NULL;
    double worst = -1;
    for (int j = 0; j < w->nreq; j++)
      if (ab__failed(&w->req[j]) && ab__short(&w->req[j]) > worst)
        f = &w->req[j], worst = ab__short(&w->req[j]);
    if (!f) { /* it failed to finish, or showed no figure, rather than failing a requirement */
      char why[256];
      ab__fails(why, sizeof why, w, NULL);
      snprintf(g->sentence, sizeof g->sentence, "No architecture meets %s's requirements; the closest, "
               "<b class=\"pick\">%s</b>, %s.", grp, w->label, why);
      break;
    }
    char fl[64] = "";
    if (!isnan(f->floor))
      snprintf(fl, sizeof fl, " (the baseline's own is %s)", ab_rep_fmt(x, sizeof x, f->name, f->floor));
    /* the machine is cleared only by a floor that passes; without one, nothing is said of it */
    snprintf(g->sentence, sizeof g->sentence,
             "No architecture meets %s's requirements%s. The closest is <b class=\"pick\">%s</b>, which would have to "
             "bring <code>%s</code> from %s to %s %s%s.",
             grp, f->floor_pass == 1 ? ", though the machine is not the limit" : "", w->label, f->name,
             ab_rep_fmt(v, sizeof v, f->name, f->value), ab_rep_op(f->op), ab_rep_fmt(l, sizeof l, f->name, f->limit), fl);
  }
  }
  if ((g->kind == AB_REC_FLOOR_FAILS || g->kind == AB_REC_NONE_PASS) && g->ntied > 1) {
    size_t k = strlen(g->sentence);
    k += snprintf(g->sentence + k, sizeof g->sentence - k, " Within the run-to-run spread it ties with ");
    for (int i = 1; i < g->ntied; i++)
      k += snprintf(g->sentence + k, sizeof g->sentence - k, "%s%s (%.1f%%, %.1f MB)", i > 1 ? ", " : "",
                    g->cand[g->order[i]].label, g->cand[g->order[i]].cpu, g->cand[g->order[i]].pss);
    snprintf(g->sentence + k, sizeof g->sentence - k, ", and costs the least of them.");
  }
  if (g->spread_known) {
    double s = 0;
    for (int i = 0; i < g->ncand; i++)
      s = fmax(s, g->cand[i].cpu_sd);
    if (g->kind == AB_REC_FLOOR_FAILS || g->kind == AB_REC_NONE_PASS)
      snprintf(g->spread_note, sizeof g->spread_note, "Every architecture was repeated; a requirement's value is its "
               "worst repeat's, and differences within the repeats' range of what ranked them are called ties.");
    else
      snprintf(g->spread_note, sizeof g->spread_note, "Every architecture was repeated; CPU's run-to-run standard "
               "deviation is up to %.1f points, and differences within it are called ties.", s);
  } else {
    snprintf(g->spread_note, sizeof g->spread_note, "One run per architecture: the run-to-run spread is unknown, so a "
             "small difference may not hold (<code>--repeat 3</code> measures it).");
  }
  ab__why(g);
}
