"""`lunge perf` running flows, as a user runs it: v2 files and the quick mode's iteration
executors, against a local server that issues tokens, checks them and counts what it saw,
per path and per second.  Counts are compared exactly with the server's; rates and VU counts
with the executors' definitions, per second."""
from __future__ import annotations

import json
import math

import pytest
import yaml
from flow_target import FlowTarget

from conftest import run_lunge


@pytest.fixture
def target():
    with FlowTarget() as t:
        yield t


def write(tmp_path, doc: dict, name="flow.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(doc, sort_keys=False))
    return p


def perf(tmp_path, *args, timeout=60):
    out = tmp_path / "out.json"
    proc = run_lunge("perf", *args, "-q", "--json", "--output", str(out), timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr
    doc = json.loads(out.read_text()) if out.exists() else None
    return proc, doc


def per_second(target: FlowTarget, path_prefix: str, t0: float) -> list[int]:
    """The server's requests per second (from t0) whose path starts with path_prefix."""
    with target.lock:
        times = [t for t, _m, p, _a in target.log if p.startswith(path_prefix)]
    out: list[int] = []
    for t in times:
        k = int(t - t0)
        out.extend([0] * (k + 1 - len(out)))
        out[k] += 1
    return out


TOKEN_FLOW = {
    "name": "token flow",
    "settings": {"baseUrl": "${BASE_URL}"},
    "scenarios": {"users": {
        "executor": "constant-vus", "vus": 6, "duration": "2s",
        "requests": [
            {"name": "login", "method": "POST", "url": "{{baseUrl}}/login", "body": {"vu": "{{vuId}}"},
             "extract": [{"name": "token", "source": "body", "path": "$.token"}],
             "assertions": [{"type": "status", "condition": "eq", "value": 200}]},
            {"name": "me", "url": "{{baseUrl}}/me", "headers": {"Authorization": "Bearer {{token}}"},
             "assertions": [{"type": "status", "condition": "eq", "value": 200}], "thinkTime": "50ms"},
            {"name": "me again", "url": "{{baseUrl}}/me", "headers": {"Authorization": "Bearer {{token}}"}},
        ]}},
    "thresholds": {"http_req_failed": ["rate < 0.01"], "custom": {"users_failed": ["rate == 0"]}},
}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_each_vu_sends_back_its_own_token_and_counts_equal_the_servers(tmp_path, target, workers):
    path = write(tmp_path, TOKEN_FLOW)
    out = tmp_path / "out.json"
    proc = run_lunge("perf", "-c", str(path), "--workers", workers, "-q", "--json", "--output", str(out),
                     env={"BASE_URL": target.url})
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    sc = doc["scenarios"]["users"]
    logins = target.paths["/login"]
    assert logins == sc["requests"]["login"]["totalRequests"] == sc["iterations"] > 20
    assert target.paths["/me"] == sc["requests"]["me"]["totalRequests"] + sc["requests"]["me again"]["totalRequests"]
    assert doc["metrics"]["totalRequests"] == sum(target.paths.values())
    # every token sent back was issued, each by the login of the same iteration: used exactly twice
    assert set(target.bearers) <= set(target.issued)
    assert sorted(set(target.bearers.values())) == [2]
    assert len(target.issued) == logins
    # the login bodies carried the VU's id: 6 VUs, numbered 1..6 across the workers
    assert {json.loads(b)["vu"] for b in target.issued.values()} == {str(v) for v in range(1, 7)}
    assert sc["requests"]["me"]["checks"][0]["passed"] == sc["requests"]["me"]["totalRequests"]
    # one 50 ms think per iteration, each wake timed (a wake still pending at the end is not)
    assert sc["iterations"] <= sc["wakeLateness"]["count"] <= sc["iterations"] + 6
    assert sc["wakeLateness"]["p99Ms"] < 20
    assert sc["iterationDurations"]["minMs"] >= 50
    assert doc["thresholds"]["passed"] is True


def test_a_failed_check_fails_its_request_and_the_threshold(tmp_path, target):
    doc = json.loads(json.dumps(TOKEN_FLOW))
    doc["scenarios"]["users"]["requests"][1]["assertions"] = [
        {"type": "status", "condition": "eq", "value": 201},  # /me answers 200
        {"type": "body", "condition": "contains", "value": "me"}]
    out = tmp_path / "out.json"
    proc = run_lunge("perf", "-c", str(write(tmp_path, doc)), "--json", "--output", str(out),
                     env={"BASE_URL": target.url})
    assert proc.returncode == 1, proc.stderr  # http_req_failed and users_failed fail
    result = json.loads(out.read_text())
    me = result["scenarios"]["users"]["requests"]["me"]
    assert me["failedRequests"] == me["checkFailures"] == me["totalRequests"] == target.paths["/me"] // 2
    checks = {c["label"]: c for c in me["checks"]}
    assert checks["status eq 201"]["failed"] == me["totalRequests"] and checks["status eq 201"]["passed"] == 0
    assert "200" in checks["status eq 201"]["firstFailure"]
    assert checks["body contains me"]["passed"] == me["totalRequests"]
    assert result["metrics"]["failedRequests"] == me["totalRequests"]
    assert "users_failed" in proc.stdout and "failed" in proc.stdout


def test_constant_arrival_rate_is_exact_and_drops_when_the_pool_is_full(tmp_path, target):
    doc = {"name": "rates", "scenarios": {
        "steady": {"executor": "constant-arrival-rate", "rate": 25, "duration": "2s", "preAllocatedVUs": 2,
                   "maxVUs": 10, "requests": [{"url": f"{target.url}/item/{{{{iteration}}}}"}]},
        "starved": {"executor": "constant-arrival-rate", "rate": 20, "duration": "1s", "preAllocatedVUs": 1,
                    "maxVUs": 2, "gracefulStop": "2s", "requests": [{"url": f"{target.url}/slow?ms=300"}]},
    }}
    proc, result = perf(tmp_path, "-c", str(write(tmp_path, doc)))
    assert proc.returncode == 0, proc.stderr
    steady, starved = result["scenarios"]["steady"], result["scenarios"]["starved"]
    # 25/s for 2 s: exactly 50 iterations, each a distinct {{iteration}}
    assert steady["iterations"] == target.paths["/item"] == 50 and steady["dropped"] == 0
    assert sorted(target.items) == sorted(str(i) for i in range(50))
    # 2 VUs for 300 ms requests due every 50 ms: most are dropped, none sent late
    assert starved["dropped"] > 10
    assert starved["iterations"] + starved["dropped"] == 20
    assert target.paths["/slow"] == starved["iterations"]
    assert starved["lateness"]["p99Ms"] < 50


def test_ramping_arrival_rate_follows_its_stages_per_second(tmp_path, target):
    # 0 -> 20/s over 2 s (20 iterations: 5 in the first second, 15 in the second), then 20/s for 1 s
    doc = {"name": "ramp", "scenarios": {"r": {
        "executor": "ramping-arrival-rate", "startRate": 0, "preAllocatedVUs": 5, "maxVUs": 20,
        "stages": [{"duration": "2s", "target": 20}, {"duration": "1s", "target": 20}],
        "requests": [{"url": f"{target.url}/item/{{{{iteration}}}}"}]}}}
    proc, result = perf(tmp_path, "-c", str(write(tmp_path, doc)))
    assert proc.returncode == 0, proc.stderr
    assert result["scenarios"]["r"]["iterations"] == target.paths["/item"] == 40
    with target.lock:
        t0 = min(t for t, *_ in target.log)
    seen = per_second(target, "/item", t0)
    assert seen[:3] == pytest.approx([5, 15, 20], abs=2), seen
    series = [row["iterations"] for row in result["scenarios"]["r"]["timeSeries"]]
    assert series[:3] == pytest.approx([5, 15, 20], abs=2), series


def test_ramping_vus_follow_the_stages(tmp_path, target):
    doc = {"name": "vus", "scenarios": {"r": {
        "executor": "ramping-vus", "startVUs": 2, "gracefulStop": "1s",
        "stages": [{"duration": "1s", "target": 2}, {"duration": "0s", "target": 6}, {"duration": "1s", "target": 6},
                   {"duration": "0s", "target": 1}, {"duration": "1s", "target": 1}],
        "requests": [{"url": f"{target.url}/slow?ms=100"}]}}}
    proc, result = perf(tmp_path, "-c", str(write(tmp_path, doc)))
    assert proc.returncode == 0, proc.stderr
    sc = result["scenarios"]["r"]
    vus = [row["vus"] for row in sc["timeSeries"]][:3]
    # the most at once in each second: in the third, the 5 VUs above the new target finish their
    # 100 ms iteration first (the server's count for that second shows 1 VU's rate, below)
    assert vus == [2, 6, 6], sc["timeSeries"]
    # each VU runs ~10 iterations a second: the server's per-second counts follow the VUs
    with target.lock:
        t0 = min(t for t, *_ in target.log)
    seen = per_second(target, "/slow", t0)
    assert seen[0] == pytest.approx(20, abs=4) and seen[1] == pytest.approx(60, abs=10), seen
    assert 8 <= seen[2] <= 16, seen  # 1 VU's 10 a second, and the 5 leaving ones' last
    assert sc["iterations"] == target.paths["/slow"]


def test_quick_mode_arrival_rate_and_shared_iterations(tmp_path, target):
    proc, result = perf(tmp_path, "--url", f"{target.url}/item/x", "--executor", "constant-arrival-rate",
                        "--rate", "30", "--duration", "1s", "--pre-allocated-vus", "2", "--max-vus", "5")
    assert proc.returncode == 0, proc.stderr
    assert result["metrics"]["totalRequests"] == target.items["x"] == 30
    assert result["scenarios"]["default"]["executor"] == "constant-arrival-rate"
    proc, result = perf(tmp_path, "--url", f"{target.url}/item/y", "--executor", "shared-iterations",
                        "--vus", "4", "-n", "77", "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    assert result["scenarios"]["default"]["iterations"] == target.items["y"] == 77


def test_shards_add_up_to_the_file(tmp_path, target):
    doc = {"name": "sharded", "scenarios": {"s": {
        "executor": "shared-iterations", "vus": 5, "iterations": 41,
        "requests": [{"url": f"{target.url}/item/{{{{iteration}}}}-{{{{vuId}}}}"}]}}}
    path = write(tmp_path, doc)
    total = 0
    for shard in ("0/2", "1/2"):
        out = tmp_path / f"shard{shard[0]}.json"
        proc = run_lunge("perf", "-c", str(path), "--shard", shard, "-q", "--format", "json", "-o", str(out))
        assert proc.returncode == 0, proc.stderr
        total += json.loads(out.read_text())["scenarios"]["s"]["iterations"]
    assert total == target.paths["/item"] == 41
    # the shards' results merge exactly, and compare (both read a flow run's configuration back)
    merged = tmp_path / "merged.json"
    proc = run_lunge("merge", str(tmp_path / "shard0.json"), str(tmp_path / "shard1.json"), "--format", "json",
                     "-o", str(merged))
    assert proc.returncode == 0, proc.stderr
    m = json.loads(merged.read_text())
    assert m["scenarios"]["s"]["iterations"] == m["metrics"]["totalRequests"] == 41
    proc = run_lunge("compare", str(tmp_path / "shard0.json"), str(tmp_path / "shard1.json"))
    assert proc.returncode == 0 and "scenario s" in proc.stdout, proc.stderr
    # iterations and VU ids unique across the shards
    assert len(target.items) == 41
    assert {k.split("-")[1] for k in target.items} == {str(v) for v in range(1, 6)}


@pytest.mark.parametrize("args, fragment", [
    (["--rps", "10"], "--rps"),
    (["--concurrency", "3"], "--concurrency"),
    (["-e", "dev"], "-e"),
])
def test_load_flags_are_refused_with_a_v2_file(tmp_path, args, fragment):
    from conftest import assert_one_line_error

    proc = run_lunge("perf", "-c", str(write(tmp_path, TOKEN_FLOW)), *args, env={"BASE_URL": "http://127.0.0.1:9"})
    assert_one_line_error(proc, fragment)


def test_quick_mode_refusals(tmp_path):
    from conftest import assert_one_line_error

    url = "http://127.0.0.1:9/"
    assert_one_line_error(run_lunge("perf", "--url", url, "--executor", "constant-arrival-rate"), "--rate")
    assert_one_line_error(run_lunge("perf", "--url", url, "--rate", "5"), "--rate")
    assert_one_line_error(run_lunge("perf", "--url", url, "--executor", "per-vu-iterations", "--vus", "2"),
                          "--iterations")
    assert_one_line_error(run_lunge("perf", "--url", url, "--executor", "constant-arrival-rate", "--rate", "5",
                                    "--vus", "3"), "--max-vus")


def test_a_dead_target_is_counted_not_fatal(tmp_path):
    doc = {"name": "dead", "scenarios": {"s": {
        "executor": "per-vu-iterations", "vus": 2, "iterations": 3,
        "requests": [{"url": "http://127.0.0.1:9/x"}, {"url": "http://127.0.0.1:9/y"}]}}}
    proc, result = perf(tmp_path, "-c", str(write(tmp_path, doc)))
    assert proc.returncode == 0, proc.stderr
    sc = result["scenarios"]["s"]
    assert sc["iterations"] == 6 and sc["totalRequests"] == 12 and sc["errors"] == 12
    assert result["metrics"]["errors"] == {"connection_refused": 12}
    # each VU reaches the origin through names of its own: lunge's plumbing, kept out of the samples
    assert "lunge.invalid" not in json.dumps(result) and "127.0.0.1" in json.dumps(result["metrics"]["errorSamples"])
    assert math.isclose(sc["errorRate"], 1.0)


def test_a_flow_result_loads_back_for_compare_merge_and_the_baseline(tmp_path, target):
    """What `lunge perf -c FILE` writes is a result the other commands read: compare, merge of
    shards (counts add up to the server's), and --baseline / --compare."""
    doc = {"name": "loads back", "settings": {"baseUrl": target.url}, "scenarios": {"s": {
        "executor": "shared-iterations", "vus": 2, "iterations": 40,
        "requests": [{"name": "item", "url": "{{baseUrl}}/item/{{iteration}}",
                      "assertions": [{"type": "status", "condition": "eq", "value": 200}]}]}}}
    path = write(tmp_path, doc)
    parts = []
    for i in range(2):
        out = tmp_path / f"part{i}.json"
        proc = run_lunge("perf", "-c", str(path), "--shard", f"{i}/2", "-q", "--json", "--output", str(out))
        assert proc.returncode == 0, proc.stderr
        parts.append(str(out))
    proc = run_lunge("compare", *parts)
    assert proc.returncode == 0 and "malformed" not in proc.stderr, proc.stderr
    merged = tmp_path / "merged.json"
    proc = run_lunge("merge", *parts, "-o", str(merged))
    assert proc.returncode == 0, proc.stderr
    m = json.loads(merged.read_text())
    assert m["metrics"]["totalRequests"] == m["scenarios"]["s"]["iterations"] == 40 == target.paths["/item"]
    assert sorted(int(k) for k in target.items) == list(range(40))
    for flag in ("--baseline", "--compare"):
        proc = run_lunge("perf", "-c", str(path), "-q", flag, cwd=tmp_path)
        assert proc.returncode == 0 and "malformed" not in proc.stderr, (flag, proc.stderr)


@pytest.fixture
def embedded():
    """`lunge serve` (conftest's `target` is this module's FlowTarget here)."""
    from lunge import target as target_mod

    server = target_mod.Spawned()
    yield server
    server.stop()


def test_the_example_flow_runs_against_the_embedded_target(tmp_path, embedded):
    """examples/flow.yaml, shortened (tests/shorten.py), against `lunge serve`: every request
    answered as the flow expects (tokens, items, orders), counts equal the target's; only the
    request-count threshold, written for the full 2m45s, fails in a 2-s run."""
    from shorten import shorten

    here = __import__("pathlib").Path(__file__).resolve().parent.parent
    doc = shorten(yaml.safe_load((here / "examples" / "flow.yaml").read_text()), embedded.url)
    out = tmp_path / "out.json"
    proc = run_lunge("perf", "-c", str(write(tmp_path, doc)), "-q", "--format", "json", "-o", str(out),
                     env={"BASE_URL": embedded.url})
    assert "Traceback" not in proc.stderr
    result = json.loads(out.read_text())
    checks = {c["threshold"]: c["passed"] for c in result["thresholds"]["checks"]}
    assert [t for t, ok in checks.items() if not ok] == ["http_reqs: count > 1000"], checks
    assert proc.returncode == 1
    assert result["metrics"]["failedRequests"] == 0, result["metrics"]
    stats = embedded.stats()
    assert result["metrics"]["totalRequests"] == stats["requests"]
    shoppers, checkout = result["scenarios"]["shoppers"], result["scenarios"]["checkout"]
    assert shoppers["iterations"] > 0 and checkout["iterations"] > 0
    assert stats["byPath"]["/orders"] == checkout["requests"]["order"]["totalRequests"]
    assert all(c["failed"] == 0 for sc in (shoppers, checkout) for r in sc["requests"].values() for c in r["checks"])
