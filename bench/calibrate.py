#!/usr/bin/env python3
"""make regress-calibrate: the regression gate's error rates, measured on this machine.

`make regress` runs one profile with two builds in interleaved rounds and lets `archbench
compare` (default settings: threshold 5%, alpha 0.01) decide. How often does it cry wolf,
and how often does it see a real slowdown? Here both are measured with this tree's build on
both sides, in side-runs of exactly the profile bench/regress runs (its --side-run):

  A       the profile as it is;
  P5, P10, P20   the profile with a slowdown of exactly X% planted in three primitives:
          the robot's inner step (--fault slow:inner:DUR, under threads and under procs/shm)
          and the pipe round trip (ABM_PLANT=pipe/procs/rtt/8=NS), where DUR and NS are X% of
          that metric's median over the A rounds so far (robot.threads:inner.step_ns.p50,
          robot.procs.shm:inner.step_ns.p50, micro:pipe/procs/rtt/8).

First three A rounds, then blocks of A, A, P5, P10 and P20 in an order drawn at random
(seeded), while the next block fits in the budget (CALIBRATE_BUDGET, 25m: what it takes
here for pools from which comparisons of a default make regress's size can be drawn,
about 26 rounds a side: 52 A rounds and 26 of each plant). The plants are
cut again before each block from every A round so far: a shared machine drifts (here the
first rounds' medians were a third above the whole pool's once), and a plant cut from a few
early rounds would not be the X% of the pool it is compared with. The report gives each
plant's size twice: planted (the work added, its mean over the rounds against the median of
all A rounds) and measured (compare's Hodges-Lehmann ratio: what it did to the metric).
Then comparisons are drawn from the pools, each of K rounds a side, K being what a default
10-minute `make regress` gets here (as many as the pools allow):

  A/A     two disjoint random halves of the A pool: a regression called on any metric is a
          false alarm (improvements are counted too);
  planted K random A rounds against K random rounds of P<X>: detected when the planted
          metric's verdict is regression; any other metric flagged is counted apart.

The comparisons are subsamples of one pool each, so they are not independent: 20 of them
are worth fewer than 20 separate sittings, and the pools' sizes are reported beside them.
results/<run-id>/calibration.json holds it all; a table is printed. Exit 0; 1 when a
side-run or a comparison fails, or the budget leaves too few rounds; 2 on bad usage; 130 on
Ctrl-C (the side-run in progress removed).
"""
import argparse
import json
import math
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

from benchio import run_main, write_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build")
REGRESS = os.path.join(ROOT, "bench", "regress")
PCTS = (5, 10, 20)
# metric id -> the run it is planted in
PLANTED = {
    "robot.threads:inner.step_ns.p50": "robot.threads",
    "robot.procs.shm:inner.step_ns.p50": "robot.procs.shm",
    "micro:pipe/procs/rtt/8": "micro",
}
DEFAULT_BUDGET_S = 600     # what make regress is given by default
BASE_BUILD_S = 45          # a fresh BASE worktree's build here, out of that budget
FEWEST_PER_SIDE = 8        # below this compare cannot gate ~100 metrics at alpha 0.01


def duration_s(text):
    m = re.fullmatch(r"([0-9]+)([smh]?)", text or "")
    if not m or int(m.group(1)) == 0:
        raise argparse.ArgumentTypeError(
            "%r is not a duration (expected whole seconds, minutes or hours: 1200, 20m, 1h)" % text)
    return int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def side_run(path, extra, env=None):
    """One side-run of the profile into path; removed if it does not end well."""
    p = subprocess.Popen([REGRESS, "--side-run", path, BIN] + extra, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = p.communicate()
    except BaseException:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        shutil.rmtree(path, ignore_errors=True)
        raise
    if p.returncode == 130:
        raise KeyboardInterrupt
    if p.returncode != 0:
        shutil.rmtree(path, ignore_errors=True)
        raise RuntimeError("side-run %s failed (exit %d): %s" % (path, p.returncode, out.strip()[-600:]))


UNIT_NS = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}


def micro_sample(path, name):
    """What compare takes from one micro.json for benchmark name: the median of its
    iterations' per-op p50 (else real time, in its time_unit), in ns; None if it has none."""
    with open(path) as f:
        vals = [b["p50_ns"] if "p50_ns" in b else b["real_time"] * UNIT_NS[b.get("time_unit", "ns")]
                for b in json.load(f)["benchmarks"]
                if b["name"] == name and b.get("run_type", "iteration") == "iteration"
                and not b.get("error_occurred")]
    return statistics.median(vals) if vals else None


def median_of(rounds, mid):
    """The median over the rounds of metric mid's sample in each (compare's sample per round)."""
    vals = []
    for r in rounds:
        if mid.startswith("micro:"):
            v = micro_sample(os.path.join(r, "micro.json"), mid[len("micro:"):])
            if v is not None:
                vals.append(v)
        else:
            stem, metric = mid.split(":")
            with open(os.path.join(r, stem + ".json")) as f:
                vals.append(json.load(f)["metrics"][metric.rsplit(".", 1)[0]]["p50"])
    if not vals:
        raise RuntimeError("no figure for %s in %s" % (mid, rounds))
    return statistics.median(vals)


def aa_draw(rng, pool, k):
    """An A/A comparison's two sides: disjoint random halves of k rounds each from pool."""
    s = rng.sample(pool, 2 * k)
    return s[:k], s[k:]


def detected(verdict):
    """A plant is detected only when its metric's verdict is regression: inconclusive (the
    interval straddles the threshold) is not a detection, whatever its estimate."""
    return verdict == "regression"


def binom_cdf(x, n, p):
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(x + 1))


def upper_bound(x, n, conf=0.95):
    """The Clopper-Pearson (exact, two-sided conf) upper bound of a rate seen x times in n:
    the p at which seeing x or fewer has probability (1 - conf) / 2. 0 in 20 gives 16.8%,
    0 in 60 gives 6.0%: a rate never seen is not shown to be below 1% by a few dozen trials."""
    if x >= n:
        return 1.0
    lo, hi, tail = x / n, 1.0, (1 - conf) / 2
    for _ in range(100):
        mid = (lo + hi) / 2
        if binom_cdf(x, n, mid) > tail:
            lo = mid
        else:
            hi = mid
    return hi


def k_regress(side_s):
    """The rounds a side a default make regress gets, at side_s seconds a side-run."""
    return 2 * int((DEFAULT_BUDGET_S - BASE_BUILD_S - 10) // (4 * side_s))


def plant_args(pct, medians):
    """--side-run arguments and environment planting pct% of each median."""
    extra, env, ns = [], dict(os.environ), {}
    for mid, key in PLANTED.items():
        ns[mid] = max(1, round(medians[mid] * pct / 100))
        if key == "micro":
            env["ABM_PLANT"] = "%s=%d" % (mid[len("micro:"):], ns[mid])
        else:
            extra.append("%s=--fault slow:inner:%dns" % (key, ns[mid]))
    return extra, env, ns


def compare(work, name, base, new):
    """archbench compare of two lists of rounds (hard-linked into sides of their own)."""
    d = os.path.join(work, "cmp", name)
    shutil.rmtree(d, ignore_errors=True)
    for side, rounds in (("base", base), ("new", new)):
        for i, r in enumerate(rounds):
            shutil.copytree(r, os.path.join(d, side, "r%02d" % i), copy_function=os.link)
    out = os.path.join(work, "cmp", name + ".json")
    p = subprocess.run([os.path.join(BIN, "archbench"), "compare", os.path.join(d, "base"),
                        os.path.join(d, "new"), "--json", out, "--quiet"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    shutil.rmtree(d, ignore_errors=True)
    if p.returncode not in (0, 1):
        raise RuntimeError("compare %s: exit %d: %s" % (name, p.returncode, p.stderr.strip()))
    with open(out) as f:
        return json.load(f)


def flagged(doc, verdicts=("regression", "improvement")):
    return {m["id"]: m["verdict"] for m in doc["metrics"] if m["verdict"] in verdicts}


def tally(counts, ids_verdicts):
    for mid, v in ids_verdicts.items():
        counts.setdefault(mid, {"regression": 0, "improvement": 0})[v] += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget", type=duration_s, default=os.environ.get("CALIBRATE_BUDGET") or "25m",
                    help="wall time for the rounds and comparisons (default 25m, or CALIBRATE_BUDGET)")
    ap.add_argument("--per-side", type=int, default=0,
                    help="rounds a side per comparison (default: what a 10-minute make regress gets here)")
    ap.add_argument("--comparisons", type=int, default=20, help="of each kind (default 20)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--out", default=None, help="the report (default results/<run-id>/calibration.json)")
    a = ap.parse_args()
    if a.per_side < 0 or a.per_side == 1:
        ap.error("--per-side %d: expected 0 (what a default make regress gets) or 2 or more rounds" % a.per_side)
    if a.comparisons < 1:
        ap.error("--comparisons %d: expected 1 or more" % a.comparisons)
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 16)
    rng = random.Random(seed)
    t_start, load0 = time.time(), list(os.getloadavg())
    run_id = time.strftime("%Y%m%d-%H%M%S")
    work = os.path.join(BIN, "calibrate", run_id)
    out_path = a.out or os.path.join(ROOT, "results", run_id, "calibration.json")
    pools = {k: [] for k in ["A"] + ["P%d" % x for x in PCTS]}
    times, plants, used = [], {}, {"P%d" % x: [] for x in PCTS}
    print("calibrate: budget %d s, seed %d (--seed %d draws the same again); rounds in %s"
          % (a.budget, seed, seed, work), flush=True)

    def one(kind):
        path = os.path.join(work, kind, "r%02d" % (len(pools[kind]) + 1))
        t0 = time.time()
        if kind == "A":
            side_run(path, [])
        else:
            extra, env, ns = plants[kind]
            side_run(path, extra, env)
            used[kind].append(ns)
        times.append(time.time() - t0)
        pools[kind].append(path)

    for _ in range(3):
        one("A")
    def cut():
        medians = {mid: median_of(pools["A"], mid) for mid in PLANTED}
        for x in PCTS:
            plants["P%d" % x] = plant_args(x, medians)
        return medians

    for mid, m in cut().items():
        print("  %-36s median %9.0f ns over the first A rounds" % (mid, m), flush=True)

    block = ["A", "A"] + ["P%d" % x for x in PCTS]
    # What the comparisons will take: reading 2K rounds' results, about 0.5 s and 0.08 s a
    # round here (2.7 s each at 28 rounds a side).
    n_cmp = a.comparisons * (1 + len(PCTS))
    reserve = 5 + n_cmp * (0.5 + 0.08 * (a.per_side or k_regress(statistics.mean(times))))
    longest = 0
    while True:
        left = a.budget - (time.time() - t_start) - reserve
        if longest and longest > left:
            break
        order = rng.sample(block, len(block))
        cut()
        t0 = time.time()
        for kind in order:
            one(kind)
        longest = max(longest, time.time() - t0)
        print("  block %-22s %3.0f s; pools %s; %.0f s of the budget left" % (
            " ".join(order), time.time() - t0, " ".join("%s=%d" % (k, len(v)) for k, v in pools.items()),
            a.budget - (time.time() - t_start)), flush=True)

    side_s = statistics.mean(times)
    k_default = k_regress(side_s)
    n_a, n_p = len(pools["A"]), min(len(pools["P%d" % x]) for x in PCTS)
    k = a.per_side or min(k_default, n_a // 2, n_p)
    if k < FEWEST_PER_SIDE:
        print("calibrate: the budget gave only %d rounds a side per comparison; compare needs %d or more"
              % (k, FEWEST_PER_SIDE), file=sys.stderr)
    if k < 2 or k > n_a // 2 or k > n_p:
        raise RuntimeError("%d rounds a side: the pools hold %d A rounds and %d of each plant (a larger "
                           "budget, or a smaller --per-side)" % (k, n_a, n_p))

    aa = {"comparisons": 0, "false_alarms": 0, "improvement_calls": 0, "per_metric": {},
          "verdicts": {}}
    for c in range(a.comparisons):
        doc = compare(work, "aa%02d" % c, *aa_draw(rng, pools["A"], k))
        f = flagged(doc)
        aa["comparisons"] += 1
        aa["false_alarms"] += "regression" in f.values()
        aa["improvement_calls"] += "improvement" in f.values()
        aa["verdicts"][doc["verdict"]] = aa["verdicts"].get(doc["verdict"], 0) + 1
        tally(aa["per_metric"], f)
    aa["rate"] = aa["false_alarms"] / aa["comparisons"]
    aa["rate_upper_95"] = upper_bound(aa["false_alarms"], aa["comparisons"])
    aa["metrics_gated"] = sum(1 for m in doc["metrics"] if m["gated"])

    planted = {}
    for x in PCTS:
        kind = "P%d" % x
        rep = {"comparisons": 0, "detection": {}, "other_flagged": {},
               "planted_ns": {mid: {"mean": statistics.mean(u[mid] for u in used[kind]),
                                    "min": min(u[mid] for u in used[kind]),
                                    "max": max(u[mid] for u in used[kind])} for mid in PLANTED}}
        ratios = {mid: [] for mid in PLANTED}
        for c in range(a.comparisons):
            doc = compare(work, "%s-%02d" % (kind.lower(), c), rng.sample(pools["A"], k), rng.sample(pools[kind], k))
            rep["comparisons"] += 1
            by_id = {m["id"]: m for m in doc["metrics"]}
            for mid in PLANTED:
                d = rep["detection"].setdefault(mid, {"detected": 0, "verdicts": {}})
                m = by_id.get(mid)
                v = m["verdict"] if m else "missing"
                d["detected"] += detected(v)
                d["verdicts"][v] = d["verdicts"].get(v, 0) + 1
                if m and m.get("ratio") is not None:
                    ratios[mid].append(m["ratio"])
            tally(rep["other_flagged"], {i: v for i, v in flagged(doc).items() if i not in PLANTED})
        for mid, d in rep["detection"].items():
            d["rate"] = d["detected"] / rep["comparisons"]
            # planted: the work added, against the A median; measured: what it did to the
            # metric, compare's Hodges-Lehmann ratio (the robot's step grows by more than the
            # work planted before it: the steps queued behind it wait too).
            d["planted_pct"] = 100 * rep["planted_ns"][mid]["mean"] / median_of(pools["A"], mid)
            d["median_ratio"] = statistics.median(ratios[mid]) if ratios[mid] else None
            d["measured_pct"] = 100 * (d["median_ratio"] - 1) if d["median_ratio"] else None
        planted[str(x)] = rep

    final_medians = {mid: median_of(pools["A"], mid) for mid in PLANTED}
    first_medians = {mid: median_of(pools["A"][:3], mid) for mid in PLANTED}
    report = {
        "schema": "archbench-calibration/1",
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_start)),
        "elapsed_s": round(time.time() - t_start, 1),
        "budget_s": a.budget,
        "seed": seed,
        "compare": {"threshold": 0.05, "alpha": 0.01, "settings": "archbench compare's defaults"},
        "profile": "bench/regress's set, one side-run per round (its --side-run)",
        "side_run_s": round(side_s, 2),
        "loadavg": {"start": load0, "end": list(os.getloadavg())},
        "rounds": {kind: len(v) for kind, v in pools.items()},
        "rounds_per_side": k,
        "rounds_per_side_default_regress": k_default,
        "drawn": ("A/A: %d comparisons, each two disjoint random halves of %d rounds from the %d A "
                  "rounds; planted: %d comparisons per X, each %d random A rounds against %d random "
                  "rounds of the %d planted with X. Subsamples of one pool: the comparisons are not "
                  "independent.%s" % (a.comparisons, k, n_a, a.comparisons, k, k, n_p,
                  " Each planted pool holds only %d rounds: every planted comparison of an X takes all of "
                  "them, and its comparisons differ only in their A side." % n_p if k == n_p else "")),
        "independent": False,
        "medians_first_a_rounds": first_medians,
        "medians_all_a_rounds": final_medians,
        "aa": aa,
        "planted": planted,
    }
    write_json(out_path, report)

    print("\ncalibration: %d rounds a side per comparison (a default make regress gets %d here), "
          "side-run %.1f s, pools %s" % (k, k_default, side_s, " ".join("%s=%d" % (kk, len(v)) for kk, v in pools.items())))
    print("%-8s %-36s %9s %9s %9s %7s" % ("planted", "metric", "detected", "planted", "measured", "ratio"))
    for x in PCTS:
        for mid, d in planted[str(x)]["detection"].items():
            print("%-8s %-36s %4d/%-4d %8.1f%% %9s %7s" % (
                "%d%%" % x, mid, d["detected"], planted[str(x)]["comparisons"], d["planted_pct"],
                "%.1f%%" % d["measured_pct"] if d["median_ratio"] else "-",
                "%.3f" % d["median_ratio"] if d["median_ratio"] else "-"))
        others = planted[str(x)]["other_flagged"]
        if others:
            print("         also flagged: %s" % ", ".join("%s (%s)" % (i, "/".join(
                "%d %s" % (n, v) for v, n in c.items() if n)) for i, c in sorted(others.items())))
    print("A/A      false alarms %d/%d (%.1f%%, at most %.1f%% at 95%% confidence, were they independent), "
          "improvement calls %d/%d; %d metrics gated" % (
              aa["false_alarms"], aa["comparisons"], 100 * aa["rate"], 100 * aa["rate_upper_95"],
              aa["improvement_calls"], aa["comparisons"], aa["metrics_gated"]))
    for mid, c in sorted(aa["per_metric"].items()):
        print("         %s: %d regression, %d improvement" % (mid, c["regression"], c["improvement"]))
    print("calibration: %s (%.0f s)" % (os.path.relpath(out_path, ROOT), time.time() - t_start))
    return 0


if __name__ == "__main__":
    run_main(main, "calibrate")
