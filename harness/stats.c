/* Summaries of a histogram for the result file and the tables, and exact order statistics
 * of sample arrays: the reference the histogram tests compare against, and the median the
 * compute calibration takes over its timed batches.
 */
#include "stats.h"

#include <math.h>
#include <stdlib.h>

void ab_summarize(const ab_hist_t *h, ab_summary_t *s)
{
  s->count = h->count;
  s->min = h->count ? h->min : 0; /* not the init sentinels */
  s->max = h->count ? h->max : 0;
  s->p50 = ab_hist_quantile(h, 0.5);
  s->p90 = ab_hist_quantile(h, 0.9);
  s->p99 = ab_hist_quantile(h, 0.99);
  s->p999 = ab_hist_quantile(h, 0.999);
  s->p9999 = ab_hist_quantile(h, 0.9999);
  s->mean = ab_hist_mean(h);
  s->stddev = ab_hist_stddev(h);
}

static int ab__cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static int ab__cmp_dbl(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least q*n samples at or below it. Callers often
 * ask several quantiles of one array, so an already sorted array is not sorted again. */
int64_t ab_exact_quantile(int64_t *v, size_t n, double q)
{
  if (!n)
    return 0;
  size_t i = 1;
  while (i < n && v[i - 1] <= v[i])
    i++;
  if (i < n)
    qsort(v, n, sizeof *v, ab__cmp_i64);
  if (!(q > 0))
    return v[0];
  if (q >= 1)
    return v[n - 1];
  uint64_t rank = (uint64_t)ceil(q * (double)n); /* same expression as ab_hist_quantile */
  if (rank < 1)
    rank = 1;
  if (rank > n)
    rank = n;
  return v[rank - 1];
}

/* Mean of the two middle values when n is even; 0 for no values. */
double ab_median(double *v, size_t n)
{
  if (!n)
    return 0.0;
  qsort(v, n, sizeof *v, ab__cmp_dbl);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
