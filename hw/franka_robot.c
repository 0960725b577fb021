/* The mock robot behind the franka device (franka.h): hw/franka.c forks it as the
 * "franka-robot" helper process on its UDP socket; it writes its verdicts into the shared
 * truth (franka_impl.h).
 *
 * One loop over the socket and a timerfd armed at an absolute CLOCK_MONOTONIC time (the next
 * state's schedule, or after the last one the next deadline), with the timer slack at its
 * minimum. State k is sent at t_start + k * period however late the previous ones were: a
 * late robot sends the overdue states back to back and records its lateness, the schedule is
 * never re-based. Commands carry the kernel's arrival timestamp (SO_TIMESTAMPNS, taken as the
 * controller's send crosses loopback), so the robot's own wake-up delay never makes a
 * command late. Events are judged in time order: before a command that arrived at t is
 * taken, every state whose deadline was before t gets its verdict, which may start a reflex
 * that refuses the command.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "ab.h"
#include "franka_impl.h"

#define AB__FK_RING 4096 /* states beyond the log still open to a late command */

typedef struct ab__robot {
  int sock, tfd;
  ab__fk_truth_t *tr;
  struct sockaddr_storage peer; /* where START came from: states go there */
  socklen_t peer_len;
  int started, running;
  int64_t t_start, period, duration, reflex_reset;
  int reflex_after, consec;
  int64_t reflex_from, reflex_to; /* the latest reflex, [from, to) */
  uint64_t next, judged;          /* the next state to send; states [0, judged) have verdicts */
  double bias[AB_FK_JOINTS], tau[AB_FK_JOINTS];
  ab__fk_entry_t ring[AB__FK_RING]; /* the states beyond the log */
} ab__robot_t;

static ab__fk_entry_t *ab__rec(ab__robot_t *r, uint64_t k)
{
  return k < AB_FRANKA_LOG_STATES ? &r->tr->log[k] : &r->ring[k % AB__FK_RING];
}

/* A home pose and a slow sinusoid per joint, plus a drift the commanded torques push. */
static void ab__model(ab__robot_t *r, int64_t t, ab_franka_state_t *s)
{
  static const double home[AB_FK_JOINTS] = { 0, -0.785, 0, -2.356, 0, 1.571, 0.785 };
  double ts = (double)(t - r->t_start) / (double)AB_NS_PER_S;
  for (int j = 0; j < AB_FK_JOINTS; j++) {
    double a = 0.2 - 0.02 * j, w = 2 * M_PI * (0.1 + 0.05 * j), drift = 1e-3 * r->tau[j];
    r->bias[j] += drift * (double)r->period / (double)AB_NS_PER_S;
    s->q[j] = home[j] + a * sin(w * ts) + r->bias[j];
    s->dq[j] = a * w * cos(w * ts) + drift;
  }
}

static void ab__send_state(ab__robot_t *r)
{
  uint64_t k = r->next;
  int64_t sched = r->t_start + (int64_t)k * r->period;
  ab_franka_state_t s = { .seq = k };
  uint8_t buf[AB_FK_MAX_LEN];
  ab__model(r, sched, &s);
  s.t_sent = ab_now_ns();
  size_t n = ab_fk_encode_state(buf, &s);
  if (sendto(r->sock, buf, n, MSG_DONTWAIT, (struct sockaddr *)&r->peer, r->peer_len) < 0)
    __atomic_add_fetch(&r->tr->send_errors, 1, __ATOMIC_RELAXED);
  ab__fk_entry_t *e = ab__rec(r, k);
  if (k >= AB_FRANKA_LOG_STATES)
    memset(e, 0, sizeof *e); /* a ring slot's previous state */
  e->t_sent = s.t_sent;
  if (s.t_sent - sched > r->tr->send_late_max)
    __atomic_store_n(&r->tr->send_late_max, s.t_sent - sched, __ATOMIC_RELAXED);
  r->next = k + 1;
  __atomic_store_n(&r->tr->sent, r->next, __ATOMIC_RELEASE);
}

static void ab__count(uint64_t *c, int64_t d)
{
  __atomic_add_fetch(c, (uint64_t)d, __ATOMIC_RELAXED);
}

/* The verdict of every state sent whose deadline is at or before t. */
static void ab__judge_until(ab__robot_t *r, int64_t t)
{
  ab__fk_counts_t *over = &r->tr->over;
  for (; r->judged < r->next; r->judged++) {
    ab__fk_entry_t *e = ab__rec(r, r->judged);
    int64_t deadline = e->t_sent + r->period;
    if (deadline > t)
      return;
    uint32_t f = AB__FK_JUDGED;
    if (r->reflex_to > r->reflex_from && e->t_sent < r->reflex_to && deadline > r->reflex_from) {
      f |= AB__FK_IN_REFLEX;
    } else if (e->t_resp && e->t_resp <= deadline) {
      f |= AB__FK_ON_TIME;
      r->consec = 0;
    } else {
      f |= AB__FK_MISSED;
      if (++r->consec >= r->reflex_after) {
        f |= AB__FK_REFLEX;
        r->reflex_from = deadline;
        r->reflex_to = deadline + r->reflex_reset;
        r->consec = 0;
      }
    }
    __atomic_store_n(&e->flags, f, __ATOMIC_RELEASE);
    if (r->judged >= AB_FRANKA_LOG_STATES) {
      ab__count(&over->states, 1);
      ab__count(f & AB__FK_IN_REFLEX ? &over->in_reflex : f & AB__FK_ON_TIME ? &over->on_time : &over->missed, 1);
      if (f & AB__FK_REFLEX)
        ab__count(&over->reflexes, 1);
    }
  }
}

/* A state judged missed is answered after all, too late: late, with its response time (the
 * command itself is taken, or refused when the violation's reflex is on). */
static void ab__late(ab__robot_t *r, ab__fk_entry_t *e, int64_t t_arr, int beyond)
{
  __atomic_store_n(&e->t_resp, t_arr, __ATOMIC_RELAXED);
  __atomic_store_n(&e->flags, (e->flags & ~(uint32_t)AB__FK_MISSED) | AB__FK_LATE, __ATOMIC_RELEASE);
  if (beyond) {
    ab__count(&r->tr->over.missed, -1);
    ab__count(&r->tr->over.late, 1);
  }
}

static void ab__command(ab__robot_t *r, const ab_fk_cmd_t *c, int64_t t_arr)
{
  ab__judge_until(r, t_arr - 1);
  uint64_t s = c->seq;
  if (s >= r->next || (s >= AB_FRANKA_LOG_STATES && r->next - s > AB__FK_RING)) {
    ab__count(&r->tr->bad, 1); /* never sent, or beyond memory */
    return;
  }
  ab__fk_entry_t *e = ab__rec(r, s);
  int beyond = s >= AB_FRANKA_LOG_STATES;
  if (t_arr >= r->reflex_from && t_arr < r->reflex_to) {
    if (!e->t_resp && (e->flags & AB__FK_MISSED)) /* the answer to a violation came, too late */
      ab__late(r, e, t_arr, beyond);
    if (beyond)
      ab__count(&r->tr->over.refused, 1);
    else
      __atomic_add_fetch(&e->refused, 1, __ATOMIC_RELAXED);
    return;
  }
  if (e->t_resp) {
    ab__count(&r->tr->duplicate, 1);
    return;
  }
  memcpy(r->tau, c->tau, sizeof r->tau);
  if (e->flags & AB__FK_MISSED)
    ab__late(r, e, t_arr, beyond);
  else
    __atomic_store_n(&e->t_resp, t_arr, __ATOMIC_RELAXED);
}

static void ab__start(ab__robot_t *r, int64_t t_start, const struct sockaddr_storage *from, socklen_t len)
{
  ab__fk_truth_t *tr = r->tr;
  if (r->started) {
    ab__count(&tr->bad, 1); /* one run per robot */
    return;
  }
  r->peer = *from;
  r->peer_len = len;
  r->period = tr->period_ns;
  r->duration = tr->duration_ns;
  r->reflex_after = tr->reflex_after;
  r->reflex_reset = tr->reflex_reset_ns;
  r->t_start = t_start;
  r->started = r->running = 1;
  __atomic_store_n(&tr->period, r->period, __ATOMIC_RELAXED);
  __atomic_store_n(&tr->t_start, t_start, __ATOMIC_RELEASE);
}

/* CLOCK_MONOTONIC of a CLOCK_REALTIME timestamp, by the two clocks' offset now. */
static int64_t ab__mono_of(const struct timespec *real, int64_t mono_now)
{
  struct timespec rn;
  clock_gettime(CLOCK_REALTIME, &rn);
  int64_t off = ((int64_t)rn.tv_sec * AB_NS_PER_S + rn.tv_nsec) - mono_now;
  return (int64_t)real->tv_sec * AB_NS_PER_S + real->tv_nsec - off;
}

/* Every datagram waiting, in arrival order. 0, or a negative errno of the socket. */
static int ab__drain(ab__robot_t *r)
{
  for (;;) {
    uint8_t buf[AB_FK_MAX_LEN + 1]; /* one byte more: an oversized datagram fails the size check */
    char cbuf[CMSG_SPACE(sizeof(struct timespec))];
    struct sockaddr_storage from;
    struct iovec iov = { buf, sizeof buf };
    struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                         .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
    ssize_t n = recvmsg(r->sock, &mh, MSG_DONTWAIT);
    if (n < 0)
      return errno == EAGAIN || errno == EINTR ? 0 : -errno;
    int64_t t_arr = ab_now_ns();
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(c), sizeof ts);
        int64_t k = ab__mono_of(&ts, t_arr);
        t_arr = k < t_arr ? k : t_arr;
      }
    ab_fk_msg_t m;
    int kind = ab_fk_decode(buf, (size_t)n, &m);
    if (kind == AB_FK_CMD && r->started)
      ab__command(r, &m.cmd, t_arr);
    else if (kind == AB_FK_START)
      ab__start(r, m.t_start, &from, mh.msg_namelen);
    else if (kind == AB_FK_STOP)
      r->running = 0;
    else
      ab__count(&r->tr->bad, 1);
  }
}

/* The next instant the loop has work at: a state to send, else a deadline; -1: none. */
static int64_t ab__next_event(ab__robot_t *r)
{
  if (r->running)
    return r->t_start + (int64_t)r->next * r->period;
  if (r->judged < r->next)
    return ab__rec(r, r->judged)->t_sent + r->period;
  return -1;
}

int ab__fk_robot_run(int sock, ab__fk_truth_t *tr)
{
  static ab__robot_t r; /* a process of its own: the ring is too big for the stack */
  memset(&r, 0, sizeof r);
  r.sock = sock;
  r.tr = tr;
  int on = 1;
  prctl(PR_SET_TIMERSLACK, 1UL);
  /* A real robot keeps its 1 kHz on a computer of its own: here it runs above the run's
   * roles, so that a starved controller is seen late, not a starved robot (its work is a
   * few microseconds a state). Without the privilege it runs as it is, and says so. */
  struct sched_param sp = { .sched_priority = sched_get_priority_max(SCHED_FIFO) - 1 }; /* above --rt-prio's roles */
  tr->sched_fifo = sched_setscheduler(0, SCHED_FIFO, &sp) == 0;
  if (setsockopt(sock, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0)
    return -errno;
  if ((r.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0)
    return -errno;
  for (;;) {
    int64_t now = ab_now_ns();
    if (r.running && r.duration && (int64_t)r.next * r.period >= r.duration)
      r.running = 0;
    if (r.running && now >= r.t_start + (int64_t)r.next * r.period) {
      ab__send_state(&r);
      continue;
    }
    int rc = ab__drain(&r);
    if (rc < 0)
      return rc;
    ab__judge_until(&r, now);
    __atomic_store_n(&tr->judged_to, now, __ATOMIC_RELEASE);
    if (r.started && !r.running && r.judged == r.next)
      __atomic_store_n(&tr->done, 1, __ATOMIC_RELEASE);
    int64_t wake = ab__next_event(&r);
    struct itimerspec its = { .it_value = ab_ts(wake > 0 ? wake : 0) };
    timerfd_settime(r.tfd, TFD_TIMER_ABSTIME, &its, NULL);
    struct pollfd p[2] = { { .fd = sock, .events = POLLIN }, { .fd = r.tfd, .events = POLLIN } };
    if (poll(p, 2, -1) < 0 && errno != EINTR)
      return -errno;
    uint64_t ticks;
    if (p[1].revents & POLLIN && read(r.tfd, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
      return -errno;
  }
}
