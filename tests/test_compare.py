"""Comparisons against the embedded target: `lunge compare A.json B.json` says "unchanged"
for two runs of the same server and "regressed" when it is made 30% slower; the baseline
store behind --baseline / --compare."""
import json
import os

import jsonschema
import pytest

from conftest import assert_one_line_error, lunge, run_lunge


def run_to(target, path, out, *extra, cwd=None):
    # 10 s: nine whole seconds each side, enough for the Mann-Whitney test at 1%
    r = lunge("perf", "--url", f"{target.url}{path}", "--concurrency", 10, "--duration", "10s",
              "--format", "json", "-o", out, *extra, cwd=cwd)
    assert r.code == 0, r.err
    return r


@pytest.fixture(scope="module")
def three_runs(target, tmp_path_factory):
    d = tmp_path_factory.mktemp("cmp")
    target.reset()
    runs = {}
    # 50 ms answers: a few ms of scheduling noise on a busy machine (it moved one run's p99 from 13.5
    # to 17.9 ms against /delay/10) stays far below the 30% a tail percentile must move.
    for name, path in (("a", "/delay/50"), ("b", "/delay/50"), ("slow", "/delay/65")):
        runs[name] = str(d / f"{name}.json")
        run_to(target, path, runs[name])
    return runs


@pytest.mark.slow
def test_same_server_twice_is_unchanged(three_runs):
    r = lunge("compare", three_runs["a"], three_runs["b"])
    assert r.code == 0, r.err
    assert "Verdict      unchanged" in r.out


@pytest.mark.slow
def test_server_made_30_percent_slower_is_regressed(three_runs):
    r = lunge("compare", three_runs["a"], three_runs["slow"], "--format", "json")
    assert r.code == 0, r.err
    c = r.json()
    assert c["verdict"] == "regressed"
    p50 = next(m for m in c["metrics"] if m["metric"] == "p50Ms")
    assert p50["verdict"] == "regressed" and 20 <= p50["deltaPct"] <= 45 and p50["pValue"] < 0.01
    assert "Mann-Whitney" in p50["method"]
    # the other way round it is an improvement
    back = lunge("compare", three_runs["slow"], three_runs["a"], "--format", "json").json()
    assert back["verdict"] == "improved"


@pytest.mark.slow
def test_fail_on_regression_and_tolerance(three_runs):
    assert lunge("compare", three_runs["a"], three_runs["slow"], "--fail-on-regression").code == 1
    assert lunge("compare", three_runs["a"], three_runs["b"], "--fail-on-regression").code == 0
    # a 30% change inside a 60% tolerance is not a regression
    loose = lunge("compare", three_runs["a"], three_runs["slow"], "--tolerance", "60%", "--fail-on-regression")
    assert loose.code == 0 and "Verdict      unchanged" in loose.out


@pytest.mark.slow
def test_compare_bad_inputs_are_one_line_errors(tmp_path, three_runs):
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    assert_one_line_error(run_lunge("compare", str(bad), three_runs["a"]), str(bad), "not a lunge result")
    assert_one_line_error(run_lunge("compare", str(tmp_path / "nope.json"), three_runs["a"]), "cannot read")
    assert_one_line_error(run_lunge("compare", three_runs["a"], three_runs["b"], "--tolerance", "lots"),
                          "--tolerance", "lots")


@pytest.mark.slow
def test_baseline_store_save_then_compare(fresh_target, tmp_path, result_schema):
    first = run_to(fresh_target, "/delay/50", str(tmp_path / "1.json"), "--baseline", cwd=tmp_path)
    stored = list((tmp_path / ".lunge" / "baselines").iterdir())
    assert len(stored) == 1 and stored[0].name.endswith("@default.json")
    assert "baseline saved to" in first.err
    # the stored baseline is an ordinary result
    jsonschema.validate(json.loads(stored[0].read_text()), result_schema)

    slow_url = "/delay/65"
    # a different URL is a different test: no baseline for it
    r = lunge("perf", "--url", f"{fresh_target.url}{slow_url}", "-n", 20, "--compare", cwd=tmp_path)
    assert r.code == 0 and "no baseline" in r.err

    # same test name (--name), slower server: regressed, exit 1 with --fail-on-regression, baseline kept
    name = f"GET {fresh_target.url}/delay/50"
    r = lunge("perf", "--url", f"{fresh_target.url}{slow_url}", "--name", name, "--concurrency", 10,
              "--duration", "10s", "--compare", "--baseline", "--fail-on-regression", "--format", "json", cwd=tmp_path)
    assert r.code == 1, r.err
    doc = r.json()
    assert doc["comparison"]["verdict"] == "regressed"
    jsonschema.validate(doc, result_schema)
    assert "regression against the baseline" in r.err and "not saved" in r.err
    assert json.loads(stored[0].read_text())["testName"] == name
    assert json.loads(stored[0].read_text())["startTime"] == json.loads((tmp_path / "1.json").read_text())["startTime"]


def test_environment_names_the_baseline(tmp_path):
    from lunge.analysis import baselines

    p = baselines.path_for("Fetch the home page", "staging", root=str(tmp_path))
    assert p == os.path.join(str(tmp_path), ".lunge", "baselines", "Fetch_the_home_page@staging.json")
    assert baselines.find("Fetch the home page", "staging", root=str(tmp_path)) is None
    baselines.save("{}", "Fetch the home page", "staging", root=str(tmp_path))
    assert baselines.find("Fetch the home page", "staging", root=str(tmp_path)) == p


def test_fail_on_regression_needs_compare(fresh_target):
    proc = run_lunge("perf", "--url", f"{fresh_target.url}/", "-n", "5", "--fail-on-regression")
    assert_one_line_error(proc, "--fail-on-regression", "--compare")
    assert fresh_target.stats()["requests"] == 0
