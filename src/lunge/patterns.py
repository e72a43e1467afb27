"""Load patterns (the original design's Rate Limiter and Scaling Strategy).

A rate pattern is any object with `rate(elapsed) -> requests/s` and
`is_complete(elapsed) -> bool` (elapsed in seconds).  Python never runs per request:
`schedule()` samples the pattern every 10 ms and integrates it into a table of
(time, cumulative requests) that the native engine walks; the k-th request is due when
the cumulative count reaches k.  Custom patterns are such classes, loaded by module path
("package.module:Class") with keyword arguments from the config.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from lunge import plugins
from lunge.errors import ConfigError

STEP = 0.01  # seconds between samples of a varying pattern
SAMPLES = 100  # = 1 / STEP: sample k is at k / SAMPLES seconds (a division: exact at whole seconds)


class RatePattern(Protocol):
    """What every pattern is, the built-in ones and custom classes alike (for type checkers)."""

    def rate(self, elapsed: float) -> float: ...

    def is_complete(self, elapsed: float) -> bool: ...


@dataclass(frozen=True)
class ConstantRate:
    rps: float
    duration: float | None = None

    def rate(self, elapsed: float) -> float:
        return self.rps

    def is_complete(self, elapsed: float) -> bool:
        return self.duration is not None and elapsed >= self.duration

    def describe(self) -> dict:
        return {"type": "constant", "rps": self.rps}


@dataclass(frozen=True)
class LinearRamp:
    start_rps: float
    end_rps: float
    duration: float

    def rate(self, elapsed: float) -> float:
        if elapsed >= self.duration:
            return self.end_rps
        return self.start_rps + (self.end_rps - self.start_rps) * elapsed / self.duration

    def is_complete(self, elapsed: float) -> bool:
        return elapsed >= self.duration

    def describe(self) -> dict:
        return {"type": "linear", "startRps": self.start_rps, "endRps": self.end_rps, "durationMs": self.duration * 1000}


@dataclass(frozen=True)
class StepPattern:
    steps: tuple  # ((rps, seconds), ...)

    def rate(self, elapsed: float) -> float:
        t = 0.0
        for rps, dur in self.steps:
            t += dur
            if elapsed < t:
                return rps
        return self.steps[-1][0]

    def is_complete(self, elapsed: float) -> bool:
        return elapsed >= sum(d for _, d in self.steps)

    def describe(self) -> dict:
        return {"type": "step", "steps": [{"rps": r, "durationMs": d * 1000} for r, d in self.steps]}


@dataclass(frozen=True)
class Shaped:
    """Ramp any pattern up from 0 over `ramp_up` and down to 0 over the last `ramp_down`
    seconds of `total` (linearly)."""
    inner: RatePattern
    ramp_up: float = 0.0
    ramp_down: float = 0.0
    total: float | None = None

    def factor(self, elapsed: float) -> float:
        f = 1.0
        if self.ramp_up > 0 and elapsed < self.ramp_up:
            f = elapsed / self.ramp_up
        if self.ramp_down > 0 and self.total is not None and elapsed > self.total - self.ramp_down:
            f = min(f, max(0.0, (self.total - elapsed) / self.ramp_down))
        return f

    def rate(self, elapsed: float) -> float:
        return self.inner.rate(elapsed) * self.factor(elapsed)

    def is_complete(self, elapsed: float) -> bool:
        return (self.total is not None and elapsed >= self.total) or self.inner.is_complete(elapsed)

    def describe(self) -> dict:
        return {**_describe(self.inner), "rampUpMs": self.ramp_up * 1000, "rampDownMs": self.ramp_down * 1000}


def _describe(p) -> dict:
    return p.describe() if hasattr(p, "describe") else {"type": "custom", "class": f"{type(p).__module__}.{type(p).__qualname__}"}


def text(p) -> str:
    """A pattern as a person reads it, in --pattern's own spelling where it has one."""
    d = _describe(p)
    kind = d.get("type")
    if kind == "constant":
        out = f"{d['rps']:g} req/s"
    elif kind == "linear":
        out = f"linear:{d['startRps']:g}:{d['endRps']:g}:{d['durationMs'] / 1000:g}s"
    elif kind == "step":
        out = "step:" + ",".join(f"{s['rps']:g}@{s['durationMs'] / 1000:g}s" for s in d["steps"])
    else:
        out = f"custom:{d.get('class', '?')}"
    ramps = [f"ramp up {d['rampUpMs'] / 1000:g}s" for _ in [0] if d.get("rampUpMs")]
    ramps += [f"ramp down {d['rampDownMs'] / 1000:g}s" for _ in [0] if d.get("rampDownMs")]
    return out + (f" ({', '.join(ramps)})" if ramps else "")


def own_duration(p) -> float | None:
    """How long a pattern runs by itself (None: until stopped by --duration or --iterations)."""
    if isinstance(p, (LinearRamp,)):
        return p.duration
    if isinstance(p, StepPattern):
        return sum(d for _, d in p.steps)
    if isinstance(p, ConstantRate):
        return p.duration
    return None


def is_custom(p) -> bool:
    return not isinstance(p, (ConstantRate, LinearRamp, StepPattern, Shaped))


def load_custom(spec: str, kwargs: dict | None = None, field: str = "load.pattern.module"):
    """A pattern object from "package.module:Class" (or "package.module.Class")."""
    obj = plugins.instantiate(spec, field, kwargs)
    for method in ("rate", "is_complete"):
        if not callable(getattr(obj, method, None)):
            raise ConfigError(f"{field}: {spec!r} has no {method}(elapsed) method")
    return obj


def check(p, field: str = "load.pattern") -> None:
    if isinstance(p, ConstantRate) and not (p.rps > 0 and math.isfinite(p.rps)):
        raise ConfigError(f"{field}.rps: {p.rps} must be a positive number of requests per second")
    if isinstance(p, LinearRamp):
        for name, v in (("startRps", p.start_rps), ("endRps", p.end_rps)):
            if not (v >= 0 and math.isfinite(v)):
                raise ConfigError(f"{field}.{name}: {v} must not be negative")
        if not p.duration > 0:
            raise ConfigError(f"{field}.duration: a linear pattern needs a duration above 0")
        if p.start_rps == 0 and p.end_rps == 0:
            raise ConfigError(f"{field}: startRps and endRps are both 0: nothing would be sent")
    if isinstance(p, StepPattern):
        if not p.steps:
            raise ConfigError(f"{field}.steps: a step pattern needs at least one {{rps, duration}}")
        for i, (rps, dur) in enumerate(p.steps):
            if rps is None or not (rps >= 0 and math.isfinite(rps)):
                raise ConfigError(f"{field}.steps[{i}].rps: {rps} must not be negative")
            if dur is None or not dur > 0:
                raise ConfigError(f"{field}.steps[{i}].duration: each step needs a duration above 0")


def exact_counts(cum):
    """`cum` with values within rounding error of a whole number set to it.  The engine sends
    request k once the cumulative count passes k, so a total of 1000.0000000000165 (float
    error summing 400 samples of step:100@2s,400@2s) would send 1001 requests."""
    cum = np.asarray(cum, dtype=np.float64)
    whole = np.rint(cum)
    return np.where(np.abs(cum - whole) <= 1e-6 + 1e-12 * np.abs(cum), whole, cum)


def schedule(p, duration: float | None, max_seconds: float = 3600.0):
    """(seconds, cumulative requests) for the engine: `p` integrated until it completes or
    `duration` ends.  Constant rates give an exact two-point table (open-ended: a day);
    a varying pattern with no end of its own is planned for `max_seconds`."""
    end = duration if duration is not None else own_duration(p)
    if isinstance(p, ConstantRate):
        if end is None:
            end = 86400.0  # until --iterations or a stop
        return np.array([0.0, end]), exact_counts([0.0, p.rps * end])
    ts, cum, t, n, carry, k = [0.0], [0.0], 0.0, 0.0, 0.0, 0
    limit = end if end is not None else max_seconds
    while t < limit and not p.is_complete(t):
        # Sample times k / SAMPLES, not a running t += STEP: that sum falls short of whole
        # seconds (4.999999...), so is_complete(5.0) was never asked and a custom pattern got
        # one sample more (501 requests for 100/s over 5 s).
        k += 1
        t1 = min(k / SAMPLES, limit)
        r = float(p.rate((t + t1) / 2))  # midpoint: exact for linear ramps
        if not (r >= 0 and math.isfinite(r)):
            raise ConfigError(f"load.pattern: the pattern's rate at {(t + t1) / 2:.2f}s is {r}: it must be >= 0")
        # compensated (Neumaier) sum: the total stays within a few ulps of the integral
        x = r * (t1 - t)
        s = n + x
        carry += (n - s) + x if abs(n) >= abs(x) else (x - s) + n
        n, t = s, t1
        ts.append(t)
        cum.append(n + carry)
    if len(ts) < 2:
        raise ConfigError("load.pattern: the pattern is complete before it starts")
    return np.array(ts), exact_counts(cum)


def concurrency_steps(concurrency: int, ramp_up: float, ramp_down: float, total: float | None):
    """Closed-model ramps (ScaleTo over a duration): (seconds, connections) steps, adding
    connections evenly over `ramp_up` and removing them over the last `ramp_down`."""
    ts, cs = [0.0], [1 if ramp_up > 0 else concurrency]
    if ramp_up > 0:
        for k in range(2, concurrency + 1):
            ts.append(ramp_up * (k - 1) / concurrency)
            cs.append(k)
    if ramp_down > 0 and total is not None:
        start = max(total - ramp_down, ts[-1])
        for k in range(concurrency - 1, -1, -1):
            ts.append(start + ramp_down * (concurrency - k) / concurrency)
            cs.append(k)
    return np.array(ts), np.array(cs)


def stage_steps(stages) -> tuple[np.ndarray, np.ndarray]:
    """Ramping VUs as (seconds, connections) steps: from 0, each stage moves linearly to its
    target over its duration (k6's and the original Lunge's ramping-vus), the count rounded to
    the nearest whole connection, so it changes where the line crosses k - 0.5 (up) or k + 0.5
    (down)."""
    ts, cs = [0.0], [0]
    t0, a = 0.0, 0
    for d, b in stages:
        if b > a:
            for k in range(a + 1, b + 1):
                ts.append(t0 + d * ((k - 0.5) - a) / (b - a))
                cs.append(k)
        elif b < a:
            for k in range(a - 1, b - 1, -1):
                ts.append(t0 + d * (a - (k + 0.5)) / (a - b))
                cs.append(k)
        t0, a = t0 + d, b
    return np.array(ts), np.array(cs)


def parse_stages(text: str, flag: str = "--stages") -> tuple[tuple[float, int], ...]:
    """'30s:10,1m:50,30s:0' -> ((30.0, 10), (60.0, 50), (30.0, 0))."""
    from lunge.units import parse_duration

    out = []
    for part in text.split(","):
        dur, sep, target = part.strip().rpartition(":")
        if not sep or not target.strip().isdigit():
            raise ConfigError(f"{flag}: {part.strip()!r} is not DURATION:TARGET (e.g. 30s:10,1m:50,30s:0)")
        seconds = parse_duration(dur.strip(), flag)
        if not 0 < seconds < 10 ** 7:
            raise ConfigError(f"{flag}: {part.strip()!r}: a stage lasts more than 0s")
        out.append((seconds, int(target)))
    return tuple(out)


def from_config(pattern, rps: float | None, duration: float | None):
    """A pattern object from the config's LoadPattern (lunge.config) or from --rps alone."""
    if pattern is None:
        return ConstantRate(rps) if rps is not None else None
    t = pattern.type
    if t == "constant":
        rate = pattern.rps if pattern.rps is not None else rps
        return ConstantRate(rate) if rate is not None else None  # no rate: the closed model
    if t == "linear":
        if pattern.end_rps is None:  # the short form "linear": from 0 to load.rps over the run
            if duration is None:
                raise ConfigError("load.pattern: 'linear' without endRps needs load.duration")
            assert rps is not None  # config.model requires load.rps for the short forms
            return LinearRamp(0.0, rps, duration)
        # no duration of its own (0s) and none for the run: 0.0, which check() reports as a ConfigError
        return LinearRamp(pattern.start_rps or 0.0, pattern.end_rps, pattern.duration or duration or 0.0)
    if t == "step":
        if not pattern.steps:  # the short form "step": four equal steps up to load.rps
            if duration is None:
                raise ConfigError("load.pattern: 'step' without steps needs load.duration")
            assert rps is not None  # config.model requires load.rps for the short forms
            return StepPattern(tuple((rps * k / 4, duration / 4) for k in range(1, 5)))
        return StepPattern(tuple((s.rps, s.duration) for s in pattern.steps))
    if t == "custom":
        return load_custom(pattern.module, getattr(pattern, "args", None))
    raise ConfigError(f"load.pattern.type: unknown pattern {t!r} (constant, linear, step, custom)")


def parse_flag(text: str):
    """--pattern: 'linear:START:END[:DURATION]', 'step:RPS@DUR,RPS@DUR,...' or 'custom:pkg.mod:Class'."""
    from lunge.units import parse_duration

    kind, _, rest = text.partition(":")
    try:
        if kind == "linear":
            parts = rest.split(":")
            start, end = float(parts[0]), float(parts[1])
            return LinearRamp(start, end, parse_duration(parts[2], "--pattern") if len(parts) > 2 else 0.0)
        if kind == "step":
            steps = []
            for item in rest.split(","):
                rps, _, dur = item.partition("@")
                steps.append((float(rps), parse_duration(dur, "--pattern") if dur else None))
            return StepPattern(tuple(steps))
        if kind == "custom":
            return load_custom(rest, field="--pattern")
    except (ValueError, IndexError):
        pass
    raise ConfigError(f"--pattern: {text!r} is not one of linear:START:END[:DURATION], "
                      f"step:RPS@DURATION,..., custom:package.module:Class")
