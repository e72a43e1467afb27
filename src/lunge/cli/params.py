"""Flag values: the click types and parsers that turn a flag's text into a setting's value.
Each bad value is one ConfigError naming the flag."""
from __future__ import annotations

import click

from lunge.errors import ConfigError
from lunge.settings import BACKOFF_MAX_FACTOR, DEFAULTS, MAX_REQUEST_BODY
from lunge.units import parse_duration, parse_size


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


def size(text: str, flag: str) -> int:
    try:
        return int(parse_size(text))
    except ConfigError:
        raise ConfigError(f"{flag}: {text!r} is not a size (e.g. 512KB, 10MB)") from None


def http3(only: bool, fallback: bool) -> str | None:
    """--http3 / --http3-fallback as the http3 setting ("only", "fallback" or None: not given)."""
    if only and fallback:
        raise ConfigError("--http3 and --http3-fallback: give one (--http3 is HTTP/3 only)")
    return "only" if only else "fallback" if fallback else None


def http3_options(f):
    """--http3 and --http3-fallback, for the request commands (get/post/..., run, test)."""
    f = click.option("--http3-fallback", is_flag=True,
                     help="HTTP/3, or HTTP/2 / 1.1 over TCP where QUIC does not answer.")(f)
    return click.option("--http3", is_flag=True, help="HTTP/3 only, over QUIC (https:// URLs).")(f)


def tls_options(f):
    """--cacert, --cert, --key: the PEM files of TLS (perf and the request commands alike)."""
    f = click.option("--key", metavar="FILE", help="Client private key (PEM).")(f)
    f = click.option("--cert", metavar="FILE", help="Client certificate (PEM).")(f)
    return click.option("--cacert", metavar="FILE", help="CA bundle to verify the server with.")(f)


def tls_send_options(cacert: str | None, cert: str | None, key: str | None) -> dict:
    """The request commands' send() keywords for the TLS files, each checked to exist (exit 2)."""
    from lunge.prepare import check_tls_files

    check_tls_files(cacert, cert, key)
    return {k: v for k, v in (("cacert", cacert), ("cert", cert), ("key", key)) if v}


def backoff(text: str) -> tuple[float, float]:
    first, _, second = text.partition(":")
    try:
        initial = parse_duration(first)
        return initial, parse_duration(second) if second else initial * BACKOFF_MAX_FACTOR
    except ConfigError:
        raise ConfigError(f"--backoff: {text!r} is not PAUSE[:MAX] (e.g. 100ms:5s)") from None


def shard(text: str) -> tuple[int, int]:
    index, sep, count = text.partition("/")
    if not (sep and index.isdigit() and count.isdigit() and int(index) < int(count)):
        raise ConfigError(f"--shard: {text!r} is not I/N with 0 <= I < N (e.g. 0/4)")
    return int(index), int(count)


def tolerance(text: str | None) -> float:
    """'10%' or '0.1' -> 0.1."""
    if text is None:
        return DEFAULTS.tolerance
    t = str(text).strip()
    try:
        v = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        raise ConfigError(f"--tolerance: {text!r} is not a fraction or a percentage (e.g. 10% or 0.1)") from None
    if not 0 <= v < 10:
        raise ConfigError(f"--tolerance: {text!r} is out of range (0% to 1000%)")
    return v


def max_request_body_option(f):
    """--max-request-body, for every command that reads a request body from a file: it sets
    lunge.safeload's limit for this invocation (cli.main resets it for the next)."""
    return click.option("--max-request-body", metavar="SIZE", callback=_set_max_request_body, expose_value=False,
                        is_eager=True, help="Refuse a request body read from a file (-d @FILE, --json @FILE, a "
                                            f"config's \"@file\" body) larger than SIZE [default: {MAX_REQUEST_BODY // 1024 ** 2}MB].")(f)


def _set_max_request_body(_ctx, _param, value):
    from lunge import safeload

    if value is not None:
        safeload.set_max_request_body(size(value, "--max-request-body"))


def default(name: str) -> str:
    """' [default: X]' for a help text, from the one place defaults live (lunge.settings)."""
    v = getattr(DEFAULTS, name)
    if isinstance(v, float) and name in ("timeout", "grace", "progress_interval", "low_speed_time"):
        return f" [default: {v:g}s]"
    return f" [default: {v}]"


def _no_color(ctx, _param, value):
    if value:
        ctx.color = False  # click.echo strips ANSI for this context (lunge.cli.main: NO_COLOR does the same)


def no_color_option(f):
    """--no-color, accepted by the group and by every command (the original Lunge's flag)."""
    return click.option("--no-color", is_flag=True, expose_value=False, is_eager=True, callback=_no_color,
                        help="No colours or other escape sequences (also: the NO_COLOR variable).")(f)
