/* The ring transport: an SPSC ring of `depth` slots, private ("ring": threads, loop) or in
 * shared memory ("shm": procs), the same code either way. A slot is the 32-byte header and
 * msg_max bytes, 64-byte aligned; messages are written in place (reserve/commit) and read
 * in place (recv hands out the slot), so a 6 MB frame is never copied by the channel.
 *
 * Indices: head (published) is the producer's, on its own line; the tail is ctl->received,
 * which the generic layer moves on release, so admission there is exactly "a slot is free"
 * and the ring needs no index of its own on the consumer side.
 *
 * Wake-up: a busy consumer costs the producer no syscall. The consumer says where it is
 * about to sleep (rx_sleeping: futex, or the eventfd when it sleeps in poll/epoll), then
 * looks at head once more; the producer publishes head, then looks at rx_sleeping. Both
 * seq_cst, so one of them sees the other (Dekker); the producer claims a sleeper with an
 * exchange and wakes it once.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chan.h"
#include "shm.h"

enum { AB__AWAKE = 0, AB__ON_EFD = 1, AB__ON_FUTEX = 2 };

typedef struct ab__ring {
  _Alignas(64) uint64_t head;          /* messages published (producer) */
  _Alignas(64) unsigned char slots[];
} ab__ring_t;

static inline void ab__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  __asm__ __volatile__("" ::: "memory");
#endif
}

static inline size_t ab__stride(const ab_chan_t *c)
{
  return (AB__HDR + c->msg_max + 63) & ~(size_t)63;
}

static inline unsigned char *ab__slot(const ab_chan_t *c, uint64_t i)
{
  return ((ab__ring_t *)c->mem)->slots + (size_t)(i % c->depth) * ab__stride(c);
}

static int ring_create(ab_chan_t *c)
{
  size_t stride = ab__stride(c);
  int r;
  if (c->depth > (SIZE_MAX - sizeof(ab__ring_t)) / stride)
    return -ENOMEM;
  c->mem_size = sizeof(ab__ring_t) + c->depth * stride;
  c->mem = ab__chan_alloc(c, c->mem_size);
  if (!c->mem)
    return -errno;
  if (c->want_fd) {
    c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (c->efd < 0) {
      r = -errno;
      goto fail_mem;
    }
  }
  ab__prefault(c->mem, c->mem_size);
  return 0;

fail_mem:
  ab__chan_free(c, c->mem, c->mem_size);
  c->mem = NULL;
  return r;
}

/* Shared rings only (the generic layer keeps private ones whole). */
static void ring_attach(ab_chan_t *c, int side)
{
  if (side == AB_SIDE_NONE) {
    if (c->efd >= 0)
      close(c->efd);
    c->efd = -1;
    ab__chan_free(c, c->mem, c->mem_size);
    c->mem = NULL;
    return;
  }
  /* The pages exist (create touched them); map them into this process now. */
#ifdef MADV_POPULATE_WRITE
  if (madvise(c->mem, c->mem_size, MADV_POPULATE_WRITE) == 0)
    return;
#endif
  for (size_t i = 0; i < c->mem_size; i += 4096)
    (void)((volatile unsigned char *)c->mem)[i];
}

static void *ring_reserve(ab_chan_t *c, size_t len)
{
  (void)len;
  return ab__slot(c, ((ab__ring_t *)c->mem)->head) + AB__HDR;
}

static void ab__ring_wake(ab_chan_t *c)
{
  uint32_t how = __atomic_exchange_n(&c->ctl->rx_sleeping, AB__AWAKE, __ATOMIC_SEQ_CST);
  if (how == AB__ON_FUTEX) {
    __atomic_fetch_add(&c->ctl->data_seq, 1, __ATOMIC_SEQ_CST);
    ab_futex_wake(&c->ctl->data_seq, 1, c->shared);
  } else if (how == AB__ON_EFD) {
    uint64_t one = 1;
    ssize_t n = write(c->efd, &one, sizeof one);
    (void)n; /* cannot fail short of a counter overflow (2^64 - 1 wakes) */
  }
}

static int ring_commit(ab_chan_t *c, const ab_msg_t *h)
{
  ab__ring_t *r = c->mem;
  uint64_t head = r->head; /* ours alone */
  memcpy(ab__slot(c, head), h, AB__HDR);
  __atomic_store_n(&r->head, head + 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&c->ctl->rx_sleeping, __ATOMIC_SEQ_CST) != AB__AWAKE)
    ab__ring_wake(c);
  return 0;
}

static int ring_send(ab_chan_t *c, const ab_msg_t *h, const void *buf)
{
  memcpy(ring_reserve(c, h->len), buf, h->len);
  return ring_commit(c, h);
}

/* Poll head for up to spin_ns: on a spare core this trades CPU for the wake-up latency. */
static int ab__ring_spin(const ab_chan_t *c, ab__ring_t *r, uint64_t tail)
{
  int64_t end = ab_now_ns() + c->spin_ns;
  for (unsigned i = 1;; i++) {
    if (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) != tail)
      return 1;
    ab__cpu_relax();
    if ((i & 63) == 0 && (ab_now_ns() >= end || ab__stopped(c)))
      return 0;
  }
}

static int ring_recv(ab_chan_t *c, ab_msg_t *h, const void **data, int64_t timeout_ns)
{
  ab__ring_t *r = c->mem;
  uint64_t tail = c->ctl->received; /* ours alone */
  int64_t deadline = timeout_ns > 0 ? ab_now_ns() + timeout_ns : -1;
  int spun = c->spin_ns <= 0;
  while (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) == tail) {
    if (timeout_ns == 0)
      return -EAGAIN;
    if (ab__stopped(c))
      return -ECANCELED;
    if (deadline >= 0 && ab_now_ns() >= deadline)
      return -EAGAIN;
    if (!spun) {
      spun = 1;
      if (ab__ring_spin(c, r, tail))
        break;
    }
    __atomic_store_n(&c->ctl->rx_sleeping, AB__ON_FUTEX, __ATOMIC_SEQ_CST);
    uint32_t v = __atomic_load_n(&c->ctl->data_seq, __ATOMIC_SEQ_CST);
    /* A stop (and its kick) that came before we announced ourselves: not slept out. */
    if (c->stop && __atomic_load_n(c->stop, __ATOMIC_SEQ_CST)) {
      __atomic_store_n(&c->ctl->rx_sleeping, AB__AWAKE, __ATOMIC_RELAXED);
      continue;
    }
    if (__atomic_load_n(&r->head, __ATOMIC_SEQ_CST) != tail) {
      __atomic_store_n(&c->ctl->rx_sleeping, AB__AWAKE, __ATOMIC_RELAXED);
      break;
    }
    ab_futex_wait(&c->ctl->data_seq, v, ab__sleep_ns(c, deadline), c->shared);
    __atomic_store_n(&c->ctl->rx_sleeping, AB__AWAKE, __ATOMIC_RELAXED);
  }
  unsigned char *s = ab__slot(c, tail);
  memcpy(h, s, AB__HDR);
  *data = s + AB__HDR;
  return 0;
}

/* A sleeping receiver is woken as a sender would wake it; it then finds the stop word. */
static void ring_kick(ab_chan_t *c)
{
  if (c->ctl) /* the ring itself may be unmapped here (the procs supervisor): not its ctl */
    ab__ring_wake(c);
}

static int ring_fd(ab_chan_t *c)
{
  return c->efd >= 0 ? c->efd : -ENOTSUP;
}

static int ring_arm(ab_chan_t *c)
{
  ab__ring_t *r = c->mem;
  if (c->efd < 0)
    return -ENOTSUP;
  /* A message still held by the receiver does not count: it is not news. */
  uint64_t tail = c->ctl->received + (c->ctl->rx_held ? 1 : 0);
  __atomic_store_n(&c->ctl->rx_sleeping, AB__ON_EFD, __ATOMIC_SEQ_CST);
  /* News, or a stop whose kick may have come before we were armed: do not sleep. */
  if (__atomic_load_n(&r->head, __ATOMIC_SEQ_CST) != tail || (c->stop && __atomic_load_n(c->stop, __ATOMIC_SEQ_CST))) {
    /* If the producer claimed us meanwhile it writes the eventfd: one spurious wake-up. */
    __atomic_store_n(&c->ctl->rx_sleeping, AB__AWAKE, __ATOMIC_SEQ_CST);
    return 1;
  }
  return 0;
}

static void ring_disarm(ab_chan_t *c)
{
  if (c->efd < 0)
    return;
  /* Still armed: the producer never claimed us, so nothing was written; skip the read. */
  if (__atomic_exchange_n(&c->ctl->rx_sleeping, AB__AWAKE, __ATOMIC_SEQ_CST) == AB__ON_EFD)
    return;
  uint64_t n;
  ssize_t got = read(c->efd, &n, sizeof n);
  (void)got; /* EAGAIN: the write is still on its way; it costs one spurious wake-up */
}

static void ring_destroy(ab_chan_t *c)
{
  if (c->efd >= 0)
    close(c->efd);
  c->efd = -1;
  ab__chan_free(c, c->mem, c->mem_size);
  c->mem = NULL;
}

const ab_transport_t ab_transport_ring = {
  .name = "ring",
  .inplace = 1,
  .create = ring_create,
  .attach = ring_attach,
  .send = ring_send,
  .reserve = ring_reserve,
  .commit = ring_commit,
  .recv = ring_recv,
  .release = NULL, /* the generic layer's received++ frees the slot */
  .fd = ring_fd,
  .arm = ring_arm,
  .disarm = ring_disarm,
  .kick = ring_kick,
  .destroy = ring_destroy,
};
