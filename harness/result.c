/* The result file (schema archbench-result/1, DESIGN.md): one JSON object per run, written
 * to a temporary file in the same directory and renamed, so a crash never leaves half a
 * file. Histograms are written as [[upper_ns, count], ...] over the non-empty buckets. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "stats.h"

typedef struct ab__json {
  FILE *f;
  int depth;
  int first[16];
} ab__json_t;

static void ab__jstr(FILE *f, const char *s)
{
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p == '\n')
      fputs("\\n", f);
    else if (*p < 0x20)
      fprintf(f, "\\u%04x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

static void ab__jsep(ab__json_t *j)
{
  if (!j->first[j->depth])
    fputc(',', j->f);
  j->first[j->depth] = 0;
  fprintf(j->f, "\n%*s", 2 * j->depth, "");
}

static void ab__jkey(ab__json_t *j, const char *k)
{
  ab__jsep(j);
  ab__jstr(j->f, k);
  fputs(": ", j->f);
}

static void ab__jopen(ab__json_t *j, const char *k, char c)
{
  if (k)
    ab__jkey(j, k);
  else
    ab__jsep(j);
  fputc(c, j->f);
  j->depth++;
  j->first[j->depth] = 1;
}

static void ab__jclose(ab__json_t *j, char c)
{
  j->depth--;
  fprintf(j->f, "\n%*s%c", 2 * j->depth, "", c);
}

static void ab__jnum(ab__json_t *j, const char *k, double v)
{
  ab__jkey(j, k);
  if (!isfinite(v))
    fputs("null", j->f);
  else if (v == (double)(int64_t)v && fabs(v) < 9e15)
    fprintf(j->f, "%lld", (long long)v);
  else
    fprintf(j->f, "%.6g", v);
}

static void ab__js(ab__json_t *j, const char *k, const char *v)
{
  ab__jkey(j, k);
  if (v)
    ab__jstr(j->f, v);
  else
    fputs("null", j->f);
}

static void ab__jres(ab__json_t *j, const char *k, const ab_res_t *r, int with_mem)
{
  ab__jopen(j, k, '{');
  ab__jnum(j, "cpu_user_s", r->cpu_user_s);
  ab__jnum(j, "cpu_sys_s", r->cpu_sys_s);
  ab__jnum(j, "ctx_vol", (double)r->ctx_vol);
  ab__jnum(j, "ctx_invol", (double)r->ctx_invol);
  if (with_mem) {
    ab__jnum(j, "rss_kb", (double)r->rss_kb);
    ab__jnum(j, "pss_kb", (double)r->pss_kb);
  }
  if (r->pid)
    ab__jnum(j, "pid", r->pid);
  /* window: the measured window; lifetime: the role died before it could say, so this is
   * the kernel's account of its whole life; none: nothing is known. */
  ab__js(j, "scope", r->valid == 1 ? "window" : r->valid == 2 ? "lifetime" : "none");
  ab__jclose(j, '}');
}

static const char *const status_names[] = { "ok", "partial", "failed" };

/* The whole run's costs: the supervisor's process (which holds every thread for threads and
 * loop), plus every role process for procs. */
void ab_run_total(const ab_run_t *run, ab_res_t *t)
{
  *t = run->res_super;
  if (run->arch != AB_ARCH_PROCS)
    return;
  for (int i = 0; i < run->sc->nroles; i++) {
    const ab_res_t *r = &run->ctl->res[i];
    if (!r->valid)
      continue;
    t->cpu_user_s += r->cpu_user_s;
    t->cpu_sys_s += r->cpu_sys_s;
    t->ctx_vol += r->ctx_vol;
    t->ctx_invol += r->ctx_invol;
    t->rss_kb += r->rss_kb;
    t->pss_kb += r->pss_kb;
  }
}

static void ab__metric(ab__json_t *j, const char *name, const ab_hist_t *h)
{
  ab_summary_t s;
  ab_summarize(h, &s);
  ab__jopen(j, name, '{');
  ab__jnum(j, "count", (double)s.count);
  ab__jnum(j, "min", (double)s.min);
  ab__jnum(j, "p50", (double)s.p50);
  ab__jnum(j, "p90", (double)s.p90);
  ab__jnum(j, "p99", (double)s.p99);
  ab__jnum(j, "p999", (double)s.p999);
  ab__jnum(j, "p9999", (double)s.p9999);
  ab__jnum(j, "max", (double)s.max);
  ab__jnum(j, "mean", s.mean);
  ab__jnum(j, "stddev", s.stddev);
  ab__jkey(j, "hist");
  fputc('[', j->f);
  int first = 1;
  for (int b = 0; b < AB_HIST_NBUCKETS; b++)
    if (h->buckets[b]) {
      fprintf(j->f, "%s[%lld,%llu]", first ? "" : ",", (long long)ab_hist_upper(b),
              (unsigned long long)h->buckets[b]);
      first = 0;
    }
  fputc(']', j->f);
  ab__jclose(j, '}');
}

int ab_run_result_write(ab_run_t *run, const char *path)
{
  const ab_scenario_t *sc = run->sc;
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f)
    return -errno;
  ab__json_t j = { .f = f, .depth = 0 };
  j.first[0] = 1;
  fputc('{', f);
  j.depth = 1;
  j.first[1] = 1;
  ab__js(&j, "schema", "archbench-result/1");
  ab__js(&j, "scenario", sc->name);
  ab__js(&j, "arch", ab_arch_name(run->arch));
  ab__js(&j, "transport", run->transport_name);
  ab__js(&j, "status", status_names[run->status]);
  ab__js(&j, "error", run->error[0] ? run->error : NULL);
  ab__js(&j, "started_at", run->started_at);
  double window = (run->t_run1 - run->ctl->t_start) / 1e9;
  ab__jnum(&j, "duration_s", window > 0 ? window : 0);
  ab__jnum(&j, "requested_duration_s", run->duration_ns / 1e9);

  ab__jopen(&j, "params", '{');
  for (int i = 0; i < sc->nparams; i++)
    ab__js(&j, sc->params[i].name, run->pstr[i]);
  ab__jclose(&j, '}');
  ab__jopen(&j, "calibration", '{');
  for (int i = 0; i < run->ncalib; i++) {
    if (run->calib[i].is_str)
      ab__js(&j, run->calib[i].key, run->calib[i].str);
    else
      ab__jnum(&j, run->calib[i].key, run->calib[i].num);
  }
  ab__jclose(&j, '}');
  ab__jopen(&j, "devices", '{');
  for (int d = 0; d < sc->ndevs; d++)
    ab__js(&j, sc->devs[d].name, run->devops[d] && run->devstate[d] ? run->devops[d]->backend(run->devstate[d]) : "unprepared");
  ab__jclose(&j, '}');

  ab_sysinfo_t si;
  ab_sysinfo(&si, run);
  ab__jopen(&j, "env", '{');
  ab__js(&j, "kernel", si.kernel);
  ab__js(&j, "cpu", si.cpu);
  ab__jnum(&j, "ncpu", si.ncpu);
  ab__js(&j, "virt", si.virt);
  ab__js(&j, "sched", si.sched);
  ab__js(&j, "clocksource", si.clocksource);
  ab__js(&j, "governor", si.governor);
  ab__js(&j, "host", si.host);
  ab__js(&j, "mlock", run->mlock_err == 0 ? "all, on fault" : strerror(-run->mlock_err));
  ab__jclose(&j, '}');

  ab__jopen(&j, "phases", '{');
  ab__jnum(&j, "setup_s", (run->t_setup1 - run->t_setup0) / 1e9);
  ab__jnum(&j, "run_s", window > 0 ? window : 0);
  ab__jnum(&j, "teardown_s", (run->t_teardown1 - run->t_run1) / 1e9);
  ab__jclose(&j, '}');

  ab__jopen(&j, "metrics", '{');
  for (int m = 0; m < run->nmt; m++)
    ab__metric(&j, run->mt_name[m], &run->merged[m]);
  ab__jclose(&j, '}');
  ab__jopen(&j, "counters", '{');
  for (int c = 0; c < run->nct; c++)
    ab__jnum(&j, run->ct_name[c], (double)run->ctotal[c]);
  ab__jclose(&j, '}');

  ab_res_t total;
  ab_run_total(run, &total);
  ab__jopen(&j, "resources", '{');
  ab__jres(&j, "total", &total, 1);
  ab__jnum(&j, "cpu_percent", window > 0 ? 100.0 * (total.cpu_user_s + total.cpu_sys_s) / window : 0);
  ab__jopen(&j, "roles", '{');
  for (int i = 0; i < sc->nroles; i++)
    ab__jres(&j, sc->roles[i].name, &run->ctl->res[i], run->arch == AB_ARCH_PROCS);
  ab__jclose(&j, '}');
  if (run->arch == AB_ARCH_PROCS)
    ab__jres(&j, "supervisor", &run->res_super, 1);
  ab__jclose(&j, '}');

  ab__jopen(&j, "requirements", '[');
  for (int i = 0; i < sc->nreqs; i++) {
    const ab_req_desc_t *q = &sc->reqs[i];
    double v = NAN;
    int have = ab_req_value(run, q->name, &v) == 0;
    double lim = q->limit_param ? ab_param(run, q->limit_param) * q->limit_scale : q->limit;
    int pass = have && (q->op == AB_LE ? v <= lim : q->op == AB_LT ? v < lim : q->op == AB_GE ? v >= lim : v == lim);
    static const char *const ops[] = { "", "<=", "<", ">=", "==" };
    ab__jopen(&j, NULL, '{');
    ab__js(&j, "name", q->name);
    ab__js(&j, "op", ops[q->op]);
    ab__jnum(&j, "limit", lim);
    ab__jnum(&j, "value", v);
    ab__jkey(&j, "pass");
    fputs(pass ? "true" : "false", f);
    ab__jclose(&j, '}');
  }
  ab__jclose(&j, ']');
  fputs("\n}\n", f);
  int bad = ferror(f);
  if (fflush(f) != 0 || fsync(fileno(f)) != 0)
    bad = 1;
  if (fclose(f) != 0 || bad) {
    int e = errno ? errno : EIO;
    unlink(tmp);
    return -e;
  }
  if (rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return -e;
  }
  return 0;
}
