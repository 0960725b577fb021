/* The command line: `list`, `run`, `bench` (the default profile behind `make bench`). The
 * plan of runs is plan.c's, its running execute.c's, the summary table table.c's, the
 * output directory and the result locks outdir.c's (cli.h joins them). Options are typed and range-checked; every
 * bad value is named in a one-line error with what was expected, and mapped to the exit
 * codes of DESIGN.md (2 bad usage, 3 missing resource).
 *
 * Order of work: parse, plan, then run the plan (execute.c's ab_plan_execute: every run
 * validated before anything is created). Errors always go to stderr; --quiet only drops the
 * progress line and the table.
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define AB__STR(x) AB__STR2(x)
#define AB__STR2(x) #x

static const char usage[] =
    "usage: archbench list\n"
    "       archbench run SCENARIO [--arch A[,B..]|all] [--duration 10s] [--transport T[,U..]|all]\n"
    "                     [--out DIR] [--param k=v ...] [--sweep k=a,b,c] [--serial DEV] [--baud N]\n"
    "                     [--camera DEV] [--instrument HOST:PORT] [--audio PCM]\n"
    "                     [--offload inline|executor|thread|process[,..]|all]\n"
    "                     [--cpus LIST] [--rt-prio N] [--latency-target US | --no-latency-target]\n"
    "                     [--gil] [--gil-interval 5ms] [--fault SPEC ...] [--per-instance] [--repeat K]\n"
    "                     [--quiet]\n"
    "       archbench bench [--duration 4s] [--out DIR] [--repeat K] [--quiet]\n"
    "       archbench report RUN_DIR [RUN_DIR..]   the page into RUN_DIR/report/index.html\n"
    "       archbench compare BASE_DIR NEW_DIR [--threshold 5%] [--alpha 0.01] [--metrics GLOB]\n"
    "                         [--json F] [--junit F] [--markdown F]   exit 1 on a regression\n"
    "       archbench mock-instrument [--listen HOST:PORT] [--mode serial|overlapped]   the SCPI mock,\n"
    "                         to try --instrument HOST:PORT against (until Ctrl-C)\n"
    "--latency-target US holds /dev/cpu_dma_latency at US for the run (PM QoS, as cyclictest does);\n"
    "    it is 0 by default with --rt-prio, off otherwise.\n"
    "--fault stall:ROLE:K:DUR | slow:ROLE:DUR | corrupt:CHAN:K injects a known fault (for tests; the result lists it).\n"
    "--per-instance adds each role instance's costs and activations to the result.\n"
    "--sweep k=a,b,c runs once per value of param k (a result each, agents.threads.n=10.json).\n"
    "--repeat K (1 to 100) makes every run K times, in rounds (each run once, then again...), so that\n"
    "    drift on a shared machine reaches every runtime alike; robot.threads.r1.json .. .rK.json.\n"
    "--gil models CPython's GIL in each process (switch interval --gil-interval, 5 ms as CPython);\n"
    "    --param gil_free=F runs that fraction of compute without it, as numpy's BLAS calls do.\n"
    "--offload (the loop runtime): where its offloadable roles (channel-triggered, CPU-flagged) run:\n"
    "    inline on the loop, executor (a pool of min(32, CPUs + 4) threads, as Python's), thread (one\n"
    "    dedicated thread), process (a child process behind pipes); franka.loop.thread.json.\n"
    "--arch pool runs the CPU roles' steps as tasks in --param workers=W processes (the CPU count),\n"
    "    each carrying its agent's state; hybrid also runs their I/O in a pool of 20 threads.\n"
    "exit codes: 0 ok, 1 a requirement failed, 2 bad usage, 3 missing device or permission, 130 interrupted\n";

int ab_usage_error(const char *fmt, const char *a, const char *b)
{
  fprintf(stderr, "archbench: ");
  fprintf(stderr, fmt, a, b);
  fputc('\n', stderr); /* one line: the usage is one `archbench --help` away */
  return AB_EXIT_USAGE;
}

/* ---- options ----------------------------------------------------------------------------------- */


static int ab__parse_cpus(const char *s, cpu_set_t *set)
{
  CPU_ZERO(set);
  long ncpu = sysconf(_SC_NPROCESSORS_CONF);
  const char *p = s;
  while (*p) {
    char *end;
    long a = strtol(p, &end, 10), b;
    if (end == p || a < 0)
      return -EINVAL;
    b = a;
    if (*end == '-') {
      p = end + 1;
      b = strtol(p, &end, 10);
      if (end == p || b < a)
        return -EINVAL;
    }
    if (b >= ncpu)
      return -ERANGE;
    for (long c = a; c <= b; c++)
      CPU_SET(c, set);
    p = end;
    if (*p == ',')
      p++;
    else if (*p)
      return -EINVAL;
  }
  return CPU_COUNT(set) ? 0 : -EINVAL;
}

/* --name value or --name=value; returns the value or NULL (then an error was printed). */
static const char *ab__optval(int argc, char **argv, int *i, const char *name, int *err)
{
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (a[n] == '=')
    return a + n + 1;
  if (*i + 1 >= argc) {
    *err = ab_usage_error("%s: missing value%s", name, "");
    return NULL;
  }
  return argv[++*i];
}

#define AB__HELP (-1) /* ab__parse: --help was asked for */

/* The device and scheduling options, and an unknown one (ab__parse_opt's other half). */
static int ab__parse_dev_opt(int argc, char **argv, int *i, ab__cli_t *c)
{
  const char *a = argv[*i], *v;
  int err = 0;
#define OPT(nm) (!strncmp(a, nm, strlen(nm)) && (a[strlen(nm)] == 0 || a[strlen(nm)] == '='))
#define VAL(nm) if (!(v = ab__optval(argc, argv, i, nm, &err))) return err
  if (OPT("--serial")) {
    VAL("--serial");
    c->dev.serial = v;
  } else if (OPT("--baud")) {
    VAL("--baud");
    int64_t b;
    if (ab_parse_int(v, &b) < 0 || b < 300 || b > 4000000)
      return ab_usage_error("--baud %s: expected an integer from 300 to 4000000", v, "");
    c->dev.baud = (int)b;
  } else if (OPT("--camera")) {
    VAL("--camera");
    c->dev.camera = v;
  } else if (OPT("--instrument")) {
    VAL("--instrument");
    c->dev.instrument = v;
  } else if (OPT("--audio")) {
    VAL("--audio");
    c->dev.audio = v;
  } else if (OPT("--cpus")) {
    VAL("--cpus");
    int r = ab__parse_cpus(v, &c->cpus);
    if (r < 0)
      return ab_usage_error("--cpus %s: expected a list of online CPUs such as 0,1 or 0-1 (this machine has %s)",
                             v, r == -ERANGE ? "fewer CPUs" : "CPUs numbered from 0");
    c->cpus_set = 1;
  } else if (OPT("--rt-prio")) {
    VAL("--rt-prio");
    int64_t p;
    if (ab_parse_int(v, &p) < 0 || p < 1 || p > 99)
      return ab_usage_error("--rt-prio %s: expected an integer from 1 to 99", v, "");
    c->rt_prio = (int)p;
  } else if (OPT("--gil-interval")) {
    VAL("--gil-interval");
    if (ab_parse_duration(v, &c->gil_interval_ns) < 0 || c->gil_interval_ns < 10 * AB_NS_PER_US ||
        c->gil_interval_ns > AB_NS_PER_S)
      return ab_usage_error("--gil-interval %s: expected a duration from 10us to 1s (CPython's default is 5ms)", v, "");
  } else if (OPT("--latency-target")) {
    VAL("--latency-target");
    int64_t us;
    if (ab_parse_int(v, &us) < 0 || us < 0 || us > 2000000)
      return ab_usage_error("--latency-target %s: expected microseconds, an integer from 0 to 2000000", v, "");
    c->latency_us = (int)us;
    c->latency_set = 1;
  } else {
    return ab_usage_error("unknown option %s%s", a, "");
  }
#undef OPT
#undef VAL
  return 0;
}

/* An option that takes a value, or an unknown one (argv[*i]; *i moves past a separate value).
 * 0, or an exit code after saying why. */
static int ab__parse_opt(int argc, char **argv, int *i, ab__cli_t *c)
{
  const char *a = argv[*i], *v;
  int err = 0;
#define OPT(nm) (!strncmp(a, nm, strlen(nm)) && (a[strlen(nm)] == 0 || a[strlen(nm)] == '='))
#define VAL(nm) if (!(v = ab__optval(argc, argv, i, nm, &err))) return err
  if (OPT("--arch")) {
    VAL("--arch");
    c->arch = v;
  } else if (OPT("--transport")) {
    VAL("--transport");
    c->transport = v;
  } else if (OPT("--offload")) {
    VAL("--offload");
    c->offload = v;
  } else if (OPT("--out")) {
    VAL("--out");
    if (!*v)
      return ab_usage_error("--out '': expected a directory%s%s", "", "");
    c->outdir = v;
  } else if (OPT("--duration")) {
    VAL("--duration");
    if (ab_parse_duration(v, &c->duration_ns) < 0)
      return ab_usage_error("--duration %s: not a duration (expected a number with a unit: ns, us, ms, s, m, e.g. 10s or 500ms)", v, "");
    if (c->duration_ns < 10 * AB_NS_PER_MS || c->duration_ns > 24 * 3600 * AB_NS_PER_S)
      return ab_usage_error("--duration %s: out of range (expected 10ms to 24h)", v, "");
    c->duration_set = 1;
  } else if (OPT("--param")) {
    VAL("--param");
    if (c->nparams == AB_MAX_PARAMS)
      return ab_usage_error("--param %s: too many parameters (at most 16)", v, "");
    c->params[c->nparams++] = v;
  } else if (OPT("--sweep")) {
    VAL("--sweep");
    if (c->sweep)
      return ab_usage_error("--sweep %s: one sweep per command (already --sweep %s)", v, c->sweep);
    c->sweep = v;
  } else if (OPT("--repeat")) {
    VAL("--repeat");
    int64_t k;
    if (ab_parse_int(v, &k) < 0 || k < 1 || k > AB_MAX_REPEAT)
      return ab_usage_error("--repeat %s: expected an integer from 1 to %s", v, AB__STR(AB_MAX_REPEAT));
    c->repeat = (int)k;
  } else if (OPT("--fault")) {
    VAL("--fault");
    if (c->nfaults == AB_MAX_FAULTS)
      return ab_usage_error("--fault %s: too many faults (at most 4)", v, "");
    c->faults[c->nfaults++] = v;
  } else {
    return ab__parse_dev_opt(argc, argv, i, c);
  }
#undef OPT
#undef VAL
  return 0;
}

static int ab__parse(int argc, char **argv, int first, ab__cli_t *c, int need_scenario)
{
  memset(c, 0, sizeof *c);
  c->dev.baud = 115200;
  c->dev.width = 1920;
  c->dev.height = 1080;
  c->dev.fps = 30;
  for (int i = first; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      return AB__HELP;
    } else if (!strcmp(a, "--no-latency-target")) {
      c->latency_off = 1;
    } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
      c->quiet = 1;
    } else if (!strcmp(a, "--per-instance")) {
      c->detail = 1;
    } else if (!strcmp(a, "--gil")) {
      c->gil = 1;
    } else if (a[0] == '-') {
      int r = ab__parse_opt(argc, argv, &i, c);
      if (r)
        return r;
    } else if (need_scenario && !c->scenario) {
      c->scenario = a;
    } else {
      return ab_usage_error("unexpected argument %s%s", a, "");
    }
  }
  if (c->gil_interval_ns && !c->gil)
    return ab_usage_error("--gil-interval: only with --gil%s%s", "", "");
  if (c->latency_set && c->latency_off)
    return ab_usage_error("--latency-target and --no-latency-target: choose one%s%s", "", "");
  if (need_scenario && !c->scenario)
    return ab_usage_error("run: missing SCENARIO (see `archbench list`)%s%s", "", "");
  return 0;
}

/* `run`'s arguments as far as the plan, with nothing created: 0 and the plan, or an exit code
 * (AB__HELP for --help). */
static int ab__run_plan(int argc, char **argv, ab__cli_t *c, ab__plan_t *p)
{
  int r = ab__parse(argc, argv, 2, c, 1);
  if (r)
    return r;
  const ab_scenario_t *sc = ab_scenario_find(c->scenario);
  if (!sc) {
    fprintf(stderr, "archbench: run %s: unknown scenario (expected one of:", c->scenario);
    for (int i = 0; ab_scenarios[i]; i++)
      fprintf(stderr, " %s", ab_scenarios[i]->name);
    fprintf(stderr, ")\n");
    return AB_EXIT_USAGE;
  }
  if (sc->unavailable) {
    fprintf(stderr, "archbench: scenario %s is unavailable in this build: %s\n", sc->name, sc->unavailable);
    return AB_EXIT_RESOURCE;
  }
  if (!c->duration_set)
    c->duration_ns = 10 * AB_NS_PER_S;
  p->n = 0;
  return ab_plan_scenario(p, c, sc, c->arch, c->transport);
}

int ab_cli_plan_only(int argc, char **argv)
{
  ab__cli_t c;
  static ab__plan_t p;
  int r = ab__run_plan(argc, argv, &c, &p);
  return r == AB__HELP ? 0 : r;
}

static int ab__cmd_run(int argc, char **argv)
{
  ab__cli_t c;
  static ab__plan_t p;
  int r = ab__run_plan(argc, argv, &c, &p);
  if (r == AB__HELP) {
    fputs(usage, stdout);
    return 0;
  }
  if (r)
    return r;
  return ab_plan_execute(&p, &c, 0);
}

static int ab__cmd_bench(int argc, char **argv)
{
  ab__cli_t c;
  int r = ab__parse(argc, argv, 2, &c, 0);
  if (r == AB__HELP) {
    fputs(usage, stdout);
    return 0;
  }
  if (r)
    return r;
  const char *chosen = c.arch ? "--arch" : c.transport ? "--transport" : c.offload ? "--offload" : c.nparams ? "--param" : c.nfaults ? "--fault"
                      : c.sweep ? "--sweep" : NULL;
  if (chosen)
    return ab_usage_error("bench %s: bench runs every scenario with every runtime and its own profile (use `run` to choose)%s",
                           chosen, "");
  if (!c.duration_set)
    c.duration_ns = 4 * AB_NS_PER_S;
  static ab__plan_t p;
  p.n = 0;
  int used[AB_DEV_N] = { 0 };
  for (int i = 0; ab_scenarios[i]; i++) {
    const ab_scenario_t *sc = ab_scenarios[i];
    if (sc->unavailable) {
      fprintf(stderr, "archbench: skipping %s: %s\n", sc->name, sc->unavailable);
      continue;
    }
    if (sc->bench.skip)
      continue;
    for (int k = AB_DEV_NONE + 1; k < AB_DEV_N; k++)
      used[k] |= ab_scenario_has_dev(sc, k);
    ab__cli_t cs = c; /* its own profile */
    cs.sweep = sc->bench.sweep;
    if (!c.duration_set && sc->bench.duration_ns)
      cs.duration_ns = sc->bench.duration_ns;
    /* once, or once per choice of the scenario's `each` param ("mode": serial, overlapped) */
    const ab_param_desc_t *each = sc->bench.each ? ab_param_desc(sc, sc->bench.each) : NULL;
    static char each_kv[8][64];
    const char *ch = each ? each->choices : NULL;
    for (int e = 0; e == 0 || (ch && *ch && e < 8); e++) {
      cs.nparams = c.nparams;
      if (ch) {
        size_t n = strcspn(ch, "|");
        snprintf(each_kv[e], sizeof each_kv[e], "%s=%.*s", each->name, (int)n, ch);
        cs.params[cs.nparams++] = each_kv[e];
        ch += n + (ch[n] == '|');
      }
      for (int gil = 0; gil <= (sc->bench.gil_too ? 1 : 0); gil++) {
        cs.gil = gil;
        if ((r = ab_plan_scenario(&p, &cs, sc, "all", sc->bench.transports ? sc->bench.transports : "all")))
          return r;
      }
    }
  }
  for (int k = AB_DEV_NONE + 1; k < AB_DEV_N; k++) {
    const ab_devops_t *ops = ab_devops_for(k);
    const char *path = *ab_dev_path(ops, &c.dev);
    if (path && !used[k])
      return ab_usage_error("%s %s: no scenario has such a device", ops->option, path);
  }
  return ab_plan_execute(&p, &c, 1);
}

/* ---- list ------------------------------------------------------------------------------------- */

static int ab__cmd_list(void)
{
  printf("scenarios:\n");
  for (int i = 0; ab_scenarios[i]; i++) {
    const ab_scenario_t *sc = ab_scenarios[i];
    char archs[64] = "";
    for (int a = 0; a < AB_ARCH_N; a++)
      if ((sc->archs >> a) & 1) {
        size_t n = strlen(archs);
        snprintf(archs + n, sizeof archs - n, "%s%s", n ? "," : "", ab_arch_name(a));
      }
    printf("  %-10s %s\n             runtimes: %s%s%s\n", sc->name, sc->summary, archs,
           sc->unavailable ? "  UNAVAILABLE: " : "", sc->unavailable ? sc->unavailable : "");
    for (int k = 0; k < sc->nparams; k++)
      printf("             --param %s=%s  %s\n", sc->params[k].name, sc->params[k].def,
             sc->params[k].help ? sc->params[k].help : "");
  }
  printf("runtimes:\n  threads    a thread per role\n  procs      a process per role; --transport pipe|unix|mq|shm|tcp\n"
         "  loop       one thread around epoll; --offload inline|executor|thread|process\n");
  printf("transports (procs): pipe unix mq shm tcp\n");
  printf("device kinds:\n");
  for (int k = AB_DEV_NONE + 1; k < AB_DEV_N; k++) {
    const ab_devops_t *ops = ab_devops_for(k);
    if (ops->mock_only)
      printf("  %-10s mock only: %s\n", ops->kind, ops->mock_only);
    else
      printf("  %-10s %s DEV, else its loopback mock\n", ops->kind, ops->option);
  }
  printf("devices found:\n");
  const char *pats[] = { "/dev/ttyUSB*", "/dev/ttyACM*", "/dev/video*", NULL };
  int any = 0;
  for (int k = 0; pats[k]; k++) {
    glob_t g;
    if (glob(pats[k], 0, NULL, &g) == 0) {
      for (size_t j = 0; j < g.gl_pathc; j++, any++)
        printf("  %s\n", g.gl_pathv[j]);
      globfree(&g);
    }
  }
  if (!any)
    printf("  none (runs use the loopback mocks: a pty motor controller, a synthetic camera and a UDP robot)\n");
  return 0;
}

int ab_cli_main(int argc, char **argv)
{
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2)
    return ab_usage_error("missing command (expected list, run, bench, report or compare)%s%s", "", "");
  if (!strcmp(argv[1], "list"))
    return argc > 2 ? ab_usage_error("list: unexpected argument %s%s", argv[2], "") : ab__cmd_list();
  if (!strcmp(argv[1], "run"))
    return ab__cmd_run(argc, argv);
  if (!strcmp(argv[1], "bench"))
    return ab__cmd_bench(argc, argv);
  if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
    fputs(usage, stdout);
    return 0;
  }
  return ab_usage_error("unknown command %s (expected list, run, bench, report or compare)%s", argv[1], "");
}
