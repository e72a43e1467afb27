"""The terminal summary: at least what wrk prints, plus status codes, error classes,
libcurl's timing breakdown, thresholds, the baseline comparison, anomalies and insights.
Colour (ANSI, via click.style) only when the caller says stdout is a terminal."""
from __future__ import annotations

import click

from lunge.analysis import Analysis, target
from lunge.units import distinct_ms, format_bytes, format_ms

_COLOURS = {"passed": "green", "improved": "green", "FAILED": "red", "regressed": "red", "unchanged": None,
            "critical": "red", "warning": "yellow", "info": "cyan"}


def render(an: Analysis, thresholds=None, comparison=None, color=False) -> str:
    def paint(word: str, key: str | None = None) -> str:
        fg = _COLOURS.get(key or word)
        return click.style(word, fg=fg, bold=True) if color and fg else word

    result, a, m = an.result, an.block, an.metrics
    rt, tp, cfg = m["responseTimes"], m["throughput"], result.configuration
    lines = []
    limit = []
    if cfg.get("iterations"):
        limit.append(f"{cfg['iterations']} requests")
    length = target.run_length_s(cfg)
    if length:
        limit.append(target.format_duration(length * 1000))
    if cfg.get("model") == "flows":  # a v2 file: its scenarios, each detailed below the totals
        names = [sc["name"] for sc in cfg.get("scenarios", ())]
        lines.append(_fit(f"lunge perf  {cfg.get('file')}"))
        lines.append(_fit(f"  {len(names)} scenario{'s' * (len(names) != 1)}"
                          f"{' in sequence' if cfg.get('sequential') and len(names) > 1 else ''}: {', '.join(names)}"
                          f"{protocol_text(cfg)}{'  (interrupted)' if result.interrupted else ''}"))
    else:
        lines.append(f"lunge perf  {cfg['method']} {cfg['url']}")
        rate = target.pattern_text(cfg)
        if rate:
            lines.append(f"  open model: {rate}")
        workers = cfg.get("workers") or 1
        lines.append(f"  {cfg['concurrency']} connections{' at most' if rate else ''}{''.join(', ' + x for x in limit)}"
                     f"{f', {workers} workers' if workers > 1 else ''}{protocol_text(cfg)}"
                     f"{'  (interrupted)' if result.interrupted else ''}")
    lines.append("")
    failed = m["failedRequests"]
    # the measured window (no warmup), to the millisecond: a short run is not "0.00s"
    lines.append(f"  Requests     {m['totalRequests']} in {format_ms(tp['measuredMs'])}, "
                 f"{tp['rps']:.1f} req/s, {failed} failed ({m['errorRate'] * 100:.2f}%)")
    if m["warmup"]["requests"]:
        lines.append(f"  Warmup       {m['warmup']['requests']} requests in the first "
                     f"{format_ms(result.first_send_ns / 1e6)}, kept out of every figure")
    pc = m.get("pacing")
    if pc:  # the open model: how well the sends kept to the schedule
        never = f"{pc['unsent']} never sent, " if pc["unsent"] else ""
        lines.append(f"  Pacing       {pc['scheduled']} scheduled, {pc['sent']} sent, {never}{pc['lateSends']} late (> 1 ms)"
                     f"{'' if pc['sustained'] else ': rate NOT sustained'}")
        jitter = (f"   jitter p50 {format_ms(pc['jitterP50Ms'])}  p99 {format_ms(pc['jitterP99Ms'])}"
                  if "jitterP50Ms" in pc else "")
        lines.append(f"  Send lag     p50 {format_ms(pc['lagP50Ms'])}  p99 {format_ms(pc['lagP99Ms'])}  "
                     f"max {format_ms(pc['maxLagMs'])}{jitter}")
    lines.append(f"  Transfer     {format_bytes(m['bytesReceived'])} received, {format_bytes(tp['bytesPerSec'])}/s, "
                 f"{m['connectionsOpened']} connections opened")
    versions = versions_text(cfg, m)
    if versions:
        lines.append(f"  Versions     {versions}")
    lines.append("")
    if rt["count"]:
        lines.append(f"  Latency      min {format_ms(rt['minMs'])}  mean {format_ms(rt['meanMs'])}  "
                     f"stdev {format_ms(rt['stdDevMs'])}  max {format_ms(rt['maxMs'])}")
        pcts = (("p50", "p50Ms"), ("p90", "p90Ms"), ("p95", "p95Ms"), ("p99", "p99Ms"), ("p99.9", "p999Ms"))
        # as many digits as make different percentiles read differently (a narrow run: 2.0003s, not 2.00s)
        labels = distinct_ms([rt[key] for _, key in pcts])
        lines.append("  Percentiles  " + "  ".join(f"{label} {text}" for (label, _), text in zip(pcts, labels)))
        st = m["serviceTimes"]
        if pc and st["count"]:  # the latency above counts from the due time; this from the actual send
            lines.append("  Service      " + "  ".join(
                f"{label} {format_ms(st[key])}" for label, key in
                (("p50", "p50Ms"), ("p90", "p90Ms"), ("p99", "p99Ms"), ("max", "maxMs"))) + "  (from the send)")
        lines.append("")
        lines.append("  Distribution")
        dist = distribution_rows(a["responseTime"]["distribution"])
        peak = max(c for _, _, c in dist) or 1
        for lo, hi, c in dist:
            bar = "#" * max(1 if c else 0, round(30 * c / peak))
            lines.append(f"    {lo:>9} - {hi:<9} {c:>10}  {bar}")
        lines.append("")
        b = m["timingBreakdown"]
        lines.append("  Breakdown    " + "  ".join(
            f"{k} {format_ms(b[key])}" for k, key in
            (("dns", "dnsMs"), ("connect", "connectMs"), ("tls", "tlsMs"), ("ttfb", "ttfbMs"),
             ("transfer", "transferMs"), ("total", "totalMs")) if key in b) + "  (means)")
    else:
        lines.append("  Latency      no responses")
    lines.append("")
    codes = ", ".join(f"{k}: {v}" for k, v in m["statusCodes"].items()) or "none"
    lines.append(f"  Status codes {codes}")
    lines.append(f"  Failures     {failures_text(an)}")
    if m["errors"]:
        lines.append("  Errors       " + ", ".join(f"{k}: {v}" for k, v in m["errors"].items()))
        for k, msg in m["errorSamples"].items():
            lines.append(f"    {k}: {msg}")
    for w in result.warnings:
        lines.append(f"  Warning      {w}")
    lines.extend(scenario_lines(an))
    if thresholds and thresholds["checks"]:
        lines.append("")
        lines.append("  Thresholds")
        width = max(len(c["threshold"]) for c in thresholds["checks"])
        for c in thresholds["checks"]:
            measured = "n/a" if c["measured"] is None else _value(c["measured"], c["unit"])
            bound = _value(c["limit"], c["unit"])
            verdict = "passed" if c["passed"] else "FAILED"
            why = f" ({c['reason']})" if c.get("reason") else ""
            lines.append(f"    {c['threshold']:<{width}}  {measured:>12}  limit {c['op']:<2} {bound:<12} "
                         f"{paint(verdict)}{why}")
    if comparison:
        lines.append("")
        lines.append(f"  Baseline     {paint(comparison['verdict'])} (tolerance {comparison['tolerance'] * 100:g}%, "
                     f"baseline of {comparison['baseline']['startTime']})")
        for r in comparison["metrics"]:
            pct = "n/a" if r["deltaPct"] is None else f"{r['deltaPct']:+.1f}%"
            unit = "" if r["metric"] == "errorRate" else "req/s" if r["metric"] == "rps" else "ms"
            lines.append(f"    {r['label']:<11}{_value(r['baseline'], unit):>12} -> {_value(r['current'], unit):>12}"
                         f"  {pct:>8}  {paint(r['verdict'])}")
        sc = comparison.get("scenarios")
        for s in sc["compared"] if sc else ():
            changed = ", ".join(f"{r['label']} {r['deltaPct']:+.1f}%" if r["deltaPct"] is not None else r["label"]
                                for r in s["metrics"] if r["verdict"] != "unchanged")
            lines.append(f"    scenario {s['scenario']}: {paint(s['verdict'])}{f' ({changed})' if changed else ''}")
        for key, which in (("onlyBaseline", "the baseline"), ("onlyCurrent", "this run")):
            if sc and sc[key]:
                lines.append(f"    only in {which}: {', '.join(sc[key])}")
    if a["anomalies"]:
        lines.append("")
        lines.append("  Anomalies")
        for x in a["anomalies"]:
            lines.append(f"    {x['message']}")
    if a["insights"]:
        lines.append("")
        lines.append("  Insights")
        for i in a["insights"]:
            sev = i["severity"]
            lines.append(f"    {paint(f'{sev:<8}', sev)} {i['message']}")
    return "\n".join(lines) + "\n"


WIDTH = 80          # the scenario section fits a terminal of this many columns
NAME_WIDTH = 20      # request names in the per-request table (longer ones are cut, ".." marking the cut)
_PCTS = (("p50", "p50Ms"), ("p95", "p95Ms"), ("p99", "p99Ms"))


def protocol_text(cfg: dict) -> str:
    """What the run asked for beyond HTTP/1.1, for the report's heading: ", HTTP/3" ..."""
    http3 = cfg.get("http3")
    if http3:
        return ", HTTP/3" if http3 == "only" else ", HTTP/3 with fallback to TCP"
    return ", HTTP/2" if cfg.get("http2") else ""


def versions_text(cfg: dict, m: dict) -> str:
    """Responses by HTTP version ("HTTP/3 150 (75.0%), HTTP/2 50 (25.0%)"): shown when the run
    asked for HTTP/2 or HTTP/3, or the target answered with anything but HTTP/1.1."""
    versions = m.get("httpVersions") or {}
    total = sum(versions.values())
    if not total or (not cfg.get("http2") and not cfg.get("http3") and set(versions) == {"1.1"}):
        return ""
    return ", ".join(f"HTTP/{k} {v} ({100 * v / total:.1f}%)"
                     for k, v in sorted(versions.items(), key=lambda kv: -kv[1]))


def scenario_lines(an: Analysis) -> list[str]:
    """Per scenario: its executor and iterations, its requests, rate, failures and latency,
    then a table of its request names with their checks; every line within WIDTH columns."""
    lines: list[str] = []
    for s, m in zip(an.result.scenarios, an.scenarios):
        rt = m["responseTimes"]
        lines.append("")
        lines.append(_fit(f"  Scenario     {s.name} ({s.executor})"))
        if not s.started:
            lines.append("    did not start")
            continue
        extra = [f"{s.interrupted} interrupted"] + ([f"{s.dropped} dropped"] if s.dropped or
                                                   s.executor.endswith("arrival-rate") else [])
        lines.append(_fit(f"    Iterations {s.iterations} in {format_ms(m['durationS'] * 1000)}, "
                          f"{', '.join(extra)}; {s.max_vus} VU{'s' * (s.max_vus != 1)} at most"))
        lines.append(_fit(f"    Requests   {m['totalRequests']}, {m['rps']:.1f} req/s, {m['failedRequests']} failed "
                          f"({m['errorRate'] * 100:.2f}%)"
                          + (f", {m['checkFailures']} by a check only" if m["checkFailures"] else "")))
        if rt["count"]:
            lines.append("    Latency    " + "  ".join(f"{label} {format_ms(rt[key])}" for label, key in _PCTS))
        if not m["requests"]:
            continue
        lines.append(f"    {'request':<{NAME_WIDTH}}{'count':>8}{'failed':>8}" + "".join(
            f"{label:>9}" for label, _ in _PCTS) + f"{'checks':>13}")
        for name, q in m["requests"].items():
            qt = q["responseTimes"]
            lat = "".join(f"{format_ms(qt[key]) if qt['count'] else '-':>9}" for _, key in _PCTS)
            checks = f"{q['checksPassed']}/{q['checksTotal']}" if q["checksTotal"] else "-"
            lines.append(_fit(f"    {_cut(name, NAME_WIDTH - 1):<{NAME_WIDTH}}{q['totalRequests']:>8}"
                              f"{q['errorRate'] * 100:>7.2f}%{lat}{checks:>13}"))
            for c in q["failingChecks"]:
                lines.append(_fit(f"      {c.label}: {c.failed} failed"
                                  + (f": {_oneline(c.first_failure)}" if c.first_failure else "")))
    return lines


def _cut(text: str, width: int) -> str:
    """text in at most width characters: a longer one keeps its start and ends in '..'."""
    return text if len(text) <= width else text[:width - 2] + ".."


def _fit(line: str) -> str:
    return _cut(line, WIDTH)


def _oneline(text: str) -> str:
    return " ".join(text.split())


def _value(v: float, unit: str) -> str:
    if unit == "":
        return f"{v * 100:.2f}%"
    if unit == "ms":
        return format_ms(v)
    if unit == "requests":  # a count
        return f"{v:.0f} {unit}"
    return f"{v:.1f} {unit}"


def _pairs(dist: list) -> list:
    """The analysis' distribution rows, two by two: [(low ms, high ms, count)]."""
    rows = [(d["lowMs"], d["highMs"], d["count"]) for d in dist]
    return [(pair[0][0], pair[-1][1], sum(c for _, _, c in pair)) for pair in (rows[i:i + 2] for i in range(0, len(rows), 2))]


def distribution_rows(dist: list) -> list:
    """The distribution's rows, two buckets a row, as [(low label, high label, count)]: the edges
    get as many digits as it takes for neighbouring edges to read differently (a narrow
    distribution, all near 2 s, reads 2.0004s - 2.0008s, not 2.00s - 2.00s), and rows whose
    labels would still read the same are merged."""
    rows = _pairs(dist)
    edges = [lo for lo, _, _ in rows] + [rows[-1][1]] if rows else []
    labels = distinct_ms(edges)
    out: list = []
    for i, (_, _, c) in enumerate(rows):
        lo, hi = labels[i], labels[i + 1]
        if out and (lo == hi or out[-1][0] == out[-1][1]):  # still one label: fold into the row before
            out[-1] = (out[-1][0], hi, out[-1][2] + c)
        else:
            out.append((lo, hi, c))
    return out


def failures_text(an: Analysis) -> str:
    """What the failed requests were: HTTP statuses >= 400 (by code, grouped by class when a class
    has several), transport errors by class and, in a flow run, failed checks: '120 of 400: 503 x 120'."""
    m = an.metrics
    failed = m["failedRequests"]
    if not failed:
        return "none"
    parts = []
    http = {int(k): v for k, v in m["statusCodes"].items() if int(k) >= 400 and v}
    for cls in sorted({k // 100 for k in http}):
        codes = {k: v for k, v in http.items() if k // 100 == cls}
        each = ", ".join(f"{k} x {v}" for k, v in sorted(codes.items()))
        parts.append(each if len(codes) == 1 else f"{cls}xx x {sum(codes.values())} ({each})")
    parts += [f"{k} x {v}" for k, v in m["errors"].items()]
    checks = sum(s.check_failures for s in an.result.scenarios)
    if checks:
        parts.append(f"failed check x {checks}")
    counted = sum(http.values()) + sum(m["errors"].values()) + checks
    if counted < failed:  # never hide a failure the counts above do not explain
        parts.append(f"other x {failed - counted}")
    return f"{failed} of {m['totalRequests']}: {', '.join(parts)}"
