/* Samples for the tests of `compare` (tests/test_compare_stats.c, test_compare.c): a seeded
 * generator, so that every sample and so every expectation is the same on every run.
 */
#ifndef AB_TEST_CMPFIX_H
#define AB_TEST_CMPFIX_H

#include <math.h>
#include <stdint.h>

static inline uint64_t cf_next(uint64_t *s) /* splitmix64 */
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double cf_unif(uint64_t *s)
{
  return (cf_next(s) >> 11) * 0x1p-53;
}

/* n values around mid, each mid * (1 + u) with u uniform in [-noise, +noise). */
static inline void cf_fill(double *v, int n, double mid, double noise, uint64_t *s)
{
  for (int i = 0; i < n; i++)
    v[i] = mid * (1 + noise * (2 * cf_unif(s) - 1));
}

#endif
