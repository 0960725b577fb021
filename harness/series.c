/* A periodic role's lateness over time, for the report's "lateness over time" figure: the
 * schedule cut into windows of whole periods from the run's start (ctl->t_start), at most
 * AB_SERIES_MAX of them, each holding its largest lateness, its activations and its missed
 * periods. An activation belongs to the window of its intended start, so a window holds the
 * same activations whatever the machine did, and a late one is charged to the time it was
 * due, as the histogram charges it (never re-based).
 *
 * The windows live in the run's block (block.c), so a procs role writes them from its own
 * process; all the instances of a role share its windows, so they are added to with relaxed
 * atomics (nothing else is ordered by them: the supervisor reads them after the join).
 */
#include <jansson.h>

#include "internal.h"

/* A window is max(period, duration / AB_SERIES_MAX) rounded up to whole periods: the
 * requested duration never spans more than AB_SERIES_MAX of them. */
void ab__series_plan(ab_run_t *run)
{
  int64_t d = run->duration_ns > 0 ? run->duration_ns : 1;
  for (int r = 0; r < run->sc->nroles; r++) {
    run->series_w[r] = run->series_n[r] = 0;
    int64_t p = run->period[r];
    if (!run->series[r] || p <= 0)
      continue;
    int64_t w = (d + AB_SERIES_MAX - 1) / AB_SERIES_MAX;
    w = w > p ? (w + p - 1) / p * p : p;
    run->series_w[r] = w;
    run->series_n[r] = (int)((d + w - 1) / w);
  }
}

void ab__series_rec(ab_ctx_t *ctx, int64_t intended, int64_t late, int missed)
{
  ab_run_t *run = ctx->run;
  int r = ctx->role;
  if (!run->series_n[r])
    return;
  /* intended never precedes t_start; a negative offset would wrap past the last window */
  uint64_t k = (uint64_t)(intended - run->ctl->t_start) / (uint64_t)run->series_w[r];
  if (k >= (uint64_t)run->series_n[r])
    return;
  ab_win_t *w = &run->series[r][k];
  __atomic_add_fetch(&w->count, 1, __ATOMIC_RELAXED);
  if (missed)
    __atomic_add_fetch(&w->missed, 1, __ATOMIC_RELAXED);
  int64_t m = __atomic_load_n(&w->max_ns, __ATOMIC_RELAXED);
  while (late > m && !__atomic_compare_exchange_n(&w->max_ns, &m, late, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    ;
}

/* {"<role>.lateness_ns": {"window_ns", "t0_ns", "max_ns", "count", "missed"}}: the windows
 * from the start to the end of the window the run had (its stop, if that came first), an
 * empty window's max null. t0_ns: where the first window starts, in ns from the run's
 * start. */
json_t *ab__series_json(const ab_run_t *run)
{
  json_t *o = json_object();
  int64_t span = ab_run_end_time(run) - run->ctl->t_start;
  for (int r = 0; o && r < run->sc->nroles; r++) {
    int64_t w = run->series_w[r];
    if (!run->series_n[r])
      continue;
    int n = span > 0 ? (int)((span + w - 1) / w) : 0;
    n = n < run->series_n[r] ? n : run->series_n[r];
    json_t *s = json_object(), *mx = json_array(), *ct = json_array(), *ms = json_array();
    json_object_set_new(s, "window_ns", json_integer(w));
    json_object_set_new(s, "t0_ns", json_integer(0));
    for (int k = 0; k < n; k++) {
      ab_win_t *x = &run->series[r][k]; /* a wedged instance may still write */
      int64_t c = __atomic_load_n(&x->count, __ATOMIC_RELAXED);
      json_array_append_new(mx, c ? json_integer(__atomic_load_n(&x->max_ns, __ATOMIC_RELAXED)) : json_null());
      json_array_append_new(ct, json_integer(c));
      json_array_append_new(ms, json_integer(__atomic_load_n(&x->missed, __ATOMIC_RELAXED)));
    }
    json_object_set_new(s, "max_ns", mx);
    json_object_set_new(s, "count", ct);
    json_object_set_new(s, "missed", ms);
    json_object_set_new(o, run->mt_name[run->mt_lateness[r]], s);
  }
  return o;
}
