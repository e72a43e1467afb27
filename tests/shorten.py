"""Shorten a v2 scenario document (the original Go Lunge's examples run for minutes, against
httpbin.org) into one that runs in a couple of seconds against a local stand-in, keeping what
its thresholds judge.

`shorten(doc, base_url)` takes the parsed document (a dict, as `yaml.safe_load` gives it) and
returns a transformed deep copy; the input is left alone. The transform:

1. **Time is scaled by one factor f.** T is the test's active length: for each scenario its
   `startTime` plus its `duration` (constant-vus, constant-arrival-rate) or the sum of its
   stages' durations (ramping-*); the longest such end (in sequence, with
   `options.sequential`, their sum). f = min(1, BUDGET_S / T), BUDGET_S = 2 s. Every
   `duration`, stage `duration`, `startTime`, request `thinkTime` and `pacing` duration
   (`duration`, `min`, `max`) is multiplied by f, so the schedule keeps its shape (a ramp
   stays a ramp, a late scenario still starts late, think times keep their ratio to the
   scenario's length).
2. **`gracefulStop` is f times its value (default 30 s), kept within [0.5 s, 1 s]** and set on
   every scenario: long enough for a running local iteration (a few ms of requests and scaled
   think times) to finish, so no request is cut off and the server's count matches the
   result's, and short enough that the whole test's upper bound (`total_duration`: stop plus
   graceful stop) stays within BUDGET_S + 1 s = 3 s.
3. **Iteration executors** (per-vu-iterations, shared-iterations) do not count in T; their
   `maxDuration` (default 10 m) is scaled by f and capped at BUDGET_S, and `iterations` is
   capped at MAX_ITERATIONS.
4. **Load is capped**: `vus`, `startVUs`, `preAllocatedVUs`, `maxVUs` and ramping-vus stage
   `target`s at MAX_VUS (5); `rate`, `startRate` and ramping-arrival-rate stage `target`s at
   MAX_RATE (20) iterations per second (per `timeUnit`: at MAX_RATE x timeUnit, at least 1).
   Caps keep `preAllocatedVUs <= maxVUs` and `vus <= iterations`.
5. **The target is replaced**: `settings.baseUrl` becomes `base_url`, and a request URL that
   starts with one of ORIGINS (`http://localhost:80`, `https://httpbin.org`, ...) starts with
   `base_url` instead.

Untouched: `thresholds` (the point is the exit code they give), request `timeout`s,
`options.iterationsTimeout` (upper bounds only; a running iteration is short), `timeUnit`,
headers, bodies, extraction, assertions. Durations are written as milliseconds (`"1.667ms"`,
rounded to the microsecond; a positive duration stays positive).
"""
from __future__ import annotations

import copy
from typing import Any

from lunge.units import parse_duration

BUDGET_S = 2.0
GRACE_MIN_S, GRACE_MAX_S = 0.5, 1.0
DEFAULT_GRACEFUL_STOP_S = 30.0
DEFAULT_MAX_DURATION_S = 600.0
MAX_VUS = 5
MAX_RATE = 20
MAX_ITERATIONS = 10
ORIGINS = ("http://localhost:80", "http://localhost", "https://httpbin.org", "http://httpbin.org")

_ITERATION_EXECUTORS = ("per-vu-iterations", "shared-iterations")


def fmt(seconds: float) -> str:
    """A duration in the format's own spelling, in milliseconds to the microsecond."""
    ms = round(seconds * 1000, 3)
    if seconds > 0 and ms == 0:
        ms = 0.001
    return f"{ms:g}ms"


def _active(sc: dict) -> float:
    """A time-bound scenario's length from its start (0 for the iteration executors)."""
    if sc.get("executor") in _ITERATION_EXECUTORS:
        return 0.0
    if "stages" in sc:
        return sum(parse_duration(st["duration"]) for st in sc["stages"])
    return parse_duration(sc.get("duration", 0))


def factor(doc: dict) -> float:
    """f of the module docstring: how much every duration of `doc` is scaled."""
    scenarios = list((doc.get("scenarios") or {}).values())
    ends = [parse_duration(sc.get("startTime", 0)) + _active(sc) for sc in scenarios]
    sequential = bool((doc.get("options") or {}).get("sequential"))
    total = sum(ends) if sequential else max(ends, default=0.0)
    return 1.0 if total <= BUDGET_S else BUDGET_S / total


def _url(url: Any, base_url: str) -> Any:
    if isinstance(url, str):
        for origin in ORIGINS:
            if url == origin or url.startswith(origin + "/") or url.startswith(origin + "?"):
                return base_url + url[len(origin):]
    return url


def _cap_rate(sc: dict, value: int) -> int:
    unit = parse_duration(sc.get("timeUnit", "1s"))
    return min(value, max(1, int(MAX_RATE * unit)))


def _scenario(sc: dict, f: float, base_url: str) -> None:
    def scale(node: dict, key: str) -> None:
        if key in node:
            node[key] = fmt(parse_duration(node[key]) * f)

    executor = sc.get("executor")
    scale(sc, "duration")
    scale(sc, "startTime")
    for st in sc.get("stages") or []:
        scale(st, "duration")
        if executor == "ramping-vus":
            st["target"] = min(st["target"], MAX_VUS)
        elif executor == "ramping-arrival-rate":
            st["target"] = _cap_rate(sc, st["target"])
    grace = parse_duration(sc.get("gracefulStop", DEFAULT_GRACEFUL_STOP_S)) * f
    sc["gracefulStop"] = fmt(min(GRACE_MAX_S, max(GRACE_MIN_S, grace)))
    if executor in _ITERATION_EXECUTORS:
        sc["maxDuration"] = fmt(min(BUDGET_S, parse_duration(sc.get("maxDuration", DEFAULT_MAX_DURATION_S)) * f))
        if "iterations" in sc:
            sc["iterations"] = min(sc["iterations"], MAX_ITERATIONS)
    for key in ("vus", "startVUs", "preAllocatedVUs", "maxVUs"):
        if key in sc:
            sc[key] = min(sc[key], MAX_VUS)
    for key in ("rate", "startRate"):
        if key in sc:
            sc[key] = _cap_rate(sc, sc[key])
    pacing = sc.get("pacing")
    if isinstance(pacing, dict):
        for key in ("duration", "min", "max"):
            scale(pacing, key)
    for req in sc.get("requests") or []:
        scale(req, "thinkTime")
        if "url" in req:
            req["url"] = _url(req["url"], base_url)


def shorten(doc: dict, base_url: str) -> dict:
    """A copy of the v2 document `doc` that runs in about BUDGET_S (at most BUDGET_S + 1 s with
    graceful stops) at light load against `base_url`: see the module docstring."""
    out = copy.deepcopy(doc)
    f = factor(out)
    out.setdefault("settings", {})["baseUrl"] = base_url
    for sc in (out.get("scenarios") or {}).values():
        _scenario(sc, f, base_url)
    return out
