"""Inline SVG charts for the HTML report, drawn in Python: no script, no CDN, no network.

A Chart maps data to a plot area (linear or log axes), draws grid, ticks, series and
shaded time ranges, and serialises to a compact <svg> string.  Long series are reduced to
at most MAX_POINTS per line by taking each slot's maximum (so spikes survive).
"""
from __future__ import annotations

import math
from html import escape

import numpy as np

MAX_POINTS = 900
PALETTE = ("#2563eb", "#f59e0b", "#dc2626", "#10b981", "#7c3aed", "#0891b2", "#db2777", "#65a30d")


def _fmt(v: float) -> str:
    """Tick label: short and unit-free."""
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:g}M"
    if a >= 1e4:
        return f"{v / 1e3:g}k"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 1:
        return f"{v:.3g}"
    return f"{v:.2g}"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    return [round(start + i * step, 10) for i in range(int((hi - start) / step + 1e-9) + 1)]


def reduce_max(xs, ys, limit: int = MAX_POINTS):
    """At most `limit` points: each slot keeps its x midpoint and its y maximum."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if len(xs) <= limit:
        return xs, ys
    edges = np.linspace(0, len(xs), limit + 1).astype(int)
    return (np.array([xs[a:b].mean() for a, b in zip(edges[:-1], edges[1:])]),
            np.array([ys[a:b].max() for a, b in zip(edges[:-1], edges[1:])]))


class Chart:
    def __init__(self, name: str, title: str, xlabel: str, ylabel: str, width=920, height=260,
                 xlog=False, ylog=False):
        self.name, self.title, self.xlabel, self.ylabel = name, title, xlabel, ylabel
        self.w, self.h = width, height
        self.ml, self.mr, self.mt, self.mb = 58, 34, 30, 42
        self.xlog, self.ylog = xlog, ylog
        # (lo, hi) of each axis, from set_range() (svg() sets a default when no mark did)
        self.xr: tuple[float, float] = None  # type: ignore[assignment]
        self.yr: tuple[float, float] = None  # type: ignore[assignment]
        self.parts: list[str] = []
        self.legend: list[tuple[str, str]] = []
        self.xticks: list[tuple[float, str]] | None = None  # [(value, label)] overrides the automatic ticks
        self.yaxis = True   # False: no y ticks (a single stacked bar)

    # -------------------------------------------------------------- scales
    def set_range(self, x0, x1, y0, y1):
        if x1 <= x0:
            x1 = x0 + 1
        if y1 <= y0:
            y1 = y0 + 1
        self.xr, self.yr = (x0, x1), (y0, y1)

    def _t(self, v, r, log):
        if log:
            v, r = math.log10(max(v, 1e-9)), (math.log10(max(r[0], 1e-9)), math.log10(max(r[1], 1e-9)))
        return (v - r[0]) / (r[1] - r[0])

    def px(self, x):
        return self.ml + self._t(x, self.xr, self.xlog) * (self.w - self.ml - self.mr)

    def py(self, y):
        return self.h - self.mb - self._t(y, self.yr, self.ylog) * (self.h - self.mt - self.mb)

    # -------------------------------------------------------------- marks
    def line(self, xs, ys, label: str, color: str, width=1.6, dash: str = "", cls: str = "series"):
        """A polyline; `dash` a stroke-dasharray ("6 4": a reference line such as the target rate)."""
        xs, ys = reduce_max(xs, ys)
        if not len(xs):
            return
        pts = " ".join(f"{self.px(x):.1f},{self.py(y):.1f}" for x, y in zip(xs, ys))
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<polyline class="{cls}" fill="none" stroke="{color}" stroke-width="{width}"{dashed} '
                          f'stroke-linejoin="round" points="{pts}"><title>{escape(label)}</title></polyline>')
        self.legend.append((label, color))

    def bars(self, xs, ys, label: str, color: str, bar_w: float | None = None, titles=None):
        if not len(xs):
            return
        base = self.py(self.yr[0] if not self.ylog else self.yr[0])
        out = []
        for i, (x, y) in enumerate(zip(xs, ys)):
            if y <= 0:
                continue
            w = bar_w if bar_w is not None else max((self.w - self.ml - self.mr) / max(len(xs), 1) - 1, 1)
            top = self.py(y)
            t = f"<title>{escape(titles[i])}</title>" if titles else ""
            out.append(f'<rect class="bar" x="{self.px(x) - w / 2:.1f}" y="{top:.1f}" width="{w:.1f}" '
                       f'height="{max(base - top, 0.5):.1f}" fill="{color}">{t}</rect>')
        self.parts.append("".join(out))
        self.legend.append((label, color))

    def span_bars(self, spans, label: str, color: str, titles=None):
        """Bars over x ranges: [(x0, x1, y)], e.g. histogram buckets."""
        base = self.py(self.yr[0])
        out = []
        for i, (x0, x1, y) in enumerate(spans):
            if y <= 0:
                continue
            a, b, top = self.px(x0), self.px(x1), self.py(y)
            t = f"<title>{escape(titles[i])}</title>" if titles else ""
            out.append(f'<rect class="bar" x="{a:.1f}" y="{top:.1f}" width="{max(b - a - 1, 1):.1f}" '
                       f'height="{max(base - top, 0.5):.1f}" fill="{color}">{t}</rect>')
        self.parts.append("".join(out))
        self.legend.append((label, color))

    def bands(self, ranges, color="#dc2626", opacity=0.12):
        """Shaded x ranges with a tooltip each: [(x0, x1, text)] (the anomalies)."""
        out = []
        for x0, x1, text in ranges:
            a, b = self.px(max(x0, self.xr[0])), self.px(min(x1, self.xr[1]))
            out.append(f'<rect class="anomaly" x="{a:.1f}" y="{self.mt}" width="{max(b - a, 2):.1f}" '
                       f'height="{self.h - self.mt - self.mb}" fill="{color}" fill-opacity="{opacity}">'
                       f'<title>{escape(text)}</title></rect>')
        self.parts.insert(0, "".join(out))

    # -------------------------------------------------------------- output
    def _axes(self) -> str:
        out = []
        x0, x1 = self.ml, self.w - self.mr
        y0, y1 = self.mt, self.h - self.mb
        if not self.yaxis:
            yt = []
        elif self.ylog:
            lo, hi = math.floor(math.log10(max(self.yr[0], 1e-9))), math.ceil(math.log10(self.yr[1]))
            yt = [10 ** e for e in range(lo, hi + 1) if self.yr[0] <= 10 ** e <= self.yr[1]]
        else:
            yt = nice_ticks(*self.yr)
        for v in yt:
            y = self.py(v)
            out.append(f'<line x1="{x0}" x2="{x1}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                       f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(v)}</text>')
        xt = self.xticks or [(v, _fmt(v)) for v in nice_ticks(*self.xr, n=8)]
        for v, label in xt:
            if not (self.xr[0] <= v <= self.xr[1]):
                continue
            x = self.px(v)
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y0}" y2="{y1}" class="grid"/>'
                       f'<text x="{x:.1f}" y="{y1 + 16}" text-anchor="middle">{escape(label)}</text>')
        out.append(f'<line x1="{x0}" x2="{x1}" y1="{y1}" y2="{y1}" class="axis"/>'
                   f'<line x1="{x0}" x2="{x0}" y1="{y0}" y2="{y1}" class="axis"/>')
        out.append(f'<text x="{(x0 + x1) / 2:.0f}" y="{self.h - 6}" text-anchor="middle" class="label">'
                   f'{escape(self.xlabel)}</text>')
        out.append(f'<text transform="translate(14,{(y0 + y1) / 2:.0f}) rotate(-90)" text-anchor="middle" '
                   f'class="label">{escape(self.ylabel)}</text>')
        return "".join(out)

    def _legend(self) -> str:
        out, x = [], self.ml
        for label, color in self.legend:
            out.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{color}"/>'
                       f'<text x="{x + 16}" y="18">{escape(label)}</text>')
            x += 28 + 7 * len(label)
        return "".join(out)

    def svg(self) -> str:
        if self.xr is None:
            self.set_range(0, 1, 0, 1)
        return (f'<svg class="chart" data-chart="{self.name}" viewBox="0 0 {self.w} {self.h}" '
                f'width="{self.w}" height="{self.h}" role="img" aria-label="{escape(self.title)}">'
                f'{self._axes()}{"".join(self.parts)}{self._legend()}</svg>')


def empty(name: str, title: str, message: str, width=920, height=120) -> str:
    return (f'<svg class="chart empty" data-chart="{name}" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="{escape(title)}">'
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">{escape(message)}</text></svg>')
