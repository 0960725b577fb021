/* The statistics of `compare` (compare.h): the one-sided Mann-Whitney U test, exact for small
 * samples without ties and the normal approximation otherwise (as scipy.stats.mannwhitneyu
 * computes them); Holm's step-down correction; the Hodges-Lehmann estimate of a ratio and its
 * percentile bootstrap interval. Textbook definitions: Hollander, Wolfe & Chicken,
 * "Nonparametric Statistical Methods", ch. 4; Holm (1979).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"

double ab_mwu_u(const double *x, int n, const double *y, int m)
{
  double u = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < m; j++)
      u += y[j] > x[i] ? 1 : y[j] == x[i] ? 0.5 : 0;
  return u;
}

/* The exact null distribution of 2U over the arrangements of the pooled values (x's n and y's
 * m, v sorted, N of them), ties included: the values are taken group by group (equal values
 * together); choosing k of a group of t, with S values below it of which j are y's, adds
 * k * (2 (S - j) + (t - k)) to 2U (each y beats the S - j x's below and ties the t - k x's
 * beside it). f[j][u2] counts the ways, weighted by C(t, k). P(U >= u) and P(U <= u) out. */
static int ab__mwu_exact(const double *v, int N, int m, double u, double *ge, double *le)
{
  int n = N - m, K = 2 * n * m + 1, top = 0;
  double *f = calloc((size_t)(m + 1) * K, sizeof *f), *g = calloc((size_t)(m + 1) * K, sizeof *g);
  if (!f || !g) {
    free(f), free(g);
    return -1;
  }
  f[0] = 1;
  for (int S = 0, e; S < N; S = e) {
    for (e = S + 1; e < N && v[e] == v[S]; e++)
      ;
    int t = e - S, ntop = top;
    memset(g, 0, (size_t)(m + 1) * K * sizeof *g);
    for (int j = 0; j <= m && j <= S; j++)
      for (int u2 = 0; u2 <= top; u2++) {
        double w = f[(size_t)j * K + u2];
        if (w == 0)
          continue;
        double c = 1; /* C(t, k) */
        for (int k = 0; k <= t && j + k <= m; k++) {
          int to = u2 + k * (2 * (S - j) + (t - k));
          if (S - j <= n && to < K) {
            g[(size_t)(j + k) * K + to] += w * c;
            ntop = to > ntop ? to : ntop;
          }
          c = c * (t - k) / (k + 1);
        }
      }
    double *x = f;
    f = g, g = x, top = ntop;
  }
  double all = 0, hi = 0, lo = 0, u2obs = 2 * u;
  for (int k = 0; k < K; k++) {
    double w = f[(size_t)m * K + k];
    all += w;
    hi += k >= u2obs - 1e-9 ? w : 0;
    lo += k <= u2obs + 1e-9 ? w : 0;
  }
  free(f), free(g);
  *ge = hi / all, *le = lo / all;
  return 0;
}

static int ab__cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int ab_mwu_p(const double *x, int n, const double *y, int m, double *greater, double *less)
{
  *greater = *less = NAN;
  if (n <= 0 || m <= 0)
    return -1;
  double u = ab_mwu_u(x, n, y, m);
  int N = n + m;
  double *all = malloc((size_t)N * sizeof *all);
  if (!all)
    return -1;
  memcpy(all, x, (size_t)n * sizeof *all);
  memcpy(all + n, y, (size_t)m * sizeof *all);
  qsort(all, (size_t)N, sizeof *all, ab__cmp_double);
  if (N <= AB_MWU_EXACT_MAX && ab__mwu_exact(all, N, m, u, greater, less) == 0) {
    free(all);
    return 1;
  }
  double ties = 0; /* sum of t^3 - t over the groups of equal values */
  for (int i = 0, j; i < N; i = j) {
    for (j = i + 1; j < N && all[j] == all[i]; j++)
      ;
    double t = j - i;
    ties += t * t * t - t;
  }
  free(all);
  double mu = (double)n * m / 2;
  double var = (double)n * m / 12 * ((N + 1) - ties / ((double)N * (N - 1)));
  if (var <= 0) { /* every value equal: no evidence either way */
    *greater = *less = 1;
    return 0;
  }
  *greater = 0.5 * erfc((u - mu - 0.5) / sqrt(var) / M_SQRT2);
  *less = 0.5 * erfc((mu - u - 0.5) / sqrt(var) / M_SQRT2);
  return 0;
}

double ab_mwu_greater(const double *x, int n, const double *y, int m, int *exact)
{
  double g, l;
  int e = ab_mwu_p(x, n, y, m, &g, &l);
  if (exact)
    *exact = e == 1;
  return g;
}

double ab_mwu_min_p(int n, int m)
{
  if (n <= 0 || m <= 0)
    return 1;
  /* C(n + m, n) by its product, each step an integer: exact while below 2^53, as the exact
   * test's counts are, so 1/C is the very p the test gives (through lgamma, 1/C(6, 3) came out
   * below 0.05 and 3 repeats a side seemed to reach alpha = 0.05, which p = 0.05 does not). */
  double c = 1;
  for (int i = 1; i <= n; i++)
    c = c * (m + i) / i;
  return 1 / c;
}

int ab_mwu_repeats_for(double p)
{
  for (int k = 1; k <= 200; k++)
    if (ab_mwu_min_p(k, k) < p)
      return k;
  return 0;
}

void ab_holm(const double *p, int n, double *adj)
{
  int *ix = malloc((size_t)(n > 0 ? n : 1) * sizeof *ix), k = 0;
  if (!ix) {
    for (int i = 0; i < n; i++)
      adj[i] = NAN;
    return;
  }
  for (int i = 0; i < n; i++) {
    adj[i] = NAN;
    if (!isnan(p[i]))
      ix[k++] = i;
  }
  for (int a = 1; a < k; a++) /* insertion sort by p: stable, and k is a few hundred at most */
    for (int b = a; b > 0 && p[ix[b]] < p[ix[b - 1]]; b--) {
      int t = ix[b];
      ix[b] = ix[b - 1], ix[b - 1] = t;
    }
  double run = 0;
  for (int r = 0; r < k; r++) {
    double v = (k - r) * p[ix[r]];
    run = v > run ? v : run;
    adj[ix[r]] = run < 1 ? run : 1;
  }
  free(ix);
}

/* The median of v[0..n) by selection (v is reordered). */
static double ab__select_median(double *v, int n)
{
  int lo = 0, hi = n - 1, want = (n - 1) / 2;
  double a = NAN;
  for (int pass = 0; pass < 2; pass++) {
    lo = 0, hi = n - 1;
    while (lo < hi) {
      double piv = v[lo + (hi - lo) / 2];
      int i = lo, j = hi;
      while (i <= j) {
        while (v[i] < piv)
          i++;
        while (v[j] > piv)
          j--;
        if (i <= j) {
          double t = v[i];
          v[i++] = v[j], v[j--] = t;
        }
      }
      if (want <= j)
        hi = j;
      else if (want >= i)
        lo = i;
      else
        break;
    }
    if (pass == 0) {
      a = v[want];
      if (n % 2)
        return a;
      want = n / 2;
    }
  }
  return (a + v[want]) / 2;
}

double ab_cmp_median(const double *v, int n)
{
  if (n <= 0)
    return NAN;
  double *c = malloc((size_t)n * sizeof *c);
  if (!c)
    return NAN;
  memcpy(c, v, (size_t)n * sizeof *c);
  double r = ab__select_median(c, n);
  free(c);
  return r;
}

/* median(ly_j - lx_i), back through exp when logs; d a scratch of n * m */
static double ab__hl_est(const double *lx, int n, const double *ly, int m, double *d, int logs)
{
  for (int i = 0; i < n; i++)
    for (int j = 0; j < m; j++)
      d[(size_t)i * m + j] = ly[j] - lx[i];
  double med = ab__select_median(d, n * m);
  return logs ? exp(med) : med;
}

/* x and y into one block, as logarithms when logs; NULL when a value is not finite (or, for
 * logs, not > 0) */
static double *ab__vals(const double *x, int n, const double *y, int m, int logs)
{
  if (n <= 0 || m <= 0)
    return NULL;
  double *l = malloc((size_t)(n + m) * sizeof *l);
  if (!l)
    return NULL;
  for (int i = 0; i < n + m; i++) {
    double v = i < n ? x[i] : y[i - n];
    if ((logs && !(v > 0)) || !isfinite(v)) {
      free(l);
      return NULL;
    }
    l[i] = logs ? log(v) : v;
  }
  return l;
}

static double ab__hl(const double *x, int n, const double *y, int m, int logs)
{
  double *l = ab__vals(x, n, y, m, logs), *d = l ? malloc((size_t)n * m * sizeof *d) : NULL;
  double r = d ? ab__hl_est(l, n, l + n, m, d, logs) : NAN;
  free(l), free(d);
  return r;
}

double ab_hl_ratio(const double *x, int n, const double *y, int m) { return ab__hl(x, n, y, m, 1); }
double ab_hl_shift(const double *x, int n, const double *y, int m) { return ab__hl(x, n, y, m, 0); }

static uint64_t ab__splitmix(uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static int ab__hl_ci(const double *x, int n, const double *y, int m, int logs, double conf, int rounds, uint64_t seed,
                     double *lo, double *hi)
{
  *lo = *hi = NAN;
  double *l = ab__vals(x, n, y, m, logs);
  if (!l || rounds < 1 || !(conf > 0 && conf < 1)) {
    free(l);
    return -1;
  }
  double *rx = malloc((size_t)(n + m) * sizeof *rx), *d = malloc((size_t)n * m * sizeof *d),
         *est = malloc((size_t)rounds * sizeof *est);
  if (!rx || !d || !est) {
    free(l), free(rx), free(d), free(est);
    return -1;
  }
  uint64_t s = seed;
  for (int b = 0; b < rounds; b++) {
    for (int i = 0; i < n; i++)
      rx[i] = l[ab__splitmix(&s) % (uint64_t)n];
    for (int j = 0; j < m; j++)
      rx[n + j] = l[n + ab__splitmix(&s) % (uint64_t)m];
    est[b] = ab__hl_est(rx, n, rx + n, m, d, logs);
  }
  qsort(est, (size_t)rounds, sizeof *est, ab__cmp_double);
  /* the percentiles, interpolated between order statistics */
  double q[2] = { (1 - conf) / 2, 1 - (1 - conf) / 2 }, *out[2] = { lo, hi };
  for (int k = 0; k < 2; k++) {
    double pos = q[k] * (rounds - 1);
    int i = (int)floor(pos);
    double f = pos - i;
    *out[k] = i + 1 < rounds ? est[i] * (1 - f) + est[i + 1] * f : est[i];
  }
  free(l), free(rx), free(d), free(est);
  return 0;
}

int ab_hl_ratio_ci(const double *x, int n, const double *y, int m, double conf, int rounds, uint64_t seed,
                   double *lo, double *hi)
{
  return ab__hl_ci(x, n, y, m, 1, conf, rounds, seed, lo, hi);
}

int ab_hl_shift_ci(const double *x, int n, const double *y, int m, double conf, int rounds, uint64_t seed,
                   double *lo, double *hi)
{
  return ab__hl_ci(x, n, y, m, 0, conf, rounds, seed, lo, hi);
}
