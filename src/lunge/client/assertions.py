"""Assertions on a response: status, responseTime, header, jsonPath (or Go Lunge's `path`) and schema.

Each assertion is one config object (validated in lunge.config); `check` returns an
`Outcome` saying what was checked, whether it held and, if not, what was found instead.
"""
from __future__ import annotations

import json
import operator
import re
from dataclasses import dataclass
from typing import Any

import jsonschema

from lunge import variables as V
from lunge.client.http import Response
from lunge.config import Config, parse_jsonpath
from lunge.config.model import assertion_subject, jsonpath_is_multi, validate_assertions

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
        "==": operator.eq, "!=": operator.ne, "=": operator.eq}
_COMPARISON = re.compile(r"\s*(<=|>=|<|>|==|!=|=)?\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*")
_JSON_TYPES = {"string": str, "array": list, "object": dict, "boolean": bool}
_NO_BODY = object()


@dataclass
class Outcome:
    description: str
    passed: bool
    message: str = ""  # why it failed

    def as_dict(self) -> dict:
        return {"assertion": self.description, "passed": self.passed, "message": self.message}


def _comparison(spec: Any, default_op: str) -> tuple[str, float]:
    if isinstance(spec, (int, float)):
        return default_op, float(spec)
    m = _COMPARISON.fullmatch(spec)
    assert m is not None  # the schema admits only this form
    value = float(m[2]) * (1000.0 if m[3] == "s" else 1.0)
    return m[1] or default_op, value


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


def _has_type(value: Any, expected: str) -> bool:
    if expected == "null":
        return value is None
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _JSON_TYPES[expected])


def _contains(value: Any, expected: Any) -> bool:
    if isinstance(value, str):
        return V.to_text(expected) in value
    if isinstance(value, list):
        return expected in value
    if isinstance(value, dict):
        if isinstance(expected, dict):
            return all(k in value and value[k] == v for k, v in expected.items())
        return expected in value
    return False


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _body_json(resp: Response) -> Any:
    try:
        return resp.json()
    except (ValueError, UnicodeDecodeError):
        return _NO_BODY


def _as_text(value: Any) -> str | None:
    """A scalar as Go Lunge's assertions read it (gjson's String(), Go's %v); None for
    arrays and objects."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))  # 1.0 reads as 1, as Go prints it
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _loose_equal(value: Any, expected: Any) -> bool:
    """Go Lunge's equals: two scalars are equal when their text is (1 equals "1"); arrays and
    objects compare as values."""
    if value == expected and type(value) is type(expected):
        return True
    a, b = _as_text(value), _as_text(expected)
    return a is not None and a == b


def _value_check(op: str, expected: Any, value: Any, label: str, loose: bool = False) -> tuple[bool, str]:
    """The shared checks of header and jsonPath assertions: (passed, message if not)."""
    if op == "equals":
        ok = _loose_equal(value, expected) if loose else value == expected
        return ok, f"{label} is {_short(value)}, expected {_short(expected)}"
    if op == "contains":
        ok = _contains(value, expected)
        return ok, f"{label} is {_short(value)}" + ("" if ok else f", which does not contain {_short(expected)}")
    if op == "matches":
        try:
            ok = re.search(expected, V.to_text(value)) is not None
        except re.error as e:
            return False, f"{_short(expected)} is not a valid regular expression ({e})"
        return ok, f"{label} is {_short(value)}" + ("" if ok else f", which does not match {_short(expected)}")
    if op == "isArray":
        ok = isinstance(value, list) == expected
        return ok, f"{label} is {'an array' if isinstance(value, list) else 'a ' + _type_name(value)}"
    if op in ("minLength", "maxLength"):
        if not isinstance(value, (str, list, dict)):
            return False, f"{label} is a {_type_name(value)}, which has no length"
        n = len(value)
        ok = n >= expected if op == "minLength" else n <= expected
        return ok, f"{label} has length {n}, expected {'at least' if op == 'minLength' else 'at most'} {expected}"
    if op == "type":
        ok = _has_type(value, expected)
        return ok, f"{label} is a {_type_name(value)}, expected {expected}"
    raise AssertionError(op)  # the schema allows no other operator


def _schema_desc(ref: Any, label: str) -> str:
    return f"{label} matches schema {ref!r}" if isinstance(ref, str) else f"{label} matches the schema"


def _schema_check(ref: Any, value: Any, cfg: Config, label: str) -> tuple[str, bool, str]:
    """(description, passed, message): `value` against schemas.NAME or a schema written in place."""
    desc = _schema_desc(ref, label)
    schema = cfg.schemas[ref] if isinstance(ref, str) else ref
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(value))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        return desc, False, f"{err.json_path}: {err.message}"
    return desc, True, ""


def check_validate(block: dict, resp: Response, scope: V.Scope, cfg: Config, where: str) -> list[Outcome]:
    """A request's validate block (status, headers, responseTime, body, schema) against `resp`."""
    return [check(a, resp, scope, cfg, w) for a, w in validate_assertions(block, where)]


def check(assertion: dict, resp: Response, scope: V.Scope, cfg: Config, where: str) -> Outcome:
    """Evaluate one (already validated) assertion against `resp`; expected values are rendered
    with `scope`, so `{"equals": "{{itemId}}"}` compares with the extracted id."""
    subject = assertion_subject(assertion)
    spec = assertion[subject]
    ops = [k for k in assertion if k != subject]

    if subject == "status":
        if isinstance(spec, list):
            return Outcome(f"status in {spec}", resp.status in spec, f"status is {resp.status}")
        op, code = _comparison(spec, "==")
        return Outcome(f"status {op} {code:g}", _OPS[op](resp.status, code), f"status is {resp.status}")

    if subject == "responseTime":
        op, limit = _comparison(spec, "<")
        took = resp.elapsed_ms
        # "=N" is Go Lunge's "exactly N ms": whole milliseconds, as it measures them.
        passed = int(took) == limit if op == "=" else _OPS[op](took, limit)
        return Outcome(f"responseTime {op} {limit:g}ms", passed, f"response took {took:.1f}ms")

    if subject == "schema":
        doc = _body_json(resp)
        if doc is _NO_BODY:
            return Outcome(_schema_desc(spec, "body"), False, "response body is not JSON")
        return Outcome(*_schema_check(spec, doc, cfg, "body"))

    op = ops[0] if ops else "exists"
    expected = V.render(assertion.get(op, True), scope, f"{where}.{op}") if op != "schema" else assertion[op]

    if subject == "header":
        name = V.render_text(spec, scope, f"{where}.header")
        value = resp.header(name)
        desc = f"header {name} {op}" + ("" if op == "exists" else f" {_short(expected)}")
        if op == "exists":
            present = value is not None
            return Outcome(desc, present == expected, f"header {name} is {'present' if present else 'absent'}")
        if value is None:
            return Outcome(desc, False, f"no header {name} in the response")
        # Header values are text: a number or boolean expected reads as its text (200 equals "200").
        return Outcome(desc, *_value_check(op, expected, value, f"header {name}", loose=True))

    # jsonPath, or Go Lunge's path (the same, but equals compares as text: 1 equals "1")
    path = V.render_text(spec, scope, f"{where}.{subject}")
    desc = f"{subject} {path} {op}" + ("" if op == "exists" else f" {_short(expected)}")
    doc = _body_json(resp)
    if doc is _NO_BODY:
        return Outcome(desc, False, "response body is not JSON")
    matches = [m.value for m in parse_jsonpath(path, f"{where}.{subject}").find(doc)]
    if op == "exists":
        found = bool(matches)
        return Outcome(desc, found == expected, f"{path} {'matched' if found else 'matched nothing'}")
    if not matches:
        return Outcome(desc, False, f"{path} matched nothing")
    # One match is that value; several (wildcards, filters) are checked as a list.
    got = matches[0] if len(matches) == 1 and not jsonpath_is_multi(path) else matches
    if op == "schema":
        return Outcome(*_schema_check(expected, got, cfg, f"{subject} {path}"))
    return Outcome(desc, *_value_check(op, expected, got, path, loose=subject == "path"))
