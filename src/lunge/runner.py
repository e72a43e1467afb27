"""Run a Plan on the native engine: start the loop thread, read snapshots, collect the result.

Python touches the run only a few times a second (snapshot + harvest of closed seconds);
the loop itself runs in the engine's thread with the GIL released.

    test = LoadTest(plan).start()      # the engine API (the original design's PerformanceEngine)
    test.snapshot()                    # live counters (GetRealTimeMetrics)
    test.stop()                        # StopTest: stop issuing, let in-flight requests finish
    result = test.wait()               # RunResult, `interrupted` if stopped early

`run()` is what the CLI uses: Ctrl-C or SIGTERM stops issuing (in-flight requests finish
within the grace period); a second one aborts.  Either way the result holds everything
measured and is marked `interrupted`.
"""
from __future__ import annotations

import os
import signal
import threading

import numpy as np

from lunge import libcurl
from lunge.errors import ConfigError, InternalError
from lunge.plan import Plan
from lunge.prepare import prepare
from lunge.results import RunResult, SparseHist

TICK = 0.25  # seconds between snapshots


class _Stop(Exception):
    pass


class LoadTest:
    """One load test on `workers` engines: each its own thread (GIL released) and curl multi
    handle, with its share of the connections, iterations and rate; results merge exactly."""

    def __init__(self, plan: Plan, workers: int = 1):
        from lunge._native.engine import Engine, EngineError

        self.plan = plan
        self.curl = libcurl.load()
        if plan.transport.http2 and not self.curl["http2"]:
            raise ConfigError(f"--http2: libcurl {self.curl['version']} ({self.curl['path']}) has no HTTP/2 support")
        workers = max(1, min(workers, plan.max_parts()))
        self.plans = [plan] if workers == 1 else [plan.share(i, workers) for i in range(workers)]
        prepared = prepare(plan)  # once per run, whatever the number of engines
        try:
            self.engines = [Engine(**prepared.engine_kwargs(p)) for p in self.plans]
        except ValueError as e:
            raise ConfigError(str(e)) from None
        except EngineError as e:
            raise InternalError(str(e)) from None
        self.seconds: list[list[dict]] = [[] for _ in self.engines]  # per engine, as harvested
        self.closed: list[dict] = []  # seconds every engine has closed, merged (for live views)
        self._pending: dict[int, list[dict]] = {}
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

    def snapshot(self) -> dict:
        snaps = [e.snapshot() for e in self.engines]
        out = {k: sum(s[k] for s in snaps) for k in snaps[0] if k not in ("elapsed", "statusClasses")}
        out["elapsed"] = max(s["elapsed"] for s in snaps)
        out["statusClasses"] = [sum(s["statusClasses"][i] for s in snaps) for i in range(6)]
        return out

    def _harvest(self, final: bool = False):
        for i, (store, engine) in enumerate(zip(self.seconds, self.engines)):
            new = engine.harvest()
            store.extend(new)
            for sec in new:
                self._pending.setdefault(sec["sec"], []).append(sec)
                self._last_sec[i] = sec["sec"]
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
        parts = [RunResult.from_engine(p, e.results(), secs, self.curl, interrupted=self.stops > 0)
                 for p, e, secs in zip(self.plans, self.engines, self.seconds)]
        if len(parts) == 1:
            return parts[0]
        merged = RunResult.merge(parts, kind="worker")
        merged.configuration = {**self.plan.configuration(), "workers": len(parts)}
        return merged


def _merge_second(parts: list[dict]) -> dict:
    """One engine-harvest-shaped second from the same second of several engines."""
    if len(parts) == 1:
        return parts[0]
    h = SparseHist.merge([SparseHist(*p["hist"]) for p in parts])
    hist = (h.idx, h.counts, h.total, h.min_ns, h.max_ns, h.sum_ns, h.sum_sq) if h else \
        (np.zeros(0, np.int32), np.zeros(0, np.uint64), 0, 0, 0, 0, 0.0)
    return {"sec": parts[0]["sec"], "lastSec": max(p["lastSec"] for p in parts),
            **{k: sum(p[k] for p in parts) for k in ("requests", "failures", "errors", "bytes")},
            "status": [sum(p["status"][i] for p in parts) for i in range(6)], "hist": hist}


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def run(plan: Plan, monitor=None, workers: int | None = None) -> RunResult:
    """Run to the end in the foreground; Ctrl-C / SIGTERM stop it (twice: abort).
    workers: engine threads (default: the usable cores, capped by the connections).

    `monitor` (lunge.live.view.Live) sees every snapshot through `tick()`, which may return
    (error type, message) to stop the run early, as a protection does; `finish()` then
    gets the result and that reason."""
    test = LoadTest(plan, workers if workers is not None else usable_cores())
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


def _install_sigterm():
    if threading.current_thread() is not threading.main_thread():
        return None

    def on_term(_sig, _frame):
        raise _Stop()

    return signal.signal(signal.SIGTERM, on_term)


def _restore_sigterm(previous):
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)
