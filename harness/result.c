/* The result file (schema archbench-result/1, DESIGN.md): one JSON object per run, written
 * to a temporary file in the same directory and renamed, so a crash never leaves half a
 * file. Histograms are written as [[upper_ns, count], ...] over the non-empty buckets. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* One cost entry. Memory where the entry is a process of its own (mem_slot >= 0: the
 * snapshot's slot); a role sharing the supervisor's process has none of its own. */
static void ab__jres(ab__json_t *j, const char *k, const ab_res_t *r, const ab_mem_t *m, int mem_slot)
{
  ab__jopen(j, k, '{');
  ab__jnum(j, "cpu_user_s", r->cpu_user_s);
  ab__jnum(j, "cpu_sys_s", r->cpu_sys_s);
  ab__jnum(j, "ctx_vol", (double)r->ctx_vol);
  ab__jnum(j, "ctx_invol", (double)r->ctx_invol);
  if (r->apportioned) /* the total is measured; the kernel cannot split it per callback */
    ab__js(j, "cpu_split", "apportioned: the loop thread's user:system ratio");
  if (mem_slot >= 0) {
    int64_t rss = m->proc_rss_kb[mem_slot];
    ab__jnum(j, "rss_kb", (double)rss);
    ab__jnum(j, "pss_kb", (double)m->proc_pss_kb[mem_slot]);
    /* The kernel's high-water mark is kept from counters updated in batches, and can trail
     * the page-table walk of the snapshot: a peak is never below what was seen. */
    if (r->maxrss_kb)
      ab__jnum(j, "rss_peak_kb", (double)(r->maxrss_kb > rss ? r->maxrss_kb : rss));
  }
  if (r->pid)
    ab__jnum(j, "pid", r->pid);
  /* window: the measured window; lifetime: the role died before it could say, so this is
   * the kernel's account of its whole life; none: nothing is known. */
  ab__js(j, "scope", r->valid == 1 ? "window" : r->valid == 2 ? "lifetime" : "none");
  ab__jclose(j, '}');
}

static const char *const status_names[] = { "ok", "partial", "failed" };

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
  /* A name nobody can have prepared (mkstemp: O_EXCL, never through a symlink); rename then
   * replaces whatever `path` was, a symlink included, not what it pointed at. */
  char *tmp = NULL;
  if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
    return -ENOMEM;
  int fd = mkostemp(tmp, O_CLOEXEC);
  FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
  if (!f) {
    int e = errno;
    if (fd >= 0) {
      close(fd);
      unlink(tmp);
    }
    free(tmp);
    return -e;
  }
  fchmod(fd, 0644);
  ab__json_t j = { .f = f, .depth = 0 };
  j.first[0] = 1;
  fputc('{', f);
  j.depth = 1;
  j.first[1] = 1;
  ab__js(&j, "schema", "archbench-result/1");
  ab__js(&j, "scenario", sc->name);
  ab__js(&j, "arch", run->rt->name);
  ab__js(&j, "transport", run->transport_name);
  ab__js(&j, "status", status_names[run->status]);
  ab__js(&j, "error", run->error[0] ? run->error : NULL);
  ab__js(&j, "started_at", run->started_at);
  double window = (run->t_run1 - run->ctl->t_start) / 1e9;
  ab__jnum(&j, "duration_s", window > 0 ? window : 0);
  ab__jnum(&j, "requested_duration_s", run->duration_ns / 1e9);
  if (run->nfaults) { /* injected on purpose: these figures are a test's, not a measurement */
    ab__jopen(&j, "faults", '[');
    for (int i = 0; i < run->nfaults; i++) {
      ab__jsep(&j);
      ab__jstr(f, run->faults[i].spec);
    }
    ab__jclose(&j, ']');
  }

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
  ab__js(&j, "cpus", si.cpus);
  ab__js(&j, "clocksource", si.clocksource);
  ab__js(&j, "governor", si.governor);
  ab__js(&j, "host", si.host);
  ab__js(&j, "mlock", run->mlock_err == 0 ? "all, on fault" : strerror(-run->mlock_err));
  ab__js(&j, "latency_target", run->latency_note[0] ? run->latency_note : "off");
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
  if (sc->nvalues) {
    ab__jopen(&j, "values", '{');
    for (int v = 0; v < sc->nvalues; v++)
      ab__jnum(&j, sc->values[v], run->value_set[v] ? run->values[v] : NAN);
    ab__jclose(&j, '}');
  }

  /* Costs: the total measured whole; each role; the runtime's own work outside every role
   * (the loop's dispatch); the supervisor. The parts add up to the total. Memory: every
   * process of the run read at one instant at the end of the window. */
  const ab_res_t *total = &run->res_total;
  const ab_mem_t *mem = &run->mem;
  ab__jopen(&j, "resources", '{');
  ab__jopen(&j, "total", '{');
  ab__jnum(&j, "cpu_user_s", total->cpu_user_s);
  ab__jnum(&j, "cpu_sys_s", total->cpu_sys_s);
  ab__jnum(&j, "ctx_vol", (double)total->ctx_vol);
  ab__jnum(&j, "ctx_invol", (double)total->ctx_invol);
  ab__jnum(&j, "rss_kb", mem->t_ns ? (double)mem->rss_kb : NAN);
  ab__jnum(&j, "pss_kb", mem->t_ns ? (double)mem->pss_kb : NAN);
  ab__jnum(&j, "rss_peak_kb", mem->samples ? (double)mem->rss_peak_kb : NAN);
  ab__jnum(&j, "pss_peak_kb", mem->samples ? (double)mem->pss_peak_kb : NAN);
  ab__jnum(&j, "mem_at_s", mem->t_ns ? (mem->t_ns - run->ctl->t_start) / 1e9 : NAN);
  ab__jnum(&j, "mem_samples", mem->samples);
  ab__js(&j, "mem_scope", !mem->t_ns ? "none" : mem->valid ? "every process at one instant"
                                                            : "incomplete: a process of the run had gone");
  ab__jclose(&j, '}');
  ab__jnum(&j, "cpu_percent", window > 0 ? 100.0 * (total->cpu_user_s + total->cpu_sys_s) / window : 0);
  ab__jopen(&j, "roles", '{');
  static const ab_res_t unknown; /* a wedged role's own account is still being written */
  for (int i = 0; i < sc->nroles; i++)
    ab__jres(&j, sc->roles[i].name, run->role_wedged[i] ? &unknown : &run->ctl->res[i], mem,
             run->role_pid[i] ? i : -1);
  ab__jclose(&j, '}');
  if (run->ctl->res_runtime.valid)
    ab__jres(&j, "runtime", &run->ctl->res_runtime, mem, -1);
  ab__jres(&j, "supervisor", &run->res_super, mem, run->rt->same_process ? -1 : AB_MAX_ROLES);
  ab__jclose(&j, '}');

  ab__jopen(&j, "requirements", '[');
  for (int i = 0; i < sc->nreqs; i++) {
    const ab_req_desc_t *q = &sc->reqs[i];
    const ab_req_eval_t *e = &run->req[i];
    ab__jopen(&j, NULL, '{');
    ab__js(&j, "name", q->name);
    ab__js(&j, "op", ab_req_op_name(q->op));
    ab__jnum(&j, "limit", e->limit);
    ab__jnum(&j, "value", e->have ? e->value : NAN);
    ab__jkey(&j, "pass");
    fputs(e->pass ? "true" : "false", f);
    if (!e->have)
      ab__js(&j, "note", "no data");
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
    free(tmp);
    return -e;
  }
  int r = rename(tmp, path) < 0 ? -errno : 0;
  if (r < 0)
    unlink(tmp);
  free(tmp);
  return r;
}
