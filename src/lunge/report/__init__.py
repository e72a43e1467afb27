"""Reporters: a RunResult's analysis (plus thresholds and comparison) rendered as text, JSON,
HTML or CSV.  `Report` carries what every format shows; its Analysis is computed once."""
from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field

from lunge.analysis import Analysis, analyze
from lunge.errors import ConfigError, ReportError
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


def files_of(fmt: str, path: str, scenarios: bool = False) -> list[str]:
    """The files one format writes at path: CSV puts its percentile table beside the series,
    and for a flow run (`scenarios`) its per-request table."""
    if fmt == "csv":
        from lunge.report import csv_report

        return [path, csv_report.percentiles_path(path)] + ([csv_report.requests_path(path)] if scenarios else [])
    return [path]


def write(result, fmt: str, path: str, where: str = "--output", **kw) -> list[str]:
    """Write one format to path (CSV: the series there, the percentiles beside it, a flow run's
    per-request table too); returns the
    paths.  No directory is created: the user names where reports go (check_output())."""
    rep = result if isinstance(result, Report) else Report(result, **kw)
    files = {path: render(rep, fmt)}
    if fmt == "csv":
        from lunge.report import csv_report

        files[csv_report.percentiles_path(path)] = csv_report.percentiles(rep.analysis)
        if rep.result.scenarios:
            files[csv_report.requests_path(path)] = csv_report.requests(rep.analysis)
    for p, body in files.items():
        f = None
        try:
            f = open(p, "w", encoding="utf-8")
            with f:
                f.write(body)
        except OSError as e:
            # half a report (a full disk) would be read as a whole one: take it away; but only
            # a file this call opened: one open() refused (EACCES) is the user's, left alone
            if f is not None and os.path.isfile(p):
                try:
                    os.remove(p)
                except OSError:
                    pass
            raise ReportError(f"{where}: cannot write {p!r} ({e.strerror})") from None
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


def check_output(path: str, where: str = "--output", create_dirs: bool = False, shown: str | None = None) -> None:
    """Refuse, before the run, a path a report could not be written to: a directory, a path
    under a file, a directory that does not exist (unless create_dirs: lunge makes it, as for
    the baseline store), one without write permission.  Looks only: creates and truncates
    nothing.  What cannot be known before writing (a full disk) is finish()'s to handle.
    `shown`: how the messages name the path (a directory of files to come, say)."""
    named = shown or path
    if os.path.isdir(path):
        raise ConfigError(f"{where}: {named!r} is a directory; give a file name")
    parent = os.path.dirname(os.path.abspath(path))
    d = parent
    while not os.path.exists(d):  # the nearest existing ancestor
        d = os.path.dirname(d)
    if not os.path.isdir(d):
        raise ConfigError(f"{where}: {named!r}: {_shown(d, path)!r} is not a directory")
    if d != parent and not create_dirs:
        raise ConfigError(f"{where}: {named!r}: the directory {_shown(parent, path)!r} does not exist "
                          f"(lunge does not create it)")
    if os.path.exists(path):
        if not os.access(path, os.W_OK, effective_ids=os.access in os.supports_effective_ids):
            raise ConfigError(f"{where}: {named!r} is not writable")
    elif not os.access(d, os.W_OK | os.X_OK, effective_ids=os.access in os.supports_effective_ids):
        raise ConfigError(f"{where}: {named!r}: cannot create files in {_shown(d, path)!r} (permission denied)")


def _shown(d: str, path: str) -> str:
    """An ancestor of path as the user wrote it (relative if the path was)."""
    return d if os.path.isabs(path) else os.path.relpath(d)


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

