"""Durations and sizes as users write them: 250ms, 30s, 5m, 1h, 1m30s; bare numbers are seconds."""
from __future__ import annotations

import re

from lunge.errors import ConfigError

_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(us|µs|ms|s|m|h)")


def parse_duration(text: str | float | int, field: str = "duration") -> float:
    """Seconds from '250ms', '30s', '5m', '1h', '1m30s' or a bare number of seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        s = str(text).strip().lower()
        if re.fullmatch(r"\d+(\.\d+)?", s):
            value = float(s)
        else:
            parts = _PART.findall(s)
            if not parts or "".join(n + u for n, u in parts) != s:
                raise ConfigError(f"{field}: {text!r} is not a duration (use e.g. 250ms, 30s, 5m, 1h)")
            value = sum(float(n) * _UNITS[u] for n, u in parts)
    if value != value or value < 0 or value > 366 * 86400:  # NaN, negative, absurd
        raise ConfigError(f"{field}: {text!r} is out of range")
    return value


def format_duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    if seconds >= 1:
        return f"{seconds:g}s"
    return f"{seconds * 1000:g}ms"


def format_ms(ms: float) -> str:
    """A latency for humans: 812us, 1.25ms, 3.41s."""
    if ms < 1:
        return f"{ms * 1000:.0f}us"
    if ms < 1000:
        return f"{ms:.2f}ms"
    return f"{ms / 1000:.2f}s"


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.2f}{unit}"
        n /= 1024
    return f"{n:.2f}TiB"
