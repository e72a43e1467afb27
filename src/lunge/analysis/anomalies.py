"""Anomalies in the per-second series: latency spikes, throughput drops, error bursts.

Robust statistics, so that the anomalies themselves do not move the yardstick: each
second is compared with the rolling median of its neighbourhood (which follows ramps and
steps of the load), and the residual is scaled by the MAD of all residuals.  A second is
anomalous when it is both far out in MAD units and far out relatively (a quiet, steady
server has a tiny MAD; a 3% wobble is not worth a report).  Consecutive anomalous
seconds of one kind become one anomaly with its time range and size.
"""
from __future__ import annotations

import numpy as np

MIN_SECONDS = 5        # fewer seconds than this: no yardstick, no anomalies
WINDOW = 15            # rolling-median window (s): episodes shorter than half of it stand out
MAD_K = 5.0            # residual > MAD_K robust sigmas ...
SPIKE_RATIO = 1.5      # ... and latency >= 1.5x its local baseline
DROP_RATIO = 0.5       # ... or throughput <= 0.5x its local baseline
BURST_RATE = 0.05      # ... or failures >= 5 percentage points above the baseline rate
MIN_RESPONSES = 5      # a second's latency percentiles need this many responses to count


def rolling_median(x: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Centred rolling median ignoring NaNs; the window shrinks at the edges.

    Sorted windows rather than np.nanmedian, which on small inputs goes through numpy.ma:
    importing that costs ~30 ms of CPU at the end of every run."""
    half = window // 2
    padded = np.concatenate([np.full(half, np.nan), np.asarray(x, dtype=np.float64), np.full(half, np.nan)])
    windows = np.sort(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1), axis=1)  # NaNs sort last
    n = np.count_nonzero(~np.isnan(windows), axis=1)
    rows = np.arange(len(windows))
    lo = windows[rows, np.maximum(n - 1, 0) // 2]
    hi = windows[rows, n // 2]
    return np.where(n > 0, (lo + hi) / 2, np.nan)  # an all-NaN window has no median: NaN


def median(values) -> float:
    """np.median's answer for NaN-free values, without np.median: it imports numpy.ma."""
    s = np.sort(np.asarray(values, dtype=np.float64), axis=None)
    return float((s[(len(s) - 1) // 2] + s[len(s) // 2]) / 2)


def robust_sigma(residuals: np.ndarray) -> float:
    r = residuals[~np.isnan(residuals)]
    if not r.size:
        return 0.0
    return 1.4826 * median(np.abs(r - median(r)))


def _flag(values: np.ndarray, direction: int, ratio: float | None, abs_margin: float | None):
    """Boolean mask of anomalous seconds and the local baseline. direction +1: too high."""
    base = rolling_median(values)
    resid = (values - base) * direction
    sigma = robust_sigma(resid)
    with np.errstate(invalid="ignore"):
        mask = resid > MAD_K * sigma
        if ratio is not None:
            mask &= (values >= ratio * base) if direction > 0 else (values <= ratio * base)
        if abs_margin is not None:
            mask &= resid >= abs_margin
    return np.nan_to_num(mask, nan=False).astype(bool), base


def _runs(mask: np.ndarray):
    """(start, end) index pairs of consecutive True runs, end inclusive."""
    i, n = 0, len(mask)
    while i < n:
        if mask[i]:
            j = i
            while j + 1 < n and mask[j + 1]:
                j += 1
            yield i, j
            i = j + 1
        else:
            i += 1


def detect(rows: list) -> list:
    """Anomalies in per-second rows (analysis.time_series_light): a list of
    {kind, metric, fromS, toS, durationS, peak, baseline, ratio, message} sorted by time."""
    if len(rows) < MIN_SECONDS:
        return []
    t = np.array([r["t"] for r in rows])
    span = np.array([r.get("span", 1) for r in rows])
    enough = np.array([r.get("responses", r["requests"]) >= MIN_RESPONSES for r in rows])
    p99 = np.where(enough, [r["p99Ms"] for r in rows], np.nan)
    p50 = np.where(enough, [r["p50Ms"] for r in rows], np.nan)
    # Throughput: partial seconds (the first, start-up, and the last, drain) are not drops.
    full = np.array([r.get("covered", 1.0) >= 0.999 * r.get("span", 1) for r in rows])
    full[0] = full[-1] = False
    rps = np.where(full, [r["rps"] for r in rows], np.nan)
    req = np.array([r["requests"] for r in rows], dtype=np.float64)
    fails = np.array([r["failures"] for r in rows], dtype=np.float64)
    err_rate = np.where(req >= MIN_RESPONSES, fails / np.maximum(req, 1), np.nan)

    found = []
    checks = (
        ("latency_spike", "p99Ms", p99, +1, SPIKE_RATIO, None, "ms"),
        ("latency_spike", "p50Ms", p50, +1, SPIKE_RATIO, None, "ms"),
        ("throughput_drop", "rps", rps, -1, DROP_RATIO, None, "req/s"),
        ("error_burst", "errorRate", err_rate, +1, None, BURST_RATE, ""),
    )
    seen_spikes: set[int] = set()
    for kind, metric, vals, direction, ratio, margin, unit in checks:
        if np.count_nonzero(~np.isnan(vals)) < MIN_SECONDS:
            continue
        mask, base = _flag(vals, direction, ratio, margin)
        for a, b in _runs(mask):
            if kind == "latency_spike":
                # a p50 spike inside a p99 spike is the same event
                if any(i in seen_spikes for i in range(a, b + 1)):
                    continue
                seen_spikes.update(range(a, b + 1))
            seg = vals[a:b + 1]
            peak_i = a + int(np.nanargmax(seg) if direction > 0 else np.nanargmin(seg))
            peak, baseline = float(vals[peak_i]), float(base[peak_i])
            from_s, to_s = int(t[a]), int(t[b] + span[b])
            found.append({
                "kind": kind, "metric": metric, "fromS": from_s, "toS": to_s, "durationS": to_s - from_s,
                "peakAtS": int(t[peak_i]), "peak": peak, "baseline": baseline,
                "ratio": peak / baseline if baseline else None,
                "message": _describe(kind, metric, from_s, to_s, peak, baseline, unit),
            })
    found.sort(key=lambda a: (a["fromS"], a["kind"]))
    return found


def _describe(kind, metric, from_s, to_s, peak, baseline, unit) -> str:
    when = f"t={from_s}s" if to_s - from_s == 1 else f"t={from_s}-{to_s}s"
    if kind == "error_burst":
        return f"error burst at {when}: {peak * 100:.1f}% of requests failed (baseline {baseline * 100:.1f}%)"
    if kind == "throughput_drop":
        return f"throughput drop at {when}: {peak:.0f} {unit} (baseline {baseline:.0f} {unit})"
    label = metric[:-2]
    return f"latency spike at {when}: {label} {peak:.1f} {unit} (baseline {baseline:.1f} {unit}, x{peak / baseline:.1f})" \
        if baseline else f"latency spike at {when}: {label} {peak:.1f} {unit}"
