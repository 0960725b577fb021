/* The claims table's verdicts on hand-made figures: a bound, a range, an "about" figure and
 * a ratio between two runs, each on both sides of the line, so a verdict that always holds
 * (or never does) fails here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "report.h"
#include "test.h"

static void put(const char *dir, const char *name, const char *text)
{
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  ASSERT(f);
  fputs(text, f);
  fclose(f);
}

/* A micro.json with these per-op times (ns). */
static void micro(const char *dir, const char *const *names, const double *ns, int n)
{
  char buf[4096];
  size_t k = snprintf(buf, sizeof buf, "{\"context\": {}, \"benchmarks\": [");
  for (int i = 0; i < n; i++)
    k += snprintf(buf + k, sizeof buf - k,
                  "%s{\"name\": \"%s\", \"run_name\": \"%s\", \"run_type\": \"iteration\", \"real_time\": %g, "
                  "\"cpu_time\": %g, \"time_unit\": \"ns\"}", i ? ", " : "", names[i], names[i], ns[i], ns[i]);
  snprintf(buf + k, sizeof buf - k, "]}");
  put(dir, "micro.json", buf);
}

/* The claims table of dir, as HTML. */
static char *table(const char *dir)
{
  ab_rep_t rp;
  char err[512], *dirs[] = { (char *)dir }, *out = NULL;
  size_t len = 0;
  int rc = ab_rep_load(&rp, 1, dirs, err, sizeof err);
  if (rc)
    AB_FAIL("load %s: %s", dir, err);
  FILE *f = open_memstream(&out, &len);
  ab_rep_claims(&rp, f);
  fclose(f);
  ab_rep_free(&rp);
  return out;
}

/* The row of claim id, as a string of its own. */
static char *row(const char *html, const char *id)
{
  char key[128];
  snprintf(key, sizeof key, "<tr id=\"claim-%s\">", id);
  const char *s = strstr(html, key);
  if (!s)
    AB_FAIL("no row for claim %s", id);
  const char *e = strstr(s, "</tr>");
  return strndup(s, e - s);
}

/* The row of claim id says text. */
static void expect(const char *html, const char *id, const char *text)
{
  char *r = row(html, id);
  ASSERT_CONTAINS(r, text);
  free(r);
}

TEST(report_claims_bounds_and_ranges_are_judged_on_both_sides)
{
  static const char *const n[] = { "robot-obs-ring/threads/oneway/48", "robot-obs-pipe/procs/oneway/48",
                                    "robot-frame-pipe/procs/oneway/6220800", "chan-ring/threads/oneway/8",
                                    "mq/procs/oneway/8" };
  /* ring 50 us (under the 100 us bound); pipe 0.1 ms (10x under the 1-5 ms range, and 100/s
   * of it 1% of a CPU: 10x under 10-50%); pipe/ring 2x (5x under 10-50x); a 6 MB frame
   * 0.5 ms (2x under "over 1 ms"); a thread queue 12 us (about 10: holds) and a process
   * queue 200 us (about 50: 4x over) */
  static const double ns[] = { 50e3, 100e3, 0.5e6, 12e3, 200e3 };
  const char *d = temp_path(1);
  micro(d, n, ns, 5);
  char *h = table(d);
  expect(h, "robot_thread_handoff", "holds");
  expect(h, "robot_process_queue", "wrong by 10&times;</span>: lower");
  expect(h, "robot_ipc_cpu", "wrong by 10&times;</span>: lower");
  expect(h, "robot_threads_faster", "wrong by 5&times;</span>: lower");
  expect(h, "robot_frame_queue", "wrong by 2&times;</span>: lower");
  expect(h, "audio_thread_queue", "holds");
  expect(h, "audio_process_queue", "wrong by 4&times;</span>: higher");
  /* a claim no scenario measures yet, and one whose scenario was not run */
  expect(h, "instrument_multiplexing", "not measured yet");
  expect(h, "gil_efficiency_10", "not measured in this run");
  free(h);
  cleanup_now();
}

/* A minimal result of agents under the GIL, with its claims as a run writes them. */
static void agents_result(const char *dir, const char *arch, double rate, const char *claims)
{
  char buf[2048], name[64];
  snprintf(buf, sizeof buf,
           "{\"schema\": \"archbench-result/1\", \"scenario\": \"agents\", \"arch\": \"%s\", \"transport\": \"ring\", "
           "\"status\": \"ok\", \"error\": null, \"gil\": {\"interval_s\": 0.005, \"free\": 0}, \"sweep\": null, "
           "\"started_at\": \"2026-01-01T00:00:00Z\", \"duration_s\": 1, \"metrics\": {}, \"counters\": {}, "
           "\"values\": {\"agents.steps_per_s\": %g}, \"resources\": {\"cpu_percent\": 100, \"total\": {\"rss_kb\": 1000, "
           "\"pss_kb\": 1000}}, \"requirements\": [], \"claims\": [%s]}",
           arch, rate, claims);
  snprintf(name, sizeof name, "agents.%s.gil.json", arch);
  put(dir, name, buf);
}

TEST(report_claims_ratio_to_joins_the_run_that_differs_only_in_its_runtime)
{
  for (int k = 0; k < 2; k++) {
    const char *d = temp_path(1);
    /* hybrid 300 steps/s: 3x threads' 100 holds "3-4x"; 6x threads' 50 is 1.5x over */
    agents_result(d, "threads", k ? 50 : 100,
                  "{\"id\": \"hybrid_speedup\", \"applies\": false, \"measured\": null, \"here\": null}");
    agents_result(d, "hybrid", 300, "{\"id\": \"hybrid_speedup\", \"applies\": true, \"measured\": null, \"here\": 300}");
    char *h = table(d), *r = row(h, "hybrid_speedup");
    if (k == 0) {
      ASSERT_CONTAINS(r, "3 x");
      ASSERT_CONTAINS(r, "holds");
    } else {
      ASSERT_CONTAINS(r, "6 x");
      ASSERT_CONTAINS(r, "wrong by 1.5&times;</span>: higher");
    }
    free(r);
    free(h);
    cleanup_now();
  }
}
