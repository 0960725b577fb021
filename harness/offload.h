/* The loop runtime's offload variants (offload.c): the roles it runs off the loop. */
#ifndef AB_OFFLOAD_H
#define AB_OFFLOAD_H

#include <pthread.h>
#include <sys/types.h>

#include "internal.h"

typedef struct ab__offl {
  /* thread: a thread per offloaded slot */
  pthread_t *tid;
  ab_ctx_t *ctx;
  uint8_t *started;
  /* executor: a pool of workers over one offloaded slot's queue */
  struct ab__worker *workers;
  int nworkers, exec_slot;
  pthread_mutex_t take;
  int take_init;
  /* process: a child per offloaded slot */
  pid_t *pid;
  uint8_t *reaped;
  int *wstatus;
} ab__offl_t;

/* Start the offloaded roles (before the loop's thread: a child is forked from a process of
 * one thread). Each counts at the start barrier as its role. 0 or -errno. */
int ab__offload_start(ab_run_t *run, ab__offl_t *o);
/* Is an offloaded role's process gone before the stop? 1 and why in msg. */
int ab__offload_check(ab_run_t *run, ab__offl_t *o, char *msg, size_t len);
/* After the stop: wait for them (bounded), merge their figures and costs; frees o's. */
void ab__offload_join(ab_run_t *run, ab__offl_t *o);
/* The loop's side of the channels that cross to a child (its other ends closed). */
void ab__offload_attach(ab_run_t *run);

#endif
