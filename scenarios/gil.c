/* gil: the shapes bench/gil_probe.py runs through real CPython threads, so that the GIL model
 * (--gil) can be held against the real interpreter on the same machine (make fidelity):
 *
 *  - `cpu` CPU-bound workers, each computing `work` of calibrated real work per step, back to
 *    back: their total throughput (cpu.units over the window) against one worker's says what
 *    a GIL costs K threads;
 *  - with io=1, one I/O worker beside them, sleeping `call` per step (a short blocking call,
 *    as time.sleep is): io.call_ns is each call's latency with the retake of the GIL, the
 *    convoy effect;
 *  - --param gil_free=F runs that fraction of each unit without the GIL, as a numpy or hashlib
 *    call does.
 *
 * Without --gil the same run is what C threads (or processes) do with the same work.
 */
#include "ab.h"

enum { R_CPU, R_IO, NR };
enum { K_UNITS, K_CALLS, NK };
enum { M_CALL };

static int cpu_step(ab_ctx_t *ctx)
{
  ab_compute(ctx, (int64_t)ab_ctx_param(ctx, "work"));
  ab_count(ctx, K_UNITS, 1);
  return 0;
}

static int io_step(ab_ctx_t *ctx)
{
  int64_t t0 = ab_now_ns();
  ab_sleep(ctx, (int64_t)ab_ctx_param(ctx, "call"));
  ab_record(ctx, M_CALL, ab_now_ns() - t0);
  ab_count(ctx, K_CALLS, 1);
  return 0;
}

static int gil_setup(ab_run_t *run) { return ab_run_kernel(run); }

static const ab_param_desc_t params[] = {
  { "cpu", AB_P_INT, "1", 1, 64, NULL, "CPU-bound workers" },
  { "io", AB_P_INT, "0", 0, 1, NULL, "an I/O worker beside them (1) or not (0)" },
  { "work", AB_P_DURATION, "100us", 1e3, 1e8, NULL, "real work per unit (a CPU worker's step)" },
  { "call", AB_P_DURATION, "500us", 1e3, 1e8, NULL, "the I/O worker's blocking call (a sleep)" },
};

static const ab_role_desc_t roles[NR] = {
  [R_CPU] = { .name = "cpu", .continuous = 1, .trigger = -1, .step = cpu_step, .flags = AB_ROLE_CPU,
              .instances = "cpu" },
  [R_IO] = { .name = "io", .continuous = 1, .trigger = -1, .step = io_step, .flags = AB_ROLE_IO,
             .instances = "io" },
};

static const char *const counters[NK] = { [K_UNITS] = "cpu.units", [K_CALLS] = "io.calls" };
static const ab_metric_desc_t metrics[] = { [M_CALL] = { "io.call_ns" } };

const ab_scenario_t ab_scenario_gil = {
  .name = "gil",
  .summary = "the GIL probe's shapes: K CPU-bound workers, and an I/O worker beside them (make fidelity)",
  .roles = roles, .nroles = NR,
  .counters = counters, .ncounters = NK,
  .metrics = metrics, .nmetrics = 1,
  .params = params, .nparams = 4,
  .setup = gil_setup,
  .archs = AB_ARCHS_DEDICATED,
  .bench = { .skip = 1 }, /* a tool of make fidelity, not a workload */
};
