"""Go Lunge's JSON (v1) spellings in lunge's config files, and `run`/`test` as its users run
them: `path` assertions (equals as text, gjson paths, a schema at a path), responseTime `=N`,
request `validate` blocks, environment headers, lower-case and missing methods, `auth`, v1
performance keys, a trailing YAML document, `run -s`, `--format junit` for get and run, and
Go Lunge's fields in `test`'s JSON and YAML reports. What the server saw is checked where a
request is sent."""
from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET

import pytest
import yaml
from go_lunge_servers import Httpbin
from recording_server import RecordingServer

from conftest import assert_one_line_error, lunge, run_lunge
from lunge.client.assertions import check
from lunge.client.http import Response, Timing
from lunge.client.suite import run_suite
from lunge.config import load_config
from lunge.errors import ConfigError
from lunge.variables import Scope


@pytest.fixture(scope="module")
def httpbin():
    server = Httpbin()
    yield server
    server.stop()


@pytest.fixture
def rec():
    server = RecordingServer()
    yield server
    server.stop()


def write(tmp_path, doc, name="lunge.json") -> str:
    p = tmp_path / name
    p.write_text(json.dumps(doc) if name.endswith(".json") else yaml.safe_dump(doc))
    return str(p)


# ---------------------------------------------------------------- path assertions

ECHOED = {"id": 1, "flag": True, "items": [{"id": 1}, {"id": 2}], "user": {"name": "ann", "email": "a@b.c"}}

# (assertion on httpbin's echo of ECHOED under $.json, passes?)
PATH_ASSERTIONS = [
    ({"path": "$.json.id", "equals": "1"}, True),           # Go Lunge compares text: 1 equals "1"
    ({"path": "$.json.id", "equals": 1}, True),
    ({"path": "$.json.id", "equals": "2"}, False),
    ({"path": "$.json.flag", "equals": "true"}, True),
    ({"jsonPath": "$.json.id", "equals": "1"}, False),      # lunge's jsonPath keeps typed equality
    ({"path": "$.json.items.#", "equals": 2}, True),        # gjson: the array's length
    ({"path": "$.json.items.#.id", "equals": [1, 2]}, True),  # gjson: every item's id
    ({"path": "$.json.items.#.id", "contains": 2}, True),
    ({"path": "$.json.items.0.id", "equals": "1"}, True),   # gjson: index 0
    ({"path": "$.json.items.1.id", "equals": 1}, False),
    ({"path": "$.json.items[*].id", "minLength": 2}, True),  # JSONPath wildcards, as Variables.md promises
    ({"path": "$.headers.Content-Type", "contains": "json"}, True),
    ({"path": "$.json.user", "schema": "user"}, True),      # the value at the path against a named schema
    ({"path": "$.json", "schema": "user"}, False),
    ({"path": "$.json.user", "schema": {"type": "object", "required": ["phone"]}}, False),  # or one in place
    ({"jsonPath": "$.json.items", "schema": {"type": "array", "minItems": 2}}, True),
    ({"schema": {"type": "object", "required": ["json", "headers"]}}, True),  # the body, schema in place
    ({"header": "Content-Length", "exists": True}, True),
]


def _path_config(tmp_path, url) -> str:
    return write(tmp_path, {
        "environments": {"t": {"baseUrl": url}},
        "schemas": {"user": {"type": "object", "required": ["name", "email"]}},
        "requests": {"echo": {"url": "/post", "method": "POST", "body": ECHOED}},
        "suites": {"s": {"requests": ["echo"], "tests": [
            {"name": f"{i:02d}", "request": "echo", "assertions": [a]} for i, (a, _) in enumerate(PATH_ASSERTIONS)]}},
    })


def test_path_assertions_as_go_lunge_reads_them(tmp_path, httpbin):
    result = run_suite(load_config(_path_config(tmp_path, httpbin.url)), "t", "s")
    wrong = [(PATH_ASSERTIONS[int(t.name)][0], t.failures()) for t, (_, ok) in zip(result.tests, PATH_ASSERTIONS)
             if t.passed != ok]
    assert not wrong
    msgs = {t.name: "; ".join(t.failures()) for t in result.tests}
    assert msgs["02"] == "path $.json.id equals '2': $.json.id is 1, expected '2'"
    assert msgs["13"].endswith("'name' is a required property")
    assert msgs["14"] == "path $.json.user matches the schema: $: 'phone' is a required property"


def test_gjson_paths_extract(tmp_path, httpbin):
    p = write(tmp_path, {
        "environments": {"t": {"baseUrl": httpbin.url}},
        "requests": {"echo": {"url": "/post", "method": "POST", "body": [{"id": 7}, {"id": 8}],
                              "extract": {"first": "$.json.0.id", "count": "$.json.#", "ids": "$.json.#.id"}},
                     "next": {"url": "/get", "queryParams": {"first": "{{first}}", "count": "{{count}}"}}},
        "suites": {"s": {"requests": ["echo", "next"]}}})
    proc = run_lunge("run", "-c", p, "-s", "s", "-v")
    assert proc.returncode == 0, proc.stderr
    assert "extracted first = 7" in proc.stderr and "extracted count = 2" in proc.stderr
    assert "extracted ids = [7, 8]" in proc.stderr
    assert httpbin.seen[-1]["query"] == "first=7&count=2"


def test_path_and_jsonpath_together_are_refused(tmp_path):
    p = write(tmp_path, {"requests": {"r": {"url": "http://127.0.0.1:9/"}}, "suites": {"s": {"tests": [
        {"name": "t", "request": "r", "assertions": [{"path": "$.a", "jsonPath": "$.a"}]}]}}})
    assert_one_line_error(run_lunge("validate", "-c", p), "assertions[0]: an assertion needs exactly one of",
                          "(got jsonPath, path)")


def _response(total_ms: float) -> Response:
    return Response(status=200, reason="OK", http_version="HTTP/1.1", headers=[], body=b"{}",
                    timing=Timing(0, 0, 0, total_ms, 0, total_ms), url="http://x/")


@pytest.mark.parametrize("spec, took, passes", [
    ("=100", 100.4, True),    # Testing.md: "Exactly 100ms", in whole milliseconds as Go Lunge measures them
    ("=100", 101.0, False),
    ("=100", 99.9, False),
    ("<500ms", 120.0, True),  # simple.json's spelling, read as 500 ms as its docs mean (Go Lunge: < 0)
    ("<=1000", 1000.0, True),
    ("100", 100.4, False),    # a bare number is lunge's "<N" (Go Lunge's docs give no bare form)
    ("100", 99.0, True),
])
def test_response_time_forms(spec, took, passes, tmp_path):
    p = write(tmp_path, {"requests": {"r": {"url": "http://127.0.0.1:9/"}}, "suites": {"s": {"tests": [
        {"name": "t", "request": "r", "assertions": [{"responseTime": spec}]}]}}})
    cfg = load_config(p)  # the schema admits every form
    outcome = check({"responseTime": spec}, _response(took), Scope(), cfg, "w")
    assert outcome.passed is passes, outcome


# ---------------------------------------------------------------- validate blocks

def _validate_config(tmp_path, url, validate: dict, name="lunge.json") -> str:
    return write(tmp_path, {
        "environments": {"t": {"baseUrl": url}},
        "schemas": {"echo": {"type": "object", "required": ["json"]}},
        "requests": {"echo": {"url": "/post", "method": "POST", "body": ECHOED, "validate": validate},
                     "plain": {"url": "/get"}},
        "suites": {"s": {"requests": ["echo", "plain"], "tests": [
            {"name": "plain works", "request": "plain", "assertions": [{"status": 200}]}]}}}, name)


GOOD_VALIDATE = {"status": 200, "headers": {"Content-Type": "application/json"}, "responseTime": "<5s",
                 "body": [{"path": "$.json.id", "equals": "1"}, {"jsonPath": "$.json.items", "minLength": 2}],
                 "schema": "echo", "type": "object", "required": ["json", "headers"]}


def test_validate_block_is_reported_as_a_test(tmp_path, httpbin):
    p = _validate_config(tmp_path, httpbin.url, GOOD_VALIDATE)
    proc = run_lunge("test", "-c", p, "-s", "s", "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    validated = report["tests"][0]
    assert validated["name"] == "echo: validate" and validated["request"] == "echo" and validated["passed"]
    assert [a["assertion"] for a in validated["assertions"]] == [
        "status == 200", "responseTime < 5000ms", "header Content-Type contains 'application/json'",
        "path $.json.id equals '1'", "jsonPath $.json.items minLength 2", "body matches schema 'echo'",
        "body matches the schema"]
    assert (report["totalTests"], report["totalAssertions"], report["failedAssertions"]) == (2, 8, 0)


def test_failed_validate_fails_run_and_test(tmp_path, httpbin):
    p = _validate_config(tmp_path, httpbin.url, {"status": 201, "required": ["nothere"]})
    proc = run_lunge("run", "-c", p, "-r", "echo")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["json"] == ECHOED  # the response is still printed
    assert proc.stderr.splitlines() == [
        "echo: validate FAIL status == 201: status is 200",
        "echo: validate FAIL body matches the schema: $: 'nothere' is a required property"]
    proc = run_lunge("test", "-c", p, "-s", "s")
    assert proc.returncode == 1
    assert "FAIL  echo: validate" in proc.stdout and "PASS  plain works" in proc.stdout
    assert "2 tests: 1 passed, 1 failed" in proc.stdout
    proc = run_lunge("run", "-c", p, "-r", "echo", "--format", "junit")
    assert proc.returncode == 1
    failure = ET.fromstring(proc.stdout).find("testsuite/testcase[@name='echo']/failure")
    assert failure.get("message") == "status == 201: status is 200" and failure.get("type") == "AssertionError"


@pytest.mark.parametrize("validate, fragments", [
    ({"stauts": 200}, ["$.requests.echo.validate: unknown key 'stauts' (did you mean 'status'?)"]),
    ({"header": {"A": "b"}}, ["unknown key 'header' (did you mean 'headers'?)"]),
    ({"status": "two hundred"}, ["$.requests.echo.validate.status: expected a status code"]),
    ({"body": {"path": "$.a", "equal": 1}}, ["validate.body: unknown key 'equal' (did you mean 'equals'?)"]),
    ({"schema": "ech"}, ["validate.schema: unknown schema 'ech' (did you mean 'echo'?)"]),
    ({"type": "objekt"}, ["$.requests.echo.validate: not a valid JSON Schema"]),
])
def test_bad_validate_blocks_are_one_line_errors(tmp_path, validate, fragments):
    p = _validate_config(tmp_path, "http://127.0.0.1:9", validate)
    assert_one_line_error(run_lunge("validate", "-c", p), *fragments)


# ---------------------------------------------------------------- requests

def test_environment_headers_go_with_every_request(tmp_path, rec):
    p = write(tmp_path, {
        "environments": {"t": {"baseUrl": rec.url, "variables": {"tok": "s3cr3t-env-token"},
                               "headers": {"X-Env": "from-env", "Accept": "env/accept",
                                           "Authorization": "Bearer {{tok}}"}}},
        "requests": {"r": {"url": "/a", "headers": {"accept": "request/accept"}},
                     "q": {"url": "/b"}},
        "suites": {"s": {"requests": ["r"], "tests": [{"name": "q", "request": "q", "assertions": [{"status": 200}]}]}},
        "performance": {"p": {"request": "q", "load": {"concurrency": 1, "iterations": 3}}}})
    assert run_lunge("run", "-c", p, "-r", "r").returncode == 0
    assert run_lunge("test", "-c", p, "-s", "s").returncode == 0
    r = lunge("perf", "-c", p, "-p", "p", "--format", "json", "--no-resources")
    assert r.code == 0, r.err
    seen = rec.seen
    assert [s["path"] for s in seen] == ["/a", "/a", "/b", "/b", "/b", "/b"]
    for s in seen:
        assert s["headers"]["X-Env"] == "from-env" and s["headers"]["Authorization"] == "Bearer s3cr3t-env-token"
    # The request's own header wins over the environment's, whatever the case of its name.
    accepts = [[h for h in s["raw_headers"] if h.lower().startswith("accept:")] for s in seen]
    assert accepts[:2] == [["accept: request/accept"]] * 2 and accepts[2:] == [["Accept: env/accept"]] * 4


def test_method_in_any_case_and_missing_method(tmp_path, rec):
    p = write(tmp_path, {"environments": {"t": {"baseUrl": rec.url}},
                         "requests": {"lower": {"url": "/l", "method": "post", "body": {"a": 1}},
                                      "mixed": {"url": "/m", "method": "Delete"},
                                      "none": {"url": "/n"}},
                         "suites": {"s": {"requests": ["lower", "mixed", "none"]}}})
    assert run_lunge("run", "-c", p, "-s", "s").returncode == 0
    assert [(s["method"], s["path"]) for s in rec.seen] == [("POST", "/l"), ("DELETE", "/m"), ("GET", "/n")]
    bad = write(tmp_path, {"requests": {"r": {"url": "http://127.0.0.1:9/", "method": "fetch"}}}, "bad.json")
    assert_one_line_error(run_lunge("validate", "-c", bad), '$.requests.r.method: "fetch" is not one of GET')


def test_auth_blocks_send_an_authorization_header(tmp_path, rec):
    p = write(tmp_path, {
        "environments": {"t": {"baseUrl": rec.url, "variables": {"user": "ann", "pw": "pa:ss"}}},
        "requests": {"basic": {"url": "/1", "auth": {"type": "basic", "username": "{{user}}", "password": "{{pw}}"}},
                     "bearer": {"url": "/2", "auth": {"type": "bearer", "token": "t0k"}},
                     "own": {"url": "/3", "auth": {"type": "bearer", "token": "t0k"},
                             "headers": {"Authorization": "Custom x"}}},
        "suites": {"s": {"requests": ["basic", "bearer", "own"]}}})
    assert run_lunge("run", "-c", p, "-s", "s").returncode == 0
    auth = [s["headers"]["Authorization"] for s in rec.seen]
    assert auth == ["Basic " + base64.b64encode(b"ann:pa:ss").decode(), "Bearer t0k", "Custom x"]
    bad = write(tmp_path, {"requests": {"r": {"url": "http://127.0.0.1:9/", "auth": {"type": "basic",
                                                                                     "username": "u"}}}}, "bad.json")
    assert_one_line_error(run_lunge("validate", "-c", bad), "$.requests.r.auth: basic auth needs 'password'")


@pytest.mark.parametrize("where, key, hint", [
    ("environment", "header", "did you mean 'headers'?"),
    ("request", "validat", "did you mean 'validate'?"),
    ("assertion", "pth", "did you mean 'path'?"),
])
def test_unknown_keys_stay_errors(tmp_path, where, key, hint):
    doc: dict = {"environments": {"t": {"baseUrl": "http://127.0.0.1:9"}},
                 "requests": {"r": {"url": "/"}},
                 "suites": {"s": {"tests": [{"name": "t", "request": "r", "assertions": [{"status": 200}]}]}}}
    target = {"environment": doc["environments"]["t"], "request": doc["requests"]["r"],
              "assertion": doc["suites"]["s"]["tests"][0]["assertions"][0]}[where]
    target[key] = {} if where != "assertion" else "$.a"
    assert_one_line_error(run_lunge("validate", "-c", write(tmp_path, doc)), f"unknown key {key!r}", hint)


# ---------------------------------------------------------------- files

def test_yaml_config_with_a_trailing_document(tmp_path, rec):
    p = tmp_path / "lunge.yaml"
    p.write_text(f"environments:\n  t:\n    baseUrl: {rec.url}\nrequests:\n  r:\n    url: /y\n"
                 "---\n# a second document, commented out, as in Go Lunge's v2-integration-test.yaml\n"
                 "# name: x\n")
    proc = run_lunge("validate", "-c", str(p))
    assert proc.returncode == 0, proc.stderr
    assert run_lunge("run", "-c", str(p), "-r", "r").returncode == 0
    assert [s["path"] for s in rec.seen] == ["/y"]
    # Only the first document is read (as Go's yaml.v3 does): what follows is not even parsed.
    p.write_text("requests:\n  r:\n    url: http://127.0.0.1:9/\n---\nthis: [is not: valid\n")
    assert run_lunge("validate", "-c", str(p)).returncode == 0
    # The first document keeps every bound: an alias bomb in it is refused.
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p_] * 10)}]\n" for p_, c in zip("abcdefg", "bcdefgh"))
    p.write_text(bomb + "---\n# trailing\n")
    assert_one_line_error(run_lunge("validate", "-c", str(p)), "an alias bomb?")


PERF = {"request": "r", "load": {"concurrency": 2, "iterations": 10, "warmup": {"duration": "1s", "rps": 5}},
        "monitoring": {"realTime": False, "alerts": True},
        "reporting": {"format": "json", "output": "r.json"},
        "rateLimiter": {"algorithm": "token-bucket", "burstCapacity": 2.0, "batchSize": "auto",
                        "efficiencyThreshold": 0.95}}


def _perf_config(tmp_path, **changes) -> str:
    perf = json.loads(json.dumps(PERF))
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = perf
        for k in parents:
            node = node[k]
        node[last] = value
    return write(tmp_path, {"requests": {"r": {"url": "http://127.0.0.1:9/"}}, "performance": {"p": perf}})


def test_v1_performance_keys_are_accepted(tmp_path):
    cfg = load_config(_perf_config(tmp_path))
    test = cfg.performance_test("p")
    assert test.reporting.formats == ("json",) and test.reporting.output == {"*": "r.json"}
    assert test.load.warmup.duration == 1.0
    cfg = load_config(_perf_config(tmp_path, reporting__formats=["html", "json"]))
    assert cfg.performance_test("p").reporting.formats == ("json", "html")  # format first, then formats
    cfg = load_config(_perf_config(tmp_path, rateLimiter__batchSize=10))
    assert cfg.performance_test("p").load.concurrency == 2


@pytest.mark.parametrize("changes, fragment", [
    ({"rateLimiter__burstCapacity": 11}, "$.performance.p.rateLimiter.burstCapacity: 11 is greater than the maximum"),
    ({"rateLimiter__algorithm": "leaky-bucket"}, "rateLimiter.algorithm: \"leaky-bucket\" is not one of token-bucket"),
    ({"rateLimiter__batchSize": 0}, "rateLimiter.batchSize: 0 is less than the minimum of 1"),
    ({"rateLimiter__batchSize": "big"}, "rateLimiter.batchSize: expected either auto or an integer from 1 to 100"),
    ({"rateLimiter__efficency": 1}, "unknown key 'efficency' (did you mean 'efficiencyThreshold'?)"),
    ({"reporting__format": "pdf"}, "reporting.format: \"pdf\" is not one of text, json, html, csv"),
    ({"monitoring__alerts": "yes"}, "monitoring.alerts: expected a boolean"),
    ({"load__warmup": {"duration": "1s", "iterations": 5}},
     "$.performance.p.load.warmup: give either duration or iterations, not both"),
])
def test_v1_performance_keys_are_checked(tmp_path, changes, fragment):
    with pytest.raises(ConfigError) as e:
        load_config(_perf_config(tmp_path, **changes))
    assert fragment in e.value.message


# ---------------------------------------------------------------- run -s, junit, report fields

def test_run_suite_stops_at_a_request_that_cannot_be_sent(tmp_path, rec, closed_port):
    p = write(tmp_path, {"environments": {"t": {"baseUrl": rec.url}},
                         "requests": {"a": {"url": "/a"}, "down": {"url": f"http://127.0.0.1:{closed_port}/"},
                                      "c": {"url": "/c"}},
                         "suites": {"s": {"requests": ["a", "down", "c"]}}})
    proc = run_lunge("run", "-c", p, "-s", "s", "--format", "json")
    assert proc.returncode == 1
    runs = json.loads(proc.stdout)
    assert [r["request"] for r in runs] == ["a", "down"]
    assert runs[1]["error"].startswith("request failed: GET http://127.0.0.1:") and "status" not in runs[1]
    assert [s["path"] for s in rec.seen] == ["/a"]
    assert proc.stderr.startswith("lunge: down: request failed: GET")


def test_run_suite_extraction_flows_and_broken_chains_fail(tmp_path, httpbin):
    p = write(tmp_path, {"environments": {"t": {"baseUrl": httpbin.url}},
                         "requests": {"make": {"url": "/post", "method": "POST", "body": {"id": 42},
                                               "extract": {"id": "$.json.id", "missing": "$.json.nope"}},
                                      "use": {"url": "/get", "queryParams": {"id": "{{id}}"}},
                                      "broken": {"url": "/get", "queryParams": {"m": "{{missing}}"}},
                                      "undefined": {"url": "/get", "queryParams": {"u": "{{nowhere}}"}}},
                         "suites": {"ok": {"requests": ["make", "use"]}, "broken": {"requests": ["make", "broken"]},
                                    "undefined": {"requests": ["make", "undefined"]}}})
    httpbin.reset()
    assert run_lunge("run", "-c", p, "-s", "ok").returncode == 0
    assert httpbin.seen[-1]["query"] == "id=42"
    proc = run_lunge("run", "-c", p, "-s", "broken")
    assert proc.returncode == 1
    assert "lunge: broken: not sent: variable 'missing' was not extracted" in proc.stderr
    # A variable no earlier request extracts is a config error (exit 2), found when its request is reached.
    proc = run_lunge("run", "-c", p, "-s", "undefined")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1].endswith("requests.undefined.queryParams.u: undefined variable 'nowhere'")
    assert len(httpbin.seen) == 4  # ok: 2, broken: 1, undefined: 1 (its first request)


@pytest.mark.parametrize("args, fragment", [
    (["-r", "a", "-s", "s"], "give one of -r/--request NAME and -s/--suite NAME"),
    ([], "give one of -r/--request NAME and -s/--suite NAME"),
    (["-s", "ss"], "unknown suite 'ss' (did you mean 's'?)"),
])
def test_run_needs_one_of_request_and_suite(tmp_path, args, fragment):
    p = write(tmp_path, {"requests": {"a": {"url": "http://127.0.0.1:9/"}}, "suites": {"s": {"requests": ["a"]}}})
    assert_one_line_error(run_lunge("run", "-c", p, *args), fragment)


def test_get_format_junit(httpbin, closed_port):
    proc = run_lunge("get", f"{httpbin.url}/get", "--format", "junit")
    assert proc.returncode == 0
    suite = ET.fromstring(proc.stdout).find("testsuite")
    case = suite.find("testcase")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "0", "0")
    assert case.get("name") == f"GET {httpbin.url}/get" and case.get("classname") == "lunge.http"
    # A 4xx/5xx is a failed test case (as Go Lunge marks it); `get` still exits 0 whatever the status.
    proc = run_lunge("get", f"{httpbin.url}/status/503", "--format", "junit")
    assert proc.returncode == 0
    failure = ET.fromstring(proc.stdout).find("testsuite/testcase/failure")
    assert failure.get("type") == "HttpStatusError" and failure.get("message").startswith("HTTP 503")
    proc = run_lunge("get", f"http://127.0.0.1:{closed_port}/", "--format", "junit")
    assert proc.returncode == 1
    error = ET.fromstring(proc.stdout).find("testsuite/testcase/error")
    assert error.get("type") == "RequestError" and f"127.0.0.1:{closed_port}" in error.get("message")
    assert proc.stderr.startswith("lunge: GET http://127.0.0.1:")


def test_run_suite_format_junit_and_yaml(tmp_path, httpbin):
    p = write(tmp_path, {"environments": {"t": {"baseUrl": httpbin.url}},
                         "requests": {"ok": {"url": "/get"}, "missing": {"url": "/status/404"}},
                         "suites": {"s": {"requests": ["ok", "missing"]}}})
    proc = run_lunge("run", "-c", p, "-s", "s", "--format", "junit")
    assert proc.returncode == 0
    suite = ET.fromstring(proc.stdout).find("testsuite")
    assert suite.get("name") == "s" and [c.get("name") for c in suite.findall("testcase")] == ["ok", "missing"]
    assert suite.find("testcase[@name='missing']/failure").get("message") == "HTTP 404 Not Found"
    proc = run_lunge("run", "-c", p, "-s", "s", "--format", "yaml")
    assert [(r["request"], r["status"]) for r in yaml.safe_load(proc.stdout)] == [("ok", 200), ("missing", 404)]


def test_test_report_has_go_lunge_fields_when_tests_fail(tmp_path, httpbin):
    p = write(tmp_path, {"environments": {"t": {"baseUrl": httpbin.url}},
                         "requests": {"r": {"url": "/get"}},
                         "suites": {"s": {"tests": [
                             {"name": "good", "request": "r", "assertions": [{"status": 200}, {"path": "$.url"}]},
                             {"name": "bad", "request": "r", "assertions": [{"status": 201}, {"path": "$.nope"},
                                                                            {"path": "$.args"}]}]}}})
    for fmt in ("json", "yaml"):
        proc = run_lunge("test", "-c", p, "-s", "s", "--format", fmt)
        assert proc.returncode == 1
        report = json.loads(proc.stdout) if fmt == "json" else yaml.safe_load(proc.stdout)
        assert report["summary"] == {"tests": 2, "passed": 1, "failed": 1}
        assert {k: report[k] for k in ("totalTests", "passedTests", "failedTests", "totalAssertions",
                                       "passedAssertions", "failedAssertions")} == {
            "totalTests": 2, "passedTests": 1, "failedTests": 1,
            "totalAssertions": 5, "passedAssertions": 3, "failedAssertions": 2}
        assert report["timestamp"] == report["startTime"]
        assert all(isinstance(t["durationMs"], int) for t in report["tests"])
