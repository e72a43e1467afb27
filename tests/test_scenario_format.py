"""The v2 scenario file (the original Go Lunge's `lunge perf -c FILE` format): the original's
own examples validate, bad files are one line naming the JSON path (exit 2), the typed model
holds what the engine needs, and the schedule functions follow k6's / the original's semantics.
All offline: nothing here sends a request."""
from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import pathlib
import tempfile

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_lunge
from lunge.analysis.thresholds import ThresholdExpr, parse_threshold
from lunge.cli.main import main
from lunge.config import scenario as sc
from lunge.config.scenario import Executor, Stage, TestFile, load_any
from lunge.errors import ConfigError

ROOT = pathlib.Path(__file__).resolve().parent.parent
GO_V2 = ROOT / "tests" / "data" / "go-lunge" / "v2"
V2_EXAMPLES = sorted(p.name for p in GO_V2.glob("*.yaml") if p.name != "jsonplaceholder-test.yaml")

BASE = {
    "name": "t",
    "settings": {"baseUrl": "http://127.0.0.1:9", "headers": {"Accept": "application/json"}},
    "variables": {"user": "u-{{vuId}}", "plain": "p"},
    "scenarios": {
        "browse": {"executor": "constant-vus", "vus": 2, "duration": "10s", "requests": [
            {"name": "login", "method": "POST", "url": "{{baseUrl}}/login", "body": {"u": "{{user}}"},
             "extract": [{"name": "token", "source": "body", "path": "$.token"}],
             "assertions": [{"type": "status", "condition": "eq", "value": "200"}]},
            {"name": "list", "url": "/items", "headers": {"Authorization": "Bearer {{token}}"}, "thinkTime": "1s"},
        ]},
        "orders": {"executor": "ramping-arrival-rate", "preAllocatedVUs": 2, "maxVUs": 5,
                   "stages": [{"duration": "5s", "target": 10}, {"duration": "5s", "target": 0}],
                   "requests": [{"url": "{{baseUrl}}/orders?by={{plain}}", "method": "post"}]},
    },
    "thresholds": {"http_req_duration": ["p95 < 500ms"], "http_req_failed": ["rate < 0.01"],
                   "http_reqs": ["count > 10"], "custom": {"orders_duration": ["p99 < 1s"]}},
    "options": {"sequential": False},
}


def write(tmp_path, doc, name="perf.yaml") -> pathlib.Path:
    p = tmp_path / name
    p.write_text(json.dumps(doc) if name.endswith(".json") else yaml.safe_dump(doc, sort_keys=False))
    return p


def mutated(changes: dict) -> dict:
    """BASE with the values at slash-separated paths replaced (None deletes)."""
    doc = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, last = path.split("/")
        node = doc
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if value is None:
            del node[int(last) if isinstance(node, list) else last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return doc


def cli(capsys, *args) -> tuple[int, str, list[str]]:
    """`lunge ARGS` in this process (main() as the console script runs it): exit status,
    stdout and stderr lines."""
    with pytest.raises(SystemExit) as e:
        main(list(map(str, args)))
    out, err = capsys.readouterr()
    return e.value.code, out, err.splitlines()


def one_line_error(capsys, *args) -> str:
    code, out, err = cli(capsys, *args)
    assert code == 2, (code, out, err)
    assert len(err) == 1 and err[0].startswith("lunge: "), err
    assert "Traceback" not in out
    return err[0]


# ---------------------------------------------------------------- the original's examples

def test_published_schema_matches_the_packaged_one():
    docs = json.loads((ROOT / "docs" / "scenario.schema.json").read_text())
    assert docs == sc.scenario_schema()


@pytest.mark.parametrize("name", V2_EXAMPLES)
def test_every_v2_example_of_the_original_validates(capsys, name):
    code, out, err = cli(capsys, "validate", "-c", GO_V2 / name)
    assert code == 0, err
    first = out.splitlines()[0]
    assert first.startswith(f"{GO_V2 / name}: valid v2 scenario file ")
    tf = load_any(GO_V2 / name)
    assert isinstance(tf, TestFile) and tf.scenarios
    assert len(out.splitlines()) == 1 + len(tf.scenarios)  # one line per scenario
    assert all(line.startswith("lunge: warning: ") for line in err)


def test_the_examples_are_the_thirteen_v2_files_of_the_original():
    assert len(V2_EXAMPLES) == 13
    assert (GO_V2 / "LICENSE").read_text().startswith("BSD 3-Clause License")


def test_jsonplaceholder_is_not_a_v2_file_and_fails_in_one_line(capsys):
    line = one_line_error(capsys, "validate", "-c", GO_V2 / "jsonplaceholder-test.yaml")
    assert "jsonplaceholder-test.yaml: $: unknown key 'name'" in line


def test_validate_and_perf_end_to_end_in_a_subprocess(tmp_path):
    ok = run_lunge("validate", "-c", str(GO_V2 / "v2-multi-scenario.yaml"))
    assert ok.returncode == 0, ok.stderr
    assert "4 scenarios in parallel" in ok.stdout and "from 2m" in ok.stdout
    p = write(tmp_path, mutated({"scenarios/browse/vu": 3}))
    bad = run_lunge("validate", "-c", str(p))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert "$.scenarios.browse: unknown key 'vu' (did you mean 'vus'?)" in bad.stderr


def test_the_warning_for_a_variable_nothing_defines(capsys):
    code, _, err = cli(capsys, "validate", "-c", GO_V2 / "v2-basic-load-test.yaml")
    assert code == 0
    assert err == [f"lunge: warning: {GO_V2 / 'v2-basic-load-test.yaml'}: "
                   "$.scenarios.basic_load.requests[0].headers.X-Request-ID: undefined variable 'requestId': "
                   "sent as the literal text {{requestId}}, as the original Lunge does"]
    req = load_any(GO_V2 / "v2-basic-load-test.yaml").scenarios[0].requests[0]
    assert req.literal == {"requestId"} and "requestId" in req.refs


def test_multi_scenario_model():
    tf = load_any(GO_V2 / "v2-multi-scenario.yaml")
    assert isinstance(tf, TestFile)
    assert tf.name == "Multi-Scenario Load Test"
    assert [s.name for s in tf.scenarios] == ["browsing_users", "active_users", "api_integration", "background_jobs"]
    assert tf.settings.base_url == "${BASE_URL:-https://httpbin.org}"
    assert (tf.settings.timeout, tf.settings.max_connections_per_host, tf.settings.user_agent) == (
        30.0, 200, "lunge/2.0-multi-scenario")
    assert tf.options.iterations_timeout == 45.0 and not tf.options.sequential

    browse = tf.scenario("browsing_users")
    assert browse.executor == Executor("ramping-vus", start_vus=0, stages=(
        Stage(120.0, 50, "ramp-up"), Stage(480.0, 100, "steady"), Stage(120.0, 0, "ramp-down")))
    assert (browse.graceful_stop, browse.start_time) == (15.0, 0.0)
    assert (browse.pacing.type, browse.pacing.min, browse.pacing.max) == ("random", 2.0, 5.0)
    assert browse.tags == {"user_type": "browser", "behavior": "read-heavy"}
    home = browse.requests[0]
    assert (home.name, home.method, home.url, home.think_time, home.timeout) == (
        "Homepage", "GET", "{{baseUrl}}/get", 3.0, 30.0)
    assert home.headers == (("Accept", "application/json"), ("X-Test-Type", "multi-scenario"),
                            ("User-Agent", "lunge/2.0-multi-scenario"))
    assert home.static and home.refs == {"baseUrl"}

    active = tf.scenario("active_users")
    assert (active.executor.type, active.executor.vus, active.executor.duration, active.start_time) == (
        "constant-vus", 20, 600.0, 60.0)
    login, submit = active.requests[0], active.requests[2]
    assert ("Authorization", "Bearer {{api_key}}") in login.headers and login.static  # ${API_KEY:-...}: per run
    assert not submit.static and "iteration" in submit.refs  # "test{{iteration}}@example.com"

    api = tf.scenario("api_integration").executor
    assert (api.rate, api.time_unit, api.duration, api.pre_allocated_vus, api.max_vus) == (50, 1.0, 600.0, 25, 100)
    slow = tf.scenario("api_integration").requests[0].assertions[1]
    assert (slow.type, slow.condition, slow.number) == ("duration", "lt", 0.5)
    jobs = tf.scenario("background_jobs").executor
    assert jobs.start_rate == 5  # the original starts at the first stage's target

    custom = {t.metric: t for t in tf.thresholds.rules if t.scenario}
    assert set(custom) == {"api_integration_duration", "background_jobs_duration", "browsing_users_duration"}
    assert custom["api_integration_duration"].scenario == "api_integration"
    assert custom["api_integration_duration"].expr == ThresholdExpr(
        "p95", "<", 500.0, "api_integration_duration: p95 < 500ms")
    assert len(tf.thresholds.run_wide()) == 4 and len(tf.thresholds.for_scenario("background_jobs")) == 1


def test_a_trailing_yaml_document_is_not_read():
    """v2-integration-test.yaml ends with `---` and a commented-out document: yaml.v3 reads the first."""
    tf = load_any(GO_V2 / "v2-integration-test.yaml")
    assert [s.executor.type for s in tf.scenarios] == [
        "constant-vus", "ramping-vus", "constant-arrival-rate", "ramping-arrival-rate"]


def test_a_second_document_is_never_parsed(tmp_path):
    p = tmp_path / "two.yaml"
    p.write_text(yaml.safe_dump(BASE) + "---\nthis: [is not, valid yaml\n")
    assert isinstance(load_any(p), TestFile)


def test_json_and_yaml_give_the_same_model(tmp_path):
    a, b = load_any(write(tmp_path, BASE, "p.json")), load_any(write(tmp_path, BASE, "p.yaml"))
    assert isinstance(a, TestFile) and isinstance(b, TestFile)
    assert a.scenarios == b.scenarios and a.thresholds == b.thresholds and a.settings == b.settings


def test_the_example_flow_validates_without_warnings(capsys):
    code, out, err = cli(capsys, "validate", "-c", ROOT / "examples" / "flow.yaml")
    assert code == 0 and err == []
    assert "2 scenarios in parallel, 6 thresholds" in out
    tf = load_any(ROOT / "examples" / "flow.yaml")
    item = tf.scenario("shoppers").requests[2]
    assert item.refs == {"baseUrl", "token", "itemId", "itemUrl"} and not item.literal and not item.static


# ---------------------------------------------------------------- detection and the other commands

@pytest.mark.parametrize("doc,is_v2", [
    ({"scenarios": {}}, True),
    ({"name": "x"}, True),
    ({"settings": {}}, True),
    ({"name": "x", "requests": {}}, False),
    ({"requests": {}}, False),
    ({}, False),
    ([1], False),
])
def test_detection(doc, is_v2):
    assert sc.is_scenario_document(doc) is is_v2


def test_load_scenario_file_takes_only_v2_files():
    assert sc.load_scenario_file(GO_V2 / "v2-soak-test.yaml").name == "Soak Test"
    with pytest.raises(ConfigError, match=r"items\.json: not a v2 scenario file"):
        sc.load_scenario_file(ROOT / "examples" / "items.json")


def test_a_name_without_scenarios_is_a_v2_file_that_needs_them(tmp_path, capsys):
    line = one_line_error(capsys, "validate", "-c", write(tmp_path, {"name": "x"}))
    assert line.endswith("$: missing required key 'scenarios'")


def test_perf_refuses_v1_options_with_a_v2_file_in_one_line(tmp_path, capsys):
    p = write(tmp_path, BASE)
    assert one_line_error(capsys, "perf", "-c", p, "-p", "x") == (
        "lunge: -p/-r/-e/--var are for v1 config files: a v2 file's scenarios all run")


def test_perf_gives_a_bad_v2_files_own_error(tmp_path, capsys):
    p = write(tmp_path, mutated({"scenarios/browse/duration": None}))
    line = one_line_error(capsys, "perf", "-c", p)
    assert "$.scenarios.browse: a constant-vus scenario needs 'duration'" in line


@pytest.mark.parametrize("command", [["run", "-r", "x"], ["test", "-s", "x"]])
def test_run_and_test_say_a_v2_file_is_not_theirs(tmp_path, capsys, command):
    p = write(tmp_path, BASE)
    line = one_line_error(capsys, *command, "-c", p)
    assert f"{p}: a v2 scenario file" in line and "lunge validate" in line


# ---------------------------------------------------------------- bad files: one line, exit 2

S, B, O = "scenarios/browse", "scenarios/browse/requests", "scenarios/orders"
BAD = [
    # schema
    ({f"{S}/executor": "constant-vu"}, ["$.scenarios.browse.executor", '"constant-vu" is not one of constant-vus']),
    ({f"{S}/vu": 3}, ["$.scenarios.browse: unknown key 'vu' (did you mean 'vus'?)"]),
    ({"settings/baseURL": "http://x"}, ["$.settings: unknown key 'baseURL' (did you mean 'baseUrl'?)"]),
    ({"scenarios": {}}, ["$.scenarios: expected an object of named scenarios (at least one)"]),
    ({f"{S}/requests": []}, ["$.scenarios.browse.requests: expected an array of requests (at least one), got an empty array"]),
    ({f"{S}/duration": "10x"}, ["$.scenarios.browse.duration: expected a duration", '"10x"']),
    ({f"{S}/vus": 0}, ["$.scenarios.browse.vus", "less than the minimum of 1"]),
    ({f"{S}/vus": 10 ** 400}, ["$.scenarios.browse.vus", "greater than the maximum"]),
    ({f"{B}/0/extract/0/source": "cookie"}, ['extract[0].source: "cookie" is not one of body, header, status']),
    ({f"{B}/0/assertions/0/condition": "equals"}, ['assertions[0].condition: "equals" is not one of eq, ne']),
    ({f"{B}/0/assertions/0/value": None}, ["assertions[0]: missing required key 'value'"]),
    ({"thresholds/http_req_durations": ["p95<1s"]}, ["did you mean 'http_req_duration'?"]),
    ({"options/sequencial": True}, ["$.options: unknown key 'sequencial' (did you mean 'sequential'?)"]),
    ({f"{S}/pacing": {"type": "randm"}}, ['$.scenarios.browse.pacing.type: "randm" is not one of none']),
    # executors
    ({f"{S}/duration": None}, ["$.scenarios.browse: a constant-vus scenario needs 'duration'"]),
    ({f"{S}/rate": 5}, ["$.scenarios.browse.rate: 'rate' does not apply to a constant-vus scenario "
                        "(constant-vus takes vus, duration)"]),
    ({f"{S}/duration": "0s"}, ["$.scenarios.browse.duration: '0s' must be more than 0"]),
    ({f"{O}/maxVUs": 1}, ["$.scenarios.orders.preAllocatedVUs: 2 is more than maxVUs (1)"]),
    ({f"{O}/maxVUs": None, f"{O}/preAllocatedVUs": None},
     ["$.scenarios.orders: a ramping-arrival-rate scenario needs 'preAllocatedVUs' or 'maxVUs'"]),
    ({f"{O}/stages": None}, ["$.scenarios.orders: a ramping-arrival-rate scenario needs 'stages'"]),
    ({f"{O}/duration": "10s"}, ["$.scenarios.orders.duration: 'duration' does not apply to a ramping-arrival-rate"]),
    ({f"{O}/stages": [{"duration": "0s", "target": 5}]}, ["$.scenarios.orders.stages: the stages last 0s in all"]),
    ({f"{O}/timeUnit": "0s"}, ["$.scenarios.orders.timeUnit: '0s' must be more than 0"]),
    ({f"{S}/executor": "per-vu-iterations", f"{S}/duration": None},
     ["$.scenarios.browse: a per-vu-iterations scenario needs 'iterations'"]),
    ({f"{S}/executor": "shared-iterations", f"{S}/duration": None, f"{S}/iterations": 1},
     ["$.scenarios.browse.iterations: 1 iterations cannot be shared by 2 VUs"]),
    ({f"{S}/maxDuration": "1m"}, ["'maxDuration' does not apply to a constant-vus scenario"]),
    ({f"{S}/pacing": {"type": "constant"}}, ["$.scenarios.browse.pacing: constant pacing needs 'duration'"]),
    ({f"{S}/pacing": {"type": "random", "min": "3s", "max": "1s"}}, ["pacing: min (3s) is more than max (1s)"]),
    ({f"{S}/pacing": {"type": "none", "min": "1s"}}, ["pacing.min: 'min' does not go with none pacing"]),
    # requests
    ({f"{B}/0/url": "ftp://x/y"}, ["requests[0].url: 'ftp://x/y' is not an http:// or https:// URL"]),
    ({"settings/baseUrl": None}, ["requests[1].url: '/items' is not absolute and settings.baseUrl is not set"]),
    ({f"{B}/1/url": "/it ems"}, ["requests[1].url: '/it ems' contains whitespace"]),
    ({f"{B}/0/method": "FETCH"}, ["requests[0].method: 'FETCH' is not one of GET, POST"]),
    ({f"{B}/1/headers": {"X-A": "a\r\nb"}}, ["requests[1].headers.X-A: the value of header 'X-A' contains a line break"]),
    ({f"{B}/1/headers": {"Bad Name": "x"}}, ["header name 'Bad Name' is not a valid name"]),
    ({f"{B}/0/body": {"u": "{{$nope}}"}}, ["requests[0].body.u: unknown built-in {{$nope}}"]),
    ({f"{B}/0/body": "{{}}"}, ["requests[0].body: empty placeholder"]),
    # extraction and assertions
    ({f"{B}/0/extract/0/path": "token"}, ["extract[0].path: 'token' is not a JSONPath", "did you mean '$.token'?"]),
    ({f"{B}/0/extract/0/path": "$..[["}, ["extract[0].path: '$..[[' is not a valid JSONPath"]),
    ({f"{B}/0/extract/0/regex": "(unclosed"}, ["extract[0].regex: '(unclosed' is not a valid regular expression"]),
    ({f"{B}/0/extract/0": {"name": "x", "source": "header"}}, ["extract[0]: source header needs 'path'"]),
    ({f"{B}/0/extract/0": {"name": "x", "source": "status", "path": "$.a"}},
     ["extract[0].path: source status takes no path"]),
    ({f"{B}/0/assertions/0/value": "2xx"}, ["assertions[0].value: '2xx' is not a status code such as 200"]),
    ({f"{B}/0/assertions/0": {"type": "duration", "condition": "lt", "value": "fast"}},
     ["assertions[0].value: 'fast' is not a duration"]),
    ({f"{B}/0/assertions/0": {"type": "duration", "condition": "contains", "value": "1s"}},
     ["assertions[0].condition: a duration assertion compares times"]),
    ({f"{B}/0/assertions/0": {"type": "body", "path": "$.n", "condition": "gt", "value": "abc"}},
     ["assertions[0].value: 'abc': gt compares numbers"]),
    ({f"{B}/0/assertions/0": {"type": "body", "condition": "matches", "value": "(bad"}},
     ["assertions[0].value: '(bad' is not a valid regular expression"]),
    ({f"{B}/0/assertions/0": {"type": "body", "condition": "matches", "value": "{{token}}"}},
     ["matches takes a literal regular expression"]),
    ({f"{B}/0/assertions/0": {"type": "header", "condition": "eq", "value": "x"}},
     ["assertions[0]: a header assertion needs 'path'"]),
    ({f"{B}/0/assertions/0": {"type": "status", "path": "$.a", "condition": "eq", "value": 200}},
     ["assertions[0].path: a status assertion takes no path"]),
    # variables
    ({"variables": {"a": "{{b}}", "b": "{{a}}"}}, ["$.variables.a: variable 'a' refers to itself (a -> b -> a)"]),
    ({"settings/baseUrl": "http://{{host}}"}, ["$.settings.baseUrl: {{host}}: baseUrl may use variables"]),
    # thresholds
    ({"thresholds/http_req_failed": ["p95 < 1s"]}, ["$.thresholds.http_req_failed[0]", "http_req_failed has rate, not 'p95'"]),
    ({"thresholds/http_reqs": ["avg < 1s"]}, ["$.thresholds.http_reqs[0]", "http_reqs has count, rate, not 'avg'"]),
    ({"thresholds/http_req_duration": ["rate < 0.1"]}, ["$.thresholds.http_req_duration[0]", "not 'rate'"]),
    ({"thresholds/http_req_duration": ["p95 < fast"]}, ["'fast' is not a latency"]),
    ({"thresholds/http_req_duration": ["p95 500ms"]}, ["p95 500ms' is not a threshold expression"]),
    ({"thresholds/http_reqs": ["count > lots"]}, ["http_reqs[0]: 'http_reqs: count > lots' is not a threshold expression: 'lots' is not a plain number"]),
    ({"thresholds/custom": {"order_duration": ["p95 < 1s"]}},
     ["$.thresholds.custom.order_duration: not SCENARIO_duration or SCENARIO_failed",
      "did you mean 'orders_duration'?"]),
]


@pytest.mark.parametrize("changes,fragments", BAD, ids=[json.dumps(c)[:60] for c, _ in BAD])
def test_bad_file_is_one_line_naming_the_path(tmp_path, capsys, changes, fragments):
    p = write(tmp_path, mutated(changes), "bad.json")
    line = one_line_error(capsys, "validate", "-c", p)
    assert line.startswith(f"lunge: {p}: $"), line
    for frag in fragments:
        assert frag in line, (frag, line)


def test_a_nan_rate_is_refused(tmp_path):
    p = tmp_path / "nan.yaml"
    doc = mutated({f"{O}/executor": "constant-arrival-rate", f"{O}/stages": None, f"{O}/rate": 1, f"{O}/duration": "5s"})
    p.write_text(yaml.safe_dump(doc).replace("rate: 1\n", "rate: .nan\n"))
    with pytest.raises(ConfigError, match=r"\$\.scenarios\.orders\.rate: nan is not a number of iterations"):
        load_any(p)


# ---------------------------------------------------------------- variables: defined, extracted, literal

def test_variables_tags_builtins_and_earlier_extracts_are_defined(tmp_path):
    doc = mutated({f"{S}/tags": {"flow": "f"}, f"{B}/1/url": "/items/{{flow}}/{{iteration}}/{{token}}?{{$uuid}}"})
    tf = load_any(write(tmp_path, doc))
    assert tf.warnings == ()
    login, items = tf.scenario("browse").requests
    assert login.refs == {"baseUrl", "user", "vuId"} and not login.static  # user's value uses {{vuId}}
    assert items.url == "http://127.0.0.1:9/items/{{flow}}/{{iteration}}/{{token}}?{{$uuid}}"  # joined to baseUrl
    assert items.refs == {"flow", "iteration", "token"} and not items.literal
    orders = tf.scenario("orders").requests[0]
    assert orders.method == "POST" and orders.static and orders.refs == {"baseUrl", "plain"}


def test_a_variable_extracted_only_later_is_a_warning(tmp_path):
    tf = load_any(write(tmp_path, mutated({f"{B}/0/url": "{{baseUrl}}/login?t={{token}}"})))
    assert tf.warnings == (
        f"{tmp_path / 'perf.yaml'}: $.scenarios.browse.requests[0].url: variable 'token' is extracted only by "
        "this request, so a VU's first iteration sends the literal text {{token}} (as the original Lunge does)",)
    assert tf.scenario("browse").requests[0].literal == {"token"}


def test_an_undefined_variable_warns_with_a_hint(tmp_path):
    tf = load_any(write(tmp_path, mutated({f"{B}/1/headers": {"Authorization": "Bearer {{tokn}}"}})))
    (warning,) = tf.warnings
    assert "$.scenarios.browse.requests[1].headers.Authorization: undefined variable 'tokn' (did you mean " \
           "'token'?): sent as the literal text {{tokn}}" in warning


def test_settings_headers_are_merged_and_a_requests_own_win(tmp_path):
    doc = mutated({"settings/userAgent": "ua/1", f"{B}/1/headers": {"accept": "text/plain", "X-B": 2}})
    items = load_any(write(tmp_path, doc)).scenario("browse").requests[1]
    assert items.headers == (("accept", "text/plain"), ("User-Agent", "ua/1"), ("X-B", "2"))
    login = load_any(write(tmp_path, doc)).scenario("browse").requests[0]
    assert ("Content-Type", "application/json") in login.headers  # an object body is sent as JSON


def test_pacing_on_an_arrival_rate_scenario_is_a_warning(tmp_path):
    tf = load_any(write(tmp_path, mutated({f"{O}/pacing": {"type": "constant", "duration": "1s"}})))
    assert len(tf.warnings) == 1 and "$.scenarios.orders.pacing: no effect" in tf.warnings[0]


@pytest.mark.parametrize("pool,expected", [
    ({"maxVUs": 40, "preAllocatedVUs": None}, (1, 40)),       # the original's defaults
    ({"maxVUs": None, "preAllocatedVUs": 3}, (3, 100)),
    ({"maxVUs": None, "preAllocatedVUs": 150}, (150, 150)),
])
def test_arrival_rate_pool_defaults(tmp_path, pool, expected):
    tf = load_any(write(tmp_path, mutated({f"{O}/{k}": v for k, v in pool.items()})))
    ex = tf.scenario("orders").executor
    assert (ex.pre_allocated_vus, ex.max_vus) == expected


def test_constant_arrival_rate_max_vus_defaults_to_ten_times_the_pool(tmp_path):
    doc = mutated({f"{O}/executor": "constant-arrival-rate", f"{O}/stages": None, f"{O}/rate": 30,
                   f"{O}/timeUnit": "1m", f"{O}/duration": "1m", f"{O}/maxVUs": None})
    ex = load_any(write(tmp_path, doc)).scenario("orders").executor
    assert (ex.pre_allocated_vus, ex.max_vus, ex.rate, ex.time_unit) == (2, 20, 30, 60.0)
    assert sc.rate_at(ex, 0) == 0.5  # 30 per minute


# ---------------------------------------------------------------- JSON paths

@pytest.mark.parametrize("text,native,steps", [
    ("$", True, ()),
    ("$.a.b[0].c", True, ("a", "b", 0, "c")),
    ("$.0.id", True, ("0", "id")),            # gjson's dot index, as the original reads it
    ("$['a b'].c", True, ("a b", "c")),
    ('$["x"][2]', True, ("x", 2)),
    ("$.a-b", True, ("a-b",)),
    ("$..id", False, ()),
    ("$.items[*].id", False, ()),
    ("$.items[?(@.n > 2)]", False, ()),
    ("$[-1]", False, ()),
    ("$.a[0:2]", False, ()),
])
def test_json_paths_are_native_or_python(text, native, steps):
    p = sc.parse_json_path(text, "x")
    assert (p.native, p.steps) == (native, steps)


@pytest.mark.parametrize("text,found,value", [
    ("$.data.0.id", True, 7),
    ("$.data[0].id", True, 7),
    ("$.0", True, "zero"),                    # on an object, digits are a key
    ("$.data[3]", False, None),
    ("$.data.id", False, None),
    ("$", True, {"data": [{"id": 7}], "0": "zero"}),
])
def test_resolving_native_paths(text, found, value):
    doc = {"data": [{"id": 7}], "0": "zero"}
    assert sc.resolve(sc.parse_json_path(text, "x"), doc) == (found, value)


# ---------------------------------------------------------------- thresholds

def _count_supported() -> bool:
    try:
        parse_threshold("count > 1", "x")
        return True
    except ConfigError:
        return False


@pytest.mark.parametrize("metric,text,expected", [
    ("http_req_duration", "p95 < 500ms", ("p95", "<", 500.0)),
    ("http_req_duration", "avg < 200ms", ("mean", "<", 200.0)),
    ("http_req_duration", "med <= 1s", ("median", "<=", 1000.0)),  # the original's code takes the mean
    ("http_req_duration", "p(99.9) < 2s", ("p99.9", "<", 2000.0)),
    ("http_req_failed", "rate < 0.01", ("errorRate", "<", 0.01)),
    ("http_req_failed", "rate < 2%", ("errorRate", "<", 0.02)),
    ("http_reqs", "rate > 100", ("rps", ">", 100.0)),
])
def test_threshold_adapter(metric, text, expected):
    expr = sc.threshold_expression(metric, text, "x")
    assert isinstance(expr, ThresholdExpr)
    assert (expr.metric, expr.op, expr.value) == (expected[0], expected[1], pytest.approx(expected[2]))
    assert expr.text == f"{metric}: {text}"


def test_count_thresholds_wait_for_the_grammar():
    expr = sc.threshold_expression("http_reqs", "count > 10000", "x")
    if _count_supported():
        assert isinstance(expr, ThresholdExpr) and (expr.metric, expr.value) == ("count", 10000)
    else:
        assert expr == ("count", ">", 10000.0)


# ---------------------------------------------------------------- schedules

def ramp(start, *stages):
    return Executor("ramping-vus", start_vus=start, stages=tuple(Stage(d, t) for d, t in stages))


def arrivals(start, *stages, unit=1.0):
    return Executor("ramping-arrival-rate", start_rate=start, time_unit=unit,
                    stages=tuple(Stage(d, t) for d, t in stages), pre_allocated_vus=1, max_vus=10)


CONSTANT = Executor("constant-arrival-rate", rate=10, time_unit=1.0, duration=10.0, pre_allocated_vus=1, max_vus=10)


@pytest.mark.parametrize("ex,t,vus", [
    (ramp(0, (10, 10), (20, 10), (10, 0)), -1, 0),
    (ramp(0, (10, 10), (20, 10), (10, 0)), 0, 0),
    (ramp(0, (10, 10), (20, 10), (10, 0)), 5, 5),
    (ramp(0, (10, 10), (20, 10), (10, 0)), 9.9, 10),     # 9.9 rounds to the nearest
    (ramp(0, (10, 10), (20, 10), (10, 0)), 25, 10),
    (ramp(0, (10, 10), (20, 10), (10, 0)), 35, 5),
    (ramp(0, (10, 10), (20, 10), (10, 0)), 39.9, 0),
    (ramp(0, (10, 10), (20, 10), (10, 0)), 40, 0),       # the end: no VUs
    (ramp(0, (4, 1)), 2, 1),                             # 0.5 rounds up, as the original
    (ramp(5, (10, 15)), 0, 5),                           # k6's startVUs
    (ramp(5, (10, 15)), 5, 10),
    (ramp(0, (0, 10), (10, 10)), 0, 10),                 # a 0s stage jumps
    (Executor("constant-vus", vus=3, duration=10.0), 9.99, 3),
    (Executor("constant-vus", vus=3, duration=10.0), 10, 0),
    (Executor("per-vu-iterations", vus=4, iterations=2, max_duration=60.0), 30, 4),
])
def test_vus_at(ex, t, vus):
    assert sc.vus_at(ex, t) == vus


@pytest.mark.parametrize("ex,t,rate", [
    (CONSTANT, 0, 10.0),
    (CONSTANT, 9.99, 10.0),
    (CONSTANT, 10, 0.0),
    (arrivals(10, (10, 10), (10, 0)), 0, 10.0),          # the original: start at the first target
    (arrivals(10, (10, 10), (10, 0)), 15, 5.0),
    (arrivals(10, (10, 10), (10, 0)), 20, 0.0),
    (arrivals(0, (10, 10)), 5, 5.0),                     # k6's startRate: 0
    (arrivals(0, (10, 60), unit=60.0), 5, 0.5),          # 60 per minute at the end of 10s: 1/s
    (arrivals(0, (0, 20), (10, 20)), 0, 20.0),           # a 0s stage jumps
])
def test_rate_at(ex, t, rate):
    assert sc.rate_at(ex, t) == pytest.approx(rate)


@pytest.mark.parametrize("ex,t,n", [
    (CONSTANT, 2.5, 25.0),
    (CONSTANT, 99, 100.0),
    (arrivals(0, (10, 10), (10, 0)), 5, 12.5),
    (arrivals(0, (10, 10), (10, 0)), 10, 50.0),
    (arrivals(0, (10, 10), (10, 0)), 15, 87.5),
    (arrivals(0, (10, 10), (10, 0)), 20, 100.0),
    (arrivals(0, (10, 10), (10, 0)), -1, 0.0),
])
def test_iterations_by(ex, t, n):
    assert sc.iterations_by(ex, t) == pytest.approx(n)


@pytest.mark.parametrize("ex,k,t", [
    (CONSTANT, 0, 0.0),
    (CONSTANT, 3, 0.3),
    (CONSTANT, 99, 9.9),
    (CONSTANT, 100, None),                               # would start at the end
    (arrivals(0, (10, 10)), 2, 2.0),                     # N(t) = t^2/2
    (arrivals(0, (10, 10)), 49, math.sqrt(98)),
    (arrivals(0, (10, 10)), 50, None),
    (arrivals(0, (10, 10), (10, 0)), 50, 10.0),
    (arrivals(0, (10, 10), (10, 0)), 88, 10 + 10 - math.sqrt(24)),  # 10t - t^2/2 = 38 on the way down
    (arrivals(5, (0, 0), (10, 0)), 0, None),             # a rate of 0 starts nothing
])
def test_iteration_start(ex, k, t):
    got = sc.iteration_start(ex, k)
    assert got == (None if t is None else pytest.approx(t))


@pytest.mark.parametrize("ex", [CONSTANT, arrivals(0, (10, 10), (10, 0)), arrivals(3, (7, 40), (0, 5), (13, 5))])
def test_iteration_start_inverts_iterations_by(ex):
    for k in range(sc.total_iterations(ex) or 0):
        t = sc.iteration_start(ex, k)
        assert t is not None and sc.iterations_by(ex, t) == pytest.approx(k, abs=1e-6)
    assert sc.iteration_start(ex, sc.total_iterations(ex) or 0) is None


@pytest.mark.parametrize("ex,n", [
    (CONSTANT, 100),
    (arrivals(0, (10, 10), (10, 0)), 100),
    (arrivals(0, (3, 1)), 2),                            # 1.5 iterations' worth: at 0s and at 2s
    (Executor("per-vu-iterations", vus=3, iterations=4, max_duration=600.0), 12),
    (Executor("shared-iterations", vus=2, iterations=7, max_duration=600.0), 7),
    (Executor("constant-vus", vus=3, duration=10.0), None),
])
def test_total_iterations(ex, n):
    assert sc.total_iterations(ex) == n


def _file(sequential: bool) -> TestFile:
    a = sc.Scenario("a", Executor("constant-vus", vus=1, duration=10.0), (), graceful_stop=5.0)
    b = sc.Scenario("b", ramp(0, (5, 2), (15, 0)), (), start_time=3.0)
    c = sc.Scenario("c", Executor("per-vu-iterations", vus=1, iterations=1, max_duration=60.0), (), graceful_stop=0.0)
    return TestFile("f", "f", None, sc.ScenarioSettings(), {}, (a, b, c), options=sc.Options(sequential=sequential))


@pytest.mark.parametrize("sequential,windows,total", [
    (False, [("a", 0, 10, 15), ("b", 3, 23, 53), ("c", 0, 60, 60)], 60),
    (True, [("a", 0, 10, 15), ("b", 18, 38, 68), ("c", 68, 128, 128)], 128),
])
def test_scenario_schedule(sequential, windows, total):
    tf = _file(sequential)
    assert [(w.scenario, w.start, w.stop, w.end) for w in sc.scenario_schedule(tf)] == windows
    assert sc.total_duration(tf) == total


@pytest.mark.parametrize("seconds,text", [
    (0, "0s"), (0.25, "250ms"), (30, "30s"), (90, "1m30s"), (299, "4m59s"), (3600, "1h"), (3661, "1h1m1s"),
])
def test_format_seconds(seconds, text):
    assert sc.format_seconds(seconds) == text


# ---------------------------------------------------------------- hostile files: bounded work

def test_variables_nested_exponentially_are_checked_once_each(tmp_path):
    """a0 uses a1 twice, a1 uses a2 twice ...: 2^40 paths, 40 variables to look into."""
    variables = {f"a{i}": f"{{{{a{i + 1}}}}}-{{{{a{i + 1}}}}}" for i in range(40)} | {"a40": "{{vuId}}"}
    tf = load_any(write(tmp_path, mutated({"variables": variables, f"{B}/1/url": "/x/{{a0}}"}), "p.json"))
    assert "a40" in tf.scenario("browse").requests[1].refs


def test_a_long_chain_of_variables_needs_no_recursion(tmp_path):
    variables = {f"v{i}": f"{{{{v{i + 1}}}}}" for i in range(20000)} | {"v20000": "end"}
    tf = load_any(write(tmp_path, mutated({"variables": variables, f"{B}/1/url": "/x/{{v0}}"}), "p.json"))
    assert "v20000" in tf.scenario("browse").requests[1].refs
    variables["v20000"] = "{{v0}}"
    with pytest.raises(ConfigError, match=r"\$\.variables\.v0: variable 'v0' refers to itself \(v0 -> v1 -> "):
        load_any(write(tmp_path, mutated({"variables": variables}), "p.json"))


def test_the_checking_work_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(sc, "MAX_CHECK_WORK", 50)
    doc = mutated({f"{B}/1/url": "/x" + "/{{plain}}" * 60})
    with pytest.raises(ConfigError, match=r"more than 50 placeholder uses to check"):
        load_any(write(tmp_path, doc, "p.json"))


def test_warnings_are_capped(tmp_path):
    tf = load_any(write(tmp_path, mutated({f"{B}/1/url": "/x" + "".join(f"/{{{{u{i}}}}}" for i in range(150))})))
    assert len(tf.warnings) == 101 and tf.warnings[-1].endswith(": 50 more warnings")


# ---------------------------------------------------------------- fuzzed: never a traceback

FUZZ = settings(max_examples=int(os.environ.get("LUNGE_FUZZ_EXAMPLES", 300)), deadline=None,
                suppress_health_check=[HealthCheck.too_slow], derandomize=bool(os.environ.get("CI")))
FUZZ_DIR = pathlib.Path(tempfile.mkdtemp(prefix="lunge-v2-fuzz-"))
MULTI = yaml.safe_load((GO_V2 / "v2-multi-scenario.yaml").read_text())
_texts = st.one_of(st.text(max_size=20), st.sampled_from(["", "{{", "{{x}}", "{{}}", "{{$uuid}}", "${HOME}", "$.a",
                                                          "$..[", "(", "1e999", "nan", "-1s", "10s", "p95 < 1s"]))
_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from([10 ** 400, -1, 0, 2 ** 63]),
                     st.floats(allow_nan=True), _texts)
_values = st.recursive(_scalars, lambda kids: st.one_of(st.lists(kids, max_size=3),
                                                         st.dictionaries(_texts, kids, max_size=3)), max_leaves=8)


def _paths(doc, prefix=()):
    yield prefix
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for k, v in items:
        yield from _paths(v, prefix + (k,))


@pytest.mark.slow
@FUZZ
@given(st.lists(st.tuples(st.sampled_from([p for p in _paths(MULTI) if p]), _values, st.booleans()),
                min_size=1, max_size=3), st.sampled_from(["f.json", "f.yaml"]))
def test_mutated_v2_files_fail_cleanly(changes, name):
    doc = copy.deepcopy(MULTI)
    for path, value, delete in changes:
        with contextlib.suppress(KeyError, IndexError, TypeError):  # an earlier change removed the path
            parent = doc
            for k in path[:-1]:
                parent = parent[k]
            if delete:
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
    p = FUZZ_DIR / name
    with contextlib.suppress(ValueError):  # YAML cannot write every float; JSON writes NaN and huge integers
        p.write_text(json.dumps(doc) if name.endswith(".json") else yaml.safe_dump(doc))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as e:
        main(["validate", "-c", str(p)])
    lines = err.getvalue().splitlines()
    assert "Traceback" not in err.getvalue()
    if e.value.code == 0:
        assert all(line.startswith("lunge: warning: ") for line in lines)
    else:
        assert e.value.code == 2 and len(lines) == 1 and lines[0].startswith("lunge: "), err.getvalue()
