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

/* P(U >= u) under the null, with no ties: the number of arrangements of n and m ranks whose U
 * is k, f(i, j, k) = f(i - 1, j, k - j) + f(i, j - 1, k), over C(n + m, n). Two layers of i. */
static double ab__mwu_exact_sf(int n, int m, double u)
{
  int K = n * m + 1;
  double *prev = calloc((size_t)(m + 1) * K, sizeof *prev), *cur = calloc((size_t)(m + 1) * K, sizeof *cur);
  if (!prev || !cur) {
    free(prev), free(cur);
    return NAN;
  }
  for (int j = 0; j <= m; j++) /* i = 0: one arrangement, U = 0 */
    prev[(size_t)j * K] = 1;
  for (int i = 1; i <= n; i++) {
    memset(cur, 0, (size_t)(m + 1) * K * sizeof *cur);
    cur[0] = 1;
    for (int j = 1; j <= m; j++)
      for (int k = 0; k <= i * j; k++)
        cur[(size_t)j * K + k] = (k >= j ? prev[(size_t)j * K + k - j] : 0) + cur[(size_t)(j - 1) * K + k];
    double *t = prev;
    prev = cur, cur = t;
  }
  double all = 0, tail = 0;
  for (int k = 0; k < K; k++) {
    double f = prev[(size_t)m * K + k];
    all += f;
    if (k >= u - 1e-9)
      tail += f;
  }
  free(prev), free(cur);
  return tail / all;
}

static int ab__cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double ab_mwu_greater(const double *x, int n, const double *y, int m, int *exact)
{
  if (n <= 0 || m <= 0)
    return NAN;
  double u = ab_mwu_u(x, n, y, m);
  int N = n + m;
  double *all = malloc((size_t)N * sizeof *all);
  if (!all)
    return NAN;
  memcpy(all, x, (size_t)n * sizeof *all);
  memcpy(all + n, y, (size_t)m * sizeof *all);
  qsort(all, (size_t)N, sizeof *all, ab__cmp_double);
  double ties = 0; /* sum of t^3 - t over the groups of equal values */
  for (int i = 0, j; i < N; i = j) {
    for (j = i + 1; j < N && all[j] == all[i]; j++)
      ;
    double t = j - i;
    ties += t * t * t - t;
  }
  free(all);
  if (ties == 0 && N <= AB_MWU_EXACT_MAX) {
    if (exact)
      *exact = 1;
    return ab__mwu_exact_sf(n, m, u);
  }
  if (exact)
    *exact = 0;
  double mu = (double)n * m / 2;
  double var = (double)n * m / 12 * ((N + 1) - ties / ((double)N * (N - 1)));
  if (var <= 0)
    return 1; /* every value equal: no evidence either way */
  double z = (u - mu - 0.5) / sqrt(var);
  return 0.5 * erfc(z / M_SQRT2);
}

double ab_mwu_min_p(int n, int m)
{
  if (n <= 0 || m <= 0)
    return 1;
  return exp(lgamma(n + 1.0) + lgamma(m + 1.0) - lgamma(n + m + 1.0));
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

/* exp(median(ly_j - lx_i)), d a scratch of n * m */
static double ab__hl_log(const double *lx, int n, const double *ly, int m, double *d)
{
  for (int i = 0; i < n; i++)
    for (int j = 0; j < m; j++)
      d[(size_t)i * m + j] = ly[j] - lx[i];
  return exp(ab__select_median(d, n * m));
}

/* Logarithms of x and y into a single block; NULL when a value is not > 0 */
static double *ab__logs(const double *x, int n, const double *y, int m)
{
  if (n <= 0 || m <= 0)
    return NULL;
  double *l = malloc((size_t)(n + m) * sizeof *l);
  if (!l)
    return NULL;
  for (int i = 0; i < n + m; i++) {
    double v = i < n ? x[i] : y[i - n];
    if (!(v > 0) || !isfinite(v)) {
      free(l);
      return NULL;
    }
    l[i] = log(v);
  }
  return l;
}

double ab_hl_ratio(const double *x, int n, const double *y, int m)
{
  double *l = ab__logs(x, n, y, m), *d = l ? malloc((size_t)n * m * sizeof *d) : NULL;
  double r = d ? ab__hl_log(l, n, l + n, m, d) : NAN;
  free(l), free(d);
  return r;
}

static uint64_t ab__splitmix(uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

int ab_hl_ratio_ci(const double *x, int n, const double *y, int m, double conf, int rounds, uint64_t seed,
                   double *lo, double *hi)
{
  *lo = *hi = NAN;
  double *l = ab__logs(x, n, y, m);
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
    est[b] = ab__hl_log(rx, n, rx + n, m, d);
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
