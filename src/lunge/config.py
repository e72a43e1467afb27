"""Config files (JSON or YAML): load, validate against the published schema, look things up,
and render a named request into a plain `ResolvedRequest`.

The schema is `schemas/config.schema.json` (published as docs/config.schema.json). Checks the
schema cannot express (references between sections, JSONPath syntax, regexes, load-pattern
rules, threshold expressions) follow it here. Every problem is one `ConfigError` line naming
the file and the JSON path of the bad field.
"""
from __future__ import annotations

import difflib
import functools
import json
import os
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lunge import variables as V
from lunge.errors import ConfigError
from lunge.units import parse_duration, parse_size
from lunge.urls import check_url
from lunge.wire import check_header

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

# jsonschema and yaml are imported where a config is read: `lunge perf --url` starts ~80 ms
# sooner without them.

SUBJECTS = ("status", "responseTime", "header", "jsonPath", "schema")
OPERATORS = {
    "header": ("exists", "equals", "contains", "matches"),
    "jsonPath": ("exists", "equals", "contains", "matches", "isArray", "minLength", "maxLength", "type"),
}


@functools.lru_cache(maxsize=1)
def config_schema() -> dict:
    """The JSON Schema of config files (the one published in docs/)."""
    from importlib import resources  # ~8 ms to import: only runs that read a config need it

    text = resources.files("lunge").joinpath("schemas/config.schema.json").read_text("utf-8")
    return json.loads(text)


# ---------------------------------------------------------------- parsing

def _parse(text: str, path: str) -> Any:
    if path.lower().endswith((".yaml", ".yml")):
        import yaml

        from lunge import safeload

        try:
            return safeload.yaml_load(text, path)  # aliases, expansion and depth bounded
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
            raise ConfigError(f"{where}: invalid YAML: {e.problem or e.context}") from None
        except yaml.YAMLError as e:  # e.g. a ReaderError (a control character): its text spans lines
            raise ConfigError(f"{path}: invalid YAML: {str(e).splitlines()[0]}") from None
    from lunge import safeload

    try:
        return safeload.json_loads(text, path)  # depth bounded
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}") from None


def load_config(path: str | os.PathLike) -> "Config":
    """Read, parse and fully validate a config file; raises ConfigError on any problem."""
    from lunge import safeload

    path = os.fspath(path)
    try:
        text = safeload.decode_utf8(safeload.read_bytes(path, safeload.MAX_CONFIG_BYTES, path), path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config file: {e}") from None
    data = _parse(text, path)
    if data is None:
        data = {}
    cfg = Config(path=path, data=data)
    cfg.validate()
    return cfg


# ---------------------------------------------------------------- schema errors

def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


# Where a config holds the user's own data (sent, matched or passed on as written), not settings.
_NAME = r"(?:\.\w+|\[[^\]]*\])"
_USER_DATA = re.compile(rf"""\$(?:\.schemas|\.environments{_NAME}\.variables|\.suites{_NAME}\.variables
    |\.requests{_NAME}\.(?:body|headers|queryParams)|\.suites{_NAME}\.tests\[\d+\]\.assertions\[\d+\]\.(?:equals|contains)
    |\.performance{_NAME}\.load\.pattern\.args)""", re.X)


def _huge_integer(value: Any, path: str) -> str | None:
    """The path of the first setting that is an integer beyond +-2^63: JSON and YAML integers
    have no bound, and float() of one past ~1e308 raises OverflowError in whichever field reads it."""
    if _USER_DATA.fullmatch(path):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return path if abs(value) > 2 ** 63 else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        sub = f"{path}[{k}]" if isinstance(k, int) else f"{path}.{k}" if re.fullmatch(r"\w+", str(k)) else f"{path}[{k!r}]"
        found = _huge_integer(v, sub)
        if found:
            return found
    return None


def _a(types) -> str:
    names = [types] if isinstance(types, str) else list(types)
    return " or ".join(("an " if t[0] in "aeiou" else "a ") + t for t in names)


def did_you_mean(word: str, choices) -> str:
    if not isinstance(word, str):  # YAML keys can be null, numbers, booleans
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _branch_applies(err: ValidationError) -> bool:
    """False when an anyOf/oneOf branch failed only because it is for another JSON type."""
    rest = [p for p in list(err.relative_schema_path)[1:] if p != "$ref"]
    return not (len(rest) == 1 and rest[0] in ("type", "enum") and not err.relative_path)


def _hint(schema, default: str | None) -> str | None:
    """A schema's description when it reads as what was expected ("a duration such as ...")."""
    text = schema.get("description", "") if isinstance(schema, dict) else ""
    return text if text.startswith(("a ", "an ", "one of ", "either ")) else default


def _pick(err: ValidationError) -> tuple[ValidationError, str | None]:
    """Descend anyOf/oneOf to the branch meant for the value's type, keeping the best hint."""
    hint = None
    while err.validator in ("anyOf", "oneOf") and err.context:
        hint = _hint(err.schema, hint)
        applicable = [e for e in err.context if _branch_applies(e)]
        if not applicable:
            break
        from jsonschema.exceptions import relevance

        err = max(applicable, key=relevance)
    return err, _hint(err.schema, hint)


def _schema_message(err: ValidationError) -> str:
    err, hint = _pick(err)
    where, v, inst = err.json_path, err.validator, err.instance
    if v == "additionalProperties" and isinstance(inst, dict):
        allowed = list(err.schema.get("properties", {}))
        key = next(k for k in inst if k not in allowed)
        more = did_you_mean(key, allowed) or f" (expected one of: {', '.join(allowed)})"
        return f"{where}: unknown key {key!r}{more}"
    if v == "required":
        missing = next(r for r in err.validator_value if r not in inst)
        return f"{where}: missing required key {missing!r}"
    if v == "propertyNames":
        return f"{where}: {inst!r} is not a valid name: expected {hint or err.message}"
    if v == "anyOf" or v == "oneOf" or v == "type" or v == "pattern":
        expected = hint or (_a(err.validator_value) if v == "type" else err.message)
        return f"{where}: expected {expected}, got {_json_type(inst)} {_short(inst)}"
    if v == "enum":
        return f"{where}: {_short(inst)} is not one of {', '.join(map(str, err.validator_value))}"
    if v in ("minProperties", "maxProperties") and hint:
        return f"{where}: expected {hint}"
    return f"{where}: {err.message}"


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
    concurrency: int = 10
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
    real_time: bool = False
    interval: float | None = None  # seconds
    resources: bool = True
    max_memory: int | None = None  # bytes


@dataclass(frozen=True)
class ThresholdExpr:
    """One k6-style threshold such as `p(95)<500ms`.

    metric: p50..p99.9 as "pNN", mean, min, max, median, errorRate, rps.
    value: milliseconds for latency metrics, a fraction for errorRate, req/s for rps.
    """
    metric: str
    op: str
    value: float
    text: str


@dataclass(frozen=True)
class Thresholds:
    max_response_time_ms: float | None = None
    max_response_percentile: float = 95.0  # maxResponseTime limits p95 unless it names a percentile
    max_error_rate: float | None = None  # fraction, 0.01 = 1%
    min_throughput: float | None = None  # req/s
    expressions: tuple[ThresholdExpr, ...] = ()


@dataclass(frozen=True)
class Reporting:
    formats: tuple[str, ...] = ("text",)
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


_THRESHOLD = re.compile(
    r"\s*(?P<metric>p\(\s*\d+(?:\.\d+)?\s*\)|p\d+(?:\.\d+)?|avg|mean|min|max|med|median|"
    r"errorRate|error_rate|rate\(\s*errors\s*\)|rps|throughput)\s*(?P<op><=|>=|<|>|==)\s*"
    r"(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>us|ms|s|%)?\s*")
_METRIC_ALIASES = {"avg": "mean", "med": "median", "error_rate": "errorRate", "throughput": "rps"}


def parse_threshold(text: str, where: str) -> ThresholdExpr:
    m = _THRESHOLD.fullmatch(text)
    if not m:
        raise ConfigError(f"{where}: {text!r} is not a threshold expression "
                          "(e.g. p(95)<500ms, avg<200, max<2s, errorRate<1%, rate(errors)<0.01, rps>100)")
    metric = m["metric"].replace(" ", "")
    if metric == "rate(errors)":  # k6's spelling
        metric = "errorRate"
    if metric.startswith("p("):
        metric = "p" + metric[2:-1]
    metric = _METRIC_ALIASES.get(metric, metric)
    if metric.startswith("p") and metric != "p" and not (0 < float(metric[1:]) <= 100):
        raise ConfigError(f"{where}: {text!r}: percentile must be in (0, 100]")
    value, unit = float(m["num"]), m["unit"]
    if metric == "errorRate":
        if unit not in (None, "%"):
            raise ConfigError(f"{where}: {text!r}: errorRate takes a fraction or a percentage")
        value = value / 100 if unit == "%" else value
    elif metric == "rps":
        if unit is not None:
            raise ConfigError(f"{where}: {text!r}: rps takes a plain number of requests per second")
    else:
        if unit == "%":
            raise ConfigError(f"{where}: {text!r}: a latency takes us, ms or s, not %")
        value *= {None: 1.0, "ms": 1.0, "s": 1000.0, "us": 0.001}[unit]
    return ThresholdExpr(metric, m["op"], value, text.strip())


def _dur(doc: dict, key: str, where: str) -> float | None:
    return parse_duration(doc[key], f"{where}.{key}") if key in doc else None


def _backoff(doc: dict | None, where: str) -> tuple[float, float] | None:
    if not doc:
        return None
    initial = parse_duration(doc["initial"], f"{where}.initial")
    return initial, _dur(doc, "max", where) or initial * 64


def _performance_test(key: str, doc: dict, where: str) -> PerformanceTest:
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
    warmup = Warmup(duration=_dur(warm, "duration", f"{lw}.warmup"), iterations=warm.get("iterations")) if warm else None
    lc = LoadConfig(concurrency=load.get("concurrency", 10), iterations=load.get("iterations"),
                    duration=_dur(load, "duration", lw), rps=load.get("rps"), ramp_up=_dur(load, "rampUp", lw),
                    ramp_down=_dur(load, "rampDown", lw), pattern=pattern, warmup=warmup,
                    data_file=load.get("dataFile"), variants=load.get("variants"),
                    backoff=_backoff(load.get("backoff"), f"{lw}.backoff"))
    mon = doc.get("monitoring", {})
    mc = MonitoringConfig(real_time=mon.get("realTime", False), interval=_dur(mon, "interval", f"{where}.monitoring"),
                          resources=mon.get("resources", True),
                          max_memory=None if mon.get("maxMemory") is None
                          else parse_size(mon["maxMemory"], f"{where}.monitoring.maxMemory"))
    th = doc.get("thresholds", {})
    tw = f"{where}.thresholds"
    mrt_pct = 95.0
    if isinstance(th.get("maxResponseTime"), dict):  # {"p99": "300ms"}
        (pkey, pval), = th["maxResponseTime"].items()
        mrt_pct = float(pkey[1:])
        if not 0 < mrt_pct <= 100:
            raise ConfigError(f"{tw}.maxResponseTime: {pkey!r}: percentile must be in (0, 100]")
        mrt = parse_duration(pval, f"{tw}.maxResponseTime.{pkey}")
    else:
        mrt = _dur(th, "maxResponseTime", tw)
    rate = th.get("maxErrorRate")
    if isinstance(rate, str):
        rate = float(rate.strip().rstrip("%")) / 100
        if rate > 1:
            raise ConfigError(f"{tw}.maxErrorRate: {th['maxErrorRate']!r} is more than 100%")
    exprs = tuple(parse_threshold(e, f"{tw}.expressions[{i}]") for i, e in enumerate(th.get("expressions", ())))
    thresholds = Thresholds(max_response_time_ms=None if mrt is None else mrt * 1000, max_response_percentile=mrt_pct,
                            max_error_rate=rate,
                            min_throughput=th.get("minThroughput"), expressions=exprs)
    rep = doc.get("reporting", {})
    out = rep.get("output", {})
    reporting = Reporting(formats=tuple(rep.get("formats", ("text",))),
                          output={"*": out} if isinstance(out, str) else dict(out), template=rep.get("template"))
    return PerformanceTest(key=key, name=doc.get("name", key), request=doc["request"], load=lc,
                           monitoring=mc, thresholds=thresholds, reporting=reporting)


# ---------------------------------------------------------------- the config

@dataclass
class ResolvedRequest:
    """A request with every variable filled in: what gets sent (by pycurl or the load engine)."""
    method: str
    url: str
    headers: list[str] = field(default_factory=list)  # "Name: value"
    body: bytes | None = None
    timeout: float | None = None  # seconds
    name: str | None = None
    follow_redirects: bool = False
    insecure: bool = False


@functools.lru_cache(maxsize=512)
def _compiled(expr: str):
    from jsonpath_ng.ext import parse

    return parse(expr)


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
    def validate(self) -> None:
        if not isinstance(self.data, dict):
            raise self.error(f"$: expected an object at the top level, got {_json_type(self.data)}")
        where = _huge_integer(self.data, "$")
        if where:
            raise self.error(f"{where}: out of range (an integer beyond 2^63)")
        import jsonschema
        from jsonschema.exceptions import relevance

        validator = jsonschema.Draft202012Validator(config_schema())
        errors = list(validator.iter_errors(self.data))
        if errors:
            raise self.error(_schema_message(max(errors, key=relevance)))
        try:
            self._check_references()
        except ConfigError as e:
            raise self.error(e.message) from None

    def _check_references(self) -> None:
        import jsonschema

        for name, schema in self.schemas.items():
            try:
                jsonschema.Draft202012Validator.check_schema(schema)
            except jsonschema.SchemaError as e:
                raise ConfigError(f"$.schemas.{name}: not a valid JSON Schema: {e.message}") from None
        for name, req in self.requests.items():
            for var, spec in (req.get("extract") or {}).items():
                if spec.startswith("$"):
                    parse_jsonpath(spec, f"$.requests.{name}.extract.{var}")
            timeout = req.get("timeout")
            if timeout is not None:
                parse_duration(timeout, f"$.requests.{name}.timeout")
        for sname, suite in self.suites.items():
            for i, rname in enumerate(suite.get("requests", ())):
                self._known("request", rname, self.requests, f"$.suites.{sname}.requests[{i}]")
            for i, test in enumerate(suite.get("tests", ())):
                tw = f"$.suites.{sname}.tests[{i}]"
                self._known("request", test["request"], self.requests, f"{tw}.request")
                for j, a in enumerate(test.get("assertions", ())):
                    self._check_assertion(a, f"{tw}.assertions[{j}]")
        for pname, doc in self.performance.items():
            self._known("request", doc["request"], self.requests, f"$.performance.{pname}.request")
            _performance_test(pname, doc, f"$.performance.{pname}")

    def _known(self, kind: str, name: str, table: dict, where: str) -> None:
        if name not in table:
            raise ConfigError(f"{where}: {_unknown(kind, name, table)}")

    def _check_assertion(self, a: dict, where: str) -> None:
        subjects = [k for k in SUBJECTS if k in a]
        if len(subjects) != 1:
            got = ", ".join(subjects) if subjects else "none"
            raise ConfigError(f"{where}: an assertion needs exactly one of {', '.join(SUBJECTS)} (got {got})")
        subject = subjects[0]
        ops = [k for k in a if k != subject]
        allowed = OPERATORS.get(subject, ())
        for op in ops:
            if op not in allowed:
                can = f"takes one of {', '.join(allowed)}" if allowed else "takes no other keys"
                raise ConfigError(f"{where}: {op!r} does not go with {subject!r} ({subject} {can})")
        if len(ops) > 1:
            raise ConfigError(f"{where}: one check per assertion, got {', '.join(ops)}")
        if subject == "jsonPath" and "{{" not in a["jsonPath"]:  # templated paths are checked when used
            parse_jsonpath(a["jsonPath"], f"{where}.jsonPath")
        if subject == "schema":
            self._known("schema", a["schema"], self.schemas, f"{where}.schema")
        if "matches" in a and "{{" not in a["matches"]:
            try:
                re.compile(a["matches"])
            except re.error as e:
                raise ConfigError(f"{where}.matches: {a['matches']!r} is not a valid regular expression ({e})") from None

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
        return _performance_test(name, self.performance[name], f"$.performance.{name}")

    # -- rendering
    def build_request(self, name: str, scope: V.Scope, env: dict | None = None) -> ResolvedRequest:
        """Render requests.NAME with `scope`; `env` supplies baseUrl."""
        req = self.request(name)
        w = f"requests.{name}"
        url = V.render_text(req["url"], scope, f"{w}.url")
        if not re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", url):
            base = (env or {}).get("baseUrl")
            if not base:
                raise self.error(f"{w}.url: {url!r} is not absolute and there is no environment baseUrl to join it to")
            base = V.render_text(base, scope, "baseUrl")
            url = base.rstrip("/") + "/" + url.lstrip("/")
        query = req.get("queryParams")
        if query:
            pairs = []
            for k, v in query.items():
                for item in v if isinstance(v, list) else [v]:
                    pairs.append((V.render_text(k, scope, f"{w}.queryParams"),
                                  V.render_text(item, scope, f"{w}.queryParams.{k}")))
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(pairs)
        check_url(url, f"{self.path}: {w}.url")
        headers = []
        for k, v in (req.get("headers") or {}).items():
            hname, hvalue = V.render_text(k, scope, f"{w}.headers"), V.render_text(v, scope, f"{w}.headers.{k}")
            # at render time: a variable (one extracted from a response too) cannot add a header line
            check_header(hname, hvalue, f"{self.path}: {w}.headers.{k}")
            headers.append(f"{hname}: {hvalue}")
        body = None
        if "body" in req:
            body, ctype = encode_body(req["body"], scope, f"{w}.body", self.base_dir)
            if ctype and not any(h.lower().startswith("content-type:") for h in headers):
                headers.append(f"Content-Type: {ctype}")
        timeout = req.get("timeout")
        return ResolvedRequest(
            method=req.get("method", "GET"), url=url, headers=headers, body=body,
            timeout=None if timeout is None else parse_duration(timeout, f"{w}.timeout"), name=name,
            follow_redirects=req.get("followRedirects", False), insecure=req.get("insecure", False))

    def scope_for(self, env: dict | None, suite: dict | None = None, cli_vars: dict | None = None) -> V.Scope:
        return V.Scope(environment=(env or {}).get("variables"), suite=(suite or {}).get("variables"), cli=cli_vars)


def _unknown(kind: str, name: str, table: dict) -> str:
    if not table:
        return f"unknown {kind} {name!r}: none is defined"
    return f"unknown {kind} {name!r}{did_you_mean(name, table)}; defined: {', '.join(table)}"


def encode_body(body: Any, scope: V.Scope, where: str, base_dir: str = ".") -> tuple[bytes, str | None]:
    """(bytes, content type to add or None): objects and arrays as JSON, strings as is, @file read."""
    if isinstance(body, str) and body.startswith("@"):
        path = os.path.join(base_dir, V.render_text(body[1:], scope, where))
        from lunge import safeload

        try:
            return safeload.read_request_body(path, f"{where}: body file {path!r}"), None
        except OSError as e:
            raise ConfigError(f"{where}: cannot read body file {path!r}: {e.strerror}") from None
    value = V.render(body, scope, where)
    if isinstance(body, str):
        return V.to_text(value).encode("utf-8"), None
    return json.dumps(value).encode("utf-8"), "application/json"


def resolve_request(cfg: Config, env: str | None, name: str, variables: dict | None = None) -> ResolvedRequest:
    """requests.NAME of `cfg`, rendered for environment `env` with `variables` (as --var) on top.

    The plain request a load test sends: method, url (query included), headers, body bytes,
    timeout in seconds. Raises ConfigError for an unknown environment or request, or an
    undefined variable (naming it and where it was used).
    """
    _, env_doc = cfg.environment(env)
    return cfg.build_request(name, cfg.scope_for(env_doc, cli_vars=variables), env_doc)
