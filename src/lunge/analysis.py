"""Analysis: the figures a report shows, computed from a RunResult's histograms and series.

Percentiles come from the HDR histograms (3 significant digits); means, min and max are
exact.  Throughput is completions per second over the issuing window (first send to the
end of issuing), so the drain of in-flight requests at the end does not dilute it.
"""
from __future__ import annotations

import numpy as np

from lunge.result import STATUS_CLASSES, RunResult, encode_hist

PERCENTILES = (50, 90, 95, 99, 99.9)
PHASE_FIELDS = (("dns", "dnsMs"), ("connect", "connectMs"), ("tls", "tlsMs"), ("ttfb", "ttfbMs"),
                ("transfer", "transferMs"), ("curlTotal", "totalMs"))


def latency_stats(h) -> dict:
    """minMs .. p999Ms of one histogram (all 0 when it is empty)."""
    p50, p90, p95, p99, p999 = (h.percentiles(PERCENTILES) / 1e6).tolist()
    return {
        "count": h.total,
        "minMs": h.min_ns / 1e6,
        "maxMs": h.max_ns / 1e6,
        "meanMs": h.mean_ns() / 1e6,
        "medianMs": p50,
        "stdDevMs": h.stddev_ns() / 1e6,
        "p50Ms": p50, "p90Ms": p90, "p95Ms": p95, "p99Ms": p99, "p999Ms": p999,
    }


def throughput(r: RunResult) -> dict:
    # first_send_ns is the first measured request's due (open) or send (closed) time.
    window = max(r.issue_end_ns - r.first_send_ns, 1)
    whole = max(r.elapsed_ns - r.first_send_ns, 1)
    return {
        "rps": r.completed_at_issue_end / (window / 1e9),
        "overallRps": r.completed / (whole / 1e9),
        "windowMs": window / 1e6,
        "bytesPerSec": r.bytes / (whole / 1e9),
    }


def timing_breakdown(r: RunResult) -> dict:
    """Means of libcurl's phases over successful responses; ttfb is the wait from the request
    being sent to the first response byte, transfer the rest of the response."""
    return {key: r.histograms[name].mean_ns() / 1e6 for name, key in PHASE_FIELDS if name in r.histograms}


def metrics(r: RunResult) -> dict:
    return {
        "totalRequests": r.completed,
        "successfulRequests": r.completed - r.failures,
        "failedRequests": r.failures,
        "errorRate": r.failures / r.completed if r.completed else 0.0,
        "bytesReceived": r.bytes,
        "connectionsOpened": r.connections,
        "statusCodes": {str(k): v for k, v in sorted(r.status_codes.items())},
        "errors": dict(sorted(r.error_classes.items(), key=lambda kv: -kv[1])),
        "errorSamples": dict(r.error_samples),
        "responseTimes": latency_stats(r.response),
        "serviceTimes": latency_stats(r.histograms["service"] if r.open_model else r.response),
        "timingBreakdown": timing_breakdown(r),
        "throughput": throughput(r),
        "pacing": pacing(r),
        "warmup": {"requests": r.warmup_completed, "failures": r.warmup_failures},
    }


def pacing(r: RunResult) -> dict | None:
    """Open model only: how well sends kept to the schedule."""
    if not r.open_model:
        return None
    sent = r.issued - r.warmup_issued
    lag = r.histograms["sendLag"]
    return {
        "scheduled": r.scheduled,
        "sent": sent,
        "unsent": max(0, r.scheduled - sent),
        "lateSends": r.late_sends,
        "maxLagMs": r.max_lag_ns / 1e6,
        "lagP50Ms": lag.percentile(50) / 1e6,
        "lagP99Ms": lag.percentile(99) / 1e6,
        "sustained": not any(w.startswith("rate_limit") for w in r.warnings),
    }


def time_series(r: RunResult) -> list:
    """One row per second: counts, rate and latency percentiles of the responses in it."""
    rows = []
    end_s = r.elapsed_ns / 1e9
    for s in r.series:
        covered = max(min(s.span, end_s - s.t), 1e-3)  # the last second is usually partial
        if s.hist is not None and s.hist.total:
            p50, p90, p99 = (s.hist.percentiles([50, 90, 99]) / 1e6).tolist()
            mean, mx = s.hist.sum_ns / s.hist.total / 1e6, s.hist.max_ns / 1e6
            hist = encode_hist(s.hist.histogram())
        else:
            p50 = p90 = p99 = mean = mx = 0.0
            hist = None
        rows.append({
            "t": s.t, "span": s.span, "requests": s.requests, "failures": s.failures, "errors": s.errors,
            "rps": s.requests / covered, "bytes": s.bytes,
            "p50Ms": p50, "p90Ms": p90, "p99Ms": p99, "meanMs": mean, "maxMs": mx,
            "statusClasses": {k: v for k, v in zip(STATUS_CLASSES, s.status) if v},
            "histogram": hist,
        })
    return rows


def distribution(h, buckets: int = 10) -> list:
    """Log-spaced latency buckets between min and max: [(low_ms, high_ms, count)]."""
    if not h.total:
        return []
    lo, hi = max(h.min_ns, 1), max(h.max_ns, 1)
    if hi <= lo:
        return [(lo / 1e6, hi / 1e6, h.total)]
    edges = np.geomspace(lo, hi * 1.000001, buckets + 1)
    from lunge._native.hist import BUCKET_MID

    counts = h.counts()
    nz = np.flatnonzero(counts)
    which = np.clip(np.searchsorted(edges, np.clip(BUCKET_MID[nz], lo, hi), side="right") - 1, 0, buckets - 1)
    per = np.bincount(which, weights=counts[nz].astype(np.float64), minlength=buckets)
    return [(edges[i] / 1e6, edges[i + 1] / 1e6, int(per[i])) for i in range(buckets)]
