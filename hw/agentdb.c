/* The agents' database service (agentdb.h): an epoll loop over the listening socket, the UDP
 * sink, a timerfd and one connection per agent; queries wait in a heap ordered by when they
 * are due, so any number are served at once, each after its own service time.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ab.h"
#include "agentdb.h"

typedef struct { int64_t due; int fd; ab_db_msg_t m; } ab__due_t;

typedef struct {
  int ep, lfd, ufd, tfd;
  ab__due_t *heap;
  size_t n, cap;
  uint8_t (*cache)[AB_DB_VAL];
  struct { uint8_t buf[sizeof(ab_db_msg_t)]; size_t have; } *conn; /* by fd */
  int nconn;
} ab__svc_t;

/* ---- client side -------------------------------------------------------------------------- */

static int ab__io_all(int fd, void *p, size_t n, int out)
{
  for (size_t done = 0; done < n;) {
    ssize_t k = out ? send(fd, (char *)p + done, n - done, MSG_NOSIGNAL) : recv(fd, (char *)p + done, n - done, 0);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0)
      return errno == ECONNRESET ? -EPIPE : -errno;
    if (k == 0)
      return -EPIPE;
    done += (size_t)k;
  }
  return 0;
}

int ab_db_send(int fd, const ab_db_msg_t *m) { return ab__io_all(fd, (void *)m, sizeof *m, 1); }
int ab_db_recv(int fd, ab_db_msg_t *m) { return ab__io_all(fd, m, sizeof *m, 0); }

int ab_db_connect(uint16_t port, int udp)
{
  int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  int one = 1;
  if (!udp)
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  return fd;
}

/* ---- the service ------------------------------------------------------------------------------ */

static void ab__heap_push(ab__svc_t *s, const ab__due_t *d)
{
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 256;
    ab__due_t *h = realloc(s->heap, cap * sizeof *h);
    if (!h)
      return; /* the query goes unanswered: its agent waits until the stop */
    s->heap = h;
    s->cap = cap;
  }
  size_t i = s->n++;
  for (; i && s->heap[(i - 1) / 2].due > d->due; i = (i - 1) / 2)
    s->heap[i] = s->heap[(i - 1) / 2];
  s->heap[i] = *d;
}

static void ab__heap_pop(ab__svc_t *s)
{
  ab__due_t last = s->heap[--s->n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= s->n)
      break;
    if (c + 1 < s->n && s->heap[c + 1].due < s->heap[c].due)
      c++;
    if (s->heap[c].due >= last.due)
      break;
    s->heap[i] = s->heap[c];
    i = c;
  }
  if (s->n)
    s->heap[i] = last;
}

static void ab__arm(ab__svc_t *s)
{
  struct itimerspec its = { 0 };
  if (s->n)
    its.it_value = ab_ts(s->heap[0].due > 0 ? s->heap[0].due : 1);
  timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void ab__request(ab__svc_t *s, int fd, ab_db_msg_t *m)
{
  m->status = 0;
  if (m->op == AB_DB_QUERY) {
    ab__due_t d = { ab_now_ns() + (int64_t)m->service_us * AB_NS_PER_US, fd, *m };
    ab__heap_push(s, &d);
    return;
  }
  if (m->key >= AB_DB_KEYS || (m->op != AB_DB_PUT && m->op != AB_DB_GET))
    m->status = -EINVAL;
  else if (m->op == AB_DB_PUT)
    memcpy(s->cache[m->key], m->val, AB_DB_VAL);
  else
    memcpy(m->val, s->cache[m->key], AB_DB_VAL);
  ab_db_send(fd, m);
}

static void ab__readable(ab__svc_t *s, int fd)
{
  if (fd >= s->nconn)
    return;
  for (;;) {
    ssize_t k = recv(fd, s->conn[fd].buf + s->conn[fd].have, sizeof(ab_db_msg_t) - s->conn[fd].have, MSG_DONTWAIT);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0) {
      if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        epoll_ctl(s->ep, EPOLL_CTL_DEL, fd, NULL);
        close(fd); /* a query still due to it is answered into the void (EBADF/EPIPE) */
        s->conn[fd].have = 0;
      }
      return;
    }
    if ((s->conn[fd].have += (size_t)k) == sizeof(ab_db_msg_t)) {
      ab_db_msg_t m;
      memcpy(&m, s->conn[fd].buf, sizeof m);
      s->conn[fd].have = 0;
      ab__request(s, fd, &m);
    }
  }
}

static void ab__due(ab__svc_t *s)
{
  uint64_t x;
  if (read(s->tfd, &x, sizeof x) < 0 && errno != EAGAIN)
    return;
  int64_t now = ab_now_ns();
  while (s->n && s->heap[0].due <= now) {
    ab__due_t d = s->heap[0];
    ab__heap_pop(s);
    ab_db_send(d.fd, &d.m);
  }
}

static void ab__event(ab__svc_t *s, int fd)
{
  if (fd == s->lfd) {
    int c = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = c };
    int one = 1;
    if (c >= 0 && c < s->nconn) {
      setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      epoll_ctl(s->ep, EPOLL_CTL_ADD, c, &ev);
    } else if (c >= 0) {
      close(c);
    }
  } else if (fd == s->ufd) {
    char b[2048];
    while (recv(s->ufd, b, sizeof b, MSG_DONTWAIT) >= 0)
      ;
  } else if (fd == s->tfd) {
    ab__due(s);
  } else {
    ab__readable(s, fd);
  }
}

static int ab__svc_main(void *arg)
{
  ab_db_t *db = arg;
  ab__svc_t s = { .lfd = db->listen_fd, .ufd = db->udp_fd, .nconn = 65536 };
  s.ep = epoll_create1(EPOLL_CLOEXEC);
  s.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  s.cache = calloc(AB_DB_KEYS, AB_DB_VAL);
  s.conn = calloc((size_t)s.nconn, sizeof *s.conn);
  if (s.ep < 0 || s.tfd < 0 || !s.cache || !s.conn)
    return -1;
  int fds[] = { s.lfd, s.ufd, s.tfd };
  for (int i = 0; i < 3; i++) {
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = fds[i] };
    if (epoll_ctl(s.ep, EPOLL_CTL_ADD, fds[i], &ev) < 0)
      return -1;
  }
  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_TIMERSLACK, 1UL); /* answers due at their time, not up to 50 us after */
  for (;;) { /* until SIGTERM at the run's end */
    struct epoll_event evs[64];
    int n = epoll_wait(s.ep, evs, 64, -1);
    for (int i = 0; i < n; i++)
      ab__event(&s, evs[i].data.fd);
    ab__arm(&s);
  }
}

static int ab__bound(int type, uint16_t *port)
{
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t len = sizeof a;
  if (fd < 0)
    return -errno;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || (type == SOCK_STREAM && listen(fd, 4096) < 0) ||
      getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

int ab_db_start(struct ab_run *run, ab_db_t *db)
{
  int r;
  db->listen_fd = db->udp_fd = -1;
  if ((db->listen_fd = ab__bound(SOCK_STREAM, &db->tcp_port)) < 0 || (db->udp_fd = ab__bound(SOCK_DGRAM, &db->udp_port)) < 0) {
    r = db->listen_fd < 0 ? db->listen_fd : db->udp_fd;
  } else {
    /* The helper's own copy: db may be in shared memory, where the fds are closed below. */
    ab_db_t mine = *db;
    int keep[] = { db->listen_fd, db->udp_fd };
    r = ab_run_helper(run, "ab-agentdb", ab__svc_main, &mine, keep, 2);
  }
  if (db->listen_fd >= 0)
    close(db->listen_fd);
  if (db->udp_fd >= 0)
    close(db->udp_fd);
  db->listen_fd = db->udp_fd = -1;
  return r < 0 ? r : 0;
}
