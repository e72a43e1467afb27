"""FlowPlan: a v2 scenario file (lunge.config.scenario.TestFile) compiled for the FlowEngine.

TestFile -> FlowPlan -> per engine (worker) a list of contract.ScenarioSpec.  Everything the
same for every request is resolved here, once: variables, tags, settings.baseUrl, the OS
environment, settings.headers and the User-Agent.  What changes per VU, iteration or request
stays a template segment the engine renders natively (lunge_tmpl.h): values a VU extracted,
{{iteration}}, {{vuId}}, {{timestamp}}, {{$uuid}}, {{$randomInt}} ...

Checks and extracts the engine cannot do natively (regexes, `matches`, JSONPaths with
wildcards or filters) get a Python `fallback`, called with the GIL per response: the slow path,
measured in benchmarks/RESULTS.md.

Splitting over engines is exact: VUs, iterations and arrival-rate iterations (k-th of the
scenario to engine k % n) add up to the file's numbers.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

from lunge import __version__, secretvalues
from lunge import variables as V
from lunge._native.contract import CheckSpec, ExtractSpec, ScenarioSpec, StepSpec
from lunge.config import scenario as S
from lunge.errors import ConfigError
from lunge.plan import split_count
from lunge.settings import check_http3

# A ramping schedule's cumulative iterations are sampled this often (seconds): the engine
# interpolates linearly between samples, so a ramp's due times are exact at the samples and
# within a fraction of an iteration between them.
SCHEDULE_STEP = 0.05
MAX_SCHEDULE_POINTS = 200_000
MAX_VARS = 4096         # variables one VU's table holds (extracted names)


# ---------------------------------------------------------------- templates

class _Compiler:
    """Turns one scenario's texts into template segments."""

    def __init__(self, tf: S.TestFile, sc: S.Scenario, var_index: dict[str, int], env: dict[str, str]):
        self.values: dict[str, Any] = {**tf.variables, **sc.tags}
        if tf.settings.base_url is not None:
            self.values.update(dict.fromkeys(S.BASE_URL_NAMES, tf.settings.base_url))
        self.var_index = var_index
        self.env = env

    def compile(self, text: str, where: str, depth: int = 0) -> list[tuple]:
        if depth > 50:
            raise ConfigError(f"{where}: variables nest more than 50 deep")
        out: list[tuple] = []
        pos = 0
        for m in V._PLACEHOLDER.finditer(text):
            if m.start() > pos:
                out.append(("lit", text[pos:m.start()]))
            pos = m.end()
            out.extend(self._placeholder(m, where, depth))
        if pos < len(text):
            out.append(("lit", text[pos:]))
        return _join(out)

    def _placeholder(self, m: re.Match, where: str, depth: int) -> list[tuple]:
        if m.group(2) is not None:  # ${NAME} / ${NAME:-default}
            value = self.env.get(m.group(2))
            if value is None:
                if m.group(3) is None:
                    raise ConfigError(f"{where}: environment variable {m.group(2)} is not set (write "
                                      f"${{{m.group(2)}:-default}} for a default)")
                value = m.group(3)
            return [("lit", value)]
        expr = m.group(1)
        if expr.startswith("$"):
            name, *args = expr.split()
            if name == "$uuid":
                return [("uuid",)]
            if name == "$timestamp":
                return [("timestamp",)]
            if name == "$isoTimestamp":
                return [("isoTimestamp",)]
            if name == "$randomInt":
                lo, hi = (int(a) for a in args) if args else (0, 999_999)
                return [("randomInt", lo, hi)]
            if name.startswith("$env."):
                var = name[5:]
                if var not in self.env:
                    raise ConfigError(f"{where}: {{{{{expr}}}}}: environment variable {var} is not set")
                return [("lit", self.env[var])]
            V._builtin(expr, where)  # raises for an unknown built-in
            return [("lit", m.group(0))]
        if expr in self.var_index:
            return [("var", self.var_index[expr])]
        if expr in self.values:
            value = self.values[expr]
            if isinstance(value, str):
                return self.compile(value, where, depth + 1)
            return [("lit", V.to_text(value))]
        if expr == "iteration":
            return [("iteration",)]
        if expr == "vuId":
            return [("vuId",)]
        if expr == "timestamp":
            return [("timestamp",)]
        return [("lit", m.group(0))]  # nothing defines it: sent as written, as the original does

    def initial(self, name: str, where: str) -> bytes | None:
        """The start value of a VU variable: the file's variable or tag of that name (rendered
        once; per-VU parts of it are not available before the VU runs), else its own
        placeholder text, which the original sends until the value is extracted."""
        if name in self.values:
            segs = self.compile(V.to_text(self.values[name]), where)
            if all(s[0] == "lit" for s in segs):
                return "".join(s[1] for s in segs).encode()
            return b""
        return f"{{{{{name}}}}}".encode()


def _join(segs: list[tuple]) -> list[tuple]:
    out: list[tuple] = []
    for s in segs:
        if s[0] == "lit":
            if not s[1]:
                continue
            if out and out[-1][0] == "lit":
                out[-1] = ("lit", out[-1][1] + s[1])
                continue
        out.append(s)
    return out


def _with_holes(segs) -> str:
    """A template's literal text, each per-request part an "x": what wire.py checks of it."""
    return "".join(s[1] if s[0] == "lit" else "x" for s in segs)


def literal_text(segs) -> str | None:
    """The text of a template with no per-request part, else None."""
    if all(s[0] == "lit" for s in segs):
        return "".join(s[1] for s in segs)
    return None


# ---------------------------------------------------------------- checks and extracts in Python

def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _body_value(path: S.JsonPath | None, body: bytes) -> str | None:
    if path is None:
        return body.decode("utf-8", "replace")
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if path.native:
        found, value = S.resolve(path, doc)
        return _json_text(value) if found else None
    from jsonpath_ng.ext import parse

    matches = parse(path.text).find(doc)
    return _json_text(matches[0].value) if matches else None


def _header_value(headers: bytes, name: str) -> str | None:
    """The named header of the last response in a block of raw header lines (redirects
    included: a status line starts a new response)."""
    value = None
    want = name.lower().encode()
    for line in headers.split(b"\n"):
        line = line.rstrip(b"\r")
        if line.startswith(b"HTTP/"):
            value = None
            continue
        k, sep, v = line.partition(b":")
        if sep and k.strip().lower() == want:
            value = v.strip().decode("latin-1")
    return value


def _selected(source: str, path: str | None, json_path: S.JsonPath | None, status: int, headers: bytes,
              body: bytes) -> str | None:
    if source == "status":
        return str(status)
    if source == "header":
        assert path is not None
        return _header_value(headers, path)
    return _body_value(json_path, body)


def extract_fallback(ex: S.Extract):
    """fallback(status, headers, body) -> bytes | None: the extract done in Python."""
    rx = re.compile(ex.regex) if ex.regex is not None else None

    def run(status: int, headers: bytes, body: bytes) -> bytes | None:
        text = _selected(ex.source, ex.path, ex.json_path, status, headers, body)
        if text is None:
            return None
        if rx is not None:
            m = rx.search(text)
            if m is None:
                return None
            text = m.group(1) if rx.groups else m.group(0)
            if text is None:
                return None
        return text.encode()
    return run


_CMP = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "gt": lambda a, b: a > b,
        "lt": lambda a, b: a < b, "gte": lambda a, b: a >= b, "lte": lambda a, b: a <= b}


def check_fallback(a: S.Assertion, label: str):
    """fallback(status, headers, body, seconds) -> failure message | None: the check in Python
    (the engine's semantics: see docs/scenarios.md#assertions)."""
    rx = re.compile(a.value) if a.condition == "matches" else None

    def run(status: int, headers: bytes, body: bytes, seconds: float) -> str | None:
        if a.type == "status":
            actual: str | None = str(status)
        elif a.type == "duration":
            actual = f"{seconds:.6f}"
        else:
            actual = _selected(a.type, a.path, a.json_path, status, headers, body)
        if actual is None:
            return a.message or f"{label}: {a.path or a.type} not found"
        ok: bool
        if a.condition == "matches":
            assert rx is not None
            ok = rx.search(actual) is not None
        elif a.condition == "contains":
            ok = a.value in actual
        elif a.condition in ("gt", "lt", "gte", "lte") or a.type in ("status", "duration"):
            try:
                number = float(actual)
            except ValueError:
                return a.message or f"{label}: {actual[:80]!r} is not a number"
            want = a.number if a.number is not None else math.nan
            ok = _CMP[a.condition](number, want)
        else:
            ok = _CMP[a.condition](actual, a.value)
        if ok:
            return None
        return a.message or f"{label}: got {actual[:80]}"
    return run


def check_label(a: S.Assertion) -> str:
    if a.message:
        return a.message
    where = f" {a.path}" if a.path else ""
    return f"{a.type}{where} {a.condition} {a.value}"


# ---------------------------------------------------------------- the plan

@dataclass(frozen=True)
class CompiledScenario:
    scenario: S.Scenario
    steps: tuple[StepSpec, ...]
    stats: tuple[str, ...]
    nvars: int
    initial: tuple
    var_names: tuple[str, ...]


@dataclass(frozen=True)
class FlowTransport:
    insecure: bool = False
    http2: bool = False
    http3: str | None = None      # "only" or "fallback" (contract.HTTP3_MODES)
    cacert: str | None = None
    cert: str | None = None
    key: str | None = None
    max_body: int = 0
    connect_timeout: float = 0.0
    grace: float = 5.0
    max_connections: int = 0


@dataclass(frozen=True)
class FlowPlan:
    name: str
    test_file: S.TestFile
    scenarios: tuple[CompiledScenario, ...]
    transport: FlowTransport = field(default_factory=FlowTransport)
    hosts: tuple[str, ...] = ()         # URLs whose origin is resolved once, before the run
    show_secrets: bool = False
    shard: tuple[tuple[int, int], ...] = ()  # --shard i/n: this machine's part of the whole

    def max_parts(self, share: tuple[tuple[int, int], ...] = ()) -> int:
        """How many engines `share` of the plan splits into: each needs a VU of every scenario."""
        return max(1, min(Share(share).part(S.peak_vus(c.scenario.executor)) for c in self.scenarios))

    def specs(self, share: tuple[tuple[int, int], ...] = ()) -> list[ScenarioSpec]:
        """One engine's share of every scenario: part i of n, for each (i, n) of `share` in turn
        (a shard's, then a worker's); () is the whole."""
        out: list[ScenarioSpec] = []
        vu_base = 1
        for c in self.scenarios:
            peak = S.peak_vus(c.scenario.executor)
            out.append(_spec(c, Share(share), vu_base + Share(share).before(peak),
                             seed=0x9E3779B97F4A7C15 ^ (len(out) * 1_000_003 + Share(share).offset + 1),
                             sequential=self.test_file.options.sequential and bool(out),
                             iteration_timeout=self.test_file.options.iterations_timeout or 0.0,
                             fresh=self.test_file.options.no_vu_connection_reuse))
            vu_base += peak
        return out

    def planned(self) -> float:
        """Seconds until the last scenario stops starting iterations (graceful stops aside)."""
        return max(w.stop for w in S.scenario_schedule(self.test_file))

    def total_duration(self) -> float:
        return S.total_duration(self.test_file)

    def configuration(self) -> dict:
        tf = self.test_file
        return {
            "model": "flows",
            "file": tf.path,
            "baseUrl": secretvalues.url(tf.settings.base_url) if tf.settings.base_url and not self.show_secrets
            else tf.settings.base_url,
            "sequential": tf.options.sequential,
            "scenarios": [_scenario_configuration(c.scenario) for c in self.scenarios],
            "http2": self.transport.http2,
            "http3": self.transport.http3,
            "insecure": self.transport.insecure,
            "graceMs": self.transport.grace * 1000,
            "durationMs": self.total_duration() * 1000,
            **({"shard": f"{self.shard[0][0]}/{self.shard[0][1]}"} if self.shard else {}),
        }


def _scenario_configuration(sc: S.Scenario) -> dict:
    ex = sc.executor
    d: dict[str, Any] = {"name": sc.name, "executor": ex.type}
    for key, value in (("vus", ex.vus), ("durationMs", ex.duration and ex.duration * 1000),
                       ("startVUs", ex.start_vus), ("rate", ex.rate), ("startRate", ex.start_rate),
                       ("timeUnitMs", ex.time_unit and ex.time_unit * 1000),
                       ("preAllocatedVUs", ex.pre_allocated_vus), ("maxVUs", ex.max_vus),
                       ("iterations", ex.iterations), ("maxDurationMs", ex.max_duration and ex.max_duration * 1000)):
        if value is not None:
            d[key] = value
    if ex.stages:
        d["stages"] = [{"durationMs": st.duration * 1000, "target": st.target, **({"name": st.name} if st.name else {})}
                       for st in ex.stages]
    d["startTimeMs"] = sc.start_time * 1000
    d["gracefulStopMs"] = sc.graceful_stop * 1000
    d["requests"] = [r.name for r in sc.requests]
    return d


def vu_steps(ex: S.Executor) -> list[tuple[float, int]]:
    """constant-vus / ramping-vus: the active VU count as a step function of time, from 0:
    ramps round to the nearest VU (as vus_at), so the count changes where the ramp crosses
    k + 0.5."""
    if ex.type == "constant-vus":
        return [(0.0, ex.vus or 0)]
    out = [(0.0, int((ex.start_vus or 0) + 0.5))]
    value, begin = float(ex.start_vus or 0), 0.0
    for st in ex.stages:
        if st.duration <= 0:
            out.append((begin, int(st.target + 0.5)))
        else:
            lo, hi = sorted((value, float(st.target)))
            for k in range(math.floor(lo - 0.5) + 1, math.ceil(hi - 0.5)):  # crossings of k + 0.5
                x = k + 0.5
                if not lo < x < hi:
                    continue
                t = begin + (x - value) / (st.target - value) * st.duration
                out.append((t, k + 1 if st.target > value else k))
            out.append((begin + st.duration, int(st.target + 0.5)))
        value, begin = float(st.target), begin + st.duration
    steps: list[tuple[float, int]] = []
    for t, n in sorted(out, key=lambda p: p[0]):
        if steps and abs(steps[-1][0] - t) < 1e-12:
            steps[-1] = (t, n)
        elif not steps or steps[-1][1] != n:
            steps.append((t, n))
    return steps


def arrival_schedule(ex: S.Executor) -> tuple[list[float], list[float]]:
    """(seconds, cumulative iterations) of an arrival-rate scenario, from (0, 0): exact at each
    stage's ends, sampled every SCHEDULE_STEP on ramps."""
    ts, cum = [0.0], [0.0]
    begin = 0.0
    for r0, r1, d in S._segments(ex):
        pieces = 1 if r0 == r1 or d <= 0 else max(1, min(int(d / SCHEDULE_STEP), MAX_SCHEDULE_POINTS // 4))
        for p in range(1, pieces + 1):
            t = begin + d * p / pieces
            ts.append(t)
            cum.append(S.iterations_by(ex, t))
        begin += d
    total = S.total_iterations(ex) or 0
    cum[-1] = float(total)  # the whole count, exactly
    return ts, cum


@dataclass(frozen=True)
class Share:
    """Part of a whole, split successively: ((i, n), ...) is part i of n of part i' of n' ...
    Counts split as plan.split_count (they add up exactly); the whole's k-th iteration of a
    sequence is this part's when k % stride == offset."""
    chain: tuple[tuple[int, int], ...] = ()

    def part(self, total: int) -> int:
        for i, n in self.chain:
            total = split_count(total, i, n)
        return total

    def before(self, total: int) -> int:
        """How many of `total` belong to the parts before this one (VU numbering)."""
        out = 0
        for i, n in self.chain:
            out += sum(split_count(total, j, n) for j in range(i))
            total = split_count(total, i, n)
        return out

    @property
    def stride(self) -> int:
        return math.prod(n for _, n in self.chain)

    @property
    def offset(self) -> int:
        offset, scale = 0, 1
        for i, n in self.chain:
            offset += i * scale
            scale *= n
        return offset


def _spec(c: CompiledScenario, share: Share, first_vu: int, seed: int, sequential: bool,
          iteration_timeout: float, fresh: bool) -> ScenarioSpec:
    sc, ex = c.scenario, c.scenario.executor
    stop = S.active_duration(ex)
    steps: tuple = ()
    schedule = None
    pre = iterations = 0
    if ex.type in ("constant-vus", "ramping-vus"):
        steps = tuple((t, share.part(v)) for t, v in vu_steps(ex))
        vus = max(v for _, v in steps)
    elif ex.type in S.ARRIVAL_RATE:
        schedule = arrival_schedule(ex)
        vus = share.part(ex.max_vus or 0)
        pre = min(share.part(ex.pre_allocated_vus or 0), vus)
    elif ex.type == "per-vu-iterations":
        vus = share.part(ex.vus or 0)
        iterations = ex.iterations or 0
    else:  # shared-iterations
        vus = share.part(ex.vus or 0)
        iterations = share.part(ex.iterations or 0)
    p = sc.pacing
    pacing = ("constant", p.duration, 0.0) if p.type == "constant" else ("random", p.min, p.max) \
        if p.type == "random" else ("none", 0.0, 0.0)
    if ex.type in S.ARRIVAL_RATE:
        pacing = ("none", 0.0, 0.0)
    return ScenarioSpec(
        name=sc.name, executor=ex.type, start_s=sc.start_time, after_previous=sequential, stop_s=stop,
        graceful_stop_s=sc.graceful_stop, vus=vus, vu_steps=steps, schedule=schedule, schedule_stride=share.stride,
        schedule_offset=share.offset, pre_allocated=pre, iterations=iterations, first_vu=first_vu, iteration_stride=share.stride,
        iteration_offset=share.offset, pacing=pacing, iteration_timeout_s=iteration_timeout, new_connections=fresh,
        nvars=c.nvars, initial=c.initial, steps=c.steps, stats=c.stats, seed=seed & 0xFFFFFFFFFFFFFFFF)


def compile_scenario(tf: S.TestFile, sc: S.Scenario, env: dict[str, str], user_agent: str) -> CompiledScenario:
    names: list[str] = []
    for r in sc.requests:
        for e in r.extract:
            if e.name not in names:
                names.append(e.name)
    if len(names) > MAX_VARS:
        raise ConfigError(f"{tf.path}: $.scenarios.{sc.name}: {len(names)} extracted names (at most {MAX_VARS})")
    var_index = {name: k for k, name in enumerate(names)}
    comp = _Compiler(tf, sc, var_index, env)
    stats: list[str] = []
    steps = []
    for j, r in enumerate(sc.requests):
        where = f"{tf.path}: $.scenarios.{sc.name}.requests[{j}]"
        if r.name not in stats:
            stats.append(r.name)
        url = tuple(comp.compile(r.url, f"{where}.url"))
        text = literal_text(url)
        from lunge import wire

        if text is None:  # the environment's values are in its literal parts now: checked again
            wire.check_url(_with_holes(url), f"{where}.url")
        else:
            wire.check_url(text, f"{where}.url")
            if not re.match(r"(?i)https?://", text):
                raise ConfigError(f"{where}.url: {text!r} is not an http:// or https:// URL")
        headers = []
        has_ua = False
        for name, value in r.headers:
            has_ua |= name.lower() == "user-agent"
            line = tuple(comp.compile(f"{name}: {value}", f"{where}.headers.{name}"))
            wire.check_header_line(_with_holes(line), f"{where}.headers.{name}")  # CR, LF, NUL from ${ENV}
            headers.append(line)
        if not has_ua:
            headers.append((("lit", f"User-Agent: {user_agent}"),))
        body = None
        if r.body is not None:
            text_body = r.body if isinstance(r.body, str) else json.dumps(r.body)
            body = tuple(comp.compile(text_body, f"{where}.body"))
        extracts = []
        needs_body = needs_headers = False
        for e in r.extract:
            native = e.regex is None and (e.source != "body" or e.json_path is None or e.json_path.native)
            needs_body |= e.source == "body"
            needs_headers |= e.source == "header"
            extracts.append(ExtractSpec(var=var_index[e.name], source=e.source,
                                        path=e.path if e.source == "header" else
                                        (e.json_path.text if e.json_path is not None else None),
                                        fallback=None if native else extract_fallback(e)))
        checks = []
        for a in r.assertions:
            label = check_label(a)
            native = a.condition != "matches" and (a.json_path is None or a.json_path.native) \
                and not (a.type == "status" and a.condition == "contains")
            needs_body |= a.type == "body"
            needs_headers |= a.type == "header"
            check_value = tuple(comp.compile(a.value, f"{where}.assertions"))
            checks.append(CheckSpec(label=label, type=a.type, condition=a.condition,
                                    path=a.path if a.type == "header" else
                                    (a.json_path.text if a.json_path is not None else None),
                                    value=check_value, number=a.number if a.number is not None else math.nan,
                                    fallback=None if native else check_fallback(a, label)))
        steps.append(StepSpec(name=r.name, stat=stats.index(r.name), method=r.method, url=url,
                              headers=tuple(headers), body=body, timeout_s=r.timeout or 0.0,
                              think_s=r.think_time, extracts=tuple(extracts), checks=tuple(checks),
                              needs_body=needs_body, needs_headers=needs_headers))
    initial = tuple(comp.initial(name, f"{tf.path}: $.variables.{name}") for name in names)
    return CompiledScenario(scenario=sc, steps=tuple(steps), stats=tuple(stats), nvars=len(names),
                            initial=initial, var_names=tuple(names))


def build_flow_plan(tf: S.TestFile, *, env: dict[str, str] | None = None, http2: bool = False,
                    http3: str | None = None, insecure: bool | None = None, cacert: str | None = None, cert: str | None = None,
                    key: str | None = None, max_body: int = 0, connect_timeout: float = 0.0, grace: float = 5.0,
                    show_secrets: bool = False, shard: tuple[int, int] | None = None) -> FlowPlan:
    """Compile a v2 file. `env`: the OS environment the ${NAME} placeholders read (os.environ).
    http3: --http3 / --http3-fallback ("only", "fallback"), over the file's settings.http3."""
    env = dict(os.environ) if env is None else env
    ua = tf.settings.user_agent or f"lunge/{__version__}"
    compiled = tuple(compile_scenario(tf, sc, env, ua) for sc in tf.scenarios)
    hosts = []
    for c in compiled:
        for st in c.steps:
            head = st.url[0] if st.url and st.url[0][0] == "lit" else None
            m = re.match(r"(?i)(https?://[^/?#{]+)", head[1]) if head else None
            if m and m.group(1) not in hosts:
                hosts.append(m.group(1))
    s = tf.settings
    where = None if http3 else f"{tf.path}: $.settings.http3"  # the flag, or the file, asked for it
    http3 = http3 or s.http3
    for h in hosts if http3 else ():
        check_http3(http3, http2, h, where)
    transport = FlowTransport(insecure=s.insecure_skip_verify if insecure is None else insecure or s.insecure_skip_verify,
                              http2=http2, http3=http3, cacert=cacert, cert=cert, key=key, max_body=max_body,
                              connect_timeout=connect_timeout, grace=grace,
                              max_connections=s.max_connections_per_host)
    plan = FlowPlan(name=tf.name, test_file=tf, scenarios=compiled, transport=transport, hosts=tuple(hosts),
                    show_secrets=show_secrets, shard=(shard,) if shard else ())
    if shard and any(Share(plan.shard).part(S.peak_vus(c.scenario.executor)) == 0 for c in compiled):
        raise ConfigError(f"--shard {shard[0]}/{shard[1]}: a scenario has fewer VUs than shards")
    return plan
