/* The summary table printed after runs and written to <out>/summary.txt, and the same rows
 * as <out>/summary.csv for programs (plain numbers in base units, an empty cell for none,
 * RFC 4180 quoting): one row per run, read from its result (result.h), never from the run's
 * internals. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "result.h"
#include "stats.h"

/* A statistic triple of a metric, if it has data. */
static int ab__stats3(const ab_result_t *r, const char *name, double out[3], int tail_is_max)
{
  ab_summary_t s;
  if (ab_result_metric(r, name, &s) < 0)
    return 0;
  out[0] = s.p50, out[1] = s.p99, out[2] = tail_is_max ? s.max : s.p999;
  return 1;
}

/* A row from a result: what the run measured and its requirements as evaluated. Which
 * columns a scenario fills (its periodic role, its chain) comes from its descriptor. */
void ab_table_add(ab__table_t *tb, const ab_result_t *r)
{
  if (tb->n == tb->cap) {
    int cap = tb->cap ? 2 * tb->cap : 16;
    ab__row_t *rows = realloc(tb->rows, cap * sizeof *rows);
    if (!rows)
      return;
    tb->rows = rows;
    tb->cap = cap;
  }
  ab__row_t *w = &tb->rows[tb->n++];
  memset(w, 0, sizeof *w);
  const ab_scenario_t *sc = ab_scenario_find(r->scenario);
  if (r->sweep_param)
    snprintf(w->scenario, sizeof w->scenario, "%s %s=%s", r->scenario, r->sweep_param, r->sweep_value);
  else
    snprintf(w->scenario, sizeof w->scenario, "%s", r->scenario);
  json_t *v = sc && sc->table_rate ? json_object_get(json_object_get(r->doc, "values"), sc->table_rate) : NULL;
  if ((w->has_rate = json_is_number(v)))
    w->rate = json_number_value(v);
  w->count = -1;
  if (sc && sc->table_count)
    ab_result_counter(r, sc->table_count, &w->count);
  ab_result_label(r, w->arch, sizeof w->arch);
  w->repeat = r->repeat_index;
  w->status = r->status;
  w->faults = r->nfaults;
  char name[96];
  if (sc && sc->table_role) {
    snprintf(name, sizeof name, "%s.lateness_ns", sc->table_role);
    w->has_lat = ab__stats3(r, name, w->lat, 0);
    snprintf(name, sizeof name, "%s.missed_periods", sc->table_role);
    w->has_missed = ab_result_counter(r, name, &w->missed) == 0;
  }
  if (sc && sc->table_chain)
    w->has_chain = ab__stats3(r, sc->table_chain, w->chain, 1);
  if (sc && sc->table_chain_lost)
    w->has_lost = ab_result_counter(r, sc->table_chain_lost, &w->chain_lost) == 0;
  w->cpu_pct = r->cpu_percent;
  w->pss_mb = r->pss_kb / 1024.0;
  w->nreqs = r->nreqs;
  w->req_failed = r->req_failed;
  for (int i = 0; i < r->nreqs; i++)
    if (!r->reqs[i].pass) {
      size_t n = strlen(w->failed_reqs);
      snprintf(w->failed_reqs + n, sizeof w->failed_reqs - n, "%s%s%s", n ? ", " : "", r->reqs[i].name,
               r->reqs[i].have ? "" : " (no data)");
    }
}

static void ab__cell_ns(char *buf, size_t len, double ns, int have)
{
  if (!have) {
    snprintf(buf, len, "-");
    return;
  }
  if (ns < 1e4)
    snprintf(buf, len, "%.1fus", ns / 1e3);
  else if (ns < 1e6)
    snprintf(buf, len, "%.0fus", ns / 1e3);
  else
    snprintf(buf, len, "%.2fms", ns / 1e6);
}

/* The last column, as both files say it: the outcome and the requirements that failed. */
static void ab__verdict(const ab__row_t *w, char *buf, size_t len)
{
  if (w->status == AB_ST_FAILED)
    snprintf(buf, len, "RUN FAILED");
  else if (w->req_failed)
    snprintf(buf, len, "FAIL: %s", w->failed_reqs);
  else if (!w->nreqs)
    snprintf(buf, len, "no requirements%s", w->status == AB_ST_PARTIAL ? " (partial)" : "");
  else
    snprintf(buf, len, "pass (%d/%d)%s", w->nreqs, w->nreqs, w->status == AB_ST_PARTIAL ? " partial" : "");
  if (w->faults) {
    size_t n = strlen(buf);
    snprintf(buf + n, len - n, " [faults injected]");
  }
}

void ab_table_write(const ab__table_t *tb, FILE *f)
{
  fprintf(f, "%-14s %-16s %9s %9s %9s %6s  %9s %9s %9s %5s %12s %6s %7s  %s\n", "scenario", "arch", "late p50",
          "p99", "p99.9", "missed", "chain p50", "p99", "max", "lost", "rate/s(n)", "cpu%", "PSS MB", "verdict");
  for (int i = 0; i < tb->n; i++) {
    const ab__row_t *w = &tb->rows[i];
    char c[6][16], lost[16];
    ab__cell_ns(c[0], 16, w->lat[0], w->has_lat);
    ab__cell_ns(c[1], 16, w->lat[1], w->has_lat);
    ab__cell_ns(c[2], 16, w->lat[2], w->has_lat);
    ab__cell_ns(c[3], 16, w->chain[0], w->has_chain);
    ab__cell_ns(c[4], 16, w->chain[1], w->has_chain);
    ab__cell_ns(c[5], 16, w->chain[2], w->has_chain);
    snprintf(lost, sizeof lost, w->has_lost ? "%lld" : "-", (long long)w->chain_lost);
    char rate[40]; /* and how many it rests on, a short profile's figures being few */
    if (w->has_rate && w->count >= 0)
      snprintf(rate, sizeof rate, "%.1f/%lld", w->rate, (long long)w->count);
    else
      snprintf(rate, sizeof rate, w->has_rate ? "%.1f" : "-", w->rate);
    char verdict[280], arch[48]; /* with its round of --repeat: "threads #2" */
    ab__verdict(w, verdict, sizeof verdict);
    snprintf(arch, sizeof arch, w->repeat ? "%s #%d" : "%s", w->arch, w->repeat);
    fprintf(f, "%-14s %-16s %9s %9s %9s %6lld  %9s %9s %9s %5s %12s %6.1f %7.1f  %s\n", w->scenario, arch, c[0],
            c[1], c[2], (long long)w->missed, c[3], c[4], c[5], lost, rate, w->cpu_pct, w->pss_mb, verdict);
  }
}

/* ---- summary.csv ----------------------------------------------------------------------------- */

const char ab_table_csv_header[] = "scenario,arch,repeat,late_p50_ns,late_p99_ns,late_p999_ns,missed_periods,chain_p50_ns,"
                                   "chain_p99_ns,chain_max_ns,chain_lost,rate_per_s,rate_count,cpu_percent,pss_mb,"
                                   "status,verdict";

/* A text field, quoted (RFC 4180: quotes doubled) when it holds a comma, a quote or a line
 * break; sep: the comma before it, but for the first. */
static void ab__csv_str(FILE *f, const char *s, int sep)
{
  if (sep)
    fputc(',', f);
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"')
      fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

/* A number as it reads back exactly, or an empty cell when there is none. */
static void ab__csv_num(FILE *f, double v, int have)
{
  char b[40] = "";
  if (have && isfinite(v))
    ab_fmt_exact(b, sizeof b, v);
  fprintf(f, ",%s", b);
}

void ab_table_csv(const ab__table_t *tb, FILE *f)
{
  fprintf(f, "%s\r\n", ab_table_csv_header);
  for (int i = 0; i < tb->n; i++) {
    const ab__row_t *w = &tb->rows[i];
    char verdict[280];
    ab__csv_str(f, w->scenario, 0);
    ab__csv_str(f, w->arch, 1);
    ab__csv_num(f, w->repeat, w->repeat > 0);
    for (int k = 0; k < 3; k++)
      ab__csv_num(f, w->lat[k], w->has_lat);
    ab__csv_num(f, (double)w->missed, w->has_missed);
    for (int k = 0; k < 3; k++)
      ab__csv_num(f, w->chain[k], w->has_chain);
    ab__csv_num(f, (double)w->chain_lost, w->has_lost);
    ab__csv_num(f, w->rate, w->has_rate);
    ab__csv_num(f, (double)w->count, w->count >= 0);
    ab__csv_num(f, w->cpu_pct, 1);
    ab__csv_num(f, w->pss_mb, 1);
    ab__csv_str(f, ab_result_status_names[w->status], 1);
    ab__verdict(w, verdict, sizeof verdict);
    ab__csv_str(f, verdict, 1);
    fputs("\r\n", f);
  }
}

/* out/name written by write(tb) under a fresh name and renamed, so a symlink planted as the
 * name is replaced, never followed. */
static void ab__table_save(const ab__table_t *tb, const char *out, const char *name,
                           void (*write)(const ab__table_t *, FILE *))
{
  char *path = NULL, *tmp = NULL;
  if (asprintf(&path, "%s/%s", out, name) < 0 || asprintf(&tmp, "%s.XXXXXX", path) < 0) {
    free(path);
    return;
  }
  int fd = mkostemp(tmp, O_CLOEXEC), ok = 0;
  FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
  if (f) {
    fchmod(fd, 0644);
    write(tb, f);
    ok = fclose(f) == 0 && rename(tmp, path) == 0;
  } else if (fd >= 0) {
    close(fd);
  }
  if (!ok) {
    fprintf(stderr, "archbench: could not write %s: %s\n", path, strerror(errno));
    if (fd >= 0)
      unlink(tmp);
  }
  free(tmp);
  free(path);
}

/* The table on stdout, and beside the results it sums up: <out>/summary.txt and summary.csv. */
void ab_table_print(const ab__table_t *tb, const char *out)
{
  if (!tb->n)
    return;
  putchar('\n');
  ab_table_write(tb, stdout);
  ab__table_save(tb, out, "summary.txt", ab_table_write);
  ab__table_save(tb, out, "summary.csv", ab_table_csv);
}
