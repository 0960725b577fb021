/* The page: the answers first (one recommendation per scenario, on the first screen), then a
 * section per scenario (the decision, the runners-up and why, every configuration, the
 * requirements matrix, the figures), the price list, the claims and the machine. Plain HTML
 * with its style inline: it opens from file:// with nothing fetched, and needs no script.
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "report.h"

#define AB_MAX_FIGS 16

static const char ab__css[] =
  "body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:0 18px 40px;color:#1d2330}"
  "h1{font-size:24px;margin:18px 0 2px}h2{font-size:20px;margin:30px 0 8px;border-bottom:2px solid #dde3ee}"
  "h3{font-size:16px;margin:18px 0 6px}.sub,.note{color:#586074;font-size:13px}"
  "#answers{background:#f3f6fb;border:1px solid #d5deec;border-radius:6px;padding:4px 16px 10px}"
  "#answers li{margin:8px 0}.sc{display:inline-block;min-width:72px;font-weight:600;color:#30456b}"
  ".pick{color:#0b6b2e}.rec{font-size:16px}code{font-size:12.5px;background:#f1f2f5;padding:0 3px;border-radius:3px}"
  "table{border-collapse:collapse;font-size:13px;margin:6px 0}td,th{border:1px solid #d9dde6;padding:3px 7px;"
  "text-align:left;vertical-align:top}th{background:#f1f4f9}.pass{color:#0b6b2e;font-weight:600}"
  ".fail{color:#b3261e;font-weight:600}.na{color:#7a6a12}td.num{text-align:right;white-space:nowrap}"
  "figure{margin:10px 0 18px}figure img{max-width:100%;border:1px solid #e3e6ee}figcaption{font-size:13px;color:#586074}"
  "nav a{margin-right:12px}.warn{color:#8a4b00}.wide{overflow-x:auto}td code{word-break:break-all}";

void ab_rep_esc(FILE *f, const char *s)
{
  for (; s && *s; s++)
    switch (*s) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    default: fputc(*s, f);
    }
}

/* The prices behind a candidate of a scenario: its hand-overs through its transport against
 * the same in place. Nothing when micro.json lacks them. */
static void ab__prices_of(FILE *f, const ab_rep_t *rp, const char *scenario, const char *label)
{
  const char *slash = strchr(label, '/');
  if (!rp->micro || !slash) /* a transport's price, against the same hand-over in place */
    return;
  char t[32], p[160], q[160], a[32], b[32];
  snprintf(t, sizeof t, "%.*s", slash ? (int)strcspn(slash + 1, "+") : 4, slash ? slash + 1 : "ring");
  static const char *const what[][3] = { { "frame", "frame", "in place" }, { "obs", "message", "between threads" } };
  int said = 0;
  for (int k = 0; k < 2; k++) {
    const char *n1 = NULL, *n2 = NULL;
    snprintf(p, sizeof p, "%s-%s-%s/", scenario, what[k][0], t);
    snprintf(q, sizeof q, "%s-%s-%s/", scenario, what[k][0], k == 0 ? (slash ? "inplace-shm" : "inplace-ring") : "ring");
    if (k == 0 && !strcmp(t, "shm")) /* frames go through shm in place already: no price to pay */
      continue;
    double x = ab_rep_micro_prefix(rp, p, &n1), y = ab_rep_micro_prefix(rp, q, &n2);
    if (isnan(x) || isnan(y) || !strcmp(n1, n2))
      continue;
    const char *sz = strrchr(n1, '/');
    double bytes = sz ? atof(sz + 1) : 0;
    if (bytes >= 1e6)
      snprintf(a, sizeof a, "%.1f MB", bytes / 1e6);
    else
      snprintf(a, sizeof a, "%.0f-byte", bytes);
    fprintf(f, "%s<a href=\"#price-", said++ ? "; " : " The price: ");
    ab_rep_esc(f, n1);
    fprintf(f, "\">a %s %s costs %s through %s</a> against <a href=\"#price-", a, what[k][1],
            ab_rep_fmt(b, sizeof b, "_ns", x), t);
    ab_rep_esc(f, n2);
    fprintf(f, "\">%s %s</a>", ab_rep_fmt(p, sizeof p, "_ns", y), what[k][2]);
  }
  if (said)
    fputc('.', f);
}

/* Architecture x requirement, the columns every requirement any of them shows: a missing one
 * is a gap, never a hidden failure. With repeats, a value is the worst repeat's. */
static void ab__matrix(FILE *f, const ab_rep_group_t *g)
{
  const ab_rep_req_t *col[2 * AB_REP_MAX_REQ];
  int nc = 0;
  char v[32], l[32];
  for (int i = 0; i < g->ncand; i++)
    for (int j = 0; j < g->cand[i].nreq; j++) {
      int seen = 0;
      for (int k = 0; k < nc; k++)
        seen |= !strcmp(col[k]->name, g->cand[i].req[j].name);
      if (!seen && nc < 2 * AB_REP_MAX_REQ)
        col[nc++] = &g->cand[i].req[j];
    }
  fprintf(f, "<div class=\"wide\"><table><tr><th>architecture</th>");
  for (int j = 0; j < nc; j++)
    fprintf(f, "<th><code>%s</code><br>%s %s</th>", col[j]->name, ab_rep_op(col[j]->op),
            ab_rep_fmt(l, sizeof l, col[j]->name, col[j]->limit));
  fprintf(f, "<th>CPU %%</th><th>PSS MB</th><th>runs</th></tr>\n");
  for (int i = 0; i < g->ncand; i++) {
    const ab_rep_cand_t *c = &g->cand[g->order[i]];
    fprintf(f, "<tr><td><b>%s</b></td>", c->label);
    for (int j = 0; j < nc; j++) {
      const ab_rep_req_t *q = NULL;
      for (int k = 0; k < c->nreq; k++)
        if (!strcmp(c->req[k].name, col[j]->name))
          q = &c->req[k];
      if (!q) {
        fprintf(f, "<td><span class=\"fail\">no figure</span></td>");
        continue;
      }
      int ok = q->npass == q->n && q->n == c->nrep;
      fprintf(f, "<td class=\"num\"><span class=\"%s\">%s</span> %s", ok ? "pass" : "fail", ok ? "pass" : "FAIL",
              ab_rep_fmt(v, sizeof v, q->name, q->value));
      if (q->n > 1)
        fprintf(f, "<br><small>worst of %d; %d passed</small>", q->n, q->npass);
      if (!isnan(q->floor))
        fprintf(f, "<br><small>floor %s</small>", ab_rep_fmt(l, sizeof l, q->name, q->floor));
      fprintf(f, "</td>");
    }
    fprintf(f, "<td class=\"num\">%.1f", c->cpu);
    if (c->ncpu > 1)
      fprintf(f, "<br><small>&plusmn;%.1f</small>", c->cpu_sd);
    fprintf(f, "</td><td class=\"num\">%.1f</td><td class=\"num\">%d%s</td></tr>\n", c->pss, c->nrep,
            c->ok ? "" : " (not ok)");
  }
  fprintf(f, "</table></div>\n");
}

static void ab__scenario(FILE *f, ab_rep_t *rp, const char *scenario)
{
  const ab_rep_group_t *h = ab_rep_main_group(rp, scenario);
  const char *src = json_string_value(json_object_get(rp->run[h->cand[0].run[0]].r->doc, "source"));
  fprintf(f, "<section id=\"sc-%s\"><h2>%s", scenario, scenario);
  if (src) {
    fprintf(f, " <small class=\"sub\">(");
    ab_rep_esc(f, src);
    fprintf(f, ")</small>");
  }
  fprintf(f, "</h2>\n");
  fprintf(f, "<p class=\"rec\">%s", h->sentence);
  ab__prices_of(f, rp, scenario, h->cand[h->order[0]].label);
  fprintf(f, "</p>\n<p class=\"note\">%s</p>\n", h->spread_note);
  ab_rep_sweep_passes(f, rp, scenario);
  if (h->ncand > 1) {
    fprintf(f, "<h3>The runners-up, and why each loses</h3><ol>\n");
    for (int i = 1; i < h->ncand; i++) {
      const ab_rep_cand_t *c = &h->cand[h->order[i]];
      fprintf(f, "<li><b>%s</b>: %s.", c->label, c->why);
      ab__prices_of(f, rp, scenario, c->label);
      fprintf(f, "</li>\n");
    }
    fprintf(f, "</ol>\n");
  }
  int ng = 0;
  for (int k = 0; k < rp->ngroup; k++)
    ng += !strcmp(rp->group[k].scenario, scenario);
  if (ng > 1) {
    fprintf(f, "<h3>Every configuration</h3><table><tr><th>configuration</th><th>recommendation</th></tr>\n");
    for (int k = 0; k < rp->ngroup; k++)
      if (!strcmp(rp->group[k].scenario, scenario))
        fprintf(f, "<tr><td>%s</td><td>%s</td></tr>\n", rp->group[k].key, rp->group[k].sentence);
    fprintf(f, "</table>\n");
  }
  fprintf(f, "<h3>Requirements</h3>\n");
  int any = 0;
  for (int i = 0; i < h->ncand; i++)
    any |= h->cand[i].nreq > 0;
  if (any)
    ab__matrix(f, h);
  else
    fprintf(f, "<p>%s sets no requirements.</p>\n", scenario);
  char names[AB_MAX_FIGS][96], titles[AB_MAX_FIGS][160];
  int n = ab_rep_scenario_figures(rp, scenario, names, titles, AB_MAX_FIGS);
  fprintf(f, "<h3>Figures</h3>\n");
  if (!rp->gnuplot)
    fprintf(f, "<p class=\"warn\">The figures (lateness spectrum, CDF, lateness over time, chain latency, CPU and "
               "memory%s) need gnuplot, which is not installed here: <code>apt-get install gnuplot-nox</code>, then "
               "<code>make report</code>. Their data files are beside this page.</p>\n",
            h->point[0] ? ", and the sweep's throughput, efficiency and memory" : "");
  for (int i = 0; i < n; i++) {
    fprintf(f, "<figure><img src=\"%s\" alt=\"", names[i]);
    ab_rep_esc(f, titles[i]);
    fprintf(f, "\"><figcaption>");
    ab_rep_esc(f, titles[i]);
    fprintf(f, "</figcaption></figure>\n");
  }
  fprintf(f, "</section>\n");
}

static void ab__env_row(FILE *f, json_t *env, const char *k, const char *say)
{
  json_t *v = json_object_get(env, k);
  if (!v)
    return;
  fprintf(f, "<tr><th>%s</th><td>", say);
  if (json_is_string(v))
    ab_rep_esc(f, json_string_value(v));
  else if (json_is_number(v))
    fprintf(f, "%g", json_number_value(v));
  fprintf(f, "</td></tr>\n");
}

/* The machine, the floor per runtime, and the percentiles a run was too short to hold. */
static void ab__machine(FILE *f, ab_rep_t *rp)
{
  json_t *env = json_object_get(rp->run[0].r->doc, "env");
  fprintf(f, "<section id=\"machine\"><h2>The machine</h2><table>\n");
  static const char *const rows[][2] = { { "kernel", "kernel" }, { "cpu", "CPU" }, { "ncpu", "cores" },
                                         { "virt", "virtualisation" }, { "host", "host" }, { "sched", "scheduler policy" },
                                         { "cpus", "CPUs used" }, { "clocksource", "clock source" },
                                         { "governor", "frequency governor" }, { "latency_target", "PM QoS (cpu_dma_latency)" },
                                         { "mlock", "memory locking" } };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    ab__env_row(f, env, rows[i][0], rows[i][1]);
  fprintf(f, "</table>\n<h3>The floor: a bare periodic role on each runtime</h3>\n");
  int any = 0;
  char a[32], b[32], c[32], d[32];
  for (int k = 0; k < rp->ngroup; k++) {
    const ab_rep_group_t *g = &rp->group[k];
    if (strcmp(g->scenario, "baseline"))
      continue;
    if (!any++)
      fprintf(f, "<table><tr><th>runtime</th><th>p50</th><th>p99</th><th>p99.9</th><th>max</th><th>samples</th></tr>\n");
    for (int i = 0; i < g->ncand; i++) {
      const ab_result_t *r = rp->run[g->cand[i].run[0]].r;
      const char *role = ab_rep_table(r, "role");
      char m[96];
      ab_summary_t s;
      snprintf(m, sizeof m, "%s.lateness_ns", role ? role : "tick");
      if (ab_result_metric(r, m, &s))
        continue;
      fprintf(f, "<tr><td>%s%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td><td class=\"num\">%s</td>"
                 "<td class=\"num\">%s</td><td class=\"num\">%llu</td></tr>\n", g->cand[i].label, g->gil ? " (GIL)" : "",
              ab_rep_fmt(a, sizeof a, "_ns", s.p50), ab_rep_fmt(b, sizeof b, "_ns", s.p99),
              ab_rep_fmt(c, sizeof c, "_ns", s.p999), ab_rep_fmt(d, sizeof d, "_ns", s.max), (unsigned long long)s.count);
    }
  }
  if (any)
    fprintf(f, "</table>\n");
  else
    fprintf(f, "<p class=\"warn\">No <code>baseline</code> run in these results: the page cannot say how much of the "
               "lateness is the machine's. <code>archbench run baseline --arch all</code> measures it.</p>\n");
  /* short runs: a quantile q wants 10/(1-q) samples; for the metrics the page decides on (its
   * requirements', its periodic role's and its chain's), one line per scenario and metric */
  struct { const char *sc, *m, *label; double n; } w[64];
  int nw = 0;
  for (int i = 0; i < rp->nrun; i++) {
    const ab_result_t *r = rp->run[i].r;
    json_t *ms = json_object_get(r->doc, "metrics"), *m;
    const char *k, *role = ab_rep_table(r, "role"), *chain = ab_rep_table(r, "chain");
    json_object_foreach(ms, k, m) {
      int used = chain && !strcmp(k, chain);
      size_t kl = strlen(k);
      used |= role && !strncmp(k, role, strlen(role)) && !strcmp(k + strlen(role), ".lateness_ns");
      for (int q = 0; q < r->nreqs && !used; q++)
        used = !strncmp(r->reqs[q].name, k, kl) && r->reqs[q].name[kl] == '.';
      double n = json_number_value(json_object_get(m, "count"));
      if (!used || n <= 0 || n >= 100000)
        continue;
      int j = 0;
      while (j < nw && (strcmp(w[j].sc, r->scenario) || strcmp(w[j].m, k)))
        j++;
      if (j == nw && nw < 64)
        w[nw++] = (typeof(w[0])){ r->scenario, k, rp->run[i].label, n };
      else if (j < nw && n < w[j].n)
        w[j].n = n, w[j].label = rp->run[i].label;
    }
  }
  if (nw)
    fprintf(f, "<h3 class=\"warn\">Percentiles the runs were too short for</h3><p class=\"note\">A quantile q needs "
               "10/(1&minus;q) samples; with fewer, it is one of the few largest samples, not a tail. Run longer "
               "(<code>--duration</code>) for these.</p><ul>\n");
  for (int j = 0; j < nw; j++) {
    const char *q = w[j].n < 1000 ? "p99, p99.9 and p99.99" : w[j].n < 10000 ? "p99.9 and p99.99" : "p99.99";
    fprintf(f, "<li>%s: <code>%s</code> has as few as %.0f samples (%s): its %s are not tails.</li>\n", w[j].sc, w[j].m,
            w[j].n, w[j].label, q);
  }
  if (nw)
    fprintf(f, "</ul>\n");
  fprintf(f, "</section>\n");
}

static int ab__rank(const char *scenario)
{
  if (!strcmp(scenario, "baseline"))
    return 1000;
  for (int i = 0; ab_scenarios[i]; i++)
    if (!strcmp(ab_scenarios[i]->name, scenario))
      return i;
  return 1001;
}

int ab_rep_html(ab_rep_t *rp, const char *path)
{
  FILE *f = fopen(path, "w");
  if (!f)
    return -1;
  char when[32];
  time_t now = time(NULL);
  strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&now));
  json_t *env = json_object_get(rp->run[0].r->doc, "env");
  fprintf(f, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
             "content=\"width=device-width\"><title>archbench report</title><style>%s</style></head><body>\n", ab__css);
  fprintf(f, "<h1>Which architecture, on this machine</h1><p class=\"sub\">%d results from ", rp->nrun);
  for (int i = 0; i < rp->ndirs; i++) {
    ab_rep_esc(f, rp->dirs[i]);
    fputs(i + 1 < rp->ndirs ? ", " : "", f);
  }
  fprintf(f, " &middot; %s, %lld cores, %s &middot; written %s</p>\n", json_string_value(json_object_get(env, "cpu")) ?: "?",
          (long long)json_integer_value(json_object_get(env, "ncpu")), json_string_value(json_object_get(env, "virt")) ?: "?", when);
  /* the answers, first: scenarios in the registry's order (robot first), then the baseline
   * (the floor), then any this build does not know */
  const char *seen[64];
  int ns = 0;
  for (int k = 0; k < rp->ngroup && ns < 64; k++) {
    int dup = 0;
    for (int i = 0; i < ns; i++)
      dup |= !strcmp(seen[i], rp->group[k].scenario);
    if (!dup)
      seen[ns++] = rp->group[k].scenario;
  }
  for (int i = 1; i < ns; i++)
    for (int j = i; j > 0 && ab__rank(seen[j]) < ab__rank(seen[j - 1]); j--) {
      const char *t = seen[j];
      seen[j] = seen[j - 1];
      seen[j - 1] = t;
    }
  fprintf(f, "<section id=\"answers\"><h2>The answers</h2><ul>\n");
  for (int i = 0; i < ns; i++) {
    const ab_rep_group_t *h = ab_rep_main_group(rp, seen[i]);
    fprintf(f, "<li id=\"rec-%s\"><span class=\"sc\"><a href=\"#sc-%s\">%s</a></span> %s</li>\n", seen[i], seen[i], seen[i],
            h->sentence);
  }
  fprintf(f, "</ul><p class=\"note\">Each answer: the architecture that meets every requirement at the lowest cost (CPU, "
             "then memory), measured here. Why the others lose, the figures and the prices are below.</p></section>\n");
  fprintf(f, "<nav>");
  for (int i = 0; i < ns; i++)
    fprintf(f, "<a href=\"#sc-%s\">%s</a>", seen[i], seen[i]);
  fprintf(f, "<a href=\"#prices\">prices</a><a href=\"#claims\">claims</a><a href=\"#machine\">machine</a></nav>\n");
  for (int i = 0; i < ns; i++)
    ab__scenario(f, rp, seen[i]);
  fprintf(f, "<section id=\"prices\"><h2>The price list</h2>\n");
  char names[4][96], titles[4][160];
  int n = ab_rep_price_figures(rp, names, titles, 4);
  if (!rp->micro)
    fprintf(f, "<p class=\"warn\">No <code>micro.json</code> in these results: <code>make bench</code> writes one.</p>\n");
  else if (!rp->gnuplot)
    fprintf(f, "<p class=\"warn\">The price charts need gnuplot (<code>apt-get install gnuplot-nox</code>).</p>\n");
  for (int i = 0; i < n; i++)
    fprintf(f, "<figure><img src=\"%s\" alt=\"%s\"><figcaption>%s</figcaption></figure>\n", names[i], titles[i], titles[i]);
  if (rp->micro)
    ab_rep_price_table(rp, f);
  if (rp->micro) {
    fprintf(f, "<p class=\"note\">From <code>");
    ab_rep_esc(f, rp->micro_file);
    fprintf(f, "</code>: Google Benchmark's JSON, which its <code>compare.py</code> reads as is. Each price is the p50 "
               "of the primitive's own latency histogram (a one-way benchmark's, apart from its paced cycle).</p>\n");
  }
  fprintf(f, "</section>\n<section id=\"claims\"><h2>The documents' claims</h2>\n");
  ab_rep_claims(rp, f);
  fprintf(f, "</section>\n");
  ab__machine(f, rp);
  fprintf(f, "</body></html>\n");
  return fclose(f) ? -1 : 0;
}
