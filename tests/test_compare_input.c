/* `archbench compare` refuses bad input: exit 2, nothing on stdout, nothing written, and
 * stderr naming what is wrong (the directory, the file, the value and its range). The sides
 * are tests/cmpfix.h's, spoilt one way per test.
 */
#include <unistd.h>

#include "cmpfix.h"
#include "proc.h"
#include "test.h"

/* ---- bad input -------------------------------------------------------------------------- */

/* What is wrong with the sides, beyond the arguments: BASE and NEW are good A/A sides of three
 * repeats, then one of these is done to them. */
enum cx_twist {
  TW_NONE,
  TW_BASE_MISSING,   /* BASE is named but not there */
  TW_NEW_A_FILE,     /* NEW is a file */
  TW_NEW_EMPTY,      /* NEW holds nothing */
  TW_EXTRA_SCENARIO, /* NEW also ran robot.loop */
  TW_SCHEMA_2,       /* one of NEW's results is of another schema */
  TW_FAILED_RUN,     /* one of NEW's results failed */
  TW_BROKEN_JSON,    /* one of NEW's results is cut short */
  TW_MICRO_NOT_GB,   /* one of NEW's micro.json is no Google Benchmark JSON */
  TW_LONG_FILE_NAME, /* NEW also holds a result whose file name is over 200 characters */
  TW_LONG_METRIC,    /* one of NEW's results has a metric named in 250 characters */
};

#define CX_X10 "xxxxxxxxxx"
#define CX_X50 CX_X10 CX_X10 CX_X10 CX_X10 CX_X10
#define CX_G10 "a*,a*,a*,a*,a*,a*,a*,a*,a*,a*,"

/* X(name, twist, arguments after "compare" ({B} and {N} are the sides), two things stderr
 * must hold ({B} and {N} again) */
#define COMPARE_BAD_INPUT(X)                                                                                 \
  X(missing_base_directory, TW_BASE_MISSING, L("{B}", "{N}"), "{B}", "No such file")                         \
  X(new_is_a_file, TW_NEW_A_FILE, L("{B}", "{N}"), "{N}", "not a directory")                                 \
  X(empty_new_directory, TW_NEW_EMPTY, L("{B}", "{N}"), "{N}", "holds no result")                            \
  X(mismatched_scenarios, TW_EXTRA_SCENARIO, L("{B}", "{N}"), "mismatched scenarios", "robot.loop")          \
  X(different_schema, TW_SCHEMA_2, L("{B}", "{N}"), "run02/" CX_KEY ".json", "archbench-result/2")           \
  X(failed_result, TW_FAILED_RUN, L("{B}", "{N}"), "run02/" CX_KEY ".json", "worker died")                   \
  X(broken_result_json, TW_BROKEN_JSON, L("{B}", "{N}"), "run02/" CX_KEY ".json", "{N}")                     \
  X(micro_json_not_google_benchmark, TW_MICRO_NOT_GB, L("{B}", "{N}"), "run01/micro.json", "benchmarks")     \
  X(threshold_over_100pct, TW_NONE, L("{B}", "{N}", "--threshold", "150%"), "150%", "below 1")               \
  X(threshold_zero, TW_NONE, L("{B}", "{N}", "--threshold", "0"), "--threshold 0", "above 0")                \
  X(threshold_negative, TW_NONE, L("{B}", "{N}", "--threshold", "-5%"), "-5%", "above 0")                    \
  X(threshold_not_a_number, TW_NONE, L("{B}", "{N}", "--threshold", "fast"), "fast", "5%")                   \
  X(threshold_without_a_value, TW_NONE, L("{B}", "{N}", "--threshold"), "--threshold", "value")              \
  X(alpha_at_one_half, TW_NONE, L("{B}", "{N}", "--alpha", "0.5"), "--alpha 0.5", "below 0.5")               \
  X(alpha_zero, TW_NONE, L("{B}", "{N}", "--alpha", "0"), "--alpha 0", "above 0")                            \
  X(alpha_trailing_junk, TW_NONE, L("{B}", "{N}", "--alpha", "0.01x"), "0.01x", "fraction")                  \
  X(unknown_option, TW_NONE, L("{B}", "{N}", "--frobnicate"), "--frobnicate", "unknown")                     \
  X(metrics_matching_nothing, TW_NONE, L("{B}", "{N}", "--metrics", "nothing:*"), "nothing:*", "matches no") \
  X(metrics_empty, TW_NONE, L("{B}", "{N}", "--metrics", ","), "--metrics", "glob")                          \
  X(metrics_over_64_globs, TW_NONE, L("{B}", "{N}", "--metrics", CX_G10 CX_G10 CX_G10 CX_G10 CX_G10 CX_G10   \
    CX_G10), "--metrics", "more than 64 globs")                                                              \
  X(file_name_too_long, TW_LONG_FILE_NAME, L("{B}", "{N}"), "{N}/run01/robot." CX_X10, "a file name over")   \
  X(metric_name_too_long, TW_LONG_METRIC, L("{B}", "{N}"), "NEW", "has a name over")                         \
  X(json_output_over_a_result, TW_NONE, L("{B}", "{N}", "--json", "{N}/run01/" CX_KEY ".json"), "--json",    \
    "an input")                                                                                              \
  X(markdown_output_over_micro_json, TW_NONE, L("{B}", "{N}", "--markdown", "{B}/run02/micro.json"),         \
    "{B}/run02/micro.json", "an input")                                                                      \
  X(junit_and_markdown_one_file, TW_NONE, L("{B}", "{N}", "--junit", "{B}/out", "--markdown", "{B}/out"),    \
    "--junit and --markdown", "{B}/out")                                                                     \
  X(a_third_directory, TW_NONE, L("{B}", "{N}", "{B}"), "{B}", "one BASE_DIR and one NEW_DIR")               \
  X(no_new_directory, TW_NONE, L("{B}"), "missing NEW_DIR", "usage")

/* s with {B} and {N} replaced by the sides */
static const char *cx_expand(const cx_pair_t *pr, const char *s, char *buf, size_t len)
{
  buf[0] = 0;
  for (const char *p = s; *p;) {
    const char *b = strstr(p, "{B}"), *n = strstr(p, "{N}"), *t = b && (!n || b < n) ? b : n;
    size_t l = strlen(buf);
    if (!t) {
      snprintf(buf + l, len - l, "%s", p);
      break;
    }
    snprintf(buf + l, len - l, "%.*s%s", (int)(t - p), p, t == b ? pr->base : pr->new_);
    p = t + 3;
  }
  return buf;
}

static void cx_twist(cx_pair_t *pr, enum cx_twist tw)
{
  char path[PATH_MAX + 64];
  switch (tw) {
  case TW_NONE:
    break;
  case TW_BASE_MISSING:
    strcat(pr->base, "/no-such-run");
    break;
  case TW_NEW_A_FILE:
    strcat(pr->new_, "/run01/" CX_KEY ".json");
    break;
  case TW_NEW_EMPTY:
    cleanup_now(); /* no sides written, just an empty one */
    snprintf(pr->new_, sizeof pr->new_, "%s", temp_path(1));
    cx_write_side(strcpy(pr->base, temp_path(1)), &(cx_side_t){ .n = 3, .seed = 1 });
    break;
  case TW_EXTRA_SCENARIO:
    snprintf(path, sizeof path, "%s/run01/robot.loop.json", pr->new_);
    cx_result(path, "loop", cx_hist_metric(1e5, 2e5, 3e5, 1000), 10, NULL, NULL, NULL);
    break;
  case TW_SCHEMA_2:
  case TW_FAILED_RUN:
    snprintf(path, sizeof path, "%s/run02/" CX_KEY ".json", pr->new_);
    cx_result(path, "threads", cx_hist_metric(1e5, 2e5, 3e5, 1000), 10, tw == TW_FAILED_RUN ? "failed" : NULL,
              tw == TW_FAILED_RUN ? "worker died" : NULL, tw == TW_SCHEMA_2 ? "archbench-result/2" : NULL);
    break;
  case TW_LONG_FILE_NAME:
    snprintf(path, sizeof path, "%.3800s/run01/robot." CX_X50 CX_X50 CX_X50 CX_X50 CX_X10 ".json", pr->new_);
    cx_result(path, "threads", cx_hist_metric(1e5, 2e5, 3e5, 1000), 10, NULL, NULL, NULL);
    break;
  case TW_LONG_METRIC:
    snprintf(path, sizeof path, "%s/run02/" CX_KEY ".json", pr->new_);
    cx_set(path, "metrics/" CX_X50 CX_X50 CX_X50 CX_X50 CX_X50, cx_hist_metric(1e5, 2e5, 3e5, 1000));
    break;
  case TW_BROKEN_JSON:
  case TW_MICRO_NOT_GB:
    snprintf(path, sizeof path, "%s/%s", pr->new_, tw == TW_BROKEN_JSON ? "run02/" CX_KEY ".json" : "run01/micro.json");
    FILE *f = fopen(path, "w");
    ASSERT(f != NULL);
    fputs(tw == TW_BROKEN_JSON ? "{\"schema\": \"archbench-result/1\", \"scenario\": " : "{\"context\": {}}\n", f);
    fclose(f);
    break;
  }
}

/* Exit 2, stdout empty, stderr holding both needles, and no compare.json written. */
static void cx_bad_input(enum cx_twist tw, const char *const *args, const char *n1, const char *n2)
{
  cx_pair_t pr;
  cx_sides(&pr, 3, 3, &(cx_side_t){ 0 });
  cx_twist(&pr, tw);
  const char *argv[16] = { "compare" };
  char bufs[8][PATH_MAX + 64], w1[PATH_MAX + 64], w2[PATH_MAX + 64];
  int n = 1;
  for (int i = 0; args[i]; i++, n++) {
    ASSERT(n < 9);
    argv[n] = cx_expand(&pr, args[i], bufs[n - 1], sizeof bufs[0]);
  }
  argv[n] = NULL;
  proc_t p;
  run_ab(&p, argv, CX_TIMEOUT_S);
  if (p.code != 2)
    AB_FAIL("`%s` exited %d, expected 2; stdout: %.2000s stderr: %.1000s", p.cmd, p.code, p.out, p.err);
  ASSERT_STR(p.out, "");
  ASSERT_CONTAINS(p.err, cx_expand(&pr, n1, w1, sizeof w1));
  ASSERT_CONTAINS(p.err, cx_expand(&pr, n2, w2, sizeof w2));
  char cj[PATH_MAX + 16];
  snprintf(cj, sizeof cj, "%s/compare.json", pr.new_);
  ASSERT_EQ(access(cj, F_OK), -1);
  proc_free(&p);
  cleanup_now();
}

#define COMPARE_BAD_INPUT_TEST(name, tw, args, n1, n2) \
  TEST_T(compare_bad_input_##name##_exits_2_naming_it, 20) { cx_bad_input(tw, args, n1, n2); }
COMPARE_BAD_INPUT(COMPARE_BAD_INPUT_TEST)
