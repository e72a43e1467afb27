"""Synthetic flow results with known answers: the FlowEngine's contract tuples (ScenarioResults,
StepResults, CheckCounts, ScenarioSecond) built from Histograms recorded with known latencies."""
from __future__ import annotations

from lunge._native.contract import CheckCounts, ScenarioResults, ScenarioSecond, StepResults
from lunge._native.hist import Histogram


def hist_ms(values_ms) -> Histogram:
    h = Histogram()
    for v in values_ms:
        h.record(int(round(v * 1_000_000)))
    return h


def step(name, latencies_ms, *, status=None, errors=None, checks=(), check_failures=0, extract_misses=0,
         bytes_per=100) -> StepResults:
    """`latencies_ms`: one per response; `status`: {code: count} over them (default all 200);
    `errors`: {class: count} of transport errors (no latency); failures = errors + statuses >= 400
    + check_failures."""
    status = dict(status or {200: len(latencies_ms)})
    errors = dict(errors or {})
    assert sum(status.values()) == len(latencies_ms)
    n_err = sum(errors.values())
    http = n_err + sum(v for k, v in status.items() if k >= 400)
    return StepResults(name=name, requests=len(latencies_ms) + n_err, failures=http + check_failures, errors=n_err,
                       check_failures=check_failures, bytes=bytes_per * len(latencies_ms), status_codes=status,
                       error_classes=errors, error_samples={k: f"sample of {k}" for k in errors},
                       histogram=hist_ms(latencies_ms), checks=tuple(CheckCounts(*c) for c in checks),
                       extract_misses=extract_misses)


def scenario(name, executor, steps, *, started_s=0.0, ended_s=10.0, iterations=10, interrupted=0, dropped=0,
             max_vus=5, vus_made=0, iteration_ms=(), lateness_ms=(), seconds=None) -> ScenarioResults:
    """Totals from the steps; `seconds`: ScenarioSecond rows (default: every request in second 0)."""
    requests = sum(s.requests for s in steps)
    failures = sum(s.failures for s in steps)
    errors = sum(s.errors for s in steps)
    resp = Histogram()
    for s in steps:
        resp.add(s.histogram)
    if seconds is None:
        seconds = (ScenarioSecond(sec=0, requests=requests, failures=failures, iterations=iterations, dropped=dropped,
                                  vus=max_vus, sum_ns=resp.sum_ns, max_ns=resp.max_ns),)
    hists = {"response": resp, "iteration": hist_ms(iteration_ms)}
    if executor.endswith("arrival-rate"):
        hists["lateness"] = hist_ms(lateness_ms)
    return ScenarioResults(name=name, executor=executor, started_s=started_s, ended_s=ended_s, iterations=iterations,
                           interrupted=interrupted, dropped=dropped, max_vus=max_vus, vus_made=vus_made,
                           requests=requests, failures=failures, errors=errors, histograms=hists, steps=tuple(steps),
                           seconds=tuple(seconds))
