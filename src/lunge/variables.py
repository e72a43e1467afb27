"""`{{name}}` templating for config values: layered variable scopes, OS environment, built-ins.

Placeholders:
  {{name}}               a variable; sources by precedence: --var, extracted, suite, environment
  {{$env.NAME}}          the OS environment variable NAME (an error if unset)
  ${NAME} ${NAME:-dflt}  the OS environment variable NAME, with an optional default
  {{$uuid}}              a random UUID4
  {{$timestamp}}         Unix time in whole seconds
  {{$isoTimestamp}}      UTC time in ISO 8601
  {{$randomInt}}         a random integer in [0, 1000000); {{$randomInt 1 6}} in [1, 6]

A string that is exactly one placeholder keeps the variable's type (so an extracted number
stays a number in a JSON body or an `equals` assertion); anywhere else values become text.
"""
from __future__ import annotations

import datetime
import json
import os
import random
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from lunge import secretvalues
from lunge.errors import ConfigError

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

# Scope layers, highest precedence first.
CLI, EXTRACTED, SUITE, ENVIRONMENT = "--var", "extracted", "suite", "environment"


class UndefinedVariable(ConfigError):
    def __init__(self, name: str, where: str):
        super().__init__(f"{where}: undefined variable {name!r}")
        self.name = name
        self.where = where


class FromResponse(ConfigError):
    """A header or URL refused because of a variable extracted from a response: what a server
    sent, not the user's input, so a suite fails that request rather than the run."""

    def __init__(self, message: str, names: list[str]):
        super().__init__(message)
        self.names = names


class Scope:
    """Variables from several sources; `lookup` takes the first source that has the name."""

    ORDER = (CLI, EXTRACTED, SUITE, ENVIRONMENT)

    def __init__(self, **layers: Mapping[str, Any] | None):
        self.layers: dict[str, dict[str, Any]] = {k: {} for k in self.ORDER}
        for key, values in layers.items():
            self.layers[_layer_key(key)].update(values or {})

    def set(self, layer: str, name: str, value: Any) -> None:
        secretvalues.note(name, value)  # e.g. an extracted token, before anything prints it
        self.layers[layer][name] = value

    def lookup(self, name: str) -> tuple[bool, Any]:
        for layer in self.ORDER:
            if name in self.layers[layer]:
                return True, self.layers[layer][name]
        return False, None

    def as_dict(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for layer in reversed(self.ORDER):
            merged.update(self.layers[layer])
        return merged


def from_response(template: Any, scope: Scope, _seen: set | None = None) -> list[str]:
    """The variables `template` uses (directly or through another variable's value) whose
    values were extracted from a response."""
    seen = set() if _seen is None else _seen
    names: list[str] = []
    for m in _PLACEHOLDER.finditer(template) if isinstance(template, str) else ():
        name = m.group(1)
        if not name or name.startswith("$") or name in seen:
            continue
        seen.add(name)
        for layer in Scope.ORDER:  # the layer lookup() takes it from
            if name in scope.layers[layer]:
                value = scope.layers[layer][name]
                if layer == EXTRACTED:
                    names.append(name)
                elif isinstance(value, str):
                    names += from_response(value, scope, seen)
                break
    return names


def _layer_key(key: str) -> str:
    names = {"cli": CLI, "extracted": EXTRACTED, "suite": SUITE, "environment": ENVIRONMENT}
    if key not in names:
        raise TypeError(f"unknown scope layer {key!r}")
    return names[key]


def _builtin(expr: str, where: str) -> Any:
    name, *args = expr.split()
    if name == "$uuid" and not args:
        return str(uuid.uuid4())
    if name == "$timestamp" and not args:
        return int(time.time())
    if name == "$isoTimestamp" and not args:
        return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if name == "$randomInt":
        if not args:
            return random.randrange(1_000_000)
        try:
            lo, hi = (int(a) for a in args)
        except ValueError:
            raise ConfigError(f"{where}: {{{{{expr}}}}}: expected $randomInt or $randomInt MIN MAX") from None
        if lo > hi:
            raise ConfigError(f"{where}: {{{{{expr}}}}}: MIN is greater than MAX")
        return random.randint(lo, hi)
    if name.startswith("$env.") and not args:
        var = name[5:]
        if var not in os.environ:
            raise UndefinedVariable(f"$env.{var}", where)
        return os.environ[var]
    raise ConfigError(f"{where}: unknown built-in {{{{{expr}}}}} "
                      "(known: $uuid, $timestamp, $isoTimestamp, $randomInt, $env.NAME)")


def _value_of(m: re.Match, scope: Scope, where: str) -> Any:
    value = _resolve(m, scope, where)
    # A secret-looking name's value is redacted wherever it shows up later (lunge.secretvalues).
    secretvalues.note(m.group(2) or m.group(1), value)
    return value


def _resolve(m: re.Match, scope: Scope, where: str) -> Any:
    expr, env_name, env_default = m.group(1), m.group(2), m.group(3)
    if env_name is not None:  # ${NAME:-default}
        if env_name in os.environ:
            return os.environ[env_name]
        if env_default is not None:
            return env_default
        raise UndefinedVariable(f"${{{env_name}}}", where)
    if not expr:
        raise ConfigError(f"{where}: empty placeholder {{{{}}}}")
    if expr.startswith("$"):
        return _builtin(expr, where)
    found, value = scope.lookup(expr)
    if not found:
        raise UndefinedVariable(expr, where)
    if isinstance(value, str) and _PLACEHOLDER.search(value):
        # A variable's own value may use placeholders (e.g. "port": "${PORT:-8080}").
        if expr in _expanding:
            raise ConfigError(f"{where}: variable {expr!r} refers to itself")
        _expanding.add(expr)
        try:
            return render(value, scope, f"{where} (variable {expr!r})")
        finally:
            _expanding.discard(expr)
    return value


_expanding: set[str] = set()  # names being expanded right now, to catch cycles


def to_text(value: Any) -> str:
    """How a variable reads inside a string: JSON spelling for non-strings."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def render(value: Any, scope: Scope, where: str) -> Any:
    """`value` with every placeholder replaced, recursing into lists and objects."""
    if isinstance(value, str):
        m = _PLACEHOLDER.fullmatch(value)
        if m:
            return _value_of(m, scope, where)
        return _PLACEHOLDER.sub(lambda m: to_text(_value_of(m, scope, where)), value)
    if isinstance(value, list):
        return [render(v, scope, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {render_text(k, scope, where): render(v, scope, f"{where}.{k}") for k, v in value.items()}
    return value


def render_text(value: Any, scope: Scope, where: str) -> str:
    """`render`, always as a string (for URLs, headers, query values)."""
    return to_text(render(value, scope, where))


def parse_assignments(pairs: list[str] | tuple[str, ...], flag: str = "--var") -> dict[str, str]:
    """{'k': 'v'} from ['k=v', ...]; a pair without '=' is a usage error naming it."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"{flag} {pair!r}: expected NAME=VALUE")
        out[name.strip()] = value
    return out
