/* The calls a scenario's set-up and finish make on the run (ab_run_*, ab.h), and what the
 * CLI asks of a finished run. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"
#include "internal.h"
#include "shm.h"
#include "stats.h"

/* ---- set-up calls ------------------------------------------------------------------------------ */

int64_t ab_run_duration(const ab_run_t *run) { return run->duration_ns; }
int64_t ab_run_window(const ab_run_t *run)
{
  return run->t_run1 > run->ctl->t_start && run->ctl->t_start ? run->t_run1 - run->ctl->t_start : 0;
}
int64_t ab_run_end_time(const ab_run_t *run)
{
  int64_t t_stop = __atomic_load_n(&run->ctl->t_stop, __ATOMIC_ACQUIRE), t_end = run->ctl->t_end;
  return t_stop && t_stop < t_end ? t_stop : t_end;
}

int ab_run_wedged(const ab_run_t *run)
{
  for (int s = 0; run->slot_wedged && s < run->nslots; s++)
    if (run->slot_wedged[s])
      return 1;
  return 0;
}

const void *ab_run_state(const ab_run_t *run, int role, int inst)
{
  if (role < 0 || role >= run->sc->nroles || inst < 0 || inst >= run->role_n[role] || !run->state_size[role] ||
      !run->state || ab_run_wedged(run))
    return NULL;
  return run->state + run->state_off[role] + (size_t)inst * run->state_size[role];
}

int ab_run_instances(const ab_run_t *run, int role)
{
  return role >= 0 && role < run->sc->nroles ? run->role_n[role] : 0;
}

const char *ab_run_label(const ab_run_t *run, char *buf, size_t len)
{
  if (run->rt->uses_transport)
    snprintf(buf, len, "%s/%s", run->rt->name, run->transport_name);
  else if (run->offload != AB_OFF_INLINE)
    snprintf(buf, len, "%s/%s", run->rt->name, ab_offload_names[run->offload]);
  else
    snprintf(buf, len, "%s", run->rt->name);
  return buf;
}

int ab_run_serial_baud(const ab_run_t *run) { return run->devopts.baud > 0 ? run->devopts.baud : 115200; }

int ab_run_period(ab_run_t *run, int role, int64_t period_ns)
{
  if (role < 0 || role >= run->sc->nroles || run->sc->roles[role].period_ns <= 0 || period_ns <= 0)
    return -EINVAL;
  run->period[role] = period_ns;
  return 0;
}

int ab_run_chan_size(ab_run_t *run, int chan, size_t msg_max)
{
  if (chan < 0 || chan >= run->sc->nchans)
    return -EINVAL;
  run->chan_size[chan] = msg_max;
  return 0;
}

static ab_calib_t *ab__calib(ab_run_t *run, const char *key)
{
  for (int i = 0; i < run->ncalib; i++)
    if (!strcmp(run->calib[i].key, key))
      return &run->calib[i];
  if (run->ncalib == AB_MAX_CALIB) { /* a figure the result would silently lack */
    ab_run_fail(run, "calibration %s: the table is full (%d entries)", key, AB_MAX_CALIB);
    return NULL;
  }
  ab_calib_t *c = &run->calib[run->ncalib++];
  snprintf(c->key, sizeof c->key, "%s", key);
  return c;
}

void ab_calib_set(ab_run_t *run, const char *key, double value)
{
  ab_calib_t *c = ab__calib(run, key);
  if (c) {
    c->num = value;
    c->is_str = 0;
  }
}

void ab_calib_str(ab_run_t *run, const char *key, const char *value)
{
  ab_calib_t *c = ab__calib(run, key);
  if (c) {
    snprintf(c->str, sizeof c->str, "%s", value);
    c->is_str = 1;
  }
}

void *ab_run_shared(ab_run_t *run, size_t size)
{
  if (!run->scen_shared) {
    run->scen_shared = ab_shm_alloc(size, run->shared);
    run->scen_shared_size = size;
  }
  return run->scen_shared;
}

int ab_run_ncpus(const ab_run_t *run)
{
  int n = run->cpus ? CPU_COUNT(run->cpus) : (int)sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? n : 1;
}

int ab_run_helper(ab_run_t *run, const char *name, int (*main)(void *arg), void *arg, const int *keep, int nkeep)
{
  if (run->nhelpers == AB_MAX_HELPERS) {
    ab_run_fail(run, "helper %s: at most %d helper processes", name, AB_MAX_HELPERS);
    return -EMFILE;
  }
  pid_t pid = ab_helper_start(name, main, arg, keep, nkeep);
  if (pid < 0)
    return (int)pid;
  run->helpers[run->nhelpers++] = pid;
  return 0;
}

int64_t ab_run_counter(const ab_run_t *run, int counter)
{
  return run->ctotal ? run->ctotal[run->ct_base + counter] : 0;
}

void ab_run_value_set(ab_run_t *run, int value, double v)
{
  if (value < 0 || value >= run->sc->nvalues)
    return;
  run->values[value] = v;
  run->value_set[value] = 1;
}

int64_t ab_run_due(const ab_run_t *run, int role)
{
  if (role < 0 || role >= run->sc->nroles || run->mt_lateness[role] < 0 || !run->merged)
    return 0;
  return (int64_t)run->merged[run->mt_lateness[role]].count;
}

void ab_run_counter_set(ab_run_t *run, int counter, int64_t value)
{
  if (run->ctotal)
    run->ctotal[run->ct_base + counter] = value;
}

void ab_run_fail(ab_run_t *run, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(run->error, sizeof run->error, fmt, ap);
  va_end(ap);
  run->status = AB_ST_FAILED;
}

void *ab_run_dev(ab_run_t *run, int dev) { return run->devstate[dev]; }

double ab_run_role_cpu_s(const ab_run_t *run, int role)
{
  double s = 0;
  for (int i = 0; role >= 0 && role < run->sc->nroles && i < run->role_n[role]; i++) {
    const ab_res_t *r = &run->slots[run->role_first[role] + i].res;
    if (r->valid)
      s += r->cpu_user_s + r->cpu_sys_s;
  }
  return s;
}

int ab_run_figure(const ab_run_t *run, const char *name, double *v) { return ab_req_value(run, name, v); }

double ab_run_calib(const ab_run_t *run, const char *key)
{
  for (int i = 0; i < run->ncalib; i++)
    if (!strcmp(run->calib[i].key, key) && !run->calib[i].is_str)
      return run->calib[i].num;
  return NAN;
}

const struct ab_kernel *ab_run_kernel_of(const ab_run_t *run) { return &run->kernel; }
