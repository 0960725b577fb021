/* Registers: the seqlock of reg.h. One allocation (shared memory for procs) holding the
 * sequence word on its own cache line and the value after it, no pointers inside.
 *
 * Writers serialise by moving the sequence from even to odd with a CAS, store the words,
 * then publish seq + 1 (even again): version = seq / 2 = stores completed. The value is
 * copied as 8-byte atomic words, written with release and read with acquire (plain moves on
 * x86): a reader that sees any word of a write is then ordered after that write's odd
 * sequence, so its re-check of the sequence catches the tear; the re-check itself may be
 * relaxed, as no load can move above the acquire loads of the words before it. This needs no
 * fence, and ThreadSanitizer understands it. tests/test_reg.c stops a load and a store
 * halfway through their copies to pin both rules: retry when the sequence moved, wait while
 * it is odd.
 *
 * On 2 cores a writer can be preempted inside its write; whoever waits on it (the other
 * writer, a reader) spins a few hundred times, then yields, so the preempted one can run.
 */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>

#include "reg.h"
#include "shm.h"

#define AB__SPINS 256

struct ab_reg {
  _Alignas(64) uint64_t seq;  /* odd while a write is in progress */
  uint64_t size;              /* bytes as created */
  uint64_t words;
  uint64_t alloc;             /* bytes mapped */
  int32_t shared;
  _Alignas(64) uint64_t data[];
};

static inline void ab__relax(unsigned *spins)
{
  if (++*spins < AB__SPINS) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  } else {
    sched_yield();
  }
}

ab_reg_t *ab_reg_create(size_t size, int shared)
{
  if (size == 0 || size > (SIZE_MAX - sizeof(ab_reg_t)) / 2) {
    errno = EINVAL;
    return NULL;
  }
  size_t words = (size + 7) / 8, alloc = sizeof(ab_reg_t) + words * 8;
  ab_reg_t *r = ab_shm_alloc(alloc, shared);
  if (!r)
    return NULL;
  r->size = size;
  r->words = words;
  r->alloc = alloc;
  r->shared = !!shared;
  return r;
}

size_t ab_reg_bytes(const ab_reg_t *r) { return r ? (size_t)r->alloc : 0; }

void ab_reg_destroy(ab_reg_t *r)
{
  if (r)
    ab_shm_free(r, r->alloc, r->shared);
}

size_t ab_reg_size(const ab_reg_t *r)
{
  return r->size;
}

void ab_reg_store(ab_reg_t *r, const void *val)
{
  const unsigned char *src = val;
  size_t n = r->words, tail = r->size % 8;
  unsigned spins = 0;
  uint64_t s = __atomic_load_n(&r->seq, __ATOMIC_RELAXED);
  for (;;) {
    if (!(s & 1) && __atomic_compare_exchange_n(&r->seq, &s, s + 1, 1, __ATOMIC_ACQUIRE,
                                                __ATOMIC_RELAXED))
      break;
    ab__relax(&spins);
    s = __atomic_load_n(&r->seq, __ATOMIC_RELAXED);
  }
  if (tail)
    n--; /* the last word is partial: copied below without reading past val */
  for (size_t i = 0; i < n; i++) {
    uint64_t w;
    memcpy(&w, src + 8 * i, 8);
    __atomic_store_n(&r->data[i], w, __ATOMIC_RELEASE);
  }
  if (tail) {
    uint64_t w = 0;
    memcpy(&w, src + 8 * n, tail);
    __atomic_store_n(&r->data[n], w, __ATOMIC_RELEASE);
  }
  __atomic_store_n(&r->seq, s + 2, __ATOMIC_RELEASE);
}

uint64_t ab_reg_load(ab_reg_t *r, void *val)
{
  unsigned char *dst = val;
  size_t n = r->words, tail = r->size % 8;
  unsigned spins = 0;
  if (tail)
    n--;
  for (;;) {
    uint64_t s = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);
    if (s & 1) {
      ab__relax(&spins);
      continue;
    }
    for (size_t i = 0; i < n; i++) {
      uint64_t w = __atomic_load_n(&r->data[i], __ATOMIC_ACQUIRE);
      memcpy(dst + 8 * i, &w, 8);
    }
    if (tail) {
      uint64_t w = __atomic_load_n(&r->data[n], __ATOMIC_ACQUIRE);
      memcpy(dst + 8 * n, &w, tail);
    }
    if (__atomic_load_n(&r->seq, __ATOMIC_RELAXED) == s)
      return s / 2;
    ab__relax(&spins);
  }
}
