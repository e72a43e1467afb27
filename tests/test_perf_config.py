"""`lunge perf -c FILE -e ENV -p TEST` and `-r REQUEST`: config-driven load tests, flags on top."""
import json

import pytest

from conftest import REPO, lunge

EXAMPLE = REPO / "examples" / "items.json"


@pytest.fixture
def run(fresh_target, monkeypatch):
    monkeypatch.setenv("LUNGE_TARGET_PORT", str(fresh_target.port))

    def go(*args):
        # these tests shape the load; the example's thresholds (minThroughput 100) are not theirs
        r = lunge("perf", "-c", EXAMPLE, "-e", "local", *args, "--format", "json", "--no-thresholds")
        assert r.code == 0, r.err
        return r.json()
    return go


def test_performance_test_from_the_config(run, fresh_target):
    doc = run("-p", "smoke")  # 2 connections, 100 iterations, 10 warmup iterations
    m = doc["metrics"]
    assert m["totalRequests"] == 100 and m["warmup"]["requests"] == 10
    assert fresh_target.stats()["requests"] == 110
    assert doc["testName"] == "smoke" and doc["configuration"]["concurrency"] == 2
    assert doc["configuration"]["model"] == "closed"


@pytest.mark.slow
def test_flags_override_the_config(run, fresh_target):
    # fetchLoad: a 30 s step pattern with warmup; the flags make it a short constant-rate run
    doc = run("-p", "fetchLoad", "--rps", "100", "--duration", "2s", "--warmup", "0", "--ramp-up", "0",
              "--ramp-down", "0", "--concurrency", "5")
    assert doc["configuration"]["model"] == "open" and doc["configuration"]["pattern"]["rps"] == 100
    assert doc["configuration"]["concurrency"] == 5
    assert 198 <= doc["metrics"]["totalRequests"] <= 201
    assert fresh_target.stats()["requests"] == doc["metrics"]["totalRequests"]


@pytest.mark.slow
def test_config_pattern_is_used_when_no_flag_sets_a_rate(run, fresh_target):
    doc = run("-p", "fetchLoad", "--duration", "2s", "--warmup", "0", "--ramp-up", "0", "--ramp-down", "0")
    assert doc["configuration"]["pattern"]["type"] == "step"
    first = doc["timeSeries"][0]["requests"]
    assert abs(first - 100) <= 3  # the first step is 100 req/s
    assert fresh_target.stats()["requests"] == doc["metrics"]["totalRequests"]


def test_load_test_one_request_with_variables(run, fresh_target):
    doc = run("-r", "echo", "-n", "30", "--concurrency", "3")
    assert doc["metrics"]["totalRequests"] == 30
    assert fresh_target.stats()["byPath"] == {"/echo": 30}


@pytest.mark.parametrize("load,needle", [
    ({"concurrency": 2, "duration": "1s", "rps": -5}, "rps"),
    ({"concurrency": 2, "duration": "1s", "pattern": {"type": "zigzag"}}, "pattern"),
    ({"concurrency": 2, "pattern": {"type": "step", "steps": [{"rps": 10}]}}, "duration"),
    ({"concurrency": 2, "iterations": 5000, "pattern": {"type": "linear", "startRps": 1, "endRps": 10,
                                                          "duration": "2s"}}, "iterations"),
    ({"concurrency": 2, "duration": "1s", "pattern": {"type": "custom", "module": "no_such_mod:Rate"}}, "no_such_mod"),
    # a 0s ramp and no run duration: was a TypeError traceback in patterns.check()
    ({"concurrency": 2, "iterations": 5, "pattern": {"type": "linear", "endRps": 10, "duration": "0s"}}, "duration"),
])
def test_bad_load_sections_exit_2_naming_the_field(load, needle, tmp_path, target):
    cfg = {"environments": {"local": {"baseUrl": target.url}}, "requests": {"home": {"url": "/"}},
           "performance": {"t": {"request": "home", "load": load}}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    r = lunge("perf", "-c", path, "-e", "local", "-p", "t")
    assert r.code == 2, (r.code, r.out, r.err)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.err, r.err


@pytest.mark.slow
def test_custom_pattern_plugin(tmp_path, fresh_target, monkeypatch):
    (tmp_path / "mypatterns.py").write_text(
        "class Square:\n"
        "    def __init__(self, low, high):\n"
        "        self.low, self.high = low, high\n"
        "    def rate(self, elapsed):\n"
        "        return self.high if int(elapsed) % 2 else self.low\n"
        "    def is_complete(self, elapsed):\n"
        "        return elapsed >= 2\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    cfg = {"environments": {"local": {"baseUrl": fresh_target.url}}, "requests": {"home": {"url": "/"}},
           "performance": {"sq": {"request": "home", "load": {"concurrency": 10, "pattern": {
               "type": "custom", "module": "mypatterns:Square", "args": {"low": 50, "high": 150}}}}}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    r = lunge("perf", "-c", path, "-e", "local", "-p", "sq", "--format", "json")
    assert r.code == 0, r.err
    rows = [row["requests"] for row in r.json()["timeSeries"]]
    assert abs(rows[0] - 50) <= 2 and abs(rows[1] - 150) <= 3, rows
    assert fresh_target.stats()["requests"] == r.json()["metrics"]["totalRequests"] == 200


def write_cfg(tmp_path, target, request, load=None):
    cfg = {"environments": {"local": {"baseUrl": target.url}}, "requests": {"r": request}}
    if load:
        cfg["performance"] = {"t": {"request": "r", "load": load}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    return path


def test_per_request_values_are_a_pool_of_variants(tmp_path, fresh_target):
    path = write_cfg(tmp_path, fresh_target, {"url": "/v/{{$uuid}}"})
    r = lunge("perf", "-c", path, "-e", "local", "-r", "r", "-n", 2000, "--variants", 500, "--concurrency", 8,
              "--format", "json")
    assert r.code == 0, r.err
    by_path = fresh_target.stats()["byPath"]
    assert len(by_path) == 500 and set(by_path.values()) == {4}  # 500 renderings, each sent 4 times
    assert r.json()["configuration"]["variants"] == 500


def test_data_file_rows_feed_the_requests_in_order(tmp_path, fresh_target):
    (tmp_path / "ids.csv").write_text("id,name\n1,a\n2,b\n3,c\n")
    path = write_cfg(tmp_path, fresh_target, {"url": "/items/{{id}}", "headers": {"X-Name": "{{name}}"}},
                     load={"concurrency": 3, "iterations": 9, "dataFile": "ids.csv"})
    r = lunge("perf", "-c", path, "-e", "local", "-p", "t", "--format", "json")
    assert r.code == 0, r.err
    assert fresh_target.stats()["byPath"] == {"/items/1": 3, "/items/2": 3, "/items/3": 3}


def test_bad_data_file_is_one_line(tmp_path, target):
    path = write_cfg(tmp_path, target, {"url": "/items/{{id}}"}, load={"iterations": 3, "dataFile": "missing.csv"})
    r = lunge("perf", "-c", path, "-e", "local", "-p", "t")
    assert r.code == 2 and "missing.csv" in r.err and len(r.err.strip().splitlines()) == 1


@pytest.mark.slow
def test_backoff_slows_down_against_a_dead_target(closed_port):
    url = f"http://127.0.0.1:{closed_port}/"
    fast = lunge("perf", "--url", url, "--concurrency", 1, "--duration", "1s", "--format", "json").json()
    slow = lunge("perf", "--url", url, "--concurrency", 1, "--duration", "1s", "--backoff", "50ms:200ms",
                 "--format", "json").json()
    assert fast["metrics"]["errors"]["connection_refused"] > 200
    # 50 + 100 + 200 + 200 + ... ms of pauses: a handful of attempts in 1 s
    assert 4 <= slow["metrics"]["errors"]["connection_refused"] <= 10, slow["metrics"]["errors"]
