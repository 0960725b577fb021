/* The procs runtime: a process per role (fork, named with PR_SET_NAME), dying with the
 * supervisor (PR_SET_PDEATHSIG). Channels use the chosen transport; registers, histograms
 * and counters live in shared memory mapped before fork. A child that dies before it is
 * told to stop fails the run with its role and signal; every child is reaped on every path,
 * SIGKILLed if it does not stop in time. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

typedef struct ab__procs {        /* [nslots]: a process per role instance */
  pid_t *pids;                     /* 0: never forked */
  int *reaped;
  int *wstatus;
} ab__procs_t;

void ab__role_child(ab_run_t *run, int slot, pid_t parent)
{
  ab__child_enter(parent);
  ab_ctx_t ctx;
  ab__ctx_init(&ctx, run, slot);
  char who[64];
  ab__name_self(ab__who(&ctx, who, sizeof who), 1);
  ab__apply_sched(run, ctx.desc->period_ns > 0);
  int r = ab__role_prepare(&ctx, 1);
  ab__role_ready(&ctx);
  if (r == 0 && !ab_stopped(run)) {
    ab_res_t res;
    ab__res_begin(&res, RUSAGE_SELF);
    ab__role_begin(&ctx);
    ab__role_run(&ctx);
    ab__res_end(&res, RUSAGE_SELF);
    run->slots[slot].res = res;
  }
  ab__role_finish(&ctx);
  _exit(r < 0 ? 3 : 0);
}

static int ab__procs_start(ab_run_t *run)
{
  ab__procs_t *ps = run->rt_state;
  pid_t parent = getpid();
  ps->pids = calloc(run->nslots, sizeof *ps->pids);
  ps->reaped = calloc(run->nslots, sizeof *ps->reaped);
  ps->wstatus = calloc(run->nslots, sizeof *ps->wstatus);
  if (!ps->pids || !ps->reaped || !ps->wstatus)
    return -ENOMEM;
  for (int i = 0; i < run->nslots; i++) {
    fflush(NULL);
    pid_t p = fork();
    if (p < 0) {
      int e = errno;
      char who[64];
      run->slots[i].init_err = -e;
      snprintf(run->slots[i].init_msg, AB_ERRLEN, "role %s: fork: %s", ab__slot_name(run, i, who, sizeof who), strerror(e));
      __atomic_add_fetch(&run->ctl->ready, 1, __ATOMIC_SEQ_CST);
      ps->pids[i] = 0;
      continue;
    }
    if (p == 0)
      ab__role_child(run, i, parent);
    ps->pids[i] = p;
    run->slot_pid[i] = p;
  }
  /* The supervisor plays no side: holding the ends open would hide a dead peer's EOF. */
  for (int q = 0; q < run->nphys; q++)
    ab_chan_attach(&run->pchans[q], AB_SIDE_NONE);
  return 0;
}

/* A reaped role's account: one that never measured its window (killed, crashed) keeps its
 * whole life's CPU from the kernel instead, marked as such. */
void ab__res_reaped(ab_run_t *run, int slot, pid_t pid, const struct rusage *ru)
{
  ab_res_t *r = &run->slots[slot].res;
  if (r->valid)
    return;
  memset(r, 0, sizeof *r);
  r->cpu_user_s = ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6;
  r->cpu_sys_s = ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
  r->ctx_vol = ru->ru_nvcsw;
  r->ctx_invol = ru->ru_nivcsw;
  r->maxrss_kb = ru->ru_maxrss;
  r->pid = pid;
  r->valid = 2;
}

static int ab__reap(ab_run_t *run, int i, int flags)
{
  ab__procs_t *ps = run->rt_state;
  struct rusage ru;
  int st;
  if (wait4(ps->pids[i], &st, flags, &ru) != ps->pids[i])
    return 0;
  ps->reaped[i] = 1;
  ps->wstatus[i] = st;
  ab__res_reaped(run, i, ps->pids[i], &ru);
  return 1;
}

static void ab__describe(char *msg, size_t len, const char *role, pid_t pid, int st)
{
  if (WIFSIGNALED(st))
    snprintf(msg, len, "role %s (pid %d) died: killed by signal %d (%s)", role, (int)pid,
             WTERMSIG(st), strsignal(WTERMSIG(st)));
  else
    snprintf(msg, len, "role %s (pid %d) exited with status %d before the end of the run", role,
             (int)pid, WEXITSTATUS(st));
}

/* Reap what has ended; a role gone before stop is a failure (an init failure is reported
 * by its own message instead). */
static int ab__procs_check(ab_run_t *run, char *msg, size_t len)
{
  ab__procs_t *ps = run->rt_state;
  int dead = 0;
  for (int i = 0; ps->pids && i < run->nslots; i++) {
    if (!ps->pids[i] || ps->reaped[i])
      continue;
    if (!ab__reap(run, i, WNOHANG))
      continue;
    int st = ps->wstatus[i];
    int clean = WIFEXITED(st) && (WEXITSTATUS(st) == 0 || run->slots[i].init_err);
    char who[64];
    ab__slot_name(run, i, who, sizeof who);
    if (!ab_stopped(run) && !clean && !dead) {
      ab__describe(msg, len, who, ps->pids[i], st);
      dead = 1;
    } else if (!ab_stopped(run) && clean && WEXITSTATUS(st) == 0 && run->ctl->go && !dead &&
               ab_now_ns() < run->ctl->t_end) { /* periodic roles end on their own at t_end */
      snprintf(msg, len, "role %s (pid %d) exited before the end of the run", who, (int)ps->pids[i]);
      dead = 1;
    }
  }
  return dead;
}

static int ab__procs_join(ab_run_t *run)
{
  ab__procs_t *ps = run->rt_state;
  int64_t grace = ab__stop_grace_ns(run, 5 * AB_NS_PER_S), deadline = ab_now_ns() + grace;
  int n = ps->pids ? run->nslots : 0;
  char who[64];
  for (;;) {
    int left = 0;
    for (int i = 0; i < n; i++) {
      if (!ps->pids[i] || ps->reaped[i])
        continue;
      if (ab__reap(run, i, WNOHANG)) {
        int st = ps->wstatus[i];
        if (WIFSIGNALED(st) && !run->error[0] && !run->interrupted)
          ab__describe(run->error, sizeof run->error, ab__slot_name(run, i, who, sizeof who), ps->pids[i], st),
              run->status = AB_ST_FAILED;
      } else {
        left++;
      }
    }
    if (!left)
      break;
    if (ab_now_ns() > deadline) {
      for (int i = 0; i < n; i++)
        if (ps->pids[i] && !ps->reaped[i]) {
          ab__stop_overrun(run, "role %s (pid %d) did not stop within %.3g s of the end of the run; killed",
                           ab__slot_name(run, i, who, sizeof who), (int)ps->pids[i], (double)grace / 1e9);
          kill(ps->pids[i], SIGKILL);
          ab__reap(run, i, 0);
        }
      break;
    }
    struct timespec ts = { 0, 2 * AB_NS_PER_MS };
    nanosleep(&ts, NULL);
  }
  free(ps->pids), free(ps->reaped), free(ps->wstatus);
  ps->pids = NULL, ps->reaped = NULL, ps->wstatus = NULL;
  return 0;
}

const ab_runtime_t ab_rt_procs = {
  .name = "procs",
  .state_size = sizeof(ab__procs_t),
  .uses_transport = 1,
  .start = ab__procs_start,
  .check = ab__procs_check,
  .join = ab__procs_join,
};
