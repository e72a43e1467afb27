#!/usr/bin/env python3
"""paired_builds.py - CPU per request of two lunge builds, in alternating pairs of runs.

    paired_builds.py --old DIR [--new DIR] [--python PY] [--pairs 14] [--duration 5s] [--pycurl] URL

DIR is a directory holding a `lunge` package (e.g. `pip install --no-deps --target DIR <checkout>`);
without --new, the new build is the one PY imports.  Each pair runs both builds back to back
(the order alternates), pinned to CPU 0, and takes new/old of CPU seconds (the process's own
rusage) per request reported.  A pair in which the host stole more than 5 % of CPU 0 is
left out: steal shows up as CPU time.  Prints every pair and the median ratio.  This VM's speed
drifts by 30 % over minutes; pairing a few seconds apart cancels most of it.  --pycurl adds the
plain pycurl loop (pycurl_loop.py) to every round, and prints each build's ratio to it.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit


def cpu0():
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu0 "):
                x = [int(v) for v in line.split()[1:9]]
                return x[7], sum(x)
    raise RuntimeError("no cpu0 in /proc/stat")


PYCURL_LOOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pycurl_loop.py")


def run(py, path, url, duration, out):
    """path: a build's directory, "" for the new build, None for the pycurl loop."""
    env = dict(os.environ)
    if path:
        env["PYTHONPATH"] = path
    if path is None:
        cmd = [py, PYCURL_LOOP, "-c", "50", "-d", str(float(duration.rstrip("s"))), url]
    else:
        cmd = [py, "-m", "lunge", "perf", "--url", url, "--concurrency", "50", "--duration", duration,
               "--format", "json", "--output", out]
    s0, t0 = cpu0()
    p = subprocess.Popen(["taskset", "-c", "0", *cmd], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True)
    text = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    s1, t1 = cpu0()
    if status != 0:
        sys.exit(f"{'pycurl_loop.py' if path is None else 'lunge ' + (path or '(new)')} exited with status {status}")
    if path is None:
        n = int(re.search(r"requests=(\d+)", text).group(1))
    else:
        with open(out) as f:
            n = json.load(f)["metrics"]["totalRequests"]
    return (ru.ru_utime + ru.ru_stime) / n * 1e6, 100.0 * (s1 - s0) / max(1, t1 - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", default="")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--pairs", type=int, default=14)
    ap.add_argument("--duration", default="5s")
    ap.add_argument("--pycurl", action="store_true")
    ap.add_argument("url")
    a = ap.parse_args()
    if urlsplit(a.url).hostname not in ("127.0.0.1", "localhost"):
        ap.error("loopback targets only")
    if not 1 <= a.pairs <= 100:
        ap.error("--pairs must be 1..100")
    if not re.fullmatch(r"\d+s", a.duration):
        ap.error("--duration must be whole seconds, e.g. 5s")
    out = os.path.join(tempfile.mkdtemp(prefix="lunge-pairs-"), "r.json")
    ratios, vs_old, vs_new = [], [], []
    for i in range(a.pairs):
        order = [("old", a.old), ("new", a.new)] + ([("pycurl", None)] if a.pycurl else [])
        if i % 2:
            order.reverse()
        res = {}
        for tag, path in order:
            res[tag] = run(a.python, path, a.url, a.duration, out)
            time.sleep(0.5)
        ok = max(v[1] for v in res.values()) <= 5
        r = res["new"][0] / res["old"][0]
        extra = ""
        if a.pycurl:
            extra = (f", pycurl {res['pycurl'][0]:.2f} (steal {res['pycurl'][1]:.0f}%), "
                     f"old/pycurl {res['old'][0] / res['pycurl'][0]:.3f}, new/pycurl {res['new'][0] / res['pycurl'][0]:.3f}")
        if ok:
            ratios.append(r)
            if a.pycurl:
                vs_old.append(res["old"][0] / res["pycurl"][0])
                vs_new.append(res["new"][0] / res["pycurl"][0])
        print(f"pair {i}: old {res['old'][0]:.2f} us/request (steal {res['old'][1]:.0f}%), "
              f"new {res['new'][0]:.2f} (steal {res['new'][1]:.0f}%){extra}, new/old {r:.3f}"
              f"{'' if ok else ' (left out)'}", flush=True)
    if ratios:
        print(f"median new/old over {len(ratios)} pairs: {statistics.median(ratios):.3f}")
    if vs_old:
        print(f"median old/pycurl {statistics.median(vs_old):.3f}, new/pycurl {statistics.median(vs_new):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
