"""The live console on stderr (stdout stays the report).

- a terminal: a one-line progress bar redrawn a few times a second, or with --real-time a
  panel redrawn every second;
- anything else (CI logs, pipes): one plain line every `interval` seconds, no control
  characters.

Views come from lunge.live.view; nothing here reads the engine.
"""
from __future__ import annotations

import shutil

from lunge._native.contract import Snapshot
from lunge.units import format_bytes, format_ms


def for_stream(stream, tty: bool, real_time: bool, interval: float):
    if tty:
        return Panel(stream) if real_time else Bar(stream)
    return Lines(stream, interval)


def _n(x) -> str:
    return f"{x:,.0f}"


def _progress(snap: Snapshot, live) -> tuple[float | None, str]:
    """(fraction done or None, 'elapsed/planned' or 'done/iterations')."""
    if live.iterations:
        done = snap.completed
        return min(1.0, done / live.iterations), f"{_n(done)}/{_n(live.iterations)}"
    if live.planned:
        return min(1.0, snap.elapsed_s / live.planned), f"{snap.elapsed_s:.0f}s/{live.planned:.0f}s"
    return None, f"{snap.elapsed_s:.0f}s"


def _lat(d: dict | None) -> str:
    if not d or "p50Ms" not in d:
        return "p50 -  p95 -  p99 -"
    return "  ".join(f"p{p} {format_ms(d[f'p{p}Ms'])}" for p in (50, 95, 99))


def _generator(view: dict | None) -> str:
    res = view and view.get("resources")
    if not res:
        return "-"
    fds = f"  fds {res['openFds']}" if res["openFds"] is not None else ""
    return f"CPU {res['cpuPercent']:.0f}%  RSS {format_bytes(res['rssBytes'])}{fds}"


class _Console:
    def __init__(self, stream):
        self.out = stream

    def _write(self, text: str) -> None:
        try:
            self.out.write(text)
            self.out.flush()
        except (OSError, ValueError):  # stderr closed (e.g. a pipe reader that went away): go quiet
            self.out = None

    def note(self, text: str) -> None:
        self.warn(text, prefix="lunge: ")

    def warn(self, text: str, prefix: str = "lunge: warning: ") -> None:
        self._write(prefix + text + "\n")

    def tick(self, snap, view, live) -> None:
        pass

    def second(self, view: dict) -> None:
        pass

    def final(self, snap, view, live) -> None:
        """The run is over: show its final counts (on a terminal)."""

    def close(self, result) -> None:
        pass


class Lines(_Console):
    """Off a terminal: one compact line every `interval` seconds of the run."""

    def __init__(self, stream, interval: float):
        super().__init__(stream)
        self.interval = interval
        self._last = 0

    def second(self, view: dict) -> None:
        if not self.interval or self.out is None or view["t"] - self._last < self.interval:
            return
        self._last = view["t"]
        self._write(line(view) + "\n" + "".join(f"lunge: {ln.strip()}\n" for ln in scenario_lines(view)))


def line(view: dict) -> str:
    """One plain-text line of a view: what Lines prints."""
    planned = f"/{view['planned']:.0f}s" if view["planned"] else ""
    iters = f"/{_n(view['iterations'])}" if view["iterations"] else ""
    target = f" (target {view['targetRps']:,.0f})" if view["targetRps"] is not None else ""
    return (f"lunge: {view['elapsed']:.0f}s{planned}  {_n(view['completed'])}{iters} done  "
            f"{view['rps']:,.0f} req/s{target}  {view['inFlight']} in flight  {_n(view['failures'])} failed  "
            f"{_lat(view['cumulative'])}  {_generator(view)}")


def scenario_lines(view: dict) -> list[str]:
    """Flows: one line per scenario: its state, VUs (of the executor's target), rates, dropped."""
    out = []
    for sc in view.get("scenarios") or ():
        dropped = f"  {_n(sc['dropped'])} dropped" if sc["dropped"] else ""
        stage = f" {sc['stage']}" if sc.get("stage") else ""
        out.append(f"  {sc['name'][:20]:<20} {sc['state']:<8}{stage} {sc['vus']}/{sc['targetVus']} VUs  "
                   f"{sc['iterationsPerSec']:,.0f} it/s  {sc['rps']:,.0f} req/s  {_n(sc['iterations'])} iterations"
                   f"{dropped}  {_n(sc['failures'])} failed")
    return out


class _Redrawn(_Console):
    """A terminal block redrawn in place; warnings are printed above it."""

    def __init__(self, stream):
        super().__init__(stream)
        self._lines = 0  # lines of the block currently on screen

    def _draw(self, lines: list[str]) -> None:
        width = max(20, shutil.get_terminal_size((100, 24)).columns - 1)  # never wrap: that breaks redraws
        self._write(self._erase() + "".join(ln[:width] + "\n" for ln in lines))
        self._lines = len(lines)

    def _erase(self) -> str:
        return f"\x1b[{self._lines}F\x1b[J" if self._lines else ""

    def warn(self, text: str, prefix: str = "lunge: warning: ") -> None:
        self._write(self._erase() + prefix + text + "\n")
        self._lines = 0
        self._redraw()

    def _redraw(self) -> None:
        pass

    def final(self, snap, view, live) -> None:
        self.tick(snap, view, live)
        self.second(view)

    def close(self, result) -> None:
        self._lines = 0  # the last drawing stays on screen above the report


class Bar(_Redrawn):
    """`lunge [#####.....] 42%  12s/30s  5,230 req/s  48 in flight  0 failed`"""

    WIDTH = 24

    def __init__(self, stream):
        super().__init__(stream)
        self._text = None

    def tick(self, snap, view, live) -> None:
        frac, where = _progress(snap, live)
        if frac is None:
            bar = ""
        else:
            full = int(frac * self.WIDTH)
            bar = f"[{'#' * full}{'.' * (self.WIDTH - full)}] {frac * 100:3.0f}%  "
        rps = f"{view['rps']:,.0f}" if view else "-"
        self._text = (f"lunge {bar}{where}  {rps} req/s  {snap.in_flight} in flight  "
                      f"{_n(snap.failures)} failed")
        self._redraw()

    def _redraw(self) -> None:
        if self._text is not None:
            self._draw([self._text])


class Panel(_Redrawn):
    """--real-time: the full panel, redrawn every second."""

    def __init__(self, stream):
        super().__init__(stream)
        self._view = None

    def second(self, view: dict) -> None:
        self._view = view
        self._redraw()

    def _redraw(self) -> None:
        v = self._view
        if v is None:
            return
        planned = f" / {v['planned']:.0f}s" if v["planned"] else ""
        iters = f" / {_n(v['iterations'])}" if v["iterations"] else ""
        target = f"   target {v['targetRps']:,.0f}" if v["targetRps"] is not None else ""
        sc = v["statusClasses"]
        codes = "  ".join(f"{k} {_n(n)}" for k, n in sc.items() if k != "error" and n) or "-"
        last = v["lastSecond"]
        self._draw([
            f"lunge perf   {v['elapsed']:.0f}s{planned}   {_n(v['completed'])}{iters} done   "
            f"{_n(v['issued'])} sent",
            f"  rate        {v['rps']:,.0f} req/s now{target}",
            f"  in flight   {v['inFlight']}   connections {v['connections']}",
            f"  last second {_lat(last)}",
            f"  cumulative  {_lat(v['cumulative'])}",
            f"  status      {codes}",
            f"  errors      {_n(v['failures'])} failed: transport {_n(sc['error'])}  4xx {_n(sc['4xx'])}  "
            f"5xx {_n(sc['5xx'])}",
            f"  generator   {_generator(v)}",
            *scenario_lines(v),
        ])
