/* Tests of the loop runtime's offload variants (harness/offload.c, --offload) on the franka
 * scenario's policy role, each pinning what makes a variant what it claims to be, beyond
 * carrying the answers back (tests/test_franka.c checks that):
 *
 *   executor  a pool: its min(32, CPUs + 4) threads exist and their steps overlap, which one
 *             dedicated thread's never do (the sum of step times against the window);
 *   process   a child process named ab-policy, whose CPU and memory the result's total holds;
 *   wake-up   an offloaded role's answer wakes the loop at once, not at the robot's next state;
 *   inline    the policy's step holds the loop: states wait behind it, as they do not when
 *             it runs on a thread of its own;
 *   --gil     the loop's take of the GIL after a wait is the wait of the role it wakes.
 *
 * Runs are the binary's ($AB_BIN, tests/proc.h), 1.5 s or less each, without --gil but the last. Nothing
 * is held to a latency: figures are checked against physical bounds (steps of one thread
 * cannot add up to more than its window), against the robot's period, or as ratios between
 * two variants run within the same test.
 */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jresult.h"
#include "proc.h"
#include "test.h"

#define T_S 60.0

/* `archbench run franka --arch loop --offload OFFLOAD` with args, into out; the caller may
 * look at the run while it lasts (watch, may be NULL), then its result file. */
static json_t *run_offload(const char *out, const char *offload, const char *file, const char *duration,
                           const char *const *params, void (*watch)(proc_t *p, void *arg), void *arg)
{
  const char *args[32] = { "run", "franka", "--arch", "loop", "--offload", offload, "--duration", duration,
                           "--out", out, "--quiet" };
  int n = 11;
  for (int i = 0; params && params[i]; i++)
    args[n++] = params[i];
  args[n] = NULL;
  proc_t p;
  start_ab(&p, args);
  if (watch)
    watch(&p, arg);
  finish_ab(&p, T_S);
  if (p.code != 0 && p.code != 1) /* 1: the robot counted violations, which is no matter here */
    AB_FAIL("`%s` exited %d, expected 0 or 1; stderr: \"%s\"", p.cmd, p.code, p.err);
  proc_free(&p);
  json_t *r = load_result(out, file);
  ASSERT_STR(jstr(r, "status"), "ok");
  ASSERT_STR(jstr(r, "offload"), offload);
  return r;
}

static json_t *role_res(json_t *r, const char *role) { return jobj(jobj(jobj(r, "resources"), "roles"), role); }
static double cpu_s(json_t *res) { return jnum(res, "cpu_user_s") + jnum(res, "cpu_sys_s"); }

/* The wall time the policy's steps took, added up, over the run's window: how many steps ran
 * at once on average. One thread's steps follow each other: at most the window and the one
 * step still running at its end. */
static double steps_at_once(json_t *r, double *max_step_s)
{
  json_t *m = metric(r, "policy.step_ns");
  double window = jnum(r, "duration_s");
  *max_step_s = jnum(m, "max") / 1e9;
  return jnum(m, "count") * jnum(m, "mean") / 1e9 / window;
}

/* ---- executor: a pool whose steps overlap ---------------------------------------------- */

/* The threads of process pid whose name begins with prefix. */
static int threads_named(pid_t pid, const char *prefix)
{
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (!d)
    return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char tp[300], comm[64] = "";
    snprintf(tp, sizeof tp, "/proc/%d/task/%s/comm", (int)pid, e->d_name);
    FILE *f = fopen(tp, "r");
    if (!f)
      continue;
    if (fgets(comm, sizeof comm, f))
      n += !strncmp(comm, prefix, strlen(prefix));
    fclose(f);
  }
  closedir(d);
  return n;
}

/* The most pool threads seen in the run's process while it runs (sampled for 600 ms after
 * the first shows up). */
static void count_pool(proc_t *p, void *arg)
{
  int *most = arg;
  pid_t pid = 0;
  for (double t0 = now_s(); !pid && now_s() - t0 < 20; usleep(10000))
    pid = session_find(p->pid, "ab-policy-x0", 1);
  ASSERT(pid > 0);
  for (double t0 = now_s(); now_s() - t0 < 0.6; usleep(50000)) {
    int n = threads_named(pid, "ab-policy-x");
    *most = n > *most ? n : *most;
  }
}

/* A 20 ms step asked for every 5 ms: the requests pile up, so every worker of the pool is
 * busy at once and the steps' wall times add up to several windows; the one thread of
 * `thread` cannot step twice at once, so its steps add up to the window at most. */
TEST_T(offload_executor_is_a_pool_of_cpus_plus_4_threads_stepping_at_once, 60)
{
  const char *const params[] = { "--param", "policy=20ms", "--param", "policy_hz=200", NULL };
  const char *out = temp_path(1);
  int seen = 0;
  json_t *x = run_offload(out, "executor", "franka.loop.executor.json", "1500ms", params, count_pool, &seen);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN), want = ncpu + 4 < 32 ? ncpu + 4 : 32;
  double xmax, xat = steps_at_once(x, &xmax);
  json_t *t = run_offload(out, "thread", "franka.loop.thread.json", "1500ms", params, NULL, NULL);
  double tmax, tat = steps_at_once(t, &tmax);
  printf("executor: %.0f threads in the result, %d seen, %.0f steps, %.2f at once on average; "
         "thread: %.0f steps, %.2f at once (longest %.1f ms)\n",
         jnum(x, "executor_threads"), seen, jnum(metric(x, "policy.step_ns"), "count"), xat,
         jnum(metric(t, "policy.step_ns"), "count"), tat, tmax * 1e3);
  ASSERT_EQ(jnum(x, "executor_threads"), want);
  ASSERT_EQ(seen, want);
  ASSERT_DBL(xat, >=, want / 2.0); /* every worker busy: about `want` */
  ASSERT_DBL(tat, <=, 1 + (tmax + 0.05) / jnum(t, "duration_s")); /* and a stop a little late */
  ASSERT(json_object_get(t, "executor_threads") == NULL); /* a pool's size only where there is one */
  json_decref(x);
  json_decref(t);
}

/* ---- process: a child, counted in the total ---------------------------------------------- */

static void find_policy_process(proc_t *p, void *arg)
{
  pid_t *child = arg;
  for (double t0 = now_s(); !*child && now_s() - t0 < 20; usleep(10000))
    *child = session_find(p->pid, "ab-policy", 0);
}

/* A 5 ms step 100 times a second (half a CPU): under `process` it runs in a child named
 * ab-policy, whose account is the policy's own and is in the run's total, CPU and memory;
 * so the total is not far below `thread`'s, where the same work is the run's own process's. */
TEST_T(offload_process_runs_the_policy_in_a_child_counted_in_the_total, 60)
{
  const char *const params[] = { "--param", "policy=5ms", "--param", "policy_hz=100", NULL };
  const char *out = temp_path(1);
  pid_t child = 0;
  json_t *pr = run_offload(out, "process", "franka.loop.process.json", "1500ms", params, find_policy_process, &child);
  json_t *th = run_offload(out, "thread", "franka.loop.thread.json", "1500ms", params, NULL, NULL);
  json_t *pt = jobj(jobj(pr, "resources"), "total"), *tt = jobj(jobj(th, "resources"), "total");
  json_t *pol = role_res(pr, "policy"), *rt = jobj(jobj(pr, "resources"), "runtime");
  double parts = cpu_s(pol) + cpu_s(role_res(pr, "control")) + cpu_s(rt);
  printf("process: child %d, policy %.3f s of CPU in pid %.0f (the loop's %.0f), total %.3f s (its parts %.3f), "
         "rss %.0f kB (the child's %.0f); thread: total %.3f s, rss %.0f kB\n",
         (int)child, cpu_s(pol), jnum(pol, "pid"), jnum(rt, "pid"), cpu_s(pt), parts, jnum(pt, "rss_kb"),
         json_number_value(json_object_get(pol, "rss_kb")), cpu_s(tt), jnum(tt, "rss_kb"));
  ASSERT(child > 0);
  ASSERT_INT(child, !=, jnum(rt, "pid")); /* not the loop's process */
  ASSERT_EQ(jnum(pol, "pid"), child);
  ASSERT_DBL(cpu_s(pol), >=, 0.2);                    /* it did the work: ~0.75 s */
  ASSERT_DBL(cpu_s(pt), >=, 0.9 * parts);             /* the total holds the child's CPU */
  ASSERT_DBL(cpu_s(pt), >=, 0.4 * cpu_s(tt));         /* ... as thread's holds its thread's */
  ASSERT_DBL(jnum(pol, "rss_kb"), >, 0);              /* the child's memory was sampled */
  ASSERT_DBL(jnum(pt, "rss_kb") - jnum(tt, "rss_kb"), >=, 0.5 * jnum(pol, "rss_kb")); /* and is in the total */
  json_decref(pr);
  json_decref(th);
}

/* ---- the loop hears an offloaded answer at once ------------------------------------------ */

/* The robot's state every 10 ms, a 200 us step asked for at every other one: an answer that
 * woke the loop through its channel's fd is in the control's hands well within the period;
 * one that had to wait for the loop's next wake-up (the robot's next state) would take the
 * rest of the period, its round trip about 10 ms. */
static void answers_wake_the_loop(const char *offload, const char *file)
{
  const char *const params[] = { "--param", "period=10ms", "--param", "policy=200us", "--param", "policy_hz=50", NULL };
  const char *out = temp_path(1);
  json_t *r = run_offload(out, offload, file, "1s", params, NULL, NULL);
  json_t *rtt = metric(r, "policy.rtt_ns"), *lat = metric(r, "action.latency_ns");
  printf("%s: %.0f answers; round trip p50 %.0f us, answer's queue p50 %.0f us; period 10 ms\n", offload,
         jnum(rtt, "count"), jnum(rtt, "p50") / 1e3, jnum(lat, "p50") / 1e3);
  ASSERT_DBL(jnum(rtt, "count"), >=, 25);
  ASSERT_DBL(jnum(rtt, "p50"), <, 10e6 / 4);
  ASSERT_DBL(jnum(lat, "p50"), <, 10e6 / 4);
  json_decref(r);
}

TEST_T(offload_answers_wake_the_loop_before_the_next_state, 60)
{
  answers_wake_the_loop("thread", "franka.loop.thread.json");
  answers_wake_the_loop("process", "franka.loop.process.json");
  answers_wake_the_loop("executor", "franka.loop.executor.json");
}

/* ---- inline: the step holds the loop ----------------------------------------------------- */

/* A 10 ms step 30 times a second: inline, every state that comes during a step waits for its
 * end, so a few per request wait half a step or more (the robot's period is 1 ms); on a thread
 * of its own the loop answers them meanwhile. Half a step is half the inline run's own median
 * step, not of `policy`: on a shared machine the calibrated work's speed drifts. The policy's
 * cost is charged on the loop's thread inline (apportioned, as every role the loop runs), on
 * its own thread's otherwise. */
TEST_T(offload_inline_steps_hold_the_loop_and_thread_steps_do_not, 60)
{
  const char *const params[] = { "--param", "policy=10ms", "--param", "policy_hz=30", NULL };
  const char *out = temp_path(1);
  json_t *in = run_offload(out, "inline", "franka.loop.json", "1500ms", params, NULL, NULL);
  json_t *th = run_offload(out, "thread", "franka.loop.thread.json", "1500ms", params, NULL, NULL);
  json_t *min = metric(in, "control.response_ns"), *mth = metric(th, "control.response_ns");
  double half = jnum(metric(in, "policy.step_ns"), "p50") / 2, reqs = counter(in, "policy.requests");
  double in_held = samples_above(min, half), th_held = samples_above(mth, half);
  printf("inline: %.0f requests, %.0f of %.0f states answered %.1f ms (half a step) late or more, p99 %.0f us; "
         "thread: %.0f of %.0f, p99 %.0f us\n",
         reqs, in_held, jnum(min, "count"), half / 1e6, jnum(min, "p99") / 1e3, th_held, jnum(mth, "count"),
         jnum(mth, "p99") / 1e3);
  ASSERT_DBL(reqs, >=, 30);
  ASSERT_DBL(half, >=, 2e6);    /* a step of 4 ms at least: a few states wait for each */
  ASSERT_DBL(in_held, >=, reqs); /* about half a step's states per request */
  ASSERT_DBL(in_held, >=, 3 * th_held + 10);
  ASSERT(json_object_get(role_res(in, "policy"), "cpu_split") != NULL);
  ASSERT(json_object_get(role_res(th, "policy"), "cpu_split") == NULL);
  json_decref(in);
  json_decref(th);
}

/* ---- the GIL: the loop's wait is the woken role's ----------------------------------------- */

/* With --gil, the loop takes the GIL back after each wait for events; that take is charged to
 * the role it wakes (control.gil_wait_ns), not lost as the loop's own. A policy thread holding
 * the GIL for 4 ms steps (the switch interval is 5 ms) makes some of the loop's 1 ms wakes wait
 * for its end: the control's longest wait is then a good part of a step, where its own takes
 * within its step (a few, each after a send) see almost none. Half the median step, measured
 * in the run, not `policy`: the calibrated work's speed drifts on a shared machine. */
TEST_T(offload_loop_gil_wait_is_charged_to_the_role_it_wakes, 60)
{
  const char *const params[] = { "--gil", "--param", "policy=4ms", "--param", "policy_hz=30", NULL };
  const char *out = temp_path(1);
  json_t *r = run_offload(out, "thread", "franka.loop.thread.gil.json", "1500ms", params, NULL, NULL);
  json_t *w = metric(r, "control.gil_wait_ns");
  double half = jnum(metric(r, "policy.step_ns"), "p50") / 2;
  printf("control's GIL waits: %.0f, p99.9 %.0f us, max %.0f us; policy step p50 %.2f ms\n", jnum(w, "count"),
         jnum(w, "p999") / 1e3, jnum(w, "max") / 1e3, 2 * half / 1e6);
  ASSERT_DBL(jnum(w, "count"), >=, 1000); /* a take per wake and per send, 1500 states */
  ASSERT_DBL(jnum(w, "max"), >=, half);
  json_t *wk = metric(r, "control.gil_wake_ns"); /* the wake takes alone, as well */
  ASSERT(wk && jnum(wk, "count") >= 1000 && jnum(wk, "max") >= half);
  json_decref(r);
}
