"""The `lunge` command line: argv -> plan/config -> calls. Nothing else lives here.

Every LungeError becomes one line on stderr and its exit status (2 for bad input);
no traceback reaches the user.
"""
from __future__ import annotations

import sys

import click

from lunge import __version__
from lunge.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, STOP_EXIT, ConfigError, LungeError
from lunge.secretvalues import scrub
from lunge.units import parse_duration


class Duration(click.ParamType):
    name = "duration"

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        try:
            return parse_duration(value)
        except ConfigError:
            self.fail(f"{value!r} is not a duration (e.g. 250ms, 30s, 5m, 1h)", param, ctx)


DURATION = Duration()


class LungeGroup(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except LungeError as e:
            click.echo(f"lunge: {scrub(e.message)}", err=True)
            ctx.exit(e.exit_code)


def _version_text() -> str:
    from lunge import libcurl
    from lunge._native import engine

    lines = [f"lunge {__version__}"]
    try:
        info = libcurl.load()
        feats = ", ".join(f for f, on in (("HTTP/2", info["http2"]), ("HTTP/3", info["http3"])) if on)
        lines.append(f"libcurl {info['version']} ({info['ssl']}; {feats or 'HTTP/1.1 only'})")
        lines.append(f"engine {engine.ENGINE_VERSION} ({engine.BUILD})")
        lines.append(f"engine libcurl file: {info['path']} ({info['origin']})")
        lines.append("libcurl allocator: " + ("lunge's (a per-thread stash of small blocks in front of glibc's malloc)"
                                              if info["allocator"] == "lunge" else "libcurl's default"))
    except LungeError as e:
        lines.append(f"libcurl: unavailable ({e.message})")
    return "\n".join(lines)


def _print_version(ctx, _param, value):
    if value and not ctx.resilient_parsing:
        click.echo(_version_text())
        ctx.exit(0)


@click.group(cls=LungeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show lunge's, libcurl's and the engine's versions, and which libcurl file is used.")
def cli():
    """lunge: HTTP requests, API test suites and native-speed load tests from the terminal."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="Port (0: any free port; printed first).")
def serve(host, port):
    """Run the embedded target server (for demos and tests; see `lunge.target`)."""
    from lunge import target

    target.main(host, port)


@cli.command()
@click.option("--url", "-u", metavar="URL", help="The URL to load (http:// or https://).")
@click.option("-c", "--config", "config_path", metavar="FILE", help="Config file (JSON or YAML) with the request or test.")
@click.option("-e", "--env", metavar="ENV", help="Environment of the config file.")
@click.option("-p", "--performance", "test", metavar="TEST", help="Run the config's performance.TEST.")
@click.option("-r", "--request", metavar="REQUEST", help="Load-test the config's requests.REQUEST.")
@click.option("--var", "variables", multiple=True, metavar="K=V", help="Set a config variable (repeatable).")
@click.option("-X", "--method", metavar="METHOD", help="HTTP method (default GET, or POST with -d).")
@click.option("-H", "--header", "headers", multiple=True, metavar="'Name: value'", help="Request header (repeatable).")
@click.option("-d", "--data", metavar="BODY", help="Request body, or @FILE to send a file's bytes.")
@click.option("--max-request-body", metavar="SIZE", help="Refuse a request body read from a file (-d @FILE, a "
                                                         "config's \"@file\" body) larger than SIZE [default: 100MB].")
@click.option("--concurrency", type=click.IntRange(min=1),
              help="Connections [default: 10]. Closed model: each keeps one request in flight; "
                   "with --rps: the cap on requests in flight.")
@click.option("-n", "--iterations", type=click.IntRange(min=1), help="Send exactly this many requests.")
@click.option("--duration", "-D", type=DURATION, help="Stop issuing after this long (e.g. 30s, 5m).")
@click.option("--rps", type=float, help="Open model: schedule requests at this constant rate (req/s).")
@click.option("--pattern", metavar="SPEC",
              help="Open model rate pattern: linear:START:END[:DURATION], step:RPS@DUR,RPS@DUR,..., "
                   "custom:package.module:Class.")
@click.option("--ramp-up", type=DURATION, help="Ramp the rate (or the connections) up from 0 over this long.")
@click.option("--ramp-down", type=DURATION, help="Ramp the rate (or the connections) down to 0 over the last part.")
@click.option("--warmup", type=DURATION, help="Send load for this long first, kept out of the metrics.")
@click.option("--warmup-iterations", type=click.IntRange(min=1), help="Or: this many warmup requests first.")
@click.option("--data-file", metavar="CSV", help="With -c: a CSV file (header: variable names); each request "
                                                 "takes the next row's values.")
@click.option("--variants", type=click.IntRange(min=1, max=100000),
              help="With -c: renderings of a request with per-request values ({{$uuid}}...) to cycle through "
                   "[default: 1000].")
@click.option("--backoff", metavar="PAUSE[:MAX]", help="After a transport error, 429 or 503, pause new requests, "
                                                       "doubling per error in a row up to MAX (e.g. 100ms:5s).")
@click.option("--workers", type=click.IntRange(min=1), help="Engine threads, each with its own connections and "
              "share of the rate [default: usable cores, capped by --concurrency].")
@click.option("--shard", metavar="I/N", help="Run part I of N (0-based) of the load, for one of N machines; "
                                             "merge the results with `lunge merge`.")
@click.option("--timeout", type=DURATION, help="Per-request timeout [default: 30s; 0: none].")
@click.option("--connect-timeout", type=DURATION, help="Timeout for establishing a connection.")
@click.option("--low-speed-limit", type=click.IntRange(min=1), metavar="BYTES",
              help="A response slower than BYTES/s for --low-speed-time fails as a timeout.")
@click.option("--low-speed-time", type=DURATION, help="How long a response may stay under --low-speed-limit [default: 30s].")
@click.option("--max-body", metavar="SIZE", help="A response body larger than SIZE (e.g. 10MB) fails as invalid_response.")
@click.option("--grace", type=DURATION, help="How long in-flight requests may finish after issuing stops "
                                             "[default: 5s]; the rest count as aborted.")
@click.option("--insecure", "-k", is_flag=True, help="Do not verify TLS certificates.")
@click.option("--show-secrets", is_flag=True, help="Keep credentials (Authorization, cookies, tokens, URL passwords) "
                                                   "in reports; they are redacted by default.")
@click.option("--http2", is_flag=True, help="HTTP/2 (h2c prior knowledge on http://, ALPN on https://), streams multiplexed.")
@click.option("-L", "--follow", is_flag=True, help="Follow redirects.")
@click.option("--max-redirects", default=10, show_default=True, type=click.IntRange(min=0))
@click.option("--cacert", metavar="FILE", help="CA bundle to verify the server with.")
@click.option("--cert", metavar="FILE", help="Client certificate (PEM).")
@click.option("--key", metavar="FILE", help="Client private key (PEM).")
@click.option("--max-concurrency", default=20000, show_default=True, type=click.IntRange(min=1),
              help="Refuse a higher --concurrency (a guard against typos).")
@click.option("--name", help="Test name recorded in the result (default: the test's name, or METHOD URL).")
# Reports, thresholds and baselines (lunge.finish); flags win over the config's sections.
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html", "csv"]), multiple=True,
              help="Report format, repeatable [default: text, or the config's reporting.formats].")
@click.option("--output", "-o", metavar="FILE", help="Write the report to FILE; with several formats FILE is a "
                                                     "base name (FILE.json, FILE.html ...). The text summary still prints.")
@click.option("--template", metavar="DIR", help="Jinja2 templates overriding the HTML report's (report.html.j2).")
@click.option("--threshold", "threshold_exprs", multiple=True, metavar="EXPR",
              help="Fail (exit 1) unless EXPR holds, e.g. 'p99 < 300ms', 'rate(errors) < 0.01', 'rps > 900' (repeatable).")
@click.option("--no-thresholds", is_flag=True, help="Ignore the config's thresholds (and --threshold).")
@click.option("--baseline", "save_baseline", is_flag=True, help="Save this run as the baseline for (test, environment) "
                                                               "in .lunge/baselines/.")
@click.option("--compare", "compare_baseline", is_flag=True, help="Compare this run with the saved baseline.")
@click.option("--tolerance", metavar="PCT", help="Changes smaller than this are 'unchanged' [default: 10%].")
@click.option("--fail-on-regression", is_flag=True, help="Exit 1 if --compare finds a regression.")
# Live console, resource monitor, hooks and protections (docs/monitoring.md); lunge.live reads them.
@click.option("--real-time", is_flag=True, default=None, help="On a terminal: the full live panel, every second.")
@click.option("--progress-interval", type=DURATION, help="Off a terminal: a progress line this often [default: 5s; 0: none].")
@click.option("--resources/--no-resources", default=None, help="Sample lunge's CPU, memory, fds, TCP states [default: on].")
@click.option("--max-memory", metavar="SIZE", help="Stop the run (exit 4, resource_limit) if lunge's memory passes SIZE.")
@click.option("--max-error-rate-abort", metavar="RATE[:SECONDS]",
              help="Stop the run (exit 3) if more than RATE of requests fail for SECONDS in a row [default: 5s].")
@click.option("--hook", "hooks", multiple=True, metavar="package.module:Class", help="Hook fed every second (repeatable).")
@click.option("--metrics-port", type=click.IntRange(0, 65535), help="Serve live Prometheus metrics on this port.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="Address for --metrics-port.")
def perf(url, config_path, env, test, request, variables, method, headers, data, max_request_body, concurrency, iterations, duration,
         rps, pattern, ramp_up, ramp_down, warmup, warmup_iterations, data_file, variants, backoff, workers, shard,
         timeout, connect_timeout, low_speed_limit, low_speed_time, max_body, grace, insecure, show_secrets, http2,
         follow, max_redirects, cacert, cert, key, max_concurrency, name, fmt, output, template, threshold_exprs, no_thresholds, save_baseline, compare_baseline, tolerance,
         fail_on_regression, **monitoring):
    """Load-test a URL, or a request or performance test of a config file, with the native engine.

    \b
    Closed model (each connection keeps one request in flight):
      lunge perf --url http://127.0.0.1:8080/ --concurrency 50 --duration 30s
    Open model (requests scheduled at a rate; latency counts from the scheduled time):
      lunge perf --url http://127.0.0.1:8080/ --rps 1000 --duration 1m --concurrency 200
      lunge perf --url http://127.0.0.1:8080/ --pattern linear:100:2000 --duration 10s
    From a config file:
      lunge perf -c config.json -e dev -p loadTest
      lunge perf -c config.json -e dev -r getUsers --rps 500 --duration 5m
    """
    from lunge import finish, live, patterns, runner
    from lunge.plan import build_plan, plan_from_config
    from lunge.variables import parse_assignments

    if show_secrets:
        from lunge import secretvalues

        secretvalues.show()
    if max_request_body is not None:
        from lunge import safeload

        safeload.set_max_request_body(_size(max_request_body, "--max-request-body"))
    if pattern is not None and rps is not None:
        raise ConfigError("--pattern and --rps: give one (a pattern sets its own rates)")
    common = dict(iterations=iterations, duration=duration, rps=rps,
                  pattern=patterns.parse_flag(pattern) if pattern else None, ramp_up=ramp_up, ramp_down=ramp_down,
                  warmup=warmup, warmup_iterations=warmup_iterations, grace=grace, connect_timeout=connect_timeout,
                  http2=http2, max_redirects=max_redirects, cacert=cacert, cert=cert, key=key,
                  max_concurrency=max_concurrency, backoff=_backoff(backoff) if backoff else None,
                  max_body=_size(max_body, "--max-body") if max_body else 0, low_speed_limit=low_speed_limit or 0,
                  low_speed_time=low_speed_time or 0.0, show_secrets=show_secrets)
    if config_path:
        if url or method or headers or data:
            raise ConfigError("--url/-X/-H/-d describe a request: with -c the request comes from the config")
        plan, perf_test = plan_from_config(config_path, env, test, request, parse_assignments(variables),
                                           concurrency=concurrency, timeout=timeout, insecure=insecure,
                                           follow=follow, name=name, data_file=data_file, variants=variants,
                                           **common)
    else:
        perf_test = None
        if test or request or env or variables or data_file or variants:
            raise ConfigError("-p/-r/-e/--var/--data-file/--variants need a config file: add -c FILE")
        if not url:
            raise ConfigError("give --url URL (e.g. --url http://127.0.0.1:8080/), or -c FILE with -p TEST or -r REQUEST")
        plan = build_plan(url=url, method=method, headers=headers, data=data,
                          concurrency=concurrency if concurrency is not None else 10,
                          timeout=timeout if timeout is not None else 30.0, insecure=insecure, follow=follow,
                          name=name, **common)
    if shard:
        plan = _shard(plan, shard)
    if plan.transport.insecure:
        click.echo("lunge: warning: --insecure: TLS certificates are not verified", err=True)
    if plan.transport.follow:
        from lunge import secretvalues

        carried = [h.split(":", 1)[0] for h in plan.request.headers if secretvalues.carries_credentials(h)]
        if any(n.strip().lower() not in ("authorization", "cookie") for n in carried):
            click.echo(f"lunge: warning: -L: the load engine follows redirects with libcurl, which keeps "
                       f"Authorization and Cookie for the original host but sends {', '.join(carried)} to any "
                       f"host a redirect names (docs/reliability.md)", err=True)
    opts = finish.Options(formats=fmt, output=output, template=template, thresholds=threshold_exprs,
                          no_thresholds=no_thresholds,
                          baseline=save_baseline, compare=compare_baseline,
                          tolerance=finish.parse_tolerance(tolerance), fail_on_regression=fail_on_regression)
    finish.validate(opts, perf_test, config_path)  # bad thresholds or outputs fail before the run, not after
    result = runner.run(plan, monitor=live.Live(plan, live.options(monitoring, perf_test and perf_test.monitoring)),
                        workers=workers)
    rc = finish.finish(result, opts, perf_test, env, config_path)
    return STOP_EXIT.get(result.stop_reason, rc)  # a protection's stop outranks the report's verdict


@cli.command("compare")
@click.argument("baseline", metavar="BASELINE.json")
@click.argument("current", metavar="CURRENT.json")
@click.option("--tolerance", metavar="PCT", help="Changes smaller than this are 'unchanged' [default: 10%].")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--fail-on-regression", is_flag=True, help="Exit 1 if CURRENT regressed against BASELINE.")
def compare_cmd(baseline, current, tolerance, fmt, fail_on_regression):
    """Compare two results (lunge perf --format json): per-metric deltas and a verdict,
    improved / regressed / unchanged, that accounts for run-to-run noise."""
    import json

    from lunge import compare, finish
    from lunge.errors import EXIT_THRESHOLD
    from lunge.result import load

    tol = finish.parse_tolerance(tolerance)
    c = compare.compare(load(baseline), load(current), tol)
    click.echo(json.dumps(c, indent=1) if fmt == "json" else compare.render_text(c), nl=fmt == "json")
    return EXIT_THRESHOLD if fail_on_regression and c["verdict"] == "regressed" else EXIT_OK


@cli.command()
@click.option("--duration", "-D", type=DURATION, default="5s", show_default=True, help="Length of the load test.")
@click.option("-c", "--concurrency", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--output", "-o", default="lunge-result.json", show_default=True, help="Where to write the JSON result.")
def demo(duration, concurrency, output):
    """Load-test lunge's embedded target: start it, run, report, check the counts, stop it."""
    from lunge import report, runner, target
    from lunge.plan import build_plan

    with target.Spawned() as server:
        plan = build_plan(url=f"{server.url}/", concurrency=concurrency, duration=duration,
                          name="demo: embedded target")
        click.echo(f"lunge demo: {concurrency} connections for {duration:g}s against the embedded target "
                   f"at {server.url}/ (pid {server.proc.pid})\n", err=True)
        result = runner.run(plan)
        seen = server.stats()["requests"]
    report.write(result, "json", output)
    click.echo(report.render(result, "text"), nl=False)
    verdict = "match" if seen == result.completed else "MISMATCH"
    click.echo(f"\n  Check        the target counted {seen} requests, lunge {result.completed}: {verdict}")
    click.echo(f"  Result       {output}")
    return EXIT_INTERRUPTED if result.interrupted else EXIT_OK


def _shard(plan, text: str):
    index, sep, count = text.partition("/")
    if not (sep and index.isdigit() and count.isdigit() and int(index) < int(count)):
        raise ConfigError(f"--shard: {text!r} is not I/N with 0 <= I < N (e.g. 0/4)")
    if int(count) > plan.max_parts():
        raise ConfigError(f"--shard: {text!r}: {count} shards need at least {count} connections and iterations")
    return plan.share(int(index), int(count))


@cli.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html", "csv"]), multiple=True,
              help="Report format, repeatable [default: text].")
@click.option("--output", "-o", metavar="FILE", help="Write the merged report to FILE (a base name with several "
                                                     "formats). The text summary still prints.")
@click.option("--threshold", "threshold_exprs", multiple=True, metavar="EXPR", help="Fail (exit 1) unless EXPR holds.")
@click.option("--force", is_flag=True, help="Merge runs of different tests or targets, or runs that did not "
                                            "overlap in time.")
def merge(results, fmt, output, threshold_exprs, force):
    """Merge results of shards (or any runs) exactly: histograms add, series align on wall-clock
    seconds; every report a single run has.

    \b
    Example:
      lunge merge shard-0.json shard-1.json --format json --output merged.json
    """
    from lunge import finish
    from lunge.result import RunResult, load

    from lunge.resultcheck import check_mergeable

    loaded = [load(p) for p in results]
    check_mergeable(loaded, list(results), force)
    merged = RunResult.merge(loaded, kind="shard")
    opts = finish.Options(formats=fmt, output=output, thresholds=threshold_exprs)
    finish.validate(opts, None, None)
    return finish.finish(merged, opts, ran=False)


def _size(text: str, flag: str) -> int:
    from lunge.units import parse_size

    try:
        return int(parse_size(text))
    except ConfigError:
        raise ConfigError(f"{flag}: {text!r} is not a size (e.g. 512KB, 10MB)") from None


def _backoff(text: str) -> tuple[float, float]:
    first, _, second = text.partition(":")
    try:
        initial = parse_duration(first)
        return initial, parse_duration(second) if second else initial * 64
    except ConfigError:
        raise ConfigError(f"--backoff: {text!r} is not PAUSE[:MAX] (e.g. 100ms:5s)") from None


def main(argv=None):
    """Entry point: every failure the user can act on is one line on stderr and an exit status."""
    from lunge import secretvalues

    secretvalues.reset()
    try:
        rc = cli.main(args=argv, prog_name="lunge", standalone_mode=False)
    except click.exceptions.Exit as e:
        rc = e.exit_code
    except click.ClickException as e:  # usage errors: bad flags and values
        click.echo(f"lunge: {scrub(e.format_message())}", err=True)
        rc = EXIT_USAGE
    except LungeError as e:
        click.echo(f"lunge: {scrub(e.message)}", err=True)
        rc = e.exit_code
    except RecursionError:  # a backstop: input is depth-bounded (lunge.safeload) long before this
        click.echo("lunge: input nested too deeply to process", err=True)
        rc = EXIT_USAGE
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("lunge: interrupted", err=True)
        rc = EXIT_INTERRUPTED
    sys.exit(rc if isinstance(rc, int) else EXIT_OK)


# The request toolkit: get/post/put/delete/patch/head, run, test, validate.
from lunge.client.commands import register as _register_toolkit  # noqa: E402

_register_toolkit(cli)
