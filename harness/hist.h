/* Log-linear latency histogram (HdrHistogram's layout): values below 256 are exact, above
 * that each power of two is split into 128 buckets, so a value is known to within 1/256 of
 * itself (0.4%) from 1 ns to 2^39 ns (550 s); larger values fall in the last bucket (its
 * upper bound is INT64_MAX) while min/max stay exact. Exact count, sum, min and max live beside the buckets. A histogram is
 * a flat struct with no pointers: it can live in shared memory, one writer each, and
 * histograms from several processes merge by adding buckets. Recording is a few ns: no
 * allocation, no lock, no I/O.
 */
#ifndef AB_HIST_H
#define AB_HIST_H

#include <stdint.h>

#define AB_HIST_SUB_BITS 8                    /* 256 exact values, then 128 per octave */
#define AB_HIST_OCTAVES 31                    /* 2^8 .. 2^38 */
#define AB_HIST_NBUCKETS ((1 << AB_HIST_SUB_BITS) + AB_HIST_OCTAVES * (1 << (AB_HIST_SUB_BITS - 1)))

typedef struct ab_hist {
  uint64_t count;
  int64_t min, max;
  double sum, sumsq;
  uint64_t buckets[AB_HIST_NBUCKETS];
} ab_hist_t;

void ab_hist_init(ab_hist_t *h);
/* Negative values are recorded as 0 in the buckets; min keeps the exact value. */
void ab_hist_record(ab_hist_t *h, int64_t v);
void ab_hist_merge(ab_hist_t *dst, const ab_hist_t *src);
/* Add what lies beside the buckets (count, min, max, sums) of a source held elsewhere (a
 * sparse histogram); its buckets are the caller's to add. */
void ab_hist_merge_head(ab_hist_t *dst, uint64_t count, int64_t min, int64_t max, double sum, double sumsq);
/* Nearest-rank quantile, q in [0,1]: the representative (midpoint) of the bucket holding
 * the value of rank ceil(q*count), clamped to [min, max] (so a rank in the last bucket
 * reports max). q <= 0 gives min, q >= 1 max, exactly. 0 for an empty histogram. */
int64_t ab_hist_quantile(const ab_hist_t *h, double q);
double ab_hist_mean(const ab_hist_t *h);
double ab_hist_stddev(const ab_hist_t *h); /* population (divides by count) */
/* Bucket geometry, for writing the histogram out: index of a value, and the lowest and
 * highest value a bucket holds. */
int ab_hist_index(int64_t v);
int64_t ab_hist_lower(int i);
int64_t ab_hist_upper(int i);

#endif
