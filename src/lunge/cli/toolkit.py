"""The request toolkit's commands: get/post/put/delete/patch/head, run, test, validate.

Registered on the `lunge` group by lunge.cli (`register(cli)`). Each command only turns
flags into calls to lunge.config and lunge.client.*, and prints what comes back.
"""
from __future__ import annotations

import json
import sys
import urllib.parse
from typing import Any

import click

from lunge.cli import params
from lunge.cli.params import DURATION, no_color_option
from lunge.errors import ConfigError

FORMATS = ["text", "json", "yaml"]
RESPONSE_FORMATS = FORMATS + ["junit"]  # get/run: junit makes a test case of each response


def _config_option(f):
    return click.option("-c", "--config", "config_path", required=True, metavar="FILE",
                        help="Config file (JSON or YAML).")(f)


def _print_response(resp, fmt: str, verbose: bool, extracted: dict | None = None) -> None:
    from lunge.client import output

    if verbose:
        _print_verbose(resp, extracted)
    if fmt != "text":
        click.echo(output.dump(output.response_dict(resp), fmt), nl=False)
    elif sys.stdout.isatty():
        click.echo(output.body_for_terminal(resp))
    else:  # piped: the bytes exactly as received
        out = sys.stdout.buffer  # click.get_binary_stream is deprecated (Click 8.5) and gone in 9
        out.write(resp.body)
        out.flush()


def _print_verbose(resp, extracted: dict | None = None) -> None:
    """-v: headers and timing, then the variables extracted from the response (on stderr)."""
    from lunge import secretvalues
    from lunge.client import output

    for line in output.verbose_lines(resp):
        click.echo(line, err=True)
    for k, v in (extracted or {}).items():
        shown = "[redacted]" if secretvalues.secret_name(k) and not secretvalues.showing() else json.dumps(v)
        click.echo(secretvalues.scrub(f"extracted {k} = {shown}"), err=True)


def _pairs(items, flag: str) -> list[tuple[str, str]]:
    """[(key, value)] from KEY=VALUE flags, keeping repeats (a=1 -q a=2 sends both)."""
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{flag} {item!r}: expected KEY=VALUE")
        out.append((key, value))
    return out


def _build_adhoc(method, url, headers, json_body, data, form, query, timeout, insecure, follow, http3=None):
    from lunge import wire
    from lunge.config import ResolvedRequest
    from lunge.units import parse_duration
    from lunge.urls import check_url

    if not url.strip():
        raise ConfigError("URL: empty")
    if "://" not in url:
        url = "http://" + url  # like curl: a bare host:port/path is plain HTTP
    if query:
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(_pairs(query, "-q"))
    check_url(url, "URL")
    hdrs = []
    for h in headers:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            raise ConfigError(f"-H {h!r}: expected 'Name: value'")
        wire.check_header_line(h, "-H")  # CR, LF, NUL; the name a token
        hdrs.append(f"{name.strip()}: {value.strip()}")
    given = [flag for flag, v in (("--json", json_body), ("--data", data), ("--form", form)) if v]
    if len(given) > 1:
        raise ConfigError(f"{' and '.join(given)}: give only one body")
    body, ctype = None, None
    if json_body is not None:
        text = _read_at_file(json_body, "--json")
        try:
            json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"--json: not valid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
        body, ctype = text.encode("utf-8"), "application/json"
        if not _has_header(hdrs, "Accept"):
            hdrs.append("Accept: application/json")
    elif data is not None:
        body = _read_at_file(data, "--data", binary=True)
    elif form:
        body, ctype = urllib.parse.urlencode(_pairs(form, "--form")).encode(), "application/x-www-form-urlencoded"
    if ctype and not _has_header(hdrs, "Content-Type"):
        hdrs.append(f"Content-Type: {ctype}")
    return ResolvedRequest(method=method, url=url, headers=hdrs, body=body,
                           timeout=parse_duration(timeout, "--timeout") if timeout is not None else None,
                           follow_redirects=follow, insecure=insecure, http3=http3)


def _has_header(headers: list[str], name: str) -> bool:
    return any(h.lower().startswith(name.lower() + ":") for h in headers)


def _read_at_file(value: str, flag: str, binary: bool = False):
    """VALUE, or the contents of FILE for @FILE (curl's convention)."""
    if not value.startswith("@"):
        return value.encode("utf-8") if binary else value
    from lunge import safeload

    try:  # bounded: @/dev/zero must not read forever
        raw = safeload.read_request_body(value[1:], f"{flag} {value!r}")
    except OSError as e:
        raise ConfigError(f"{flag} {value!r}: cannot read file: {e.strerror}") from None
    if binary:
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{flag} {value!r}: file is not UTF-8 text") from None


def _secrets_options(f):
    f = click.option("--location-trusted", is_flag=True,
                     help="With -L: send credentials (Authorization, Cookie, *-Key, *-Token ... headers) to "
                          "other hosts too; by default they stay with the original one.")(f)
    return click.option("--show-secrets", is_flag=True, expose_value=False, is_eager=True, callback=_set_show_secrets,
                        help="Keep credentials and secret variables' values in verbose output, reports and "
                             "errors; they are redacted by default.")(f)


def _set_show_secrets(_ctx, _param, value):
    if value:
        from lunge import secretvalues

        secretvalues.show()


FAIL_EXIT = 22  # curl's --fail: the server answered with an HTTP error


def _http_help(method: str) -> str:
    what = ("the status line and the response headers (a HEAD response has no body), as curl -I"
            if method == "HEAD" else "the response body")
    return (f"Send one {method} request and print {what}. On a terminal the status line also goes to "
            f"stderr; the exit status is 0 whatever the status code, unless -f/--fail (22 on 400 and above, "
            f"as curl).")


def _http_command(method: str) -> click.Command:
    @click.command(name=method.lower(), help=_http_help(method))
    @click.argument("url")
    @click.option("-H", "--header", "headers", multiple=True, metavar="'NAME: VALUE'", help="Add a header (repeatable).")
    @click.option("-j", "--json", "json_body", metavar="JSON|@FILE", help="Send JSON (sets Content-Type and Accept).")
    @click.option("-d", "--data", metavar="BODY|@FILE", help="Send this body as is.")
    @click.option("--form", multiple=True, metavar="KEY=VALUE", help="Send a URL-encoded form field (repeatable).")
    @click.option("-q", "--query", multiple=True, metavar="KEY=VALUE", help="Add a query parameter (repeatable).")
    @click.option("-t", "--timeout", metavar="DURATION", help="Give up after this long (e.g. 5s, 250ms).")
    @click.option("--insecure", is_flag=True, help="Do not verify TLS certificates.")
    @params.tls_options
    @click.option("-L", "--follow", is_flag=True, help="Follow redirects.")
    @params.http3_options
    @click.option("-v", "--verbose", is_flag=True, help="Show request and response headers (of each redirect "
                  "with -L) and the timing breakdown.")
    @click.option("-f", "--fail", "fail", is_flag=True, help="Exit 22 (as curl) when the status is 400 or above; "
                  "the status line goes to stderr, the body is still printed.")
    @click.option("--format", "fmt", type=click.Choice(RESPONSE_FORMATS), default="text", show_default=True,
                  help="text: the body (HEAD: the headers); json/yaml: status, headers, body and timing as data; "
                       "junit: a test case.")
    @params.max_request_body_option
    @_secrets_options
    @no_color_option
    def command(url, headers, json_body, data, form, query, timeout, insecure, cacert, cert, key, follow, http3,
                http3_fallback, verbose, fail, fmt, location_trusted):
        from lunge.client import output
        from lunge.client.http import RequestFailed, send

        req = _build_adhoc(method, url, headers, json_body, data, form, query, timeout, insecure, follow,
                           params.http3(http3, http3_fallback))
        tls = params.tls_send_options(cacert, cert, key)
        if fmt != "junit":
            resp = send(req, location_trusted=location_trusted, **tls)
            failed = fail and resp.status >= 400
            if not verbose and (failed or (fmt == "text" and method != "HEAD" and sys.stderr.isatty())):
                # what curl -i users look for first; -v shows it among the headers
                click.echo(click.style(output.status_line(resp), fg="red" if resp.status >= 400 else "green",
                                       bold=True), err=True)
            if fmt == "text" and method == "HEAD":
                if verbose:
                    _print_verbose(resp)
                click.echo(output.headers_text(resp), nl=False)
            else:
                _print_response(resp, fmt, verbose)
            return FAIL_EXIT if failed else None
        from lunge.client.junit import JUnitCase, responses_to_junit

        name = f"{method} {req.url}"
        try:
            case = JUnitCase(name, send(req, location_trusted=location_trusted, **tls))
        except RequestFailed as e:
            click.echo(_scrubbed(responses_to_junit(name, "lunge.http", [JUnitCase(name, None, [e.message])])), nl=False)
            raise
        if verbose:
            _print_verbose(case.response)
        click.echo(_scrubbed(responses_to_junit(name, "lunge.http", [case])), nl=False)
        return FAIL_EXIT if fail and case.response is not None and case.response.status >= 400 else None

    return command


def _output():
    from lunge.client import output

    return output


def _scrubbed(text: str) -> str:
    from lunge import secretvalues

    return secretvalues.scrub(text)


@click.command()
@_config_option
@click.option("-e", "--env", "--environment", "env", metavar="ENV",
              help="Environment (optional when the file has at most one).")
@click.option("-r", "--request", "request", metavar="NAME", help="Request to send.")
@click.option("-s", "--suite", "suite", metavar="NAME",
              help="Send a suite's requests in order instead, extracted variables flowing on.")
@click.option("--var", "var", multiple=True, metavar="NAME=VALUE", help="Set a variable (beats every other source).")
@click.option("--insecure", is_flag=True, help="Do not verify TLS certificates.")
@params.tls_options
@click.option("-L", "--follow", is_flag=True, help="Follow redirects.")
@params.http3_options
@click.option("-v", "--verbose", is_flag=True, help="Show headers, the timing breakdown and extracted variables.")
@click.option("-t", "--timeout", type=DURATION, help="Give up after this long (e.g. 5s; beats the request's own).")
@click.option("--format", "fmt", type=click.Choice(RESPONSE_FORMATS), default="text", show_default=True)
@params.max_request_body_option
@_secrets_options
@no_color_option
@click.pass_context
def run(ctx, config_path, env, request, suite, var, insecure, cacert, cert, key, follow, http3, http3_fallback, verbose,
        timeout, fmt, location_trusted):
    """Send one request (-r) or a suite's requests (-s) from a config file; exit 1 if one could
    not be sent or its validate block failed."""
    from lunge.client.suite import run_requests
    from lunge.config import load_config
    from lunge.units import format_ms
    from lunge.variables import parse_assignments

    if (request is None) == (suite is None):
        raise click.UsageError("give one of -r/--request NAME and -s/--suite NAME")
    tls = params.tls_send_options(cacert, cert, key)
    cfg = load_config(config_path)
    if suite:
        suite_doc = cfg.suite(suite)
        names = list(suite_doc.get("requests") or [])
    else:
        suite_doc, names = None, [request]
        cfg.request(request)  # an unknown name is a config error before anything is sent
    runs = []
    for rr in run_requests(cfg, env, names, parse_assignments(var), suite_doc, timeout=timeout,
                           insecure=insecure or None, follow=follow or None, location_trusted=location_trusted,
                           http3=params.http3(http3, http3_fallback), **tls):
        runs.append(rr)
        if suite and fmt == "text":  # which response is which, off stdout (bodies stay as received)
            got = "not sent" if rr.response is None else \
                f"{rr.response.status} {rr.response.reason}".rstrip() + f", {format_ms(rr.response.elapsed_ms)}"
            click.echo(click.style(f"=== {rr.name} ({got}) ===", bold=True), err=True)
        if rr.response is None:
            for p in rr.problems:
                click.echo(_scrubbed(f"lunge: {rr.name}: {p}"), err=True)
        else:
            if verbose:
                for p in rr.problems:
                    click.echo(_scrubbed(p), err=True)
                _print_verbose(rr.response, rr.extracted)
            if fmt == "text":
                _print_response(rr.response, fmt, False)
            elif fmt != "junit" and not suite:
                click.echo(_output().dump(_response_data(rr), fmt), nl=False)
        _print_validation(rr, verbose)
    if fmt == "junit":
        from lunge.client.junit import JUnitCase, responses_to_junit

        cases = [JUnitCase(rr.name, rr.response, rr.problems if rr.response is None else [],
                           rr.validated.outcomes if rr.validated else []) for rr in runs]
        click.echo(_scrubbed(responses_to_junit(suite or request, f"lunge.{suite or 'run'}", cases)), nl=False)
    elif fmt != "text" and suite:  # one document: a list of the responses
        click.echo(_output().dump([_response_data(rr) for rr in runs], fmt), nl=False)
    ctx.exit(0 if len(runs) == len(names) and all(rr.passed for rr in runs) else 1)


def _response_data(rr) -> dict:
    """A response as `run --format json|yaml` shows it (with -s, named and listed)."""
    data: dict[str, Any] = {"request": rr.name}
    if rr.response is None:
        data["error"] = "; ".join(rr.problems)
    else:
        data.update(_output().response_dict(rr.response))
    if rr.validated is not None:
        data["validate"] = [o.as_dict() for o in rr.validated.outcomes]
    return data


def _print_validation(rr, verbose: bool) -> None:
    """A request's validate checks on stderr: the failed ones, and with -v the passed ones too."""
    if rr.validated is None:
        return
    for o in rr.validated.outcomes:
        if not o.passed:
            click.echo(_scrubbed(f"{rr.name}: validate FAIL {o.description}: {o.message}"), err=True)
        elif verbose:
            click.echo(_scrubbed(f"{rr.name}: validate PASS {o.description}"), err=True)


@click.command(name="test")
@_config_option
@click.option("-e", "--env", "--environment", "env", metavar="ENV",
              help="Environment (optional when the file has at most one).")
@click.option("-s", "--suite", "suite", required=True, metavar="NAME", help="Suite to run.")
@click.option("-t", "--test", "only", metavar="NAME", help="Report only this test (earlier requests still run).")
@click.option("--var", "var", multiple=True, metavar="NAME=VALUE", help="Set a variable (beats every other source).")
@click.option("--insecure", is_flag=True, help="Do not verify TLS certificates.")
@params.tls_options
@params.http3_options
@click.option("--format", "fmt", type=click.Choice(FORMATS + ["junit"]), default="text", show_default=True)
@click.option("-o", "--output", "output_path", metavar="FILE", help="Write the report here instead of stdout.")
@click.option("-v", "--verbose", is_flag=True, help="Show each request's and response's headers and timing (stderr).")
@click.option("-T", "--timeout", type=DURATION, help="Give up on a request after this long (e.g. 5s; beats the "
                                                     "requests' own).")
@params.max_request_body_option
@_secrets_options
@no_color_option
@click.pass_context
def test_command(ctx, config_path, env, suite, only, var, insecure, cacert, cert, key, http3, http3_fallback, fmt,
                 output_path, verbose, timeout, location_trusted):
    """Run a test suite; exit 1 if any assertion fails, 2 for config errors."""
    from lunge import secretvalues
    from lunge.client import output
    from lunge.client.junit import to_junit
    from lunge.client.suite import run_suite
    from lunge.config import load_config
    from lunge.variables import parse_assignments

    opts: dict[str, Any] = params.tls_send_options(cacert, cert, key)  # send()'s keyword arguments
    cfg = load_config(config_path)
    if insecure:
        opts["insecure"] = True
    if location_trusted:
        opts["location_trusted"] = True
    if http3 or http3_fallback:
        opts["http3"] = params.http3(http3, http3_fallback)
    if timeout is not None:
        opts["timeout"] = timeout
    if verbose:
        opts["sender"] = _verbose_send
    result = run_suite(cfg, env, suite, parse_assignments(var), only, **opts)
    if fmt == "junit":
        report = to_junit(result)
    elif fmt == "text":
        report = output.suite_text(result)
    else:
        report = output.dump(result.as_dict(), fmt)
    report = secretvalues.scrub(report)  # assertion messages quote values: a secret variable's among them
    if output_path:
        try:
            with open(output_path, "w", encoding="utf-8") as f:
                f.write(click.unstyle(report))
        except OSError as e:
            raise ConfigError(f"--output {output_path!r}: {e.strerror}") from None
        click.echo(f"{len(result.tests)} tests, {result.failed} failed; report written to {output_path}", err=True)
    else:
        click.echo(report, nl=False)
    ctx.exit(0 if result.passed else 1)


def _verbose_send(req, **kw):
    """test -v: send as usual, then show the exchange on stderr as `run -v` does."""
    from lunge.client import output
    from lunge.client.http import send

    resp = send(req, **kw)
    for line in output.verbose_lines(resp):
        click.echo(line, err=True)
    return resp


@click.command()
@_config_option
@no_color_option
def validate(config_path):
    """Check a config file (or a v2 scenario file) against the schema without sending anything."""
    from lunge.config import scenario

    cfg = scenario.load_any(config_path)
    if isinstance(cfg, scenario.TestFile):
        for warning in cfg.warnings:
            click.echo(f"lunge: warning: {warning}", err=True)
        click.echo("\n".join(scenario.describe(cfg)))
        return
    counts = [(len(cfg.environments), "environment"), (len(cfg.requests), "request"), (len(cfg.suites), "suite"),
              (len(cfg.schemas), "schema"), (len(cfg.performance), "performance test")]
    parts = ", ".join(f"{n} {what}{'s' * (n != 1)}" for n, what in counts)
    click.echo(f"{config_path}: valid ({parts})")


def register(group: click.Group) -> None:
    for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"):
        group.add_command(_http_command(method))
    group.add_command(run)
    group.add_command(test_command)
    group.add_command(validate)
