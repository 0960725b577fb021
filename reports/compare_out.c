/* What compare writes: the table on stdout, compare.json (everything, for tools), JUnit XML
 * (one test case per metric, a regression a failure: CI systems show it natively) and a
 * Markdown summary for a pull-request comment. Rows come worst first: regressions,
 * improvements, inconclusive, no change, not gated. Files are written under a temporary name
 * and renamed whole.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "compare.h"

static const int ab__order[5] = { AB_CMP_REGRESSION, AB_CMP_IMPROVEMENT, AB_CMP_INCONCLUSIVE, AB_CMP_NO_CHANGE,
                                  AB_CMP_NOT_GATED };

static const char *ab__val(char *buf, size_t len, const ab_cmp_metric_t *m, double v)
{
  if (isnan(v))
    snprintf(buf, len, "-");
  else if (!strcmp(m->unit, "%"))
    snprintf(buf, len, "%.1f%%", v);
  else
    ab_fmt_ns(buf, len, v);
  return buf;
}

static const char *ab__ratio(char *buf, size_t len, const ab_cmp_metric_t *m)
{
  if (isnan(m->ratio))
    snprintf(buf, len, "-");
  else
    snprintf(buf, len, "%.3f [%.3f, %.3f]", m->ratio, m->lo, m->hi);
  return buf;
}

/* The p that decided the row: the better-direction one for an improvement. */
static double ab__p(const ab_cmp_metric_t *m) { return m->verdict == AB_CMP_IMPROVEMENT ? m->p_better : m->p; }

static void ab__summary(const ab_cmp_t *c, char *buf, size_t len)
{
  int nb = 0, nn = 0; /* the most repeats a metric has on each side */
  for (int i = 0; i < c->nm; i++)
    nb = c->m[i].nb > nb ? c->m[i].nb : nb, nn = c->m[i].nn > nn ? c->m[i].nn : nn;
  snprintf(buf, len, "%s: %d regression%s, %d improvement%s, %d inconclusive, %d no change, %d not gated; %d metrics "
           "gated at alpha %g after Holm, threshold %g%%; %d repeats of BASE, %d of NEW",
           ab_cmp_verdict_names[c->verdict], c->count[AB_CMP_REGRESSION], c->count[AB_CMP_REGRESSION] == 1 ? "" : "s",
           c->count[AB_CMP_IMPROVEMENT], c->count[AB_CMP_IMPROVEMENT] == 1 ? "" : "s", c->count[AB_CMP_INCONCLUSIVE],
           c->count[AB_CMP_NO_CHANGE], c->count[AB_CMP_NOT_GATED], c->ngated, c->alpha, c->threshold * 100, nb, nn);
}

void ab_compare_print(const ab_cmp_t *c, FILE *f, int quiet)
{
  char b[32], n[32], r[64], s[512];
  int w = 6;
  for (int i = 0; i < c->nm; i++)
    w = (int)strlen(c->m[i].id) > w ? (int)strlen(c->m[i].id) : w;
  w = w > 64 ? 64 : w;
  fprintf(f, "%-12s %-*s %10s %10s %-26s %9s  %s\n", "verdict", w, "metric", "base", "new", "ratio [95% CI]", "p", "n");
  for (int o = 0; o < 5; o++)
    for (int i = 0; i < c->nm; i++) {
      const ab_cmp_metric_t *m = &c->m[i];
      if (m->verdict != ab__order[o] || (quiet && (m->verdict == AB_CMP_NO_CHANGE || m->verdict == AB_CMP_NOT_GATED)))
        continue;
      fprintf(f, "%-12s %-*s %10s %10s %-26s %9.2g  %d/%d\n", ab_cmp_verdict_names[m->verdict], w, m->id,
              ab__val(b, sizeof b, m, m->base_med), ab__val(n, sizeof n, m, m->new_med), ab__ratio(r, sizeof r, m),
              ab__p(m), m->nb, m->nn);
    }
  for (int i = 0; i < c->nnotes; i++)
    fprintf(f, "note: %s\n", c->notes[i]);
  ab__summary(c, s, sizeof s);
  fprintf(f, "compare: %s\n", s);
}

/* path.tmp written by fn, then renamed to path: 0, or -1 after saying why */
static int ab__write(const ab_cmp_t *c, const char *path, void (*fn)(const ab_cmp_t *, FILE *))
{
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) {
    fprintf(stderr, "archbench: compare: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  fn(c, f);
  if (ferror(f) | fclose(f) || rename(tmp, path)) {
    fprintf(stderr, "archbench: compare: cannot write %s: %s\n", path, strerror(errno));
    unlink(tmp);
    return -1;
  }
  return 0;
}

static json_t *ab__num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static void ab__json(const ab_cmp_t *c, FILE *f)
{
  json_t *d = json_object(), *dirs[2] = { json_array(), json_array() }, *counts = json_object(), *ms = json_array(),
         *notes = json_array();
  for (int i = 0; i < c->nbase_dirs; i++)
    json_array_append_new(dirs[0], json_string(c->base_dirs[i]));
  for (int i = 0; i < c->nnew_dirs; i++)
    json_array_append_new(dirs[1], json_string(c->new_dirs[i]));
  for (int v = 0; v < 5; v++)
    json_object_set_new(counts, ab_cmp_verdict_names[v], json_integer(c->count[v]));
  for (int i = 0; i < c->nnotes; i++)
    json_array_append_new(notes, json_string(c->notes[i]));
  for (int o = 0; o < 5; o++)
    for (int i = 0; i < c->nm; i++) {
      const ab_cmp_metric_t *m = &c->m[i];
      if (m->verdict != ab__order[o])
        continue;
      json_t *b = json_array(), *n = json_array();
      for (int k = 0; k < m->nb; k++)
        json_array_append_new(b, json_real(m->base[k]));
      for (int k = 0; k < m->nn; k++)
        json_array_append_new(n, json_real(m->new_[k]));
      json_array_append_new(ms, json_pack("{s:s, s:s, s:s, s:i, s:i, s:o, s:o, s:o, s:[o, o], s:o, s:o, s:o, s:o, s:b, "
                                          "s:b, s:s, s:s, s:o, s:o}",
                                          "id", m->id, "kind", m->kind, "unit", m->unit, "n_base", m->nb, "n_new", m->nn,
                                          "base", ab__num(m->base_med), "new", ab__num(m->new_med), "ratio", ab__num(m->ratio),
                                          "ci", ab__num(m->lo), ab__num(m->hi), "p", ab__num(m->p), "p_raw", ab__num(m->p_raw),
                                          "p_better", ab__num(m->p_better), "p_better_raw", ab__num(m->p_better_raw),
                                          "exact", m->exact, "gated", m->gated, "verdict", ab_cmp_verdict_names[m->verdict],
                                          "why", m->why, "base_samples", b, "new_samples", n));
    }
  json_object_set_new(d, "schema", json_string("archbench-compare/1"));
  json_object_set_new(d, "base", dirs[0]);
  json_object_set_new(d, "new", dirs[1]);
  json_object_set_new(d, "threshold", json_real(c->threshold));
  json_object_set_new(d, "alpha", json_real(c->alpha));
  json_object_set_new(d, "verdict", json_string(ab_cmp_verdict_names[c->verdict]));
  json_object_set_new(d, "exit", json_integer(c->exit_code));
  json_object_set_new(d, "gated", json_integer(c->ngated));
  json_object_set_new(d, "counts", counts);
  json_object_set_new(d, "notes", notes);
  json_object_set_new(d, "metrics", ms);
  json_dumpf(d, f, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
  fputc('\n', f);
  json_decref(d);
}

int ab_compare_json(const ab_cmp_t *c, const char *path) { return ab__write(c, path, ab__json); }

static void ab__xml(FILE *f, const char *s)
{
  for (; *s; s++)
    switch (*s) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&apos;", f); break;
    default:
      if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
        fputc(*s, f);
    }
}

/* "<metric>: base X, new Y, ratio R [lo, hi], p P: why" */
static void ab__line(const ab_cmp_metric_t *m, char *buf, size_t len)
{
  char b[32], n[32], r[64];
  snprintf(buf, len, "base %s, new %s, ratio %s, p %.2g, %d/%d repeats: %s", ab__val(b, sizeof b, m, m->base_med),
           ab__val(n, sizeof n, m, m->new_med), ab__ratio(r, sizeof r, m), ab__p(m), m->nb, m->nn, m->why);
}

static void ab__junit(const ab_cmp_t *c, FILE *f)
{
  char s[512], line[512];
  ab__summary(c, s, sizeof s);
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"archbench compare\" tests=\"%d\" "
          "failures=\"%d\" skipped=\"%d\">\n <testsuite name=\"archbench compare\" tests=\"%d\" failures=\"%d\" "
          "errors=\"0\" skipped=\"%d\">\n  <properties><property name=\"summary\" value=\"", c->nm,
          c->count[AB_CMP_REGRESSION], c->count[AB_CMP_NOT_GATED], c->nm, c->count[AB_CMP_REGRESSION],
          c->count[AB_CMP_NOT_GATED]);
  ab__xml(f, s);
  fputs("\"/></properties>\n", f);
  for (int o = 0; o < 5; o++)
    for (int i = 0; i < c->nm; i++) {
      const ab_cmp_metric_t *m = &c->m[i];
      if (m->verdict != ab__order[o])
        continue;
      const char *colon = strchr(m->id, ':');
      int cl = colon ? (int)(colon - m->id) : 0;
      char cls[192];
      snprintf(cls, sizeof cls, "%.*s", cl, m->id);
      fputs("  <testcase classname=\"", f);
      ab__xml(f, cls);
      fputs("\" name=\"", f);
      ab__xml(f, colon ? colon + 1 : m->id);
      fputs("\" time=\"0\">", f);
      ab__line(m, line, sizeof line);
      if (m->verdict == AB_CMP_REGRESSION || m->verdict == AB_CMP_NOT_GATED) {
        fputs(m->verdict == AB_CMP_REGRESSION ? "\n   <failure type=\"regression\" message=\"" : "\n   <skipped message=\"", f);
        ab__xml(f, line);
        fputs("\"/>\n  ", f);
      } else {
        fprintf(f, "<system-out>%s: ", ab_cmp_verdict_names[m->verdict]);
        ab__xml(f, line);
        fputs("</system-out>", f);
      }
      fputs("</testcase>\n", f);
    }
  fputs(" </testsuite>\n</testsuites>\n", f);
}

int ab_compare_junit(const ab_cmp_t *c, const char *path) { return ab__write(c, path, ab__junit); }

/* Markdown table cells: | and newlines would break the row */
static void ab__md(FILE *f, const char *s)
{
  for (; *s; s++)
    fputs(*s == '|' ? "\\|" : *s == '\n' ? " " : (char[2]){ *s, 0 }, f);
}

#define AB__MD_ROWS 40 /* a comment stays readable; compare.json has every row */

static void ab__markdown(const ab_cmp_t *c, FILE *f)
{
  char s[512], b[32], n[32], r[64];
  static const char *const mark[5] = { "no change", "inconclusive", "**improvement**", "**REGRESSION**", "not gated" };
  ab__summary(c, s, sizeof s);
  fprintf(f, "### archbench compare: %s\n\n", c->verdict == AB_CMP_REGRESSION ? "**regression**" : ab_cmp_verdict_names[c->verdict]);
  fprintf(f, "%s.\n\n", s);
  int shown = 0;
  for (int o = 0; o < 3; o++) /* the rows that say something: regressions, improvements, inconclusive */
    for (int i = 0; i < c->nm; i++) {
      const ab_cmp_metric_t *m = &c->m[i];
      if (m->verdict != ab__order[o])
        continue;
      if (shown == AB__MD_ROWS) {
        fprintf(f, "| | ... and %d more | | | | | |\n", c->count[AB_CMP_REGRESSION] + c->count[AB_CMP_IMPROVEMENT] +
                c->count[AB_CMP_INCONCLUSIVE] - shown);
        o = 3;
        break;
      }
      if (!shown++)
        fputs("| verdict | metric | base | new | ratio [95% CI] | p | why |\n|---|---|---:|---:|---|---:|---|\n", f);
      fprintf(f, "| %s | `%s` | %s | %s | %s | %.2g | ", mark[m->verdict], m->id, ab__val(b, sizeof b, m, m->base_med),
              ab__val(n, sizeof n, m, m->new_med), ab__ratio(r, sizeof r, m), ab__p(m));
      ab__md(f, m->why);
      fputs(" |\n", f);
    }
  if (!shown)
    fprintf(f, "Every metric tested lies within ±%g%% of its base.\n", c->threshold * 100);
  for (int i = 0; i < c->nnotes; i++) {
    fputs(i ? "- " : "\n**Notes**\n\n- ", f);
    ab__md(f, c->notes[i]);
    fputc('\n', f);
  }
  fprintf(f, "\nA regression: NEW worse than BASE by the one-sided Mann-Whitney U test (p < %g after Holm's correction "
          "across %d metrics) and the bootstrap 95%% interval of the Hodges-Lehmann ratio NEW/BASE wholly above %g. "
          "Every metric is in `compare.json`.\n", c->alpha, c->ngated, 1 + c->threshold);
}

int ab_compare_markdown(const ab_cmp_t *c, const char *path) { return ab__write(c, path, ab__markdown); }
