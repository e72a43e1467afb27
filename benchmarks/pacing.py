#!/usr/bin/env python3
"""Pacing accuracy of `lunge perf` in the open model, against nginx on loopback.

Goals (issue 4): achieved rate within 1% of the target over 10 s at 100, 1 000 and
10 000 req/s with the generator on one core; at 10 000 req/s the inter-send interval's p99
jitter (|interval between consecutive sends - scheduled interval|, `pacing.jitterP99Ms`)
under 1 ms; a linear ramp from 100 to 2 000 req/s over 10 s with every one-second bucket
within 3% of the intended rate for that second.

Also printed: the send lag (actual send - scheduled send, `pacing.lagP99Ms`), the stricter
figure, since one stall makes every send behind it late; and, for context, how late this
machine wakes a plain sleeping process on the same core (the floor under any generator's lag).

Usage: python3 benchmarks/pacing.py [--lunge PATH] [--duration 10]
nginx (Debian's nginx-light) must be installed; it is started on 127.0.0.1 pinned to CPU 1,
lunge runs pinned to CPU 0, and nginx is stopped by its PID at the end.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

from _nginx import Nginx


def perf(lunge, url, *args, timeout):
    p = subprocess.run(["taskset", "-c", "0", lunge, "perf", "--url", url, *map(str, args), "--format", "json"],
                       capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        sys.exit(f"lunge perf failed: {p.stderr}")
    return json.loads(p.stdout)


WAKE = """
import time, sys
late = []
for _ in range(int(sys.argv[1])):
    due = time.perf_counter_ns() + 1_000_000
    time.sleep(0.001)
    late.append(time.perf_counter_ns() - due)
late.sort()
print(late[len(late) // 2] / 1e6, late[len(late) * 99 // 100] / 1e6, late[-1] / 1e6)
"""


def wake_baseline(n=2000):
    """p50/p99/max lateness of 1 ms sleeps of a bare Python process on CPU 0."""
    out = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", WAKE, str(n)],
                         capture_output=True, text=True, check=True).stdout
    return tuple(float(x) for x in out.split())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lunge", default=shutil.which("lunge") or os.path.join(os.path.dirname(sys.executable), "lunge"))
    ap.add_argument("--duration", type=float, default=10.0)
    a = ap.parse_args()
    ok = True
    with Nginx(cpu="1") as nginx:
        url = nginx.url
        w50, w99, wmax = wake_baseline()
        print(f"this machine wakes a sleeping process late by {w50:.3f} ms p50, {w99:.3f} ms p99, {wmax:.1f} ms max "
              f"(2000 sleeps of 1 ms on CPU 0)\n")
        print("| target rps | achieved rps | error | jitter p50 ms | jitter p99 ms | lag p50 ms | lag p99 ms | "
              "max lag ms | late sends | unsent | goal |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for rps in (100, 1000, 10000):
            doc = perf(a.lunge, url, "--rps", rps, "--duration", f"{a.duration}s", "--concurrency", 50,
                       timeout=a.duration + 60)
            m, p = doc["metrics"], doc["metrics"]["pacing"]
            achieved = m["throughput"]["rps"]
            err = achieved / rps - 1
            good = abs(err) <= 0.01 and (rps < 10000 or p["jitterP99Ms"] < 1.0)
            ok &= good
            print(f"| {rps} | {achieved:.1f} | {err * 100:+.2f}% | {p['jitterP50Ms']:.3f} | {p['jitterP99Ms']:.3f} | "
                  f"{p['lagP50Ms']:.3f} | {p['lagP99Ms']:.3f} | "
                  f"{p['maxLagMs']:.1f} | {p['lateSends']} | {p['unsent']} | {'met' if good else 'MISSED'} |")
        doc = perf(a.lunge, url, "--pattern", "linear:100:2000", "--duration", f"{a.duration}s", "--concurrency", 50,
                   timeout=a.duration + 60)
        slope = (2000 - 100) / a.duration
        rows = doc["timeSeries"][:int(a.duration)]
        print()
        print("| second | intended | sent | error |")
        print("|---:|---:|---:|---:|")
        worst = 0.0
        for row in rows:
            t = row["t"]
            intended = 100 + slope * (t + 0.5)  # the integral of the rate over [t, t+1)
            err = row["requests"] / intended - 1
            worst = max(worst, abs(err))
            print(f"| {t} | {intended:.0f} | {row['requests']} | {err * 100:+.2f}% |")
        ok &= worst <= 0.03
        print(f"\nlinear ramp: worst second {worst * 100:.2f}% off (goal 3%): {'met' if worst <= 0.03 else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
