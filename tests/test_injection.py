"""Injection (issue 18): CR, LF and NUL never reach the wire in a header or a URL, from any
source (flags, config, variables extracted from a response). Templates: test_template_sandbox.py."""
from __future__ import annotations

import json

import pytest
from recording_server import RecordingServer

from conftest import assert_one_line_error, run_lunge

SMUGGLE = "X-A: abc\r\nContent-Length: 0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\nX-B: y"


@pytest.fixture(scope="module")
def server():
    s = RecordingServer()
    yield s
    s.stop()


@pytest.fixture
def rec(server):
    server.reset()
    return server


def _nothing_smuggled(rec):
    assert not any(r["path"] == "/smuggled" for r in rec.seen), rec.seen
    assert not any("Injected" in r["headers"] for r in rec.seen), rec.seen


@pytest.mark.parametrize("command", ["get", "post", "perf"])
@pytest.mark.parametrize("header", [SMUGGLE, "X-A: a\rb", "X-A: a\nb", "X-A\r\nEvil: a"])
def test_header_flags_with_cr_lf_are_refused(rec, command, header):
    # (argv cannot carry NUL: that is checked through the config below)
    args = ["perf", "--url", f"{rec.url}/", "-n", "1"] if command == "perf" else [command, f"{rec.url}/"]
    proc = run_lunge(*args, "-H", header)
    line = assert_one_line_error(proc, "-H")
    assert "X-A" in line
    assert rec.seen == []


@pytest.mark.parametrize("where, value", [
    ("header value", {"headers": {"X-A": SMUGGLE.split(": ", 1)[1]}}),
    ("header value", {"headers": {"X-A": "a\x00b"}}),
    ("header name", {"headers": {"X-A\r\nInjected": "yes"}}),
    ("url", {"url": "/a\x00b"}),
    ("url", {"url": "/a\r\nInjected: yes"}),
])
@pytest.mark.parametrize("command", ["run", "perf"])
def test_config_headers_and_urls_with_cr_lf_nul_are_refused(rec, tmp_path, where, value, command):
    req = {"url": "/", **value}
    cfg = {"environments": {"dev": {"baseUrl": rec.url}}, "requests": {"r": req}}
    p = tmp_path / "c.json"
    p.write_text(json.dumps(cfg))
    args = ["run", "-c", str(p), "-r", "r"] if command == "run" else ["perf", "-c", str(p), "-r", "r", "-n", "1"]
    line = assert_one_line_error(run_lunge(*args), "requests.r")
    assert "\x00" not in line
    assert rec.seen == []


def _suite(rec, tmp_path, requests: dict, tests: list, first=()) -> str:
    cfg = {"environments": {"dev": {"baseUrl": rec.url}}, "requests": requests,
           "suites": {"s": {"requests": list(first), "tests": tests}}}
    p = tmp_path / "c.json"
    p.write_text(json.dumps(cfg))
    return str(p)


def _junit_cases(xml: str) -> dict:
    """{testcase name: failure or error message, or None} of a JUnit report."""
    import xml.etree.ElementTree as ET

    out = {}
    for case in ET.fromstring(xml).iter("testcase"):
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        out[case.get("name")] = None if bad is None else bad.get("message")
    return out


def test_extracted_value_cannot_inject_a_header(rec, tmp_path):
    """A hostile response's value, extracted and used in a later request's header, is refused
    when that request is rendered: nothing with it is sent. What the server sent is not the
    user's bad input: that request's test fails (naming the variable), the rest still runs."""
    cfg = _suite(rec, tmp_path, {
        "first": {"url": "/inject", "extract": {"v": "$.v"}},
        "second": {"url": "/next", "headers": {"X-From": "{{v}}"}},
        "third": {"url": "/after"},
    }, [{"name": "t", "request": "second", "assertions": [{"status": 200}]},
        {"name": "later", "request": "third", "assertions": [{"status": 200}]}], first=["first"])
    proc = run_lunge("test", "-c", cfg, "-s", "s", "--format", "junit")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    cases = _junit_cases(proc.stdout)
    assert "'v'" in cases["t"] and "requests.second.headers.X-From" in cases["t"], cases
    assert "line break" in cases["t"], cases
    assert cases["later"] is None
    assert [r["path"] for r in rec.seen] == ["/inject", "/after"]
    _nothing_smuggled(rec)


def test_an_extracted_url_that_is_not_http_fails_that_request(rec, tmp_path):
    cfg = _suite(rec, tmp_path, {
        "first": {"url": "/redirect?to=ftp://example.invalid/x", "extract": {"next": "header:Location"}},
        "second": {"url": "{{next}}"},
        "third": {"url": "/after"},
    }, [{"name": "first", "request": "first", "assertions": [{"status": 302}]},
        {"name": "t", "request": "second", "assertions": [{"status": 200}]},
        {"name": "later", "request": "third", "assertions": [{"status": 200}]}])
    proc = run_lunge("test", "-c", cfg, "-s", "s", "--format", "junit")
    assert proc.returncode == 1, proc.stderr
    cases = _junit_cases(proc.stdout)
    assert cases["first"] is None and cases["later"] is None, cases
    assert "'next'" in cases["t"] and "requests.second.url" in cases["t"], cases
    assert [r["path"] for r in rec.seen] == ["/redirect?to=ftp://example.invalid/x", "/after"]


def test_a_var_flag_with_a_line_break_in_a_header_stays_bad_input(rec, tmp_path):
    # the user's own value (--var outranks an extracted one): exit 2, before anything is sent
    cfg = _suite(rec, tmp_path, {
        "first": {"url": "/inject", "extract": {"v": "$.v"}},
        "second": {"url": "/next", "headers": {"X-From": "{{v}}"}},
    }, [{"name": "t", "request": "first", "assertions": [{"status": 200}]},
        {"name": "u", "request": "second", "assertions": [{"status": 200}]}])
    line = assert_one_line_error(run_lunge("test", "-c", cfg, "-s", "s", "--var", "v=a\r\nInjected: yes"),
                                 "requests.second.headers.X-From")
    assert "extracted" not in line
    assert "Injected" not in "".join(str(r["headers"]) for r in rec.seen)


@pytest.mark.parametrize("command", ["get", "test"])
def test_a_redirect_to_a_non_http_url_is_a_failed_request_not_bad_input(rec, tmp_path, command):
    target = "/redirect?to=ftp://example.invalid/x"
    if command == "get":
        proc = run_lunge("get", "-L", f"{rec.url}{target}")
        assert proc.returncode == 1, proc.stderr  # as a transport error is
        [line] = proc.stderr.splitlines()
        assert "redirect to 'ftp://example.invalid/x'" in line and "not an http(s) URL" in line, line
        return
    cfg = _suite(rec, tmp_path, {"hop": {"url": target, "followRedirects": True}, "after": {"url": "/after"}},
                 [{"name": "hop", "request": "hop", "assertions": [{"status": 200}]},
                  {"name": "later", "request": "after", "assertions": [{"status": 200}]}])
    proc = run_lunge("test", "-c", cfg, "-s", "s", "--format", "junit")
    assert proc.returncode == 1, proc.stderr
    cases = _junit_cases(proc.stdout)
    assert "not an http(s) URL" in cases["hop"] and cases["later"] is None, cases
    assert [r["path"] for r in rec.seen] == [target, "/after"]


def test_nul_in_url_flag_is_refused(rec):
    # argv cannot hold NUL; percent-decoding is the server's business, so the raw check is
    # for what lunge itself builds: a --url with a control character
    for url in (f"{rec.url}/a\x7fb", f"{rec.url}/a\x01b"):
        assert_one_line_error(run_lunge("get", url), "URL")
        assert_one_line_error(run_lunge("perf", "--url", url, "-n", "1"), "--url")
    assert rec.seen == []
