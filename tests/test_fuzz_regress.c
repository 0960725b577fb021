/* What the fuzz targets in tests/fuzz/ found, pinned so that it stays fixed: each test names
 * the target and the input that broke a property (`make fuzz` runs the targets).
 */
#include <errno.h>

#include "internal.h"
#include "test.h"

/* units: "1.5m" was 1.5 MB but "1.5M" was refused: the rule that keeps a duration's "m"
 * (minutes) from being read as "M" held for sizes too, where M is the usual spelling. */
TEST(fuzz_regress_units_size_unit_in_any_case_1_5M_is_1_5MB)
{
  static const struct { const char *s; int64_t bytes; } ok[] = {
    { "1.5m", 1500000 }, { "1.5M", 1500000 }, { "6M", 6000000 }, { "6MB", 6000000 },
    { "64k", 64000 }, { "64K", 64000 }, { "2GiB", 2147483648 }, { "2gib", 2147483648 },
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    int64_t b = -1;
    int r = ab_parse_size(ok[i].s, &b);
    if (r != 0 || b != ok[i].bytes)
      AB_FAIL("ab_parse_size(\"%s\"): %d, %" PRId64 " bytes; expected 0, %" PRId64, ok[i].s, r,
              b, ok[i].bytes);
  }
}

/* ...while a duration's lone "m" stays minutes, in lower case only. */
TEST(fuzz_regress_units_duration_m_is_minutes_and_M_is_refused)
{
  int64_t ns = -1;
  ASSERT_EQ(ab_parse_duration("5m", &ns), 0);
  ASSERT_EQ(ns, 300 * INT64_C(1000000000));
  ASSERT_EQ(ab_parse_duration("5MIN", &ns), 0);
  ASSERT_EQ(ns, 300 * INT64_C(1000000000));
  ASSERT_EQ(ab_parse_duration("5MS", &ns), 0);
  ASSERT_EQ(ns, 5000000);
  ASSERT_EQ(ab_parse_duration("5M", &ns), -EINVAL);
}

/* Numbers as a user types them: no leading blanks, no hexadecimal, no inf/nan, which strtod
 * and strtoll would otherwise take ("0x10s" was 16 s). */
TEST(units_refuse_blanks_hex_inf_and_nan)
{
  static const char *const bad[] = { " 10s", "0x10s", "inf", "nan", "0x1b", " 3", "+ 3", "1e", NULL };
  int64_t v;
  double d;
  for (int i = 0; bad[i]; i++) {
    if (ab_parse_duration(bad[i], &v) == 0)
      AB_FAIL("duration \"%s\" accepted as %" PRId64 " ns", bad[i], v);
    if (ab_parse_size(bad[i], &v) == 0)
      AB_FAIL("size \"%s\" accepted as %" PRId64 " bytes", bad[i], v);
    if (ab_parse_double(bad[i], &d) == 0)
      AB_FAIL("number \"%s\" accepted as %g", bad[i], d);
  }
  ASSERT_EQ(ab_parse_int(" 3", &v), -EINVAL);
  ASSERT_EQ(ab_parse_int("-3", &v), 0);
  ASSERT_EQ(v, -3);
  ASSERT_EQ(ab_parse_duration(".5s", &v), 0);
  ASSERT_EQ(v, 500000000);
  ASSERT_EQ(ab_parse_double("-2.5e-1", &d), 0);
  ASSERT_DBL(d, ==, -0.25);
}
