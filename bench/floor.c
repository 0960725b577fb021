/* The floor: a bare cache-line ping-pong. Two counters, each on its own line; a side bumps
 * the other side's counter and spins on its own. Nothing cheaper can carry a message between
 * two cores, so every other rtt is read against this one (the shm ring's spinning round trip
 * should stay within 2x of it). Spinning peers want a core each: on 2 cores, run nothing else.
 */
#include "abm.h"

typedef struct floor_sh {
  struct { _Alignas(64) uint64_t v; } slot[2]; /* slot[s]: bumped by the other side, read by s */
} floor_sh_t;

static int floor_setup(abm_link_t *l) { (void)l; return 0; }
static void floor_enter(abm_link_t *l, int side) { (void)l; (void)side; }
static void floor_teardown(abm_link_t *l) { (void)l; }

static int floor_send(abm_link_t *l, int side, const void *buf, size_t n)
{
  floor_sh_t *sh = l->sh;
  (void)buf;
  (void)n;
  __atomic_fetch_add(&sh->slot[!side].v, 1, __ATOMIC_RELEASE);
  return 0;
}

static int floor_recv(abm_link_t *l, int side, void *buf, size_t n, const void **data)
{
  floor_sh_t *sh = l->sh;
  uint64_t seen = l->side[side].seen, v;
  (void)n;
  while ((v = __atomic_load_n(&sh->slot[side].v, __ATOMIC_ACQUIRE)) == seen)
    abm_relax();
  l->side[side].seen = v;
  *data = buf;
  return 0;
}

static const abm_link_ops_t floor_ops = {
  .shared_size = sizeof(floor_sh_t), .setup = floor_setup, .enter = floor_enter,
  .send = floor_send, .recv = floor_recv, .teardown = floor_teardown,
};

static const int64_t floor_sizes[] = { 8 };

static const abm_link_def_t defs[] = {
  { "cacheline", &floor_ops, NULL, ABM_BOTH_ARCHS, ABM_BOTH_MODES, floor_sizes, 1, 1 },
};

void abm_register_floor(void)
{
  abm_register_links(defs, (int)(sizeof defs / sizeof defs[0]));
}
