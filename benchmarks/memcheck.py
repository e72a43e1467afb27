#!/usr/bin/env python3
"""Engine safety: `lunge perf` under valgrind memcheck against a local nginx, for 10k and
100k requests.  Pass: no invalid reads or writes in a stack that passes through the engine or
libcurl (glibc's loader over-reads in strncmp at dlopen are known false positives and are
counted apart), and "definitely lost" the same for both runs (no leak growing with the
request count).

Usage: python3 benchmarks/memcheck.py [--python .venv/bin/python] [--counts 10000,100000]
Needs valgrind and nginx (Debian: valgrind, nginx-light).  nginx is started on 127.0.0.1 with a
temporary config and stopped by its PID.  Python runs with PYTHONMALLOC=malloc so memcheck sees
every allocation, and with valgrind's python3 suppressions.  Slow: about 4 minutes for both runs.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from _nginx import Nginx

SUPP = "/usr/lib/valgrind/python3.supp"
OURS = re.compile(r"engine\.cpython|hist\.cpython|libcurl|lunge_")  # frames of the engine or libcurl


def error_blocks(log: str) -> list[str]:
    """memcheck's error reports (not the leak summary), one string per report."""
    blocks, cur = [], None
    for line in log.splitlines():
        body = re.sub(r"^==\d+== ?", "", line)
        if re.match(r"(Invalid (read|write)|Conditional jump|Use of uninitialised|Syscall param|"
                    r"Invalid free|Mismatched free|Source and destination overlap)", body):
            cur = [body]
            blocks.append(cur)
        elif cur is not None and body.strip():
            cur.append(body)
        else:
            cur = None
    return ["\n".join(b) for b in blocks]


def summary(log: str) -> dict:
    def num(pattern):
        m = re.search(pattern, log)
        return int(m.group(1).replace(",", "")) if m else 0

    blocks = error_blocks(log)
    ours = [b for b in blocks if OURS.search(b)]
    return {
        "errorReports": len(blocks),
        "invalidAll": sum(b.startswith("Invalid") for b in blocks),  # incl. ld.so's strncmp over-reads
        "invalidOurs": sum(b.startswith("Invalid") for b in ours),
        "otherOurs": sum(not b.startswith("Invalid") for b in ours),
        "definitelyLost": num(r"definitely lost: ([\d,]+) bytes"),
        "indirectlyLost": num(r"indirectly lost: ([\d,]+) bytes"),
        "possiblyLost": num(r"possibly lost: ([\d,]+) bytes"),
    }


def run(python: str, url: str, n: int, d: str) -> dict:
    log = os.path.join(d, f"memcheck-{n}.log")
    cmd = ["valgrind", "--tool=memcheck", "--leak-check=full", "--errors-for-leak-kinds=definite",
           f"--log-file={log}", *([f"--suppressions={SUPP}"] if os.path.exists(SUPP) else []),
           python, "-m", "lunge", "perf", "--url", url, "-n", str(n), "--concurrency", "10", "--workers", "1",
           "--format", "json", "--output", os.path.join(d, f"result-{n}.json")]
    env = {**os.environ, "PYTHONMALLOC": "malloc"}
    t0 = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"lunge under valgrind failed ({proc.returncode}): {proc.stderr[-2000:]}")
    with open(log) as f:
        text = f.read()
    import json
    with open(os.path.join(d, f"result-{n}.json")) as f:
        m = json.load(f)["metrics"]
    return {"requests": n, "ok": m["statusCodes"].get("200", 0), "seconds": round(elapsed, 1), **summary(text),
            "log": log}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--counts", default="10000,100000")
    ap.add_argument("--keep", action="store_true", help="keep the valgrind logs (their directory is printed)")
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="lunge-memcheck-")
    rows = []
    with Nginx(cpu=None) as nginx:
        for n in (int(c) for c in args.counts.split(",")):
            row = run(args.python, nginx.url, n, d)
            rows.append(row)
            print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    ok = all(r["ok"] == r["requests"] and r["invalidOurs"] == 0 for r in rows)
    flat = len({r["definitelyLost"] for r in rows}) == 1
    print(f"invalid accesses: {'none' if ok else 'FOUND'}; definitely lost: "
          f"{' / '.join(str(r['definitelyLost']) for r in rows)} bytes ({'flat' if flat else 'GROWS'})")
    print(f"logs: {d}" if args.keep else "", end="")
    if not args.keep:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(0 if ok and flat else 1)


if __name__ == "__main__":
    main()
