#!/usr/bin/env python3
"""What the live view costs the engine: throughput with everything live on (--real-time panel
on a pseudo-terminal, resource monitor) against everything off (no terminal, no progress
lines, --no-resources), against nginx on loopback.

nginx runs pinned to CPU 1, lunge to CPU 0; runs alternate in ABBA order so drift hits both
sides alike; the figures are medians of the per-pair ratios.  Two figures: the throughput
ratio, and lunge's CPU time per request (user + system, from the child's rusage, start-up
CPU of an empty run subtracted), which a busy host disturbs far less than wall-clock rates.
A third figure does not depend on the host being quiet: in-process runs (pinned to CPU 0)
measure the CPU time of lunge's main thread, where everything live runs (snapshots, the
view, the panel, the resource monitor), with and without the live view.  The engine loop
runs in its own thread on the same core, so the extra main-thread CPU per second of run is
what the live view can take from the engine: its cost as a share of the core.  Usage:

    .venv/bin/python benchmarks/realtime_cost.py [--pairs 6] [--seconds 10] [--concurrency 50]

Loopback only; nginx is stopped by its PID at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from _nginx import Nginx


def child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_lunge(url: str, seconds: float, concurrency: int, live: bool, out: str,
              iterations: int | None = None) -> tuple[float, float, int]:
    """One run; returns (req/s, CPU seconds of lunge, requests completed)."""
    cmd = ["taskset", "-c", "0", sys.executable, "-m", "lunge", "perf", "--url", url, "--concurrency",
           str(concurrency), "--format", "json", "--output", out]
    cmd += ["-n", str(iterations)] if iterations else ["--duration", f"{seconds}s"]
    cpu0 = child_cpu()
    if live:
        # stderr on a pseudo-terminal, so lunge draws the panel as a user would see it
        master, slave = os.openpty()
        os.set_blocking(master, True)
        proc = subprocess.Popen(cmd + ["--real-time"], stdout=subprocess.DEVNULL, stderr=slave)
        os.close(slave)
        drained = []

        def drain():
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                drained.append(len(chunk))

        t = threading.Thread(target=drain, daemon=True)
        t.start()
        proc.wait()
        os.close(master)
        if sum(drained) < 200:
            raise SystemExit("the live run drew no panel")
    else:
        proc = subprocess.run(cmd + ["--progress-interval", "0", "--no-resources"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SystemExit(f"lunge exited {proc.returncode}")
    cpu = child_cpu() - cpu0
    with open(out) as f:
        m = json.load(f)["metrics"]
    return m["throughput"]["rps"], cpu, m["totalRequests"]


def main_thread_cpu(url: str, seconds: float, concurrency: int, live_on: bool) -> tuple[float, float]:
    """In-process run: (main-thread CPU seconds per second of run, req/s)."""
    from lunge.live import view as live
    from lunge.plan import for_url
    from lunge.runner import run

    plan = for_url(url, concurrency=concurrency, duration=seconds)
    monitor = sink = None
    if live_on:
        master, slave = os.openpty()
        sink = subprocess.Popen(["cat"], stdin=master, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # the "terminal" reads
        os.close(master)
        stream = os.fdopen(slave, "w")
        monitor = live.Live(plan, live.Options(real_time=True), stream=stream, tty=True)
    t0 = time.thread_time()
    result = run(plan, monitor=monitor)
    cpu = time.thread_time() - t0
    if sink is not None:
        stream.close()
        sink.wait(timeout=10)
    wall = result.elapsed_ns / 1e9
    return cpu / wall, result.completed / wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--concurrency", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lunge-rt-") as work:
        with Nginx(cpu="1") as nginx:
            url = nginx.url
            run_lunge(url, 2, args.concurrency, False, f"{work}/warm.json")  # warm caches, page in the engine
            # start-up and shutdown CPU (imports, report) of each variant, subtracted below
            base = {live: statistics.median(run_lunge(url, 0, args.concurrency, live, f"{work}/b.json", 1)[1]
                                            for _ in range(3)) for live in (False, True)}
            os.sched_setaffinity(0, {0})
            split = {False: [], True: []}
            for i in range(3):
                for live_on in ((False, True) if i % 2 == 0 else (True, False)):
                    split[live_on].append(main_thread_cpu(url, args.seconds, args.concurrency, live_on))
            for live_on in (False, True):
                print(f"in-process, live {'on ' if live_on else 'off'}: main thread "
                      f"{1e3 * statistics.median(c for c, _ in split[live_on]):.2f} ms CPU per second of run "
                      f"({', '.join(f'{1e3 * c:.2f}' for c, _ in split[live_on])}); "
                      f"{statistics.median(r for _, r in split[live_on]):.0f} req/s", flush=True)
            extra = statistics.median(c for c, _ in split[True]) - statistics.median(c for c, _ in split[False])
            os.sched_setaffinity(0, set(range(os.cpu_count())))
            ratios, cpu_ratios, on_all, off_all = [], [], [], []
            for i in range(args.pairs):
                order = (False, True) if i % 2 == 0 else (True, False)  # ABBA
                got = {live: run_lunge(url, args.seconds, args.concurrency, live, f"{work}/r.json") for live in order}
                us = {live: (cpu - base[live]) / n * 1e6 for live, (_, cpu, n) in got.items()}
                off_all.append(got[False][0])
                on_all.append(got[True][0])
                ratios.append(got[True][0] / got[False][0])
                cpu_ratios.append(us[True] / us[False])
                print(f"pair {i + 1}: off {got[False][0]:8.0f} req/s {us[False]:6.2f} us CPU/req   "
                      f"real-time {got[True][0]:8.0f} req/s {us[True]:6.2f} us CPU/req   "
                      f"rps ratio {ratios[-1]:.4f}  CPU/req ratio {cpu_ratios[-1]:.4f}", flush=True)
    med, cmed = statistics.median(ratios), statistics.median(cpu_ratios)
    print(f"\nlive view's own CPU: +{1e3 * extra:.2f} ms per second of run = {100 * extra:.2f}% of the core "
          f"the engine runs on (the most it can take from a CPU-bound engine)")
    print(f"\nstart-up CPU subtracted: off {base[False]:.3f}s, real-time {base[True]:.3f}s")
    print(f"median off {statistics.median(off_all):.0f} req/s, real-time {statistics.median(on_all):.0f} req/s")
    print(f"throughput ratio real-time/off {med:.4f} -> cost {100 * (1 - med):+.2f}%  "
          f"(pairs: min {min(ratios):.4f}, max {max(ratios):.4f})")
    print(f"CPU per request real-time/off {cmed:.4f} -> cost {100 * (cmed - 1):+.2f}%  "
          f"(pairs: min {min(cpu_ratios):.4f}, max {max(cpu_ratios):.4f})")


if __name__ == "__main__":
    main()
