/* baseline: one bare periodic role, like cyclictest's measuring thread: it wakes on an
 * absolute CLOCK_MONOTONIC deadline every period and does nothing else, so its lateness is
 * the machine's own wake-up floor under each runtime (a thread, a process, a timerfd on
 * epoll). Every other scenario's jitter is read against it. */
#include "ab.h"

enum { R_TICK };

static int tick_step(ab_ctx_t *ctx) { return 0; }

static int baseline_setup(ab_run_t *run)
{
  return ab_run_period(run, R_TICK, (int64_t)ab_param(run, "period"));
}

static const ab_param_desc_t params[] = {
  { "period", AB_P_DURATION, "1ms", 1e5, 10e9, NULL, "the wake-up period (cyclictest -i)" },
};

static const ab_role_desc_t roles[] = {
  [R_TICK] = { .name = "tick", .period_ns = AB_NS_PER_MS, .trigger = -1, .step = tick_step },
};

const ab_scenario_t ab_scenario_baseline = {
  .name = "baseline",
  .summary = "a bare periodic role, 1 ms by default (cyclictest's loop): the machine's wake-up floor",
  .roles = roles, .nroles = 1,
  .params = params, .nparams = 1,
  .setup = baseline_setup,
  .archs = AB_ARCHS_DEDICATED,
  .table_role = "tick",
};
