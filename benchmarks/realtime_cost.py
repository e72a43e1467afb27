#!/usr/bin/env python3
"""What the live view costs the engine: throughput with everything live on (--real-time panel
on a pseudo-terminal, resource monitor) against everything off (no terminal, no progress
lines, --no-resources), against nginx on loopback.

nginx runs pinned to CPU 1, lunge to CPU 0; runs alternate in ABBA order so drift hits both
sides alike; the figure is the median of the per-pair ratios.  Usage:

    .venv/bin/python benchmarks/realtime_cost.py [--pairs 6] [--seconds 10] [--concurrency 50]

Loopback only; nginx is stopped by its PID at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
worker_rlimit_nofile 16384;
events {{ worker_connections 8192; use epoll; multi_accept on; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    tcp_nodelay on;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{ default_type text/plain; return 200 "ok\\n"; }}
    }}
}}
"""


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_nginx(workdir: str) -> tuple[subprocess.Popen, int]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=workdir, port=port))
    proc = subprocess.Popen(["taskset", "-c", "1", nginx, "-p", workdir, "-c", conf, "-e", f"{workdir}/error.log"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("nginx did not start")


def run_lunge(url: str, seconds: float, concurrency: int, live: bool, out: str) -> float:
    """One run; returns req/s from the result file."""
    cmd = ["taskset", "-c", "0", sys.executable, "-m", "lunge", "perf", "--url", url, "--concurrency",
           str(concurrency), "--duration", f"{seconds}s", "--format", "json", "--output", out]
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
    with open(out) as f:
        return json.load(f)["metrics"]["throughput"]["rps"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--concurrency", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lunge-rt-") as work:
        nginx, port = start_nginx(work)
        try:
            url = f"http://127.0.0.1:{port}/"
            run_lunge(url, 2, args.concurrency, False, f"{work}/warm.json")  # warm caches, page in the engine
            ratios, on_all, off_all = [], [], []
            for i in range(args.pairs):
                order = (False, True) if i % 2 == 0 else (True, False)  # ABBA
                got = {live: run_lunge(url, args.seconds, args.concurrency, live, f"{work}/r.json") for live in order}
                off_all.append(got[False])
                on_all.append(got[True])
                ratios.append(got[True] / got[False])
                print(f"pair {i + 1}: off {got[False]:9.0f} req/s   real-time {got[True]:9.0f} req/s   "
                      f"ratio {ratios[-1]:.4f}", flush=True)
        finally:
            nginx.send_signal(signal.SIGQUIT)  # graceful stop of exactly the nginx we started
            try:
                nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                nginx.kill()
    med = statistics.median(ratios)
    print(f"\nmedian off {statistics.median(off_all):.0f} req/s, real-time {statistics.median(on_all):.0f} req/s")
    print(f"median ratio real-time/off {med:.4f}  -> cost {100 * (1 - med):+.2f}%  "
          f"(pairs: min {min(ratios):.4f}, max {max(ratios):.4f})")


if __name__ == "__main__":
    main()
