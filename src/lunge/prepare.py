"""Preparation: what a run needs from the machine, done once before anything is sent.

Raising the descriptor limit for the connections, resolving the target's host once per run
(not once per engine), finding the CA bundle, checking the certificate files, reading a
config's data file and rendering the request's variants. The plan (lunge.plan) stays pure
validation; the engine gets its keyword arguments from here.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import socket
import ssl
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from lunge import __version__
from lunge.errors import CONCURRENCY_LIMIT, ConfigError
from lunge.plan import Plan

try:
    import resource
except ImportError:  # Windows: sockets are handles, with no descriptor limit to raise
    resource = None  # type: ignore[assignment]

Origin = tuple[str, int, "str | None"]  # (host, port, address or None when it does not resolve)
# Requests a schedule may hold: the result counts them in unsigned 64-bit counters.
MAX_SCHEDULED = float(2 ** 62)


@dataclass(frozen=True)
class Prepared:
    """A plan and what was found for it on this machine."""
    plan: Plan
    origin: Origin
    ca_bundle: str | None

    def engine_kwargs(self, part: Plan | None = None) -> dict:
        """Keyword arguments of one engine (lunge._native.engine.Engine) running `part` of the
        plan (the whole plan by default)."""
        p = part if part is not None else self.plan
        r, ld, t = p.request, p.load, p.transport
        kw = dict(
            url=r.url, method=r.method, headers=r.headers, body=r.body,
            concurrency=ld.concurrency, iterations=ld.iterations or 0,
            duration=ld.duration + ld.warmup_span() if ld.duration else 0.0,
            grace=ld.grace, timeout=t.timeout or 0.0, connect_timeout=t.connect_timeout or 0.0,
            insecure=t.insecure, http2=t.http2, http3=t.http3, follow=t.follow, max_redirects=t.max_redirects,
            cacert=self.ca_bundle, cert=t.cert, key=t.key, user_agent=user_agent(r.headers),
            max_body=t.max_body, low_speed_limit=t.low_speed_limit, low_speed_time=int(math.ceil(t.low_speed_time)),
            resolve=pinned_resolve(self.origin), own_pools=own_pools(self.origin, t.http2 or t.http3 is not None),
            warmup=ld.warmup, warmup_iterations=ld.warmup_iterations,
            variants=list(r.variants) if len(r.variants) > 1 else None,
            **p.variant_index(),
            backoff=ld.backoff, backoff_max=ld.backoff_max,
        )
        if ld.open_model:
            kw["schedule"] = ld.schedule()
            total = float(kw["schedule"][1][-1])
            if not total <= MAX_SCHEDULED:  # a custom pattern's rates are known only now
                raise ConfigError(f"load.pattern: {total:g} requests scheduled is out of range (at most "
                                  f"{MAX_SCHEDULED:g}): the result's counters could not hold them")
        elif ld.ramp_up or ld.ramp_down or ld.stages:
            kw["concurrency_steps"] = ld.concurrency_steps()
        return kw


def check_tls_files(*paths: str | None) -> None:
    """--cacert, --cert, --key: each given file exists (ConfigError, exit 2, before the run)."""
    for path in paths:
        if path and not os.path.exists(path):
            raise ConfigError(f"file {path!r} does not exist")


def prepare(plan: Plan) -> Prepared:
    """Everything the run needs from the machine; ConfigError (exit 2) if it cannot have it."""
    t = plan.transport
    check_tls_files(t.cacert, t.cert, t.key)
    raise_descriptor_limit(plan.load.concurrency)
    return Prepared(plan=plan, origin=pinned_address(plan.request.url), ca_bundle=t.cacert or system_ca_bundle())


def raise_descriptor_limit(concurrency: int, field: str = "--concurrency") -> None:
    """One socket per connection, plus libcurl's and Python's own descriptors: raise the soft
    limit to that, or refuse when the hard limit cannot carry it.  field: what sets the
    connections, for the message (a flow run: its file's VUs)."""
    need = concurrency + 64
    if resource is None:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard == resource.RLIM_INFINITY or hard >= need:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        else:
            use = f"use --concurrency {max(1, hard - 64)}" if field == "--concurrency" else \
                f"use at most {max(1, hard - 64)} VUs at once or settings.maxConnectionsPerHost"
            raise ConfigError(
                f"{field}: {concurrency} needs {need} file descriptors but the limit is {hard}: "
                f"{use}, or raise the hard limit (as root: ulimit -Hn {need}; "
                f"for good: nofile in /etc/security/limits.conf, or LimitNOFILE= for a service)",
                type=CONCURRENCY_LIMIT)


def user_agent(headers) -> str:
    """lunge's User-Agent, unless the request sets its own (`-H 'User-Agent: x'`, or an
    empty `-H 'User-Agent:'` to send none): then libcurl is not asked to build one."""
    if any(h.split(":", 1)[0].strip().lower() == "user-agent" for h in headers):
        return ""
    return f"lunge/{__version__}"


def system_ca_bundle() -> str | None:
    """The OS's CA bundle (or $SSL_CERT_FILE).  pycurl's manylinux wheel builds libcurl with
    Red Hat's default path (/etc/pki/tls/certs/ca-bundle.crt): elsewhere (Debian, Ubuntu) it
    is missing and every certificate, valid or not, would fail to verify."""
    paths = ssl.get_default_verify_paths()
    for path in (paths.cafile, paths.openssl_cafile):
        if path and os.path.isfile(path):
            return path
    return None


def pinned_address(url: str) -> tuple[str, int, str | None]:
    """(host, port, address) of the URL's origin, the host resolved once before the run (as wrk
    does) so no request pays for DNS.  The address is the host itself when that is an address,
    and None when the host does not resolve: left to libcurl, its requests then fail as `dns`."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        ipaddress.ip_address(host)
        return host, port, host
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return host, port, None
    return host, port, str(infos[0][4][0])  # an IPv4 or IPv6 address: always a str


def pinned_resolve(origin: tuple[str, int, str | None]) -> tuple[str, ...]:
    """CURLOPT_RESOLVE entries pinning pinned_address()'s host to its address (none for an address)."""
    host, port, addr = origin
    if addr is None or addr == host:
        return ()
    return (f"{host}:{port}:{'[' + addr + ']' if ':' in addr else addr}",)


def own_pools(origin: tuple[str, int, str | None], http2: bool) -> tuple[str, int, str] | None:
    """The engine's own_pools: each connection slot in a libcurl pool of its own (see
    Engine), for HTTP/1.x to an origin with a known address.  Not for --http2 or --http3, where
    the slots' streams share connections."""
    host, port, addr = origin
    return None if http2 or addr is None else (host, port, addr)


# ---------------------------------------------------------------- per-request values

def with_variants(plan: Plan, render: Callable, rows: list[dict], pool: int) -> Plan:
    """The plan with its request's renderings, for requests whose values change per request:
    a data file's rows in order, or `pool` renderings of built-ins ({{$uuid}} ...) that give
    fresh values each time. `render(row)` renders the request (lunge.config.ResolvedRequest)
    with a row's variables. The engine cycles through them (no Python per request)."""
    def key(r):
        return r.url, tuple(r.headers), r.body

    dynamic = key(render(rows[0])) != key(render(rows[0]))
    if len(rows) == 1 and not dynamic:
        return plan
    count = max(len(rows), pool) if dynamic else len(rows)
    variants = tuple(key(render(rows[i % len(rows)])) for i in range(count))
    return dataclasses.replace(plan, request=dataclasses.replace(plan.request, variants=variants))


def read_data_file(path: str) -> list[dict]:
    """Rows of a CSV file with a header row: each row's values become variables."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise ConfigError(f"data file {path!r}: cannot read ({e.strerror})") from None
    except (csv.Error, UnicodeDecodeError) as e:
        raise ConfigError(f"data file {path!r}: not CSV ({e})") from None
    if not rows:
        raise ConfigError(f"data file {path!r}: no rows under the header")
    if len(rows) > 100_000:
        raise ConfigError(f"data file {path!r}: {len(rows)} rows; at most 100 000")
    return rows
