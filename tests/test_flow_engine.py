"""The native FlowEngine (flow.pyx) against a local server (flow_target.py): what the server saw
equals what the engine counted, values extracted by one VU flow into its own next requests,
checks count exactly, and the executors start, pace, drop and stop iterations as specified."""
import json
import math
import threading

import pytest
from flow_target import FlowTarget

from lunge import libcurl
from lunge._native.contract import CheckSpec, ExtractSpec, ScenarioSpec, StepSpec

libcurl.load()

from lunge._native.flow import FlowEngine  # noqa: E402


def lit(text):
    return (("lit", text),)


def step(name, url, *, method="GET", stat=0, headers=(), body=None, think=0.0, timeout=0.0, extracts=(), checks=(),
         needs_body=False, needs_headers=False):
    return StepSpec(name=name, stat=stat, method=method, url=url, headers=headers, body=body, timeout_s=timeout,
                    think_s=think, extracts=extracts, checks=checks, needs_body=needs_body,
                    needs_headers=needs_headers)


def status_check(code, cond="eq"):
    return CheckSpec(label=f"status {cond} {code}", type="status", condition=cond, path=None, value=lit(str(code)),
                     number=float(code), fallback=None)


def scenario(steps, *, name="s", executor="constant-vus", vus=1, stop=1.0, graceful=5.0, start=0.0,
             after_previous=False, vu_steps=None, schedule=None, pre_allocated=0, iterations=0, nvars=0,
             initial=None, stats=None, pacing=("none", 0, 0), iteration_timeout=0.0, new_connections=False,
             first_vu=1):
    if vu_steps is None and executor in ("constant-vus", "ramping-vus"):
        vu_steps = ((0.0, vus),)
    return ScenarioSpec(
        name=name, executor=executor, start_s=start, after_previous=after_previous, stop_s=stop,
        graceful_stop_s=graceful, vus=vus, vu_steps=vu_steps or (), schedule=schedule, schedule_stride=1,
        schedule_offset=0, pre_allocated=pre_allocated, iterations=iterations, first_vu=first_vu,
        iteration_stride=1, iteration_offset=0, pacing=pacing, iteration_timeout_s=iteration_timeout,
        new_connections=new_connections, nvars=nvars, initial=initial if initial is not None else (None,) * nvars,
        steps=tuple(steps), stats=stats or tuple(dict.fromkeys(s.name for s in steps)), seed=7)


def run(engine, timeout=20.0):
    err = []

    def target():
        try:
            engine.run()
        except Exception as e:  # pragma: no cover - reported below
            err.append(e)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        engine.abort()
        t.join(5)
        pytest.fail("the engine did not end in time")
    assert not err, err
    return engine.results(), engine.flow_results()


@pytest.fixture
def target():
    with FlowTarget() as t:
        yield t


def login_flow(url, *, think=0.0):
    token = ExtractSpec(var=0, source="body", path="$.token", fallback=None)
    return [
        step("login", lit(url + "/login"), method="POST", body=lit('{"user":"u"}'),
             headers=(lit("Content-Type: application/json"),),
             extracts=(token,), checks=(status_check(200),), needs_body=True, think=think),
        step("me", (("lit", url + "/me"),), headers=((("lit", "Authorization: Bearer "), ("var", 0)),),
             checks=(status_check(200),), think=think, stat=1),
        step("item", (("lit", url + "/item/"), ("vuId",), ("lit", "-"), ("iteration",)), checks=(status_check(200),),
             think=think, stat=2),
    ]


def test_each_vu_sends_its_own_token(target):
    sc = scenario(login_flow(target.url), vus=4, stop=0.8, nvars=1)
    eng = FlowEngine(scenarios=[sc])
    res, (fr,) = run(eng)
    login, me, item = fr.steps
    # what the server saw is what the engine counted
    assert target.paths["/login"] == login.requests and target.paths["/me"] == me.requests
    assert target.paths["/item"] == item.requests
    assert res.completed == res.issued == sum(target.paths.values())
    assert res.failures == 0 and me.status_codes == {200: me.requests}
    # every bearer token the server saw was issued, each used by the one /me after its login
    assert set(target.bearers) <= set(target.issued)
    assert all(n == 1 for n in target.bearers.values())
    assert fr.iterations == item.requests == login.requests and fr.interrupted == 0
    # {{vuId}}-{{iteration}}: VUs 1..4, iterations numbered 0.. in start order, each once
    vus = {name.split("-")[0] for name in target.items}
    iters = sorted(int(name.split("-")[1]) for name in target.items)
    assert vus == {"1", "2", "3", "4"} and iters == list(range(fr.iterations))
    assert login.checks[0].passed == login.requests and login.checks[0].failed == 0
    assert fr.histograms["iteration"].total == fr.iterations
    assert res.histograms["response"].total == res.completed == res.histograms["service"].total
    assert sum(s.requests for s in eng.harvest()) == res.completed


def test_checks_count_exactly_and_fail_their_requests(target):
    checks = (status_check(201),
              CheckSpec(label="body contains item", type="body", condition="contains", path=None, value=lit("item"),
                        number=math.nan, fallback=None),
              CheckSpec(label="header Content-Type eq text/plain", type="header", condition="eq",
                        path="content-type", value=lit("text/plain"), number=math.nan, fallback=None),
              CheckSpec(label="the body names item 2", type="body", condition="eq", path=None, value=lit("item 2"),
                        number=math.nan, fallback=None),
              CheckSpec(label="duration lt 5", type="duration", condition="lt", path=None, value=(), number=5.0,
                        fallback=None),
              CheckSpec(label="odd", type="status", condition="matches", path=None, value=lit("2.."),
                        number=math.nan, fallback=lambda status, headers, body, secs: None if status == 200 else "x"))
    steps = [step("item", lit(target.url + "/item/1"), checks=checks, needs_body=True, needs_headers=True)]
    sc = scenario(steps, executor="per-vu-iterations", vus=2, iterations=5, stop=10)
    res, (fr,) = run(FlowEngine(scenarios=[sc]))
    (st,) = fr.steps
    assert target.paths["/item"] == st.requests == 10
    got = {c.label: (c.passed, c.failed, c.first_failure) for c in st.checks}
    assert got == {"status eq 201": (0, 10, "status 200, expected eq 201"),
                   "body contains item": (10, 0, ""),
                   "header Content-Type eq text/plain": (10, 0, ""),
                   "the body names item 2": (0, 10, "the body names item 2"),
                   "duration lt 5": (10, 0, ""),
                   "odd": (10, 0, "")}
    assert st.failures == st.check_failures == 10 and st.errors == 0 and st.status_codes == {200: 10}
    assert res.failures == fr.failures == 10 and fr.iterations == 10


def test_extract_misses_keep_the_old_value(target):
    steps = [step("login", lit(target.url + "/login"), method="POST", body=lit("{}"), needs_body=True,
                  extracts=(ExtractSpec(var=0, source="body", path="$.nope", fallback=None),)),
             step("me", lit(target.url + "/me"), headers=((("lit", "Authorization: Bearer "), ("var", 0)),), stat=1,
                  checks=(status_check(200),))]
    sc = scenario(steps, executor="shared-iterations", vus=2, iterations=6, stop=10, nvars=1, initial=(b"init",))
    res, (fr,) = run(FlowEngine(scenarios=[sc]))
    login, me = fr.steps
    assert login.extract_misses == 6 and target.bearers == {"init": 6}
    assert me.status_codes == {403: 6} and me.failures == 6 and me.check_failures == 0  # 403: a failure of its own
    assert me.checks[0].failed == 6 and me.checks[0].first_failure == "status 403, expected eq 200"


def test_header_and_status_extracts_and_rendered_bodies(target):
    steps = [step("login", lit(target.url + "/login"), method="POST", body=lit("{}"), needs_headers=True,
                  needs_body=True,
                  extracts=(ExtractSpec(var=0, source="header", path="x-TOKEN", fallback=None),
                            ExtractSpec(var=1, source="status", path=None, fallback=None),
                            ExtractSpec(var=2, source="body", path=None,
                                        fallback=lambda status, headers, body: body[2:7]))),
             step("echo", lit(target.url + "/echo"), method="POST", stat=1,
                  body=(("lit", '{"t":"'), ("var", 0), ("lit", '","s":'), ("var", 1), ("lit", ',"b":"'), ("var", 2),
                        ("lit", '"}')),
                  needs_body=True, checks=(CheckSpec(label="body $.t eq token", type="body", condition="eq", path="$.t",
                                                     value=(("var", 0),), number=math.nan, fallback=None),))]
    sc = scenario(steps, executor="per-vu-iterations", vus=2, iterations=3, stop=10, nvars=3)
    res, (fr,) = run(FlowEngine(scenarios=[sc]))
    assert res.failures == 0 and len(target.bodies) == 6
    docs = [json.loads(b) for b in target.bodies]
    assert all(d["t"] in target.issued and d["s"] == 200 and d["b"] == "token" for d in docs), (docs, target.issued)
    assert len({d["t"] for d in docs}) == 6
    assert fr.steps[1].checks[0].passed == 6


def test_think_time_is_respected(target):
    sc = scenario(login_flow(target.url, think=0.2), vus=5, stop=2.0, nvars=1, graceful=0.0)
    res, (fr,) = run(FlowEngine(scenarios=[sc]))
    # each iteration takes at least 3 x 200 ms: at most ceil(2 / 0.6) = 4 started per VU; the
    # graceful stop of 0 interrupts the last ones
    assert 5 * 3 <= fr.iterations + fr.interrupted <= 5 * 4
    assert fr.iterations >= 5 * 3 - 5
    assert target.paths["/login"] == fr.steps[0].requests
    assert res.completed == sum(target.paths.values())


def test_constant_arrival_rate_is_exact(target):
    steps = [step("item", (("lit", target.url + "/item/"), ("iteration",)), checks=(status_check(200),))]
    sc = scenario(steps, executor="constant-arrival-rate", vus=10, pre_allocated=2, stop=2.0,
                  schedule=((0.0, 2.0), (0.0, 40.0)))
    res, (fr,) = run(FlowEngine(scenarios=[sc]))
    assert fr.iterations == 40 == target.paths["/item"] and fr.dropped == 0
    assert sorted(int(k) for k in target.items) == list(range(40))
    assert fr.histograms["lateness"].total == 40 and res.histograms["sendLag"].total == 40
    assert fr.histograms["lateness"].max_ns < 50_000_000
    assert 2 <= fr.vus_made <= 10


def test_arrival_rate_drops_what_no_vu_can_take(target):
    steps = [step("slow", lit(target.url + "/slow?ms=300"))]
    sc = scenario(steps, executor="constant-arrival-rate", vus=2, pre_allocated=1, stop=2.0,
                  schedule=((0.0, 2.0), (0.0, 40.0)))
    res, (fr,) = run(FlowEngine(scenarios=[sc]))
    started = fr.iterations + fr.interrupted
    assert fr.dropped > 0 and started + fr.dropped == 40
    assert target.paths["/slow"] == started == res.issued and fr.vus_made == 2
    assert sum(s.dropped for s in fr.seconds) == fr.dropped


def test_shared_iterations_exact(target):
    steps = [step("item", (("lit", target.url + "/item/"), ("iteration",)))]
    sc = scenario(steps, executor="shared-iterations", vus=3, iterations=20, stop=10)
    res, (fr,) = run(FlowEngine(scenarios=[sc]))
    assert fr.iterations == 20 == target.paths["/item"] == res.completed
    assert sorted(int(k) for k in target.items) == list(range(20))


def test_per_vu_iterations_exact(target):
    steps = [step("item", (("lit", target.url + "/item/"), ("vuId",)))]
    sc = scenario(steps, executor="per-vu-iterations", vus=3, iterations=4, stop=10, first_vu=11)
    res, (fr,) = run(FlowEngine(scenarios=[sc]))
    assert fr.iterations == 12 and dict(target.items) == {"11": 4, "12": 4, "13": 4}


def test_ramping_vus_follow_their_steps(target):
    steps = [step("slow", lit(target.url + "/slow?ms=20"))]
    sc = scenario(steps, executor="ramping-vus", vus=4, vu_steps=((0.0, 2), (1.0, 4), (2.0, 1)), stop=3.0,
                  graceful=1.0)
    eng = FlowEngine(scenarios=[sc])
    res, (fr,) = run(eng)
    vus = [s.vus for s in fr.seconds]
    # the most at once in each second: in the third, the 3 VUs above the new target of 1 finish
    # the iteration they are in (20 ms), then stop, so that second's iterations are about 1 VU's
    assert vus[:4] == [2, 4, 4, 1], fr.seconds
    assert 40 <= fr.seconds[2].iterations <= 60, fr.seconds
    assert fr.max_vus == 4 and fr.interrupted == 0
    assert sum(s.iterations for s in fr.seconds) == fr.iterations
    assert eng.scenario_snapshot()[0].state == "done"


def test_graceful_stop_interrupts_a_long_request(target):
    steps = [step("slow", lit(target.url + "/slow?ms=3000"))]
    sc = scenario(steps, vus=2, stop=0.3, graceful=0.3)
    res, (fr,) = run(FlowEngine(scenarios=[sc]))
    assert fr.interrupted == 2 and fr.iterations == 0
    assert res.error_classes == {"aborted": 2} and fr.steps[0].error_classes == {"aborted": 2}
    assert 0.55 < fr.ended_s < 1.2


def test_request_timeout_and_iteration_timeout(target):
    steps = [step("slow", lit(target.url + "/slow?ms=1000"), timeout=0.2), step("item", lit(target.url + "/item/x"),
                                                                                stat=1)]
    sc = scenario(steps, executor="per-vu-iterations", vus=2, iterations=1, stop=10)
    res, (fr,) = run(FlowEngine(scenarios=[sc]))
    assert fr.steps[0].error_classes == {"timeout": 2} and fr.steps[1].requests == 2 and fr.iterations == 2
    sc = scenario([step("slow", lit(target.url + "/slow?ms=1000"))], executor="per-vu-iterations", vus=2,
                  iterations=1, stop=10, iteration_timeout=0.2)
    res, (fr,) = run(FlowEngine(scenarios=[sc]))
    assert fr.interrupted == 2 and res.error_classes == {"aborted": 2} and fr.ended_s < 0.8


def test_scenarios_after_previous_run_in_sequence(target):
    a = scenario([step("a", lit(target.url + "/item/a"))], name="a", executor="per-vu-iterations", vus=2,
                 iterations=3, stop=10)
    b = scenario([step("b", lit(target.url + "/item/b"))], name="b", executor="shared-iterations", vus=2,
                 iterations=5, stop=10, after_previous=True, start=0.2)
    res, (ra, rb) = run(FlowEngine(scenarios=[a, b]))
    assert (ra.iterations, rb.iterations) == (6, 5) and target.items == {"a": 6, "b": 5}
    assert rb.started_s >= ra.ended_s + 0.2
    last_a = max(t for t, _, p, _ in target.log if p == "/item/a")
    first_b = min(t for t, _, p, _ in target.log if p == "/item/b")
    assert first_b > last_a + 0.15


def test_stop_and_abort(target):
    steps = [step("slow", lit(target.url + "/slow?ms=100"))]
    eng = FlowEngine(scenarios=[scenario(steps, vus=3, stop=60, graceful=5)], grace=2.0)
    t = threading.Timer(0.4, eng.stop)
    t.start()
    res, (fr,) = run(eng, timeout=10)
    t.join()
    assert fr.interrupted == 0 and fr.ended_s < 1.0 and res.error_classes == {}
    eng = FlowEngine(scenarios=[scenario([step("slow", lit(target.url + "/slow?ms=3000"))], vus=3, stop=60)])
    t = threading.Timer(0.3, eng.abort)
    t.start()
    res, (fr,) = run(eng, timeout=10)
    t.join()
    assert fr.interrupted == 3 and res.error_classes == {"aborted": 3} and res.elapsed_ns < 1.5e9


def test_unset_variables_are_not_sent(target):
    steps = [step("me", (("lit", target.url + "/me?t="), ("var", 0)))]
    sc = scenario(steps, executor="per-vu-iterations", vus=1, iterations=3, stop=10, nvars=1)
    res, (fr,) = run(FlowEngine(scenarios=[sc]))
    assert target.paths["/me"] == 0 and fr.steps[0].requests == 3 and fr.steps[0].error_classes == {"other": 3}
    assert res.issued == res.completed == 3 and fr.iterations == 3  # attempts: issued >= completed holds


def test_an_extracted_value_cannot_inject_a_header_or_cut_a_url(target):
    """A server's value with CR/LF (JSON escapes, decoded by the extract) used in a header
    template must not reach the wire: the request is failed, not sent (lunge/wire.py's rule).
    A NUL in a URL would cut it short: not sent either."""
    hostile = json.dumps({"v": "x\r\nInjected: yes", "n": "ok\u0000/../me"})
    steps = [step("echo", lit(target.url + "/echo"), method="POST", body=lit(hostile), needs_body=True,
                  extracts=(ExtractSpec(var=0, source="body", path="$.v", fallback=None),
                            ExtractSpec(var=1, source="body", path="$.n", fallback=None))),
             step("header", lit(target.url + "/item/h"), headers=((("lit", "X-V: "), ("var", 0)),), stat=1),
             step("url", (("lit", target.url + "/item/"), ("var", 1)), stat=2),
             step("fine", lit(target.url + "/item/fine"), stat=3)]
    sc = scenario(steps, executor="per-vu-iterations", vus=2, iterations=2, stop=10, nvars=2)
    res, (fr,) = run(FlowEngine(scenarios=[sc]))
    echo, header, url, fine = fr.steps
    assert "injected" not in target.header_names and "x-v" not in target.header_names
    assert dict(target.items) == {"fine": 4}, target.items
    assert header.requests == url.requests == 4 and header.failures == url.failures == 4
    assert header.error_classes == url.error_classes == {"other": 4}
    assert "CR, LF or NUL" in header.error_samples["other"] and "control character" in url.error_samples["other"]
    assert fr.iterations == 4 and res.failures == 8 and fine.failures == 0
    assert res.issued == res.completed == 16  # 4 iterations of 4 steps; the two not sent count as attempts


def test_a_get_with_a_body_stays_a_get(target):
    """A body does not change the method the file names: GET with a body goes as GET (as the
    original's Go client and k6 send it), not as libcurl's default POST."""
    steps = [step("get", lit(target.url + "/item/g"), body=lit('{"q":1}'), checks=(status_check(200),)),
             step("post", lit(target.url + "/echo"), method="POST", body=lit("{}"), stat=1),
             step("get again", (("lit", target.url + "/item/"), ("iteration",)), body=(("vuId",),), stat=2)]
    sc = scenario(steps, executor="per-vu-iterations", vus=1, iterations=2, stop=10)
    res, (fr,) = run(FlowEngine(scenarios=[sc]))
    methods = [(m, p) for _, m, p, _ in target.log]
    assert methods == [("GET", "/item/g"), ("POST", "/echo"), ("GET", "/item/0"),
                       ("GET", "/item/g"), ("POST", "/echo"), ("GET", "/item/1")], methods
    assert res.failures == 0


def test_a_check_on_a_long_json_string_sees_all_of_it(target):
    """A body check's JSON string value longer than the engine's 64 KiB scratch buffer is still
    decoded and compared (within body_cap), not failed as 'undecodable'."""
    doc = json.dumps({"d": "a" * 100_000 + "\\n-end"})
    checks = (CheckSpec(label="body $.d contains -end", type="body", condition="contains", path="$.d",
                        value=lit("-end"), number=math.nan, fallback=None),)
    steps = [step("echo", lit(target.url + "/echo"), method="POST", body=lit(doc), needs_body=True, checks=checks)]
    sc = scenario(steps, executor="per-vu-iterations", vus=1, iterations=3, stop=10)
    res, (fr,) = run(FlowEngine(scenarios=[sc]))
    (st,) = fr.steps
    assert (st.checks[0].passed, st.checks[0].failed, st.checks[0].first_failure) == (3, 0, "")
    assert st.failures == 0 and res.failures == 0


def test_an_undecodable_extracted_string_keeps_the_old_value(target):
    """A JSON string with a malformed escape is an extract miss, and a miss keeps the VU's
    value (as a missing path does): the raw escaped text must not replace it."""
    steps = [step("echo", lit(target.url + "/echo"), method="POST", body=lit('{"t": "bad\\q"}'), needs_body=True,
                  extracts=(ExtractSpec(var=0, source="body", path="$.t", fallback=None),)),
             step("me", lit(target.url + "/me"), headers=((("lit", "Authorization: Bearer "), ("var", 0)),), stat=1)]
    sc = scenario(steps, executor="per-vu-iterations", vus=1, iterations=2, stop=10, nvars=1, initial=(b"init",))
    res, (fr,) = run(FlowEngine(scenarios=[sc]))
    assert fr.steps[0].extract_misses == 2 and dict(target.bearers) == {"init": 2}, target.bearers


def test_a_header_name_from_an_extracted_value_must_be_a_token(target):
    """A name with a space, or a value that makes the name empty, is not a header libcurl should
    send (servers answer 400, or read it as something else): not sent, counted as failed."""
    hostile = json.dumps({"bad": "X Space", "empty": "", "good": "X-Good"})
    steps = [step("echo", lit(target.url + "/echo"), method="POST", body=lit(hostile), needs_body=True,
                  extracts=tuple(ExtractSpec(var=i, source="body", path=f"$.{k}", fallback=None)
                                 for i, k in enumerate(("bad", "empty", "good")))),
             step("bad", lit(target.url + "/item/bad"), headers=((("var", 0), ("lit", ": 1")),), stat=1),
             step("empty", lit(target.url + "/item/empty"), headers=((("var", 1), ("lit", ": 1")),), stat=2),
             step("good", lit(target.url + "/item/good"), headers=((("var", 2), ("lit", ": 1")),), stat=3)]
    sc = scenario(steps, executor="per-vu-iterations", vus=1, iterations=3, stop=10, nvars=3)
    _, (fr,) = run(FlowEngine(scenarios=[sc]))
    _, bad, empty, good = fr.steps
    assert dict(target.items) == {"good": 3}, target.items
    assert "x-good" in target.header_names and "x space" not in target.header_names
    assert bad.failures == empty.failures == 3 and good.failures == 0
    assert "not an HTTP token" in bad.error_samples["other"] and "not an HTTP token" in empty.error_samples["other"]
