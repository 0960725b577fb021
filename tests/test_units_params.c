/* Tests of option values as a user types them (harness/units.c: durations, sizes, integers,
 * numbers, and ab_fmt_ns, whose output must read back) and of a scenario's parameters
 * resolved from their defaults and --param k=v (harness/params.c, ab_param_resolve): typed,
 * ranged, every refusal naming the parameter and what was expected.
 *
 * And requirements whose limit is a parameter times limit_scale (ab_run_requirements).
 */
#include <errno.h>
#include <math.h>

#include "internal.h"
#include "test.h"

#define NS_PER_S INT64_C(1000000000)

typedef struct { const char *s; int64_t v; } int_row_t;

/* Each row's string parses to its value; every string of bad is refused with -EINVAL. */
static void parses(const char *what, int (*parse)(const char *, int64_t *), const int_row_t *ok,
                   size_t n)
{
  for (size_t i = 0; i < n; i++) {
    int64_t v = -1;
    int r = parse(ok[i].s, &v);
    if (r != 0 || v != ok[i].v)
      AB_FAIL("%s \"%s\": %d, %" PRId64 "; expected 0, %" PRId64, what, ok[i].s, r, v, ok[i].v);
  }
}

static void refuses(const char *what, int (*parse)(const char *, int64_t *), const char *const *bad)
{
  for (int i = 0; bad[i]; i++) {
    int64_t v = -1;
    int r = parse(bad[i], &v);
    if (r != -EINVAL)
      AB_FAIL("%s \"%s\": %d (%" PRId64 "); expected -EINVAL", what, bad[i], r, v);
  }
}

#define N(a) (sizeof (a) / sizeof (a)[0])

/* ---- durations -------------------------------------------------------------------------------- */

TEST(units_duration_reads_every_unit_and_a_bare_number_as_seconds)
{
  static const int_row_t ok[] = {
    { "10ms", 10000000 },     { "250us", 250000 },         { "250\xc2\xb5s", 250000 },
    { "2s", 2 * NS_PER_S },   { "2sec", 2 * NS_PER_S },    { "500ns", 500 },
    { "1.5m", 90 * NS_PER_S }, { "2min", 120 * NS_PER_S }, { "1h", 3600 * NS_PER_S },
    { "0", 0 },               { "3", 3 * NS_PER_S },       { "0.5", NS_PER_S / 2 },
    { "1e3us", 1000000 },     { "+4ms", 4000000 },         { "10MS", 10000000 },
    { "1.5ns", 2 },           { "0.4ns", 0 },              /* rounded to the nearest ns */
    { "9e18ns", INT64_C(9000000000000000000) },           /* just below the 9.2e18 ceiling */
  };
  parses("duration", ab_parse_duration, ok, N(ok));
}

/* ab_fmt_ns prints "1.23 ms": a blank between the number and its unit is read, so what it
 * prints parses again. */
TEST(units_duration_takes_a_blank_before_its_unit_as_ab_fmt_ns_prints_it)
{
  static const int_row_t ok[] = {
    { "10 ms", 10000000 }, { "1.23 ms", 1230000 }, { "2.5 s", 5 * NS_PER_S / 2 }, { "999 ns", 999 },
  };
  parses("duration", ab_parse_duration, ok, N(ok));
  static const double ns[] = { 0, 999, 1500, 1230000, 45600000, 2.5e9 };
  for (size_t i = 0; i < N(ns); i++) {
    char buf[32];
    int64_t v = -1;
    ab_fmt_ns(buf, sizeof buf, ns[i]);
    int r = ab_parse_duration(buf, &v);
    if (r != 0 || v != (int64_t)ns[i])
      AB_FAIL("%.0f ns printed \"%s\" reads back as %d, %" PRId64, ns[i], buf, r, v);
  }
}

TEST(units_duration_refuses_empty_unitless_hex_special_negative_and_overflowing_values)
{
  static const char *const bad[] = {
    "", "ms", " 10ms", "10xs", "10 m s", "5M", "10ms ", "0x10", "0x10s", "inf", "nan", "-inf",
    "-5ms", "-1", "1e999s", "9.3e18ns", "99999999999h", "10ms10", "1.2.3s", NULL,
  };
  refuses("duration", ab_parse_duration, bad);
  int64_t v = -1;
  ASSERT_EQ(ab_parse_duration(NULL, &v), -EINVAL);
}

/* ---- sizes ------------------------------------------------------------------------------------ */

TEST(units_size_reads_si_and_binary_units_in_any_case_and_bare_bytes)
{
  static const int_row_t ok[] = {
    { "6MB", 6000000 },     { "6mb", 6000000 },          { "6M", 6000000 },     { "1KiB", 1024 },
    { "64kib", 65536 },     { "1MiB", 1048576 },         { "2GiB", INT64_C(2147483648) },
    { "1.5k", 1500 },       { "1kb", 1000 },             { "1g", 1000000000 },  { "1GB", 1000000000 },
    { "10B", 10 },          { "1920", 1920 },            { "0", 0 },            { "4 KB", 4000 },
    { "0.5KiB", 512 },
  };
  parses("size", ab_parse_size, ok, N(ok));
}

TEST(units_size_refuses_unknown_units_negative_and_overflowing_values)
{
  static const char *const bad[] = {
    "", "MB", "1TB", "1KiBx", "1 KiB x", "1Kibibyte", "-1", "-1KB", "0x10", "inf", "nan", " 1KB",
    "1e10GB", "1e999", NULL,
  };
  refuses("size", ab_parse_size, bad);
  int64_t v = -1;
  ASSERT_EQ(ab_parse_size(NULL, &v), -EINVAL);
}

/* ---- integers and numbers ----------------------------------------------------------------------- */

TEST(units_int_reads_signed_decimals_to_the_int64_limits)
{
  static const int_row_t ok[] = {
    { "42", 42 }, { "-7", -7 }, { "+3", 3 }, { "0", 0 }, { "007", 7 },
    { "9223372036854775807", INT64_MAX }, { "-9223372036854775808", INT64_MIN },
  };
  parses("int", ab_parse_int, ok, N(ok));
}

TEST(units_int_refuses_fractions_exponents_hex_blanks_units_and_overflow)
{
  static const char *const bad[] = {
    "", "1.5", "1e3", "0x10", " 5", "5 ", "+ 3", "-", "abc", "10ms", "inf",
    "9223372036854775808", "-9223372036854775809", NULL,
  };
  refuses("int", ab_parse_int, bad);
  int64_t v = -1;
  ASSERT_EQ(ab_parse_int(NULL, &v), -EINVAL);
}

TEST(units_double_reads_decimals_signs_and_exponents)
{
  static const struct { const char *s; double v; } ok[] = {
    { "2.5", 2.5 }, { "-0.25", -0.25 }, { "+4", 4 }, { "1e-3", 1e-3 }, { ".5", 0.5 },
    { "0", 0 }, { "3E2", 300 }, { "12", 12 },
  };
  for (size_t i = 0; i < N(ok); i++) {
    double v = -1;
    int r = ab_parse_double(ok[i].s, &v);
    if (r != 0 || v != ok[i].v)
      AB_FAIL("double \"%s\": %d, %.17g; expected 0, %.17g", ok[i].s, r, v, ok[i].v);
  }
}

TEST(units_double_refuses_inf_nan_hex_blanks_junk_and_overflow)
{
  static const char *const bad[] = {
    "", "inf", "-inf", "infinity", "nan", "NAN", "1e999", "-1e999", "0x1p3", "0x10", "1.5x", " 1",
    "1 ", "1e", ".", "-", NULL,
  };
  for (int i = 0; bad[i]; i++) {
    double v = -1;
    int r = ab_parse_double(bad[i], &v);
    if (r != -EINVAL)
      AB_FAIL("double \"%s\": %d (%g); expected -EINVAL", bad[i], r, v);
  }
  double v;
  ASSERT_EQ(ab_parse_double(NULL, &v), -EINVAL);
}

/* ---- ab_fmt_ns -------------------------------------------------------------------------------- */

TEST(units_fmt_ns_picks_the_largest_unit_below_and_three_significant_digits)
{
  static const struct { double ns; const char *s; } rows[] = {
    { 0, "0 ns" },          { 999, "999 ns" },      { 1000, "1 us" },     { 1500, "1.5 us" },
    { 999000, "999 us" },   { 1e6, "1 ms" },        { 1234567, "1.23 ms" }, { 45.6e6, "45.6 ms" },
    { 1e9, "1 s" },         { 2.5e9, "2.5 s" },     { 60e9, "60 s" },     { 12345e6, "12.3 s" },
  };
  for (size_t i = 0; i < N(rows); i++) {
    char buf[32];
    ab_fmt_ns(buf, sizeof buf, rows[i].ns);
    if (strcmp(buf, rows[i].s))
      AB_FAIL("ab_fmt_ns(%.17g): \"%s\"; expected \"%s\"", rows[i].ns, buf, rows[i].s);
  }
}

/* ---- parameters ------------------------------------------------------------------------------- */

/* One parameter of each type, with ranges whose ends print plainly. */
static const ab_param_desc_t tparams[] = {
  { .name = "period", .type = AB_P_DURATION, .def = "10ms", .min = 1e6, .max = 1e9 },
  { .name = "buf", .type = AB_P_SIZE, .def = "64KiB", .min = 1024, .max = 262144 },
  { .name = "count", .type = AB_P_INT, .def = "4", .min = 1, .max = 16 },
  { .name = "gain", .type = AB_P_DOUBLE, .def = "0.5", .min = 0, .max = 2.5 },
  { .name = "mode", .type = AB_P_ENUM, .def = "fast", .choices = "fast|exact|off" },
};
static const ab_scenario_t tsc = { .name = "t", .params = tparams, .nparams = N(tparams) };

/* A run handle zeroed as ab_run_one makes it, for scenario sc. */
static ab_run_t *new_run(const ab_scenario_t *sc)
{
  ab_run_t *run = calloc(1, sizeof *run);
  ASSERT(run);
  run->sc = sc;
  return run;
}

/* ab_param_resolve of the test scenario with kv: its return; the run in *out if out. */
static int resolve(const char *const *kv, int n, char *err, size_t len, ab_run_t **out)
{
  ab_run_t *run = new_run(&tsc);
  err[0] = 0;
  int r = ab_param_resolve(run, kv, n, err, len);
  if (out)
    *out = run;
  else
    free(run);
  return r;
}

/* `kv` alone is refused with code, and the message says --param and every needle. */
static void expect_refused(const char *kv, int code, const char *const *needles)
{
  char err[256];
  int r = resolve(&kv, 1, err, sizeof err, NULL);
  if (r != code)
    AB_FAIL("--param %s: %d (\"%s\"); expected %d", kv, r, err, code);
  ASSERT_CONTAINS(err, "--param");
  for (int i = 0; needles[i]; i++)
    ASSERT_CONTAINS(err, needles[i]);
}

#define REFUSED(kv, code, ...) expect_refused(kv, code, (const char *const[]){ __VA_ARGS__, NULL })

/* `kv` alone is accepted and `name` then holds v. */
static void expect_value(const char *kv, const char *name, double v)
{
  char err[256];
  ab_run_t *run;
  int r = resolve(&kv, 1, err, sizeof err, &run);
  if (r != 0)
    AB_FAIL("--param %s: %d (\"%s\"); expected 0", kv, r, err);
  ASSERT_DBL(ab_param(run, name), ==, v);
  free(run);
}

TEST(params_defaults_apply_when_nothing_is_given)
{
  char err[256];
  ab_run_t *run;
  ASSERT_EQ(resolve(NULL, 0, err, sizeof err, &run), 0);
  ASSERT_DBL(ab_param(run, "period"), ==, 10e6);
  ASSERT_DBL(ab_param(run, "buf"), ==, 65536);
  ASSERT_DBL(ab_param(run, "count"), ==, 4);
  ASSERT_DBL(ab_param(run, "gain"), ==, 0.5);
  ASSERT_DBL(ab_param(run, "mode"), ==, 0); /* an enum's value is its choice's index */
  ASSERT_STR(ab_param_str(run, "period"), "10ms");
  ASSERT_STR(ab_param_str(run, "buf"), "64KiB");
  ASSERT_STR(ab_param_str(run, "mode"), "fast");
  for (int i = 0; i < tsc.nparams; i++)
    ASSERT_EQ(run->pset[i], 0);
  ASSERT_DBL(ab_param(run, "nope"), ==, 0);
  ASSERT_STR(ab_param_str(run, "nope"), "");
  free(run);
}

TEST(params_given_values_override_defaults_are_recorded_as_given_and_the_last_wins)
{
  static const char *const kv[] = { "period=250ms", "buf=1KiB", "count=9", "count=16", "gain=2.5",
                                     "mode=exact" };
  char err[256];
  ab_run_t *run;
  int r = resolve(kv, (int)N(kv), err, sizeof err, &run);
  if (r != 0)
    AB_FAIL("resolve: %d \"%s\"", r, err);
  ASSERT_DBL(ab_param(run, "period"), ==, 250e6);
  ASSERT_DBL(ab_param(run, "buf"), ==, 1024);
  ASSERT_DBL(ab_param(run, "count"), ==, 16);
  ASSERT_DBL(ab_param(run, "gain"), ==, 2.5);
  ASSERT_DBL(ab_param(run, "mode"), ==, 1);
  ASSERT_STR(ab_param_str(run, "period"), "250ms");
  ASSERT_STR(ab_param_str(run, "buf"), "1KiB");
  ASSERT_STR(ab_param_str(run, "count"), "16");
  ASSERT_STR(ab_param_str(run, "mode"), "exact");
  for (int i = 0; i < tsc.nparams; i++)
    ASSERT_EQ(run->pset[i], 1);
  free(run);

  const char *one = "gain=2";
  ASSERT_EQ(resolve(&one, 1, err, sizeof err, &run), 0);
  ASSERT_EQ(run->pset[3], 1);
  ASSERT_EQ(run->pset[0] + run->pset[1] + run->pset[2] + run->pset[4], 0);
  ASSERT_DBL(ab_param(run, "period"), ==, 10e6);
  free(run);
}

TEST(params_range_ends_are_accepted)
{
  expect_value("period=1ms", "period", 1e6);
  expect_value("period=1s", "period", 1e9);
  expect_value("buf=1024", "buf", 1024);
  expect_value("buf=256KiB", "buf", 262144);
  expect_value("count=1", "count", 1);
  expect_value("count=16", "count", 16);
  expect_value("gain=0", "gain", 0);
  expect_value("gain=2.5", "gain", 2.5);
  expect_value("mode=off", "mode", 2);
}

TEST(params_out_of_range_is_refused_naming_the_param_and_its_range)
{
  REFUSED("period=999us", -ERANGE, "period=999us", "out of range", "1 ms to 1 s");
  REFUSED("period=1001ms", -ERANGE, "period=1001ms", "1 ms to 1 s");
  REFUSED("buf=1023", -ERANGE, "buf=1023", "out of range", "1024 to 262144");
  REFUSED("buf=257KiB", -ERANGE, "buf=257KiB", "1024 to 262144");
  REFUSED("count=0", -ERANGE, "count=0", "out of range", "1 to 16");
  REFUSED("count=17", -ERANGE, "count=17", "1 to 16");
  REFUSED("gain=-0.1", -ERANGE, "gain=-0.1", "out of range", "0 to 2.5");
  REFUSED("gain=2.51", -ERANGE, "gain=2.51", "0 to 2.5");
}

TEST(params_unknown_name_is_refused_listing_the_scenarios_params)
{
  REFUSED("speed=3", -EINVAL, "--param speed:", "scenario t has no such parameter",
          "period buf count gain mode)");
  REFUSED("Period=10ms", -EINVAL, "--param Period:", "no such parameter");
}

TEST(params_enum_value_not_among_its_choices_is_refused_naming_them)
{
  REFUSED("mode=slow", -EINVAL, "mode=slow", "unknown value", "fast|exact|off");
  REFUSED("mode=fas", -EINVAL, "mode=fas", "fast|exact|off");
  REFUSED("mode=fastx", -EINVAL, "mode=fastx", "fast|exact|off");
  REFUSED("mode=FAST", -EINVAL, "mode=FAST", "fast|exact|off");
  REFUSED("mode=", -EINVAL, "mode=", "fast|exact|off");
  REFUSED("mode=fast|exact", -EINVAL, "fast|exact|off");
}

TEST(params_without_name_equals_value_are_refused)
{
  REFUSED("count", -EINVAL, "--param count: expected NAME=VALUE");
  REFUSED("=4", -EINVAL, "--param =4: expected NAME=VALUE");
  REFUSED("", -EINVAL, "expected NAME=VALUE");
}

TEST(params_value_not_of_the_params_type_is_refused_naming_the_type)
{
  REFUSED("period=fast", -EINVAL, "period=fast", "not a duration");
  REFUSED("period=-1ms", -EINVAL, "period=-1ms", "not a duration");
  REFUSED("buf=6XB", -EINVAL, "buf=6XB", "not a size");
  REFUSED("count=1.5", -EINVAL, "count=1.5", "not an integer");
  REFUSED("count=", -EINVAL, "count=", "not an integer");
  REFUSED("gain=abc", -EINVAL, "gain=abc", "not a number");
  REFUSED("gain=nan", -EINVAL, "gain=nan", "not a number");
}

/* The result records a value as given: one too long for that is refused, not cut short. */
TEST(params_value_too_long_to_record_whole_is_refused)
{
  char kv[128], val[80];
  memset(val, '0', sizeof val);
  val[0] = '1';
  val[1] = '.';
  val[63] = 0; /* 63 characters: recorded whole */
  snprintf(kv, sizeof kv, "gain=%s", val);
  expect_value(kv, "gain", 1);
  val[63] = '0';
  val[64] = 0; /* 64 */
  snprintf(kv, sizeof kv, "gain=%s", val);
  REFUSED(kv, -EINVAL, "--param gain=1.000", "value too long");
}

/* A default out of its own range is a descriptor bug: resolving the defaults says which. */
TEST(params_default_out_of_range_is_refused_naming_it)
{
  static const ab_param_desc_t p[] = {
    { .name = "count", .type = AB_P_INT, .def = "40", .min = 1, .max = 16 },
  };
  static const ab_scenario_t sc = { .name = "bad", .params = p, .nparams = 1 };
  ab_run_t *run = new_run(&sc);
  char err[256] = "";
  ASSERT_EQ(ab_param_resolve(run, NULL, 0, err, sizeof err), -ERANGE);
  ASSERT_CONTAINS(err, "count=40");
  ASSERT_CONTAINS(err, "1 to 16");
  free(run);
}

/* ---- requirements with a limit from a parameter ---------------------------------------- */

static const ab_param_desc_t rparams[] = {
  { .name = "period", .type = AB_P_DURATION, .def = "10ms", .min = 1e6, .max = 1e9 },
};
static const char *const rvalues[] = { "lag" };
static const ab_req_desc_t rreqs[] = {
  { .name = "lag", .op = AB_LE, .limit_param = "period", .limit_scale = 0.5 },
  { .name = "lag", .op = AB_GE, .limit = 1000 },
};
static const ab_scenario_t rsc = { .name = "r", .params = rparams, .nparams = 1, .values = rvalues, .nvalues = 1,
                                   .reqs = rreqs, .nreqs = 2 };

/* The run after resolving kv and setting lag (NAN: never set), requirements evaluated. */
static ab_run_t *evaluated(const char *kv, double lag)
{
  ab_run_t *run = new_run(&rsc);
  char err[256];
  ASSERT_EQ(ab_param_resolve(run, kv ? &kv : NULL, kv ? 1 : 0, err, sizeof err), 0);
  ab__tables(run);
  if (!isnan(lag))
    ab_run_value_set(run, 0, lag);
  ab_run_requirements(run);
  return run;
}

TEST(requirements_limit_from_a_param_is_the_param_times_its_scale)
{
  ab_run_t *run = evaluated(NULL, 4.9e6);
  ASSERT_DBL(run->req[0].limit, ==, 5e6); /* 10 ms * 0.5 */
  ASSERT(run->req[0].have && run->req[0].pass);
  ASSERT_DBL(run->req[1].limit, ==, 1000);
  ASSERT_EQ(run->req_failed, 0);
  free(run);
  run = evaluated(NULL, 5.1e6);
  ASSERT(run->req[0].have && !run->req[0].pass);
  ASSERT_EQ(run->req_failed, 1);
  free(run);
  run = evaluated("period=20ms", 5.1e6); /* the limit follows the parameter as given */
  ASSERT_DBL(run->req[0].limit, ==, 1e7);
  ASSERT(run->req[0].pass);
  free(run);
  run = evaluated(NULL, NAN); /* never set: no data, which fails */
  ASSERT(!run->req[0].have && !run->req[0].pass && !run->req[1].pass);
  ASSERT_EQ(run->req_failed, 2);
  free(run);
}
