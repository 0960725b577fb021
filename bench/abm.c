/* The link driver and the helpers of abm.h: registration of a primitive in every arch and
 * mode, the peer (thread or process), the measured loop, the histogram counters.
 *
 * One run of a link benchmark: map the control block and buffers, set the primitive up,
 * start the peer, do one untimed exchange (the peer is now waiting, its buffers are
 * touched), then the timed loop; then stop: set ctl->stop and send one more message (the
 * kick) so a peer blocked in its receive wakes, sees stop and leaves; reap it; report.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "abm.h"
#include "shm.h"
#include "stats.h"

const int64_t abm_sizes[] = { 8, 64, 1024, 65536, 1048576, ABM_FRAME };
const int abm_nsizes = (int)(sizeof abm_sizes / sizeof abm_sizes[0]);

#define ABM_JOIN_NS (2 * AB_NS_PER_S)
#define ABM_MAX_CASES 256

typedef struct abm_case {
  const abm_link_def_t *def;
  int procs, mode;
  int paced; /* its second argument is the interval in us */
  char name[96]; /* the family: <primitive>/<arch>/<mode> */
} abm_case_t;

enum abm_pin abm_pin = ABM_PIN_NONE;
int abm_pin_peer_cpu = -1;
int64_t abm_interval_us;

static abm_case_t cases[ABM_MAX_CASES];
static int ncases;

/* ---- small helpers ------------------------------------------------------------------------ */

void abm_touch(void *p, size_t n)
{
  for (size_t i = 0; i < n; i += 4096)
    ((volatile char *)p)[i] = 0;
  if (n)
    ((volatile char *)p)[n - 1] = 0;
}

void *abm_alloc(size_t n)
{
  void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  abm_touch(p, n);
  return p;
}

void abm_free(void *p, size_t n)
{
  if (p)
    munmap(p, n ? n : 1);
}

void abm_report_hist(ab_gb_state_t *st, const ab_hist_t *h)
{
  ab_summary_t s;
  if (!h->count)
    return;
  ab_summarize(h, &s);
  ab_gb_counter(st, "mean_ns", s.mean, AB_GB_DEFAULT);
  ab_gb_counter(st, "p50_ns", (double)s.p50, AB_GB_DEFAULT);
  ab_gb_counter(st, "p99_ns", (double)s.p99, AB_GB_DEFAULT);
  ab_gb_counter(st, "p999_ns", (double)s.p999, AB_GB_DEFAULT);
  ab_gb_counter(st, "max_ns", (double)s.max, AB_GB_DEFAULT);
}

void abm_skip(ab_gb_state_t *st, const char *what, int err)
{
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err < 0 ? -err : err));
  ab_gb_skip(st, msg);
}

int abm_pieces(abm_piece_fn op, void *ctx, int side, void *buf, size_t n, size_t piece)
{
  char *p = buf;
  do {
    size_t k = piece && n > piece ? piece : n;
    ssize_t r = op(ctx, side, p, k);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (r == 0 && k)
      return -EPIPE;
    if ((size_t)r > k)
      return -EPROTO;
    p += r;
    n -= (size_t)r;
  } while (n);
  return 0;
}

static ssize_t fd_write(void *fd, int side, char *p, size_t k)
{
  (void)side;
  return write(*(int *)fd, p, k);
}

static ssize_t fd_read(void *fd, int side, char *p, size_t k)
{
  (void)side;
  return read(*(int *)fd, p, k);
}

int abm_write_full(int fd, const void *buf, size_t n)
{
  return abm_pieces(fd_write, &fd, 0, (void *)buf, n, 0);
}

int abm_read_full(int fd, void *buf, size_t n)
{
  return abm_pieces(fd_read, &fd, 0, buf, n, 0);
}

/* ---- the peer ----------------------------------------------------------------------------- */

static void abm__pin_peer(void)
{
  if (abm_pin_peer_cpu < 0)
    return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(abm_pin_peer_cpu, &set);
  sched_setaffinity(0, sizeof set, &set); /* 0: the calling thread */
}

static void *abm__thread(void *arg)
{
  abm_peer_t *p = arg;
  pthread_setname_np(pthread_self(), p->name);
  abm__pin_peer();
  p->fn(p->arg);
  return NULL;
}

int abm_peer_start(abm_peer_t *p, int procs, const char *name, void (*fn)(void *), void *arg)
{
  memset(p, 0, sizeof *p);
  p->procs = procs;
  p->fn = fn;
  p->arg = arg;
  snprintf(p->name, sizeof p->name, "abm-%s", name);
  if (!procs) {
    int r = pthread_create(&p->th, NULL, abm__thread, p);
    if (r)
      return -r;
    p->running = 1;
    return 0;
  }
  pid_t parent = getpid();
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0)
    return -errno;
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(1);
    prctl(PR_SET_NAME, p->name);
    abm__pin_peer();
    fn(arg);
    _exit(0);
  }
  p->pid = pid;
  p->running = 1;
  return 0;
}

int abm_peer_join(abm_peer_t *p, int64_t timeout_ns)
{
  if (!p->running)
    return 0;
  p->running = 0;
  if (!p->procs) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = ts.tv_nsec + timeout_ns;
    ts.tv_sec += (time_t)(ns / AB_NS_PER_S);
    ts.tv_nsec = (long)(ns % AB_NS_PER_S);
    if (pthread_timedjoin_np(p->th, NULL, &ts) == 0)
      return 0;
    pthread_detach(p->th); /* stuck in its primitive: it cannot be killed alone */
    return -ETIMEDOUT;
  }
  int64_t end = ab_now_ns() + timeout_ns;
  int st;
  for (;;) {
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid || (r < 0 && errno != EINTR))
      return 0;
    if (ab_now_ns() >= end)
      break;
    usleep(200);
  }
  kill(p->pid, SIGKILL);
  while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
    ;
  return -ETIMEDOUT;
}

/* ---- the link driver ---------------------------------------------------------------------- */

typedef struct abm_run {
  abm_link_t *l;
  int mode;
  int64_t interval_ns; /* oneway: the peer's sleep before each ack, 0 for none */
  void *buf;    /* the peer's receive buffer */
  void *ack;
} abm_run_t;

/* The rt-tests' pacing (pmqtest's receiver calls clock_nanosleep(CLOCK_MONOTONIC, 0, ...),
 * ptsematest's nanosleep): a relative sleep after the stamp, so the cycle is the interval
 * plus the exchange and nothing is ever caught up. */
static void abm__pace(int64_t ns)
{
  struct timespec ts = { .tv_sec = (time_t)(ns / AB_NS_PER_S), .tv_nsec = (long)(ns % AB_NS_PER_S) };
  while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
    ;
}

static void abm__peer_main(void *arg)
{
  abm_run_t *r = arg;
  abm_link_t *l = r->l;
  abm_ctl_t *ctl = l->ctl;
  uint64_t recorded = 0;
  abm_touch(r->buf, l->bytes + ABM_SLACK);
  l->ops->enter(l, ABM_PEER);
  for (;;) {
    const void *data = r->buf;
    int e = l->ops->recv(l, ABM_PEER, r->buf, l->bytes, &data);
    int64_t t = ab_now_ns();
    if (__atomic_load_n(&ctl->stop, __ATOMIC_ACQUIRE))
      break;
    if (e == 0) {
      if (r->mode == ABM_ONEWAY) {
        ab_hist_record(&ctl->hist, t - __atomic_load_n(&ctl->t_sent, __ATOMIC_ACQUIRE));
        __atomic_store_n(&ctl->recorded, ++recorded, __ATOMIC_RELEASE);
        if (r->interval_ns)
          abm__pace(r->interval_ns);
        e = l->ops->send(l, ABM_PEER, r->ack, l->back);
      } else {
        e = l->ops->send(l, ABM_PEER, data, l->back);
      }
    }
    if (e < 0) {
      __atomic_store_n(&ctl->err, e, __ATOMIC_RELEASE);
      l->ops->send(l, ABM_PEER, r->ack, l->back); /* wake the bench side if it waits */
      break;
    }
  }
}

/* The link of case c for messages of `bytes`, its descriptors all unused. */
static void abm__link_init(abm_link_t *l, const abm_case_t *c, size_t bytes)
{
  memset(l, 0, sizeof *l);
  l->ops = c->def->ops;
  l->cfg = c->def->cfg;
  l->procs = c->procs;
  l->bytes = bytes;
  l->back = c->mode == ABM_RTT ? bytes : bytes ? ABM_ACK : 0;
  for (int i = 0; i < 4; i++)
    l->fd[i] = -1;
}

/* The bench side of a link whose peer has started: one untimed exchange, then the timed
 * loop (rtt records each round trip in h; oneway leaves the recording to the peer). 0, or
 * the failure, already given to the benchmark as its skip reason. */
static int abm__exchange(ab_gb_state_t *st, abm_link_t *l, void *sbuf, void *rbuf, ab_hist_t *h,
                         int oneway, int64_t plant)
{
  size_t bytes = l->bytes;
  const void *data;
  int e;

  l->ops->enter(l, ABM_BENCH);

  /* One untimed exchange: the peer is up and waiting, every buffer is touched. */
  e = l->ops->send(l, ABM_BENCH, sbuf, bytes);
  if (e == 0)
    e = l->ops->recv(l, ABM_BENCH, rbuf, l->back, &data);
  if (e == 0)
    e = __atomic_load_n(&l->ctl->err, __ATOMIC_ACQUIRE);
  if (e < 0) {
    abm_skip(st, "first exchange", e);
    return e;
  }
  /* The peer recorded the first exchange before its ack, and touches the histogram again only
   * after our next send. The kernel's queues order both, but no checker can see that
   * (ThreadSanitizer): `recorded` (release, acquired here) and t_sent (release before each
   * send, acquired by the peer) say it in memory, at the cost of two plain moves. */
  (void)__atomic_load_n(&l->ctl->recorded, __ATOMIC_ACQUIRE);
  ab_hist_init(&l->ctl->hist);

  int64_t t_prev = ab_now_ns();
  while (ab_gb_loop(st)) {
    if (oneway)
      __atomic_store_n(&l->ctl->t_sent, ab_now_ns(), __ATOMIC_RELEASE);
    if (plant) /* after the stamp: inside a one-way message's latency too */
      abm_plant_spin(plant);
    if ((e = l->ops->send(l, ABM_BENCH, sbuf, bytes)) < 0)
      break;
    if ((e = l->ops->recv(l, ABM_BENCH, rbuf, l->back, &data)) < 0)
      break;
    if ((e = __atomic_load_n(&l->ctl->err, __ATOMIC_RELAXED)) < 0)
      break;
    if (!oneway) {
      int64_t t = ab_now_ns();
      ab_hist_record(h, t - t_prev);
      t_prev = t;
    }
  }
  if (e < 0)
    abm_skip(st, "exchange", e);
  return e;
}

/* Stop the peer (after a clean run the kick wakes it from its receive) and, when the run
 * and the stop were clean (e == 0), report the latencies and the bytes moved. */
static void abm__stop(ab_gb_state_t *st, abm_link_t *l, abm_peer_t *peer, const void *sbuf,
                      const ab_hist_t *h, int oneway, int64_t plant, int e)
{
  size_t bytes = l->bytes;

  __atomic_store_n(&l->ctl->stop, 1, __ATOMIC_RELEASE);
  if (e == 0)
    l->ops->send(l, ABM_BENCH, sbuf, bytes); /* the kick */
  if (abm_peer_join(peer, ABM_JOIN_NS) < 0 && e == 0) {
    ab_gb_skip(st, "the peer did not stop within 2 s");
    e = -ETIMEDOUT;
  }
  if (e == 0) {
    abm_report_hist(st, oneway ? &l->ctl->hist : h);
    if (plant)
      ab_gb_counter(st, "plant_ns", (double)plant, AB_GB_DEFAULT);
    ab_gb_bytes(st, ab_gb_iterations_done(st) * (int64_t)(bytes + (oneway ? 0 : l->back)));
  }
}

static void abm__link_bench(ab_gb_state_t *st, void *arg)
{
  const abm_case_t *c = arg;
  const abm_link_def_t *def = c->def;
  abm_link_t link, *l = &link;
  abm_run_t run = { .l = l, .mode = c->mode,
                    .interval_ns = c->paced ? ab_gb_get_range(st, 1) * 1000 : 0 };
  abm_peer_t peer;
  ab_hist_t *h = NULL;
  size_t bytes = (size_t)ab_gb_get_range(st, 0), room;
  int64_t plant = abm_plant_ns(c->name, (int64_t)bytes);
  void *sbuf = NULL, *rbuf = NULL;
  int oneway = c->mode == ABM_ONEWAY, e;

  abm__link_init(l, c, bytes);
  room = bytes + ABM_SLACK;
  if (def->polls && abm_pin == ABM_PIN_SAME) {
    ab_gb_skip(st, "the receiver polls: it needs a CPU of its own, and --pin=same shares one");
    return;
  }

  l->ctl = ab_shm_alloc(sizeof *l->ctl, 1);
  if (!l->ctl) {
    abm_skip(st, "control block", errno);
    return;
  }
  ab_hist_init(&l->ctl->hist);
  if (def->ops->shared_size && !(l->sh = ab_shm_alloc(def->ops->shared_size, 1))) {
    abm_skip(st, "shared state", errno);
    goto out_ctl;
  }
  h = ab_shm_alloc(sizeof *h, 0);
  sbuf = abm_alloc(room);
  rbuf = abm_alloc(room);
  run.ack = abm_alloc(ABM_ACK_ROOM);
  /* The peer's buffer: mapped here, touched by the peer itself (a process gets its own). */
  run.buf = mmap(NULL, room, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (!h || !sbuf || !rbuf || !run.ack || run.buf == MAP_FAILED) {
    if (run.buf == MAP_FAILED)
      run.buf = NULL;
    abm_skip(st, "buffers", errno);
    goto out_buf;
  }
  ab_hist_init(h);
  memset(sbuf, 0x5a, bytes);
  if ((e = l->ops->setup(l)) < 0) {
    abm_skip(st, "set-up", e);
    goto out_setup; /* teardown undoes a partial set-up */
  }
  if ((e = abm_peer_start(&peer, c->procs, def->name, abm__peer_main, &run)) < 0) {
    abm_skip(st, "peer", e);
    goto out_setup;
  }
  e = abm__exchange(st, l, sbuf, rbuf, h, oneway, plant);
  abm__stop(st, l, &peer, sbuf, h, oneway, plant, e);
out_setup:
  l->ops->teardown(l);
out_buf:
  abm_free(run.buf, room);
  abm_free(run.ack, ABM_ACK_ROOM);
  abm_free(rbuf, room);
  abm_free(sbuf, room);
  ab_shm_free(h, sizeof *h, 0);
  ab_shm_free(l->sh, def->ops->shared_size, 1);
out_ctl:
  ab_shm_free(l->ctl, sizeof *l->ctl, 1);
}

void abm_register_links(const abm_link_def_t *defs, int n)
{
  static const char *const arch[] = { "threads", "procs" }, *const mode[] = { "rtt", "oneway" };
  for (int i = 0; i < n; i++) {
    const abm_link_def_t *d = &defs[i];
    for (int a = 0; a < 2; a++) {
      for (int m = 0; m < 2; m++) {
        if (!(d->archs & ABM_ARCH(a)) || !(d->modes & ABM_MODE(m)))
          continue;
        if (ncases == ABM_MAX_CASES) {
          fprintf(stderr, "archbench-micro: more than %d link benchmarks\n", ABM_MAX_CASES);
          abort();
        }
        abm_case_t *c = &cases[ncases++];
        *c = (abm_case_t){ .def = d, .procs = a, .mode = m,
                           .paced = m == ABM_ONEWAY && abm_interval_us > 0 };
        snprintf(c->name, sizeof c->name, "%s/%s/%s", d->name, arch[a], mode[m]);
        ab_gb_bench_t *b = ab_gb_register(c->name, abm__link_bench, c);
        const int64_t *sz = d->sizes ? d->sizes : abm_sizes;
        int ns = d->sizes ? d->nsizes : abm_nsizes;
        for (int k = 0; k < ns; k++) {
          int64_t args[2] = { sz[k], abm_interval_us };
          ab_gb_args(b, args, c->paced ? 2 : 1);
          abm_plant_ns(c->name, sz[k]); /* marks the plants that name it */
        }
        if (c->paced)
          ab_gb_real_time(ab_gb_arg_names(b, (const char *const[]){ "", "interval_us" }, 2));
      }
    }
  }
}
