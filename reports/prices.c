/* The price list: the primitives' per-message prices from micro.json (Google Benchmark's JSON,
 * written by `make bench`), as a bar chart on a log scale and as latency against payload size
 * per transport with the cache-line hand-over drawn in as the floor no transport beats.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* A benchmark's price per operation in ns: the p50 of its own latency histogram (the counter
 * p50_ns, which a one-way benchmark keeps apart from its paced cycle), else its real time. */
static double ab__ns(json_t *b)
{
  json_t *p50 = json_object_get(b, "p50_ns");
  if (json_is_number(p50))
    return json_number_value(p50);
  const char *u = json_string_value(json_object_get(b, "time_unit"));
  double t = json_number_value(json_object_get(b, "real_time"));
  double k = !u || !strcmp(u, "ns") ? 1 : !strcmp(u, "us") ? 1e3 : !strcmp(u, "ms") ? 1e6 : !strcmp(u, "s") ? 1e9 : NAN;
  return t * k;
}

/* Does entry b stand for its benchmark (its name in *name)? A plain run does; with
 * repetitions, the mean aggregate does and the single runs do not. */
static int ab__row(json_t *b, const char **name)
{
  const char *rt = json_string_value(json_object_get(b, "run_type"));
  const char *agg = json_string_value(json_object_get(b, "aggregate_name"));
  json_t *reps = json_object_get(b, "repetitions");
  *name = json_string_value(json_object_get(b, rt && !strcmp(rt, "aggregate") ? "run_name" : "name"));
  if (!*name)
    return 0;
  if (rt && !strcmp(rt, "aggregate"))
    return agg && !strcmp(agg, "mean");
  return !(json_is_integer(reps) && json_integer_value(reps) > 1);
}

static json_t *ab__bench(const ab_rep_t *rp, const char *name)
{
  json_t *a = json_object_get(rp->micro, "benchmarks"), *b;
  size_t i;
  const char *n;
  json_array_foreach(a, i, b) if (ab__row(b, &n) && !strcmp(n, name)) return b;
  return NULL;
}

double ab_rep_micro_ns(const ab_rep_t *rp, const char *name)
{
  json_t *b = rp->micro ? ab__bench(rp, name) : NULL;
  return b ? ab__ns(b) : NAN;
}

double ab_rep_micro_prefix(const ab_rep_t *rp, const char *prefix, const char **name)
{
  json_t *a = json_object_get(rp->micro, "benchmarks"), *b;
  size_t i;
  const char *n;
  json_array_foreach(a, i, b) if (ab__row(b, &n) && !strncmp(n, prefix, strlen(prefix))) {
    *name = n;
    return ab__ns(b);
  }
  return NAN;
}

/* "pipe/procs/rtt/8" into its family, arch, mode and size. */
static int ab__split(const char *name, char *fam, char *arch, char *mode, long *size)
{
  char s[4][64];
  if (sscanf(name, "%63[^/]/%63[^/]/%63[^/]/%63s", s[0], s[1], s[2], s[3]) != 4)
    return -1;
  char *end;
  *size = strtol(s[3], &end, 10);
  if (*end)
    return -1;
  strcpy(fam, s[0]), strcpy(arch, s[1]), strcpy(mode, s[2]);
  return 0;
}

int ab_rep_price_figures(ab_rep_t *rp, char (*names)[96], char (*titles)[160], int max)
{
  if (!rp->micro || !rp->gnuplot || max < 2)
    return 0;
  json_t *a = json_object_get(rp->micro, "benchmarks"), *b;
  size_t i;
  int n = 0, rows = 0;
  char path[PATH_MAX + 32], fam[64], arch[64], mode[64];
  long size;
  /* the bars: every primitive's small message (0 or 8 bytes), round trip and one way */
  snprintf(path, sizeof path, "%s/prices.dat", rp->out);
  FILE *f = fopen(path, "w");
  if (!f)
    return 0;
  fprintf(f, "primitive us\n");
  json_array_foreach(a, i, b) {
    const char *nm;
    if (!ab__row(b, &nm) || ab__split(nm, fam, arch, mode, &size) || size > 8 ||
        (strcmp(mode, "rtt") && strcmp(mode, "oneway")) || strstr(fam, "robot-"))
      continue;
    fprintf(f, "\"%s\" %.6g\n", nm, ab__ns(b) / 1e3);
    rows++;
  }
  fclose(f);
  char vars[512];
  snprintf(vars, sizeof vars, "dat='prices.dat'; out='prices.svg'; rows=%d", rows);
  if (rows && ab_rep_gnuplot(rp, "prices", vars, "prices.svg") == 0) {
    snprintf(names[n], 96, "prices.svg");
    snprintf(titles[n++], 160, "Every primitive's price for a small message (µs, log scale): rtt = round trip, oneway = one way");
  }
  /* payload: each family with a procs round trip at three sizes or more */
  snprintf(path, sizeof path, "%s/payload.dat", rp->out);
  if (!(f = fopen(path, "w")))
    return n;
  char fams[32][64];
  int nf = 0, blocks = 0;
  double minrt = INFINITY;
  json_array_foreach(a, i, b) {
    const char *nm;
    if (!ab__row(b, &nm) || ab__split(nm, fam, arch, mode, &size) || strcmp(arch, "procs") || strcmp(mode, "rtt"))
      continue;
    int seen = 0;
    for (int k = 0; k < nf; k++)
      seen |= !strcmp(fams[k], fam);
    if (!seen && nf < 32)
      snprintf(fams[nf++], 64, "%s", fam);
  }
  for (int k = 0; k < nf; k++) {
    int pts = 0;
    json_array_foreach(a, i, b) {
      const char *nm;
      pts += ab__row(b, &nm) && !ab__split(nm, fam, arch, mode, &size) && !strcmp(fam, fams[k]) &&
             !strcmp(arch, "procs") && !strcmp(mode, "rtt");
    }
    if (pts < 3 || !strcmp(fams[k], "cacheline"))
      continue;
    fprintf(f, "\"%s\"\n", fams[k]);
    json_array_foreach(a, i, b) {
      const char *nm;
      if (ab__row(b, &nm) && !ab__split(nm, fam, arch, mode, &size) && !strcmp(fam, fams[k]) && !strcmp(arch, "procs") &&
          !strcmp(mode, "rtt"))
      {
        fprintf(f, "%ld %.6g\n", size ? size : 1, ab__ns(b) / 1e3);
        minrt = fmin(minrt, ab__ns(b) / 1e3);
      }
    }
    fprintf(f, "\n\n");
    blocks++;
  }
  fclose(f);
  /* the cache-line hand-over is the floor only if it measured under every transport: on a
   * busy machine a spinning partner can lose its CPU and take milliseconds */
  double floor = ab_rep_micro_ns(rp, "cacheline/procs/rtt/8") / 1e3;
  if (floor > minrt)
    floor = NAN;
  snprintf(vars, sizeof vars, "dat='payload.dat'; out='payload.svg'; n=%d; floor=%.6g", blocks, isnan(floor) ? -1.0 : floor);
  if (blocks && ab_rep_gnuplot(rp, "payload", vars, "payload.svg") == 0) {
    snprintf(names[n], 96, "payload.svg");
    snprintf(titles[n++], 160, "%s", isnan(floor) ? "Round trip between processes against payload size, per transport (the "
             "cache-line hand-over measured slower than them, a busy machine: no floor drawn)"
             : "Round trip between processes against payload size, per transport, with the cache-line floor");
  }
  return n;
}

/* The prices a reader is sent to: each scenario's own hand-overs (<scenario>-...) and the
 * small round trips of the main primitives, one row each, anchored as price-<name>. */
void ab_rep_price_table(const ab_rep_t *rp, FILE *f)
{
  static const char *const key[] = { "cacheline/procs/rtt/8", "futex/procs/rtt/8", "chan-shm/procs/rtt/8",
                                     "chan-ring/threads/rtt/8", "pipe/procs/rtt/8", "unix-seqpacket/procs/rtt/8",
                                     "mq/procs/rtt/8", "tcp/procs/rtt/8", "spawn/procs/fork-wait", "spawn/threads/create-join" };
  json_t *a = json_object_get(rp->micro, "benchmarks"), *b;
  size_t i;
  char v[32];
  int rows = 0;
  json_array_foreach(a, i, b) {
    const char *nm;
    int pick = 0;
    if (!ab__row(b, &nm))
      continue;
    for (size_t k = 0; k < sizeof key / sizeof key[0]; k++)
      pick |= !strcmp(nm, key[k]);
    for (int k = 0; k < rp->ngroup && !pick; k++) {
      size_t l = strlen(rp->group[k].scenario);
      pick = !strncmp(nm, rp->group[k].scenario, l) && nm[l] == '-';
    }
    if (!pick)
      continue;
    if (!rows++)
      fprintf(f, "<div class=\"wide\"><table><tr><th>primitive</th><th>p50 per operation</th></tr>\n");
    fprintf(f, "<tr id=\"price-");
    ab_rep_esc(f, nm);
    fprintf(f, "\"><td><code>");
    ab_rep_esc(f, nm);
    fprintf(f, "</code></td><td class=\"num\">%s</td></tr>\n", ab_rep_fmt(v, sizeof v, "_ns", ab__ns(b)));
  }
  if (rows)
    fprintf(f, "</table></div>\n");
}
