/* Scenario descriptors checked at start-up (harness/check.c): every registered scenario is
 * consistent, and each kind of descriptor mistake is caught and named instead of overrunning
 * a table or leaving a requirement that can never be evaluated. */
#include <errno.h>

#include "internal.h"
#include "test.h"

static int step(ab_ctx_t *ctx) { return 0; }
static int io(ab_ctx_t *ctx) { return 0; }

TEST(check_every_registered_scenario_is_consistent)
{
  int n = 0;
  for (int i = 0; ab_scenarios[i]; i++, n++) {
    char err[512] = "";
    if (ab_scenario_check(ab_scenarios[i], err, sizeof err) != 0)
      AB_FAIL("scenario %s: %s", ab_scenarios[i]->name, err);
  }
  ASSERT_INT(n, >=, 2);
}

/* A small valid scenario to break one field at a time: tick (periodic) sends to sink. */
static const ab_role_desc_t good_roles[] = {
  { .name = "tick", .period_ns = AB_NS_PER_MS, .trigger = -1, .step = step },
  { .name = "sink", .trigger = 0, .step = step },
};
static const ab_chan_desc_t good_chans[] = {
  { .name = "c", .from = 0, .to = 1, .msg_max = 8, .depth = 2, .policy = AB_DROP },
};
static const ab_req_desc_t good_reqs[] = {
  { .name = "tick.lateness_ns.p99", .op = AB_LE, .limit = 1e6 },
  { .name = "tick.missed_periods", .op = AB_EQ, .limit = 0 },
  { .name = "c.drops", .op = AB_EQ, .limit = 0 },
};

static ab_scenario_t good(void)
{
  return (ab_scenario_t){ .name = "t", .roles = good_roles, .nroles = 2, .chans = good_chans, .nchans = 1,
                          .reqs = good_reqs, .nreqs = 3, .archs = AB_ARCHS_DEDICATED, .table_role = "tick" };
}

static void expect_bad(const ab_scenario_t *sc, const char *needle)
{
  char err[512] = "";
  int r = ab_scenario_check(sc, err, sizeof err);
  if (r != -EINVAL)
    AB_FAIL("a broken descriptor passed the check (%d), expected one naming \"%s\"", r, needle);
  ASSERT_CONTAINS(err, "descriptor error");
  ASSERT_CONTAINS(err, needle);
}

TEST(check_the_small_scenario_used_below_is_itself_consistent)
{
  ab_scenario_t sc = good();
  char err[512] = "";
  if (ab_scenario_check(&sc, err, sizeof err))
    AB_FAIL("%s", err);
}

TEST(check_requirement_naming_nothing_is_a_descriptor_error)
{
  static const ab_req_desc_t reqs[] = { { .name = "tick.latenes_ns.p99", .op = AB_LE, .limit = 1 } };
  ab_scenario_t sc = good();
  sc.reqs = reqs;
  sc.nreqs = 1;
  expect_bad(&sc, "tick.latenes_ns.p99");
}

TEST(check_requirement_with_unknown_statistic_is_a_descriptor_error)
{
  static const ab_req_desc_t reqs[] = { { .name = "tick.lateness_ns.p42", .op = AB_LE, .limit = 1 } };
  ab_scenario_t sc = good();
  sc.reqs = reqs;
  sc.nreqs = 1;
  expect_bad(&sc, "tick.lateness_ns.p42");
}

TEST(check_requirement_limit_from_missing_param_is_a_descriptor_error)
{
  static const ab_req_desc_t reqs[] = { { .name = "tick.missed_periods", .op = AB_EQ, .limit_param = "nope" } };
  ab_scenario_t sc = good();
  sc.reqs = reqs;
  sc.nreqs = 1;
  expect_bad(&sc, "nope");
}

TEST(check_seventeen_roles_overrun_nothing_and_are_refused)
{
  static ab_role_desc_t roles[AB_MAX_ROLES + 1];
  for (int i = 0; i <= AB_MAX_ROLES; i++)
    roles[i] = (ab_role_desc_t){ .name = "r", .period_ns = AB_NS_PER_MS, .trigger = -1, .step = step };
  ab_scenario_t sc = { .name = "t", .roles = roles, .nroles = AB_MAX_ROLES + 1, .archs = AB_ARCHS_DEDICATED };
  expect_bad(&sc, "17 roles");
}

TEST(check_unknown_device_kind_is_refused_not_given_camera_ops)
{
  static const ab_dev_desc_t devs[] = { { .name = "mystery", .kind = 99, .owner = 0 } };
  ab_scenario_t sc = good();
  sc.devs = devs;
  sc.ndevs = 1;
  expect_bad(&sc, "mystery");
  ASSERT(ab_devops_for(99) == NULL);
  ASSERT(ab_devops_for(AB_DEV_CAMERA) == &ab_camera_ops);
}

TEST(check_channel_to_a_role_that_does_not_exist_is_refused)
{
  static const ab_chan_desc_t chans[] = { { .name = "c", .from = 0, .to = 5, .msg_max = 8, .depth = 2 } };
  ab_scenario_t sc = good();
  sc.chans = chans;
  expect_bad(&sc, "channel 0");
}

TEST(check_role_both_periodic_and_triggered_is_refused)
{
  static const ab_role_desc_t roles[] = {
    { .name = "tick", .period_ns = AB_NS_PER_MS, .trigger = 0, .step = step },
    { .name = "sink", .trigger = 0, .step = step },
  };
  ab_scenario_t sc = good();
  sc.roles = roles;
  expect_bad(&sc, "tick");
}

/* A role is exactly one of periodic, triggered or continuous: both continuous and periodic,
 * or none of the three, is refused. */
TEST(check_role_continuous_and_periodic_or_none_is_refused)
{
  static const ab_role_desc_t both[] = {
    { .name = "spin", .period_ns = AB_NS_PER_MS, .trigger = -1, .continuous = 1, .step = step },
    { .name = "sink", .trigger = 0, .step = step },
  };
  ab_scenario_t sc = good();
  sc.roles = both;
  expect_bad(&sc, "spin");
  static const ab_role_desc_t none[] = {
    { .name = "idle", .trigger = -1, .step = step },
    { .name = "sink", .trigger = 0, .step = step },
  };
  sc.roles = none;
  expect_bad(&sc, "idle");
  static const ab_role_desc_t ok[] = {
    { .name = "spin", .trigger = -1, .continuous = 1, .step = step },
    { .name = "sink", .trigger = 0, .step = step },
  };
  sc.roles = ok;
  sc.reqs = NULL; /* good()'s requirement and table are on a periodic role's lateness */
  sc.nreqs = 0;
  sc.table_role = NULL;
  char err[256];
  if (ab_scenario_check(&sc, err, sizeof err) < 0)
    AB_FAIL("a continuous role refused: %s", err);
}

TEST(check_role_waiting_on_a_device_it_does_not_own_is_refused)
{
  static const ab_role_desc_t roles[] = {
    { .name = "tick", .period_ns = AB_NS_PER_MS, .trigger = -1, .step = step },
    { .name = "sink", .trigger = 0, .on_device = 1, .step = step, .io = io },
  };
  ab_scenario_t sc = good();
  sc.roles = roles;
  expect_bad(&sc, "sink");
}

TEST(check_table_role_that_is_not_periodic_is_refused)
{
  ab_scenario_t sc = good();
  sc.table_role = "sink";
  expect_bad(&sc, "table_role sink");
}

TEST(check_param_default_out_of_its_range_is_refused)
{
  static const ab_param_desc_t params[] = { { "p", AB_P_DURATION, "5s", 0, 1e9, NULL, "" } };
  ab_scenario_t sc = good();
  sc.params = params;
  sc.nparams = 1;
  expect_bad(&sc, "--param p=5s");
}

TEST(check_metric_named_twice_is_refused)
{
  static const ab_metric_desc_t metrics[] = { { "tick.lateness_ns" } };
  ab_scenario_t sc = good();
  sc.metrics = metrics;
  sc.nmetrics = 1;
  expect_bad(&sc, "tick.lateness_ns");
}

TEST(check_two_roles_with_one_name_are_refused)
{
  static const ab_role_desc_t roles[] = {
    { .name = "tick", .period_ns = AB_NS_PER_MS, .trigger = -1, .step = step },
    { .name = "tick", .trigger = 0, .step = step },
  };
  ab_scenario_t sc = good();
  sc.roles = roles;
  expect_bad(&sc, "two roles named tick");
}

TEST(check_two_channels_with_one_name_are_refused)
{
  static const ab_chan_desc_t chans[] = {
    { .name = "c", .from = 0, .to = 1, .msg_max = 8, .depth = 2, .policy = AB_DROP },
    { .name = "c", .from = 1, .to = 0, .msg_max = 8, .depth = 2, .policy = AB_DROP },
  };
  ab_scenario_t sc = good();
  sc.chans = chans;
  sc.nchans = 2;
  expect_bad(&sc, "two channels named c");
}

TEST(check_value_named_like_a_metric_statistic_is_refused)
{
  static const char *const values[] = { "tick.lateness_ns.max" };
  ab_scenario_t sc = good();
  sc.values = values;
  sc.nvalues = 1;
  expect_bad(&sc, "tick.lateness_ns.max");
}

TEST(check_limit_scaled_by_zero_is_refused)
{
  static const ab_param_desc_t params[] = { { "p", AB_P_DURATION, "5ms", 0, 1e9, NULL, "" } };
  static const ab_req_desc_t reqs[] = { { .name = "tick.lateness_ns.p99", .op = AB_LE, .limit_param = "p" } };
  ab_scenario_t sc = good();
  sc.params = params;
  sc.nparams = 1;
  sc.reqs = reqs;
  sc.nreqs = 1;
  expect_bad(&sc, "by 0");
}
