/* The instrument scenario's owner role, set-up and finish (instrument_sc.h).
 *
 * The owner holds the one connection. At its start it asks *IDN?, sets the data format and
 * finds which clients' headers the instrument rejects (a setter, then SYST:ERR?): those
 * clients are skipped and the result says so, rather than faking replies. Then, for naive,
 * mux and async, it takes requests from the queue in order and carries each out on the
 * wire, one exchange at a time (the connection is in order). With the overlap worker an
 * acquisition is started and left running: the owner serves the queued setters meanwhile and
 * asks ACQ:TRIG:STAT? every `poll`, reading the data once it says TD. With the serial worker
 * (and always for naive, whose lock holds the others back anyway) it polls to the end first.
 * For broken it hands the connection itself to every client; for direct it gives it up.
 */
#include <errno.h>
#include <math.h>
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

typedef struct owner {
  ab_instr_conn_t *c;
  int owed;          /* replies the instrument still owes for exchanges that timed out */
  rq_t fifo[RING];
  uint32_t fh, ft;
  int acquiring;     /* the scope's acquisition runs: o->scope waits for its data */
  rq_t scope;
  int64_t next_poll;
} owner_t;

/* One exchange on the wire. A connection the instrument closed fails the run. After a
 * timeout the instrument still owes that reply: it is waited for and dropped (counted
 * late_replies) before the next exchange, so that replies stay in step with requests; an
 * instrument that owes one past another timeout fails the run. */
static ssize_t xfer(ab_ctx_t *ctx, owner_t *o, const char *msg, const char **r)
{
  cfg_t *g = G(ctx);
  ssize_t n = 0;
  ab_block_begin(ctx);
  while (o->owed > 0 && !ab_stopping(ctx)) {
    n = ab_instr_reply(o->c, r, g->reply_max, g->timeout_ns);
    if (n < 0)
      break;
    o->owed--;
    ab_count(ctx, K_LATE, 1);
  }
  if (o->owed && n == -ETIMEDOUT) {
    ab_block_end(ctx);
    ab_fail(ctx, "instrument %s: no reply for %lld ms after a timed-out exchange: it stopped answering", g->address,
            (long long)(2 * g->timeout_ns / AB_NS_PER_MS));
    return -ETIMEDOUT;
  }
  n = n < 0 && n != -ETIMEDOUT ? n : ab_instr_query(o->c, msg, r, g->reply_max, g->timeout_ns);
  ab_block_end(ctx);
  if (n == -ETIMEDOUT)
    o->owed++; /* every message of ours asks one reply line */
  if (n < 0 && n != -ETIMEDOUT && !ab_stopping(ctx))
    ab_fail(ctx, "instrument %s: '%s': %s (the instrument closed the connection or died mid-run)", g->address, msg,
            strerror((int)-n));
  return n;
}

static void deliver(ab_ctx_t *ctx, const rq_t *r, ssize_t n, const char *data)
{
  cfg_t *g = G(ctx);
  int s = g->owner == O_NAIVE ? 0 : r->client;
  slot_t *sl = slot_of(g, s);
  size_t len = n > 0 ? (size_t)n : 0;
  pthread_mutex_lock(&g->smu[s]); /* a client that timed out may still be reading the last one */
  if (len)
    memcpy(slot_data(g, s), data, len);
  sl->len = (uint32_t)len;
  sl->status = n < 0 ? (int)n : 0;
  sl->t_taken = r->t_taken;
  sl->client = r->client;
  sl->block = n >= 0 && ab_instr_reply_was_block(((owner_t *)*ab_priv(ctx))->c);
  __atomic_store_n(&sl->id, r->id, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&g->smu[s]);
  ev_post(g->ev_reply[s]);
}

static int is(const char *r, ssize_t n, const char *w) { return n == (ssize_t)strlen(w) && !memcmp(r, w, (size_t)n); }

static void scope_data(ab_ctx_t *ctx, owner_t *o, const rq_t *r)
{
  const char *d;
  ssize_t n = xfer(ctx, o, "ACQ:SOUR1:DATA?", &d);
  deliver(ctx, r, n, d);
}

/* ACQ:TRIG:STAT? until TD, or the request's time is up: 1 done, 0 not yet (overlap: asked
 * once), -1 failed (delivered). */
static int scope_poll(ab_ctx_t *ctx, owner_t *o, const rq_t *r, int to_the_end)
{
  cfg_t *g = G(ctx);
  for (;;) {
    const char *s;
    ssize_t n = xfer(ctx, o, "ACQ:TRIG:STAT?", &s);
    if (n < 0 || ab_now_ns() > r->t_req + g->timeout_ns) {
      deliver(ctx, r, n < 0 ? n : -ETIMEDOUT, NULL);
      return -1;
    }
    if (is(s, n, "TD"))
      return 1;
    if (!to_the_end || ab_stopping(ctx))
      return 0;
    ab_sleep(ctx, g->poll_ns);
  }
}

static void serve(ab_ctx_t *ctx, owner_t *o, const rq_t *r)
{
  cfg_t *g = G(ctx);
  const char *d;
  if (r->client != 0) {
    char line[160];
    snprintf(line, sizeof line, "%s %.10g;:%s?", in_setter[r->client], r->value, in_setter[r->client]);
    ssize_t n = xfer(ctx, o, line, &d);
    deliver(ctx, r, n, d);
    return;
  }
  ssize_t n = xfer(ctx, o, "ACQ:START;:ACQ:TRIG NOW;:ACQ:TRIG:STAT?", &d);
  if (n < 0) {
    deliver(ctx, r, n, NULL);
    return;
  }
  if (is(d, n, "TD")) { /* a serial instrument answers once it is done */
    scope_data(ctx, o, r);
    return;
  }
  if (g->worker == W_SERIAL || g->owner == O_NAIVE) {
    ab_sleep(ctx, g->poll_ns);
    if (scope_poll(ctx, o, r, 1) == 1)
      scope_data(ctx, o, r);
    return;
  }
  o->acquiring = 1; /* overlap: the others are served meanwhile */
  o->scope = *r;
  o->next_poll = ab_now_ns() + g->poll_ns;
}

int in_owner_step(ab_ctx_t *ctx)
{
  cfg_t *g = G(ctx);
  owner_t *o = *ab_priv(ctx);
  if (g->owner == O_BROKEN || g->owner == O_DIRECT) { /* the clients' own business */
    ab_sleep(ctx, 50 * AB_NS_PER_MS);
    return 0;
  }
  rq_t r;
  while (o->ft - o->fh < RING && in_pop(g, &r)) {
    r.t_taken = ab_now_ns();
    o->fifo[o->ft++ % RING] = r;
  }
  int64_t now = ab_now_ns();
  if (o->acquiring && now >= o->next_poll) {
    int k = scope_poll(ctx, o, &o->scope, 0);
    if (k == 1)
      scope_data(ctx, o, &o->scope);
    if (k)
      o->acquiring = 0;
    else
      o->next_poll = ab_now_ns() + g->poll_ns;
    return 0;
  }
  if (o->fh != o->ft) {
    r = o->fifo[o->fh++ % RING];
    serve(ctx, o, &r);
    return 0;
  }
  ev_wait(ctx, g->ev_owner, o->acquiring ? o->next_poll : now + 50 * AB_NS_PER_MS);
  return 0;
}

/* Which clients' headers the instrument takes: a setter of each, then SYST:ERR?. */
static int probe(ab_ctx_t *ctx, owner_t *o)
{
  cfg_t *g = G(ctx);
  const char *r;
  ssize_t n = xfer(ctx, o, "*IDN?", &r);
  if (n < 0)
    return ab_fail(ctx, "instrument %s: *IDN?: %s", g->address, strerror((int)-n));
  snprintf(g->idn, sizeof g->idn, "%.*s", (int)n, r);
  char line[160];
  snprintf(line, sizeof line, "*CLS;:ACQ:DATA:FORMAT %s", g->bin ? "BIN" : "ASCII");
  if (ab_instr_send(o->c, line) < 0)
    return ab_fail(ctx, "instrument %s: sending '%s' failed", g->address, line);
  for (int i = 0; i < NCL; i++) {
    if (i)
      snprintf(line, sizeof line, "%s %.10g;:SYST:ERR?", in_setter[i], (i == 2 ? 0.0 : 1000.0 * i));
    n = xfer(ctx, o, i ? line : "SYST:ERR?", &r);
    double code;
    const char *comma = n > 0 ? memchr(r, ',', (size_t)n) : NULL;
    if (n < 0 || !comma || ab_scpi_number(r, (size_t)(comma - r), &code, NULL, NULL, 0) < 0)
      return ab_fail(ctx, "instrument %s: SYST:ERR? answered '%.*s' (expected <code>,\"<text>\")", g->address,
                     (int)(n > 0 ? n : 0), n > 0 ? r : "");
    if (code != 0)
      g->skip[i] = 1; /* the scope's: the error was there before (ACQ:DATA:FORMAT) */
  }
  return 0;
}

int in_owner_init(ab_ctx_t *ctx)
{
  cfg_t *g = G(ctx);
  owner_t *o = calloc(1, sizeof *o);
  if (!o)
    return -ENOMEM;
  *ab_priv(ctx) = o;
  o->c = ab_instr_of(ctx);
  int rc = probe(ctx, o);
  if (rc < 0)
    return rc;
  if (g->owner == O_BROKEN) /* the connection itself, to every client */
    for (int i = 0; i < NCL; i++) {
      int fd = ab_instr_conn_fd(o->c);
      char cm[CMSG_SPACE(sizeof(int))] = { 0 }, b = 'c';
      struct iovec iov = { &b, 1 };
      struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm, .msg_controllen = sizeof cm };
      struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
      h->cmsg_level = SOL_SOCKET, h->cmsg_type = SCM_RIGHTS, h->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(h), &fd, sizeof fd);
      if (sendmsg(g->pass[0], &mh, 0) != 1)
        return ab_fail(ctx, "instrument: passing the connection to the clients: %s", strerror(errno));
    }
  if (g->owner == O_DIRECT)
    ab_instr_conn_drop(o->c); /* the clients race for the one connection */
  return 0;
}

void in_owner_fini(ab_ctx_t *ctx)
{
  free(*ab_priv(ctx));
  *ab_priv(ctx) = NULL;
}

/* ---- set-up (supervisor): the shared block, the mock's rules, the clients' queues ---------- */

int in_setup(ab_run_t *run)
{
  int bin = (int)ab_param(run, "format") == 1, samples = (int)ab_param(run, "samples");
  size_t reply_max = bin ? (size_t)samples * 4 + 64 : (size_t)samples * 12 + 64;
  cfg_t *g = ab_run_shared(run, sizeof *g + NCL * (sizeof(slot_t) + reply_max));
  if (!g)
    return -ENOMEM;
  void *dev = ab_run_dev(run, D_INSTR);
  g->owner = (int)ab_param(run, "owner");
  g->worker = (int)ab_param(run, "worker");
  g->bin = bin, g->samples = samples, g->reply_max = reply_max;
  g->poll_ns = (int64_t)ab_param(run, "poll");
  g->timeout_ns = (int64_t)ab_param(run, "timeout");
  const char *hz[NCL] = { NULL, "asg_hz", "pid_hz", "iq_hz" };
  for (int i = 1; i < NCL; i++)
    g->hz[i] = ab_param(run, hz[i]);
  snprintf(g->address, sizeof g->address, "%s", ab_instr_address(dev));
  if (ab_instr_is_mock(dev)) {
    static const unsigned rej[] = { 0, AB_INSTR_REJECT_PID, AB_INSTR_REJECT_IQ, AB_INSTR_REJECT_PID | AB_INSTR_REJECT_IQ };
    ab_instr_cfg_t ic = { .mode = (int)ab_param(run, "mode"), .acq_ns = (int64_t)ab_param(run, "acq"),
                          .set_ns = (int64_t)ab_param(run, "set"), .link_bps = ab_param(run, "link"),
                          .samples = samples, .reject = rej[(int)ab_param(run, "reject")] };
    if (ab_instr_config(dev, &ic) < 0) {
      ab_run_fail(run, "instrument: the mock's rules are out of range");
      return -EINVAL;
    }
  }
  pthread_mutexattr_t ma;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&g->lock, &ma);
  pthread_mutex_init(&g->qmu, &ma);
  for (int i = 0; i < NCL; i++)
    pthread_mutex_init(&g->smu[i], &ma);
  pthread_mutexattr_destroy(&ma);
  g->ev_owner = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  for (int i = 0; i < NCL; i++)
    g->ev_reply[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  g->pass[0] = g->pass[1] = -1;
  int bad = g->ev_owner < 0 || socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, g->pass) < 0;
  for (int i = 0; i < NCL; i++)
    bad |= g->ev_reply[i] < 0;
  if (bad) {
    ab_run_fail(run, "instrument: eventfds and a socket pair for the clients' queues: %s", strerror(errno));
    return -errno;
  }
  return 0;
}
