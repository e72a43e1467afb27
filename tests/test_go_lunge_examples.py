"""Every JSON example of Go Lunge (tests/data/go-lunge/, copied unchanged from its repository)
validates with `lunge validate`, and runs with the command line its docs give and the exit code
they lead a user to expect, against local stand-ins for httpbin and jsonplaceholder (the
example's baseUrl rewritten in a temporary copy). The servers' own request logs show that the
flow happened: the paths, methods, query strings, headers and bodies each example sends.
docs/coming-from-go-lunge.md lists the same table.
"""
from __future__ import annotations

import json
import pathlib
import xml.etree.ElementTree as ET

import pytest
import yaml
from go_lunge_servers import Httpbin, JsonPlaceholder

from conftest import run_lunge

DATA = pathlib.Path(__file__).resolve().parent / "data" / "go-lunge"
EXAMPLES = sorted(p.name for p in DATA.glob("*.json"))


@pytest.fixture(scope="module")
def servers():
    hb, jp = Httpbin(), JsonPlaceholder()
    yield hb, jp
    hb.stop()
    jp.stop()


@pytest.fixture
def local(servers, tmp_path):
    """A copy of an example whose baseUrls point at the stand-ins; the servers' logs cleared."""
    hb, jp = servers
    hb.reset()
    jp.reset()

    def copy(name: str) -> str:
        text = (DATA / name).read_text()
        text = text.replace("https://jsonplaceholder.typicode.com", jp.url).replace("http://localhost", hb.url)
        (tmp_path / name).write_text(text)
        return str(tmp_path / name)

    return copy


def test_the_ten_examples_are_here():
    assert EXAMPLES == ["delete-example.json", "enhanced-tests.json", "format-test.json", "httpbin-basic.json",
                        "httpbin-tests.json", "put-example.json", "schema-validation-test.json",
                        "schema-validation.json", "simple.json", "variable-extraction.json"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_validates_unmodified(name):
    proc = run_lunge("validate", "-c", str(DATA / name))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{DATA / name}: valid (")


def _calls(server) -> list[tuple[str, str]]:
    return [(s["method"], s["path"] + (f"?{s['query']}" if s["query"] else "")) for s in server.seen]


def _body(server, i: int):
    return json.loads(server.seen[i]["body"])


def test_delete_example(local, servers):
    proc = run_lunge("test", "-c", local("delete-example.json"), "-e", "dev", "-s", "deletionFlow")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 tests: 3 passed, 0 failed" in proc.stdout
    assert _calls(servers[1]) == [("GET", "/posts/1"), ("DELETE", "/posts/1"), ("GET", "/posts/1")]


def test_enhanced_tests_basic(local, servers):
    # `{"path": "$[0].userId", "equals": "1"}` on a JSON number 1: Go Lunge compares as text.
    proc = run_lunge("test", "-c", local("enhanced-tests.json"), "-e", "dev", "-s", "basicTests", "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert (report["totalTests"], report["passedTests"], report["totalAssertions"]) == (3, 3, 16)
    assert _calls(servers[1]) == [("GET", "/users/1"), ("GET", "/posts?userId=1"), ("POST", "/posts")]
    assert _body(servers[1], 2) == {"title": "Test Post", "body": "This is a test post", "userId": 1}


def test_enhanced_tests_advanced(local, servers):
    # responseTime ">10" holds: the stand-in answers after 15 ms, as the real service is slower than that.
    proc = run_lunge("test", "-c", local("enhanced-tests.json"), "-e", "dev", "-s", "advancedTests")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 tests: 3 passed, 0 failed" in proc.stdout
    assert _calls(servers[1]) == [("GET", "/users/1")]


@pytest.mark.parametrize("fmt", ["text", "json", "yaml", "junit"])
def test_format_test(local, servers, fmt):
    proc = run_lunge("test", "-c", local("format-test.json"), "-e", "dev", "-s", "postSuite", "--format", fmt)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if fmt == "json" or fmt == "yaml":
        report = json.loads(proc.stdout) if fmt == "json" else yaml.safe_load(proc.stdout)
        assert report["summary"] == {"tests": 2, "passed": 2, "failed": 0}  # lunge's
        assert (report["totalTests"], report["passedTests"], report["failedTests"]) == (2, 2, 0)  # Go Lunge's
        assert (report["totalAssertions"], report["passedAssertions"], report["failedAssertions"]) == (4, 4, 0)
    elif fmt == "junit":
        suite = ET.fromstring(proc.stdout).find("testsuite")
        assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == ("postSuite", "2", "0")
    else:
        assert "2 tests: 2 passed, 0 failed" in proc.stdout
    assert _calls(servers[1]) == [("GET", "/posts/1"), ("GET", "/posts/1/comments")]


def test_httpbin_basic_run_request(local, servers):
    proc = run_lunge("run", "-c", local("httpbin-basic.json"), "-e", "local", "-r", "getRequest")
    assert proc.returncode == 0, proc.stderr
    echoed = json.loads(proc.stdout)
    assert echoed["args"] == {"param1": "hello", "param2": "world"}
    assert echoed["headers"]["X-Test-Header"] == "test-value"
    assert _calls(servers[0]) == [("GET", "/get?param1=hello&param2=world")]


def test_httpbin_basic_run_suite(local, servers):
    proc = run_lunge("run", "-c", local("httpbin-basic.json"), "-e", "local", "-s", "basicCrud")
    assert proc.returncode == 0, proc.stderr
    hb = servers[0]
    assert _calls(hb) == [("GET", "/get?param1=hello&param2=world"), ("POST", "/post"), ("PUT", "/put"),
                          ("DELETE", "/delete")]
    assert _body(hb, 1) == {"name": "Test User", "value": "hello", "userId": "123"}
    assert _body(hb, 2) == {"updated": True, "timestamp": "2025-11-13"}
    assert hb.seen[3]["headers"]["X-Delete-Reason"] == "testing"
    # Each response printed as `run -r` prints it (piped: the bodies as received), named on stderr.
    assert [line.split(" (")[0] for line in proc.stderr.splitlines()] == [
        "=== getRequest", "=== postJson", "=== putRequest", "=== deleteRequest"]
    assert proc.stdout.count('"url"') == 4


def test_httpbin_basic_status_codes(local, servers):
    # A 404 is a response, not a failure: no validate block asks for anything else (exit 0).
    proc = run_lunge("run", "-c", local("httpbin-basic.json"), "-e", "local", "-s", "statusCodes", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert [(r["request"], r["status"]) for r in json.loads(proc.stdout)] == [("getStatus200", 200),
                                                                             ("getStatus404", 404)]
    assert _calls(servers[0]) == [("GET", "/status/200"), ("GET", "/status/404")]


def test_httpbin_tests(local, servers):
    # `$.headers.X-Test` (a hyphen in a key) and `{"path": "$.json.number", "equals": 42}`.
    proc = run_lunge("test", "-c", local("httpbin-tests.json"), "-e", "local", "-s", "validationTests")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "4 tests: 4 passed, 0 failed" in proc.stdout
    hb = servers[0]
    assert _calls(hb) == [("GET", "/json"), ("GET", "/uuid"), ("POST", "/post"), ("GET", "/headers")]
    assert _body(hb, 2) == {"testField": "test123", "number": 42, "nested": {"key": "value"}}
    assert hb.seen[3]["headers"]["X-Test"] == "header-value"


def test_put_example(local, servers):
    proc = run_lunge("test", "-c", local("put-example.json"), "-e", "dev", "-s", "updateFlow")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _calls(servers[1]) == [("GET", "/posts/1"), ("PUT", "/posts/1"), ("GET", "/posts/1")]
    assert _body(servers[1], 1)["title"] == "Updated Title"


def test_schema_validation_test(local, servers):
    path = local("schema-validation-test.json")
    proc = run_lunge("test", "-c", path, "-e", "dev", "-s", "schemaValidationSuite")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _calls(servers[1]) == [("GET", "/users/1"), ("GET", "/posts?userId=1"), ("POST", "/posts")]
    proc = run_lunge("test", "-c", path, "-e", "dev", "-s", "failingSuite")
    assert proc.returncode == 1
    assert "'nonExistentField' is a required property" in proc.stdout


def test_schema_validation_run_suites(local, servers):
    # Request validate blocks that are JSON Schemas, checked on every response of `run`.
    path = local("schema-validation.json")
    proc = run_lunge("run", "-c", path, "-e", "dev", "-s", "validationSuite")
    assert proc.returncode == 0, proc.stderr
    assert "validate FAIL" not in proc.stderr
    assert _calls(servers[1]) == [("GET", "/users/1"), ("GET", "/posts"), ("POST", "/posts")]
    # failingSuite's schema requires a field the user does not have: reported, exit 1 (Go Lunge: 0).
    proc = run_lunge("run", "-c", path, "-e", "dev", "-s", "failingSuite")
    assert proc.returncode == 1
    assert "invalidSchema: validate FAIL body matches the schema: $: 'nonExistentField' is a required property" \
        in proc.stderr
    assert json.loads(proc.stdout)["name"] == "Leanne Graham"  # the response is still printed


def test_simple_run_request_with_its_validate_block(local, servers):
    proc = run_lunge("run", "-c", local("simple.json"), "-e", "dev", "-r", "getUser", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    checks = [(v["assertion"], v["passed"]) for v in json.loads(proc.stdout)["validate"]]
    assert checks == [("status == 200", True), ("responseTime < 500ms", True),
                      ("header Content-Type contains 'application/json'", True), ("path $ exists", True)]
    assert _calls(servers[1]) == [("GET", "/users/1")]


def test_simple_test_suite(local, servers):
    # `{"responseTime": "<500ms"}` is 500 ms as Testing.md promises (Go Lunge reads it as < 0 and fails).
    proc = run_lunge("test", "-c", local("simple.json"), "-e", "dev", "-s", "userFlow", "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert [t["name"] for t in report["tests"]] == [
        "getUser: validate", "getPosts: validate", "User exists and has valid email", "User has at least one post",
        "Response time is acceptable"]
    assert _calls(servers[1]) == [("GET", "/users/1"), ("GET", "/posts?userId=1")]


def test_variable_extraction_chain(local, servers):
    # `$.0.id` (gjson) extracts the first post's id; the chain reaches /posts/1/comments.
    proc = run_lunge("run", "-c", local("variable-extraction.json"), "-e", "dev", "-s", "userWorkflow", "-v")
    assert proc.returncode == 0, proc.stderr
    assert "extracted firstPostId = 1" in proc.stderr
    assert 'extracted firstCommentEmail = "commenter1@example.net"' in proc.stderr
    jp = servers[1]
    assert _calls(jp) == [("GET", "/users/1"), ("GET", "/posts?userId=1"), ("GET", "/posts/1/comments"),
                          ("POST", "/posts")]
    assert _body(jp, 3) == {"title": "Post by Bret", "body": "This is a post created by Bret (Sincere@april.biz) "
                                                             "from Gwenborough", "userId": 1}
