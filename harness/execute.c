/* Running a plan (cli.h), for `run` and `bench`: validate every run of the plan
 * (ab_run_new: params, faults, devices, scheduling), check the output directory, and only
 * then create anything: a refused command leaves no directory behind and never repoints
 * results/latest. Each result file is locked for the time of the command, so two runs
 * writing the same result into one directory cannot silently replace each other (different
 * results may share it). Then the runs one after the other, each saying how it goes on
 * stderr, and the summary table of their results.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int ab__worse(int code, int r)
{
  if (r == AB_EXIT_INTR || code == AB_EXIT_INTR)
    return AB_EXIT_INTR;
  return r > code ? r : code;
}

static void ab__plan_unmake(ab__plan_t *p)
{
  for (int k = 0; k < p->n; k++) {
    ab_run_free(p->made[k]);
    p->made[k] = NULL;
  }
}

/* How many runs the plan makes: each of its runs in every round. */
static int ab__plan_total(const ab__plan_t *p) { return p->n * (p->rounds > 1 ? p->rounds : 1); }

/* Every refusal before anything is created: each run resolved once, here (its later rounds
 * are made again as they come, from the same options), and room for every result's lock. */
static int ab__plan_validate(ab__plan_t *p)
{
  uint64_t need = (uint64_t)ab__plan_total(p) + 64, max = 0;
  if (ab__fd_reserve(need, &max) == -EMFILE) {
    fprintf(stderr, "archbench: --repeat %d: %d result files to lock need about %llu file descriptors; the limit is "
            "%llu (ulimit -n)\n", p->rounds, ab__plan_total(p), (unsigned long long)need, (unsigned long long)max);
    return AB_EXIT_RESOURCE;
  }
  for (int k = 0; k < p->n; k++) {
    char err[512];
    int code;
    if (!(p->made[k] = ab_run_new(&p->run[k], &code, err, sizeof err))) {
      /* a sweep's point is refused as the --sweep it came from, not a --param never typed */
      const char *k_ = p->run[k].sweep_key;
      size_t kl = k_ ? strlen(k_) : 0;
      if (k_ && !strncmp(err, "--param ", 8) && !strncmp(err + 8, k_, kl) && err[8 + kl] == '=')
        fprintf(stderr, "archbench: --sweep %s\n", err + 8);
      else
        fprintf(stderr, "archbench: %s\n", err);
      ab__plan_unmake(p);
      return code;
    }
  }
  return 0;
}

/* Made run j's options: run j % n of the plan, as round j / n. */
static ab_run_opts_t *ab__plan_at(ab__plan_t *p, int j)
{
  ab_run_opts_t *o = &p->run[j % p->n];
  if (o->repeat_of)
    o->repeat_index = j / p->n + 1;
  o->result_path = p->path[j];
  return o;
}

/* Result paths and their locks, every round's, all before the first run. Rounds never share
 * a name (their suffixes differ): only runs of one round are compared. */
static int ab__plan_claim(ab__plan_t *p, const char *out)
{
  int total = ab__plan_total(p);
  for (int j = 0; j < total; j++)
    p->lock[j] = -1;
  for (int j = 0; j < total; j++) {
    char *name = ab_result_name(ab__plan_at(p, j));
    if (!name || asprintf(&p->path[j], "%s/%s", out, name) < 0) {
      free(name);
      return AB_EXIT_RESOURCE;
    }
    free(name);
    int dup = 0;
    for (int i = j - j % p->n; i < j; i++)
      dup |= !strcmp(p->path[i], p->path[j]);
    if (!dup) {
      int r = ab_result_lock(p->path[j], &p->lock[j]);
      if (r)
        return r;
    }
  }
  return 0;
}

static void ab__plan_release(ab__plan_t *p)
{
  for (int j = 0; j < ab__plan_total(p); j++) {
    ab_result_unlock(p->path[j], p->lock[j]);
    free(p->path[j]);
    p->path[j] = NULL;
    p->lock[j] = -1;
  }
}

/* What the supervisor says, said here: progress drawn on stderr when it is a terminal,
 * messages as one line each. */
typedef struct ab__voice {
  const char *label; /* "[3/9]" */
  int quiet;
} ab__voice_t;

static void ab__on_progress(void *arg, const ab_progress_t *p)
{
  const ab__voice_t *v = arg;
  if (v->quiet || !isatty(2))
    return;
  fprintf(stderr, "\r%s %s %s %4.1fs/%.1fs%s", v->label, p->scenario, p->label, p->elapsed_s, p->total_s,
          p->done ? "\r\033[K" : "  ");
}

static void ab__on_message(void *arg, const char *msg) { fprintf(stderr, "archbench: %s\n", msg); }

/* With --quiet there is no table: which requirements failed goes to stderr instead. */
static void ab__report_failed(const ab_result_t *r)
{
  char label[64];
  fprintf(stderr, "archbench: %s %s: requirement%s failed:", r->scenario, ab_result_label(r, label, sizeof label),
          r->req_failed > 1 ? "s" : "");
  for (int i = 0, n = 0; i < r->nreqs; i++) {
    const ab_result_req_t *e = &r->reqs[i];
    if (e->pass)
      continue;
    fprintf(stderr, "%s %s ", n++ ? "," : "", e->name);
    if (e->have)
      fprintf(stderr, "%g (expected %s %g)", e->value, e->op, e->limit);
    else
      fprintf(stderr, "(no data)");
  }
  fputc('\n', stderr);
}

/* A later round's run, made again from its options (validated with the first round's). */
static ab_run_t *ab__plan_make(ab__plan_t *p, int k, ab_run_opts_t *o, int *code)
{
  ab_run_t *run = p->made[k];
  p->made[k] = NULL;
  char err[512];
  if (!run && !(run = ab_run_new(o, code, err, sizeof err)))
    fprintf(stderr, "archbench: %s\n", err);
  return run;
}

/* Round after round (--repeat), each round every run of the plan once: drift on a shared
 * machine reaches every architecture alike. */
static int ab__plan_run(ab__plan_t *p, ab__table_t *tb, int bench)
{
  int code = 0, total = ab__plan_total(p);
  for (int j = 0; j < total; j++) {
    char label[32];
    snprintf(label, sizeof label, "[%d/%d]", j + 1, total);
    ab_run_opts_t *o = ab__plan_at(p, j);
    ab__voice_t voice = { label, o->quiet };
    o->on_progress = ab__on_progress;
    o->on_message = ab__on_message;
    o->cb_arg = &voice;
    o->result = NULL;
    int r = AB_EXIT_OK;
    ab_run_t *run = ab__plan_make(p, j % p->n, o, &r);
    if (run)
      r = ab_run_exec(run, o);
    int failed_run = 0;
    if (o->result) {
      failed_run = o->result->status == AB_ST_FAILED;
      if (o->quiet && o->result->req_failed && !failed_run)
        ab__report_failed(o->result);
      ab_table_add(tb, o->result);
      ab_result_free(o->result);
      o->result = NULL;
    }
    if (bench && r == AB_EXIT_FAIL && !failed_run)
      r = 0; /* in the profile a failed requirement is a finding, not an error */
    code = ab__worse(code, r);
    if (o->wedged) {
      if (j + 1 < total)
        fprintf(stderr, "archbench: a role never stopped and its thread cannot be killed: the %d remaining "
                        "run(s) are not started\n", total - j - 1);
      break;
    }
    if (r == AB_EXIT_INTR || r == AB_EXIT_USAGE || r == AB_EXIT_RESOURCE)
      break;
  }
  return code;
}

int ab_plan_execute(ab__plan_t *p, const ab__cli_t *c, int bench)
{
  int r = ab__plan_validate(p);
  if (r)
    return r;
  /* From here on something exists that a signal must not leave behind (locks): Ctrl-C is
   * taken by the run in progress, or at the end if it came between runs. */
  sigset_t sigs, old;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  sigprocmask(SIG_BLOCK, &sigs, &old);
  ab__out_t out;
  if ((r = ab_outdir_make(c->outdir, &out))) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    ab__plan_unmake(p);
    return r;
  }
  ab__table_t tb = { 0 };
  if ((r = ab__plan_claim(p, out.dir)) == 0) {
    if (bench && !c->quiet) {
      double total = 0;
      for (int j = 0; j < ab__plan_total(p); j++)
        total += (double)p->run[j % p->n].duration_ns / 1e9;
      fprintf(stderr, "archbench: default profile, %d runs, %.0fs of measuring in all, into %s/\n", ab__plan_total(p),
              total, out.dir);
    }
    r = ab__plan_run(p, &tb, bench);
    if ((!c->quiet || bench) && tb.n) {
      ab_table_print(&tb, out.dir);
      printf(bench ? "\nresults: %s/  (results/latest points at it)\n" : "\nresults: %s/\n", out.dir);
    }
  }
  ab__plan_release(p);
  ab__plan_unmake(p); /* the runs never started (a refusal, a stop) */
  free(tb.rows);
  ab_outdir_done(&out);
  struct timespec zero = { 0, 0 };
  if (sigtimedwait(&sigs, NULL, &zero) > 0)
    r = AB_EXIT_INTR;
  sigprocmask(SIG_SETMASK, &old, NULL);
  return r;
}
