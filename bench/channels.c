/* The harness's channels (harness/chan.h) priced as the runtimes use them: ab_chan_send and
 * ab_chan_recv over each transport, with the stop word set, the receiver's previous message
 * released by its next receive. Two channels, one per direction (the back one carries the
 * echo for rtt, an 8-byte ack for oneway).
 *
 *   chan-ring       threads: the private ring (what the threads runtime uses), futex wake-up
 *   chan-ring-spin  the same, the receiver polling for spin_ns before it sleeps
 *   chan-shm        procs: the ring in shared memory (transport shm), futex wake-up
 *   chan-shm-spin   the same, spinning
 *   chan-pipe, chan-unix, chan-mq, chan-tcp   procs: the kernel transports
 *
 * robot.c reuses these ops with the robot's own channel declarations, and adds the
 * in-place send (send_begin/send_end).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "abm.h"
#include "chan.h"

#include "channels.h"

typedef struct chan_pair {
  ab_chan_t c[2]; /* c[s]: toward side s */
  int made[2];
} chan_pair_t;

static int chan_setup(abm_link_t *l)
{
  const abm_chan_cfg_t *cfg = l->cfg;
  const ab_transport_t *t = ab_transport_find(cfg->transport);
  chan_pair_t *p = calloc(1, sizeof *p);
  if (!p)
    return -ENOMEM;
  l->priv = p;
  if (!t)
    return -ENOENT;
  for (int to = 0; to < 2; to++) {
    size_t n = to == ABM_PEER ? l->bytes : l->back;
    if (n == 0)
      n = 1;
    n += to == ABM_PEER ? cfg->extra : 0;
    int r = ab_chan_create(&p->c[to], to == ABM_PEER ? "abm.fwd" : "abm.back", t, n,
                           cfg->depth ? cfg->depth : 4, cfg->policy, l->procs, 0);
    if (r < 0)
      return r;
    p->made[to] = 1;
    p->c[to].stop = &l->ctl->stop;
    p->c[to].spin_ns = cfg->spin_ns;
    if (!l->procs)
      ab_chan_attach(&p->c[to], AB_SIDE_BOTH); /* as the runtime does for a private channel */
  }
  return 0;
}

static void chan_enter(abm_link_t *l, int side)
{
  chan_pair_t *p = l->priv;
  if (!l->procs)
    return;
  ab_chan_attach(&p->c[!side], AB_SIDE_TX);
  ab_chan_attach(&p->c[side], AB_SIDE_RX);
}

static int chan_send(abm_link_t *l, int side, const void *buf, size_t n)
{
  chan_pair_t *p = l->priv;
  int r = ab_chan_send(&p->c[!side], buf, n, 0);
  return r == 1 ? -ENOBUFS : r; /* a drop: the pacing should never let one happen */
}

/* In place: the payload is written straight into the slot; here only its first line, the
 * way a producer stamps a frame it captured in place (the capture is not the hand-over). */
static int chan_send_inplace(abm_link_t *l, int side, const void *buf, size_t n)
{
  chan_pair_t *p = l->priv;
  if (side == ABM_PEER)
    return chan_send(l, side, buf, n); /* the ack */
  char *slot = ab_chan_send_begin(&p->c[!side], n);
  if (!slot)
    return -errno;
  memcpy(slot, buf, n < 64 ? n : 64);
  int r = ab_chan_send_end(&p->c[!side], n, 0);
  return r == 1 ? -ENOBUFS : r;
}

static int chan_recv(abm_link_t *l, int side, void *buf, size_t n, const void **data)
{
  chan_pair_t *p = l->priv;
  ab_msg_t h;
  (void)buf;
  int r = ab_chan_recv(&p->c[side], &h, data, -1);
  if (r == 0 && h.len != n)
    return -EPROTO;
  return r;
}

static void chan_teardown(abm_link_t *l)
{
  chan_pair_t *p = l->priv;
  if (!p)
    return;
  for (int i = 0; i < 2; i++)
    if (p->made[i])
      ab_chan_destroy(&p->c[i]);
  free(p);
}

const abm_link_ops_t abm_chan_ops = {
  .setup = chan_setup, .enter = chan_enter, .send = chan_send, .recv = chan_recv,
  .teardown = chan_teardown,
};

const abm_link_ops_t abm_chan_inplace_ops = {
  .setup = chan_setup, .enter = chan_enter, .send = chan_send_inplace, .recv = chan_recv,
  .teardown = chan_teardown,
};

#define SPIN_NS (100 * AB_NS_PER_US)

static const abm_chan_cfg_t ring = { "ring", 0, 4, AB_BLOCK, 0 },
                            ring_spin = { "ring", SPIN_NS, 4, AB_BLOCK, 0 },
                            shm = { "shm", 0, 4, AB_BLOCK, 0 },
                            shm_spin = { "shm", SPIN_NS, 4, AB_BLOCK, 0 },
                            pipe_ = { "pipe", 0, 4, AB_BLOCK, 0 },
                            unix_ = { "unix", 0, 4, AB_BLOCK, 0 },
                            mq = { "mq", 0, 4, AB_BLOCK, 0 },
                            tcp = { "tcp", 0, 4, AB_BLOCK, 0 };

#define T ABM_ARCH(ABM_THREADS)
#define P ABM_ARCH(ABM_PROCS)

static const abm_link_def_t defs[] = {
  { "chan-ring", &abm_chan_ops, &ring, T, ABM_BOTH_MODES, NULL, 0, 0 },
  { "chan-ring-spin", &abm_chan_ops, &ring_spin, T, ABM_BOTH_MODES, NULL, 0, 0 },
  { "chan-shm", &abm_chan_ops, &shm, P, ABM_BOTH_MODES, NULL, 0, 0 },
  { "chan-shm-spin", &abm_chan_ops, &shm_spin, P, ABM_BOTH_MODES, NULL, 0, 0 },
  { "chan-pipe", &abm_chan_ops, &pipe_, P, ABM_BOTH_MODES, NULL, 0, 0 },
  { "chan-unix", &abm_chan_ops, &unix_, P, ABM_BOTH_MODES, NULL, 0, 0 },
  { "chan-mq", &abm_chan_ops, &mq, P, ABM_BOTH_MODES, NULL, 0, 0 },
  { "chan-tcp", &abm_chan_ops, &tcp, P, ABM_BOTH_MODES, NULL, 0, 0 },
};

void abm_register_channels(void)
{
  abm_register_links(defs, (int)(sizeof defs / sizeof defs[0]));
}
