"""Thresholds: config `thresholds` and `--threshold EXPR` pass (exit 0) and fail (exit 1,
saying which, measured vs limit) against the embedded target."""
import json
import re

import jsonschema
import pytest

from conftest import assert_one_line_error, lunge, run_lunge
from lunge.analysis import analyze
from lunge.analysis.thresholds import Thresholds, evaluate, from_config, parse_threshold
from synth import make_result


def perf(target, *args, path="/delay/5", cwd=None):
    return lunge("perf", "--url", f"{target.url}{path}", "--concurrency", 4, "-n", 200, *args, cwd=cwd)


@pytest.mark.slow
def test_passing_thresholds_exit_0(fresh_target, result_schema):
    r = perf(fresh_target, "--threshold", "p99 < 2s", "--threshold", "rate(errors) < 0.01", "--threshold", "rps > 10",
             "--format", "json")
    assert r.code == 0, r.err
    doc = r.json()
    th = doc["thresholds"]
    assert th["passed"] is True and [c["threshold"] for c in th["checks"]] == [
        "p99 < 2s", "rate(errors) < 0.01", "rps > 10"]
    p99 = next(c for c in th["checks"] if c["metric"] == "p99")
    assert p99["limit"] == 2000 and p99["measured"] == pytest.approx(doc["metrics"]["responseTimes"]["p99Ms"])
    jsonschema.validate(doc, result_schema)


@pytest.mark.slow
def test_failing_threshold_exits_1_and_says_which(fresh_target):
    r = perf(fresh_target, "--threshold", "p50 < 1ms", "--threshold", "rps > 1")
    assert r.code == 1, (r.code, r.err)
    # the text report lists each threshold with measured and limit
    lines = [l for l in r.out.splitlines() if "p50 < 1ms" in l]
    assert len(lines) == 1 and "FAILED" in lines[0] and "limit <  1.00ms" in lines[0]
    assert any("rps > 1" in l and "passed" in l for l in r.out.splitlines())
    # and stderr names it too, for CI logs where stdout is a JSON file
    err = [l for l in r.err.splitlines() if "threshold_exceeded" in l]
    assert len(err) == 1 and "limit < 1 ms" in err[0]
    measured = re.search(r"p50 < 1ms: measured (\d+\.\d\d) ms", err[0])
    assert measured and float(measured.group(1)) >= 5.0  # /delay/5


def test_error_rate_threshold_fails_on_503s(fresh_target):
    r = perf(fresh_target, "--threshold", "errorRate < 5%", path="/mix/200:9,503:1")
    assert r.code == 1
    assert "measured 10.00%, limit < 5%" in r.err


@pytest.mark.slow
def test_config_thresholds_apply(fresh_target, tmp_path):
    cfg = {
        "environments": {"local": {"baseUrl": fresh_target.url}},
        "requests": {"slow": {"url": "/delay/20"}},
        "performance": {
            "tight": {"request": "slow", "load": {"concurrency": 2, "iterations": 40},
                      "thresholds": {"maxResponseTime": "10ms", "minThroughput": 1}},
            "loose": {"request": "slow", "load": {"concurrency": 2, "iterations": 40},
                      "thresholds": {"maxResponseTime": {"p99.9": "1s"}, "maxErrorRate": "1%",
                                     "expressions": ["p(99) < 2s"]}},
        },
    }
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    tight = lunge("perf", "-c", path, "-e", "local", "-p", "tight", "--format", "json")
    assert tight.code == 1
    checks = {c["threshold"]: c for c in tight.json()["thresholds"]["checks"]}
    mrt = checks["maxResponseTime: p95 <= 10ms"]
    assert mrt["metric"] == "p95" and not mrt["passed"] and mrt["measured"] >= 20
    assert checks["minThroughput: rps >= 1"]["passed"]
    loose = lunge("perf", "-c", path, "-e", "local", "-p", "loose", "--format", "json")
    assert loose.code == 0, loose.err
    checks = loose.json()["thresholds"]["checks"]
    assert [c["threshold"] for c in checks] == ["maxResponseTime: p99.9 <= 1000ms", "maxErrorRate: errorRate <= 0.01",
                                                "p(99) < 2s"]
    assert checks[0]["metric"] == "p99.9" and checks[0]["passed"]
    # --threshold adds to the config's; --no-thresholds drops them all
    more = lunge("perf", "-c", path, "-e", "local", "-p", "loose", "--threshold", "max < 1ms")
    assert more.code == 1 and "max < 1ms" in more.err
    assert lunge("perf", "-c", path, "-e", "local", "-p", "tight", "--no-thresholds").code == 0


def test_bad_threshold_is_a_one_line_usage_error(fresh_target):
    proc = run_lunge("perf", "--url", f"{fresh_target.url}/", "-n", "5", "--threshold", "p99 <> 3")
    assert_one_line_error(proc, "--threshold", "p99 <> 3")
    assert fresh_target.stats()["requests"] == 0  # rejected before any load


def test_evaluate_on_a_synthetic_result():
    r = make_result([10.0] * 10, failures_per_second=2)
    exprs = from_config(Thresholds(max_response_time_ms=9.0, max_error_rate=0.02, min_throughput=150))
    exprs.append(parse_threshold("p(50) <= 10.5ms", "x"))
    got = evaluate(analyze(r), exprs)
    assert [c["passed"] for c in got["checks"]] == [False, True, True, True]
    assert got["passed"] is False
    assert got["checks"][1]["measured"] == pytest.approx(0.01)
    assert got["checks"][2]["measured"] == pytest.approx(200)


def test_latency_threshold_on_a_run_without_responses_fails(closed_port):
    r = lunge("perf", "--url", f"http://127.0.0.1:{closed_port}/", "-n", 5, "--threshold", "p99 < 1s")
    assert r.code == 1


@pytest.mark.parametrize("mrt,needle", [({"p99": "soon"}, "maxResponseTime"), ({"q99": "1s"}, "maxResponseTime"),
                                        ({"p150": "1s"}, "percentile")])
def test_bad_max_response_time_is_a_config_error(tmp_path, mrt, needle):
    cfg = {"requests": {"r": {"url": "http://127.0.0.1:1/"}},
           "performance": {"t": {"request": "r", "load": {"iterations": 1}, "thresholds": {"maxResponseTime": mrt}}}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    assert_one_line_error(run_lunge("perf", "-c", str(path), "-p", "t"), needle)
