#!/usr/bin/env python3
"""http3.py - the same small response over HTTP/1.1, HTTP/2 and HTTP/3 from one local server:
req/s and the client's CPU per request, for lunge and for libcurl's own loop (curl_loop.c).

    python benchmarks/http3.py [--n1 1000] [--n2 4000] [-c 16] [--repeat 3] [--out DIR]
                               [--protocols 1.1,2,3] [--syscalls]

The server is Hypercorn (ASGI, tests/h3server.py) over TLS: HTTP/3 over QUIC (aioquic) and
HTTP/2 / 1.1 over TCP on the same port, one worker pinned to CPU 1; the clients run on CPU 0.
Hypercorn is pure Python and is the bottleneck for all three protocols: the req/s measure the
server.  The meaningful figure is the client's CPU per request: the process's user + system CPU
time for N2 requests minus that for N1, over N2 - N1 (start-up and connection set-up cancel
out), read from the kernel's accounting of the child (wait4); the median of --repeat pairs, the
pairs of the three protocols and two tools interleaved (a noisy neighbour hits them alike).  curl_loop is libcurl's loop in C
with lunge's options, so lunge's figure minus curl_loop's is lunge's own cost over libcurl's.
Every run's requests are checked against the server's own count, by HTTP version.
--syscalls runs every client under `perf stat` with the kernel's syscall tracepoints and adds
system calls per request and wake-ups (poll calls) per request, the same N2 - N1 difference, and
the connections each client opened.  Localhost only; about a minute.
"""
from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO / "tests"))
from h3server import H3Server  # noqa: E402

PROTOCOLS = (("1.1", [], "1.1"), ("2", ["--http2"], "2"), ("3", ["--http3"], "3"))
SERVER_CPU, CLIENT_CPU = 1, 0


def build_curl_loop(out: Path) -> Path:
    from lunge.libcurl import locate

    lib = Path(locate()[0])
    exe = out / "curl_loop"
    subprocess.run(["gcc", "-O2", "-Wall", "-pthread", "-o", str(exe), str(BENCH / "curl_loop.c"),
                    f"-L{lib.parent}", f"-l:{lib.name}", f"-Wl,-rpath,{lib.parent}"], check=True)
    return exe


SYSCALLS: dict = {}  # filled by timed() under --syscalls: {"all": n, "poll": n, ...} of the last run
PERF_CSV: Path | None = None


def timed(cmd: list[str]) -> tuple[float, str]:
    """Run cmd on the client CPU; (its CPU seconds, user + system, from wait4; stdout)."""
    wrap = ["perf", "stat", "-x", ",", "-o", str(PERF_CSV), "-e", "syscalls:sys_enter_*"] if PERF_CSV else []
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([*wrap, "taskset", "-c", str(CLIENT_CPU), *cmd], stdout=out, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode() if proc.stderr else ""
        out.seek(0)
        text = out.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}: {err[-2000:]}")
    if PERF_CSV:
        SYSCALLS.clear()
        for line in PERF_CSV.read_text().splitlines():
            f = line.split(",")
            if len(f) > 2 and f[0].isdigit() and f[2].startswith("syscalls:sys_enter_"):
                SYSCALLS[f[2][len("syscalls:sys_enter_"):]] = int(f[0])
        SYSCALLS["all"] = sum(SYSCALLS.values())
    return ru.ru_utime + ru.ru_stime, text


def run_lunge(srv: H3Server, flags: list[str], n: int, conc: int, out: Path) -> tuple[float, dict]:
    res = out / "r.json"
    cpu, _ = timed([sys.executable, "-m", "lunge", "perf", "--url", srv.url, "--cacert", str(srv.cacert), *flags,
                    "--iterations", str(n), "--concurrency", str(conc), "--workers", "1", "-q",
                    "--no-resources", "--format", "json", "--output", str(res)])
    return cpu, json.loads(res.read_text())


def run_curl_loop(exe: Path, srv: H3Server, version: str, n: int, conc: int) -> tuple[float, dict]:
    cpu, text = timed([str(exe), "-V", version, "-C", str(srv.cacert), "-c", str(conc), "-n", str(n), srv.url])
    return cpu, dict(re.findall(r"(\w+)=(\S+)", text))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n1", type=int, default=1000)
    ap.add_argument("--n2", type=int, default=4000)
    ap.add_argument("-c", "--concurrency", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--protocols", default="1.1,2,3", help="comma list of 1.1, 2, 3")
    ap.add_argument("--syscalls", action="store_true", help="count system calls (perf stat's tracepoints)")
    ap.add_argument("--out", default=f"/tmp/lunge-bench/http3-{datetime.datetime.utcnow():%Y%m%d-%H%M%S}")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    exe = build_curl_loop(out)
    global PERF_CSV
    if a.syscalls:
        PERF_CSV = out / "perf.csv"
    protocols = [p for p in PROTOCOLS if p[0] in a.protocols.split(",")]
    lunge_version = subprocess.run([sys.executable, "-m", "lunge", "--version"], capture_output=True, text=True).stdout
    acc: dict = {}
    with H3Server(out / "server", cpu=SERVER_CPU) as srv:
        server = psutil.Process(srv.proc.pid)
        for _rep, (proto, flags, version), tool in itertools.product(range(a.repeat), protocols, ("lunge", "curl_loop")):
                cpus, rps, seen, calls, conns = [], 0.0, 0, [], []
                server_cpu0 = sum(p.cpu_times().user + p.cpu_times().system
                                  for p in [server, *server.children(recursive=True)])
                t0 = time.monotonic()
                for n in (a.n1, a.n2):
                    before = srv.counts()
                    if tool == "lunge":
                        cpu, doc = run_lunge(srv, flags, n, a.concurrency, out)
                        got = doc["metrics"]["httpVersions"]
                        assert got == {version: n}, (proto, got)
                        rps = doc["metrics"]["throughput"]["rps"]
                        conns.append(doc["metrics"]["connectionsOpened"])
                    else:
                        cpu, fields = run_curl_loop(exe, srv, version, n, a.concurrency)
                        assert int(fields["requests"]) == n and fields["errors"] == "0", fields
                        rps = float(fields["rps"])
                        conns.append(int(fields.get("connections", -1)))
                    after = srv.counts()
                    delta = after["versions"].get(version, 0) - before["versions"].get(version, 0)
                    assert after["total"] - before["total"] == delta == n, (proto, tool, before, after)
                    seen += delta
                    cpus.append(cpu)
                    calls.append(dict(SYSCALLS))
                wall = time.monotonic() - t0
                server_cpu = sum(p.cpu_times().user + p.cpu_times().system
                                 for p in [server, *server.children(recursive=True)]) - server_cpu0
                per_req = (cpus[1] - cpus[0]) / (a.n2 - a.n1)
                row = {"protocol": f"HTTP/{proto}", "tool": tool, "rps": rps, "clientUsPerRequest": per_req * 1e6,
                       "serverUsPerRequest": server_cpu / (a.n1 + a.n2) * 1e6, "serverCount": seen, "wallS": wall,
                       "connections": conns}
                if a.syscalls:
                    for k in ("all", "poll", "ppoll", "recvfrom", "sendto", "read", "write", "futex"):
                        row[f"sys_{k}"] = (calls[1].get(k, 0) - calls[0].get(k, 0)) / (a.n2 - a.n1)
                acc.setdefault((row["protocol"], tool), []).append(row)
                print(f"{row['protocol']:9} {tool:10} {rps:8.0f} req/s  client {per_req * 1e6:7.1f} us/req  "
                      f"server {row['serverUsPerRequest']:7.1f} us/req  ({seen} counted by the server)  "
                      f"connections {conns}"
                      + "".join(f"  {k[4:]} {v:.3f}/req" for k, v in row.items() if k.startswith("sys_")),
                      file=sys.stderr)
    rows = []
    for (proto, tool), runs in acc.items():
        row = {k: statistics.median(r[k] for r in runs) for k in runs[0]
               if k in ("rps", "clientUsPerRequest", "serverUsPerRequest") or k.startswith("sys_")}
        rows.append({"protocol": proto, "tool": tool, **row, "serverCount": sum(r["serverCount"] for r in runs),
                     "clientUsAll": [round(r["clientUsPerRequest"], 1) for r in runs],
                     "connections": sorted({c for r in runs for c in r["connections"]})})
    head = (f"{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} CPUs, "
            f"{platform.platform()}\n{lunge_version.strip()}\n"
            f"n1={a.n1} n2={a.n2} concurrency={a.concurrency} repeat={a.repeat}, server on CPU {SERVER_CPU}, "
            f"clients on CPU {CLIENT_CPU}; medians")
    sysk = [k for k in rows[0] if k.startswith("sys_")]
    table = ["| protocol | tool | req/s (N2 runs) | client CPU / request | (each pair) | server CPU / request "
             "| server's count | connections |" + "".join(f" {k[4:]} / req |" for k in sysk),
             "|---|---|---:|---:|---|---:|---:|---|" + "---:|" * len(sysk)]
    for r in rows:
        table.append(f"| {r['protocol']} | {r['tool']} | {r['rps']:,.0f} | {r['clientUsPerRequest']:.1f} us | "
                     f"{', '.join(map(str, r['clientUsAll']))} | {r['serverUsPerRequest']:.0f} us | {r['serverCount']} | "
                     f"{r['connections']} |" + "".join(f" {r[k]:.3f} |" for k in sysk))
    text = head + "\n\n" + "\n".join(table) + "\n"
    (out / "table.md").write_text(text)
    (out / "rows.json").write_text(json.dumps(rows, indent=1))
    print(text)


if __name__ == "__main__":
    main()
