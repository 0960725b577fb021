/* Log-linear histogram (see hist.h). Every latency the harness measures goes through
 * ab_hist_record on the hot path, right after a clock read, so recording is one clz, a
 * shift, an add and a few conditional moves: no division, no loop, no data-dependent branch.
 *
 * Layout: index = value for values below 256; above, a value with its top bit at position
 * m (8 <= m <= 38) keeps its 8 leading bits, so it lands in bucket (m - 7) * 128 + (v >> (m - 7)):
 * octave m holds 128 buckets of width 2^(m-7), and the first of them follows bucket 255. The
 * last bucket also takes everything from 2^39 up (its upper bound is INT64_MAX).
 */
#include "hist.h"

#include <math.h>
#include <string.h>

#define AB__HIST_SUB (1 << (AB_HIST_SUB_BITS - 1)) /* 128 buckets per octave */
#define AB__HIST_LAST (AB_HIST_NBUCKETS - 1)

void ab_hist_init(ab_hist_t *h)
{
  memset(h, 0, sizeof *h);
  h->min = INT64_MAX;
  h->max = INT64_MIN;
}

static inline int ab__hist_index(int64_t v)
{
  uint64_t u = v < 0 ? 0 : (uint64_t)v;
  /* | 255 puts the top bit at 7 or above, so values below 256 get a shift of 0 and map to
   * themselves without a branch; clzll is never given 0. */
  int shift = 63 - __builtin_clzll(u | 255) - (AB_HIST_SUB_BITS - 1);
  uint64_t i = ((uint64_t)shift << (AB_HIST_SUB_BITS - 1)) + (u >> shift);
  return i > AB__HIST_LAST ? AB__HIST_LAST : (int)i;
}

int ab_hist_index(int64_t v)
{
  return ab__hist_index(v);
}

void ab_hist_record(ab_hist_t *h, int64_t v)
{
  h->buckets[ab__hist_index(v)]++;
  h->count++;
  h->sum += (double)v;
  h->sumsq += (double)v * (double)v;
  h->min = v < h->min ? v : h->min;
  h->max = v > h->max ? v : h->max;
}

int64_t ab_hist_lower(int i)
{
  if (i <= 0)
    return 0;
  if (i < 2 * AB__HIST_SUB)
    return i;
  if (i > AB__HIST_LAST)
    i = AB__HIST_LAST;
  int shift = i / AB__HIST_SUB - 1; /* inverse of the index formula */
  return (int64_t)(i - shift * AB__HIST_SUB) << shift;
}

int64_t ab_hist_upper(int i)
{
  if (i >= AB__HIST_LAST)
    return INT64_MAX;
  return ab_hist_lower(i + 1) - 1;
}

void ab_hist_merge_head(ab_hist_t *dst, uint64_t count, int64_t min, int64_t max, double sum, double sumsq)
{
  if (!count)
    return; /* an empty source's min/max are sentinels (or zeros if never initialised) */
  if (!dst->count || min < dst->min)
    dst->min = min;
  if (!dst->count || max > dst->max)
    dst->max = max;
  dst->count += count;
  dst->sum += sum;
  dst->sumsq += sumsq;
}

void ab_hist_merge(ab_hist_t *dst, const ab_hist_t *src)
{
  if (!src->count)
    return;
  for (int i = 0; i < AB_HIST_NBUCKETS; i++)
    dst->buckets[i] += src->buckets[i];
  ab_hist_merge_head(dst, src->count, src->min, src->max, src->sum, src->sumsq);
}

int64_t ab_hist_quantile(const ab_hist_t *h, double q)
{
  if (!h->count)
    return 0;
  if (!(q > 0))
    return h->min; /* also catches NaN */
  if (q >= 1)
    return h->max;
  /* Same rank expression as ab_exact_quantile, so the two agree on which sample is meant. */
  uint64_t rank = (uint64_t)ceil(q * (double)h->count);
  if (rank < 1)
    rank = 1;
  if (rank > h->count)
    rank = h->count;
  uint64_t seen = 0;
  int i = 0;
  for (; i < AB__HIST_LAST; i++) {
    seen += h->buckets[i];
    if (seen >= rank)
      break;
  }
  int64_t lo = ab_hist_lower(i), hi = ab_hist_upper(i);
  int64_t mid = lo + (hi - lo) / 2; /* the overflow bucket's midpoint is huge: clamps to max */
  if (mid < h->min)
    mid = h->min;
  if (mid > h->max)
    mid = h->max;
  return mid;
}

double ab_hist_mean(const ab_hist_t *h)
{
  return h->count ? h->sum / (double)h->count : 0.0;
}

/* Population standard deviation from the moments. They are doubles, so sumsq/n - mean^2
 * cancels: the result carries an error of about value * sqrt(n * eps), nothing for latencies
 * of ns to ms, ~1e-6 of the value for 1e5 values near 2^38 all alike. It can even come out
 * slightly negative when every value is the same, hence the clamp. */
double ab_hist_stddev(const ab_hist_t *h)
{
  if (!h->count)
    return 0.0;
  double n = (double)h->count, mean = h->sum / n;
  double var = h->sumsq / n - mean * mean;
  return var > 0 ? sqrt(var) : 0.0;
}
