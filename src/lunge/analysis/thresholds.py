"""Thresholds: pass/fail limits on a run's figures, from the config's `thresholds` section
and `--threshold EXPR` flags (k6-style expressions, parsed by config.parse_threshold).

`maxResponseTime` limits p95 (or the percentile it names: {"p99": "300ms"}), `maxErrorRate` the failed fraction, `minThroughput` the
rps over the issuing window.  Each check reports the measured value beside its limit, so
a failed one says by how much.
"""
from __future__ import annotations

import operator

from lunge.analysis.stats import throughput
from lunge.config import ThresholdExpr, Thresholds, parse_threshold

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}


def from_config(th: Thresholds | None) -> list[ThresholdExpr]:
    """The config's named limits as expressions, then its expressions."""
    if th is None:
        return []
    out = []
    if th.max_response_time_ms is not None:
        p = f"p{th.max_response_percentile:g}"
        out.append(ThresholdExpr(p, "<=", th.max_response_time_ms, f"maxResponseTime: {p} <= {th.max_response_time_ms:g}ms"))
    if th.max_error_rate is not None:
        out.append(ThresholdExpr("errorRate", "<=", th.max_error_rate, f"maxErrorRate: errorRate <= {th.max_error_rate:g}"))
    if th.min_throughput is not None:
        out.append(ThresholdExpr("rps", ">=", th.min_throughput, f"minThroughput: rps >= {th.min_throughput:g}"))
    return out + list(th.expressions)


def parse_flags(texts) -> list[ThresholdExpr]:
    return [parse_threshold(t, "--threshold") for t in texts]


def measure(result, metric: str) -> float:
    """The run's value of a threshold metric: ms for latencies, a fraction, or req/s."""
    h = result.response
    if metric == "errorRate":
        return result.failures / result.completed if result.completed else 0.0
    if metric == "rps":
        return throughput(result)["rps"]
    if metric == "mean":
        return h.mean_ns() / 1e6
    if metric == "min":
        return h.min_ns / 1e6
    if metric == "max":
        return h.max_ns / 1e6
    if metric == "median":
        return h.percentile(50) / 1e6
    if metric.startswith("p"):
        return h.percentile(float(metric[1:])) / 1e6
    raise ValueError(f"unknown threshold metric {metric!r}")


def unit(metric: str) -> str:
    return {"errorRate": "", "rps": "req/s"}.get(metric, "ms")


def evaluate(result, exprs) -> dict:
    """{passed, checks: [{threshold, metric, op, limit, measured, unit, passed}]}."""
    checks = []
    for e in exprs:
        measured = measure(result, e.metric)
        # A run with no responses has no latency: a latency limit cannot be said to hold.
        no_data = unit(e.metric) == "ms" and result.response.total == 0
        ok = (not no_data) and bool(_OPS[e.op](measured, e.value))
        checks.append({"threshold": e.text, "metric": e.metric, "op": e.op, "limit": e.value,
                       "measured": measured, "unit": unit(e.metric), "passed": ok})
    return {"passed": all(c["passed"] for c in checks), "checks": checks}


def describe(check: dict) -> str:
    """One line: 'p99 < 300ms: measured 412.3 ms (limit 300 ms) FAILED'."""
    u = check["unit"]
    if u == "":
        m, lim = f"{check['measured'] * 100:.2f}%", f"{check['limit'] * 100:g}%"
    else:
        m, lim = f"{check['measured']:.2f} {u}", f"{check['limit']:g} {u}"
    return f"{check['threshold']}: measured {m}, limit {check['op']} {lim}: {'passed' if check['passed'] else 'FAILED'}"
