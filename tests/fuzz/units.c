/* Fuzz target: the unit-aware option parsers (harness/units.c), given any string a user
 * could type after --duration, --param k=... or --sweep. For each parser, what it accepts:
 *   - is in its domain: durations and sizes are >= 0 and below 9.2e18, numbers finite;
 *   - reads back: a duration printed by ab_fmt_ns (3 significant digits and a unit) parses
 *     again within that rounding; an integer or a size printed whole, and a number printed
 *     with 17 digits, parse again to the same value;
 *   - ends where it should: the same string with junk after it is refused;
 *   - agrees with the others: an integer is the same number to ab_parse_double, the same
 *     count of bytes to ab_parse_size and of seconds to ab_parse_duration (below 2^53,
 *     where a double holds it whole);
 *   - does not depend on the case of its unit (sizes; durations but for "m", minutes,
 *     which is lower case only so that "M" is never taken for mega).
 */
#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_LEN 64
#define EXACT (9007199254740992.0) /* 2^53 */

/* s with its letters in the other case. */
static void swap_case(const char *s, char *out)
{
  size_t i = 0;
  do
    out[i] = (char)(islower((unsigned char)s[i]) ? toupper((unsigned char)s[i])
                                                 : tolower((unsigned char)s[i]));
  while (s[i++]);
}

/* What parse accepted from s as v: refused with junk after it, and (when any_case) the same
 * with the letters of s in the other case. */
static void ends_in_any_case(int (*parse)(const char *, int64_t *), const char *s, int64_t v,
                             int any_case)
{
  char buf[MAX_LEN + 8];
  int64_t again;
  snprintf(buf, sizeof buf, "%sx", s);
  assert(parse(buf, &again) < 0);
  if (!any_case)
    return;
  swap_case(s, buf);
  if (parse(buf, &again) < 0 || again != v) {
    fprintf(stderr, "'%s' is %" PRId64 " but '%s' is not\n", s, v, buf);
    abort();
  }
}

static void check_duration(const char *s)
{
  int64_t ns, again;
  char buf[MAX_LEN + 8];
  if (ab_parse_duration(s, &ns) < 0)
    return;
  assert(ns >= 0 && (double)ns <= 9.2e18);
  ab_fmt_ns(buf, sizeof buf, (double)ns);
  if (ab_parse_duration(buf, &again) < 0) {
    fprintf(stderr, "'%s' is %" PRId64 " ns, printed '%s', which does not parse\n", s, ns, buf);
    abort();
  }
  assert(fabs((double)again - (double)ns) <= 0.005 * (double)ns + 1);
  char *u; /* the unit, where the parser finds it (after a hex number's digits): any case
             * but a lone m */
  strtod(s, &u);
  u += strspn(u, " ");
  ends_in_any_case(ab_parse_duration, s, ns, strcmp(u, "m") != 0);
}

static void check_size(const char *s)
{
  int64_t b, again;
  char buf[MAX_LEN + 8];
  if (ab_parse_size(s, &b) < 0)
    return;
  assert(b >= 0 && (double)b <= 9.2e18);
  snprintf(buf, sizeof buf, "%" PRId64, b);
  assert(ab_parse_size(buf, &again) == 0 && (b >= EXACT || again == b));
  ends_in_any_case(ab_parse_size, s, b, 1);
}

static void check_int(const char *s)
{
  int64_t v, again;
  double d;
  char buf[MAX_LEN + 8];
  if (ab_parse_int(s, &v) < 0)
    return;
  assert(strpbrk(s, "0123456789"));
  snprintf(buf, sizeof buf, "%" PRId64, v);
  assert(ab_parse_int(buf, &again) == 0 && again == v);
  ends_in_any_case(ab_parse_int, s, v, 0);
  assert(ab_parse_double(s, &d) == 0 && d == (double)v);
  if (v >= 0 && (double)v < EXACT) {
    assert(ab_parse_size(s, &again) == 0 && again == v);
    if ((double)v * 1e9 < EXACT)
      assert(ab_parse_duration(s, &again) == 0 && again == v * 1000000000);
  }
}

static void check_double(const char *s)
{
  double v, again;
  char buf[MAX_LEN + 8];
  if (ab_parse_double(s, &v) < 0)
    return;
  assert(isfinite(v));
  snprintf(buf, sizeof buf, "%.17g", v);
  assert(ab_parse_double(buf, &again) == 0 && again == v);
  snprintf(buf, sizeof buf, "%sx", s);
  assert(ab_parse_double(buf, &again) < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char s[MAX_LEN + 1];
  if (size > MAX_LEN)
    return 0;
  memcpy(s, data, size);
  s[size] = 0;
  if (strlen(s) != size)
    return 0; /* a NUL inside: the user cannot type it */
  check_duration(s);
  check_size(s);
  check_int(s);
  check_double(s);
  return 0;
}
