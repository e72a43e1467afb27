"""Plan: what one load test will do, validated before anything is sent.

config / flags -> Plan (request template + load + transport options) -> engine keyword
arguments.  Every check names the flag or field and the bad value (ConfigError, exit 2).
"""
from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import resource
import socket
import ssl
import urllib.parse
from dataclasses import dataclass, field

import numpy as np

from lunge import __version__, patterns, secretvalues
from lunge.errors import CONCURRENCY_LIMIT, ConfigError
from lunge.urls import check_url

# A typo guard (`--concurrency 1000000`), not a capacity claim; --max-concurrency raises it.
MAX_CONCURRENCY = 20000
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@dataclass(frozen=True)
class RequestTemplate:
    url: str
    method: str = "GET"
    headers: tuple[str, ...] = ()
    body: bytes | None = None
    # Pre-rendered renderings of a request whose values change per request ({{$uuid}}, a
    # data file): ((url, headers, body), ...), cycled through natively, one per request.
    variants: tuple = ()


@dataclass(frozen=True)
class Load:
    concurrency: int = 10           # connections; in the open model, the cap on requests in flight
    iterations: int | None = None   # exactly this many measured requests, never one more
    duration: float | None = None   # seconds of measured issuing
    grace: float = 5.0              # seconds in-flight requests may take after issuing stops
    pattern: object | None = None   # a rate pattern (lunge.patterns): the open model when set
    ramp_up: float = 0.0            # seconds: shapes the pattern, or adds connections (closed)
    ramp_down: float = 0.0
    warmup: float = 0.0             # seconds sent before the measured run, kept out of the metrics
    warmup_iterations: int = 0      # or this many requests
    backoff: float = 0.0            # seconds of pause after an error, doubling per error in a row
    backoff_max: float = 0.0
    share: tuple = ()               # ((i, n), ...): this plan is part i of n (shard, then worker)

    @property
    def open_model(self) -> bool:
        return self.pattern is not None

    def shaped(self):
        if not (self.ramp_up or self.ramp_down):
            return self.pattern
        total = self.duration if self.duration is not None else patterns.own_duration(self.pattern)
        return patterns.Shaped(self.pattern, self.ramp_up, self.ramp_down, total)

    def warmup_rate(self) -> float:
        """The open model's warmup runs at the pattern's starting rate, or, if that is 0
        (a ramp from nothing), at the highest rate of its first minute."""
        r = float(self.pattern.rate(0.0))
        if r <= 0:
            r = max(float(self.pattern.rate(t)) for t in np.arange(0, 60, 0.1))
        return r

    def schedule(self):
        """(seconds, cumulative requests): the measured pattern after any warmup phase, and,
        for a part of a split plan, only that part's requests."""
        ts, cum = patterns.schedule(self.shaped(), self.duration)
        w, rate = self.warmup_span(), 0.0
        if w > 0:
            rate = self.warmup_rate()
            ts = np.concatenate([[0.0], ts + w])
            cum = np.concatenate([[0.0], cum + rate * w])
        for i, n in self.share:
            ts, cum = split_schedule(ts, cum, i, n)
        return ts, cum

    def warmup_span(self) -> float:
        """Seconds of warmup in the schedule (a counted warmup runs at the warmup rate)."""
        if self.warmup:
            return self.warmup
        if self.warmup_iterations and self.open_model:
            parts = math.prod(n for _, n in self.share)  # the whole run's warmup count
            return self.warmup_iterations * parts / self.warmup_rate()
        return 0.0

    def concurrency_steps(self):
        ts, cs = patterns.concurrency_steps(self.concurrency, self.ramp_up, self.ramp_down, self.duration)
        if self.warmup:  # the warmup runs with every connection, then the ramps shape the measured run
            return np.concatenate([[0.0], ts + self.warmup]), np.concatenate([[self.concurrency], cs])
        return ts, cs


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
    max_body: int = 0               # bytes; a larger response fails (invalid_response)
    low_speed_limit: int = 0        # bytes/s; slower for low_speed_time seconds: timeout
    low_speed_time: float = 0.0


@dataclass(frozen=True)
class Plan:
    name: str
    request: RequestTemplate
    load: Load
    transport: Transport = field(default_factory=Transport)
    show_secrets: bool = False      # keep credentials in what the result records (--show-secrets)

    def share(self, i: int, n: int) -> "Plan":
        """Part i of n of this plan, for one of n workers or shards: connections, iterations
        and the rate schedule split so the parts add up exactly to the whole."""
        ld = self.load
        load = dataclasses.replace(
            ld, concurrency=split_count(ld.concurrency, i, n),
            iterations=split_count(ld.iterations, i, n) if ld.iterations else ld.iterations,
            warmup_iterations=split_count(ld.warmup_iterations, i, n), share=ld.share + ((i, n),))
        return dataclasses.replace(self, load=load)

    def max_parts(self) -> int:
        """How many parts this plan can be split into (each needs a connection and a request)."""
        ld = self.load
        return min(ld.concurrency, ld.iterations or ld.concurrency)

    def configuration(self) -> dict:
        """The resolved settings, as recorded in the result (camelCase); secrets redacted
        unless show_secrets (lunge.redact)."""
        r, ld, t = self.request, self.load, self.transport
        return {
            # by name (lunge.redact), then by value (secret variables, URL passwords: lunge.secretvalues)
            "url": r.url if self.show_secrets else secretvalues.url(r.url),
            "method": r.method,
            "headers": list(r.headers) if self.show_secrets else [secretvalues.header(h) for h in r.headers],
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
            "model": "open" if ld.open_model else "closed",
            "pattern": patterns._describe(ld.pattern) if ld.open_model else None,
            "rampUpMs": ld.ramp_up * 1000,
            "rampDownMs": ld.ramp_down * 1000,
            "warmupMs": ld.warmup * 1000,
            "warmupIterations": ld.warmup_iterations,
            "variants": len(r.variants) or 1,
            **({"share": [list(p) for p in ld.share]} if ld.share else {}),
            "backoffMs": ld.backoff * 1000,
            "backoffMaxMs": ld.backoff_max * 1000,
        }

    def user_agent(self) -> str:
        """lunge's User-Agent, unless the request sets its own (`-H 'User-Agent: x'`, or an
        empty `-H 'User-Agent:'` to send none): then libcurl is not asked to build one."""
        if any(h.split(":", 1)[0].strip().lower() == "user-agent" for h in self.request.headers):
            return ""
        return f"lunge/{__version__}"

    def engine_kwargs(self) -> dict:
        r, ld, t = self.request, self.load, self.transport
        origin = pinned_address(r.url)
        kw = dict(
            url=r.url, method=r.method, headers=r.headers, body=r.body,
            concurrency=ld.concurrency, iterations=ld.iterations or 0,
            duration=ld.duration + ld.warmup_span() if ld.duration else 0.0,
            grace=ld.grace, timeout=t.timeout or 0.0, connect_timeout=t.connect_timeout or 0.0,
            insecure=t.insecure, http2=t.http2, follow=t.follow, max_redirects=t.max_redirects,
            cacert=t.cacert or system_ca_bundle(), cert=t.cert, key=t.key, user_agent=self.user_agent(),
            max_body=t.max_body, low_speed_limit=t.low_speed_limit, low_speed_time=int(math.ceil(t.low_speed_time)),
            resolve=pinned_resolve(origin), own_pools=own_pools(origin, t.http2),
            warmup=ld.warmup, warmup_iterations=ld.warmup_iterations,
            variants=list(r.variants) if len(r.variants) > 1 else None,
            variant_stride=math.prod(n for _, n in ld.share),
            variant_offset=_share_offset(ld.share),
            backoff=ld.backoff, backoff_max=ld.backoff_max,
        )
        if ld.open_model:
            kw["schedule"] = ld.schedule()
        elif ld.ramp_up or ld.ramp_down:
            kw["concurrency_steps"] = ld.concurrency_steps()
        return kw


def parse_header(text: str, field_name: str = "-H") -> str:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise ConfigError(f"{field_name} {text!r}: expected 'Name: value'")
    from lunge import wire

    wire.check_header_line(text, field_name)  # CR, LF, NUL; the name a token
    return f"{name.strip()}: {value.strip()}"


def read_body(data: str | None) -> bytes | None:
    """`-d` as curl takes it: a literal string, or @FILE for a file's bytes."""
    if data is None:
        return None
    if data.startswith("@"):
        from lunge import safeload

        try:  # bounded: -d @/dev/zero must not read forever
            return safeload.read_request_body(data[1:], f"-d {data!r}")
        except OSError as e:
            raise ConfigError(f"-d {data!r}: cannot read {data[1:]!r} ({e.strerror})") from None
    return data.encode()


def check_concurrency(concurrency: int, max_concurrency: int = MAX_CONCURRENCY) -> None:
    if concurrency < 1:
        raise ConfigError(f"--concurrency: {concurrency} must be at least 1")
    if concurrency > max_concurrency:
        raise ConfigError(f"--concurrency: {concurrency} is above the limit of {max_concurrency} (a guard "
                          f"against typos): use at most {max_concurrency}, or raise the limit with "
                          f"--max-concurrency {concurrency}", type=CONCURRENCY_LIMIT)
    # One socket per connection, plus libcurl's and Python's own descriptors.
    need = concurrency + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard == resource.RLIM_INFINITY or hard >= need:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        else:
            raise ConfigError(
                f"--concurrency: {concurrency} needs {need} file descriptors but the limit is {hard}: "
                f"use --concurrency {max(1, hard - 64)}, or raise the hard limit (as root: ulimit -Hn {need}; "
                f"for good: nofile in /etc/security/limits.conf, or LimitNOFILE= for a service)",
                type=CONCURRENCY_LIMIT)


def build_plan(*, url: str, method: str | None = None, headers=(), data: str | None = None,
               body: bytes | None = None, concurrency: int = 10, iterations: int | None = None,
               duration: float | None = None, grace: float = 5.0, timeout: float | None = 30.0,
               http2: bool = False, insecure: bool = False, follow: bool = False, name: str | None = None,
               max_concurrency: int = MAX_CONCURRENCY, rps: float | None = None, pattern=None,
               ramp_up: float | None = None, ramp_down: float | None = None, warmup: float | None = None,
               warmup_iterations: int | None = None, pattern_field: str = "--pattern", variants=(),
               backoff: tuple[float, float] | None = None, show_secrets: bool = False, **transport) -> Plan:
    check_url(url)
    if body is None:
        body = read_body(data)
    method = (method or ("POST" if body is not None else "GET")).upper()
    if method not in METHODS:
        raise ConfigError(f"-X: {method!r} is not one of {', '.join(METHODS)}")
    check_concurrency(concurrency, max_concurrency)
    if rps is not None and not (rps > 0):
        raise ConfigError(f"--rps: {rps} must be a positive number of requests per second")
    if pattern is None and rps is not None:
        pattern = patterns.ConstantRate(rps)
    if isinstance(pattern, patterns.LinearRamp) and not pattern.duration and duration:
        pattern = dataclasses.replace(pattern, duration=duration)  # ramp over the whole run
    if pattern is not None:
        patterns.check(pattern, pattern_field)
    for flag, v in (("--ramp-up", ramp_up), ("--ramp-down", ramp_down), ("--warmup", warmup)):
        if v is not None and v < 0:
            raise ConfigError(f"{flag}: must not be negative")
    if warmup and warmup_iterations:
        raise ConfigError("load.warmup: give a warmup duration or a number of iterations, not both")
    if warmup_iterations is not None and warmup_iterations < 0:
        raise ConfigError(f"load.warmup.iterations: {warmup_iterations} must not be negative")
    own = patterns.own_duration(pattern) if pattern is not None else None
    ends_itself = own is not None or (pattern is not None and patterns.is_custom(pattern))  # is_complete()
    if iterations is None and not duration and not ends_itself:
        raise ConfigError("give --iterations N or --duration D (e.g. --duration 30s)")
    if pattern is None and (ramp_down or 0) > 0 and not duration:
        raise ConfigError("--ramp-down needs --duration (connections are removed over its last part)")
    if iterations is not None and iterations < 1:
        raise ConfigError(f"--iterations: {iterations} must be at least 1")
    if duration is not None and duration <= 0:
        raise ConfigError("--duration: must be more than 0")
    if timeout is not None and timeout < 0:
        raise ConfigError("--timeout: must not be negative")
    if backoff is not None and not (backoff[0] > 0 and backoff[1] >= backoff[0]):
        raise ConfigError("--backoff: the pause must be above 0 and its maximum at least as long")
    load = Load(concurrency=concurrency, iterations=iterations, duration=duration,
                grace=5.0 if grace is None else grace, pattern=pattern,
                ramp_up=ramp_up or 0.0, ramp_down=ramp_down or 0.0, warmup=warmup or 0.0,
                warmup_iterations=warmup_iterations or 0,
                backoff=backoff[0] if backoff else 0.0, backoff_max=backoff[1] if backoff else 0.0)
    if load.open_model and iterations is not None and not duration and own is not None:
        _, cum = patterns.schedule(load.shaped(), None)
        capacity = math.ceil(cum[-1] - 1e-9)  # request k is due once the cumulative count passes k
        if capacity < iterations:
            raise ConfigError(f"--iterations: {iterations} can never be reached: the pattern schedules "
                              f"only {capacity} requests in its {own:g}s (add --duration or lower --iterations)")
    plan = Plan(
        name=name or f"{method} {url if show_secrets else secretvalues.url(url)}",
        show_secrets=show_secrets,
        request=RequestTemplate(url=url, method=method, headers=tuple(parse_header(h) for h in headers), body=body,
                                variants=tuple(variants)),
        load=load,
        transport=Transport(timeout=timeout or None, http2=http2, insecure=insecure, follow=follow, **transport),
    )
    for path in (plan.transport.cacert, plan.transport.cert, plan.transport.key):
        if path and not os.path.exists(path):
            raise ConfigError(f"file {path!r} does not exist")
    return plan


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
    return host, port, infos[0][4][0]


def pinned_resolve(origin: tuple[str, int, str | None]) -> tuple[str, ...]:
    """CURLOPT_RESOLVE entries pinning pinned_address()'s host to its address (none for an address)."""
    host, port, addr = origin
    if addr is None or addr == host:
        return ()
    return (f"{host}:{port}:{'[' + addr + ']' if ':' in addr else addr}",)


def own_pools(origin: tuple[str, int, str | None], http2: bool) -> tuple[str, int, str] | None:
    """The engine's own_pools: each connection slot in a libcurl pool of its own (see
    Engine), for HTTP/1.x to an origin with a known address.  Not for --http2, where the
    slots' streams share connections."""
    return None if http2 or origin[2] is None else origin


def plan_from_config(path: str, env: str | None, test: str | None = None, request: str | None = None,
                     variables: dict | None = None, **flags):
    """A Plan for the config's performance.TEST (or a load test of requests.REQUEST), with the
    flags that were given (not None) overriding the config.  Returns (plan, performance test)."""
    from lunge.config import load_config, resolve_request

    cfg = load_config(path)
    pt = cfg.performance_test(test) if test else None
    if pt is None and not request:
        raise ConfigError("give -p TEST (a performance test) or -r REQUEST (a request) with -c")
    ld = pt.load if pt else None
    name = pt.request if pt else request
    data_file = flags.pop("data_file", None) or (ld and ld.data_file and os.path.join(cfg.base_dir, ld.data_file))
    pool = flags.pop("variants", None) or (ld.variants if ld else None) or DEFAULT_VARIANTS
    rows = read_data_file(data_file) if data_file else [{}]
    first_vars = {**rows[0], **(variables or {})}
    req = resolve_request(cfg, env, name, first_vars)
    variants = ()
    dynamic = _renders_differently(cfg, env, name, first_vars, req)
    if len(rows) > 1 or dynamic:
        # Per-request values: render a pool now; the engine cycles through it (no Python per
        # request).  Data rows are taken in order; built-ins get fresh values in every rendering.
        count = max(len(rows), pool) if dynamic else len(rows)
        variants = tuple(
            (r.url, tuple(r.headers), r.body)
            for r in (resolve_request(cfg, env, name, {**rows[i % len(rows)], **(variables or {})})
                      for i in range(count)))

    def pick(name, config_value, default=None):
        v = flags.pop(name, None)
        return v if v is not None else (config_value if config_value is not None else default)

    duration = pick("duration", ld.duration if ld else None)
    flag_rps, flag_pattern = flags.pop("rps", None), flags.pop("pattern", None)
    rps, pattern = flag_rps, flag_pattern
    if rps is None and pattern is None and ld is not None:  # the config's rate, unless a flag set one
        rps = ld.rps
        if ld.pattern is not None:
            pattern = patterns.from_config(ld.pattern, ld.rps, duration)
    warm = ld.warmup if ld else None
    iterations = pick("iterations", ld.iterations if ld else None)
    plan = build_plan(
        url=req.url, method=req.method, headers=req.headers, body=req.body,
        concurrency=pick("concurrency", ld.concurrency if ld else None, 10),
        iterations=iterations, duration=duration, rps=rps, pattern=pattern,
        ramp_up=pick("ramp_up", ld.ramp_up if ld else None), ramp_down=pick("ramp_down", ld.ramp_down if ld else None),
        warmup=pick("warmup", warm.duration if warm else None),
        warmup_iterations=pick("warmup_iterations", warm.iterations if warm else None),
        timeout=pick("timeout", req.timeout, 30.0), insecure=flags.pop("insecure", False) or req.insecure,
        follow=flags.pop("follow", False) or req.follow_redirects,
        name=pick("name", pt.name if pt else f"{req.method} {req.name or request}"),
        pattern_field="--pattern" if flag_pattern is not None else f"performance.{test}.load.pattern",
        variants=variants, backoff=pick("backoff", ld.backoff if ld else None),
        **{k: v for k, v in flags.items() if v is not None})
    return plan, pt


DEFAULT_VARIANTS = 1000


def _renders_differently(cfg, env, name, variables, first) -> bool:
    """Does the request hold per-request values ({{$uuid}}, {{$randomInt}}, ...)?"""
    from lunge.config import resolve_request

    again = resolve_request(cfg, env, name, variables)
    return (again.url, again.headers, again.body) != (first.url, first.headers, first.body)


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


def split_count(total: int, i: int, n: int) -> int:
    return total // n + (1 if i < total % n else 0)


def split_schedule(ts, cum, i: int, n: int):
    """Part i of n of a schedule: the requests k with k % n == i.  Request k of the whole is
    due when cum reaches k, so the part's j-th (k = j*n + i) is due when (cum - i) / n reaches j."""
    c = (np.asarray(cum, dtype=np.float64) - i) / n
    ts = np.asarray(ts, dtype=np.float64)
    positive = np.flatnonzero(c > 0)
    if len(positive) == 0:  # this part never gets a request
        return np.array([0.0, ts[-1]]), np.array([0.0, 0.0])
    k = positive[0]
    t_cross = ts[k - 1] + (0.0 - c[k - 1]) / (c[k] - c[k - 1]) * (ts[k] - ts[k - 1])
    return np.concatenate([[0.0, t_cross], ts[k:]]), np.concatenate([[0.0, 0.0], c[k:]])


def _share_offset(share) -> int:
    """Index in the whole run of a part's first request: shares split successively, so the
    part's j-th request is j * prod(n) + offset."""
    offset, scale = 0, 1
    for i, n in share:
        offset += i * scale
        scale *= n
    return offset
