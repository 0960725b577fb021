/* The instrument device (instrument.h): ab_instrument_ops, the connection both backends use,
 * and the mock's configuration and counts.
 *
 * prepare (supervisor): with --instrument HOST:PORT, checks the address and keeps it (the
 * instrument itself is first reached by the owner's open, so that its one connection is the
 * owner's); else makes the shared truth, listens on an ephemeral port of 127.0.0.1 and forks
 * the "instrument-mock" helper with that socket alone. open (owner): connects to the address,
 * whichever backend is behind it. release (supervisor): stops and reaps the mock.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helper.h"
#include "instrument_impl.h"
#include "internal.h"
#include "scpi.h"
#include "shm.h"

#define AB__IN_STOP_GRACE_MS 1000
#define AB__IN_OPEN_TIMEOUT_NS (3 * AB_NS_PER_S)
#define AB__IN_REPLY_MAX (64u << 20) /* the largest reply a connection takes: 64 MB */

typedef struct ab__in_state {
  ab__in_truth_t *truth; /* NULL: the real backend (or not prepared) */
  pid_t pid;
  int prepared;
  char address[128];     /* HOST:PORT */
} ab__in_state_t;

struct ab_instr_conn {
  int fd;
  char *buf;             /* bytes received, [start, len) not yet taken */
  size_t start, len, cap;
  size_t line;           /* the reply last returned, to drop at the next call */
  int block;             /* ... and whether it was a block */
};

/* ---- the address ---------------------------------------------------------------------------- */

/* "HOST:PORT" into host and port: 0, or -EINVAL naming what is wrong. */
static int ab__in_split(const char *a, char host[96], char port[8], char *err)
{
  const char *colon = strrchr(a, ':'), *h = a;
  size_t hl = colon ? (size_t)(colon - a) : 0;
  if (a[0] == '[' && colon && colon > a + 1 && colon[-1] == ']') /* [::1]:5000 */
    h = a + 1, hl -= 2;
  if (!colon || !hl || hl >= 96)
    return ab_dev_fail(err, -EINVAL, "--instrument %s: expected HOST:PORT (e.g. 192.168.1.100:5000, [::1]:5000)", a);
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (!colon[1] || *end || p < 1 || p > 65535 || colon[1] == '0')
    return ab_dev_fail(err, -EINVAL, "--instrument %s: port '%s' is not a number from 1 to 65535 (expected HOST:PORT)", a, colon + 1);
  snprintf(host, 96, "%.*s", (int)hl, h);
  snprintf(port, 8, "%ld", p);
  return 0;
}

int ab_instr_connect(const char *address, int64_t timeout_ns, ab_instr_conn_t **out, char *err)
{
  char host[96], port[8];
  int rc = ab__in_split(address, host, port, err);
  if (rc < 0)
    return rc;
  struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai = NULL;
  int g = getaddrinfo(host, port, &hints, &ai);
  if (g != 0)
    return ab_dev_fail(err, -ENOENT, "instrument %s: no such host: %s", address, gai_strerror(g));
  rc = -ECONNREFUSED;
  int fd = -1;
  for (struct addrinfo *p = ai; p && fd < 0; p = p->ai_next) {
    fd = socket(p->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      rc = -errno;
      continue;
    }
    if (connect(fd, p->ai_addr, p->ai_addrlen) < 0 && errno != EINPROGRESS) {
      rc = -errno;
      close(fd), fd = -1;
      continue;
    }
    struct pollfd pf = { .fd = fd, .events = POLLOUT };
    int so = 0;
    socklen_t sl = sizeof so;
    int n = poll(&pf, 1, (int)(timeout_ns / AB_NS_PER_MS));
    if (n <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) < 0 || so) {
      rc = n == 0 ? -ETIMEDOUT : so ? -so : -errno;
      close(fd), fd = -1;
    }
  }
  freeaddrinfo(ai);
  if (fd < 0)
    return ab_dev_fail(err, rc, "instrument %s: connect: %s", address, strerror(-rc));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ab_instr_conn_t *c = calloc(1, sizeof *c);
  if (!c) {
    close(fd);
    return ab_dev_fail(err, -ENOMEM, "instrument %s: out of memory", address);
  }
  c->fd = fd;
  *out = c;
  return 0;
}

void ab_instr_conn_close(ab_instr_conn_t *c)
{
  if (!c)
    return;
  if (c->fd >= 0)
    close(c->fd);
  free(c->buf);
  free(c);
}

int ab_instr_conn_fd(const ab_instr_conn_t *c) { return c->fd; }

ab_instr_conn_t *ab_instr_conn_wrap(int fd)
{
  ab_instr_conn_t *c = calloc(1, sizeof *c);
  if (c)
    c->fd = fd;
  return c;
}

void ab_instr_conn_drop(ab_instr_conn_t *c)
{
  if (c && c->fd >= 0)
    close(c->fd);
  if (c)
    c->fd = -1;
}

int ab_instr_send(ab_instr_conn_t *c, const char *msg)
{
  size_t n = strlen(msg);
  char stack[512], *line = n + 2 <= sizeof stack ? stack : malloc(n + 2);
  if (!line)
    return -ENOMEM;
  memcpy(line, msg, n);
  line[n++] = '\n';
  int rc = 0;
  for (size_t off = 0; off < n && !rc;) {
    ssize_t w = send(c->fd, line + off, n - off, MSG_NOSIGNAL);
    if (w > 0)
      off += (size_t)w;
    else if (errno == EAGAIN) {
      struct pollfd pf = { .fd = c->fd, .events = POLLOUT };
      if (poll(&pf, 1, 5000) == 0)
        rc = -ETIMEDOUT;
    } else if (errno != EINTR)
      rc = -errno;
  }
  if (line != stack)
    free(line);
  return rc;
}

/* A whole reply in [start, len): its length (its data at *reply), 0 if not yet, or -errno. */
static ssize_t ab__take(ab_instr_conn_t *c, const char **reply, size_t max)
{
  const char *b = c->buf + c->start;
  size_t have = c->len - c->start;
  if (!have)
    return 0;
  if (b[0] == '#') { /* a definite-length block, then its terminator */
    const char *data;
    size_t dl, used;
    int r = ab_scpi_block(b, have, max, &data, &dl, &used);
    if (r < 0)
      return have >= 2 && b[1] >= '1' && b[1] <= '9' ? -EMSGSIZE : -EPROTO;
    if (r == 0 || have < used + 1)
      return 0;
    used += b[used] == '\r' && have > used + 1 ? 2 : 1;
    *reply = data;
    c->line = used;
    c->block = 1;
    return (ssize_t)dl;
  }
  const char *nl = memchr(b, '\n', have);
  if (!nl)
    return have > max ? -EMSGSIZE : 0;
  size_t n = (size_t)(nl - b);
  c->line = n + 1;
  c->block = 0;
  if (n && b[n - 1] == '\r')
    n--;
  if (n > max)
    return -EMSGSIZE;
  *reply = b;
  return (ssize_t)n;
}

ssize_t ab_instr_reply(ab_instr_conn_t *c, const char **reply, size_t max, int64_t timeout_ns)
{
  c->start += c->line; /* the reply returned before is done with */
  c->line = 0;
  if (max > AB__IN_REPLY_MAX)
    max = AB__IN_REPLY_MAX;
  int64_t deadline = ab_now_ns() + timeout_ns;
  for (;;) {
    ssize_t r = ab__take(c, reply, max);
    if (r)
      return r;
    if (r == 0 && c->line)
      return 0; /* an empty line */
    if (c->start && c->start == c->len)
      c->start = c->len = 0;
    if (c->cap - c->len < 65536) { /* room to read into: move down, or grow */
      if (c->start) {
        memmove(c->buf, c->buf + c->start, c->len - c->start);
        c->len -= c->start, c->start = 0;
      }
      if (c->cap - c->len < 65536) {
        size_t cap = c->cap ? 2 * c->cap : 131072;
        char *nb = cap <= 2 * (size_t)AB__IN_REPLY_MAX ? realloc(c->buf, cap) : NULL;
        if (!nb)
          return -ENOMEM;
        c->buf = nb, c->cap = cap;
      }
    }
    ssize_t got = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (got > 0) {
      c->len += (size_t)got;
      continue;
    }
    if (got == 0)
      return -ECONNRESET;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN)
      return -errno;
    int64_t left = deadline - ab_now_ns();
    if (timeout_ns <= 0)
      return -EAGAIN;
    if (left <= 0)
      return -ETIMEDOUT;
    struct pollfd pf = { .fd = c->fd, .events = POLLIN };
    struct timespec ts = ab_ts(left);
    ppoll(&pf, 1, &ts, NULL);
  }
}

int ab_instr_reply_was_block(const ab_instr_conn_t *c) { return c->block; }

ssize_t ab_instr_query(ab_instr_conn_t *c, const char *msg, const char **reply, size_t max, int64_t timeout_ns)
{
  int r = ab_instr_send(c, msg);
  return r < 0 ? r : ab_instr_reply(c, reply, max, timeout_ns);
}

/* ---- the device ---------------------------------------------------------------------------- */

static int ab__mock_main(void *arg)
{
  const int *a = arg;
  return ab__instr_mock_run(a[0], *(ab__in_truth_t **)(a + 2));
}

static int ab__in_prepare(void *state, const ab_dev_opts_t *o, char *err)
{
  ab__in_state_t *st = state;
  if (o->instrument) {
    char host[96], port[8];
    int rc = ab__in_split(o->instrument, host, port, err);
    if (rc < 0)
      return rc;
    snprintf(st->address, sizeof st->address, "%s", o->instrument);
    st->prepared = 1;
    return 0;
  }
  int rc;
  ab__in_truth_t *tr = ab_shm_alloc(sizeof *tr, 1);
  if (!tr) {
    rc = -(errno ? errno : ENOMEM);
    return ab_dev_fail(err, rc, "mock instrument: shared memory for its counts: %s", strerror(-rc));
  }
  tr->cfg = (ab_instr_cfg_t){ .mode = AB_INSTR_SERIAL, .acq_ns = 50 * AB_NS_PER_MS, .set_ns = 200 * AB_NS_PER_US,
                              .link_bps = 100e6, .samples = 16384 };
  int sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t len = sizeof a;
  if (sock < 0 || bind(sock, (struct sockaddr *)&a, sizeof a) < 0 || listen(sock, 16) < 0 ||
      getsockname(sock, (struct sockaddr *)&a, &len) < 0) {
    rc = -errno;
    ab_dev_fail(err, rc, "mock instrument: a TCP port on 127.0.0.1: %s", strerror(-rc));
    goto fail;
  }
  int arg[2 + sizeof(void *) / sizeof(int) + 1] = { sock };
  memcpy(arg + 2, &tr, sizeof tr);
  pid_t pid = ab_helper_start("instrument-mock", ab__mock_main, arg, &sock, 1);
  if (pid < 0) {
    rc = (int)pid;
    ab_dev_fail(err, rc, "mock instrument: fork: %s", strerror(-rc));
    goto fail;
  }
  close(sock);
  st->truth = tr;
  st->pid = pid;
  st->prepared = 1;
  snprintf(st->address, sizeof st->address, "127.0.0.1:%u", ntohs(a.sin_port));
  return 0;
fail:
  if (sock >= 0)
    close(sock);
  ab_shm_free(tr, sizeof *tr, 1);
  return rc;
}

static void ab__in_release(void *state)
{
  ab__in_state_t *st = state;
  pid_t pid = st->pid;
  st->pid = 0;
  if (pid > 0)
    ab_helper_stop(pid, AB__IN_STOP_GRACE_MS);
  if (st->truth)
    ab_shm_free(st->truth, sizeof *st->truth, 1);
  st->truth = NULL;
  st->prepared = 0;
}

static const char *ab__in_backend(const void *state)
{
  const ab__in_state_t *st = state;
  return st->truth ? "mock-scpi" : st->address;
}

static int ab__in_open(void *state, void **handle, char *err)
{
  const ab__in_state_t *st = state;
  if (!st->prepared)
    return ab_dev_fail(err, -EINVAL, "instrument: open before a successful prepare");
  ab_instr_conn_t *c;
  int rc = ab_instr_connect(st->address, AB__IN_OPEN_TIMEOUT_NS, &c, err);
  if (rc < 0)
    return rc == -EINVAL ? rc : rc == -ENOENT ? rc : -ENODEV; /* unreachable: the device is missing (exit 3) */
  *handle = c;
  return 0;
}

static int ab__in_fd(void *handle) { return ((ab_instr_conn_t *)handle)->fd; }
static void ab__in_close(void *handle) { ab_instr_conn_close(handle); }

int ab_instr_config(void *state, const ab_instr_cfg_t *cfg)
{
  ab__in_state_t *st = state;
  if (!st->truth)
    return -ENODEV;
  if ((cfg->mode != AB_INSTR_SERIAL && cfg->mode != AB_INSTR_OVERLAPPED) || cfg->acq_ns < 0 ||
      cfg->acq_ns > 60 * AB_NS_PER_S || cfg->set_ns < 0 || cfg->set_ns > AB_NS_PER_S || !(cfg->link_bps >= 1e3) ||
      cfg->link_bps > 1e12 || cfg->samples < 1 || cfg->samples > (1 << 20))
    return -EINVAL;
  st->truth->cfg = *cfg;
  return 0;
}

int ab_instr_stats(const void *state, ab_instr_stats_t *o)
{
  const ab__in_state_t *st = state;
  const ab__in_truth_t *t = st->truth;
  memset(o, 0, sizeof *o);
  if (!t)
    return -ENODEV;
#define LD(f) __atomic_load_n(&t->f, __ATOMIC_ACQUIRE)
  *o = (ab_instr_stats_t){ LD(connections), LD(refusals), LD(messages), LD(commands), LD(queries), LD(errors),
                           LD(acquisitions), LD(bytes_out), LD(overlong), LD(served_ns) };
#undef LD
  return 0;
}

const char *ab_instr_address(const void *state) { return ((const ab__in_state_t *)state)->address; }
int ab_instr_is_mock(const void *state) { return ((const ab__in_state_t *)state)->truth != NULL; }

ab_instr_conn_t *ab_instr_of(ab_ctx_t *ctx)
{
  return ab_dev_kind(ctx) == AB_DEV_INSTRUMENT ? ab_dev(ctx) : NULL;
}

const ab_devops_t ab_instrument_ops = {
  .kind = "instrument",
  .option = "--instrument",
  .path_off = offsetof(ab_dev_opts_t, instrument),
  .state_size = sizeof(ab__in_state_t),
  .prepare = ab__in_prepare,
  .release = ab__in_release,
  .backend = ab__in_backend,
  .open = ab__in_open,
  .fd = ab__in_fd,
  .close = ab__in_close,
};
