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



def test_merged_rows_never_overlap_so_the_saved_result_reloads(tmp_path):
    # one part folded seconds 1-3 into one row (span 3: its series overran); the other has rows
    # at 2 and 3, inside that span: merged, they are folded into it, not rows that overlap it
    from lunge.analysis import analyze
    from lunge.results import codec, load

    values = np.full(400, 2_000_000, dtype=np.int64)
    a, b = synthetic(values, seconds=4), synthetic(values, seconds=4)
    for r in (a, b):
        r.configuration.update(url="http://127.0.0.1:1/", method="GET", model="closed")
    rows = a.series[1:]
    a.series[1:] = [Second(t=1, requests=sum(x.requests for x in rows), status=[sum(c) for c in zip(*(x.status for x in rows))],
                           hist=SparseHist.merge([x.hist for x in rows]), span=3)]
    merged = RunResult.merge([a, b], kind="shard")
    assert [(s.t, s.span, s.requests) for s in merged.series] == [(0, 1, 200), (1, 3, 600)]
    assert merged.series[1].hist.total == 600
    path = tmp_path / "merged.json"
    path.write_text(codec.dumps(codec.encode(analyze(merged))))
    again = load(str(path))  # check_counts refused overlapping rows ("t (2) is not after ...")
    assert sum(s.requests for s in again.series) == 800 == again.completed

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


def _parts(plan, splits):
    """The leaf parts of `plan` split successively by `splits` (e.g. (3, 2): shards, then workers)."""
    parts = [plan]
    for n in splits:
        parts = [p.share(i, n) for p in parts for i in range(n)]
    return parts


@pytest.mark.parametrize("splits", [(2,), (3,), (4,), (2, 2), (3, 2), (2, 3)])
@pytest.mark.parametrize("open_model", [False, True])
def test_shares_keep_every_iteration_and_the_rounds_bound(splits, open_model):
    import math

    from lunge import plan as plan_mod

    for conc in (5, 6, 7, 10, 13):
        for n in (1, 4, 6, 10, 11, 29, 100):
            kw = {"rps": 1000} if open_model else {}
            whole = plan_mod.for_url("http://127.0.0.1:9/", concurrency=conc, iterations=n, **kw)
            if math.prod(splits) > whole.max_parts():
                continue
            parts = _parts(whole, splits)
            its = [p.load.iterations for p in parts]
            assert sum(its) == n and min(its) >= 1, (conc, n, its)
            assert sum(p.load.concurrency for p in parts) == conc
            if not open_model:  # no part needs more rounds of its connections than the whole
                assert max(math.ceil(it / p.load.concurrency) for it, p in zip(its, parts)) == math.ceil(n / conc), \
                    (conc, n, its, [p.load.concurrency for p in parts])
            # the parts' requests, as the engine numbers them for variants, are the whole's, once each
            seen = []
            for p in parts:
                v = p.variant_index()
                group, rnd = v.get("variant_group", 1), v.get("variant_round", v["variant_stride"])
                seen += [(j // group) * rnd + (j % group) * v["variant_stride"] + v["variant_offset"]
                         for j in range(p.load.iterations)]
            assert sorted(seen) == list(range(n)), (conc, n, its)


def test_iterations_follow_the_connections_across_workers():
    from lunge import plan as plan_mod

    whole = plan_mod.for_url("http://127.0.0.1:9/", concurrency=5, iterations=10)
    assert [(p.load.concurrency, p.load.iterations) for p in _parts(whole, (2,))] == [(3, 6), (2, 4)]


def test_data_file_rows_are_each_sent_once_over_uneven_workers(fresh_target, tmp_path):
    # 5 connections over 2 workers (3 + 2) and 10 rows: each row once, whichever worker sends it
    (tmp_path / "ids.csv").write_text("id\n" + "".join(f"{k}\n" for k in range(10)))
    cfg = {"environments": {"local": {"baseUrl": fresh_target.url}}, "requests": {"r": {"url": "/items/{{id}}"}},
           "performance": {"t": {"request": "r", "load": {"concurrency": 5, "iterations": 10, "dataFile": "ids.csv"}}}}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    r = lunge("perf", "-c", tmp_path / "c.json", "-e", "local", "-p", "t", "--workers", 2, "--format", "json")
    assert r.code == 0, r.err
    assert [w["requests"] for w in r.json()["workers"]] == [6, 4]
    assert fresh_target.stats()["byPath"] == {f"/items/{k}": 1 for k in range(10)}


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
