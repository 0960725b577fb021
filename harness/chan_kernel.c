/* The kernel transports: pipe, unix (SOCK_SEQPACKET), mq (POSIX) and tcp (loopback).
 *
 * All descriptors are non-blocking and every wait is a poll(), so a wait can end on a
 * deadline or on the run's stop word (ab__sleep_ns slices it) instead of hanging in the
 * kernel. Costs per small message, as the benchmarks will see them: pipe and tcp write
 * header and payload with one writev/sendmsg and read them with two reads (a byte stream
 * has no boundaries, and reading ahead would make the fd's readiness lie about whether a
 * message waits); unix and mq carry the header in the first fragment, so one call each way.
 *
 * A gone peer: pipe, unix and tcp see EOF or EPIPE. An mq has neither, so an mq channel also
 * holds a socketpair (live[]): each side keeps one end and polls it beside the queue while
 * waiting, and the other end closing (its process died) reads as EOF. A write to a pipe
 * whose reader has gone raises SIGPIPE: the process must ignore it (sockets use
 * MSG_NOSIGNAL).
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "chan.h"

#define AB__UNIX_FRAG 65536
#define AB__MQ_FRAG 65536
#define AB__MQ_MAXMSG 10

static size_t ab__min(size_t a, size_t b) { return a < b ? a : b; }

static void ab__close(int *fd)
{
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

/* Wait until fd has `ev` (or an error the next call will name). live: an fd whose EOF
 * means the peer has gone, or -1. deadline: absolute ns, < 0 none.
 * Returns 0, -EAGAIN (deadline), -ECANCELED (stop), -EPIPE (live hung up). */
static int ab__wait_fd(const ab_chan_t *c, int fd, short ev, int live, int64_t deadline)
{
  for (;;) {
    if (ab__stopped(c))
      return -ECANCELED;
    int64_t ns = ab__sleep_ns(c, deadline);
    int ms = ns < 0 ? -1 : (int)((ns + AB_NS_PER_MS - 1) / AB_NS_PER_MS);
    struct pollfd p[2] = { { fd, ev, 0 }, { live, POLLIN, 0 } };
    int n = poll(p, live >= 0 ? 2 : 1, ms);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (p[0].revents)
      return 0;
    if (live >= 0 && p[1].revents)
      return -EPIPE;
    if (deadline >= 0 && ab_now_ns() >= deadline)
      return -EAGAIN;
  }
}

static int ab__gone(int e)
{
  return e == EPIPE || e == ECONNRESET ? -EPIPE : -e;
}

static void kern_attach(ab_chan_t *c, int side)
{
  if (!(side & AB_SIDE_RX)) {
    ab__close(&c->fd[0]);
    ab__close(&c->live[0]);
  }
  if (!(side & AB_SIDE_TX)) {
    ab__close(&c->fd[1]);
    ab__close(&c->live[1]);
  }
}

static void kern_destroy(ab_chan_t *c)
{
  ab__close(&c->fd[0]);
  ab__close(&c->fd[1]);
  ab__close(&c->live[0]);
  ab__close(&c->live[1]);
}

static int kern_fd(ab_chan_t *c)
{
  return c->fd[0] >= 0 ? c->fd[0] : -EBADF;
}

/* ---- byte streams: pipe and tcp ------------------------------------------------------- */

static int ab__stream_send(ab_chan_t *c, const ab_msg_t *h, const void *buf, int sock)
{
  struct iovec iov[2] = { { (void *)h, AB__HDR }, { (void *)buf, h->len } };
  struct iovec *v = iov;
  int n = h->len ? 2 : 1, fd = c->fd[1];
  while (n > 0) {
    ssize_t w;
    if (sock) {
      struct msghdr m = { .msg_iov = v, .msg_iovlen = (size_t)n };
      w = sendmsg(fd, &m, MSG_NOSIGNAL);
    } else {
      w = writev(fd, v, n);
    }
    if (w < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN)
        return ab__gone(errno);
      /* Full: the writer waits for the reader to drain, as a blocking write would. */
      int r = ab__wait_fd(c, fd, POLLOUT, -1, -1);
      if (r)
        return r;
      continue;
    }
    while (n > 0 && (size_t)w >= v->iov_len) {
      w -= (ssize_t)v->iov_len;
      v++;
      n--;
    }
    if (n > 0) {
      v->iov_base = (char *)v->iov_base + w;
      v->iov_len -= (size_t)w;
    }
  }
  return 0;
}

/* The rest of a message that has started: wait as long as it takes (or stop, or EOF). */
static int ab__read_full(const ab_chan_t *c, int fd, char *p, size_t n)
{
  while (n) {
    ssize_t r = read(fd, p, n);
    if (r > 0) {
      p += r;
      n -= (size_t)r;
      continue;
    }
    if (r == 0)
      return -EPIPE;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN)
      return ab__gone(errno);
    int e = ab__wait_fd(c, fd, POLLIN, -1, -1);
    if (e)
      return e;
  }
  return 0;
}

static int ab__stream_recv(ab_chan_t *c, ab_msg_t *h, const void **data, int64_t timeout_ns)
{
  int fd = c->fd[0], e;
  int64_t deadline = timeout_ns > 0 ? ab_now_ns() + timeout_ns : -1;
  ssize_t r;
  for (;;) {
    r = read(fd, h, AB__HDR);
    if (r > 0)
      break;
    if (r == 0)
      return -EPIPE;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN)
      return ab__gone(errno);
    if (timeout_ns == 0)
      return -EAGAIN;
    if ((e = ab__wait_fd(c, fd, POLLIN, -1, deadline)))
      return e;
  }
  if ((size_t)r < AB__HDR && (e = ab__read_full(c, fd, (char *)h + r, AB__HDR - (size_t)r)))
    return e;
  if (h->len > c->msg_max)
    return -EPROTO;
  char *p = (char *)c->rxbuf + AB__HDR;
  if (h->len && (e = ab__read_full(c, fd, p, h->len)))
    return e;
  *data = p;
  return 0;
}

static int pipe_create(ab_chan_t *c)
{
  return pipe2(c->fd, O_NONBLOCK | O_CLOEXEC) < 0 ? -errno : 0;
}

static int pipe_send(ab_chan_t *c, const ab_msg_t *h, const void *buf)
{
  return ab__stream_send(c, h, buf, 0);
}

static int tcp_send(ab_chan_t *c, const ab_msg_t *h, const void *buf)
{
  return ab__stream_send(c, h, buf, 1);
}

static int tcp_create(ab_chan_t *c)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t alen = sizeof a;
  int one = 1, r, lfd, wfd, rfd;
  lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0)
    return -errno;
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 1) < 0 ||
      getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
    r = -errno;
    goto fail_listen;
  }
  wfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (wfd < 0) {
    r = -errno;
    goto fail_listen;
  }
  if (connect(wfd, (struct sockaddr *)&a, sizeof a) < 0) {
    r = -errno;
    goto fail_writer;
  }
  rfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  if (rfd < 0) {
    r = -errno;
    goto fail_writer;
  }
  if (setsockopt(wfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
      setsockopt(rfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
      fcntl(wfd, F_SETFL, O_NONBLOCK) < 0 || fcntl(rfd, F_SETFL, O_NONBLOCK) < 0) {
    r = -errno;
    goto fail_reader;
  }
  close(lfd);
  c->fd[0] = rfd;
  c->fd[1] = wfd;
  return 0;

fail_reader:
  close(rfd);
fail_writer:
  close(wfd);
fail_listen:
  close(lfd);
  return r;
}

/* ---- unix: SOCK_SEQPACKET, fragments of at most 64 KiB ------------------------------- */

static int unix_create(ab_chan_t *c)
{
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
    return -errno;
  c->fd[0] = sv[0];
  c->fd[1] = sv[1];
  c->frag = AB__UNIX_FRAG;
  return 0;
}

/* One datagram, whole or not at all. */
static int ab__dgram_send(ab_chan_t *c, struct iovec *iov, int n)
{
  struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };
  for (;;) {
    if (sendmsg(c->fd[1], &m, MSG_NOSIGNAL) >= 0)
      return 0;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN)
      return ab__gone(errno);
    int r = ab__wait_fd(c, c->fd[1], POLLOUT, -1, -1);
    if (r)
      return r;
  }
}

static int unix_send(ab_chan_t *c, const ab_msg_t *h, const void *buf)
{
  size_t len = h->len, first = ab__min(len, c->frag - AB__HDR), n;
  struct iovec iov[2] = { { (void *)h, AB__HDR }, { (void *)buf, first } };
  int r = ab__dgram_send(c, iov, first ? 2 : 1);
  for (size_t off = first; r == 0 && off < len; off += n) {
    n = ab__min(c->frag, len - off);
    iov[0] = (struct iovec){ (char *)buf + off, n };
    r = ab__dgram_send(c, iov, 1);
  }
  return r;
}

/* One datagram into iov; the first of a message may wait until the deadline, the rest
 * until they come. Returns its size or -errno; a datagram larger than iov is -EPROTO. */
static ssize_t ab__dgram_recv(ab_chan_t *c, struct iovec *iov, int n, int64_t timeout_ns)
{
  int64_t deadline = timeout_ns > 0 ? ab_now_ns() + timeout_ns : -1;
  struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };
  for (;;) {
    ssize_t r = recvmsg(c->fd[0], &m, 0);
    if (r > 0)
      return m.msg_flags & MSG_TRUNC ? -EPROTO : r;
    if (r == 0)
      return -EPIPE; /* we never send empty datagrams: this is the peer closing */
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN)
      return ab__gone(errno);
    if (timeout_ns == 0)
      return -EAGAIN;
    int e = ab__wait_fd(c, c->fd[0], POLLIN, -1, deadline);
    if (e)
      return e;
  }
}

static int unix_recv(ab_chan_t *c, ab_msg_t *h, const void **data, int64_t timeout_ns)
{
  char *p = (char *)c->rxbuf + AB__HDR;
  struct iovec iov[2] = { { h, AB__HDR }, { p, ab__min(c->frag - AB__HDR, c->msg_max) } };
  ssize_t r = ab__dgram_recv(c, iov, 2, timeout_ns);
  if (r < 0)
    return (int)r;
  if ((size_t)r < AB__HDR || h->len > c->msg_max || (size_t)r - AB__HDR > h->len)
    return -EPROTO;
  for (size_t got = (size_t)r - AB__HDR; got < h->len; got += (size_t)r) {
    iov[0] = (struct iovec){ p + got, ab__min(c->frag, h->len - got) };
    if ((r = ab__dgram_recv(c, iov, 1, -1)) < 0)
      return (int)r;
  }
  *data = p;
  return 0;
}

/* ---- mq: a POSIX queue, fragments of mq_msgsize ---------------------------------------- */

static long ab__proc_long(const char *path)
{
  FILE *f = fopen(path, "re");
  long v = -1;
  if (f) {
    if (fscanf(f, "%ld", &v) != 1)
      v = -1;
    fclose(f);
  }
  return v;
}

/* Open a fresh queue as large as we may: msgsize 64 KiB (or what the system allows; no
 * larger than a whole message needs), up to 10 messages. RLIMIT_MSGQUEUE (800 KiB by
 * default) is per user and counts maxmsg * msgsize of every queue, so when it is reached
 * we raise the soft limit to the hard one, then shrink the queue rather than fail. */
static mqd_t ab__mq_open(char *name, size_t namelen, long *msgsize)
{
  static unsigned serial;
  long sys_size = ab__proc_long("/proc/sys/fs/mqueue/msgsize_max");
  long sys_max = ab__proc_long("/proc/sys/fs/mqueue/msg_max");
  long size = *msgsize, maxmsg = AB__MQ_MAXMSG;
  int raised = 0;
  if (sys_max > 0 && sys_max < maxmsg)
    maxmsg = sys_max;
  for (;;) {
    snprintf(name, namelen, "/archbench-mq-%d-%u", (int)getpid(),
             __atomic_fetch_add(&serial, 1, __ATOMIC_RELAXED));
    struct mq_attr a = { .mq_maxmsg = maxmsg, .mq_msgsize = size };
    mqd_t q = mq_open(name, O_RDONLY | O_CREAT | O_EXCL | O_NONBLOCK, 0600, &a);
    if (q != (mqd_t)-1) {
      *msgsize = size;
      return q;
    }
    if (errno == EEXIST)
      continue; /* left by a crash of a process that had our pid */
    if (errno == EINVAL && sys_size > 0 && size > sys_size) {
      size = sys_size;
      continue;
    }
    if (errno == EMFILE) {
      struct rlimit rl;
      if (!raised && getrlimit(RLIMIT_MSGQUEUE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        raised = 1;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_MSGQUEUE, &rl) == 0)
          continue;
      }
      raised = 1;
      if (maxmsg > 2) {
        maxmsg /= 2;
        continue;
      }
      if (size > 4096) {
        size /= 2;
        continue;
      }
      errno = EMFILE;
    }
    return (mqd_t)-1;
  }
}

static int mq_create(ab_chan_t *c)
{
  char name[64];
  long size = (long)ab__min(AB__MQ_FRAG, AB__HDR + c->msg_max);
  int r, sv[2];
  mqd_t q = ab__mq_open(name, sizeof name, &size);
  if (q == (mqd_t)-1)
    return -errno;
  mqd_t w = mq_open(name, O_WRONLY | O_NONBLOCK);
  r = -errno;
  mq_unlink(name);
  if (w == (mqd_t)-1)
    goto fail_reader;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
    r = -errno;
    goto fail_writer;
  }
  c->fd[0] = (int)q;
  c->fd[1] = (int)w;
  c->live[0] = sv[0];
  c->live[1] = sv[1];
  c->frag = (size_t)size;
  return 0;

fail_writer:
  mq_close(w);
fail_reader:
  mq_close(q);
  return r;
}

static int ab__mq_put(ab_chan_t *c, const char *p, size_t n)
{
  for (;;) {
    if (mq_send((mqd_t)c->fd[1], p, n, 0) == 0)
      return 0;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN)
      return -errno;
    int r = ab__wait_fd(c, c->fd[1], POLLOUT, c->live[1], -1);
    if (r)
      return r;
  }
}

static int mq_send_msg(ab_chan_t *c, const ab_msg_t *h, const void *buf)
{
  /* mq_send takes one buffer: the first fragment is assembled in staging, behind the
   * header slot, where send_begin's caller has already put it. */
  char *st = c->staging;
  size_t len = h->len, first = ab__min(len, c->frag - AB__HDR), n;
  if (buf != st + AB__HDR)
    memcpy(st + AB__HDR, buf, first);
  memcpy(st, h, AB__HDR);
  int r = ab__mq_put(c, st, AB__HDR + first);
  for (size_t off = first; r == 0 && off < len; off += n) {
    n = ab__min(c->frag, len - off);
    r = ab__mq_put(c, (const char *)buf + off, n);
  }
  return r;
}

/* One fragment into p (room for a whole fragment); size or -errno. */
static ssize_t ab__mq_get(ab_chan_t *c, char *p, int64_t timeout_ns)
{
  int64_t deadline = timeout_ns > 0 ? ab_now_ns() + timeout_ns : -1;
  for (;;) {
    ssize_t r = mq_receive((mqd_t)c->fd[0], p, c->frag, NULL);
    if (r >= 0)
      return r;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN)
      return -errno;
    if (timeout_ns == 0)
      return -EAGAIN;
    int e = ab__wait_fd(c, c->fd[0], POLLIN, c->live[0], deadline);
    if (e)
      return e;
  }
}

static int mq_recv(ab_chan_t *c, ab_msg_t *h, const void **data, int64_t timeout_ns)
{
  char *base = c->rxbuf; /* header, payload, then a fragment's slack for mq_receive */
  ssize_t r = ab__mq_get(c, base, timeout_ns);
  if (r < 0)
    return (int)r;
  if ((size_t)r < AB__HDR)
    return -EPROTO;
  memcpy(h, base, AB__HDR);
  if (h->len > c->msg_max)
    return -EPROTO;
  size_t got = (size_t)r - AB__HDR;
  for (; got < h->len; got += (size_t)r)
    if ((r = ab__mq_get(c, base + AB__HDR + got, -1)) < 0)
      return (int)r;
  if (got != h->len)
    return -EPROTO;
  *data = base + AB__HDR;
  return 0;
}

/* ---- the tables ------------------------------------------------------------------------ */

const ab_transport_t ab_transport_pipe = {
  .name = "pipe", .create = pipe_create, .attach = kern_attach, .send = pipe_send,
  .recv = ab__stream_recv, .fd = kern_fd, .destroy = kern_destroy,
};

const ab_transport_t ab_transport_tcp = {
  .name = "tcp", .create = tcp_create, .attach = kern_attach, .send = tcp_send,
  .recv = ab__stream_recv, .fd = kern_fd, .destroy = kern_destroy,
};

const ab_transport_t ab_transport_unix = {
  .name = "unix", .create = unix_create, .attach = kern_attach, .send = unix_send,
  .recv = unix_recv, .fd = kern_fd, .destroy = kern_destroy,
};

const ab_transport_t ab_transport_mq = {
  .name = "mq", .create = mq_create, .attach = kern_attach, .send = mq_send_msg,
  .recv = mq_recv, .fd = kern_fd, .destroy = kern_destroy,
};
