/* A run's channels and registers, built after the devices are prepared and before the roles
 * start: a queue per receiving instance (from one arena when there are many), the
 * descriptors they need, and what to say when the system's limits are met. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "internal.h"

int ab__fd_reserve(uint64_t need, uint64_t *max)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
    return 0;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
    *max = rl.rlim_max;
    return -EMFILE;
  }
  rl.rlim_cur = rl.rlim_max;
  return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}

/* Queues by the thousand may need more descriptors than the soft limit allows: raised to
 * the hard limit when so, refused (naming both) when even that is too few. */
static int ab__fd_room(const ab_run_t *run, char *err, size_t len)
{
  uint64_t need = (uint64_t)run->nphys * 3 + (uint64_t)run->nslots * 2 + 64, max = 0;
  int r = ab__fd_reserve(need, &max);
  if (r == -EMFILE)
    snprintf(err, len, "%d queues and %d instances need about %llu file descriptors; the limit is %llu (ulimit -n)",
             run->nphys, run->nslots, (unsigned long long)need, (unsigned long long)max);
  return r;
}

/* Why mq_open said ENOSPC: the system's limit on message queues, which a run of many
 * queues meets first. */
static const char *ab__mq_limit(int queues)
{
  static char msg[160];
  char lim[32] = "?";
  FILE *f = fopen("/proc/sys/fs/mqueue/queues_max", "r");
  if (f) {
    if (!fgets(lim, sizeof lim, f))
      snprintf(lim, sizeof lim, "?");
    lim[strcspn(lim, "\n")] = 0;
    fclose(f);
  }
  snprintf(msg, sizeof msg, " (the run needs %d message queues; /proc/sys/fs/mqueue/queues_max allows %s)", queues, lim);
  return msg;
}

/* Room for every queue's control block and ring, generously (only what is written is
 * backed). */
static size_t ab__arena_size(const ab_run_t *run)
{
  size_t n = 1 << 20;
  for (int c = 0; c < run->sc->nchans; c++)
    n += (size_t)run->chan_n[c] * (2 * sizeof(ab_chan_ctl_t) + (size_t)run->sc->chans[c].depth * (run->chan_size[c] + 256) + 3 * 4096);
  return 2 * n;
}

/* Everything after the devices are prepared and before the roles start. */
int ab__build(ab_run_t *run, char *err, size_t len)
{
  const ab_scenario_t *sc = run->sc;
  int r;
  if ((r = ab__fd_room(run, err, len)) < 0)
    return r;
  if (run->shared && run->nphys > AB_MAX_CHANS && (r = ab_arena_init(&run->arena, ab__arena_size(run))) < 0) {
    snprintf(err, len, "shared memory for %d queues: %s", run->nphys, strerror(-r));
    return r;
  }
  for (int c = 0; c < sc->nchans; c++) {
    const ab_chan_desc_t *cd = &sc->chans[c];
    const ab_transport_t *t = run->rt->uses_transport ? run->transport : &ab_transport_ring;
    int want_fd = sc->roles[cd->to].on_device;
    /* The loop's offloaded roles: the loop hears them through an fd in its epoll set; a
     * child's queues are pipes, as multiprocessing's are. */
    int crosses = run->offloaded[cd->from] != run->offloaded[cd->to];
    if (crosses && !run->offloaded[cd->to])
      want_fd = 1;
    if (crosses && run->offload == AB_OFF_PROCESS)
      t = &ab_transport_pipe;
    /* A single-threaded loop cannot block on a full channel: its consumer is itself. The
     * result says so: a fan-in wider than the queue loses the excess every round. */
    int policy = run->rt->one_thread ? AB_DROP : cd->policy;
    if (policy != cd->policy) {
      char key[AB_NAMELEN];
      snprintf(key, sizeof key, "%s.policy", cd->name);
      ab_calib_str(run, key, "drop when full (one thread cannot wait for itself)");
    }
    for (int q = 0; q < run->chan_n[c]; q++) { /* a queue per receiving instance */
      ab_chan_t *pc = ab__pchan(run, c, q);
      r = ab_chan_create_in(pc, run->arena.base ? &run->arena : NULL, cd->name, t, run->chan_size[c], cd->depth,
                            policy, run->shared, want_fd);
      if (r < 0) {
        snprintf(err, len, "channel %s over %s (%zu-byte messages): %s%s", cd->name, t->name, run->chan_size[c],
                 strerror(-r), r == -ENOSPC && t == &ab_transport_mq ? ab__mq_limit(run->nphys) : "");
        return r;
      }
      pc->stop = &run->ctl->stop;
      pc->slice_ns = run->slice_ns;
      /* Fan-in, or an executor's pool of threads sending for one role: the senders take turns. */
      pc->multi_tx = run->role_n[cd->from] > 1 || (run->offload == AB_OFF_EXECUTOR && run->offloaded[cd->from]);
      run->pchan_made[run->chan_first[c] + q] = 1;
      if (!run->rt->uses_transport && !(crosses && run->offload == AB_OFF_PROCESS))
        ab_chan_attach(pc, AB_SIDE_BOTH); /* a pipe to a child: each process its side */
    }
  }
  for (int g = 0; g < sc->nregs; g++) {
    run->regs[g] = ab_reg_create(sc->regs[g].size, run->shared);
    if (!run->regs[g]) {
      snprintf(err, len, "register %s: %s", sc->regs[g].name, strerror(errno));
      return -errno;
    }
  }
  return 0;
}
