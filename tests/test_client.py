"""`lunge get|post|put|delete|patch|head` against the embedded target, checked on the server
side (echo and request counts), plus the verbose timing breakdown and output formats."""
from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time

import click
import pytest
import yaml

from conftest import assert_one_line_error, run_lunge
from lunge.client.output import colour_json


def test_get_verbose_shows_headers_and_timing_breakdown(target):
    target.reset()
    proc = run_lunge("get", "-v", f"{target.url}/")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n"
    err = proc.stderr
    assert "> GET / HTTP/1.1" in err and f"> Host: 127.0.0.1:{target.port}" in err
    assert "< HTTP/1.1 200 OK" in err and "< Content-Type: text/plain" in err
    for phase in ("DNS", "TCP connect", "TLS", "TTFB", "transfer"):
        assert re.search(rf"^  {phase}\s+\d+(\.\d+)?(us|ms|s)\s+\|[█# ]{{40}}\|$", err, re.M), (phase, err)
    assert re.search(r"^  total\s+\d+(\.\d+)?(us|ms|s)$", err, re.M)
    assert re.search(r"TTFB .*\|\s*[█#]+\s*\|", err)  # a request always spends time waiting for the answer
    assert target.stats()["byPath"] == {"/": 1}


def test_timing_phases_add_up_to_the_total(target):
    proc = run_lunge("get", "--format", "json", f"{target.url}/delay/30")
    assert proc.returncode == 0, proc.stderr
    t = json.loads(proc.stdout)["timing"]
    parts = t["dnsMs"] + t["connectMs"] + t["tlsMs"] + t["ttfbMs"] + t["transferMs"]
    assert abs(parts - t["totalMs"]) < 0.01
    assert t["ttfbMs"] >= 29  # the server waited 30 ms before answering
    assert t["tlsMs"] == 0  # plain HTTP: no handshake


def test_post_json_reaches_the_server_as_json(target):
    proc = run_lunge("post", "-j", '{"name": "gizmo", "n": 3}', f"{target.url}/echo",
                     "-H", "X-Trace: abc", "-q", "a=1", "-q", "a=2", "-q", "b=x y")
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)  # piped: the server's bytes as they came
    assert seen["method"] == "POST"
    assert seen["query"] == "a=1&a=2&b=x+y"
    assert json.loads(seen["body"]) == {"name": "gizmo", "n": 3}
    h = seen["headers"]
    assert (h["Content-Type"], h["Accept"], h["X-Trace"]) == ("application/json", "application/json", "abc")
    assert h["User-Agent"].startswith("lunge/")


@pytest.mark.slow
def test_crud_round_trip_with_every_method(target, tmp_path):
    target.reset()
    created = json.loads(run_lunge("post", "-j", '{"name": "a"}', f"{target.url}/items").stdout)
    item = f"{target.url}/items/{created['id']}"
    body = tmp_path / "put.json"
    body.write_text('{"name": "b", "size": 2}')
    put = run_lunge("put", "-d", f"@{body}", item)
    assert json.loads(put.stdout) == {"name": "b", "size": 2, "id": created["id"]}
    patch = run_lunge("patch", "-d", '{"size": 3}', item)
    assert json.loads(patch.stdout) == {"name": "b", "size": 3, "id": created["id"]}
    got = run_lunge("get", "--format", "json", item)
    assert json.loads(got.stdout)["body"] == {"name": "b", "size": 3, "id": created["id"]}
    deleted = run_lunge("delete", "--format", "yaml", item)
    doc = yaml.safe_load(deleted.stdout)
    assert doc["status"] == 204 and doc["body"] is None
    gone = run_lunge("get", "--format", "json", item)
    assert gone.returncode == 0 and json.loads(gone.stdout)["status"] == 404
    assert target.stats()["byMethod"] == {"POST": 1, "PUT": 1, "PATCH": 1, "GET": 2, "DELETE": 1}


def test_the_target_issues_bearer_tokens_and_checks_them_on_orders(target):
    """lunge serve's /login and /orders (what examples/flow.yaml's flows use): each login a new
    token; an order with one the target issued is created, any other is 401."""
    import urllib.error
    import urllib.request

    def call(path, method="POST", token=None):
        req = urllib.request.Request(f"{target.url}{path}", data=b"{}", method=method,
                                     headers={"Authorization": f"Bearer {token}"} if token else {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), json.loads(e.read() or b"null")

    (s1, _, a), (s2, _, b) = call("/login"), call("/login")
    assert s1 == s2 == 200 and a["token"] != b["token"]
    status, headers, doc = call("/orders", token=a["token"])
    assert status == 201 and headers["Location"] == f"/orders/{doc['id']}"
    assert call("/orders", token=b["token"])[2]["id"] == doc["id"] + 1
    forged = a["token"][:-1] + ("0" if a["token"][-1] != "0" else "1")
    assert [call("/orders", token=t)[0] for t in (None, forged, "t1", "x.y")] == [401, 401, 401, 401]
    assert call("/login", method="GET")[0] == 405


def test_form_and_head(target):
    proc = run_lunge("post", "--form", "k=v 1", "--form", "k=2", f"{target.url}/echo")
    seen = json.loads(proc.stdout)
    assert seen["body"] == "k=v+1&k=2"
    assert seen["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    target.reset()
    head = run_lunge("head", "--format", "json", f"{target.url}/bytes/1000")
    doc = json.loads(head.stdout)
    assert doc["status"] == 200 and doc["headers"]["Content-Length"] == "1000" and doc["body"] is None
    assert target.stats()["byMethod"] == {"HEAD": 1}


def test_scheme_defaults_to_http(target):
    proc = run_lunge("get", f"127.0.0.1:{target.port}/status/201", "--format", "json")
    assert json.loads(proc.stdout)["status"] == 201


def test_tty_gets_pretty_coloured_json(target):
    created = json.loads(run_lunge("post", "-j", '{"name": "tty", "tags": [1, true, null]}',
                                   f"{target.url}/items").stdout)
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.Popen([sys.executable, "-m", "lunge", "get", f"{target.url}/items/{created['id']}"],
                            stdout=slave, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(master)
    text = out.decode().replace("\r\n", "\n")
    assert "\x1b[" in text  # coloured
    assert json.loads(click.unstyle(text)) == {"name": "tty", "tags": [1, True, None], "id": created["id"]}
    assert "\n  " in click.unstyle(text)  # indented


def test_colour_json_is_valid_json_once_unstyled():
    doc = {"a": [1, 2.5, "x", None, False, {}], "b": {"c": []}, "é": "ü"}
    styled = colour_json(doc)
    assert "\x1b[" in styled
    assert json.loads(click.unstyle(styled)) == doc


def test_piped_binary_body_is_written_as_is(target):
    proc = subprocess.run([sys.executable, "-m", "lunge", "get", f"{target.url}/bytes/5000"],
                          capture_output=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == b"x" * 5000


def test_connection_refused_is_one_line_exit_1():
    assert_one_line_error(run_lunge("get", "http://127.0.0.1:1/"), "GET http://127.0.0.1:1/", "onnect", code=1)


def test_timeout_is_one_line_exit_1(target):
    t0 = time.monotonic()
    proc = run_lunge("get", "--timeout", "200ms", f"{target.url}/delay/3000")
    assert_one_line_error(proc, "timed out", code=1)
    assert time.monotonic() - t0 < 2.5


@pytest.mark.slow
def test_bad_flags_are_one_line_exit_2(target, tmp_path):
    cases = [
        (["get", "ftp://127.0.0.1/x"], ["URL: 'ftp://127.0.0.1/x' is not an http:// or https:// URL"]),
        (["get", "http://"], ["is not an http:// or https:// URL"]),
        (["get", "-H", "NoColon", target.url], ["-H 'NoColon': expected 'Name: value'"]),
        (["post", "-j", "{bad", target.url], ["--json: not valid JSON at line 1 column 2"]),
        (["post", "-j", "{}", "-d", "x", target.url], ["--json and --data: give only one body"]),
        (["get", "--timeout", "5x", target.url], ["--timeout: '5x' is not a duration"]),
        (["get", "-q", "novalue", target.url], ["-q 'novalue': expected KEY=VALUE"]),
        (["post", "-d", f"@{tmp_path}/missing", target.url], ["--data", "cannot read file"]),
    ]
    target.reset()
    for args, fragments in cases:
        assert_one_line_error(run_lunge(*args), *fragments)
    assert target.stats()["requests"] == 0  # nothing was sent


def test_follow_redirects_only_with_L(target):
    # A one-route loopback server that redirects to the target (the target has no redirects).
    import http.server
    import threading

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(302)
            self.send_header("Location", f"{target.url}/echo?from=redirect")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/go"
        plain = json.loads(run_lunge("get", "--format", "json", url).stdout)
        assert plain["status"] == 302 and plain["headers"]["Location"].endswith("/echo?from=redirect")
        followed = json.loads(run_lunge("get", "-L", "--format", "json", url).stdout)
        assert followed["status"] == 200 and followed["url"] == f"{target.url}/echo?from=redirect"
        assert followed["body"]["query"] == "from=redirect"
        # -L -v: each hop's request and response, in order, as curl -v (issue 20: only the last was shown)
        verbose = run_lunge("get", "-L", "-v", url)
        assert verbose.returncode == 0, verbose.stderr
        marks = [ln for ln in verbose.stderr.splitlines() if ln.startswith(("> GET", "< HTTP"))]
        assert marks == ["> GET /go HTTP/1.1", "< HTTP/1.0 302 Found", "> GET /echo?from=redirect HTTP/1.1",
                         "< HTTP/1.1 200 OK"], verbose.stderr
        assert f"< Location: {target.url}/echo?from=redirect" in verbose.stderr.splitlines()
        assert verbose.stderr.count("timing") == 1  # one breakdown, all hops added
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# ---------------------------------------------------------------------- status codes (issue 20)
def test_an_http_error_exits_0_by_default_and_22_with_fail(target):
    plain = run_lunge("get", f"{target.url}/status/404")
    assert (plain.returncode, plain.stdout, plain.stderr) == (0, "status\n", "")  # piped: the body alone
    failed = run_lunge("get", "-f", f"{target.url}/status/500")
    assert (failed.returncode, failed.stdout, failed.stderr) == (22, "status\n", "HTTP/1.1 500 Internal Server Error\n")
    ok = run_lunge("get", "--fail", f"{target.url}/status/204")
    assert (ok.returncode, ok.stderr) == (0, "")
    junit = run_lunge("get", "-f", "--format", "junit", f"{target.url}/status/404")
    assert junit.returncode == 22 and "<testsuite" in junit.stdout


def test_the_status_line_goes_to_stderr_on_a_terminal(target):
    """What curl -i users look for first; stdout (the body) stays as received."""
    master, slave = pty.openpty()
    try:
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env["NO_COLOR"] = "1"
        proc = subprocess.run([sys.executable, "-m", "lunge", "get", f"{target.url}/status/404"], stdout=subprocess.PIPE,
                              stderr=slave, env=env, timeout=60)
        os.close(slave)
        slave = -1
        err = b""
        while select.select([master], [], [], 0.5)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert proc.returncode == 0 and proc.stdout == b"status\n"
    assert err.decode() == "HTTP/1.1 404 Not Found\r\n"


def test_head_prints_the_headers():
    help_text = run_lunge("head", "--help").stdout
    assert "print the status line and the response headers" in " ".join(help_text.split())
    assert "response body" not in help_text


def test_head_output(target):
    head = run_lunge("head", f"{target.url}/bytes/1000")
    assert head.returncode == 0, head.stderr
    lines = head.stdout.splitlines()
    assert lines[0] == "HTTP/1.1 200 OK" and "Content-Length: 1000" in lines[1:], head.stdout
