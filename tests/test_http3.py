"""HTTP/3 in every command, against a real local HTTP/3 server: Hypercorn over QUIC (aioquic),
with HTTP/2 and HTTP/1.1 over TLS on the same port number, a self-signed CA made by the test
(tests/h3server.py).  Counts are compared with the server's own count, by HTTP version; errors
with what libcurl really reports for a QUIC target that is down."""
from __future__ import annotations

import http.server
import json
import sys
import threading

import jsonschema
import pytest
import yaml
from h3server import H3Server, free_udp_tcp_port

from conftest import assert_one_line_error, run_lunge


def _server_or_skip():
    # Hypercorn's QUIC packages are in the `test` extra for CPython 3.11-3.13 (pyproject.toml says why).
    pytest.importorskip("aioquic", reason="aioquic (hypercorn[h3]: the test extra on CPython 3.11-3.13) is not "
                                          "installed")
    if sys.platform == "win32":
        pytest.skip("h3server.py stops Hypercorn's process group (POSIX)")


@pytest.fixture(scope="module")
def h3(tmp_path_factory):
    _server_or_skip()
    with H3Server(tmp_path_factory.mktemp("h3")) as srv:
        yield srv


@pytest.fixture(scope="module")
def tcp_only(tmp_path_factory):
    """The same server without QUIC: HTTP/2 and 1.1 over TLS, and nothing on the UDP port."""
    _server_or_skip()
    with H3Server(tmp_path_factory.mktemp("h2"), quic=False) as srv:
        yield srv


class Delta:
    """What the server answered between the start and the end of a `with` block."""

    def __init__(self, srv: H3Server):
        self.srv = srv

    def __enter__(self):
        self.before = self.srv.counts()
        return self

    def __exit__(self, *exc):
        after = self.srv.counts()
        self.total = after["total"] - self.before["total"]
        self.versions = {k: v - self.before["versions"].get(k, 0) for k, v in after["versions"].items()
                         if v - self.before["versions"].get(k, 0)}


def perf(tmp_path, *args, timeout=60, html=False):
    out = tmp_path / "r.json"
    # the JSON result in a file (and r.html); the text report still prints on stdout
    fmts = ("--format", "json", "--format", "html", "--output", str(tmp_path / "r")) if html \
        else ("--format", "json", "--output", str(out))
    proc = run_lunge("perf", *args, *fmts, timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc, (json.loads((tmp_path / "r.json").read_text()) if out.exists() else None)


@pytest.mark.slow
def test_perf_http3_sends_exactly_the_count_all_over_http3(tmp_path, h3, result_schema):
    with Delta(h3) as seen:
        proc, doc = perf(tmp_path, "--url", h3.url, "--http3", "--cacert", str(h3.cacert),
                         "--iterations", "500", "--concurrency", "8", "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    jsonschema.validate(doc, result_schema)
    m = doc["metrics"]
    assert seen.total == m["totalRequests"] == 500 and seen.versions == {"3": 500}
    assert m["httpVersions"] == doc["counters"]["httpVersions"] == {"3": 500}
    assert m["statusCodes"] == {"200": 500} and m["errors"] == {}
    assert doc["configuration"]["http3"] == "only" and doc["configuration"]["http2"] is False
    # QUIC connections multiplex streams: one handshake per engine (worker), not one per slot
    assert 1 <= m["connectionsOpened"] <= 2, m["connectionsOpened"]
    text = proc.stdout
    assert ", HTTP/3" in text.splitlines()[1] and "Versions     HTTP/3 500 (100.0%)" in text


@pytest.mark.slow
def test_perf_http3_status_mix_matches_the_server(tmp_path, h3):
    # the server answers 503 to every 4th request it counts: 75 of any 300 in a row
    with Delta(h3) as seen:
        proc, doc = perf(tmp_path, "--url", h3.url + "mix/4", "--http3", "--cacert", str(h3.cacert),
                         "--iterations", "300", "--concurrency", "5")
    assert proc.returncode == 0, proc.stderr
    m = doc["metrics"]
    assert seen.total == 300 and seen.versions == {"3": 300}
    assert m["statusCodes"] == {"200": 225, "503": 75} and m["failedRequests"] == 75
    assert m["httpVersions"] == {"3": 300}


@pytest.mark.slow
def test_fallback_uses_quic_when_the_server_has_it(tmp_path, h3):
    with Delta(h3) as seen:
        proc, doc = perf(tmp_path, "--url", h3.url, "--http3-fallback", "--cacert", str(h3.cacert),
                         "--iterations", "200", "--concurrency", "4", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert seen.total == 200 and doc["metrics"]["httpVersions"] == {"3": 200} == seen.versions
    assert doc["configuration"]["http3"] == "fallback"
    # libcurl counts a race's losing TCP attempt too when it connected (docs/http3.md)
    assert doc["metrics"]["connectionsOpened"] in (1, 2), doc["metrics"]["connectionsOpened"]
    assert "HTTP/3 with fallback to TCP" in proc.stdout


@pytest.mark.slow
def test_fallback_goes_over_tcp_to_a_server_without_quic(tmp_path, tcp_only):
    with Delta(tcp_only) as seen:
        proc, doc = perf(tmp_path, "--url", tcp_only.url, "--http3-fallback", "--cacert", str(tcp_only.cacert),
                         "--iterations", "200", "--concurrency", "4", html=True)
    assert proc.returncode == 0, proc.stderr
    m = doc["metrics"]
    # libcurl raced QUIC against TCP: TLS's ALPN chose h2, and the result says so
    assert seen.total == m["totalRequests"] == 200 and seen.versions == {"2": 200}
    assert m["httpVersions"] == {"2": 200} and m["errors"] == {}
    assert "Versions     HTTP/2 200 (100.0%)" in proc.stdout
    assert "<tr><td>over HTTP/2</td><td>200</td></tr>" in (tmp_path / "r.html").read_text()


@pytest.mark.slow
def test_http3_only_to_a_server_without_quic_is_a_quic_connect_error(tmp_path, tcp_only):
    with Delta(tcp_only) as seen:
        proc, doc = perf(tmp_path, "--url", tcp_only.url, "--http3", "--cacert", str(tcp_only.cacert),
                         "--iterations", "20", "--concurrency", "2")
    assert proc.returncode == 0, proc.stderr
    m = doc["metrics"]
    assert seen.total == 0 and m["totalRequests"] == m["failedRequests"] == 20
    # the closed UDP port answers with an ICMP port unreachable; libcurl reports CURLE_SEND_ERROR
    # ("Failed to connect ... Failed sending data to the peer"): not a reset, not a TCP refusal
    assert m["errors"] == {"quic_connect": 20}, m["errors"]
    assert "Failed to connect" in m["errorSamples"]["quic_connect"]
    assert "no QUIC connection could be made" in proc.stdout  # the insight says what it means
    assert m["httpVersions"] == {}


@pytest.mark.slow
@pytest.mark.parametrize("flag, expected", [("--http3", "quic_connect"), ("--http3-fallback", "connection_refused")])
def test_a_server_that_is_down(tmp_path, flag, expected):
    port = free_udp_tcp_port()  # nothing on TCP or UDP
    proc, doc = perf(tmp_path, "--url", f"https://127.0.0.1:{port}/", flag, "--insecure",
                     "--iterations", "10", "--concurrency", "2")
    assert proc.returncode == 0, proc.stderr
    # with the fallback, the TCP attempt was refused too, and libcurl's message says so
    assert doc["metrics"]["errors"] == {expected: 10}, doc["metrics"]["errorSamples"]


@pytest.mark.slow
def test_flows_http3_from_the_file_and_from_the_flag(tmp_path, h3):
    doc = {"name": "h3 flow", "settings": {"baseUrl": h3.url.rstrip("/"), "http3": "only"}, "scenarios": {"s": {
        "executor": "per-vu-iterations", "vus": 3, "iterations": 7,
        "requests": [{"name": "one", "url": "{{baseUrl}}/a"}, {"name": "two", "url": "/status/201"}]}}}
    path = tmp_path / "flow.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with Delta(h3) as seen:
        proc, result = perf(tmp_path, "-c", str(path), "--cacert", str(h3.cacert))
    assert proc.returncode == 0, proc.stderr
    assert seen.total == 42 and seen.versions == {"3": 42}
    assert result["metrics"]["httpVersions"] == {"3": 42} and result["configuration"]["http3"] == "only"
    assert result["metrics"]["statusCodes"] == {"200": 21, "201": 21}
    # the flag asks for the fallback mode over a file that says nothing
    del doc["settings"]["http3"]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with Delta(h3) as seen:
        proc, result = perf(tmp_path, "-c", str(path), "--cacert", str(h3.cacert), "--http3-fallback")
    assert proc.returncode == 0, proc.stderr
    assert seen.total == 42 and result["configuration"]["http3"] == "fallback"
    assert result["metrics"]["httpVersions"] == seen.versions == {"3": 42}


@pytest.mark.slow
def test_client_commands_over_http3(tmp_path, h3):
    with Delta(h3) as seen:
        proc = run_lunge("get", h3.url, "--http3", "--insecure", "-v")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok" and "< HTTP/3 200" in proc.stderr and "QUIC connect" in proc.stderr
    assert seen.versions == {"3": 1}
    cfg = {"environments": {"local": {"baseUrl": h3.url.rstrip("/")}},
           "requests": {"h3": {"url": "/x", "http3": "only", "insecure": True},
                        "tcp": {"url": "/y", "insecure": True}},
           "suites": {"s": {"requests": ["h3", "tcp"],
                            "tests": [{"name": "ok", "request": "h3", "assertions": [{"status": 200}]}]}}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    with Delta(h3) as seen:  # the request's own "http3"; the other goes over TCP (libcurl's default: h2 by ALPN)
        proc = run_lunge("run", "-c", str(path), "-s", "s")
    assert proc.returncode == 0, proc.stderr
    assert seen.versions == {"3": 1, "2": 1}
    with Delta(h3) as seen:  # the flag: every request of the suite
        proc = run_lunge("test", "-c", str(path), "-s", "s", "--http3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert seen.versions == {"3": 2}
    with Delta(h3) as seen:  # a config's request load-tested: its "http3" applies
        proc, doc = perf(tmp_path, "-c", str(path), "-r", "h3", "--iterations", "30", "--concurrency", "3")
    assert proc.returncode == 0, proc.stderr
    assert seen.versions == {"3": 30} == doc["metrics"]["httpVersions"]


@pytest.mark.parametrize("args, fragments", [
    (("perf", "--url", "http://127.0.0.1:9/", "--http3", "-n", "1"), ("--http3", "https://")),
    (("perf", "--url", "https://127.0.0.1:9/", "--http3", "--http2", "-n", "1"), ("--http3", "--http2")),
    (("perf", "--url", "https://127.0.0.1:9/", "--http3", "--http3-fallback", "-n", "1"),
     ("--http3", "--http3-fallback")),
    (("get", "http://127.0.0.1:9/", "--http3-fallback"), ("--http3-fallback", "https://")),
])
def test_bad_http3_requests_exit_2(args, fragments):
    assert_one_line_error(run_lunge(*args), *fragments)


@pytest.mark.parametrize("value", ["sometimes", 3])
def test_a_config_files_bad_http3_names_the_field(tmp_path, value):
    cfg = {"requests": {"r": {"url": "https://127.0.0.1:9/", "http3": value}}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    assert_one_line_error(run_lunge("perf", "-c", str(path), "-r", "r", "-n", "1"), "http3")
    flow = {"settings": {"http3": value}, "scenarios": {"s": {"executor": "per-vu-iterations", "vus": 1,
                                                               "iterations": 1, "requests": [{"url": "https://x/"}]}}}
    path = tmp_path / "f.yaml"
    path.write_text(yaml.safe_dump(flow))
    assert_one_line_error(run_lunge("perf", "-c", str(path)), "http3")


def test_a_libcurl_without_http3_is_refused(monkeypatch):
    from lunge import libcurl, runner
    from lunge.errors import ConfigError

    real = libcurl.load()
    monkeypatch.setattr(libcurl, "load", lambda: {**real, "http3": False})
    with pytest.raises(ConfigError, match=r"^--http3-fallback: libcurl .* has no HTTP/3 support$"):
        runner.load_libcurl(False, "fallback")
    assert runner.load_libcurl(False, None)["version"] == real["version"]


@pytest.mark.slow
def test_http1_and_http2_runs_count_their_versions(tmp_path, target, tcp_only):
    # HTTP/1.1: the version is asked once per connection (engine.pyx, ask_version), counted per response
    proc, doc = perf(tmp_path, "--url", target.url, "--iterations", "300", "--concurrency", "4")
    assert proc.returncode == 0, proc.stderr
    assert doc["metrics"]["httpVersions"] == {"1.1": 300} and "Versions" not in proc.stdout
    with Delta(tcp_only) as seen:
        proc, doc = perf(tmp_path, "--url", tcp_only.url, "--http2", "--cacert", str(tcp_only.cacert),
                         "--iterations", "100", "--concurrency", "4")
    assert proc.returncode == 0, proc.stderr
    assert doc["metrics"]["httpVersions"] == seen.versions == {"2": 100}
    assert "Versions     HTTP/2 100 (100.0%)" in proc.stdout


@pytest.mark.slow
def test_merge_and_compare_with_versions_and_without(tmp_path, h3, tcp_only):
    runs = {}
    for name, srv, flag in (("h3", h3, "--http3"), ("h2", tcp_only, "--http3-fallback")):
        out = tmp_path / f"{name}.json"
        proc = run_lunge("perf", "--url", srv.url, flag, "--cacert", str(srv.cacert), "-n", "40",
                         "--concurrency", "2", "-q", "--format", "json", "-o", str(out))
        assert proc.returncode == 0, proc.stderr
        runs[name] = out
    merged = run_lunge("merge", str(runs["h3"]), str(runs["h2"]), "--format", "json", "--force")
    assert merged.returncode == 0, merged.stderr
    doc = json.loads(merged.stdout)
    assert doc["metrics"]["httpVersions"] == doc["counters"]["httpVersions"] == {"2": 40, "3": 40}
    # a result written before versions were counted: loads, compares; merged, the sum is unknown
    old = json.loads(runs["h2"].read_text())
    del old["counters"]["httpVersions"], old["metrics"]["httpVersions"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert run_lunge("compare", str(tmp_path / "old.json"), str(runs["h3"])).returncode == 0
    merged = run_lunge("merge", str(tmp_path / "old.json"), str(runs["h3"]), "--format", "json", "--force")
    assert merged.returncode == 0, merged.stderr
    assert json.loads(merged.stdout)["counters"]["httpVersions"] == {}
    # counts that do not add up are refused, naming the field
    bad = json.loads(runs["h3"].read_text())
    bad["counters"]["httpVersions"] = {"3": 39}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    assert_one_line_error(run_lunge("compare", str(tmp_path / "bad.json"), str(runs["h3"])),
                          "counters.httpVersions add up to 39")


class _Http10(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # http.server's default: one response per connection, then close
    count = 0

    def do_GET(self):
        type(self).count += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


@pytest.fixture
def http10():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Http10)
    _Http10.count = 0
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.mark.slow
def test_http10_responses_are_counted_as_such(tmp_path, http10):
    proc, doc = perf(tmp_path, "--url", http10 + "/", "--iterations", "60", "--concurrency", "3")
    assert proc.returncode == 0, proc.stderr
    assert _Http10.count == 60 and doc["metrics"]["httpVersions"] == {"1.0": 60}
    assert "Versions     HTTP/1.0 60 (100.0%)" in proc.stdout


@pytest.mark.slow
def test_versions_are_exact_when_variants_go_to_two_servers(tmp_path, target, http10):
    # Per-request values send requests to an HTTP/1.1 server and an HTTP/1.0 one in turn: a slot's
    # response then need not come over the connection its previous one did.
    target.reset()
    (tmp_path / "bases.csv").write_text(f"base\n{target.url}\n{http10}\n")
    cfg = {"requests": {"r": {"url": "{{base}}/v"}},
           "performance": {"t": {"request": "r", "load": {"concurrency": 2, "iterations": 40, "dataFile": "bases.csv"}}}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    proc, doc = perf(tmp_path, "-c", str(path), "-p", "t", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert _Http10.count == 20 and target.stats()["requests"] == 20
    assert doc["metrics"]["httpVersions"] == {"1.0": 20, "1.1": 20}


def test_http3_from_a_file_on_an_http_url_names_the_files_field(tmp_path):
    """Asked for by the file, not a flag: the message names the file's field."""
    cfg = {"requests": {"r": {"url": "http://127.0.0.1:9/", "http3": True}}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    err = assert_one_line_error(run_lunge("perf", "-c", str(path), "-r", "r", "-n", "1"), "requests.r.http3", "https://")
    assert "--http3" not in err
    flow = {"settings": {"http3": "fallback"}, "scenarios": {"s": {"executor": "per-vu-iterations", "vus": 1,
                                                                   "iterations": 1,
                                                                   "requests": [{"url": "http://127.0.0.1:9/"}]}}}
    path = tmp_path / "f.yaml"
    path.write_text(yaml.safe_dump(flow))
    err = assert_one_line_error(run_lunge("perf", "-c", str(path)), "settings.http3", "https://")
    assert "--http3" not in err
