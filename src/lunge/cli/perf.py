"""The load-testing commands: perf, compare, demo and merge.

perf: flags -> Settings (over the config's performance test and the defaults) -> Plan ->
runner -> result -> finish (thresholds, baseline, reports, exit status).
"""
from __future__ import annotations

import dataclasses
import os

import click

from lunge.cli import params
from lunge.cli.params import DURATION, default, no_color_option
from lunge.errors import EXIT_INTERRUPTED, EXIT_OK, STOP_EXIT, ConfigError
from lunge.plan import RequestTemplate, build_plan
from lunge.settings import ERROR_ABORT_SECONDS, GO_LUNGE_DURATION, Settings, request_layer, test_layer

ON_OFF = ("resources",)  # the perf flags given as --X/--no-X
# The original Lunge's executors (k6's), as --executor takes them.
EXECUTORS = ("constant-vus", "ramping-vus", "constant-arrival-rate", "ramping-arrival-rate", "per-vu-iterations",
             "shared-iterations")
# Those that start iterations (at a rate, or a count) run on the flow engine; constant-vus and
# ramping-vus with one URL are the closed model's connections.
FLOW_EXECUTORS = EXECUTORS[2:]


@click.command()
@click.argument("url_arg", metavar="[URL]", required=False)
@click.option("--url", "-u", metavar="URL", help="The URL to load (http:// or https://); or give it as the argument.")
@click.option("-c", "--config", "config_path", metavar="FILE", help="Config file (JSON or YAML) with the request or test.")
@click.option("-e", "--env", "--environment", "env", metavar="ENV", help="Environment of the config file.")
@click.option("-p", "--performance", "test", metavar="TEST", help="Run the config's performance.TEST.")
@click.option("-r", "--request", metavar="REQUEST", help="Load-test the config's requests.REQUEST.")
@click.option("--var", "variables", multiple=True, metavar="K=V", help="Set a config variable (repeatable).")
@click.option("-X", "--method", metavar="METHOD", help="HTTP method (default GET, or POST with -d).")
@click.option("-H", "--header", "headers", multiple=True, metavar="'Name: value'", help="Request header (repeatable).")
@click.option("-d", "--data", metavar="BODY", help="Request body, or @FILE to send a file's bytes.")
@params.max_request_body_option
@click.option("--concurrency", type=click.IntRange(min=1),
              help="Connections. Closed model: each keeps one request in flight; "
                   "with --rps: the cap on requests in flight." + default("concurrency"))
@click.option("--vus", type=click.IntRange(min=1), help="The original Lunge's --vus: virtual users, each with one "
              "request in flight (= --concurrency).")
@click.option("--executor", type=click.Choice(EXECUTORS), help="The original Lunge's (and k6's) executor: "
              "constant-vus (the closed model, the default), ramping-vus (with --stages), constant-arrival-rate "
              "(--rate), ramping-arrival-rate (--stages DUR:RATE,...), per-vu-iterations and shared-iterations "
              "(-n); docs/scenarios.md.")
@click.option("--stages", metavar="DUR:N,...", help="ramping-vus: from 0, move linearly to each stage's VUs over "
              "its duration, e.g. 30s:10,2m:50,30s:0 (the stages set the run's length); ramping-arrival-rate: "
              "iterations per second instead of VUs.")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), help="constant-arrival-rate: iterations "
              "started per second (ramping-arrival-rate: the rate at the start).")
@click.option("--max-vus", type=click.IntRange(min=1), help="Arrival-rate executors: the VU pool grows up to this; "
              "an iteration due when every VU is busy is dropped (and counted).")
@click.option("--pre-allocated-vus", type=click.IntRange(min=1), help="Arrival-rate executors: VUs made before "
              "the start.")
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
                   "." + default("variants"))
@click.option("--backoff", metavar="PAUSE[:MAX]", help="After a transport error, 429 or 503, pause new requests, "
                                                       "doubling per error in a row up to MAX (e.g. 100ms:5s).")
@click.option("--workers", type=click.IntRange(min=1), help="Engine threads, each with its own connections and "
              "share of the rate [default: usable cores, capped by --concurrency].")
@click.option("--shard", metavar="I/N", help="Run part I of N (0-based) of the load, for one of N machines; "
                                             "merge the results with `lunge merge`.")
@click.option("--timeout", "-t", type=DURATION, help="Per-request timeout (0: none)." + default("timeout"))
@click.option("--connect-timeout", type=DURATION, help="Timeout for establishing a connection.")
@click.option("--low-speed-limit", type=click.IntRange(min=1), metavar="BYTES",
              help="A response slower than BYTES/s for --low-speed-time fails as a timeout.")
@click.option("--low-speed-time", type=DURATION, help="How long a response may stay under --low-speed-limit."
              + default("low_speed_time"))
@click.option("--max-body", metavar="SIZE", help="A response body larger than SIZE (e.g. 10MB) fails as invalid_response.")
@click.option("--grace", type=DURATION, help="How long in-flight requests may finish after issuing stops "
                                             "; the rest count as aborted." + default("grace"))
@click.option("--insecure", "-k", is_flag=True, help="Do not verify TLS certificates.")
@click.option("--location-trusted", is_flag=True, help="With -L: allow credential headers (X-Api-Key, tokens ...) "
                                                     "that would follow a redirect to another host.")
@click.option("--show-secrets", is_flag=True, help="Keep credentials (Authorization, cookies, tokens, URL passwords) "
                                                   "in reports; they are redacted by default.")
@click.option("--http2", is_flag=True, help="HTTP/2 (h2c prior knowledge on http://, ALPN on https://), streams multiplexed.")
@click.option("--http3", is_flag=True, help="HTTP/3 only, over QUIC (https://): a target without QUIC fails as "
                                            "quic_connect. Streams multiplexed. See docs/http3.md.")
@click.option("--http3-fallback", is_flag=True, help="HTTP/3, or HTTP/2 / 1.1 over TCP where QUIC does not answer "
                                                     "(libcurl races both); the result counts each version.")
@click.option("-L", "--follow", is_flag=True, help="Follow redirects.")
@click.option("--max-redirects", type=click.IntRange(min=0), help="At most this many redirects with -L."
              + default("max_redirects"))
@params.tls_options
@click.option("--max-concurrency", type=click.IntRange(min=1),
              help="Refuse a higher --concurrency (a guard against typos)." + default("max_concurrency"))
@click.option("--name", help="Test name recorded in the result (default: the test's name, or METHOD URL).")
# Reports, thresholds and baselines (lunge.cli.finish); flags win over the config's sections.
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html", "csv"]), multiple=True,
              help="Report format, repeatable [default: text, or the config's reporting.formats].")
@click.option("--output", "-o", metavar="FILE", help="Write the report to FILE; with several formats FILE is a "
                                                     "base name (FILE.json, FILE.html ...). Without --format the "
                                                     "extension names the format (.html .json .csv .txt), and "
                                                     "FILE without one writes FILE.html and FILE.json. The text "
                                                     "summary still prints.")
@click.option("--json", "json_report", is_flag=True, help="Also the JSON result (--format json): on stdout, or at "
                                                          "--output.")
@click.option("--html", "html_report", is_flag=True, help="Also the HTML report (--format html): at --output, or "
                                                          "perf-report-NAME-TIMESTAMP.html.")
@click.option("--template", metavar="DIR", help="Jinja2 templates overriding the HTML report's (report.html.j2).")
@click.option("--threshold", "threshold_exprs", multiple=True, metavar="EXPR",
              help="Fail (exit 1) unless EXPR holds, e.g. 'p99 < 300ms', 'rate(errors) < 0.01', 'rps > 900', "
                   "'http_req_failed: rate < 0.01', 'http_reqs: count > 1000' (repeatable).")
@click.option("--no-thresholds", is_flag=True, help="Ignore the config's thresholds (and --threshold).")
@click.option("--baseline", "save_baseline", is_flag=True, help="Save this run as the baseline for (test, environment) "
                                                               "in .lunge/baselines/.")
@click.option("--compare", "compare_baseline", is_flag=True, help="Compare this run with the saved baseline.")
@click.option("--tolerance", metavar="PCT", help="Changes smaller than this are 'unchanged' [default: 10%].")
@click.option("--fail-on-regression", is_flag=True, help="Exit 1 if --compare finds a regression.")
# Live console, resource monitor, hooks and protections (docs/monitoring.md); lunge.live.view reads them.
@click.option("--real-time", is_flag=True, default=None, help="On a terminal: the full live panel, every second.")
@click.option("--progress-interval", type=DURATION, help="Off a terminal: a progress line this often (0: none)." + default("progress_interval"))
@click.option("--resources/--no-resources", default=None, help="Sample lunge's CPU, memory, fds, TCP states [default: on].")
@click.option("--max-memory", metavar="SIZE", help="Stop the run (exit 4, resource_limit) if lunge's memory passes SIZE.")
@click.option("--max-error-rate-abort", metavar="RATE[:SECONDS]",
              help="Stop the run (exit 3) if more than RATE of requests fail for SECONDS in a row "
                   f"[default: {ERROR_ABORT_SECONDS}s].")
@click.option("--hook", "hooks", multiple=True, metavar="package.module:Class", help="Hook fed every second (repeatable).")
@click.option("--metrics-port", type=click.IntRange(0, 65535), help="Serve live Prometheus metrics on this port.")
@click.option("--metrics-host", help="Address for --metrics-port." + default("metrics_host"))
@click.option("-q", "--quiet", is_flag=True, help="No live progress: only the report, warnings and errors.")
@click.option("-v", "--verbose", is_flag=True, help="More detail: the run's settings first, the live panel (a "
                                                    "terminal) or a progress line every second, and each error "
                                                    "class with libcurl's message at the end, on stderr.")
@no_color_option
def perf(**kw):
    """Load-test a URL, virtual users running flows (a v2 scenario file), or a config's request or test.

    \b
    Closed model (each connection keeps one request in flight):
      lunge perf http://127.0.0.1:8080/ --concurrency 50 --duration 30s
    Open model (requests scheduled at a rate; latency counts from the scheduled time):
      lunge perf --url http://127.0.0.1:8080/ --rps 1000 --duration 1m --concurrency 200
      lunge perf --url http://127.0.0.1:8080/ --pattern linear:100:2000 --duration 10s
    From a config file:
      lunge perf -c config.json -e dev -p loadTest
      lunge perf -c config.json -e dev -r getUsers --rps 500 --duration 5m
    Virtual users running flows (a v2 scenario file; docs/scenarios.md):
      lunge perf -c flow.yaml
      lunge perf --url http://127.0.0.1:8080/ --executor constant-arrival-rate --rate 100 --max-vus 50
    """
    from lunge import runner
    from lunge.cli import finish
    from lunge.live import view as live

    url_arg = kw.pop("url_arg")
    if url_arg is not None:  # `lunge perf URL`, as hey, oha and wrk take it
        if kw["url"] is not None:
            raise ConfigError(f"the URL is given twice ({url_arg} and --url {kw['url']}): give it once")
        kw["url"] = url_arg
    config_path, env, test, request = kw.pop("config_path"), kw.pop("env"), kw.pop("test"), kw.pop("request")
    if config_path is not None and config_path.strip().isdigit() and not os.path.exists(config_path):
        raise ConfigError(f"-c is the config file (as in the original Lunge), and there is no file {config_path!r}: "
                          f"for {config_path} connections use --concurrency {config_path} (or --vus {config_path})")
    quiet, verbose = bool(kw["quiet"]), bool(kw["verbose"])
    default_html = kw["html_report"] and not kw["output"]
    variables = kw.pop("variables")
    location_trusted = kw.pop("location_trusted")
    if kw.get("show_secrets"):
        from lunge import secretvalues

        secretvalues.show()
    go_quick_mode = kw.get("vus") is not None or kw.get("executor") is not None
    flow_quick = {k: kw.pop(k) for k in ("rate", "max_vus", "pre_allocated_vus")}
    executor = kw.get("executor")
    if executor in FLOW_EXECUTORS:  # iterations of a one-request flow: the flow engine
        flow_quick.update(executor=executor, vus=kw["vus"], stages=kw["stages"])
        kw.update(executor=None, vus=None, stages=None)
    elif any(v is not None for v in flow_quick.values()):
        given = next(k for k, v in flow_quick.items() if v is not None).replace("_", "-")
        raise ConfigError(f"--{given} goes with --executor constant-arrival-rate or ramping-arrival-rate")
    flags = flag_settings(kw)
    if config_path and scenario_file(config_path) is not None or "executor" in flow_quick:
        if test or request or env or variables:
            raise ConfigError("-p/-r/-e/--var are for v1 config files: a v2 file's scenarios all run")
        return _run_flows(flags, config_path, flow_quick, quiet, verbose)
    if config_path:
        if any(flags.get(k) is not None for k in ("url", "method", "headers", "data")):
            raise ConfigError("--url/-X/-H/-d describe a request: with -c the request comes from the config")
        s, perf_test, plan = _from_config(flags, config_path, env, test, request, variables)
    else:
        perf_test = None
        if test or request or env or variables or flags.get("data_file") or flags.get("variants"):
            raise ConfigError("-p/-r/-e/--var/--data-file/--variants need a config file: add -c FILE")
        # the original Lunge's quick mode (--vus, --executor) runs its documented 30 s when no
        # length is given; lunge's own flags keep asking for one
        quick = {"duration": GO_LUNGE_DURATION} if go_quick_mode and not flags.get("stages") else {}
        s = Settings.layered(flags, quick) if quick and flags.get("iterations") is None else Settings.layered(flags)
        plan = build_plan(s)
    if plan.transport.insecure:
        click.echo("lunge: warning: --insecure: TLS certificates are not verified", err=True)
    if plan.transport.follow:
        from lunge import secretvalues

        carried = [h.split(":", 1)[0].strip() for h in plan.request.headers if secretvalues.carries_credentials(h)]
        custom = [n for n in carried if n.lower() not in ("authorization", "cookie")]
        # libcurl keeps Authorization and Cookie for the original host, but would send these to
        # any host a redirect names, and the engine cannot drop them per hop: refuse, unless asked.
        if custom and not location_trusted:
            raise ConfigError(f"-L: {', '.join(custom)} would follow a redirect to another host (the load engine "
                              f"cannot drop it there): add --location-trusted to send it anyway, or load-test the "
                              f"final URL")
    if default_html:  # --html without --output: the original Lunge's file name, in the current directory
        from lunge import report

        s = dataclasses.replace(s, output={**s.output, "html": report.default_html_path(plan.name)})
    # bad thresholds, outputs or a --compare baseline fail before the run, not after
    baseline = finish.validate(s, perf_test, name=plan.name, environment=env)
    if verbose and not quiet:
        _describe(plan, s, finish.threshold_exprs(s, perf_test))
    # no colour: no escape sequences either, so the live view is the plain lines of a CI log
    plain = quiet or click.get_current_context().color is False
    result = runner.run(plan, monitor=live.Live(plan, live.Options.of(s), tty=False if plain else None),
                        workers=s.workers)
    rc = finish.finish(result, s, perf_test, env, baseline=baseline)
    if verbose:
        from lunge.secretvalues import scrub  # libcurl's messages can quote a URL with its password

        for cls, n in result.error_classes.items():
            msg = result.error_samples.get(cls)
            click.echo(scrub(f"lunge: errors: {cls}: {n}" + (f" (first: {msg})" if msg else "")), err=True)
    return STOP_EXIT.get(result.stop_reason or "", rc)  # a protection's stop outranks the report's verdict


def scenario_file(path: str):
    """The v2 scenario file at `path`, or None for a v1 config (ConfigError if it is neither)."""
    from lunge.config import scenario

    cfg = scenario.load_any(path)
    return cfg if isinstance(cfg, scenario.TestFile) else None


def _run_flows(flags: dict, config_path: str | None, quick: dict, quiet: bool, verbose: bool) -> int:
    """A v2 file, or the quick mode's one-request flow, on the flow engine."""
    from lunge import patterns, runner
    from lunge.cli import finish, flows
    from lunge.config import scenario as S
    from lunge.live import view as live

    if config_path:
        tf = scenario_file(config_path)
        assert tf is not None
        flows.refuse_load_flags(flags, config_path)
        s = Settings.layered(flags)
    else:
        stages = patterns.parse_stages(quick["stages"]) if quick.get("stages") else None
        length = {} if stages or flags.get("duration") is not None or flags.get("iterations") is not None \
            else {"duration": GO_LUNGE_DURATION}
        s = Settings.layered(flags, length)
        tf = flows.quick_test_file(s, quick["executor"], quick["rate"], quick["max_vus"], quick["pre_allocated_vus"],
                                   quick["vus"], stages, s.iterations)
    plan = flows.plan_for_file(tf, s)
    if plan.transport.insecure:
        click.echo("lunge: warning: TLS certificates are not verified (--insecure or settings.insecureSkipVerify)",
                   err=True)
    baseline = finish.validate(s, tf, name=plan.name)
    if verbose and not quiet:
        for line in S.describe(tf):
            click.echo(f"lunge: {line.strip()}", err=True)
    plain = quiet or click.get_current_context().color is False
    result = runner.run(plan, monitor=live.Live(plan, live.Options.of(s), tty=False if plain else None),
                        workers=s.workers)
    rc = finish.finish(result, s, tf, None, baseline=baseline)
    return STOP_EXIT.get(result.stop_reason or "", rc)


def _describe(plan, s: Settings, thresholds) -> None:
    """-v: what is about to run, one line each, on stderr."""
    from lunge import patterns

    c = plan.configuration()
    load = f"open model, {patterns.text(plan.load.shaped())}, at most {c['concurrency']} in flight" \
        if c["model"] == "open" else f"closed model, {c['concurrency']} connections"
    limits = [f"{c['iterations']} requests"] if c["iterations"] else []
    limits += [f"{c['durationMs'] / 1000:g}s"] if c["durationMs"] else []
    own = patterns.own_duration(plan.load.pattern) if plan.load.pattern is not None and not limits else None
    limits += [f"{own:g}s (the pattern's)"] if own else []
    timeout = f"timeout {c['timeoutMs'] / 1000:g}s" if c["timeoutMs"] else "no timeout"
    target = f"{c['method']} {c['url']}"
    click.echo(f"lunge: {target}" + (f" ({plan.name})" if plan.name != target else ""), err=True)
    click.echo(f"lunge: {load}, {' or '.join(limits) or 'until interrupted'}, {timeout}, "
               f"{s.workers or 'auto'} workers", err=True)
    for t in thresholds:
        click.echo(f"lunge: threshold: {t.text}", err=True)




def flag_settings(kw: dict) -> dict:
    """The perf command's flags as settings: None (or an unset flag) leaves the field to the
    config or the default."""
    from lunge import patterns
    from lunge.live.view import parse_error_abort

    if kw.get("pattern") is not None and kw.get("rps") is not None:
        raise ConfigError("--pattern and --rps: give one (a pattern sets its own rates)")
    text = {k: kw.pop(k) for k in ("pattern", "backoff", "max_body", "shard", "tolerance", "max_memory",
                                    "max_error_rate_abort", "output", "fmt", "headers", "hooks", "threshold_exprs")}
    formats, output = report_flags(text["fmt"], text["output"], kw.pop("json_report", False),
                                   kw.pop("html_report", False))
    executor, vus, stages = kw.pop("executor"), kw.pop("vus"), kw.pop("stages")
    if vus is not None:
        if kw.get("concurrency") is not None and kw["concurrency"] != vus:
            raise ConfigError(f"--vus {vus} and --concurrency {kw['concurrency']}: give one (they are the same)")
        kw["concurrency"] = vus
    if executor == "ramping-vus" and not stages:
        raise ConfigError("--executor ramping-vus: give --stages (e.g. 30s:10,2m:50,30s:0)")
    if stages and executor == "constant-vus":
        raise ConfigError("--stages go with --executor ramping-vus, not constant-vus")
    if stages:
        if vus is not None or kw.get("concurrency") is not None:
            raise ConfigError("--stages set the VUs over time: drop --vus/--concurrency")
        kw["stages"] = patterns.parse_stages(stages)
    kw["http3"] = params.http3(kw.pop("http3", False), kw.pop("http3_fallback", False))
    quiet, verbose = kw.pop("quiet", False), kw.pop("verbose", False)
    if quiet and (kw.get("real_time") or kw.get("progress_interval") is not None):
        raise ConfigError("-q/--quiet and --real-time/--progress-interval: give one (quiet shows no progress)")
    if quiet:
        kw["progress_interval"] = 0.0
    elif verbose:  # more detail, unless the flags say otherwise: the panel on a terminal, a line a second elsewhere
        kw["real_time"] = True if kw.get("real_time") is None else kw["real_time"]
        kw["progress_interval"] = 1.0 if kw.get("progress_interval") is None else kw["progress_interval"]
    # A plain switch's False means "not given" (the config or the default decides); an on/off
    # pair (--resources/--no-resources) defaults to None, so its False is an answer.
    flags = {k: (None if v is False and k not in ON_OFF else v) for k, v in kw.items()}
    flags.update(
        pattern=patterns.parse_flag(text["pattern"]) if text["pattern"] else None,
        backoff=params.backoff(text["backoff"]) if text["backoff"] else None,
        max_body=params.size(text["max_body"], "--max-body") if text["max_body"] else None,
        shard=params.shard(text["shard"]) if text["shard"] else None,
        tolerance=params.tolerance(text["tolerance"]) if text["tolerance"] is not None else None,
        max_memory=params.size(text["max_memory"], "--max-memory") if text["max_memory"] is not None else None,
        max_error_rate_abort=parse_error_abort(text["max_error_rate_abort"]) if text["max_error_rate_abort"] else None,
        formats=formats, output=output,
        headers=tuple(text["headers"]) or None, hooks=tuple(text["hooks"]) or None,
        threshold_exprs=tuple(text["threshold_exprs"]) or None,
        baseline=flags.pop("save_baseline"), compare=flags.pop("compare_baseline"),
    )
    return flags


def report_flags(fmt, output: str | None, json_report: bool = False, html_report: bool = False):
    """(formats, output map), or None for each one the flags leave to the config: --format
    (lunge's), --json and --html (the original Lunge's) add formats; without --format, --output's
    extension names one too, and FILE without an extension is a base name (FILE.html + FILE.json
    unless --json/--html say which)."""
    from lunge import report

    asked = tuple(dict.fromkeys(tuple(fmt) + ("json",) * bool(json_report) + ("html",) * bool(html_report)))
    if not output:
        return asked or None, None
    if fmt:  # lunge's --format: FILE is used as given, as it always was
        return asked, {"*": output}
    return report.formats_for_output(output, asked)


def _from_config(flags: dict, path: str, env, test, request, variables):
    """Settings and plan for a config's performance test (-p) or one of its requests (-r):
    flags over the test over the request over the defaults."""
    from lunge.config import resolve_request, scenario
    from lunge.prepare import read_data_file, with_variants
    from lunge.variables import parse_assignments

    cfg = scenario.load_any(path)
    assert not isinstance(cfg, scenario.TestFile)  # perf() sends v2 files to _run_flows
    pt = cfg.performance_test(test) if test else None
    if pt is None and not request:
        raise ConfigError("give -p TEST (a performance test) or -r REQUEST (a request) with -c")
    name = pt.request if pt else request
    cli_vars = parse_assignments(variables)
    duration = flags.get("duration") if flags.get("duration") is not None else (pt.load.duration if pt else None)
    rate_from_flags = flags.get("rps") is not None or flags.get("pattern") is not None
    layer = test_layer(pt, cfg.base_dir, duration, rate_from_flags)
    data_file = Settings.layered(flags, layer).data_file
    rows = read_data_file(data_file) if data_file else [{}]

    def render(row: dict):
        r = resolve_request(cfg, env, name, {**row, **cli_vars})
        return r

    req = render(rows[0])
    s = Settings.layered(flags, layer, request_layer(req))
    plan = build_plan(s, RequestTemplate(url=req.url, method=req.method, headers=tuple(req.headers), body=req.body))
    return s, pt, with_variants(plan, render, rows, s.variants)


@click.command("compare")
@click.argument("baseline", metavar="BASELINE.json")
@click.argument("current", metavar="CURRENT.json")
@click.option("--tolerance", metavar="PCT", help="Changes smaller than this are 'unchanged' [default: 10%].")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--fail-on-regression", is_flag=True, help="Exit 1 if CURRENT regressed against BASELINE.")
@no_color_option
def compare_cmd(baseline, current, tolerance, fmt, fail_on_regression):
    """Compare two results (lunge perf --format json): per-metric deltas and a verdict,
    improved / regressed / unchanged, that accounts for run-to-run noise."""
    import json

    from lunge.analysis import analyze, compare
    from lunge.errors import EXIT_THRESHOLD
    from lunge.results import load

    c = compare.compare(analyze(load(baseline)), analyze(load(current)), params.tolerance(tolerance))
    click.echo(json.dumps(c, indent=1) if fmt == "json" else compare.render_text(c), nl=fmt == "json")
    return EXIT_THRESHOLD if fail_on_regression and c["verdict"] == "regressed" else EXIT_OK


@click.command()
@click.option("--duration", "-D", type=DURATION, default="5s", show_default=True, help="Length of the load test.")
@click.option("--concurrency", default=20, show_default=True, type=click.IntRange(min=1),
              help="Connections, each with one request in flight (as lunge perf's --concurrency).")
@click.option("-c", "config_flag", hidden=True)  # -c is perf's config file: refused with a pointer, never concurrency
@click.option("--output", "-o", default="lunge-result.json", show_default=True, help="Where to write the JSON result.")
@no_color_option
def demo(duration, concurrency, config_flag, output):
    """Load-test lunge's embedded target: start it, run, report, check the counts, stop it."""
    if config_flag is not None:
        raise ConfigError(f"demo takes no config file (-c is perf's config file): for {config_flag} connections "
                          f"use --concurrency {config_flag}")
    from lunge import report, runner, target
    from lunge.plan import for_url

    with target.Spawned() as server:
        plan = for_url(f"{server.url}/", concurrency=concurrency, duration=duration, name="demo: embedded target")
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


@click.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html", "csv"]), multiple=True,
              help="Report format, repeatable [default: text].")
@click.option("--output", "-o", metavar="FILE", help="Write the merged report to FILE (a base name with several "
                                                     "formats; without --format, as perf's --output). The text "
                                                     "summary still prints.")
@click.option("--threshold", "threshold_exprs", multiple=True, metavar="EXPR", help="Fail (exit 1) unless EXPR holds.")
@click.option("--force", is_flag=True, help="Merge runs of different tests or targets, or runs that did not "
                                            "overlap in time.")
@no_color_option
def merge(results, fmt, output, threshold_exprs, force):
    """Merge results of shards (or any runs) exactly: histograms add, series align on wall-clock
    seconds; every report a single run has.

    \b
    Example:
      lunge merge shard-0.json shard-1.json --format json --output merged.json
    """
    from lunge.cli import finish
    from lunge.results import RunResult, load

    formats, outputs = report_flags(fmt, output)
    s = Settings.layered({"formats": formats, "output": outputs, "threshold_exprs": threshold_exprs})
    finish.validate(s)
    from lunge.results.check import check_mergeable

    loaded = [load(p) for p in results]
    check_mergeable(loaded, list(results), force)
    merged = RunResult.merge(loaded, kind="shard")
    return finish.finish(merged, s, ran=False)
