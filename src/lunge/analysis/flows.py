"""The figures of a flow run's scenarios and request names, computed once (Analysis.scenarios):
what the JSON, the reports, the thresholds and compare read.

Latency summaries are stats.latency_stats (the run's own `responseTimes` keys), so every
percentile comes from the one rule (hist.percentiles_of).  `errorRate` is the share of
requests that failed: a transport error, a status >= 400 or a failed check (what
http_req_failed counts: the issue's rule, unlike k6, which keeps checks apart);
`checkFailures` says how many failed only a check.  `rps` is over the scenario's
own window, from its start to the end of its last iteration.
"""
from __future__ import annotations

from lunge.analysis.stats import latency_stats
from lunge.results import RunResult
from lunge.results.flows import ScenarioResult, StepResult

# A window shorter than this (a scenario that started and ended at once) is counted as this.
MIN_WINDOW_S = 1e-3


def window_s(s: ScenarioResult) -> float:
    """The scenario's window in seconds: from its start to the end of its last iteration
    (0 if it never started)."""
    if not s.started:
        return 0.0
    return max(s.ended_s - s.started_s, MIN_WINDOW_S)


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else 0.0


def step_metrics(st: StepResult, seconds: float) -> dict:
    checks_total = sum(c.passed + c.failed for c in st.checks)
    return {
        "name": st.name,
        "totalRequests": st.requests,
        "failedRequests": st.failures,
        "checkFailures": st.check_failures,
        "errorRate": st.failures / st.requests if st.requests else 0.0,
        "rps": _rate(st.requests, seconds),
        "responseTimes": latency_stats(st.histogram),
        "checksPassed": sum(c.passed for c in st.checks),
        "checksTotal": checks_total,
        "failingChecks": [c for c in st.checks if c.failed],
    }


def scenario_metrics(s: ScenarioResult) -> dict:
    seconds = window_s(s)
    failed = s.failures
    return {
        "name": s.name,
        "executor": s.executor,
        "started": s.started,
        "durationS": seconds,
        "totalRequests": s.requests,
        "failedRequests": failed,
        "checkFailures": s.check_failures,
        "errorRate": failed / s.requests if s.requests else 0.0,
        "rps": _rate(s.requests, seconds),
        "iterationsPerSec": _rate(s.iterations, seconds),
        "responseTimes": latency_stats(s.histograms["response"]),
        "iterationDurations": latency_stats(s.histograms["iteration"]),
        "lateness": latency_stats(s.histograms["lateness"]),
        "wakeLateness": latency_stats(s.histograms["wake"]),
        "requests": {st.name: step_metrics(st, seconds) for st in s.steps},
    }


def analyze(r: RunResult) -> list[dict]:
    """One dict per scenario of the run, in the result's order (none for a single-URL run)."""
    return [scenario_metrics(s) for s in r.scenarios]
