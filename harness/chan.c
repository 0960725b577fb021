/* Channels, the generic layer: what every transport shares. Admission against `depth`
 * (block or drop), sequence numbers and timestamps, the counters of the control block, the
 * sender's staging and the receiver's buffer, and the futex helpers.
 *
 * Depth is counted here, not by the transports: in flight = sent - received, where
 * `received` moves on release. So a kernel transport's own buffering never changes what
 * AB_DROP drops, and the ring can trust that a slot is free once admission passed (its
 * tail is ctl->received). Each counter has one writer (sender or receiver) and sits on that
 * writer's cache line; the only one the other side reads per message is `received`.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "chan.h"
#include "shm.h"

_Static_assert(sizeof(ab_msg_t) == 32, "the header travels as 32 bytes");

enum { AB__TX_NONE = 0, AB__TX_INPLACE, AB__TX_STAGED, AB__TX_DROPPED };

const char *const ab_proc_transports[] = { "pipe", "unix", "mq", "shm", "tcp", NULL };

const ab_transport_t *ab_transport_find(const char *name)
{
  static const struct { const char *name; const ab_transport_t *t; } map[] = {
    { "ring", &ab_transport_ring }, { "shm", &ab_transport_ring },
    { "pipe", &ab_transport_pipe }, { "unix", &ab_transport_unix },
    { "mq", &ab_transport_mq },     { "tcp", &ab_transport_tcp },
  };
  if (!name)
    return NULL;
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (!strcmp(name, map[i].name))
      return map[i].t;
  return NULL;
}

int ab_futex_wait(uint32_t *addr, uint32_t val, int64_t timeout_ns, int shared)
{
  struct timespec ts, *tp = NULL;
  if (timeout_ns >= 0) {
    ts = ab_ts(timeout_ns);
    tp = &ts;
  }
  long r = syscall(SYS_futex, addr, shared ? FUTEX_WAIT : FUTEX_WAIT_PRIVATE, val, tp, NULL, 0);
  return r < 0 ? -errno : 0;
}

int ab_futex_wake(uint32_t *addr, int n, int shared)
{
  long r = syscall(SYS_futex, addr, shared ? FUTEX_WAKE : FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
  return r < 0 ? -errno : (int)r;
}

int64_t ab__sleep_ns(const ab_chan_t *c, int64_t deadline)
{
  int64_t ns = -1;
  if (deadline >= 0) {
    ns = deadline - ab_now_ns();
    if (ns < 0)
      ns = 0;
  }
  int64_t slice = c->slice_ns > 0 ? c->slice_ns : AB__SLICE_NS;
  if (c->stop && (ns < 0 || ns > slice))
    ns = slice;
  return ns;
}

/* Buffers are mapped, not malloc'ed: page aligned, and untouched pages cost nothing, so a
 * process can inherit every channel's buffers across fork and pay only for its own. */
static size_t ab__txbuf_size(const ab_chan_t *c) { return AB__HDR + c->msg_max; }

static size_t ab__rxbuf_size(const ab_chan_t *c)
{
  /* mq_receive wants room for a whole fragment wherever the next one lands */
  return AB__HDR + c->msg_max + (c->t == &ab_transport_mq ? c->frag : 0);
}

/* In the process that will use the buffer: no first-touch nor copy-on-write faults in the
 * run. */
void ab__prefault(void *p, size_t n)
{
  long pg = sysconf(_SC_PAGESIZE);
  for (size_t i = 0; i < n; i += (size_t)pg)
    ((volatile char *)p)[i] = 0;
}

size_t ab_chan_bytes(const ab_chan_t *c)
{
  if (!c->t)
    return 0;
  return sizeof *c + sizeof *c->ctl + c->mem_size + ab__txbuf_size(c) + (c->t->inplace ? 0 : ab__rxbuf_size(c));
}

void *ab__chan_alloc(ab_chan_t *c, size_t size)
{
  return c->arena && c->shared ? ab_arena_alloc(c->arena, size) : ab_shm_alloc(size, c->shared);
}

void ab__chan_free(ab_chan_t *c, void *p, size_t size)
{
  if (ab_arena_owns(c->arena, p))
    ab_arena_release(c->arena, p, size);
  else
    ab_shm_free(p, size, c->shared);
}

int ab_chan_create(ab_chan_t *c, const char *name, const ab_transport_t *t, size_t msg_max,
                   unsigned depth, int policy, int shared, int want_fd)
{
  return ab_chan_create_in(c, NULL, name, t, msg_max, depth, policy, shared, want_fd);
}

int ab_chan_create_in(ab_chan_t *c, ab_arena_t *arena, const char *name, const ab_transport_t *t,
                      size_t msg_max, unsigned depth, int policy, int shared, int want_fd)
{
  int r;
  memset(c, 0, sizeof *c);
  c->arena = arena;
  c->fd[0] = c->fd[1] = c->live[0] = c->live[1] = c->efd = -1;
  if (!t || depth == 0 || msg_max == 0 || msg_max > UINT32_MAX || (policy != AB_BLOCK && policy != AB_DROP))
    return -EINVAL;
  snprintf(c->name, sizeof c->name, "%s", name ? name : "");
  c->t = t;
  c->msg_max = msg_max;
  c->depth = depth;
  c->policy = policy;
  c->shared = !!shared;
  c->want_fd = !!want_fd;
  c->ctl = ab__chan_alloc(c, sizeof *c->ctl);
  if (!c->ctl) {
    r = -errno;
    goto fail;
  }
  if ((r = t->create(c)) < 0)
    goto fail_ctl;
  c->staging = ab_shm_alloc(ab__txbuf_size(c), 0);
  if (!c->staging) {
    r = -errno;
    goto fail_transport;
  }
  if (!t->inplace) {
    c->rxbuf = ab_shm_alloc(ab__rxbuf_size(c), 0);
    if (!c->rxbuf) {
      r = -errno;
      goto fail_staging;
    }
  }
  return 0;

fail_staging:
  ab_shm_free(c->staging, ab__txbuf_size(c), 0);
fail_transport:
  t->destroy(c);
fail_ctl:
  ab__chan_free(c, c->ctl, sizeof *c->ctl);
fail:
  c->t = NULL;
  c->ctl = NULL;
  c->staging = NULL;
  return r;
}

void ab_chan_attach(ab_chan_t *c, int side)
{
  if (!c->t)
    return;
  if (!c->shared) {
    /* One struct for both sides, attached from several threads: only add. */
    __atomic_fetch_or(&c->side, side, __ATOMIC_RELAXED);
    if ((side & AB_SIDE_TX) && !c->t->inplace)
      ab__prefault(c->staging, ab__txbuf_size(c));
    if ((side & AB_SIDE_RX) && c->rxbuf)
      ab__prefault(c->rxbuf, ab__rxbuf_size(c));
    return;
  }
  c->side = side;
  if (side & AB_SIDE_TX) {
    if (!c->t->inplace)
      ab__prefault(c->staging, ab__txbuf_size(c));
  } else {
    ab_shm_free(c->staging, ab__txbuf_size(c), 0);
    c->staging = NULL;
  }
  if ((side & AB_SIDE_RX) && c->rxbuf) {
    ab__prefault(c->rxbuf, ab__rxbuf_size(c));
  } else if (c->rxbuf) {
    ab_shm_free(c->rxbuf, ab__rxbuf_size(c), 0);
    c->rxbuf = NULL;
  }
  c->t->attach(c, side);
}

void ab_chan_destroy(ab_chan_t *c)
{
  if (!c->t)
    return;
  c->t->destroy(c);
  ab_shm_free(c->staging, ab__txbuf_size(c), 0);
  ab_shm_free(c->rxbuf, ab__rxbuf_size(c), 0);
  ab__chan_free(c, c->ctl, sizeof *c->ctl);
  c->staging = c->rxbuf = NULL;
  c->ctl = NULL;
  c->t = NULL;
}

static int ab__room(const ab_chan_t *c, uint64_t sent, uint64_t *inflight, int order)
{
  *inflight = sent - __atomic_load_n(&c->ctl->received, order);
  return *inflight < c->depth;
}

/* Admission: 0 (room; *inflight as seen), 1 dropped, -ECANCELED. The sender is the only
 * writer of sent/dropped, so plain loads of its own counters are exact. */
static int ab__admit(ab_chan_t *c, uint64_t *inflight)
{
  ab_chan_ctl_t *ctl = c->ctl;
  uint64_t sent = __atomic_load_n(&ctl->sent, __ATOMIC_RELAXED);
  if (ab__room(c, sent, inflight, __ATOMIC_ACQUIRE))
    return 0;
  if (c->policy == AB_DROP) {
    __atomic_store_n(&ctl->dropped, ctl->dropped + 1, __ATOMIC_RELAXED);
    return 1;
  }
  /* Block. Dekker with ab_chan_release: we announce ourselves then look at received, it
   * moves received then looks for us (all seq_cst), so one of us sees the other. */
  for (;;) {
    if (ab__stopped(c))
      return -ECANCELED;
    __atomic_fetch_add(&ctl->space_waiters, 1, __ATOMIC_SEQ_CST);
    uint32_t v = __atomic_load_n(&ctl->space_futex, __ATOMIC_SEQ_CST);
    if (ab__stopped(c)) { /* stopped, and perhaps kicked, before v was read */
      __atomic_fetch_sub(&ctl->space_waiters, 1, __ATOMIC_RELAXED);
      return -ECANCELED;
    }
    if (ab__room(c, sent, inflight, __ATOMIC_SEQ_CST)) {
      __atomic_fetch_sub(&ctl->space_waiters, 1, __ATOMIC_RELAXED);
      return 0;
    }
    ab_futex_wait(&ctl->space_futex, v, ab__sleep_ns(c, -1), c->shared);
    __atomic_fetch_sub(&ctl->space_waiters, 1, __ATOMIC_RELAXED);
    if (ab__room(c, sent, inflight, __ATOMIC_ACQUIRE))
      return 0;
  }
}

static void ab__stamp(const ab_chan_t *c, ab_msg_t *h, size_t len, int64_t t_chain)
{
  const ab_chan_ctl_t *ctl = c->ctl;
  memset(h, 0, sizeof *h); /* the padding travels on the kernel transports */
  h->seq = ctl->sent + ctl->dropped + 1;
  h->t_sent = ab_now_ns();
  h->t_chain = t_chain ? t_chain : h->t_sent;
  h->len = (uint32_t)len;
}

/* After the transport took the message. Relaxed: the counters are statistics, readers that
 * need them exact (the supervisor) read after the roles stop. */
static void ab__account(ab_chan_t *c, const ab_msg_t *h, uint64_t inflight)
{
  ab_chan_ctl_t *ctl = c->ctl;
  __atomic_store_n(&ctl->sent, ctl->sent + 1, __ATOMIC_RELAXED);
  __atomic_store_n(&ctl->bytes, ctl->bytes + h->len, __ATOMIC_RELAXED);
  if (inflight + 1 > ctl->max_depth)
    __atomic_store_n(&ctl->max_depth, inflight + 1, __ATOMIC_RELAXED);
  __atomic_store_n(&ctl->t_last_sent, h->t_sent, __ATOMIC_RELAXED);
}

/* Several senders take turns (a futex mutex in the shared control block, Drepper's: 0 free,
 * 1 taken, 2 taken with waiters). A wait gives up with -ECANCELED once the run stops, so a
 * sender that died holding it cannot hang the others past the end. */
static int ab__tx_lock(ab_chan_t *c, int cancellable)
{
  if (!c->multi_tx)
    return 0;
  uint32_t *w = &c->ctl->tx_lock, v = 0;
  if (__atomic_compare_exchange_n(w, &v, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
    return 0;
  if (v != 2)
    v = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE);
  while (v != 0) {
    if (cancellable && ab__stopped(c))
      return -ECANCELED;
    ab_futex_wait(w, 2, ab__sleep_ns(c, -1), c->shared);
    v = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE);
  }
  return 0;
}

static int32_t ab__tid(void)
{
  static __thread int32_t tid;
  if (!tid)
    tid = (int32_t)gettid();
  return tid;
}

static void ab__tx_unlock(ab_chan_t *c)
{
  if (!c->multi_tx)
    return;
  if (__atomic_fetch_sub(&c->ctl->tx_lock, 1, __ATOMIC_RELEASE) != 1) {
    __atomic_store_n(&c->ctl->tx_lock, 0, __ATOMIC_RELEASE);
    ab_futex_wake(&c->ctl->tx_lock, 1, c->shared);
  }
}

int ab_chan_send(ab_chan_t *c, const void *buf, size_t len, int64_t t_chain)
{
  uint64_t inflight;
  ab_msg_t h;
  int r;
  if (len > c->msg_max)
    return -EMSGSIZE;
  if ((r = ab__tx_lock(c, 1)) < 0)
    return r;
  if ((r = ab__admit(c, &inflight)) == 0) {
    ab__stamp(c, &h, len, t_chain);
    r = c->t->send(c, &h, buf);
    if (r == 0)
      ab__account(c, &h, inflight);
  }
  ab__tx_unlock(c);
  return r;
}

void *ab_chan_send_begin(ab_chan_t *c, size_t len)
{
  uint64_t inflight;
  ab_chan_ctl_t *ctl = c->ctl;
  if (len > c->msg_max) {
    errno = EMSGSIZE;
    return NULL;
  }
  /* Held until send_end, taken whatever the stop says: the staging buffer and tx_mode are
   * the senders' in common. (A sender that died holding it is a failed run already; the
   * others are then stopped by the supervisor.) */
  ab__tx_lock(c, 0);
  if (c->multi_tx)
    ctl->tx_owner = ab__tid();
  int r = ab__admit(c, &inflight);
  if (r == 0 && c->t->reserve) {
    ctl->tx_mode = AB__TX_INPLACE;
    return c->t->reserve(c, len);
  }
  ctl->tx_mode = r == 0 ? AB__TX_STAGED : r == 1 ? AB__TX_DROPPED : r;
  return (char *)c->staging + AB__HDR; /* mq sends the first fragment from here, header in front */
}

static int ab__send_end(ab_chan_t *c, size_t len, int64_t t_chain)
{
  ab_chan_ctl_t *ctl = c->ctl;
  int mode = ctl->tx_mode, r;
  ab_msg_t h;
  ctl->tx_mode = AB__TX_NONE;
  if (mode == AB__TX_DROPPED)
    return 1;
  if (mode < 0)
    return mode;
  if (mode == AB__TX_NONE || len > c->msg_max)
    return -EINVAL;
  /* inflight for the high-water mark: the sender is the only one adding, so what it is now
   * is at least what admission saw. */
  uint64_t inflight = ctl->sent - __atomic_load_n(&ctl->received, __ATOMIC_RELAXED);
  ab__stamp(c, &h, len, t_chain);
  if (mode == AB__TX_INPLACE)
    r = c->t->commit(c, &h);
  else
    r = c->t->send(c, &h, (char *)c->staging + AB__HDR);
  if (r == 0)
    ab__account(c, &h, inflight);
  return r;
}

int ab_chan_send_end(ab_chan_t *c, size_t len, int64_t t_chain)
{
  if (c->multi_tx && c->ctl->tx_owner != ab__tid())
    return -EINVAL; /* no send_begin of this sender's is pending */
  int r = ab__send_end(c, len, t_chain);
  if (c->multi_tx) {
    c->ctl->tx_owner = 0;
    ab__tx_unlock(c);
  }
  return r;
}

int ab_chan_recv(ab_chan_t *c, ab_msg_t *h, const void **data, int64_t timeout_ns)
{
  if (c->ctl->rx_held)
    ab_chan_release(c);
  int r = c->t->recv(c, h, data, timeout_ns);
  if (r == 0)
    c->ctl->rx_held = 1;
  return r;
}

void ab_chan_release(ab_chan_t *c)
{
  ab_chan_ctl_t *ctl = c->ctl;
  if (!ctl->rx_held)
    return;
  ctl->rx_held = 0;
  if (c->t->release)
    c->t->release(c);
  uint64_t n = ctl->received + 1;
  if (c->policy != AB_BLOCK) {
    __atomic_store_n(&ctl->received, n, __ATOMIC_RELEASE);
    return;
  }
  /* The other half of the Dekker pair in ab__admit: a sender that announced itself before
   * this store is seen here and woken; one announcing later sees the new count. */
  __atomic_store_n(&ctl->received, n, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&ctl->space_waiters, __ATOMIC_SEQ_CST)) {
    __atomic_fetch_add(&ctl->space_futex, 1, __ATOMIC_SEQ_CST);
    ab_futex_wake(&ctl->space_futex, INT_MAX, c->shared);
  }
}

int ab_chan_fd(ab_chan_t *c)
{
  return c->t->fd ? c->t->fd(c) : -ENOTSUP;
}

int ab_chan_arm(ab_chan_t *c)
{
  return c->t->arm ? c->t->arm(c) : 0;
}

void ab_chan_disarm(ab_chan_t *c)
{
  if (c->t->disarm)
    c->t->disarm(c);
}

/* After the stop word is set: wake whoever sleeps on this channel, the receiver (the
 * transport's kick) and senders waiting for room or for their turn, so nobody sleeps out
 * its slice. A kick that comes before a sleeper looked at the stop word is seen by it. */
void ab_chan_kick(ab_chan_t *c)
{
  if (!c->t || !c->ctl)
    return;
  __atomic_fetch_add(&c->ctl->space_futex, 1, __ATOMIC_SEQ_CST);
  ab_futex_wake(&c->ctl->space_futex, INT_MAX, c->shared);
  if (c->multi_tx)
    ab_futex_wake(&c->ctl->tx_lock, INT_MAX, c->shared);
  if (c->t->kick)
    c->t->kick(c);
}
