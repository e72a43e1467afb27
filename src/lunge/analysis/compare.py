"""Comparing two runs: per-metric deltas and a verdict (improved / regressed / unchanged)
that accounts for noise.

A metric changed only if the change is both larger than the tolerance (relative, 10% by
default; three times that for the tail percentiles) and statistically significant.  Significance comes from the per-second samples
when both runs have enough seconds (a two-sided Mann-Whitney U test, normal approximation
with tie correction: robust to the skew of latency and to a single bad second), else from
the histograms (distribution-free confidence intervals of the percentile from order
statistics; the intervals must not overlap).  Error rates use a two-proportion z-test.
"""
from __future__ import annotations

import math

import numpy as np

from lunge.analysis import Analysis
from lunge.analysis.stats import full_second_rps, measured_ns
from lunge.settings import DEFAULT_TOLERANCE

ALPHA = 0.01
# The per-second test needs this many whole seconds on each side: with 8 against 8 a
# complete separation gives p = 0.0009, so one or two overlapping seconds still pass 1%.
MIN_SECONDS = 8
MIN_RESPONSES = 5        # a second's percentiles need this many responses
ERROR_RATE_FLOOR = 0.001  # error-rate changes under 0.1 percentage point are noise whatever the test says
# (key, label, percentile or None, which direction is better, tolerance factor).  The tail
# percentiles move with the machine's load far more than the body does (two runs of one
# server on a busy 2-CPU box: p50 within 2%, p90/p99 up to 25% apart), so they count at
# three times the tolerance; the median and the mean carry the verdict at the tolerance.
TAIL_FACTOR = 3.0
METRICS = (("p50Ms", "p50", 50.0, "lower", 1.0), ("p90Ms", "p90", 90.0, "lower", TAIL_FACTOR),
           ("p95Ms", "p95", 95.0, "lower", TAIL_FACTOR), ("p99Ms", "p99", 99.0, "lower", TAIL_FACTOR),
           ("meanMs", "mean", None, "lower", 1.0), ("rps", "rps", None, "higher", 1.0),
           ("errorRate", "error rate", None, "lower", 1.0))


# ---------------------------------------------------------------- statistics (numpy only)
def average_ranks(a: np.ndarray) -> np.ndarray:
    order = np.argsort(a, kind="mergesort")
    _, inv, counts = np.unique(a[order], return_inverse=True, return_counts=True)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ranks = np.empty(len(a))
    ranks[order] = starts[inv] + (counts[inv] + 1) / 2.0
    return ranks


def mann_whitney_p(x, y) -> float:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation, tie-corrected,
    continuity-corrected). 1.0 when it cannot be computed."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n1, n2 = len(x), len(y)
    if not n1 or not n2:
        return 1.0
    ranks = average_ranks(np.concatenate([x, y]))
    u1 = ranks[:n1].sum() - n1 * (n1 + 1) / 2.0
    n = n1 + n2
    _, ties = np.unique(np.concatenate([x, y]), return_counts=True)
    var = n1 * n2 / 12.0 * ((n + 1) - float((ties ** 3 - ties).sum()) / (n * (n - 1)))
    if var <= 0:
        return 1.0
    z = (abs(u1 - n1 * n2 / 2.0) - 0.5) / math.sqrt(var)
    return math.erfc(max(z, 0.0) / math.sqrt(2))


def two_proportion_p(k1: int, n1: int, k2: int, n2: int) -> float:
    if not n1 or not n2:
        return 1.0
    p = (k1 + k2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    return math.erfc(abs(k1 / n1 - k2 / n2) / se / math.sqrt(2))


def percentile_interval(h, q: float, z: float = 2.576) -> tuple[float, float]:
    """A ~99% distribution-free confidence interval (ms) of the q-th percentile of the
    population a histogram samples: ranks n*q/100 +- z*sqrt(n*q*(1-q)), read off the histogram."""
    n = h.total
    p = q / 100.0
    half = z * math.sqrt(n * p * (1 - p))
    lo_rank, hi_rank = max(n * p - half, 1.0), min(n * p + half, float(n))
    lo, hi = h.percentiles([100.0 * lo_rank / n, 100.0 * hi_rank / n]) / 1e6
    return float(lo), float(hi)


# ---------------------------------------------------------------- per-run samples
def _second_values(r, q: float | None) -> np.ndarray:
    """That percentile (or the mean) of each whole second: the first (start-up, new
    connections) and the last (partial, drain) are left out, as for the rps."""
    secs = [s for s in r.series if s.span == 1]
    if len(secs) > 2:
        secs = secs[1:-1]
    vals = []
    for s in secs:
        if s.hist is None or s.hist.total < MIN_RESPONSES:
            continue
        vals.append(s.hist.sum_ns / s.hist.total / 1e6 if q is None else s.hist.percentiles([q])[0] / 1e6)
    return np.array(vals)


def _overall(a: Analysis, key: str) -> float:
    if key == "rps":
        return a.metrics["throughput"]["rps"]
    if key == "errorRate":
        return a.metrics["errorRate"]
    if key == "meanMs":
        return a.metrics["responseTimes"]["meanMs"]
    return a.response_ms(float(key[1:-2]))


def _significance(a, b, key: str, q: float | None) -> tuple[float, str]:
    """(p-value, method); an interval test gives 0 (apart) or 1."""
    if key == "errorRate":
        return two_proportion_p(a.failures, a.completed, b.failures, b.completed), "two-proportion z-test"
    sa = full_second_rps(a) if key == "rps" else _second_values(a, q)
    sb = full_second_rps(b) if key == "rps" else _second_values(b, q)
    if len(sa) >= MIN_SECONDS and len(sb) >= MIN_SECONDS:
        return mann_whitney_p(sa, sb), f"Mann-Whitney U over per-second values (n={len(sa)}/{len(sb)})"
    if q is not None and a.response.total and b.response.total:
        ia, ib = percentile_interval(a.response, q), percentile_interval(b.response, q)
        apart = ia[1] < ib[0] or ib[1] < ia[0]
        return (0.0 if apart else 1.0), "99% percentile intervals from the histograms"
    if key == "meanMs" and a.response.total > 1 and b.response.total > 1:
        return welch_p(a.response, b.response), "z-test of the means from the histograms"
    return 1.0, "too few seconds to test"


def welch_p(ha, hb) -> float:
    """Two-sided p-value of the difference of two histograms' means (normal approximation)."""
    se = math.sqrt(ha.stddev_ns() ** 2 / ha.total + hb.stddev_ns() ** 2 / hb.total)
    if se == 0:
        return 1.0 if ha.mean_ns() == hb.mean_ns() else 0.0
    return math.erfc(abs(ha.mean_ns() - hb.mean_ns()) / se / math.sqrt(2))


def _row(key: str, label: str, better: str, factor: float, va: float, vb: float, p: float, method: str,
         tolerance: float, alpha: float) -> dict:
    """One metric's comparison: changed only if significant and beyond its tolerance."""
    delta = vb - va
    rel = delta / va if va else (0.0 if not delta else math.inf)
    significant = p < alpha
    big = abs(rel) > tolerance * factor and (key != "errorRate" or abs(delta) > ERROR_RATE_FLOOR)
    if significant and big:
        worse = delta > 0 if better == "lower" else delta < 0
        verdict = "regressed" if worse else "improved"
    else:
        verdict = "unchanged"
    return {"metric": key, "label": label, "better": better, "tolerance": tolerance * factor,
            "baseline": va, "current": vb,
            "delta": delta, "deltaPct": None if math.isinf(rel) else rel * 100,
            "pValue": p, "method": method, "significant": significant, "verdict": verdict}


def _verdict(rows) -> str:
    verdicts = {r["verdict"] for r in rows}
    return "regressed" if "regressed" in verdicts else "improved" if "improved" in verdicts else "unchanged"


def compare(base: Analysis, cur: Analysis, tolerance: float = DEFAULT_TOLERANCE, alpha: float = ALPHA) -> dict:
    """The comparison block of the result: each metric of `cur` against `base`; for flow runs,
    each scenario both have too (`scenarios`), which counts in the verdict."""
    baseline, current = base.result, cur.result
    rows = []
    for key, label, q, better, factor in METRICS:
        if key != "rps" and key != "errorRate" and (not baseline.response.total or not current.response.total):
            continue
        p, method = _significance(baseline, current, key, q)
        rows.append(_row(key, label, better, factor, _overall(base, key), _overall(cur, key), p, method,
                         tolerance, alpha))
    out: dict = {
        "verdict": _verdict(rows),
        "tolerance": tolerance,
        "alpha": alpha,
        "baseline": _describe_run(baseline),
        "current": _describe_run(current),
        "metrics": rows,
    }
    if baseline.scenarios or current.scenarios:
        scenarios = out["scenarios"] = compare_scenarios(base, cur, tolerance, alpha)
        out["verdict"] = _verdict(rows + scenarios["compared"])
    return out


# Per scenario: the tail, the failed share and the rate (key, label, percentile, better, tolerance factor).
SCENARIO_METRICS = (("p95Ms", "p95", 95.0, "lower", TAIL_FACTOR), ("p99Ms", "p99", 99.0, "lower", TAIL_FACTOR),
                    ("errorRate", "error rate", None, "lower", 1.0), ("rps", "rps", None, "higher", 1.0))


def _scenario_rps(s) -> np.ndarray:
    """Requests of each whole second of a scenario (its first and last left out, as for the run)."""
    secs = list(s.seconds)
    if len(secs) > 2:
        secs = secs[1:-1]
    return np.array([r.requests for r in secs], dtype=np.float64)


def compare_scenarios(base: Analysis, cur: Analysis, tolerance: float = DEFAULT_TOLERANCE,
                      alpha: float = ALPHA) -> dict:
    """{compared: [{scenario, verdict, metrics: [rows as compare()'s]}], onlyBaseline, onlyCurrent}:
    p95 and p99 by the histograms' percentile intervals, the failed share by the two-proportion
    test, the rate by Mann-Whitney over the scenario's whole seconds (when both have enough)."""
    names_a = [s.name for s in base.result.scenarios]
    names_b = [s.name for s in cur.result.scenarios]
    compared = []
    for name in (n for n in names_a if n in names_b):
        (sa, ma), (sb, mb) = base.scenario(name), cur.scenario(name)
        rows = []
        for key, label, q, better, factor in SCENARIO_METRICS:
            if q is not None:
                if not sa.response.total or not sb.response.total:
                    continue
                va, vb = sa.response.percentile(q) / 1e6, sb.response.percentile(q) / 1e6
                ia, ib = percentile_interval(sa.response, q), percentile_interval(sb.response, q)
                p, method = (0.0 if ia[1] < ib[0] or ib[1] < ia[0] else 1.0), \
                    "99% percentile intervals from the histograms"
            elif key == "errorRate":
                va, vb = ma["errorRate"], mb["errorRate"]
                p, method = two_proportion_p(sa.failures, sa.requests, sb.failures, sb.requests), \
                    "two-proportion z-test"
            else:
                va, vb = ma["rps"], mb["rps"]
                ra, rb = _scenario_rps(sa), _scenario_rps(sb)
                if len(ra) >= MIN_SECONDS and len(rb) >= MIN_SECONDS:
                    p, method = mann_whitney_p(ra, rb), f"Mann-Whitney U over per-second values (n={len(ra)}/{len(rb)})"
                else:
                    p, method = 1.0, "too few seconds to test"
            rows.append(_row(key, label, better, factor, va, vb, p, method, tolerance, alpha))
        compared.append({"scenario": name, "verdict": _verdict(rows), "metrics": rows})
    return {"compared": compared, "onlyBaseline": [n for n in names_a if n not in names_b],
            "onlyCurrent": [n for n in names_b if n not in names_a]}


def _describe_run(r) -> dict:
    return {"testName": r.name, "startTime": r.start_time().isoformat().replace("+00:00", "Z"),
            "requests": r.completed, "durationS": measured_ns(r) / 1e9}


def render_text(c: dict) -> str:
    """The comparison as an aligned table and its verdict."""
    lines = [f"lunge compare  {c['baseline']['testName']} ({c['baseline']['startTime']}) -> "
             f"{c['current']['testName']} ({c['current']['startTime']})",
             f"  tolerance {c['tolerance'] * 100:g}%, significance level {c['alpha']:g}", ""]
    lines.append(f"  {'metric':<11}{'baseline':>12}{'current':>12}{'delta':>10}  {'p-value':>8}  verdict")
    lines.extend(_metric_line(m) for m in c["metrics"])
    sc = c.get("scenarios")
    if sc:
        for s in sc["compared"]:
            lines.append("")
            lines.append(f"  scenario {s['scenario']}: {s['verdict']}")
            lines.extend(_metric_line(m) for m in s["metrics"])
        for key, which in (("onlyBaseline", "the baseline"), ("onlyCurrent", "the current run")):
            if sc[key]:
                lines.append("")
                lines.append(f"  only in {which}: {', '.join(sc[key])}")
    lines.append("")
    lines.append(f"  Verdict      {c['verdict']}")
    return "\n".join(lines) + "\n"


def _metric_line(m: dict) -> str:
    fmt = (lambda v: f"{v * 100:.2f}%") if m["metric"] == "errorRate" else \
          (lambda v: f"{v:.1f}") if m["metric"] == "rps" else (lambda v: f"{v:.2f}ms")
    pct = "n/a" if m["deltaPct"] is None else f"{m['deltaPct']:+.1f}%"
    return (f"  {m['label']:<11}{fmt(m['baseline']):>12}{fmt(m['current']):>12}{pct:>10}  "
            f"{m['pValue']:>8.3g}  {m['verdict']}")
