/* The pool runtimes at work (pool.c has their design): the worker processes, which step the
 * tasks they are sent; the dispatcher thread, which sends them and takes their results; and
 * hybrid's I/O threads, which run the waits and .io the workers hand back. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pool.h"

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

void ab__worker(ab_run_t *run, ab__pool_t *p, int w, pid_t parent)
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

void *ab__dispatch(void *arg)
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

void *ab__io_thread(void *arg)
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
