/* The instrument scenario's parts (scenarios/instrument.c: the clients and the descriptor;
 * scenarios/instrument_owner.c: the owner, set-up and finish): roles, figures, and the queues
 * in shared memory between clients and owner. */
#ifndef AB_SCEN_INSTRUMENT_H
#define AB_SCEN_INSTRUMENT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "ab.h"

enum { R_OWNER, R_SCOPE, R_ASG, R_PID, R_IQ, NR };
#define NCL 4 /* the clients: role - 1 */
enum { D_INSTR };
enum { O_NAIVE, O_MUX, O_ASYNC, O_BROKEN, O_DIRECT };
enum { W_OVERLAP, W_SERIAL };
enum { M_SCOPE, M_ASG, M_PID, M_IQ, M_ASG_BUSY, M_ASG_IDLE, M_QUEUE, NM };
enum { K_REQS, K_REPLIES, K_MISROUTED, K_TIMEOUTS, K_LATE, K_REFUSED, K_SKIPPED, K_SKIPPED_PERIODS, K_I_CONN, K_I_REFUSALS, K_I_MSGS,
       K_I_CMDS, K_I_ERRORS, K_I_ACQ, NK };
enum { V_BUSY_P50, V_IDLE_P50, V_HOL, V_ASG_FRAC, V_SCOPE_P50, V_CMD_RATE, V_REPLY_RATE, NV };

#define RING 64
#define T_SLICE (20 * AB_NS_PER_MS) /* a wait looks at the run's stop this often */

typedef struct rq {
  uint64_t id;
  int client;
  double value;
  int64_t t_req, t_taken; /* sent by the client; taken by the owner */
} rq_t;

typedef struct slot { /* a reply; naive's one response queue is slot 0 */
  uint64_t id;        /* the request it answers: its client's sequence number ... */
  int client;         /* ... and that client */
  int block;          /* the instrument sent it as a definite-length block */
  int64_t t_taken;    /* when the owner took its request */
  int status;         /* 0, or -errno of the instrument's exchange */
  uint32_t len;
} slot_t;

typedef struct cfg {
  int owner, worker, bin, samples;
  int64_t poll_ns, timeout_ns;
  double hz[NCL];
  char address[128];
  int ev_owner, ev_reply[NCL], pass[2];
  pthread_mutex_t lock, qmu;   /* naive's global lock; the ring's */
  pthread_mutex_t smu[NCL];    /* each reply slot's: the owner fills it, its client reads it */
  rq_t ring[RING];
  uint32_t head, tail;
  int scope_busy;              /* the scope's request is with the owner (naive: the lock held) */
  unsigned scope_epoch;        /* +1 as the scope's request goes to the owner and as it ends */
  int skip[NCL];               /* the instrument rejects this client's header */
  char idn[128];
  size_t reply_max;
  /* then NCL slots of sizeof(slot_t) + reply_max */
} cfg_t;

/* Set-up (instrument_owner.c): the shared block, the mock's rules, the queues. */
int in_setup(ab_run_t *run);
extern const char *const cl_name[NCL];
extern const char *const in_setter[NCL]; /* each setter client's header (the scope: NULL) */

static inline cfg_t *G(ab_ctx_t *ctx) { return ab_shared(ctx); }
static inline slot_t *slot_of(cfg_t *g, int i)
{
  return (slot_t *)((char *)(g + 1) + (size_t)i * (sizeof(slot_t) + g->reply_max));
}
static inline char *slot_data(cfg_t *g, int i) { return (char *)(slot_of(g, i) + 1); }

/* Post an eventfd; wait for one up to deadline (1 taken, 0 timed out or the run stopping);
 * the owner's role and descriptor pieces (instrument_owner.c). */
void ev_post(int fd);
int ev_wait(ab_ctx_t *ctx, int fd, int64_t deadline);
int in_pop(cfg_t *g, rq_t *r);
int in_owner_init(ab_ctx_t *ctx);
int in_owner_step(ab_ctx_t *ctx);
void in_owner_fini(ab_ctx_t *ctx);

#endif
