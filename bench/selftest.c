/* Benchmarks that exercise every call of the shim (gbench.h) with known answers, registered
 * instead of the real ones by `archbench-micro --shim-selftest`; tests/test_micro.c reads
 * their JSON. Explicit iteration counts keep them to a few milliseconds.
 */
#include <time.h>

#include "abm.h"

static void st_manual(ab_gb_state_t *st, void *arg)
{
  (void)arg;
  while (ab_gb_loop(st))
    ab_gb_set_iteration_time(st, 0.001); /* 1 ms per iteration, whatever the clock says */
}

static void st_counters(ab_gb_state_t *st, void *arg)
{
  int64_t n = ab_gb_get_range(st, 0);
  volatile int64_t x = 0;
  (void)arg;
  while (ab_gb_loop(st))
    x += n;
  ab_gb_counter(st, "arg", (double)n, AB_GB_DEFAULT);
  ab_gb_counter(st, "answer", 42, AB_GB_DEFAULT);
  ab_gb_counter(st, "per_iter", 3.0 * (double)ab_gb_iterations_done(st), AB_GB_AVG_ITERATIONS);
  ab_gb_counter(st, "rate", 1000, AB_GB_RATE);
  ab_gb_bytes(st, ab_gb_iterations_done(st) * n);
  ab_gb_items(st, ab_gb_iterations_done(st));
  ab_gb_label(st, "shim");
}

static void st_pause(ab_gb_state_t *st, void *arg)
{
  struct timespec ts = { 0, 2 * 1000 * 1000 };
  (void)arg;
  while (ab_gb_loop(st)) {
    ab_gb_pause(st);
    nanosleep(&ts, NULL); /* not timed */
    ab_gb_resume(st);
  }
}

static void st_skip(ab_gb_state_t *st, void *arg)
{
  (void)arg;
  ab_gb_skip(st, "deliberate: the shim reports errors");
  while (ab_gb_loop(st))
    ;
}

static void st_batch(ab_gb_state_t *st, void *arg)
{
  volatile int x = 0;
  (void)arg;
  while (ab_gb_loop_batch(st, 16))
    for (int i = 0; i < 16; i++)
      x++;
  ab_gb_counter(st, "max_iterations", (double)ab_gb_max_iterations(st), AB_GB_DEFAULT);
}

void abm_register_selftest(void)
{
  ab_gb_manual_time(ab_gb_iterations(ab_gb_register("shim/manual", st_manual, NULL), 5));
  ab_gb_bench_t *b = ab_gb_iterations(ab_gb_register("shim/counters", st_counters, NULL), 100);
  ab_gb_arg(ab_gb_arg(b, 8), 64);
  ab_gb_unit(ab_gb_iterations(ab_gb_register("shim/pause", st_pause, NULL), 3), AB_GB_US);
  ab_gb_register("shim/skip", st_skip, NULL);
  ab_gb_arg(ab_gb_repetitions(ab_gb_iterations(ab_gb_register("shim/repeat", st_counters, NULL), 10), 3), 1);
  ab_gb_iterations(ab_gb_register("shim/batch", st_batch, NULL), 32);
}
