"""What `lunge perf` does with a finished run: thresholds, baseline comparison and saving,
reports in every requested format, and the exit status.

Flags win over the config's `thresholds` / `reporting` sections; thresholds from both
apply (the config's first).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import click

from lunge import report
from lunge.analysis import baselines
from lunge.analysis import thresholds
from lunge.analysis import compare as comparing
from lunge.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_THRESHOLD, THRESHOLD, ConfigError


@dataclass
class Options:
    formats: tuple = ()          # --format (repeatable)
    output: str | None = None    # --output
    template: str | None = None  # --template
    thresholds: tuple = ()       # --threshold (repeatable)
    no_thresholds: bool = False  # --no-thresholds: evaluate none
    baseline: bool = False       # --baseline: save this run as the baseline
    compare: bool = False        # --compare: compare with the saved baseline
    tolerance: float = comparing.DEFAULT_TOLERANCE
    fail_on_regression: bool = False


def parse_tolerance(text: str | None) -> float:
    """'10%' or '0.1' -> 0.1."""
    if text is None:
        return comparing.DEFAULT_TOLERANCE
    t = str(text).strip()
    try:
        v = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        raise ConfigError(f"--tolerance: {text!r} is not a fraction or a percentage (e.g. 10% or 0.1)") from None
    if not 0 <= v < 10:
        raise ConfigError(f"--tolerance: {text!r} is out of range (0% to 1000%)")
    return v


def resolve(opts: Options, test, config_path: str | None):
    """(formats, output map, template, threshold exprs) from the flags and the config."""
    rep = test.reporting if test is not None else None
    if opts.formats or opts.output:
        # --format / --output replace the config's formats and paths together: a config path
        # for a format the flags did not ask for, or a flag format sent to a config path, surprises.
        formats, output = tuple(opts.formats) or ("text",), {"*": opts.output} if opts.output else {}
    else:
        formats, output = (rep.formats, dict(rep.output)) if rep else (("text",), {})
    template = opts.template or (rep.template if rep else None)
    if template and not opts.template and config_path and not os.path.isabs(template):
        template = os.path.join(os.path.dirname(os.path.abspath(config_path)), template)
    exprs = thresholds.from_config(test.thresholds if test is not None else None)
    exprs += thresholds.parse_flags(opts.thresholds)
    if opts.no_thresholds:
        exprs = []
    return formats, output, template, exprs


def validate(opts: Options, test, config_path: str | None) -> None:
    """Everything about the reports that can be wrong, checked before the run rather than after it."""
    formats, output, template, _exprs = resolve(opts, test, config_path)
    if opts.fail_on_regression and not opts.compare:
        raise ConfigError("--fail-on-regression: add --compare (there is nothing to regress against)")
    report.output_paths(formats, output)
    if template and "html" in formats and not os.path.exists(template):
        raise ConfigError(f"--template: {template!r} is neither a directory nor a file")


def finish(result, opts: Options, test=None, environment: str | None = None, config_path: str | None = None,
           ran: bool = True) -> int:
    """Reports, thresholds and baselines for a result; the exit status.  ran=False for a
    result that was loaded, not run here (lunge merge): its parts' interruptions are history."""
    formats, output, template, exprs = resolve(opts, test, config_path)
    paths = report.output_paths(formats, output)
    th = thresholds.evaluate(result, exprs) if exprs else None

    comparison = None
    if opts.compare:
        found = baselines.find(result.name, environment)
        if found:
            from lunge.results import load

            comparison = comparing.compare(load(found), result, opts.tolerance)
        else:
            click.echo(f"lunge: warning: --compare: no baseline for {result.name!r} ({environment or 'default'}) "
                       f"at {baselines.path_for(result.name, environment)}; save one with --baseline", err=True)

    color = sys.stdout.isatty()
    rep = report.Report(result, thresholds=th, comparison=comparison, template=template)
    on_stdout = None
    for fmt, path in paths.items():
        if path is None:
            on_stdout = fmt
            continue
        for written in report.write(rep, fmt, path):
            click.echo(f"lunge: wrote {written}", err=True)
    rep.color = color and on_stdout in (None, "text")
    click.echo(report.render(rep, on_stdout or "text"), nl=False)

    regressed = comparison is not None and comparison["verdict"] == "regressed"
    if opts.baseline:
        if result.interrupted:
            click.echo("lunge: --baseline: not saved: the run was interrupted", err=True)
        elif regressed and opts.fail_on_regression:
            click.echo("lunge: --baseline: not saved: the run regressed (--fail-on-regression)", err=True)
        else:
            from lunge.report import json_report

            doc = json_report.render(result, thresholds=th, analysis_block=rep.analysis)
            click.echo(f"lunge: baseline saved to {baselines.save(doc, result.name, environment)}", err=True)

    if result.interrupted and ran:
        return EXIT_INTERRUPTED
    failed = [c for c in th["checks"] if not c["passed"]] if th else []
    for c in failed:
        click.echo(f"lunge: {THRESHOLD}: {thresholds.describe(c)}", err=True)
    if regressed and opts.fail_on_regression:
        worse = ", ".join(f"{m['label']} {m['deltaPct']:+.1f}%" if m["deltaPct"] is not None else m["label"]
                          for m in comparison["metrics"] if m["verdict"] == "regressed")
        click.echo(f"lunge: regression against the baseline: {worse}", err=True)
        return EXIT_THRESHOLD
    return EXIT_THRESHOLD if failed else EXIT_OK
