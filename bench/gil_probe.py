#!/usr/bin/env python3
"""The GIL probe: real CPython threads through the shapes of archbench's `gil` scenario
(scenarios/gil.c), so that its GIL model (--gil) can be held against the interpreter on the
same machine (bench/gil_fidelity.py, `make fidelity`).

Shapes:
  cpu K,..     K pure-Python CPU-bound threads, each doing units of work back to back, for
               each K in turn with one calibration: their total units per second, and its
               ratio to one thread's (--k 1 is always run first).
  convoy       one I/O thread (time.sleep(CALL) in a loop) beside one CPU-bound thread:
               the I/O thread's per-call latency, p50 and p99 (the convoy effect).
  mem          the interpreter's own memory: PSS and RSS of a fresh `python3 -c 'import
               numpy'` (bare `python3` when numpy is not installed, and it says so). What a
               Python process costs before any agent is in it: the interpreter, not the
               architecture.
  --free F     part of each unit in a call that releases the GIL (hashlib.sha256 over a
               buffer sized so that it takes that fraction of the unit), as numpy's do.

A unit is calibrated to --work microseconds on one thread before the shape runs. One line of
JSON on stdout.
"""
import argparse
import hashlib
import json
import sys
import threading
import time


def spin(n):
    """Pure Python: the interpreter's loop, holding the GIL throughout."""
    x = 0
    for i in range(n):
        x = (x + i * i) % 1000003
    return x


def timed(fn, arg, reps=20):
    best = None
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(arg)
        dt = time.perf_counter() - t0
        best = dt if best is None or dt < best else best
    return best


def calibrate(work_s, free):
    """Loop count and hash size for one unit of work_s, free of it GIL-free."""
    n = 1000
    while timed(spin, n, 5) < 0.01:
        n *= 2
    per_iter = timed(spin, n) / n
    iters = max(1, round(work_s * (1 - free) / per_iter))
    buf = b""
    if free > 0:
        probe = bytes(1 << 20)
        per_byte = timed(lambda b: hashlib.sha256(b).digest(), probe) / len(probe)
        size = max(4096, round(work_s * free / per_byte))  # hashlib drops the GIL above 2 KiB
        buf = bytes(size)
    return iters, buf


def unit(iters, buf):
    spin(iters)
    if buf:
        hashlib.sha256(buf).digest()


def run_cpu(k, seconds, iters, buf):
    counts = [0] * k
    start = threading.Barrier(k + 1)
    stop = [False]

    def worker(i):
        start.wait()
        c = 0
        while not stop[0]:
            unit(iters, buf)
            c += 1
        counts[i] = c

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(k)]
    for t in ts:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop[0] = True
    for t in ts:
        t.join()
    return sum(counts) / (time.perf_counter() - t0)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else None


def run_convoy(seconds, call_s, iters, buf):
    lat = []
    stop = [False]
    start = threading.Barrier(3)

    def cpu():
        start.wait()
        while not stop[0]:
            unit(iters, buf)

    def io():
        start.wait()
        while not stop[0]:
            t0 = time.perf_counter()
            time.sleep(call_s)
            lat.append(time.perf_counter() - t0)

    ts = [threading.Thread(target=cpu), threading.Thread(target=io)]
    for t in ts:
        t.start()
    start.wait()
    time.sleep(seconds)
    stop[0] = True
    for t in ts:
        t.join()
    return {"calls": len(lat), "p50_us": pct(lat, 0.5) * 1e6, "p99_us": pct(lat, 0.99) * 1e6}


def interpreter_memory():
    code = ("import sys\ntry:\n    import numpy\n    what = 'numpy ' + numpy.__version__\nexcept ImportError:\n"
            "    what = 'bare (numpy is not installed)'\n"
            "kb = {}\nfor line in open('/proc/self/smaps_rollup'):\n    p = line.split()\n"
            "    if p[0] in ('Rss:', 'Pss:'):\n        kb[p[0][:-1]] = int(p[1])\n"
            "print(what + '|' + str(kb['Pss']) + '|' + str(kb['Rss']))\n")
    import subprocess
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, check=True).stdout
    what, pss, rss = out.strip().split("|")
    return {"interpreter": what, "pss_mb": int(pss) / 1024, "rss_mb": int(rss) / 1024}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("shape", choices=["cpu", "convoy", "mem"])
    ap.add_argument("--k", default="1", help="CPU-bound threads (cpu), a comma-separated list")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--work", type=float, default=100, help="microseconds of work per unit")
    ap.add_argument("--call", type=float, default=500, help="the I/O thread's sleep, microseconds")
    ap.add_argument("--free", type=float, default=0.0, help="fraction of a unit without the GIL")
    ap.add_argument("--interval", type=float, default=5, help="sys.setswitchinterval, milliseconds")
    a = ap.parse_args()
    try:
        ks = sorted({1} | {int(x) for x in a.k.split(",")})
    except ValueError:
        ks = [0]
    if ks[0] < 1 or a.seconds <= 0 or a.work <= 0 or a.call <= 0 or not 0 <= a.free < 1 or a.interval <= 0:
        print("gil_probe: --k a list of integers >= 1, --seconds/--work/--call/--interval > 0 and 0 <= --free < 1", file=sys.stderr)
        return 2
    if a.shape == "mem":
        print(json.dumps(dict(shape="mem", python=sys.version.split()[0], **interpreter_memory())))
        return 0
    sys.setswitchinterval(a.interval / 1e3)
    iters, buf = calibrate(a.work / 1e6, a.free)
    out = {"shape": a.shape, "python": sys.version.split()[0], "interval_ms": a.interval, "work_us": a.work,
           "free": a.free, "unit_iters": iters, "unit_hash_bytes": len(buf)}
    if a.shape == "cpu":
        rate = {k: run_cpu(k, a.seconds, iters, buf) for k in ks}
        out.update(units_per_s={str(k): r for k, r in rate.items()},
                   ratio={str(k): r / rate[1] for k, r in rate.items()})
    else:
        out.update(call_us=a.call, **run_convoy(a.seconds, a.call / 1e6, iters, buf))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
