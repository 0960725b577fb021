/* instrument (seed 003): one instrument, one connection, four clients.
 *
 * The instrument (hw/instrument.h) speaks SCPI over TCP and takes one connection. An owner
 * role holds it; four clients share it:
 *   scope  acquires and reads the trace, back to back (ACQ:START, ACQ:TRIG NOW, then the
 *          data once ACQ:TRIG:STAT? says TD);
 *   asg    sets the generator's frequency and reads it back, at `asg_hz`;
 *   pid    sets a PID setpoint and reads it back, at `pid_hz` (vendor-specific header);
 *   iq     sets an IQ demodulator's frequency and reads it back, at `iq_hz` (likewise).
 * Every request carries a value only it asks for (the frequencies and setpoints of each
 * client lie in ranges of their own; the scope's reply is a trace of `samples`), so a reply
 * that reaches the wrong client is seen there and counted `misrouted`.
 *
 * The owner variants (--param owner=), as the document's manager and worker:
 *   naive   one global lock around each client's send and receive: one request in the
 *           system at a time, its reply on the one response queue;
 *   mux     request IDs, no lock: requests queue at the owner, each reply is filed under
 *           its ID for the client waiting on it;
 *   async   as mux, but a client never blocks: its step sends and returns, and the reply is
 *           handled by its callback (.io) when it comes;
 *   broken  no owner in the way: every client writes to and reads from the one connection
 *           directly, with no lock and no IDs;
 *   direct  each client opens a connection of its own, as if the instrument took many.
 * The owner's worker (--param worker=) either starts an acquisition and serves the other
 * requests while polling ACQ:TRIG:STAT? every `poll` (overlap), or carries each request
 * through before the next (serial). The instrument's mode (--param mode=) decides whether
 * it serves anything during an acquisition at all. Requests and replies between clients and
 * owner go through the scenario's own queues in shared memory (a ring, reply slots and
 * eventfds, as multiprocessing's queues are a pipe and a lock), so threads and processes
 * (the runtimes) share them alike.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ab.h"
#include "instrument.h"
#include "instrument_sc.h"
#include "scpi.h"

const char *const cl_name[NCL] = { "scope", "asg", "pid", "iq" };

/* ---- what each client asks, and how its reply is checked ---------------------------------- */

/* Each client's values lie in a range no other's do: asg 1 kHz..101 kHz, pid -0.999..0.999,
 * iq 2 MHz..3 MHz. */
static double value_for(int client, uint64_t seq)
{
  switch (client) {
  case 1: return 1000 + (double)(seq % 100000);
  case 2: return ((double)(seq % 1999) - 999) * 1e-3;
  case 3: return 2e6 + (double)(seq % 1000000);
  default: return (double)seq;
  }
}

const char *const in_setter[NCL] = { NULL, "SOUR1:FREQ:FIX", "PID1:SETP", "IQ1:FREQ" };

static void setter_line(char *b, size_t n, int client, double v)
{
  snprintf(b, n, "%s %.10g;:%s?", in_setter[client], v, in_setter[client]);
}

/* Is this reply the one `client` asked for with value v? A setter's: a line, the number it
 * set. The scope's: its trace, `samples` values within the generator's +-1 V (a block of
 * big-endian floats for BIN, a braced ASCII list otherwise). */
static int reply_ok(const cfg_t *g, int client, double v, const char *r, size_t len, int block)
{
  if (client == 0) {
    if (g->bin) {
      if (!block || len != (size_t)g->samples * 4)
        return 0;
      for (size_t i = 0; i < len; i += 4) {
        uint32_t u;
        float f;
        memcpy(&u, r + i, 4);
        u = __builtin_bswap32(u);
        memcpy(&f, &u, 4);
        if (!(fabsf(f) <= 1.0001f))
          return 0;
      }
      return 1;
    }
    float f[1];
    return !block && len && r[0] == '{' && ab_scpi_floats(r, len, f, 1) == g->samples && fabsf(f[0]) <= 1.0001f;
  }
  double got;
  return !block && len && len < 64 && ab_scpi_number(r, len, &got, NULL, NULL, 0) == 0 &&
         fabs(got - v) <= 1e-9 * fmax(1, fabs(v));
}

/* ---- the queues ------------------------------------------------------------------------------ */

void ev_post(int fd)
{
  uint64_t one = 1;
  while (write(fd, &one, sizeof one) < 0 && errno == EINTR)
    ;
}

/* Wait for fd's eventfd to be posted, up to deadline (the run's stop ends it too): 1 taken,
 * 0 timed out or stopping. */
int ev_wait(ab_ctx_t *ctx, int fd, int64_t deadline)
{
  ab_block_begin(ctx);
  int got = 0;
  for (int64_t now; !got && !ab_stopping(ctx) && (now = ab_now_ns()) < deadline;) {
    int64_t left = deadline - now < T_SLICE ? deadline - now : T_SLICE;
    struct pollfd pf = { .fd = fd, .events = POLLIN };
    struct timespec ts = ab_ts(left);
    uint64_t v;
    if (ppoll(&pf, 1, &ts, NULL) > 0 && read(fd, &v, sizeof v) == sizeof v)
      got = 1;
  }
  ab_block_end(ctx);
  return got;
}

static int push(ab_ctx_t *ctx, const rq_t *r)
{
  cfg_t *g = G(ctx);
  pthread_mutex_lock(&g->qmu);
  int full = g->tail - g->head >= RING;
  if (!full)
    g->ring[g->tail++ % RING] = *r;
  pthread_mutex_unlock(&g->qmu);
  if (full)
    return ab_fail(ctx, "instrument: the owner's queue is full (%d requests): it has stopped taking them", RING);
  ev_post(g->ev_owner);
  return 0;
}

int in_pop(cfg_t *g, rq_t *r)
{
  pthread_mutex_lock(&g->qmu);
  int any = g->head != g->tail;
  if (any)
    *r = g->ring[g->head++ % RING];
  pthread_mutex_unlock(&g->qmu);
  return any;
}

/* ---- clients ------------------------------------------------------------------------------- */

typedef struct client {
  int i;
  uint64_t seq;
  double value;
  int64_t t_req;
  int busy_at_req;
  unsigned epoch_at_req; /* the scope's epoch when this request was made */
  int pending;           /* async: its request has had no callback yet */
  int64_t next_due;      /* a setter: when its next request is due */
  int64_t t_sent;        /* its request handed to the owner (naive: with the lock held) */
  ab_instr_conn_t *conn; /* broken and direct: its own way to the instrument */
} client_t;

/* The scope's request goes to the owner (naive: once it holds the lock), or has ended. */
static void scope_mark(cfg_t *g, int busy)
{
  __atomic_store_n(&g->scope_busy, busy, __ATOMIC_RELEASE);
  __atomic_add_fetch(&g->scope_epoch, 1, __ATOMIC_ACQ_REL);
}

static void record(ab_ctx_t *ctx, client_t *c, int64_t t_done)
{
  int64_t lat = t_done - c->t_req;
  ab_record(ctx, M_SCOPE + c->i, lat);
  /* Held up by the acquisition: the scope's request was with the owner when this one was
   * made, or went to it (or ended) while this one waited, as behind naive's lock. */
  int during = c->busy_at_req || __atomic_load_n(&G(ctx)->scope_epoch, __ATOMIC_ACQUIRE) != c->epoch_at_req;
  if (c->i == 1)
    ab_record(ctx, during ? M_ASG_BUSY : M_ASG_IDLE, lat);
  ab_count(ctx, K_REPLIES, 1);
}

/* A reply in slot s for client c: checked, recorded. 1 if it was for c (or for another client:
 * misrouted), 0 if it was an older one of c's own (a reply after its timeout): the wait goes
 * on. naive has no IDs: its replies are judged by what they say alone (the owner's record of
 * whom a reply was for only decides whether its queue time is c's). */
static int take_locked(ab_ctx_t *ctx, client_t *c, int s);
static int take_reply(ab_ctx_t *ctx, client_t *c, int s)
{
  cfg_t *g = G(ctx);
  pthread_mutex_lock(&g->smu[s]); /* read whole, never while the owner fills it */
  int r = take_locked(ctx, c, s);
  pthread_mutex_unlock(&g->smu[s]);
  return r;
}

static int take_locked(ab_ctx_t *ctx, client_t *c, int s)
{
  cfg_t *g = G(ctx);
  slot_t *sl = slot_of(g, s);
  int64_t now = ab_now_ns();
  int mine = sl->client == c->i && sl->id == c->seq;
  if (g->owner != O_NAIVE && sl->client == c->i && sl->id < c->seq) {
    ab_count(ctx, K_LATE, 1);
    return 0;
  }
  c->pending = 0;
  if (c->i == 0)
    scope_mark(g, 0);
  if (mine && sl->t_taken)
    ab_record(ctx, M_QUEUE, sl->t_taken - c->t_req);
  if (sl->status == -ETIMEDOUT || now > c->t_sent + g->timeout_ns) /* async: its callback came too late */
    ab_count(ctx, K_TIMEOUTS, 1);
  else if (sl->status < 0)
    return ab_fail(ctx, "instrument: %s's request failed: %s", cl_name[c->i], strerror(-sl->status)), 1;
  else if ((g->owner != O_NAIVE && !mine) || !reply_ok(g, c->i, c->value, slot_data(g, s), sl->len, sl->block))
    ab_count(ctx, K_MISROUTED, 1);
  else
    record(ctx, c, now);
  return 1;
}

static void begin_request(ab_ctx_t *ctx, client_t *c)
{
  cfg_t *g = G(ctx);
  c->seq++;
  c->value = value_for(c->i, c->seq);
  if (c->i == 0 && g->owner != O_NAIVE)
    scope_mark(g, 1);
  c->busy_at_req = __atomic_load_n(&g->scope_busy, __ATOMIC_ACQUIRE);
  c->epoch_at_req = __atomic_load_n(&g->scope_epoch, __ATOMIC_ACQUIRE);
  /* From its send (a wait for naive's lock included); a setter held back by its own previous
   * request is late for its period, which the runtime's lateness says. */
  c->t_req = ab_now_ns();
  ab_count(ctx, K_REQS, 1);
}

/* broken and direct: the client's own exchange on a connection; the scope polls. */
static void own_exchange(ab_ctx_t *ctx, client_t *c)
{
  cfg_t *g = G(ctx);
  const char *r;
  char line[160];
  int64_t deadline = c->t_req + g->timeout_ns;
  ssize_t n;
  ab_block_begin(ctx);
  if (c->i == 0) {
    n = ab_instr_query(c->conn, "ACQ:START;:ACQ:TRIG NOW;:ACQ:TRIG:STAT?", &r, g->reply_max, g->timeout_ns);
    while (n >= 0 && !(n == 2 && !memcmp(r, "TD", 2)) && ab_now_ns() < deadline && !ab_stopping(ctx)) {
      if (!(n == 4 && !memcmp(r, "WAIT", 4)))
        ab_count(ctx, K_MISROUTED, 1);
      struct timespec ts = ab_ts(g->poll_ns);
      nanosleep(&ts, NULL);
      n = ab_instr_query(c->conn, "ACQ:TRIG:STAT?", &r, g->reply_max, deadline - ab_now_ns());
    }
    if (n >= 0)
      n = ab_instr_query(c->conn, "ACQ:SOUR1:DATA?", &r, g->reply_max, deadline - ab_now_ns());
  } else {
    setter_line(line, sizeof line, c->i, c->value);
    n = ab_instr_query(c->conn, line, &r, g->reply_max, g->timeout_ns);
  }
  ab_block_end(ctx);
  if (c->i == 0)
    scope_mark(g, 0);
  if (n == -ETIMEDOUT || (n >= 0 && ab_now_ns() > deadline))
    ab_count(ctx, K_TIMEOUTS, 1);
  else if (n == -ECONNRESET && g->owner == O_DIRECT) { /* refused: the instrument has its one */
    ab_count(ctx, K_REFUSED, 1);
    ab_instr_conn_close(c->conn);
    c->conn = NULL;
    ab_sleep(ctx, 10 * AB_NS_PER_MS);
  } else if (n < 0)
    ab_fail(ctx, "instrument: %s: %s", cl_name[c->i], strerror((int)-n));
  else if (!reply_ok(g, c->i, c->value, r, (size_t)n, ab_instr_reply_was_block(c->conn)))
    ab_count(ctx, K_MISROUTED, 1);
  else
    record(ctx, c, ab_now_ns());
}

static int client_step(ab_ctx_t *ctx)
{
  cfg_t *g = G(ctx);
  client_t *c = *ab_priv(ctx);
  if (c->i) { /* a setter's loop: its next request one period after the last was due, or at
                * once if that has passed (as a sleep-paced Python loop does, never in a burst to
                * catch up: the periods passed meanwhile are counted skipped) */
    int64_t period = (int64_t)llround(1e9 / g->hz[c->i]), now = ab_now_ns();
    if (!c->next_due)
      c->next_due = now;
    if (now < c->next_due)
      ab_sleep(ctx, c->next_due - now);
    else if (now - c->next_due >= period) {
      ab_count(ctx, K_SKIPPED_PERIODS, (now - c->next_due) / period);
      c->next_due += (now - c->next_due) / period * period;
    }
    c->next_due += period;
    if (ab_stopping(ctx))
      return 0;
  }
  if (g->skip[c->i]) {
    ab_count(ctx, K_SKIPPED, 1);
    if (c->i == 0)
      ab_sleep(ctx, 100 * AB_NS_PER_MS);
    return 0;
  }
  begin_request(ctx, c);
  if (g->owner == O_BROKEN || g->owner == O_DIRECT) {
    char err[AB_ERRLEN];
    if (!c->conn && ab_instr_connect(g->address, AB_NS_PER_S, &c->conn, err) < 0)
      return ab_fail(ctx, "%s", err);
    own_exchange(ctx, c);
    return 0;
  }
  rq_t r = { .id = c->seq, .client = c->i, .value = c->value, .t_req = c->t_req };
  int s = g->owner == O_NAIVE ? 0 : c->i;
  if (g->owner == O_NAIVE) {
    ab_block_begin(ctx);
    pthread_mutex_lock(&g->lock);
    ab_block_end(ctx);
    if (c->i == 0)
      scope_mark(g, 1);
  }
  c->t_sent = ab_now_ns();
  int rc = push(ctx, &r);
  if (rc == 0 && g->owner == O_ASYNC) {
    c->pending = 1;
    return ab_step_wait_fd(ctx, g->ev_reply[s]); /* its callback: client_io */
  }
  /* The reply's wait, from the send (naive's lock already held, as response_queue.get(timeout)
   * is called after the put): a timed-out request's reply still comes, to whoever waits next. */
  int64_t deadline = c->t_sent + g->timeout_ns;
  int done = rc < 0;
  while (!done) {
    if (!ev_wait(ctx, g->ev_reply[s], deadline)) {
      if (!ab_stopping(ctx))
        ab_count(ctx, K_TIMEOUTS, 1);
      if (c->i == 0)
        scope_mark(g, 0);
      break;
    }
    done = take_reply(ctx, c, s);
  }
  if (g->owner == O_NAIVE)
    pthread_mutex_unlock(&g->lock);
  return rc;
}

/* async: the reply's callback. */
static int client_io(ab_ctx_t *ctx)
{
  cfg_t *g = G(ctx);
  client_t *c = *ab_priv(ctx);
  uint64_t v;
  if (read(g->ev_reply[c->i], &v, sizeof v) != sizeof v)
    return ab_step_wait_fd(ctx, g->ev_reply[c->i]);
  return take_reply(ctx, c, c->i) ? 0 : ab_step_wait_fd(ctx, g->ev_reply[c->i]);
}

static int client_init(ab_ctx_t *ctx)
{
  cfg_t *g = G(ctx);
  client_t *c = calloc(1, sizeof *c);
  if (!c)
    return -ENOMEM;
  c->i = ab_role_index(ctx) - 1;
  *ab_priv(ctx) = c;
  if (g->owner != O_BROKEN)
    return 0;
  /* broken: the owner's connection itself, passed over the socket pair */
  char cm[CMSG_SPACE(sizeof(int))];
  char b;
  struct iovec iov = { &b, 1 };
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm, .msg_controllen = sizeof cm };
  ab_block_begin(ctx);
  ssize_t n = recvmsg(g->pass[1], &mh, MSG_CMSG_CLOEXEC);
  ab_block_end(ctx);
  struct cmsghdr *h = n == 1 ? CMSG_FIRSTHDR(&mh) : NULL;
  if (!h || h->cmsg_type != SCM_RIGHTS)
    return ab_fail(ctx, "instrument: %s did not get the shared connection from the owner", cl_name[c->i]);
  int fd;
  memcpy(&fd, CMSG_DATA(h), sizeof fd);
  c->conn = ab_instr_conn_wrap(fd);
  return c->conn ? 0 : -ENOMEM;
}

static void client_fini(ab_ctx_t *ctx)
{
  client_t *c = *ab_priv(ctx);
  /* async: a request whose callback never came, though its time ran out before the end */
  if (c && c->pending && ab_now_ns() > c->t_sent + G(ctx)->timeout_ns + T_SLICE)
    ab_count(ctx, K_TIMEOUTS, 1);
  if (c)
    ab_instr_conn_close(c->conn);
  free(c);
  *ab_priv(ctx) = NULL;
}

/* ---- set-up and finish (supervisor) ----------------------------------------------------------- */

static int in_finish(ab_run_t *run)
{
  cfg_t *g = ab_run_shared(run, 0);
  void *dev = ab_run_dev(run, D_INSTR);
  ab_instr_stats_t s;
  double win = (double)ab_run_window(run) / 1e9;
  if (ab_instr_stats(dev, &s) == 0) {
    ab_run_counter_set(run, K_I_CONN, (int64_t)s.connections);
    ab_run_counter_set(run, K_I_REFUSALS, (int64_t)s.refusals);
    ab_run_counter_set(run, K_I_MSGS, (int64_t)s.messages);
    ab_run_counter_set(run, K_I_CMDS, (int64_t)s.commands);
    ab_run_counter_set(run, K_I_ERRORS, (int64_t)s.errors);
    ab_run_counter_set(run, K_I_ACQ, (int64_t)s.acquisitions);
    if (win > 0) /* the instrument's work, the owner's status polls included */
      ab_run_value_set(run, V_CMD_RATE, (double)s.commands / win);
  }
  if (win > 0) /* the clients' throughput: checked replies */
    ab_run_value_set(run, V_REPLY_RATE, (double)ab_run_counter(run, K_REPLIES) / win);
  double busy, idle, p99, scope;
  int hb = ab_run_figure(run, "asg.during_acq_ns.p50", &busy) == 0, hi = ab_run_figure(run, "asg.idle_ns.p50", &idle) == 0;
  if (hb)
    ab_run_value_set(run, V_BUSY_P50, busy / 1e6);
  if (hi)
    ab_run_value_set(run, V_IDLE_P50, idle / 1e6);
  if (hb && hi && idle > 0)
    ab_run_value_set(run, V_HOL, busy / idle);
  if (ab_run_figure(run, "asg.latency_ns.p99", &p99) == 0 && g && g->hz[1] > 0)
    ab_run_value_set(run, V_ASG_FRAC, p99 * g->hz[1] / 1e9);
  if (ab_run_figure(run, "scope.latency_ns.p50", &scope) == 0)
    ab_run_value_set(run, V_SCOPE_P50, scope / 1e6);
  if (!ab_instr_is_mock(dev)) { /* a real instrument counts nothing for us, and has its own mode */
    ab_calib_str(run, "instrument.counted_by", "nobody (a real instrument: the instrument.* counters are not observed)");
    ab_calib_str(run, "instrument.mode", "the instrument's own (--param mode, acq, set, link, reject set the mock only)");
  }
  if (g) {
    ab_calib_str(run, "instrument.idn", g->idn);
    char skipped[64] = "";
    for (int i = 0; i < NCL; i++)
      if (g->skip[i])
        snprintf(skipped + strlen(skipped), sizeof skipped - strlen(skipped), "%s%s", skipped[0] ? "," : "", cl_name[i]);
    if (skipped[0])
      ab_calib_str(run, "instrument.skipped", skipped);
    if (g->ev_owner > 0)
      close(g->ev_owner);
    for (int i = 0; i < NCL; i++)
      if (g->ev_reply[i] > 0)
        close(g->ev_reply[i]);
    for (int k = 0; k < 2; k++)
      if (g->pass[k] >= 0)
        close(g->pass[k]);
    g->ev_owner = 0;
  }
  return 0;
}

/* ---- the descriptor ---------------------------------------------------------------------------- */

static const ab_param_desc_t params[] = {
  { "owner", AB_P_ENUM, "mux", 0, 0, "naive|mux|async|broken|direct", "who holds the connection, and how clients share it" },
  { "mode", AB_P_ENUM, "serial", 0, 0, "serial|overlapped", "the mock: serve nothing during an acquisition, or serve on" },
  { "worker", AB_P_ENUM, "overlap", 0, 0, "overlap|serial", "the owner: serve others while acquiring, or one request through" },
  { "acq", AB_P_DURATION, "50ms", 0, 60e9, NULL, "the mock's acquisition, ACQ:TRIG to done" },
  { "set", AB_P_DURATION, "200us", 0, 1e9, NULL, "the mock's service time per setter or query" },
  { "link", AB_P_DOUBLE, "100e6", 1e3, 1e12, NULL, "the mock's link, bits/s (replies are paced at it)" },
  { "samples", AB_P_INT, "16384", 1, 1 << 20, NULL, "samples per trace" },
  { "format", AB_P_ENUM, "ascii", 0, 0, "ascii|bin", "the trace as ASCII numbers or an IEEE block of floats" },
  { "asg_hz", AB_P_DOUBLE, "50", 0.1, 10000, NULL, "generator setter rate" },
  { "pid_hz", AB_P_DOUBLE, "20", 0.1, 10000, NULL, "PID setpoint rate" },
  { "iq_hz", AB_P_DOUBLE, "10", 0.1, 10000, NULL, "IQ setter rate" },
  { "poll", AB_P_DURATION, "2ms", 100e3, 1e9, NULL, "ACQ:TRIG:STAT? interval while acquiring" },
  { "timeout", AB_P_DURATION, "2s", 1e6, 60e9, NULL, "a reply not come by then is a timeout" },
  { "reject", AB_P_ENUM, "none", 0, 0, "none|pid|iq|both", "the mock rejects these headers, as an instrument without them" },
};

static const ab_role_desc_t roles[NR] = {
  [R_OWNER] = { .name = "owner", .trigger = -1, .continuous = 1, .init = in_owner_init, .step = in_owner_step,
                .fini = in_owner_fini, .flags = AB_ROLE_IO },
  [R_SCOPE] = { .name = "scope", .trigger = -1, .continuous = 1, .init = client_init, .step = client_step,
                .io = client_io, .fini = client_fini, .flags = AB_ROLE_IO },
  [R_ASG] = { .name = "asg", .trigger = -1, .continuous = 1, .init = client_init, .step = client_step,
              .io = client_io, .fini = client_fini, .flags = AB_ROLE_IO },
  [R_PID] = { .name = "pid", .trigger = -1, .continuous = 1, .init = client_init, .step = client_step,
              .io = client_io, .fini = client_fini, .flags = AB_ROLE_IO },
  [R_IQ] = { .name = "iq", .trigger = -1, .continuous = 1, .init = client_init, .step = client_step,
             .io = client_io, .fini = client_fini, .flags = AB_ROLE_IO },
};

static const ab_dev_desc_t devs[] = { [D_INSTR] = { .name = "instrument", .kind = AB_DEV_INSTRUMENT, .owner = R_OWNER } };

static const ab_metric_desc_t metrics[NM] = {
  [M_SCOPE] = { "scope.latency_ns" }, [M_ASG] = { "asg.latency_ns" }, [M_PID] = { "pid.latency_ns" },
  [M_IQ] = { "iq.latency_ns" },       /* request -> its reply checked, per client */
  [M_ASG_BUSY] = { "asg.during_acq_ns" }, /* the generator's, asked while the scope's request was out */
  [M_ASG_IDLE] = { "asg.idle_ns" },       /* ... and while it was not */
  [M_QUEUE] = { "owner.queue_ns" },       /* request -> the owner took it */
};

static const char *const counters[NK] = {
  [K_REQS] = "requests", [K_REPLIES] = "replies", [K_MISROUTED] = "misrouted", [K_TIMEOUTS] = "timeouts",
  [K_LATE] = "late_replies", [K_REFUSED] = "refused", [K_SKIPPED] = "skipped", [K_SKIPPED_PERIODS] = "skipped_periods",
  [K_I_CONN] = "instrument.connections", [K_I_REFUSALS] = "instrument.refusals", [K_I_MSGS] = "instrument.messages",
  [K_I_CMDS] = "instrument.commands", [K_I_ERRORS] = "instrument.errors", [K_I_ACQ] = "instrument.acquisitions",
};

static const char *const values[NV] = {
  [V_BUSY_P50] = "asg.during_acq_p50_ms", [V_IDLE_P50] = "asg.idle_p50_ms", [V_HOL] = "asg.hol_ratio",
  [V_ASG_FRAC] = "asg.p99_over_period", [V_SCOPE_P50] = "scope.p50_ms", [V_CMD_RATE] = "instrument.commands_per_s",
  [V_REPLY_RATE] = "replies_per_s",
};

static const ab_req_desc_t reqs[] = {
  { .name = "misrouted", .op = AB_LE, .limit = 0 },
  { .name = "timeouts", .op = AB_LE, .limit = 0 },
  { .name = "asg.p99_over_period", .op = AB_LT, .limit = 1 },
};

/* WORKLOADS.md §5: the document's statements, each with what checks it here. */
static const ab_claim_t claims[] = {
  { "instrument_lock_blocks", "with one lock around send and receive, the generator waits for the scope's 50 ms acquisition "
    "(t=10 -> 50 ms)", 40, "ms", "asg.during_acq_p50_ms", "owner=naive", AB_ABOUT },
  { "instrument_ids_concurrent_serial", "command IDs give true concurrent operation: the generator is served while the scope "
    "acquires (answered 15 ms after it asked) - on a serial instrument", 15, "ms", "asg.during_acq_p50_ms",
    "owner=mux mode=serial", AB_AT_MOST },
  { "instrument_ids_concurrent_overlapped", "the same, on an instrument that serves during an acquisition", 15, "ms",
    "asg.during_acq_p50_ms", "owner=mux mode=overlapped worker=overlap", AB_AT_MOST },
  { "instrument_scope_at_15ms", "the scope's 50 ms acquisition is answered at t=15 ms", 15, "ms", "scope.p50_ms",
    "owner=mux", AB_AT_MOST },
  { "instrument_ids_route", "with IDs every reply reaches its sender", 0, "count", "misrouted", "owner=mux", AB_AT_MOST },
  { "instrument_shared_queue_misroutes", "without IDs or a lock, response_queue.get() may get another plugin's response", 1,
    "count", "misrouted", "owner=broken", AB_AT_LEAST },
};

const ab_scenario_t ab_scenario_instrument = {
  .name = "instrument",
  .source = "seeds/003_2571d265ae705938.txt",
  .summary = "one SCPI instrument, one connection, four clients (scope, generator, PID, IQ) behind an owner",
  .roles = roles, .nroles = NR,
  .devs = devs, .ndevs = 1,
  .metrics = metrics, .nmetrics = NM,
  .counters = counters, .ncounters = NK,
  .values = values, .nvalues = NV,
  .reqs = reqs, .nreqs = sizeof reqs / sizeof reqs[0],
  .claims = claims, .nclaims = sizeof claims / sizeof claims[0],
  .params = params, .nparams = sizeof params / sizeof params[0],
  .setup = in_setup,
  .finish = in_finish,
  .archs = (1u << AB_ARCH_THREADS) | (1u << AB_ARCH_PROCS),
  .table_chain = "asg.latency_ns",
  .table_chain_lost = "misrouted",
  .sweep_figure = "asg.during_acq_p50_ms",
  .file_param = "mode",
  .bench = { .sweep = "owner=naive,mux,async,broken", .transports = "shm", .duration_ns = AB_NS_PER_S, .each = "mode" },
};
