#!/usr/bin/env python3
"""Throughput of `lunge perf --workers 2` vs `--workers 1` on this machine (issue 7).

nginx (1 worker process) is pinned to CPU 1; lunge is not pinned, so with two workers its
second engine thread shares CPU 1 with nginx: on a 2-core machine the server's own core is
the ceiling, and the script prints where the CPU went.  Runs alternate, R rounds.

Usage: python3 benchmarks/workers.py [--lunge PATH] [--duration 8] [--rounds 3] [--concurrency 50]
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys

from _nginx import Nginx


def run(lunge, url, workers, duration, conns):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([lunge, "perf", "--url", url, "--workers", str(workers), "--concurrency", str(conns),
                        "--duration", f"{duration}s", "--format", "json"], capture_output=True, text=True,
                       timeout=duration + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(p.stderr)
    m = json.loads(p.stdout)["metrics"]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return m["throughput"]["rps"], cpu / max(m["totalRequests"], 1) * 1e6, m["responseTimes"]["p99Ms"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lunge", default=shutil.which("lunge") or os.path.join(os.path.dirname(sys.executable), "lunge"))
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=50)
    a = ap.parse_args()
    got = {1: [], 2: []}
    with Nginx(cpu="1") as nginx:
        for r in range(a.rounds):
            for w in ((1, 2) if r % 2 == 0 else (2, 1)):
                got[w].append(run(a.lunge, nginx.url, w, a.duration, a.concurrency))
                print(f"round {r + 1} workers={w}: {got[w][-1][0]:.0f} req/s, {got[w][-1][1]:.1f} us CPU/req",
                      file=sys.stderr)
    print("| workers | req/s (median) | generator CPU us/request | p99 ms |")
    print("|---:|---:|---:|---:|")
    med = {}
    for w in (1, 2):
        rps, cpu, p99 = (statistics.median(x[i] for x in got[w]) for i in range(3))
        med[w] = rps
        print(f"| {w} | {rps:.0f} | {cpu:.1f} | {p99:.2f} |")
    print(f"\nworkers 2 / workers 1: {med[2] / med[1]:.2f}x")


if __name__ == "__main__":
    main()
