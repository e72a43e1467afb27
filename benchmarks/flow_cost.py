#!/usr/bin/env python3
"""CPU per request of the FlowEngine (flow.pyx) against the single-URL Engine (engine.pyx), at
the same number of VUs / connections, on one nginx (benchmarks/_nginx.py, pinned to CPU 1; this
process pinned to CPU 0).

Engine: N connections, GET /.  FlowEngine: N VUs, shared-iterations, a 3-request flow:
POST /login (nginx returns {"token":"abc"}; extract $.token), GET /me with
`Authorization: Bearer {{token}}`, GET /item; one status check each.  Both run a fixed number
of requests; the figure is this process's user + sys CPU over the run (resource.getrusage)
per request.  Runs alternate, R rounds; the medians and their ratio are printed (goal <= 1.5x).

A third run, "FlowEngine+py", extracts the token with a regex instead of the JSON path: the
slow path (a Python call with the GIL per login response, docs/scenarios.md): its cost beside.
Both engines use their own connection pools, as `lunge perf` runs them.

Usage: .venv/bin/python benchmarks/flow_cost.py [--requests 60000] [--vus 50] [--rounds 3]
"""
import argparse
import math
import os
import resource
import statistics
import sys

from _nginx import OK, Nginx

LOGIN = """location = /login { default_type application/json; return 200 '{"token":"abc"}'; }"""


def cpu_now():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def origin(url):
    from urllib.parse import urlsplit

    u = urlsplit(url)
    return (u.hostname, u.port, u.hostname)


def run_engine(url, vus, requests):
    from lunge._native.engine import Engine

    eng = Engine(url=url + "/", concurrency=vus, iterations=requests, own_pools=origin(url))
    c0 = cpu_now()
    eng.run()
    cpu = cpu_now() - c0
    res = eng.results()
    assert res.failures == 0 and res.completed == requests, res
    return cpu / res.completed, res.completed / (res.elapsed_ns / 1e9)


def flow_spec(url, vus, iterations, slow=False):
    from lunge._native.contract import CheckSpec, ScenarioSpec, StepSpec

    def status_200():
        return CheckSpec(label="status eq 200", type="status", condition="eq", path=None, value=(("lit", "200"),),
                         number=200.0, fallback=None)

    steps = (
        StepSpec(name="login", stat=0, method="POST", url=(("lit", url + "/login"),),
                 headers=((("lit", "Content-Type: application/json"),),), body=(("lit", '{"user":"u"}'),),
                 timeout_s=0.0, think_s=0.0, extracts=(token_extract(slow),),
                 checks=(status_200(),), needs_body=True, needs_headers=False),
        StepSpec(name="me", stat=1, method="GET", url=(("lit", url + "/me"),),
                 headers=((("lit", "Authorization: Bearer "), ("var", 0)),), body=None, timeout_s=0.0, think_s=0.0,
                 extracts=(), checks=(status_200(),), needs_body=False, needs_headers=False),
        StepSpec(name="item", stat=2, method="GET", url=(("lit", url + "/item"),), headers=(), body=None,
                 timeout_s=0.0, think_s=0.0, extracts=(), checks=(status_200(),), needs_body=False,
                 needs_headers=False),
    )
    return ScenarioSpec(
        name="flow", executor="shared-iterations", start_s=0.0, after_previous=False, stop_s=3600.0,
        graceful_stop_s=30.0, vus=vus, vu_steps=(), schedule=None, schedule_stride=1, schedule_offset=0,
        pre_allocated=0, iterations=iterations, first_vu=1, iteration_stride=1, iteration_offset=0,
        pacing=("none", 0, 0), iteration_timeout_s=0.0, new_connections=False, nvars=1, initial=(None,),
        steps=steps, stats=("login", "me", "item"), seed=1)


def token_extract(slow):
    from lunge._native.contract import ExtractSpec

    if not slow:
        return ExtractSpec(var=0, source="body", path="$.token", fallback=None)
    from lunge.config.scenario import Extract
    from lunge.flowplan import extract_fallback

    return ExtractSpec(var=0, source="body", path=None,
                       fallback=extract_fallback(Extract(name="token", source="body", regex='"token":"(\\w+)"')))


def run_flow(url, vus, requests, slow=False):
    from lunge._native.flow import FlowEngine

    iterations = math.ceil(requests / 3)
    eng = FlowEngine(scenarios=[flow_spec(url, vus, iterations, slow)], own_pools=[origin(url)])
    c0 = cpu_now()
    eng.run()
    cpu = cpu_now() - c0
    res = eng.results()
    (fr,) = eng.flow_results()
    assert res.failures == 0 and fr.iterations == iterations and res.completed == 3 * iterations, (res, fr)
    return cpu / res.completed, res.completed / (res.elapsed_ns / 1e9)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=60000)
    ap.add_argument("--vus", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    from lunge import libcurl

    libcurl.load()
    eng, flow, slow = [], [], []
    with Nginx(cpu="1", locations=OK + " " + LOGIN) as nginx:
        url = nginx.url.rstrip("/")
        try:
            os.sched_setaffinity(0, {0})
        except (AttributeError, OSError):
            pass
        run_engine(url, a.vus, 2000)   # warm up both
        run_flow(url, a.vus, 2000)
        for r in range(a.rounds):
            eng.append(run_engine(url, a.vus, a.requests))
            flow.append(run_flow(url, a.vus, a.requests))
            slow.append(run_flow(url, a.vus, a.requests, slow=True))
            print(f"round {r + 1}: Engine {eng[-1][0] * 1e6:.2f} us/req ({eng[-1][1]:.0f} req/s), "
                  f"FlowEngine {flow[-1][0] * 1e6:.2f} us/req ({flow[-1][1]:.0f} req/s), "
                  f"FlowEngine+py {slow[-1][0] * 1e6:.2f} us/req ({slow[-1][1]:.0f} req/s)", flush=True)
    e = statistics.median(x[0] for x in eng)
    f = statistics.median(x[0] for x in flow)
    p = statistics.median(x[0] for x in slow)
    print(f"median CPU per request: Engine {e * 1e6:.2f} us, FlowEngine {f * 1e6:.2f} us, "
          f"ratio {f / e:.2f}x (goal <= 1.5x, first bar 2x); with the regex extract in Python "
          f"{p * 1e6:.2f} us ({p / e:.2f}x; +{(p - f) * 3e6:.1f} us per Python call)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
