#!/usr/bin/env python3
"""ir_count.py - user-space instructions per request, counted by valgrind (run it via ir_count.sh).

Wall-clock figures on this VM drift 15-30 % between identical runs; instruction counts do not.
Each tool runs twice under `valgrind --tool=cachegrind --cache-sim=no`, once for N1 and once for N2
requests (exactly: curl_loop -n, pycurl_loop -n, lunge perf --iterations), and

    instructions per request = (Ir(N2) - Ir(N1)) / (N2 - N1)

so start-up (Python, imports, handle set-up) and shut-down (reports) cancel out.  Everything the
process runs per unit of time (a snapshot thread, poll wake-ups) stays in, as it should.
The same difference per function (from the two cachegrind.out files) gives where each tool
spends its instructions; `--diff A B` prints the functions where A spends more than B per request.
Under valgrind the generator runs ~15-30x slower, so the server is never the bottleneck.

    ir_count.py --url URL [--n1 N] [--n2 N] [--top K] [--out DIR] LABEL=COMMAND ...
COMMAND contains {N} (request count) and, for lunge, may contain {OUT} (a scratch file).

A label ending in `@threads` (e.g. `lunge@threads`) runs under callgrind `--separate-threads=yes`
instead, and is reported by thread:
- the engine thread (the thread other than the main one whose count grows most with N): its
  instructions per request, the loop's own cost with nothing time-based in it;
- the main thread, whose work is per second of run (snapshots, harvest, the resource monitor,
  the report's time series), not per request: its instructions per second of run under valgrind
  (the same timers fire at real speed), charged per request at `--real-rps` (lunge's req/s at
  full speed in compare.sh).  Under valgrind lunge runs ~50x slower, so the whole-process count
  charges each request ~50x its real share of that per-second work.
The sum, engine + main at real speed, is the figure to compare with a single-threaded C loop.
"""
import argparse
import collections
import glob
import json
import os
import re
import shlex
import statistics
import subprocess
import sys


def _figure(stdout, out_json, printed, metric):
    """curl_loop's `printed=N` on stdout, else lunge's result metrics[metric]; None if neither."""
    m = re.search(rf"\b{printed}=(\d+)", stdout)
    if m:
        return int(m.group(1))
    try:
        return int(json.load(open(out_json))["metrics"][metric])
    except (OSError, ValueError, KeyError):
        return None


def requests_of(stdout, out_json):
    return _figure(stdout, out_json, "requests", "totalRequests")


def connections_of(stdout, out_json):
    """Connections the run opened: curl_loop's connections=, lunge's connectionsOpened."""
    return _figure(stdout, out_json, "connections", "connectionsOpened")


def per_function(cg_file):
    """Sum of Ir per function name in a cachegrind.out file (self cost, no inclusion)."""
    cost = collections.Counter()
    fn = "???"
    with open(cg_file) as f:
        for line in f:
            if line.startswith("fn="):
                fn = line[3:].strip()
            elif line[:1].isdigit():
                parts = line.split()
                if len(parts) >= 2:
                    cost[fn] += int(parts[1])
    return cost


def run_valgrind(label, cmd, n, out_dir, gen_cpu, tool_args):
    """Run one count: (completed process, requests) or None, with the log kept in out_dir."""
    scratch = os.path.join(out_dir, f"{label}.{n}.json")
    argv = [c.replace("{N}", str(n)).replace("{OUT}", scratch) for c in cmd]
    full = ["taskset", "-c", gen_cpu, "timeout", "-k", "5", "1800", "valgrind"] + tool_args + argv
    p = subprocess.run(full, capture_output=True, text=True, env=dict(os.environ, PYTHONHASHSEED="0"))
    with open(os.path.join(out_dir, f"{label}.{n}.log"), "w") as f:
        f.write(" ".join(map(shlex.quote, full)) + "\n" + p.stdout + p.stderr)
    reqs = requests_of(p.stdout, scratch)
    if p.returncode != 0 or not reqs:
        print(f"{label} N={n}: failed (rc={p.returncode}); see {out_dir}/{label}.{n}.log", file=sys.stderr)
        return None
    CONNECTIONS.setdefault(label, set()).add(connections_of(p.stdout, scratch))
    return p, reqs


CONNECTIONS = {}   # label: the connection counts its runs reported


def count_syscalls(label, cmd, a):
    """System calls per request at full speed, by name, from perf stat's syscall tracepoints
    ((calls(N2) - calls(N1)) / (N2 - N1), the whole process: every thread); None if perf fails."""
    got = {}
    for n in (a.n1, a.n2):
        scratch = os.path.join(a.out, f"{label}.sys.{n}.json")
        argv = [c.replace("{N}", str(n)).replace("{OUT}", scratch) for c in cmd]
        csv = os.path.join(a.out, f"{label}.sys.{n}.csv")
        full = ["perf", "stat", "-x", ",", "-o", csv, "-e", "syscalls:sys_enter_*",
                "taskset", "-c", a.gen_cpu, "timeout", "-k", "5", "600"] + argv
        p = subprocess.run(full, capture_output=True, text=True)
        reqs = requests_of(p.stdout, scratch)
        if p.returncode != 0 or not reqs:
            print(f"{label} syscalls N={n}: failed (rc={p.returncode}): {p.stderr[-500:]}", file=sys.stderr)
            return None
        CONNECTIONS.setdefault(label, set()).add(connections_of(p.stdout, scratch))
        calls = collections.Counter()
        for line in open(csv):
            f = line.strip().split(",")
            if len(f) > 2 and f[0].isdigit() and f[2].startswith("syscalls:sys_enter_"):
                calls[f[2][len("syscalls:sys_enter_"):]] += int(f[0])
        got[n] = (reqs, calls)
    (r1, c1), (r2, c2) = got[a.n1], got[a.n2]
    return {k: (c2[k] - c1.get(k, 0)) / (r2 - r1) for k in c2 if c2[k] - c1.get(k, 0)}


def run_cg(label, cmd, n, out_dir, gen_cpu):
    cg = os.path.join(out_dir, f"cg.{label}.{n}")
    r = run_valgrind(label, cmd, n, out_dir, gen_cpu, ["--tool=cachegrind", "--cache-sim=no",
                                                         f"--cachegrind-out-file={cg}"])
    m = r and re.search(r"I\s+refs:\s+([\d,]+)", r[0].stderr)
    return (int(m.group(1).replace(",", "")), r[1], cg) if m else None


def callgrind_threads(prefix):
    """{thread number: (total Ir, {function: self Ir})} from callgrind's per-thread files."""
    out = {}
    for path in sorted(glob.glob(prefix + "-*")):
        th = int(path.rsplit("-", 1)[1])
        ann = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=no", path],
                             capture_output=True, text=True).stdout
        total, funcs, table = 0, collections.Counter(), False
        for line in ann.splitlines():
            if "file:function" in line:   # the per-function table; source annotation follows it
                table = True
                continue
            if table and not line.strip() and funcs:
                break
            m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)
            if not m:
                continue
            ir, what = int(m.group(1).replace(",", "")), m.group(2)
            if what.startswith("PROGRAM TOTALS"):
                total = ir
            elif table:  # "file:function [object]"
                funcs[what.split(" [")[0].rsplit(":", 1)[-1]] += ir
        out[th] = (total, funcs)
    return out


def run_threads(label, cmd, n, out_dir, gen_cpu):
    prefix = os.path.join(out_dir, f"cgt.{label}.{n}")
    for old in glob.glob(prefix + "*"):
        os.remove(old)
    r = run_valgrind(label, cmd, n, out_dir, gen_cpu, ["--tool=callgrind", "--separate-threads=yes",
                                                         f"--callgrind-out-file={prefix}"])
    if r is None:
        return None
    return callgrind_threads(prefix), r[1], json.load(open(os.path.join(out_dir, f"{label}.{n}.json")))["durationMs"] / 1e3


def count_threads(label, cmd, a):
    """(engine instructions/request, main-thread instructions/second, engine functions/request)."""
    r1 = run_threads(label, cmd, a.n1, a.out, a.gen_cpu)
    r2 = run_threads(label, cmd, a.n2, a.out, a.gen_cpu) if r1 else None
    if not (r1 and r2) or r2[1] <= r1[1]:
        return None
    (t1, n1, d1), (t2, n2, d2) = r1, r2
    grow = {th: t2[th][0] - t1.get(th, (0, {}))[0] for th in t2}
    engine = max((th for th in grow if th != 1), key=grow.get)
    f1, f2 = t1[engine][1], t2[engine][1]
    funcs = {k: (f2[k] - f1.get(k, 0)) / (n2 - n1) for k in f2}
    return grow[engine] / (n2 - n1), grow.get(1, 0) / max(d2 - d1, 1e-9), funcs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n1", type=int, default=4000)
    ap.add_argument("--n2", type=int, default=20000)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--out", default="/tmp/lunge-bench/ir")
    ap.add_argument("--gen-cpu", default="0")
    ap.add_argument("--diff", nargs=2, action="append", default=[], metavar=("A", "B"))
    ap.add_argument("--ref", default="curl_loop", help="the label the ratios are taken against")
    ap.add_argument("--repeat", type=int, default=1, help="count each tool this many times; the median is reported")
    ap.add_argument("--real-rps", type=float, default=40000.0,
                    help="lunge's req/s at full speed, to charge the main thread's per-second work (@threads)")
    ap.add_argument("--syscalls", action="store_true",
                    help="also count system calls per request at full speed (perf stat), REPEAT times each")
    ap.add_argument("variants", nargs="+")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    res, funcs, spread = {}, {}, {}
    for spec in a.variants:
        label, cmd = spec.split("=", 1)
        cmd = shlex.split(cmd)
        got = []
        if label.endswith("@threads"):
            for _rep in range(a.repeat):
                r = count_threads(label, cmd, a)
                if r is None:
                    continue
                eng, main_per_s, funcs[label] = r
                got.append(eng + main_per_s / a.real_rps)
                print(f"{label:14s} {got[-1]:10.0f} instructions/request: engine thread {eng:.0f}, main thread "
                      f"{main_per_s / 1e6:.2f} M/s of run = {main_per_s / a.real_rps:.0f}/request at "
                      f"{a.real_rps:.0f} req/s", file=sys.stderr, flush=True)
        for _rep in range(0 if label.endswith("@threads") else a.repeat):
            r1 = run_cg(label, cmd, a.n1, a.out, a.gen_cpu)
            r2 = run_cg(label, cmd, a.n2, a.out, a.gen_cpu) if r1 else None
            if not (r1 and r2) or r2[1] <= r1[1]:
                continue
            dreq = r2[1] - r1[1]
            got.append((r2[0] - r1[0]) / dreq)
            f1, f2 = per_function(r1[2]), per_function(r2[2])
            funcs[label] = {k: (f2[k] - f1.get(k, 0)) / dreq for k in f2}   # the last repeat's
            print(f"{label:14s} {got[-1]:10.0f} instructions/request  (Ir {r1[0]:,} @ {r1[1]} req, "
                  f"{r2[0]:,} @ {r2[1]} req)", file=sys.stderr, flush=True)
        if not got:
            res[label] = None
            continue
        res[label] = statistics.median(got)
        spread[label] = (min(got), max(got), len(got))
        json.dump({"label": label, "ir_per_req": res[label], "repeats": got, "functions": funcs[label]},
                  open(os.path.join(a.out, f"{label}.ir.json"), "w"))

    sysc = {}
    for spec in a.variants if a.syscalls else ():
        label, cmd = spec.split("=", 1)
        runs = [r for r in (count_syscalls(label, shlex.split(cmd), a) for _ in range(a.repeat)) if r]
        if runs:
            sysc[label] = {k: statistics.median(r.get(k, 0) for r in runs) for k in set().union(*runs)}
            sysc[label]["(all)"] = statistics.median(sum(r.values()) for r in runs)
            sysc[label]["(all, each run)"] = [round(sum(r.values()), 2) for r in runs]
            print(f"{label:14s} {sysc[label]['(all)']:.2f} system calls/request, each run "
                  f"{sysc[label]['(all, each run)']}", file=sys.stderr, flush=True)

    if a.ref not in res:
        a.ref = next(iter(res))
    ref = res.get(a.ref)
    print(f"User-space instructions per request (valgrind cachegrind, (Ir(N2) - Ir(N1)) / (N2 - N1), "
          f"N1={a.n1}, N2={a.n2})\n")
    print(f"| tool | instructions / request (median) | min..max (repeats) | vs {a.ref} |\n|---|---:|---|---:|")
    for label, v in res.items():
        rel = f"{v / ref:.3f}" if v and ref else "n/a"
        lo, hi, k = spread.get(label, (0, 0, 0))
        print(f"| {label} | {'failed' if v is None else f'{v:,.0f}'.replace(',', ' ')} "
              f"| {f'{lo:,.0f}..{hi:,.0f} ({k})'.replace(',', ' ')} | {rel} |")

    print("\nConnections opened (each count's run): " + "; ".join(
        f"{label} {sorted(c for c in v if c is not None)}" for label, v in CONNECTIONS.items()))

    if sysc:
        names = sorted({k for v in sysc.values() for k in v if not k.startswith("(")},
                       key=lambda k: -max(v.get(k, 0) for v in sysc.values()))
        print(f"\nSystem calls per request at full speed (perf stat, (N2 - N1) difference, medians of "
              f"{a.repeat}; poll/ppoll = wake-ups)\n")
        print("| system call | " + " | ".join(sysc) + " |\n|---|" + "---:|" * len(sysc))
        for k in ["(all)"] + [k for k in names if max(v.get(k, 0) for v in sysc.values()) >= 0.005]:
            print(f"| {k} | " + " | ".join(f"{v.get(k, 0):.3f}" for v in sysc.values()) + " |")
        print("| (all, each run) | " + " | ".join(str(v["(all, each run)"]) for v in sysc.values()) + " |")

    for label in funcs:
        top = sorted(funcs[label].items(), key=lambda kv: -kv[1])[: a.top]
        print(f"\nTop functions per request, {label} (self instructions)\n")
        print("| instructions / request | function |\n|---:|---|")
        for name, v in top:
            print(f"| {v:,.0f} | `{name}` |".replace(",", " "))

    for x, y in a.diff:
        if x not in funcs or y not in funcs:
            continue
        fx, fy = funcs[x], funcs[y]
        delta = {k: fx.get(k, 0) - fy.get(k, 0) for k in set(fx) | set(fy)}
        print(f"\nWhere {x} spends more than {y} (per request; total difference "
              f"{res[x] - res[y]:,.0f})\n".replace(",", " "))
        print(f"| {x} - {y} | {x} | {y} | function |\n|---:|---:|---:|---|")
        for name, v in sorted(delta.items(), key=lambda kv: -kv[1])[: a.top]:
            print(f"| {v:,.0f} | {fx.get(name, 0):,.0f} | {fy.get(name, 0):,.0f} | `{name}` |".replace(",", " "))
        cheaper = sorted(delta.items(), key=lambda kv: kv[1])[:5]
        print("\n(largest savings: " + ", ".join(f"`{n}` {v:,.0f}".replace(",", " ") for n, v in cheaper) + ")")


if __name__ == "__main__":
    main()
