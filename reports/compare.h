/* `archbench compare BASE NEW`: is NEW slower than BASE, beyond the noise? Both sides are sets
 * of repeated runs (the result files and micro.json of one or several run directories); each
 * repeat gives one sample of each metric. A metric regresses when the one-sided Mann-Whitney U
 * test says NEW is worse (p < alpha after Holm's correction over every metric tested) and the
 * bootstrap 95% interval of the Hodges-Lehmann ratio NEW/BASE lies wholly above 1 + threshold.
 * It reads results only, never the engine.
 *
 *   compare_stats.c  the statistics: U test, Holm, Hodges-Lehmann, bootstrap
 *   compare_load.c   the two sides: their run directories, repeats and metrics
 *   compare.c        the command and the verdicts
 *   compare_out.c    what it writes: the table, compare.json, JUnit XML, Markdown
 */
#ifndef AB_COMPARE_H
#define AB_COMPARE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- compare_stats.c ---- */

/* The Mann-Whitney U statistic of y against x: the pairs (x_i, y_j) with y_j > x_i, plus half
 * those with y_j == x_i. */
double ab_mwu_u(const double *x, int n, const double *y, int m);
/* The one-sided p of "y tends to be larger than x" (scipy.stats.mannwhitneyu(y, x,
 * alternative='greater')). Exact (the U distribution, by the Gaussian binomial's coefficients)
 * when there are no ties and n + m <= AB_MWU_EXACT_MAX; otherwise the normal approximation
 * with the tie correction and a continuity correction of 1/2. *exact says which, when not NULL.
 * NaN when n or m is 0. */
#define AB_MWU_EXACT_MAX 60
double ab_mwu_greater(const double *x, int n, const double *y, int m, int *exact);
/* The smallest one-sided p the test can give with n and m samples: 1 / C(n + m, n). */
double ab_mwu_min_p(int n, int m);
/* The fewest samples per side k (k on each) at which ab_mwu_min_p(k, k) < p; 0 if over 200. */
int ab_mwu_repeats_for(double p);
/* Holm's step-down adjustment of p[0..n) into adj[0..n) (the same order): the i-th smallest
 * p times (n - i), made monotone, at most 1. NaN entries are left out and stay NaN. */
void ab_holm(const double *p, int n, double *adj);
/* The Hodges-Lehmann estimate of the ratio y/x: exp of the median of log y_j - log x_i over
 * every pair. Every value must be > 0 (NaN otherwise). */
double ab_hl_ratio(const double *x, int n, const double *y, int m);
/* Its percentile bootstrap interval at level conf (0.95): both sides resampled with
 * replacement `rounds` times from a fixed seed, so a comparison gives the same interval
 * every time. 0, or -1 when a value is <= 0 or a side is empty. */
int ab_hl_ratio_ci(const double *x, int n, const double *y, int m, double conf, int rounds, uint64_t seed,
                   double *lo, double *hi);
/* The median of v[0..n) (a copy is sorted; v is left alone); NaN when n is 0. */
double ab_cmp_median(const double *v, int n);

/* ---- compare.c ---- */

enum ab_cmp_verdict {
  AB_CMP_NO_CHANGE = 0,  /* the interval lies within 1 +- threshold */
  AB_CMP_INCONCLUSIVE,   /* the interval straddles a threshold, or the test is not significant */
  AB_CMP_IMPROVEMENT,    /* significant, and the interval wholly below 1 - threshold */
  AB_CMP_REGRESSION,     /* significant, and the interval wholly above 1 + threshold */
  AB_CMP_NOT_GATED,      /* reported only: a tail with too few samples per repeat, or no ratio */
};
extern const char *const ab_cmp_verdict_names[5];

#define AB_CMP_MAX_SAMPLES 400 /* repeats per side */

typedef struct ab_cmp_metric {
  char id[192];          /* "robot.threads:inner.step_ns.p50", "robot.threads:cpu_pct", "micro:pipe/procs/rtt/8" */
  const char *kind;      /* "scenario" or "micro" */
  const char *unit;      /* "ns" or "%" */
  double *base, *new_;   /* the samples, one per repeat */
  int nb, nn;
  double q;              /* a tail percentile's quantile (0.999), else 0 */
  double min_count;      /* the fewest samples behind one repeat's figure (a tail's gate) */
  double base_med, new_med;
  double ratio, lo, hi;  /* Hodges-Lehmann NEW/BASE and its 95% interval; NaN: none */
  double p_raw, p, p_better_raw, p_better; /* one-sided U tests, raw and after Holm */
  int exact;             /* the U test's p is exact */
  int gated;             /* it can fail the comparison */
  int verdict;           /* enum ab_cmp_verdict */
  char why[256];
} ab_cmp_metric_t;

typedef struct ab_cmp {
  char **base_dirs, **new_dirs; /* the run directories of each side */
  int nbase_dirs, nnew_dirs;
  double threshold, alpha;
  ab_cmp_metric_t *m;
  int nm, cap;
  int ngated;
  int count[5];          /* metrics per verdict */
  int verdict, exit_code;
  const char *json_path, *junit_path, *md_path;
  char notes[16][256];   /* what the reader must know: planted faults, what was left out */
  int nnotes;
} ab_cmp_t;

/* compare_load.c: both sides' samples into c (globs: comma-separated fnmatch patterns of the
 * ids to keep, or NULL); 0, or AB_EXIT_USAGE with err naming the bad input. */
int ab_compare_load(ab_cmp_t *c, const char *base, const char *new_, const char *globs, char *err, size_t len);
/* `archbench compare ...` (argv[0] is "compare"): the exit code (0, 1 a regression, 2 bad input). */
int ab_compare_main(int argc, char **argv);
/* Judge every metric of c (samples filled in): Holm, ratios, verdicts, counts. 0, or
 * AB_EXIT_USAGE with err saying how many repeats are needed when too few can be tested. */
int ab_compare_judge(ab_cmp_t *c, char *err, size_t len);
void ab_compare_free(ab_cmp_t *c);

/* ---- compare_out.c ---- */
void ab_compare_print(const ab_cmp_t *c, FILE *f, int quiet);
int ab_compare_json(const ab_cmp_t *c, const char *path);
int ab_compare_junit(const ab_cmp_t *c, const char *path);
int ab_compare_markdown(const ab_cmp_t *c, const char *path);

#endif
