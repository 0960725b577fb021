/* archbench-micro: the Google Benchmark shim reports what a C benchmark asked for (arguments,
 * counters, rates, manual time, pause/resume, errors, repetitions) in Google Benchmark's own
 * JSON; every registered benchmark runs once in smoke mode, reports the latency counters and
 * leaves no process, /dev/shm or /dev/mqueue entry behind; and, where Google Benchmark's
 * tools/compare.py is at hand (`make micro-compare-tools`), it reads two of our outputs.
 * Values are checked, latencies are not.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <jansson.h>
#include <libgen.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

/* ---- helpers -------------------------------------------------------------------------- */

static const char *micro_bin(void)
{
  static char path[1024];
  const char *ab = getenv("AB_BIN");
  if (!ab)
    return "build/archbench-micro";
  char tmp[1024];
  snprintf(tmp, sizeof tmp, "%s", ab);
  snprintf(path, sizeof path, "%s/archbench-micro", dirname(tmp));
  return path;
}

/* Run argv with stdout captured (stderr passes through). Returns the exit status as
 * waitpid gives it; *out is malloc'ed and NUL-terminated. */
static int run_capture(char *const argv[], char **out)
{
  int p[2];
  ASSERT(pipe(p) == 0);
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    execvp(argv[0], argv);
    _exit(127);
  }
  close(p[1]);
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  ASSERT(buf);
  for (;;) {
    if (len + 4096 > cap)
      ASSERT((buf = realloc(buf, cap *= 2)));
    ssize_t r = read(p[0], buf + len, cap - len - 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    len += (size_t)r;
  }
  buf[len] = 0;
  close(p[0]);
  int st;
  while (waitpid(pid, &st, 0) < 0)
    ASSERT(errno == EINTR);
  *out = buf;
  return st;
}

static json_t *run_json(char *const argv[])
{
  char *out;
  int st = run_capture(argv, &out);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    AB_FAIL("%s exited with status 0x%x; stdout: %.2000s", argv[0], st, out);
  json_error_t err;
  json_t *root = json_loads(out, 0, &err);
  if (!root)
    AB_FAIL("output is not JSON (%s, line %d): %.2000s", err.text, err.line, out);
  free(out);
  return root;
}

static json_t *find_bench(json_t *root, const char *name)
{
  json_t *list = json_object_get(root, "benchmarks"), *b;
  size_t i;
  json_array_foreach(list, i, b) {
    if (!strcmp(json_string_value(json_object_get(b, "name")), name))
      return b;
  }
  return NULL;
}

static json_t *need_bench(json_t *root, const char *name)
{
  json_t *b = find_bench(root, name);
  if (!b)
    AB_FAIL("no benchmark named %s in the output", name);
  return b;
}

static double num(json_t *b, const char *key)
{
  json_t *v = json_object_get(b, key);
  if (!json_is_number(v))
    AB_FAIL("%s has no number %s", json_string_value(json_object_get(b, "name")), key);
  return json_number_value(v);
}

/* ---- the shim ------------------------------------------------------------------------- */

TEST(micro_shim_reports_counters_manual_time_and_errors_in_json)
{
  char *argv[] = { (char *)micro_bin(), "--shim-selftest", "--benchmark_format=json", NULL };
  json_t *root = run_json(argv);

  /* Manual time: 1 ms per iteration was declared, the clock is not consulted. */
  json_t *b = need_bench(root, "shim/manual/iterations:5/manual_time");
  ASSERT_EQ(num(b, "iterations"), 5);
  ASSERT_STR(json_string_value(json_object_get(b, "time_unit")), "ns");
  ASSERT_DBL(num(b, "real_time"), >, 0.999e6);
  ASSERT_DBL(num(b, "real_time"), <, 1.001e6);

  /* Arguments and every kind of counter. */
  for (int arg = 8; arg <= 64; arg *= 8) {
    char name[64];
    snprintf(name, sizeof name, "shim/counters/%d/iterations:100", arg);
    b = need_bench(root, name);
    ASSERT_EQ(num(b, "iterations"), 100);
    ASSERT_EQ(num(b, "arg"), arg);
    ASSERT_EQ(num(b, "answer"), 42);
    ASSERT_DBL(num(b, "per_iter"), ==, 3.0);  /* 3 * iterations, averaged over iterations */
    ASSERT_DBL(num(b, "rate"), >, 1000.0);    /* 1000 per run, divided by well under 1 s */
    ASSERT_DBL(num(b, "bytes_per_second"), >, 0);
    ASSERT_DBL(num(b, "items_per_second"), >, 0);
    ASSERT_STR(json_string_value(json_object_get(b, "label")), "shim");
  }

  /* Pause/resume: each iteration sleeps 2 ms with the timer paused. */
  b = need_bench(root, "shim/pause/iterations:3");
  ASSERT_STR(json_string_value(json_object_get(b, "time_unit")), "us");
  ASSERT_DBL(num(b, "real_time"), <, 1000.0);

  /* Skip with an error. */
  b = need_bench(root, "shim/skip");
  ASSERT(json_is_true(json_object_get(b, "error_occurred")));
  ASSERT_CONTAINS(json_string_value(json_object_get(b, "error_message")), "deliberate");

  /* Repetitions: three runs and the aggregates. */
  const char *rep = "shim/repeat/1/iterations:10/repeats:3";
  json_t *list = json_object_get(root, "benchmarks");
  size_t i;
  int runs = 0;
  json_array_foreach(list, i, b) {
    if (!strcmp(json_string_value(json_object_get(b, "name")), rep))
      runs++;
  }
  ASSERT_EQ(runs, 3);
  char agg[128];
  snprintf(agg, sizeof agg, "%s_mean", rep);
  ASSERT_STR(json_string_value(json_object_get(need_bench(root, agg), "aggregate_name")), "mean");
  snprintf(agg, sizeof agg, "%s_stddev", rep);
  need_bench(root, agg);

  /* Batches and what the loop was told to run. */
  b = need_bench(root, "shim/batch/iterations:32");
  ASSERT_EQ(num(b, "iterations"), 32);
  ASSERT_EQ(num(b, "max_iterations"), 32);
  json_decref(root);
}

TEST(micro_passes_unknown_flags_to_google_benchmark_which_rejects_them)
{
  char *argv[] = { (char *)micro_bin(), "--shim-selftest", "--no-such-flag", NULL };
  char *out;
  int st = run_capture(argv, &out);
  ASSERT(WIFEXITED(st));
  ASSERT_EQ(WEXITSTATUS(st), 1);
  free(out);
}

/* ---- smoke: every benchmark once ------------------------------------------------------ */

static int leftover_peers(void)
{
  DIR *d = opendir("/proc");
  struct dirent *e;
  int n = 0;
  pid_t me = getpgrp();
  ASSERT(d);
  while ((e = readdir(d))) {
    char path[300], buf[512];
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      continue;
    ssize_t r = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (r <= 0)
      continue;
    buf[r] = 0;
    /* pid (comm) state ppid pgrp ... */
    char *open_ = strchr(buf, '('), *close_ = strrchr(buf, ')');
    if (!open_ || !close_)
      continue;
    int ppid, pgrp;
    char state;
    if (sscanf(close_ + 1, " %c %d %d", &state, &ppid, &pgrp) != 3)
      continue;
    if (pgrp == me && !strncmp(open_ + 1, "abm-", 4)) {
      fprintf(stderr, "leftover peer: %s", buf);
      n++;
    }
  }
  closedir(d);
  return n;
}

static int leftover_names(const char *dir, const char *prefix)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  int n = 0;
  if (!d)
    return 0; /* not mounted here: nothing can be left in it */
  while ((e = readdir(d)))
    if (!strncmp(e->d_name, prefix, strlen(prefix))) {
      fprintf(stderr, "leftover %s/%s\n", dir, e->d_name);
      n++;
    }
  closedir(d);
  return n;
}

TEST_T(micro_smoke_runs_every_benchmark_once_and_leaves_nothing, 120)
{
  /* What is registered, as Google Benchmark lists it... */
  char *list_argv[] = { (char *)micro_bin(), "--benchmark_list_tests", NULL };
  char *names;
  int st = run_capture(list_argv, &names);
  ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);

  /* ...and what one smoke run reports. */
  int shm_before = leftover_names("/dev/shm", "archbench-");
  char *argv[] = { (char *)micro_bin(), "--smoke", "--benchmark_format=json", NULL };
  json_t *root = run_json(argv);

  int listed = 0;
  for (char *save = NULL, *n = strtok_r(names, "\n", &save); n; n = strtok_r(NULL, "\n", &save)) {
    listed++;
    json_t *b = find_bench(root, n);
    if (!b)
      AB_FAIL("%s is registered but did not run", n);
    if (json_is_true(json_object_get(b, "error_occurred")))
      AB_FAIL("%s: %s", n, json_string_value(json_object_get(b, "error_message")));
    ASSERT_INT(num(b, "iterations"), <=, 64); /* one turn of the loop; batches run 64 */
    if (strstr(n, "/rtt/") || strstr(n, "/oneway/") || !strncmp(n, "spawn/", 6)) {
      static const char *const c[] = { "mean_ns", "p50_ns", "p99_ns", "p999_ns", "max_ns" };
      for (int k = 0; k < 5; k++)
        ASSERT_DBL(num(b, c[k]), >, 0);
    }
  }
  free(names);

  /* The names the issue and the fidelity checks rely on. */
  static const char *const must[] = {
    "pipe/procs/rtt/8", "pipe/threads/rtt/8", "pipe/procs/oneway/6220800",
    "cacheline/threads/rtt/8", "cacheline/procs/rtt/8", "mutex/threads/oneway/0",
    "condvar/procs/rtt/0", "futex/threads/oneway/0", "sem/procs/rtt/0", "eventfd/procs/rtt/8",
    "unix-stream/procs/rtt/64", "unix-seqpacket/threads/oneway/1048576", "mq/threads/oneway/8",
    "sysvmq/procs/rtt/1024", "tcp/procs/rtt/65536", "chan-shm-spin/procs/rtt/8",
    "chan-shm/procs/oneway/6220800", "chan-ring/threads/rtt/8", "chan-ring-spin/threads/rtt/8",
    "chan-pipe/procs/rtt/8", "chan-unix/procs/rtt/8", "chan-mq/procs/rtt/8", "chan-tcp/procs/rtt/8",
    "reg/procs/rtt/64", "reg/threads/load-contended/64", "reg/procs/store-contended/8",
    "robot-obs-shm/procs/oneway/48", "robot-frame-pipe/procs/oneway/6220800",
    "robot-frame-inplace-shm/procs/oneway/6220800", "spawn/threads/create-join",
    "spawn/procs/fork-wait", "spawn/procs/posix_spawn-wait", "clock/ab_now_ns",
    "hist/ab_hist_record",
  };
  for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
    need_bench(root, must[i]);
  ASSERT_INT(listed, >=, 250);
  json_decref(root);

  ASSERT_EQ(leftover_peers(), 0);
  ASSERT_INT(leftover_names("/dev/shm", "archbench-"), <=, shm_before);
  ASSERT_EQ(leftover_names("/dev/mqueue", "archbench-abm-"), 0);
}

/* ---- compare.py ----------------------------------------------------------------------- */

static int find_compare(char *path, size_t len)
{
  const char *env = getenv("AB_GB_COMPARE");
  if (env) {
    snprintf(path, len, "%s", env);
    return access(path, R_OK) == 0;
  }
  char pat[1100], tmp[1024];
  snprintf(tmp, sizeof tmp, "%s", micro_bin());
  const char *dirs[] = { dirname(tmp), "build" };
  for (int i = 0; i < 2; i++) {
    glob_t g;
    snprintf(pat, sizeof pat, "%s/gbench-src/benchmark-*/tools/compare.py", dirs[i]);
    if (glob(pat, 0, NULL, &g) == 0) {
      snprintf(path, len, "%s", g.gl_pathv[0]);
      globfree(&g);
      return 1;
    }
  }
  return 0;
}

TEST(micro_json_is_read_unchanged_by_google_benchmark_compare_py)
{
  char compare[1024];
  if (!find_compare(compare, sizeof compare))
    SKIP("Google Benchmark's tools/compare.py is not here (it is in no Debian binary package): "
         "`make micro-compare-tools` fetches it, or set AB_GB_COMPARE=/path/to/compare.py");
  const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "%s -c 'import numpy, scipy.stats' 2>/dev/null", py);
  if (system(cmd) != 0)
    SKIP("compare.py needs numpy and scipy for %s (apt-get install python3-numpy python3-scipy)", py);

  char dir[] = "/tmp/abm-compare-XXXXXX", a[64], b[64], outa[80], outb[80];
  ASSERT(mkdtemp(dir));
  snprintf(a, sizeof a, "%s/old.json", dir);
  snprintf(b, sizeof b, "%s/new.json", dir);
  snprintf(outa, sizeof outa, "--benchmark_out=%s", a);
  snprintf(outb, sizeof outb, "--benchmark_out=%s", b);
  for (int k = 0; k < 2; k++) {
    char *argv[] = { (char *)micro_bin(), "--benchmark_filter=^(clock|hist)/|^pipe/threads/rtt/8$",
                     "--benchmark_min_time=0.01", "--benchmark_repetitions=3",
                     "--benchmark_out_format=json", k ? outb : outa, NULL };
    char *out;
    int st = run_capture(argv, &out);
    free(out);
    ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  char *argv[] = { (char *)py, compare, "benchmarks", a, b, NULL };
  char *out;
  int st = run_capture(argv, &out);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    AB_FAIL("compare.py exited with 0x%x: %s", st, out);
  ASSERT_CONTAINS(out, "clock/ab_now_ns");
  ASSERT_CONTAINS(out, "pipe/threads/rtt/8");
  ASSERT_CONTAINS(out, "U Test"); /* three repetitions each: the Mann-Whitney verdict */
  free(out);
  unlink(a);
  unlink(b);
  rmdir(dir);
}

/* ---- placement and signals ------------------------------------------------------------ */

TEST(micro_pin_bad_value_exits_2_naming_it_and_the_choices)
{
  char cmd[1200], line[512] = "";
  snprintf(cmd, sizeof cmd, "%s --pin=sideways --benchmark_filter=^clock/ 2>&1", micro_bin());
  FILE *f = popen(cmd, "r");
  ASSERT(f);
  char *got = fgets(line, sizeof line, f);
  int st = pclose(f);
  ASSERT(got);
  ASSERT(WIFEXITED(st));
  ASSERT_EQ(WEXITSTATUS(st), 2);
  ASSERT_CONTAINS(line, "'sideways'");
  ASSERT_CONTAINS(line, "none, same, cross");
}

TEST(micro_pin_same_runs_blocking_links_and_refuses_polling_ones)
{
  char *argv[] = { (char *)micro_bin(), "--pin=same", "--benchmark_min_time=0",
                   "--benchmark_filter=^(pipe/threads/rtt/8|cacheline/threads/rtt/8)$",
                   "--benchmark_format=json", NULL };
  json_t *root = run_json(argv);
  ASSERT_CONTAINS(json_string_value(json_object_get(json_object_get(root, "context"), "pin")),
                  "same: both sides on CPU");
  json_t *b = need_bench(root, "pipe/threads/rtt/8");
  ASSERT(!json_is_true(json_object_get(b, "error_occurred")));
  ASSERT_DBL(num(b, "p50_ns"), >, 0);
  b = need_bench(root, "cacheline/threads/rtt/8");
  ASSERT(json_is_true(json_object_get(b, "error_occurred")));
  ASSERT_CONTAINS(json_string_value(json_object_get(b, "error_message")), "polls");
  json_decref(root);
}

/* SysV queues outlive their process unless removed: a SIGINT mid-benchmark removes them,
 * the peer dies with its parent, and the run ends by the signal, as Ctrl-C should. */
/* Queues that process a sent to or received from last (the bench side uses both of a pair). */
static int sysv_queues_of(pid_t a)
{
  FILE *f = fopen("/proc/sysvipc/msg", "re");
  char line[512];
  int n = 0;
  if (!f)
    return 0;
  while (fgets(line, sizeof line, f)) {
    long key, id, perms, cbytes, qnum, lspid, lrpid;
    if (sscanf(line, "%ld %ld %lo %ld %ld %ld %ld", &key, &id, &perms, &cbytes, &qnum, &lspid,
               &lrpid) == 7 && (lspid == a || lrpid == a))
      n++;
  }
  fclose(f);
  return n;
}

static pid_t child_named(pid_t parent, const char *comm)
{
  char path[64], buf[64];
  snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)parent, (int)parent);
  FILE *f = fopen(path, "re");
  pid_t found = 0;
  int pid;
  if (!f)
    return 0;
  while (!found && fscanf(f, "%d", &pid) == 1) {
    snprintf(path, sizeof path, "/proc/%d/comm", pid);
    FILE *c = fopen(path, "re");
    if (c && fgets(buf, sizeof buf, c) && !strncmp(buf, comm, strlen(comm)))
      found = pid;
    if (c)
      fclose(c);
  }
  fclose(f);
  return found;
}

TEST(micro_sigint_mid_sysv_benchmark_removes_its_queues_and_peer)
{
  if (access("/proc/sysvipc/msg", R_OK) != 0)
    SKIP("/proc/sysvipc/msg is not readable here");
  fflush(NULL);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(micro_bin(), micro_bin(), "--benchmark_filter=^sysvmq/procs/rtt/8$",
          "--benchmark_min_time=60", (char *)NULL);
    _exit(127);
  }
  /* Google Benchmark runs the function a few times while it sizes the loop: each run has
   * its own peer and queues, so look for both at once, and again until they are there. */
  pid_t peer = 0;
  int queues = 0;
  for (int i = 0; i < 500 && !(peer && queues == 2); i++) {
    usleep(10000);
    peer = child_named(pid, "abm-sysvmq");
    queues = sysv_queues_of(pid);
  }
  kill(pid, SIGINT);
  int st;
  while (waitpid(pid, &st, 0) < 0)
    ASSERT(errno == EINTR);
  if (!peer || queues != 2)
    AB_FAIL("the benchmark did not get going within 5 s (peer %d, queues %d)", (int)peer, queues);
  ASSERT(WIFSIGNALED(st));
  ASSERT_EQ(WTERMSIG(st), SIGINT);
  for (int i = 0; i < 200 && kill(peer, 0) == 0; i++)
    usleep(10000);
  ASSERT(kill(peer, 0) != 0);
  ASSERT_EQ(sysv_queues_of(pid), 0);
}

/* bench/fidelity.py (make fidelity) refuses what it cannot do, naming it, before it runs
 * anything. */
TEST(micro_fidelity_script_bad_usage_exits_2_naming_the_value)
{
  if (access("/usr/bin/python3", X_OK) != 0)
    SKIP("no /usr/bin/python3 (make fidelity installs it)");
  static const char *const cases[][2] = {
    { "--only pipe,nope", "nope" },
    { "--tolerance 2", "2" },
    { "--rounds 0", "--rounds" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char cmd[256], out[4096] = "";
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 bench/fidelity.py %s --out /dev/null 2>&1",
             cases[i][0]);
    FILE *f = popen(cmd, "r");
    ASSERT(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    int st = pclose(f);
    ASSERT(WIFEXITED(st));
    if (WEXITSTATUS(st) != 2)
      AB_FAIL("%s: exit %d, not 2: %s", cases[i][0], WEXITSTATUS(st), out);
    ASSERT_CONTAINS(out, cases[i][1]);
  }
}
