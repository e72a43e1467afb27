"""Run a Plan on the native engine: start the loop thread, read snapshots, collect the result.

Python touches the run only a few times a second (snapshot + harvest of closed seconds);
the loop itself runs in the engine's thread with the GIL released.  Ctrl-C or SIGTERM
stops issuing (in-flight requests finish within the grace period); a second one aborts.
Either way the result holds everything measured and is marked `interrupted`.
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


def run(plan: Plan, on_tick: Callable[[dict], None] | None = None) -> RunResult:
    from lunge._native.engine import Engine, EngineError

    curl = libcurl.load()
    if plan.transport.http2 and not curl["http2"]:
        raise ConfigError(f"--http2: libcurl {curl['version']} ({curl['path']}) has no HTTP/2 support")
    try:
        engine = Engine(**plan.engine_kwargs())
    except ValueError as e:
        raise ConfigError(str(e)) from None
    except EngineError as e:
        raise LungeError(str(e)) from None

    failure: list[BaseException] = []

    def loop():
        try:
            engine.run()
        except BaseException as e:  # reported on the main thread
            failure.append(e)

    seconds: list[dict] = []
    stops = 0
    previous = _install_sigterm()
    thread = threading.Thread(target=loop, name="lunge-engine", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            try:
                thread.join(TICK)
                seconds.extend(engine.harvest())
                if on_tick:
                    on_tick(engine.snapshot())
            except (KeyboardInterrupt, _Stop):
                stops += 1
                if stops == 1:
                    engine.stop()
                else:
                    engine.abort()
    finally:
        _restore_sigterm(previous)
        if thread.is_alive():  # an exception escaped the loop above: do not leave the loop running
            engine.abort()
            thread.join()
    seconds.extend(engine.harvest())
    if failure:
        raise LungeError(f"engine failed: {failure[0]}")
    return RunResult.from_engine(plan, engine.results(), seconds, curl, interrupted=stops > 0)


def _install_sigterm():
    if threading.current_thread() is not threading.main_thread():
        return None

    def on_term(_sig, _frame):
        raise _Stop()

    return signal.signal(signal.SIGTERM, on_term)


def _restore_sigterm(previous):
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)

