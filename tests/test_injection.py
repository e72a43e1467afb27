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


def test_extracted_value_cannot_inject_a_header(rec, tmp_path):
    """A hostile response's value, extracted and used in a later request's header, is refused
    when that request is rendered: nothing with it is sent."""
    cfg = {
        "environments": {"dev": {"baseUrl": rec.url}},
        "requests": {
            "first": {"url": "/inject", "extract": {"v": "$.v"}},
            "second": {"url": "/next", "headers": {"X-From": "{{v}}"}},
        },
        "suites": {"s": {"requests": ["first", "second"],
                         "tests": [{"name": "t", "request": "second", "assertions": [{"status": 200}]}]}},
    }
    p = tmp_path / "c.json"
    p.write_text(json.dumps(cfg))
    line = assert_one_line_error(run_lunge("test", "-c", str(p), "-s", "s"), "requests.second.headers.X-From")
    assert "line break" in line or "CR" in line
    assert [r["path"] for r in rec.seen] == ["/inject"]
    _nothing_smuggled(rec)


def test_nul_in_url_flag_is_refused(rec):
    # argv cannot hold NUL; percent-decoding is the server's business, so the raw check is
    # for what lunge itself builds: a --url with a control character
    for url in (f"{rec.url}/a\x7fb", f"{rec.url}/a\x01b"):
        assert_one_line_error(run_lunge("get", url), "URL")
        assert_one_line_error(run_lunge("perf", "--url", url, "-n", "1"), "--url")
    assert rec.seen == []
