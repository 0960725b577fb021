/* Tests of compare's statistics (reports/compare_stats.c) against values worked out by hand
 * from the textbook definitions (the working is in the comments: a reader can redo it with a
 * pencil), then against scipy.stats and numpy on seeded samples when /usr/bin/python3 has them.
 *
 * The U distribution without ties: the number of arrangements of n x's and m y's whose
 * U (pairs with y > x) is k is the number of partitions of k into at most n parts, none over
 * m (the coefficients of the Gaussian binomial [n+m choose n]); there are C(n+m, n) in all,
 * equally likely under the null.
 */
#include <math.h>
#include <unistd.h>

#include "cmpfix.h"
#include "compare.h"
#include "proc.h"
#include "test.h"

/* |a - b| <= rel * |b|, printing both. */
#define ASSERT_NEAR(a, b, rel)                                                                 \
  do {                                                                                         \
    double a_ = (double)(a), b_ = (double)(b);                                                 \
    if (!(fabs(a_ - b_) <= (rel) * fabs(b_)))                                                  \
      AB_FAIL("%s ~ %s (within %g relative): %.17g vs %.17g", #a, #b, (double)(rel), a_, b_);  \
  } while (0)

/* ---- the U statistic and its exact distribution ------------------------------------------ */

TEST(compare_stats_u_counts_pairs_with_y_larger_and_half_of_ties)
{
  /* x = {1,2,3}, y = {2,3,4}: y=2 beats 1 and ties 2 (1.5); y=3 beats 1,2 and ties 3 (2.5);
   * y=4 beats all three (3): U = 7. The other way round: 9 pairs - 7 = 2. */
  double x[] = { 1, 2, 3 }, y[] = { 2, 3, 4 };
  ASSERT_DBL(ab_mwu_u(x, 3, y, 3), ==, 7);
  ASSERT_DBL(ab_mwu_u(y, 3, x, 3), ==, 2);
  double same[] = { 5, 5 }; /* all tied: every pair counts 1/2 */
  ASSERT_DBL(ab_mwu_u(same, 2, same, 2), ==, 2);
}

/* n = 3, m = 4: C(7, 3) = 35 arrangements. Partitions of k into at most 3 parts, each <= 4:
 *   k=0 {}            1     k=4 4,31,22,211       4     k=6 42,411,33,321,222   5
 *   k=1 1             1     k=5 41,32,311,221     4     k=7..12: as 5..0 (symmetry)
 *   k=2 2,11          2
 *   k=3 3,21,111      3
 * so f = 1 1 2 3 4 4 5 4 4 3 2 1 1 (sum 35), and P(U >= k) = (f[k] + ... + f[12]) / 35. */
static const int U34[13] = { 1, 1, 2, 3, 4, 4, 5, 4, 4, 3, 2, 1, 1 };

TEST(compare_stats_exact_distribution_of_u_for_3_and_4_matches_the_enumeration)
{
  int seen[13] = { 0 };
  for (int mask = 0; mask < 128; mask++) { /* which of the ranks 0..6 are the x's */
    if (__builtin_popcount(mask) != 3)
      continue;
    double x[3], y[4];
    int nx = 0, ny = 0;
    for (int r = 0; r < 7; r++) {
      if (mask >> r & 1)
        x[nx++] = r;
      else
        y[ny++] = r;
    }
    double u = ab_mwu_u(x, 3, y, 4);
    ASSERT(u == floor(u) && u >= 0 && u <= 12);
    seen[(int)u]++;
    int tail = 0, exact = 0;
    for (int k = (int)u; k <= 12; k++)
      tail += U34[k];
    ASSERT_NEAR(ab_mwu_greater(x, 3, y, 4, &exact), tail / 35.0, 1e-12);
    ASSERT_EQ(exact, 1);
  }
  for (int k = 0; k <= 12; k++)
    if (seen[k] != U34[k])
      AB_FAIL("arrangements with U = %d: %d, by hand %d", k, seen[k], U34[k]);
}

TEST(compare_stats_exact_tail_of_5_against_5_all_above_is_1_in_252)
{
  /* Every y above every x: U = 25, the single most extreme of C(10, 5) = 252 arrangements.
   * Every y below: U = 0, and P(U >= 0) = 1. */
  double x[] = { 1, 2, 3, 4, 5 }, y[] = { 6, 7, 8, 9, 10 };
  int exact = 0;
  ASSERT_NEAR(ab_mwu_greater(x, 5, y, 5, &exact), 1 / 252.0, 1e-12);
  ASSERT_EQ(exact, 1);
  ASSERT_NEAR(ab_mwu_greater(y, 5, x, 5, NULL), 1.0, 1e-12);
  /* One swap (y's smallest below x's largest): U = 24, P(U >= 24) = 2/252. */
  double y2[] = { 4.5, 7, 8, 9, 10 };
  ASSERT_NEAR(ab_mwu_greater(x, 5, y2, 5, NULL), 2 / 252.0, 1e-12);
}

/* The table's entry for n = m = 8, one-sided alpha = 0.01: critical U = 9 (the smaller U must
 * be <= 9). By hand: for k <= 8 every partition of k fits (at most 8 parts, none over 8), so
 * f(k) = p(k) = 1 1 2 3 5 7 11 15 22, summing to 67; f(9) = p(9) - |9| - |1^9| = 30 - 2 = 28;
 * f(10) = p(10) - |10|,|9 1| - |1^10|,|2 1^8| = 42 - 4 = 38. Of C(16, 8) = 12870:
 * P(U <= 9) = 95/12870 = 0.00738 < 0.01 and P(U <= 10) = 133/12870 = 0.01033 > 0.01.
 * By symmetry the same for U >= 64 - 9 = 55 and U >= 54. */
TEST(compare_stats_exact_table_n8_m8_one_sided_1_percent_critical_value_is_9)
{
  double x[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  double y55[] = { 0.5, 7.5, 9, 10, 11, 12, 13, 14 }; /* 0 + 7 + 6 * 8 = 55 */
  double y54[] = { 0.5, 6.5, 9, 10, 11, 12, 13, 14 }; /* 0 + 6 + 48 = 54 */
  ASSERT_DBL(ab_mwu_u(x, 8, y55, 8), ==, 55);
  ASSERT_DBL(ab_mwu_u(x, 8, y54, 8), ==, 54);
  double p55 = ab_mwu_greater(x, 8, y55, 8, NULL), p54 = ab_mwu_greater(x, 8, y54, 8, NULL);
  ASSERT_NEAR(p55, 95 / 12870.0, 1e-12);
  ASSERT_NEAR(p54, 133 / 12870.0, 1e-12);
  ASSERT_DBL(p55, <, 0.01);
  ASSERT_DBL(p54, >, 0.01);
}

/* ---- the normal approximation ----------------------------------------------------------- */

/* With ties, up to 60 samples, p is the exact permutation test's. x = {1,2,3}, y = {2,3,4}:
 * U = 7 (2 beats 1 and ties 2: 1.5; 3: 2.5; 4: 3). The 20 ways to choose which 3 of the 6
 * pooled values are y give U = 0 (1 way), 2 (4), 3.5 (4), 4 (1), 5 (1), 5.5 (4), 7 (4), 9 (1),
 * enumerated by hand: U >= 7 in 5 of 20, p = 0.25. The normal approximation would say
 * 0.184344 (tie-corrected: var = 0.75 (7 - 12/30) = 4.95, z = 2/2.22486): not what we get.
 * (The approximation, used beyond 60 samples, is checked against scipy below.) */
TEST(compare_stats_ties_take_the_exact_permutation_distribution)
{
  double x[] = { 1, 2, 3 }, y[] = { 2, 3, 4 };
  int exact = 0;
  double p = ab_mwu_greater(x, 3, y, 3, &exact);
  ASSERT_EQ(exact, 1);
  ASSERT_NEAR(p, 0.25, 1e-12);
  ASSERT_DBL(fabs(p - 0.18434413468089), >, 1e-3);
  double g, l; /* and the other tail: U <= 7 in 19 of 20 */
  ASSERT_EQ(ab_mwu_p(x, 3, y, 3, &g, &l), 1);
  ASSERT_NEAR(g, 0.25, 1e-12);
  ASSERT_NEAR(l, 19 / 20.0, 1e-12);
  /* Separated sides reach 1/C(n+m, n) whatever ties each holds: six 100s against six 152s
   * (a histogram's buckets) give 1/924, the very minimum ab_mwu_min_p promises. */
  double a[] = { 100, 100, 100, 100, 100, 100 }, b[] = { 152, 152, 152, 152, 152, 152 };
  ASSERT_NEAR(ab_mwu_greater(a, 6, b, 6, NULL), 1 / 924.0, 1e-15);
  ASSERT_NEAR(ab_mwu_min_p(6, 6), 1 / 924.0, 1e-15);
  /* Every value equal: no evidence either way. */
  double c[] = { 7, 7, 7 }, d[] = { 7, 7 };
  ASSERT_DBL(ab_mwu_greater(c, 3, d, 2, NULL), ==, 1);
}

TEST(compare_stats_exact_up_to_60_samples_without_ties_normal_beyond)
{
  double x[40], y[40];
  for (int i = 0; i < 40; i++)
    x[i] = 2 * i, y[i] = 2 * i + 1;
  int exact = -1;
  ab_mwu_greater(x, 30, y, 30, &exact);
  ASSERT_EQ(exact, 1);
  ab_mwu_greater(x, 30, y, 31, &exact);
  ASSERT_EQ(exact, 0);
  /* y_i = x_i + 1: U = sum over y_j of the x's below it = 1 + 2 + ... + 30 = 465, of 900;
   * mu = 450, var = 900 * 61 / 12 = 4575, z = 14.5 / 67.6387 = 0.214374, p = 0.41513. */
  double p = ab_mwu_greater(x, 30, y, 30, &exact);
  ASSERT_DBL(ab_mwu_u(x, 30, y, 30), ==, 465);
  ASSERT_NEAR(p, 0.4151, 2e-3); /* the exact p is near the normal one at this size */
}

TEST(compare_stats_u_test_of_an_empty_side_is_nan)
{
  double x[] = { 1, 2 };
  ASSERT(isnan(ab_mwu_greater(x, 2, x, 0, NULL)));
  ASSERT(isnan(ab_mwu_greater(x, 0, x, 2, NULL)));
}

/* ---- how many repeats can reach alpha --------------------------------------------------- */

/* The smallest one-sided p is 1/C(n+m, n): C(10,5) = 252, C(7,3) = 35. With Holm over M
 * metrics the smallest p must be below alpha/M. k on each side: C(2k, k) = 2, 6, 20, 70,
 * 252, 924, 3432, 12870 for k = 1..8.
 *   alpha = 0.01, M = 50: 1/C(2k,k) < 0.0002 needs C(2k,k) > 5000: k = 8 (3432 is not).
 *   alpha = 0.01, M = 1:  C(2k,k) > 100: k = 5 (70 is not).
 *   alpha = 0.05, M = 1:  C(2k,k) > 20:  k = 4 (with 3, p = 1/20 is not below 0.05). */
TEST(compare_stats_fewest_repeats_reach_alpha_over_the_metrics_tested)
{
  ASSERT_NEAR(ab_mwu_min_p(5, 5), 1 / 252.0, 1e-12);
  ASSERT_NEAR(ab_mwu_min_p(3, 4), 1 / 35.0, 1e-12);
  ASSERT_NEAR(ab_mwu_min_p(8, 8), 1 / 12870.0, 1e-12);
  ASSERT_EQ(ab_mwu_repeats_for(0.01 / 50), 8);
  ASSERT_EQ(ab_mwu_repeats_for(0.01), 5);
  ASSERT_EQ(ab_mwu_repeats_for(0.05), 4);
  ASSERT_EQ(ab_mwu_repeats_for(1e-200), 0); /* C(400, 200) ~ 1e119: out of reach */
  /* It agrees with the test itself: at k the most extreme p is below, at k - 1 it is not. */
  double lo[8], hi[8];
  for (int i = 0; i < 8; i++)
    lo[i] = i, hi[i] = 100 + i;
  ASSERT_DBL(ab_mwu_greater(lo, 8, hi, 8, NULL), <, 0.01 / 50);
  ASSERT_DBL(ab_mwu_greater(lo, 7, hi, 7, NULL), >=, 0.01 / 50);
  ASSERT_DBL(ab_mwu_greater(lo, 3, hi, 3, NULL), >=, 0.05);
  ASSERT_DBL(ab_mwu_greater(lo, 4, hi, 4, NULL), <, 0.05);
}

/* ---- Holm ------------------------------------------------------------------------------- */

TEST(compare_stats_holm_on_a_known_set)
{
  /* Sorted: 0.005 x 4 = 0.02; 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04, raised to
   * 0.06 (step-down: never below an earlier one). Back in the given order: */
  double p[] = { 0.01, 0.04, 0.03, 0.005 }, adj[4], want[] = { 0.03, 0.06, 0.06, 0.02 };
  ab_holm(p, 4, adj);
  for (int i = 0; i < 4; i++)
    ASSERT_NEAR(adj[i], want[i], 1e-12);
  ASSERT_DBL(p[0], ==, 0.01); /* the input is left alone */
}

TEST(compare_stats_holm_skips_nans_and_caps_at_1)
{
  /* NaNs are not tests: two p's, so 0.01 x 2 = 0.02 and 0.04 x 1 = 0.04. */
  double p[] = { 0.01, NAN, 0.04, NAN }, adj[4];
  ab_holm(p, 4, adj);
  ASSERT_NEAR(adj[0], 0.02, 1e-12);
  ASSERT(isnan(adj[1]));
  ASSERT_NEAR(adj[2], 0.04, 1e-12);
  ASSERT(isnan(adj[3]));
  /* 0.4 x 3 = 1.2 and 0.6 x 2 = 1.2: at most 1; 0.9 x 1 raised to 1. */
  double q[] = { 0.6, 0.4, 0.9 }, qa[3];
  ab_holm(q, 3, qa);
  for (int i = 0; i < 3; i++)
    ASSERT_DBL(qa[i], ==, 1);
  double one[] = { 0.003 }, oa[1]; /* a single test is not corrected */
  ab_holm(one, 1, oa);
  ASSERT_DBL(oa[0], ==, 0.003);
  ab_holm(one, 0, oa); /* nothing to do, nothing touched */
  ASSERT_DBL(oa[0], ==, 0.003);
}

TEST(compare_stats_holm_keeps_the_order_of_the_raw_p_and_never_lowers_one)
{
  uint64_t s = 11;
  double p[60], adj[60];
  for (int i = 0; i < 60; i++)
    p[i] = cf_unif(&s) * cf_unif(&s) * 0.2;
  p[7] = p[30]; /* a tie */
  ab_holm(p, 60, adj);
  for (int i = 0; i < 60; i++) {
    ASSERT_DBL(adj[i], >=, p[i]);
    ASSERT_DBL(adj[i], <=, 1);
    for (int j = 0; j < 60; j++)
      if (p[i] < p[j] && adj[i] > adj[j])
        AB_FAIL("p %.6g < %.6g but adjusted %.6g > %.6g", p[i], p[j], adj[i], adj[j]);
  }
  ASSERT_DBL(adj[7], ==, adj[30]);
  /* the smallest is multiplied by all 60 */
  int lo = 0;
  for (int i = 1; i < 60; i++)
    lo = p[i] < p[lo] ? i : lo;
  ASSERT_NEAR(adj[lo], fmin(1, 60 * p[lo]), 1e-12);
}

/* ---- Hodges-Lehmann -------------------------------------------------------------------- */

TEST(compare_stats_hodges_lehmann_ratio_on_small_samples)
{
  /* x = {1,2,3}, y = {2,4,6}: the nine ratios y/x are 2 4 6 / 1 2 3 / 2/3 4/3 2; sorted
   * 2/3 1 4/3 2 2 2 3 4 6, the fifth is 2. */
  double x[] = { 1, 2, 3 }, y[] = { 2, 4, 6 };
  ASSERT_NEAR(ab_hl_ratio(x, 3, y, 3), 2, 1e-12);
  ASSERT_NEAR(ab_hl_ratio(y, 3, x, 3), 0.5, 1e-12); /* the other way round: the reciprocal */
  /* An even number of pairs: x = {1,2}, y = {3,8}: ratios 3 8 1.5 4, sorted 1.5 3 4 8; the
   * median of the logs is halfway between log 3 and log 4, so the ratio is sqrt(12) = 3.4641
   * (the geometric mean, not 3.5). */
  double x2[] = { 1, 2 }, y2[] = { 3, 8 };
  ASSERT_NEAR(ab_hl_ratio(x2, 2, y2, 2), sqrt(12), 1e-12);
  /* Scale-free: a common factor changes nothing; a 1.2 on one side is a ratio of 1.2. */
  double xs[] = { 100, 200, 300 }, ys[] = { 120, 240, 360 };
  ASSERT_NEAR(ab_hl_ratio(xs, 3, ys, 3), 1.2, 1e-12);
  /* A single wild value moves it little: 1000 instead of 6 still gives 2 (the median). */
  double yw[] = { 2, 4, 1000 };
  ASSERT_NEAR(ab_hl_ratio(x, 3, yw, 3), 2, 1e-12);
}

TEST(compare_stats_hodges_lehmann_of_a_value_not_above_0_is_nan)
{
  double x[] = { 1, 2, 3 }, y0[] = { 2, 0, 6 }, yn[] = { 2, -4, 6 }, yi[] = { 2, INFINITY, 6 }, yq[] = { 2, NAN, 6 };
  ASSERT(isnan(ab_hl_ratio(x, 3, y0, 3)));
  ASSERT(isnan(ab_hl_ratio(y0, 3, x, 3)));
  ASSERT(isnan(ab_hl_ratio(x, 3, yn, 3)));
  ASSERT(isnan(ab_hl_ratio(x, 3, yi, 3)));
  ASSERT(isnan(ab_hl_ratio(x, 3, yq, 3)));
  ASSERT(isnan(ab_hl_ratio(x, 0, x, 3)));
  double lo = 0, hi = 0;
  ASSERT_EQ(ab_hl_ratio_ci(x, 3, y0, 3, 0.95, 100, 1, &lo, &hi), -1);
  ASSERT(isnan(lo) && isnan(hi));
  ASSERT_EQ(ab_hl_ratio_ci(x, 3, x, 0, 0.95, 100, 1, &lo, &hi), -1);
  ASSERT_EQ(ab_hl_ratio_ci(x, 3, x, 3, 1.0, 100, 1, &lo, &hi), -1);
  ASSERT_EQ(ab_hl_ratio_ci(x, 3, x, 3, 0.95, 0, 1, &lo, &hi), -1);
}

TEST(compare_stats_median_of_odd_and_even_counts_leaves_the_input_alone)
{
  double v[] = { 5, 1, 4, 2, 3 };
  ASSERT_DBL(ab_cmp_median(v, 5), ==, 3);
  ASSERT_DBL(ab_cmp_median(v, 4), ==, 3); /* 5 1 4 2: (2 + 4) / 2 */
  ASSERT_DBL(v[0], ==, 5);
  ASSERT_DBL(v[4], ==, 3);
  ASSERT(isnan(ab_cmp_median(v, 0)));
}

/* ---- the bootstrap interval ------------------------------------------------------------ */

TEST(compare_stats_bootstrap_interval_holds_the_estimate_and_is_the_same_for_a_seed)
{
  uint64_t s = 5;
  double x[12], y[12], lo, hi, lo2, hi2, lo3, hi3;
  cf_fill(x, 12, 1000, 0.03, &s);
  cf_fill(y, 12, 1100, 0.03, &s);
  double est = ab_hl_ratio(x, 12, y, 12);
  ASSERT_EQ(ab_hl_ratio_ci(x, 12, y, 12, 0.95, 2000, 42, &lo, &hi), 0);
  ASSERT_DBL(lo, <=, est);
  ASSERT_DBL(est, <=, hi);
  ASSERT_DBL(lo, <, hi);
  ASSERT_DBL(lo, >, 1.0); /* a 10% shift under 3% noise: well clear of 1 */
  ASSERT_DBL(hi, <, 1.2);
  ASSERT_EQ(ab_hl_ratio_ci(x, 12, y, 12, 0.95, 2000, 42, &lo2, &hi2), 0);
  ASSERT_DBL(lo2, ==, lo);
  ASSERT_DBL(hi2, ==, hi);
  ASSERT_EQ(ab_hl_ratio_ci(x, 12, y, 12, 0.95, 2000, 43, &lo3, &hi3), 0);
  ASSERT(lo3 != lo || hi3 != hi); /* another seed, other resamples */
  /* A narrower level from the same resamples lies inside the wider one. */
  ASSERT_EQ(ab_hl_ratio_ci(x, 12, y, 12, 0.5, 2000, 42, &lo2, &hi2), 0);
  ASSERT_DBL(lo, <, lo2);
  ASSERT_DBL(hi2, <, hi);
  ASSERT_DBL(lo2, <=, est);
  ASSERT_DBL(est, <=, hi2);
  /* One value a side: every resample is the same pair, so the interval is that ratio. */
  double a[] = { 4 }, b[] = { 5 };
  ASSERT_EQ(ab_hl_ratio_ci(a, 1, b, 1, 0.95, 50, 1, &lo, &hi), 0);
  ASSERT_NEAR(lo, 1.25, 1e-12);
  ASSERT_NEAR(hi, 1.25, 1e-12);
}

/* x = {1}, y = {1, 2, ..., 9}: a resample's estimate is the median of nine draws from y (the
 * nine ratios of one x). It is <= j iff at least five draws are <= j, each with chance j/9:
 *   P(med <= 1) = P(Bin(9, 1/9) >= 5) = 0.00145,  P(med <= 2) = P(Bin(9, 2/9) >= 5) = 0.0304,
 *   P(med <= 3) = 0.1448, and P(med >= 8) = 0.0304, P(med >= 9) = 0.00145 by symmetry.
 * So the 2.5% point is 2 and the 97.5% point 8: the 95% interval is [2, 8]; a 90% one would
 * be [3, 7] (the 5% point: 0.0304 < 0.05 <= 0.1448). 20000 rounds put the 2.5% point 4.5
 * standard errors away from 0.0304. */
TEST(compare_stats_bootstrap_interval_is_the_2_5_and_97_5_percentiles_of_the_resamples)
{
  double x[] = { 1 }, y[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, lo, hi;
  ASSERT_EQ(ab_hl_ratio_ci(x, 1, y, 9, 0.95, 20000, 1, &lo, &hi), 0);
  ASSERT_NEAR(lo, 2, 1e-12);
  ASSERT_NEAR(hi, 8, 1e-12);
  ASSERT_EQ(ab_hl_ratio_ci(x, 1, y, 9, 0.90, 20000, 1, &lo, &hi), 0);
  ASSERT_NEAR(lo, 3, 1e-12);
  ASSERT_NEAR(hi, 7, 1e-12);
  /* the other way round: the reciprocals */
  ASSERT_EQ(ab_hl_ratio_ci(y, 9, x, 1, 0.95, 20000, 1, &lo, &hi), 0);
  ASSERT_NEAR(lo, 1 / 8.0, 1e-12);
  ASSERT_NEAR(hi, 1 / 2.0, 1e-12);
}

TEST(compare_stats_bootstrap_interval_narrows_with_more_samples_and_holds_1_without_a_shift)
{
  uint64_t s = 9;
  static double x[80], y[80];
  cf_fill(x, 80, 1000, 0.05, &s);
  cf_fill(y, 80, 1000, 0.05, &s);
  double lo8, hi8, lo80, hi80;
  ASSERT_EQ(ab_hl_ratio_ci(x, 8, y, 8, 0.95, 1000, 7, &lo8, &hi8), 0);
  ASSERT_EQ(ab_hl_ratio_ci(x, 80, y, 80, 0.95, 1000, 7, &lo80, &hi80), 0);
  ASSERT_DBL(lo8, <, 1);
  ASSERT_DBL(hi8, >, 1);
  ASSERT_DBL(lo80, <, 1);
  ASSERT_DBL(hi80, >, 1);
  /* The width goes as 1/sqrt(n): ten times the samples, about a third of the width. */
  ASSERT_DBL(hi80 - lo80, <, (hi8 - lo8) / 2);
  ASSERT_DBL(hi80 - lo80, >, (hi8 - lo8) / 8);
  /* The same samples on both sides: the estimate is 1 and the interval around it. */
  double lo, hi;
  ASSERT_DBL(ab_hl_ratio(x, 20, x, 20), ==, 1);
  ASSERT_EQ(ab_hl_ratio_ci(x, 20, x, 20, 0.95, 1000, 3, &lo, &hi), 0);
  ASSERT_DBL(lo, <, 1);
  ASSERT_DBL(hi, >, 1);
}

/* ---- against scipy.stats and numpy ------------------------------------------------------ */

/* Reads the cases from argv[1], three lines each: the method, x, y; prints p and the ratio. */
static const char PY_CHECK[] =
  "import sys\n"
  "import numpy as np\n"
  "from scipy import stats\n"
  "lines = open(sys.argv[1]).read().split('\\n')\n"
  "for i in range(0, len(lines) - 2, 3):\n"
  "    x = np.array(lines[i + 1].split(), float)\n"
  "    y = np.array(lines[i + 2].split(), float)\n"
  "    p = stats.mannwhitneyu(y, x, alternative='greater', method=lines[i]).pvalue\n"
  "    hl = np.exp(np.median(np.log(y)[None, :] - np.log(x)[:, None]))\n"
  "    print(repr(float(p)), repr(float(hl)))\n";

typedef struct sp_case {
  int n, m;
  double shift; /* y's middle over x's */
  double step;  /* values rounded to this many units (ties), 0: not rounded */
} sp_case_t;

TEST_T(compare_stats_agree_with_scipy_mannwhitneyu_and_numpy, 60)
{
  const char *py = "/usr/bin/python3";
  if (access(py, X_OK) != 0)
    SKIP("no %s to run scipy with", py);
  if (system("/usr/bin/python3 -c 'import numpy, scipy.stats' 2>/dev/null") != 0)
    SKIP("/usr/bin/python3 has no numpy or scipy (apt-get install python3-numpy python3-scipy)");
  static const sp_case_t cases[] = {
    { 5, 7, 1.02, 0 },   /* small, no ties: exact */
    { 12, 12, 1.01, 0 },
    { 20, 25, 1.015, 0 }, /* 45 samples: still exact */
    { 31, 32, 1.02, 5 },  /* ties, 63 samples: the normal approximation */
    { 40, 40, 1.01, 0 },  /* 80 samples: the normal approximation */
    { 30, 35, 1.0, 2 },   /* ties, no shift */
    { 8, 9, 0.97, 0 },    /* y smaller: p near 1 */
  };
  enum { NC = sizeof cases / sizeof cases[0] };
  static double x[NC][40], y[NC][40];
  double p[NC], hl[NC];
  int exact[NC];
  const char *file = temp_path(0);
  FILE *f = fopen(file, "w");
  ASSERT(f != NULL);
  uint64_t s = 2024;
  for (int c = 0; c < NC; c++) {
    const sp_case_t *k = &cases[c];
    cf_fill(x[c], k->n, 1000, 0.04, &s);
    cf_fill(y[c], k->m, 1000 * k->shift, 0.04, &s);
    for (int i = 0; k->step > 0 && i < 40; i++)
      x[c][i] = k->step * round(x[c][i] / k->step), y[c][i] = k->step * round(y[c][i] / k->step);
    p[c] = ab_mwu_greater(x[c], k->n, y[c], k->m, &exact[c]);
    hl[c] = ab_hl_ratio(x[c], k->n, y[c], k->m);
    fprintf(f, "%s\n", exact[c] ? "exact" : "asymptotic");
    for (int i = 0; i < k->n; i++)
      fprintf(f, "%.17g ", x[c][i]);
    fputc('\n', f);
    for (int j = 0; j < k->m; j++)
      fprintf(f, "%.17g ", y[c][j]);
    fputc('\n', f);
  }
  ASSERT_EQ(fclose(f), 0);
  /* the cases cover both ways of computing p */
  ASSERT(exact[0] && exact[1] && exact[2] && !exact[3] && !exact[4] && !exact[5]);
  proc_t pr;
  run_prog(&pr, py, L("-c", PY_CHECK, file), 50);
  if (pr.code != 0)
    AB_FAIL("scipy's check exited %d: %s", pr.code, pr.err);
  const char *o = pr.out;
  for (int c = 0; c < NC; c++) {
    char *end;
    double sp = strtod(o, &end), shl = strtod(end, &end);
    if (end == o)
      AB_FAIL("case %d: scipy printed no figures: \"%s\"", c, pr.out);
    o = end;
    if (!(fabs(p[c] - sp) <= 1e-9 * sp && fabs(hl[c] - shl) <= 1e-9 * shl))
      AB_FAIL("case %d (%d vs %d, %s): p %.17g, scipy %.17g; ratio %.17g, numpy %.17g", c, cases[c].n,
              cases[c].m, exact[c] ? "exact" : "normal", p[c], sp, hl[c], shl);
  }
  proc_free(&pr);
  cleanup_now();
}
