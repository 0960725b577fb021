/* A model of CPython's global interpreter lock: the "new GIL" of Python 3.2 and later
 * (Python/ceval_gil.c), so that a C run can answer the Python questions the source
 * documents ask. Not a plain mutex:
 *
 *  - a thread that wants the GIL waits on a condition variable for the switch interval; if
 *    it timed out and no switch happened meanwhile, it sets the drop request;
 *  - the holder drops the GIL at its next check point (the eval breaker: ab_gil_check, which
 *    ab_compute calls about every microsecond of work) and takes it again;
 *  - forced switching: a thread that drops on a request waits until another thread has
 *    taken the GIL, so it cannot take it straight back;
 *  - every blocking call drops the GIL for its duration and takes it again after. A thread
 *    coming back from a short I/O waits up to an interval behind a CPU-bound holder: the
 *    convoy effect.
 *
 * One GIL per process: the run holds one, which threads share and each process of a
 * process runtime has its own copy of (made before fork, never held there). A thread's hold
 * is thread-local, so one thread that runs many roles (the loop) holds it once.
 */
#ifndef AB_GIL_H
#define AB_GIL_H

#include <pthread.h>
#include <stdint.h>

typedef struct ab_gil {
  pthread_mutex_t mu;             /* the GIL's own state, and cond: "it was dropped" */
  pthread_cond_t cond;
  pthread_mutex_t switch_mu;      /* last_holder, and switch_cond: "another took it" */
  pthread_cond_t switch_cond;
  int locked;
  const void *last_holder;        /* the thread that took it last (its thread-local key) */
  uint64_t switch_number;         /* takes by a thread other than the last holder */
  uint32_t drop_request;          /* the eval breaker's bit */
  int64_t interval_ns;            /* the switch interval (sys.setswitchinterval) */
  const volatile uint32_t *stop;  /* once set, nobody waits: the run is over */
} ab_gil_t;

int ab_gil_init(ab_gil_t *g, int64_t interval_ns, const volatile uint32_t *stop);
void ab_gil_destroy(ab_gil_t *g);

/* Take the GIL for the calling thread; returns the ns it waited. Without it on return only
 * when the run stopped meanwhile. No-op (0) if this thread holds it already. */
int64_t ab_gil_take(ab_gil_t *g);
/* Drop it (no-op unless held). When a drop request is pending, wait until another thread
 * has taken it (forced switching); returns 1 then, else 0. */
int ab_gil_drop(ab_gil_t *g);
/* The eval breaker: a drop request pending? Drop (forced) and take again. Returns the ns
 * waited to get it back (-1: no request, nothing done), and sets *forced when it dropped on
 * a request (a forced switch). Not holding it: takes it. */
int64_t ab_gil_check(ab_gil_t *g, int *forced);
/* Does the calling thread hold g? */
int ab_gil_held(const ab_gil_t *g);

#endif
