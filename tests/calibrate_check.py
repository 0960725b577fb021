#!/usr/bin/env python3
"""bench/calibrate.py's own arithmetic, run by tests/test_regress.c: the plants are the size
asked for, only a regression verdict is a detection, an A/A comparison's halves are disjoint,
the tallies count, a micro-benchmark's sample is read as compare reads it, and the
false-alarm bound is Clopper-Pearson's (against scipy.stats when it is installed). One line
per check, "ok NAME" or "FAIL NAME: why"; exit 1 if any failed."""
import json
import os
import random
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
import calibrate as c  # noqa: E402

failed = 0


def check(name, cond, why=""):
    global failed
    print("ok %s" % name if cond else "FAIL %s: %s" % (name, why))
    failed += not cond


medians = {"robot.threads:inner.step_ns.p50": 30000, "robot.procs.shm:inner.step_ns.p50": 32000,
           "micro:pipe/procs/rtt/8": 14000}
for pct in c.PCTS:
    extra, env, ns = c.plant_args(pct, medians)
    want = {mid: round(m * pct / 100) for mid, m in medians.items()}
    check("plant_%d_is_%d_percent_of_each_median" % (pct, pct), ns == want, "%s, expected %s" % (ns, want))
    check("plant_%d_reaches_the_robot_runs" % pct,
          sorted(extra) == sorted(["robot.threads=--fault slow:inner:%dns" % want["robot.threads:inner.step_ns.p50"],
                                   "robot.procs.shm=--fault slow:inner:%dns" % want["robot.procs.shm:inner.step_ns.p50"]]),
          repr(extra))
    check("plant_%d_reaches_the_pipe" % pct,
          env.get("ABM_PLANT") == "pipe/procs/rtt/8=%d" % want["micro:pipe/procs/rtt/8"], repr(env.get("ABM_PLANT")))

check("only_regression_is_a_detection",
      c.detected("regression") and not any(c.detected(v) for v in ("inconclusive", "no change", "improvement", "not gated", "missing")))

rng = random.Random(7)
pool = ["r%02d" % i for i in range(40)]
ok = True
for _ in range(200):
    b, n = c.aa_draw(rng, pool, 13)
    ok &= len(b) == 13 and len(n) == 13 and not set(b) & set(n) and set(b) | set(n) <= set(pool)
check("aa_halves_are_disjoint_and_k_each", ok)

counts = {}
c.tally(counts, {"m1": "regression", "m2": "improvement"})
c.tally(counts, {"m1": "regression"})
check("tally_counts_each_verdict", counts == {"m1": {"regression": 2, "improvement": 0},
                                               "m2": {"regression": 0, "improvement": 1}}, repr(counts))

with tempfile.TemporaryDirectory() as d:
    with open(os.path.join(d, "micro.json"), "w") as f:
        json.dump({"benchmarks": [
            {"name": "x", "run_type": "iteration", "real_time": 2.0, "time_unit": "us"},
            {"name": "x", "run_type": "iteration", "real_time": 4.0, "time_unit": "us"},
            {"name": "x", "run_type": "iteration", "real_time": 3.0, "time_unit": "us"},
            {"name": "x", "run_type": "aggregate", "real_time": 999.0, "time_unit": "us"},
            {"name": "y", "run_type": "iteration", "real_time": 9.0, "p50_ns": 5000.0, "time_unit": "us"}]}, f)
    check("micro_sample_is_the_median_iteration_in_ns", c.micro_sample(os.path.join(d, "micro.json"), "x") == 3000.0,
          repr(c.micro_sample(os.path.join(d, "micro.json"), "x")))
    check("micro_sample_prefers_p50_ns", c.micro_sample(os.path.join(d, "micro.json"), "y") == 5000.0)

# Clopper-Pearson: 0 of n has the closed form 1 - (alpha/2)^(1/n).
for x, n in ((0, 20), (0, 60)):
    want = 1 - 0.025 ** (1 / n)
    check("upper_bound_%d_of_%d" % (x, n), abs(c.upper_bound(x, n) - want) < 1e-9, "%r, expected %r" % (c.upper_bound(x, n), want))
check("upper_bound_all_is_1", c.upper_bound(20, 20) == 1.0)
try:
    from scipy.stats import beta
except ImportError:
    print("ok upper_bound_against_scipy (skipped: no scipy)")
else:
    worst = max(abs(c.upper_bound(x, n) - beta.ppf(0.975, x + 1, n - x)) for n in (20, 40, 60) for x in range(0, 6))
    check("upper_bound_against_scipy", worst < 1e-9, "off by %g" % worst)

sys.exit(1 if failed else 0)
