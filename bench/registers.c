/* The harness's registers (harness/reg.h, a seqlock) as the runtimes use them.
 *
 *   reg/<arch>/<rtt|oneway>/<bytes>   a register per direction: a side stores a value, the
 *       other polls ab_reg_load until the version moves. The latency of a command published
 *       by one role and picked up by another that watches for it.
 *   reg/threads/store, reg/threads/load    uncontended: one thread, cost per call.
 *   reg/<arch>/load-contended              a peer stores without pause while we load:
 *       a load retries when a store is under way.
 *   reg/<arch>/store-contended             a peer stores too: writers serialise.
 * The per-call ones are a few tens of ns, below what a clock read per call could resolve,
 * so they report the mean per call (Time) and no histogram.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "abm.h"
#include "reg.h"
#include "shm.h"

/* ---- the link ------------------------------------------------------------------------------ */

typedef struct reg_pair {
  ab_reg_t *r[2]; /* r[s]: toward side s */
} reg_pair_t;

static int reg_setup(abm_link_t *l)
{
  reg_pair_t *p = l->sh;
  for (int i = 0; i < 2; i++)
    if (!(p->r[i] = ab_reg_create(l->bytes, l->procs)))
      return -errno;
  return 0;
}

static void reg_enter(abm_link_t *l, int side) { (void)l; (void)side; }

static int reg_send(abm_link_t *l, int side, const void *buf, size_t n)
{
  reg_pair_t *p = l->sh;
  (void)n;
  ab_reg_store(p->r[!side], buf); /* the ack is smaller: the register holds `bytes` anyway */
  return 0;
}

static int reg_recv(abm_link_t *l, int side, void *buf, size_t n, const void **data)
{
  reg_pair_t *p = l->sh;
  uint64_t seen = l->side[side].seen, v;
  (void)n;
  while ((v = ab_reg_load(p->r[side], buf)) == seen)
    abm_relax();
  l->side[side].seen = v;
  *data = buf;
  return 0;
}

static void reg_teardown(abm_link_t *l)
{
  reg_pair_t *p = l->sh;
  for (int i = 0; i < 2; i++)
    ab_reg_destroy(p->r[i]);
}

/* The pointers live in shared memory only so that both threads see them; a forked peer has
 * the same mappings at the same addresses. */
static const abm_link_ops_t reg_ops = {
  .shared_size = sizeof(reg_pair_t), .setup = reg_setup, .enter = reg_enter,
  .send = reg_send, .recv = reg_recv, .teardown = reg_teardown,
};

static const int64_t reg_sizes[] = { 8, 64, 1024 };

static const abm_link_def_t defs[] = {
  { "reg", &reg_ops, NULL, ABM_BOTH_ARCHS, ABM_BOTH_MODES, reg_sizes, 3, 1 },
};

/* ---- per call ------------------------------------------------------------------------------ */

enum { OP_STORE, OP_LOAD };

typedef struct reg_case {
  int op, contended, procs;
} reg_case_t;

typedef struct reg_hammer {
  ab_reg_t *r;
  uint32_t *stop;
  size_t size;
} reg_hammer_t;

static void reg_hammer(void *arg)
{
  reg_hammer_t *h = arg;
  unsigned char v[1024] = { 0 };
  while (!__atomic_load_n(h->stop, __ATOMIC_ACQUIRE)) {
    v[0]++;
    ab_reg_store(h->r, v);
  }
}

static void reg_bench(ab_gb_state_t *st, void *arg)
{
  const reg_case_t *c = arg;
  size_t size = (size_t)ab_gb_get_range(st, 0);
  unsigned char v[1024] = { 1 };
  uint32_t *stop = ab_shm_alloc(sizeof *stop, 1);
  ab_reg_t *r = ab_reg_create(size, c->procs);
  abm_peer_t peer;
  int e = 0;
  if (!stop || !r) {
    abm_skip(st, "register", errno);
    goto out;
  }
  ab_reg_store(r, v);
  reg_hammer_t h = { r, stop, size };
  if (c->contended && (e = abm_peer_start(&peer, c->procs, "reg", reg_hammer, &h)) < 0) {
    abm_skip(st, "peer", e);
    goto out;
  }
  uint64_t sum = 0;
  while (ab_gb_loop_batch(st, 64)) {
    for (int i = 0; i < 64; i++) {
      if (c->op == OP_STORE) {
        v[0] = (unsigned char)i;
        ab_reg_store(r, v);
      } else {
        sum += ab_reg_load(r, v);
      }
    }
  }
  __asm__ __volatile__("" : : "r"(sum) : "memory");
  if (c->contended) {
    __atomic_store_n(stop, 1, __ATOMIC_RELEASE);
    if (abm_peer_join(&peer, 2 * AB_NS_PER_S) < 0)
      ab_gb_skip(st, "the peer did not stop within 2 s");
  }
  ab_gb_items(st, ab_gb_iterations_done(st));
out:
  ab_reg_destroy(r);
  ab_shm_free(stop, sizeof *stop, 1);
}

static const reg_case_t per_call[] = {
  { OP_STORE, 0, 0 }, { OP_LOAD, 0, 0 },
  { OP_LOAD, 1, 0 }, { OP_LOAD, 1, 1 }, { OP_STORE, 1, 0 }, { OP_STORE, 1, 1 },
};

void abm_register_registers(void)
{
  abm_register_links(defs, (int)(sizeof defs / sizeof defs[0]));
  for (size_t i = 0; i < sizeof per_call / sizeof per_call[0]; i++) {
    const reg_case_t *c = &per_call[i];
    char name[64];
    snprintf(name, sizeof name, "reg/%s/%s%s", c->procs ? "procs" : "threads",
             c->op == OP_STORE ? "store" : "load", c->contended ? "-contended" : "");
    ab_gb_bench_t *b = ab_gb_register(name, reg_bench, (void *)c);
    for (int k = 0; k < 3; k++)
      ab_gb_arg(b, reg_sizes[k]);
  }
}
