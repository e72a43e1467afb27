"""The text report as a first-time user reads it (issue 20): what the failures were, the run's
length and target rate in the header, the open model's pacing, distribution rows that read
differently, and the rate_limit warning once."""
import json

import numpy as np
import pytest
from test_flow_results import flow_result

from conftest import lunge
from lunge import report
from lunge.results.flows import ScenarioResult
from synth import make_result


def section(text: str, title: str) -> list[str]:
    """The lines under '  TITLE' up to the next blank line."""
    lines = text.splitlines()
    start = lines.index(f"  {title}") + 1
    end = lines.index("", start)
    return lines[start:end]


def line_of(text: str, label: str) -> str:
    return next(l for l in text.splitlines() if l.startswith(f"  {label}"))


# ---------------------------------------------------------------- failures

def test_http_failures_are_named_not_errors_none():
    r = make_result([10.0] * 10, requests_per_second=100, failures_per_second=30)
    text = report.render(r, "text")
    assert "300 failed (30.00%)" in text
    assert line_of(text, "Failures") == "  Failures     300 of 1000: 503 x 300"
    assert "Errors       none" not in text


def test_failures_by_status_class_and_transport_error():
    r = make_result([10.0] * 10, requests_per_second=100)
    r.status_codes = {200: 980, 404: 2, 500: 3, 503: 5}
    r.error_classes, r.error_samples = {"timeout": 4}, {"timeout": "Operation timed out after 30000 ms"}
    r.failures, r.completed = 14, 994
    text = report.render(r, "text")
    assert line_of(text, "Failures") == "  Failures     14 of 994: 404 x 2, 5xx x 8 (500 x 3, 503 x 5), timeout x 4"
    assert line_of(text, "Errors") == "  Errors       timeout: 4"
    assert "    timeout: Operation timed out after 30000 ms" in text


def test_no_failures_reads_none():
    text = report.render(make_result([10.0] * 3), "text")
    assert line_of(text, "Failures") == "  Failures     none"
    assert "Errors" not in text  # no transport errors: no line saying so beside the failures


def test_flow_run_failures_count_failed_checks():
    r = flow_result()
    steps = [st for s in r.scenarios for st in s.steps]
    r.failures = sum(s.failures for s in r.scenarios)
    r.completed = sum(s.requests for s in r.scenarios)
    r.status_codes = {}
    for st in steps:
        for k, v in st.status_codes.items():
            r.status_codes[k] = r.status_codes.get(k, 0) + v
    r.error_classes = {"timeout": sum(st.error_classes.get("timeout", 0) for st in steps)}
    assert isinstance(r.scenarios[0], ScenarioResult)
    text = report.render(r, "text")
    # checkout: a 500 (login), two 503s, a timeout and a request failing a check only (pay)
    assert line_of(text, "Failures") == "  Failures     5 of 171: 5xx x 3 (500 x 1, 503 x 2), timeout x 1, failed check x 1"


# ---------------------------------------------------------------- header and pacing

def open_result(pattern: dict, seconds: int, **cfg):
    r = make_result([10.0] * seconds, requests_per_second=100)
    r.open_model = True
    r.configuration.update({"model": "open", "pattern": pattern, "durationMs": None, "rampUpMs": 0.0, "rampDownMs": 0.0,
                            "warmupMs": 0.0, **cfg})
    r.scheduled, r.issued, r.late_sends, r.max_lag_ns = r.completed + 20, r.completed, 37, 25_000_000
    r.histograms["sendLag"].record_array(np.array([2_000] * 900 + [15_000_000] * 100, dtype=np.int64))
    r.histograms["service"].record_array(np.full(1000, 4_000_000, dtype=np.int64))
    return r


def test_step_pattern_header_shows_duration_target_and_pacing():
    r = open_result({"type": "step", "steps": [{"rps": 100, "durationMs": 2000}, {"rps": 400, "durationMs": 2000}]}, 4,
                    workers=2)
    text = report.render(r, "text")
    lines = text.splitlines()
    assert lines[1] == "  open model: step 100 req/s for 2s, 400 req/s for 2s"
    assert lines[2] == "  10 connections at most, 4s, 2 workers"
    assert line_of(text, "Pacing") == "  Pacing       420 scheduled, 400 sent, 20 never sent, 37 late (> 1 ms)"
    assert line_of(text, "Send lag").startswith("  Send lag     p50 2us  p99 15.0")
    assert "max 25.00ms" in line_of(text, "Send lag")
    assert line_of(text, "Service") == "  Service      p50 4.00ms  p90 4.00ms  p99 4.00ms  max 4.00ms  (from the send)"


@pytest.mark.parametrize("pattern, extra, header", [
    ({"type": "linear", "startRps": 100, "endRps": 2000, "durationMs": 10000}, {},
     "  open model: linear 100 -> 2000 req/s over 10s"),
    ({"type": "constant", "rps": 1000}, {"durationMs": 90000.0, "rampUpMs": 5000.0},
     "  open model: 1000 req/s (ramp up 5s)"),
    ({"type": "custom", "class": "pkg.mod.Square"}, {"durationMs": 3000.0}, "  open model: custom pattern pkg.mod.Square"),
])
def test_open_model_header_names_the_target_rate(pattern, extra, header):
    r = open_result(pattern, 3, **extra)
    lines = report.render(r, "text").splitlines()
    assert lines[1] == header
    length = {"linear": "10s", "constant": "1m30s", "custom": "3s"}[pattern["type"]]
    assert lines[2] == f"  10 connections at most, {length}"


def test_closed_model_header_is_unchanged():
    lines = report.render(make_result([10.0] * 3), "text").splitlines()
    assert lines[1] == "  10 connections, 3s" and "Pacing" not in "\n".join(lines)


def test_ramping_vus_header_shows_the_stages_length():
    r = make_result([10.0] * 3)
    r.configuration.update(durationMs=None, stages=[{"durationMs": 30000, "target": 10}, {"durationMs": 120000,
                                                                                         "target": 0}])
    assert report.render(r, "text").splitlines()[1] == "  10 connections, 2m30s"


# ---------------------------------------------------------------- distribution

def test_a_narrow_distribution_has_rows_that_read_differently():
    # every latency between 2.000 and 2.004 s: at two decimals each row read "2.00s - 2.00s"
    r = make_result([2002.0] * 5, noise=0.0004)
    assert 1_999_000_000 < r.response.min_ns and r.response.max_ns < 2_006_000_000
    rows = section(report.render(r, "text"), "Distribution")
    edges = [(row.split()[0], row.split()[2]) for row in rows]
    assert len(rows) >= 5
    assert all(lo != hi for lo, hi in edges), rows
    assert all(a[1] == b[0] for a, b in zip(edges, edges[1:])), rows  # contiguous
    assert len({lo for lo, _ in edges}) == len(edges), rows
    assert sum(int(row.split()[3]) for row in rows) == r.completed


def test_a_narrow_runs_percentiles_read_differently():
    # p50 ... p99.9 all between 2.000 and 2.004 s used to read "p50 2.00s ... p99 2.00s"
    r = make_result([2002.0] * 5, noise=0.0004)
    (line,) = [ln for ln in report.render(r, "text").splitlines() if ln.startswith("  Percentiles")]
    values = line.split()[2::2]
    assert len(values) == 5 and len(set(values)) > 1, line
    assert all(v.startswith("2.00") and len(v) > len("2.00s") for v in values), line


def test_a_wide_distribution_keeps_its_short_labels():
    r = make_result([1.0, 10.0, 100.0, 1000.0], noise=0.3)
    rows = section(report.render(r, "text"), "Distribution")
    assert len(rows) == 10
    labels = [w for row in rows for w in row.split()[:3:2]]
    assert all(w.endswith("us") and "." not in w or len(w.split(".")[-1]) == len("00ms") or
               len(w.split(".")[-1]) == len("00s") for w in labels), rows  # format_ms's own labels


# ---------------------------------------------------------------- rate_limit once

@pytest.mark.slow
def test_rate_limit_warning_is_printed_once_with_two_workers(fresh_target, tmp_path):
    # two workers, one connection each, 20 ms a request: at most 100/s, asked for 400/s
    r = lunge("perf", "--url", f"{fresh_target.url}/delay/20", "--rps", 400, "--duration", "2s", "--concurrency", 2,
              "--workers", 2, "--format", "text", "--format", "json", "-o", tmp_path / "run.json")
    assert r.code == 0, r.err
    doc = json.loads((tmp_path / "run.json").read_text())
    assert doc["configuration"]["workers"] == 2
    assert [w for w in doc["warnings"] if w.startswith("rate_limit")] and \
        len([w for w in doc["warnings"] if w.startswith("rate_limit")]) == 1, doc["warnings"]
    shown = r.out + r.err
    assert shown.count("rate_limit:") == 1, shown
    assert "rate NOT sustained" in shown
