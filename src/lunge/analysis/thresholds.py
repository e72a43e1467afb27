"""Thresholds: pass/fail limits on a run's figures, from the config's `thresholds` section
and `--threshold EXPR` flags (k6-style expressions, parsed by parse_threshold below).

`maxResponseTime` limits p95 (or the percentile it names: {"p99": "300ms"}), `maxErrorRate` the failed fraction, `minThroughput` the
rps over the issuing window.  Each check reports the measured value beside its limit, so
a failed one says by how much.
"""
from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lunge.errors import ConfigError

if TYPE_CHECKING:
    from lunge.analysis import Analysis


@dataclass(frozen=True)
class ThresholdExpr:
    """One k6-style threshold such as `p(95)<500ms`.

    metric: p50..p99.9 as "pNN", mean, min, max, median, errorRate, rps.
    value: milliseconds for latency metrics, a fraction for errorRate, req/s for rps.
    """
    metric: str
    op: str
    value: float
    text: str


@dataclass(frozen=True)
class Thresholds:
    max_response_time_ms: float | None = None
    max_response_percentile: float = 95.0  # maxResponseTime limits p95 unless it names a percentile
    max_error_rate: float | None = None  # fraction, 0.01 = 1%
    min_throughput: float | None = None  # req/s
    expressions: tuple[ThresholdExpr, ...] = ()


_THRESHOLD = re.compile(
    r"\s*(?P<metric>p\(\s*\d+(?:\.\d+)?\s*\)|p\d+(?:\.\d+)?|avg|mean|min|max|med|median|"
    r"errorRate|error_rate|rate\(\s*errors\s*\)|rps|throughput)\s*(?P<op><=|>=|<|>|==)\s*"
    r"(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>us|ms|s|%)?\s*")
_METRIC_ALIASES = {"avg": "mean", "med": "median", "error_rate": "errorRate", "throughput": "rps"}


def parse_threshold(text: str, where: str) -> ThresholdExpr:
    m = _THRESHOLD.fullmatch(text)
    if not m:
        raise ConfigError(f"{where}: {text!r} is not a threshold expression "
                          "(e.g. p(95)<500ms, avg<200, max<2s, errorRate<1%, rate(errors)<0.01, rps>100)")
    metric = m["metric"].replace(" ", "")
    if metric == "rate(errors)":  # k6's spelling
        metric = "errorRate"
    if metric.startswith("p("):
        metric = "p" + metric[2:-1]
    metric = _METRIC_ALIASES.get(metric, metric)
    if metric.startswith("p") and metric != "p" and not (0 < float(metric[1:]) <= 100):
        raise ConfigError(f"{where}: {text!r}: percentile must be in (0, 100]")
    value, unit = float(m["num"]), m["unit"]
    if metric == "errorRate":
        if unit not in (None, "%"):
            raise ConfigError(f"{where}: {text!r}: errorRate takes a fraction or a percentage")
        value = value / 100 if unit == "%" else value
    elif metric == "rps":
        if unit is not None:
            raise ConfigError(f"{where}: {text!r}: rps takes a plain number of requests per second")
    else:
        if unit == "%":
            raise ConfigError(f"{where}: {text!r}: a latency takes us, ms or s, not %")
        value *= {None: 1.0, "ms": 1.0, "s": 1000.0, "us": 0.001}[unit]
    return ThresholdExpr(metric, m["op"], value, text.strip())


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


def measure(a: Analysis, metric: str) -> float:
    """The run's value of a threshold metric: ms for latencies, a fraction, or req/s."""
    m = a.metrics
    rt = m["responseTimes"]
    if metric == "errorRate":
        return m["errorRate"]
    if metric == "rps":
        return m["throughput"]["rps"]
    if metric in ("mean", "min", "max", "median"):
        return rt[metric + "Ms"]
    if metric.startswith("p"):
        return a.response_ms(float(metric[1:]))
    raise ValueError(f"unknown threshold metric {metric!r}")


def unit(metric: str) -> str:
    return {"errorRate": "", "rps": "req/s"}.get(metric, "ms")


def evaluate(a: Analysis, exprs) -> dict:
    """{passed, checks: [{threshold, metric, op, limit, measured, unit, passed}]}."""
    checks = []
    for e in exprs:
        measured = measure(a, e.metric)
        # A run with no responses has no latency: a latency limit cannot be said to hold.
        no_data = unit(e.metric) == "ms" and a.metrics["responseTimes"]["count"] == 0
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
