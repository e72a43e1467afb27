"""The HTML report: one self-contained file (inline CSS and SVG, no network), rendered
with jinja2 from `templates/report.html.j2`.  `--template DIR` puts DIR first on the
template path, so a user can override the whole page (report.html.j2) or one of its
blocks by extending "base/report.html.j2"; a template FILE is used as the page itself.
"""
from __future__ import annotations

import math
import os
from typing import Any

import jinja2
import numpy as np
from jinja2.sandbox import SandboxedEnvironment

from lunge.analysis import Analysis, target
from lunge.errors import ConfigError
from lunge.report import charts
from lunge.units import distinct_ms, format_bytes, format_ms

PAGE = "report.html.j2"
PHASE_ORDER = (("dns", "DNS"), ("connect", "connect"), ("tls", "TLS"), ("ttfb", "waiting (TTFB)"),
               ("transfer", "transfer"))


def _environment(template: str | None) -> tuple[jinja2.Environment, str]:
    builtin = jinja2.PackageLoader("lunge.report", "templates")
    page = PAGE
    loaders: list[jinja2.BaseLoader] = []
    if template:
        if os.path.isfile(template):
            loaders.append(jinja2.FileSystemLoader(os.path.dirname(os.path.abspath(template))))
            page = os.path.basename(template)
        elif os.path.isdir(template):
            loaders.append(jinja2.FileSystemLoader(template))
        else:
            raise ConfigError(f"--template: {template!r} is neither a directory nor a file")
    # "base/..." always names the built-in templates, for overrides that extend them.
    loaders.append(jinja2.PrefixLoader({"base": builtin}))
    loaders.append(builtin)
    # Sandboxed: a template (--template, a config's reporting.template) is data, not code; it
    # reads the report's values but reaches no Python internals (no __class__, no os).
    env = SandboxedEnvironment(loader=jinja2.ChoiceLoader(loaders), autoescape=jinja2.select_autoescape(["html", "j2"]),
                             trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["ms"] = format_ms
    env.filters["bytes"] = format_bytes
    env.filters["pct"] = lambda v: "n/a" if v is None else f"{v * 100:.2f}%"
    return env, page


def check_template(template: str | None) -> None:
    """Compile the page before the run: a missing template or a syntax error is known without
    rendering (what the sandbox refuses shows only as the page renders)."""
    env, page = _environment(template)
    try:
        env.get_template(page)
    except jinja2.TemplateNotFound as e:
        raise ConfigError(f"--template: template {e.name!r} not found") from None
    except jinja2.TemplateError as e:
        raise ConfigError(f"--template: {type(e).__name__}: {e}") from None


def render(an: Analysis, thresholds: dict | None = None, comparison: dict | None = None,
           template: str | None = None, generated: str = "") -> str:
    env, page = _environment(template)
    result, analysis_block, rows = an.result, an.block, an.series
    resources = getattr(result, "resources", None) or None
    ctx = {
        "result": result,
        "cfg": result.configuration,
        "a": analysis_block,
        "m": an.metrics,
        "thresholds": thresholds,
        "comparison": comparison,
        "resources": resources,
        "warnings": result.warnings,
        "generated": generated,
        "target_rate": target.pattern_text(result.configuration),  # the open model's pattern, as text
        "charts": build_charts(an, rows, resources),
        "phase_names": PHASE_ORDER,
        "scenarios": list(zip(result.scenarios, an.scenarios)),
        "checked": [(s.name, st.name, c) for s in result.scenarios for st in s.steps for c in st.checks],
    }
    try:
        return env.get_template(page).render(**ctx)
    except jinja2.TemplateNotFound as e:
        raise ConfigError(f"--template: template {e.name!r} not found") from None
    except jinja2.TemplateError as e:
        raise ConfigError(f"--template: {type(e).__name__}: {e}") from None


def _anomaly_bands(a: dict) -> list:
    return [(x["fromS"], x["toS"], x["message"]) for x in a["anomalies"]]


def build_charts(an: Analysis, rows: list, resources) -> dict:
    result, a = an.result, an.block
    out: dict[str, Any] = {}  # chart name -> svg (a list of them for "resources")
    start_s = result.first_send_ns / 1e9
    end = max(result.elapsed_ns / 1e9, 1.0)
    first = min(rows[0]["t"], end - 1.0) if rows else 0.0  # the series' start: a warmup is not in it
    bands = _anomaly_bands(a)

    # latency percentiles over time
    have = [r for r in rows if r["responses"]]
    if have:
        c = charts.Chart("latency-over-time", "Latency percentiles over time", "time (s)", "latency (ms)")
        top = max(r["p99Ms"] for r in have)
        c.set_range(first, end, 0, top * 1.08)
        ht = np.array([_middle(r, start_s) for r in have])
        c.bands(bands)
        for key, label, color in (("p50Ms", "p50", charts.PALETTE[0]), ("p90Ms", "p90", charts.PALETTE[1]),
                                  ("p99Ms", "p99", charts.PALETTE[2])):
            c.line(ht, [r[key] for r in have], label, color)
        out["latency"] = c.svg()
    else:
        out["latency"] = charts.empty("latency-over-time", "Latency percentiles over time", "no responses")

    # throughput and errors over time
    c = charts.Chart("throughput-over-time", "Throughput and errors over time", "time (s)", "requests / s")
    shown = _throughput_points(rows, start_s)
    t = np.array([x for x, *_ in shown], dtype=float)
    done = [n / w for _, w, n, _f, _ in shown]
    peak = max(done, default=1.0)
    goal = target.rate_curve(result.configuration, target.origin_s(result))  # the open model's target rate
    if goal is not None:
        peak = max(peak, float(goal[1].max()))
    c.set_range(first, end, 0, max(peak, 1.0) * 1.08)
    c.bands(bands)
    if goal is not None:
        c.line(goal[0], goal[1], "target / s", "#6b7280", width=1.4, dash="6 4", cls="series target")
    c.line(t, done, "completed / s", charts.PALETTE[0])
    fails = [f / w for _, w, _n, f, _ in shown]
    if any(fails):
        c.bars(t, fails, "failed / s", charts.PALETTE[2],
               titles=[f"t={label}s: {f} failed of {n}" for _, _w, n, f, label in shown])
    out["throughput"] = c.svg()

    # distribution
    dist = a["responseTime"]["distribution"]
    if dist:
        c = charts.Chart("distribution", "Latency distribution", "latency (ms, log scale)", "responses", xlog=True)
        c.set_range(dist[0]["lowMs"], dist[-1]["highMs"], 0, max(d["count"] for d in dist) * 1.08)
        c.xticks = distribution_ticks(dist[0]["lowMs"], dist[-1]["highMs"])
        c.span_bars([(d["lowMs"], d["highMs"], d["count"]) for d in dist], "responses", charts.PALETTE[0],
                    titles=[f"{format_ms(d['lowMs'])} - {format_ms(d['highMs'])}: {d['count']}" for d in dist])
        out["distribution"] = c.svg()
    else:
        out["distribution"] = charts.empty("distribution", "Latency distribution", "no responses")

    # percentile plot, x = 1 / (1 - p) on a log scale, as HdrHistogram plots it
    curve = an.percentile_curve
    if curve:
        pts = [(1.0 / (1.0 - q / 100.0), v) for q, v, _ in curve if q < 100.0]
        xmax = max(10 ** math.ceil(math.log10(max(x for x, _ in pts) * 1.0001)), 10)
        pts.append((xmax, curve[-1][1]))  # the max, drawn at the right edge
        c = charts.Chart("percentiles", "Latency by percentile", "percentile", "latency (ms)", xlog=True)
        c.set_range(1, xmax, 0, curve[-1][1] * 1.08)
        c.xticks = [(10 ** k, _pct_label(k)) for k in range(0, int(math.log10(xmax)) + 1)]
        c.line([x for x, _ in pts], [v for _, v in pts], "response time", charts.PALETTE[4], width=2)
        out["percentiles"] = c.svg()
    else:
        out["percentiles"] = charts.empty("percentiles", "Latency by percentile", "no responses")

    # timing breakdown: mean of each phase as one stacked bar
    ph = a["phases"]
    parts = [(label, ph[k]["meanMs"]) for k, label in PHASE_ORDER if k in ph and ph[k]["count"]]
    total = sum(v for _, v in parts)
    if total > 0:
        c = charts.Chart("breakdown", "Timing breakdown", "mean time (ms)", "", height=120)
        c.mb, c.mt, c.yaxis = 36, 30, False
        c.set_range(0, total * 1.02, 0, 1)
        x0 = 0.0
        for i, (label, v) in enumerate(parts):
            c.parts.append(f'<rect class="bar" x="{c.px(x0):.1f}" y="{c.py(0.85):.1f}" '
                           f'width="{max(c.px(x0 + v) - c.px(x0), 0.5):.1f}" height="{c.py(0.15) - c.py(0.85):.1f}" '
                           f'fill="{charts.PALETTE[i]}"><title>{label}: {format_ms(v)}</title></rect>')
            c.legend.append((f"{label} {format_ms(v)}", charts.PALETTE[i]))
            x0 += v
        c.yr = (0, 1)
        out["breakdown"] = c.svg()
    else:
        out["breakdown"] = charts.empty("breakdown", "Timing breakdown", "no timing data")

    # resources (when the result carries them): one line per numeric field
    if resources:
        keys = [k for k in resources[0] if k != "t" and isinstance(resources[0][k], (int, float))]
        rt = [row.get("t", i) for i, row in enumerate(resources)]
        out["resources"], out["resource_titles"] = [], []
        for k in keys:
            vals = [row.get(k, 0) or 0 for row in resources]
            title, unit = resource_title(k)
            c = charts.Chart(f"resources-{k}", f"{title} ({unit})", "time (s)", unit, height=200)
            c.set_range(0, max(end, max(rt) + 1), 0, max(max(vals), 1e-9) * 1.08)
            c.bands(bands)
            c.line(rt, vals, title, charts.PALETTE[5])
            out["resources"].append(c.svg())
            out["resource_titles"].append(f"{title} ({unit})")
    out["scenarios"] = {s.name: scenario_chart(s, end) for s in result.scenarios}
    return out


def scenario_chart(s, end_s: float) -> str:
    """A scenario's requests and iterations completed per second over the run's time axis, and
    below it, on its own axis (VUs are tens where requests are thousands), the most VUs in an
    iteration at once in each second."""
    name = f"scenario-{s.name}"
    title = f"{s.name}: throughput"
    if not s.seconds:
        return charts.empty(name, title, "no iterations")
    t = np.array([r.sec + 0.5 for r in s.seconds], dtype=float)
    xmax = max(end_s, s.seconds[-1].sec + 1.0)
    series = (("requests / s", [r.requests for r in s.seconds], charts.PALETTE[0]),
              ("iterations / s", [r.iterations for r in s.seconds], charts.PALETTE[3]))
    top = max(max(v) for _, v, _c in series)
    c = charts.Chart(name, title, "time (s)", "per second", height=220)
    c.set_range(0, xmax, 0, max(top, 1) * 1.08)
    if len(t) == 1:  # one second: a line of one point draws nothing
        c.bars(t, series[0][1], series[0][0], series[0][2])
    for label, values, color in series[len(t) == 1:]:
        c.line(t, values, label, color)
    fails = [r.failures for r in s.seconds]
    if any(fails):
        c.bars(t, fails, "failed / s", charts.PALETTE[2],
               titles=[f"t={r.sec}s: {r.failures} failed of {r.requests}" for r in s.seconds])
    vus = [r.vus for r in s.seconds]
    v = charts.Chart(f"{name}-vus", f"{s.name}: VUs", "time (s)", "VUs", height=150)
    v.set_range(0, xmax, 0, max(max(vus), 1) * 1.15)
    if len(t) == 1:
        v.bars(t, vus, "VUs", charts.PALETTE[4])
    else:
        v.line(t, vus, "VUs", charts.PALETTE[4])
    return c.svg() + v.svg()


# Titles and units of the resource monitor's fields (lunge.live.monitor); others are spelt out.
RESOURCE_TITLES = {
    "cpuPercent": ("CPU", "% of usable cores"),
    "cpuCores": ("CPU", "cores busy"),
    "rssBytes": ("Memory (RSS)", "bytes"),
    "memoryMb": ("Memory", "MB"),
    "netBytesSentPerSec": ("Network sent", "bytes/s"),
    "netBytesRecvPerSec": ("Network received", "bytes/s"),
    "netPacketsSentPerSec": ("Packets sent", "packets/s"),
    "netPacketsRecvPerSec": ("Packets received", "packets/s"),
    "openFds": ("Open file descriptors", "count"),
    "tcpEstablished": ("TCP connections established", "count"),
    "tcpTimeWait": ("TCP sockets in TIME_WAIT", "count"),
}


def resource_title(key: str) -> tuple[str, str]:
    """(title, unit) of a resource field: 'netBytesSentPerSec' -> ('Network sent', 'bytes/s');
    an unknown camelCase key is spelt out ('fooBarCount' -> ('Foo bar count', 'value'))."""
    if key in RESOURCE_TITLES:
        return RESOURCE_TITLES[key]
    import re

    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).lower()
    return words[:1].upper() + words[1:], "value"


def distribution_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """The distribution chart's x ticks: 1-2-5 steps of a log axis when the range holds at least
    three of them; else (a narrow range: all near 2 s) evenly spaced values, labelled with the
    digits that tell them apart."""
    ticks = _log_ticks(lo, hi)
    if len(ticks) < 3:
        ticks = [v for v in charts.nice_ticks(lo, hi, n=4) if lo <= v <= hi]
        if len(ticks) < 3:  # nice steps too coarse for the range: its ends and middle
            ticks = [lo, (lo + hi) / 2, hi]
    return list(zip(ticks, distinct_ms(ticks)))


def _middle(row: dict, start_s: float) -> float:
    """Where a row is drawn: the middle of the time it covers (a partial last second's
    is before the end of the run, not half a second after its start)."""
    return max(row["t"], start_s) + 0.5 * row["covered"]


def _throughput_points(rows: list, start_s: float) -> list:
    """[(x, seconds, completed, failed, label)] for the throughput chart: each row over the
    time it covers, as in the JSON; but a row covering under half its span at either end of
    the run (the few milliseconds of a drain, say) is drawn together with its neighbour, so
    that a handful of completions in a sliver of time is not drawn as a spike of the rate."""
    pts = [[max(r["t"], start_s), r["covered"], r["requests"], r["failures"], str(r["t"])] for r in rows]
    if len(pts) > 1 and rows[-1]["covered"] < 0.5 * rows[-1]["span"]:
        _, w, n, f, label = pts.pop()
        pts[-1][1:4] = [pts[-1][1] + w, pts[-1][2] + n, pts[-1][3] + f]
        pts[-1][4] += f"-{label}"
    if len(pts) > 1 and rows[0]["covered"] < 0.5 * rows[0]["span"]:
        x, w, n, f, label = pts.pop(0)
        pts[0] = [x, w + pts[0][1], n + pts[0][2], f + pts[0][3], f"{label}-{pts[0][4]}"]
    return [(x + w / 2, w, n, f, label) for x, w, n, f, label in pts]


def _log_ticks(lo: float, hi: float) -> list[float]:
    ticks = []
    for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for m in (1, 2, 5):
            v = m * 10 ** e
            if lo <= v <= hi:
                ticks.append(v)
    return ticks


def _pct_label(k: int) -> str:
    if k == 0:
        return "0%"
    return f"{100 - 100 / 10 ** k:.{max(k - 2, 0)}f}%"
