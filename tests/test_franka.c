/* Tests of the franka scenario (scenarios/franka.c) and of the loop runtime's offload
 * variants it brought (harness/offload.c): every variant carries the policy's answers back
 * and each is checked against its request; a stall of known length is seen alike by the
 * robot (device-side truth) and by the controller; a policy process killed mid-run fails the
 * run cleanly, leaving nothing behind; bad params and options exit 2 naming the value.
 *
 * Runs are the binary's ($AB_BIN, tests/proc.h), 1.5 s or less each. No figure is held to a
 * latency: counts are checked by arithmetic within one result, or against a stall's length.
 */
#include <jansson.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "jresult.h"
#include "proc.h"
#include "test.h"

#define T_S 60.0

static json_t *run_variant(const char *out, const char *arch, const char *offload, int gil, const char *file,
                           const char *const *extra)
{
  const char *a[8] = { "--arch", arch, "--duration", "1500ms" };
  int n = 4;
  if (offload)
    a[n++] = "--offload", a[n++] = offload;
  if (gil)
    a[n++] = "--gil";
  a[n] = NULL;
  return run_scenario("franka", out, file, a, extra, NULL);
}

/* The robot's account adds up, the controller answered, and every answer of the policy
 * came back right: one per request but those still in flight at the end. */
static void carries_back(const char *arch, const char *offload, int gil, const char *file)
{
  const char *out = temp_path(1);
  json_t *r = run_variant(out, arch, offload, gil, file, L("--param", "policy=500us", "--param", "policy_hz=50"));
  ASSERT_STR(jstr(r, "status"), "ok");
  ASSERT_STR(jstr(jobj(r, "devices"), "robot"), "mock-udp");
  double states = counter(r, "robot.states"), reqs = counter(r, "policy.requests"), res = counter(r, "policy.results");
  printf("%s%s%s: %.0f states, %.0f violations; %.0f requests, %.0f results, %.0f bad\n", arch,
         offload ? "/" : "", offload ? offload : "", states, counter(r, "robot.violations"), reqs, res,
         counter(r, "policy.bad"));
  ASSERT_DBL(states, >=, 1200); /* 1.5 s at 1 kHz, less the robot's last period */
  ASSERT_DBL(states, <=, 1501);
  ASSERT_DBL(counter(r, "robot.on_time") + counter(r, "robot.violations") + counter(r, "robot.in_reflex") +
                 counter(r, "robot.unjudged"),
             ==, states);
  ASSERT_DBL(counter(r, "control.answered"), >=, states * 0.9);
  ASSERT_DBL(reqs, >=, 50);
  ASSERT_DBL(counter(r, "policy.bad"), ==, 0);
  ASSERT_DBL(res, >=, reqs - 4); /* at most a queue's depth in flight at the stop */
  ASSERT_DBL(res, <=, reqs);
  ASSERT(metric(r, "policy.rtt_ns") && jnum(metric(r, "policy.rtt_ns"), "count") == res);
  /* Each answer's overhead is its round trip less its own step: never below 0, one per
   * answer, and the value is its median in microseconds. */
  json_t *ov = metric(r, "policy.overhead_ns");
  ASSERT(ov && jnum(ov, "count") == res);
  ASSERT_DBL(jnum(ov, "min"), >=, 0);
  ASSERT_DBL(jnum(jobj(r, "values"), "policy.overhead_us"), ==, jnum(ov, "p50") / 1e3);
  /* The robot's response (its clock, in us) and the controller's (its own, in ns) are one
   * quantity seen from both ends: their medians agree within a factor of 3. */
  double dev_us = jnum(jobj(r, "values"), "robot.response_p50_us"), ctl_ns = jnum(metric(r, "control.response_ns"), "p50");
  printf("response p50: robot %.1f us, controller %.1f us\n", dev_us, ctl_ns / 1e3);
  ASSERT_DBL(dev_us * 1e3, >=, ctl_ns / 3);
  ASSERT_DBL(dev_us * 1e3, <=, ctl_ns * 3);
  json_decref(r);
}

TEST_T(franka_inline_carries_the_policy_back, 60) { carries_back("loop", "inline", 0, "franka.loop.json"); }
TEST_T(franka_executor_carries_the_policy_back, 60) { carries_back("loop", "executor", 1, "franka.loop.executor.gil.json"); }
TEST_T(franka_thread_carries_the_policy_back, 60) { carries_back("loop", "thread", 1, "franka.loop.thread.gil.json"); }
TEST_T(franka_process_carries_the_policy_back, 60) { carries_back("loop", "process", 0, "franka.loop.process.json"); }
TEST_T(franka_server_carries_the_policy_back, 60) { carries_back("procs", NULL, 1, "franka.procs.shm.gil.json"); }
TEST_T(franka_threads_carries_the_policy_back, 60) { carries_back("threads", NULL, 0, "franka.threads.json"); }

/* A stall of 30 ms on the control role's third activation (an answer of the policy) holds
 * back the states of 30 periods: the robot counts them violations on its own clock, the
 * controller on its own, and the two agree within the stall's two ragged ends. Without a
 * reflex (reflex_reset=0) every one is judged. */
static void stall_seen_by_both(const char *arch, const char *file)
{
  const char *out = temp_path(1);
  json_t *r = run_variant(out, arch, strcmp(arch, "loop") ? NULL : "inline", 0, file,
                          L("--param", "policy=100us", "--param", "policy_hz=100", "--param", "reflex_reset=0",
                            "--fault", "stall:control:3:30ms"));
  double dev = counter(r, "robot.violations"), ctl = counter(r, "control.violations");
  printf("%s: a 30 ms stall: the robot counts %.0f violations (%.0f late, %.0f missed), the controller %.0f\n", arch, dev,
         counter(r, "robot.late"), counter(r, "robot.missed"), ctl);
  ASSERT_DBL(dev, >=, 28);
  ASSERT_DBL(ctl, >=, 28);
  ASSERT_DBL(dev - ctl, <=, 3);
  ASSERT_DBL(ctl - dev, <=, 3);
  ASSERT_DBL(counter(r, "robot.reflexes"), >=, 1);
  /* Every state held back is answered after the stall, and its response recorded: the
   * oldest waited the whole stall (not only the newest of each wake-up's batch). */
  json_t *resp = metric(r, "control.response_ns");
  ASSERT(resp != NULL);
  printf("%s: control.response_ns max %.1f ms, %.0f recorded for %.0f answered\n", arch, jnum(resp, "max") / 1e6,
         jnum(resp, "count"), counter(r, "control.answered"));
  ASSERT_DBL(jnum(resp, "max"), >=, 25e6);
  ASSERT_DBL(jnum(resp, "count"), ==, counter(r, "control.answered"));
  json_t *wake = metric(r, "control.wake_ns"); /* likewise each state's wake-up */
  ASSERT_DBL(jnum(wake, "max"), >=, 25e6);
  ASSERT_DBL(jnum(wake, "count"), ==, counter(r, "control.answered"));
  json_decref(r);
}

TEST_T(franka_stall_is_counted_alike_by_robot_and_controller_threads, 60)
{
  stall_seen_by_both("threads", "franka.threads.json");
}
TEST_T(franka_stall_is_counted_alike_by_robot_and_controller_loop, 60) { stall_seen_by_both("loop", "franka.loop.json"); }

/* The policy's process killed mid-run: the run fails saying which role died and how, exits
 * 1 with a result that says failed, and leaves no process, pipe or shared memory behind. */
TEST_T(franka_killed_policy_process_fails_the_run_cleanly, 60)
{
  const char *out = temp_path(1);
  proc_t p;
  start_ab(&p, L("run", "franka", "--arch", "loop", "--offload", "process", "--duration", "5s", "--out", out,
                 "--quiet"));
  pid_t pol = 0;
  for (double t0 = now_s(); !pol && now_s() - t0 < 20; usleep(20000))
    pol = session_find(p.pid, "ab-policy", 0);
  ASSERT(pol > 0);
  usleep(500000);
  ASSERT_EQ(kill(pol, SIGKILL), 0);
  double t0 = now_s();
  ASSERT(wait_ab(&p, 30));
  printf("exit %d %.2f s after the kill; stderr: %s\n", p.code, now_s() - t0, p.err);
  ASSERT_EQ(p.code, 1);
  ASSERT_CONTAINS(p.err, "policy");
  ASSERT_CONTAINS(p.err, "signal 9");
  assert_nothing_left(&p);
  json_t *r = load_result(out, "franka.loop.process.json");
  ASSERT_STR(jstr(r, "status"), "failed");
  json_decref(r);
  proc_free(&p);
}

static void refused(const char *const *args, const char *says)
{
  proc_t p;
  run_ab(&p, args, T_S);
  printf("`%s` -> %d: %s", p.cmd, p.code, p.err);
  ASSERT_EQ(p.code, 2);
  ASSERT_CONTAINS(p.err, says);
  proc_free(&p);
}

TEST(franka_bad_params_exit_2_naming_them)
{
  refused(L("run", "franka", "--param", "policy=fast", "--duration", "1s"), "policy");
  refused(L("run", "franka", "--param", "policy_gil=1.5", "--duration", "1s"), "policy_gil");
  refused(L("run", "franka", "--param", "launches=10", "--param", "launch_gil=1ms", "--duration", "1s"), "launch_gil");
  refused(L("run", "franka", "--param", "control=2ms", "--duration", "1s"), "control=");
  refused(L("run", "franka", "--param", "reflex_after=0", "--duration", "1s"), "reflex_after");
}

TEST(offload_options_refused_where_they_mean_nothing)
{
  refused(L("run", "franka", "--arch", "threads", "--offload", "thread", "--duration", "1s"), "only the loop");
  refused(L("run", "franka", "--arch", "loop", "--offload", "fiber", "--duration", "1s"), "fiber");
  refused(L("run", "baseline", "--arch", "loop", "--offload", "thread", "--duration", "1s"), "no role to offload");
}
