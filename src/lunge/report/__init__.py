"""Reporters: a RunResult (plus its analysis) rendered as text or JSON."""
from __future__ import annotations

from lunge.errors import ConfigError

FORMATS = ("text", "json")


def render(result, fmt: str) -> str:
    if fmt == "json":
        from lunge.report import json_report

        return json_report.render(result)
    if fmt == "text":
        from lunge.report import text

        return text.render(result)
    raise ConfigError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")


def write(result, fmt: str, path: str) -> None:
    body = render(result, fmt)
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(body)
    except OSError as e:
        raise ConfigError(f"--output: cannot write {path!r} ({e.strerror})") from None
