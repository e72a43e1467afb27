"""Flow results downstream of the engine: per-scenario and per-request results built from the
FlowEngine's contract tuples, merged over workers and shards, in the JSON (round trip, schema),
the analysis, scenario thresholds, and every report.  Synthetic tuples with known latencies."""
import csv
import io
import json

import jsonschema
import pytest
from synth_flows import hist_ms, scenario, step

from lunge import report
from lunge._native.contract import ScenarioSecond
from lunge.analysis import analyze, thresholds
from lunge.analysis import compare as comparing
from lunge.cli import finish
from lunge.config.scenario import load_any
from lunge.errors import EXIT_OK, EXIT_THRESHOLD, ConfigError
from lunge.results import RunResult, codec
from lunge.results.flows import ScenarioResult
from lunge.settings import Settings
from synth import make_result

LOGIN_A = list(range(1, 41))       # ms: worker A's 40 logins
LOGIN_B = list(range(41, 81))      # worker B's 40
PAY_A = [100] * 18 + [200] * 2     # two of them 503s


def worker_a():
    return (scenario("checkout", "constant-vus", [
        step("login", LOGIN_A, checks=[("status eq 200", 40, 0, "")]),
        step("pay", PAY_A, status={200: 18, 503: 2}, errors={"timeout": 1}, check_failures=1, extract_misses=2,
             checks=[("body contains ok", 17, 3, "body: 'ok' not found")]),
    ], started_s=0.5, ended_s=10.5, iterations=40, interrupted=1, max_vus=4, iteration_ms=[150] * 40, seconds=(
        ScenarioSecond(0, 30, 1, 10, 0, 4, 30_000_000, 5_000_000),
        ScenarioSecond(1, 31, 3, 30, 0, 3, 2_000_000_000, 200_000_000))),)


def worker_b():
    return (scenario("checkout", "constant-vus", [
        step("login", LOGIN_B, status={200: 39, 500: 1},
             checks=[("status eq 200", 39, 1, "status 500, expected 200")]),
        step("pay", [100] * 20, checks=[("body contains ok", 20, 0, "")]),
    ], started_s=0.4, ended_s=11.0, iterations=38, max_vus=4, iteration_ms=[250] * 38, seconds=(
        ScenarioSecond(1, 40, 1, 20, 0, 4, 3_000_000_000, 80_000_000),
        ScenarioSecond(2, 20, 0, 18, 0, 2, 2_000_000_000, 100_000_000))),
        scenario("browse", "constant-arrival-rate", [step("home", [5] * 50)], started_s=2.0, ended_s=7.0,
                 iterations=50, dropped=3, max_vus=6, vus_made=6, iteration_ms=[5] * 50, lateness_ms=[0.5] * 50))


def flow_result(parts=None, **kw) -> RunResult:
    """A RunResult whose totals match its scenarios (as a flow run's EngineResults would)."""
    scenarios = ScenarioResult.from_engines(parts if parts is not None else [worker_a(), worker_b()])
    r = make_result([10.0] * 12, **kw)
    r.versions = {"lunge": "test", "engine": "test", "libcurl": "8.0", "libcurlFile": "libcurl.so.4"}
    r.configuration.update(iterations=None, timeoutMs=None, http2=False)
    r.scenarios = scenarios
    return r


V2_FILE = """
name: shop
scenarios:
  checkout:
    executor: constant-vus
    vus: 4
    duration: 10s
    requests: [{name: login, url: "http://127.0.0.1:1/login"}, {name: pay, url: "http://127.0.0.1:1/pay"}]
  browse:
    executor: constant-arrival-rate
    rate: 10
    duration: 5s
    preAllocatedVUs: 6
    requests: [{name: home, url: "http://127.0.0.1:1/"}]
  ghost:
    executor: constant-vus
    vus: 1
    duration: 1s
    startTime: 1h
    requests: [{url: "http://127.0.0.1:1/"}]
thresholds:
  http_req_failed: ["rate < 0.5"]
  custom:
    checkout_duration: ["p95 < 300ms", "p99 < 150ms"]
    checkout_failed: ["rate < 0.01", "rate < 5%"]
    browse_duration: ["avg < 10ms"]
    ghost_duration: ["p95 < 1s"]
"""


def file_thresholds(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text(V2_FILE)
    return load_any(str(path)).thresholds.rules


# ---------------------------------------------------------------- model and merge

def test_workers_merge_exactly():
    (checkout, browse) = ScenarioResult.from_engines([worker_a(), worker_b()])
    assert (checkout.name, browse.name) == ("checkout", "browse")
    assert (checkout.iterations, checkout.interrupted, checkout.max_vus) == (78, 1, 8)
    assert (checkout.started_s, checkout.ended_s) == (0.4, 11.0)
    assert (checkout.requests, checkout.errors, checkout.failures) == (80 + 41, 1, 1 + 4)
    login, pay = checkout.steps
    assert (login.requests, login.failures, login.status_codes) == (80, 1, {200: 79, 500: 1})
    assert (pay.requests, pay.errors, pay.check_failures, pay.extract_misses) == (41, 1, 1, 2)
    assert pay.error_classes == {"timeout": 1} and pay.error_samples == {"timeout": "sample of timeout"}
    # checks by label; the first failure is the first non-empty one, whichever worker had it
    assert [(c.label, c.passed, c.failed, c.first_failure) for c in login.checks] == [
        ("status eq 200", 79, 1, "status 500, expected 200")]
    assert [(c.passed, c.failed, c.first_failure) for c in pay.checks] == [(37, 3, "body: 'ok' not found")]
    # histograms add exactly: the same as one recorded from every latency
    assert login.histogram == hist_ms(LOGIN_A + LOGIN_B)
    assert checkout.response == hist_ms(LOGIN_A + LOGIN_B + PAY_A + [100] * 20)
    assert checkout.histograms["iteration"].total == 78 and checkout.histograms["lateness"].total == 0
    # rows add by second, VUs too, max is the max
    assert [tuple(s) for s in checkout.seconds] == [
        (0, 30, 1, 10, 0, 4, 30_000_000, 5_000_000),
        (1, 71, 4, 50, 0, 7, 5_000_000_000, 200_000_000),
        (2, 20, 0, 18, 0, 2, 2_000_000_000, 100_000_000)]
    assert (browse.dropped, browse.vus_made, browse.histograms["lateness"].total) == (3, 6, 50)


def test_merging_leaves_the_engine_tuples_alone():
    a = worker_a()
    before = a[0].steps[0].histogram.copy()
    ScenarioResult.from_engines([a, worker_b()])
    assert a[0].steps[0].histogram == before


def test_run_merge_merges_scenarios_by_name_and_shifts_a_later_shard():
    one = flow_result([worker_a()])
    two = flow_result([worker_b()])
    two.start_wall_ns = one.start_wall_ns + 3_000_000_000  # the second shard started 3 s later
    merged = RunResult.merge([one, two], kind="shard")
    checkout, browse = merged.scenarios
    assert checkout.requests == 121 and browse.requests == 50
    assert (checkout.started_s, checkout.ended_s) == (0.5, 14.0)
    assert [s.sec for s in checkout.seconds] == [0, 1, 4, 5]
    assert (browse.started_s, browse.ended_s) == (5.0, 10.0)
    # the parts keep their own
    assert one.scenarios[0].requests == 61 and len(one.scenarios) == 1


def test_a_scenario_that_never_started_does_not_move_the_window():
    never = scenario("checkout", "constant-vus", [step("login", [])], started_s=-1, ended_s=-1, iterations=0,
                     max_vus=0, seconds=())
    (checkout,) = ScenarioResult.from_engines([(never,), worker_a()])
    assert (checkout.started_s, checkout.ended_s) == (0.5, 10.5)
    (alone,) = ScenarioResult.from_engines([(never,)])
    assert not alone.started


# ---------------------------------------------------------------- analysis

def test_analysis_figures_per_scenario_and_request():
    an = analyze(flow_result())
    checkout, browse = an.scenarios
    login = checkout["requests"]["login"]
    # latencies 1..80 ms: p50 is the 40th, p95 the 76th, p99 the 80th (3 significant digits)
    assert login["responseTimes"]["p50Ms"] == pytest.approx(40, rel=1e-3)
    assert login["responseTimes"]["p95Ms"] == pytest.approx(76, rel=1e-3)
    assert login["responseTimes"]["p99Ms"] == pytest.approx(80, rel=1e-3)
    assert login["responseTimes"]["meanMs"] == pytest.approx(40.5, rel=1e-9)  # exact
    assert login["errorRate"] == 1 / 80 and (login["checksPassed"], login["checksTotal"]) == (79, 80)
    pay = checkout["requests"]["pay"]
    assert pay["failedRequests"] == 4 and pay["errorRate"] == 4 / 41  # a failed check fails its request
    assert checkout["failedRequests"] == 5 and checkout["checkFailures"] == 1
    assert checkout["errorRate"] == 5 / 121
    assert checkout["durationS"] == pytest.approx(10.6) and checkout["rps"] == pytest.approx(121 / 10.6)
    assert checkout["iterationsPerSec"] == pytest.approx(78 / 10.6)
    # 80 logins, then 38 payments of 100 ms and 2 of 200 ms: p95 is the 114th (100 ms), p99 the 119th
    assert checkout["responseTimes"]["p95Ms"] == pytest.approx(100, rel=1e-3)
    assert checkout["responseTimes"]["p99Ms"] == pytest.approx(200, rel=1e-3)
    assert checkout["iterationDurations"]["meanMs"] == pytest.approx((40 * 150 + 38 * 250) / 78)
    assert browse["lateness"]["p50Ms"] == pytest.approx(0.5, rel=1e-3) and browse["rps"] == 10.0


def test_single_url_analysis_has_no_scenarios():
    assert analyze(make_result([10.0] * 5)).scenarios == []


# ---------------------------------------------------------------- JSON

def test_json_round_trip_is_exact(result_schema):
    r = flow_result()
    doc = json.loads(report.render(r, "json"))
    jsonschema.validate(doc, result_schema)
    back = codec.decode(doc)
    assert len(back.scenarios) == 2
    for want, got in zip(r.scenarios, back.scenarios):
        assert got == want  # every field, histograms by their counters and sums
    # and the document it makes again is the same, byte for byte
    assert report.render(back, "json") == report.render(r, "json")


def test_json_layout_of_a_scenario():
    doc = json.loads(report.render(flow_result(), "json"))
    sc = doc["scenarios"]["checkout"]
    assert list(doc["scenarios"]) == ["checkout", "browse"]
    assert (sc["executor"], sc["iterations"], sc["interrupted"], sc["dropped"], sc["maxVUs"]) == (
        "constant-vus", 78, 1, 0, 8)
    assert (sc["totalRequests"], sc["failures"], sc["errors"], sc["failedRequests"]) == (121, 5, 1, 5)
    assert set(sc["responseTimes"]) == set(doc["metrics"]["responseTimes"])  # the run's own latency keys
    assert sc["timeSeries"][1] == {"t": 1, "requests": 71, "failures": 4, "iterations": 50, "dropped": 0, "vus": 7,
                                   "sumNs": 5_000_000_000, "maxNs": 200_000_000}
    pay = sc["requests"]["pay"]
    assert pay["statusCodes"] == {"200": 38, "503": 2} and pay["errorClasses"] == {"timeout": 1}
    assert pay["checks"] == [{"label": "body contains ok", "passed": 37, "failed": 3,
                              "firstFailure": "body: 'ok' not found"}]
    assert pay["extractMisses"] == 2
    assert codec.decode_hist(pay["histogram"]) == hist_ms(PAY_A + [100] * 20)


def test_single_url_json_is_unchanged():
    """No `scenarios` key, and the rest as before flows: the same document as a result without
    the field at all (RunResult's default)."""
    r = make_result([10.0] * 12, failures_per_second=2)
    doc = json.loads(report.render(r, "json"))
    assert "scenarios" not in doc
    assert list(doc) == ["format", "testName", "startTime", "endTime", "durationMs", "interrupted", "configuration",
                         "lunge", "metrics", "analysis", "timeSeries", "histogram", "phaseHistograms", "counters",
                         "warnings", "stopReason", "resources"]
    assert codec.decode(doc).scenarios == []


@pytest.mark.parametrize("breakage, needle", [
    (lambda sc: sc["requests"]["pay"].update(errorClasses={"timeout": 2}),
     "scenarios.checkout.requests.pay: errorClasses add up to 2, errors is 1"),
    (lambda sc: sc["requests"]["pay"].update(errors=5), "the requests' errors add up to 5, the scenario's is 1"),
    (lambda sc: sc["requests"]["login"].update(statusCodes={"200": 3}), "statusCodes"),
    (lambda sc: sc.update(totalRequests=7), "totalRequests add up to 121"),
    (lambda sc: sc["requests"]["pay"].update(checkFailures=9), "checkFailures (9)"),
    (lambda sc: sc.update(timeSeries=[{"t": 0}]), "malformed lunge result"),
    (lambda sc: sc["timeSeries"].reverse(), "scenarios.checkout.timeSeries[1].t (1) is not after"),
    (lambda sc: sc["timeSeries"][0].update(t=-3), "timeSeries[0].t is negative (-3)"),
    (lambda sc: sc["requests"]["login"].update(totalRequests=-1), "malformed lunge result"),
])
def test_inconsistent_scenarios_are_refused(breakage, needle):
    doc = json.loads(report.render(flow_result(), "json"))
    breakage(doc["scenarios"]["checkout"])
    with pytest.raises(ConfigError, match="x.json") as e:
        codec.decode(doc, source="x.json")
    assert needle in e.value.message


# ---------------------------------------------------------------- thresholds

def test_scenario_thresholds_judge_that_scenario(tmp_path):
    an = analyze(flow_result())
    th = thresholds.evaluate(an, file_thresholds(tmp_path))
    got = {c["threshold"]: c for c in th["checks"]}
    assert list(got) == ["http_req_failed: rate < 0.5", "checkout_duration: p95 < 300ms",
                         "checkout_duration: p99 < 150ms", "checkout_failed: rate < 0.01", "checkout_failed: rate < 5%",
                         "browse_duration: avg < 10ms", "ghost_duration: p95 < 1s"]
    assert "scenario" not in got["http_req_failed: rate < 0.5"]
    p95 = got["checkout_duration: p95 < 300ms"]
    assert p95["scenario"] == "checkout" and p95["passed"] and p95["measured"] == pytest.approx(100, rel=1e-3)
    p99 = got["checkout_duration: p99 < 150ms"]
    assert not p99["passed"] and p99["measured"] == pytest.approx(200, rel=1e-3)
    assert not got["checkout_failed: rate < 0.01"]["passed"]
    assert got["checkout_failed: rate < 0.01"]["measured"] == 5 / 121
    assert got["checkout_failed: rate < 5%"]["passed"]
    assert got["browse_duration: avg < 10ms"]["measured"] == pytest.approx(5.0) and \
        got["browse_duration: avg < 10ms"]["passed"]
    ghost = got["ghost_duration: p95 < 1s"]
    assert ghost["measured"] is None and not ghost["passed"] and ghost["reason"] == "no iteration of scenario 'ghost' ran"
    assert th["passed"] is False
    assert thresholds.describe(ghost) == "ghost_duration: p95 < 1s: no iteration of scenario 'ghost' ran: FAILED"


def test_threshold_exit_status(tmp_path):
    rules = file_thresholds(tmp_path)
    r = flow_result()
    an = analyze(r)
    passing = [x for x in rules if x.text in ("p95 < 300ms", "rate < 5%", "avg < 10ms")]
    assert len(passing) == 3
    s = Settings()
    assert finish._status(r, thresholds.evaluate(an, passing), None, False, s, ran=True) == EXIT_OK
    failing = passing + [x for x in rules if x.scenario == "ghost"]
    assert finish._status(r, thresholds.evaluate(an, failing), None, False, s, ran=True) == EXIT_THRESHOLD


def test_threshold_results_in_the_json_and_the_reports(tmp_path, result_schema):
    r = flow_result()
    rep = report.Report(r)
    rep.thresholds = thresholds.evaluate(rep.analysis, file_thresholds(tmp_path))
    doc = json.loads(report.render(rep, "json"))
    jsonschema.validate(doc, result_schema)
    assert doc["thresholds"]["checks"][-1]["scenario"] == "ghost"
    text = report.render(rep, "text")
    line = next(l for l in text.splitlines() if "checkout_duration: p95 < 300ms" in l)
    assert "99.98ms" in line and line.endswith("passed")
    ghost = next(l for l in text.splitlines() if "ghost_duration" in l)
    assert "n/a" in ghost and "FAILED (no iteration of scenario 'ghost' ran)" in ghost
    page = report.render(rep, "html")
    assert "ghost_duration: p95 &lt; 1s" in page and "no iteration of scenario &#39;ghost&#39; ran" in page


# ---------------------------------------------------------------- text

def test_text_report_per_scenario_and_per_request_within_80_columns():
    r = flow_result()
    long = "a-very-long-request-name-that-goes-on-and-on"
    r.scenarios[0].steps[0].name = long
    text = report.render(r, "text")
    lines = text.splitlines()
    start = lines.index("  Scenario     checkout (constant-vus)")
    section = lines[start:lines.index("  Scenario     browse (constant-arrival-rate)") + 6]
    assert all(len(l) <= 80 for l in section), [l for l in section if len(l) > 80]
    assert section[1] == "    Iterations 78 in 10.60s, 1 interrupted; 8 VUs at most"
    assert section[2] == "    Requests   121, 11.4 req/s, 5 failed (4.13%), 1 by a check only"
    assert section[3] == "    Latency    p50 60.01ms  p95 99.98ms  p99 199.95ms"  # the 60th, 114th, 119th of 120
    header = section[4].split()
    assert header == ["request", "count", "failed", "p50", "p95", "p99", "checks"]
    login = section[5]
    assert login.startswith("    a-very-long-reque.. ") and login.split()[1:3] == ["80", "1.25%"]
    assert login.split()[-1] == "79/80"
    assert section[6] == "      status eq 200: 1 failed: status 500, expected 200"
    pay = section[7].split()
    assert pay[:3] == ["pay", "41", "9.76%"] and pay[-1] == "37/40"
    assert section[8] == "      body contains ok: 3 failed: body: 'ok' not found"
    # the columns line up under the header
    for row in (section[5], section[7]):
        assert row.index("%") + 1 == section[4].index("failed") + len("failed")
    browse = lines[lines.index("  Scenario     browse (constant-arrival-rate)") + 1]
    assert browse == "    Iterations 50 in 5.00s, 0 interrupted, 3 dropped; 6 VUs at most"


def test_long_failure_messages_are_cut_to_80_columns():
    parts = [(scenario("s", "constant-vus", [step("x" * 90, [1.0], checks=[("c" * 30, 0, 1, "why " * 40)])]),)]
    text = report.render(flow_result(parts), "text")
    sec = text[text.index("  Scenario     s"):text.index("  Insights")]
    assert "    xxxxxxxxxxxxxxxxx..        1 " in sec
    assert all(len(l) <= 80 for l in sec.splitlines())
    assert "      " + "c" * 30 + ": 1 failed: why why" in sec


def test_single_url_text_has_no_scenario_section():
    assert "Scenario" not in report.render(make_result([10.0] * 5), "text")


# ---------------------------------------------------------------- HTML

class _Tables(__import__("html.parser").parser.HTMLParser):
    """Every <table>'s rows as lists of cell texts, and every chart's name."""

    def __init__(self):
        super().__init__()
        self.tables, self.charts, self._cell = [], [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "svg" and dict(attrs).get("data-chart"):
            self.charts.append(dict(attrs)["data-chart"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(self._cell.strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def html_tables(page: str) -> _Tables:
    p = _Tables()
    p.feed(page)
    return p


def table_with(tables, header0: str) -> list:
    return next(t for t in tables if t and t[0] and t[0][0] == header0 and len(t[0]) > 2)


def test_html_scenario_request_and_check_tables_and_charts():
    page = report.render(flow_result(), "html")
    found = html_tables(page)
    scen = table_with(found.tables, "scenario")
    assert scen[0][:4] == ["scenario", "executor", "iterations", "interrupted"]
    assert scen[1] == ["checkout", "constant-vus", "78", "1", "0", "8", "121", "11.4/s", "4.13%", "60.01ms", "99.98ms",
                       "199.95ms"]
    assert scen[2][:6] == ["browse", "constant-arrival-rate", "50", "0", "3", "6"]
    reqs = next(t for t in found.tables if t[0][:2] == ["scenario", "request"] and "checks" in t[0])
    assert reqs[1] == ["checkout", "login", "80", "1.25%", "39.99ms", "75.99ms", "79.99ms", "79/80"]
    assert reqs[3][:2] == ["browse", "home"] and reqs[3][-1] == "-"
    checks = next(t for t in found.tables if "first failure" in t[0])
    assert checks[1:] == [["checkout", "login", "status eq 200", "79", "1", "status 500, expected 200"],
                          ["checkout", "pay", "body contains ok", "37", "3", "body: 'ok' not found"]]
    assert {"scenario-checkout", "scenario-browse"} <= set(found.charts)


def test_html_of_a_single_url_run_has_no_scenario_section():
    page = report.render(make_result([10.0] * 5), "html")
    assert "<h2>Scenarios</h2>" not in page and "scenario-" not in page


@pytest.mark.slow
@pytest.mark.skipif(__import__("chromium").CHROMIUM is None, reason="Debian's chromium is not installed")
def test_html_scenario_charts_render_in_chromium(tmp_path):
    import chromium

    page = tmp_path / "flow.html"
    report.write(flow_result(), "html", str(page))
    found = chromium.probe(page, tmp_path)
    assert found["errors"] == [] and found["resources"] == []
    charts = {c["name"]: c for c in found["charts"]}
    # checkout: three seconds, two lines and the failed bars, its VUs a line of their own; browse:
    # one second, drawn as a bar
    for name, marks in (("scenario-checkout", 3), ("scenario-checkout-vus", 1), ("scenario-browse", 1),
                        ("scenario-browse-vus", 1)):
        assert not charts[name]["empty"] and charts[name]["marks"] >= marks and charts[name]["width"] > 300, \
            charts[name]


# ---------------------------------------------------------------- CSV

def test_csv_per_request_file_beside_the_series(tmp_path):
    path = tmp_path / "run.csv"
    written = report.write(flow_result(), "csv", str(path))
    assert written == [str(path), str(tmp_path / "run.percentiles.csv"), str(tmp_path / "run.requests.csv")]
    assert report.files_of("csv", str(path), scenarios=True) == written
    rows = list(csv.DictReader(io.StringIO((tmp_path / "run.requests.csv").read_text())))
    assert [(r["scenario"], r["request"]) for r in rows] == [("checkout", "login"), ("checkout", "pay"),
                                                             ("browse", "home")]
    pay = rows[1]
    assert (pay["requests"], pay["failures"], pay["errors"], pay["checkFailures"], pay["failedRequests"]) == (
        "41", "4", "1", "1", "4")
    assert float(pay["errorRate"]) == pytest.approx(4 / 41, abs=1e-6)
    assert (pay["checksPassed"], pay["checksTotal"], pay["extractMisses"]) == ("37", "40", "2")
    assert float(rows[0]["p95Ms"]) == pytest.approx(76, rel=1e-3)


def test_csv_of_a_single_url_run_writes_no_request_file(tmp_path):
    path = tmp_path / "run.csv"
    assert len(report.write(make_result([10.0] * 5), "csv", str(path))) == 2
    assert not (tmp_path / "run.requests.csv").exists()


# ---------------------------------------------------------------- compare

def _slower_pay():
    """Worker A's checkout with every payment 10x slower, and a scenario the baseline lacks."""
    (checkout,) = worker_a()
    slow = step("pay", [1000] * 18 + [2000] * 2, status={200: 18, 503: 2}, errors={"timeout": 1}, check_failures=1,
                checks=[("body contains ok", 17, 3, "x")])
    resp = hist_ms(LOGIN_A + [1000] * 18 + [2000] * 2)
    checkout = checkout._replace(steps=(checkout.steps[0], slow), histograms={**checkout.histograms, "response": resp})
    extra = scenario("search", "constant-vus", [step("q", [3] * 10)])
    return (checkout, extra)


def test_compare_per_scenario():
    base = analyze(flow_result([worker_a(), worker_b()]))
    cur = analyze(flow_result([_slower_pay()]))
    c = comparing.compare(base, cur)
    sc = c["scenarios"]
    assert (sc["onlyBaseline"], sc["onlyCurrent"]) == (["browse"], ["search"])
    (checkout,) = sc["compared"]
    rows = {m["metric"]: m for m in checkout["metrics"]}
    assert list(rows) == ["p95Ms", "p99Ms", "errorRate", "rps"]
    assert rows["p95Ms"]["baseline"] == pytest.approx(100, rel=1e-3)
    assert rows["p95Ms"]["current"] == pytest.approx(1000, rel=1e-3)
    assert rows["p95Ms"]["verdict"] == "regressed" and checkout["verdict"] == "regressed"
    assert rows["rps"]["method"] == "too few seconds to test" and rows["rps"]["verdict"] == "unchanged"
    assert c["verdict"] == "regressed"  # the run-wide figures (the same synthetic totals) did not move
    assert {m["verdict"] for m in c["metrics"]} == {"unchanged"}
    text = comparing.render_text(c)
    assert "  scenario checkout: regressed" in text and "  only in the baseline: browse" in text
    assert "  only in the current run: search" in text


def test_compare_same_scenarios_is_unchanged_and_in_the_json(result_schema):
    base = analyze(flow_result())
    rep = report.Report(flow_result())
    rep.comparison = comparing.compare(base, rep.analysis)
    assert rep.comparison["verdict"] == "unchanged"
    assert [s["verdict"] for s in rep.comparison["scenarios"]["compared"]] == ["unchanged", "unchanged"]
    doc = json.loads(report.render(rep, "json"))
    jsonschema.validate(doc, result_schema)
    assert "scenario checkout: unchanged" in report.render(rep, "text")


def test_compare_of_single_url_runs_has_no_scenarios():
    c = comparing.compare(analyze(make_result([10.0] * 5)), analyze(make_result([10.0] * 5, seed=2)))
    assert "scenarios" not in c and "scenario" not in comparing.render_text(c)


def test_regression_exit_names_the_scenario(capsys):
    c = comparing.compare(analyze(flow_result()), analyze(flow_result([_slower_pay()])))
    s = Settings(fail_on_regression=True, compare=True)
    assert finish._status(flow_result(), None, c, True, s, ran=True) == EXIT_THRESHOLD
    assert "regression against the baseline: checkout p95 +" in capsys.readouterr().err


def test_compare_judges_the_failed_share_it_shows_checks_included():
    """errorRate counts failed checks (the issue's rule): a scenario whose every request now fails
    a check has regressed, and the test behind the verdict must be on the same counts."""
    ok = scenario("api", "constant-vus", [step("get", [10] * 200, checks=[("status eq 200", 200, 0, "")])])
    bad = scenario("api", "constant-vus", [step("get", [10] * 200, check_failures=200,
                                                checks=[("body contains ok", 0, 200, "body: 'ok' not found")])])
    c = comparing.compare(analyze(flow_result([(ok,)])), analyze(flow_result([(bad,)])))
    (api,) = c["scenarios"]["compared"]
    rows = {m["metric"]: m for m in api["metrics"]}
    assert (rows["errorRate"]["baseline"], rows["errorRate"]["current"]) == (0.0, 1.0)
    assert rows["errorRate"]["verdict"] == "regressed" and api["verdict"] == "regressed"
