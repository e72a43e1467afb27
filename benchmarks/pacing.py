#!/usr/bin/env python3
"""Pacing accuracy of `lunge perf` in the open model, against nginx on loopback.

Goals (issue 4): achieved rate within 1% of the target over 10 s at 100, 1 000 and
10 000 req/s with the generator on one core; at 10 000 req/s the send jitter (actual send
minus scheduled send) under 1 ms at p99; a linear ramp from 100 to 2 000 req/s over 10 s
with every one-second bucket within 3% of the intended rate for that second.

Usage: python3 benchmarks/pacing.py [--lunge PATH] [--duration 10]
nginx (Debian's nginx-light) must be installed; it is started on 127.0.0.1 pinned to CPU 1,
lunge runs pinned to CPU 0, and nginx is stopped by its PID at the end.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

CONF = """worker_processes 1; daemon off; pid {d}/nginx.pid; error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{ access_log off; keepalive_requests 100000000;
  client_body_temp_path {d}/b; proxy_temp_path {d}/p; fastcgi_temp_path {d}/f; uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;
  server {{ listen 127.0.0.1:{port} backlog=4096; location / {{ return 200 "ok\\n"; }} }} }}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_nginx(d, port):
    with open(f"{d}/nginx.conf", "w") as f:
        f.write(CONF.format(d=d, port=port))
    proc = subprocess.Popen(["taskset", "-c", "1", shutil.which("nginx") or "/usr/sbin/nginx", "-p", d,
                             "-c", f"{d}/nginx.conf", "-e", f"{d}/error.log"])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("nginx did not start")


def perf(lunge, url, *args, timeout):
    p = subprocess.run(["taskset", "-c", "0", lunge, "perf", "--url", url, *map(str, args), "--format", "json"],
                       capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        sys.exit(f"lunge perf failed: {p.stderr}")
    return json.loads(p.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lunge", default=shutil.which("lunge") or os.path.join(os.path.dirname(sys.executable), "lunge"))
    ap.add_argument("--duration", type=float, default=10.0)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="lunge-pacing-")
    port = free_port()
    nginx = start_nginx(d, port)
    url = f"http://127.0.0.1:{port}/"
    ok = True
    try:
        print(f"| target rps | achieved rps | error | lag p50 ms | lag p99 ms | max lag ms | late sends | unsent | goal |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for rps in (100, 1000, 10000):
            doc = perf(a.lunge, url, "--rps", rps, "--duration", f"{a.duration}s", "--concurrency", 50,
                       timeout=a.duration + 60)
            m, p = doc["metrics"], doc["metrics"]["pacing"]
            achieved = m["throughput"]["rps"]
            err = achieved / rps - 1
            good = abs(err) <= 0.01 and (rps < 10000 or p["lagP99Ms"] < 1.0)
            ok &= good
            print(f"| {rps} | {achieved:.1f} | {err * 100:+.2f}% | {p['lagP50Ms']:.3f} | {p['lagP99Ms']:.3f} | "
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
    finally:
        nginx.terminate()
        nginx.wait(10)
        shutil.rmtree(d, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
