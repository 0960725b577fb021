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
                                       "pipe", "unix", "mq", "shm", "tcp" };
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
