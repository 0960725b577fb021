/* Planted slowdowns (ABM_PLANT), for the regression gate's calibration only: a slowdown of
 * a known size in a known primitive, so `make regress-calibrate` can measure how often the
 * gate sees it.
 *
 *   ABM_PLANT=NAME=NS[,NAME=NS...]
 *
 * NAME is a link benchmark's family or one of its instances, matched whole up to a '/'
 * ("pipe" is every pipe benchmark, "pipe/procs/rtt" that family, "pipe/procs/rtt/8" one
 * size; "pipe/procs/rt" nothing). NS is nanoseconds, or a duration with its unit ("3.5us"),
 * from 1 ns to 1 s. Every timed iteration of a planted benchmark spins on the monotonic
 * clock for NS on the bench side, inside what it times (abm.c): busy work, as a slower
 * primitive would be, not a sleep. The first entry that matches a name decides.
 *
 * Nothing planted may pass for a measurement: archbench-micro says so on stderr, the output's
 * context carries "ab_plant" (what was asked, in ns), and each planted benchmark a counter
 * plant_ns. An entry that is malformed, out of range or matches no link benchmark of this
 * build exits 2 naming it.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abm.h"
#include "internal.h" /* ab_parse_int, ab_parse_duration */

#define ABM_PLANT_MAX 16

typedef struct abm_plant {
  char name[96];
  int64_t ns;
  int used; /* it named some registered benchmark */
} abm_plant_t;

static abm_plant_t plants[ABM_PLANT_MAX];
static int nplants;

static int abm__plant_bad(const char *entry, const char *why)
{
  fprintf(stderr, "archbench-micro: ABM_PLANT: '%s' %s (expected NAME=NS[,NAME=NS...], NAME a "
          "benchmark family such as pipe/procs/rtt, NS nanoseconds or a duration such as 3.5us, "
          "from 1ns to 1s)\n", entry, why);
  return 2;
}

int abm_plant_parse(const char *spec)
{
  char buf[1024];
  if (!spec || !*spec) /* unset or set empty: nothing planted */
    return 0;
  if (strlen(spec) >= sizeof buf)
    return abm__plant_bad(spec, "is too long");
  snprintf(buf, sizeof buf, "%s", spec);
  for (char *p = buf, *e; (e = strsep(&p, ",")) != NULL;) {
    char *eq = strchr(e, '='), *v = eq ? eq + 1 : NULL;
    size_t n = eq ? (size_t)(eq - e) : 0, k = v ? strlen(v) : 0;
    int64_t ns = -1;
    if (!eq || n == 0)
      return abm__plant_bad(e, "has no NAME=NS");
    if (n >= sizeof plants[0].name || e[0] == '/' || e[n - 1] == '/')
      return abm__plant_bad(e, "does not name a benchmark");
    if (nplants == ABM_PLANT_MAX)
      return abm__plant_bad(e, "is one entry too many (at most 16)");
    if (k && isdigit((unsigned char)v[k - 1]) ? ab_parse_int(v, &ns) < 0 : ab_parse_duration(v, &ns) < 0)
      ns = -1;
    if (ns < 1 || ns > AB_NS_PER_S)
      return abm__plant_bad(e, "does not give NS from 1ns to 1s");
    abm_plant_t *pl = &plants[nplants++];
    snprintf(pl->name, sizeof pl->name, "%.*s", (int)n, e);
    pl->ns = ns;
  }
  return 0;
}

/* NAME is `name` itself or its part before a '/'. */
static int abm__names(const char *plant, const char *name)
{
  size_t n = strlen(plant);
  return !strncmp(plant, name, n) && (name[n] == 0 || name[n] == '/');
}

int64_t abm_plant_ns(const char *family, int64_t bytes)
{
  char name[128];
  snprintf(name, sizeof name, "%s/%" PRId64, family, bytes);
  for (int i = 0; i < nplants; i++)
    if (abm__names(plants[i].name, name)) {
      plants[i].used = 1;
      return plants[i].ns;
    }
  return 0;
}

int abm_plant_check(void)
{
  char what[1024];
  size_t w = 0;
  for (int i = 0; i < nplants; i++) {
    if (!plants[i].used) {
      char entry[128];
      snprintf(entry, sizeof entry, "%.95s=%" PRId64, plants[i].name, plants[i].ns);
      return abm__plant_bad(entry, "matches no link benchmark of archbench-micro");
    }
    w += (size_t)snprintf(what + w, sizeof what - w, "%s%s=%" PRId64, i ? "," : "", plants[i].name,
                          plants[i].ns);
    if (w >= sizeof what)
      w = sizeof what - 1;
  }
  if (!nplants)
    return 0;
  ab_gb_context("ab_plant", what);
  fprintf(stderr, "archbench-micro: ABM_PLANT=%s: a planted slowdown of that many ns of busy work in "
          "every timed iteration; these figures are not measurements\n", what);
  return 0;
}

void abm_plant_spin(int64_t ns)
{
  for (int64_t end = ab_now_ns() + ns; ab_now_ns() < end;)
    ;
}
