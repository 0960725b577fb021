#!/usr/bin/env python3
"""GIL fidelity: archbench's GIL model (--gil) against real CPython threads, same machine,
same sitting, in alternating rounds (so drift and neighbours hit both alike), pooled.

  shape            CPython (bench/gil_probe.py)         archbench run gil --arch threads --gil
  cpu K=2, K=4     K pure-Python threads' units/s       --param cpu=K: cpu.units/s
                   against one thread's                 against cpu=1's
  convoy p50, p99  time.sleep(500us) per-call latency   --param io=1: io.call_ns
                   beside one CPU-bound thread
  free 0.5         the same with half of each unit in   the same with --param gil_free=0.5
                   hashlib (which drops the GIL)

Each side measures its ratio against its own one-thread rate within one round, so the
machine's speed and the two kernels' speeds cancel. A figure agrees when the model is within
--tolerance (15%) of CPython's; the gated ones are K=2 and K=4 throughput and the convoy's p50
(without GIL-free work). The others are shown beside them. Exit 0 when every gated one agrees.

usage: gil_fidelity.py [--rounds 3] [--seconds 2] [--tolerance 0.15] [--out FILE]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchio import run_main, write_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARCHBENCH = os.path.join(ROOT, "build", "archbench")
PROBE = os.path.join(ROOT, "bench", "gil_probe.py")


def run(cmd, timeout):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr.strip()[-300:]))
    return p.stdout


def probe(shape, seconds, free, ks="2,4"):
    cmd = [sys.executable, PROBE, shape, "--seconds", str(seconds), "--free", str(free)]
    if shape == "cpu":
        cmd += ["--k", ks]
    return json.loads(run(cmd, timeout=seconds * 8 + 60))


def model(seconds, params):
    with tempfile.TemporaryDirectory(prefix="ab-gilfid-") as d:
        cmd = [ARCHBENCH, "run", "gil", "--arch", "threads", "--gil", "--duration", "%gs" % seconds,
               "--out", d, "--quiet"]
        for p in params:
            cmd += ["--param", p]
        run(cmd, timeout=seconds + 60)
        with open(os.path.join(d, "gil.threads.gil.json")) as f:
            return json.load(f)


def model_cpu(seconds, free, ks=(2, 4)):
    rate = {}
    for k in (1,) + tuple(ks):
        r = model(seconds, ["cpu=%d" % k, "gil_free=%g" % free])
        rate[k] = r["counters"]["cpu.units"] / r["duration_s"]
    return {str(k): v / rate[1] for k, v in rate.items()}


def model_convoy(seconds, free):
    r = model(seconds, ["io=1", "gil_free=%g" % free])
    m = r["metrics"]["io.call_ns"]
    return {"p50_us": m["p50"] / 1e3, "p99_us": m["p99"] / 1e3, "calls": m["count"]}


FIGURES = [  # name, gated, how each round's pair is taken
    ("cpu K=2 throughput / K=1", True, lambda c, v: (c["cpu"]["ratio"]["2"], v["cpu"]["2"])),
    ("cpu K=4 throughput / K=1", True, lambda c, v: (c["cpu"]["ratio"]["4"], v["cpu"]["4"])),
    ("convoy p50 (us)", True, lambda c, v: (c["convoy"]["p50_us"], v["convoy"]["p50_us"])),
    ("convoy p99 (us)", False, lambda c, v: (c["convoy"]["p99_us"], v["convoy"]["p99_us"])),
    ("free 0.5: cpu K=2 / K=1", False, lambda c, v: (c["cpu_free"]["ratio"]["2"], v["cpu_free"]["2"])),
    ("free 0.5: convoy p50 (us)", False, lambda c, v: (c["convoy_free"]["p50_us"], v["convoy_free"]["p50_us"])),
]


def one_round(seconds, rnd):
    """CPython first on odd rounds, the model first on even ones."""
    def py():
        return {"cpu": probe("cpu", seconds, 0), "convoy": probe("convoy", seconds, 0),
                "cpu_free": probe("cpu", seconds, 0.5, "2"), "convoy_free": probe("convoy", seconds, 0.5)}

    def ab():
        return {"cpu": model_cpu(seconds, 0), "convoy": model_convoy(seconds, 0),
                "cpu_free": model_cpu(seconds, 0.5, (2,)), "convoy_free": model_convoy(seconds, 0.5)}
    if rnd % 2:
        c = py()
        v = ab()
    else:
        v = ab()
        c = py()
    return c, v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2)
    ap.add_argument("--tolerance", type=float, default=0.15)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    if a.rounds < 1 or not a.seconds > 0:
        ap.error("--rounds wants a whole number >= 1 and --seconds a positive number")
    if not 0 < a.tolerance < 1:
        ap.error("--tolerance wants a fraction in (0, 1), not %g" % a.tolerance)
    if not os.access(ARCHBENCH, os.X_OK):
        ap.error("%s is not built: run make first" % ARCHBENCH)
    if not shutil.which(os.path.basename(sys.executable)) and not os.access(sys.executable, os.X_OK):
        ap.error("no python3 to probe")
    out_path = a.out or os.path.join(ROOT, "results", time.strftime("gil-fidelity-%Y%m%d-%H%M%S.json"))
    pairs = {name: [] for name, _, _ in FIGURES}
    rounds = []
    for rnd in range(1, a.rounds + 1):
        c, v = one_round(a.seconds, rnd)
        rounds.append({"cpython": c, "model": v})
        for name, _, take in FIGURES:
            pairs[name].append(take(c, v))
        print("round %d of %d done" % (rnd, a.rounds), file=sys.stderr)
    python = rounds[0]["cpython"]["cpu"]["python"]
    print("GIL model against CPython %s (interval 5 ms, %d rounds of %gs, medians)" % (python, a.rounds, a.seconds))
    row = "%-28s %12s %12s %8s  %s"
    print(row % ("figure", "CPython", "model", "model/py", "verdict"))
    ok = True
    summary = {}
    for name, gated, _ in FIGURES:
        py = statistics.median(p[0] for p in pairs[name])
        md = statistics.median(p[1] for p in pairs[name])
        ratio = md / py if py else float("nan")
        agree = abs(ratio - 1) <= a.tolerance
        if gated:
            ok &= agree
        verdict = ("agree" if agree else "DISAGREE") + ("" if gated else " (shown, not gated)")
        print(row % (name, "%.3f" % py if py < 100 else "%.0f" % py, "%.3f" % md if md < 100 else "%.0f" % md,
                     "%.3f" % ratio, verdict))
        summary[name] = {"cpython": py, "model": md, "ratio": ratio, "gated": gated, "agree": agree,
                         "rounds": pairs[name]}
    write_json(out_path, {"python": python, "interpreter_memory": json.loads(run([sys.executable, PROBE, "mem"], timeout=60)),
                          "tolerance": a.tolerance, "seconds": a.seconds, "figures": summary,
                   "rounds": rounds})
    mem = json.loads(run([sys.executable, PROBE, "mem"], timeout=60))
    print("the interpreter itself (%s): PSS %.1f MB, RSS %.1f MB per process, before any agent is in it"
          % (mem["interpreter"], mem["pss_mb"], mem["rss_mb"]))
    print("gil fidelity: %s" % out_path)
    return 0 if ok else 1


if __name__ == "__main__":
    run_main(main, "gil fidelity", (KeyError, ValueError))
