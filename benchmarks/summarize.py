#!/usr/bin/env python3
"""summarize.py OUTDIR - the table and lunge's ratios from a compare.sh run (stdlib only).

Per run it reads the tool's own report (wrk's text, the key=value line of curl_loop and
pycurl_loop, lunge's JSON) and /usr/bin/time's "%U %S %e %M".  Medians are over rounds; ratios
are taken within each round (the tools ran back to back there) and then their median, which
cancels most of this VM's slow drift.
"""
import json
import os
import re
import statistics
import sys

TICK = os.sysconf("SC_CLK_TCK")
GOALS = {  # metric -> (reference tool, comparison, bound), from issue 2's "Done when"
    "rps": ("wrk", ">=", 0.5),
    "cpu": ("pycurl_loop", "<=", 0.8),
}


def ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    v = float(m.group(1))
    return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v


def parse(out_dir, tool, tag):
    """-> dict(requests, rps, p50, p99, errors) or None."""
    raw = os.path.join(out_dir, "raw", tag)
    try:
        text = open(raw + ".out").read()
    except OSError:
        return None
    if tool == "wrk":
        m = re.search(r"(\d+) requests in", text)
        r = re.search(r"Requests/sec:\s*([\d.]+)", text)
        p50 = re.search(r"^\s*50%\s+(\S+)", text, re.M)
        p99 = re.search(r"^\s*99%\s+(\S+)", text, re.M)
        errs = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
        if not (m and r):
            return None
        return dict(requests=int(m.group(1)), rps=float(r.group(1)), p50=ms(p50.group(1)) if p50 else None,
                    p99=ms(p99.group(1)) if p99 else None,
                    errors=(int(errs.group(1)) if errs else 0) + (sum(map(int, sock.groups())) if sock else 0))
    if tool.startswith("lunge"):
        try:
            m = json.load(open(raw + ".json"))["metrics"]
        except (OSError, ValueError, KeyError):
            return None
        rt = m.get("responseTimes", {})
        return dict(requests=m["totalRequests"], rps=m["throughput"]["rps"], p50=rt.get("p50Ms"),
                    p99=rt.get("p99Ms"), errors=m.get("failedRequests", 0))
    kv = dict(re.findall(r"(\w+)=(\S+)", text))
    if "requests" not in kv:
        return None
    return dict(requests=int(kv["requests"]), rps=float(kv["rps"]), p50=float(kv["p50_ms"]),
                p99=float(kv["p99_ms"]), errors=int(kv["errors"]) + int(kv["non200"]))


def cpu_of(out_dir, tag):
    try:
        u, s, e, rss = open(os.path.join(out_dir, "raw", tag + ".time")).read().split("\n")[-2].split()
        return float(u) + float(s), float(e), int(rss)
    except (OSError, ValueError, IndexError):
        return None


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v, nd=2):
    return "n/a" if v is None else f"{v:,.{nd}f}".replace(",", " ")


def main():
    out_dir = sys.argv[1]
    rows = [line.rstrip("\n").split("\t") for line in open(os.path.join(out_dir, "runs.tsv"))][1:]
    runs = {}       # (round, tool) -> measures of the main run
    startup = {}    # (round, tool) -> cpu seconds of the 50-request run
    for rnd, tool, length, rc, tag, ng, st0, st1, busy0, _busy1, foreign, _try in rows:
        res, cpu = parse(out_dir, tool, tag), cpu_of(out_dir, tag)
        if length.startswith("n"):
            if cpu and res:
                startup[(rnd, tool)] = (cpu[0], res["requests"])
            continue
        if not res or not cpu or res["requests"] == 0:
            runs[(rnd, tool)] = None
            continue
        res.update(rc=int(rc), cpu=cpu[0], wall=cpu[1], rss_kb=cpu[2], steal=max(int(st0), int(st1)),
                   busy0=int(busy0), foreign=int(foreign), nginx_us=int(ng) / TICK / res["requests"] * 1e6)
        res["us"] = res["cpu"] / res["requests"] * 1e6
        runs[(rnd, tool)] = res
    for (rnd, tool), res in runs.items():
        if res and (rnd, tool) in startup:
            c0, n0 = startup[(rnd, tool)]
            res["us_steady"] = (res["cpu"] - c0) / (res["requests"] - n0) * 1e6
            res["startup_cpu"] = c0

    tools = list(dict.fromkeys(t for _, t in runs))
    rounds = sorted({r for r, _ in runs}, key=int)
    env = open(os.path.join(out_dir, "env.txt")).read().strip()
    print("```\n" + env + "\n```\n")

    check = os.path.join(out_dir, "check.tsv")
    if os.path.exists(check):
        print("Request-count check (access log on, one run each): reported vs logged by nginx\n")
        print("| tool | reported | nginx logged | equal |\n|---|---:|---:|---|")
        for line in open(check).read().splitlines()[1:]:
            t, rep, logged = line.split("\t")
            print(f"| {t} | {rep} | {logged} | {'yes' if rep == logged else 'NO'} |")
        print()

    print(f"Medians over {len(rounds)} rounds (generator on CPU 0, nginx on CPU 1)\n")
    print("| tool | ok runs | req/s | req/s min..max | p50 ms | p99 ms | gen CPU s / 100k req | gen CPU us/req "
          "| same, start-up excluded | gen CPU % | nginx CPU us/req | max steal % | max foreign load % | errors |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for t in tools:
        ok = [runs[(r, t)] for r in rounds if runs.get((r, t)) and runs[(r, t)]["errors"] == 0]
        allr = [runs[(r, t)] for r in rounds if runs.get((r, t))]
        if not ok:
            print(f"| {t} | 0/{len(rounds)} | n/a | | | | | | | | | | | {sum(x['errors'] for x in allr) if allr else 'n/a'} |")
            continue
        rps = [x["rps"] for x in ok]
        print(f"| {t} | {len(ok)}/{len(rounds)} | {fmt(med(rps), 0)} | {fmt(min(rps), 0)}..{fmt(max(rps), 0)} "
              f"| {fmt(med(x['p50'] for x in ok), 3)} | {fmt(med(x['p99'] for x in ok), 3)} "
              f"| {fmt(med(x['us'] / 10 for x in ok), 2)} | {fmt(med(x['us'] for x in ok), 1)} "
              f"| {fmt(med(x.get('us_steady') for x in ok), 1)} | {fmt(med(100 * x['cpu'] / x['wall'] for x in ok), 0)} "
              f"| {fmt(med(x['nginx_us'] for x in ok), 1)} "
              f"| {max(x['steal'] for x in ok)} | {max(x['foreign'] for x in ok)} | {sum(x['errors'] for x in allr)} |")

    for lunge in [t for t in tools if t.startswith("lunge")]:
        ratios(lunge, rounds, runs, "pycurl_ref" in tools)


def ratios(lunge, rounds, runs, with_ref):
    # pycurl_ref: the loop issue 2's reference figure was measured with (compare.sh runs it in place)
    others = ("wrk", "curl_loop", "pycurl_loop") + (("pycurl_ref",) if with_ref else ())
    print(f"\n{lunge}'s ratios (per round, then the median; {lunge} / other)\n")
    print("| metric | " + " | ".join(f"vs {o}" for o in others) + " | goal | met |"
          + (" met vs pycurl_ref |" if with_ref else ""))
    print("|---|" + "---:|" * len(others) + "---|---|" + ("---|" if with_ref else ""))

    def ratio(metric, other, other_metric=None):
        xs = []
        for r in rounds:
            a, b = runs.get((r, lunge)), runs.get((r, other))
            if a and b and a.get(metric) and b.get(other_metric or metric):
                xs.append(a[metric] / b[other_metric or metric])
        return med(xs)

    def verdict(v, op, bound):
        return "n/a" if v is None else ("yes" if (v >= bound if op == ">=" else v <= bound) else "NO")

    for metric, label in (("rps", "req/s"), ("us", "generator CPU per request"),
                          ("us_steady", "generator CPU per request, start-up excluded"),
                          ("p50", "p50 latency"), ("p99", "p99 latency")):
        # wrk's and curl_loop's start-up is a millisecond: their whole-run figure is their steady one
        vals = {o: ratio(metric, o, "us" if metric == "us_steady" and not o.startswith("pycurl_") else None)
                for o in others}
        goal = met = met_ref = ""
        key = "cpu" if metric in ("us", "us_steady") else metric
        if key in GOALS:
            ref, op, bound = GOALS[key]
            goal = f"{op} {bound} x {ref}"
            met = verdict(vals[ref], op, bound)
            if with_ref and ref == "pycurl_loop":
                met_ref = verdict(vals["pycurl_ref"], op, bound)
        print(f"| {label} | " + " | ".join(fmt(vals[o], 3) for o in others) + f" | {goal} | {met} |"
              + (f" {met_ref} |" if with_ref else ""))


if __name__ == "__main__":
    main()
