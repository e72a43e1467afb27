"""The live side of a run: one view of it per second, and what reacts to that view.

`runner.run(plan, monitor=Live(plan, options))` calls `tick(snapshot)` a few times a
second.  At each new second of the run Live builds a *view* (the engine's counters, the
last second's rates and percentiles, the cumulative percentiles, a resource sample) and
hands it to the console, the hooks (lunge.live.hooks, the Prometheus exporter) and the
protections (--max-memory, --max-error-rate-abort).  All of this runs on snapshots and
closed seconds, never per request.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lunge._native.contract import HTTP_VERSIONS, Snapshot
from lunge._native.hist import BUCKET_MID
from lunge.errors import ERROR_RATE_ABORT, RESOURCE_LIMIT, ConfigError
from lunge.live import console, hooks
from lunge.results import STATUS_CLASSES, SparseHist
from lunge.settings import DEFAULTS, ERROR_ABORT_SECONDS, Settings
from lunge.units import format_bytes, parse_duration

if TYPE_CHECKING:
    from lunge.live.monitor import ResourceMonitor
    from lunge.runner import LoadTest

PERCENTILES = (50, 95, 99)


@dataclass(frozen=True)
class Options:
    real_time: bool = DEFAULTS.real_time
    interval: float = DEFAULTS.progress_interval  # seconds between progress lines off a terminal; 0: none
    resources: bool = DEFAULTS.resources
    max_memory: int | None = DEFAULTS.max_memory  # bytes
    error_abort: tuple[float, int] | None = DEFAULTS.max_error_rate_abort  # (failed share, seconds in a row)
    hooks: tuple = DEFAULTS.hooks                 # "package.module:Class" specs
    metrics_port: int | None = DEFAULTS.metrics_port
    metrics_host: str = DEFAULTS.metrics_host

    @classmethod
    def of(cls, s: Settings) -> Options:
        return cls(real_time=s.real_time, interval=s.progress_interval, resources=s.resources,
                   max_memory=s.max_memory, error_abort=s.max_error_rate_abort, hooks=tuple(s.hooks),
                   metrics_port=s.metrics_port, metrics_host=s.metrics_host)


def parse_error_abort(text: str, field: str = "--max-error-rate-abort") -> tuple[float, int]:
    """'0.5', '50%', '50%:10s' or '0.9:3' -> (share of failed requests, seconds in a row)."""
    rate_s, _, secs_s = str(text).partition(":")
    try:
        rate = float(rate_s.strip().rstrip("%")) / (100 if rate_s.strip().endswith("%") else 1)
    except ValueError:
        raise ConfigError(f"{field}: {text!r} is not RATE[:SECONDS] (e.g. 0.5:5s or 50%)") from None
    if not 0 <= rate < 1:
        raise ConfigError(f"{field}: {text!r}: the rate must be from 0 to below 1 (or 100%)")
    secs = parse_duration(secs_s, field) if secs_s else ERROR_ABORT_SECONDS
    if secs < 1:
        raise ConfigError(f"{field}: {text!r}: the time must be at least 1s")
    return rate, int(round(secs))


class Live:
    def __init__(self, plan, opts: Options = Options(), stream=None, tty: bool | None = None):
        self.plan, self.opts = plan, opts
        stream = stream or sys.stderr
        tty = stream.isatty() if tty is None else tty
        self.console = console.for_stream(stream, tty, opts.real_time, opts.interval)
        # a bad --hook fails here, before anything is sent
        self.hooks = hooks.Hooks((hooks.load(spec) for spec in opts.hooks), warn=self.console.warn)
        self.monitor: ResourceMonitor | None = None
        self.test: LoadTest | None = None  # from start()
        ld = getattr(plan, "load", None)
        self.iterations = ld.iterations if ld is not None else None
        self.schedule = ld.schedule() if ld is not None and ld.open_model else None
        self.planned: float | None = None
        if ld is None:  # a FlowPlan: its scenarios' windows say how long it runs
            self.planned = plan.planned()
        elif ld.duration:
            self.planned = ld.duration + ld.warmup_span()
        elif self.schedule is not None and np.isfinite(self.schedule[0][-1]):
            self.planned = float(self.schedule[0][-1])
        self._second = 0            # the second of the run the last view was built for
        self._prev: tuple[float, int, int] | None = None  # (elapsed, completed, failures) at the previous view
        self._seen = 0              # harvested seconds already merged into _cum
        self._cum = np.zeros(len(BUCKET_MID), dtype=np.uint64)
        self._cum_n, self._cum_min, self._cum_max = 0, 0, 0
        self._bad = 0               # seconds in a row above the error-rate limit
        self._warned = 0
        self.view: dict | None = None

    # ------------------------------------------------------------------ runner interface
    def start(self, test) -> None:
        from lunge.live.monitor import ResourceMonitor

        self.test = test
        if self.opts.resources or self.opts.max_memory:
            self.monitor = ResourceMonitor()
        if self.opts.metrics_port is not None:
            from lunge.live.prometheus import Exporter

            exporter = Exporter(self.opts.metrics_port, self.opts.metrics_host)
            self.hooks.add(exporter)
            self.console.note(f"metrics at {exporter.url}")
        self.hooks.call("on_start", self.plan.configuration())

    def tick(self, snap: Snapshot):
        """Called a few times a second; returns (error type, message) to stop the run."""
        stop = None
        if int(snap.elapsed_s) > self._second:
            self._second = int(snap.elapsed_s)
            self.view = self._view(snap)
            stop = self._protect(self.view)
            if stop is not None:  # say it now: in-flight requests may take up to --grace to finish
                self.console.warn(f"{stop[0]}: {stop[1]}", prefix="lunge: stopping: ")
            self.hooks.call("on_second", self.view)
            self.console.second(self.view)
        self.console.tick(snap, self.view, self)
        return stop

    def finish(self, result, stop) -> None:
        if self.test is not None:  # the console's last drawing shows the final counts
            snap = self.test.snapshot()
            self.view = self._view(snap)
            self.console.final(snap, self.view, self)
        if self.monitor is not None:
            if self.opts.resources:
                result.resources = list(self.monitor.series)
            result.warnings.extend(self.monitor.warnings)
        if stop is not None:
            result.stop_reason = stop[0]
            result.warnings.append(f"{stop[0]}: {stop[1]}")
        self.console.close(result)
        self.hooks.call("on_result", result)
        self.hooks.close()

    def close(self) -> None:
        """After an error: leave the terminal tidy and release the hooks."""
        self.console.close(None)
        self.hooks.close()

    # ------------------------------------------------------------------ the view
    def target_rps(self, elapsed: float) -> float | None:
        if self.schedule is None:
            return None
        ts, cum = self.schedule
        return float(np.interp(elapsed, ts, cum) - np.interp(max(0.0, elapsed - 1.0), ts, cum))

    def _merge_seconds(self):
        """Fold newly harvested seconds into the cumulative histogram; the newest one."""
        assert self.test is not None  # views are built between start() and finish()
        new = self.test.closed[self._seen:]
        self._seen += len(new)
        for s in new:
            h = s.hist
            if not h.total:
                continue
            np.add.at(self._cum, h.idx, h.counts)
            self._cum_min = h.min_ns if not self._cum_n else min(self._cum_min, h.min_ns)
            self._cum_max = max(self._cum_max, h.max_ns)
            self._cum_n += h.total
        return self.test.closed[-1] if self.test.closed else None

    def _view(self, snap: Snapshot) -> dict:
        last = self._merge_seconds()
        elapsed = snap.elapsed_s
        p_elapsed, p_done, p_failed = self._prev or (0.0, 0, 0)
        dt = max(elapsed - p_elapsed, 1e-3)
        done, failed = snap.completed - p_done, snap.failures - p_failed
        self._prev = (elapsed, snap.completed, snap.failures)
        nz = np.flatnonzero(self._cum)
        cum = SparseHist(nz, self._cum[nz], self._cum_n, self._cum_min, self._cum_max)
        view = {
            "t": int(elapsed), "elapsed": round(elapsed, 3), "planned": self.planned, "iterations": self.iterations,
            "issued": snap.issued, "completed": snap.completed, "failures": snap.failures, "errors": snap.errors,
            "bytes": snap.bytes, "inFlight": snap.in_flight, "connections": snap.connections,
            "warmupCompleted": snap.warmup_completed,
            "statusClasses": dict(zip(STATUS_CLASSES, snap.status_classes)),
            "httpVersions": {k: n for k, n in zip(HTTP_VERSIONS, snap.versions) if n},
            "rps": round(done / dt, 1), "failedShare": failed / done if done else None,
            "targetRps": self.target_rps(elapsed),
            "lastSecond": None, "cumulative": _ms(cum) if self._cum_n else None,
            "latencyHistogram": _histogram(cum) if self._cum_n else None,
            "resources": self.monitor.sample(elapsed) if self.monitor is not None else None,
        }
        if hasattr(self.test, "scenario_snapshot"):  # flows: each scenario's state, VUs and rate
            view["scenarios"] = self._scenarios(dt)
        if last is not None:
            h = SparseHist._make(last.hist)
            view["lastSecond"] = {"t": last.sec, "requests": last.requests, **(_ms(h) if h.total else {})}
        if self.monitor is not None:
            for w in self.monitor.warnings[self._warned:]:
                self.console.warn(w)
            self._warned = len(self.monitor.warnings)
        return view

    def _scenarios(self, dt: float) -> list[dict]:
        assert self.test is not None
        out = []
        prev: dict[str, tuple[int, int]] = getattr(self, "_scen_prev", {})
        stages = self._stages()
        for sc in self.test.scenario_snapshot():  # type: ignore[attr-defined]
            before = prev.get(sc.name, (0, 0))
            out.append({"name": sc.name, "state": sc.state, "stage": stages.get(sc.name), "vus": sc.vus, "targetVus": sc.target_vus,
                        "iterations": sc.iterations, "dropped": sc.dropped, "requests": sc.requests,
                        "failures": sc.failures, "rps": round((sc.requests - before[0]) / dt, 1),
                        "iterationsPerSec": round((sc.iterations - before[1]) / dt, 1)})
            prev[sc.name] = (sc.requests, sc.iterations)
        self._scen_prev = prev
        return out

    def _stages(self) -> dict[str, str]:
        """{scenario: "stage 2/3 (steady)"} for the ramping scenarios running now, from the plan's
        windows (upper bounds in sequence: there the stage shown may run early)."""
        from lunge.config import scenario as S

        tf = getattr(self.plan, "test_file", None)
        if tf is None or self.test is None:
            return {}
        elapsed = self.test.snapshot().elapsed_s
        out = {}
        for sc, w in zip(tf.scenarios, S.scenario_schedule(tf)):
            stages = sc.executor.stages
            t, begin = elapsed - w.start, 0.0
            for i, st in enumerate(stages):
                if begin <= t < begin + st.duration or (st.duration == 0 and begin <= t):
                    out[sc.name] = f"stage {i + 1}/{len(stages)}" + (f" ({st.name})" if st.name else "")
                begin += st.duration
        return out

    # ------------------------------------------------------------------ protections
    def _protect(self, view: dict):
        res, limit = view["resources"], self.opts.max_memory
        if limit and res and res["rssBytes"] > limit:
            return (RESOURCE_LIMIT, f"lunge's memory reached {format_bytes(res['rssBytes'])}, above --max-memory "
                                    f"{format_bytes(limit)}; the run was stopped at t={view['elapsed']:.0f}s")
        if self.opts.error_abort and view["failedShare"] is not None:  # a second with no completion is neutral
            rate, secs = self.opts.error_abort
            self._bad = self._bad + 1 if view["failedShare"] > rate else 0
            if self._bad >= secs:
                return (ERROR_RATE_ABORT, f"{view['failedShare']:.0%} of requests failed in the last second and more "
                                          f"than {rate:.0%} for {self._bad}s in a row: the target looks down; the run "
                                          f"was stopped at t={view['elapsed']:.0f}s (--max-error-rate-abort)")
        return None


def _histogram(h: SparseHist, rows: int = 7) -> list[list]:
    """[[upper bound ms, responses], ...]: `rows` equal buckets from the fastest response to the
    p99, then one up to the slowest for the rest (the 1% tail would squash a linear scale)."""
    lo, hi = h.min_ns, float(h.percentiles([99])[0])
    mids = np.clip(BUCKET_MID[h.idx], lo, h.max_ns)
    counts = np.asarray(h.counts, dtype=np.float64)
    if hi <= lo:
        return [[round(h.max_ns / 1e6, 3), int(h.total)]]
    edges = np.linspace(lo, hi, rows + 1)
    inside = np.histogram(mids, bins=edges, weights=counts)[0].astype(np.int64)
    out = [[round(float(e) / 1e6, 3), int(c)] for e, c in zip(edges[1:], inside)]
    tail = int(h.total) - int(inside.sum())
    if tail > 0:
        out.append([round(h.max_ns / 1e6, 3), tail])
    return out


def _ms(h: SparseHist) -> dict:
    return {f"p{p}Ms": round(float(v) / 1e6, 3) for p, v in zip(PERCENTILES, h.percentiles(PERCENTILES))}
