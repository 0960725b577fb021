/* `archbench compare BASE NEW`: every metric both sides share (compare_load.c), judged one
 * by one (compare_stats.c) and as a family (Holm), then written out (compare_out.c). Every
 * metric is a time or a cost: larger is worse.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "compare.h"

const char *const ab_cmp_verdict_names[5] = { "no change", "inconclusive", "improvement", "regression", "not gated" };

#define AB__BOOT_ROUNDS 2000

static int ab__err(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int ab__err(char *err, size_t len, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, len, fmt, ap);
  va_end(ap);
  return AB_EXIT_USAGE;
}

static uint64_t ab__fnv(const char *s)
{
  uint64_t h = 1469598103934665603ull;
  while (*s)
    h = (h ^ (unsigned char)*s++) * 1099511628211ull;
  return h;
}

static int ab__all_equal(const ab_cmp_metric_t *m)
{
  for (int i = 0; i < m->nb; i++)
    if (m->base[i] != m->base[0])
      return 0;
  for (int j = 0; j < m->nn; j++)
    if (m->new_[j] != m->base[0])
      return 0;
  return 1;
}

/* The ratio, the raw tests and whether the metric can gate. */
static void ab__measure(ab_cmp_metric_t *m)
{
  m->base_med = ab_cmp_median(m->base, m->nb);
  m->new_med = ab_cmp_median(m->new_, m->nn);
  m->p_raw = ab_mwu_greater(m->base, m->nb, m->new_, m->nn, &m->exact);
  m->p_better_raw = ab_mwu_greater(m->new_, m->nn, m->base, m->nb, NULL);
  m->gated = 1;
  if (ab__all_equal(m)) {
    m->ratio = m->lo = m->hi = 1;
    return;
  }
  m->ratio = ab_hl_ratio(m->base, m->nb, m->new_, m->nn);
  if (isnan(m->ratio) ||
      ab_hl_ratio_ci(m->base, m->nb, m->new_, m->nn, 0.95, AB__BOOT_ROUNDS, ab__fnv(m->id), &m->lo, &m->hi)) {
    m->gated = 0;
    snprintf(m->why, sizeof m->why, "no ratio: a value is 0 or less");
    return;
  }
  if (m->q > 0) { /* a tail rests on its last few samples: gate only with 10/(1-q) per repeat */
    double need = ceil(10 / (1 - m->q) - 1e-6);
    if (m->min_count < need) {
      m->gated = 0;
      snprintf(m->why, sizeof m->why, "a tail: a repeat holds %.0f samples, %.0f needed to gate on it", m->min_count, need);
    }
  }
}

static void ab__verdict(ab_cmp_metric_t *m, double t, double alpha)
{
  if (!m->gated) {
    m->verdict = AB_CMP_NOT_GATED;
    return;
  }
  double up = 1 + t, down = 1 - t;
  if (m->p < alpha && m->lo > up) {
    m->verdict = AB_CMP_REGRESSION;
    snprintf(m->why, sizeof m->why, "worse: p %.2g < %g and the interval lies above %.3g", m->p, alpha, up);
  } else if (m->p_better < alpha && m->hi < down) {
    m->verdict = AB_CMP_IMPROVEMENT;
    snprintf(m->why, sizeof m->why, "better: p %.2g < %g and the interval lies below %.3g", m->p_better, alpha, down);
  } else if (m->lo >= down && m->hi <= up) {
    m->verdict = AB_CMP_NO_CHANGE;
    snprintf(m->why, sizeof m->why, "the interval lies within %.3g..%.3g", down, up);
  } else {
    m->verdict = AB_CMP_INCONCLUSIVE;
    if (m->lo > up || m->hi < down) /* beyond the threshold, but the test does not say so */
      snprintf(m->why, sizeof m->why, "the interval lies %s %.3g but p %.2g is not below %g", m->lo > up ? "above" : "below",
               m->lo > up ? up : down, m->lo > up ? m->p : m->p_better, alpha);
    else
      snprintf(m->why, sizeof m->why, "the interval %.3g..%.3g straddles %.3g", m->lo, m->hi, m->hi > up ? up : down);
  }
}

int ab_compare_judge(ab_cmp_t *c, char *err, size_t len)
{
  int M = 0;
  double *p = malloc((size_t)(c->nm ? c->nm : 1) * sizeof *p), *adj = malloc((size_t)(c->nm ? c->nm : 1) * sizeof *adj);
  if (!p || !adj) {
    free(p), free(adj);
    return ab__err(err, len, "compare: out of memory at %d metrics", c->nm);
  }
  for (int i = 0; i < c->nm; i++) {
    ab__measure(&c->m[i]);
    M += c->m[i].gated;
  }
  c->ngated = M;
  /* Holm's first step asks p < alpha / M: a metric whose smallest possible p misses it can
   * never fail the gate, and a gate that cannot fail is no gate */
  for (int i = 0; i < c->nm; i++) {
    ab_cmp_metric_t *m = &c->m[i];
    if (m->gated && ab_mwu_min_p(m->nb, m->nn) * M >= c->alpha) {
      int k = ab_mwu_repeats_for(c->alpha / M);
      free(p), free(adj);
      return ab__err(err, len, "compare: too few repeats to test at alpha %g: %s has %d in BASE and %d in NEW; across "
                     "%d metrics a regression needs p < %.2g, which the U test reaches with %d or more on each side "
                     "(run more repeats, or choose fewer metrics with --metrics)", c->alpha, m->id, m->nb, m->nn, M,
                     c->alpha / M, k);
    }
  }
  for (int pass = 0; pass < 2; pass++) { /* Holm over the gated metrics: worse, then better */
    for (int i = 0; i < c->nm; i++)
      p[i] = c->m[i].gated ? (pass ? c->m[i].p_better_raw : c->m[i].p_raw) : NAN;
    ab_holm(p, c->nm, adj);
    for (int i = 0; i < c->nm; i++)
      *(pass ? &c->m[i].p_better : &c->m[i].p) = c->m[i].gated ? adj[i] : (pass ? c->m[i].p_better_raw : c->m[i].p_raw);
  }
  free(p), free(adj);
  memset(c->count, 0, sizeof c->count);
  for (int i = 0; i < c->nm; i++) {
    ab__verdict(&c->m[i], c->threshold, c->alpha);
    c->count[c->m[i].verdict]++;
  }
  c->verdict = c->count[AB_CMP_REGRESSION]     ? AB_CMP_REGRESSION
               : c->count[AB_CMP_IMPROVEMENT]  ? AB_CMP_IMPROVEMENT
               : c->count[AB_CMP_INCONCLUSIVE] ? AB_CMP_INCONCLUSIVE
                                               : AB_CMP_NO_CHANGE;
  c->exit_code = c->verdict == AB_CMP_REGRESSION ? AB_EXIT_FAIL : AB_EXIT_OK;
  return 0;
}

void ab_compare_free(ab_cmp_t *c)
{
  for (int i = 0; i < c->nm; i++)
    free(c->m[i].base);
  free(c->m);
  for (int i = 0; i < c->nbase_dirs; i++)
    free(c->base_dirs[i]);
  for (int i = 0; i < c->nnew_dirs; i++)
    free(c->new_dirs[i]);
  free(c->base_dirs), free(c->new_dirs);
  memset(c, 0, sizeof *c);
}

static const char ab__usage[] =
  "usage: archbench compare BASE_DIR NEW_DIR [--threshold 5%] [--alpha 0.01] [--metrics GLOB[,GLOB..]]\n"
  "                         [--json FILE] [--junit FILE] [--markdown FILE] [--quiet]\n"
  "A side is a run directory, or a directory of run directories (their repeats pooled).\n"
  "Exit 1 when a metric regressed, 0 when none did, 2 on bad input.\n";

/* "5%" or 0.05: a fraction in (0, lim) */
static int ab__fraction(const char *opt, const char *s, double lim, double *v)
{
  char *end;
  errno = 0;
  double x = strtod(s, &end);
  if (end != s && *end == '%' && end[1] == 0)
    x /= 100;
  else if (end == s || *end || x >= 1)
    x = NAN;
  if (errno || !(x > 0 && x < lim)) {
    fprintf(stderr, "archbench: compare: %s %s: expected a percentage such as 5%% or a fraction such as 0.05, "
            "above 0 and below %g\n", opt, s, lim);
    return -1;
  }
  *v = x;
  return 0;
}

int ab_compare_main(int argc, char **argv)
{
  ab_cmp_t c = { .threshold = 0.05, .alpha = 0.01 };
  const char *pos[2] = { 0 }, *globs = NULL;
  char jdef[PATH_MAX + 16], err[1024] = "";
  int npos = 0, quiet = 0, rc;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int takes = !strcmp(a, "--threshold") || !strcmp(a, "--alpha") || !strcmp(a, "--metrics") || !strcmp(a, "--json") ||
                !strcmp(a, "--junit") || !strcmp(a, "--markdown");
    if (takes && !v) {
      fprintf(stderr, "archbench: compare: %s needs a value\n%s", a, ab__usage);
      return AB_EXIT_USAGE;
    }
    if (!strcmp(a, "--threshold")) {
      if (ab__fraction(a, v, 1, &c.threshold))
        return AB_EXIT_USAGE;
    } else if (!strcmp(a, "--alpha")) {
      if (ab__fraction(a, v, 0.5, &c.alpha))
        return AB_EXIT_USAGE;
    } else if (!strcmp(a, "--metrics"))
      globs = v;
    else if (!strcmp(a, "--json"))
      c.json_path = v;
    else if (!strcmp(a, "--junit"))
      c.junit_path = v;
    else if (!strcmp(a, "--markdown"))
      c.md_path = v;
    else if (!strcmp(a, "--quiet"))
      quiet = 1;
    else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(ab__usage, stdout);
      return AB_EXIT_OK;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "archbench: compare: unknown option %s\n%s", a, ab__usage);
      return AB_EXIT_USAGE;
    } else if (npos == 2) {
      fprintf(stderr, "archbench: compare: %s: one BASE_DIR and one NEW_DIR only (pool runs by putting them in one "
              "directory)\n%s", a, ab__usage);
      return AB_EXIT_USAGE;
    } else
      pos[npos++] = a;
    i += takes;
  }
  if (npos < 2) {
    fprintf(stderr, "archbench: compare: missing %s\n%s", npos ? "NEW_DIR" : "BASE_DIR and NEW_DIR", ab__usage);
    return AB_EXIT_USAGE;
  }
  rc = ab_compare_load(&c, pos[0], pos[1], globs, err, sizeof err);
  if (!rc)
    rc = ab_compare_judge(&c, err, sizeof err);
  if (rc) {
    fprintf(stderr, "archbench: %s\n", err);
    ab_compare_free(&c);
    return rc;
  }
  if (!c.json_path) {
    snprintf(jdef, sizeof jdef, "%s/compare.json", pos[1]);
    c.json_path = jdef;
  }
  ab_compare_print(&c, stdout, quiet);
  int w = ab_compare_json(&c, c.json_path);
  if (!w && c.junit_path)
    w = ab_compare_junit(&c, c.junit_path);
  if (!w && c.md_path)
    w = ab_compare_markdown(&c, c.md_path);
  rc = w ? AB_EXIT_RESOURCE : c.exit_code;
  ab_compare_free(&c);
  return rc;
}
