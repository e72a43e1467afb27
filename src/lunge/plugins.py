"""User classes named by module path ("package.module:Class"): custom load patterns and
run hooks.  Any failure in user code is a configuration error naming the field."""
from __future__ import annotations

import importlib

from lunge.errors import ConfigError


def import_class(spec: str, field: str):
    """The class named by 'package.module:Class' (or 'package.module.Class')."""
    mod_name, sep, cls_name = spec.partition(":")
    if not sep:
        mod_name, _, cls_name = spec.rpartition(".")
    if not mod_name or not cls_name:
        raise ConfigError(f"{field}: {spec!r} is not 'package.module:Class'")
    try:
        return getattr(importlib.import_module(mod_name), cls_name)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"{field}: cannot load {spec!r} ({e})") from None


def instantiate(spec: str, field: str, kwargs: dict | None = None):
    cls = import_class(spec, field)
    try:
        return cls(**(kwargs or {}))
    except Exception as e:  # user code: any failure is a configuration error
        raise ConfigError(f"{field}: {spec!r} could not be created ({type(e).__name__}: {e})") from None
