"""`lunge perf` for flows: a v2 scenario file (`-c FILE`), or the original Lunge's quick mode
with an iteration executor (`--url X --executor constant-arrival-rate --rate 50 ...`), which is
a one-request scenario of the same model.

Settings -> TestFile -> FlowPlan (lunge.flowplan) -> FlowLoadTest (lunge.runner) -> the
result with its scenarios -> lunge.cli.finish, as every other run.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from lunge.config import scenario as S
from lunge.errors import ConfigError
from lunge.settings import Settings

# Flags that shape a single request's load: a v2 file sets its load in its scenarios.
LOAD_FLAGS = {"url": "--url", "method": "-X", "headers": "-H", "data": "-d", "concurrency": "--concurrency/--vus",
              "iterations": "-n/--iterations", "duration": "--duration", "rps": "--rps", "pattern": "--pattern",
              "ramp_up": "--ramp-up", "ramp_down": "--ramp-down", "stages": "--stages", "warmup": "--warmup",
              "warmup_iterations": "--warmup-iterations", "backoff": "--backoff", "data_file": "--data-file",
              "variants": "--variants", "follow": "-L"}


def refuse_load_flags(flags: dict, path: str) -> None:
    for key, flag in LOAD_FLAGS.items():
        if flags.get(key) not in (None, (), False):
            raise ConfigError(f"{flag}: {path} is a v2 scenario file: its scenarios set the requests and the load "
                              f"(docs/scenarios.md)")


def plan_for_file(tf: S.TestFile, s: Settings):
    from lunge.flowplan import build_flow_plan

    if s.name:
        tf = dataclasses.replace(tf, name=s.name)
    return build_flow_plan(tf, http2=s.http2, http3=s.http3, insecure=s.insecure or None, cacert=s.cacert, cert=s.cert, key=s.key,
                           max_body=s.max_body, connect_timeout=s.connect_timeout or 0.0, grace=s.grace,
                           show_secrets=s.show_secrets, shard=s.shard)


def quick_test_file(s: Settings, executor: str, rate: float | None, max_vus: int | None,
                    pre_allocated: int | None, vus: int | None, stages, iterations: int | None) -> S.TestFile:
    """The original Lunge's quick mode as a one-scenario, one-request v2 file."""
    if not s.url:
        raise ConfigError(f"--executor {executor}: give --url (or a v2 file with -c)")
    doc: dict = {"executor": executor}
    if executor in S.ARRIVAL_RATE:
        if vus is not None:
            raise ConfigError(f"--vus: {executor} starts iterations at a rate: size its pool with "
                              f"--pre-allocated-vus and --max-vus")
        if executor == "constant-arrival-rate":
            if rate is None:
                raise ConfigError("--executor constant-arrival-rate: give --rate (iterations per second)")
            doc["rate"] = rate
            doc["duration"] = s.duration
        else:
            if not stages:
                raise ConfigError("--executor ramping-arrival-rate: give --stages DUR:RATE,... (iterations per "
                                  "second at the end of each stage)")
            if rate is not None:
                doc["startRate"] = rate
            doc["stages"] = [{"duration": d, "target": t} for d, t in stages]
        if pre_allocated is not None:
            doc["preAllocatedVUs"] = pre_allocated
        if max_vus is not None:
            doc["maxVUs"] = max_vus
    else:
        for flag, value in (("--rate", rate), ("--max-vus", max_vus), ("--pre-allocated-vus", pre_allocated)):
            if value is not None:
                raise ConfigError(f"{flag} goes with an arrival-rate executor, not {executor}")
        doc["vus"] = vus or s.concurrency
        if iterations is None:
            raise ConfigError(f"--executor {executor}: give -n/--iterations")
        doc["iterations"] = iterations
        if s.duration:
            doc["maxDuration"] = s.duration
    request: dict = {"name": s.name or f"{s.method or ('POST' if s.data else 'GET')} {s.url}", "url": s.url,
                     "method": s.method or ("POST" if s.data else "GET"),
                     "headers": dict(_header(h) for h in s.headers)}
    if s.data is not None:
        request["body"] = _body(s.data)
    if s.timeout is not None:
        request["timeout"] = s.timeout or 0
    data: dict[str, Any] = {"name": s.name or request["name"], "scenarios": {"default": {**doc, "requests": [request]}},
            "settings": {"timeout": s.timeout or 0, "maxConnectionsPerHost": 0}}
    if s.insecure:
        data["settings"]["insecureSkipVerify"] = True
    return S.build(f"--url {s.url}", _in_seconds(data))  # names the run in errors and reports


def _in_seconds(data: dict) -> dict:
    """Durations as the file format spells them ("1.5s"), for S.build to parse."""
    def conv(v):
        return f"{v:g}s" if isinstance(v, float) or isinstance(v, int) and not isinstance(v, bool) else v
    for sc in data["scenarios"].values():
        for k in ("duration", "maxDuration"):
            if sc.get(k) is not None:
                sc[k] = conv(float(sc[k]))
            else:
                sc.pop(k, None)
        for st in sc.get("stages", ()):
            st["duration"] = conv(float(st["duration"]))
        for r in sc["requests"]:
            if "timeout" in r:
                r["timeout"] = conv(float(r["timeout"]))
    data["settings"]["timeout"] = conv(float(data["settings"]["timeout"]))
    return data


def _header(h: str) -> tuple[str, str]:
    name, sep, value = h.partition(":")
    if not sep:
        raise ConfigError(f"-H {h!r}: expected 'Name: value'")
    return name.strip(), value.strip()


def _body(data: str) -> str:
    if data.startswith("@"):
        try:
            with open(data[1:], encoding="utf-8") as f:
                return f.read()
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"-d {data}: {e}") from None
    return data
