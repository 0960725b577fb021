/* Every refusal of a run, before anything exists (DESIGN.md: bad input gets a clear error
 * and leaves nothing behind): the descriptor, the runtime and its transport, params,
 * faults, device options the scenario has no use for, real device paths, --cpus,
 * SCHED_FIFO and PM QoS: ab_run_new, once per run, before any run of a command starts. Errors name the bad value and what was expected; ab__exit_for maps them to DESIGN.md's
 * exit codes. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

int ab__exit_for(int err)
{
  switch (-err) {
  case ENOENT: case EACCES: case EPERM: case ENODEV: case EBUSY: case ENXIO: case ENOSPC: case ENOMEM:
  case EROFS:
    return AB_EXIT_RESOURCE;
  default:
    return AB_EXIT_USAGE;
  }
}

/* The path the user gave for a device of this kind, or NULL for its loopback mock. */
static const char *ab__dev_path(const ab_dev_opts_t *o, int kind)
{
  const ab_devops_t *ops = ab_devops_for(kind);
  return ops ? *ab_dev_path(ops, o) : NULL;
}

/* A real device path is checked as prepare checks it (no mock is started for this). */
static int ab__check_devices(const ab_run_t *run, char *err, size_t len)
{
  const ab_scenario_t *sc = run->sc;
  for (int d = 0; d < sc->ndevs; d++) {
    if (!ab__dev_path(&run->devopts, sc->devs[d].kind))
      continue;
    const ab_devops_t *ops = ab_devops_for(sc->devs[d].kind);
    void *st = calloc(1, ops->state_size);
    if (!st)
      return -ENOMEM;
    char msg[AB_ERRLEN] = "";
    int r = ops->prepare(st, &run->devopts, msg);
    if (r == 0)
      ops->release(st);
    free(st);
    if (r < 0) {
      snprintf(err, len, "%s", msg[0] ? msg : strerror(-r));
      return r;
    }
  }
  return 0;
}

/* Keep idle CPUs out of deep C-states for as long as the fd is open, as cyclictest does
 * (it holds 0 by default): on a VM whose idle governor halts, this halves wake-up latency. */
int ab__latency_open(int us, char *err, size_t len)
{
  int fd = open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
  int32_t v = us;
  if (fd >= 0 && write(fd, &v, sizeof v) == (ssize_t)sizeof v)
    return fd;
  int e = errno ? errno : EIO;
  if (fd >= 0)
    close(fd);
  snprintf(err, len, "--latency-target %d: /dev/cpu_dma_latency: %s (needs root; --no-latency-target runs without)",
           us, strerror(e));
  return -e;
}

static void *ab__noop_thread(void *arg) { return arg; }

static int ab__check_sched(ab_run_t *run, char *err, size_t len)
{
  if (run->cpus) { /* a CPU outside this process's own set would be silently ignored */
    cpu_set_t allowed, both;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
      CPU_AND(&both, &allowed, run->cpus);
      if (!CPU_EQUAL(&both, run->cpus)) {
        for (int c = 0; c < CPU_SETSIZE; c++)
          if (CPU_ISSET(c, run->cpus) && !CPU_ISSET(c, &allowed)) {
            snprintf(err, len, "--cpus: CPU %d is not in this process's affinity (taskset, cgroup)", c);
            break;
          }
        return -EPERM;
      }
    }
  }
  if (run->rt_prio <= 0)
    return 0;
  int max = sched_get_priority_max(SCHED_FIFO);
  if (run->rt_prio > max) {
    snprintf(err, len, "--rt-prio %d: out of range (expected 1 to %d)", run->rt_prio, max);
    return -EINVAL;
  }
  /* Try it on a throwaway thread so the supervisor itself stays SCHED_OTHER. */
  pthread_attr_t a;
  pthread_attr_init(&a);
  struct sched_param sp = { .sched_priority = run->rt_prio };
  int r = pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
  if (!r) r = pthread_attr_setschedpolicy(&a, SCHED_FIFO);
  if (!r) r = pthread_attr_setschedparam(&a, &sp);
  pthread_t t;
  if (!r) {
    r = pthread_create(&t, &a, ab__noop_thread, NULL);
    if (!r)
      pthread_join(t, NULL);
  }
  pthread_attr_destroy(&a);
  if (r) {
    snprintf(err, len, "--rt-prio %d: SCHED_FIFO refused: %s (needs root or CAP_SYS_NICE, and an RT budget)",
             run->rt_prio, strerror(r));
    return -EPERM;
  }
  return 0;
}

/* Each role's instance count from its parameter, and where its slots start. */
static int ab__instances(ab_run_t *run, char *err, size_t len)
{
  const ab_scenario_t *sc = run->sc;
  int64_t total = 0;
  for (int r = 0; r < sc->nroles; r++)
    total += sc->roles[r].instances ? (int64_t)ab_param(run, sc->roles[r].instances) : 1;
  if (total > AB_MAX_INSTANCES) {
    int ones = 0;
    size_t n = (size_t)snprintf(err, len, "%lld role instances in all, at most %d:", (long long)total, AB_MAX_INSTANCES);
    for (int r = 0; r < sc->nroles; r++)
      if (!sc->roles[r].instances)
        ones++;
      else if (n < len)
        n += (size_t)snprintf(err + n, len - n, " --param %s=%lld", sc->roles[r].instances,
                              (long long)ab_param(run, sc->roles[r].instances));
    if (ones && n < len)
      snprintf(err + n, len - n, " and %d role%s of one", ones, ones > 1 ? "s" : "");
    return AB_EXIT_USAGE;
  }
  if (total == 0) {
    snprintf(err, len, "no role instance to run (every role's count is 0)");
    return AB_EXIT_USAGE;
  }
  run->nslots = 0;
  for (int r = 0; r < sc->nroles; r++) {
    const char *p = sc->roles[r].instances;
    run->role_n[r] = p ? (int)ab_param(run, p) : 1;
    run->role_first[r] = run->nslots;
    run->nslots += run->role_n[r];
  }
  run->nphys = 0;
  for (int k = 0; k < sc->nchans; k++) {
    run->chan_first[k] = run->nphys;
    run->chan_n[k] = run->role_n[sc->chans[k].to];
    run->nphys += run->chan_n[k];
  }
  int64_t slice = 50 * AB_NS_PER_MS * (run->nslots / 16 > 1 ? run->nslots / 16 : 1);
  run->slice_ns = slice < AB_NS_PER_S ? slice : AB_NS_PER_S;
  return 0;
}

static int ab__resolve_offload(ab_run_t *run, const ab_run_opts_t *o, char *err, size_t len);

int ab__resolve(ab_run_t *run, const ab_run_opts_t *o, char *err, size_t len)
{
  const ab_scenario_t *sc = o->sc;
  int r;
  run->sc = sc;
  run->arch = o->arch;
  run->rt = ab_runtime_get(o->arch);
  run->duration_ns = o->duration_ns;
  run->rt_prio = o->rt_prio;
  run->cpus = o->cpus;
  run->quiet = o->quiet;
  run->hooks = o->hooks;
  if (o->gil && o->hooks) {
    snprintf(err, len, "--gil: the GIL model wraps the roles itself (and this run has other hooks)");
    return AB_EXIT_USAGE;
  }
  run->gil_on = o->gil;
  run->sweep_key = o->sweep_key;
  run->sweep_value = o->sweep_value;
  run->sweep_points = o->sweep_points;
  run->repeat_index = o->repeat_of > 1 ? o->repeat_index : 0;
  run->repeat_of = o->repeat_of > 1 ? o->repeat_of : 0;
  run->gil_interval_ns = o->gil_interval_ns > 0 ? o->gil_interval_ns : 5 * AB_NS_PER_MS;
  run->gil_check_ns = AB_NS_PER_US; /* CPython checks its eval breaker every few bytecodes */
  run->devopts = o->dev;
  run->latency_target_us = o->latency_target_us;
  run->latency_fd = -1;
  if (ab_scenario_check(sc, err, len) < 0)
    return AB_EXIT_USAGE;
  if (!run->rt) {
    snprintf(err, len, "--arch %s: not available in this build", ab_arch_name(o->arch));
    return AB_EXIT_USAGE;
  }
  if (!(sc->archs & (1u << o->arch))) {
    snprintf(err, len, "scenario %s does not run under --arch %s", sc->name, ab_arch_name(o->arch));
    return AB_EXIT_USAGE;
  }
  run->shared = !run->rt->same_process;
  if (run->rt->uses_transport) {
    const char *tn = o->transport ? o->transport : "shm";
    run->transport = strcmp(tn, "ring") ? ab_transport_find(tn) : NULL;
    if (!run->transport) {
      snprintf(err, len, "--transport %s: unknown (expected pipe, unix, mq, shm or tcp)", tn);
      return AB_EXIT_USAGE;
    }
    run->transport_name = tn;
  } else if (o->transport) {
    snprintf(err, len, "--transport %s: the %s runtime uses no transport (only procs does)", o->transport,
             run->rt->name);
    return AB_EXIT_USAGE;
  } else {
    run->transport_name = "ring";
  }
  if ((r = ab__resolve_offload(run, o, err, len)) != 0)
    return r;
  if (ab_param_resolve(run, o->params, o->nparams, err, len) < 0)
    return AB_EXIT_USAGE;
  if ((r = ab__instances(run, err, len)) != 0)
    return r;
  if (run->rt->pooled && !run->workers)
    run->workers = ab_run_ncpus(run); /* Python's Pool(): os.cpu_count() */
  run->detail = o->detail;
  if (o->nfaults > AB_MAX_FAULTS) {
    snprintf(err, len, "--fault: at most %d", AB_MAX_FAULTS);
    return AB_EXIT_USAGE;
  }
  for (int i = 0; i < o->nfaults; i++)
    if (ab_fault_parse(sc, o->faults[i], &run->faults[i], err, len) < 0)
      return AB_EXIT_USAGE;
  run->nfaults = o->nfaults;
  for (int k = AB_DEV_NONE + 1; k < AB_DEV_N; k++) {
    const char *path = ab__dev_path(&o->dev, k);
    if (path && !ab_scenario_has_dev(sc, k)) {
      snprintf(err, len, "%s %s: scenario %s has no such device (it would be ignored)", ab_devops_for(k)->option,
               path, sc->name);
      return AB_EXIT_USAGE;
    }
  }
  if ((r = ab__check_sched(run, err, len)) < 0)
    return ab__exit_for(r);
  return 0;
}

ab_run_t *ab_run_new(const ab_run_opts_t *o, int *code, char *err, size_t len)
{
  ab_run_t *run = calloc(1, sizeof *run);
  err[0] = 0;
  if (!run) {
    snprintf(err, len, "out of memory");
    *code = AB_EXIT_RESOURCE;
    return NULL;
  }
  int r;
  *code = ab__resolve(run, o, err, len);
  if (!*code && (r = ab__check_devices(run, err, len)) < 0)
    *code = ab__exit_for(r);
  if (!*code && o->latency_explicit && o->latency_target_us >= 0) {
    int fd = ab__latency_open(o->latency_target_us, err, len);
    if (fd < 0)
      *code = ab__exit_for(fd);
    else
      close(fd);
  }
  if (*code) {
    free(run);
    return NULL;
  }
  return run;
}

/* --offload: the loop's only; a variant other than inline needs a role to offload. The
 * executor's pool is Python's default, min(32, os.cpu_count() + 4) threads. */
static int ab__resolve_offload(ab_run_t *run, const ab_run_opts_t *o, char *err, size_t len)
{
  run->offload = AB_OFF_INLINE;
  if (!o->offload)
    return 0;
  if (o->arch != AB_ARCH_LOOP) {
    snprintf(err, len, "--offload %s: only the loop runtime offloads (this run is %s)", o->offload, ab_arch_name(o->arch));
    return AB_EXIT_USAGE;
  }
  if ((run->offload = ab_offload_find(o->offload)) < 0) {
    snprintf(err, len, "--offload %s: unknown (expected inline, executor, thread or process)", o->offload);
    return AB_EXIT_USAGE;
  }
  int any = 0;
  for (int r = 0; r < run->sc->nroles && run->offload != AB_OFF_INLINE; r++)
    any |= run->offloaded[r] = ab__offloadable(run->sc, r);
  if (!any && run->offload != AB_OFF_INLINE) {
    snprintf(err, len, "--offload %s: scenario %s has no role to offload (one triggered by a channel, flagged CPU, "
             "owning no device)", o->offload, run->sc->name);
    return AB_EXIT_USAGE;
  }
  int n = 0;
  for (int r = 0; r < run->sc->nroles; r++)
    n += run->offloaded[r];
  if (n == run->sc->nroles) {
    snprintf(err, len, "--offload %s: every role of scenario %s would leave the loop", o->offload, run->sc->name);
    return AB_EXIT_USAGE;
  }
  if (run->offload == AB_OFF_EXECUTOR && n > 1) {
    snprintf(err, len, "--offload executor: one role goes to the executor; scenario %s has %d to offload (use thread or "
             "process)", run->sc->name, n);
    return AB_EXIT_USAGE;
  }
  n = ab_run_ncpus(run) + 4;
  run->executor_threads = n < 32 ? n : 32;
  if (run->offload == AB_OFF_PROCESS)
    run->shared = 1; /* the child's figures and queues are the run's */
  return 0;
}

char *ab_result_name(const ab_run_opts_t *o)
{
  char *s = NULL, pt[96] = "";
  const ab_runtime_t *rt = ab_runtime_get(o->arch);
  if (o->sweep_key) /* agents.threads.n=10.gil.json */
    snprintf(pt, sizeof pt, ".%s=%s", o->sweep_key, o->sweep_value);
  const char *fp = o->sc->file_param;
  for (int d = 0; fp && d < o->sc->ndevs; d++) { /* a param of the mock: not of a real device */
    const ab_devops_t *ops = ab_devops_for(o->sc->devs[d].kind);
    if (ops && *ab_dev_path(ops, &o->dev))
      fp = NULL;
  }
  if (fp) { /* instrument.threads.owner=mux.mode=serial.json: the value given last, else the default */
    const ab_param_desc_t *pd = ab_param_desc(o->sc, fp);
    const char *v = pd ? pd->def : "";
    size_t fl = strlen(fp);
    for (int i = 0; i < o->nparams; i++)
      if (!strncmp(o->params[i], fp, fl) && o->params[i][fl] == '=')
        v = o->params[i] + fl + 1;
    snprintf(pt + strlen(pt), sizeof pt - strlen(pt), ".%s=%s", fp, v);
  }
  if (o->gil)
    strcat(pt, ".gil");
  if (o->repeat_of > 1) /* robot.threads.r2.json */
    snprintf(pt + strlen(pt), sizeof pt - strlen(pt), ".r%d", o->repeat_index);
  const char *variant = rt && rt->uses_transport ? (o->transport ? o->transport : "shm") : o->offload;
  int r = variant ? asprintf(&s, "%s.%s.%s%s.json", o->sc->name, ab_arch_name(o->arch), variant, pt)
                  : asprintf(&s, "%s.%s%s.json", o->sc->name, ab_arch_name(o->arch), pt);
  return r < 0 ? NULL : s;
}

