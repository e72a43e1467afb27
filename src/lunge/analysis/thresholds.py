"""Thresholds: pass/fail limits on a run's figures, from the config's `thresholds` section
and `--threshold EXPR` flags (k6-style expressions, parsed by parse_threshold below).

Expressions may name the original Lunge's (and k6's) metric they belong to, as in its
`thresholds: {http_req_duration: ["p95 < 500ms"], http_req_failed: ["rate < 0.01"],
http_reqs: ["rate > 100", "count > 10000"]}`; on the command line that is
`--threshold 'http_req_failed: rate < 0.01'`.  `rate` alone is refused: it is the failed
share under http_req_failed and requests per second under http_reqs.

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

    metric: p50..p99.9 as "pNN", mean, min, max, median, errorRate, rps, count.
    value: milliseconds for latency metrics, a fraction for errorRate, req/s for rps,
    requests for count (the completed requests).
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


_STAT = (r"p\(\s*\d+(?:\.\d+)?\s*\)|p\d+(?:\.\d+)?|avg|mean|min|max|med|median|"
         r"errorRate|error_rate|rate\(\s*errors\s*\)|rps|throughput|count|rate")
_THRESHOLD = re.compile(r"\s*(?:(?P<qualifier>[A-Za-z_][A-Za-z0-9_]*)\s*:)?"
                        rf"\s*(?P<metric>{_STAT})\s*(?P<op><=|>=|<|>|==|!=)\s*(?P<value>[^\s<>=!](?:.*\S)?)\s*")
_METRIC_ALIASES = {"avg": "mean", "med": "median", "error_rate": "errorRate", "throughput": "rps"}
# The original Lunge's metric names (k6's) and the statistics each one has.
K6_METRICS = {
    "http_req_duration": "p50...p99.9 or p(N), avg, med, min, max",
    "http_req_failed": "rate",
    "http_reqs": "count, rate",
}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_DURATION_PART = re.compile(rf"({_NUMBER})(ns|us|µs|ms|s|m|h)")
_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_EXAMPLES = ("e.g. p95 < 500ms, p(95)<500, avg<200, errorRate<1%, rps>100, count>1000, "
             "'http_req_failed: rate < 0.01', 'http_reqs: rate > 100'")


def parse_threshold(text: str, where: str) -> ThresholdExpr:
    m = _THRESHOLD.fullmatch(text)
    if not m:
        raise ConfigError(f"{where}: {text!r} is not a threshold expression ({_EXAMPLES})")
    qualifier, stat = m["qualifier"], m["metric"].replace(" ", "")
    metric = _metric(qualifier, stat, text, where)
    value = _value(metric, m["value"], text, where)
    return ThresholdExpr(metric, m["op"], value, text.strip())


def _metric(qualifier: str | None, stat: str, text: str, where: str) -> str:
    """The internal metric of STAT, under the original's metric QUALIFIER if one is given."""
    if stat.startswith("p("):
        stat = "p" + stat[2:-1]
    latency = stat.startswith("p") or stat in ("avg", "mean", "min", "max", "med", "median")
    if qualifier is None:
        if stat == "rate":  # the original's `rate` belongs to a metric: which one decides its meaning
            raise ConfigError(f"{where}: {text!r}: say whose rate: 'http_req_failed: rate < 0.01' (the failed "
                              "share, also errorRate) or 'http_reqs: rate > 100' (requests/s, also rps)")
        metric = "errorRate" if stat == "rate(errors)" else stat
    elif qualifier not in K6_METRICS:
        raise ConfigError(f"{where}: {text!r}: unknown metric {qualifier!r} "
                          f"(one of {', '.join(K6_METRICS)})")
    elif qualifier == "http_req_duration" and latency:
        metric = stat
    elif qualifier == "http_req_failed" and stat == "rate":
        metric = "errorRate"
    elif qualifier == "http_reqs" and stat in ("count", "rate"):
        metric = "count" if stat == "count" else "rps"
    else:
        raise ConfigError(f"{where}: {text!r}: {qualifier} has {K6_METRICS[qualifier]}, not {stat!r}")
    metric = _METRIC_ALIASES.get(metric, metric)
    if metric.startswith("p") and not (0 < float(metric[1:]) <= 100):
        raise ConfigError(f"{where}: {text!r}: percentile must be in (0, 100]")
    return metric


def _value(metric: str, raw: str, text: str, where: str) -> float:
    """The limit in the metric's unit: ms, a fraction, req/s or requests."""
    raw = raw.strip()
    if metric == "errorRate":
        m = re.fullmatch(rf"({_NUMBER}(?:[eE][-+]?\d+)?)\s*(%?)", raw)
        if not m:
            raise _bad_value(text, where, raw, "an error rate (errorRate takes a fraction or a percentage: 0.01, 1%)")
        return float(m[1]) / 100 if m[2] else float(m[1])
    if metric in ("rps", "count"):
        if not re.fullmatch(rf"{_NUMBER}(?:[eE][-+]?\d+)?", raw):
            raise _bad_value(text, where, raw, f"a plain number of {'requests per second' if metric == 'rps' else 'requests'}")
        return float(raw)
    # a latency: a bare number is milliseconds (k6's rule); units as in Go's durations, 1m30s too
    bare = re.fullmatch(rf"({_NUMBER})\s*(ns|us|µs|ms|s|m|h)?", raw)
    if bare:
        return float(bare[1]) * _MS[bare[2] or "ms"]
    parts = _DURATION_PART.findall(raw)
    if not parts or "".join(n + u for n, u in parts) != raw:
        raise _bad_value(text, where, raw, "a latency: a number of ms, or 250us, 500ms, 1.5s, 1m30s")
    return sum(float(n) * _MS[u] for n, u in parts)


def _bad_value(text: str, where: str, raw: str, what: str) -> ConfigError:
    return ConfigError(f"{where}: {text!r} is not a threshold expression: {raw!r} is not {what}")


def parse_metric_lists(doc, where: str) -> tuple[ThresholdExpr, ...]:
    """The original Lunge's thresholds: {http_req_duration: [EXPR, ...], http_req_failed: [...],
    http_reqs: [...]} (keys of a `thresholds` object; other keys are left to the caller).
    Each expression is recorded as 'METRIC: EXPR', which is also how --threshold spells it."""
    out = []
    for key, exprs in doc.items():
        if key not in K6_METRICS:
            continue
        for i, e in enumerate(exprs):
            out.append(parse_threshold(f"{key}: {e.strip()}", f"{where}.{key}[{i}]"))
    return tuple(out)


_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
        "!=": operator.ne}


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


def measure(a: Analysis, metric: str, scenario: str | None = None) -> float:
    """The run's (or that scenario's) value of a threshold metric: ms for latencies, a
    fraction, or req/s.  KeyError if the run has no such scenario."""
    if scenario is not None:
        found = a.scenario(scenario)
        if found is None:
            raise KeyError(scenario)
        s, m = found
        rt, error_rate, rps, count, hist = m["responseTimes"], m["errorRate"], m["rps"], m["totalRequests"], s.response
    else:
        m = a.metrics
        rt, error_rate, rps, count = m["responseTimes"], m["errorRate"], m["throughput"]["rps"], m["totalRequests"]
        hist = a.result.response
    if metric == "errorRate":
        return error_rate
    if metric == "rps":
        return rps
    if metric == "count":
        return count
    if metric in ("mean", "min", "max", "median"):
        return rt[metric + "Ms"]
    if metric.startswith("p"):
        return hist.percentile(float(metric[1:])) / 1e6
    raise ValueError(f"unknown threshold metric {metric!r}")


def unit(metric: str) -> str:
    return {"errorRate": "", "rps": "req/s", "count": "requests"}.get(metric, "ms")


def evaluate(a: Analysis, exprs) -> dict:
    """{passed, checks: [{threshold, metric, op, limit, measured, unit, passed}]}.

    Each item is a ThresholdExpr (the whole run) or a v2 scenario file's rule
    (config.scenario.Threshold: `expr`, and `scenario`, None for the whole run): a rule of a
    scenario (custom SCENARIO_duration / SCENARIO_failed) is judged on that scenario's
    requests, its check carrying `scenario`; one the run has no iteration of fails, with
    measured null and a `reason`."""
    checks = []
    for item in exprs:
        e, scenario = (item.expr, item.scenario) if hasattr(item, "expr") else (item, None)
        check = {"threshold": e.text, "metric": e.metric, "op": e.op, "limit": e.value}
        if scenario is not None:
            check["scenario"] = scenario
        found = a.scenario(scenario) if scenario is not None else None
        if scenario is not None and (found is None or not found[0].started):
            checks.append({**check, "measured": None, "unit": unit(e.metric), "passed": False,
                           "reason": f"no iteration of scenario {scenario!r} ran"})
            continue
        measured = measure(a, e.metric, scenario)
        # A run with no responses has no latency: a latency limit cannot be said to hold.
        count = found[1]["responseTimes"]["count"] if found is not None else a.metrics["responseTimes"]["count"]
        no_data = unit(e.metric) == "ms" and count == 0
        ok = (not no_data) and bool(_OPS[e.op](measured, e.value))
        checks.append({**check, "measured": measured, "unit": unit(e.metric), "passed": ok})
        if no_data and scenario is not None:
            checks[-1]["reason"] = f"no responses in scenario {scenario!r}"
    return {"passed": all(c["passed"] for c in checks), "checks": checks}


def describe(check: dict) -> str:
    """One line: 'p99 < 300ms: measured 412.3 ms (limit 300 ms) FAILED'."""
    u = check["unit"]
    if check["measured"] is None:
        return f"{check['threshold']}: {check.get('reason', 'not measured')}: FAILED"
    if u == "":
        m, lim = f"{check['measured'] * 100:.2f}%", f"{check['limit'] * 100:g}%"
    elif u == "requests":
        m, lim = f"{check['measured']:.0f} {u}", f"{check['limit']:g} {u}"
    else:
        m, lim = f"{check['measured']:.2f} {u}", f"{check['limit']:g} {u}"
    return f"{check['threshold']}: measured {m}, limit {check['op']} {lim}: {'passed' if check['passed'] else 'FAILED'}"
