"""The live console on stderr (stdout stays the report).

- a terminal: a one-line progress bar redrawn a few times a second, or with --real-time a
  panel redrawn every second;
- anything else (CI logs, pipes): one plain line every `interval` seconds, no control
  characters.

Views come from lunge.live.view; nothing here reads the engine.
"""
from __future__ import annotations

import math
import os
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
    return "  ".join(t for t, _ in _generator_fields(view))


def _generator_fields(view: dict | None) -> list[tuple[str, int]]:
    res = view and view.get("resources")
    if not res:
        return [("-", 1)]
    fds = [(f"fds {res['openFds']}", 1)] if res["openFds"] is not None else []
    return [(f"CPU {res['cpuPercent']:.0f}%", 3), (f"RSS {format_bytes(res['rssBytes'])}", 2), *fds]


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


def scenario_lines(view: dict, width: int | None = None) -> list[str]:
    """Flows: one line per scenario: its state, VUs (of the executor's target), rates, dropped.
    With a width (a terminal), each line drops its least important fields to fit it."""
    out = []
    for sc in view.get("scenarios") or ():
        head = f"  {sc['name'][:20]:<20} {sc['state']:<8}" + (f" {sc['stage']}" if sc.get("stage") else "")
        fields = [(f"{sc['vus']}/{sc['targetVus']} VUs", 5), (f"{sc['iterationsPerSec']:,.0f} it/s", 2),
                  (f"{sc['rps']:,.0f} req/s", 4), (f"{_n(sc['iterations'])} iterations", 1)]
        if sc["dropped"]:
            fields.append((f"{_n(sc['dropped'])} dropped", 3))
        fields.append((f"{_n(sc['failures'])} failed", 6))
        if width is None:
            out.append(head + " " + "  ".join(t for t, _ in fields))
        else:
            if len(head) + 1 > width // 2:  # a long stage name gives way to the figures
                head = f"  {sc['name'][:12]:<12} {sc['state']:<8}"
            out.append(fit(head + " ", fields, width))
    return out


def fit(head: str, fields: list[tuple[str, int]], width: int, sep: str = "  ") -> str:
    """head + the fields joined by sep, in their order, leaving out the least important ones
    (lowest priority first) until the line is at most `width` characters; cut as a last resort."""
    kept = list(fields)
    while True:
        text = head + sep.join(t for t, _ in kept)
        if len(text) <= width or len(kept) <= 1:
            return text[:width]  # the most important field is cut rather than left out
        kept.remove(min(kept, key=lambda f: f[1]))


def terminal_width(stream) -> int:
    """The columns of the terminal `stream` writes to, read afresh (the user may resize it during
    the run); COLUMNS or 80 when it cannot be read."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, OSError, ValueError):  # not a real terminal (a test's stream), or closed
        return shutil.get_terminal_size((80, 24)).columns


def terminal_height(stream) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).lines or 24
    except (AttributeError, OSError, ValueError):
        return shutil.get_terminal_size((80, 24)).lines


class _Redrawn(_Console):
    """A terminal block redrawn in place; warnings are printed above it."""

    def __init__(self, stream):
        super().__init__(stream)
        self._drawn: list[int] = []  # the length of each line of the block on screen

    def width(self) -> int:
        """Columns a line may take: one less than the terminal's (a line that fills the last
        column wraps on some terminals), read at each draw."""
        return max(1, terminal_width(self.out) - 1)

    def _draw(self, lines: list[str]) -> None:
        """Replace the block on screen with `lines`, each cut to the width (a wrapped line would
        break the next redraw) and no more of them than the terminal's height."""
        width = self.width()
        lines = [ln[:width] for ln in lines[:max(1, terminal_height(self.out) - 1)]]
        self._write(self._erase() + "".join(ln + "\n" for ln in lines))
        self._drawn = [len(ln) for ln in lines]

    def _erase(self) -> str:
        """Up to the first line of the block and clear below. If the terminal became narrower
        since the last draw, a terminal that reflows its lines (tmux, most desktop terminals)
        now shows a long line on several rows: count them."""
        if not self._drawn:
            return ""
        cols = max(1, terminal_width(self.out))
        rows = sum(max(1, math.ceil(n / cols)) for n in self._drawn)
        return f"\x1b[{rows}F\x1b[J"

    def warn(self, text: str, prefix: str = "lunge: warning: ") -> None:
        self._write(self._erase() + prefix + text + "\n")
        self._drawn = []
        self._redraw()

    def _redraw(self) -> None:
        pass

    def final(self, snap, view, live) -> None:
        self.tick(snap, view, live)
        self.second(view)

    def close(self, result) -> None:
        self._drawn = []  # the last drawing stays on screen above the report


class Bar(_Redrawn):
    """`lunge [#####.....] 42%  12s/30s  5,230 req/s  48 in flight  0 failed`, fitted to the
    terminal's width at each draw (see bar_line)."""

    WIDTH = 24

    def __init__(self, stream):
        super().__init__(stream)
        self._state: tuple[float | None, str, str, int, int] | None = None

    def tick(self, snap, view, live) -> None:
        frac, where = _progress(snap, live)
        rps = f"{view['rps']:,.0f}" if view else "-"
        self._state = (frac, where, rps, snap.in_flight, snap.failures)
        self._redraw()

    def _redraw(self) -> None:
        if self._state is not None:
            self._draw([bar_line(*self._state, width=self.width())])


def bar_line(frac: float | None, where: str, rps: str, in_flight: int, failures: int, width: int) -> str:
    """The progress line in at most `width` columns. What gives way first: the in-flight count,
    then the bar's width (24 down to 8), the bar, the percentage, the rate; the position and
    the failures stay longest."""
    tail = [(where, 10), (f"{rps} req/s", 7), (f"{in_flight} in flight", 1), (f"{_n(failures)} failed", 9)]
    if frac is not None:
        pct = f"{frac * 100:3.0f}%"
        for fields in (tail, [f for f in tail if f[1] > 1]):
            for bw in range(Bar.WIDTH, 7, -1) if fields is not tail else (Bar.WIDTH,):
                full = int(frac * bw)
                text = f"lunge [{'#' * full}{'.' * (bw - full)}] {pct}  " + "  ".join(t for t, _ in fields)
                if len(text) <= width:
                    return text
        tail = [(pct.strip(), 5), *tail[:2], tail[3]]
    return fit("lunge ", tail, width)


SPARK = " ▁▂▃▄▅▆▇█"
SPARK_ASCII = " .:-=+*#%"


def sparkline(values, ticks: str = SPARK) -> str:
    """One character per value, scaled to the largest (0 is the lowest tick, blank)."""
    top = max(values, default=0)
    if top <= 0:
        return ticks[0] * len(values)
    return "".join(ticks[min(len(ticks) - 1, math.ceil(v / top * (len(ticks) - 1)))] for v in values)


class Panel(_Redrawn):
    """--real-time: the full panel, redrawn every second and fitted to the terminal at each draw:
    the counts, progress and time left, a rate sparkline of the last seconds, percentiles,
    status classes, errors, the generator, the flow's scenarios and a latency histogram."""

    HISTORY = 120  # seconds of rate kept for the sparkline

    def __init__(self, stream):
        super().__init__(stream)
        self._view = None
        self._rates: list[float] = []
        self._unicode = "utf" in (getattr(stream, "encoding", None) or "").lower()

    def second(self, view: dict) -> None:
        self._view = view
        self._rates = (self._rates + [view["rps"]])[-self.HISTORY:]
        self._redraw()

    def _redraw(self) -> None:
        if self._view is not None:
            self._draw(self.lines(self._view, self.width()))

    def lines(self, v: dict, width: int) -> list[str]:
        planned = f" / {v['planned']:.0f}s" if v["planned"] else ""
        iters = f" / {_n(v['iterations'])}" if v["iterations"] else ""
        sc = v["statusClasses"]
        codes = [(f"{k} {_n(n)}", 9 - i) for i, (k, n) in enumerate(sc.items()) if k != "error" and n] or [("-", 9)]
        out = [fit("lunge perf   ", [(f"{v['elapsed']:.0f}s{planned}", 9), (f"{_n(v['completed'])}{iters} done", 8),
                                     (f"{_n(v['issued'])} sent", 1)], width, sep="   ")]
        progress = self._progress(v, width)
        if progress:
            out.append(progress)
        target = [(f"target {v['targetRps']:,.0f}", 5)] if v["targetRps"] is not None else []
        out.append(fit("  rate        ", [(f"{v['rps']:,.0f} req/s now", 9), *target], width, sep="   "))
        spark = self._spark(width)
        if spark:
            out.append(spark)
        versions = v.get("httpVersions") or {}
        # the mix of HTTP versions, when there is more than HTTP/1.1 to tell (--http2, --http3)
        shown = [(f"HTTP/{k} {_n(n)}", 3) for k, n in versions.items()] if set(versions) - {"1.1"} else []
        out += [fit("  in flight   ", [(str(v["inFlight"]), 9), (f"connections {v['connections']}", 5), *shown],
                    width, sep="   "),
                fit("  last second ", _lat_fields(v["lastSecond"]), width),
                fit("  cumulative  ", _lat_fields(v["cumulative"]), width),
                fit("  status      ", codes, width),
                fit(f"  errors      {_n(v['failures'])} failed: ", [(f"transport {_n(sc['error'])}", 5),
                                                                 (f"4xx {_n(sc['4xx'])}", 4), (f"5xx {_n(sc['5xx'])}", 6)], width),
                fit("  generator   ", _generator_fields(v), width),
                *scenario_lines(v, width),
                *self._histogram(v.get("latencyHistogram"), width)]
        return out

    def _progress(self, v: dict, width: int) -> str | None:
        """`  progress    [########.......]  53%  14s left`: through the planned time, or the
        iterations (time left estimated from the rate of the last second)."""
        if v["planned"]:
            frac = min(1.0, v["elapsed"] / v["planned"])
            left = f"{max(0.0, v['planned'] - v['elapsed']):.0f}s left"
        elif v["iterations"]:
            frac = min(1.0, v["completed"] / v["iterations"])
            rest = v["iterations"] - v["completed"]
            left = f"~{rest / v['rps']:.0f}s left" if v["rps"] and rest > 0 else ""
        else:
            return None
        tail = f" {frac * 100:3.0f}%  {left}".rstrip()
        head = "  progress    "
        bw = min(40, width - len(head) - len(tail) - 2)
        if bw < 5:
            return fit(head, [(tail.strip(), 1)], width)
        full = int(frac * bw)
        bar = ("█" * full + "░" * (bw - full)) if self._unicode else ("#" * full + "." * (bw - full))
        return f"{head}[{bar}]{tail}"

    def _spark(self, width: int) -> str | None:
        """`  rate, 60s   ▁▂▃▅▆▇█▇▆▅  max 5,400`: one character per second, as many as fit."""
        if len(self._rates) < 2:
            return None
        top = f"  max {max(self._rates):,.0f}"
        n = min(len(self._rates), 60, width - 14 - len(top))
        if n < 2:
            return None
        rates = self._rates[-n:]
        return f"  {f'rate, {n}s':<12}{sparkline(rates, SPARK if self._unicode else SPARK_ASCII)}{top}"

    def _histogram(self, rows, width: int) -> list[str]:
        """`  latency (all responses so far)` then one row per bucket: `   <= 1.20ms ████ 1,234`."""
        if not rows or width < 30:
            return []
        labels = [format_ms(ms) for ms, _ in rows]
        counts = [_n(c) for _, c in rows]
        lw, cw = max(map(len, labels)), max(map(len, counts))
        bw = min(40, width - 7 - lw - cw - 2)
        if bw < 4:
            return []
        top = max(c for _, c in rows) or 1
        block = "█" if self._unicode else "#"
        out = ["  latency     all responses so far"]
        for label, count, (_, c) in zip(labels, counts, rows):
            bar = block * (math.ceil(c / top * bw) if c else 0)
            out.append(f"    <= {label:>{lw}} {bar:<{bw}} {count:>{cw}}")
        return out


def _lat_fields(d: dict | None) -> list[tuple[str, int]]:
    if not d or "p50Ms" not in d:
        return [("p50 -  p95 -  p99 -", 1)]
    return [(f"p{p} {format_ms(d[f'p{p}Ms'])}", prio) for p, prio in ((50, 8), (95, 5), (99, 9))]
