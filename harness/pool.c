/* The pool runtimes (runtime_pool.c, runtime_hybrid.c): Python's multiprocessing.Pool, and
 * the document's hybrid of a process pool beside a thread pool.
 *
 *  - A pooled role (a continuous role flagged AB_ROLE_CPU) has no thread of its own: each of
 *    its steps is a task. A dispatcher thread in the supervisor's process keeps one task in
 *    flight per instance, first come first served, and hands each to an idle worker process
 *    (W of them, --param workers, the CPU count by default) over a socket of its own.
 *  - The instance's portable state (ab_state) travels with the task by copy and comes back
 *    with its result, as a Python pool pickles an agent both ways; the dispatcher keeps the
 *    master copy. What init put in ab_priv is read-only afterwards: each worker has the copy
 *    made when it was forked (after every pooled instance's init, so it holds their
 *    descriptors too).
 *  - pool: a step that waits (ab_step_wait_fd) waits in its worker, then runs .io there: the
 *    worker is blocked meanwhile, as a pool worker blocked in a socket read.
 *    hybrid: the wait and .io go to a pool of AB_POOL_IO_THREADS threads in the supervisor's
 *    process, and the worker takes the next task at once.
 *  - Every other role is a thread of its own in the supervisor's process, as under threads.
 *  - <role>.transfer_ns: each task's round trip as the dispatcher sees it (state copied out,
 *    sent, received, copied back) minus the work the worker did on it: what the pool adds
 *    to a step. <role>.queue_ns: how long the instance waited for a free worker before it
 *    (from its previous task's return, or the window's start, or its I/O's end).
 *  - Costs: a pooled instance is charged its tasks' CPU (and hybrid, its I/O jobs'), from the
 *    thread CPU clock; the runtime, the dispatcher and the I/O threads outside their jobs and
 *    the workers outside their tasks; the total, the supervisor's process and the workers'.
 *  - The GIL model: one per process, as ever. The supervisor's process holds the dispatcher,
 *    the I/O threads and the other roles' threads (its GIL is contended there); each worker
 *    is one thread with a GIL of its own.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "shm.h"

/* A task and its result share one layout: this header, then the instance's state. */
typedef struct ab__task {
  int32_t slot;
  int32_t wait_fd;                /* result, hybrid: the step waits on this fd; -1: done */
  int32_t stepped;                /* result: the step ran (0: the window had closed) */
  int32_t pad;
  int64_t t_sent;                 /* dispatcher: when it began copying the state out */
  int64_t t_got, t_done;          /* worker: the task's work began and ended */
} ab__task_t;

typedef struct ab__wshared {      /* each worker's own account, written before it exits */
  ab_res_t self;                  /* its process over the window (CPU exact, not split) */
  ab_res_t tasks;                 /* ... of which inside tasks (charged to the instances) */
  double ru_user_s, ru_sys_s;     /* the kernel's split of it */
} ab__wshared_t;

typedef struct ab__fifo {         /* pooled slots, at most one entry each */
  int *q;
  int head, n, cap;
} ab__fifo_t;

typedef struct ab__pool {
  int hybrid;                     /* an I/O thread pool runs the waits */
  int nw;
  pid_t *pid;                     /* [nw] the workers; 0: never forked */
  int *fd;                        /* [nw] the dispatcher's end; the worker's is wfd */
  int *wfd;
  int *busy;                      /* [nw] the slot in flight there, or -1 */
  int64_t *t_ready;               /* [nslots] when the slot joined the ready queue */
  int *reaped, *wstatus;
  ab__wshared_t *ws;              /* [nw], shared memory */
  ab_ctx_t *ctx;                  /* [nslots] the supervisor's side of every instance */
  int *prepared;                  /* [nslots] a pooled instance whose init ran (fini owed) */
  pthread_t *thr;                 /* [nslots] threads of the roles that are not pooled */
  int *thr_started;
  pthread_t disp, io[AB_POOL_IO_THREADS];
  int disp_started, nio;
  size_t msg_max;
  pthread_mutex_t mu;             /* ready, ioq, io_quit */
  pthread_cond_t io_cond;
  ab__fifo_t ready, ioq;
  int io_quit;
  int efd;                        /* the I/O threads hand a slot back: wakes the dispatcher */
  ab_res_t own;                   /* the runtime's own threads, outside every job */
  int mu_made;
} ab__pool_t;

/* run->rt_state holds a pointer to it (made by start, freed by join). */
static ab__pool_t *ab__pool(const ab_run_t *run) { return *(ab__pool_t **)run->rt_state; }

static void ab__fifo_push(ab__fifo_t *f, int slot) { f->q[(f->head + f->n++) % f->cap] = slot; }

/* An instance is ready for its next task (under mu). */
static void ab__ready(ab__pool_t *p, int slot)
{
  p->t_ready[slot] = ab_now_ns();
  ab__fifo_push(&p->ready, slot);
}

static int ab__fifo_pop(ab__fifo_t *f)
{
  if (!f->n)
    return -1;
  int s = f->q[f->head];
  f->head = (f->head + 1) % f->cap;
  f->n--;
  return s;
}

static int ab__pooled_slot(const ab_run_t *run, int s) { return ab__role_pooled(run, run->slot_role[s]); }

/* Until the barrier is released (or the run stopped), as a role waits at it. */
static void ab__wait_go(ab_run_t *run)
{
  ab__block_run(run, 1);
  while (!__atomic_load_n(&run->ctl->go, __ATOMIC_ACQUIRE) && !ab_stopped(run))
    ab_futex_wait(&run->ctl->go, 0, 100 * AB_NS_PER_MS, run->shared);
  ab__block_run(run, 0);
}

static void ab__res_lock_add(ab__pool_t *p, const ab_res_t *r)
{
  pthread_mutex_lock(&p->mu);
  ab__res_add(&p->own, r);
  pthread_mutex_unlock(&p->mu);
}

/* ---- a worker process ------------------------------------------------------------------------ */

static ssize_t ab__recv_msg(int fd, void *buf, size_t len)
{
  ssize_t n;
  while ((n = recv(fd, buf, len, 0)) < 0 && errno == EINTR)
    ;
  return n;
}

/* One task: the instance's step on the copy of its state that came with it; under pool its
 * wait and .io too. */
static void ab__work(ab_run_t *run, ab__pool_t *p, ab__task_t *t, ab__wshared_t *acc)
{
  ab_ctx_t *ctx = &p->ctx[t->slot];
  ab__mark_t m;
  ab__mark(&m);
  t->t_got = ab_now_ns();
  ctx->state = t + 1;
  ctx->waiting_dev = 0;
  t->stepped = ab__role_continue(ctx);
  t->wait_fd = -1;
  if (ctx->waiting_dev && p->hybrid) { /* the wait and .io are the I/O pool's */
    t->wait_fd = ab__wait_fd(ctx);
    ctx->waiting_dev = 0;
  } else if (ctx->waiting_dev) {
    ab__role_wait_dev(ctx);
  }
  ab_res_t r = { 0 };
  ab__charge(&r, &m);
  ab__res_add(&run->slots[t->slot].res, &r);
  run->slots[t->slot].res.valid = 1;
  ab__res_add(&acc->tasks, &r);
  t->t_done = ab_now_ns();
}

static void ab__worker(ab_run_t *run, ab__pool_t *p, int w, pid_t parent)
{
  ab__child_enter(parent);
  for (int k = 0; k < p->nw; k++) { /* only its own end: a dead peer's EOF must show */
    if (p->fd[k] >= 0)
      close(p->fd[k]);
    if (k != w && p->wfd[k] >= 0)
      close(p->wfd[k]);
  }
  char name[24];
  snprintf(name, sizeof name, "pool-%d", w);
  ab__name_self(name, 1);
  ab__apply_sched(run, 0);
  ab__wait_go(run);
  ab__wshared_t acc = { 0 };
  ab_res_t ru; /* one thread: its CPU clock is the process's, exact */
  ab__mark_t all;
  ab__res_begin(&ru, RUSAGE_SELF);
  ab__mark(&all);
  ab__task_t *t = malloc(p->msg_max);
  for (ssize_t n; t;) {
    ab__block_run(run, 1); /* waiting for work: the GIL is free meanwhile */
    n = ab__recv_msg(p->wfd[w], t, p->msg_max);
    ab__block_run(run, 0);
    if (n < (ssize_t)sizeof *t || t->slot < 0 || t->slot >= run->nslots)
      break; /* EOF: the pool is closing */
    ab__work(run, p, t, &acc);
    if (send(p->wfd[w], t, (size_t)n, MSG_NOSIGNAL) != n)
      break;
  }
  ab__block_run(run, 1);
  ab__res_end(&ru, RUSAGE_SELF);
  ab__charge(&acc.self, &all);
  acc.self.maxrss_kb = ru.maxrss_kb;
  acc.self.pid = ru.pid;
  acc.self.valid = 1;
  acc.ru_user_s = ru.cpu_user_s, acc.ru_sys_s = ru.cpu_sys_s;
  p->ws[w] = acc;
  _exit(t ? 0 : 3);
}

/* ---- the dispatcher ---------------------------------------------------------------------------- */

/* A worker whose socket failed takes no more tasks. */
static void ab__lose_worker(ab__pool_t *p, int w)
{
  close(p->fd[w]);
  p->fd[w] = -1;
  p->busy[w] = -1;
}

static void ab__send_task(ab_run_t *run, ab__pool_t *p, int w, int slot, ab__task_t *t)
{
  ab_ctx_t *ctx = &p->ctx[slot];
  size_t st = run->state_size[ctx->role];
  memset(t, 0, sizeof *t);
  t->slot = slot;
  t->t_sent = ab_now_ns();
  if (st)
    memcpy(t + 1, ctx->state, st);
  if (send(p->fd[w], t, sizeof *t + st, MSG_NOSIGNAL) != (ssize_t)(sizeof *t + st)) {
    ab__lose_worker(p, w); /* dead: its death fails the run (check); the slot waits on */
    pthread_mutex_lock(&p->mu);
    ab__ready(p, slot);
    pthread_mutex_unlock(&p->mu);
    return;
  }
  p->busy[w] = slot;
  int64_t since = p->t_ready[slot] > run->ctl->t_start ? p->t_ready[slot] : run->ctl->t_start;
  ab__rec(ctx, run->mt_queue[ctx->role], t->t_sent - since);
}

/* A task came back: its state is the master copy again; then the instance waits for its
 * I/O (hybrid) or for a worker. Returns 1 if the worker is free again. */
static int ab__take_result(ab_run_t *run, ab__pool_t *p, int w, ab__task_t *t)
{
  ssize_t n = ab__recv_msg(p->fd[w], t, p->msg_max);
  int slot = p->busy[w];
  if (n <= 0 || slot < 0) {
    ab__lose_worker(p, w); /* it died: check() says so and fails the run */
    return 0;
  }
  ab_ctx_t *ctx = &p->ctx[slot];
  size_t st = run->state_size[ctx->role];
  if (n != (ssize_t)(sizeof *t + st) || t->slot != slot) {
    ab_fail(ctx, "pool: worker %d answered %zd bytes for slot %d, expected %zu for slot %d", w, n, t->slot,
            sizeof *t + st, slot);
    p->busy[w] = -1;
    return 1;
  }
  if (st)
    memcpy(ctx->state, t + 1, st);
  int64_t now = ab_now_ns(), rt = (now - t->t_sent) - (t->t_done - t->t_got);
  if (t->stepped)
    ab__rec(ctx, run->mt_transfer[ctx->role], rt > 0 ? rt : 0);
  p->busy[w] = -1;
  pthread_mutex_lock(&p->mu);
  if (t->wait_fd >= 0) {
    ctx->waiting_dev = 1;
    ctx->wait_fd = t->wait_fd;
    ab__fifo_push(&p->ioq, slot);
    pthread_cond_signal(&p->io_cond);
  } else {
    ab__ready(p, slot);
  }
  pthread_mutex_unlock(&p->mu);
  return 1;
}

static int ab__pending_io(ab__pool_t *p)
{
  pthread_mutex_lock(&p->mu);
  int n = p->ioq.n;
  pthread_mutex_unlock(&p->mu);
  return n;
}

/* A thread of the runtime's own: named, past the barrier, its CPU from here on its account
 * (ab__own_end, less its jobs: the roles'). */
static ab__pool_t *ab__own_begin(ab_run_t *run, const char *name, ab__mark_t *m)
{
  ab__name_self(name, 0);
  ab__wait_go(run);
  ab__mark(m);
  return ab__pool(run);
}

static void ab__own_end(ab__pool_t *p, const ab__mark_t *m, const ab_res_t *jobs)
{
  ab_res_t r = { 0 };
  ab__charge(&r, m);
  r.cpu_user_s -= jobs->cpu_user_s, r.ctx_vol -= jobs->ctx_vol, r.ctx_invol -= jobs->ctx_invol;
  ab__res_lock_add(p, &r);
}

static void *ab__dispatch(void *arg)
{
  ab_run_t *run = arg;
  ab__mark_t m;
  ab__pool_t *p = ab__own_begin(run, "pool", &m);
  ab__task_t *t = malloc(p->msg_max);
  struct pollfd *pf = calloc((size_t)p->nw + 1, sizeof *pf);
  if (!t || !pf) {
    ab_fail(&p->ctx[0], "pool: out of memory for the dispatcher");
    goto out;
  }
  ab__block_run(run, 1);
  struct timespec ts = ab_ts(run->ctl->t_start);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
    ;
  ab__block_run(run, 0);
  int64_t t_stop = 0;
  for (;;) {
    int64_t now = ab_now_ns();
    int open = !ab_stopped(run) && now < run->ctl->t_end, inflight = 0;
    for (int w = 0; w < p->nw; w++) {
      if (open && p->busy[w] < 0 && p->fd[w] >= 0) {
        pthread_mutex_lock(&p->mu);
        int slot = ab__fifo_pop(&p->ready);
        pthread_mutex_unlock(&p->mu);
        if (slot >= 0)
          ab__send_task(run, p, w, slot, t);
      }
      inflight += p->busy[w] >= 0;
    }
    if (!open && !inflight && (ab_stopped(run) || !ab__pending_io(p)))
      break;
    if (ab_stopped(run) && !t_stop)
      t_stop = now;
    if (t_stop && now - t_stop > 2 * AB_NS_PER_S)
      break; /* a task that does not come back is the join's to kill */
    for (int w = 0; w < p->nw; w++)
      pf[w] = (struct pollfd){ .fd = p->busy[w] >= 0 ? p->fd[w] : -1, .events = POLLIN };
    pf[p->nw] = (struct pollfd){ .fd = p->efd, .events = POLLIN };
    int64_t left = open ? run->ctl->t_end - now : run->slice_ns;
    int ms = (int)((left < run->slice_ns ? left : run->slice_ns) / AB_NS_PER_MS) + 1;
    ab__block_run(run, 1);
    int n = poll(pf, (nfds_t)p->nw + 1, ms);
    ab__block_run(run, 0);
    for (int w = 0; n > 0 && w < p->nw; w++)
      if (pf[w].revents)
        ab__take_result(run, p, w, t);
    uint64_t v;
    if (n > 0 && pf[p->nw].revents && read(p->efd, &v, sizeof v) < 0 && errno != EAGAIN)
      break;
  }
out:
  free(t), free(pf);
  ab__own_end(p, &m, &(ab_res_t){ 0 });
  ab__block_run(run, 1);
  return NULL;
}

/* ---- hybrid: the I/O thread pool ------------------------------------------------------------- */

static void *ab__io_thread(void *arg)
{
  ab_run_t *run = arg;
  ab__mark_t all;
  ab__pool_t *p = ab__own_begin(run, "pool-io", &all);
  ab_res_t jobs = { 0 };
  for (;;) {
    ab__block_run(run, 1);
    pthread_mutex_lock(&p->mu);
    while (!p->ioq.n && !p->io_quit)
      pthread_cond_wait(&p->io_cond, &p->mu);
    int slot = ab__fifo_pop(&p->ioq);
    pthread_mutex_unlock(&p->mu);
    if (slot < 0)
      break;
    ab__block_run(run, 0);
    ab_ctx_t *ctx = &p->ctx[slot];
    ab__mark_t m;
    ab__mark(&m);
    ab__role_wait_dev(ctx);
    ab_res_t r = { 0 };
    ab__charge(&r, &m);
    ab__res_add(&run->slots[slot].res, &r);
    ab__res_add(&jobs, &r);
    pthread_mutex_lock(&p->mu);
    if (!ctx->waiting_dev) /* cut by the stop otherwise: it steps no more */
      ab__ready(p, slot);
    pthread_mutex_unlock(&p->mu);
    uint64_t one = 1;
    if (write(p->efd, &one, sizeof one) < 0 && errno != EAGAIN)
      break;
  }
  ab__own_end(p, &all, &jobs);
  return NULL;
}

/* ---- start, check, join -------------------------------------------------------------------------- */

static int ab__pool_alloc(ab_run_t *run, ab__pool_t *p)
{
  int n = run->nslots, nw = p->nw = run->workers;
  size_t st = 0;
  for (int r = 0; r < run->sc->nroles; r++)
    st = run->state_size[r] > st ? run->state_size[r] : st;
  p->msg_max = sizeof(ab__task_t) + st;
  p->pid = calloc(nw, sizeof *p->pid), p->fd = calloc(nw, sizeof *p->fd), p->wfd = calloc(nw, sizeof *p->wfd);
  p->busy = calloc(nw, sizeof *p->busy), p->reaped = calloc(nw, sizeof *p->reaped);
  p->wstatus = calloc(nw, sizeof *p->wstatus);
  p->ctx = calloc(n, sizeof *p->ctx), p->prepared = calloc(n, sizeof *p->prepared);
  p->t_ready = calloc(n, sizeof *p->t_ready);
  p->thr = calloc(n, sizeof *p->thr), p->thr_started = calloc(n, sizeof *p->thr_started);
  p->ready.q = calloc(n, sizeof(int)), p->ioq.q = calloc(n, sizeof(int));
  p->ready.cap = p->ioq.cap = n;
  run->rt_pids = calloc(nw, sizeof *run->rt_pids);
  p->ws = ab_shm_alloc(sizeof *p->ws * nw, 1);
  if (!p->pid || !p->fd || !p->wfd || !p->busy || !p->reaped || !p->wstatus || !p->ctx || !p->prepared || !p->t_ready || !p->thr ||
      !p->thr_started || !p->ready.q || !p->ioq.q || !run->rt_pids || !p->ws)
    return -ENOMEM;
  for (int w = 0; w < nw; w++)
    p->fd[w] = p->wfd[w] = -1, p->busy[w] = -1;
  p->efd = -1;
  if (pthread_mutex_init(&p->mu, NULL) || pthread_cond_init(&p->io_cond, NULL))
    return -ENOMEM;
  p->mu_made = 1;
  if ((p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
    return -errno;
  for (int s = 0; s < n; s++)
    ab__ctx_init(&p->ctx[s], run, s);
  return 0;
}

/* Fork the workers: before any thread of ours exists (a fork copies only its caller), after
 * every pooled instance's init (they inherit its descriptors). */
static int ab__pool_fork(ab_run_t *run, ab__pool_t *p)
{
  for (int w = 0; w < p->nw; w++) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
      return -errno;
    p->fd[w] = sv[0], p->wfd[w] = sv[1];
  }
  pid_t parent = getpid();
  for (int w = 0; w < p->nw; w++) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
      return -errno;
    if (pid == 0)
      ab__worker(run, p, w, parent);
    p->pid[w] = run->rt_pids[w] = pid;
    run->n_rt_pids = w + 1;
  }
  for (int w = 0; w < p->nw; w++)
    close(p->wfd[w]), p->wfd[w] = -1;
  return 0;
}

int ab__pool_start(ab_run_t *run)
{
  ab__pool_t *p = calloc(1, sizeof *p);
  if (!p)
    return -ENOMEM;
  *(ab__pool_t **)run->rt_state = p;
  p->hybrid = run->rt->io_threads > 0;
  int r = ab__pool_alloc(run, p);
  if (r < 0)
    return r;
  for (int s = 0; s < run->nslots; s++) {
    if (!ab__pooled_slot(run, s))
      continue;
    p->prepared[s] = 1;
    ab__role_prepare(&p->ctx[s], 0); /* a failure is the slot's init_err: the barrier says */
    ab__fifo_push(&p->ready, s); /* ready from the window's start */
    __atomic_add_fetch(&run->ctl->ready, 1, __ATOMIC_SEQ_CST);
  }
  if ((r = ab__pool_fork(run, p)) < 0)
    return r;
  if ((r = pthread_create(&p->disp, NULL, ab__dispatch, run)))
    return -r;
  p->disp_started = 1;
  for (; p->nio < run->rt->io_threads && p->nio < AB_POOL_IO_THREADS; p->nio++)
    if ((r = pthread_create(&p->io[p->nio], NULL, ab__io_thread, run)))
      return -r;
  for (int s = 0; s < run->nslots; s++) {
    if (ab__pooled_slot(run, s))
      continue;
    p->thr_started[s] = ab__role_thread_start(run, &p->thr[s], &p->ctx[s]);
  }
  return 0;
}

static void ab__describe_worker(char *msg, size_t len, int w, pid_t pid, int st)
{
  if (WIFSIGNALED(st))
    snprintf(msg, len, "pool worker %d (pid %d) died: killed by signal %d (%s)", w, (int)pid, WTERMSIG(st),
             strsignal(WTERMSIG(st)));
  else
    snprintf(msg, len, "pool worker %d (pid %d) exited with status %d before the end of the run", w, (int)pid,
             WEXITSTATUS(st));
}

int ab__pool_check(ab_run_t *run, char *msg, size_t len)
{
  ab__pool_t *p = ab__pool(run);
  for (int w = 0; p && p->pid && w < p->nw; w++) {
    if (!p->pid[w] || p->reaped[w] || waitpid(p->pid[w], &p->wstatus[w], WNOHANG) != p->pid[w])
      continue;
    p->reaped[w] = 1;
    if (!ab_stopped(run)) {
      ab__describe_worker(msg, len, w, p->pid[w], p->wstatus[w]);
      return 1;
    }
  }
  return 0;
}

/* A thread of ours, within the deadline; 0 if it never returned. */
static int ab__join_by(pthread_t t, int64_t deadline)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t left = deadline - ab_now_ns();
  left = left < 0 ? 0 : left;
  ts.tv_sec += left / AB_NS_PER_S;
  ts.tv_nsec += left % AB_NS_PER_S;
  if (ts.tv_nsec >= AB_NS_PER_S)
    ts.tv_sec++, ts.tv_nsec -= AB_NS_PER_S;
  if (pthread_timedjoin_np(t, NULL, &ts) == ETIMEDOUT) {
    pthread_detach(t);
    return 0;
  }
  return 1;
}

static void ab__reap_workers(ab_run_t *run, ab__pool_t *p)
{
  int64_t deadline = ab_now_ns() + 5 * AB_NS_PER_S;
  for (int w = 0; p->pid && w < p->nw; w++) {
    if (p->fd[w] >= 0)
      shutdown(p->fd[w], SHUT_RDWR); /* EOF: the worker writes its account and leaves */
  }
  for (int w = 0; p->pid && w < p->nw; w++) {
    while (p->pid[w] && !p->reaped[w]) {
      if (waitpid(p->pid[w], &p->wstatus[w], WNOHANG) == p->pid[w]) {
        p->reaped[w] = 1;
        if (WIFSIGNALED(p->wstatus[w]) && !run->error[0] && !run->interrupted) {
          ab__describe_worker(run->error, sizeof run->error, w, p->pid[w], p->wstatus[w]);
          run->status = AB_ST_FAILED;
        }
      } else if (ab_now_ns() > deadline) {
        if (!run->error[0])
          ab_run_fail(run, "pool worker %d (pid %d) did not stop within 5 s of the end of the run; killed", w,
                      (int)p->pid[w]);
        kill(p->pid[w], SIGKILL);
        waitpid(p->pid[w], &p->wstatus[w], 0);
        p->reaped[w] = 1;
      } else {
        struct timespec ts = { 0, 2 * AB_NS_PER_MS };
        nanosleep(&ts, NULL);
      }
    }
  }
}

static void ab__wedge_pooled(ab_run_t *run, const char *what)
{
  if (!run->error[0])
    ab_run_fail(run, "pool: the %s did not stop within 10 s of the end of the run", what);
  for (int s = 0; s < run->nslots; s++)
    if (ab__pooled_slot(run, s))
      run->slot_wedged[s] = 1;
}

int ab__pool_join(ab_run_t *run)
{
  ab__pool_t *p = ab__pool(run);
  if (!p)
    return 0;
  int64_t deadline = ab_now_ns() + 10 * AB_NS_PER_S;
  if (p->disp_started && !ab__join_by(p->disp, deadline))
    ab__wedge_pooled(run, "dispatcher");
  p->disp_started = 0;
  if (p->mu_made) {
    pthread_mutex_lock(&p->mu);
    p->io_quit = 1;
    pthread_cond_broadcast(&p->io_cond);
    pthread_mutex_unlock(&p->mu);
  }
  for (int k = 0; k < p->nio; k++)
    if (!ab__join_by(p->io[k], deadline))
      ab__wedge_pooled(run, "I/O thread pool");
  p->nio = 0;
  for (int s = 0; p->thr_started && s < run->nslots; s++) {
    if (!p->thr_started[s])
      continue;
    if (!ab__join_by(p->thr[s], deadline)) {
      char who[64];
      if (!run->error[0])
        ab_run_fail(run, "role %s did not stop within 10 s of the end of the run", ab__slot_name(run, s, who, sizeof who));
      run->slot_wedged[s] = 1;
    }
    p->thr_started[s] = 0;
  }
  ab__reap_workers(run, p);
  for (int s = 0; p->prepared && s < run->nslots; s++)
    if (p->prepared[s] && !run->slot_wedged[s]) {
      ab__role_finish(&p->ctx[s]);
      p->prepared[s] = 0;
    }
  /* The runtime's own work: its threads outside their jobs, the workers outside tasks;
   * and the workers' whole accounts, for the total. */
  ab_res_t *own = &run->ctl->res_runtime, *procs = &run->res_rt_procs;
  double ru_user = 0, ru_all = 0;
  *own = p->own;
  for (int w = 0; p->ws && w < p->nw; w++) {
    ab_res_t x = p->ws[w].self;
    ab__res_add(procs, &x);
    procs->maxrss_kb = x.maxrss_kb > procs->maxrss_kb ? x.maxrss_kb : procs->maxrss_kb;
    x.cpu_user_s -= p->ws[w].tasks.cpu_user_s;
    x.ctx_vol -= p->ws[w].tasks.ctx_vol;
    x.ctx_invol -= p->ws[w].tasks.ctx_invol;
    ab__res_add(own, &x);
    ru_user += p->ws[w].ru_user_s, ru_all += p->ws[w].ru_user_s + p->ws[w].ru_sys_s;
  }
  /* CPU is charged exactly, from thread clocks; the kernel's user:system split of the
   * workers applies to each part (per task it cannot tell) */
  double share = ru_all > 0 ? ru_user / ru_all : 1;
  ab__split(procs, share);
  ab__split(own, share);
  for (int s = 0; s < run->nslots; s++)
    if (ab__pooled_slot(run, s) && run->slots[s].res.valid)
      ab__split(&run->slots[s].res, share);
  own->valid = 1;
  if (ab_run_wedged(run))
    return 0; /* its threads may still read the contexts: the process ends soon */
  for (int w = 0; p->fd && w < p->nw; w++)
    if (p->fd[w] >= 0)
      close(p->fd[w]);
  if (p->efd >= 0)
    close(p->efd);
  if (p->mu_made)
    pthread_mutex_destroy(&p->mu), pthread_cond_destroy(&p->io_cond);
  if (p->ws)
    ab_shm_free(p->ws, sizeof *p->ws * p->nw, 1);
  free(p->ctx), free(p->prepared), free(p->t_ready), free(p->thr), free(p->thr_started), free(p->ready.q), free(p->ioq.q);
  free(p->fd), free(p->wfd), free(p->busy), free(p->pid), free(p->reaped), free(p->wstatus);
  free(p);
  *(ab__pool_t **)run->rt_state = NULL;
  return 0;
}
