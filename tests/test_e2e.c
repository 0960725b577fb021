/* End-to-end tests: the binary named by $AB_BIN runs real, short scenarios on the loopback
 * mocks, and the result files (schema archbench-result/1, read with jansson) are checked for
 * what every run must record; then runs are interrupted (Ctrl-C to the process group, SIGTERM
 * to the supervisor) or lose a role (SIGSEGV), and must end with the right exit code and
 * status, a whole result file, and nothing left behind: no process in the run's session, no
 * /dev/shm (or /dev/mqueue) entry, no *.tmp.* file.
 *
 * The machine is shared and noisy: only counts, presence, ordering, ratios, physical lower
 * bounds (the serial wire time) and generous sanity limits are asserted, never a latency
 * upper bound. Each run is started in a session of its own so that all its descendants can be
 * found by session id in /proc (tests/proc.h).
 */
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <unistd.h>

#include "proc.h"
#include "jresult.h"
#include "test.h"

/* A SET and its STATUS on the wire (hw/motor_proto.h): SOF type seq len | payload | crc16. */
#define SET_FRAME_BYTES (4 + 24 + 2)
#define STATUS_FRAME_BYTES (4 + 25 + 2)
#define BYTE_NS_115200 (10 * 1e9 / 115200) /* 8N1: 10 bits a byte, 86.8 us */

/* How long a short run may take from exec to exit, calibration and sanitizers included. */
#define RUN_TIMEOUT_S 60.0

/* ---- the run's roles and files -------------------------------------------------------------- */

/* Wait (up to timeout_s) until every name is a process (procs) or a thread (threads, loop) of
 * the session; fails naming what is missing. */
static void wait_roles(proc_t *p, const char *const *names, int threads, double timeout_s)
{
  double t0 = now_s();
  for (;;) {
    const char *missing = NULL;
    for (int i = 0; names[i] && !missing; i++)
      if (!session_find(p->pid, names[i], threads))
        missing = names[i];
    if (!missing)
      return;
    if (wait_ab(p, 0))
      AB_FAIL("the run exited %d before %s appeared; stderr: %s", p->code, missing, p->err);
    if (now_s() - t0 > timeout_s) {
      kill(-p->pid, SIGKILL);
      AB_FAIL("%s did not appear in the run's session within %.0f s", missing, timeout_s);
    }
    usleep(20000);
  }
}

/* A result is written to a temporary name and renamed: none may remain. */
static void assert_no_tmp(const char *out)
{
  DIR *d = opendir(out);
  ASSERT(d != NULL);
  struct dirent *e;
  while ((e = readdir(d)))
    if (strstr(e->d_name, ".tmp."))
      AB_FAIL("half-written result left in %s: %s", out, e->d_name);
  closedir(d);
}

/* What every finished result holds, whatever the scenario. */
static void check_common(json_t *r, const char *scenario, const char *arch, const char *transport)
{
  ASSERT_STR(jstr(r, "scenario"), scenario);
  ASSERT_STR(jstr(r, "arch"), arch);
  if (transport)
    ASSERT_STR(jstr(r, "transport"), transport);
  ASSERT(strlen(jstr(r, "started_at")) > 0);
  /* The window measured: all of it when the run was whole, never more than asked (the stop
   * is prompt); an interruption may cut it to nothing (a Ctrl-C during set-up). */
  double asked = jnum(r, "requested_duration_s");
  if (!strcmp(jstr(r, "status"), "ok"))
    ASSERT_DBL(jnum(r, "duration_s"), >=, asked);
  ASSERT_DBL(jnum(r, "duration_s"), <=, asked + 0.5);
  jobj(r, "params");
  jobj(r, "calibration");
  json_t *env = jobj(r, "env");
  ASSERT(strlen(jstr(env, "kernel")) > 0);
  ASSERT_DBL(jnum(env, "ncpu"), >=, 1);
  /* "none", "container", "vm[:vendor]" or "vm[:vendor]+container": never "nonecontainer" */
  const char *virt = jstr(env, "virt");
  if (!strncmp(virt, "none", 4) && virt[4])
    AB_FAIL("env.virt = \"%s\": \"none\" glued to what follows", virt);
  /* Costs are amounts: never negative, even for a role that died before it could report. */
  json_t *total = jobj(jobj(r, "resources"), "total");
  ASSERT_DBL(jnum(total, "cpu_user_s"), >=, 0);
  ASSERT_DBL(jnum(total, "cpu_sys_s"), >=, 0);
  /* Every part too: a role, the runtime's own work (what is left of the loop thread's
   * account after its roles: negative if a role was charged twice), the supervisor. */
  json_t *parts = json_object(), *res = jobj(r, "resources");
  json_object_update(parts, jobj(res, "roles"));
  static const char *const others[] = { "runtime", "supervisor" };
  for (int i = 0; i < 2; i++)
    if (json_object_get(res, others[i]))
      json_object_set(parts, others[i], json_object_get(res, others[i]));
  const char *rname;
  json_t *role;
  json_object_foreach(parts, rname, role) {
    static const char *const keys[] = { "cpu_user_s", "cpu_sys_s", "ctx_vol", "ctx_invol" };
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
      json_t *v = json_object_get(role, keys[k]);
      if (json_is_number(v) && json_number_value(v) < 0)
        AB_FAIL("resources: %s.%s = %g: a cost cannot be negative", rname, keys[k], json_number_value(v));
    }
  }
  json_decref(parts);
  json_t *reqs = json_object_get(r, "requirements");
  if (!json_is_array(reqs))
    AB_FAIL("result: \"requirements\" is missing or not an array");
  size_t i;
  json_t *q;
  json_array_foreach(reqs, i, q) {
    const char *op = jstr(q, "op");
    jstr(q, "name");
    jnum(q, "limit");
    if (!json_is_boolean(json_object_get(q, "pass")))
      AB_FAIL("requirement %zu (%s): \"pass\" is not a boolean", i, jstr(q, "name"));
    json_t *v = json_object_get(q, "value");
    if (!json_is_number(v) && !json_is_null(v))
      AB_FAIL("requirement %s: \"value\" is neither a number nor null", jstr(q, "name"));
    ASSERT(!strcmp(op, "<=") || !strcmp(op, "<") || !strcmp(op, ">=") || !strcmp(op, "=="));
  }
}

/* ---- baseline ------------------------------------------------------------------------------------- */

/* The parts of the costs add up to the total, measured whole (one process: its own
 * account; procs: the sum of its processes'): no callback is charged twice, none forgotten.
 * Within 5% and 5 ms (the roles' accounts open and close a moment after the total's). */
static void assert_parts_add_up(json_t *r)
{
  json_t *res = jobj(r, "resources"), *total = jobj(res, "total");
  double whole = jnum(total, "cpu_user_s") + jnum(total, "cpu_sys_s"), parts = 0;
  const char *name;
  json_t *role;
  json_object_foreach(jobj(res, "roles"), name, role)
    parts += jnum(role, "cpu_user_s") + jnum(role, "cpu_sys_s");
  static const char *const others[] = { "runtime", "supervisor" };
  for (int i = 0; i < 2; i++) {
    json_t *o = json_object_get(res, others[i]);
    if (o)
      parts += jnum(o, "cpu_user_s") + jnum(o, "cpu_sys_s");
  }
  if (fabs(parts - whole) > 0.05 * whole + 0.005)
    AB_FAIL("resources: the parts add up to %.4f s of CPU, the total is %.4f s", parts, whole);
}

/* The loop's parts share one thread: each part's CPU is measured, its user:system split is
 * the thread's (the kernel cannot tell per callback), and says so. */
static void assert_split_apportioned(json_t *r)
{
  json_t *res = jobj(r, "resources"), *rt = jobj(res, "runtime");
  double share = jnum(rt, "cpu_user_s") / (jnum(rt, "cpu_user_s") + jnum(rt, "cpu_sys_s"));
  const char *name;
  json_t *role;
  json_object_foreach(jobj(res, "roles"), name, role) {
    ASSERT_CONTAINS(jstr(role, "cpu_split"), "apportioned");
    double u = jnum(role, "cpu_user_s"), y = jnum(role, "cpu_sys_s");
    if (u + y > 1e-3 && fabs(u / (u + y) - share) > 1e-3)
      AB_FAIL("resources.roles.%s: user share %.4f, the loop thread's %.4f", name, u / (u + y), share);
  }
}

/* Memory: every process of the run read at one instant at the end of the window. */
static void assert_memory_snapshot(json_t *r, int procs)
{
  json_t *res = jobj(r, "resources"), *total = jobj(res, "total");
  ASSERT(!strncmp(jstr(total, "mem_scope"), "every process", 13)); /* complete; at one instant when quick */
  ASSERT_DBL(jnum(total, "pss_kb"), >, 0);
  ASSERT_DBL(jnum(total, "rss_kb"), >=, jnum(total, "pss_kb"));
  ASSERT_DBL(jnum(total, "pss_peak_kb"), >=, jnum(total, "pss_kb") * 0.9);
  ASSERT_DBL(jnum(total, "rss_peak_kb"), >=, jnum(total, "rss_kb") * 0.9);
  /* at the end of the window, not after the stop (when peers may have gone) */
  ASSERT_DBL(jnum(total, "mem_at_s"), >=, jnum(r, "duration_s") - 0.3);
  ASSERT_DBL(jnum(total, "mem_at_s"), <=, jnum(r, "duration_s") + 0.05);
  if (!procs)
    return;
  double sum = jnum(jobj(res, "supervisor"), "pss_kb");
  const char *name;
  json_t *role;
  json_object_foreach(jobj(res, "roles"), name, role) {
    if (!(jnum(role, "pss_kb") > 0))
      AB_FAIL("resources.roles.%s.pss_kb = %g: a role process has memory", name, jnum(role, "pss_kb"));
    sum += jnum(role, "pss_kb");
  }
  ASSERT_DBL(sum, ==, jnum(total, "pss_kb"));
}

static void baseline_run(const char *arch, const char *file)
{
  const char *out = temp_path(1);
  proc_t p;
  run_ab(&p, L("run", "baseline", "--arch", arch, "--duration", "0.5s", "--out", out, "--quiet"), RUN_TIMEOUT_S);
  if (p.code != 0)
    AB_FAIL("`%s` exited %d; stderr: %s", p.cmd, p.code, p.err);
  assert_nothing_left(&p);
  assert_no_tmp(out);
  json_t *r = load_result(out, file);
  check_common(r, "baseline", arch, NULL);
  ASSERT_STR(jstr(r, "status"), "ok");
  /* Every activation due in the window is accounted for, run or closed at the stop: 0.5 s
   * of a 1 ms period is exactly 500, whatever the machine did. */
  json_t *m = metric(r, "tick.lateness_ns");
  ASSERT_DBL(jnum(m, "count"), ==, 500);
  ASSERT_DBL(jnum(m, "min"), >=, 0); /* an absolute sleep never wakes early */
  ASSERT_DBL(jnum(m, "max"), <, 0.5e9); /* no activation ran before the start */
  ASSERT_DBL(jnum(m, "p50"), <=, jnum(m, "p99"));
  ASSERT_DBL(jnum(m, "p99"), <=, jnum(m, "max"));
  ASSERT_DBL(counter(r, "tick.closed_at_stop"), <=, counter(r, "tick.missed_periods"));
  assert_parts_add_up(r);
  assert_memory_snapshot(r, !strcmp(arch, "procs"));
  json_decref(r);
  proc_free(&p);
  cleanup_now();
}

/* Each row is a test: its name, the runtime, the result file it must write. */
#define BASELINE_TEST(name, arch, file) TEST_T(name, 90) { baseline_run(arch, file); }

BASELINE_TEST(e2e_baseline_threads_writes_ok_result, "threads", "baseline.threads.json")
BASELINE_TEST(e2e_baseline_procs_writes_ok_result_named_shm, "procs", "baseline.procs.shm.json")
BASELINE_TEST(e2e_baseline_loop_writes_ok_result, "loop", "baseline.loop.json")

/* ---- robot ------------------------------------------------------------------------------------------ */

static const char *const robot_metrics[] = {
  "inner.lateness_ns", "camera.lateness_ns", "camera.step_ns", "vision.step_ns", "inner.step_ns",
  "driver.step_ns", "frame.latency_ns", "motor.latency_ns", "vision.detect_ns", "obs_to_cmd_ns",
  "frame_to_cmd_ns", "serial.rtt_ns", "inner.ik_ns", "camera.frame_age_ns", "vision.encoder_age_ns",
  NULL,
};
static const char *const robot_counters[] = {
  "inner.missed_periods", "camera.missed_periods", "frame.messages", "frame.drops", "motor.messages",
  "motor.drops", "vision.frames", "vision.marker_errors", "vision.markers", "camera.skipped_frames",
  "camera.waits", "serial.timeouts", "serial.crc_errors", "driver.coalesced", "inner.ik_not_converged",
  "vision.frames_corrupt", "vision.observations", "obs_to_cmd.lost", "inner.closed_at_stop",
  "camera.closed_at_stop", NULL,
};
static const char *const robot_roles[] = { "camera", "vision", "inner", "driver", NULL };

static void robot_run(const char *arch, const char *transport, const char *file)
{
  const char *out = temp_path(1);
  proc_t p;
  /* Without a transport the list ends at "--quiet". */
  run_ab(&p, L("run", "robot", "--arch", arch, "--duration", "1.5s", "--out", out, "--quiet",
               transport ? "--transport" : NULL, transport), RUN_TIMEOUT_S);
  /* A requirement (lateness) may fail on a loaded machine: 1 is a finding, not an error. */
  if (p.code != 0 && p.code != 1)
    AB_FAIL("`%s` exited %d; stderr: %s", p.cmd, p.code, p.err);
  assert_nothing_left(&p);
  assert_no_tmp(out);
  json_t *r = load_result(out, file);
  check_common(r, "robot", arch, transport);
  json_t *err = json_object_get(r, "error");
  if (strcmp(jstr(r, "status"), "ok"))
    AB_FAIL("`%s`: status \"%s\", error: %s", p.cmd, jstr(r, "status"),
            json_is_string(err) ? json_string_value(err) : "null");
  ASSERT(json_is_null(err));

  for (int i = 0; robot_metrics[i]; i++)
    metric(r, robot_metrics[i]);
  for (int i = 0; robot_counters[i]; i++)
    counter(r, robot_counters[i]);

  /* 1.5 s at 100 Hz and 20 Hz: every activation due is accounted for, run or closed. */
  ASSERT_DBL(jnum(metric(r, "inner.lateness_ns"), "count"), ==, 150);
  ASSERT_DBL(jnum(metric(r, "camera.lateness_ns"), "count"), ==, 30);
  ASSERT_DBL(jnum(metric(r, "inner.lateness_ns"), "min"), >=, 0);
  ASSERT_DBL(counter(r, "vision.frames"), >, 0);
  ASSERT_DBL(counter(r, "vision.marker_errors"), ==, 0);
  ASSERT_DBL(counter(r, "vision.frames_corrupt"), ==, 0);
  /* vision.rate: frames handled of those due, as the result says */
  ASSERT_DBL(fabs(jnum(jobj(r, "values"), "vision.rate") - counter(r, "vision.frames") / 30), <, 1e-5);
  /* Every observation is accounted for: carried by a command (the chain's count), lost, or
   * still on its way at the stop. */
  ASSERT_DBL(counter(r, "vision.observations"), ==, jnum(metric(r, "obs_to_cmd_ns"), "count") +
                                                    counter(r, "obs_to_cmd.lost") +
                                                    counter(r, "obs_to_cmd.pending_at_stop"));
  ASSERT_DBL(jnum(metric(r, "vision.detect_ns"), "count"), >, 0);
  ASSERT_DBL(jnum(metric(r, "obs_to_cmd_ns"), "count"), >, 0);

  /* A SET + STATUS exchange cannot beat the wire: 61 bytes at 86.8 us. The simulator sees
   * the SET no sooner than the driver starts writing it, so even the fastest exchange, timed
   * from the start of the write, is bounded from below as well as the median. */
  json_t *rtt = metric(r, "serial.rtt_ns");
  ASSERT_DBL(jnum(rtt, "count"), >, 0);
  double wire = (SET_FRAME_BYTES + STATUS_FRAME_BYTES) * BYTE_NS_115200;
  ASSERT_DBL(jnum(rtt, "p50"), >=, 0.9 * wire);
  ASSERT_DBL(jnum(rtt, "min"), >=, 0.9 * wire);

  json_t *dev = jobj(r, "devices");
  ASSERT_STR(jstr(dev, "serial"), "mock-pty");
  ASSERT_STR(jstr(dev, "camera"), "synthetic");
  json_t *cal = jobj(r, "calibration");
  ASSERT_DBL(jnum(cal, "vision.decim"), >=, 1);
  ASSERT_DBL(jnum(cal, "vision.pad_rows"), >=, 0);
  ASSERT_CONTAINS(jstr(cal, "vision.pad_kernel"), "full resolution");
  ASSERT_INT(json_array_size(json_object_get(r, "requirements")), >, 0);

  json_t *roles = jobj(jobj(r, "resources"), "roles");
  for (int i = 0; robot_roles[i]; i++) {
    json_t *role = jobj(roles, robot_roles[i]);
    ASSERT_DBL(jnum(role, "cpu_user_s") + jnum(role, "cpu_sys_s"), >, 0); /* every role did work */
  }
  assert_parts_add_up(r);
  assert_memory_snapshot(r, !strcmp(arch, "procs"));
  if (!strcmp(arch, "loop"))
    assert_split_apportioned(r);
  json_decref(r);
  proc_free(&p);
  cleanup_now();
}

/* Each row is a test: its name, the runtime, the transport (procs only), the result file. */
#define ROBOT_TEST(name, arch, transport, file) TEST_T(name, 90) { robot_run(arch, transport, file); }

ROBOT_TEST(e2e_robot_threads_records_every_metric, "threads", NULL, "robot.threads.json")
ROBOT_TEST(e2e_robot_loop_records_every_metric, "loop", NULL, "robot.loop.json")
ROBOT_TEST(e2e_robot_procs_pipe_records_every_metric, "procs", "pipe", "robot.procs.pipe.json")
ROBOT_TEST(e2e_robot_procs_unix_records_every_metric, "procs", "unix", "robot.procs.unix.json")
ROBOT_TEST(e2e_robot_procs_mq_records_every_metric, "procs", "mq", "robot.procs.mq.json")
ROBOT_TEST(e2e_robot_procs_shm_records_every_metric, "procs", "shm", "robot.procs.shm.json")
ROBOT_TEST(e2e_robot_procs_tcp_records_every_metric, "procs", "tcp", "robot.procs.tcp.json")

/* ---- interruptions ---------------------------------------------------------------------------------- */

typedef struct stopped {
  proc_t p;
  const char *arch, *transport;
  json_t *res;
} stopped_t;

enum { TO_GROUP, TO_SUPERVISOR, TO_VISION }; /* who gets the signal */

/* A sanitizer build catches SIGSEGV itself and exits 1: the role would no longer die by the
 * signal this test sends. Leave the signal alone (in the run's environment only). */
static void sanitizers_leave_segv(void)
{
  static const char *const vars[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS" };
  for (int i = 0; i < 3; i++) {
    const char *old = getenv(vars[i]);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s%shandle_segv=0", old ? old : "", old && *old ? ":" : "");
    setenv(vars[i], buf, 1);
  }
}

/* Start a 30 s robot run, wait for its roles, let it run a little, then deliver `sig` as
 * `how` says; expect exit `code` within a few seconds, a whole result, nothing left behind. */
static void robot_interrupt(stopped_t *s, const char *arch, int how, int sig, int code, const char *file)
{
  const char *out = temp_path(1);
  if (sig == SIGSEGV)
    sanitizers_leave_segv();
  int procs = !strcmp(arch, "procs");
  s->arch = arch;
  s->transport = procs ? "shm" : NULL;
  /* Without a transport the list ends at "--quiet". */
  start_ab(&s->p, L("run", "robot", "--arch", arch, "--duration", "30s", "--out", out, "--quiet",
                    procs ? "--transport" : NULL, s->transport));
  if (!strcmp(arch, "loop"))
    wait_roles(&s->p, L("ab-loop", "ab-motorsim"), 1, 20);
  else
    wait_roles(&s->p, L("ab-camera", "ab-vision", "ab-inner", "ab-driver", "ab-motorsim"), !procs, 20);
  usleep(400000); /* past the start barrier: the measured window is running */
  if (wait_ab(&s->p, 0))
    AB_FAIL("the run ended on its own (exit %d) before the signal; stderr: %s", s->p.code, s->p.err);

  double t_sig = now_s();
  if (how == TO_GROUP) {
    ASSERT_EQ(kill(-s->p.pid, sig), 0); /* as a terminal's Ctrl-C: the whole foreground group */
  } else if (how == TO_SUPERVISOR) {
    ASSERT_EQ(kill(s->p.pid, sig), 0);
  } else {
    pid_t v = session_find(s->p.pid, "ab-vision", 0);
    ASSERT(v > 0);
    ASSERT_EQ(kill(v, sig), 0);
  }
  if (!wait_ab(&s->p, 10.0)) {
    kill(-s->p.pid, SIGKILL);
    AB_FAIL("no exit within 10 s of signal %d", sig);
  }
  double dt = now_s() - t_sig;
  if (s->p.code != code)
    AB_FAIL("exit %d after signal %d, expected %d; stderr: %s", s->p.code, sig, code, s->p.err);
  ASSERT_DBL(dt, <, 8.0); /* "within a few seconds": the roles' join is bounded at 5 s */
  assert_nothing_left(&s->p);
  assert_no_tmp(out);
  s->res = load_result(out, file);
  cleanup_now(); /* the result is in memory: the files are done with */
  /* The run was cut short: what it measured covers less than the 30 s asked. */
  ASSERT_DBL(jnum(s->res, "duration_s"), <, 29);
  ASSERT_DBL(jnum(s->res, "requested_duration_s"), ==, 30);
}

static void expect_partial(stopped_t *s)
{
  const char *st = jstr(s->res, "status");
  if (strcmp(st, "partial")) {
    json_t *e = json_object_get(s->res, "error");
    AB_FAIL("status \"%s\", expected \"partial\"; error: %s", st, json_is_string(e) ? json_string_value(e) : "null");
  }
  check_common(s->res, "robot", s->arch, s->transport);
  /* A partial result still holds what was measured before the stop, and accounts for the
   * activations due until the stop, not until the end the run was asked for. */
  double count = jnum(metric(s->res, "inner.lateness_ns"), "count"), window = jnum(s->res, "duration_s");
  ASSERT_DBL(count, >, 0);
  /* (a few may be due unstarted at the stop, more under a sanitizer's slowdown; closing up
   * to the end asked for would be thousands) */
  ASSERT_DBL(count, <=, window * 100 + 50);
  ASSERT_DBL(counter(s->res, "inner.closed_at_stop"), <=, 50);
  json_decref(s->res);
}

/* Each row is a test: its name, the runtime, who gets which signal, the result file. Every
 * such stop is an interruption: exit 130 within a few seconds, a partial result, nothing left
 * behind. */
#define PARTIAL_TEST(name, arch, how, sig, file)                                                \
  TEST_T(name, 90)                                                                              \
  {                                                                                             \
    stopped_t s;                                                                                \
    robot_interrupt(&s, arch, how, sig, 130, file);                                             \
    expect_partial(&s);                                                                         \
  }

PARTIAL_TEST(e2e_sigint_to_group_procs_exits_130_partial_clean, "procs", TO_GROUP, SIGINT, "robot.procs.shm.json")
PARTIAL_TEST(e2e_sigint_to_group_threads_exits_130_partial, "threads", TO_GROUP, SIGINT, "robot.threads.json")
PARTIAL_TEST(e2e_sigint_to_group_loop_exits_130_partial, "loop", TO_GROUP, SIGINT, "robot.loop.json")
PARTIAL_TEST(e2e_sigterm_to_procs_supervisor_exits_130_partial, "procs", TO_SUPERVISOR, SIGTERM, "robot.procs.shm.json")
/* SIGTERM or SIGHUP to the whole group (a service manager stopping the job, the terminal
 * closing) is an interruption like Ctrl-C: the harness's own mock devices getting the same
 * signal must not turn it into a failed run. */
PARTIAL_TEST(e2e_sigterm_to_group_threads_exits_130_partial, "threads", TO_GROUP, SIGTERM, "robot.threads.json")
PARTIAL_TEST(e2e_sigterm_to_group_loop_exits_130_partial, "loop", TO_GROUP, SIGTERM, "robot.loop.json")
PARTIAL_TEST(e2e_sigterm_to_group_procs_exits_130_partial, "procs", TO_GROUP, SIGTERM, "robot.procs.shm.json")
PARTIAL_TEST(e2e_sighup_to_group_threads_exits_130_partial, "threads", TO_GROUP, SIGHUP, "robot.threads.json")

TEST_T(e2e_vision_sigsegv_fails_procs_run_naming_role, 90)
{
  stopped_t s;
  robot_interrupt(&s, "procs", TO_VISION, SIGSEGV, 1, "robot.procs.shm.json");
  ASSERT_STR(jstr(s.res, "status"), "failed");
  const char *err = jstr(s.res, "error");
  ASSERT_CONTAINS(err, "vision");
  if (!strstr(err, "11") && !strstr(err, "Segmentation"))
    AB_FAIL("error does not name the signal (11, Segmentation fault): \"%s\"", err);
  check_common(s.res, "robot", "procs", "shm");
  json_decref(s.res);
}

/* Has pid exec'd archbench (its name is the program's, no longer this test's)? */
static int exec_done(pid_t pid)
{
  char path[64], comm[32] = "";
  snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  if (!fgets(comm, sizeof comm, f))
    comm[0] = 0;
  fclose(f);
  return !strncmp(comm, "archbench", 9);
}

/* Is sig in the blocked mask of pid's main thread? */
static int sig_blocked(pid_t pid, int sig)
{
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  unsigned long long mask = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "SigBlk: %llx", &mask) == 1)
      break;
  fclose(f);
  return (int)((mask >> (sig - 1)) & 1);
}

/* Ctrl-C while the run is still being set up (calibration, spawning): nothing was measured,
 * and that is an interruption, not a failure of the workload. */
TEST_T(e2e_sigint_during_setup_exits_130_partial, 90)
{
  const char *out = temp_path(1);
  proc_t p;
  start_ab(&p, L("run", "robot", "--arch", "procs", "--transport", "shm", "--duration", "30s", "--out", out,
                 "--quiet"));
  /* The supervisor blocks SIGINT as its run begins, before set-up: from then on Ctrl-C is its
   * to handle (before that, the default action is the right one and leaves nothing). */
  double t0 = now_s();
  /* Between fork and exec the child still has the parent's (this test's) mask: only the
   * archbench program's own mask counts. */
  while (!exec_done(p.pid) || !sig_blocked(p.pid, SIGINT)) {
    if (wait_ab(&p, 0))
      AB_FAIL("the run exited %d before it began; stderr: %s", p.code, p.err);
    if (now_s() - t0 > 20) {
      kill(-p.pid, SIGKILL);
      AB_FAIL("the supervisor never blocked SIGINT");
    }
    usleep(500);
  }
  int roles_up = session_find(p.pid, "ab-inner", 0) != 0;
  ASSERT_EQ(kill(-p.pid, SIGINT), 0);
  finish_ab(&p, 15.0);
  if (p.code != 130)
    AB_FAIL("exit %d after SIGINT during set-up, expected 130; stderr: %s", p.code, p.err);
  assert_nothing_left(&p);
  assert_no_tmp(out);
  json_t *r = load_result(out, "robot.procs.shm.json");
  check_common(r, "robot", "procs", "shm");
  const char *st = jstr(r, "status");
  if (strcmp(st, "partial")) {
    json_t *e = json_object_get(r, "error");
    AB_FAIL("status \"%s\", expected \"partial\" (signalled %s the roles existed); error: %s", st,
            roles_up ? "after" : "before", json_is_string(e) ? json_string_value(e) : "null");
  }
  json_decref(r);
  cleanup_now();
}

/* A supervisor killed outright cannot clean up: its roles and the motor simulator must still
 * go with it (PR_SET_PDEATHSIG) and no shared-memory name may outlive it. */
TEST_T(e2e_supervisor_sigkill_takes_every_role_along, 90)
{
  const char *out = temp_path(1);
  proc_t p;
  start_ab(&p, L("run", "robot", "--arch", "procs", "--transport", "shm", "--duration", "30s", "--out", out,
                 "--quiet"));
  wait_roles(&p, L("ab-camera", "ab-vision", "ab-inner", "ab-driver", "ab-motorsim"), 0, 20);
  usleep(300000);
  ASSERT_EQ(kill(p.pid, SIGKILL), 0);
  finish_ab(&p, 5.0);
  ASSERT_EQ(p.code, -SIGKILL);
  assert_nothing_left(&p);
  assert_no_tmp(out);
  cleanup_now();
}

/* A role stopped by SIGSTOP never reaches the end of the run: it is killed once the stop
 * grace is over (5 s; 1 s here, AB_STOP_GRACE), the run fails naming it, and nothing is left
 * behind. */
TEST_T(e2e_sigstopped_role_is_killed_and_fails_the_run_naming_it, 90)
{
  const char *out = temp_path(1);
  proc_t p;
  setenv("AB_STOP_GRACE", "1s", 1);
  start_ab(&p, L("run", "robot", "--arch", "procs", "--transport", "shm", "--duration", "2s", "--out", out,
                 "--quiet"));
  wait_roles(&p, L("ab-camera", "ab-vision", "ab-inner", "ab-driver", "ab-motorsim"), 0, 20);
  usleep(300000);
  pid_t v = session_find(p.pid, "ab-vision", 0);
  ASSERT(v > 0);
  ASSERT_EQ(kill(v, SIGSTOP), 0);
  finish_ab(&p, 30.0);
  if (p.code != 1)
    AB_FAIL("exit %d, expected 1; stderr: %s", p.code, p.err);
  assert_nothing_left(&p);
  assert_no_tmp(out);
  json_t *r = load_result(out, "robot.procs.shm.json");
  ASSERT_STR(jstr(r, "status"), "failed");
  ASSERT_CONTAINS(jstr(r, "error"), "vision");
  ASSERT_CONTAINS(jstr(r, "error"), "did not stop within 1 s");
  json_decref(r);
  proc_free(&p);
  cleanup_now();
}
