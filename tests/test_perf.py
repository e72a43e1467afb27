"""`lunge perf` against the embedded target: counts, status mixes, error classes, latency."""
import json
import signal
import subprocess
import sys
import time

import jsonschema
import pytest

from conftest import assert_one_line_error, lunge, run_lunge, wait_for


def perf_json(*args, **kw):
    r = lunge("perf", *args, "--format", "json", **kw)
    assert r.code == 0, r.err
    return r.json()


def test_iterations_sends_exactly_that_many(fresh_target, result_schema):
    doc = perf_json("--url", f"{fresh_target.url}/", "--concurrency", 20, "--iterations", 1000)
    assert fresh_target.stats()["requests"] == 1000
    m = doc["metrics"]
    assert m["totalRequests"] == 1000 and m["successfulRequests"] == 1000 and m["failedRequests"] == 0
    assert m["statusCodes"] == {"200": 1000}
    assert doc["counters"]["issued"] == 1000
    assert sum(row["requests"] for row in doc["timeSeries"]) == 1000
    assert m["bytesReceived"] > 1000 * 3  # headers + "ok\n"
    jsonschema.validate(doc, result_schema, format_checker=jsonschema.FormatChecker())


def test_more_connections_than_iterations_never_sends_extra(fresh_target):
    doc = perf_json("--url", f"{fresh_target.url}/", "--concurrency", 50, "--iterations", 7)
    assert fresh_target.stats()["requests"] == 7
    assert doc["metrics"]["totalRequests"] == 7
    assert doc["metrics"]["connectionsOpened"] == 7


def test_status_mix_is_reported_exactly(fresh_target):
    doc = perf_json("--url", f"{fresh_target.url}/mix/200:7,404:2,503:1", "--concurrency", 10, "-n", 1000)
    m = doc["metrics"]
    assert m["statusCodes"] == {"200": 700, "404": 200, "503": 100}
    assert m["failedRequests"] == 300 and m["successfulRequests"] == 700
    assert m["errors"] == {}  # 4xx/5xx are failures, not transport errors
    assert fresh_target.stats()["requests"] == 1000


def test_closed_port_is_connection_refused(closed_port):
    doc = perf_json("--url", f"http://127.0.0.1:{closed_port}/", "--concurrency", 5, "-n", 50)
    m = doc["metrics"]
    assert m["totalRequests"] == 50 and m["failedRequests"] == 50
    assert m["errors"] == {"connection_refused": 50}
    assert m["statusCodes"] == {}
    assert "connect" in m["errorSamples"]["connection_refused"].lower()
    assert m["responseTimes"]["count"] == 0


@pytest.mark.slow
def test_server_that_never_answers_times_out(fresh_target):
    t0 = time.monotonic()
    doc = perf_json("--url", f"{fresh_target.url}/hang", "--concurrency", 4, "-n", 8, "--timeout", "300ms")
    elapsed = time.monotonic() - t0
    m = doc["metrics"]
    assert m["errors"] == {"timeout": 8} and m["failedRequests"] == 8
    assert fresh_target.stats()["requests"] == 8
    assert elapsed < 10  # 2 rounds of 300 ms, plus start-up
    # the time to failure is the timeout, recorded in the error histogram
    err = doc["phaseHistograms"]["error"]
    assert err["totalCount"] == 8 and 290e6 <= err["minNs"] and err["maxNs"] < 1e9


def test_unresolvable_host_is_dns():
    doc = perf_json("--url", "http://lunge-test-host.invalid/", "--concurrency", 2, "-n", 4, "--timeout", "5s")
    assert doc["metrics"]["errors"] == {"dns": 4}


@pytest.mark.slow
def test_fixed_20ms_delay_gives_p50_between_20_and_25ms(fresh_target):
    doc = perf_json("--url", f"{fresh_target.url}/delay/20", "--concurrency", 10, "-n", 300)
    rt = doc["metrics"]["responseTimes"]
    assert 20.0 <= rt["p50Ms"] <= 25.0, rt
    assert rt["minMs"] >= 20.0
    assert doc["metrics"]["timingBreakdown"]["ttfbMs"] >= 19.0


@pytest.mark.slow
def test_duration_run_stops_issuing_and_reports_every_second(fresh_target, result_schema):
    t0 = time.monotonic()
    doc = perf_json("--url", f"{fresh_target.url}/delay/5", "--concurrency", 4, "--duration", "2s")
    assert time.monotonic() - t0 < 15
    m, rows = doc["metrics"], doc["timeSeries"]
    assert m["totalRequests"] == fresh_target.stats()["requests"]
    assert [r["t"] for r in rows] == list(range(len(rows))) and len(rows) in (2, 3)
    assert sum(r["requests"] for r in rows) == m["totalRequests"]
    # ~4 connections x 1 request per ~5 ms: a few hundred per second
    assert 200 < m["throughput"]["rps"] < 1000
    assert 1990 <= doc["counters"]["issueEndMs"] <= 2100
    jsonschema.validate(doc, result_schema, format_checker=jsonschema.FormatChecker())


def test_post_body_and_headers_reach_the_server(fresh_target):
    doc = perf_json("--url", f"{fresh_target.url}/items", "-d", '{"name": "x"}', "-H", "Content-Type: application/json",
                    "-n", 5, "--concurrency", 1)
    assert doc["metrics"]["statusCodes"] == {"201": 5}
    assert fresh_target.stats()["byMethod"] == {"POST": 5}


@pytest.mark.slow
@pytest.mark.parametrize("flag, sent", [
    (None, "lunge/"),                          # lunge's own by default
    ("User-Agent: probe/2", "probe/2"),        # the request's, once, not both
    ("User-Agent:", None),                     # an empty header: none at all, as wrk sends
])
def test_user_agent_is_lunges_unless_the_request_sets_one(flag, sent):
    import http.server
    import threading

    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            seen.append(self.headers.get_all("User-Agent"))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        doc = perf_json("--url", f"http://127.0.0.1:{srv.server_address[1]}/", "-n", 3, "--concurrency", 1,
                        *(("-H", flag) if flag else ()))
    finally:
        srv.shutdown()
        srv.server_close()
    assert doc["metrics"]["totalRequests"] == len(seen) == 3
    for values in seen:
        if sent is None:
            assert values is None
        else:
            assert len(values) == 1 and values[0].startswith(sent), values


@pytest.mark.slow
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_own_pools_change_nothing_on_the_wire(host):
    """Each slot reaches the origin through its own slotN.lunge.invalid route (docs/engine.md):
    the server still sees the URL's Host, one connection per slot, every request once."""
    import http.server
    import threading

    seen = []  # (client port, Host) per request

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            seen.append((self.client_address[1], self.headers.get("Host")))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    try:
        doc = perf_json("--url", f"http://{host}:{port}/", "-n", 400, "--concurrency", 4)
    finally:
        srv.shutdown()
        srv.server_close()
    assert doc["metrics"]["totalRequests"] == len(seen) == 400
    assert {h for _, h in seen} == {f"{host}:{port}"}
    assert len({p for p, _ in seen}) == doc["metrics"]["connectionsOpened"] == 4


def test_own_pools_route_stays_out_of_error_samples(closed_port):
    doc = perf_json("--url", f"http://127.0.0.1:{closed_port}/", "--concurrency", 3, "-n", 6)
    sample = doc["metrics"]["errorSamples"]["connection_refused"]
    assert f"127.0.0.1:{closed_port}" in sample and "lunge.invalid" not in sample and " via " not in sample


def test_own_pools_only_for_http1_to_a_known_address():
    from lunge.prepare import own_pools

    ip = ("127.0.0.1", 8080, "127.0.0.1")
    assert own_pools(ip, http2=False) == ip
    assert own_pools(ip, http2=True) is None       # streams share connections
    assert own_pools(("nohost.invalid", 80, None), http2=False) is None  # left to libcurl: dns


@pytest.mark.slow
def test_head_and_custom_method(fresh_target):
    perf_json("--url", f"{fresh_target.url}/", "-X", "HEAD", "-n", 3, "--concurrency", 1)
    perf_json("--url", f"{fresh_target.url}/", "-X", "DELETE", "-n", 2, "--concurrency", 1)
    assert fresh_target.stats()["byMethod"] == {"HEAD": 3, "DELETE": 2}


def test_text_report_has_the_essentials(fresh_target):
    r = lunge("perf", "--url", f"{fresh_target.url}/mix/200:1,500:1", "--concurrency", 2, "-n", 100)
    assert r.code == 0, r.err
    for needle in ("100 in", "req/s", "p50", "p99", "Distribution", "Breakdown", "200: 50", "500: 50", "50 failed"):
        assert needle in r.out, needle


def test_output_file_and_text_on_stdout(fresh_target, tmp_path):
    out = tmp_path / "r.json"
    r = lunge("perf", "--url", f"{fresh_target.url}/", "-n", 20, "--format", "json", "--output", out)
    assert r.code == 0, r.err
    assert json.loads(out.read_text())["metrics"]["totalRequests"] == 20
    assert "req/s" in r.out


@pytest.mark.slow
def test_interrupt_writes_what_was_measured(fresh_target, tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "-m", "lunge", "perf", "--url", f"{fresh_target.url}/delay/2",
                             "--concurrency", "5", "--duration", "30s", "--format", "json", "--output", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: fresh_target.stats()["requests"] > 100, "the target to count 100 requests", proc=proc)
    except BaseException:
        proc.kill()
        raise
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    doc = json.loads(out.read_text())
    assert doc["interrupted"] is True
    assert doc["metrics"]["totalRequests"] == fresh_target.stats()["requests"] > 100
    assert doc["metrics"]["failedRequests"] == 0  # in-flight requests finished within the grace period


@pytest.mark.slow
def test_sigterm_also_stops_cleanly(fresh_target, tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "-m", "lunge", "perf", "--url", f"{fresh_target.url}/",
                             "--concurrency", "2", "--duration", "30s", "--format", "json", "--output", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:  # lunge's SIGTERM handler is in place before its first request
        wait_for(lambda: fresh_target.stats()["requests"] > 0, "the target to count a request", proc=proc)
    except BaseException:
        proc.kill()
        raise
    proc.terminate()
    proc.communicate(timeout=20)
    assert proc.returncode == 130
    doc = json.loads(out.read_text())
    assert doc["interrupted"] and doc["metrics"]["totalRequests"] == fresh_target.stats()["requests"]


def test_version_names_the_libcurl_file():
    r = lunge("--version")
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0].startswith("lunge ")
    assert any(l.startswith("libcurl 8.") for l in lines), r.out
    path_line = [l for l in lines if l.startswith("engine libcurl file:")][0]
    path = path_line.split(": ", 1)[1].split(" (")[0]
    import os

    assert os.path.exists(path) and "libcurl" in os.path.basename(path)


def test_vus_and_ramping_vus_stages_as_the_original_lunge_spells_them(fresh_target, tmp_path):
    # --vus is --concurrency; --executor ramping-vus --stages moves the connections from 0 to each
    # stage's target linearly: 1s up to 4, 1s at 4, 1s down to 0, each request taking 50 ms
    out = tmp_path / "r.json"
    r = lunge("perf", "--url", f"{fresh_target.url}/delay/50", "--executor", "ramping-vus",
              "--stages", "1s:4,1s:4,1s:0", "--format", "json", "-o", out, "--workers", 2)
    assert r.code == 0, r.err
    doc = json.loads(out.read_text())
    assert doc["configuration"]["stages"] == [{"durationMs": 1000.0, "target": 4}, {"durationMs": 1000.0, "target": 4},
                                              {"durationMs": 1000.0, "target": 0}]
    assert doc["configuration"]["durationMs"] == 3000.0 and doc["configuration"]["concurrency"] == 4
    assert doc["metrics"]["totalRequests"] == fresh_target.stats()["requests"]
    per = {row["t"]: row["requests"] for row in doc["timeSeries"]}
    # 4 VUs x ~19 req/s in the middle second; about half of that while ramping up and down
    assert 64 <= per[1] <= 80, per
    assert 24 <= per[0] <= 52 and 24 <= per[2] <= 56, per
    fresh_target.reset()
    r = lunge("perf", "--url", f"{fresh_target.url}/", "--vus", 3, "-n", 30, "--format", "json", "-o", out)
    assert r.code == 0, r.err
    assert json.loads(out.read_text())["configuration"]["concurrency"] == 3 and fresh_target.stats()["requests"] == 30


@pytest.mark.parametrize("args, fragment", [
    (("--executor", "ramping-vus"), "give --stages"),
    (("--stages", "1s:2", "--executor", "constant-vus"), "go with --executor ramping-vus"),
    (("--stages", "1s:2", "--duration", "1s"), "drop --duration"),
    (("--stages", "1s:2", "--vus", 2), "drop --vus"),
    (("--stages", "1s:0"), "no stage has a target above 0"),
    (("--stages", "1s"), "is not DURATION:TARGET"),
    (("--executor", "constant-arrival-rate", "-n", 5), "give --rate"),
    (("--vus", 2, "--concurrency", 3, "-n", 5), "give one"),
])
def test_executor_flags_that_do_not_fit_are_one_line(fresh_target, args, fragment):
    r = run_lunge("perf", "--url", f"{fresh_target.url}/", *map(str, args))
    assert_one_line_error(r, fragment)
    assert fresh_target.stats()["requests"] == 0


def test_the_original_quick_mode_runs_its_documented_30s(monkeypatch):
    # `lunge perf --url U --vus 10` in the original runs 30 s (its --duration default); lunge's
    # own spelling (--concurrency) still asks for a length
    import contextlib
    import io

    from lunge import cli, runner

    plans = []

    class Planned(Exception):
        pass

    def fake_run(plan, monitor=None, workers=None):
        plans.append(plan)
        raise Planned()

    monkeypatch.setattr(runner, "run", fake_run)
    for argv in (["--vus", "10"], ["--executor", "constant-vus"]):
        with contextlib.redirect_stderr(io.StringIO()), pytest.raises(Planned):
            cli.main(["perf", "--url", "http://127.0.0.1:9/", *argv])
    assert [p.load.duration for p in plans] == [30.0, 30.0] and plans[0].load.concurrency == 10
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as e:
        cli.main(["perf", "--url", "http://127.0.0.1:9/", "--concurrency", "10"])
    assert e.value.code == 2 and "--duration" in err.getvalue()
    plans.clear()
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(Planned):
        cli.main(["perf", "--url", "http://127.0.0.1:9/", "--vus", "2", "-n", "5"])
    assert plans[0].load.duration is None and plans[0].load.iterations == 5
