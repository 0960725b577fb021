/* The measuring instruments themselves: a clock read (ab_now_ns, CLOCK_MONOTONIC through the
 * vDSO where the clocksource allows it) and a histogram record (ab_hist_record). Every latency
 * in archbench costs one of each, so these say how much of a small figure is the probe.
 * Batches of 64 calls per loop turn, so the loop's own cost is spread thin.
 */
#include <errno.h>

#include "abm.h"
#include "shm.h"

static void clock_bench(ab_gb_state_t *st, void *arg)
{
  uint64_t sum = 0; /* wraps, defined: only there so the reads are not optimised away */
  (void)arg;
  while (ab_gb_loop_batch(st, 64))
    for (int i = 0; i < 64; i++)
      sum += (uint64_t)ab_now_ns();
  __asm__ __volatile__("" : : "r"(sum) : "memory");
  ab_gb_items(st, ab_gb_iterations_done(st));
}

static void hist_bench(ab_gb_state_t *st, void *arg)
{
  ab_hist_t *h = ab_shm_alloc(sizeof *h, 0);
  uint64_t x = 88172645463325252ULL;
  (void)arg;
  if (!h) {
    abm_skip(st, "histogram", errno);
    return;
  }
  ab_hist_init(h);
  while (ab_gb_loop_batch(st, 64)) {
    for (int i = 0; i < 64; i++) {
      /* xorshift: latencies spread from ns to ms, so the buckets touched vary like real ones */
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      ab_hist_record(h, (int64_t)(x >> (44 + (x & 15))));
    }
  }
  ab_gb_items(st, ab_gb_iterations_done(st));
  ab_shm_free(h, sizeof *h, 0);
}

void abm_register_clock(void)
{
  ab_gb_register("clock/ab_now_ns", clock_bench, NULL);
  ab_gb_register("hist/ab_hist_record", hist_bench, NULL);
}
