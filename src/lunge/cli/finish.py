"""What `lunge perf` does with a finished run: thresholds, baseline comparison and saving,
reports in every requested format, and the exit status.

The settings (lunge.settings) already hold flags over the config's `reporting` section;
thresholds from both apply (the config's first).
"""
from __future__ import annotations

import os
import sys

import click

from lunge import report
from lunge.analysis import analyze, baselines, thresholds
from lunge.analysis import compare as comparing
from lunge.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_THRESHOLD, THRESHOLD, ConfigError
from lunge.settings import Settings


def threshold_exprs(s: Settings, test=None) -> list:
    """The config's thresholds, then the flags' (all apply), unless --no-thresholds."""
    if s.no_thresholds:
        return []
    return thresholds.from_config(test.thresholds if test is not None else None) + \
        thresholds.parse_flags(s.threshold_exprs)


def validate(s: Settings, test=None) -> None:
    """Everything about the reports that can be wrong, checked before the run rather than after it."""
    threshold_exprs(s, test)
    if s.fail_on_regression and not s.compare:
        raise ConfigError("--fail-on-regression: add --compare (there is nothing to regress against)")
    report.output_paths(s.formats, dict(s.output))
    if s.template and "html" in s.formats and not os.path.exists(s.template):
        raise ConfigError(f"--template: {s.template!r} is neither a directory nor a file")


def finish(result, s: Settings, test=None, environment: str | None = None, ran: bool = True) -> int:
    """Reports, thresholds and baselines for a result; the exit status.  ran=False for a
    result that was loaded, not run here (lunge merge): its parts' interruptions are history."""
    exprs = threshold_exprs(s, test)
    paths = report.output_paths(s.formats, dict(s.output))
    rep = report.Report(result, template=s.template)
    th = rep.thresholds = thresholds.evaluate(rep.analysis, exprs) if exprs else None

    comparison = None
    if s.compare:
        found = baselines.find(result.name, environment)
        if found:
            from lunge.results import load

            comparison = rep.comparison = comparing.compare(analyze(load(found)), rep.analysis, s.tolerance)
        else:
            click.echo(f"lunge: warning: --compare: no baseline for {result.name!r} ({environment or 'default'}) "
                       f"at {baselines.path_for(result.name, environment)}; save one with --baseline", err=True)

    color = sys.stdout.isatty()
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
    if s.baseline:
        if result.interrupted:
            click.echo("lunge: --baseline: not saved: the run was interrupted", err=True)
        elif regressed and s.fail_on_regression:
            click.echo("lunge: --baseline: not saved: the run regressed (--fail-on-regression)", err=True)
        else:
            from lunge.results import codec

            doc = codec.dumps(codec.encode(rep.analysis, thresholds=th))
            click.echo(f"lunge: baseline saved to {baselines.save(doc, result.name, environment)}", err=True)

    if result.interrupted and ran:
        return EXIT_INTERRUPTED
    failed = [c for c in th["checks"] if not c["passed"]] if th else []
    for c in failed:
        click.echo(f"lunge: {THRESHOLD}: {thresholds.describe(c)}", err=True)
    if regressed and comparison is not None and s.fail_on_regression:
        worse = ", ".join(f"{m['label']} {m['deltaPct']:+.1f}%" if m["deltaPct"] is not None else m["label"]
                          for m in comparison["metrics"] if m["verdict"] == "regressed")
        click.echo(f"lunge: regression against the baseline: {worse}", err=True)
        return EXIT_THRESHOLD
    return EXIT_THRESHOLD if failed else EXIT_OK
