"""Reporters: a RunResult's analysis (plus thresholds and comparison) rendered as text, JSON,
HTML or CSV.  `Report` carries what every format shows; its Analysis is computed once."""
from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lunge.analysis import Analysis, analyze
from lunge.errors import ConfigError, ReportError
from lunge.results import RunResult

if TYPE_CHECKING:
    from lunge.results import RunResult

FORMATS = ("text", "json", "html", "csv")
EXTENSIONS = {"text": ".txt", "json": ".json", "html": ".html", "csv": ".csv"}


@dataclass
class Report:
    result: RunResult
    thresholds: dict | None = None   # thresholds.evaluate()
    comparison: dict | None = None   # compare.compare()
    template: str | None = None      # --template DIR or FILE (HTML)
    color: bool = False              # ANSI colours in the text report
    _analysis: Analysis | None = field(default=None, repr=False)

    @property
    def analysis(self) -> Analysis:
        if self._analysis is None:
            self._analysis = analyze(self.result)
        return self._analysis


def render(result, fmt: str, **kw) -> str:
    rep = result if isinstance(result, Report) else Report(result, **kw)
    if fmt == "json":
        from lunge.results import codec

        return codec.dumps(codec.encode(rep.analysis, thresholds=rep.thresholds, comparison=rep.comparison))
    if fmt == "text":
        from lunge.report import text

        return text.render(rep.analysis, thresholds=rep.thresholds, comparison=rep.comparison, color=rep.color)
    if fmt == "html":
        from lunge.report import html

        now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return html.render(rep.analysis, rep.thresholds, rep.comparison, rep.template, generated=now)
    if fmt == "csv":
        from lunge.report import csv_report

        return csv_report.series(rep.analysis)
    raise ConfigError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")


def write(result, fmt: str, path: str, **kw) -> list[str]:
    """Write one format to path (CSV: the series there, the percentiles beside it); returns the paths."""
    rep = result if isinstance(result, Report) else Report(result, **kw)
    files = {path: render(rep, fmt)}
    if fmt == "csv":
        from lunge.report import csv_report

        files[csv_report.percentiles_path(path)] = csv_report.percentiles(rep.analysis)
    for p, body in files.items():
        try:
            d = os.path.dirname(p)
            if d:
                os.makedirs(d, exist_ok=True)
            with open(p, "w", encoding="utf-8") as f:
                f.write(body)
        except OSError as e:
            raise ReportError(f"--output: cannot write {p!r} ({e.strerror})") from None
    return list(files)


# --output FILE without --format: FILE's extension names the format (the original Lunge's rule).
EXTENSION_FORMATS = {".html": "html", ".htm": "html", ".json": "json", ".csv": "csv", ".txt": "text"}


def formats_for_output(path: str, asked=()) -> tuple[tuple[str, ...], dict]:
    """(formats, output map) for an output path given without formats: the formats `asked`
    (--json, --html) plus the one FILE's extension names; FILE without an extension is a base
    name, FILE.html and FILE.json by default. An unknown extension with nothing asked: text."""
    ext = os.path.splitext(path)[1]
    if not ext:
        formats = tuple(asked) or ("html", "json")
        return formats, {f: path + EXTENSIONS[f] for f in formats}
    named = EXTENSION_FORMATS.get(ext.lower())
    formats = tuple(dict.fromkeys(tuple(asked) + ((named,) if named else ()))) or ("text",)
    if len(formats) == 1:
        return formats, {"*": path}
    return formats, {f: os.path.splitext(path)[0] + EXTENSIONS[f] for f in formats}


def default_html_path(name: str, now: _dt.datetime | None = None) -> str:
    """perf-report-NAME-YYYYMMDD-HHMMSS.html: the original Lunge's file for --html without --output
    (NAME lower-cased, anything but letters, digits, '.' and '_' made '-')."""
    import re

    safe = re.sub(r"[^a-z0-9._]+", "-", name.lower()).strip("-.")[:80] or "test"
    return f"perf-report-{safe}-{(now or _dt.datetime.now()).strftime('%Y%m%d-%H%M%S')}.html"


def output_paths(formats, output: dict) -> dict:
    """{format: path or None (stdout)} from the formats and an output map {format: path, "*": base}.

    "*" (the --output flag, or a single config path) names the file of a single format; with
    several formats it is a base name, each format getting its own extension.  Text without a
    path goes to stdout; so does the only format when no path is given."""
    formats = list(dict.fromkeys(formats))
    base = output.get("*")
    files = [f for f in formats if f != "text"]
    out = {}
    for f in formats:
        if f in output:
            out[f] = output[f]
        elif not base or (f == "text" and len(formats) > 1):
            out[f] = None  # stdout
        elif len(formats) == 1 or len(files) == 1:
            out[f] = base
        else:
            out[f] = os.path.splitext(base)[0] + EXTENSIONS[f]
    to_stdout = [f for f, p in out.items() if p is None]
    if len(to_stdout) > 1:
        # text is the terminal summary; a second format on stdout would garble both
        rest = [f for f in to_stdout if f != "text"]
        raise ConfigError(f"--format {' --format '.join(rest)}: give --output FILE (only one format can go to stdout)")
    return out

