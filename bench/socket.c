/* Sockets: AF_UNIX stream and seqpacket pairs, and a loopback TCP connection (TCP_NODELAY).
 * One connection carries both directions: fd[0] is the bench side's end, fd[1] the peer's.
 * Streams are written and read whole; seqpacket carries a message as records of at most
 * 64 KiB (both sides cut it the same way), since one record must fit the send buffer.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "abm.h"

#define SEQ_RECORD 65536

typedef struct sock_cfg {
  int domain, type;
} sock_cfg_t;

static int sock_setup(abm_link_t *l)
{
  const sock_cfg_t *c = l->cfg;
  if (c->domain == AF_UNIX)
    return socketpair(AF_UNIX, c->type | SOCK_CLOEXEC, 0, l->fd) < 0 ? -errno : 0;

  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t alen = sizeof a;
  int one = 1, r = 0;
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0)
    return -errno;
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 1) < 0 ||
      getsockname(lfd, (struct sockaddr *)&a, &alen) < 0 ||
      (l->fd[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
      connect(l->fd[0], (struct sockaddr *)&a, sizeof a) < 0 ||
      (l->fd[1] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0 ||
      setsockopt(l->fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
      setsockopt(l->fd[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
    r = -errno;
  close(lfd);
  return r;
}

static void sock_close(abm_link_t *l, int i)
{
  if (l->fd[i] >= 0)
    close(l->fd[i]);
  l->fd[i] = -1;
}

static void sock_enter(abm_link_t *l, int side)
{
  if (l->procs)
    sock_close(l, !side);
}

static void sock_teardown(abm_link_t *l)
{
  sock_close(l, 0);
  sock_close(l, 1);
}

static ssize_t sock_put(void *l, int side, char *p, size_t k)
{
  return send(((abm_link_t *)l)->fd[side], p, k, MSG_NOSIGNAL);
}

static ssize_t sock_get(void *l, int side, char *p, size_t k)
{
  return recv(((abm_link_t *)l)->fd[side], p, k, 0);
}

static int stream_send(abm_link_t *l, int side, const void *buf, size_t n)
{
  return abm_pieces(sock_put, l, side, (void *)buf, n, 0);
}

static int stream_recv(abm_link_t *l, int side, void *buf, size_t n, const void **data)
{
  *data = buf;
  return abm_pieces(sock_get, l, side, buf, n, 0);
}

/* A record is sent whole or not at all, and received whole. */
static int seq_send(abm_link_t *l, int side, const void *buf, size_t n)
{
  return abm_pieces(sock_put, l, side, (void *)buf, n, SEQ_RECORD);
}

static int seq_recv(abm_link_t *l, int side, void *buf, size_t n, const void **data)
{
  *data = buf;
  return abm_pieces(sock_get, l, side, buf, n, SEQ_RECORD);
}

static const abm_link_ops_t stream_ops = {
  .setup = sock_setup, .enter = sock_enter, .send = stream_send, .recv = stream_recv,
  .teardown = sock_teardown,
};

static const abm_link_ops_t seq_ops = {
  .setup = sock_setup, .enter = sock_enter, .send = seq_send, .recv = seq_recv,
  .teardown = sock_teardown,
};

static const sock_cfg_t unix_stream = { AF_UNIX, SOCK_STREAM }, unix_seq = { AF_UNIX, SOCK_SEQPACKET },
                        tcp = { AF_INET, SOCK_STREAM };

static const abm_link_def_t defs[] = {
  { "unix-stream", &stream_ops, &unix_stream, ABM_BOTH_ARCHS, ABM_BOTH_MODES, NULL, 0, 0 },
  { "unix-seqpacket", &seq_ops, &unix_seq, ABM_BOTH_ARCHS, ABM_BOTH_MODES, NULL, 0, 0 },
  { "tcp", &stream_ops, &tcp, ABM_BOTH_ARCHS, ABM_BOTH_MODES, NULL, 0, 0 },
};

void abm_register_socket(void)
{
  abm_register_links(defs, (int)(sizeof defs / sizeof defs[0]));
}
