"""The original Go Lunge's v2 examples (tests/data/go-lunge/v2/, unmodified) run with `lunge perf
-c FILE`, shortened to about 2 s at light load by tests/shorten.py, against the local httpbin
stand-in (tests/go_lunge_servers.py): each exits as its thresholds say it should against that
stand-in (0: all pass, 1: one fails), the stand-in's own per-path counts equal the result's
request counts, and nothing prints a traceback.

The stand-in answers every request after 5 ms (`Httpbin(delay=...)`): httpbin.org is far slower,
and the delay bounds a closed-model scenario at VUs / 5 ms = 1000 requests/s (5 VUs after
shortening), so a threshold written for minutes of load (`count > 5000`) fails in a 2-s run
whatever this machine's speed, and one written for a local-sized load (`count > 100`) passes
with room to spare.
"""
from __future__ import annotations

import http.client
import json
import pathlib
import threading
import urllib.parse

import pytest
import yaml
from go_lunge_servers import Httpbin
from shorten import shorten

from conftest import assert_one_line_error, run_lunge
from lunge.config.load import read_document

GO_V2 = pathlib.Path(__file__).resolve().parent / "data" / "go-lunge" / "v2"
STAND_IN_DELAY_S = 0.005

# The exit code each example's thresholds give against the shortened run on the stand-in
# (latencies of a few ms, no failed requests, rates capped at 20 iterations/s, VUs at 5,
# about 2 s of load: at most ~1000 requests/s for a closed-model scenario, far fewer with
# think times).
EXPECTED_EXIT = {
    # p95 < 350ms, avg < 120ms, failed < 0.01: latency and errors only, all hold locally.
    "integration-constant-rate.yaml": 0,
    # p95 < 300ms, avg < 100ms, failed < 0.01: hold.
    "integration-constant-vus.yaml": 0,
    # p95 < 500ms, p99 < 800ms, avg < 200ms, failed < 0.03 (/bytes/100, /drip answer 200): hold.
    "integration-ramping-rate.yaml": 0,
    # p95 < 400ms, avg < 150ms, failed < 0.02 (POST/PUT/PATCH echo 200): hold.
    "integration-ramping-vus.yaml": 0,
    # p95 < 500ms, avg < 200ms, failed < 0.05: hold.
    "integration-test-httpbin.yaml": 0,
    # p95 < 1000ms, failed < 0.05: hold.
    "realistic-15min-test.yaml": 0,
    # Latency (p50 < 200ms ... max < 5s) and failed < 0.01 hold, but http_reqs `rate > 80`
    # (the rate is capped at 20 iterations/s x 2 requests = 40 req/s) and `count > 24000`
    # (5 minutes at 100/s; ~80 requests here) cannot: 1.
    "v2-api-throughput.yaml": 1,
    # p95 < 1s, avg < 500ms, failed < 0.05, http_reqs `rate > 5` (5 VUs, 3 requests per
    # ~17 ms iteration: hundreds of req/s): all hold. The literal {{requestId}} is only a warning.
    "v2-basic-load-test.yaml": 0,
    # p95 < 2s, p99 < 5s, avg < 1s, failed < 0.1, `count > 100` (constant_vus_test alone: 5 VUs x
    # 1.3 s at 2 requests per ~15 ms iteration, ~900 requests): all hold.
    "v2-integration-test.yaml": 0,
    # Latency, failed and the custom per-scenario p95s hold; `count > 20000` cannot (think times
    # of seconds, scaled by 1/360, keep it under ~3000): 1.
    "v2-multi-scenario.yaml": 1,
    # p50 < 300ms ... failed < 0.005 hold; `count > 50000` (an hour's worth) cannot: 1.
    "v2-soak-test.yaml": 1,
    # p95 < 3s, p99 < 10s, failed < 0.15 hold; `count > 5000` cannot (at most 5 VUs / 5 ms for
    # 2 s = 2000): 1.
    "v2-spike-test.yaml": 1,
    # p95 < 2s, p99 < 5s, failed < 0.10 hold; `count > 10000` cannot (at most 2000): 1.
    "v2-stress-test.yaml": 1,
}


def test_every_runnable_example_has_an_expected_exit_code():
    assert sorted(EXPECTED_EXIT) == sorted(p.name for p in GO_V2.glob("*.yaml") if p.name != "jsonplaceholder-test.yaml")


# ---------------------------------------------------------------- the stand-in

@pytest.fixture(scope="module")
def httpbin():
    hb = Httpbin(delay=STAND_IN_DELAY_S)
    yield hb
    hb.stop()


@pytest.fixture
def hb(httpbin):
    httpbin.reset()
    return httpbin


def _get(hb, method: str, target: str, body: bytes | None = None) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", hb.port, timeout=10)
    try:
        conn.request(method, target, body=body, headers={"User-Agent": "ua/1", "Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type") or "", resp.read()
    finally:
        conn.close()


def test_stand_in_serves_every_endpoint_the_v2_examples_use(hb):
    assert json.loads(_get(hb, "GET", "/user-agent")[2]) == {"user-agent": "ua/1"}
    assert json.loads(_get(hb, "GET", "/ip")[2]) == {"origin": "127.0.0.1"}
    status, _, body = _get(hb, "POST", "/anything", b'{"a": 1}')
    doc = json.loads(body)
    assert (status, doc["method"], doc["json"], doc["data"]) == (200, "POST", {"a": 1}, '{"a": 1}')
    assert json.loads(_get(hb, "GET", "/anything/x?q=1")[2])["args"] == {"q": "1"}
    status, ctype, body = _get(hb, "GET", "/bytes/100")
    assert (status, ctype, len(body)) == (200, "application/octet-stream", 100)
    assert _get(hb, "GET", "/drip?numbytes=5&duration=0&delay=0")[::2] == (200, b"*****")
    assert json.loads(_get(hb, "PATCH", "/patch", b'{"partial": "update"}')[2])["json"] == {"partial": "update"}
    assert json.loads(_get(hb, "PUT", "/put", b"{}")[2])["json"] == {}
    assert _get(hb, "GET", "/delay/0")[0] == _get(hb, "GET", "/status/200")[0] == 200
    assert "uuid" in json.loads(_get(hb, "GET", "/uuid")[2])
    assert "slideshow" in json.loads(_get(hb, "GET", "/json")[2])
    assert hb.counts()[("GET", "/anything/x")] == 1 and hb.counts()[("GET", "/delay/0")] == 1
    assert hb.total() == 12 == sum(hb.per_second().values())


def test_stand_in_holds_200_keep_alive_connections_at_once(hb):
    n = 200
    barrier = threading.Barrier(n, timeout=30)
    statuses: list[int] = []
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", hb.port, timeout=30)
        try:
            for i in range(2):
                if i == 1:
                    barrier.wait()  # all n connections open at once
                conn.request("GET", "/get")
                resp = conn.getresponse()
                resp.read()
                with lock:
                    statuses.append(resp.status)
        finally:
            conn.close()

    threads = [threading.Thread(target=client) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [200] * 2 * n
    assert hb.counts() == {("GET", "/get"): 2 * n}
    assert len({s["client"] for s in hb.seen}) == n  # two requests per connection: kept alive


# ---------------------------------------------------------------- the runs

def _result_counts(result: dict) -> tuple[int, dict[str, dict] | None]:
    """The result's total request count, and {scenario name: {"iterations", "requests"}} when
    the result has per-scenario data (the one place that reads its shape: adjust here)."""
    total = result["metrics"]["totalRequests"]
    scenarios = result.get("scenarios")
    if scenarios is None:
        return total, None
    return total, {name: {"iterations": s["iterations"], "requests": s["totalRequests"]}
                   for name, s in scenarios.items()}


def _keys(doc: dict, base: str) -> dict[str, list[tuple[str, str]]]:
    """{scenario: [(METHOD, path) of each request of its flow]}: what the stand-in counts."""
    out = {}
    for name, sc in doc["scenarios"].items():
        keys = []
        for r in sc["requests"]:
            url = r["url"].replace("{{baseUrl}}", base).replace("{{baseURL}}", base)
            keys.append((r.get("method", "GET").upper(), urllib.parse.urlsplit(urllib.parse.urljoin(base, url)).path))
        out[name] = keys
    return out


def run_example(name: str, hb, tmp_path, env: dict | None = None, base_url: str | None = None):
    """Shorten the example, write it, run `lunge perf -c` on it: (proc, shortened doc, result path)."""
    doc = shorten(read_document(str(GO_V2 / name)), hb.url)
    if base_url is not None:
        doc["settings"]["baseUrl"] = base_url
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp_path / "result.json"
    proc = run_lunge("perf", "-c", str(path), "--json", "--output", str(out), env=env, timeout=60)
    return proc, doc, out


def check_run(name: str, proc, doc: dict, out: pathlib.Path, hb) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert proc.returncode == EXPECTED_EXIT[name], (proc.returncode, proc.stderr[-2000:])
    result = json.loads(out.read_text())
    total, scenarios = _result_counts(result)
    counts = hb.counts()
    keys = _keys(doc, hb.url)
    # Every request of every flow was sent, nothing else, and the stand-in counted what lunge did.
    assert set(counts) == {k for flow in keys.values() for k in flow}
    assert sum(counts.values()) == total > 0
    seconds = hb.per_second()
    assert max(seconds) - min(seconds) <= 4, seconds  # the shortened run: about 2 s of load
    if scenarios is None:
        return
    assert set(scenarios) == set(doc["scenarios"])
    assert sum(s["requests"] for s in scenarios.values()) == total
    for sname, flow in keys.items():
        got = scenarios[sname]
        assert got["iterations"] > 0, sname
        assert got["requests"] >= got["iterations"] * len(flow), sname  # a completed iteration sent every request
        others = {k for o, f in keys.items() if o != sname for k in f}
        if not others & set(flow):  # paths only this scenario requests: the stand-in counts it alone
            assert sum(counts[k] for k in set(flow)) == got["requests"], sname


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED_EXIT))
def test_example_runs_shortened(name, hb, tmp_path):
    proc, doc, out = run_example(name, hb, tmp_path)
    check_run(name, proc, doc, out, hb)


@pytest.mark.slow
def test_base_url_from_the_environment(hb, tmp_path):
    # The example's own `baseUrl: "${BASE_URL:-https://httpbin.org}"`, filled from the OS environment.
    name = "v2-basic-load-test.yaml"
    original = read_document(str(GO_V2 / name))["settings"]["baseUrl"]
    assert original == "${BASE_URL:-https://httpbin.org}"
    proc, doc, out = run_example(name, hb, tmp_path, env={"BASE_URL": hb.url}, base_url=original)
    check_run(name, proc, doc, out, hb)


def test_jsonplaceholder_test_is_refused(hb):
    # Not a v2 file (v1 sections with v2 keys): refused before anything is sent.
    proc = run_lunge("perf", "-c", str(GO_V2 / "jsonplaceholder-test.yaml"), env={"BASE_URL": hb.url})
    assert_one_line_error(proc, "jsonplaceholder-test.yaml", code=2)
    assert hb.total() == 0
