"""The terminal summary: at least what wrk prints, plus status codes, error classes and
libcurl's timing breakdown."""
from __future__ import annotations

from lunge import analysis
from lunge.units import format_bytes, format_ms


def render(result) -> str:
    m = analysis.metrics(result)
    rt, tp, cfg = m["responseTimes"], m["throughput"], result.configuration
    lines = []
    limit = []
    if cfg.get("iterations"):
        limit.append(f"{cfg['iterations']} requests")
    if cfg.get("durationMs"):
        limit.append(f"{cfg['durationMs'] / 1000:g}s")
    lines.append(f"lunge perf  {cfg['method']} {cfg['url']}")
    lines.append(f"  {cfg['concurrency']} connections, {' or '.join(limit)}"
                 f"{', HTTP/2' if cfg.get('http2') else ''}"
                 f"{'  (interrupted)' if result.interrupted else ''}")
    lines.append("")
    failed = m["failedRequests"]
    lines.append(f"  Requests     {m['totalRequests']} in {result.elapsed_ns / 1e9:.2f}s, "
                 f"{tp['rps']:.1f} req/s, {failed} failed ({m['errorRate'] * 100:.2f}%)")
    lines.append(f"  Transfer     {format_bytes(m['bytesReceived'])} received, {format_bytes(tp['bytesPerSec'])}/s, "
                 f"{m['connectionsOpened']} connections opened")
    lines.append("")
    if rt["count"]:
        lines.append(f"  Latency      min {format_ms(rt['minMs'])}  mean {format_ms(rt['meanMs'])}  "
                     f"stdev {format_ms(rt['stdDevMs'])}  max {format_ms(rt['maxMs'])}")
        lines.append("  Percentiles  " + "  ".join(
            f"{label} {format_ms(rt[key])}" for label, key in
            (("p50", "p50Ms"), ("p90", "p90Ms"), ("p95", "p95Ms"), ("p99", "p99Ms"), ("p99.9", "p999Ms"))))
        lines.append("")
        lines.append("  Distribution")
        dist = analysis.distribution(result.response, 8)
        peak = max(c for _, _, c in dist) or 1
        for lo, hi, c in dist:
            bar = "#" * max(1 if c else 0, round(30 * c / peak))
            lines.append(f"    {format_ms(lo):>9} - {format_ms(hi):<9} {c:>10}  {bar}")
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
    if m["errors"]:
        lines.append("  Errors       " + ", ".join(f"{k}: {v}" for k, v in m["errors"].items()))
        for k, msg in m["errorSamples"].items():
            lines.append(f"    {k}: {msg}")
    else:
        lines.append("  Errors       none")
    for w in result.warnings:
        lines.append(f"  Warning      {w}")
    return "\n".join(lines) + "\n"
