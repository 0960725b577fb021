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
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pool.h"
#include "shm.h"

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
  if (p->disp_started && !ab__thread_join_by(p->disp, deadline))
    ab__wedge_pooled(run, "dispatcher");
  p->disp_started = 0;
  if (p->mu_made) {
    pthread_mutex_lock(&p->mu);
    p->io_quit = 1;
    pthread_cond_broadcast(&p->io_cond);
    pthread_mutex_unlock(&p->mu);
  }
  for (int k = 0; k < p->nio; k++)
    if (!ab__thread_join_by(p->io[k], deadline))
      ab__wedge_pooled(run, "I/O thread pool");
  p->nio = 0;
  for (int s = 0; p->thr_started && s < run->nslots; s++) {
    if (!p->thr_started[s])
      continue;
    ab__role_thread_join(run, p->thr[s], s, deadline);
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
