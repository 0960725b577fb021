/* archbench-micro: the micro-benchmarks of the primitives (issue 3), on Google Benchmark.
 * argv goes to Google Benchmark, so its flags work as its users expect (--benchmark_filter,
 * --benchmark_repetitions, --benchmark_min_time, --benchmark_format, --benchmark_out...).
 * Ours, taken out before it sees argv:
 *   --smoke          every benchmark once, for one iteration (the test suite's pass)
 *   --shim-selftest  only the shim's own self-test benchmarks (bench/selftest.c)
 *   --pin=none|same|cross   where the two sides of a link run: as the scheduler places
 *                    them (default), both on one CPU (as rt-tests and `taskset -c 0 perf
 *                    bench sched pipe` measure), or one CPU each
 *   --interval=US    pace every one-way benchmark as pmqtest/ptsematest -i US do (abm.h)
 * and from the environment ABM_PLANT=NAME=NS,..., a planted slowdown (bench/plant.c).
 * Bad usage exits 2 with one line naming the bad value and what was expected: our flags,
 * a flag neither we nor Google Benchmark know, a filter that is no regular expression or
 * matches nothing (Google Benchmark itself would exit 0 or 1 for these).
 * The families are one file each in bench/, listed once in ABM_FAMILIES (abm.h).
 */
#include <ctype.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "abm.h"
#include "internal.h" /* ab_parse_int, ab_parse_duration */

static void (*const families[])(void) = {
#define ABM_ENTRY(n) abm_register_##n,
  ABM_FAMILIES(ABM_ENTRY)
#undef ABM_ENTRY
};

static void context(void)
{
  struct utsname u;
  char cs[64] = "";
  FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "re");
  if (f) {
    if (fgets(cs, sizeof cs, f))
      cs[strcspn(cs, "\n")] = 0;
    fclose(f);
  }
  if (uname(&u) == 0)
    ab_gb_context("kernel", u.release);
  if (cs[0])
    ab_gb_context("clocksource", cs);
}

/* A signal ends us as it would have, after removing what would outlive us. Forked peers
 * die with us (PR_SET_PDEATHSIG); shared memory and POSIX queues are already unlinked. */
static void on_signal(int sig)
{
  abm_cleanup();
  signal(sig, SIG_DFL);
  raise(sig);
}

/* --pin: pin this thread (the bench side, and what it starts inherits it) and choose the
 * peer's CPU. Returns 0, or 2 after saying what was wrong. */
static int pin(const char *v)
{
  cpu_set_t set;
  int cpu[2] = { -1, -1 }, n = 0;
  char what[64];
  if (!strcmp(v, "none"))
    return 0;
  if (strcmp(v, "same") && strcmp(v, "cross")) {
    fprintf(stderr, "archbench-micro: --pin: '%s' is not one of none, same, cross\n", v);
    return 2;
  }
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
      if (CPU_ISSET(c, &set))
        cpu[n++] = c;
  abm_pin = strcmp(v, "same") ? ABM_PIN_CROSS : ABM_PIN_SAME;
  if (abm_pin == ABM_PIN_CROSS && n < 2) {
    fprintf(stderr, "archbench-micro: --pin=cross needs two CPUs; this process may use %d\n", n);
    return 2;
  }
  abm_pin_peer_cpu = cpu[abm_pin == ABM_PIN_CROSS];
  CPU_ZERO(&set);
  CPU_SET(cpu[0], &set);
  sched_setaffinity(0, sizeof set, &set);
  if (abm_pin == ABM_PIN_SAME)
    snprintf(what, sizeof what, "same: both sides on CPU %d", cpu[0]);
  else
    snprintf(what, sizeof what, "cross: bench side on CPU %d, peer on CPU %d", cpu[0], cpu[1]);
  ab_gb_context("pin", what);
  return 0;
}

/* --interval: a bare number is microseconds, as the rt-tests' -i; a duration with a unit
 * must come to whole microseconds. Sets abm_interval_us; returns 0, or 2 after saying what
 * was wrong. */
static int interval(const char *v)
{
  size_t n = strlen(v);
  int64_t us = -1, ns;
  int ok;
  if (n && isdigit((unsigned char)v[n - 1]))
    ok = ab_parse_int(v, &us) == 0;
  else if ((ok = ab_parse_duration(v, &ns) == 0 && ns % 1000 == 0))
    us = ns / 1000;
  if (!ok || us < 0 || us > ABM_INTERVAL_MAX_US) {
    fprintf(stderr, "archbench-micro: --interval: '%s' is not a whole number of microseconds "
            "from 0 to %d (such as 100, 100us or 10ms)\n", v, ABM_INTERVAL_MAX_US);
    return 2;
  }
  abm_interval_us = us;
  return 0;
}

/* Google Benchmark answers a bad value of these by printing its usage and exiting 0. */
static int gb_choice(const char *arg)
{
  static const char *const flags[][2] = {
    { "--benchmark_format=", "console, json, csv" },
    { "--benchmark_out_format=", "console, json, csv" },
    { "--benchmark_time_unit=", "ns, us, ms, s" },
  };
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
    size_t k = strlen(flags[i][0]);
    if (strncmp(arg, flags[i][0], k))
      continue;
    const char *v = arg + k, *c = flags[i][1];
    for (size_t n; *c; c += n + strspn(c + n, ", "))
      if ((n = strcspn(c, ",")) == strlen(v) && !strncmp(c, v, n))
        return 0;
    fprintf(stderr, "archbench-micro: %.*s: '%s' is not one of %s\n", (int)k - 1, arg, v,
            flags[i][1]);
    return 2;
  }
  return 0;
}

int main(int argc, char **argv)
{
  char *args[argc + 2];
  int n = 0, smoke = 0, selftest = 0, help = 0;
  args[n++] = argv[0];
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--smoke"))
      smoke = 1;
    else if (!strcmp(argv[i], "--shim-selftest"))
      selftest = 1;
    else if (!strncmp(argv[i], "--pin=", 6)) {
      if (pin(argv[i] + 6))
        return 2;
    } else if (!strncmp(argv[i], "--interval=", 11)) {
      if (interval(argv[i] + 11))
        return 2;
    } else if (gb_choice(argv[i])) {
      return 2;
    } else {
      /* --help goes on too: Google Benchmark prints its flags after ours */
      help |= !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h");
      args[n++] = argv[i];
    }
  }
  if (help)
    printf("archbench-micro [--smoke] [--shim-selftest] [--pin=none|same|cross] [--interval=US]\n"
           "                [Google Benchmark flags]\n"
           "  --smoke          run every benchmark for a single iteration\n"
           "  --shim-selftest  run the shim's self-test benchmarks only\n"
           "  --pin=WHERE      the two sides of a link: none (the scheduler places them),\n"
           "                   same (one CPU, as rt-tests measure), cross (a CPU each)\n"
           "  --interval=US    one-way benchmarks: the peer sleeps US microseconds before each\n"
           "                   ack, as pmqtest/ptsematest -i US (default 0: back to back);\n"
           "                   they are then named .../<bytes>/interval_us:US/real_time\n"
           "names: <primitive>/<threads|procs>/<rtt|oneway>/<bytes>; latency counters "
           "mean_ns p50_ns p99_ns p999_ns max_ns\n\n");
  /* min_time 0: the first run (one iteration) is already long enough. Given first, so a
   * --benchmark_min_time of the caller's still wins. */
  char min0[] = "--benchmark_min_time=0";
  if (smoke) {
    memmove(&args[2], &args[1], (size_t)(n - 1) * sizeof args[0]);
    args[1] = min0;
    n++;
  }
  args[n] = NULL;
  signal(SIGPIPE, SIG_IGN); /* a peer gone shows as EPIPE, not as our death */
  struct sigaction sa = { .sa_handler = on_signal };
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  if (abm_plant_parse(getenv("ABM_PLANT")))
    return 2;
  if (selftest) {
    abm_register_selftest();
  } else {
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
      families[i]();
  }
  if (abm_plant_check())
    return 2;
  context();
  char us[24];
  snprintf(us, sizeof us, "%" PRId64, abm_interval_us);
  ab_gb_context("interval_us", us);
  ab_gb_init(&n, args);
  if (n > 1) {
    fprintf(stderr, "archbench-micro: '%s' is not a flag of archbench-micro or Google Benchmark, "
            "or not a value it takes (expected --smoke, --shim-selftest, --pin=WHERE, "
            "--interval=US or --benchmark_NAME=VALUE; --help lists them)\n", args[1]);
    return 2;
  }
  char filter[512], err[256];
  snprintf(filter, sizeof filter, "%s", ab_gb_filter());
  int r = ab_gb_run(err, sizeof err);
  if (r < 0)
    fprintf(stderr, "archbench-micro: --benchmark_filter: '%s' is not a regular expression (%s); "
            "expected an extended one, such as '^pipe/procs/'\n", filter, err);
  else if (r == 0)
    fprintf(stderr, "archbench-micro: --benchmark_filter: '%s' matches no benchmark (expected a "
            "regular expression matching some of the names --benchmark_list_tests prints)\n", filter);
  return r > 0 ? 0 : 2;
}
