"""Analysis: the figures a report shows, computed from a RunResult's histograms and series.

Percentiles come from the HDR histograms (3 significant digits); means, min and max are
exact.  Throughput is completions per second over the issuing window (first send to the
end of issuing), so the drain of in-flight requests at the end does not dilute it; over the
measured window (first send to last completion) when the issuing window cannot stand for the
run (throughput()).  The measured window excludes the warmup: it starts at the first
measured request.
"""
from __future__ import annotations

import numpy as np

from lunge._native.contract import HTTP_VERSIONS
from lunge.errors import RATE_LIMIT
from lunge.results import RunResult

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


# An issuing window shorter than this cannot stand for the run's rate (see throughput()).
SHORT_WINDOW_NS = 1_000_000_000


def measured_ns(r: RunResult) -> int:
    """The measured window: from the first measured request (after any warmup) to the last
    completion, drain included."""
    return max(r.elapsed_ns - r.first_send_ns, 1)


def throughput(r: RunResult) -> dict:
    """`rps`: completions per second over the issuing window, so that a drain at the end does
    not dilute it; but over the measured window when issuing lasted under a second or most
    completions came after it (`-n 10` at 10 connections issues everything at once, and
    nothing has completed when issuing ends: the issuing window's rate would be 0)."""
    # first_send_ns is the first measured request's due (open) or send (closed) time.
    window = max(r.issue_end_ns - r.first_send_ns, 1)
    whole = measured_ns(r)
    issuing = window >= SHORT_WINDOW_NS and 2 * r.completed_at_issue_end >= r.completed
    return {
        "rps": r.completed_at_issue_end / (window / 1e9) if issuing else r.completed / (whole / 1e9),
        "rpsWindow": "issuing" if issuing else "measured",
        "overallRps": r.completed / (whole / 1e9),
        "windowMs": window / 1e6,
        "measuredMs": whole / 1e6,
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
        "httpVersions": {k: r.http_versions[k] for k in HTTP_VERSIONS if r.http_versions.get(k)},
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
    jitter = r.histograms.get("sendJitter")  # absent from results written before it existed
    return {
        "scheduled": r.scheduled,
        "sent": sent,
        "unsent": max(0, r.scheduled - sent),
        "lateSends": r.late_sends,
        "maxLagMs": r.max_lag_ns / 1e6,
        "lagP50Ms": lag.percentile(50) / 1e6,
        "lagP99Ms": lag.percentile(99) / 1e6,
        **({"jitterP50Ms": jitter.percentile(50) / 1e6, "jitterP99Ms": jitter.percentile(99) / 1e6}
           if jitter is not None else {}),
        "sustained": not any(w.startswith(RATE_LIMIT) for w in r.warnings),
    }


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


# ---------------------------------------------------------------- the analysis block
# Histograms analysed beside the response time: libcurl's phases, then the open model's extras.
ANALYSED_PHASES = ("dns", "connect", "tls", "ttfb", "transfer", "curlTotal", "sendLag", "error")
DISTRIBUTION_BUCKETS = 20


def full_stats(h, buckets: int = DISTRIBUTION_BUCKETS) -> dict:
    """latency_stats plus a log-bucketed distribution, ready for a histogram plot."""
    out = latency_stats(h)
    out["distribution"] = [{"lowMs": lo, "highMs": hi, "count": c} for lo, hi, c in distribution(h, buckets)]
    return out


def percentile_curve(h, ticks_per_half: int = 5) -> list:
    """HdrHistogram's percentile distribution: [(percentile, value_ms, count_at_or_below)] at
    percentiles 100 * (1 - 0.5 ** (k / ticks_per_half)), i.e. each halving of the remaining
    tail in ticks_per_half steps, down to the last single request, then 100 (the max)."""
    if not h.total:
        return []
    ks = np.arange(0, ticks_per_half * 64)
    tails = 0.5 ** (ks / ticks_per_half)
    ps = 100.0 * (1.0 - tails[tails * h.total >= 1.0])
    ps = np.append(ps, 100.0)
    vals = h.percentiles(ps) / 1e6
    vals[-1] = h.max_ns / 1e6
    return [(float(q), float(v), min(h.total, int(np.ceil(q / 100.0 * h.total)))) for q, v in zip(ps, vals)]


def throughput_stats(r: RunResult) -> dict:
    """Overall rates plus the spread of the per-second rate over full seconds."""
    out = dict(throughput(r))
    rps = full_second_rps(r)
    if rps.size:
        out.update(perSecondMean=float(rps.mean()), perSecondMin=float(rps.min()), perSecondMax=float(rps.max()),
                   perSecondStdDev=float(rps.std()))
    return out


def full_second_rps(r: RunResult) -> np.ndarray:
    """Completions per second, over the seconds the run covered whole: the first (start-up)
    and the last (drain) are left out when there are more than two, and so is any second the
    measured window covers only in part (its count is not a second's rate)."""
    secs = [s for s in r.series if s.span == 1]
    if len(secs) > 2:
        secs = secs[1:-1]
    return np.array([s.requests for s in secs if covered_s(r, s) >= WHOLE * s.span], dtype=np.float64)


# A row covering at least this share of its span counts as whole (clock rounding aside).
WHOLE = 0.999


def covered_s(r: RunResult, s) -> float:
    """Seconds of the measured window (first measured request to last completion) that the
    row [t, t + span) covers: less than its span for a second that measuring began or ended in."""
    start, end = r.first_send_ns / 1e9, r.elapsed_ns / 1e9
    return min(s.t + s.span, end) - max(s.t, start)


def error_analysis(r: RunResult) -> dict:
    """Failures by kind: transport error classes and HTTP statuses >= 400, and the worst second."""
    http = {str(k): v for k, v in sorted(r.status_codes.items()) if k >= 400}
    worst = max(r.series, key=lambda s: s.failures, default=None)
    return {
        "rate": r.failures / r.completed if r.completed else 0.0,
        "failed": r.failures,
        "transport": dict(sorted(r.error_classes.items(), key=lambda kv: -kv[1])),
        "http": http,
        "worstSecond": {"t": worst.t, "failures": worst.failures, "requests": worst.requests}
        if worst is not None and worst.failures else None,
    }


def analyze(r: RunResult, resources: list | None = None, rows: list | None = None) -> dict:
    """The result's "analysis" block (the original design's AnalysisResult): summary,
    response/service/phase statistics, throughput, errors, anomalies in the per-second series and insights."""
    from lunge.analysis import anomalies, insights

    resp = full_stats(r.response)
    phases = {name: full_stats(r.histograms[name]) for name in ANALYSED_PHASES
              if name in r.histograms and (name != "sendLag" or r.open_model)}
    tp = throughput_stats(r)
    err = error_analysis(r)
    found = anomalies.detect(rows if rows is not None else time_series_light(r))
    out = {
        "summary": {
            "requests": r.completed, "durationS": measured_ns(r) / 1e9, "rps": tp["rps"],
            "errorRate": err["rate"], "p50Ms": resp["p50Ms"], "p95Ms": resp["p95Ms"], "p99Ms": resp["p99Ms"],
            "anomalies": len(found),
        },
        "responseTime": resp,
        "serviceTime": full_stats(r.histograms["service"]) if r.open_model and "service" in r.histograms else resp,
        "phases": phases,
        "throughput": tp,
        "errors": err,
        "anomalies": found,
    }
    out["insights"] = insights.derive(r, out, resources)
    return out


def time_series_light(r: RunResult) -> list:
    """The per-second rows without histograms (what anomaly detection, charts, CSV and JSON
    read), plus `covered` (seconds of the measured window the row covers: its rps is over that
    time, not over its span) and `responses` (latencies in it)."""
    rows = []
    for s in r.series:
        covered = max(covered_s(r, s), 1e-3)
        if s.hist is not None and s.hist.total:
            p50, p90, p99 = (s.hist.percentiles([50, 90, 99]) / 1e6).tolist()
            mean, mx = s.hist.sum_ns / s.hist.total / 1e6, s.hist.max_ns / 1e6
        else:
            p50 = p90 = p99 = mean = mx = 0.0
        rows.append({"t": s.t, "span": s.span, "requests": s.requests, "failures": s.failures, "errors": s.errors,
                     "rps": s.requests / covered, "bytes": s.bytes, "covered": covered, "responses": s.hist.total if s.hist else 0,
                     "p50Ms": p50, "p90Ms": p90, "p99Ms": p99, "meanMs": mean, "maxMs": mx})
    return rows
