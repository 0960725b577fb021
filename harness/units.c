/* Unit-aware option values, as a user types them: durations "10s", "500us", "1.5ms";
 * sizes "6MB", "64KiB", "1920"; plain integers and numbers. A bare number is seconds for a
 * duration and bytes for a size. Every parser rejects trailing junk, NaN and overflow. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

typedef struct ab__unit {
  const char *name;
  double mult;
} ab__unit_t;

/* A number as a user types one: digits, a point, an exponent, a sign where `sign` allows;
 * never leading blanks, hexadecimal ("0x10"), "inf" or "nan", which strtod would take. */
static int ab__plain_number(const char *s, const char *end, int sign)
{
  const char *p = s;
  if (sign && (*p == '-' || *p == '+'))
    p++;
  if (!(isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))))
    return 0;
  for (; p < end; p++)
    if (!isdigit((unsigned char)*p) && !strchr(".eE+-", *p))
      return 0;
  return 1;
}

/* A unit named `exact` (or none, NULL) is matched only as written, every other one in any
 * case: a duration's "m" is minutes, and "M" must not pass for it. */
static int ab__parse_scaled(const char *s, const ab__unit_t *units, const char *exact, double bare,
                            double *out)
{
  if (!s || !*s)
    return -EINVAL;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno == ERANGE || !isfinite(v) || v < 0 || !ab__plain_number(s, end, 1))
    return -EINVAL;
  while (*end == ' ')
    end++;
  double mult = bare;
  if (*end) {
    mult = 0;
    for (const ab__unit_t *u = units; u->name; u++)
      if (exact && !strcmp(u->name, exact) ? !strcmp(end, u->name) : !strcasecmp(end, u->name)) {
        mult = u->mult;
        break;
      }
    if (mult == 0)
      return -EINVAL;
  }
  *out = v * mult;
  if (*out > 9.2e18)
    return -EINVAL;
  return 0;
}

int ab_parse_duration(const char *s, int64_t *ns)
{
  static const ab__unit_t u[] = { { "ns", 1 }, { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "ms", 1e6 },
                                  { "s", 1e9 }, { "sec", 1e9 }, { "m", 60e9 }, { "min", 60e9 },
                                  { "h", 3600e9 }, { NULL, 0 } };
  double v;
  int r = ab__parse_scaled(s, u, "m", 1e9, &v);
  if (r == 0)
    *ns = (int64_t)llround(v);
  return r;
}

int ab_parse_size(const char *s, int64_t *bytes)
{
  static const ab__unit_t u[] = { { "b", 1 }, { "k", 1e3 }, { "kb", 1e3 }, { "kib", 1024 },
                                  { "m", 1e6 }, { "mb", 1e6 }, { "mib", 1048576 },
                                  { "g", 1e9 }, { "gb", 1e9 }, { "gib", 1073741824.0 }, { NULL, 0 } };
  double v;
  int r = ab__parse_scaled(s, u, NULL, 1, &v);
  if (r == 0)
    *bytes = (int64_t)llround(v);
  return r;
}

int ab_parse_int(const char *s, int64_t *v)
{
  if (!s || !*s)
    return -EINVAL;
  char *end;
  errno = 0;
  long long x = strtoll(s, &end, 10);
  if (*end || errno == ERANGE || !ab__plain_number(s, end, 1))
    return -EINVAL;
  *v = x;
  return 0;
}

int ab_parse_double(const char *s, double *v)
{
  if (!s || !*s)
    return -EINVAL;
  char *end;
  errno = 0;
  double x = strtod(s, &end);
  if (*end || errno == ERANGE || !isfinite(x) || !ab__plain_number(s, end, 1))
    return -EINVAL;
  *v = x;
  return 0;
}

void ab_fmt_ns(char *buf, size_t len, double ns)
{
  if (ns < 1e3)
    snprintf(buf, len, "%.0f ns", ns);
  else if (ns < 1e6)
    snprintf(buf, len, "%.3g us", ns / 1e3);
  else if (ns < 1e9)
    snprintf(buf, len, "%.3g ms", ns / 1e6);
  else
    snprintf(buf, len, "%.3g s", ns / 1e9);
}

void ab_fmt_exact(char *buf, size_t len, double v)
{
  for (int p = 15; p <= 17; p++) {
    snprintf(buf, len, "%.*g", p, v);
    if (strtod(buf, NULL) == v)
      return;
  }
}

int64_t ab__env_ns(const char *name, int64_t lo, int64_t hi, int64_t def)
{
  const char *e = getenv(name);
  int64_t ns;
  return e && ab_parse_duration(e, &ns) == 0 && ns >= lo && ns <= hi ? ns : def;
}
