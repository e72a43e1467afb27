"""Durations and sizes as users write them: 250ms, 30s, 5m, 1h, 1m30s; bare numbers are seconds."""
from __future__ import annotations

import re

from lunge.errors import ConfigError

_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(us|µs|ms|s|m|h)")


def _number(value: int | float, field: str) -> float:
    try:
        return float(value)
    except OverflowError:  # an int beyond float's range, e.g. from a JSON config
        raise ConfigError(f"{field}: {value!r} is out of range") from None


def parse_duration(text: str | float | int, field: str = "duration") -> float:
    """Seconds from '250ms', '30s', '5m', '1h', '1m30s' or a bare number of seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = _number(text, field)
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


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)?")


def parse_size(text: str | int | float, field: str = "size") -> int:
    """Bytes from '512MB', '1.5GiB', '800M' or a bare number of bytes.  K, M, G and T are
    powers of 1024 with or without B / iB (512MB = 512 MiB), as memory is counted."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = _number(text, field)
    else:
        m = _SIZE.fullmatch(str(text).strip().lower())
        if not m:
            raise ConfigError(f"{field}: {text!r} is not a size (use e.g. 512MB, 2GB, or a number of bytes)")
        value = float(m.group(1)) * 1024 ** "bkmgt".index((m.group(2) or "b")[0])
    if not value >= 1:
        raise ConfigError(f"{field}: {text!r} must be at least 1 byte")
    if value > 2 ** 62:  # (inf included) no limit or buffer is that large
        raise ConfigError(f"{field}: {text!r} is out of range")
    return int(value)


def format_ms(ms: float, extra: int = 0) -> str:
    """A latency for humans: 812us, 1.25ms, 3.41s (with `extra` more decimals: 3.4102s)."""
    if ms < 1:
        return f"{ms * 1000:.{extra}f}us"
    if ms < 1000:
        return f"{ms:.{2 + extra}f}ms"
    return f"{ms / 1000:.{2 + extra}f}s"


def distinct_ms(values: list, most: int = 4) -> list[str]:
    """format_ms of each value, with up to `most` more digits, as few as make every two
    neighbouring (different) values read differently."""
    for extra in range(most + 1):
        labels = [format_ms(v, extra) for v in values]
        if all(a != b for a, b, x, y in zip(labels, labels[1:], values, values[1:]) if x != y):
            break
    return labels


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.2f}{unit}"
        n /= 1024
    return f"{n:.2f}TiB"
