/* The role API of ab.h (send/recv/store/load/record/count, compute and blocking), working
 * the same whatever the runtime: a role cannot tell where it runs. What a runtime may wrap
 * (compute slices, blocking sections) goes through the run's hooks. */
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

#include "internal.h"
#include "shm.h"
#include "stats.h"

/* ---- role API -------------------------------------------------------------------------- */

int ab_stopped(const ab_run_t *run) { return __atomic_load_n(&run->ctl->stop, __ATOMIC_ACQUIRE) != 0; }
int ab_stopping(const ab_ctx_t *ctx) { return ab_stopped(ctx->run); }
int ab_role_index(const ab_ctx_t *ctx) { return ctx->role; }
int ab_instance(const ab_ctx_t *ctx) { return ctx->inst; }
int ab_instances(const ab_ctx_t *ctx, int role) { return ab_run_instances(ctx->run, role); }

const char *ab__slot_name(const ab_run_t *run, int slot, char *buf, size_t len)
{
  const ab_role_desc_t *d = &run->sc->roles[run->slot_role[slot]];
  if (d->instances)
    snprintf(buf, len, "%s[%d]", d->name, run->slot_inst[slot]);
  else
    snprintf(buf, len, "%s", d->name);
  return buf;
}

const char *ab__who(const ab_ctx_t *ctx, char *buf, size_t len) { return ab__slot_name(ctx->run, ctx->slot, buf, len); }
int64_t ab_intended(const ab_ctx_t *ctx) { return ctx->intended; }
void *ab_dev(ab_ctx_t *ctx) { return ctx->dev; }
void *ab_shared(ab_ctx_t *ctx) { return ctx->run->scen_shared; }
void **ab_priv(ab_ctx_t *ctx) { return &ctx->priv; }
void *ab_state(ab_ctx_t *ctx) { return ctx->state; }

double ab_ctx_param(const ab_ctx_t *ctx, const char *name) { return ab_param(ctx->run, name); }

int ab_dev_kind(const ab_ctx_t *ctx) { return ctx->devi >= 0 ? ctx->run->sc->devs[ctx->devi].kind : AB_DEV_NONE; }

/* ---- compute and blocking ------------------------------------------------------------------- */

void ab_block_begin(ab_ctx_t *ctx)
{
  const ab_hooks_t *h = ctx->run->hooks;
  if (ctx->blocking++ == 0 && h && h->block)
    h->block(h->arg, ctx, 1);
}

void ab_block_end(ab_ctx_t *ctx)
{
  const ab_hooks_t *h = ctx->run->hooks;
  if (--ctx->blocking == 0 && h && h->block)
    h->block(h->arg, ctx, 0);
}

int ab_step_wait_fd(ab_ctx_t *ctx, int fd)
{
  ctx->wait_fd = fd;
  return AB_STEP_WAIT_DEV;
}

void ab__sleep_until(ab_ctx_t *ctx, int64_t t)
{
  struct timespec ts = ab_ts(t);
  ab_block_begin(ctx);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
    ;
  ab_block_end(ctx);
}

void ab_sleep(ab_ctx_t *ctx, int64_t ns) { ab__sleep_until(ctx, ab_now_ns() + (ns > 0 ? ns : 0)); }

void ab__block_run(ab_run_t *run, int begin)
{
  const ab_hooks_t *h = run->hooks;
  if (h && h->block)
    h->block(h->arg, NULL, begin);
}

double ab_compute(ab_ctx_t *ctx, int64_t ns)
{
  const ab_run_t *run = ctx->run;
  const ab_hooks_t *h = run->hooks;
  if (run->kernel.iters_per_us <= 0) {
    ab_fail(ctx, "role %s: ab_compute without a calibrated kernel (ab_run_kernel in set-up)",
          ab__who(ctx, (char[64]){ 0 }, 64));
    return 0;
  }
  if (!h || (!h->compute && !(h->free > 0)))
    return ab_compute_ns(&run->kernel, ns);
  /* The slices share the work's iterations, not each its own rounded share: a slice of a
   * few iterations rounded to whole ones would do a different amount of work than asked
   * (15% more at 2.6 per us). */
  uint64_t total = (uint64_t)llround((double)ns * run->kernel.iters_per_us / 1000.0);
  uint64_t freed = h->free > 0 ? (uint64_t)llround((double)total * h->free) : 0;
  int64_t held_ns = ns - (int64_t)((double)ns * (h->free > 0 ? h->free : 0));
  int64_t nslices = h->slice_ns > 0 ? (held_ns + h->slice_ns - 1) / h->slice_ns : 1;
  double sum = 0;
  for (int64_t k = 0, done = 0; k < nslices && total > freed; k++) {
    int64_t upto = (int64_t)((total - freed) * (uint64_t)(k + 1) / (uint64_t)nslices);
    if (h->compute)
      h->compute(h->arg, ctx, 1);
    sum += ab_compute_iters((uint64_t)(upto - done));
    if (h->compute)
      h->compute(h->arg, ctx, 0);
    done = upto;
  }
  if (freed > 0) { /* released as a C call releases the GIL around its work */
    ab_block_begin(ctx);
    sum += ab_compute_iters(freed);
    ab_block_end(ctx);
  }
  return sum;
}

double ab_compute_nogil(ab_ctx_t *ctx, int64_t ns)
{
  if (ctx->run->kernel.iters_per_us <= 0)
    return ab_compute(ctx, ns); /* which fails the run, saying why */
  ab_block_begin(ctx);
  double sum = ab_compute_ns(&ctx->run->kernel, ns);
  ab_block_end(ctx);
  return sum;
}

int ab_run_kernel(ab_run_t *run)
{
  if (run->kernel.iters_per_us > 0)
    return 0;
  int r = ab_compute_calibrate(&run->kernel);
  if (r == 0)
    ab_calib_set(run, "compute.iters_per_us", run->kernel.iters_per_us);
  return r;
}

void ab_record(ab_ctx_t *ctx, int metric, int64_t value)
{
  ab__rec(ctx, ctx->run->mt_base + metric, value);
}

void ab_count(ab_ctx_t *ctx, int counter, int64_t n) { ctx->counters[ctx->run->ct_base + counter] += n; }

int ab_fail(ab_ctx_t *ctx, const char *fmt, ...)
{
  ab_ctl_t *ctl = ctx->run->ctl;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx->run->slots[ctx->slot].init_msg, AB_ERRLEN, fmt, ap);
  va_end(ap);
  uint32_t none = 0;
  __atomic_compare_exchange_n(&ctl->failed_slot_plus1, &none, (uint32_t)ctx->slot + 1, 0,
                              __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  __atomic_store_n(&ctl->stop, 1, __ATOMIC_RELEASE);
  return -EIO;
}

/* A send that may wait is blocking: one over a kernel transport (a system call, as Python's
 * os.write, which releases the GIL), and one on the in-memory ring that waits for room
 * (AB_BLOCK) or for its turn among several senders. A ring send that drops when full never
 * waits and is not marked. */
static int ab__send_blocks(const ab_ctx_t *ctx, int chan)
{
  const ab_chan_t *c = ab__pchan(ctx->run, chan, 0);
  return c->t != &ab_transport_ring || c->policy == AB_BLOCK || c->multi_tx;
}

/* The queue a plain send goes to: the receiving instance of the sender's own index. */
static ab_chan_t *ab__out(const ab_ctx_t *ctx, int chan)
{
  return ab__pchan(ctx->run, chan, ctx->inst % ctx->run->chan_n[chan]);
}

static int ab__send1(ab_ctx_t *ctx, ab_chan_t *c, const void *buf, size_t len, int64_t t_chain, int blocks)
{
  if (blocks)
    ab_block_begin(ctx);
  int r = ab_chan_send(c, buf, len, t_chain);
  if (blocks)
    ab_block_end(ctx);
  return r;
}

int ab_send(ab_ctx_t *ctx, int chan, const void *buf, size_t len, int64_t t_chain)
{
  int r = ab__send1(ctx, ab__out(ctx, chan), buf, len, t_chain, ab__send_blocks(ctx, chan));
  return r < 0 ? r : 0;
}

int ab_send_to(ab_ctx_t *ctx, int chan, int to, const void *buf, size_t len, int64_t t_chain)
{
  int n = ctx->run->chan_n[chan], blocks = ab__send_blocks(ctx, chan);
  if (to != AB_ALL)
    return to < 0 || to >= n ? -EINVAL : ab__send1(ctx, ab__pchan(ctx->run, chan, to), buf, len, t_chain, blocks);
  int dropped = 0;
  for (int q = 0; q < n; q++) {
    int r = ab__send1(ctx, ab__pchan(ctx->run, chan, q), buf, len, t_chain, blocks);
    if (r < 0)
      return r;
    dropped |= r;
  }
  return dropped;
}

void *ab_send_begin(ab_ctx_t *ctx, int chan, size_t len)
{
  int blocks = ab__send_blocks(ctx, chan);
  if (blocks)
    ab_block_begin(ctx);
  void *p = ab_chan_send_begin(ab__out(ctx, chan), len);
  if (blocks)
    ab_block_end(ctx);
  return p;
}

int ab_send_end(ab_ctx_t *ctx, int chan, size_t len, int64_t t_chain)
{
  int blocks = ab__send_blocks(ctx, chan);
  if (blocks)
    ab_block_begin(ctx);
  int r = ab_chan_send_end(ab__out(ctx, chan), len, t_chain);
  if (blocks)
    ab_block_end(ctx);
  return r < 0 ? r : 0;
}

void ab__got(ab_ctx_t *ctx, int chan, const ab_msg_t *m, const void *data)
{
  ab__rec(ctx, ctx->run->mt_chan[chan], ab_now_ns() - m->t_sent);
  ctx->held[chan] = 1;
  if (ctx->run->nfaults)
    ab__fault_recv(ctx, chan, data, m->len);
  ctx->received[chan]++;
}

const void *ab_recv(ab_ctx_t *ctx, int chan, ab_msg_t *msg, int *err)
{
  const void *data = NULL;
  if (err)
    *err = 0;
  if (ctx->stash_chan == chan) {
    *msg = ctx->stash_msg;
    ctx->stash_chan = -1;
    return ctx->stash_data;
  }
  if (ctx->held[chan])
    ab_recv_done(ctx, chan);
  int r = ab_chan_recv(ab__pchan(ctx->run, chan, ctx->inst), msg, &data, 0);
  if (r < 0) {
    if (err)
      *err = r;
    return NULL;
  }
  ab__got(ctx, chan, msg, data);
  return data;
}

void ab_recv_done(ab_ctx_t *ctx, int chan)
{
  if (!ctx->held[chan])
    return;
  ctx->held[chan] = 0;
  if (ctx->stash_chan == chan)
    ctx->stash_chan = -1;
  ab_chan_release(ab__pchan(ctx->run, chan, ctx->inst));
}

void ab_store(ab_ctx_t *ctx, int reg, const void *val) { ab_reg_store(ctx->run->regs[reg], val); }
uint64_t ab_load(ab_ctx_t *ctx, int reg, void *val) { return ab_reg_load(ctx->run->regs[reg], val); }
