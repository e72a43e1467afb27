"""Hooks: user code that sees a run once a second and its result at the end
(`lunge perf --hook package.module:Class`; docs/monitoring.md).

A hook is any class, created with no arguments, with any of these methods:

    on_start(configuration: dict)   # before the first request: the resolved settings
    on_second(view: dict)           # once a second: counters, rates, percentiles, resources
    on_result(result: RunResult)    # after the run, before the report is written
    close()                         # last; release what the hook holds

Nothing is called per request.  A hook that raises is reported once on stderr and
dropped; the run goes on.
"""
from __future__ import annotations

import sys

from lunge.errors import ConfigError
from lunge.plugins import instantiate

METHODS = ("on_start", "on_second", "on_result")


def load(spec: str, field: str = "--hook"):
    """A hook object from 'package.module:Class'."""
    obj = instantiate(spec, field)
    if not any(callable(getattr(obj, m, None)) for m in METHODS):
        raise ConfigError(f"{field}: {spec!r} has none of the hook methods {', '.join(METHODS)}")
    return obj


class Hooks:
    def __init__(self, objs=(), warn=None):
        self.objs = list(objs)
        self.warn = warn or (lambda text: print(f"lunge: warning: {text}", file=sys.stderr))

    def add(self, obj) -> None:
        self.objs.append(obj)

    def call(self, method: str, arg) -> None:
        for obj in list(self.objs):
            fn = getattr(obj, method, None)
            if fn is None:
                continue
            try:
                fn(arg)
            except Exception as e:  # a broken integration must not take the load test down
                self.warn(f"hook {type(obj).__name__}.{method} failed ({type(e).__name__}: {e}); hook disabled")
                self.objs.remove(obj)
                self._close(obj)

    def close(self) -> None:
        for obj in self.objs:
            self._close(obj)
        self.objs = []

    @staticmethod
    def _close(obj) -> None:
        fn = getattr(obj, "close", None)
        if fn is not None:
            try:
                fn()
            except Exception:  # closing is best effort
                pass
