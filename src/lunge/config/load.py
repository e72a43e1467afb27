"""Reading a config file: parse JSON or YAML, validate it against the published schema
(`schemas/config.schema.json`, also docs/config.schema.json), then the checks the schema cannot
express (references between sections, JSONPath syntax, regexes, load-pattern rules, threshold
expressions). Every problem is one `ConfigError` line naming the file and the JSON path of the
bad field.
"""
from __future__ import annotations

import functools
import json
import os
import re
from typing import TYPE_CHECKING, Any, cast

from lunge.config.model import (
    OPERATORS,
    SUBJECTS,
    Config,
    did_you_mean,
    parse_jsonpath,
    performance_test,
    validate_assertions,
)
from lunge.errors import ConfigError
from lunge.units import parse_duration

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

# jsonschema and yaml are imported where a config is read: `lunge perf --url` starts ~80 ms
# sooner without them.


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
            # aliases, expansion and depth bounded; the first document only, as the original (yaml.v3) reads
            return safeload.yaml_load(text, path, first_document=True)
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


def load_config(path: str | os.PathLike) -> Config:
    """Read, parse and fully validate a config file; raises ConfigError on any problem."""
    from lunge.config.scenario import is_scenario_document

    path = os.fspath(path)
    data = read_document(path)
    if is_scenario_document(data):  # lunge validate and lunge perf read those (lunge.config.scenario)
        raise ConfigError(f"{path}: a v2 scenario file (scenarios of virtual users), not a config of requests "
                          "and suites: lunge validate checks it")
    cfg = Config(path=path, data=data)
    validate(cfg)
    return cfg


def read_document(path: str) -> Any:
    """A config or scenario file, parsed ({} when empty); ConfigError if it cannot be read or parsed."""
    from lunge import safeload

    try:
        text = safeload.decode_utf8(safeload.read_bytes(path, safeload.MAX_CONFIG_BYTES, path), path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config file: {e}") from None
    data = _parse(text, path)
    return {} if data is None else data


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
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


# Where a config holds the user's own data (sent, matched or passed on as written), not settings.
_NAME = r"(?:\.\w+|\[[^\]]*\])"
_USER_DATA = re.compile(rf"""\$(?:\.schemas|\.environments{_NAME}\.(?:variables|headers)|\.suites{_NAME}\.variables
    |\.requests{_NAME}\.(?:body|headers|queryParams|validate)
    |\.suites{_NAME}\.tests\[\d+\]\.assertions\[\d+\]\.(?:equals|contains|schema)
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
    where, v, inst = err.json_path, err.validator, cast(Any, err.instance)  # Unset only outside validation
    if v == "additionalProperties" and isinstance(inst, dict):
        allowed = list(cast(dict, err.schema).get("properties", {}))  # an object schema here
        key = next(k for k in inst if k not in allowed)
        more = did_you_mean(key, allowed) or f" (expected one of: {', '.join(allowed)})"
        return f"{where}: unknown key {key!r}{more}"
    if v == "required":
        missing = next(r for r in cast(list, err.validator_value) if r not in inst)
        return f"{where}: missing required key {missing!r}"
    if v == "propertyNames":
        return f"{where}: {inst!r} is not a valid name: expected {hint or err.message}"
    if v == "pattern" and hint and hint.startswith("one of "):  # an enum spelled as a pattern (any case)
        return f"{where}: {_short(inst)} is not {hint}"
    if v == "anyOf" or v == "oneOf" or v == "type" or v == "pattern":
        expected = hint or (_a(err.validator_value) if v == "type" else err.message)
        return f"{where}: expected {expected}, got {_json_type(inst)} {_short(inst)}"
    if v == "enum":
        return f"{where}: {_short(inst)} is not one of {', '.join(map(str, cast(list, err.validator_value)))}"
    if v in ("minProperties", "maxProperties") and hint:
        return f"{where}: expected {hint}"
    return f"{where}: {err.message}"


# ---------------------------------------------------------------- validation

def validate(cfg: Config) -> None:
    if not isinstance(cfg.data, dict):
        raise cfg.error(f"$: expected an object at the top level, got {_json_type(cfg.data)}")
    where = _huge_integer(cfg.data, "$")
    if where:
        raise cfg.error(f"{where}: out of range (an integer beyond 2^63)")
    import jsonschema
    from jsonschema.exceptions import relevance

    validator = jsonschema.Draft202012Validator(config_schema())
    errors = list(validator.iter_errors(cfg.data))
    if errors:
        raise cfg.error(_schema_message(max(errors, key=relevance)))
    try:
        _check_references(cfg)
    except ConfigError as e:
        raise cfg.error(e.message) from None


def _check_references(cfg: Config) -> None:
    import jsonschema

    for name, schema in cfg.schemas.items():
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            raise ConfigError(f"$.schemas.{name}: not a valid JSON Schema: {e.message}") from None
    for name, req in cfg.requests.items():
        auth = req.get("auth")
        if auth:
            need = ("username", "password") if auth["type"] == "basic" else ("token",)
            for key in need:
                if key not in auth:
                    raise ConfigError(f"$.requests.{name}.auth: {auth['type']} auth needs {key!r}")
        if "validate" in req:
            for a, where in validate_assertions(req["validate"], f"$.requests.{name}.validate"):
                if list(a) == ["schema"]:  # validate.schema, or the block's own schema keywords
                    _check_schema_ref(cfg, a["schema"], where)
                else:
                    _check_assertion(cfg, a, where)
        for var, spec in (req.get("extract") or {}).items():
            if spec.startswith("$"):
                parse_jsonpath(spec, f"$.requests.{name}.extract.{var}")
        timeout = req.get("timeout")
        if timeout is not None:
            parse_duration(timeout, f"$.requests.{name}.timeout")
    for sname, suite in cfg.suites.items():
        for i, rname in enumerate(suite.get("requests", ())):
            cfg.known("request", rname, cfg.requests, f"$.suites.{sname}.requests[{i}]")
        for i, test in enumerate(suite.get("tests", ())):
            tw = f"$.suites.{sname}.tests[{i}]"
            cfg.known("request", test["request"], cfg.requests, f"{tw}.request")
            for j, a in enumerate(test.get("assertions", ())):
                _check_assertion(cfg, a, f"{tw}.assertions[{j}]")
    for pname, doc in cfg.performance.items():
        cfg.known("request", doc["request"], cfg.requests, f"$.performance.{pname}.request")
        performance_test(pname, doc, f"$.performance.{pname}")


def _check_assertion(cfg: Config, a: dict, where: str) -> None:
    subjects = [k for k in SUBJECTS if k in a]
    if len(subjects) == 2 and subjects[1] == "schema" and subjects[0] in ("jsonPath", "path"):
        subjects = subjects[:1]  # {"path": "$.user", "schema": "user"}: the value at the path must match
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
    if subject in ("jsonPath", "path") and "{{" not in a[subject]:  # templated paths are checked when used
        parse_jsonpath(a[subject], f"{where}.{subject}")
    if "schema" in a:
        _check_schema_ref(cfg, a["schema"], f"{where}.schema")
    if "matches" in a and "{{" not in a["matches"]:
        try:
            re.compile(a["matches"])
        except re.error as e:
            raise ConfigError(f"{where}.matches: {a['matches']!r} is not a valid regular expression ({e})") from None


def _check_schema_ref(cfg: Config, ref: Any, where: str) -> None:
    """A schema named under `schemas`, or one written in place."""
    if isinstance(ref, str):
        cfg.known("schema", ref, cfg.schemas, where)
        return
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(ref)
    except jsonschema.SchemaError as e:
        raise ConfigError(f"{where}: not a valid JSON Schema: {e.message}") from None
