"""Config loading and validation: every kind of error is one line naming the file and the
bad field, with exit status 2 and no traceback."""
from __future__ import annotations

import copy
import json
import pathlib

import pytest
import yaml

from conftest import assert_one_line_error, run_lunge
from lunge.config import config_schema, load_config
from lunge.errors import ConfigError

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "items.json"

BASE = {
    "environments": {"dev": {"baseUrl": "http://127.0.0.1:9", "variables": {"a": "1"}},
                     "prod": {"baseUrl": "https://api.example.com"}},
    "schemas": {"thing": {"type": "object", "required": ["id"]}},
    "requests": {
        "getThing": {"url": "/things/{{id}}", "method": "GET", "extract": {"name": "$.name"}},
        "makeThing": {"url": "/things", "method": "POST", "body": {"n": 1}},
    },
    "suites": {"smoke": {"requests": ["makeThing"], "tests": [
        {"name": "t1", "request": "getThing", "assertions": [{"status": 200}, {"schema": "thing"}]}]}},
    "performance": {"load1": {"request": "getThing", "load": {"concurrency": 5, "duration": "10s"}}},
}


def write(tmp_path, doc, name="lunge.json") -> pathlib.Path:
    p = tmp_path / name
    p.write_text(json.dumps(doc) if name.endswith(".json") else yaml.safe_dump(doc))
    return p


def mutated(path: str, value) -> dict:
    """BASE with the value at a dotted path replaced (None deletes it)."""
    doc = copy.deepcopy(BASE)
    *parents, last = path.split("/")
    node = doc
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if value is None:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


def test_base_config_is_valid(tmp_path):
    cfg = load_config(write(tmp_path, BASE))
    assert list(cfg.requests) == ["getThing", "makeThing"]
    assert cfg.performance_test("load1").load.duration == 10.0


def test_yaml_and_json_load_the_same(tmp_path):
    a = load_config(write(tmp_path, BASE, "c.json"))
    b = load_config(write(tmp_path, BASE, "c.yaml"))
    assert a.data == b.data


def test_published_schema_matches_the_packaged_one():
    docs = json.loads((ROOT / "docs" / "config.schema.json").read_text())
    assert docs == config_schema()


def test_example_config_validates():
    proc = run_lunge("validate", "-c", str(EXAMPLE))
    assert proc.returncode == 0, proc.stderr
    assert "valid (2 environments, 5 requests, 1 suite, 1 schema, 2 performance tests)" in proc.stdout


def test_json_syntax_error_names_line_and_column(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text('{\n  "requests": {\n    "a": {"url": "/x",}\n  }\n}\n')
    assert_one_line_error(run_lunge("validate", "-c", str(p)), f"{p}:3:23: invalid JSON")


def test_yaml_syntax_error_names_line_and_column(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("requests:\n  a:\n    url: [unclosed\n")
    line = assert_one_line_error(run_lunge("validate", "-c", str(p)), "invalid YAML")
    assert f"{p}:" in line and line.split(":")[2].isdigit()


def test_missing_file(tmp_path):
    assert_one_line_error(run_lunge("validate", "-c", str(tmp_path / "nope.json")), "no such config file")


# (mutation path, new value, fragments the one-line error must contain)
SCHEMA_ERRORS = [
    ("requests/getThing/methd", "GET", ["$.requests.getThing", "unknown key 'methd'", "did you mean 'method'?"]),
    ("suitez", {}, ["$:", "unknown key 'suitez'", "did you mean 'suites'?"]),
    ("performance/load1/load/concurency", 3, ["$.performance.load1.load", "did you mean 'concurrency'?"]),
    ("suites/smoke/tests/0/assertions/0", {"jsonpath": "$.a", "exists": True}, ["did you mean 'jsonPath'?"]),
    ("requests/getThing/method", "FETCH", ["$.requests.getThing.method", '"FETCH"', "is not one of GET, POST"]),
    ("requests/getThing/url", None, ["$.requests.getThing", "missing required key 'url'"]),
    ("requests/getThing/timeout", "5x", ["$.requests.getThing.timeout", "expected a duration", '"5x"']),
    ("performance/load1/load/concurrency", "ten", ["$.performance.load1.load.concurrency", "expected an integer",
                                                   'string "ten"']),
    ("performance/load1/load/concurrency", 0, ["$.performance.load1.load.concurrency", "less than the minimum of 1"]),
    ("environments/dev/variables", {"a": {"nested": 1}}, ["$.environments.dev.variables.a",
                                                          "expected a string, number or boolean"]),
    ("suites/smoke/tests/0/assertions/0", {"status": "ok"}, ["assertions[0].status", "expected a status code"]),
    ("performance/load1/load/pattern", "spike", ["$.performance.load1.load.pattern", "expected one of constant, linear, step, or an object"]),
    ("performance/load1/load/pattern", {"type": "step", "stepz": []},
     ["$.performance.load1.load.pattern", "unknown key 'stepz'", "did you mean 'steps'?"]),
    ("performance/load1/load/warmup", {"duration": "1s", "iterations": 5}, ["warmup", "either duration or iterations"]),
    ("performance/load1/reporting", {"formats": ["pdf"]}, ["reporting.formats[0]", "not one of text, json, html, csv"]),
    ("requests/getThing/extract", {"x": "body.name"}, ["$.requests.getThing.extract.x", "expected a JSONPath"]),
]

SEMANTIC_ERRORS = [
    ("suites/smoke/requests", ["makeThin"], ["$.suites.smoke.requests[0]", "unknown request 'makeThin'",
                                             "did you mean 'makeThing'?", "defined: getThing, makeThing"]),
    ("performance/load1/request", "nope", ["$.performance.load1.request", "unknown request 'nope'"]),
    ("suites/smoke/tests/0/assertions/1", {"schema": "thng"}, ["unknown schema 'thng'", "did you mean 'thing'?"]),
    ("suites/smoke/tests/0/assertions/0", {"jsonPath": "$.[[", "exists": True}, ["assertions[0].jsonPath",
                                                                               "not a valid JSONPath"]),
    ("requests/getThing/extract", {"x": "$..[["}, ["$.requests.getThing.extract.x", "not a valid JSONPath"]),
    ("suites/smoke/tests/0/assertions/0", {"jsonPath": "$.a", "matches": "(unclosed"},
     ["assertions[0].matches", "not a valid regular expression"]),
    ("suites/smoke/tests/0/assertions/0", {"status": 200, "header": "X"}, ["exactly one of", "got status, header"]),
    ("suites/smoke/tests/0/assertions/0", {"status": 200, "equals": 1}, ["'equals' does not go with 'status'"]),
    ("suites/smoke/tests/0/assertions/0", {"header": "X", "isArray": True}, ["'isArray' does not go with 'header'"]),
    ("suites/smoke/tests/0/assertions/0", {"jsonPath": "$.a", "equals": 1, "contains": 1}, ["one check per assertion"]),
    ("schemas/thing", {"type": "thingy"}, ["$.schemas.thing: not a valid JSON Schema"]),
    ("performance/load1/load", {"iterations": 5, "duration": "1s"}, ["either iterations or duration, not both"]),
    ("performance/load1/load", {"concurrency": 2}, ["$.performance.load1.load: set iterations or duration"]),
    ("performance/load1/load", {"duration": "5s", "pattern": {"type": "linear", "endRps": 5}},
     ["a linear pattern needs 'duration'"]),
    ("performance/load1/load", {"duration": "5s", "pattern": "linear"}, ["ramps up to load.rps"]),
    ("performance/load1/load", {"duration": "5s", "pattern": {"type": "custom"}}, ["a custom pattern needs 'module'"]),
    ("performance/load1/thresholds", {"expressions": ["p(95) < fast"]},
     ["thresholds.expressions[0]", "is not a threshold expression"]),
    ("performance/load1/thresholds", {"expressions": ["errorRate < 5ms"]}, ["errorRate takes a fraction"]),
    ("performance/load1/thresholds", {"maxErrorRate": "150%"}, ["more than 100%"]),
    # JSON integers have no bound: float() of 10**400 raises OverflowError (found by the fuzz test)
    ("performance/load1/load/concurrency", 10 ** 400, ["$.performance.load1.load.concurrency: out of range"]),
    ("requests/getThing/timeout", -(10 ** 400), ["$.requests.getThing.timeout: out of range"]),
]


def test_huge_integers_in_the_users_own_data_are_kept(tmp_path):
    doc = mutated("requests/makeThing/body", {"n": 10 ** 400, "list": [-(2 ** 70)]})
    doc["environments"]["dev"]["variables"]["big"] = 10 ** 30
    doc["suites"]["smoke"]["tests"][0]["assertions"].append({"jsonPath": "$.n", "equals": 10 ** 30})
    cfg = load_config(write(tmp_path, doc))
    assert cfg.data["requests"]["makeThing"]["body"] == {"n": 10 ** 400, "list": [-(2 ** 70)]}


def test_a_request_named_like_a_data_field_is_still_checked(tmp_path):
    doc = mutated("requests/body", {"url": "/b", "timeout": 10 ** 400})
    with pytest.raises(ConfigError, match=r"\$\.requests\.body\.timeout: out of range"):
        load_config(write(tmp_path, doc))


@pytest.mark.parametrize("path,value,fragments", SCHEMA_ERRORS + SEMANTIC_ERRORS,
                         ids=[f"{p}={json.dumps(v)[:30]}" for p, v, _ in SCHEMA_ERRORS + SEMANTIC_ERRORS])
def test_validation_error(tmp_path, path, value, fragments):
    doc = mutated(path, value)
    p = write(tmp_path, doc)
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    msg = exc.value.message
    assert "\n" not in msg
    assert msg.startswith(f"{p}: "), msg
    for frag in fragments:
        assert frag in msg, (frag, msg)


def test_validation_errors_through_the_cli_are_one_line_exit_2(tmp_path):
    for path, value, fragments in (SCHEMA_ERRORS[0], SEMANTIC_ERRORS[0]):
        p = write(tmp_path, mutated(path, value))
        assert_one_line_error(run_lunge("validate", "-c", str(p)), *fragments)


def test_top_level_must_be_an_object(tmp_path):
    p = tmp_path / "list.json"
    p.write_text("[1, 2]")
    with pytest.raises(ConfigError, match=r"expected an object at the top level, got array"):
        load_config(p)


@pytest.mark.parametrize("args,fragments", [
    (["run", "-e", "staging2", "-r", "home"], ["unknown environment 'staging2'", "did you mean 'staging'?",
                                               "defined: local, staging"]),
    (["run", "-e", "local", "-r", "hom"], ["unknown request 'hom'", "did you mean 'home'?", "defined: createItem"]),
    (["test", "-e", "local", "-s", "itemz"], ["unknown suite 'itemz'", "did you mean 'items'?", "defined: items"]),
    (["test", "-e", "local", "-s", "items", "-t", "nope"], ["suite 'items' has no test 'nope'", "item is created"]),
    (["run", "-r", "home"], ["several environments, choose one with -e: local, staging"]),
])
def test_unknown_names_list_the_ones_that_exist(args, fragments):
    proc = run_lunge(*args, "-c", str(EXAMPLE))
    assert_one_line_error(proc, *fragments)


def test_unknown_performance_test_lists_the_ones_that_exist():
    cfg = load_config(EXAMPLE)
    with pytest.raises(ConfigError, match=r"unknown performance test 'fetchLod' \(did you mean 'fetchLoad'\?\); "
                                          r"defined: fetchLoad, smoke"):
        cfg.performance_test("fetchLod")


def test_performance_section_is_parsed_into_typed_settings():
    perf = load_config(EXAMPLE).performance_test("fetchLoad")
    assert perf.name == "Fetch the home page" and perf.request == "home"
    load = perf.load
    assert (load.concurrency, load.duration, load.rps, load.ramp_up, load.ramp_down) == (20, 30.0, 500, 5.0, 2.0)
    assert load.pattern.type == "step"
    assert [(s.rps, s.duration) for s in load.pattern.steps] == [(100, 10.0), (500, 20.0)]
    assert load.warmup.duration == 3.0 and load.warmup.iterations is None
    assert perf.monitoring.real_time and perf.monitoring.interval == 1.0 and perf.monitoring.resources
    th = perf.thresholds
    assert th.max_response_time_ms == 500.0 and th.max_error_rate == pytest.approx(0.01) and th.min_throughput == 100
    assert [(e.metric, e.op, e.value) for e in th.expressions] == [
        ("p95", "<", 200.0), ("mean", "<", 100.0), ("errorRate", "<", pytest.approx(0.005))]
    assert perf.reporting.formats == ("text", "json", "html")
    assert perf.reporting.output == {"json": "fetch-load.json", "html": "fetch-load.html"}
    smoke = load_config(EXAMPLE).performance_test("smoke")
    assert smoke.name == "smoke" and smoke.load.iterations == 100 and smoke.load.warmup.iterations == 10
    assert smoke.load.pattern.type == "constant"


@pytest.mark.parametrize("text,metric,op,value", [
    ("p(99.9)<1s", "p99.9", "<", 1000.0),
    ("p90 <= 250", "p90", "<=", 250.0),
    ("max<800us", "max", "<", 0.8),
    ("med < 20ms", "median", "<", 20.0),
    ("rps>100", "rps", ">", 100.0),
    ("throughput >= 5", "rps", ">=", 5.0),
    ("error_rate<0.02", "errorRate", "<", 0.02),
])
def test_threshold_expressions(text, metric, op, value):
    from lunge.analysis.thresholds import parse_threshold

    t = parse_threshold(text, "x")
    assert (t.metric, t.op, t.value) == (metric, op, pytest.approx(value))


def test_pattern_object_forms(tmp_path):
    doc = copy.deepcopy(BASE)
    doc["performance"] = {
        "lin": {"request": "getThing", "load": {"pattern": {"type": "linear", "startRps": 10, "endRps": 100,
                                                            "duration": "1m"}}},
        "cus": {"request": "getThing", "load": {"duration": "5s", "pattern": {"type": "custom",
                                                                              "module": "my.pkg:Spike"}}},
        "con": {"request": "getThing", "load": {"rps": 50, "iterations": 9, "pattern": {"type": "constant"}}},
    }
    cfg = load_config(write(tmp_path, doc))
    lin = cfg.performance_test("lin").load.pattern
    assert (lin.type, lin.start_rps, lin.end_rps, lin.duration) == ("linear", 10, 100, 60.0)
    assert cfg.performance_test("cus").load.pattern.module == "my.pkg:Spike"
    assert cfg.performance_test("con").load.pattern.rps == 50
