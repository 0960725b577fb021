/* Calibrated real work (ab.h, "compute"). WORKLOADS.md asks that every CPU cost be real
 * computation, never a sleep: one iteration here is a 32x32 dense matrix times a vector
 * followed by normalisation (a step of power iteration), about a thousand multiply-adds on a
 * working set that stays in L1. Scenarios calibrate once in setup, record iters_per_us with
 * ab_calib_set, and ask for nanoseconds of work.
 *
 * The matrix is thread-local and filled on first use from a fixed seed, so any thread or
 * forked process computes the same checksums with no shared writable state and no lock.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <time.h>

#include "ab.h"
#include "stats.h"

#define AB__CN 32

typedef struct ab__cwork {
  int ready;
  double a[AB__CN][AB__CN]; /* column-major: a[j] is column j, so y += a[j] * x[j] vectorises */
} ab__cwork_t;

static __thread ab__cwork_t ab__cw;
/* Written after every run so the work stays observable even if a caller drops the result
 * and the call is inlined (LTO). */
static __thread volatile double ab__sink;

static void ab__cwork_init(ab__cwork_t *w)
{
  uint64_t s = 0x9e3779b97f4a7c15ull;
  for (int j = 0; j < AB__CN; j++)
    for (int i = 0; i < AB__CN; i++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      w->a[j][i] = (double)(s >> 11) * (2.0 / 9007199254740992.0) - 1.0; /* [-1, 1) */
    }
  w->ready = 1;
}

double ab_compute_iters(uint64_t iters)
{
  ab__cwork_t *w = &ab__cw;
  if (!w->ready)
    ab__cwork_init(w);
  double x[AB__CN], y[AB__CN], sum = 0.0;
  for (int i = 0; i < AB__CN; i++)
    x[i] = 1.0 / (1 + i);
  for (uint64_t it = 0; it < iters; it++) {
    for (int i = 0; i < AB__CN; i++)
      y[i] = 0.0;
    for (int j = 0; j < AB__CN; j++) {
      double xj = x[j];
      for (int i = 0; i < AB__CN; i++)
        y[i] += w->a[j][i] * xj;
    }
    /* Four partial sums: one serial chain of 32 adds would make the norm, not the product,
     * the cost of an iteration. */
    double n0 = 0, n1 = 0, n2 = 0, n3 = 0;
    for (int i = 0; i < AB__CN; i += 4) {
      n0 += y[i] * y[i];
      n1 += y[i + 1] * y[i + 1];
      n2 += y[i + 2] * y[i + 2];
      n3 += y[i + 3] * y[i + 3];
    }
    double norm = sqrt((n0 + n1) + (n2 + n3));
    double inv = norm > 0 ? 1.0 / norm : 0.0;
    for (int i = 0; i < AB__CN; i++)
      x[i] = y[i] * inv;
    /* The vector converges to an eigenvector, so sum the norms: the checksum keeps growing
     * with every iteration and depends on all of them. */
    sum += norm;
  }
  ab__sink = sum;
  return sum;
}

static int64_t ab__clock(clockid_t c)
{
  struct timespec ts;
  if (clock_gettime(c, &ts))
    return -1;
  return (int64_t)ts.tv_sec * AB_NS_PER_S + ts.tv_nsec;
}

#define AB__CAL_BATCHES 9
#define AB__CAL_BATCH_NS (1500 * AB_NS_PER_US)

/* Batches are timed on this thread's CPU clock, so time spent preempted (the big noise on a
 * shared 2-core machine) never enters: what is measured is the cost of the work while it
 * runs, which is what ab_compute_ns must reproduce. What noise is left is two-sided
 * (frequency steps, a neighbour in the shared caches, hypervisor steal), so the median rate
 * is taken: best-of would calibrate to the luckiest batch and make every later run long. */
int ab_compute_calibrate(ab_kernel_t *k)
{
  if (!k)
    return -EINVAL;
  int64_t t_start = ab_now_ns();
  /* Warm-up and sizing in one: double the batch until it lasts a millisecond of CPU. This
   * also faults in the thread-local matrix and lets the core's clock ramp up. */
  uint64_t n = 16;
  int64_t dt = 0;
  for (;;) {
    int64_t t0 = ab__clock(CLOCK_THREAD_CPUTIME_ID);
    ab_compute_iters(n);
    int64_t t1 = ab__clock(CLOCK_THREAD_CPUTIME_ID);
    if (t0 < 0 || t1 < 0)
      return -errno;
    dt = t1 - t0;
    if (dt >= AB_NS_PER_MS || n >= (1ull << 40))
      break;
    n *= 2;
  }
  n = (uint64_t)((double)n * AB__CAL_BATCH_NS / (double)(dt > 0 ? dt : 1)) + 1;
  double rate[AB__CAL_BATCHES];
  for (int b = 0; b < AB__CAL_BATCHES; b++) {
    int64_t t0 = ab__clock(CLOCK_THREAD_CPUTIME_ID);
    ab_compute_iters(n);
    int64_t t1 = ab__clock(CLOCK_THREAD_CPUTIME_ID);
    if (t0 < 0 || t1 < 0)
      return -errno;
    rate[b] = (double)n * 1000.0 / (double)(t1 - t0 > 0 ? t1 - t0 : 1);
  }
  k->iters_per_us = ab_median(rate, AB__CAL_BATCHES);
  k->calib_ns = ab_now_ns() - t_start;
  return 0;
}

double ab_compute_ns(const ab_kernel_t *k, int64_t ns)
{
  if (!k || ns <= 0 || !(k->iters_per_us > 0))
    return 0.0;
  return ab_compute_iters((uint64_t)llround((double)ns * k->iters_per_us / 1000.0));
}
