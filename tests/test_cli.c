/* Tests of the command line (harness/cli.c) as a user meets it: the binary named by $AB_BIN
 * is exec'd, its stdout and stderr captured, its exit code checked against DESIGN.md (2 bad
 * usage or input, 3 a missing device) and its stderr held to one line that names the bad
 * value and what was expected. A rejected device must leave nothing behind: no process in
 * the run's session, no /dev/shm (or /dev/mqueue) entry, no result file.
 *
 * Every `run` gets --out <a fresh mkdtemp dir>, so results/ in the repository is never
 * touched; the directories are removed when the test is done with them. Running the binary
 * and looking for what it left are tests/proc.h's.
 */
#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "test.h"

#define EXEC_TIMEOUT_S 30.0

/* ---- the shape of an error --------------------------------------------------------------- */

/* stderr is exactly one line, and it contains every needle. */
static void assert_one_line(const proc_t *p, const char *const *needles)
{
  const char *e = p->err;
  size_t len = strlen(e);
  int lines = 0;
  for (const char *c = e; *c; c++)
    lines += *c == '\n';
  if (len == 0 || lines != 1 || e[len - 1] != '\n') {
    size_t first = strcspn(e, "\n"), second = first < len ? strcspn(e + first + 1, "\n") : 0;
    AB_FAIL("stderr is not one line but %d (%zu bytes); first: \"%.*s\", then: \"%.*s\"", lines, len,
            (int)first, e, (int)second, first < len ? e + first + 1 : "");
  }
  for (int i = 0; needles[i]; i++)
    ASSERT_CONTAINS(e, needles[i]);
}

/* `archbench args...` (with --out DIR put right after `run`) exits `code` with a one-line
 * error holding every needle, and writes nothing into DIR. */
static void expect_error(int code, const char *const *args, const char *const *needles)
{
  const char *out = temp_path(1);
  const char *argv[40];
  int n = 0;
  for (int i = 0; args[i]; i++) {
    ASSERT(n < 36);
    argv[n++] = args[i];
    if (i == 0 && !strcmp(args[0], "run")) {
      argv[n++] = "--out";
      argv[n++] = out;
    }
  }
  argv[n] = NULL;
  proc_t p;
  run_ab(&p, argv, EXEC_TIMEOUT_S);
  if (p.code != code)
    AB_FAIL("`%s` exited %d, expected %d; stderr: \"%s\"", p.cmd, p.code, code, p.err);
  assert_one_line(&p, needles);
  char names[1024];
  if (dir_entries(out, names, sizeof names))
    AB_FAIL("a rejected run wrote into its --out dir: %s", names);
  proc_free(&p);
  cleanup_now();
}

/* ---- commands --------------------------------------------------------------------------------- */

TEST(cli_no_command_exits_2_naming_the_commands)
{
  expect_error(2, L(NULL), L("expected", "list", "run"));
}

TEST(cli_unknown_command_exits_2_naming_it)
{
  expect_error(2, L("frobnicate"), L("frobnicate", "expected", "list", "run"));
}

TEST(cli_run_without_scenario_exits_2)
{
  expect_error(2, L("run"), L("SCENARIO"));
}

TEST(cli_run_unknown_scenario_exits_2_listing_scenarios)
{
  expect_error(2, L("run", "nosuch"), L("nosuch", "expected", "baseline", "robot"));
}

TEST(cli_list_exits_0_naming_scenarios_runtimes_transports)
{
  proc_t p;
  run_ab(&p, L("list"), EXEC_TIMEOUT_S);
  ASSERT_EQ(p.code, 0);
  static const char *const words[] = { "baseline", "robot", "threads", "procs", "loop",
                                       "pipe", "unix", "mq", "shm", "tcp",
                                       "serial     --serial DEV", "franka     mock only" };
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    ASSERT_CONTAINS(p.out, words[i]);
  ASSERT_STR(p.err, "");
  proc_free(&p);
  cleanup_now();
}

/* ---- options ----------------------------------------------------------------------------------- */

TEST(cli_bad_arch_exits_2_naming_it_and_the_runtimes)
{
  expect_error(2, L("run", "baseline", "--arch", "bogus"), L("bogus", "expected", "threads", "procs", "loop"));
}

TEST(cli_bad_transport_exits_2_naming_it_and_the_choices)
{
  expect_error(2, L("run", "robot", "--transport", "bogus", "--arch", "procs"),
               L("bogus", "expected", "pipe", "unix", "mq", "shm", "tcp"));
}

TEST(cli_transport_without_procs_exits_2_naming_procs)
{
  expect_error(2, L("run", "robot", "--transport", "pipe", "--arch", "threads"), L("pipe", "procs"));
}

TEST(cli_duration_without_unit_match_exits_2_naming_it)
{
  expect_error(2, L("run", "baseline", "--duration", "10x"), L("10x", "expected", "duration"));
}

TEST(cli_duration_zero_is_out_of_range_exits_2)
{
  expect_error(2, L("run", "baseline", "--duration", "0s"), L("0s", "range", "expected"));
}

TEST(cli_duration_missing_value_exits_2_naming_option)
{
  expect_error(2, L("run", "baseline", "--duration"), L("--duration", "value"));
}

TEST(cli_param_not_a_duration_exits_2_naming_it)
{
  expect_error(2, L("run", "robot", "--param", "detect=abc"), L("detect=abc", "duration"));
}

TEST(cli_param_out_of_range_exits_2_with_the_range)
{
  expect_error(2, L("run", "robot", "--param", "detect=1h"), L("detect=1h", "range", "expected"));
}

TEST(cli_param_unknown_exits_2_listing_the_params)
{
  expect_error(2, L("run", "robot", "--param", "nosuch=1"),
               L("nosuch", "expected", "outer_period", "inner_period", "detect", "ik_iters", "waypoints"));
}

TEST(cli_param_without_equals_exits_2_asking_name_value)
{
  expect_error(2, L("run", "robot", "--param", "detect"), L("detect", "NAME=VALUE"));
}

TEST(cli_unknown_option_exits_2_naming_it)
{
  expect_error(2, L("run", "baseline", "--frobnicate"), L("--frobnicate"));
}

TEST(cli_cpus_beyond_machine_exits_2_naming_it)
{
  expect_error(2, L("run", "baseline", "--cpus", "99"), L("--cpus 99", "expected"));
}

TEST(cli_rt_prio_zero_exits_2_with_the_range)
{
  expect_error(2, L("run", "baseline", "--rt-prio", "0"), L("--rt-prio 0", "expected", "99"));
}

TEST(cli_baud_too_low_exits_2_with_the_range)
{
  expect_error(2, L("run", "robot", "--baud", "12"), L("--baud 12", "expected"));
}

/* ---- devices: rejected before any role starts, nothing left behind -------------------------------- */

static void expect_device_error(int code, const char *opt, const char *path)
{
  const char *out = temp_path(1);
  proc_t p;
  run_ab(&p, L("run", "robot", "--duration", "1s", "--out", out, opt, path), EXEC_TIMEOUT_S);
  if (p.code != code)
    AB_FAIL("`%s` exited %d, expected %d; stderr: \"%s\"", p.cmd, p.code, code, p.err);
  assert_one_line(&p, L(path));
  assert_nothing_left(&p);
  char names[1024];
  if (dir_entries(out, names, sizeof names))
    AB_FAIL("a run refused for its device wrote into its --out dir: %s", names);
  proc_free(&p);
  cleanup_now();
}

TEST(cli_serial_missing_path_exits_3_leaving_nothing)
{
  expect_device_error(3, "--serial", "/nonexistent/tty");
}

TEST(cli_serial_not_a_tty_exits_2_leaving_nothing)
{
  expect_device_error(2, "--serial", "/dev/null");
}

TEST(cli_serial_regular_file_exits_2_leaving_nothing)
{
  expect_device_error(2, "--serial", temp_path(0));
}

TEST(cli_camera_missing_path_exits_3_leaving_nothing)
{
  expect_device_error(3, "--camera", "/nonexistent/video9");
}

TEST(cli_camera_not_v4l2_exits_2_leaving_nothing)
{
  expect_device_error(2, "--camera", "/dev/null");
}

/* ---- nothing is created before everything is checked ------------------------------------------- */

/* In a directory of the test's own, with a results/ that already holds a run and a latest
 * link to it: a refused command must leave both as they were. */
static void expect_no_side_effect(int code, const char *const *args, const char *needle)
{
  const char *dir = temp_path(1);
  char path[600];
  ASSERT_EQ(chdir(dir), 0);
  ASSERT_EQ(mkdir("results", 0755), 0);
  ASSERT_EQ(mkdir("results/20200101-000000", 0755), 0);
  ASSERT_EQ(symlink("20200101-000000", "results/latest"), 0);
  proc_t p;
  run_ab(&p, args, EXEC_TIMEOUT_S);
  if (p.code != code)
    AB_FAIL("`%s` exited %d, expected %d; stderr: \"%s\"", p.cmd, p.code, code, p.err);
  assert_one_line(&p, L(needle));
  char names[1024];
  ASSERT_EQ(dir_entries("results", names, sizeof names), 2);
  ssize_t n = readlink("results/latest", path, sizeof path - 1);
  ASSERT(n > 0);
  path[n] = 0;
  ASSERT_STR(path, "20200101-000000");
  proc_free(&p);
  ASSERT_EQ(chdir("/"), 0);
  cleanup_now();
}

TEST(cli_unknown_param_creates_no_results_dir_and_keeps_latest)
{
  expect_no_side_effect(2, L("run", "robot", "--param", "nosuch=1"), "nosuch");
}

TEST(cli_missing_serial_creates_no_results_dir_and_keeps_latest)
{
  expect_no_side_effect(3, L("run", "robot", "--serial", "/nonexistent/tty"), "/nonexistent/tty");
}

TEST(cli_bad_fault_creates_no_results_dir_and_keeps_latest)
{
  expect_no_side_effect(2, L("run", "baseline", "--fault", "stall:nobody:1:1ms"), "nobody");
}

TEST(cli_empty_arch_list_exits_2_naming_the_option)
{
  expect_error(2, L("run", "baseline", "--arch", ""), L("--arch"));
  expect_error(2, L("run", "baseline", "--arch", ","), L("--arch"));
  expect_error(2, L("run", "baseline", "--arch", "threads,"), L("--arch"));
}

TEST(cli_empty_transport_list_exits_2_naming_the_option)
{
  expect_error(2, L("run", "robot", "--arch", "procs", "--transport", ""), L("--transport"));
  expect_error(2, L("run", "robot", "--arch", "procs", "--transport", "shm,,pipe"), L("--transport"));
}

TEST(cli_device_option_the_scenario_does_not_use_exits_2)
{
  expect_error(2, L("run", "baseline", "--serial", "/nonexistent"), L("--serial", "baseline"));
  expect_error(2, L("run", "baseline", "--camera", "/dev/video0"), L("--camera", "baseline"));
}

TEST(cli_latency_target_bad_or_contradicted_exits_2)
{
  expect_error(2, L("run", "baseline", "--latency-target", "soon"), L("--latency-target soon"));
  expect_error(2, L("run", "baseline", "--latency-target", "0", "--no-latency-target"), L("--no-latency-target"));
}

/* ---- the output directory --------------------------------------------------------------------- */

TEST(cli_out_that_is_a_file_exits_2_and_leaves_it_alone)
{
  const char *file = temp_path(0);
  proc_t p;
  run_ab(&p, L("run", "baseline", "--duration", "50ms", "--out", file), EXEC_TIMEOUT_S);
  if (p.code != 2)
    AB_FAIL("`%s` exited %d, expected 2; stderr: \"%s\"", p.cmd, p.code, p.err);
  assert_one_line(&p, L(file, "not a directory"));
  struct stat sb;
  ASSERT_EQ(stat(file, &sb), 0);
  ASSERT(S_ISREG(sb.st_mode) && sb.st_size == 0);
  proc_free(&p);
  cleanup_now();
}

TEST(cli_out_below_a_file_exits_2)
{
  const char *file = temp_path(0);
  char out[600];
  snprintf(out, sizeof out, "%s/sub", file);
  proc_t p;
  run_ab(&p, L("run", "baseline", "--duration", "50ms", "--out", out), EXEC_TIMEOUT_S);
  if (p.code != 2)
    AB_FAIL("`%s` exited %d, expected 2; stderr: \"%s\"", p.cmd, p.code, p.err);
  proc_free(&p);
  cleanup_now();
}

/* A read-only mount: found before the run, not after it when the result would be lost. */
TEST(cli_out_on_a_read_only_mount_exits_3_before_running)
{
  const char *dir = temp_path(1);
  private_tmpfs(dir, "1m", 1);
  char out[600];
  snprintf(out, sizeof out, "%s/results", dir);
  proc_t p;
  double t0 = now_s();
  run_ab(&p, L("run", "robot", "--duration", "5s", "--out", out), EXEC_TIMEOUT_S);
  if (p.code != 3)
    AB_FAIL("`%s` exited %d, expected 3; stderr: \"%s\"", p.cmd, p.code, p.err);
  assert_one_line(&p, L(out, "Read-only"));
  ASSERT_DBL(now_s() - t0, <, 4.0); /* refused up front, not after a 5 s run */
  assert_nothing_left(&p);
  proc_free(&p);
  umount2(dir, MNT_DETACH);
  cleanup_now();
}

/* A full disk when the result is written: exit 3 naming it, and no half-written file. */
TEST(cli_full_disk_for_the_result_exits_3_leaving_no_temporary)
{
  const char *dir = temp_path(1);
  private_tmpfs(dir, "4k", 0);
  proc_t p;
  run_ab(&p, L("run", "baseline", "--duration", "100ms", "--out", dir, "--quiet"), EXEC_TIMEOUT_S);
  if (p.code != 3)
    AB_FAIL("`%s` exited %d, expected 3; stderr: \"%s\"", p.cmd, p.code, p.err);
  ASSERT_CONTAINS(p.err, "No space left on device");
  char names[1024];
  int n = dir_entries(dir, names, sizeof names);
  if (n && strstr(names, ".tmp."))
    AB_FAIL("a half-written result was left: %s", names);
  assert_nothing_left(&p);
  proc_free(&p);
  umount2(dir, MNT_DETACH);
  cleanup_now();
}

/* No fixed path buffers: a 600-byte --out is used whole; one beyond PATH_MAX is refused
 * before anything is created. */
TEST(cli_out_path_of_600_bytes_is_used_whole)
{
  const char *dir = temp_path(1);
  char out[700];
  int n = snprintf(out, sizeof out, "%s", dir);
  while (n < 600)
    n += snprintf(out + n, sizeof out - n, "/%.*s", 99, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  proc_t p;
  run_ab(&p, L("run", "baseline", "--duration", "50ms", "--out", out, "--quiet"), EXEC_TIMEOUT_S);
  if (p.code != 0)
    AB_FAIL("`%s` exited %d; stderr: \"%s\"", p.cmd, p.code, p.err);
  char file[800];
  snprintf(file, sizeof file, "%s/baseline.threads.json", out);
  ASSERT_EQ(access(file, F_OK), 0);
  proc_free(&p);
  /* cleanup_now removes only the top directory's files: take the chain down here */
  for (char *s; (s = strrchr(out, '/')) && strlen(out) > strlen(dir); *s = 0) {
    char f[800];
    snprintf(f, sizeof f, "%s/baseline.threads.json", out);
    unlink(f);
    rmdir(out);
  }
  cleanup_now();
}

TEST(cli_out_path_beyond_path_max_exits_2_creating_nothing)
{
  const char *dir = temp_path(1);
  static char out[5200];
  int n = snprintf(out, sizeof out, "%s", dir);
  while (n < 5000)
    n += snprintf(out + n, sizeof out - n, "/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
  proc_t p;
  run_ab(&p, L("run", "baseline", "--duration", "50ms", "--out", out), EXEC_TIMEOUT_S);
  if (p.code != 2)
    AB_FAIL("`%s` exited %d, expected 2; stderr: \"%.200s\"", p.cmd, p.code, p.err);
  assert_one_line(&p, L("path too long"));
  char names[256];
  ASSERT_EQ(dir_entries(dir, names, sizeof names), 0);
  proc_free(&p);
  cleanup_now();
}

/* ---- several runs ----------------------------------------------------------------------------- */

TEST(cli_transport_listed_twice_runs_once)
{
  const char *out = temp_path(1);
  proc_t p;
  run_ab(&p, L("run", "robot", "--arch", "procs", "--transport", "shm,shm", "--duration", "300ms", "--out", out),
         EXEC_TIMEOUT_S);
  if (p.code != 0 && p.code != 1)
    AB_FAIL("`%s` exited %d; stderr: \"%s\"", p.cmd, p.code, p.err);
  const char *first = strstr(p.out, "procs/shm");
  ASSERT(first != NULL);
  if (strstr(first + 1, "procs/shm"))
    AB_FAIL("two rows for one run:\n%s", p.out);
  proc_free(&p);
  cleanup_now();
}

/* Two runs writing the same result into one directory at once: the second is refused while
 * the first holds it; the first lands whole, and no lock is left behind. */
TEST_T(cli_same_result_twice_at_once_refuses_the_second, 60)
{
  const char *out = temp_path(1);
  proc_t a, b;
  start_ab(&a, L("run", "baseline", "--duration", "3s", "--out", out, "--quiet"));
  char lock[600];
  snprintf(lock, sizeof lock, "%s/baseline.threads.json.lock", out);
  double t0 = now_s();
  while (access(lock, F_OK) != 0) {
    if (wait_ab(&a, 0) || now_s() - t0 > 20)
      AB_FAIL("the first run never took its lock; stderr: %s", a.err ? a.err : "");
    usleep(10000);
  }
  run_ab(&b, L("run", "baseline", "--duration", "3s", "--out", out, "--quiet"), EXEC_TIMEOUT_S);
  if (b.code != 3)
    AB_FAIL("the second run exited %d, expected 3; stderr: \"%s\"", b.code, b.err);
  assert_one_line(&b, L("another run"));
  finish_ab(&a, EXEC_TIMEOUT_S);
  ASSERT_EQ(a.code, 0);
  char names[1024];
  ASSERT_EQ(dir_entries(out, names, sizeof names), 1);
  ASSERT_STR(names, "baseline.threads.json");
  proc_free(&a);
  proc_free(&b);
  cleanup_now();
}

TEST_T(cli_different_runs_into_one_directory_at_once_both_land, 60)
{
  const char *out = temp_path(1);
  proc_t a, b;
  start_ab(&a, L("run", "baseline", "--arch", "threads", "--duration", "1s", "--out", out, "--quiet"));
  start_ab(&b, L("run", "baseline", "--arch", "loop", "--duration", "1s", "--out", out, "--quiet"));
  finish_ab(&a, EXEC_TIMEOUT_S);
  finish_ab(&b, EXEC_TIMEOUT_S);
  ASSERT_EQ(a.code, 0);
  ASSERT_EQ(b.code, 0);
  char f[600];
  snprintf(f, sizeof f, "%s/baseline.threads.json", out);
  ASSERT_EQ(access(f, F_OK), 0);
  snprintf(f, sizeof f, "%s/baseline.loop.json", out);
  ASSERT_EQ(access(f, F_OK), 0);
  proc_free(&a);
  proc_free(&b);
  cleanup_now();
}

/* ---- resources -------------------------------------------------------------------------------- */

/* Docker gives a container 64 MB of /dev/shm; 16 MB cannot hold the robot's frames. The
 * shared memory is reserved up front: a clear error, not a SIGBUS in the middle of a run. */
static void small_dev_shm(const char *arch)
{
  const char *out = temp_path(1);
  private_tmpfs("/dev/shm", "16m", 0);
  proc_t p;
  run_ab(&p, L("run", "robot", "--arch", arch, "--duration", "1s", "--out", out), EXEC_TIMEOUT_S);
  if (p.code != 3)
    AB_FAIL("`%s` exited %d, expected 3; stderr: \"%s\"", p.cmd, p.code, p.err);
  assert_one_line(&p, L("shared memory", "No space left on device"));
  assert_nothing_left(&p);
  proc_free(&p);
  cleanup_now();
}

TEST(cli_small_dev_shm_procs_exits_3_no_space) { small_dev_shm("procs"); }
TEST(cli_small_dev_shm_threads_exits_3_no_space) { small_dev_shm("threads"); }

/* PM QoS: held open for the run (asked, or implied by --rt-prio), recorded in env. */
TEST(cli_latency_target_is_held_for_the_run_and_recorded)
{
  if (access("/dev/cpu_dma_latency", W_OK) != 0)
    SKIP("/dev/cpu_dma_latency is not writable here");
  const char *out = temp_path(1);
  proc_t p;
  start_ab(&p, L("run", "baseline", "--duration", "1500ms", "--latency-target", "0", "--out", out, "--quiet"));
  double t0 = now_s();
  int held = 0;
  while (!held && now_s() - t0 < 20 && !wait_ab(&p, 0)) {
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)p.pid);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      char link[400], target[256];
      snprintf(link, sizeof link, "%s/%s", dir, e->d_name);
      ssize_t n = readlink(link, target, sizeof target - 1);
      if (n > 0 && (target[n] = 0, !strcmp(target, "/dev/cpu_dma_latency")))
        held = 1;
    }
    if (d)
      closedir(d);
    usleep(20000);
  }
  finish_ab(&p, EXEC_TIMEOUT_S);
  ASSERT_EQ(p.code, 0);
  ASSERT(held);
  char *res = NULL;
  char path[600];
  snprintf(path, sizeof path, "%s/baseline.threads.json", out);
  res = slurp(path);
  ASSERT_CONTAINS(res, "\"latency_target\": \"0 us");
  free(res);
  proc_free(&p);
  cleanup_now();
}

/* Files archbench writes never follow a symlink planted in their place (a shared results
 * directory, run as root): a planted lock is refused, a planted summary or result replaced. */
TEST(cli_symlinks_planted_in_the_out_dir_are_never_followed)
{
  const char *out = temp_path(1), *victim = temp_path(0);
  char link[600];
  snprintf(link, sizeof link, "%s/baseline.threads.json.lock", out);
  ASSERT_EQ(symlink(victim, link), 0);
  proc_t p;
  run_ab(&p, L("run", "baseline", "--duration", "50ms", "--out", out, "--quiet"), EXEC_TIMEOUT_S);
  if (p.code != 3)
    AB_FAIL("`%s` exited %d, expected 3; stderr: \"%s\"", p.cmd, p.code, p.err);
  proc_free(&p);
  ASSERT_EQ(unlink(link), 0);
  static const char *const names[] = { "summary.txt", "summary.csv", "baseline.threads.json" };
  for (int i = 0; i < 3; i++) {
    snprintf(link, sizeof link, "%s/%s", out, names[i]);
    ASSERT_EQ(symlink(victim, link), 0);
  }
  run_ab(&p, L("run", "baseline", "--duration", "50ms", "--out", out), EXEC_TIMEOUT_S);
  ASSERT_EQ(p.code, 0);
  struct stat sb;
  ASSERT_EQ(stat(victim, &sb), 0);
  ASSERT_EQ(sb.st_size, 0); /* untouched */
  for (int i = 0; i < 3; i++) {
    snprintf(link, sizeof link, "%s/%s", out, names[i]);
    ASSERT_EQ(lstat(link, &sb), 0);
    ASSERT(S_ISREG(sb.st_mode));
  }
  proc_free(&p);
  cleanup_now();
}

/* A role thread that never returns cannot be killed: its run fails naming it, the command
 * runs nothing more (the next run would share what the thread still uses), and exits. The
 * stop grace is 10 s; 2 s here (AB_STOP_GRACE), and the message says which. */
TEST_T(cli_role_thread_that_never_stops_ends_the_command, 60)
{
  const char *out = temp_path(1);
  proc_t p;
  setenv("AB_STOP_GRACE", "2s", 1);
  run_ab(&p, L("run", "baseline", "--arch", "threads,loop", "--duration", "200ms", "--fault", "stall:tick:0:12s",
               "--out", out), EXEC_TIMEOUT_S);
  if (p.code != 1)
    AB_FAIL("`%s` exited %d, expected 1; stderr: \"%s\"", p.cmd, p.code, p.err);
  ASSERT_CONTAINS(p.err, "did not stop within 2 s");
  ASSERT_CONTAINS(p.err, "not started");
  char names[256];
  ASSERT_EQ(dir_entries(out, names, sizeof names), 3); /* the threads result and the summaries */
  ASSERT_CONTAINS(names, "baseline.threads.json");
  proc_free(&p);
  cleanup_now();
}

TEST(cli_param_too_long_to_record_whole_exits_2)
{
  expect_error(2, L("run", "robot", "--param",
                    "detect=0000000000000000000000000000000000000000000000000000000000000000004ms"),
               L("detect", "too long"));
}
