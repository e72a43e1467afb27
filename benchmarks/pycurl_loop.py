#!/usr/bin/env python3
"""pycurl_loop.py - the plain Python baseline: a closed loop over pycurl.CurlMulti.

    pycurl_loop.py [-c CONNS] (-d SECONDS | -n REQUESTS) [--tuned] URL

What a careful Python programmer writes without a native engine: one pycurl.Curl per
connection, re-added after each response; per wake-up one perform(), info_read() drained, then
select() bounded by libcurl's own timeout.  Options: URL, a write callback that discards the
body, NOSIGNAL.  --tuned adds lunge's libcurl options (PROXY "", NOPROXY "*", RESOLVE, a pool
bundle per handle through CONNECT_TO) so the Python overhead can be told apart from option choices.  Latency: perf_counter_ns from add_handle to
info_read, kept in a list (a plain loop would).  Prints the same one-line format as curl_loop.
"""
import argparse
import sys
import time
from urllib.parse import urlsplit

import pycurl


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-c", type=int, default=50, dest="conns")
    ap.add_argument("-d", type=float, default=8.0, dest="secs")
    ap.add_argument("-n", type=int, default=0, dest="limit")
    ap.add_argument("--tuned", action="store_true")
    ap.add_argument("url")
    a = ap.parse_args()
    host = urlsplit(a.url).hostname
    if host not in ("127.0.0.1", "localhost"):
        ap.error("loopback targets only")
    if a.conns < 1 or not 0 < a.secs <= 3600 or a.limit < 0:
        ap.error("bad -c/-d/-n")

    body = [0]

    def discard(chunk):
        body[0] += len(chunk)

    m = pycurl.CurlMulti()
    free = []
    for i in range(a.conns):
        c = pycurl.Curl()
        c.setopt(pycurl.URL, a.url)
        c.setopt(pycurl.WRITEFUNCTION, discard)
        c.setopt(pycurl.NOSIGNAL, 1)
        if a.tuned:
            port = urlsplit(a.url).port or 80
            c.setopt(pycurl.PROXY, "")
            c.setopt(pycurl.NOPROXY, "*")
            c.setopt(pycurl.DNS_CACHE_TIMEOUT, -1)
            c.setopt(pycurl.CONNECT_TO, [f"{host}:{port}:slot{i}.lunge.invalid:{port}"])
            c.setopt(pycurl.RESOLVE, [f"slot{i}.lunge.invalid:{port}:127.0.0.1"])
        free.append(c)

    now = time.perf_counter_ns
    sent = {}
    lat = []
    errors = non200 = issued = 0
    t0 = now()
    deadline = t0 + int(a.secs * 1e9)
    hard_stop = deadline + 30 * 10**9

    def may_issue(t):
        return issued < a.limit if a.limit else t < deadline

    for c in free:
        if not may_issue(t0):
            break
        sent[c] = t0
        m.add_handle(c)
        issued += 1
    active = issued

    while active:
        m.perform()
        t = now()
        while True:
            queued, ok, failed = m.info_read()
            for c in ok:
                if c.getinfo(pycurl.RESPONSE_CODE) == 200:
                    lat.append(t - sent[c])
                else:
                    non200 += 1
            for _c, _code, msg in failed:
                if errors < 5:
                    print(f"transfer error: {msg}", file=sys.stderr)
                errors += 1
            for c in ok + [f[0] for f in failed]:
                m.remove_handle(c)
                if may_issue(t):
                    sent[c] = t
                    m.add_handle(c)
                    issued += 1
                else:
                    active -= 1
            if not queued:
                break
        if not active or t > hard_stop:
            break
        tmo = m.timeout()  # ms; -1: none set
        m.select(0.1 if tmo < 0 else min(tmo, 100) / 1000.0)

    elapsed = (now() - t0) / 1e9
    lat.sort()
    n = len(lat)

    def pct(p):
        return lat[min(n - 1, max(0, round(p / 100 * n) - 1))] / 1e6 if n else 0.0

    total = n + errors + non200
    print(f"tool=pycurl_loop libcurl={pycurl.version_info()[1]} conns={a.conns} "
          f"opts={'tuned' if a.tuned else 'plain'} duration_s={elapsed:.3f} requests={total} "
          f"errors={errors} non200={non200} rps={total / elapsed:.1f} p50_ms={pct(50):.3f} "
          f"p90_ms={pct(90):.3f} p99_ms={pct(99):.3f} max_ms={(lat[-1] / 1e6 if n else 0):.3f} "
          f"mean_ms={(sum(lat) / n / 1e6 if n else 0):.3f} body_bytes={body[0]}")
    m.close()
    return 3 if errors or non200 else 0


if __name__ == "__main__":
    sys.exit(main())
