"""What a run was asked to do, read back from its `configuration`: the run's length, the open
model's target rate as a person reads it, and that rate over time (the target line of the
HTML throughput chart).  Nothing here is in the result JSON: it is all derived from the
recorded `configuration.pattern`, `durationMs`, `rampUpMs`/`rampDownMs` and `warmupMs`.

A custom pattern's class is not in the result (only its name), so its rate over time is
unknown: `rate_curve` returns None for it.
"""
from __future__ import annotations

import numpy as np


def _g(v: float) -> str:
    return f"{v:g}"


def format_duration(ms: float) -> str:
    """A duration given in ms as the flags spell it: 500ms, 10s, 2m30s, 1h."""
    if ms < 1000:
        return f"{ms:g}ms"
    s = ms / 1000
    if s < 60:
        return f"{s:g}s"
    h, rest = divmod(s, 3600)
    m, rest = divmod(rest, 60)
    return "".join(f"{v:g}{u}" for v, u in ((h, "h"), (m, "m"), (round(rest, 3), "s")) if v)


def own_length_s(pattern: dict | None) -> float | None:
    """How long a pattern runs by itself, in seconds (None: until --duration/--iterations)."""
    if not pattern:
        return None
    kind = pattern.get("type")
    if kind == "linear" and pattern.get("durationMs"):
        return pattern["durationMs"] / 1000
    if kind == "step" and pattern.get("steps"):
        return sum(s["durationMs"] for s in pattern["steps"]) / 1000
    return None


def run_length_s(cfg: dict) -> float | None:
    """The measured run's planned length in seconds: --duration, else the pattern's own, else
    the stages' total; None when only a request count (or a stop) ends it."""
    if cfg.get("durationMs"):
        return cfg["durationMs"] / 1000
    own = own_length_s(cfg.get("pattern"))
    if own is not None:
        return own
    if cfg.get("stages"):
        return sum(s["durationMs"] for s in cfg["stages"]) / 1000
    return None


def pattern_text(cfg: dict) -> str | None:
    """The open model's target rate: '1000 req/s', 'linear 100 -> 2000 req/s over 10s',
    'step 100 req/s for 2s, 400 req/s for 2s', 'custom pattern pkg.mod.Class', with its ramps;
    None for the closed model."""
    p = cfg.get("pattern")
    if cfg.get("model") != "open" or not p:
        return None
    kind = p.get("type")
    if kind == "constant":
        out = f"{_g(p['rps'])} req/s"
    elif kind == "linear":
        out = f"linear {_g(p['startRps'])} -> {_g(p['endRps'])} req/s over {format_duration(p['durationMs'])}"
    elif kind == "step":
        out = "step " + ", ".join(f"{_g(s['rps'])} req/s for {format_duration(s['durationMs'])}" for s in p["steps"])
    else:
        out = f"custom pattern {p.get('class', '?')}"
    ramps = [f"ramp up {format_duration(cfg['rampUpMs'])}" for _ in [0] if cfg.get("rampUpMs")]
    ramps += [f"ramp down {format_duration(cfg['rampDownMs'])}" for _ in [0] if cfg.get("rampDownMs")]
    return out + (f" ({', '.join(ramps)})" if ramps else "")


def _rate(p: dict, t: np.ndarray) -> np.ndarray | None:
    kind = p.get("type")
    if kind == "constant":
        return np.full_like(t, float(p["rps"]))
    if kind == "linear":
        d = p["durationMs"] / 1000
        a, b = float(p["startRps"]), float(p["endRps"])
        return np.where(t >= d, b, a + (b - a) * np.clip(t, 0, None) / d)
    if kind == "step":
        ends = np.cumsum([s["durationMs"] / 1000 for s in p["steps"]])
        rates = np.array([float(s["rps"]) for s in p["steps"]])
        return rates[np.minimum(np.searchsorted(ends, t, side="right"), len(rates) - 1)]
    return None


def rate_curve(cfg: dict, origin_s: float = 0.0, points: int = 400) -> tuple[np.ndarray, np.ndarray] | None:
    """(seconds since the run's start, target req/s): the pattern as the schedule sampled it,
    shaped by its ramps, from `origin_s` (where the measured schedule starts) to its end;
    None for the closed model, a custom pattern, or a pattern with no known end.  Steps are
    drawn as steps (two points at each change)."""
    p = cfg.get("pattern")
    if cfg.get("model") != "open" or not p:
        return None
    length = run_length_s(cfg)
    if length is None or length <= 0 or _rate(p, np.zeros(1)) is None:
        return None
    t = np.linspace(0.0, length, points)
    if p.get("type") == "step":  # the edges exactly: the rate just before and at each change
        edges = np.cumsum([s["durationMs"] / 1000 for s in p["steps"]])
        edges = edges[edges < length]
        t = np.sort(np.concatenate([t, edges - 1e-9, edges]))
    r = _rate(p, t)
    assert r is not None
    up, down = (cfg.get("rampUpMs") or 0) / 1000, (cfg.get("rampDownMs") or 0) / 1000
    f = np.ones_like(t)
    if up > 0:
        f = np.minimum(f, t / up)
    if down > 0:
        f = np.minimum(f, np.clip((length - t) / down, 0, None))
    return t + origin_s, r * f


def origin_s(result) -> float:
    """Where the measured schedule starts, in seconds since the run's start: after a warmup
    of some duration; after a counted warmup, at the first measured request."""
    cfg = result.configuration
    if cfg.get("warmupMs"):
        return cfg["warmupMs"] / 1000
    if cfg.get("warmupIterations"):
        return result.first_send_ns / 1e9
    return 0.0
