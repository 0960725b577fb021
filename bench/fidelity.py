#!/usr/bin/env python3
"""Fidelity: archbench's figures against the trusted tools, same machine, same sitting.

Each pair measures the same thing two ways, in alternating rounds (so drift and neighbours
hit both alike), and the rounds are pooled:

  pipe      perf bench sched pipe         pipe/procs/rtt/8        mean round trip
  pmq       rt-tests pmqtest -i I         mq/threads/oneway/8     mean one-way latency
            archbench-micro --interval=I
  mutex     rt-tests ptsematest -i I      mutex/threads/oneway/0  mean hand-off latency
            archbench-micro --interval=I
  baseline  cyclictest -m -t1 -i1000      archbench run baseline  wake-up lateness p50, p99
            [-p80]                        --arch threads [--rt-prio 80 | --latency-target 0]

The IPC pairs run under `taskset -c 0`, both sides on one CPU: the rt-tests put a pair on
one CPU, and unpinned the scheduler's choice of one CPU or two (3 against 10 us here) would
swamp what is compared. `pipe` also runs unpinned, as `perf bench sched pipe` is usually
run. pmq and mutex run at two intervals I, 100 us and 10000 us, each side paced alike (the
rt-tests' receiver sleeps I before its ack, and so does our peer with --interval): how long
the CPU idles between messages moves both figures, so only like with like compares.

The baseline pair runs in two configurations, in alternating and pooled rounds:
  other  cyclictest -m -t1 -i1000      against archbench ... --latency-target 0
  fifo   cyclictest -m -t1 -p80 -i1000 against archbench ... --rt-prio 80
cyclictest holds /dev/cpu_dma_latency at 0 for its run unless told otherwise; archbench does
with --latency-target 0, and by default whenever --rt-prio is given, so each configuration
compares the same scheduling class under the same PM QoS request. An archbench without
--latency-target cannot be compared like with like: the baseline pair then skips, saying so.

A pair agrees when archbench is within --tolerance of the tool; the exit status is 0 when all
agree, 1 when one does not, 2 for bad usage.

The floor is checked alongside: the shm ring's small-message round trip (spinning) must be
within 2x of a bare cache-line ping-pong and at least 10x faster than the pipe. The three run
in one invocation per round, as 9 short repetitions each in random interleaving, and each
one's median p50 is taken: the host moves the vCPUs now and then, which moves the
ping-pong between about 0.25 and 0.9 us here, and interleaving spreads that over all three
alike. The per-round ratios are pooled.

Wake-up lateness p99 is set by the host's rare stalls, so one short run of each is not
enough to compare: the baseline pairs pool --baseline-rounds alternating runs of each.

  bench/fidelity.py [--rounds 5] [--baseline-rounds 10] [--baseline-seconds 2]
                    [--only pipe,pipe-unpinned,pmq,mutex,floor,baseline] [--tolerance 0.15]
                    [--out FILE]
  (make fidelity)
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchio import run_main, write_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MICRO = os.path.join(ROOT, "build", "archbench-micro")
ARCHBENCH = os.path.join(ROOT, "build", "archbench")
PIN = ["taskset", "-c", "0"]


def run(argv, timeout=120):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(argv), p.returncode,
                                                  p.stderr.strip()[-300:]))
    return p.stdout


def micro_runs(names, flags, pinned=False, interval_us=0):
    """Run the named archbench-micro benchmarks: each one's runs (one per repetition), or an
    error naming the one that failed or did not run, or a run not paced as asked."""
    out = json.loads(run((PIN if pinned else []) +
                         [MICRO, "--benchmark_filter=^(%s)$" % "|".join(names),
                          "--benchmark_format=json", "--interval=%d" % interval_us] + flags))
    if out["context"].get("interval_us") != str(interval_us):
        raise RuntimeError("archbench-micro ran at interval_us=%s, not %d"
                           % (out["context"].get("interval_us"), interval_us))
    got = {n: [] for n in names}
    for b in out["benchmarks"]:
        if b.get("run_type") != "iteration" or b.get("run_name") not in got:
            continue
        if b.get("error_occurred"):
            raise RuntimeError("%s: %s" % (b["run_name"], b.get("error_message")))
        got[b["run_name"]].append(b)
    for n in names:
        if not got[n]:
            raise RuntimeError("%s did not run" % n)
    return got


def paced(name, interval_us):
    """The name archbench-micro gives a one-way benchmark paced at interval_us."""
    return "%s/interval_us:%d/real_time" % (name, interval_us) if interval_us else name


def micro(name, pinned, interval_us=0):
    """One archbench-micro benchmark for about a second (of CPU time; of wall time when
    paced): its mean and p50, in us."""
    name = paced(name, interval_us)
    b = micro_runs([name], ["--benchmark_min_time=1"], pinned, interval_us)[name][0]
    return {"mean": b["mean_ns"] / 1e3, "p50": b["p50_ns"] / 1e3}


FLOOR = ["cacheline/procs/rtt/8", "chan-shm-spin/procs/rtt/8", "pipe/procs/rtt/8"]


def floor_round():
    """The three floor benchmarks interleaved: the median of their p50 round trips, in us."""
    got = micro_runs(FLOOR, ["--benchmark_min_time=0.1", "--benchmark_repetitions=9",
                             "--benchmark_enable_random_interleaving=true"])
    return {n: statistics.median(b["p50_ns"] / 1e3 for b in got[n]) for n in FLOOR}


def perf_pipe(pinned):
    out = run((PIN if pinned else []) + ["perf", "bench", "sched", "pipe", "-l", "60000"])
    m = re.search(r"([\d.]+)\s+usecs/op", out)
    if not m:
        raise RuntimeError("perf bench sched pipe printed no usecs/op")
    return {"mean": float(m.group(1))}


RT_SECONDS = 1.2  # each rt-test run: as many messages as fit in this at its interval


def rt_loops(interval_us):
    return max(100, int(round(RT_SECONDS * 1e6 / interval_us)))


def rt_test(tool, interval_us):
    """pmqtest or ptsematest at -i interval_us: the receiver's average latency (us), from its
    JSON."""
    with tempfile.TemporaryDirectory(prefix="ab-fidelity-") as d:
        path = os.path.join(d, "out.json")
        run(PIN + [tool, "-l", str(rt_loops(interval_us)), "-i", str(interval_us), "-q",
                   "--json=" + path])
        with open(path) as f:
            return {"mean": float(json.load(f)["thread"]["0"]["receiver"]["avg"])}


def pooled_quantiles(buckets):
    """p50 and p99 (us) of {upper bound in us: count}."""
    total = sum(buckets.values())
    out, seen = {}, 0
    want = [("p50", 0.50), ("p99", 0.99)]
    for bound in sorted(buckets):
        seen += buckets[bound]
        while want and seen >= want[0][1] * total:
            out[want[0][0]] = bound
            want.pop(0)
    out["samples"] = total
    return out


def cyclictest(flags, seconds, buckets):
    out = run(["cyclictest"] + flags + ["-q", "-D", "%ds" % seconds, "-h", "20000"],
              timeout=seconds + 60)
    for line in out.splitlines():
        m = re.match(r"^(\d+)\s+(\d+)\s*$", line)
        if m and int(m.group(2)):
            b = int(m.group(1)) + 1  # bucket n holds [n, n+1) us
            buckets[b] = buckets.get(b, 0) + int(m.group(2))
        m = re.match(r"^# Histogram Overflows: (\d+)", line)
        if m and int(m.group(1)):  # beyond the last bucket: counted, above everything
            buckets[float("inf")] = buckets.get(float("inf"), 0) + int(m.group(1))


def baseline(flags, seconds, buckets):
    with tempfile.TemporaryDirectory(prefix="ab-fidelity-") as d:
        run([ARCHBENCH, "run", "baseline", "--arch", "threads", "--duration", "%ds" % seconds,
             "--out", d, "--quiet"] + flags, timeout=seconds + 60)
        with open(os.path.join(d, "baseline.threads.json")) as f:
            h = json.load(f)["metrics"]["tick.lateness_ns"]["hist"]
    for bound_ns, n in h:
        b = bound_ns / 1e3
        buckets[b] = buckets.get(b, 0) + n


def latency_target_missing():
    """Why archbench cannot hold the PM QoS request cyclictest holds, or None."""
    p = subprocess.run([ARCHBENCH, "run", "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=30)
    if "--latency-target" in p.stdout:
        return None
    return ("%s run has no --latency-target: cyclictest holds /dev/cpu_dma_latency at 0 and "
            "archbench could not, so the pair would not be like with like" % ARCHBENCH)


# The baseline pair's configurations: name, what, cyclictest's flags, archbench run's flags.
BASELINES = [
    ("baseline-other", "SCHED_OTHER, PM QoS 0",
     ["-m", "-t1", "-i1000"], ["--latency-target", "0"]),
    ("baseline-fifo", "SCHED_FIFO 80, PM QoS 0",
     ["-m", "-t1", "-p80", "-i1000"], ["--rt-prio", "80"]),
]


def ipc_pair(group, what, tool, bench, interval_us):
    """A pinned rt-tests pair at one interval, both sides paced alike."""
    label = "%dus" % interval_us if interval_us < 1000 else "%gms" % (interval_us / 1000)
    return ("%s-%s" % (group, label), group, "%s, -i %d (one CPU)" % (what, interval_us),
            "taskset -c 0 %s -l %d -i %d" % (tool, rt_loops(interval_us), interval_us),
            lambda: rt_test(tool, interval_us),
            "taskset -c 0 archbench-micro --interval=%d %s" % (interval_us, bench),
            lambda: micro(bench, True, interval_us), tool)


INTERVALS_US = (100, 10000)
PAIRS = [
    # name, group (--only), what, tool command, the tool's side, archbench's command,
    # archbench's side, needs
    ("pipe", "pipe", "pipe round trip, processes, 8 B (one CPU)",
     "taskset -c 0 perf bench sched pipe -l 60000", lambda: perf_pipe(True),
     "taskset -c 0 archbench-micro pipe/procs/rtt/8", lambda: micro("pipe/procs/rtt/8", True),
     "perf"),
    ("pipe-unpinned", "pipe-unpinned", "pipe round trip, processes, 8 B (unpinned)",
     "perf bench sched pipe -l 60000", lambda: perf_pipe(False),
     "archbench-micro pipe/procs/rtt/8", lambda: micro("pipe/procs/rtt/8", False), "perf"),
] + [p for i in INTERVALS_US for p in (
    ipc_pair("pmq", "POSIX mq one way, threads", "pmqtest", "mq/threads/oneway/8", i),
    ipc_pair("mutex", "mutex hand-off, threads", "ptsematest", "mutex/threads/oneway/0", i))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--tolerance", type=float, default=0.15)
    ap.add_argument("--baseline-rounds", type=int, default=10)
    ap.add_argument("--baseline-seconds", type=int, default=2)
    ap.add_argument("--only", default=None, help="comma-separated pairs (default: all)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    if a.rounds < 1 or a.baseline_rounds < 1 or a.baseline_seconds < 1:
        ap.error("--rounds, --baseline-rounds and --baseline-seconds want a whole number >= 1")
    if not 0 < a.tolerance < 1:
        ap.error("--tolerance wants a fraction in (0, 1), not %g" % a.tolerance)
    known = list(dict.fromkeys(p[1] for p in PAIRS)) + ["floor", "baseline"]
    only = set(a.only.split(",")) if a.only else set(known)
    if only - set(known):
        ap.error("--only: %s is not one of %s" % (",".join(sorted(only - set(known))),
                                                  ",".join(known)))
    for exe in (MICRO, ARCHBENCH):
        if not os.access(exe, os.X_OK):
            ap.error("%s is not built: run make first" % exe)
    out_path = a.out or os.path.join(ROOT, "results",
                                     time.strftime("fidelity-%Y%m%d-%H%M%S.json"))

    rows = {p[0]: {"tool": [], "ours": []} for p in PAIRS}
    skipped = {}
    if "baseline" in only:
        why = ("cyclictest is not installed" if not shutil.which("cyclictest")
               else latency_target_missing())
        if why:
            skipped["baseline"] = why
            only.discard("baseline")
    cyc = {b[0]: {} for b in BASELINES}
    ours_hist = {b[0]: {} for b in BASELINES}
    floors = []
    for r in range(max(a.rounds, a.baseline_rounds)):
        print("round %d" % (r + 1), file=sys.stderr, flush=True)
        for name, group, _, _, tool_fn, _, ours_fn, need in PAIRS:
            if group not in only or r >= a.rounds:
                continue
            if not shutil.which(need):
                skipped[name] = "%s is not installed" % need
                continue
            sides = [("tool", tool_fn), ("ours", ours_fn)]
            for side, fn in (sides if r % 2 == 0 else sides[::-1]):
                rows[name][side].append(fn())
        if "floor" in only and r < a.rounds:
            floors.append(floor_round())
        if "baseline" in only and r < a.baseline_rounds:
            steps = []
            for name, _, tool_flags, ours_flags in BASELINES:
                steps += [lambda f=tool_flags, h=cyc[name]: cyclictest(f, a.baseline_seconds, h),
                          lambda f=ours_flags, h=ours_hist[name]: baseline(f, a.baseline_seconds, h)]
            for fn in (steps if r % 2 == 0 else steps[::-1]):
                fn()

    report = {"rounds": a.rounds, "tolerance": a.tolerance, "pairs": [], "skipped": skipped}
    ok = True
    row = "%-19s %-46s %10s %10s %8s  %s"
    print(row % ("pair", "what", "tool us", "ours us", "ratio", "verdict"))
    for name, _, what, tool_cmd, _, ours_cmd, _, _ in PAIRS:
        t, o = rows[name]["tool"], rows[name]["ours"]
        if not t:
            continue
        tm = statistics.median(x["mean"] for x in t)
        om = statistics.median(x["mean"] for x in o)
        ratio = om / tm
        agree = abs(ratio - 1) <= a.tolerance
        ok &= agree
        print(row % (name, what, "%.2f" % tm, "%.2f" % om, "%.3f" % ratio,
                     "agree" if agree else "DISAGREE"))
        report["pairs"].append({
            "name": name, "what": what, "tool_command": tool_cmd, "ours_command": ours_cmd,
            "tool_mean_us_per_round": [x["mean"] for x in t],
            "ours_mean_us_per_round": [x["mean"] for x in o],
            "ours_p50_us_per_round": [x["p50"] for x in o],
            "tool_mean_us": tm, "ours_mean_us": om, "ratio": ratio, "agree": agree})
    for name, what, tool_flags, ours_flags in BASELINES:
        if not cyc[name] or not ours_hist[name]:
            continue
        tq, oq = pooled_quantiles(cyc[name]), pooled_quantiles(ours_hist[name])
        for q in ("p50", "p99"):
            ratio = oq[q] / tq[q]
            agree = abs(ratio - 1) <= a.tolerance
            ok &= agree
            print(row % ("%s-%s" % (name, q), "wake-up lateness %s, %s" % (q, what),
                         "%.1f" % tq[q], "%.1f" % oq[q], "%.3f" % ratio,
                         "agree" if agree else "DISAGREE"))
            report["pairs"].append({
                "name": "%s-%s" % (name, q), "what": "wake-up lateness %s, %s" % (q, what),
                "tool_command": "cyclictest %s -D %ds (x%d, pooled)"
                                % (" ".join(tool_flags), a.baseline_seconds, a.baseline_rounds),
                "ours_command": "archbench run baseline --arch threads %s --duration %ds "
                                "(x%d, pooled)" % (" ".join(ours_flags), a.baseline_seconds,
                                                   a.baseline_rounds),
                "tool_us": tq[q], "ours_us": oq[q], "tool_samples": tq["samples"],
                "ours_samples": oq["samples"], "ratio": ratio, "agree": agree})
    if floors:
        ping, ring, pipe = (statistics.median(f[n] for f in floors) for n in FLOOR)
        over_floor = statistics.median(f[FLOOR[1]] / f[FLOOR[0]] for f in floors)
        under_pipe = statistics.median(f[FLOOR[2]] / f[FLOOR[1]] for f in floors)
        for name, what, ratio, agree in (
                ("floor", "shm ring spin rtt / cache-line ping-pong (<= 2)", over_floor,
                 over_floor <= 2),
                ("floor-pipe", "pipe rtt / shm ring spin rtt (>= 10)", under_pipe,
                 under_pipe >= 10)):
            ok &= agree
            print(row % (name, what, "", "", "%.3f" % ratio, "agree" if agree else "DISAGREE"))
        print("%-19s cache-line %.2f us, shm ring spin %.2f us, pipe %.2f us (p50 round trips)"
              % ("", ping, ring, pipe))
        report["floor"] = {"rounds_p50_us": floors, "ring_over_cacheline": over_floor,
                           "pipe_over_ring": under_pipe}
    for name, why in skipped.items():
        print("%-19s skipped: %s" % (name, why))
    write_json(out_path, report)
    print("fidelity: %s" % out_path)
    return 0 if ok else 1


if __name__ == "__main__":
    run_main(main, "fidelity")
