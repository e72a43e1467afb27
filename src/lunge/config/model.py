"""The config file's model: its sections, typed performance tests, and lookups by name
(an unknown name lists the ones that exist). Reading and validating a file is load.py's job,
turning a request into bytes render.py's.
"""
from __future__ import annotations

import difflib
import functools
import os
from dataclasses import dataclass, field

from lunge.analysis.thresholds import Thresholds, parse_metric_lists, parse_threshold
from lunge.errors import ConfigError
from lunge.settings import BACKOFF_MAX_FACTOR
from lunge.units import parse_duration, parse_size

# `path` is Go Lunge's spelling of `jsonPath` (its equals compares text: 1 equals "1"). `schema`
# comes last: beside a jsonPath/path it is that assertion's check (the value there must match).
SUBJECTS = ("status", "responseTime", "header", "jsonPath", "path", "schema")
_VALUE_CHECKS = ("exists", "equals", "contains", "matches", "isArray", "minLength", "maxLength", "type", "schema")
OPERATORS = {
    "header": ("exists", "equals", "contains", "matches"),
    "jsonPath": _VALUE_CHECKS,
    "path": _VALUE_CHECKS,
}


def assertion_subject(a: dict) -> str:
    """The key an (already validated) assertion is about."""
    return next(k for k in SUBJECTS if k in a)


# ---------------------------------------------------------------- request validate blocks

# A request's `validate` block (Go Lunge's): these keys are checks, and any other key is a JSON
# Schema keyword, the rest of the block then being a schema for the whole body (schema-validation.json).
VALIDATE_CHECKS = ("status", "headers", "responseTime", "body", "schema")
JSON_SCHEMA_KEYWORDS = frozenset("""
    $schema $id $ref $defs $anchor $dynamicRef $dynamicAnchor $vocabulary $comment $recursiveRef $recursiveAnchor
    id definitions type enum const multipleOf maximum exclusiveMaximum minimum exclusiveMinimum
    maxLength minLength pattern format contentEncoding contentMediaType contentSchema
    items prefixItems additionalItems contains minContains maxContains maxItems minItems uniqueItems unevaluatedItems
    properties patternProperties additionalProperties propertyNames required dependentRequired dependentSchemas
    dependencies maxProperties minProperties unevaluatedProperties allOf anyOf oneOf not if then else
    title description default examples readOnly writeOnly deprecated""".split())


def validate_assertions(block: dict, where: str) -> list[tuple[dict, str]]:
    """A request's validate block as assertions, each with the JSON path it came from:
    status/responseTime as they are, each header as `contains` (so "application/json" accepts
    "application/json; charset=utf-8"), body checks as path assertions, the schema keywords as one
    inline schema for the body. An unknown key is a ConfigError with a did-you-mean hint."""
    out: list[tuple[dict, str]] = []
    schema = {k: v for k, v in block.items() if k not in VALIDATE_CHECKS}
    for key in schema:
        if key not in JSON_SCHEMA_KEYWORDS:
            raise ConfigError(f"{where}: unknown key {key!r}{did_you_mean(key, VALIDATE_CHECKS)} "
                              f"(a validate block takes {', '.join(VALIDATE_CHECKS)} and JSON Schema keywords)")
    for key in ("status", "responseTime"):
        if key in block:
            out.append(({key: block[key]}, f"{where}.{key}"))
    for name, value in (block.get("headers") or {}).items():
        out.append(({"header": name, "contains": value}, f"{where}.headers.{name}"))
    body = block.get("body")
    for i, check in enumerate(body if isinstance(body, list) else [body] if body is not None else []):
        out.append((check, f"{where}.body" + (f"[{i}]" if isinstance(body, list) else "")))
    if "schema" in block:
        out.append(({"schema": block["schema"]}, f"{where}.schema"))
    if schema:
        out.append(({"schema": schema}, where))
    return out



def did_you_mean(word: str, choices) -> str:
    if not isinstance(word, str):  # YAML keys can be null, numbers, booleans
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""



# ---------------------------------------------------------------- performance tests

@dataclass(frozen=True)
class RateStep:
    rps: float
    duration: float  # seconds


@dataclass(frozen=True)
class LoadPattern:
    """How the request rate moves over time. Durations in seconds."""
    type: str  # constant | linear | step | custom
    rps: float | None = None
    start_rps: float | None = None
    end_rps: float | None = None
    duration: float | None = None
    steps: tuple[RateStep, ...] = ()
    module: str | None = None  # custom: "package.module:Class"
    args: dict | None = None   # custom: keyword arguments for the class


@dataclass(frozen=True)
class Warmup:
    duration: float | None = None  # seconds
    iterations: int | None = None


@dataclass(frozen=True)
class LoadConfig:
    """Durations in seconds; None means not set."""
    concurrency: int | None = None
    iterations: int | None = None
    duration: float | None = None
    rps: float | None = None
    ramp_up: float | None = None
    ramp_down: float | None = None
    pattern: LoadPattern | None = None
    warmup: Warmup | None = None
    data_file: str | None = None      # CSV, resolved against the config's folder
    variants: int | None = None
    backoff: tuple[float, float] | None = None  # (initial, max) seconds


@dataclass(frozen=True)
class MonitoringConfig:
    real_time: bool | None = None
    interval: float | None = None  # seconds
    resources: bool | None = None
    max_memory: int | None = None  # bytes


@dataclass(frozen=True)
class Reporting:
    formats: tuple[str, ...] | None = None
    output: dict[str, str] = field(default_factory=dict)  # format -> path; "*" for a single base path
    template: str | None = None


@dataclass(frozen=True)
class PerformanceTest:
    key: str
    name: str
    request: str
    load: LoadConfig
    monitoring: MonitoringConfig
    thresholds: Thresholds
    reporting: Reporting


def _dur(doc: dict, key: str, where: str) -> float | None:
    return parse_duration(doc[key], f"{where}.{key}") if key in doc else None


def _backoff(doc: dict | None, where: str) -> tuple[float, float] | None:
    if not doc:
        return None
    initial = parse_duration(doc["initial"], f"{where}.initial")
    return initial, _dur(doc, "max", where) or initial * BACKOFF_MAX_FACTOR


def performance_test(key: str, doc: dict, where: str) -> PerformanceTest:
    load = doc["load"]
    lw = f"{where}.load"
    if "iterations" in load and "duration" in load:
        raise ConfigError(f"{lw}: give either iterations or duration, not both")
    pattern = None
    pdoc = load.get("pattern")
    pw = f"{lw}.pattern"
    if isinstance(pdoc, str):
        if pdoc in ("linear", "step") and "rps" not in load:
            raise ConfigError(f"{pw}: pattern {pdoc!r} ramps up to load.rps, which is not set")
        pattern = LoadPattern(type=pdoc, rps=load.get("rps"))
    elif isinstance(pdoc, dict):
        t = pdoc["type"]
        needs = {"constant": ("rps",), "linear": ("endRps", "duration"), "step": ("steps",), "custom": ("module",)}[t]
        for k in needs:
            if k not in pdoc and not (k == "rps" and "rps" in load):
                raise ConfigError(f"{pw}: a {t} pattern needs {k!r}")
        steps = tuple(RateStep(s["rps"], parse_duration(s["duration"], f"{pw}.steps[{i}].duration"))
                      for i, s in enumerate(pdoc.get("steps", ())))
        pattern = LoadPattern(type=t, rps=pdoc.get("rps", load.get("rps") if t == "constant" else None),
                              start_rps=pdoc.get("startRps", 0.0 if t == "linear" else None),
                              end_rps=pdoc.get("endRps"), duration=_dur(pdoc, "duration", pw),
                              steps=steps, module=pdoc.get("module"), args=pdoc.get("args"))
    has_end = ("iterations" in load or "duration" in load
               or (pattern is not None and (pattern.duration or pattern.steps or pattern.type == "custom")))
    if not has_end:
        raise ConfigError(f"{lw}: set iterations or duration (or a pattern with its own duration or steps)")
    warm = load.get("warmup")
    if warm and "duration" in warm and "iterations" in warm:
        raise ConfigError(f"{lw}.warmup: give either duration or iterations, not both")
    warmup = Warmup(duration=_dur(warm, "duration", f"{lw}.warmup"), iterations=warm.get("iterations")) if warm else None
    lc = LoadConfig(concurrency=load.get("concurrency"), iterations=load.get("iterations"),
                    duration=_dur(load, "duration", lw), rps=load.get("rps"), ramp_up=_dur(load, "rampUp", lw),
                    ramp_down=_dur(load, "rampDown", lw), pattern=pattern, warmup=warmup,
                    data_file=load.get("dataFile"), variants=load.get("variants"),
                    backoff=_backoff(load.get("backoff"), f"{lw}.backoff"))
    mon = doc.get("monitoring", {})
    mc = MonitoringConfig(real_time=mon.get("realTime"), interval=_dur(mon, "interval", f"{where}.monitoring"),
                          resources=mon.get("resources"),
                          max_memory=None if mon.get("maxMemory") is None
                          else parse_size(mon["maxMemory"], f"{where}.monitoring.maxMemory"))
    th = doc.get("thresholds", {})
    tw = f"{where}.thresholds"
    mrt_pct = Thresholds.max_response_percentile  # maxResponseTime limits p95 unless it names one
    if isinstance(th.get("maxResponseTime"), dict):  # {"p99": "300ms"}
        (pkey, pval), = th["maxResponseTime"].items()
        mrt_pct = float(pkey[1:])
        if not 0 < mrt_pct <= 100:
            raise ConfigError(f"{tw}.maxResponseTime: {pkey!r}: percentile must be in (0, 100]")
        mrt: float | None = parse_duration(pval, f"{tw}.maxResponseTime.{pkey}")
    else:
        mrt = _dur(th, "maxResponseTime", tw)
    rate = th.get("maxErrorRate")
    if isinstance(rate, str):
        rate = float(rate.strip().rstrip("%")) / 100
        if rate > 1:
            raise ConfigError(f"{tw}.maxErrorRate: {th['maxErrorRate']!r} is more than 100%")
    exprs = tuple(parse_threshold(e, f"{tw}.expressions[{i}]") for i, e in enumerate(th.get("expressions", ())))
    exprs += parse_metric_lists(th, tw)  # the original Lunge's http_req_duration/http_req_failed/http_reqs lists
    thresholds = Thresholds(max_response_time_ms=None if mrt is None else mrt * 1000, max_response_percentile=mrt_pct,
                            max_error_rate=rate,
                            min_throughput=th.get("minThroughput"), expressions=exprs)
    rep = doc.get("reporting", {})
    out = rep.get("output", {})
    # Go Lunge's `format` (one) is added in front of `formats`.
    formats = tuple(dict.fromkeys(([rep["format"]] if "format" in rep else []) + list(rep.get("formats", ()))))
    reporting = Reporting(formats=formats or None,
                          output={"*": out} if isinstance(out, str) else dict(out), template=rep.get("template"))
    return PerformanceTest(key=key, name=doc.get("name", key), request=doc["request"], load=lc,
                           monitoring=mc, thresholds=thresholds, reporting=reporting)


def _gjson_counts(expr: str) -> str:
    """Go Lunge's paths are gjson's: `$.items.#` is the array's length and `$.items.#.id` every
    item's id. As JSONPath: `$.items.`len`` and `$.items[*].id` (outside quotes and brackets)."""
    out, quote, depth, i = [], "", 0, 0
    while i < len(expr):
        c = expr[i]
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "[(":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "." and depth == 0 and expr[i + 1:i + 2] == "#" and expr[i + 2:i + 3] in ("", "."):
            out.append("[*]" if expr[i + 2:i + 3] == "." else ".`len`")
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _gjson_indexes(node):
    """gjson reads `$.0.id` as index 0 of an array (a key "0" of an object): give every field
    name made of digits that meaning."""
    from jsonpath_ng.jsonpath import DatumInContext, Fields, Index

    class KeyOrIndex(Fields):
        def find(self, datum):
            datum = DatumInContext.wrap(datum)
            if isinstance(datum.value, list):
                return Index(int(self.fields[0])).find(datum)
            return super().find(datum)

    def walk(n):
        if type(n) is Fields and len(n.fields) == 1 and n.fields[0].isdigit():
            return KeyOrIndex(n.fields[0])
        for attr in ("left", "right"):
            if hasattr(n, attr):
                setattr(n, attr, walk(getattr(n, attr)))
        return n

    return walk(node)


@functools.lru_cache(maxsize=512)
def _compiled(expr: str):
    from jsonpath_ng.ext import parse

    return _gjson_indexes(parse(_gjson_counts(expr)))


def jsonpath_is_multi(expr: str) -> bool:
    """Whether a path can select several values (wildcard, slice, filter, recursion, gjson's `#.`)."""
    return any(tok in expr for tok in ("[*]", ".*", "..", "[?", ":", ",", ".#."))


def parse_jsonpath(expr: str, where: str):
    """A compiled JSONPath (jsonpath-ng, with filters), or a ConfigError naming `where`."""
    try:
        return _compiled(expr)
    except Exception as e:  # jsonpath-ng raises several unrelated types for bad syntax
        raise ConfigError(f"{where}: {expr!r} is not a valid JSONPath ({str(e).splitlines()[0]})") from None

@dataclass
class Config:
    path: str
    data: dict

    # -- sections (always dicts, even when absent)
    @property
    def environments(self) -> dict:
        return self.data.get("environments") or {}

    @property
    def requests(self) -> dict:
        return self.data.get("requests") or {}

    @property
    def suites(self) -> dict:
        return self.data.get("suites") or {}

    @property
    def schemas(self) -> dict:
        return self.data.get("schemas") or {}

    @property
    def performance(self) -> dict:
        return self.data.get("performance") or {}

    @property
    def base_dir(self) -> str:
        return os.path.dirname(os.path.abspath(self.path))

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {message}")

    # -- validation
    def known(self, kind: str, name: str, table: dict, where: str) -> None:
        if name not in table:
            raise ConfigError(f"{where}: {_unknown(kind, name, table)}")

    # -- lookups: an unknown name lists the ones that exist
    def environment(self, name: str | None) -> tuple[str | None, dict]:
        """(name, environment) for -e NAME; without a name, the only environment if there is one."""
        envs = self.environments
        if name is None:
            if len(envs) > 1:
                raise self.error(f"several environments, choose one with -e: {', '.join(envs)}")
            return next(iter(envs.items()), (None, {}))
        if name not in envs:
            raise self.error(_unknown("environment", name, envs))
        return name, envs[name]

    def request(self, name: str) -> dict:
        if name not in self.requests:
            raise self.error(_unknown("request", name, self.requests))
        return self.requests[name]

    def suite(self, name: str) -> dict:
        if name not in self.suites:
            raise self.error(_unknown("suite", name, self.suites))
        return self.suites[name]

    def performance_test(self, name: str) -> PerformanceTest:
        """The typed, validated `performance.NAME` section."""
        if name not in self.performance:
            raise self.error(_unknown("performance test", name, self.performance))
        return performance_test(name, self.performance[name], f"$.performance.{name}")


def _unknown(kind: str, name: str, table: dict) -> str:
    if not table:
        return f"unknown {kind} {name!r}: none is defined"
    return f"unknown {kind} {name!r}{did_you_mean(name, table)}; defined: {', '.join(table)}"

