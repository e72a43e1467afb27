"""How responses and suite results look: bodies (pretty, coloured JSON on a terminal, the bytes
as received when piped), verbose headers and the timing waterfall, text/json/yaml reports."""
from __future__ import annotations

import json
import sys
from typing import Any

import click
import yaml

from lunge.client.http import Response, Timing
from lunge.client.suite import SuiteResult
from lunge.units import format_ms

# ---------------------------------------------------------------- bodies

def colour_json(value: Any, indent: int = 0) -> str:
    """`value` as indented JSON with click styles (keys blue, strings green, numbers cyan)."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{click.style(json.dumps(k), fg='blue', bold=True)}: {colour_json(v, indent + 1)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(f"{inner}{colour_json(v, indent + 1)}" for v in value) + f"\n{pad}]"
    if isinstance(value, str):
        return click.style(json.dumps(value, ensure_ascii=False), fg="green")
    if isinstance(value, bool) or value is None:
        return click.style(json.dumps(value), fg="magenta")
    return click.style(json.dumps(value), fg="cyan")


def _json_or_none(resp: Response) -> Any:
    if not resp.body:
        return None
    try:
        return resp.json()
    except (ValueError, UnicodeDecodeError):
        return None


def body_for_terminal(resp: Response) -> str:
    """The body for a human: JSON pretty and coloured, text decoded, binary summarised."""
    doc = _json_or_none(resp)
    if doc is not None:
        return colour_json(doc)
    try:
        return resp.body.decode("utf-8")
    except UnicodeDecodeError:
        return f"[{len(resp.body)} bytes of binary data not shown on a terminal; pipe or redirect to save them]"


def response_dict(resp: Response) -> dict:
    """The response as data, for --format json|yaml."""
    doc = _json_or_none(resp)
    if doc is None and resp.body:
        try:
            doc = resp.body.decode("utf-8")
        except UnicodeDecodeError:
            doc = f"<{len(resp.body)} bytes of binary data>"
    return {"url": resp.url, "status": resp.status, "reason": resp.reason, "httpVersion": resp.http_version,
            "headers": {k: v for k, v in resp.headers}, "body": doc,
            "timing": {k: round(v, 3) for k, v in resp.timing.as_dict().items()}}


def dump(data: Any, fmt: str) -> str:
    if fmt == "yaml":
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- verbose

def _bar_char() -> str:
    stream = sys.stderr  # click.get_text_stream is deprecated (Click 8.5) and gone in 9
    try:
        "█".encode(stream.encoding or "ascii")
        return "█"
    except (UnicodeEncodeError, LookupError):
        return "#"


def timing_waterfall(t: Timing, width: int = 40) -> list[str]:
    """One line per phase: its time and a bar placed where it falls within the total."""
    char = _bar_char()
    lines, start = [], 0.0
    scale = width / t.total if t.total > 0 else 0.0
    for attr, label in Timing.PHASES:
        ms = getattr(t, attr)
        left = min(width, round(start * scale))
        cells = min(width - left, max(1 if ms > 0 else 0, round(ms * scale)))
        bar = " " * left + char * cells
        if attr == "connect" and t.quic:
            label = "QUIC connect"
        lines.append(f"  {label:<12}{format_ms(ms):>10}  |{bar:<{width}}|")
        start += ms
    lines.append(f"  {'total':<12}{format_ms(t.total):>10}")
    return lines


def status_line(resp: Response) -> str:
    """`HTTP/1.1 404 Not Found`, as curl -i shows it first."""
    return f"{resp.http_version} {resp.status} {resp.reason}".rstrip()


def _exchange(resp: Response) -> list[str]:
    from lunge import secretvalues  # credentials by header name and secret values, unless --show-secrets

    sent = [secretvalues.scrub(line) if i == 0 else secretvalues.header(line)
            for i, line in enumerate(resp.request_headers)]  # the request line first
    out = [click.style(f"> {line}", fg="yellow") for line in sent]
    out.append(">")
    status_fg = "green" if resp.status < 400 else "red"
    out.append(click.style(f"< {status_line(resp)}", fg=status_fg, bold=True))
    for k, v in resp.headers:
        _, _, shown = secretvalues.header(f"{k}: {v}").partition(": ")
        out.append(f"< {click.style(k, fg='cyan')}: {shown}")
    out.append("<")
    return out


def verbose_lines(resp: Response) -> list[str]:
    """Request headers (>), response status and headers (<) of each hop (with -L, every redirect
    first, as curl -v shows them), then the timing breakdown (all hops added)."""
    out = []
    for hop in (*resp.previous, resp):
        out += _exchange(hop)
    out.append(click.style("timing", bold=True))
    out += timing_waterfall(resp.timing)
    return out


def headers_text(resp: Response) -> str:
    """The status line and the headers (what HEAD prints, as curl -I)."""
    from lunge import secretvalues

    return "\n".join([status_line(resp), *(secretvalues.header(f"{k}: {v}") for k, v in resp.headers)]) + "\n"


# ---------------------------------------------------------------- suites

def suite_text(result: SuiteResult) -> str:
    env = f" (environment {result.environment})" if result.environment else ""
    lines = [click.style(f"suite {result.suite}{env}", bold=True)]
    for t in result.tests:
        mark = click.style("PASS", fg="green") if t.passed else click.style("FAIL", fg="red", bold=True)
        detail = "not sent" if t.status is None or t.elapsed_ms is None else f"{t.status}, {format_ms(t.elapsed_ms)}"
        lines.append(f"  {mark}  {t.name}  ({detail})")
        for msg in t.failures():
            lines.append(f"          {msg}")
    n, failed = len(result.tests), result.failed
    summary = f"{n} test{'s' * (n != 1)}: {n - failed} passed, {failed} failed in {format_ms(result.duration_ms)}"
    lines.append(click.style(summary, fg="green" if failed == 0 else "red"))
    return "\n".join(lines) + "\n"
