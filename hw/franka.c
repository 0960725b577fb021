/* The robot device (hw.h, franka.h): ab_franka_ops, the owner's I/O and the supervisor's
 * results.
 *
 * prepare (supervisor) makes the shared truth (franka_impl.h), binds the robot's UDP socket
 * to an ephemeral port of 127.0.0.1 and forks the "franka-robot" helper (hw/franka_robot.c)
 * with that socket alone; the device's state block keeps the port, the pid and the truth's
 * address, plain data a forked owner can use. open (owner) connects a non-blocking UDP socket
 * to the port; start sends START with the run's t_start; close sends STOP. release
 * (supervisor) stops and reaps the robot and unmaps the truth. Call prepare from a thread that
 * lives as long as the run: the robot's PR_SET_PDEATHSIG follows the thread that forked it.
 *
 * The results are read from the truth's per-state log after the run, cut at the caller's
 * t_end by each state's deadline, so that a state the run's end cut short is nobody's fault.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "franka.h"
#include "franka_impl.h"
#include "helper.h"
#include "shm.h"
#include "stats.h"

#define AB__FK_STOP_GRACE_MS 1000
#define AB__FK_WAIT_MIN_NS (200 * AB_NS_PER_MS)
#define AB__FK_WAIT_AHEAD_NS AB_NS_PER_S /* a t_end further ahead is waited for as if this */

typedef struct ab__franka_state {
  ab__fk_truth_t *truth; /* NULL: not prepared */
  pid_t robot_pid;       /* 0: none running */
  uint16_t port;         /* the robot's, host order */
} ab__franka_state_t;

struct ab_franka {
  int fd;
};

static struct sockaddr_in ab__loopback(uint16_t port)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/* ---- supervisor side --------------------------------------------------------------- */

typedef struct { int sock; ab__fk_truth_t *truth; } ab__robot_arg_t;

static int ab__robot_main(void *arg)
{
  const ab__robot_arg_t *a = arg;
  return ab__fk_robot_run(a->sock, a->truth);
}

static int ab__franka_prepare(void *state, const ab_dev_opts_t *o, char *err)
{
  ab__franka_state_t *st = state;
  int rc;
  ab__fk_truth_t *tr = ab_shm_alloc(sizeof *tr, 1);
  if (!tr) {
    rc = -(errno ? errno : ENOMEM);
    return ab_dev_fail(err, rc, "mock robot: %zu bytes of shared memory for its log: %s", sizeof *tr,
                       strerror(-rc));
  }
  tr->period_ns = AB_FRANKA_DEFAULT_PERIOD_NS;
  tr->reflex_after = AB_FRANKA_DEFAULT_REFLEX_AFTER;
  tr->reflex_reset_ns = AB_FRANKA_DEFAULT_REFLEX_RESET_NS;
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) {
    rc = -errno;
    ab_dev_fail(err, rc, "mock robot: UDP socket: %s", strerror(-rc));
    goto free_truth;
  }
  struct sockaddr_in a = ab__loopback(0);
  socklen_t len = sizeof a;
  if (bind(sock, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(sock, (struct sockaddr *)&a, &len) < 0) {
    rc = -errno;
    ab_dev_fail(err, rc, "mock robot: binding a UDP port on 127.0.0.1: %s", strerror(-rc));
    goto close_sock;
  }
  ab__robot_arg_t arg = { sock, tr };
  pid_t pid = ab_helper_start("franka-robot", ab__robot_main, &arg, &sock, 1);
  if (pid < 0) {
    rc = (int)pid;
    ab_dev_fail(err, rc, "mock robot: fork: %s", strerror(-rc));
    goto close_sock;
  }
  close(sock); /* the robot's now */
  st->truth = tr;
  st->robot_pid = pid;
  st->port = ntohs(a.sin_port);
  return 0;

close_sock:
  close(sock);
free_truth:
  ab_shm_free(tr, sizeof *tr, 1);
  return rc;
}

static void ab__franka_release(void *state)
{
  ab__franka_state_t *st = state;
  pid_t pid = st->robot_pid;
  st->robot_pid = 0;
  ab_helper_stop(pid, AB__FK_STOP_GRACE_MS);
  if (st->truth)
    ab_shm_free(st->truth, sizeof *st->truth, 1);
  st->truth = NULL;
}

static const char *ab__franka_backend(const void *state)
{
  return "mock-udp";
}

int ab_franka_config(void *state, int64_t period_ns, int64_t duration_ns, int reflex_after,
                     int64_t reflex_reset_ns)
{
  ab__fk_truth_t *tr = ((ab__franka_state_t *)state)->truth;
  if (!tr || period_ns < 10 * AB_NS_PER_US || period_ns > AB_NS_PER_S || duration_ns < 0 ||
      duration_ns > 86400 * AB_NS_PER_S || reflex_after < 1 || reflex_after > 1000000000 ||
      reflex_reset_ns < 0 || reflex_reset_ns > 60 * AB_NS_PER_S)
    return -EINVAL;
  tr->period_ns = period_ns;
  tr->duration_ns = duration_ns;
  tr->reflex_after = reflex_after;
  tr->reflex_reset_ns = reflex_reset_ns;
  return 0;
}

/* ---- owner side -------------------------------------------------------------------- */

static int ab__franka_open(void *state, void **handle, char *err)
{
  const ab__franka_state_t *st = state;
  if (!st->truth)
    return ab_dev_fail(err, -EINVAL, "robot: open before a successful prepare");
  ab_franka_t *f = calloc(1, sizeof *f);
  if (!f)
    return ab_dev_fail(err, -ENOMEM, "robot: out of memory");
  int rc;
  f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (f->fd < 0) {
    rc = -errno;
    ab_dev_fail(err, rc, "mock robot: UDP socket: %s", strerror(-rc));
    goto free_handle;
  }
  struct sockaddr_in a = ab__loopback(st->port);
  if (connect(f->fd, (struct sockaddr *)&a, sizeof a) < 0) {
    rc = -errno;
    ab_dev_fail(err, rc, "mock robot: connecting to 127.0.0.1:%u: %s", st->port, strerror(-rc));
    goto close_fd;
  }
  *handle = f;
  return 0;

close_fd:
  close(f->fd);
free_handle:
  free(f);
  return rc;
}

static int ab__franka_fd(void *handle)
{
  return ((ab_franka_t *)handle)->fd;
}

static int ab__send(ab_franka_t *f, const uint8_t *buf, size_t n)
{
  while (send(f->fd, buf, n, 0) < 0)
    if (errno != EINTR)
      return -errno;
  return 0;
}

static void ab__franka_start(void *handle, int64_t t_start)
{
  uint8_t buf[AB_FK_MAX_LEN];
  ab__send(handle, buf, ab_fk_encode_start(buf, t_start));
}

static void ab__franka_close(void *handle)
{
  ab_franka_t *f = handle;
  if (!f)
    return;
  uint8_t buf[AB_FK_MAX_LEN];
  ab__send(f, buf, ab_fk_encode_stop(buf));
  close(f->fd);
  free(f);
}

int ab_franka_recv_state_h(void *h, ab_franka_state_t *s)
{
  ab_franka_t *f = h;
  for (;;) {
    uint8_t buf[AB_FK_MAX_LEN + 1]; /* one byte more: an oversized datagram fails the size check */
    ssize_t n = recv(f->fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return errno == EAGAIN ? 0 : -errno;
    }
    ab_fk_msg_t m;
    if (ab_fk_decode(buf, (size_t)n, &m) == AB_FK_STATE) {
      *s = m.state;
      return 1;
    }
  }
}

int ab_franka_send_cmd_h(void *h, uint64_t seq, const double tau[AB_FK_JOINTS])
{
  uint8_t buf[AB_FK_MAX_LEN];
  return ab__send(h, buf, ab_fk_encode_cmd(buf, seq, tau));
}

/* ---- results (supervisor, after the run) ------------------------------------------- */

/* How many logged states have their deadline at or before t_end (send times only grow). */
static size_t ab__window(const ab__fk_truth_t *tr, int64_t t_end)
{
  uint64_t sent = __atomic_load_n(&tr->sent, __ATOMIC_ACQUIRE);
  size_t n = sent < AB_FRANKA_LOG_STATES ? (size_t)sent : AB_FRANKA_LOG_STATES;
  size_t k = 0;
  while (k < n && tr->log[k].t_sent + tr->period <= t_end)
    k++;
  return k;
}

/* Wait for the robot to judge every state due by t_end: 0, or -ETIMEDOUT. */
static int ab__wait_judged(const ab__fk_truth_t *tr, int64_t t_end)
{
  int64_t now = ab_now_ns(), from = now;
  if (t_end > now)
    from = t_end - now < AB__FK_WAIT_AHEAD_NS ? t_end : now + AB__FK_WAIT_AHEAD_NS;
  int64_t limit = from + (3 * tr->period > AB__FK_WAIT_MIN_NS ? 3 * tr->period : AB__FK_WAIT_MIN_NS);
  while (!__atomic_load_n(&tr->done, __ATOMIC_ACQUIRE) &&
         __atomic_load_n(&tr->judged_to, __ATOMIC_ACQUIRE) < t_end) {
    if (ab_now_ns() >= limit)
      return -ETIMEDOUT;
    struct timespec ts = ab_ts(AB_NS_PER_MS / 2);
    nanosleep(&ts, NULL);
  }
  return 0;
}

static void ab__add_over(const ab__fk_truth_t *tr, ab_franka_stats_t *o)
{
  const ab__fk_counts_t *c = &tr->over;
  o->log_full = 1;
  o->states += __atomic_load_n(&c->states, __ATOMIC_RELAXED);
  o->on_time += __atomic_load_n(&c->on_time, __ATOMIC_RELAXED);
  o->late += __atomic_load_n(&c->late, __ATOMIC_RELAXED);
  o->missed += __atomic_load_n(&c->missed, __ATOMIC_RELAXED);
  o->in_reflex += __atomic_load_n(&c->in_reflex, __ATOMIC_RELAXED);
  o->reflexes += __atomic_load_n(&c->reflexes, __ATOMIC_RELAXED);
  o->refused += __atomic_load_n(&c->refused, __ATOMIC_RELAXED);
}

int ab_franka_stats(const void *state, int64_t t_end, ab_franka_stats_t *out)
{
  const ab__fk_truth_t *tr = ((const ab__franka_state_t *)state)->truth;
  memset(out, 0, sizeof *out);
  if (!tr)
    return -EINVAL;
  if (!__atomic_load_n(&tr->t_start, __ATOMIC_ACQUIRE))
    return 0; /* never started: nothing was due */
  int rc = ab__wait_judged(tr, t_end);
  size_t n = ab__window(tr, t_end), nr = 0;
  int64_t *resp = malloc((n ? n : 1) * sizeof *resp), *late = malloc((n ? n : 1) * sizeof *late);
  if (!resp || !late) {
    free(resp);
    free(late);
    return -ENOMEM;
  }
  for (size_t k = 0; k < n; k++) {
    const ab__fk_entry_t *e = &tr->log[k];
    uint32_t f = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
    int64_t t_resp = __atomic_load_n(&e->t_resp, __ATOMIC_RELAXED);
    late[k] = e->t_sent - (tr->t_start + (int64_t)k * tr->period);
    out->states++;
    out->refused += __atomic_load_n(&e->refused, __ATOMIC_RELAXED);
    if (!(f & AB__FK_JUDGED)) {
      out->unjudged++;
      continue;
    }
    out->on_time += !!(f & AB__FK_ON_TIME);
    out->late += !!(f & AB__FK_LATE);
    out->missed += !!(f & AB__FK_MISSED);
    out->in_reflex += !!(f & AB__FK_IN_REFLEX);
    out->reflexes += !!(f & AB__FK_REFLEX);
    if (f & (AB__FK_ON_TIME | AB__FK_LATE))
      resp[nr++] = t_resp - e->t_sent;
  }
  if (__atomic_load_n(&tr->sent, __ATOMIC_ACQUIRE) > AB_FRANKA_LOG_STATES)
    ab__add_over(tr, out);
  out->violations = out->late + out->missed;
  out->bad = __atomic_load_n(&tr->bad, __ATOMIC_RELAXED);
  out->duplicate = __atomic_load_n(&tr->duplicate, __ATOMIC_RELAXED);
  out->sched_fifo = __atomic_load_n(&tr->sched_fifo, __ATOMIC_RELAXED);
  out->resp_p50 = ab_exact_quantile(resp, nr, 0.5);
  out->resp_p99 = ab_exact_quantile(resp, nr, 0.99);
  out->resp_p999 = ab_exact_quantile(resp, nr, 0.999);
  out->resp_max = ab_exact_quantile(resp, nr, 1);
  out->send_late_p99 = ab_exact_quantile(late, n, 0.99);
  out->send_late_max = out->log_full ? __atomic_load_n(&tr->send_late_max, __ATOMIC_RELAXED)
                                     : ab_exact_quantile(late, n, 1);
  free(resp);
  free(late);
  return rc;
}

int ab_franka_response_times(const void *state, int64_t t_end, void (*fn)(void *arg, int64_t ns), void *arg)
{
  const ab__fk_truth_t *tr = ((const ab__franka_state_t *)state)->truth;
  if (!tr)
    return -EINVAL;
  size_t n = __atomic_load_n(&tr->t_start, __ATOMIC_ACQUIRE) ? ab__window(tr, t_end) : 0;
  int calls = 0;
  for (size_t k = 0; k < n; k++) {
    const ab__fk_entry_t *e = &tr->log[k];
    if (__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) & (AB__FK_ON_TIME | AB__FK_LATE)) {
      fn(arg, __atomic_load_n(&e->t_resp, __ATOMIC_RELAXED) - e->t_sent);
      calls++;
    }
  }
  return calls;
}

const ab_devops_t ab_franka_ops = {
  .kind = "franka",
  .option = "--robot",
  .path_off = offsetof(ab_dev_opts_t, robot),
  .mock_only = "no real robot backend (libfranka is not packaged for Debian)",
  .state_size = sizeof(ab__franka_state_t),
  .prepare = ab__franka_prepare,
  .release = ab__franka_release,
  .backend = ab__franka_backend,
  .open = ab__franka_open,
  .fd = ab__franka_fd,
  .start = ab__franka_start,
  .close = ab__franka_close,
};
