/* The summary table printed after runs and written to <out>/summary.txt: one row per run,
 * from its figures and its requirements as evaluated (run->req). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "stats.h"


/* A row from a finished run: what it measured and its requirements as evaluated. */
void ab_table_add(ab__table_t *tb, const ab_run_t *run)
{
  if (tb->n == tb->cap) {
    int cap = tb->cap ? 2 * tb->cap : 16;
    ab__row_t *r = realloc(tb->rows, cap * sizeof *r);
    if (!r)
      return;
    tb->rows = r;
    tb->cap = cap;
  }
  ab__row_t *w = &tb->rows[tb->n++];
  memset(w, 0, sizeof *w);
  const ab_scenario_t *sc = run->sc;
  snprintf(w->scenario, sizeof w->scenario, "%s", sc->name);
  ab_run_label(run, w->arch, sizeof w->arch);
  w->status = run->status;
  w->faults = run->nfaults;
  char name[96];
  if (sc->table_role) {
    snprintf(name, sizeof name, "%s.lateness_ns", sc->table_role);
    int m = ab_metric_index(run, name);
    if (m >= 0 && run->merged[m].count) {
      ab_summary_t s;
      ab_summarize(&run->merged[m], &s);
      w->lat[0] = s.p50, w->lat[1] = s.p99, w->lat[2] = s.p999;
      w->has_lat = 1;
    }
    snprintf(name, sizeof name, "%s.missed_periods", sc->table_role);
    int c = ab_counter_index(run, name);
    if (c >= 0)
      w->missed = run->ctotal[c];
  }
  if (sc->table_chain) {
    int m = ab_metric_index(run, sc->table_chain);
    if (m >= 0 && run->merged[m].count) {
      ab_summary_t s;
      ab_summarize(&run->merged[m], &s);
      w->chain[0] = s.p50, w->chain[1] = s.p99, w->chain[2] = s.max;
      w->has_chain = 1;
    }
  }
  if (sc->table_chain_lost) {
    int c = ab_counter_index(run, sc->table_chain_lost);
    w->chain_lost = c >= 0 ? run->ctotal[c] : 0;
    w->has_lost = c >= 0;
  }
  ab_res_t t;
  ab_run_total(run, &t);
  double win = (run->t_run1 - run->ctl->t_start) / 1e9;
  w->cpu_pct = win > 0 ? 100.0 * (t.cpu_user_s + t.cpu_sys_s) / win : 0;
  w->pss_mb = t.pss_kb / 1024.0;
  w->nreqs = sc->nreqs;
  w->req_failed = run->req_failed;
  for (int i = 0; i < sc->nreqs; i++)
    if (!run->req[i].pass) {
      size_t n = strlen(w->failed_reqs);
      snprintf(w->failed_reqs + n, sizeof w->failed_reqs - n, "%s%s%s", n ? ", " : "", sc->reqs[i].name,
               run->req[i].have ? "" : " (no data)");
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

static void ab__table_to(const ab__table_t *tb, FILE *f)
{
  fprintf(f, "%-9s %-12s %9s %9s %9s %6s  %9s %9s %9s %5s %6s %7s  %s\n", "scenario", "arch", "late p50",
          "p99", "p99.9", "missed", "chain p50", "p99", "max", "lost", "cpu%", "PSS MB", "verdict");
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
    char verdict[260];
    if (w->status == AB_ST_FAILED)
      snprintf(verdict, sizeof verdict, "RUN FAILED");
    else if (w->req_failed)
      snprintf(verdict, sizeof verdict, "FAIL: %s", w->failed_reqs);
    else if (!w->nreqs)
      snprintf(verdict, sizeof verdict, "no requirements%s", w->status == AB_ST_PARTIAL ? " (partial)" : "");
    else
      snprintf(verdict, sizeof verdict, "pass (%d/%d)%s", w->nreqs, w->nreqs,
               w->status == AB_ST_PARTIAL ? " partial" : "");
    fprintf(f, "%-9s %-12s %9s %9s %9s %6lld  %9s %9s %9s %5s %6.1f %7.1f  %s%s\n", w->scenario, w->arch, c[0],
            c[1], c[2], (long long)w->missed, c[3], c[4], c[5], lost, w->cpu_pct, w->pss_mb, verdict,
            w->faults ? " [faults injected]" : "");
  }
}

/* The table on stdout, and in <out>/summary.txt beside the results it sums up: written under
 * a fresh name and renamed, so a symlink planted as summary.txt is replaced, never followed. */
void ab_table_print(const ab__table_t *tb, const char *out)
{
  if (!tb->n)
    return;
  putchar('\n');
  ab__table_to(tb, stdout);
  char *path = NULL, *tmp = NULL;
  if (asprintf(&path, "%s/summary.txt", out) < 0 || asprintf(&tmp, "%s.XXXXXX", path) < 0) {
    free(path);
    return;
  }
  int fd = mkostemp(tmp, O_CLOEXEC), ok = 0;
  FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
  if (f) {
    fchmod(fd, 0644);
    ab__table_to(tb, f);
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

