/* Reading result files (schema archbench-result/1) in tests, with jansson: each accessor
 * fails the test, naming the field, when what it asks for is missing or of the wrong type.
 * The code is in tests/test_json.c (named test_*.c so that the Makefile's wildcard builds
 * it; it holds no TEST). */
#ifndef AB_TEST_RESULT_H
#define AB_TEST_RESULT_H

#include <jansson.h>

/* The single-process, multi-process and one-thread runtimes, with the file a baseline run
 * under each writes: X(name, arch, file) rows for tests run once per runtime. */
#define BASELINE_RUNTIMES(X)                       \
  X(threads, "threads", "baseline.threads.json")   \
  X(procs, "procs", "baseline.procs.shm.json")     \
  X(loop, "loop", "baseline.loop.json")

/* A short baseline (300 ms) under threads and procs/shm into a fresh directory: the
 * results baseline.threads.json and baseline.procs.shm.json, and the summaries. */
const char *run_baseline_pair(void);
/* `archbench run SCENARIO --out out --quiet` with the args of a and then b (either may be
 * NULL), which must exit 0 or 1 (a requirement failed; *code says which, if code) and leave
 * nothing behind; then out/file, as load_result. */
json_t *run_scenario(const char *scenario, const char *out, const char *file, const char *const *a,
                     const char *const *b, int *code);
/* Several such runs side by side (at most 8): all started, then each waited for and
 * checked; each run's code and result are filled in. For runs that mostly wait (a mock's
 * clock), not for ones whose figures a neighbour would disturb. */
typedef struct scen_run {
  const char *scenario, *out, *file;
  const char *const *a, *const *b;
  int code;
  json_t *r;
} scen_run_t;
void run_scenarios(scen_run_t *runs, int n);
/* out/file through the reader (harness/result.h); fails the test with the reader's message. */
struct ab_result *load_view(const char *out, const char *file);
/* out/file, parsed, with its schema checked. */
json_t *load_result(const char *out, const char *file);
json_t *jobj(json_t *o, const char *k);
const char *jstr(json_t *o, const char *k);
double jnum(json_t *o, const char *k);
/* A metric with every statistic, ordered min <= p50 <= ... <= max, and a histogram whose
 * counts add up to count. */
json_t *metric(json_t *res, const char *name);
double counter(json_t *res, const char *name);
/* The number of samples of metric m in buckets reaching lo_ns or beyond (a bucket is 1/256
 * of its value wide: keep lo_ns away from the samples). */
double samples_above(json_t *m, double lo_ns);
/* The requirement named name in the result's list. */
json_t *requirement(json_t *res, const char *name);

#endif
