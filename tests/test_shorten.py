"""tests/shorten.py, the transform that lets the original Go Lunge's v2 examples run in a couple
of seconds against a local stand-in (tests/test_go_lunge_v2_run.py): a pure function, checked
on its exact output and, for every example, with lunge's own model of the shortened file."""
from __future__ import annotations

import copy
import pathlib

import pytest
from shorten import BUDGET_S, MAX_RATE, MAX_VUS, factor, fmt, shorten

from lunge.config import scenario as sc
from lunge.config.load import read_document

GO_V2 = pathlib.Path(__file__).resolve().parent / "data" / "go-lunge" / "v2"
RUNNABLE = sorted(p.name for p in GO_V2.glob("*.yaml") if p.name != "jsonplaceholder-test.yaml")
BASE = "http://127.0.0.1:1234"


def test_basic_load_test_exactly():
    doc = read_document(str(GO_V2 / "v2-basic-load-test.yaml"))
    before = copy.deepcopy(doc)
    # T = 2m (one constant-vus scenario): f = 2 s / 120 s = 1/60.
    assert factor(doc) == pytest.approx(1 / 60)
    assert shorten(doc, BASE) == {
        "name": "Basic Load Test",
        "description": "Simple constant VUs load test for baseline performance measurement",
        "settings": {"baseUrl": BASE, "timeout": "30s", "maxConnectionsPerHost": 50, "maxIdleConnsPerHost": 50,
                     "userAgent": "lunge/2.0-basic-load-test", "headers": {"Accept": "application/json"}},
        "scenarios": {"basic_load": {
            "executor": "constant-vus",
            "vus": 5,                    # 10, capped
            "duration": "2000ms",        # 2m x 1/60
            "gracefulStop": "500ms",     # 10s x 1/60 = 167 ms, raised to the 0.5 s floor
            "tags": {"test_type": "basic", "environment": "test"},
            "requests": [
                {"name": "GET Request", "method": "GET", "url": "{{baseUrl}}/get",
                 "headers": {"X-Request-ID": "{{requestId}}"},
                 "assertions": [{"type": "status", "condition": "eq", "value": "200"},
                                {"type": "duration", "condition": "lt", "value": "2s"}]},
                {"name": "GET with Parameters", "method": "GET", "url": "{{baseUrl}}/get?page=1&limit=10",
                 "thinkTime": "1.667ms",  # 100ms x 1/60
                 "assertions": [{"type": "status", "condition": "eq", "value": "200"}]},
                {"name": "Headers Check", "method": "GET", "url": "{{baseUrl}}/headers",
                 "assertions": [{"type": "status", "condition": "eq", "value": "200"}]},
            ]}},
        "thresholds": {"http_req_duration": ["p95 < 1s", "avg < 500ms"], "http_req_failed": ["rate < 0.05"],
                       "http_reqs": ["rate > 5"]},
        "options": {"iterationsTimeout": "30s"},
    }
    assert doc == before  # a copy: the input is left alone


def test_every_kind_of_duration_cap_and_url():
    doc = {
        "name": "t",
        "settings": {"baseUrl": "${BASE_URL:-https://httpbin.org}"},
        "scenarios": {
            "late": {"executor": "constant-arrival-rate", "rate": 600, "timeUnit": "1m", "duration": "30s",
                     "startTime": "10s", "preAllocatedVUs": 50, "maxVUs": 200,
                     "requests": [{"url": "https://httpbin.org/get?x=1", "thinkTime": "4s"}]},
            "ramp": {"executor": "ramping-arrival-rate", "startRate": 50, "preAllocatedVUs": 2,
                     "stages": [{"duration": "10s", "target": 100}, {"duration": "10s", "target": 3}],
                     "requests": [{"url": "http://localhost:80/post", "method": "POST"}]},
            "users": {"executor": "ramping-vus", "startVUs": 10, "gracefulStop": "1m",
                      "stages": [{"duration": "20s", "target": 300}, {"duration": "0s", "target": 1}],
                      "pacing": {"type": "random", "min": "2s", "max": "5s"},
                      "requests": [{"url": "http://localhost/anything"}, {"url": "/relative"}]},
            "each": {"executor": "per-vu-iterations", "vus": 8, "iterations": 100,
                     "pacing": {"type": "constant", "duration": "1s"}, "requests": [{"url": "{{baseUrl}}/uuid"}]},
        },
    }
    out = shorten(doc, BASE)
    # T = max(10s + 30s, 20s, 20s) = 40 s: f = 2/40 = 0.05.
    assert factor(doc) == 0.05
    assert out["settings"] == {"baseUrl": BASE}
    late, ramp, users, each = (out["scenarios"][k] for k in ("late", "ramp", "users", "each"))
    assert late == {"executor": "constant-arrival-rate", "rate": 600, "timeUnit": "1m", "duration": "1500ms",
                    "startTime": "500ms", "preAllocatedVUs": 5, "maxVUs": 5, "gracefulStop": "1000ms",
                    "requests": [{"url": BASE + "/get?x=1", "thinkTime": "200ms"}]}  # 600/min = 10/s: kept
    assert ramp["startRate"] == MAX_RATE and [s["target"] for s in ramp["stages"]] == [MAX_RATE, 3]
    assert [s["duration"] for s in ramp["stages"]] == ["500ms", "500ms"]
    assert ramp["requests"][0]["url"] == BASE + "/post"
    assert ramp["preAllocatedVUs"] == 2 and "maxVUs" not in ramp
    assert users["startVUs"] == MAX_VUS and [s["target"] for s in users["stages"]] == [MAX_VUS, 1]
    assert [s["duration"] for s in users["stages"]] == ["1000ms", "0ms"]
    assert users["gracefulStop"] == "1000ms"  # 1m x 0.05 = 3 s, lowered to the 1 s ceiling
    assert users["pacing"] == {"type": "random", "min": "100ms", "max": "250ms"}
    assert [r["url"] for r in users["requests"]] == [BASE + "/anything", "/relative"]
    assert each["vus"] == MAX_VUS and each["iterations"] == 10 and each["maxDuration"] == "2000ms"
    assert each["pacing"] == {"type": "constant", "duration": "50ms"}


def test_a_short_file_keeps_its_times_and_sequence_adds_up():
    doc = {"scenarios": {
        "a": {"executor": "constant-vus", "vus": 1, "duration": "1s", "requests": [{"url": "/"}]},
        "b": {"executor": "constant-vus", "vus": 1, "duration": "1500ms", "requests": [{"url": "/"}]}}}
    assert factor(doc) == 1.0
    assert shorten(doc, BASE)["scenarios"]["b"]["duration"] == "1500ms"
    assert factor({**doc, "options": {"sequential": True}}) == pytest.approx(BUDGET_S / 2.5)


def test_fmt():
    assert [fmt(x) for x in (2.0, 0.0016667, 0.0, 1e-9, 0.5)] == ["2000ms", "1.667ms", "0ms", "0.001ms", "500ms"]


@pytest.mark.parametrize("name", RUNNABLE)
def test_every_shortened_example_is_valid_short_and_light(name):
    doc = read_document(str(GO_V2 / name))
    out = shorten(doc, BASE)
    tf = sc.build(name, out)  # lunge's own validation and model of the shortened file
    assert sc.total_duration(tf) <= BUDGET_S + 1.0 + 1e-6
    for s in tf.scenarios:
        assert sc.peak_vus(s.executor) <= MAX_VUS
        if s.executor.type.endswith("arrival-rate"):
            assert max(sc.rate_at(s.executor, t / 10) for t in range(31)) <= MAX_RATE
    assert tf.settings.base_url == BASE
    assert out["thresholds"] == doc["thresholds"]
    for s in out["scenarios"].values():
        for r in s["requests"]:
            assert r["url"].startswith(("{{baseUrl}}", BASE)), r["url"]
