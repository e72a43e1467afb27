"""Plan: what one load test will do, validated before anything is sent.

config / flags -> Plan (request template + load + transport options) -> engine keyword
arguments.  Every check names the flag or field and the bad value (ConfigError, exit 2).
"""
from __future__ import annotations

import dataclasses
import ipaddress
import os
import resource
import socket
import urllib.parse
from dataclasses import dataclass, field

from lunge import __version__
from lunge.errors import CONCURRENCY_LIMIT, ConfigError

# A typo guard (`--concurrency 1000000`), not a capacity claim; --max-concurrency raises it.
MAX_CONCURRENCY = 20000
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@dataclass(frozen=True)
class RequestTemplate:
    url: str
    method: str = "GET"
    headers: tuple[str, ...] = ()
    body: bytes | None = None


@dataclass(frozen=True)
class Load:
    concurrency: int = 10
    iterations: int | None = None   # exactly this many requests, never one more
    duration: float | None = None   # seconds of issuing
    grace: float = 5.0              # seconds in-flight requests may take after issuing stops


@dataclass(frozen=True)
class Transport:
    timeout: float | None = 30.0
    connect_timeout: float | None = None
    http2: bool = False
    insecure: bool = False
    follow: bool = False
    max_redirects: int = 10
    cacert: str | None = None
    cert: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class Plan:
    name: str
    request: RequestTemplate
    load: Load
    transport: Transport = field(default_factory=Transport)

    def configuration(self) -> dict:
        """The resolved settings, as recorded in the result (camelCase)."""
        r, ld, t = self.request, self.load, self.transport
        return {
            "url": r.url,
            "method": r.method,
            "headers": list(r.headers),
            "bodyBytes": len(r.body) if r.body is not None else 0,
            "concurrency": ld.concurrency,
            "iterations": ld.iterations,
            "durationMs": ld.duration * 1000 if ld.duration else None,
            "graceMs": ld.grace * 1000,
            "timeoutMs": t.timeout * 1000 if t.timeout else None,
            "connectTimeoutMs": t.connect_timeout * 1000 if t.connect_timeout else None,
            "http2": t.http2,
            "insecure": t.insecure,
            "followRedirects": t.follow,
            "model": "closed",
        }

    def engine_kwargs(self) -> dict:
        r, ld, t = self.request, self.load, self.transport
        return dict(
            url=r.url, method=r.method, headers=r.headers, body=r.body,
            concurrency=ld.concurrency, iterations=ld.iterations or 0, duration=ld.duration or 0.0,
            grace=ld.grace, timeout=t.timeout or 0.0, connect_timeout=t.connect_timeout or 0.0,
            insecure=t.insecure, http2=t.http2, follow=t.follow, max_redirects=t.max_redirects,
            cacert=t.cacert, cert=t.cert, key=t.key, user_agent=f"lunge/{__version__}",
            resolve=pinned_resolve(r.url),
        )


def check_url(url: str, field_name: str = "--url") -> str:
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError as e:
        raise ConfigError(f"{field_name}: {url!r} is not a valid URL ({e})") from None
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"{field_name}: {url!r} is not an http:// or https:// URL")
    if not parts.hostname:
        raise ConfigError(f"{field_name}: {url!r} has no host")
    if any(c.isspace() for c in url):
        raise ConfigError(f"{field_name}: {url!r} contains whitespace")
    return url


def parse_header(text: str, field_name: str = "-H") -> str:
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
        raise ConfigError(f"{field_name} {text!r}: expected 'Name: value'")
    if "\n" in text or "\r" in text:
        raise ConfigError(f"{field_name} {text!r}: a header cannot contain a line break")
    return f"{name.strip()}: {value.strip()}"


def read_body(data: str | None) -> bytes | None:
    """`-d` as curl takes it: a literal string, or @FILE for a file's bytes."""
    if data is None:
        return None
    if data.startswith("@"):
        try:
            with open(data[1:], "rb") as f:
                return f.read()
        except OSError as e:
            raise ConfigError(f"-d {data!r}: cannot read {data[1:]!r} ({e.strerror})") from None
    return data.encode()


def check_concurrency(concurrency: int, max_concurrency: int = MAX_CONCURRENCY) -> None:
    if concurrency < 1:
        raise ConfigError(f"--concurrency: {concurrency} must be at least 1")
    if concurrency > max_concurrency:
        raise ConfigError(f"--concurrency: {concurrency} is above the limit of {max_concurrency} "
                          f"(a guard against typos; raise it with --max-concurrency)",
                          type=CONCURRENCY_LIMIT)
    # One socket per connection, plus libcurl's and Python's own descriptors.
    need = concurrency + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard == resource.RLIM_INFINITY or hard >= need:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        else:
            raise ConfigError(
                f"--concurrency: {concurrency} needs {need} file descriptors but the limit is {hard}; "
                f"use --concurrency {max(1, hard - 64)} or raise the limit (ulimit -n)",
                type=CONCURRENCY_LIMIT)


def build_plan(*, url: str, method: str | None = None, headers=(), data: str | None = None,
               concurrency: int = 10, iterations: int | None = None, duration: float | None = None,
               grace: float = 5.0, timeout: float | None = 30.0, http2: bool = False,
               insecure: bool = False, follow: bool = False, name: str | None = None,
               max_concurrency: int = MAX_CONCURRENCY, **transport) -> Plan:
    check_url(url)
    body = read_body(data)
    method = (method or ("POST" if body is not None else "GET")).upper()
    if method not in METHODS:
        raise ConfigError(f"-X: {method!r} is not one of {', '.join(METHODS)}")
    check_concurrency(concurrency, max_concurrency)
    if iterations is None and not duration:
        raise ConfigError("give --iterations N or --duration D (e.g. --duration 30s)")
    if iterations is not None and iterations < 1:
        raise ConfigError(f"--iterations: {iterations} must be at least 1")
    if duration is not None and duration <= 0:
        raise ConfigError(f"--duration: must be more than 0")
    if timeout is not None and timeout < 0:
        raise ConfigError("--timeout: must not be negative")
    plan = Plan(
        name=name or f"{method} {url}",
        request=RequestTemplate(url=url, method=method, headers=tuple(parse_header(h) for h in headers), body=body),
        load=Load(concurrency=concurrency, iterations=iterations, duration=duration, grace=grace),
        transport=Transport(timeout=timeout or None, http2=http2, insecure=insecure, follow=follow, **transport),
    )
    for path in (plan.transport.cacert, plan.transport.cert, plan.transport.key):
        if path and not os.path.exists(path):
            raise ConfigError(f"file {path!r} does not exist")
    return plan


def with_load(plan: Plan, **changes) -> Plan:
    return dataclasses.replace(plan, load=dataclasses.replace(plan.load, **changes))


def pinned_resolve(url: str) -> tuple[str, ...]:
    """Resolve the host once, before the run (as wrk does), so no request pays for DNS.
    A host that does not resolve is left to libcurl: its requests then fail as `dns`."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        ipaddress.ip_address(host)
        return ()  # already an address
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return ()
    addr = infos[0][4][0]
    return (f"{host}:{port}:{'[' + addr + ']' if ':' in addr else addr}",)
