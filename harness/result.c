/* A result built from a finished run, as a JSON tree (result.h), and written out: objects
 * one key a line, arrays of numbers on one line (a histogram is [[upper_ns, count], ...]
 * over its non-empty buckets), numbers in the shortest form that reads back exactly. A
 * file is written to a temporary name in the same directory, synced and renamed, so a
 * crash never leaves half a file. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "result.h"

/* ---- building ------------------------------------------------------------------------ */

/* A whole number (below 2^53) is written as an integer, anything else as a real; NaN and
 * infinities as null ("no data"). */
static json_t *ab__num(double v)
{
  if (!isfinite(v))
    return json_null();
  if (v == (double)(int64_t)v && fabs(v) < 9e15)
    return json_integer((json_int_t)v);
  return json_real(v);
}

/* JSON strings are UTF-8: bytes that are not (a device's name, a message quoting input)
 * become '?', so the document always reads back. */
static json_t *ab__str(const char *s)
{
  if (!s)
    return json_null();
  json_t *j = json_string(s);
  if (j)
    return j;
  char *c = strdup(s);
  if (!c)
    return NULL;
  for (unsigned char *p = (unsigned char *)c; *p; p++)
    if (*p >= 0x80)
      *p = '?';
  j = json_string(c);
  free(c);
  return j;
}

static void ab__setn(json_t *o, const char *k, double v) { json_object_set_new(o, k, ab__num(v)); }
static void ab__sets(json_t *o, const char *k, const char *v) { json_object_set_new(o, k, ab__str(v)); }
static json_t *ab__child(json_t *o, const char *k, json_t *c)
{
  json_object_set_new(o, k, c);
  return c;
}

/* One cost entry. Memory where the entry is a process of its own (mem_slot >= 0: the
 * snapshot's slot); a role sharing the supervisor's process has none of its own. */
static json_t *ab__res(const ab_res_t *r, const ab_mem_t *m, int mem_slot)
{
  json_t *o = json_object();
  ab__setn(o, "cpu_user_s", r->cpu_user_s);
  ab__setn(o, "cpu_sys_s", r->cpu_sys_s);
  ab__setn(o, "ctx_vol", (double)r->ctx_vol);
  ab__setn(o, "ctx_invol", (double)r->ctx_invol);
  if (r->apportioned) /* the total is measured; the kernel cannot split it per callback */
    ab__sets(o, "cpu_split", "apportioned: the user:system ratio of the thread or pool that ran it");
  if (mem_slot >= 0) {
    int64_t rss = m->proc_rss_kb[mem_slot];
    ab__setn(o, "rss_kb", (double)rss);
    ab__setn(o, "pss_kb", (double)m->proc_pss_kb[mem_slot]);
    /* The kernel's high-water mark is kept from counters updated in batches, and can trail
     * the page-table walk of the snapshot: a peak is never below what was seen. */
    if (r->maxrss_kb)
      ab__setn(o, "rss_peak_kb", (double)(r->maxrss_kb > rss ? r->maxrss_kb : rss));
  }
  if (r->pid)
    ab__setn(o, "pid", r->pid);
  /* window: the measured window; lifetime: the role died before it could say, so this is
   * the kernel's account of its whole life; none: nothing is known. */
  ab__sets(o, "scope", r->valid == 1 ? "window" : r->valid == 2 ? "lifetime" : "none");
  return o;
}

static json_t *ab__metric(const ab_hist_t *h)
{
  ab_summary_t s;
  ab_summarize(h, &s);
  json_t *o = json_object(), *hist = json_array();
  ab__setn(o, "count", (double)s.count);
  ab__setn(o, "min", (double)s.min);
  ab__setn(o, "p50", (double)s.p50);
  ab__setn(o, "p90", (double)s.p90);
  ab__setn(o, "p99", (double)s.p99);
  ab__setn(o, "p999", (double)s.p999);
  ab__setn(o, "p9999", (double)s.p9999);
  ab__setn(o, "max", (double)s.max);
  ab__setn(o, "mean", s.mean);
  ab__setn(o, "stddev", s.stddev);
  for (int b = 0; b < AB_HIST_NBUCKETS; b++)
    if (h->buckets[b])
      json_array_append_new(hist, json_pack("[II]", (json_int_t)ab_hist_upper(b), (json_int_t)h->buckets[b]));
  json_object_set_new(o, "hist", hist);
  return o;
}

const char *const ab_result_status_names[3] = { "ok", "partial", "failed" };
const char *const ab_claim_sense_names[4] = { "about", "at_most", "at_least", "range" };

/* What ran, with what, where. */
static void ab__head(json_t *d, const ab_run_t *run, double window)
{
  const ab_scenario_t *sc = run->sc;
  ab__sets(d, "schema", AB_RESULT_SCHEMA);
  ab__sets(d, "scenario", sc->name);
  ab__sets(d, "source", sc->source);
  ab__sets(d, "arch", run->rt->name);
  ab__sets(d, "transport", run->transport_name);
  if (run->rt == ab_runtime_get(AB_ARCH_LOOP)) { /* where its offloadable roles ran */
    ab__sets(d, "offload", ab_offload_names[run->offload]);
    if (run->offload == AB_OFF_EXECUTOR)
      ab__setn(d, "executor_threads", run->executor_threads);
  }
  if (run->gil_on) { /* the model, not a real interpreter: figures of a Python-like run */
    json_t *g = ab__child(d, "gil", json_object());
    ab__sets(g, "model", "cpython-new-gil");
    ab__setn(g, "interval_s", (double)run->gil_interval_ns / 1e9);
    ab__setn(g, "check_ns", (double)run->gil_check_ns);
    ab__setn(g, "free", run->gil_free);
  } else {
    json_object_set_new(d, "gil", json_null());
  }
  if (run->rt->pooled) { /* how the pool was made, and what it runs */
    json_t *p = ab__child(d, "pool", json_object());
    ab__setn(p, "workers", run->workers);
    ab__setn(p, "io_threads", run->rt->io_threads);
    json_t *pr = ab__child(p, "roles", json_array());
    for (int r = 0; r < run->sc->nroles; r++)
      if (ab__role_pooled(run, r))
        json_array_append_new(pr, json_string(run->sc->roles[r].name));
  } else {
    json_object_set_new(d, "pool", json_null());
  }
  /* What presents the run (the summary table, the report): its periodic role, chain, rate. */
  json_t *t = ab__child(d, "table", json_object());
  ab__sets(t, "role", sc->table_role);
  ab__sets(t, "chain", sc->table_chain);
  ab__sets(t, "chain_lost", sc->table_chain_lost);
  ab__sets(t, "rate", sc->table_rate);
  ab__sets(t, "count", sc->table_count);
  if (run->sweep_key) { /* one point of a curve: the report draws them together */
    json_t *w = ab__child(d, "sweep", json_object());
    ab__sets(w, "param", run->sweep_key);
    ab__sets(w, "value", run->sweep_value);
    json_t *pts = ab__child(w, "points", json_array());
    for (const char *q = run->sweep_points; q && *q;) {
      size_t n = strcspn(q, ",");
      json_array_append_new(pts, json_stringn(q, n));
      q += n + (q[n] == ',');
    }
  } else {
    json_object_set_new(d, "sweep", json_null());
  }
  if (run->repeat_of) { /* one round of --repeat K */
    json_t *k = ab__child(d, "repeat", json_object());
    ab__setn(k, "index", run->repeat_index);
    ab__setn(k, "of", run->repeat_of);
  } else {
    json_object_set_new(d, "repeat", json_null());
  }
  ab__sets(d, "status", ab_result_status_names[run->status]);
  ab__sets(d, "error", run->error[0] ? run->error : NULL);
  ab__sets(d, "started_at", run->started_at);
  ab__setn(d, "duration_s", window);
  ab__setn(d, "requested_duration_s", run->duration_ns / 1e9);
  if (run->nfaults) { /* injected on purpose: these figures are a test's, not a measurement */
    json_t *f = ab__child(d, "faults", json_array());
    for (int i = 0; i < run->nfaults; i++)
      json_array_append_new(f, ab__str(run->faults[i].spec));
  }
  json_t *o = ab__child(d, "params", json_object());
  for (int i = 0; i < sc->nparams; i++)
    ab__sets(o, sc->params[i].name, run->pstr[i]);
  o = ab__child(d, "calibration", json_object());
  for (int i = 0; i < run->ncalib; i++)
    json_object_set_new(o, run->calib[i].key, run->calib[i].is_str ? ab__str(run->calib[i].str) : ab__num(run->calib[i].num));
  o = ab__child(d, "devices", json_object());
  for (int k = 0; k < sc->ndevs; k++)
    ab__sets(o, sc->devs[k].name, run->devops[k] && run->devstate[k] ? run->devops[k]->backend(run->devstate[k]) : "unprepared");

  ab_sysinfo_t si;
  ab_sysinfo(&si, run);
  o = ab__child(d, "env", json_object());
  ab__sets(o, "kernel", si.kernel);
  ab__sets(o, "cpu", si.cpu);
  ab__setn(o, "ncpu", si.ncpu);
  ab__sets(o, "virt", si.virt);
  ab__sets(o, "sched", si.sched);
  ab__sets(o, "cpus", si.cpus);
  ab__sets(o, "clocksource", si.clocksource);
  ab__sets(o, "governor", si.governor);
  ab__sets(o, "host", si.host);
  ab__sets(o, "mlock", run->mlock_err == 0 ? "all, on fault" : strerror(-run->mlock_err));
  ab__sets(o, "latency_target", run->latency_note[0] ? run->latency_note : "off");
  o = ab__child(d, "phases", json_object());
  ab__setn(o, "setup_s", (run->t_setup1 - run->t_setup0) / 1e9);
  ab__setn(o, "run_s", window);
  ab__setn(o, "teardown_s", (run->t_teardown1 - run->t_run1) / 1e9);
}

static const ab_res_t ab__unknown; /* a wedged instance's own account is still being written */

static const ab_res_t *ab__slot_res(const ab_run_t *run, int s)
{
  return run->slot_wedged[s] ? &ab__unknown : &run->slots[s].res;
}

/* A role's costs: its instance's, or its instances' added up (CPU, switches, and the memory
 * of those with a process of their own). */
static json_t *ab__role_res(const ab_run_t *run, int r)
{
  int first = run->role_first[r], n = run->role_n[r];
  if (!run->sc->roles[r].instances)
    return ab__res(ab__slot_res(run, first), &run->mem, run->slot_pid[first] ? first : -1);
  ab_res_t sum = { 0 };
  int64_t rss = 0, pss = 0, valid = 0, procs = 0;
  for (int s = first; s < first + n; s++) {
    const ab_res_t *x = ab__slot_res(run, s);
    ab__res_add(&sum, x);
    sum.apportioned |= x->apportioned;
    valid += x->valid == 1;
    if (run->slot_pid[s])
      procs++, rss += run->mem.proc_rss_kb[s], pss += run->mem.proc_pss_kb[s];
  }
  json_t *o = json_object();
  ab__setn(o, "instances", n);
  ab__setn(o, "cpu_user_s", sum.cpu_user_s);
  ab__setn(o, "cpu_sys_s", sum.cpu_sys_s);
  ab__setn(o, "ctx_vol", (double)sum.ctx_vol);
  ab__setn(o, "ctx_invol", (double)sum.ctx_invol);
  if (sum.apportioned)
    ab__sets(o, "cpu_split", "apportioned: the user:system ratio of the thread or pool that ran it");
  if (procs) {
    ab__setn(o, "rss_kb", (double)rss);
    ab__setn(o, "pss_kb", (double)pss);
  }
  ab__sets(o, "scope", valid == n ? "window" : valid ? "window, part of the instances" : "none");
  return o;
}

/* Per instance, when asked: each one's costs and activations. */
static void ab__instances_detail(json_t *res, const ab_run_t *run)
{
  json_t *d = ab__child(res, "instances", json_object());
  for (int r = 0; r < run->sc->nroles; r++) {
    json_t *a = ab__child(d, run->sc->roles[r].name, json_array());
    for (int s = run->role_first[r]; s < run->role_first[r] + run->role_n[r]; s++) {
      json_t *o = ab__res(ab__slot_res(run, s), &run->mem, run->slot_pid[s] ? s : -1);
      ab__setn(o, "steps", (double)run->slots[s].steps);
      json_array_append_new(a, o);
    }
  }
}

/* What it measured: metrics, counters, the scenario's derived values, the periodic roles'
 * lateness series. */
static void ab__figures(json_t *d, const ab_run_t *run)
{
  json_t *o = ab__child(d, "metrics", json_object());
  for (int m = 0; m < run->nmt; m++)
    json_object_set_new(o, run->mt_name[m], ab__metric(&run->merged[m]));
  o = ab__child(d, "counters", json_object());
  for (int c = 0; c < run->nct; c++)
    ab__setn(o, run->ct_name[c], (double)run->ctotal[c]);
  if (run->sc->nvalues) {
    o = ab__child(d, "values", json_object());
    for (int v = 0; v < run->sc->nvalues; v++)
      ab__setn(o, run->sc->values[v], run->value_set[v] ? run->values[v] : NAN);
  }
  json_object_set_new(d, "series", ab__series_json(run)); /* lateness over time */
}

/* Costs: the total measured whole; each role; the runtime's own work outside every role
 * (the loop's dispatch); the supervisor. The parts add up to the total. Memory: every
 * process of the run read at one instant at the end of the window. */
static void ab__costs(json_t *d, const ab_run_t *run, double window)
{
  const ab_res_t *total = &run->res_total;
  const ab_mem_t *mem = &run->mem;
  json_t *res = ab__child(d, "resources", json_object());
  json_t *t = ab__child(res, "total", json_object());
  ab__setn(t, "cpu_user_s", total->cpu_user_s);
  ab__setn(t, "cpu_sys_s", total->cpu_sys_s);
  ab__setn(t, "ctx_vol", (double)total->ctx_vol);
  ab__setn(t, "ctx_invol", (double)total->ctx_invol);
  ab__setn(t, "rss_kb", mem->t_ns ? (double)mem->rss_kb : NAN);
  ab__setn(t, "pss_kb", mem->t_ns ? (double)mem->pss_kb : NAN);
  ab__setn(t, "rss_peak_kb", mem->samples ? (double)mem->rss_peak_kb : NAN);
  ab__setn(t, "pss_peak_kb", mem->samples ? (double)mem->pss_peak_kb : NAN);
  ab__setn(t, "mem_at_s", mem->t_ns ? (mem->t_ns - run->ctl->t_start) / 1e9 : NAN);
  ab__setn(t, "mem_samples", mem->samples);
  ab__setn(t, "mem_snapshot_s", mem->t_ns ? mem->snap_ns / 1e9 : NAN);
  ab__sets(t, "mem_scope", !mem->t_ns   ? "none"
                           : !mem->valid ? "incomplete: a process of the run had gone"
                           : mem->snap_ns < 10 * AB_NS_PER_MS ? "every process at one instant"
                                                              : "every process, read back to back over mem_snapshot_s");
  ab__setn(res, "cpu_percent", window > 0 ? 100.0 * (total->cpu_user_s + total->cpu_sys_s) / window : 0);
  json_t *roles = ab__child(res, "roles", json_object());
  for (int i = 0; i < run->sc->nroles; i++)
    json_object_set_new(roles, run->sc->roles[i].name, ab__role_res(run, i));
  if (run->ctl->res_runtime.valid) {
    json_t *rt = ab__res(&run->ctl->res_runtime, mem, -1);
    if (run->n_rt_pids) { /* its processes' memory (a pool's workers), from the snapshot */
      ab__setn(rt, "rss_kb", mem->t_ns ? (double)mem->rt_rss_kb : NAN);
      ab__setn(rt, "pss_kb", mem->t_ns ? (double)mem->rt_pss_kb : NAN);
      ab__setn(rt, "processes", run->n_rt_pids);
    }
    json_object_set_new(res, "runtime", rt);
  }
  json_object_set_new(res, "supervisor", ab__res(&run->res_super, mem, run->rt->same_process ? -1 : run->nslots));
  if (run->detail)
    ab__instances_detail(res, run);
  /* What the harness itself holds for the run (channels' payload apart), for every run. */
  json_t *h = ab__child(res, "harness", json_object());
  int64_t hb = ab__harness_bytes(run);
  ab__setn(h, "instances", run->nslots);
  ab__setn(h, "bytes", (double)hb);
  ab__setn(h, "bytes_per_instance", (double)hb / run->nslots);
  ab__setn(h, "metric_pages", run->spool ? ab_spool_used(run->spool) : 0);
}

/* The requirements as evaluated once after the run (run->req). */
static void ab__reqs(json_t *d, const ab_run_t *run)
{
  json_t *a = ab__child(d, "requirements", json_array());
  for (int i = 0; i < run->sc->nreqs; i++) {
    const ab_req_desc_t *q = &run->sc->reqs[i];
    const ab_req_eval_t *e = &run->req[i];
    json_t *o = json_object();
    ab__sets(o, "name", q->name);
    ab__sets(o, "op", ab_req_op_name(q->op));
    ab__setn(o, "limit", e->limit);
    ab__setn(o, "value", e->have ? e->value : NAN);
    json_object_set_new(o, "pass", json_boolean(e->pass));
    if (!e->have)
      ab__sets(o, "note", "no data");
    json_array_append_new(a, o);
  }
}

/* Does the run match a claim's `when`? */
static int ab__claim_applies(const ab_run_t *run, const char *when)
{
  char tok[64];
  for (const char *p = when; p && *p;) {
    size_t n = strcspn(p, " ");
    snprintf(tok, sizeof tok, "%.*s", (int)n, p);
    p += n + (p[n] == ' ');
    const char *eq = strchr(tok, '=');
    if (!strcmp(tok, "gil") || !strcmp(tok, "nogil")) {
      if (run->gil_on != !strcmp(tok, "gil"))
        return 0;
    } else if (eq && !strncmp(tok, "arch=", 5)) {
      if (strcmp(eq + 1, run->rt->name))
        return 0;
    } else if (eq && !strncmp(tok, "offload=", 8)) { /* the loop's variant */
      if (run->rt != ab_runtime_get(AB_ARCH_LOOP) || strcmp(eq + 1, ab_offload_names[run->offload]))
        return 0;
    } else if (eq) {
      *(char *)eq = 0;
      if (!ab_run_param_is(run, tok, eq + 1))
        return 0;
    }
  }
  return 1;
}

/* The measured figure of a claim this run is about; NaN when there is none here. */
static double ab__claim_figure(const ab_run_t *run, const char *figure, double pss_kb)
{
  double v;
  if (!strncmp(figure, "pss_mb_per:", 11)) {
    for (int r = 0; r < run->sc->nroles; r++)
      if (!strcmp(run->sc->roles[r].name, figure + 11) && run->role_n[r] > 0 && pss_kb >= 0)
        return pss_kb / 1024.0 / run->role_n[r];
    return NAN;
  }
  if (!strncmp(figure, "micro:", 6) || !strncmp(figure, "ratio_to:", 9))
    return NAN; /* in another file: the report joins them */
  return ab_req_value(run, figure, &v) == 0 ? v : NAN;
}

static void ab__claims(json_t *d, const ab_run_t *run)
{
  json_t *a = ab__child(d, "claims", json_array());
  json_t *tot = json_object_get(json_object_get(d, "resources"), "total");
  double pss = json_is_number(json_object_get(tot, "pss_kb")) ? json_number_value(json_object_get(tot, "pss_kb")) : -1;
  for (int i = 0; i < run->sc->nclaims; i++) {
    const ab_claim_t *c = &run->sc->claims[i];
    json_t *o = json_object();
    int applies = ab__claim_applies(run, c->when);
    ab__sets(o, "id", c->id);
    ab__sets(o, "says", c->says);
    ab__setn(o, "doc", c->doc);
    ab__sets(o, "unit", c->unit);
    ab__sets(o, "figure", c->figure);
    ab__sets(o, "when", c->when);
    ab__sets(o, "sense", ab_claim_sense_names[c->sense]);
    if (c->sense == AB_RANGE)
      ab__setn(o, "doc_hi", c->doc_hi);
    if (c->scale)
      ab__setn(o, "scale", c->scale);
    json_object_set_new(o, "applies", json_boolean(applies));
    ab__setn(o, "measured", applies ? ab__claim_figure(run, c->figure, pss) : NAN);
    const char *inner = !strncmp(c->figure, "ratio_to:", 9) ? strchr(c->figure + 9, ':') : NULL;
    if (inner) /* this run's side of the ratio, for the report to divide */
      ab__setn(o, "here", applies ? ab__claim_figure(run, inner + 1, pss) : NAN);
    json_array_append_new(a, o);
  }
}

ab_result_t *ab_result_of_run(const ab_run_t *run)
{
  json_t *d = json_object();
  if (!d)
    return NULL;
  double window = (run->t_run1 - run->ctl->t_start) / 1e9;
  if (window < 0)
    window = 0;
  ab__head(d, run, window);
  ab__figures(d, run);
  ab__costs(d, run, window);
  ab__reqs(d, run);
  ab__claims(d, run);
  char err[256];
  return ab_result_parse(d, err, sizeof err); /* NULL only when a part could not be allocated */
}

/* ---- writing ------------------------------------------------------------------------- */

static void ab__dstr(FILE *f, const char *s)
{
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
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

/* The shortest form that reads back as v, and that reads as a real. */
static void ab__dreal(FILE *f, double v)
{
  char b[40];
  ab_fmt_exact(b, sizeof b, v);
  fputs(b, f);
  if (!strpbrk(b, ".eEni"))
    fputs(".0", f);
}

/* Arrays of scalars (and of such arrays) stay on one line. */
static int ab__flat(json_t *v)
{
  if (json_is_object(v))
    return 0;
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) if (json_is_object(e) || (json_is_array(e) && !ab__flat(e))) return 0;
  return 1;
}

static void ab__dump(FILE *f, json_t *v, int depth)
{
  const char *k;
  json_t *e;
  size_t i, n = 0;
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    fputc('{', f);
    json_object_foreach(v, k, e) {
      fprintf(f, "%s\n%*s", n++ ? "," : "", 2 * (depth + 1), "");
      ab__dstr(f, k);
      fputs(": ", f);
      ab__dump(f, e, depth + 1);
    }
    fprintf(f, n ? "\n%*s}" : "}", 2 * depth, "");
    break;
  case JSON_ARRAY:
    fputc('[', f);
    json_array_foreach(v, i, e) {
      if (ab__flat(v))
        fputs(i ? "," : "", f);
      else
        fprintf(f, "%s\n%*s", i ? "," : "", 2 * (depth + 1), "");
      ab__dump(f, e, depth + 1);
    }
    if (!ab__flat(v) && json_array_size(v))
      fprintf(f, "\n%*s", 2 * depth, "");
    fputc(']', f);
    break;
  case JSON_STRING: ab__dstr(f, json_string_value(v)); break;
  case JSON_INTEGER: fprintf(f, "%lld", (long long)json_integer_value(v)); break;
  case JSON_REAL: ab__dreal(f, json_real_value(v)); break;
  case JSON_TRUE: fputs("true", f); break;
  case JSON_FALSE: fputs("false", f); break;
  case JSON_NULL: fputs("null", f); break;
  }
}

char *ab_result_dumps(const ab_result_t *r)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return NULL;
  ab__dump(f, r->doc, 0);
  fputc('\n', f);
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

int ab_result_save(const ab_result_t *r, const char *path)
{
  char *text = ab_result_dumps(r), *tmp = NULL;
  if (!text || asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0) {
    free(text);
    return -ENOMEM;
  }
  /* A name nobody can have prepared (mkstemp: O_EXCL, never through a symlink); rename then
   * replaces whatever `path` was, a symlink included, not what it pointed at. */
  int fd = mkostemp(tmp, O_CLOEXEC), e = 0;
  if (fd < 0) {
    e = errno;
  } else {
    fchmod(fd, 0644);
    size_t n = strlen(text), off = 0;
    while (off < n && !e) {
      ssize_t w = write(fd, text + off, n - off);
      if (w < 0 && errno != EINTR)
        e = errno;
      else if (w > 0)
        off += (size_t)w;
    }
    if (!e && fsync(fd) != 0)
      e = errno;
    if (close(fd) != 0 && !e)
      e = errno;
    if (!e && rename(tmp, path) < 0)
      e = errno;
    if (e)
      unlink(tmp);
  }
  free(text);
  free(tmp);
  return -e;
}

int ab_run_result_write(ab_run_t *run, const char *path)
{
  ab_result_t *r = ab_result_of_run(run);
  if (!r)
    return -ENOMEM;
  int e = ab_result_save(r, path);
  ab_result_free(r);
  return e;
}
