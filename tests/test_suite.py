"""`lunge test` and `lunge run`: the example suite green against the embedded target, every
assertion type passing and failing, extraction flowing between requests, exit codes, and
reports (JUnit parsed back with a real XML parser)."""
from __future__ import annotations

import json
import pathlib
import xml.etree.ElementTree as ET

import pytest
import yaml

from conftest import assert_one_line_error, run_lunge
from lunge.client.suite import run_suite
from lunge.config import load_config

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "items.json"


def test_example_suite_runs_green(target):
    target.reset()
    proc = run_lunge("test", "-c", str(EXAMPLE), "-e", "local", "-s", "items", "--format", "json",
                     env={"LUNGE_TARGET_PORT": str(target.port)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["summary"] == {"tests": 4, "passed": 4, "failed": 0}
    assert [t["name"] for t in report["tests"]] == [
        "item is created", "item can be fetched", "item is listed", "echo sees query, headers and body"]
    assert all(a["passed"] for t in report["tests"] for a in t["assertions"])
    assert sum(len(t["assertions"]) for t in report["tests"]) == 28
    # The server saw exactly the flow: create, fetch the created id, list, echo.
    stats = target.stats()
    fetched = [p for p in stats["byPath"] if p.startswith("/items/")]
    assert len(fetched) == 1
    assert stats["byPath"] == {"/items": 2, fetched[0]: 1, "/echo": 1}
    assert stats["byMethod"] == {"POST": 1, "GET": 2, "PUT": 1}


def test_example_suite_text_report(target):
    proc = run_lunge("test", "-c", str(EXAMPLE), "-e", "local", "-s", "items",
                     env={"LUNGE_TARGET_PORT": str(target.port)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASS") == 4 and "FAIL" not in proc.stdout
    assert "4 tests: 4 passed, 0 failed" in proc.stdout


def test_run_sends_one_request_with_var_and_shows_extracted(target):
    proc = run_lunge("run", "-c", str(EXAMPLE), "-e", "local", "-r", "createItem", "-v",
                     "--var", "itemName=from-cli", env={"LUNGE_TARGET_PORT": str(target.port)})
    assert proc.returncode == 0, proc.stderr
    created = json.loads(proc.stdout)
    assert created["name"] == "from-cli" and created["owner"] == "env-owner"
    assert f'extracted itemId = "{created["id"]}"' in proc.stderr
    assert "extracted createStatus = 201" in proc.stderr
    assert "TTFB" in proc.stderr
    fetched = run_lunge("get", f"{target.url}/items/{created['id']}")
    assert json.loads(fetched.stdout)["name"] == "from-cli"


# ---------------------------------------------------------------- every assertion type

# (assertion, request it runs on, passes?)
ASSERTIONS = [
    ({"status": 200}, "getItem", True),
    ({"status": 404}, "getItem", False),
    ({"status": [200, 201]}, "getItem", True),
    ({"status": [201, 204]}, "getItem", False),
    ({"status": "<300"}, "getItem", True),
    ({"status": ">=400"}, "getItem", False),
    ({"responseTime": ">=50"}, "slow", True),
    ({"responseTime": "<50"}, "slow", False),
    ({"responseTime": "<10s"}, "getItem", True),
    ({"responseTime": 30000}, "getItem", True),
    ({"header": "Content-Type", "exists": True}, "getItem", True),
    ({"header": "X-Nope"}, "getItem", False),
    ({"header": "X-Nope", "exists": False}, "getItem", True),
    ({"header": "content-type", "equals": "application/json"}, "getItem", True),
    ({"header": "Content-Type", "equals": "text/html"}, "getItem", False),
    ({"header": "Content-Type", "contains": "json"}, "getItem", True),
    ({"header": "Content-Type", "contains": "xml"}, "getItem", False),
    ({"header": "Location", "matches": "^/items/{{itemId}}$"}, "createItem", True),
    ({"header": "Content-Type", "matches": "^text/"}, "getItem", False),
    ({"header": "X-Nope", "equals": "x"}, "getItem", False),
    ({"jsonPath": "$.id", "exists": True}, "getItem", True),
    ({"jsonPath": "$.nope", "exists": True}, "getItem", False),
    ({"jsonPath": "$.nope", "exists": False}, "getItem", True),
    ({"jsonPath": "$.id", "equals": "{{itemId}}"}, "getItem", True),
    ({"jsonPath": "$.name", "equals": "gadget"}, "getItem", False),
    ({"jsonPath": "$.size", "equals": 3}, "getItem", True),
    ({"jsonPath": "$.size", "equals": "3"}, "getItem", False),
    ({"jsonPath": "$.tags", "contains": "a"}, "getItem", True),
    ({"jsonPath": "$.tags", "contains": "z"}, "getItem", False),
    ({"jsonPath": "$.name", "contains": "idg"}, "getItem", True),
    ({"jsonPath": "$", "contains": {"name": "widget", "size": 3}}, "getItem", True),
    ({"jsonPath": "$", "contains": {"name": "widget", "size": 4}}, "getItem", False),
    ({"jsonPath": "$[*].id", "contains": "{{itemId}}"}, "listItems", True),
    ({"jsonPath": "$.name", "matches": "^wid"}, "getItem", True),
    ({"jsonPath": "$.name", "matches": "^gad"}, "getItem", False),
    ({"jsonPath": "$.tags", "isArray": True}, "getItem", True),
    ({"jsonPath": "$.name", "isArray": True}, "getItem", False),
    ({"jsonPath": "$.tags", "minLength": 2}, "getItem", True),
    ({"jsonPath": "$.tags", "minLength": 3}, "getItem", False),
    ({"jsonPath": "$.name", "maxLength": 6}, "getItem", True),
    ({"jsonPath": "$.name", "maxLength": 5}, "getItem", False),
    ({"jsonPath": "$.size", "minLength": 1}, "getItem", False),
    ({"jsonPath": "$.size", "type": "integer"}, "getItem", True),
    ({"jsonPath": "$.size", "type": "number"}, "getItem", True),
    ({"jsonPath": "$.size", "type": "string"}, "getItem", False),
    ({"jsonPath": "$", "type": "object"}, "getItem", True),
    ({"jsonPath": "$.missing", "equals": 1}, "getItem", False),
    ({"jsonPath": "$.id", "exists": True}, "home", False),  # body is not JSON
    ({"schema": "item"}, "getItem", True),
    ({"schema": "ownedItem"}, "getItem", False),
    ({"schema": "item"}, "home", False),
]


def assertion_config(tmp_path) -> pathlib.Path:
    doc = {
        "environments": {"t": {"baseUrl": "http://127.0.0.1:{{port}}"}},
        "schemas": {
            "item": {"type": "object", "required": ["id", "name"], "properties": {"size": {"type": "integer"}}},
            "ownedItem": {"type": "object", "required": ["owner"]},
        },
        "requests": {
            "createItem": {"method": "POST", "url": "/items", "body": {"name": "widget", "tags": ["a", "b"], "size": 3},
                           "extract": {"itemId": "$.id"}},
            "getItem": {"url": "/items/{{itemId}}"},
            "listItems": {"url": "/items"},
            "slow": {"url": "/delay/60"},
            "home": {"url": "/"},
        },
        "suites": {"all": {"requests": ["createItem"], "tests": [
            {"name": f"{i:02d} {json.dumps(a)}", "request": r, "assertions": [a]}
            for i, (a, r, _) in enumerate(ASSERTIONS)]}},
    }
    p = tmp_path / "assertions.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def test_every_assertion_type_passes_and_fails(target, tmp_path):
    cfg = load_config(assertion_config(tmp_path))
    result = run_suite(cfg, "t", "all", {"port": str(target.port)})
    assert len(result.tests) == len(ASSERTIONS)
    wrong = [(t.name, t.failures()) for t, (_, _, ok) in zip(result.tests, ASSERTIONS) if t.passed != ok]
    assert not wrong
    by_name = {t.name[3:]: t for t in result.tests}
    msgs = {k: "; ".join(t.failures()) for k, t in by_name.items()}
    assert msgs['{"status": 404}'] == "status == 404: status is 200"
    assert "does not contain 'z'" in msgs['{"jsonPath": "$.tags", "contains": "z"}']
    assert msgs['{"jsonPath": "$.name", "equals": "gadget"}'] == \
        "jsonPath $.name equals 'gadget': $.name is 'widget', expected 'gadget'"
    assert "$.missing matched nothing" in msgs['{"jsonPath": "$.missing", "equals": 1}']
    assert msgs['{"schema": "item"}'] == "body matches schema 'item': response body is not JSON"  # the one on /
    assert "'owner' is a required property" in msgs['{"schema": "ownedItem"}']
    assert "response took" in msgs['{"responseTime": "<50"}']
    assert "no header X-Nope in the response" in msgs['{"header": "X-Nope", "equals": "x"}']
    assert "has no length" in msgs['{"jsonPath": "$.size", "minLength": 1}']


def test_failures_exit_1_and_junit_parses(target, tmp_path):
    out = tmp_path / "report.xml"
    proc = run_lunge("test", "-c", str(assertion_config(tmp_path)), "-s", "all", "--var", f"port={target.port}",
                     "--format", "junit", "--output", str(out))
    assert proc.returncode == 1, proc.stderr
    root = ET.parse(out).getroot()
    failing = [a for a in ASSERTIONS if not a[2]]
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    assert suite.get("name") == "all"
    assert int(suite.get("tests")) == len(ASSERTIONS) == len(suite.findall("testcase"))
    assert int(suite.get("failures")) == len(failing) and suite.get("errors") == "0"
    for case, (_, _, ok) in zip(suite.findall("testcase"), ASSERTIONS):
        assert case.get("classname") == "lunge.all"
        assert float(case.get("time")) >= 0
        failure = case.find("failure")
        assert (failure is None) == ok, case.get("name")
        if failure is not None:
            assert failure.get("message") and failure.text and failure.get("type") == "AssertionError"
    first = suite.find("testcase[@name='01 {\"status\": 404}']/failure")
    assert first.get("message") == "status == 404: status is 200"


def test_junit_marks_unsendable_requests_as_errors(tmp_path):
    p = tmp_path / "c.json"
    p.write_text(json.dumps({
        "requests": {"down": {"url": "http://127.0.0.1:1/", "timeout": "2s"}},
        "suites": {"s": {"tests": [{"name": "down", "request": "down", "assertions": [{"status": 200}]}]}}}))
    proc = run_lunge("test", "-c", str(p), "-s", "s", "--format", "junit")
    assert proc.returncode == 1
    root = ET.fromstring(proc.stdout)
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "0", "1")
    err = suite.find("testcase/error")
    assert err.get("type") == "RequestError" and "request failed" in err.get("message")


@pytest.mark.slow
def test_extraction_flows_and_var_beats_extracted(target, tmp_path):
    cfg = assertion_config(tmp_path)
    target.reset()
    proc = run_lunge("test", "-c", str(cfg), "-s", "all", "-t", '23 {"jsonPath": "$.id", "equals": "{{itemId}}"}',
                     "--var", f"port={target.port}", "--format", "yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = yaml.safe_load(proc.stdout)
    assert [t["name"] for t in report["tests"]] == ['23 {"jsonPath": "$.id", "equals": "{{itemId}}"}']
    # -t reports one test; the requests before it still ran (create, get, slow...), none after.
    stats = target.stats()
    assert stats["byMethod"]["POST"] == 1
    assert stats["byPath"]["/items"] == 1 and "/" not in stats["byPath"]
    # --var beats the extracted id: the fetch goes to /items/999999, which does not exist.
    target.reset()
    proc = run_lunge("test", "-c", str(cfg), "-s", "all", "-t", '00 {"status": 200}',
                     "--var", f"port={target.port}", "--var", "itemId=999999")
    assert proc.returncode == 1
    assert "status == 200: status is 404" in proc.stdout
    assert target.stats()["byPath"].get("/items/999999") == 1


def test_failed_extraction_fails_dependents_without_sending_them(target, tmp_path):
    p = tmp_path / "c.json"
    p.write_text(json.dumps({
        "environments": {"t": {"baseUrl": target.url}},
        "requests": {"create": {"method": "POST", "url": "/items", "body": {"a": 1},
                                "extract": {"itemId": "$.identifier"}},
                     "fetch": {"url": "/items/{{itemId}}"}},
        "suites": {"s": {"tests": [
            {"name": "create", "request": "create", "assertions": [{"status": 201}]},
            {"name": "fetch", "request": "fetch", "assertions": [{"status": 200}]}]}}}))
    target.reset()
    proc = run_lunge("test", "-c", str(p), "-s", "s", "--format", "json")
    assert proc.returncode == 1
    tests = json.loads(proc.stdout)["tests"]
    assert tests[0]["error"] == "extract itemId: $.identifier matched nothing" and tests[0]["status"] == 201
    assert tests[1]["error"].startswith("not sent: variable 'itemId' was not extracted (requests.fetch.url)")
    assert target.stats()["byMethod"] == {"POST": 1}


@pytest.mark.slow
def test_undefined_variable_in_a_suite_is_a_config_error(target, tmp_path):
    p = tmp_path / "c.json"
    p.write_text(json.dumps({
        "environments": {"t": {"baseUrl": target.url}},
        "requests": {"r": {"url": "/echo", "headers": {"Authorization": "Bearer {{token}}"}}},
        "suites": {"s": {"tests": [{"name": "r", "request": "r", "assertions": [{"status": 200}]}]}}}))
    target.reset()
    assert_one_line_error(run_lunge("test", "-c", str(p), "-s", "s"),
                          "requests.r.headers.Authorization: undefined variable 'token'")
    assert_one_line_error(run_lunge("run", "-c", str(p), "-r", "r"), "undefined variable 'token'")
    assert target.stats()["requests"] == 0
    proc = run_lunge("test", "-c", str(p), "-s", "s", "--var", "token=t0k")
    assert proc.returncode == 0


@pytest.mark.parametrize("fmt", ["json", "yaml", "text", "junit"])
def test_report_formats_to_a_file(target, tmp_path, fmt):
    out = tmp_path / f"report.{fmt}"
    proc = run_lunge("test", "-c", str(EXAMPLE), "-e", "local", "-s", "items", "--format", fmt, "-o", str(out),
                     env={"LUNGE_TARGET_PORT": str(target.port)})
    assert proc.returncode == 0 and proc.stdout == ""
    assert "report written to" in proc.stderr
    text = out.read_text()
    assert "\x1b[" not in text
    if fmt == "json":
        assert json.loads(text)["summary"]["passed"] == 4
    elif fmt == "yaml":
        assert yaml.safe_load(text)["summary"]["failed"] == 0
    elif fmt == "junit":
        assert ET.fromstring(text).find("testsuite").get("tests") == "4"
    else:
        assert "4 tests: 4 passed, 0 failed" in text
