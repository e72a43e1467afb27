"""Run a Plan on the native engine: start the loop thread, read snapshots, collect the result.

Python touches the run only a few times a second (snapshot + harvest of closed seconds);
the loop itself runs in the engine's thread with the GIL released.

    test = LoadTest(plan).start()      # the engine API (perf-design.md's PerformanceEngine)
    test.snapshot()                    # live counters (GetRealTimeMetrics)
    test.stop()                        # StopTest: stop issuing, let in-flight requests finish
    result = test.wait()               # RunResult, `interrupted` if stopped early

`run()` is what the CLI uses: Ctrl-C or SIGTERM stops issuing (in-flight requests finish
within the grace period); a second one aborts.  Either way the result holds everything
measured and is marked `interrupted`.
"""
from __future__ import annotations

import signal
import threading
from typing import Callable

from lunge import libcurl
from lunge.errors import ConfigError, LungeError
from lunge.plan import Plan
from lunge.result import RunResult

TICK = 0.25  # seconds between snapshots


class _Stop(Exception):
    pass


class LoadTest:
    def __init__(self, plan: Plan):
        from lunge._native.engine import Engine, EngineError

        self.plan = plan
        self.curl = libcurl.load()
        if plan.transport.http2 and not self.curl["http2"]:
            raise ConfigError(f"--http2: libcurl {self.curl['version']} ({self.curl['path']}) has no HTTP/2 support")
        try:
            self.engine = Engine(**plan.engine_kwargs())
        except ValueError as e:
            raise ConfigError(str(e)) from None
        except EngineError as e:
            raise LungeError(str(e)) from None
        self.seconds: list[dict] = []
        self.stops = 0
        self._failure: list[BaseException] = []
        # Not thread.is_alive(): a KeyboardInterrupt inside Thread.join can make a running
        # thread look finished (CPython 3.11).  The loop thread says when it is done.
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lunge-engine", daemon=True)

    def _loop(self):
        try:
            self.engine.run()
        except BaseException as e:  # reported by wait()
            self._failure.append(e)
        finally:
            self._done.set()

    def start(self) -> "LoadTest":
        self._thread.start()
        return self

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def snapshot(self) -> dict:
        return self.engine.snapshot()

    def poll(self, timeout: float = TICK) -> bool:
        """Wait up to `timeout` for the end, collecting closed seconds. True once done."""
        self._done.wait(timeout)
        self.seconds.extend(self.engine.harvest())
        return self._done.is_set()

    def stop(self) -> None:
        """Stop issuing; in-flight requests finish within the grace period."""
        self.stops += 1
        self.engine.stop()

    def abort(self) -> None:
        """Stop now; in-flight requests are counted as aborted."""
        self.stops += 1
        self.engine.abort()

    def wait(self) -> RunResult:
        while not self.poll():
            pass
        self._thread.join()
        self.seconds.extend(self.engine.harvest())
        if self._failure:
            raise LungeError(f"engine failed: {self._failure[0]}")
        return RunResult.from_engine(self.plan, self.engine.results(), self.seconds, self.curl,
                                     interrupted=self.stops > 0)


def run(plan: Plan, on_tick: Callable[[dict], None] | None = None) -> RunResult:
    """Run to the end in the foreground; Ctrl-C / SIGTERM stop it (twice: abort)."""
    test = LoadTest(plan)
    previous = _install_sigterm()
    test.start()
    try:
        while True:
            try:
                if test.poll():
                    break
                if on_tick:
                    on_tick(test.snapshot())
            except (KeyboardInterrupt, _Stop):
                if test.stops == 0:
                    test.stop()
                else:
                    test.abort()
    finally:
        _restore_sigterm(previous)
        if not test.done:  # an exception escaped the loop above: do not leave the engine running
            test.abort()
    return test.wait()


def _install_sigterm():
    if threading.current_thread() is not threading.main_thread():
        return None

    def on_term(_sig, _frame):
        raise _Stop()

    return signal.signal(signal.SIGTERM, on_term)


def _restore_sigterm(previous):
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)
