"""Synthetic RunResults with known answers, built from Histograms and Seconds directly."""
from __future__ import annotations

import numpy as np

from lunge._native.hist import Histogram
from lunge.results import RunResult, Second, SparseHist

PHASES = ("dns", "connect", "tls", "ttfb", "transfer", "curlTotal", "error", "service", "sendLag")


def make_result(latency_ms_per_second, requests_per_second=200, failures_per_second=0, seed=1, name="synthetic",
                concurrency=10, noise=0.05, start_wall_ns=1_790_000_000_000_000_000):
    """One Second per entry of latency_ms_per_second: `requests_per_second` responses whose
    latencies are lognormal around that second's value (relative spread `noise`).
    requests_per_second / failures_per_second may be sequences (per second) or numbers."""
    rng = np.random.default_rng(seed)
    n = len(latency_ms_per_second)
    reqs = np.broadcast_to(np.asarray(requests_per_second), (n,))
    fails = np.broadcast_to(np.asarray(failures_per_second), (n,))
    hists = {k: Histogram() for k in ("response",) + PHASES}
    series = []
    for t in range(n):
        k = int(reqs[t])
        vals = (rng.lognormal(np.log(latency_ms_per_second[t] * 1e6), noise, k)).astype(np.int64) + 1
        h = Histogram()
        h.record_array(vals)
        hists["response"].add(h)
        hists["curlTotal"].add(h)
        ttfb = Histogram()
        ttfb.record_array((vals * 0.9).astype(np.int64) + 1)
        hists["ttfb"].add(ttfb)
        small = Histogram()
        small.record_array((vals * 0.05).astype(np.int64) + 1)
        hists["transfer"].add(small)
        hists["connect"].add(small)
        hists["dns"].add(small)
        f = int(fails[t])
        series.append(Second(t=t, requests=k, failures=f, errors=0, bytes=k * 100,
                             status=[0, 0, k - f, 0, 0, f], hist=SparseHist.of(h)))
    completed = int(reqs.sum())
    failures = int(fails.sum())
    elapsed = n * 1_000_000_000
    return RunResult(
        name=name, configuration={"method": "GET", "url": "http://127.0.0.1:1/", "concurrency": concurrency,
                                  "durationMs": elapsed / 1e6, "model": "closed"},
        start_wall_ns=start_wall_ns, elapsed_ns=elapsed, first_send_ns=0, issue_end_ns=elapsed,
        completed_at_issue_end=completed, issued=completed, completed=completed, failures=failures, errors=0,
        bytes=completed * 100, connections=concurrency,
        status_codes={200: completed - failures, **({503: failures} if failures else {})},
        error_classes={}, error_samples={}, curl_codes={0: completed}, histograms=hists, series=series,
        versions={"lunge": "test"})
