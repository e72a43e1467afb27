"""The fault matrix: `lunge perf` against a local server made to misbehave (tests/faultserver.py).

Every row checks the error class, that lunge's count equals the server's (nothing lost,
nothing counted twice), that lunge exits normally, and that the run ends within its bound
(duration + grace + timeout, plus start-up).  Loopback only; every server is stopped at teardown.
"""
from __future__ import annotations

import json
import ssl
import subprocess
import sys
import threading
import time

import jsonschema
import psutil
import pytest

from conftest import lunge
from faultserver import CHUNKS, GZIP_BODY, FaultServer

STARTUP = 8.0  # seconds: interpreter, numpy and libcurl start-up on a busy shared machine


def perf(*args, bound: float):
    """`lunge perf ... --format json`: the document, after checking exit 0 and the time bound."""
    t0 = time.monotonic()
    r = lunge("perf", *args, "--format", "json", timeout=bound + 60)
    elapsed = time.monotonic() - t0
    assert r.code == 0, r.err
    assert "Traceback" not in r.err
    assert elapsed < bound + STARTUP, f"took {elapsed:.1f}s, bound {bound}s"
    return r.json()


def serving(**kw):
    """A FaultServer for a fixture's lifetime: `yield from serving(...)`."""
    s = FaultServer(**kw)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def server():
    yield from serving()


@pytest.fixture
def fs(server):
    server.reset()
    return server


def check_errors(doc, n, cls, server_count=None):
    m = doc["metrics"]
    assert m["totalRequests"] == n and m["failedRequests"] == n, m
    assert m["errors"] == {cls: n}, m["errors"]
    assert m["statusCodes"] == {}
    assert doc["counters"]["issued"] == n
    assert sum(row["requests"] for row in doc["timeSeries"]) == n
    assert sum(row["errors"] for row in doc["timeSeries"]) == n


# ---------------------------------------------------------------- connection-level faults

def test_connection_refused(closed_port):
    doc = perf("--url", f"http://127.0.0.1:{closed_port}/", "-n", 40, "--concurrency", 4, bound=5)
    check_errors(doc, 40, "connection_refused")


def test_reset_mid_response(fs):
    doc = perf("--url", f"{fs.url}/reset", "-n", 12, "--concurrency", 3, "--timeout", "5s", bound=5)
    check_errors(doc, 12, "connection_reset")
    assert fs.requests == 12
    assert doc["metrics"]["bytesReceived"] >= 12 * 100  # the partial bodies were counted


def test_close_after_headers(fs):
    doc = perf("--url", f"{fs.url}/close-after-headers", "-n", 12, "--concurrency", 3, "--timeout", "5s", bound=5)
    check_errors(doc, 12, "connection_reset")
    assert fs.requests == 12
    assert "missing" in doc["metrics"]["errorSamples"]["connection_reset"]


@pytest.mark.slow
def test_response_that_never_starts_times_out(fs):
    doc = perf("--url", f"{fs.url}/never", "-n", 6, "--concurrency", 3, "--timeout", "500ms", bound=2 * 0.5 + 1)
    check_errors(doc, 6, "timeout")
    assert fs.requests == 6
    err = doc["phaseHistograms"]["error"]
    assert err["totalCount"] == 6 and err["minNs"] >= 490e6


@pytest.mark.slow
def test_trickling_response_hits_the_per_request_timeout(fs):
    # 100 bytes at 10 bytes/s would take 10 s: the 1 s per-request timeout cuts each one short
    doc = perf("--url", f"{fs.url}/trickle", "-n", 4, "--concurrency", 4, "--timeout", "1s", bound=1 + 1)
    check_errors(doc, 4, "timeout")
    assert fs.requests == 4
    assert 0 < doc["metrics"]["bytesReceived"]
    assert "out of 100 bytes" in doc["metrics"]["errorSamples"]["timeout"]


@pytest.mark.slow
def test_trickling_response_hits_a_low_speed_limit(fs):
    doc = perf("--url", f"{fs.url}/trickle", "-n", 2, "--concurrency", 2, "--timeout", "30s",
               "--low-speed-limit", "1000", "--low-speed-time", "1s", bound=3)
    check_errors(doc, 2, "timeout")


@pytest.mark.slow
def test_grace_bounds_a_duration_run_against_a_server_that_never_answers(fs):
    # issuing stops at 1 s; in-flight requests get 1 s of grace, then count as aborted
    doc = perf("--url", f"{fs.url}/never", "--duration", "1s", "--grace", "1s", "--concurrency", 3,
               "--timeout", "30s", bound=1 + 1)
    m = doc["metrics"]
    assert m["errors"] == {"aborted": 3} and m["totalRequests"] == 3
    assert fs.requests == 3


def test_iterations_over_uneven_workers_keep_the_timeout_bound(fs):
    # -n 10 on 5 connections: at worst 2 rounds of timeouts (reliability.md); over 2 workers
    # (3 + 2 connections) an even 5/5 split of the iterations took 3 rounds on 2 connections
    doc = perf("--url", f"{fs.url}/never", "-n", 10, "--concurrency", 5, "--workers", 2, "--timeout", "500ms",
               bound=1 + 1)
    check_errors(doc, 10, "timeout")
    assert fs.requests == 10
    assert doc["durationMs"] < 2 * 500 + 250, doc["durationMs"]


def test_connections_count_when_every_transfer_is_aborted(fs):
    # no transfer completes: the connections libcurl opened for them are still counted
    doc = perf("--url", f"{fs.url}/never", "--duration", "200ms", "--grace", "200ms", "--concurrency", 3,
               "--workers", 1, bound=1)
    m = doc["metrics"]
    assert m["errors"] == {"aborted": 3} and fs.requests == 3
    assert m["connectionsOpened"] == fs.accepted == 3


def test_unresolvable_host_is_dns():
    doc = perf("--url", "http://lunge-fault.invalid/", "-n", 4, "--concurrency", 2, "--timeout", "5s", bound=5)
    check_errors(doc, 4, "dns")


# ---------------------------------------------------------------- HTTP-level faults

def test_malformed_status_line_is_invalid_response(fs):
    doc = perf("--url", f"{fs.url}/malformed", "-n", 6, "--concurrency", 2, bound=5)
    check_errors(doc, 6, "invalid_response")


def test_malformed_status_line_is_counted_once_and_does_not_crash(fs):
    doc = perf("--url", f"{fs.url}/malformed", "-n", 6, "--concurrency", 2, bound=5)
    m = doc["metrics"]
    assert m["totalRequests"] == m["failedRequests"] == 6 and sum(m["errors"].values()) == 6
    assert fs.requests == 6


def test_bad_content_length_is_invalid_response(fs):
    doc = perf("--url", f"{fs.url}/bad-length", "-n", 6, "--concurrency", 2, bound=5)
    check_errors(doc, 6, "invalid_response")
    assert fs.requests == 6


def test_enormous_response_headers_are_invalid_response(fs):
    # 1 MiB of headers: libcurl refuses them past its limit ("Too large response headers"),
    # which is a response lunge cannot use, not a reset connection
    doc = perf("--url", f"{fs.url}/headers/{1 << 20}", "-n", 4, "--concurrency", 2, bound=5)
    check_errors(doc, 4, "invalid_response")
    assert fs.requests == 4
    assert "response headers" in doc["metrics"]["errorSamples"]["invalid_response"]


def test_chunked_body(fs):
    doc = perf("--url", f"{fs.url}/chunked", "-n", 50, "--concurrency", 5, bound=5)
    m = doc["metrics"]
    assert m["statusCodes"] == {"200": 50} and m["errors"] == {}
    assert fs.requests == 50
    assert m["bytesReceived"] >= 50 * sum(len(c) for c in CHUNKS)


def test_broken_chunked_encoding_is_invalid_response(fs):
    doc = perf("--url", f"{fs.url}/chunked-bad", "-n", 6, "--concurrency", 2, bound=5)
    check_errors(doc, 6, "invalid_response")


def test_broken_chunked_encoding_is_counted_once(fs):
    doc = perf("--url", f"{fs.url}/chunked-bad", "-n", 6, "--concurrency", 2, bound=5)
    m = doc["metrics"]
    assert m["totalRequests"] == m["failedRequests"] == sum(m["errors"].values()) == 6
    assert fs.requests == 6


def test_gzip_body_is_counted_as_sent(fs):
    # bodies are discarded, never decoded: a gzip body counts its bytes on the wire
    doc = perf("--url", f"{fs.url}/gzip", "-n", 20, "--concurrency", 2, bound=5)
    m = doc["metrics"]
    assert m["statusCodes"] == {"200": 20} and m["errors"] == {}
    assert fs.requests == 20
    assert 20 * len(GZIP_BODY) <= m["bytesReceived"] < 20 * (len(GZIP_BODY) + 400)


# ---------------------------------------------------------------- redirects

def test_redirect_is_not_followed_without_L(fs):
    doc = perf("--url", f"{fs.url}/hops/3", "-n", 10, "--concurrency", 2, bound=5)
    assert doc["metrics"]["statusCodes"] == {"302": 10}
    assert fs.requests == 10 and fs.by_path == {"/hops/3": 10}


def test_redirects_followed_with_L(fs):
    doc = perf("--url", f"{fs.url}/hops/3", "-L", "-n", 10, "--concurrency", 2, bound=5)
    m = doc["metrics"]
    assert m["statusCodes"] == {"200": 10} and m["totalRequests"] == 10
    # one measured request per iteration; the server saw every hop
    assert fs.requests == 40 and fs.by_path["/hops/0"] == 10


def test_redirect_loop_stops_at_max_redirects(fs):
    doc = perf("--url", f"{fs.url}/loop", "-L", "--max-redirects", "3", "-n", 8, "--concurrency", 2, bound=5)
    check_errors(doc, 8, "too_many_redirects")
    assert fs.requests == 8 * 4  # the first request and 3 redirects, each


# ---------------------------------------------------------------- HTTP/2 mismatches

def test_http2_prior_knowledge_against_an_http1_only_server(fs):
    doc = perf("--url", f"{fs.url}/ok", "--http2", "-n", 6, "--concurrency", 2, bound=5)
    check_errors(doc, 6, "invalid_response")
    assert fs.requests == 6 and fs.by_path == {"*": 6}  # the HTTP/2 preface, refused by the server


@pytest.fixture(scope="module")
def h2only():
    yield from serving(h2only=True)


def test_http1_against_an_http2_only_server_is_invalid_response(h2only):
    h2only.reset()
    doc = perf("--url", f"{h2only.url}/ok", "-n", 6, "--concurrency", 2, bound=5)
    check_errors(doc, 6, "invalid_response")


def test_http1_against_an_http2_only_server_fails_every_request_once(h2only):
    h2only.reset()
    doc = perf("--url", f"{h2only.url}/ok", "-n", 6, "--concurrency", 2, bound=5)
    m = doc["metrics"]
    assert m["totalRequests"] == m["failedRequests"] == sum(m["errors"].values()) == 6
    assert m["statusCodes"] == {}
    assert h2only.requests == 6


# ---------------------------------------------------------------- TLS

def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate for 127.0.0.1 signed by it, a client certificate signed by it,
    and a self-signed server certificate (P-256 keys: fast to make)."""
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("req", "-x509", *ec, "-keyout", "self.key", "-out", "self.pem", "-days", "2", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", cwd=d)
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=lunge test CA",
             cwd=d)
    for name in ("server", "client"):
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=lunge {name}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.pem", "-days", "2", "-extfile", "san.ext", cwd=d)
    return d


@pytest.fixture(scope="module")
def self_signed(pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "self.pem", pki / "self.key")
    yield from serving(tls=ctx)


@pytest.fixture(scope="module")
def mtls(pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "server.pem", pki / "server.key")
    ctx.load_verify_locations(pki / "ca.pem")
    ctx.verify_mode = ssl.CERT_REQUIRED
    yield from serving(tls=ctx)


def test_self_signed_certificate_fails_as_tls(self_signed):
    self_signed.reset()
    doc = perf("--url", f"{self_signed.url}/ok", "-n", 6, "--concurrency", 2, bound=5)
    check_errors(doc, 6, "tls")
    assert self_signed.requests == 0  # no request crossed an unverified connection
    assert "certificate" in doc["metrics"]["errorSamples"]["tls"].lower()


def test_self_signed_certificate_with_insecure(self_signed):
    self_signed.reset()
    t0 = time.monotonic()
    r = lunge("perf", "--url", f"{self_signed.url}/ok", "-n", 20, "--concurrency", 2, "--insecure",
              "--format", "json")
    assert r.code == 0 and time.monotonic() - t0 < 5 + STARTUP
    assert "--insecure" in r.err and "not verified" in r.err  # the warning
    assert r.json()["metrics"]["statusCodes"] == {"200": 20}
    assert self_signed.requests == 20


def test_self_signed_certificate_with_cacert(self_signed, pki):
    self_signed.reset()
    doc = perf("--url", f"{self_signed.url}/ok", "-n", 20, "--concurrency", 2, "--cacert", pki / "self.pem", bound=5)
    assert doc["metrics"]["statusCodes"] == {"200": 20} and doc["metrics"]["errors"] == {}
    assert self_signed.requests == 20
    assert doc["metrics"]["timingBreakdown"]["tlsMs"] > 0


def test_client_certificate_accepted(mtls, pki):
    mtls.reset()
    doc = perf("--url", f"{mtls.url}/ok", "-n", 20, "--concurrency", 2, "--cacert", pki / "ca.pem",
               "--cert", pki / "client.pem", "--key", pki / "client.key", bound=5)
    assert doc["metrics"]["statusCodes"] == {"200": 20} and doc["metrics"]["errors"] == {}
    assert mtls.requests == 20 and mtls.handshake_failures == 0


def test_missing_client_certificate_fails_every_request(mtls, pki):
    mtls.reset()
    doc = perf("--url", f"{mtls.url}/ok", "-n", 6, "--concurrency", 2, "--cacert", pki / "ca.pem", bound=5)
    m = doc["metrics"]
    assert m["totalRequests"] == m["failedRequests"] == 6 and m["statusCodes"] == {}
    assert mtls.requests == 0 and mtls.handshake_failures == 6
    # TLS 1.3: the refusal comes after the client's side of the handshake, as an alert, or as a
    # reset when the server closes first (which one is a race); either way each request fails once
    assert sum(m["errors"].values()) == 6


def test_missing_client_certificate_is_tls(mtls, pki):
    mtls.reset()
    doc = perf("--url", f"{mtls.url}/ok", "-n", 6, "--concurrency", 2, "--cacert", pki / "ca.pem", bound=5)
    check_errors(doc, 6, "tls")


def test_the_request_commands_take_the_tls_files(mtls, pki, tmp_path):
    """get/run/test take --cacert, --cert and --key as perf does: a private CA and a client
    certificate, checked by a server that requires one (the server counts each request)."""
    tls = ("--cacert", pki / "ca.pem", "--cert", pki / "client.pem", "--key", pki / "client.key")
    mtls.reset()
    r = lunge("get", f"{mtls.url}/ok", *tls)
    assert r.code == 0 and r.out.strip() == "ok", (r.out, r.err)
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"requests": {"ok": {"url": f"{mtls.url}/ok"}},
                               "suites": {"s": {"requests": ["ok"], "tests": [
                                   {"name": "t", "request": "ok", "assertions": [{"status": 200}]}]}}}))
    assert lunge("run", "-c", cfg, "-r", "ok", *tls).code == 0
    r = lunge("test", "-c", cfg, "-s", "s", *tls)
    assert r.code == 0, r.out + r.err
    assert mtls.requests == 3 and mtls.handshake_failures == 0
    # without the client certificate the server refuses the handshake: nothing is served
    r = lunge("get", f"{mtls.url}/ok", "--cacert", pki / "ca.pem")
    assert r.code != 0 and mtls.requests == 3
    # without the CA the server is not trusted
    r = lunge("get", f"{mtls.url}/ok", "--cert", pki / "client.pem", "--key", pki / "client.key")
    assert r.code != 0 and mtls.requests == 3


@pytest.mark.parametrize("cmd", [("get", "https://127.0.0.1:9/"), ("run", "-c", "x.json", "-r", "r"),
                                 ("test", "-c", "x.json", "-s", "s")])
def test_a_missing_tls_file_is_one_line_exit_2(cmd, tmp_path):
    from conftest import assert_one_line_error, run_lunge

    assert_one_line_error(run_lunge(*cmd, "--cacert", str(tmp_path / "nope.pem")), "nope.pem", "does not exist")


def test_http2_over_tls_falls_back_to_http1_when_the_server_offers_only_http1(self_signed):
    # ALPN: the server offers no h2, so --http2 talks HTTP/1.1 and every request succeeds
    self_signed.reset()
    doc = perf("--url", f"{self_signed.url}/ok", "--http2", "--insecure", "-n", 20, "--concurrency", 2, bound=5)
    assert doc["metrics"]["statusCodes"] == {"200": 20}
    assert self_signed.requests == 20 and self_signed.by_path == {"/ok": 20}


# ---------------------------------------------------------------- an enormous body, memory stays flat

def _peak_rss(args) -> tuple[int, dict]:
    proc = psutil.Popen([sys.executable, "-m", "lunge", "perf", *map(str, args), "--format", "json"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    out = {}

    def drain():
        out["stdout"], out["stderr"] = proc.communicate(timeout=120)

    t = threading.Thread(target=drain)
    t.start()
    while t.is_alive():
        try:
            peak = max(peak, proc.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.02)
    t.join()
    assert proc.returncode == 0, out["stderr"]
    return peak, json.loads(out["stdout"])


@pytest.mark.slow
def test_enormous_bodies_keep_memory_flat(fs):
    size = 256 << 20  # 8 x 256 MiB = 2 GiB downloaded
    small_peak, small = _peak_rss(["--url", f"{fs.url}/ok", "-n", 2000, "--concurrency", 2])
    assert small["metrics"]["statusCodes"] == {"200": 2000}
    fs.reset()
    t0 = time.monotonic()
    big_peak, big = _peak_rss(["--url", f"{fs.url}/big/{size}", "-n", 8, "--concurrency", 2, "--timeout", "60s"])
    elapsed = time.monotonic() - t0
    m = big["metrics"]
    assert m["statusCodes"] == {"200": 8} and fs.requests == 8
    assert m["bytesReceived"] >= 8 * size
    # bodies are discarded as they arrive: 2 GiB through the engine costs no more than a few MB
    assert big_peak < small_peak + (32 << 20), (big_peak >> 20, small_peak >> 20)
    assert elapsed < 90


# ---------------------------------------------------------------- a target that dies and comes back

@pytest.mark.slow
def test_target_dies_mid_run_and_comes_back():
    s = FaultServer()
    try:
        def outage():
            # ~1 s into the run by the server's own count (not wall time: start-up varies with load)
            deadline = time.monotonic() + 30
            while s.requests < 200 and time.monotonic() < deadline:
                time.sleep(0.01)
            s.pause()
            time.sleep(1.5)
            s.resume()

        proc = subprocess.Popen([sys.executable, "-m", "lunge", "perf", "--url", f"{s.url}/ok", "--rps", "200",
                                 "--duration", "6s", "--concurrency", "4", "--timeout", "2s", "--format", "json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        t0 = time.monotonic()
        t = threading.Thread(target=outage)
        t.start()
        out, err = proc.communicate(timeout=6 + 5 + 2 + 60)
        elapsed = time.monotonic() - t0
        t.join()
    finally:
        s.stop()
    assert proc.returncode == 0, err
    assert elapsed < 6 + 5 + 2 + STARTUP  # duration + grace + timeout
    doc = json.loads(out)
    m, rows = doc["metrics"], doc["timeSeries"]
    assert set(m["errors"]) <= {"connection_refused", "connection_reset"} and m["errors"], m["errors"]
    # Every success was served.  The server counts a request before it answers, so a request being
    # answered when the target died is in its count but reached lunge as a connection_reset: at most
    # one per connection.
    assert s.requests - 4 <= m["statusCodes"]["200"] <= s.requests, (m["statusCodes"], s.requests)
    assert m["totalRequests"] == m["statusCodes"]["200"] + sum(m["errors"].values())
    assert sum(r["requests"] for r in rows) == m["totalRequests"]
    failing = [r["t"] for r in rows if r["errors"] > 0]
    assert failing, rows
    # healthy before the outage, failing during it, healthy again after it
    assert rows[0]["errors"] == 0 and rows[0]["requests"] > 0
    assert rows[-1]["errors"] == 0 and rows[-1]["requests"] > 100
    assert failing[0] > 0 and failing[-1] < rows[-1]["t"]


@pytest.mark.slow
def test_max_body_caps_a_response(fs):
    doc = perf("--url", f"{fs.url}/big/{8 << 20}", "--max-body", "1MB", "-n", 4, "--concurrency", 2, bound=5)
    check_errors(doc, 4, "invalid_response")
    assert fs.requests == 4


# ---------------------------------------------------------------- a server that drops requests it has read

def _check_drops_match_the_server(doc, fs, n=None):
    """lunge's counts equal the server's: every attempt on the wire is one request, each one the
    server read and dropped is one connection_closed error, nothing was sent twice."""
    m = doc["metrics"]
    assert fs.dropped > 0
    assert m["totalRequests"] == fs.requests, (m, fs.requests)
    assert m["errors"] == {"connection_closed": fs.dropped}, (m["errors"], m["errorSamples"], fs.dropped)
    assert m["statusCodes"] == {"200": fs.requests - fs.dropped}
    assert doc["counters"]["issued"] == fs.requests
    assert sum(row["requests"] for row in doc["timeSeries"]) == fs.requests
    assert sum(row["errors"] for row in doc["timeSeries"]) == fs.dropped
    if n is not None:
        assert fs.requests == n


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_dropped_requests_closed_model_count_what_the_server_saw(fs, method):
    # libcurl resends a request whose kept-alive connection closed without an answer ("Connection
    # died, retrying a fresh connect"): the server saw 5 696 requests where lunge counted 5 000
    body = ["-d", "payload=1"] if method == "POST" else []
    doc = perf("--url", f"{fs.url}/drop/7", "-X", method, *body, "-n", 700, "--concurrency", 4, bound=10)
    _check_drops_match_the_server(doc, fs, n=700)
    assert fs.dropped == 100
    # the first drop seen may be on a reused connection (the resend stopped) or on a new one
    # (libcurl's "Empty reply from server"): both are this class, whichever came first
    sample = doc["metrics"]["errorSamples"]["connection_closed"]
    assert "closed a reused connection" in sample or "Empty reply from server" in sample, sample


def test_connection_closed_in_every_report(fs, tmp_path, result_schema):
    r = lunge("perf", "--url", f"{fs.url}/drop/7", "-n", 70, "--concurrency", 2, "--format", "json",
              "--format", "text", "--format", "html", "-o", tmp_path / "run")
    assert r.code == 0, r.err
    doc = json.loads((tmp_path / "run.json").read_text())
    jsonschema.validate(doc, result_schema)
    assert doc["metrics"]["errors"] == {"connection_closed": 10} and fs.dropped == 10
    assert "connection_closed: 10" in r.out  # the text report goes to stdout
    assert ">connection_closed</td><td>10</td>" in (tmp_path / "run.html").read_text()


def test_dropped_requests_after_a_redirect(fs):
    # -L: libcurl calls the pre-request check once per hop; a hop after an answer is no resend
    doc = perf("--url", f"{fs.url}/to-drop/4", "-L", "-n", 200, "--concurrency", 4, bound=10)
    m = doc["metrics"]
    assert fs.by_path["/to-drop/4"] == 200 and fs.by_path["/drop/4"] == 200 and fs.dropped == 50
    assert m["totalRequests"] == 200
    assert m["errors"] == {"connection_closed": 50} and m["statusCodes"] == {"200": 150}


@pytest.mark.slow
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_dropped_requests_open_model_count_what_the_server_saw(fs, method):
    body = ["-d", "payload=1"] if method == "POST" else []
    doc = perf("--url", f"{fs.url}/drop/5", "-X", method, *body, "--rps", 400, "--duration", "1s",
               "--concurrency", 8, bound=1 + 5)
    _check_drops_match_the_server(doc, fs, n=400)
    assert doc["metrics"]["pacing"]["scheduled"] == doc["metrics"]["pacing"]["sent"] == 400
