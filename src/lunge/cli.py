"""The `lunge` command line: argv -> plan/config -> calls. Nothing else lives here.

Every LungeError becomes one line on stderr and its exit status (2 for bad input);
no traceback reaches the user.
"""
from __future__ import annotations

import sys

import click

from lunge import __version__
from lunge.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, ConfigError, LungeError
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
            click.echo(f"lunge: {e.message}", err=True)
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
@click.option("--grace", type=DURATION, help="How long in-flight requests may finish after issuing stops "
                                             "[default: 5s]; the rest count as aborted.")
@click.option("--insecure", "-k", is_flag=True, help="Do not verify TLS certificates.")
@click.option("--http2", is_flag=True, help="HTTP/2 (h2c prior knowledge on http://, ALPN on https://), streams multiplexed.")
@click.option("-L", "--follow", is_flag=True, help="Follow redirects.")
@click.option("--max-redirects", default=10, show_default=True, type=click.IntRange(min=0))
@click.option("--cacert", metavar="FILE", help="CA bundle to verify the server with.")
@click.option("--cert", metavar="FILE", help="Client certificate (PEM).")
@click.option("--key", metavar="FILE", help="Client private key (PEM).")
@click.option("--max-concurrency", default=20000, show_default=True, type=click.IntRange(min=1),
              help="Refuse a higher --concurrency (a guard against typos).")
@click.option("--name", help="Test name recorded in the result (default: the test's name, or METHOD URL).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Report format.")
@click.option("--output", "-o", metavar="FILE", help="Write the report to FILE (the text summary still prints).")
def perf(url, config_path, env, test, request, variables, method, headers, data, concurrency, iterations, duration,
         rps, pattern, ramp_up, ramp_down, warmup, warmup_iterations, data_file, variants, backoff, workers, shard,
         timeout,
         connect_timeout, grace, insecure,
         http2, follow, max_redirects, cacert, cert, key, max_concurrency, name, fmt, output):
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
    from lunge import patterns, report, runner
    from lunge.plan import build_plan, plan_from_config
    from lunge.variables import parse_assignments

    if pattern is not None and rps is not None:
        raise ConfigError("--pattern and --rps: give one (a pattern sets its own rates)")
    common = dict(iterations=iterations, duration=duration, rps=rps,
                  pattern=patterns.parse_flag(pattern) if pattern else None, ramp_up=ramp_up, ramp_down=ramp_down,
                  warmup=warmup, warmup_iterations=warmup_iterations, grace=grace, connect_timeout=connect_timeout,
                  http2=http2, max_redirects=max_redirects, cacert=cacert, cert=cert, key=key,
                  max_concurrency=max_concurrency, backoff=_backoff(backoff) if backoff else None)
    if config_path:
        if url or method or headers or data:
            raise ConfigError("--url/-X/-H/-d describe a request: with -c the request comes from the config")
        plan, _test = plan_from_config(config_path, env, test, request, parse_assignments(variables),
                                       concurrency=concurrency, timeout=timeout, insecure=insecure, follow=follow,
                                       name=name, data_file=data_file, variants=variants, **common)
    else:
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
    result = runner.run(plan, workers=workers)
    if output:
        report.write(result, fmt, output)
    if fmt == "json" and not output:
        click.echo(report.render(result, "json"), nl=False)
    else:
        click.echo(report.render(result, "text"), nl=False)
    return EXIT_INTERRUPTED if result.interrupted else EXIT_OK


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
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--output", "-o", metavar="FILE", help="Write the merged report to FILE (the text summary still prints).")
def merge(results, fmt, output):
    """Merge results of shards (or any runs) exactly: histograms add, series align on wall-clock seconds.

    \b
    Example:
      lunge merge shard-0.json shard-1.json --format json --output merged.json
    """
    from lunge import report
    from lunge.result import RunResult, load

    merged = RunResult.merge([load(p) for p in results], kind="shard")
    if output:
        report.write(merged, fmt, output)
    if fmt == "json" and not output:
        click.echo(report.render(merged, "json"), nl=False)
    else:
        click.echo(report.render(merged, "text"), nl=False)
    return EXIT_OK


def _backoff(text: str) -> tuple[float, float]:
    first, _, second = text.partition(":")
    try:
        initial = parse_duration(first)
        return initial, parse_duration(second) if second else initial * 64
    except ConfigError:
        raise ConfigError(f"--backoff: {text!r} is not PAUSE[:MAX] (e.g. 100ms:5s)") from None


def main(argv=None):
    """Entry point: every failure the user can act on is one line on stderr and an exit status."""
    try:
        rc = cli.main(args=argv, prog_name="lunge", standalone_mode=False)
    except click.exceptions.Exit as e:
        rc = e.exit_code
    except click.ClickException as e:  # usage errors: bad flags and values
        click.echo(f"lunge: {e.format_message()}", err=True)
        rc = EXIT_USAGE
    except LungeError as e:
        click.echo(f"lunge: {e.message}", err=True)
        rc = e.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("lunge: interrupted", err=True)
        rc = EXIT_INTERRUPTED
    sys.exit(rc if isinstance(rc, int) else EXIT_OK)


# The request toolkit: get/post/put/delete/patch/head, run, test, validate.
from lunge.client.commands import register as _register_toolkit  # noqa: E402

_register_toolkit(cli)
