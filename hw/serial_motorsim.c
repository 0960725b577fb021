/* The simulated motor controller behind the serial mock (serial.h: ab_motorsim_run). hw/serial.c
 * forks it as the "ab-motorsim" process on the master of the mock's pty; tests and the
 * micro-benchmarks run it alone.
 *
 * The simulator is an event loop over the pty master and a timerfd: input is timestamped the
 * moment it arrives even while replies are pending (the loop runtime pipelines a SET behind a
 * READ), and each reply is written whole when its last byte would have arrived on a real line,
 * an absolute CLOCK_MONOTONIC deadline.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ab.h"
#include "motor_proto.h"
#include "serial.h"
#include "serial_impl.h"

#define AB__SIM_QUEUE 32 /* replies in flight; a real controller would have fewer */

typedef struct ab__sim_reply {
  int64_t due; /* when its last byte would have arrived at the host */
  int len;
  uint8_t bytes[AB_MP_MAX_FRAME];
} ab__sim_reply_t;

typedef struct ab__sim {
  int fd, baud;
  int64_t rx_free, tx_free; /* when each direction of the line is next idle */
  int64_t t_model;          /* joints are integrated up to here */
  double pos[AB_MP_JOINTS], target[AB_MP_JOINTS]; /* micro-radians */
  ab__sim_reply_t q[AB__SIM_QUEUE];
  unsigned head, count;
  uint64_t dropped;
} ab__sim_t;

static volatile sig_atomic_t ab__sim_stop;

static void ab__sim_on_term(int sig)
{
  (void)sig;
  ab__sim_stop = 1;
}

static void ab__sim_advance(ab__sim_t *s, int64_t t)
{
  if (t <= s->t_model)
    return;
  double step = AB_MOTORSIM_URAD_PER_S * (double)(t - s->t_model) / (double)AB_NS_PER_S;
  for (int j = 0; j < AB_MP_JOINTS; j++) {
    double d = s->target[j] - s->pos[j];
    s->pos[j] = fabs(d) <= step ? s->target[j] : s->pos[j] + (d > 0 ? step : -step);
  }
  s->t_model = t;
}

static int ab__sim_status(ab__sim_t *s, uint8_t *out, uint8_t seq)
{
  int32_t q[AB_MP_JOINTS];
  uint8_t flags = 0;
  for (int j = 0; j < AB_MP_JOINTS; j++) {
    q[j] = (int32_t)llround(s->pos[j]);
    if (s->pos[j] != s->target[j])
      flags |= AB_MP_F_MOVING;
  }
  return ab_mp_encode_status(out, seq, q, flags);
}

static int ab__sim_nak(uint8_t *out, uint8_t seq, uint8_t reason)
{
  return ab_mp_encode(out, AB_MP_NAK, seq, &reason, 1);
}

/* One request (or rejected frame) whose first byte was seen at t_seen: work out when the
 * controller would have it, answer as of then, and queue the reply for its arrival time. */
static void ab__sim_request(ab__sim_t *s, const ab_mp_frame_t *f, int got, int64_t t_seen)
{
  size_t nreq = got == -AB_MP_NAK_LEN ? 4 : 4 + (size_t)f->len + 2;
  int64_t start = t_seen > s->rx_free ? t_seen : s->rx_free;
  s->rx_free = start + ab_serial_wire_ns(nreq, s->baud);
  int64_t t_proc = s->rx_free + AB_MOTORSIM_PROC_NS;
  ab__sim_advance(s, t_proc);

  uint8_t out[AB_MP_MAX_FRAME];
  int32_t q[AB_MP_JOINTS];
  int n;
  if (got < 0) {
    n = ab__sim_nak(out, f->seq, (uint8_t)-got);
  } else if (f->type == AB_MP_SET) {
    if (ab_mp_set_targets(f, q) == 0) {
      for (int j = 0; j < AB_MP_JOINTS; j++)
        s->target[j] = q[j];
      n = ab__sim_status(s, out, f->seq);
    } else {
      n = ab__sim_nak(out, f->seq, AB_MP_NAK_LEN);
    }
  } else if (f->type == AB_MP_READ) {
    n = f->len == 0 ? ab__sim_status(s, out, f->seq) : ab__sim_nak(out, f->seq, AB_MP_NAK_LEN);
  } else {
    n = ab__sim_nak(out, f->seq, AB_MP_NAK_TYPE);
  }

  int64_t tx = t_proc > s->tx_free ? t_proc : s->tx_free;
  s->tx_free = tx + ab_serial_wire_ns((size_t)n, s->baud);
  if (s->count == AB__SIM_QUEUE) {
    s->dropped++; /* the host is not reading; a UART would overrun just the same */
    return;
  }
  ab__sim_reply_t *r = &s->q[(s->head + s->count++) % AB__SIM_QUEUE];
  r->due = s->tx_free;
  r->len = n;
  memcpy(r->bytes, out, (size_t)n);
}

/* Write a reply whole. The host not reading for 100 ms fills the pty buffer; the reply is
 * then dropped rather than letting one slow host wedge the controller. */
static int ab__sim_write(int fd, const uint8_t *p, size_t n)
{
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno != EAGAIN)
      return -errno;
    struct pollfd pfd = { .fd = fd, .events = POLLOUT };
    int r = poll(&pfd, 1, 100);
    if (r == 0)
      return 0;
    if (r < 0 && errno != EINTR)
      return -errno;
  }
  return 0;
}

static int ab__sim_flush(ab__sim_t *s, int64_t now)
{
  while (s->count && s->q[s->head].due <= now) {
    ab__sim_reply_t *r = &s->q[s->head];
    int rc = ab__sim_write(s->fd, r->bytes, (size_t)r->len);
    if (rc < 0)
      return rc;
    s->head = (s->head + 1) % AB__SIM_QUEUE;
    s->count--;
  }
  return 0;
}

static int ab__sim_loop(ab__sim_t *s, int tfd, const sigset_t *wait_mask)
{
  ab_mp_parser_t p;
  ab_mp_parser_init(&p);
  int64_t t_frame = -1; /* when the partly buffered frame's first byte arrived */
  uint8_t in[256];

  while (!ab__sim_stop) {
    int rc = ab__sim_flush(s, ab_now_ns());
    if (rc < 0)
      return rc;
    struct itimerspec its = { { 0, 0 }, { 0, 0 } };
    if (s->count)
      its.it_value = ab_ts(s->q[s->head].due);
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
      return -errno;

    struct pollfd pfd[2] = { { .fd = s->fd, .events = POLLIN }, { .fd = tfd, .events = POLLIN } };
    if (ppoll(pfd, 2, NULL, wait_mask) < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (pfd[1].revents & POLLIN) {
      uint64_t ticks;
      if (read(tfd, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
        return -errno;
    }
    if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
      continue;
    ssize_t n = read(s->fd, in, sizeof in);
    int64_t t = ab_now_ns();
    if (n == 0 || (n < 0 && errno == EIO))
      return 0; /* the host side is gone for good */
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR)
        continue;
      return -errno;
    }
    size_t off = 0;
    int got;
    do {
      ab_mp_frame_t f;
      off += ab_mp_feed(&p, in + off, (size_t)n - off, &f, &got);
      if (got) {
        ab__sim_request(s, &f, got, t_frame >= 0 ? t_frame : t);
        t_frame = -1;
      }
    } while (off < (size_t)n || got);
    if (p.have && t_frame < 0)
      t_frame = t;
  }
  return 0;
}

int ab_motorsim_run(int fd, int baud)
{
  if (fd < 0 || baud <= 0)
    return -EINVAL;
  int rc, hold = -1, fl, tfd;
  char name[64];
  /* Hold the slave ourselves: with no slave open the master reads EIO and polls POLLHUP
   * forever, and the host could never close and reopen the port. */
  if (ptsname_r(fd, name, sizeof name) == 0) {
    hold = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (hold < 0)
      return -errno;
    /* No echo: with the line discipline's default ECHO our replies would come back to us. */
    if ((rc = ab__serial_make_raw(hold, baud)) < 0)
      goto close_hold;
  }
  fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    rc = -errno;
    goto close_hold;
  }
  tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (tfd < 0) {
    rc = -errno;
    goto restore_flags;
  }

  ab__sim_t sim;
  memset(&sim, 0, sizeof sim);
  sim.fd = fd;
  sim.baud = baud;
  sim.t_model = ab_now_ns();

  /* SIGTERM stays blocked except inside ppoll, so a stop can never slip in between the
   * check of the flag and the wait. */
  struct sigaction sa = { .sa_handler = ab__sim_on_term }, old_sa;
  sigset_t term, old_mask, wait_mask;
  sigemptyset(&sa.sa_mask);
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ab__sim_stop = 0;
  sigaction(SIGTERM, &sa, &old_sa);
  pthread_sigmask(SIG_BLOCK, &term, &old_mask);
  wait_mask = old_mask;
  sigdelset(&wait_mask, SIGTERM);

  rc = ab__sim_loop(&sim, tfd, &wait_mask);

  pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
  sigaction(SIGTERM, &old_sa, NULL);
  close(tfd);
restore_flags:
  fcntl(fd, F_SETFL, fl);
close_hold:
  if (hold >= 0)
    close(hold);
  return rc;
}
