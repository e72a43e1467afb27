"""Run a Plan on the native engine: start the loop thread, read snapshots, collect the result.

Python touches the run only a few times a second (snapshot + harvest of closed seconds);
the loop itself runs in the engine's thread with the GIL released.

    test = LoadTest(plan).start()      # the engine API (the original design's PerformanceEngine)
    test.snapshot()                    # live counters (GetRealTimeMetrics)
    test.stop()                        # StopTest: stop issuing, let in-flight requests finish
    result = test.wait()               # RunResult, `interrupted` if stopped early

`run()` is what the CLI uses: Ctrl-C, SIGTERM or SIGHUP (the terminal closed, the SSH
session dropped) stops issuing (in-flight requests finish within the grace period); a
second one aborts.  Either way the result holds everything
measured and is marked `interrupted`.
"""
from __future__ import annotations

import os
import signal
import threading
from typing import Any

from lunge import libcurl
from lunge._native.contract import HarvestedSecond, Snapshot
from lunge.errors import RATE_LIMIT, ConfigError, InternalError
from lunge.flowplan import FlowPlan
from lunge.plan import Plan, split_count
from lunge.prepare import (
    check_tls_files,
    pinned_address,
    pinned_resolve,
    prepare,
    raise_descriptor_limit,
    system_ca_bundle,
)
from lunge.results import RunResult, SparseHist
from lunge.settings import HTTP3_FLAGS

TICK = 0.25  # seconds between snapshots


class _Stop(Exception):
    pass


def load_libcurl(http2: bool, http3: str | None = None) -> dict:
    """libcurl, loaded once per process; ConfigError if --http2 or --http3 asks for what it lacks."""
    curl = libcurl.load()
    if http2 and not curl["http2"]:
        raise ConfigError(f"--http2: libcurl {curl['version']} ({curl['path']}) has no HTTP/2 support")
    if http3 is not None and not curl["http3"]:
        raise ConfigError(f"{HTTP3_FLAGS[http3]}: libcurl {curl['version']} ({curl['path']}) has no HTTP/3 support")
    return curl


class LoadTest:
    """One load test on `workers` engines: each its own thread (GIL released) and curl multi
    handle, with its share of the connections, iterations and rate; results merge exactly."""

    def __init__(self, plan: Plan, workers: int = 1):
        from lunge._native.engine import Engine, EngineError

        self.plan = plan
        self.curl = load_libcurl(plan.transport.http2, plan.transport.http3)
        workers = max(1, min(workers, plan.max_parts()))
        self.plans = [plan] if workers == 1 else [plan.share(i, workers) for i in range(workers)]
        prepared = prepare(plan)  # once per run, whatever the number of engines
        try:
            self.engines = [Engine(**prepared.engine_kwargs(p)) for p in self.plans]
        except ValueError as e:
            raise ConfigError(str(e)) from None
        except EngineError as e:
            raise InternalError(str(e)) from None
        self._ready()

    def _ready(self) -> None:
        """The state every kind of engine set shares, once self.engines exist."""
        self.seconds: list[list[HarvestedSecond]] = [[] for _ in self.engines]  # per engine, as harvested
        self.closed: list[HarvestedSecond] = []  # seconds every engine has closed, merged (for live views)
        self._pending: dict[int, list[HarvestedSecond]] = {}
        self._last_sec = [-1] * len(self.engines)
        self.stops = 0
        self._failure: list[BaseException] = []
        self._left = len(self.engines)
        self._lock = threading.Lock()
        # Not thread.is_alive(): a KeyboardInterrupt inside Thread.join can make a running
        # thread look finished (CPython 3.11).  The loop threads say when they are done.
        self._done = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(e,), name=f"lunge-engine-{i}", daemon=True)
                         for i, e in enumerate(self.engines)]

    def _loop(self, engine):
        try:
            engine.run()
        except BaseException as e:  # reported by wait()
            self._failure.append(e)
        finally:
            with self._lock:
                self._left -= 1
                if self._left == 0:
                    self._done.set()

    def start(self) -> LoadTest:
        for t in self._threads:
            t.start()
        return self

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def snapshot(self) -> Snapshot:
        """The engines' live counters, summed (elapsed_s: the longest-running one's)."""
        snaps = [e.snapshot() for e in self.engines]
        if len(snaps) == 1:
            return snaps[0]
        return Snapshot(**{f: sum(col) for f, col in zip(Snapshot._fields, zip(*snaps))
                           if f not in ("elapsed_s", "status_classes", "versions")},
                        elapsed_s=max(s.elapsed_s for s in snaps),
                        status_classes=tuple(map(sum, zip(*(s.status_classes for s in snaps)))),
                        versions=tuple(map(sum, zip(*(s.versions for s in snaps)))))

    def _harvest(self, final: bool = False):
        for i, (store, engine) in enumerate(zip(self.seconds, self.engines)):
            new = engine.harvest()
            store.extend(new)
            for sec in new:
                self._pending.setdefault(sec.sec, []).append(sec)
                self._last_sec[i] = sec.sec
        ready = max(self._pending, default=-1) if final else min(self._last_sec)
        for t in sorted(k for k in self._pending if k <= ready):
            self.closed.append(_merge_second(self._pending.pop(t)))

    def poll(self, timeout: float = TICK) -> bool:
        """Wait up to `timeout` for the end, collecting closed seconds. True once done."""
        self._done.wait(timeout)
        self._harvest()
        return self._done.is_set()

    def stop(self) -> None:
        """Stop issuing; in-flight requests finish within the grace period."""
        self.stops += 1
        for e in self.engines:
            e.stop()

    def abort(self) -> None:
        """Stop now; in-flight requests are counted as aborted."""
        self.stops += 1
        for e in self.engines:
            e.abort()

    def wait(self) -> RunResult:
        while not self.poll():
            pass
        for t in self._threads:
            t.join()
        self._harvest(final=True)
        if self._failure:
            raise InternalError(f"engine failed: {self._failure[0]}")
        raws = [e.results() for e in self.engines]
        parts = [RunResult.from_engine(p, raw, secs, self.curl, interrupted=self.stops > 0)
                 for p, raw, secs in zip(self.plans, raws, self.seconds)]
        if len(parts) == 1:
            result = parts[0]
        else:
            result = RunResult.merge(parts, kind="worker")
            result.configuration = {**self.plan.configuration(), "workers": len(parts)}
        result.warnings = run_warnings(result, sum(r.series_overruns for r in raws))
        self._complete(result)
        return result

    def _complete(self, result: RunResult) -> None:
        """What a kind of engine adds to the finished result."""


class FlowLoadTest(LoadTest):
    """A v2 scenario file's load test (lunge.flowplan): `workers` FlowEngines, each running its
    share of every scenario's VUs and iterations on one thread; totals merge as LoadTest's,
    and the per-scenario, per-request detail is added to the result."""

    def __init__(self, plan: FlowPlan, workers: int = 1):
        from lunge._native.engine import EngineError
        from lunge._native.flow import FlowEngine

        self.plan = plan  # type: ignore[assignment]
        t = plan.transport
        self.curl = load_libcurl(t.http2, t.http3)
        n = max(1, min(workers, plan.max_parts(plan.shard)))
        self.plans = [plan] * n  # type: ignore[list-item]
        resolve: list[str] = []
        origins = []
        for url in plan.hosts:
            origin = pinned_address(url)
            resolve.extend(pinned_resolve(origin))
            if origin[2] is not None:
                origins.append(origin)
        check_tls_files(t.cacert, t.cert, t.key)
        vus = sum(s.vus for s in plan.specs(plan.shard))  # a connection per VU at most, or the cap
        raise_descriptor_limit(min(vus, t.max_connections) if t.max_connections else vus,
                               field=f"{plan.test_file.path}: the scenarios' VUs")
        common: dict[str, Any] = dict(insecure=t.insecure, http2=t.http2, http3=t.http3, resolve=tuple(dict.fromkeys(resolve)),
                      cacert=t.cacert or system_ca_bundle(), cert=t.cert, key=t.key, max_body=t.max_body,
                      connect_timeout=t.connect_timeout, grace=t.grace, own_pools=tuple(dict.fromkeys(origins)))
        try:
            self.flows = [FlowEngine(scenarios=plan.specs(plan.shard + ((i, n),)),
                                       max_connections=split_count(t.max_connections, i, n) if t.max_connections
                                       else 0, **common)
                            for i in range(n)]
        except ValueError as e:
            raise ConfigError(str(e)) from None
        except EngineError as e:
            raise InternalError(str(e)) from None
        self.engines = self.flows  # type: ignore[assignment]  # the same snapshot/harvest/results API
        self._ready()

    def scenario_snapshot(self):
        """Each scenario's live state, summed over the engines."""
        from lunge._native.contract import ScenarioSnapshot

        per = [e.scenario_snapshot() for e in self.flows]
        out = []
        for parts in zip(*per):
            states = {p.state for p in parts}
            state = next(s for s in ("running", "stopping", "waiting", "done") if s in states)
            out.append(ScenarioSnapshot(name=parts[0].name, state=state,
                                        **{f: sum(getattr(p, f) for p in parts)
                                           for f in ScenarioSnapshot._fields if f not in ("name", "state")}))
        return out

    def _complete(self, result: RunResult) -> None:
        from lunge.results.flows import ScenarioResult

        per_engine = [e.flow_results() for e in self.flows]
        result.scenarios = ScenarioResult.from_engines(per_engine)  # engine threads start together: no shift


# An open-model run is rate-limited by the generator if scheduled requests went unsent or
# sends lagged their schedule by more than this at p99.
RATE_LIMIT_LAG_NS = 10_000_000


def run_warnings(r: RunResult, series_overruns: int) -> list[str]:
    """What the whole run (every engine's part together) warns of: the rate not sustained,
    seconds folded together."""
    warnings = []
    if r.open_model:
        sent = r.issued - r.warmup_issued
        lag_p99 = r.histograms["sendLag"].percentile(99)
        if r.scheduled > sent or lag_p99 > RATE_LIMIT_LAG_NS:
            warnings.append(
                f"{RATE_LIMIT}: the target rate was not sustained: {max(0, r.scheduled - sent)} scheduled requests "
                f"were never sent, sends lagged {lag_p99 / 1e6:.1f} ms at p99 (max {r.max_lag_ns / 1e6:.1f} ms, "
                f"{r.late_sends} of {sent} more than 1 ms late); add connections (--concurrency) or "
                f"workers, or lower the rate")
    if series_overruns:
        warnings.append(f"the time series folded {series_overruns} seconds together "
                        f"(the process was too busy to collect them)")
    return warnings


def _merge_second(parts: list[HarvestedSecond]) -> HarvestedSecond:
    """One harvested second from the same second of several engines."""
    if len(parts) == 1:
        return parts[0]
    return HarvestedSecond(
        sec=parts[0].sec, last_sec=max(p.last_sec for p in parts),
        requests=sum(p.requests for p in parts), failures=sum(p.failures for p in parts),
        errors=sum(p.errors for p in parts), bytes=sum(p.bytes for p in parts),
        status_classes=tuple(map(sum, zip(*(p.status_classes for p in parts)))),
        hist=SparseHist.merge([p.hist for p in parts]) or SparseHist.empty())


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def run(plan: Plan | FlowPlan, monitor=None, workers: int | None = None) -> RunResult:
    """Run to the end in the foreground; Ctrl-C / SIGTERM / SIGHUP stop it (twice: abort).
    workers: engine threads (default: the usable cores, capped by the connections).

    `monitor` (lunge.live.view.Live) sees every snapshot through `tick()`, which may return
    (error type, message) to stop the run early, as a protection does; `finish()` then
    gets the result and that reason."""
    n = workers if workers is not None else usable_cores()
    test = FlowLoadTest(plan, n) if isinstance(plan, FlowPlan) else LoadTest(plan, n)
    if monitor is not None:
        monitor.start(test)  # may refuse (say, a busy --metrics-port) before anything is sent
    previous = _install_sigterm()
    stop = None
    test.start()
    try:
        while True:
            try:
                if test.poll():
                    break
                snap = test.snapshot()
                if monitor is not None and stop is None:
                    stop = monitor.tick(snap)
                    if stop is not None and test.stops == 0:
                        test.stop()
            except (KeyboardInterrupt, _Stop):
                if test.stops == 0:
                    test.stop()
                else:
                    test.abort()
    except BaseException:
        if monitor is not None:
            monitor.close()
        raise
    finally:
        _restore_sigterm(previous)
        if not test.done:  # an exception escaped the loop above: do not leave the engine running
            test.abort()
    try:
        result = test.wait()
    except BaseException:
        if monitor is not None:
            monitor.close()
        raise
    if monitor is not None:
        monitor.finish(result, stop)
    return result


# Signals that stop a run as Ctrl-C does. SIGHUP's default (end the process) would lose
# the run when the terminal or SSH session behind it goes away.  Windows has no SIGHUP; its
# Ctrl-Break (SIGBREAK) stops a run as Ctrl-C does.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGBREAK") if hasattr(signal, name))


def _install_sigterm():
    if threading.current_thread() is not threading.main_thread():
        return None

    def on_term(_sig, _frame):
        raise _Stop()

    return {sig: signal.signal(sig, on_term) for sig in STOP_SIGNALS}


def _restore_sigterm(previous):
    for sig, handler in (previous or {}).items():
        signal.signal(sig, handler)
