"""Hostile files (issue 18): alias bombs, deep nesting, non-UTF-8 results, merges across absurd
gaps or of unrelated runs, counters that disagree (request bodies: test_request_bodies.py).

Each one ends in one line on stderr and exit 2 within seconds, and each child process runs
under a 1 GiB address-space limit, so a regression shows as a failure, not as a machine
out of memory.
"""
from __future__ import annotations

import copy
import json
import resource
import subprocess
import sys
import time

import pytest
from bounded import bounded

from conftest import assert_one_line_error

# ---------------------------------------------------------------- configs

def alias_bomb(levels=9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "environments:\n  dev:\n    variables:\n" + "".join(f"      {ln}\n" for ln in lines)


def test_yaml_alias_bomb_is_refused_quickly(tmp_path):
    p = tmp_path / "bomb.yaml"
    p.write_text(alias_bomb())
    t0 = time.monotonic()
    assert_one_line_error(bounded("validate", "-c", p, timeout=20), str(p), "alias")
    assert time.monotonic() - t0 < 10


def test_recursive_yaml_alias_is_refused(tmp_path):
    p = tmp_path / "loop.yaml"
    p.write_text("environments:\n  dev:\n    variables:\n      a: &a [1, *a]\n")
    assert_one_line_error(bounded("validate", "-c", p), str(p), "recursive alias")


def test_ordinary_yaml_aliases_still_work(tmp_path):
    p = tmp_path / "ok.yaml"
    p.write_text("""\
environments:
  dev: {baseUrl: "http://127.0.0.1:9"}
requests:
  a: {url: /a, headers: &h {Accept: application/json}}
  b: {url: /b, headers: *h}
""")
    r = bounded("validate", "-c", p)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_config_nested_100000_deep_is_one_line(tmp_path, suffix):
    p = tmp_path / f"deep{suffix}"
    p.write_text('{"environments": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert_one_line_error(bounded("validate", "-c", p), str(p), "nested deeper than 100 levels")


def test_config_body_at_the_depth_limit_still_renders(tmp_path, target):
    depth = 98  # + requests, x = 100 levels in all
    body = "[" * (depth - 1) + "1" + "]" * (depth - 1)
    p = tmp_path / "ok.json"
    p.write_text('{"requests": {"x": {"url": "' + target.url + '/", "method": "POST", "body": ' + body + '}}}')
    r = bounded("run", "-c", p, "-r", "x")
    assert r.returncode == 0, r.stderr
    p.write_text('{"requests": {"x": {"url": "' + target.url + '/", "method": "POST", "body": [' + body + ']}}}')
    assert_one_line_error(bounded("run", "-c", p, "-r", "x"), "nested deeper than 100 levels")


# ---------------------------------------------------------------- results

@pytest.fixture(scope="module")
def seed(target, tmp_path_factory):
    """A real result document: 40 requests to the embedded target, 4 of them 404s."""
    out = tmp_path_factory.mktemp("seed") / "seed.json"
    r = subprocess.run([sys.executable, "-m", "lunge", "perf", "--url", f"{target.url}/mix/200:9,404:1",
                        "-n", "40", "--concurrency", "2", "--format", "json", "--output", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(out.read_text())


def write(tmp_path, name, doc) -> str:
    p = tmp_path / name
    p.write_text(json.dumps(doc))
    return str(p)


def shifted(doc, seconds: float) -> dict:
    """The same result, started `seconds` later."""
    import datetime as dt

    out = copy.deepcopy(doc)
    start = dt.datetime.fromisoformat(doc["startTime"].replace("Z", "+00:00")) + dt.timedelta(seconds=seconds)
    out["startTime"] = start.isoformat().replace("+00:00", "Z")
    return out


@pytest.mark.parametrize("command", ["merge", "compare"])
def test_result_nested_100000_deep_is_one_line(tmp_path, seed, command):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    args = [deep, write(tmp_path, "ok.json", seed)]
    assert_one_line_error(bounded(command, *args), str(deep), "nested deeper than 100 levels")
    # nested inside a real result, where no parser error would catch it
    doc = copy.deepcopy(seed)
    doc["configuration"]["extra"] = json.loads("[" * 500 + "]" * 500)
    assert_one_line_error(bounded(command, write(tmp_path, "d2.json", doc), args[1]), "nested deeper")


@pytest.mark.parametrize("command", ["merge", "compare"])
def test_non_utf8_result_is_one_line(tmp_path, seed, command):
    bad = tmp_path / "latin1.json"
    bad.write_bytes(b'{"format": "lunge-result/1", "testName": "caf\xe9"}')
    assert_one_line_error(bounded(command, bad, write(tmp_path, "ok.json", seed)), str(bad), "UTF-8")


def test_merge_memory_depends_on_the_data_not_the_gap(tmp_path, seed):
    """Two runs a week apart (merged with --force) and a hostile `t` cost what the data costs."""
    a, b = write(tmp_path, "a.json", seed), write(tmp_path, "b.json", shifted(seed, 7 * 86400))
    script = ("import sys; from lunge.results import RunResult, load; "
              "m = RunResult.merge([load(sys.argv[1]), load(sys.argv[2])], kind='shard'); "
              "print(len(m.series), sum(s.requests for s in m.series), m.completed)")
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-c", script, a, b], capture_output=True, text=True, timeout=60,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (600 << 20, 600 << 20)))
    assert r.returncode == 0, r.stderr[-500:]
    rows, in_series, completed = map(int, r.stdout.split())
    assert in_series == completed == 80
    assert rows < 20, rows  # the week between them is one empty row, not 604 800
    assert time.monotonic() - t0 < 30
    # and every report renders from the sparse series
    out = tmp_path / "m"
    r = bounded("merge", a, b, "--force", "--format", "json", "--format", "html", "--format", "csv",
                "--format", "text", "--output", out, timeout=60)
    assert r.returncode == 0, r.stderr
    merged = json.loads((tmp_path / "m.json").read_text())
    assert merged["metrics"]["totalRequests"] == 80
    assert sum(row["requests"] for row in merged["timeSeries"]) == 80
    assert len((tmp_path / "m.csv").read_text().splitlines()) < 20


def test_merge_refuses_runs_that_do_not_overlap(tmp_path, seed):
    a, b = write(tmp_path, "a.json", seed), write(tmp_path, "b.json", shifted(seed, 3600))
    assert_one_line_error(bounded("merge", a, b), "do not overlap", "--force")
    r = bounded("merge", a, b, "--force", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["metrics"]["totalRequests"] == 80


@pytest.mark.parametrize("field, value, needle", [
    (("testName",), "another test", "testName"),
    (("configuration", "url"), "http://127.0.0.1:1/other", "configuration.url"),
])
def test_merge_refuses_different_tests_without_force(tmp_path, seed, field, value, needle):
    other = copy.deepcopy(seed)
    d = other
    for k in field[:-1]:
        d = d[k]
    d[field[-1]] = value
    a, b = write(tmp_path, "a.json", seed), write(tmp_path, "b.json", other)
    assert_one_line_error(bounded("merge", a, b), needle, "--force")
    r = bounded("merge", a, b, "--force", "--format", "json")
    assert r.returncode == 0, r.stderr


def _mutate(doc, path, value):
    out = copy.deepcopy(doc)
    d = out
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value(d[path[-1]]) if callable(value) else value
    return out


@pytest.mark.parametrize("path, value, needle", [
    (("counters", "completed"), lambda v: v + 5, "histogram"),           # 5 responses the histogram lacks
    (("counters", "transportErrors"), lambda v: v + 1, "transportErrors"),
    (("counters", "statusCodes", "200"), lambda v: v + 1, "statusCodes"),
    (("timeSeries", 0, "t"), -3, "timeSeries[0].t"),                      # a negative second
    (("timeSeries", 0, "requests"), lambda v: v + 7, "timeSeries[0]"),
    (("timeSeries", 0, "t"), 10 ** 12, "timeSeries[0].t"),                # far past the run's end
])
def test_results_whose_counts_disagree_are_refused(tmp_path, seed, path, value, needle):
    bad = write(tmp_path, "bad.json", _mutate(seed, path, value))
    ok = write(tmp_path, "ok.json", seed)
    assert_one_line_error(bounded("merge", bad, ok), "bad.json", needle)
    assert_one_line_error(bounded("compare", ok, bad), "bad.json", needle)


def test_seed_result_is_consistent(tmp_path, seed):
    ok = write(tmp_path, "ok.json", seed)
    r = bounded("merge", ok, ok, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["metrics"]["totalRequests"] == 80
