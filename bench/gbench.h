/* A small C API over Google Benchmark (libbenchmark 1.7), so the micro-benchmarks are C like
 * the rest of archbench and bench/gbench.cc is the only C++ in the project.
 *
 * A benchmark is a C function given the state and a user pointer; it sets up, runs the state
 * loop (only the loop is timed), tears down and reports counters:
 *
 *   static void bm(ab_gb_state_t *st, void *arg) {
 *     size_t n = (size_t)ab_gb_range(st, 0);
 *     ...set up...
 *     while (ab_gb_loop(st))
 *       ...one operation...
 *     ab_gb_counter(st, "p99_ns", p99, AB_GB_DEFAULT);
 *     ...tear down...
 *   }
 *   ab_gb_arg(ab_gb_register("pipe/procs/rtt", bm, NULL), 8);   -> "pipe/procs/rtt/8"
 *
 * Google Benchmark calls the function several times per benchmark while it finds an
 * iteration count, so set-up and tear-down must be repeatable. Everything Google Benchmark
 * appends to a name applies here too: an argument adds "/<arg>", and per-benchmark
 * iterations, min time, repetitions, real or manual time add their own suffixes
 * ("/iterations:7", "/manual_time"...); the command-line flags add none.
 */
#ifndef AB_GBENCH_H
#define AB_GBENCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ab_gb_state ab_gb_state_t; /* a benchmark::State */
typedef struct ab_gb_bench ab_gb_bench_t; /* a registered benchmark family */
typedef void (*ab_gb_fn)(ab_gb_state_t *st, void *arg);

/* Counter flags (benchmark::Counter): a rate is divided by the measured time, an
 * iteration average by the iteration count, an invariant multiplied by it. */
enum {
  AB_GB_DEFAULT = 0,
  AB_GB_RATE = 1,
  AB_GB_AVG_ITERATIONS = 2,
  AB_GB_ITERATION_INVARIANT = 4,
  AB_GB_INVERT = 8,
  AB_GB_1024 = 16, /* binary prefixes when printed (Ki, Mi) */
};

enum ab_gb_unit { AB_GB_NS = 0, AB_GB_US, AB_GB_MS, AB_GB_S };

/* ---- registration (before ab_gb_main) ------------------------------------------------ */

/* The name is copied. Returns the family, for the calls below. */
ab_gb_bench_t *ab_gb_register(const char *name, ab_gb_fn fn, void *arg);
ab_gb_bench_t *ab_gb_arg(ab_gb_bench_t *b, int64_t x);                  /* one instance */
ab_gb_bench_t *ab_gb_args(ab_gb_bench_t *b, const int64_t *v, int n);    /* one, n args */
/* Names of the arguments, in order: "" shows a value bare, "k" as "k:value". */
ab_gb_bench_t *ab_gb_arg_names(ab_gb_bench_t *b, const char *const *names, int n);
ab_gb_bench_t *ab_gb_range(ab_gb_bench_t *b, int64_t lo, int64_t hi);    /* lo..hi by x8 */
ab_gb_bench_t *ab_gb_range_multiplier(ab_gb_bench_t *b, int mult);
ab_gb_bench_t *ab_gb_dense_range(ab_gb_bench_t *b, int64_t lo, int64_t hi, int step);
ab_gb_bench_t *ab_gb_iterations(ab_gb_bench_t *b, int64_t n);
ab_gb_bench_t *ab_gb_min_time(ab_gb_bench_t *b, double seconds);
ab_gb_bench_t *ab_gb_repetitions(ab_gb_bench_t *b, int n);
ab_gb_bench_t *ab_gb_manual_time(ab_gb_bench_t *b); /* the time is ab_gb_set_iteration_time's */
ab_gb_bench_t *ab_gb_real_time(ab_gb_bench_t *b);   /* iterate until wall time, not CPU time */
ab_gb_bench_t *ab_gb_unit(ab_gb_bench_t *b, enum ab_gb_unit u);

/* A key/value pair in the "context" block of the output. */
void ab_gb_context(const char *key, const char *value);

/* Initialize from argv, consuming the --benchmark_* flags it knows (--help and a bad
 * --benchmark_format make Google Benchmark itself print its usage and exit). What is left
 * in argv[1..*argc-1] it did not take: an unknown flag, or a known one with a bad value. */
void ab_gb_init(int *argc, char **argv);
/* The --benchmark_filter given, as given ("" when none was). */
const char *ab_gb_filter(void);
/* Run what --benchmark_filter selects, then shut down. Returns how many benchmarks it
 * selected (0: the filter matched none, and nothing ran), or -EINVAL when the filter is not
 * a regular expression Google Benchmark can compile (why in err). Google Benchmark prints
 * nothing of its own about either. */
int ab_gb_run(char *err, size_t len);

/* ---- inside a benchmark -------------------------------------------------------------- */

int ab_gb_loop(ab_gb_state_t *st);                  /* KeepRunning: 1 while to iterate */
int ab_gb_loop_batch(ab_gb_state_t *st, int64_t n); /* KeepRunningBatch: n per call */
int64_t ab_gb_get_range(ab_gb_state_t *st, int i);  /* argument i of this instance */
int64_t ab_gb_max_iterations(ab_gb_state_t *st);    /* what the loop will run */
int64_t ab_gb_iterations_done(ab_gb_state_t *st);
void ab_gb_pause(ab_gb_state_t *st);
void ab_gb_resume(ab_gb_state_t *st);
void ab_gb_set_iteration_time(ab_gb_state_t *st, double seconds);
void ab_gb_counter(ab_gb_state_t *st, const char *name, double value, unsigned flags);
void ab_gb_bytes(ab_gb_state_t *st, int64_t bytes);  /* bytes_per_second */
void ab_gb_items(ab_gb_state_t *st, int64_t items);  /* items_per_second */
void ab_gb_label(ab_gb_state_t *st, const char *label);
/* The run is reported as an error with this message; the loop then stops at once (call it
 * before the loop or break out of it). */
void ab_gb_skip(ab_gb_state_t *st, const char *msg);
int ab_gb_error(const ab_gb_state_t *st);

#ifdef __cplusplus
}
#endif

#endif
