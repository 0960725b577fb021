/* Summary statistics of a histogram (what the result file and the tables print), and exact
 * statistics of a sample array (for tests and calibration). */
#ifndef AB_STATS_H
#define AB_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"

typedef struct ab_summary {
  uint64_t count;
  int64_t min, max, p50, p90, p99, p999, p9999;
  double mean, stddev;
} ab_summary_t;

void ab_summarize(const ab_hist_t *h, ab_summary_t *s);
/* Exact nearest-rank quantile of v[0..n) (sorts v in place). */
int64_t ab_exact_quantile(int64_t *v, size_t n, double q);
/* Median of a small array of doubles (sorts in place). */
double ab_median(double *v, size_t n);

#endif
