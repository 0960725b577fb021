/* The pool runtimes' own state, shared by pool.c (start, check, join) and pool_run.c (the
 * worker processes, the dispatcher, the I/O thread pool). Not for scenarios. */
#ifndef AB_POOL_H
#define AB_POOL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "internal.h"

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
static inline ab__pool_t *ab__pool(const ab_run_t *run) { return *(ab__pool_t **)run->rt_state; }

static inline void ab__fifo_push(ab__fifo_t *f, int slot) { f->q[(f->head + f->n++) % f->cap] = slot; }

static inline int ab__pooled_slot(const ab_run_t *run, int s) { return ab__role_pooled(run, run->slot_role[s]); }

/* pool_run.c: a worker process's life (never returns); the dispatcher's and an I/O
 * thread's (pthread start routines, arg: the run). */
void ab__worker(ab_run_t *run, ab__pool_t *p, int w, pid_t parent) __attribute__((noreturn));
void *ab__dispatch(void *arg);
void *ab__io_thread(void *arg);

#endif
