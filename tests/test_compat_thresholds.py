"""Thresholds in the original Go Lunge's spellings (its doc/Performance-Testing.md: k6's
metric names with lists of expressions), beside lunge's own: parsed, evaluated, and each
spelling passing (exit 0) and failing (exit 1, one threshold_exceeded line) from --threshold
flags and from a v1 config's `performance.X.thresholds`."""
from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import assert_one_line_error, lunge, run_lunge
from lunge.analysis import analyze
from lunge.analysis.thresholds import evaluate, parse_threshold
from lunge.errors import ConfigError
from synth import make_result


@pytest.mark.parametrize("text,metric,op,value", [
    # the original's, unqualified as in its --threshold-less docs' lists
    ("p95 < 500ms", "p95", "<", 500), ("p50 < 200ms", "p50", "<", 200), ("p90 < 400ms", "p90", "<", 400),
    ("p99 < 1s", "p99", "<", 1000), ("avg < 250ms", "mean", "<", 250), ("min < 50ms", "min", "<", 50),
    ("max < 5s", "max", "<", 5000), ("med < 300ms", "median", "<", 300), ("count > 10000", "count", ">", 10000),
    ("count >= 1000", "count", ">=", 1000), ("avg <= 200ms", "mean", "<=", 200), ("p95 != 0", "p95", "!=", 0),
    # metric-qualified, as in its config's lists and on lunge's command line
    ("http_req_duration: p95 < 500ms", "p95", "<", 500), ("http_req_duration:avg<200ms", "mean", "<", 200),
    ("http_req_duration: med < 1m30s", "median", "<", 90000), ("http_req_duration: p(99) < 1.5s", "p99", "<", 1500),
    ("http_req_failed: rate < 0.01", "errorRate", "<", 0.01), ("http_req_failed: rate <= 1%", "errorRate", "<=", 0.01),
    ("http_reqs: rate > 100", "rps", ">", 100), ("http_reqs: count > 10000", "count", ">", 10000),
    ("http_reqs: count != 5", "count", "!=", 5),
    # k6's, and lunge's own
    ("p(95)<500", "p95", "<", 500), ("p(99.9) < 2s", "p99.9", "<", 2000), ("errorRate < 1%", "errorRate", "<", 0.01),
    ("rate(errors) < 0.01", "errorRate", "<", 0.01), ("rps > 900", "rps", ">", 900), ("p99 < 250us", "p99", "<", 0.25),
])
def test_every_spelling_parses(text, metric, op, value):
    e = parse_threshold(text, "--threshold")
    assert (e.metric, e.op, e.text) == (metric, op, text)
    assert e.value == pytest.approx(value)


@pytest.mark.parametrize("text,fragment", [
    ("rate < 0.01", "say whose rate"),                     # the failed share or requests per second?
    ("http_req_failed: count < 1", "http_req_failed has rate"),
    ("http_reqs: p95 < 1s", "http_reqs has count, rate"),
    ("http_req_duration: rate < 1", "http_req_duration has p50"),
    ("http_req_waiting: p95 < 1s", "unknown metric 'http_req_waiting'"),
    ("p99 <> 3", "is not a threshold expression"),
    ("count > 5%", "a plain number of requests"),
    ("p95 < 1%", "is not a latency"),
])
def test_bad_spellings_name_the_problem(text, fragment):
    with pytest.raises(ConfigError) as exc:
        parse_threshold(text, "--threshold")
    assert exc.value.message.startswith(f"--threshold: {text!r}") and fragment in exc.value.message


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.builds(lambda q, s, o, v: f"{q}{s} {o} {v}",
                                                   st.sampled_from(["", "http_reqs: ", "http_req_failed:", "x: "]),
                                                   st.sampled_from(["rate", "count", "p95", "p(9)", "med", "avg"]),
                                                   st.sampled_from(["<", "!=", "==", "=<", "<>", ""]),
                                                   st.text(max_size=8))))
def test_any_text_is_an_expression_or_one_config_error(text):
    try:
        parse_threshold(text, "--threshold")
    except ConfigError as e:
        assert "\n" not in e.message and e.message.startswith("--threshold: ")


def test_count_not_equal_and_median_on_a_synthetic_result():
    # nine seconds at 10 ms and one at 1 s: the median stays near 10 ms, the mean does not
    a = analyze(make_result([10.0] * 9 + [1000.0], requests_per_second=100))
    exprs = [parse_threshold(t, "x") for t in (
        "http_reqs: count == 1000", "count != 1000", "med < 20ms", "avg > 50ms", "http_req_duration: med < 20ms")]
    checks = evaluate(a, exprs)["checks"]
    assert [c["passed"] for c in checks] == [True, False, True, True, True]
    assert checks[0]["measured"] == 1000 and checks[0]["unit"] == "requests"
    # the original computes `med` as the mean (a bug); its docs and k6 mean the median
    assert checks[2]["measured"] == pytest.approx(10, rel=0.1) and checks[3]["measured"] > 50


def _perf(target, *args, cwd=None):
    return lunge("perf", "--url", f"{target.url}/delay/5", "--concurrency", 4, "-n", 200, *args, cwd=cwd)


# Each spelling once passing and once failing against 200 requests of /delay/5 (every one >= 5 ms).
PASSING = ["http_req_duration: p95 < 5s", "p95 < 5s", "p(95)<5000", "avg < 5s", "med < 5s", "min < 5s", "max < 5s",
           "p50 < 5s", "p90 < 5s", "p99 < 5s", "http_req_duration: min > 1ms", "http_req_failed: rate < 0.01",
           "http_reqs: rate > 1", "http_reqs: count > 100", "count >= 200", "p50 != 0", "http_reqs: count == 200"]
FAILING = ["http_req_duration: p95 < 1ms", "p95 < 1ms", "p(95)<1", "avg < 1ms", "med < 1ms", "min < 1ms",
           "max < 1ms", "p50 < 1ms", "p90 < 1ms", "p99 < 1ms", "http_req_failed: rate > 0.5",
           "http_reqs: rate > 1000000", "http_reqs: count > 10000", "count < 200", "count != 200"]


def _flags(exprs):
    return [a for e in exprs for a in ("--threshold", e)]


def test_every_spelling_passes_from_flags(fresh_target, result_schema):
    r = _perf(fresh_target, *_flags(PASSING), "--format", "json")
    assert r.code == 0, r.err
    doc = r.json()
    assert [c["threshold"] for c in doc["thresholds"]["checks"]] == PASSING
    assert all(c["passed"] for c in doc["thresholds"]["checks"])
    assert "threshold_exceeded" not in r.err
    jsonschema.validate(doc, result_schema)  # count, != and the unit "requests" are in the schema


def test_every_spelling_fails_from_flags_with_one_line_each(fresh_target):
    r = _perf(fresh_target, *_flags(FAILING))
    assert r.code == 1, r.err
    lines = [ln for ln in r.err.splitlines() if ln.startswith("lunge: threshold_exceeded: ")]
    assert [ln.split(": ", 2)[2].rsplit(": measured", 1)[0] for ln in lines] == FAILING
    assert all(ln.endswith(": FAILED") for ln in lines)
    assert "lunge: threshold_exceeded: http_reqs: count > 10000: measured 200 requests, limit > 10000 requests" in r.err
    assert "lunge: threshold_exceeded: http_req_failed: rate > 0.5: measured 0.00%, limit > 50%: FAILED" in r.err


def test_bare_rate_is_refused_before_any_load(fresh_target):
    proc = run_lunge("perf", "--url", f"{fresh_target.url}/", "-n", "5", "--threshold", "rate < 0.01")
    assert_one_line_error(proc, "--threshold", "'rate < 0.01'", "http_req_failed: rate < 0.01", "http_reqs: rate")
    assert fresh_target.stats()["requests"] == 0


def _config(target, tmp_path, thresholds: dict):
    cfg = {"environments": {"local": {"baseUrl": target.url}},
           "requests": {"slow": {"url": "/delay/5"}},
           "performance": {"t": {"request": "slow", "load": {"concurrency": 4, "iterations": 200},
                                 "thresholds": thresholds}}}
    path = tmp_path / "lunge.json"
    path.write_text(json.dumps(cfg))
    return path


def _by_metric(exprs):
    """The original's config shape: {http_req_duration: [...], http_req_failed: [...], http_reqs: [...]}."""
    out: dict[str, list[str]] = {}
    for e in exprs:
        key, sep, rest = e.partition(":")
        if sep and key.startswith("http_"):
            out.setdefault(key, []).append(rest.strip())
        elif e.startswith("count"):
            out.setdefault("http_reqs", []).append(e)
        else:
            out.setdefault("http_req_duration", []).append(e)
    return out


def test_every_spelling_passes_from_a_v1_config(fresh_target, tmp_path):
    lists = _by_metric(PASSING)
    path = _config(fresh_target, tmp_path, {"maxErrorRate": "1%", **lists})
    assert run_lunge("validate", "-c", str(path)).returncode == 0
    r = lunge("perf", "-c", path, "-e", "local", "-p", "t", "--format", "json")
    assert r.code == 0, r.err
    checks = r.json()["thresholds"]["checks"]
    # lunge's own key first, then the lists in the file's order, each named by its metric
    assert [c["threshold"] for c in checks] == ["maxErrorRate: errorRate <= 0.01"] + [
        f"{k}: {e}" for k, es in lists.items() for e in es]
    assert all(c["passed"] for c in checks)


def test_every_spelling_fails_from_a_v1_config(fresh_target, tmp_path):
    lists = _by_metric(FAILING)
    r = lunge("perf", "-c", _config(fresh_target, tmp_path, lists), "-e", "local", "-p", "t")
    assert r.code == 1, r.err
    lines = [ln for ln in r.err.splitlines() if ln.startswith("lunge: threshold_exceeded: ")]
    assert [ln.split(": ", 2)[2].rsplit(": measured", 1)[0] for ln in lines] == [
        f"{k}: {e}" for k, es in lists.items() for e in es]
    assert "lunge: threshold_exceeded: http_req_duration: med < 1ms: measured" in r.err
    assert "lunge: threshold_exceeded: http_reqs: count != 200: measured 200 requests" in r.err


@pytest.mark.parametrize("thresholds,fragment", [
    ({"http_req_failed": ["count < 1"]}, "thresholds.http_req_failed[0]: 'http_req_failed: count < 1'"),
    ({"http_reqs": ["rate > fast"]}, "thresholds.http_reqs[0]"),
    ({"http_req_duration": "p95 < 1s"}, "http_req_duration"),  # a list, as in the original
    ({"http_req_waiting": ["p95 < 1s"]}, "unknown key 'http_req_waiting'"),
])
def test_bad_config_thresholds_are_one_line_config_errors(target, tmp_path, thresholds, fragment):
    proc = run_lunge("perf", "-c", str(_config(target, tmp_path, thresholds)), "-e", "local", "-p", "t")
    assert_one_line_error(proc, fragment)
