"""The v2 scenario file: the original Go Lunge's `lunge perf -c FILE` format (YAML or JSON),
in which virtual users run flows of requests under k6-style executors. docs/scenarios.md
describes it key by key.

This module detects a v2 file (as opposed to a v1 config of environments, requests and suites),
validates it against `schemas/scenario.schema.json` (published as docs/scenario.schema.json)
and then with the checks a schema cannot express, and builds the typed model the flow engine
and the reports read: `TestFile` -> `Scenario` -> `Executor` / `RequestStep` -> `Extract` /
`Assertion`, durations in seconds. The schedule functions at the end (`vus_at`, `rate_at`,
`iterations_by`, `iteration_start`, `scenario_schedule` ...) are pure functions of that model.

Every problem is one ConfigError line `FILE: $.json.path: ...`. What the original accepts and
acts on in a way that is probably a mistake (a `{{name}}` nothing defines: it sends the literal
text) is a warning kept on the TestFile, which `lunge validate` prints.
"""
from __future__ import annotations

import functools
import json
import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from lunge import variables as V
from lunge.analysis.thresholds import ThresholdExpr, parse_threshold
from lunge.config.model import did_you_mean, parse_jsonpath
from lunge.errors import ConfigError
from lunge.settings import http3_setting
from lunge.units import parse_duration

if TYPE_CHECKING:
    from lunge.config.model import Config

EXECUTORS = ("constant-vus", "ramping-vus", "constant-arrival-rate", "ramping-arrival-rate",
             "per-vu-iterations", "shared-iterations")
ARRIVAL_RATE = ("constant-arrival-rate", "ramping-arrival-rate")
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")  # the original's list
V1_SECTIONS = ("environments", "requests", "suites", "schemas", "performance")

# Defaults where a file is silent: the original's (its code) where it has one, else k6's.
# docs/scenarios.md lists them with their source.
DEFAULT_TIMEOUT = 30.0                # settings.timeout (original)
DEFAULT_MAX_CONNS_PER_HOST = 100      # settings.maxConnectionsPerHost (original; 0: no limit)
DEFAULT_MAX_IDLE_CONNS_PER_HOST = 100  # settings.maxIdleConnsPerHost (original)
DEFAULT_GRACEFUL_STOP = 30.0          # gracefulStop (original and k6)
DEFAULT_TIME_UNIT = 1.0               # timeUnit (k6)
DEFAULT_MAX_DURATION = 600.0          # maxDuration of per-vu-iterations / shared-iterations (k6)
DEFAULT_START_VUS = 0                 # ramping-vus startVUs (original: ramps from 0; k6: 1)
DEFAULT_PRE_ALLOCATED_VUS = 1         # arrival-rate preAllocatedVUs when only maxVUs is given (original)
CONSTANT_RATE_MAX_VUS_FACTOR = 10     # constant-arrival-rate maxVUs: 10 x preAllocatedVUs (original)
RAMPING_RATE_MAX_VUS = 100            # ramping-arrival-rate maxVUs: 100, at least preAllocatedVUs (original)

# Placeholders the engine fills per VU, iteration or request (docs/scenarios.md#placeholders).
# A variable, tag or extracted value of the same name wins over them, as in the original,
# which has none of its own (it sends these literally).
BUILTINS = ("iteration", "vuId", "timestamp")
BASE_URL_NAMES = ("baseUrl", "baseURL")

# Bounds on checking a hostile file: placeholder uses looked at (through variables' values,
# for every request), and warnings kept (the rest are counted).
MAX_CHECK_WORK = 2_000_000
MAX_WARNINGS = 100

# Keys each executor takes (required, optional), in the order messages list them.
_EXECUTOR_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "constant-vus": (("vus", "duration"), ()),
    "ramping-vus": (("stages",), ("startVUs",)),
    "constant-arrival-rate": (("rate", "duration"), ("timeUnit", "preAllocatedVUs", "maxVUs")),
    "ramping-arrival-rate": (("stages",), ("startRate", "timeUnit", "preAllocatedVUs", "maxVUs")),
    "per-vu-iterations": (("vus", "iterations"), ("maxDuration",)),
    "shared-iterations": (("iterations",), ("vus", "maxDuration")),
}
_EXECUTOR_ONLY = ("vus", "duration", "stages", "startVUs", "rate", "startRate", "timeUnit", "preAllocatedVUs",
                  "maxVUs", "iterations", "maxDuration")


# ---------------------------------------------------------------- the model

@dataclass(frozen=True)
class ScenarioSettings:
    """`settings`: for every scenario. Durations in seconds."""
    base_url: str | None = None          # as written (may hold ${ENV:-default} or {{variable}})
    timeout: float | None = DEFAULT_TIMEOUT  # per request; None: no timeout (written as 0)
    max_connections_per_host: int = DEFAULT_MAX_CONNS_PER_HOST  # 0: no limit
    max_idle_conns_per_host: int = DEFAULT_MAX_IDLE_CONNS_PER_HOST
    insecure_skip_verify: bool = False
    http3: str | None = None             # "only" or "fallback" (HTTP/3 over QUIC; settings.http3)
    user_agent: str | None = None        # None: lunge's own (lunge/VERSION)
    headers: dict[str, str] = field(default_factory=dict)  # already merged into every RequestStep


@dataclass(frozen=True)
class Stage:
    duration: float                      # seconds (0: a jump to `target`)
    target: int                          # VUs (ramping-vus) or iterations per time_unit (ramping-arrival-rate)
    name: str | None = None


@dataclass(frozen=True)
class Executor:
    """How a scenario's iterations are started. Fields that do not apply to `type` are None."""
    type: str                            # one of EXECUTORS
    vus: int | None = None               # constant-vus, per-vu-iterations, shared-iterations
    duration: float | None = None        # constant-vus, constant-arrival-rate
    stages: tuple[Stage, ...] = ()       # ramping-vus, ramping-arrival-rate
    start_vus: int | None = None         # ramping-vus: VUs at t=0
    rate: float | None = None            # constant-arrival-rate: iterations per time_unit
    start_rate: float | None = None      # ramping-arrival-rate: iterations per time_unit at t=0
    time_unit: float | None = None       # arrival-rate: seconds the rate is counted over
    pre_allocated_vus: int | None = None  # arrival-rate: VUs made before the start
    max_vus: int | None = None           # arrival-rate: the pool grows up to this
    iterations: int | None = None        # per VU (per-vu-iterations) or in all (shared-iterations)
    max_duration: float | None = None    # per-vu-iterations, shared-iterations: stop by then


@dataclass(frozen=True)
class Pacing:
    """A wait after each iteration of a VU, before its next one (the original's meaning)."""
    type: str = "none"                   # none | constant | random
    duration: float = 0.0                # constant
    min: float = 0.0                     # random: uniform in [min, max]
    max: float = 0.0


@dataclass(frozen=True)
class JsonPath:
    """A JSONPath into a response body. `native`: only keys and indices (`$.a.b[0].c`, gjson's
    `$.0.id`, `$['a b']`), which the engine walks itself (`steps`; see `resolve`); otherwise
    (wildcards, filters, slices, `..`) it needs jsonpath-ng in Python."""
    text: str
    native: bool
    steps: tuple[str | int, ...] = ()    # native only: a str is a key (digits also index an array), an int an index


@dataclass(frozen=True)
class Extract:
    name: str
    source: str                          # body | header | status
    path: str | None = None              # as written: a JSONPath (body) or a header name (header)
    json_path: JsonPath | None = None    # body with a path
    regex: str | None = None             # applied to the selected text: group 1 if it has groups, else the match


@dataclass(frozen=True)
class Assertion:
    type: str                            # status | body | header | duration
    condition: str                       # eq ne gt lt gte lte contains matches
    value: str                           # as text (a template if it holds {{...}}; never for numbers or regexes)
    path: str | None = None              # a JSONPath (body) or a header name (header)
    json_path: JsonPath | None = None
    number: float | None = None          # status: the code; duration: seconds; body/header gt..lte: the number
    message: str | None = None


@dataclass(frozen=True)
class RequestStep:
    """One request of a scenario's flow, as templates for the engine to render per VU."""
    name: str                            # metrics key (default SCENARIO_request_N, as the original)
    method: str
    url: str                             # template; a relative path is already joined to settings.baseUrl
    headers: tuple[tuple[str, str], ...]  # settings.headers and userAgent, overridden by the request's own
    body: str | dict | list | None       # a str is sent as is; an object or array as JSON (Content-Type added)
    timeout: float | None                # seconds; None: none
    think_time: float                    # seconds to wait after this request's response
    extract: tuple[Extract, ...] = ()
    assertions: tuple[Assertion, ...] = ()
    refs: frozenset[str] = frozenset()   # every {{name}} used, through variables' own values
    literal: frozenset[str] = frozenset()  # names nothing defines: sent as the text {{name}}, as the original
    static: bool = True                  # nothing per VU, iteration or request: render once per run


@dataclass(frozen=True)
class Scenario:
    name: str
    executor: Executor
    requests: tuple[RequestStep, ...]
    start_time: float = 0.0              # seconds after the test starts (after the previous ends, if sequential)
    graceful_stop: float = DEFAULT_GRACEFUL_STOP
    pacing: Pacing = Pacing()
    tags: dict[str, str] = field(default_factory=dict)  # also variables ({{tag}}), as in the original




@dataclass(frozen=True)
class Threshold:
    metric: str                          # the file's key: http_req_duration, http_req_failed, http_reqs, or custom's key
    text: str                            # the expression as written
    expr: ThresholdExpr  # in lunge's threshold grammar (threshold_expression)
    scenario: str | None = None          # custom thresholds: this scenario's requests only


@dataclass(frozen=True)
class Thresholds:
    rules: tuple[Threshold, ...] = ()

    def run_wide(self) -> tuple[Threshold, ...]:
        return tuple(t for t in self.rules if t.scenario is None)

    def for_scenario(self, name: str) -> tuple[Threshold, ...]:
        return tuple(t for t in self.rules if t.scenario == name)


@dataclass(frozen=True)
class Options:
    sequential: bool = False             # each scenario starts when the previous one ends (file order)
    iterations_timeout: float | None = None  # seconds one iteration may take
    no_vu_connection_reuse: bool = False  # a VU opens new connections for each iteration


@dataclass(frozen=True)
class TestFile:
    __test__ = False  # a pytest test-class name, not a test

    path: str
    name: str
    description: str | None
    settings: ScenarioSettings
    variables: dict[str, Any]            # as written (values may hold ${ENV:-default} and {{...}})
    scenarios: tuple[Scenario, ...]      # in file order
    thresholds: Thresholds = Thresholds()
    options: Options = Options()
    warnings: tuple[str, ...] = ()       # one line each, "FILE: $.path: ..."

    def scenario(self, name: str) -> Scenario:
        for s in self.scenarios:
            if s.name == name:
                return s
        names = [s.name for s in self.scenarios]
        raise ConfigError(f"{self.path}: unknown scenario {name!r}{did_you_mean(name, names)}; "
                          f"defined: {', '.join(names)}")


# ---------------------------------------------------------------- detection and loading

def is_scenario_document(data: Any) -> bool:
    """A v2 file: top-level `scenarios`, or `settings` / `name` without any v1 section."""
    if not isinstance(data, dict):
        return False
    if "scenarios" in data:
        return True
    return ("settings" in data or "name" in data) and not any(k in data for k in V1_SECTIONS)


@functools.lru_cache(maxsize=1)
def scenario_schema() -> dict:
    """The JSON Schema of v2 scenario files (the one published in docs/)."""
    from importlib import resources

    text = resources.files("lunge").joinpath("schemas/scenario.schema.json").read_text("utf-8")
    return json.loads(text)


def load_any(path: str | os.PathLike) -> Config | TestFile:
    """A v1 config (validated Config) or a v2 scenario file (TestFile), read once."""
    from lunge.config.load import read_document, validate
    from lunge.config.model import Config

    path = os.fspath(path)
    data = read_document(path)
    if is_scenario_document(data):
        return build(path, data)
    cfg = Config(path=path, data=data)
    validate(cfg)
    return cfg


def load_scenario_file(path: str | os.PathLike) -> TestFile:
    """Read and validate a v2 scenario file; a v1 config is a ConfigError."""
    doc = load_any(path)
    if not isinstance(doc, TestFile):
        raise ConfigError(f"{os.fspath(path)}: not a v2 scenario file (it has no 'scenarios')")
    return doc


def build(path: str, data: dict) -> TestFile:
    """The TestFile of parsed `data`, or a one-line ConfigError naming `path` and the JSON path."""
    try:
        _check_schema(data)
        return _Builder(path, data).test_file()
    except ConfigError as e:
        raise ConfigError(f"{path}: {e.message}") from None


def _check_schema(data: dict) -> None:
    import jsonschema
    from jsonschema.exceptions import relevance

    from lunge.config.load import _schema_message  # the same wording as v1 configs' errors

    errors = list(jsonschema.Draft202012Validator(scenario_schema()).iter_errors(data))
    if errors:
        err = max(errors, key=relevance)
        if err.validator == "minItems" and isinstance(err.schema, dict) and "description" in err.schema:
            raise ConfigError(f"{err.json_path}: expected {err.schema['description']}, got an empty array")
        raise ConfigError(_schema_message(err))


# ---------------------------------------------------------------- building the model

def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _text(value: Any) -> str:
    return V.to_text(value)  # numbers and booleans as JSON spells them ("200", "true")


def _dur(doc: dict, key: str, where: str, default: float | None = None) -> float | None:
    return parse_duration(doc[key], f"{where}.{key}") if key in doc else default


def _int(doc: dict, key: str, default: int | None = None) -> int | None:
    """An integer setting (the schema lets 5.0 through as an integer)."""
    return int(doc[key]) if doc.get(key) is not None else default


def _positive(doc: dict, key: str, where: str) -> float:
    value = parse_duration(doc[key], f"{where}.{key}")
    if value <= 0:
        raise ConfigError(f"{where}.{key}: {doc[key]!r} must be more than 0")
    return value


def _regex(text: str, where: str) -> None:
    try:
        re.compile(text)
    except re.error as e:
        raise ConfigError(f"{where}: {text!r} is not a valid regular expression ({e})") from None


def _header_name(name: str, where: str) -> None:
    from lunge import wire

    wire.check_header(name, "", where)


def _placeholders(text: str, where: str) -> Iterator[tuple[str, str]]:
    """(kind, name) of each placeholder in `text`: ("var", name), ("builtin", "$uuid"), ("env", NAME)."""
    for m in V._PLACEHOLDER.finditer(text):  # the renderer's own pattern: what it fills, this checks
        if m.group(2) is not None:
            yield "env", m.group(2)
            continue
        expr = m.group(1)
        if not expr:
            raise ConfigError(f"{where}: empty placeholder {{{{}}}}")
        if expr.startswith("$"):
            try:
                V._builtin(expr, where)  # its grammar; an unknown built-in is a ConfigError
            except V.UndefinedVariable:
                pass  # {{$env.NAME}}: the environment is read when the run starts
            yield "builtin", expr
        else:
            yield "var", expr


def _has_placeholder(text: str) -> bool:
    return V._PLACEHOLDER.search(text) is not None


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """(text, where) of every string in a body, keys included."""
    if isinstance(value, str):
        yield value, where
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k), where
            yield from _strings(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{where}[{i}]")


_DYNAMIC_BUILTINS = ("$uuid", "$timestamp", "$isoTimestamp", "$randomInt")


class _Refs:
    """What the templates of one request use, and what in them nothing defines."""

    def __init__(self) -> None:
        self.expanded: set[str] = set()  # variables whose value has been looked into
        self.refs: set[str] = set()
        self.literal: set[str] = set()
        self.dynamic = False


class _Builder:
    def __init__(self, path: str, data: dict):
        self.path = path
        self.data = data
        self.warnings: dict[str, None] = {}  # ordered and without repeats (settings.headers are checked per request)
        self.work = 0
        self.more_warnings = 0
        s = data.get("settings") or {}
        self.base_url: str | None = s.get("baseUrl")
        self.variables: dict[str, Any] = dict(data.get("variables") or {})

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings[f"{self.path}: {message}"] = None
        else:
            self.more_warnings += 1

    # -- the file
    def test_file(self) -> TestFile:
        settings = self.settings()
        self._check_cycles(self.variables, "$.variables")
        scenarios = tuple(self.scenario(name, doc, settings) for name, doc in self.data["scenarios"].items())
        thresholds = self.thresholds([s.name for s in scenarios])
        o = self.data.get("options") or {}
        ow = "$.options"
        for key in ("setupTimeout", "teardownTimeout"):  # accepted, as the original does; no setup phase to time
            _dur(o, key, ow)
        options = Options(sequential=o.get("sequential", False), iterations_timeout=_dur(o, "iterationsTimeout", ow),
                          no_vu_connection_reuse=o.get("noVUConnectionReuse", False))
        name = self.data.get("name") or os.path.splitext(os.path.basename(self.path))[0]
        return TestFile(path=self.path, name=name, description=self.data.get("description"), settings=settings,
                        variables=self.variables, scenarios=scenarios, thresholds=thresholds, options=options,
                        warnings=tuple(self.warnings) + ((f"{self.path}: {self.more_warnings} more warnings",)
                                                         if self.more_warnings else ()))

    def settings(self) -> ScenarioSettings:
        s = self.data.get("settings") or {}
        w = "$.settings"
        timeout = _dur(s, "timeout", w, DEFAULT_TIMEOUT)
        for kind, name in _placeholders(self.base_url or "", f"{w}.baseUrl"):
            if kind == "var" and name not in self.variables:
                raise ConfigError(f"{w}.baseUrl: {{{{{name}}}}}: baseUrl may use variables, and {name!r} is not "
                                  f"one{did_you_mean(name, self.variables)}")
        headers = {}
        for k, v in (s.get("headers") or {}).items():
            _header_name(k, f"{w}.headers")
            headers[k] = _text(v)
        return ScenarioSettings(
            base_url=self.base_url, timeout=timeout or None,
            max_connections_per_host=_int(s, "maxConnectionsPerHost", DEFAULT_MAX_CONNS_PER_HOST) or 0,
            max_idle_conns_per_host=_int(s, "maxIdleConnsPerHost", DEFAULT_MAX_IDLE_CONNS_PER_HOST) or 0,
            insecure_skip_verify=s.get("insecureSkipVerify", False), user_agent=s.get("userAgent"), headers=headers,
            http3=http3_setting(s.get("http3"), f"{self.path}: {w}.http3"))

    def _check_cycles(self, values: dict[str, Any], where: str, roots: Iterable[str] | None = None) -> None:
        """A variable whose value uses itself, directly or through others, can never be rendered.
        A depth-first walk without recursion: each variable is visited once."""
        def uses(name: str) -> Iterator[str]:
            value = values.get(name)
            for kind, ref in _placeholders(value, f"{where}.{name}") if isinstance(value, str) else ():
                self._spend()
                if kind == "var" and ref in values:
                    yield ref

        state: dict[str, bool] = {}  # name -> still on the current path
        for root in values if roots is None else roots:
            if root in state:
                continue
            path, stack = [root], [uses(root)]
            state[root] = True
            while stack:
                ref = next(stack[-1], None)
                if ref is None:
                    state[path.pop()] = False
                    stack.pop()
                elif state.get(ref):
                    loop = path[path.index(ref):] + [ref]
                    raise ConfigError(f"{where}.{loop[0]}: variable {loop[0]!r} refers to itself ({' -> '.join(loop)})")
                elif ref not in state:
                    state[ref] = True
                    path.append(ref)
                    stack.append(uses(ref))

    def _spend(self) -> None:
        """Bound the checking of hostile files: a placeholder costs one unit."""
        self.work += 1
        if self.work > MAX_CHECK_WORK:
            raise ConfigError(f"$: more than {MAX_CHECK_WORK} placeholder uses to check (through variables' values)")

    # -- scenarios
    def scenario(self, name: str, doc: dict, settings: ScenarioSettings) -> Scenario:
        where = f"$.scenarios.{name}"
        executor = self.executor(doc, where)
        tags = {k: _text(v) for k, v in (doc.get("tags") or {}).items()}
        self._check_cycles({**self.variables, **tags}, where + ".tags", roots=tags)  # variables' own: done
        pacing = self.pacing(doc.get("pacing"), f"{where}.pacing")
        if pacing.type != "none" and executor.type in ARRIVAL_RATE:
            self.warn(f"{where}.pacing: no effect on {_a(executor.type)} scenario: its rate starts the iterations "
                      "(the original ignores it too)")
        steps: list[RequestStep] = []
        for i, rdoc in enumerate(doc["requests"]):
            steps.append(self.request(name, i, rdoc, f"{where}.requests[{i}]", doc, tags, settings))
        limit = settings.max_connections_per_host
        if limit and peak_vus(executor) > limit:
            self.warn(f"{where}: up to {peak_vus(executor)} VUs but settings.maxConnectionsPerHost is {limit}: "
                      f"VUs beyond it wait for a connection (0: no limit)")
        return Scenario(name=name, executor=executor, requests=tuple(steps),
                        start_time=_dur(doc, "startTime", where, 0.0) or 0.0,
                        graceful_stop=_dur(doc, "gracefulStop", where, DEFAULT_GRACEFUL_STOP) or 0.0,
                        pacing=pacing, tags=tags)

    def executor(self, doc: dict, where: str) -> Executor:
        kind = doc["executor"]
        required, optional = _EXECUTOR_KEYS[kind]
        takes = required + optional
        for key in doc:
            if key in _EXECUTOR_ONLY and key not in takes:
                raise ConfigError(f"{where}.{key}: {key!r} does not apply to {_a(kind)} scenario "
                                  f"({kind} takes {', '.join(takes)})")
        for key in required:
            if key not in doc:
                raise ConfigError(f"{where}: {_a(kind)} scenario needs {key!r}")
        stages = tuple(Stage(parse_duration(st["duration"], f"{where}.stages[{i}].duration"), int(st["target"]),
                             st.get("name")) for i, st in enumerate(doc.get("stages", ())))
        if stages and sum(st.duration for st in stages) <= 0:
            raise ConfigError(f"{where}.stages: the stages last 0s in all: give one a duration")
        if kind == "constant-vus":
            return Executor(kind, vus=_int(doc, "vus"), duration=_positive(doc, "duration", where))
        if kind == "ramping-vus":
            return Executor(kind, stages=stages, start_vus=_int(doc, "startVUs", DEFAULT_START_VUS))
        if kind in ARRIVAL_RATE:
            return self._arrival_rate(kind, doc, where, stages)
        iterations, vus = _int(doc, "iterations") or 0, _int(doc, "vus", 1) or 0
        if kind == "shared-iterations" and iterations < vus:
            raise ConfigError(f"{where}.iterations: {iterations} iterations cannot be shared by {vus} VUs "
                              "(at least one each, as k6 requires)")
        return Executor(kind, vus=vus, iterations=iterations,
                        max_duration=_positive(doc, "maxDuration", where) if "maxDuration" in doc
                        else DEFAULT_MAX_DURATION)

    def _arrival_rate(self, kind: str, doc: dict, where: str, stages: tuple[Stage, ...]) -> Executor:
        time_unit = _positive(doc, "timeUnit", where) if "timeUnit" in doc else DEFAULT_TIME_UNIT
        for key in ("rate", "startRate"):
            if key in doc and not math.isfinite(doc[key]):
                raise ConfigError(f"{where}.{key}: {doc[key]!r} is not a number of iterations")
        pre, most = _int(doc, "preAllocatedVUs"), _int(doc, "maxVUs")
        if pre is None and most is None:
            raise ConfigError(f"{where}: {_a(kind)} scenario needs 'preAllocatedVUs' or 'maxVUs' "
                              "(the pool of VUs that run its iterations)")
        if pre is None:
            pre = DEFAULT_PRE_ALLOCATED_VUS
        if most is None:
            most = pre * CONSTANT_RATE_MAX_VUS_FACTOR if kind == "constant-arrival-rate" else max(RAMPING_RATE_MAX_VUS, pre)
            if most == 0:
                raise ConfigError(f"{where}: preAllocatedVUs is 0 and maxVUs is not set: no VU could run an iteration")
        if pre > most:
            raise ConfigError(f"{where}.preAllocatedVUs: {pre} is more than maxVUs ({most})")
        if kind == "constant-arrival-rate":
            return Executor(kind, rate=doc["rate"], duration=_positive(doc, "duration", where), time_unit=time_unit,
                            pre_allocated_vus=pre, max_vus=most)
        # The original starts at the first stage's target (no ramp from 0); k6's startRate says otherwise.
        return Executor(kind, stages=stages, start_rate=doc.get("startRate", stages[0].target), time_unit=time_unit,
                        pre_allocated_vus=pre, max_vus=most)

    def pacing(self, doc: dict | None, where: str) -> Pacing:
        if not doc:
            return Pacing()
        kind = doc["type"]
        takes = {"none": (), "constant": ("duration",), "random": ("min", "max")}[kind]
        for key in ("duration", "min", "max"):
            if key in doc and key not in takes:
                raise ConfigError(f"{where}.{key}: {key!r} does not go with {kind} pacing"
                                  + (f" (it takes {', '.join(takes)})" if takes else ""))
        for key in takes:
            if key not in doc:
                raise ConfigError(f"{where}: {kind} pacing needs {key!r}")
        if kind == "constant":
            return Pacing(kind, duration=parse_duration(doc["duration"], f"{where}.duration"))
        if kind == "random":
            lo, hi = parse_duration(doc["min"], f"{where}.min"), parse_duration(doc["max"], f"{where}.max")
            if lo > hi:
                raise ConfigError(f"{where}: min ({doc['min']}) is more than max ({doc['max']})")
            return Pacing(kind, min=lo, max=hi)
        return Pacing()

    # -- requests
    def request(self, sname: str, i: int, doc: dict, where: str, sdoc: dict, tags: dict[str, str],
                settings: ScenarioSettings) -> RequestStep:
        method = doc.get("method", "GET")
        if method.upper() not in METHODS:
            raise ConfigError(f"{where}.method: {method!r} is not one of {', '.join(METHODS)}")
        url = self._url(doc["url"], f"{where}.url")
        headers: dict[str, tuple[str, str, str]] = {}  # lower-case name -> (name, value, where)
        for k, v in settings.headers.items():
            headers[k.lower()] = (k, v, f"$.settings.headers.{k}")
        if settings.user_agent is not None and "user-agent" not in headers:
            headers["user-agent"] = ("User-Agent", settings.user_agent, "$.settings.userAgent")
        for k, v in (doc.get("headers") or {}).items():
            if not _has_placeholder(k):
                _header_name(k, f"{where}.headers")
            headers[k.lower()] = (k, _text(v), f"{where}.headers.{k}")
        body = doc.get("body")
        if isinstance(body, (dict, list)) and "content-type" not in headers:
            headers["content-type"] = ("Content-Type", "application/json", f"{where}.body")
        from lunge import wire

        for name, value, hw in headers.values():
            wire.check_header(name if not _has_placeholder(name) else "X", value, hw)  # CR, LF, NUL
        extracts = tuple(self.extract(e, f"{where}.extract[{j}]") for j, e in enumerate(doc.get("extract") or ()))
        assertions = tuple(self.assertion(a, f"{where}.assertions[{j}]")
                           for j, a in enumerate(doc.get("assertions") or ()))

        # What a {{name}} may be here: variables, tags, settings.baseUrl, built-ins, and what the
        # earlier requests of this flow extract.
        earlier = {e["name"] for r in sdoc["requests"][:i] for e in (r.get("extract") or ())}
        later: dict[str, str] = {}  # name -> "this request" / the later request that extracts it first
        for n, r in enumerate(sdoc["requests"][i:], start=i):
            for e in r.get("extract") or ():
                later.setdefault(e["name"], "this request" if n == i
                                 else f"a later request ({r.get('name') or f'{sname}_request_{n + 1}'!r})")
        values: dict[str, Any] = {**self.variables, **tags}
        if self.base_url is not None:
            values.update(dict.fromkeys(BASE_URL_NAMES, self.base_url))
        refs = _Refs()
        texts = [(url, f"{where}.url")]
        for name, value, hw in headers.values():
            texts += [(name, hw), (value, hw)]
        texts += list(_strings(body, f"{where}.body"))
        texts += [(a.value, f"{where}.assertions[{j}].value") for j, a in enumerate(assertions)]
        for text, tw in texts:
            self._resolve(text, tw, values, earlier, later, refs)
        timeout = _dur(doc, "timeout", where, settings.timeout)
        return RequestStep(name=doc.get("name") or f"{sname}_request_{i + 1}", method=method.upper(), url=url,
                           headers=tuple((n, v) for n, v, _ in headers.values()), body=body,
                           timeout=timeout or None, think_time=_dur(doc, "thinkTime", where, 0.0) or 0.0,
                           extract=extracts, assertions=assertions, refs=frozenset(refs.refs),
                           literal=frozenset(refs.literal), static=not refs.dynamic)

    def _url(self, url: str, where: str) -> str:
        from lunge import wire

        wire.check_url(url, where)
        if any(c.isspace() for c in V._PLACEHOLDER.sub("x", url)):
            raise ConfigError(f"{where}: {url!r} contains whitespace")
        if V._PLACEHOLDER.match(url):  # {{baseUrl}}/path, ${HOST}/path: checked when rendered
            return url
        scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", url)
        if scheme:
            if scheme.group(1).lower() not in ("http", "https"):
                raise ConfigError(f"{where}: {url!r} is not an http:// or https:// URL")
            return url
        if self.base_url is None:
            raise ConfigError(f"{where}: {url!r} is not absolute and settings.baseUrl is not set "
                              "(write {{baseUrl}}/path, or a full URL)")
        return self.base_url.rstrip("/") + "/" + url.lstrip("/")

    def _resolve(self, text: str, where: str, values: dict[str, Any], earlier: set[str], later: dict[str, str],
                 refs: _Refs) -> None:
        """Classify the placeholders of `text` (at `where`), and of the variables' values they
        use, each variable once per request: the work stays linear whatever the file nests."""
        stack: list[tuple[str, str | None]] = [(text, None)]  # (text, the variable it is the value of)
        while stack:
            text, via = stack.pop()
            for kind, name in _placeholders(text, where):
                self._spend()
                if kind == "builtin":
                    refs.dynamic |= name.split()[0] in _DYNAMIC_BUILTINS
                    continue
                if kind == "env":
                    continue
                refs.refs.add(name)
                if name in earlier:
                    refs.dynamic = True
                elif name in later and name not in values:
                    # Extracted values stay with the VU (as in the original): set from its second iteration on.
                    refs.dynamic = True
                    refs.literal.add(name)
                    self.warn(f"{where}: variable {name!r} is extracted only by {later[name]}, so a VU's first "
                              f"iteration sends the literal text {{{{{name}}}}} (as the original Lunge does)")
                elif name in values:
                    if isinstance(values[name], str) and name not in refs.expanded:
                        refs.expanded.add(name)
                        stack.append((values[name], name))
                elif name in BUILTINS:
                    refs.dynamic = True
                else:
                    refs.literal.add(name)
                    in_value = f" (in the value of {via!r})" if via else ""
                    why = did_you_mean(name, [*values, *earlier, *BUILTINS])
                    self.warn(f"{where}: undefined variable {name!r}{in_value}{why}: sent as the literal text "
                              f"{{{{{name}}}}}, as the original Lunge does")

    def extract(self, doc: dict, where: str) -> Extract:
        source, path, regex = doc["source"], doc.get("path"), doc.get("regex")
        json_path = None
        if source == "body" and path is not None:
            json_path = parse_json_path(path, f"{where}.path")
        elif source == "header":
            if path is None:
                raise ConfigError(f"{where}: source header needs 'path' (the header name)")
            _header_name(path, f"{where}.path")
        elif source == "status" and path is not None:
            raise ConfigError(f"{where}.path: source status takes no path")
        if regex is not None:
            _regex(regex, f"{where}.regex")
        return Extract(name=doc["name"], source=source, path=path, json_path=json_path, regex=regex)

    def assertion(self, doc: dict, where: str) -> Assertion:
        kind, cond, path = doc["type"], doc["condition"], doc.get("path")
        value = _text(doc["value"])
        json_path = None
        if kind in ("status", "duration") and path is not None:
            raise ConfigError(f"{where}.path: {_a(kind)} assertion takes no path")
        if kind == "header":
            if path is None:
                raise ConfigError(f"{where}: a header assertion needs 'path' (the header name)")
            _header_name(path, f"{where}.path")
        if kind == "body" and path is not None:
            json_path = parse_json_path(path, f"{where}.path")
        templated = _has_placeholder(value)
        number: float | None = None
        if cond == "matches":
            if templated:
                raise ConfigError(f"{where}.value: matches takes a literal regular expression, not a template")
            _regex(value, f"{where}.value")
        elif kind == "duration":
            if cond == "contains":
                raise ConfigError(f"{where}.condition: a duration assertion compares times: use eq, ne, gt, lt, "
                                  "gte or lte")
            number = parse_duration(value, f"{where}.value")
        elif kind == "status" and cond != "contains":
            if not re.fullmatch(r"\d{3}", value.strip()):
                raise ConfigError(f"{where}.value: {value!r} is not a status code such as 200 "
                                  "(for a class of codes use condition matches, e.g. ^2)")
            number = float(value)
        elif cond in ("gt", "lt", "gte", "lte"):
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                raise ConfigError(f"{where}.value: {value!r}: {cond} compares numbers, and this is not one")
        return Assertion(type=kind, condition=cond, value=value, path=path, json_path=json_path, number=number,
                         message=doc.get("message"))

    # -- thresholds
    def thresholds(self, scenario_names: list[str]) -> Thresholds:
        doc = self.data.get("thresholds") or {}
        rules: list[Threshold] = []
        for key in ("http_req_duration", "http_req_failed", "http_reqs"):
            for j, text in enumerate(doc.get(key) or ()):
                rules.append(Threshold(key, text, threshold_expression(key, text, f"$.thresholds.{key}[{j}]")))
        kinds = {"duration": "http_req_duration", "failed": "http_req_failed"}
        keys = {f"{s}_{k}": (s, metric) for s in scenario_names for k, metric in kinds.items()}
        for ckey, texts in (doc.get("custom") or {}).items():
            cw = f"$.thresholds.custom.{ckey}"
            if ckey not in keys:
                hint = did_you_mean(ckey, keys) or " (one of: " + ", ".join(keys) + ")"
                raise ConfigError(f"{cw}: not SCENARIO_duration or SCENARIO_failed for a scenario of this file{hint}")
            sname, metric = keys[ckey]
            for j, text in enumerate(texts):
                expr = threshold_expression(metric, text, f"{cw}[{j}]", label=ckey)
                rules.append(Threshold(ckey, text, expr, scenario=sname))
        return Thresholds(tuple(rules))


# ---------------------------------------------------------------- JSON paths

_STEP = re.compile(r"""\.(?P<key>[A-Za-z_][A-Za-z0-9_-]*|\d+)|\[(?P<index>\d+)\]
                       |\[\s*(?:'(?P<sq>[^'\\]*)'|"(?P<dq>[^"\\]*)")\s*\]""", re.X)


def parse_json_path(text: str, where: str) -> JsonPath:
    """A JSONPath, native when it is only keys and indices (the engine walks those itself),
    otherwise checked with jsonpath-ng (wildcards, filters, slices, recursive descent)."""
    if not text.startswith("$"):
        hint = f" (did you mean '$.{text}'?)" if re.fullmatch(r"[\w-]+(\.[\w-]+|\[\d+\])*", text) else ""
        raise ConfigError(f"{where}: {text!r} is not a JSONPath: it starts with $, e.g. $.data[0].id{hint}")
    steps: list[str | int] = []
    pos = 1
    while pos < len(text):
        m = _STEP.match(text, pos)
        if not m:
            parse_jsonpath(text, where)
            return JsonPath(text, native=False)
        if m["index"] is not None:
            steps.append(int(m["index"]))
        else:
            steps.append(next(g for g in (m["key"], m["sq"], m["dq"]) if g is not None))
        pos = m.end()
    return JsonPath(text, native=True, steps=tuple(steps))


def resolve(path: JsonPath, doc: Any) -> tuple[bool, Any]:
    """(found, value) of a native path in a parsed JSON body. A key made of digits indexes an
    array (gjson's `$.0.id`, as the original reads it); on an object it is a key."""
    if not path.native:
        raise ValueError(f"{path.text!r} is not a native path: evaluate it with jsonpath-ng")
    node = doc
    for step in path.steps:
        if isinstance(node, list) and (isinstance(step, int) or step.isdigit()):
            i = int(step)
            if i >= len(node):
                return False, None
            node = node[i]
        elif isinstance(node, dict) and str(step) in node:
            node = node[str(step)]
        else:
            return False, None
    return True, node


# ---------------------------------------------------------------- thresholds

_EXAMPLES = {"http_req_duration": "p95 < 500ms, avg < 200ms", "http_req_failed": "rate < 0.01",
             "http_reqs": "rate > 100, count > 10000"}


def threshold_expression(metric: str, text: str, where: str, label: str | None = None) -> ThresholdExpr:
    """One of the original's threshold expressions, under its metric key (http_req_duration,
    http_req_failed or http_reqs), read by lunge's threshold grammar (analysis.thresholds,
    which knows the original's spellings: `rate` under http_req_failed is errorRate, under
    http_reqs rps; `count`; `med` the median). The ThresholdExpr's text, which reports show, is
    "LABEL: TEXT" (LABEL defaults to the metric key)."""
    shown = f"{label or metric}: {text.strip()}"
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: {text!r} is not a threshold expression (e.g. {_EXAMPLES[metric]})")
    expr = parse_threshold(f"{metric}: {text.strip()}", where)
    return replace(expr, text=shown)


# ---------------------------------------------------------------- schedules (pure functions)

def _ramp(start: float, stages: tuple[Stage, ...], t: float) -> float:
    """The stage-interpolated value at t: linear from `start` to each stage's target in turn."""
    value, begin = start, 0.0
    for st in stages:
        if t < begin + st.duration:
            return value + (st.target - value) * max(0.0, (t - begin) / st.duration)
        value, begin = st.target, begin + st.duration
    return value


def active_duration(ex: Executor) -> float:
    """Seconds during which the executor starts iterations: its duration or stages; for the
    iteration executors maxDuration, the latest they may run (they end when their iterations do)."""
    if ex.stages:
        return sum(st.duration for st in ex.stages)
    if ex.duration is not None:
        return ex.duration
    return ex.max_duration if ex.max_duration is not None else DEFAULT_MAX_DURATION


def vus_at(ex: Executor, t: float) -> int:
    """VUs running t seconds into a VU-based scenario (0 outside [0, active_duration)).
    ramping-vus: linear between stage targets from start_vus, rounded to the nearest (as the
    original). Arrival-rate executors size their pool from the rate: see peak_vus."""
    if ex.type in ARRIVAL_RATE:
        raise ValueError(f"{ex.type} starts iterations at a rate; its VUs follow from it (max_vus)")
    if not 0 <= t < active_duration(ex):
        return 0
    if ex.type == "ramping-vus":
        return int(_ramp(ex.start_vus or 0, ex.stages, t) + 0.5)
    return ex.vus or 0


def peak_vus(ex: Executor) -> int:
    """The most VUs the scenario may run at once."""
    if ex.type in ARRIVAL_RATE:
        return ex.max_vus or 0
    if ex.type == "ramping-vus":
        return max([ex.start_vus or 0, *(st.target for st in ex.stages)])
    return ex.vus or 0


def _segments(ex: Executor) -> list[tuple[float, float, float]]:
    """(rate at start, rate at end, seconds) per piece of an arrival-rate schedule, in iterations/s."""
    unit = ex.time_unit or DEFAULT_TIME_UNIT
    if ex.type == "constant-arrival-rate":
        r = (ex.rate or 0.0) / unit
        return [(r, r, ex.duration or 0.0)]
    if ex.type == "ramping-arrival-rate":
        out, value = [], float(ex.start_rate or 0.0)
        for st in ex.stages:
            out.append((value / unit, st.target / unit, st.duration))
            value = st.target
        return out
    raise ValueError(f"{ex.type} is not an arrival-rate executor")


def rate_at(ex: Executor, t: float) -> float:
    """Iterations per second an arrival-rate scenario starts at t seconds (0 outside its duration).
    ramping-arrival-rate: linear between stage targets from start_rate."""
    if not 0 <= t < active_duration(ex):
        return 0.0
    begin = 0.0
    for r0, r1, d in _segments(ex):
        if t < begin + d:
            return r0 + (r1 - r0) * (t - begin) / d
        begin += d
    return 0.0  # not reached: t < active_duration


def iterations_by(ex: Executor, t: float) -> float:
    """Iterations an arrival-rate scenario has started by t seconds: the integral of rate_at."""
    total, begin = 0.0, 0.0
    for r0, r1, d in _segments(ex):
        if t <= begin:
            break
        tau = min(t, begin + d) - begin
        total += r0 * tau + (r1 - r0) * tau * tau / (2 * d) if d else 0.0
        begin += d
    return total


def iteration_start(ex: Executor, k: int) -> float | None:
    """When iteration k (0-based) of an arrival-rate scenario starts: the first t with
    iterations_by(t) >= k (so iteration 0 at t=0, as k6); None if it falls at or after the end.
    The engine's pacer: it starts iteration k at start + iteration_start(k), never from accumulated sleeps."""
    if k < 0:
        raise ValueError("iterations count from 0")
    acc, begin = 0.0, 0.0
    end = active_duration(ex)
    for r0, r1, d in _segments(ex):
        area = (r0 + r1) / 2 * d
        if area > 0 and acc + area >= k:
            rem = k - acc
            a = (r1 - r0) / (2 * d)
            # r0*tau + a*tau^2 = rem, in the form that stays exact when a is 0 or negative
            tau = 0.0 if rem <= 0 else 2 * rem / (r0 + math.sqrt(max(0.0, r0 * r0 + 4 * a * rem)))
            t = begin + min(tau, d)
            return t if t < end else None
        acc += area
        begin += d
    return None


def total_iterations(ex: Executor) -> int | None:
    """Iterations the scenario starts in all, when that is fixed (None for VU-based executors)."""
    if ex.type in ARRIVAL_RATE:
        return math.ceil(iterations_by(ex, active_duration(ex)) - 1e-9)
    if ex.type == "per-vu-iterations":
        return (ex.vus or 0) * (ex.iterations or 0)
    if ex.type == "shared-iterations":
        return ex.iterations
    return None


@dataclass(frozen=True)
class Window:
    """When a scenario runs, in seconds from the start of the test."""
    scenario: str
    start: float                         # its startTime (after the previous scenario's end, if sequential)
    stop: float                          # no new iterations from here (iteration executors: at the latest)
    end: float                           # stop + gracefulStop: iterations still running are interrupted


def scenario_schedule(tf: TestFile) -> tuple[Window, ...]:
    """Each scenario's window. In parallel (the default) every scenario starts at its startTime;
    with options.sequential each starts when the previous one ends (file order), plus its own
    startTime. An end is the latest the scenario may end: the engine moves on as soon as its
    iterations are done, so sequential starts are upper bounds too."""
    out, after = [], 0.0
    for s in tf.scenarios:
        start = (after if tf.options.sequential else 0.0) + s.start_time
        stop = start + active_duration(s.executor)
        w = Window(s.name, start, stop, stop + s.graceful_stop)
        out.append(w)
        after = w.end
    return tuple(out)


def total_duration(tf: TestFile) -> float:
    """The longest the test may take, graceful stops included."""
    return max(w.end for w in scenario_schedule(tf))


# ---------------------------------------------------------------- lunge validate

def format_seconds(s: float) -> str:
    """30s, 1m30s, 2h, 250ms: as durations are written."""
    if 0 < s < 1:
        return f"{s * 1000:g}ms"
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    parts = [f"{int(h)}h" if h else "", f"{int(m)}m" if m else "", f"{sec:g}s" if sec or not (h or m) else ""]
    return "".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _load_line(ex: Executor) -> str:
    if ex.type == "constant-vus":
        return f"{_plural(ex.vus or 0, 'VU')} for {format_seconds(ex.duration or 0)}"
    span = f"{_plural(len(ex.stages), 'stage')}, {format_seconds(active_duration(ex))}"
    if ex.type == "ramping-vus":
        return f"up to {_plural(peak_vus(ex), 'VU')} over {span}"
    pool = f"{ex.pre_allocated_vus}-{ex.max_vus} VUs"
    if ex.type == "constant-arrival-rate":
        return (f"{(ex.rate or 0) / (ex.time_unit or 1):g} iterations/s for {format_seconds(ex.duration or 0)}, "
                f"{pool}")
    if ex.type == "ramping-arrival-rate":
        rates = [r for seg in _segments(ex) for r in seg[:2]]
        return f"{min(rates):g}-{max(rates):g} iterations/s over {span}, {pool}"
    if ex.type == "per-vu-iterations":
        return (f"{_plural(ex.vus or 0, 'VU')} x {_plural(ex.iterations or 0, 'iteration')} "
                f"(within {format_seconds(ex.max_duration or 0)})")
    return (f"{_plural(ex.iterations or 0, 'iteration')} shared by {_plural(ex.vus or 0, 'VU')} "
            f"(within {format_seconds(ex.max_duration or 0)})")


def describe(tf: TestFile) -> list[str]:
    """What `lunge validate` prints for a valid v2 file: a summary line, then one per scenario."""
    windows = {w.scenario: w for w in scenario_schedule(tf)}
    order = "" if len(tf.scenarios) == 1 else " in sequence" if tf.options.sequential else " in parallel"
    lines = [f"{tf.path}: valid v2 scenario file {tf.name!r}: {_plural(len(tf.scenarios), 'scenario')}{order}, "
             f"{_plural(len(tf.thresholds.rules), 'threshold')}, at most {format_seconds(total_duration(tf))} "
             f"with graceful stops"]
    width = max(len(s.name) for s in tf.scenarios)
    for s in tf.scenarios:
        w = windows[s.name]
        start = f", from {format_seconds(w.start)}" if w.start else ""
        lines.append(f"  {s.name:<{width}}  {s.executor.type}: {_load_line(s.executor)}{start}; "
                     f"{_plural(len(s.requests), 'request')}")
    return lines
