"""lunge.flowplan: a v2 file compiled for the FlowEngine. Pure: nothing here sends a request.
Templates resolve with the documented precedence, splits over engines add up exactly, and the
VU and rate schedules follow the executors' definitions."""
from __future__ import annotations

import math

import pytest

from lunge import flowplan as F
from lunge._native import flowkit
from lunge.config import scenario as S
from lunge.errors import ConfigError


def build(doc: dict, env=None) -> F.FlowPlan:
    data = {"name": "t", "settings": {"baseUrl": "http://127.0.0.1:9"}, **doc}
    return F.build_flow_plan(S.build("t.yaml", data), env=env or {})


ONE = {"executor": "constant-vus", "vus": 3, "duration": "2s"}


def scen(requests, **executor):
    return {"scenarios": {"s": {**(executor or ONE), "requests": requests}}}


def render(segs, variables=(), **kw) -> str:
    out = flowkit.render([tuple(s) for s in segs], list(variables), **kw)
    assert out is not None
    return out.decode()


def test_templates_resolve_with_the_documented_precedence():
    p = build({**scen([
        {"name": "login", "url": "{{baseUrl}}/login?u={{user}}&t={{tag}}&i={{iteration}}&v={{vuId}}",
         "extract": [{"name": "token", "source": "body", "path": "$.token"},
                     {"name": "tag", "source": "header", "path": "X-Tag"}]},
        {"url": "/me", "headers": {"Authorization": "Bearer {{token}}", "X-Env": "${HOME_X:-dflt}"},
         "body": "{{undefined}}"},
    ]), "variables": {"user": "u-{{vuId}}", "tag": "from-variables"}})
    c = p.scenarios[0]
    assert c.var_names == ("token", "tag")
    # tag is extracted by this request: the VU's variable, starting from the file's value
    assert c.initial == (b"{{token}}", b"from-variables")
    login, me = c.steps
    assert render(login.url, [b"T", b"X"], iteration=7, vu=2) == "http://127.0.0.1:9/login?u=u-2&t=X&i=7&v=2"
    assert render(me.url, [b"T", b"X"]) == "http://127.0.0.1:9/me"
    lines = [render(h, [b"T", b"X"]) for h in me.headers]
    assert lines[:2] == ["Authorization: Bearer T", "X-Env: dflt"]
    assert lines[2].startswith("User-Agent: lunge/")
    assert render(me.body, [b"T", b"X"]) == "{{undefined}}"  # as the original: sent literally
    assert (login.needs_body, login.needs_headers, me.needs_body) == (True, True, False)


def test_environment_values_and_a_missing_one():
    p = build(scen([{"url": "${BASE:-http://x}/a"}]), env={"BASE": "http://127.0.0.1:7"})
    assert F.literal_text(p.scenarios[0].steps[0].url) == "http://127.0.0.1:7/a"
    with pytest.raises(ConfigError, match="NOPE is not set"):
        build(scen([{"url": "http://127.0.0.1:9/${NOPE}"}]))


def test_native_and_fallback_checks_and_extracts():
    p = build(scen([{"url": "/a", "extract": [
        {"name": "a", "source": "body", "path": "$.a[0].b"},
        {"name": "b", "source": "body", "path": "$.items[*].id"},
        {"name": "c", "source": "header", "path": "Location", "regex": "id=(\\d+)"},
    ], "assertions": [
        {"type": "status", "condition": "eq", "value": 200},
        {"type": "body", "condition": "matches", "value": "^ok"},
        {"type": "body", "path": "$.n", "condition": "gt", "value": "3", "message": "n too small"},
    ]}]))
    st = p.scenarios[0].steps[0]
    assert [e.fallback is None for e in st.extracts] == [True, False, False]
    assert [c.fallback is None for c in st.checks] == [True, False, True]
    assert [c.label for c in st.checks] == ["status eq 200", "body matches ^ok", "n too small"]
    # the fallbacks follow the engine's semantics
    body = b'{"items": [{"id": 4}, {"id": 5}], "n": 2}'
    assert st.extracts[1].fallback(200, b"", body) == b"4"
    headers = b"HTTP/1.1 302 Found\r\nLocation: /x?id=1\r\n\r\nHTTP/1.1 200 OK\r\nLocation: /y?id=42\r\n\r\n"
    assert st.extracts[2].fallback(200, headers, b"") == b"42"  # the last response's header
    assert st.checks[1].fallback(200, b"", b"ok then", 0.1) is None
    assert st.checks[1].fallback(200, b"", b"not ok", 0.1) is not None


def test_check_fallback_numbers_and_missing_values():
    a = S.Assertion(type="body", condition="gte", value="3", path="$.n", json_path=S.parse_json_path("$.n", "x"),
                    number=3.0)
    run = F.check_fallback(a, "n")
    assert run(200, b"", b'{"n": 3}', 0.0) is None
    assert "got 2" in run(200, b"", b'{"n": 2}', 0.0)
    assert "not found" in run(200, b"", b'{"m": 2}', 0.0)
    assert "not a number" in run(200, b"", b'{"n": "x"}', 0.0)


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_splits_add_up_exactly(n):
    p = build({"scenarios": {
        "a": {"executor": "constant-vus", "vus": 10, "duration": "1s", "requests": [{"url": "/a"}]},
        "b": {"executor": "shared-iterations", "vus": 8, "iterations": 101, "requests": [{"url": "/b"}]},
        "c": {"executor": "per-vu-iterations", "vus": 9, "iterations": 4, "requests": [{"url": "/c"}]},
        "d": {"executor": "constant-arrival-rate", "rate": 30, "duration": "2s", "preAllocatedVUs": 7,
              "maxVUs": 11, "requests": [{"url": "/d"}]},
        "e": {"executor": "ramping-vus", "stages": [{"duration": "2s", "target": 9}, {"duration": "1s", "target": 0}],
              "requests": [{"url": "/e"}]},
    }})
    parts = [p.specs(((i, n),)) for i in range(n)]
    by = {name: [next(s for s in part if s.name == name) for part in parts] for name in "abcde"}
    assert sum(s.vus for s in by["a"]) == 10
    assert sum(s.iterations for s in by["b"]) == 101
    assert sum(s.vus * s.iterations for s in by["c"]) == 36
    assert sum(s.vus for s in by["d"]) == 11 and sum(s.pre_allocated for s in by["d"]) == 7
    assert {(s.schedule_stride, s.schedule_offset) for s in by["d"]} == {(n, i) for i in range(n)}
    # ramping: at every step, the parts' VUs add up to the whole's
    whole = F.vu_steps(S.build("t", {"scenarios": {"e": {
        "executor": "ramping-vus", "stages": [{"duration": "2s", "target": 9}, {"duration": "1s", "target": 0}],
        "requests": [{"url": "http://x/e"}]}}}).scenarios[0].executor)
    for k, (t, v) in enumerate(whole):
        assert sum(s.vu_steps[k][1] for s in by["e"]) == v and all(s.vu_steps[k][0] == t for s in by["e"])
    # vuIds: unique in the test, in ranges per scenario and engine
    ids = [(s.name, s.first_vu + j) for part in parts for s in part for j in range(s.vus)]
    assert len({v for _, v in ids}) == len(ids)


def test_vu_steps_round_to_the_nearest_vu_as_vus_at():
    ex = S.Executor(type="ramping-vus", start_vus=0, stages=(S.Stage(10, 5), S.Stage(5, 5), S.Stage(10, 0)))
    steps = F.vu_steps(ex)
    assert steps[0] == (0.0, 0) and steps[-1][1] == 0
    for t in [x / 10 + 0.013 for x in range(0, 250)]:  # off the crossings: there both counts are right
        expected = S.vus_at(ex, t)
        got = [n for ts, n in steps if ts <= t + 1e-9][-1]
        assert got == expected, t


def test_arrival_schedule_matches_iterations_by():
    ex = S.Executor(type="ramping-arrival-rate", start_rate=0, time_unit=1.0,
                    stages=(S.Stage(2, 10), S.Stage(1, 10), S.Stage(2, 0)), pre_allocated_vus=1, max_vus=5)
    ts, cum = F.arrival_schedule(ex)
    assert ts[0] == 0 and cum[0] == 0 and cum[-1] == S.total_iterations(ex) == 30
    for t, c in zip(ts[1:-1], cum[1:-1]):
        assert math.isclose(c, S.iterations_by(ex, t), rel_tol=1e-9)
    const = S.Executor(type="constant-arrival-rate", rate=20, time_unit=1.0, duration=2.0, pre_allocated_vus=1,
                       max_vus=2)
    assert F.arrival_schedule(const) == ([0.0, 2.0], [0.0, 40.0])


def test_quick_mode_builds_one_request_scenarios():
    from lunge.cli import flows
    from lunge.settings import Settings

    s = Settings.layered({"url": "http://127.0.0.1:9/x", "duration": 2.0, "headers": ("A: b",)})
    tf = flows.quick_test_file(s, "constant-arrival-rate", 50.0, 10, 2, None, None, None)
    sc = tf.scenarios[0]
    assert (sc.executor.rate, sc.executor.duration, sc.executor.max_vus, sc.executor.pre_allocated_vus) == \
        (50.0, 2.0, 10, 2)
    assert sc.requests[0].headers[0] == ("A", "b")
    with pytest.raises(ConfigError, match="--rate"):
        flows.quick_test_file(s, "constant-arrival-rate", None, 10, 2, None, None, None)
    with pytest.raises(ConfigError, match="--iterations"):
        flows.quick_test_file(s, "shared-iterations", None, None, None, 3, None, None)
    tf = flows.quick_test_file(s, "shared-iterations", None, None, None, 3, None, 30)
    assert (tf.scenarios[0].executor.iterations, tf.scenarios[0].executor.vus) == (30, 3)


def test_shards_then_workers_add_up_exactly():
    p = build({"scenarios": {
        "a": {"executor": "shared-iterations", "vus": 7, "iterations": 100, "requests": [{"url": "/a"}]},
        "d": {"executor": "constant-arrival-rate", "rate": 30, "duration": "2s", "preAllocatedVUs": 7,
              "maxVUs": 13, "requests": [{"url": "/d"}]}}})
    parts = [p.specs(((k, 2), (j, 3))) for k in range(2) for j in range(3)]
    assert sum(part[0].iterations for part in parts) == 100
    assert sum(part[1].vus for part in parts) == 13
    # the whole's arrival k goes to exactly one part: k % stride == offset
    assert sorted(part[1].schedule_offset for part in parts) == list(range(6))
    assert {part[1].schedule_stride for part in parts} == {6}
    ids = [part[0].first_vu + v for part in parts for v in range(part[0].vus)]
    assert sorted(ids) == list(range(1, 8))


def test_environment_values_cannot_inject_a_header_or_a_url_line():
    """${NAME} and {{$env.NAME}} resolve at plan time, after the file's own CR/LF/NUL checks:
    a line break from the environment is refused then (the user's input: exit 2), in a header
    (literal or with a per-VU part) and in a URL with a per-VU part."""
    evil = {"EVIL": "a\r\nInjected: yes"}
    for headers in ({"X-E": "${EVIL}"}, {"X-E": "{{$env.EVIL}}"}, {"X-E": "${EVIL}-{{vuId}}"}):
        with pytest.raises(ConfigError, match="line break"):
            build(scen([{"url": "/a", "headers": headers}]), env=evil)
    with pytest.raises(ConfigError, match="line break"):
        build({**scen([{"url": "/a", "headers": {"X-V": "{{v}}-{{vuId}}"}}]), "variables": {"v": "${EVIL}"}},
              env=evil)
    with pytest.raises(ConfigError, match="line break"):
        build(scen([{"url": "http://127.0.0.1:9/a?e=${EVIL}&i={{iteration}}"}]), env=evil)
