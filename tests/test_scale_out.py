"""Scale-out: --workers on one machine, --shard I/N across machines, exact `lunge merge`, and
the Kubernetes Indexed Job example run end to end (each pod's command, locally)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml

from conftest import REPO, lunge
from lunge._native.hist import Histogram
from lunge.results import RunResult, Second, SparseHist

K8S = REPO / "examples" / "k8s"


def perf_json(*args):
    r = lunge("perf", *args, "--format", "json")
    assert r.code == 0, r.err
    return r.json()


@pytest.mark.slow
def test_two_workers_send_exactly_the_iterations(fresh_target, result_schema):
    import jsonschema

    doc = perf_json("--url", f"{fresh_target.url}/", "--workers", 2, "--concurrency", 10, "-n", 10000)
    assert fresh_target.stats()["requests"] == 10000 == doc["metrics"]["totalRequests"]
    assert doc["configuration"]["workers"] == 2 and doc["configuration"]["concurrency"] == 10
    assert [w["requests"] for w in doc["workers"]] == [5000, 5000]
    assert doc["metrics"]["connectionsOpened"] == 10
    jsonschema.validate(doc, result_schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.slow
def test_two_workers_keep_the_total_rate(fresh_target):
    doc = perf_json("--url", f"{fresh_target.url}/", "--workers", 2, "--concurrency", 20, "--rps", 2000,
                    "--duration", "3s")
    m = doc["metrics"]
    assert abs(m["totalRequests"] - 6000) <= 60 and m["throughput"]["rps"] == pytest.approx(2000, rel=0.01)
    assert m["totalRequests"] == fresh_target.stats()["requests"]
    assert m["pacing"]["scheduled"] == m["pacing"]["sent"] + m["pacing"]["unsent"]


def synthetic(values_ns, t0_ns=1_700_000_000_000_000_000, seconds=3):
    """A RunResult as the engine would report the given latencies, spread over `seconds`."""
    h = Histogram()
    h.record_array(values_ns)
    series = []
    for t, chunk in enumerate(np.array_split(values_ns, seconds)):
        sh = Histogram()
        sh.record_array(chunk)
        series.append(Second(t=t, requests=len(chunk), status=[0, 0, len(chunk), 0, 0, 0], hist=SparseHist.of(sh)))
    empty = {k: Histogram() for k in ("service", "sendLag", "dns", "connect", "tls", "ttfb", "transfer",
                                      "curlTotal", "error")}
    n = len(values_ns)
    return RunResult(name="t", configuration={"concurrency": 4, "iterations": n}, start_wall_ns=t0_ns,
                     elapsed_ns=seconds * 10**9, first_send_ns=0, issue_end_ns=seconds * 10**9,
                     completed_at_issue_end=n, issued=n, completed=n, failures=0, errors=0, bytes=100 * n,
                     connections=4, status_codes={200: n}, error_classes={}, error_samples={}, curl_codes={},
                     histograms={"response": h, **empty}, series=series, versions={})


def test_merging_shards_equals_one_run_of_the_whole_load():
    rng = np.random.default_rng(11)
    values = rng.lognormal(np.log(3e6), 0.7, 60_000).astype(np.int64) + 1
    whole = synthetic(values)
    a, b = synthetic(values[0::2]), synthetic(values[1::2])
    merged = RunResult.merge([a, b], kind="shard")
    assert merged.response == whole.response
    ps = [50, 90, 99, 99.9]
    assert np.array_equal(merged.response.percentiles(ps), whole.response.percentiles(ps))
    assert merged.completed == whole.completed and merged.status_codes == whole.status_codes
    assert [s.requests for s in merged.series] == [20000, 20000, 20000]
    assert merged.configuration["concurrency"] == 8 and merged.configuration["shards"] == 2


def test_merge_aligns_series_on_wall_clock_seconds():
    values = np.full(300, 2_000_000, dtype=np.int64)
    a = synthetic(values)
    b = synthetic(values, t0_ns=a.start_wall_ns + 2 * 10**9)  # started 2 s later
    merged = RunResult.merge([a, b], kind="shard")
    assert [s.requests for s in merged.series] == [100, 100, 200, 100, 100]
    assert merged.elapsed_ns == 5 * 10**9


@pytest.mark.slow
def test_shards_against_a_server_merge_to_the_whole(fresh_target, tmp_path):
    outs = []
    for i in range(2):
        out = tmp_path / f"s{i}.json"
        r = lunge("perf", "--url", f"{fresh_target.url}/delay/2", "--concurrency", 6, "-n", 1501,
                  "--shard", f"{i}/2", "--format", "json", "--output", out)
        assert r.code == 0, r.err
        outs.append(out)
    assert [json.loads(o.read_text())["metrics"]["totalRequests"] for o in outs] == [751, 750]
    r = lunge("merge", *outs, "--format", "json")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["metrics"]["totalRequests"] == 1501 == fresh_target.stats()["requests"]
    assert doc["configuration"]["iterations"] == 1501 and len(doc["shards"]) == 2
    assert 2.0 <= doc["metrics"]["responseTimes"]["p50Ms"] < 10


@pytest.mark.slow
def test_open_model_shards_interleave_to_the_whole_rate(fresh_target, tmp_path):
    outs = []
    for i in range(3):
        out = tmp_path / f"s{i}.json"
        r = lunge("perf", "--url", f"{fresh_target.url}/", "--rps", 300, "-n", 600, "--concurrency", 6,
                  "--shard", f"{i}/3", "--workers", 1, "--format", "json", "--output", out)
        assert r.code == 0, r.err
        outs.append(json.loads(out.read_text()))
    assert [d["metrics"]["totalRequests"] for d in outs] == [200, 200, 200]
    for d in outs:  # each third runs at 100 req/s for 2 s
        assert 1.95 <= d["counters"]["issueEndMs"] / 1000 <= 2.1


@pytest.mark.slow
def test_merge_refuses_malformed_results(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "lunge-result/1", "testName": 3}')
    r = lunge("merge", bad)
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and "bad.json" in r.err
    notjson = tmp_path / "x.json"
    notjson.write_text("{oops")
    r = lunge("merge", notjson)
    assert r.code == 2 and "x.json:1:2" in r.err


@pytest.mark.parametrize("name", ["lunge-shards.yaml", "lunge-merge.yaml"])
def test_kubernetes_manifests_validate(name):
    kv = pytest.importorskip("kubernetes_validate")
    for doc in yaml.safe_load_all((K8S / name).read_text()):
        kv.validate(doc, "1.30", strict=True)


@pytest.mark.slow
def test_kubernetes_indexed_job_runs_end_to_end(fresh_target, tmp_path):
    """Run each pod of the Indexed Job locally: its command, its environment, a completion
    index each, then the merge Job's command, as Kubernetes would."""
    shards_doc = [d for d in yaml.safe_load_all((K8S / "lunge-shards.yaml").read_text()) if d["kind"] == "Job"][0]
    merge_doc = yaml.safe_load((K8S / "lunge-merge.yaml").read_text())
    spec = shards_doc["spec"]
    assert spec["completionMode"] == "Indexed"
    pod = spec["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in pod["env"]}
    assert int(env["SHARDS"]) == spec["completions"] == spec["parallelism"]
    bindir = os.path.dirname(sys.executable)
    base = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "RESULTS": str(tmp_path),
            "TARGET_URL": f"{fresh_target.url}/", "LOAD": "--concurrency 8 -n 2000 --workers 1"}
    procs = [subprocess.Popen(pod["command"] + pod["args"], env={**base, "SHARDS": env["SHARDS"],
                                                                 "JOB_COMPLETION_INDEX": str(i)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i in range(spec["completions"])]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    mpod = merge_doc["spec"]["template"]["spec"]["containers"][0]
    p = subprocess.run(mpod["command"] + mpod["args"], env=base, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    doc = json.loads((tmp_path / "merged.json").read_text())
    assert doc["metrics"]["totalRequests"] == 2000 == fresh_target.stats()["requests"]
    assert len(doc["shards"]) == 4 and sum(s["requests"] for s in doc["shards"]) == 2000
