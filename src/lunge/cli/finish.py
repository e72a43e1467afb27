"""What `lunge perf` does with a finished run: thresholds, baseline comparison and saving,
reports in every requested format, and the exit status.

The settings (lunge.settings) already hold flags over the config's `reporting` section;
thresholds from both apply (the config's first).
"""
from __future__ import annotations

import datetime as _dt
import os
import sys
import tempfile

import click

from lunge import report
from lunge.analysis import Analysis, analyze, baselines, thresholds
from lunge.analysis import compare as comparing
from lunge.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_THRESHOLD, THRESHOLD, ConfigError, LungeError, ReportError
from lunge.settings import Settings


def threshold_exprs(s: Settings, test=None) -> list:
    """The config's thresholds, then the flags' (all apply), unless --no-thresholds."""
    if s.no_thresholds:
        return []
    from lunge.config.scenario import TestFile

    if isinstance(test, TestFile):  # a v2 file: its rules, run-wide and per scenario (custom), as they are
        return list(test.thresholds.rules) + thresholds.parse_flags(s.threshold_exprs)
    return thresholds.from_config(test.thresholds if test is not None else None) + \
        thresholds.parse_flags(s.threshold_exprs)




def load_baseline(name: str, environment: str | None) -> Analysis | None:
    """The stored baseline's Analysis for (name, environment), or None if there is none;
    ConfigError (naming --compare and the file) if it cannot be read or decoded."""
    found = baselines.find(name, environment)
    if not found:
        return None
    from lunge.results import load

    try:
        return analyze(load(found))
    except LungeError as e:
        raise ConfigError(f"--compare: the baseline cannot be used: {e.message}") from None


def validate(s: Settings, test=None, *, name: str | None = None, environment: str | None = None) -> Analysis | None:
    """Everything about the reports that can be wrong, checked before the run rather than after it.

    With --compare, the baseline is loaded here (a bad one is bad input: exit 2, nothing sent)
    and returned, for finish(baseline=...).  `name` is the result's (the plan's) name, the
    test's --name by default; without one, finish() loads the baseline after the run."""
    threshold_exprs(s, test)
    if s.fail_on_regression and not s.compare:
        raise ConfigError("--fail-on-regression: add --compare (there is nothing to regress against)")
    baseline = None
    name = name if name is not None else s.name
    if s.compare and name:
        baseline = load_baseline(name, environment)
    where = output_field(s, test)
    for fmt, path in report.output_paths(s.formats, dict(s.output)).items():
        for f in report.files_of(fmt, path, scenarios=is_flows(test)) if path is not None else ():
            report.check_output(f, where)
    if s.baseline:  # the store's directories are lunge's to make; a file in their way is not
        report.check_output(os.path.join(baselines.STORE, "any.json"), "--baseline", create_dirs=True,
                            shown=baselines.STORE)
    if s.template and "html" in s.formats and not os.path.exists(s.template):
        raise ConfigError(f"--template: {s.template!r} is neither a directory nor a file")
    if s.template and "html" in s.formats:
        from lunge.report import html

        html.check_template(s.template)
    return baseline


def is_flows(test) -> bool:
    from lunge.config.scenario import TestFile

    return isinstance(test, TestFile)


def output_field(s: Settings, test=None) -> str:
    """What the report paths' errors name: --output, or the config's reporting.output."""
    reporting = getattr(test, "reporting", None)  # a v1 performance test's; a v2 file has none
    if reporting is not None and reporting.output and dict(s.output) == dict(reporting.output):
        return f"performance.{test.key}.reporting.output"
    return "--output"


def finish(result, s: Settings, test=None, environment: str | None = None, ran: bool = True,
           baseline: Analysis | None = None) -> int:
    """Reports, thresholds and baselines for a result; the exit status.  ran=False for a
    result that was loaded, not run here (lunge merge): its parts' interruptions are history.
    `baseline`: the --compare baseline validate() loaded before the run.

    A report that cannot be written (a full disk, a full stdout) does not stop the others;
    at the end the result is kept (the JSON report if it was written, else a file of its own)
    and ReportError names what failed and where the result is."""
    exprs = threshold_exprs(s, test)
    paths = report.output_paths(s.formats, dict(s.output))
    where = output_field(s, test)
    rep = report.Report(result, template=s.template)
    th = rep.thresholds = thresholds.evaluate(rep.analysis, exprs) if exprs else None

    comparison = None
    if s.compare:
        base = baseline
        if base is None:  # not checked before the run: if it fails now, warn and keep the run
            try:
                base = load_baseline(result.name, environment)
            except ConfigError as e:
                click.echo(f"lunge: warning: {e.message}; not compared", err=True)
        if base is not None:
            comparison = rep.comparison = comparing.compare(base, rep.analysis, s.tolerance)
        elif not baselines.find(result.name, environment):
            click.echo(f"lunge: warning: --compare: no baseline for {result.name!r} ({environment or 'default'}) "
                       f"at {baselines.path_for(result.name, environment)}; save one with --baseline", err=True)

    color = sys.stdout.isatty()
    on_stdout = None
    failed: list[str] = []
    bad_input = False  # a failure that is the input's (a template the sandbox refuses): exit 2, not 74
    json_at = None  # where the JSON report (the whole result) was written
    for fmt, path in paths.items():
        if path is None:
            on_stdout = fmt
            continue
        try:
            for written in report.write(rep, fmt, path, where):
                click.echo(f"lunge: wrote {written}", err=True)
        except LungeError as e:
            failed.append(e.message)
            bad_input = bad_input or not isinstance(e, ReportError)
            continue
        if fmt == "json":
            json_at = path
    rep.color = color and on_stdout in (None, "text")
    try:
        click.echo(report.render(rep, on_stdout or "text"), nl=False)
        sys.stdout.flush()
    except OSError as e:  # a full disk or a closed pipe behind stdout
        failed.append(f"cannot write the {on_stdout or 'text'} report to stdout ({e.strerror})")
        _discard_stdout()
    except ConfigError as e:  # the HTML page on stdout, refused by the sandbox
        failed.append(e.message)
        bad_input = True

    regressed = comparison is not None and comparison["verdict"] == "regressed"
    if s.baseline:
        if result.interrupted:
            click.echo("lunge: --baseline: not saved: the run was interrupted", err=True)
        elif regressed and s.fail_on_regression:
            click.echo("lunge: --baseline: not saved: the run regressed (--fail-on-regression)", err=True)
        else:
            from lunge.results import codec

            doc = codec.dumps(codec.encode(rep.analysis, thresholds=th))
            try:
                click.echo(f"lunge: baseline saved to {baselines.save(doc, result.name, environment)}", err=True)
            except ConfigError as e:  # after the run: the run is kept like a report that failed
                failed.append(e.message)

    rc = _status(result, th, comparison, regressed, s, ran)
    if failed:
        kept = json_at or keep(rep)
        message = (f"{'; '.join(failed)}; the result is kept in {kept!r}" if kept else
                   f"{'; '.join(failed)}; and the result could not be kept anywhere")
        # outranks the run's own status: a report that was asked for is missing
        raise ConfigError(message) if bad_input and len(failed) == 1 else ReportError(message)
    return rc


def _status(result, th, comparison, regressed: bool, s: Settings, ran: bool) -> int:
    if result.interrupted and ran:
        return EXIT_INTERRUPTED
    failed = [c for c in th["checks"] if not c["passed"]] if th else []
    for c in failed:
        click.echo(f"lunge: {THRESHOLD}: {thresholds.describe(c)}", err=True)
    if regressed and comparison is not None and s.fail_on_regression:
        scoped = [(None, m) for m in comparison["metrics"]] + [
            (s["scenario"], m) for s in comparison.get("scenarios", {}).get("compared", []) for m in s["metrics"]]
        worse = ", ".join((f"{where} " if where else "") + (f"{m['label']} {m['deltaPct']:+.1f}%"
                                                              if m["deltaPct"] is not None else m["label"])
                          for where, m in scoped if m["verdict"] == "regressed")
        click.echo(f"lunge: regression against the baseline: {worse}", err=True)
        return EXIT_THRESHOLD
    return EXIT_THRESHOLD if failed else EXIT_OK


def keep(rep: report.Report) -> str | None:
    """Write the result (the JSON report) where it can be found: ./lunge-result-TIMESTAMP.json,
    else a file in the temporary directory.  Its path, or None if neither could be written."""
    body = report.render(rep, "json").encode()
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for n in range(100):
        path = f"lunge-result-{stamp}{f'-{n}' if n else ''}.json"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # never over another file
        except FileExistsError:
            continue
        except OSError:
            break
        if _write_all(fd, body, path):
            return path
        break
    try:
        fd, path = tempfile.mkstemp(prefix=f"lunge-result-{stamp}-", suffix=".json")
    except OSError:
        return None
    return path if _write_all(fd, body, path) else None


def _write_all(fd: int, body: bytes, path: str) -> bool:
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        return True
    except OSError:
        try:
            os.remove(path)
        except OSError:
            pass
        return False


def _discard_stdout() -> None:
    """After a failed write to stdout: point it at /dev/null, so that the interpreter's last
    flush of what is still buffered does not print a traceback at exit."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass
