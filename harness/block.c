/* The run's memory: the shared block every instance writes into (control words, one slot
 * per instance, full histogram rows for the roles of one instance, counters, the sparse
 * histograms' headers, the periodic roles' lateness series), the pool of sparse pages, the
 * supervisor's own tables, and the merge of it all into one figure per metric and counter
 * after the roles stop.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "shm.h"

/* The pool holds every page every instance could take (every metric, every bucket): it is
 * address space only, backed where written, so it never runs out in practice; capped at 2^31
 * pages (512 GiB of address space). */
static uint32_t ab__pool_pages(const ab_run_t *run, int sparse)
{
  uint64_t per = (uint64_t)(AB_SH_NPAGES + 3) * (uint64_t)(run->nmt ? run->nmt : 1);
  uint64_t n = per * (uint64_t)sparse;
  return n > (1u << 31) ? (1u << 31) : (uint32_t)n;
}

static size_t ab__up64(size_t n) { return (n + 63) & ~(size_t)63; }

/* The supervisor's tables of the instances: who each slot is. */
static int ab__slot_tables(ab_run_t *run)
{
  int n = run->nslots;
  run->slot_role = calloc(n, sizeof *run->slot_role);
  run->slot_inst = calloc(n, sizeof *run->slot_inst);
  run->slot_pid = calloc(n, sizeof *run->slot_pid);
  run->slot_wedged = calloc(n, sizeof *run->slot_wedged);
  run->mem.proc_rss_kb = calloc(n + 1, sizeof(int64_t));
  run->mem.proc_pss_kb = calloc(n + 1, sizeof(int64_t));
  run->mem_scratch_rss = calloc(n + 1, sizeof(int64_t));
  run->mem_scratch_pss = calloc(n + 1, sizeof(int64_t));
  run->pchans = calloc(run->nphys ? run->nphys : 1, sizeof *run->pchans);
  run->pchan_made = calloc(run->nphys ? run->nphys : 1, 1);
  if (!run->slot_role || !run->slot_inst || !run->slot_pid || !run->slot_wedged || !run->mem.proc_rss_kb ||
      !run->mem.proc_pss_kb || !run->mem_scratch_rss || !run->mem_scratch_pss || !run->pchans || !run->pchan_made)
    return -ENOMEM;
  for (int r = 0; r < run->sc->nroles; r++)
    for (int i = 0; i < run->role_n[r]; i++) {
      run->slot_role[run->role_first[r] + i] = r;
      run->slot_inst[run->role_first[r] + i] = i;
    }
  return 0;
}

int ab__block_alloc(ab_run_t *run)
{
  int r = ab__slot_tables(run);
  if (r < 0)
    return r;
  int rows = 0, sparse = 0;
  for (int k = 0; k < run->sc->nroles; k++) {
    run->role_row[k] = run->sc->roles[k].instances ? -1 : rows++;
    sparse += run->sc->roles[k].instances ? run->role_n[k] : 0;
  }
  size_t n = (size_t)run->nslots;
  size_t off_s = ab__up64(sizeof(ab_ctl_t));
  size_t off_h = ab__up64(off_s + sizeof(ab_slot_t) * n);
  size_t off_c = ab__up64(off_h + sizeof(ab_hist_t) * run->nmt * rows);
  size_t off_x = ab__up64(off_c + sizeof(int64_t) * run->nct * n);
  size_t off_w = ab__up64(off_x + sizeof(uint32_t) * run->nmt * n), nw = 0;
  for (int k = 0; k < run->sc->nroles; k++) /* the lateness series, written by every process */
    nw += run->mt_lateness[k] >= 0 ? AB_SERIES_MAX : 0;
  size_t off_st = ab__up64(off_w + sizeof(ab_win_t) * nw), st = 0;
  for (int k = 0; k < run->sc->nroles; k++) { /* each instance's portable state, 16-aligned */
    run->state_size[k] = (run->sc->roles[k].state_size + 15) & ~(size_t)15;
    run->state_off[k] = st;
    st += run->state_size[k] * (size_t)run->role_n[k];
  }
  /* A pool's master copies stay in the supervisor's own memory: a worker can only have a
   * state by the copy that travels with its task. */
  int private_state = run->rt && run->rt->pooled;
  run->blk_size = off_st + (private_state ? 0 : st);
  run->blk = ab_shm_alloc(run->blk_size, run->shared);
  if (!run->blk)
    return -errno;
  run->ctl = run->blk;
  run->slots = (ab_slot_t *)((char *)run->blk + off_s);
  run->hists = (ab_hist_t *)((char *)run->blk + off_h);
  run->counters = (int64_t *)((char *)run->blk + off_c);
  run->sidx = (uint32_t *)((char *)run->blk + off_x);
  ab_win_t *w = (ab_win_t *)((char *)run->blk + off_w);
  for (int k = 0; k < run->sc->nroles; k++)
    if (run->mt_lateness[k] >= 0) {
      run->series[k] = w;
      w += AB_SERIES_MAX;
    }
  run->state = private_state ? (st ? calloc(1, st) : NULL) : (char *)run->blk + off_st;
  if (private_state && st && !run->state)
    return -ENOMEM;
  run->state_private = private_state;
  for (int i = 0; i < run->nmt * rows; i++)
    ab_hist_init(&run->hists[i]);
  if (sparse && !(run->spool = ab_spool_new(ab__pool_pages(run, sparse), &run->spool_size)))
    return -errno;
  run->merged = calloc(run->nmt ? run->nmt : 1, sizeof(ab_hist_t));
  run->ctotal = calloc(run->nct ? run->nct : 1, sizeof(int64_t));
  return run->merged && run->ctotal ? 0 : -ENOMEM;
}

void ab__block_free(ab_run_t *run)
{
  if (run->blk)
    ab_shm_free(run->blk, run->blk_size, run->shared);
  ab_spool_free(run->spool, run->spool_size);
  run->blk = NULL;
  run->spool = NULL;
  free(run->slot_role), free(run->slot_inst), free(run->slot_pid), free(run->slot_wedged);
  free(run->mem.proc_rss_kb), free(run->mem.proc_pss_kb);
  free(run->mem_scratch_rss), free(run->mem_scratch_pss);
  free(run->pchans), free(run->pchan_made);
  free(run->rt_pids);
  run->rt_pids = NULL;
  if (run->state_private)
    free(run->state);
  run->state = NULL;
  run->n_rt_pids = 0;
}

/* Is any instance of role r wedged? Then its channels' queues may still be written. */
static int ab__role_wedged(const ab_run_t *run, int r)
{
  for (int i = 0; i < run->role_n[r]; i++)
    if (run->slot_wedged[run->role_first[r] + i])
      return 1;
  return 0;
}

static void ab__merge_metric(ab_run_t *run, int m)
{
  ab_hist_t *dst = &run->merged[m];
  ab_hist_init(dst);
  for (int r = 0; r < run->sc->nroles; r++) {
    /* A wedged instance's figures are still being written: left out. */
    if (run->role_row[r] >= 0) {
      if (!run->slot_wedged[run->role_first[r]])
        ab_hist_merge(dst, &run->hists[(size_t)run->role_row[r] * run->nmt + m]);
      continue;
    }
    for (int i = 0; i < run->role_n[r]; i++) {
      int s = run->role_first[r] + i;
      if (!run->slot_wedged[s])
        ab_shist_merge(dst, run->spool, run->sidx[(size_t)s * run->nmt + m]);
    }
  }
}

void ab__block_merge(ab_run_t *run)
{
  const ab_scenario_t *sc = run->sc;
  for (int m = 0; m < run->nmt; m++)
    ab__merge_metric(run, m);
  for (int c = 0; c < run->nct; c++) {
    run->ctotal[c] = 0;
    for (int s = 0; s < run->nslots; s++)
      if (!run->slot_wedged[s])
        run->ctotal[c] += run->counters[(size_t)s * run->nct + c];
  }
  for (int k = 0; k < sc->nchans; k++) {
    if (ab__role_wedged(run, sc->chans[k].from) || ab__role_wedged(run, sc->chans[k].to))
      continue;
    int64_t sent = 0, dropped = 0, depth = 0, bytes = 0;
    for (int q = 0; q < run->chan_n[k]; q++) {
      ab_chan_ctl_t *cc = ab__pchan(run, k, q)->ctl;
      if (!cc)
        continue;
      sent += (int64_t)cc->sent;
      dropped += (int64_t)cc->dropped;
      bytes += (int64_t)cc->bytes;
      depth = (int64_t)cc->max_depth > depth ? (int64_t)cc->max_depth : depth;
    }
    run->ctotal[run->ct_msgs[k]] = sent;
    run->ctotal[run->ct_drops[k]] = dropped;
    run->ctotal[run->ct_maxdepth[k]] = depth;
    run->ctotal[run->ct_bytes[k]] = bytes;
  }
  if (run->spool && run->spool->lost)
    ab_run_fail(run, "the role instances' histograms ran out of room: %llu values lost their bucket",
                (unsigned long long)run->spool->lost);
}

/* What the harness allocates for the run's figures and plumbing, channels' payload apart:
 * the block (control, slots, rows, counters, sparse headers), the sparse pages taken, the
 * supervisor's slot tables and merged metrics, each queue's memory but its payload (ring
 * slots' headers, staging and receive buffers), the registers and the instances' contexts.
 * Allocated, not resident; left out: the runtimes' threads and processes themselves
 * (stacks, each process's copy of the program), the architecture's cost, in PSS. */
int64_t ab__harness_bytes(const ab_run_t *run)
{
  int64_t b = (int64_t)run->blk_size;
  for (int k = 0; run->state_private && k < run->sc->nroles; k++) /* a pool's, outside the block */
    b += (int64_t)run->state_size[k] * run->role_n[k];
  if (run->spool)
    b += (int64_t)ab_spool_used(run->spool) * (int64_t)sizeof(run->spool->pages[0]);
  b += (int64_t)run->nslots * (int64_t)(2 * sizeof(int) + sizeof(int32_t) + 1 + 2 * sizeof(int64_t));
  for (int k = 0; k < run->sc->nchans; k++) /* each queue's memory but its payload */
    for (int q = 0; q < run->chan_n[k]; q++) {
      int64_t all = (int64_t)ab_chan_bytes(ab__pchan(run, k, q));
      int64_t payload = (int64_t)run->sc->chans[k].depth * (int64_t)run->chan_size[k];
      b += all > payload ? all - payload : 0;
    }
  b += (int64_t)run->nmt * (int64_t)sizeof(ab_hist_t); /* the merged metrics */
  b += (int64_t)run->nslots * (int64_t)sizeof(ab_ctx_t); /* each instance's context */
  for (int g = 0; g < run->sc->nregs; g++)
    b += (int64_t)ab_reg_bytes(run->regs[g]);
  return b;
}
