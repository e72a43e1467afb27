"""Plan: what one load test will do, validated before anything is sent.

Settings (lunge.settings) -> Plan (request template + load + transport options). Pure
validation: every check names the flag or field and the bad value (ConfigError, exit 2), and
nothing here touches the machine (lunge.prepare does, once, before the run).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from lunge import patterns, secretvalues
from lunge.errors import CONCURRENCY_LIMIT, ConfigError
from lunge.settings import DEFAULTS, Settings, check_http3
from lunge.urls import check_url

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

# The largest numbers a run takes: what the engine's C types and the result's 64-bit
# counters carry, far above any real run (a year at MAX_RATE stays below 2^63).  Beyond them
# a run failed with an OverflowError, some only after the load had been sent.
MAX_COUNT = 10 ** 15         # requests: --iterations, --warmup-iterations
MAX_RATE = 1e9               # requests per second: --rps and every rate of a pattern
C_INT_MAX = 2 ** 31 - 1      # the engine's C ints and longs: connections, redirects, bytes/s
MAX_SECONDS = 366 * 86400    # the longest duration lunge.units parses


@dataclass(frozen=True)
class RequestTemplate:
    url: str
    method: str = "GET"
    headers: tuple[str, ...] = ()
    body: bytes | None = None
    # Pre-rendered renderings of a request whose values change per request ({{$uuid}}, a
    # data file): ((url, headers, body), ...), cycled through natively, one per request.
    # Filled in by lunge.prepare.
    variants: tuple = ()


@dataclass(frozen=True)
class Load:
    concurrency: int = DEFAULTS.concurrency  # connections; in the open model, the cap on requests in flight
    iterations: int | None = None   # exactly this many measured requests, never one more
    duration: float | None = None   # seconds of measured issuing
    grace: float = DEFAULTS.grace   # seconds in-flight requests may take after issuing stops
    pattern: patterns.RatePattern | None = None   # a rate pattern (lunge.patterns): the open model when set
    ramp_up: float = 0.0            # seconds: shapes the pattern, or adds connections (closed)
    ramp_down: float = 0.0
    stages: tuple = ()              # ramping VUs: ((seconds, target connections), ...), closed model
    warmup: float = 0.0             # seconds sent before the measured run, kept out of the metrics
    warmup_iterations: int = 0      # or this many requests
    backoff: float = 0.0            # seconds of pause after an error, doubling per error in a row
    backoff_max: float = 0.0
    share: tuple = ()               # ((i, n), ...): this plan is part i of n (shard, then worker)
    whole_concurrency: int = 0      # a part's: the whole run's connections (0: this is the whole)

    @property
    def open_model(self) -> bool:
        return self.pattern is not None

    def shaped(self):
        assert self.pattern is not None  # the open model's: only it has a schedule
        if not (self.ramp_up or self.ramp_down):
            return self.pattern
        total = self.duration if self.duration is not None else patterns.own_duration(self.pattern)
        return patterns.Shaped(self.pattern, self.ramp_up, self.ramp_down, total)

    def warmup_rate(self) -> float:
        """The open model's warmup runs at the pattern's starting rate, or, if that is 0
        (a ramp from nothing), at the highest rate of its first minute."""
        assert self.pattern is not None  # the open model's
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
            cum = patterns.exact_counts(np.concatenate([[0.0], cum + rate * w]))
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
        if self.stages:  # the whole run's targets at each step, then this part's share of them
            ts, cs = patterns.stage_steps(self.stages)
            for i, n in self.share:
                cs = np.array([split_count(int(c), i, n) for c in cs])
            return ts, cs
        ts, cs = patterns.concurrency_steps(self.concurrency, self.ramp_up, self.ramp_down, self.duration)
        if self.warmup:  # the warmup runs with every connection, then the ramps shape the measured run
            return np.concatenate([[0.0], ts + self.warmup]), np.concatenate([[self.concurrency], cs])
        return ts, cs


@dataclass(frozen=True)
class Transport:
    timeout: float | None = DEFAULTS.timeout
    connect_timeout: float | None = None
    http2: bool = False
    http3: str | None = None        # "only" or "fallback" (contract.HTTP3_MODES)
    insecure: bool = False
    follow: bool = False
    max_redirects: int = DEFAULTS.max_redirects
    cacert: str | None = None
    cert: str | None = None
    key: str | None = None
    max_body: int = 0               # bytes; a larger response fails (invalid_response)
    low_speed_limit: int = 0        # bytes/s; slower for low_speed_time seconds: timeout
    low_speed_time: float = DEFAULTS.low_speed_time


@dataclass(frozen=True)
class Plan:
    name: str
    request: RequestTemplate
    load: Load
    transport: Transport = field(default_factory=Transport)
    show_secrets: bool = False      # keep credentials in what the result records (--show-secrets)

    def share(self, i: int, n: int) -> Plan:
        """Part i of n of this plan, for one of n workers or shards: connections, iterations
        and the rate schedule split so the parts add up exactly to the whole.

        Connections split evenly (c // n, one more for the first c % n parts).  In the closed
        model, iterations follow them: the whole run goes in rounds of one request per
        connection, and position p of a round is part p % n's, so each part's share is in
        proportion to its connections and needs no more rounds than the whole (-n 10 with 5
        connections: 6 and 4 iterations for 3 and 2 connections, 2 rounds each; an even 5/5
        made 3 rounds on 2 connections, the worst case 3 timeouts instead of 2).  In the open
        model they follow the interleaved schedule (request k is part k % n's)."""
        ld = self.load
        c = split_count(ld.concurrency, i, n)

        def part(total: int) -> int:
            if ld.open_model:
                return split_count(total, i, n)
            return total // ld.concurrency * c + split_count(total % ld.concurrency, i, n)

        load = dataclasses.replace(
            ld, concurrency=c, iterations=part(ld.iterations) if ld.iterations else ld.iterations,
            warmup_iterations=part(ld.warmup_iterations), share=ld.share + ((i, n),),
            whole_concurrency=ld.whole_concurrency or ld.concurrency)
        return dataclasses.replace(self, load=load)

    def variant_index(self) -> dict:
        """How this part's j-th request maps to the whole run's k (per-request variants follow
        the whole run's order): k = (j // group) * round + (j % group) * stride + offset, the
        engine's variant_* arguments.  Closed model: rounds of the whole's connections, this
        part's positions p % N == offset in each (N = stride, the parts' count); open model:
        k = j * N + offset (split_schedule)."""
        ld = self.load
        stride = math.prod(n for _, n in ld.share)
        if ld.open_model or not ld.share:
            return {"variant_stride": stride, "variant_offset": _share_offset(ld.share)}
        return {"variant_stride": stride, "variant_offset": _share_offset(ld.share),
                "variant_group": ld.concurrency, "variant_round": ld.whole_concurrency}

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
            "http3": t.http3,
            "insecure": t.insecure,
            "followRedirects": t.follow,
            "model": "open" if ld.open_model else "closed",
            "pattern": patterns._describe(ld.pattern) if ld.open_model else None,
            **({"stages": [{"durationMs": d * 1000, "target": t} for d, t in ld.stages]} if ld.stages else {}),
            "rampUpMs": ld.ramp_up * 1000,
            "rampDownMs": ld.ramp_down * 1000,
            "warmupMs": ld.warmup * 1000,
            "warmupIterations": ld.warmup_iterations,
            "variants": len(r.variants) or 1,
            **({"share": [list(p) for p in ld.share]} if ld.share else {}),
            "backoffMs": ld.backoff * 1000,
            "backoffMaxMs": ld.backoff_max * 1000,
        }


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


def check_concurrency(concurrency: int, max_concurrency: int = DEFAULTS.max_concurrency) -> None:
    if concurrency < 1:
        raise ConfigError(f"--concurrency: {concurrency} must be at least 1")
    if concurrency > max_concurrency:
        raise ConfigError(f"--concurrency: {concurrency} is above the limit of {max_concurrency} (a guard "
                          f"against typos): use at most {max_concurrency}, or raise the limit with "
                          f"--max-concurrency {concurrency}", type=CONCURRENCY_LIMIT)


def request_of(s: Settings) -> RequestTemplate:
    """The request of a --url run: -X, -H and -d as curl takes them."""
    if not s.url:
        raise ConfigError("give a URL (lunge perf http://127.0.0.1:8080/, or --url URL), or -c FILE: a v2 scenario "
                          "file, or a v1 config with -p TEST or -r REQUEST")
    check_url(s.url)
    body = read_body(s.data)
    method = (s.method or ("POST" if body is not None else "GET")).upper()
    return RequestTemplate(url=s.url, method=method, headers=tuple(parse_header(h) for h in s.headers), body=body)


def for_url(url: str, **settings) -> Plan:
    """A plan for one URL with these settings (the rest default): what `lunge demo` and the
    tests use."""
    return build_plan(Settings.layered({"url": url, **settings}))


def build_plan(s: Settings, request: RequestTemplate | None = None) -> Plan:
    """Validate settings into a Plan. `request` is the config's rendered request; without it
    the request is the settings' --url, -X, -H and -d."""
    req = request if request is not None else request_of(s)
    check_url(req.url)
    if req.method not in METHODS:
        raise ConfigError(f"-X: {req.method!r} is not one of {', '.join(METHODS)}")
    for flag, v, top in (("--max-concurrency", s.max_concurrency, C_INT_MAX), ("--concurrency", s.concurrency, C_INT_MAX),
                         ("--iterations", s.iterations, MAX_COUNT), ("--warmup-iterations", s.warmup_iterations, MAX_COUNT),
                         ("--max-redirects", s.max_redirects, C_INT_MAX),
                         ("--low-speed-limit", s.low_speed_limit, C_INT_MAX), ("--rps", s.rps, MAX_RATE)):
        _at_most(flag, v, top)
    if s.stages and max(t for _, t in s.stages) < 1:
        raise ConfigError("--stages: no stage has a target above 0 VUs")
    concurrency = max(t for _, t in s.stages) if s.stages else s.concurrency  # slots for the peak
    check_concurrency(concurrency, s.max_concurrency)
    rps, pattern, duration, iterations = s.rps, s.pattern, s.duration, s.iterations
    if rps is not None and not (0 < rps < float("inf")):
        raise ConfigError(f"--rps: {rps} must be a positive number of requests per second")
    if pattern is None and rps is not None:
        pattern = patterns.ConstantRate(rps)
    if isinstance(pattern, patterns.LinearRamp) and not pattern.duration and duration:
        pattern = dataclasses.replace(pattern, duration=duration)  # ramp over the whole run
    if pattern is not None:
        patterns.check(pattern, s.pattern_field)
        for rate in _rates(pattern):
            _at_most(s.pattern_field, rate, MAX_RATE, "requests per second")
    for flag, v in (("--ramp-up", s.ramp_up), ("--ramp-down", s.ramp_down), ("--warmup", s.warmup)):
        if v is not None and v < 0:
            raise ConfigError(f"{flag}: must not be negative")
    if s.warmup and s.warmup_iterations:
        raise ConfigError("load.warmup: give a warmup duration or a number of iterations, not both")
    if s.warmup_iterations < 0:
        raise ConfigError(f"load.warmup.iterations: {s.warmup_iterations} must not be negative")
    if s.stages:
        if pattern is not None or s.ramp_up or s.ramp_down or s.warmup or s.warmup_iterations:
            raise ConfigError("--stages (ramping VUs) set the load over time: no --rps/--pattern, ramps or warmup beside")
        if duration is not None or iterations is not None:
            raise ConfigError("--stages: the stages set the run's length: drop --duration/--iterations")
        duration = sum(d for d, _ in s.stages)
    own = patterns.own_duration(pattern) if pattern is not None else None
    ends_itself = own is not None or (pattern is not None and patterns.is_custom(pattern))  # is_complete()
    if iterations is None and not duration and not ends_itself:
        raise ConfigError("give --iterations N or --duration D (e.g. --duration 30s)")
    if pattern is None and s.ramp_down > 0 and not duration:
        raise ConfigError("--ramp-down needs --duration (connections are removed over its last part)")
    if iterations is not None and iterations < 1:
        raise ConfigError(f"--iterations: {iterations} must be at least 1")
    if duration is not None and duration <= 0:
        raise ConfigError("--duration: must be more than 0")
    if s.timeout is not None and s.timeout < 0:
        raise ConfigError("--timeout: must not be negative")
    if s.backoff is not None and not (s.backoff[0] > 0 and s.backoff[1] >= s.backoff[0]):
        raise ConfigError("--backoff: the pause must be above 0 and its maximum at least as long")
    if not 1 <= s.variants <= 100_000:
        raise ConfigError(f"--variants: {s.variants} is not from 1 to 100000")
    load = Load(concurrency=concurrency, iterations=iterations, duration=duration, grace=s.grace, pattern=pattern,
                ramp_up=s.ramp_up, ramp_down=s.ramp_down, stages=s.stages, warmup=s.warmup, warmup_iterations=s.warmup_iterations,
                backoff=s.backoff[0] if s.backoff else 0.0, backoff_max=s.backoff[1] if s.backoff else 0.0)
    if load.open_model and s.warmup_iterations:
        _check_warmup_span(load)
    if load.open_model and iterations is not None and not duration and own is not None:
        _, cum = patterns.schedule(load.shaped(), None)
        capacity = math.ceil(cum[-1] - 1e-9)  # request k is due once the cumulative count passes k
        if capacity < iterations:
            raise ConfigError(f"--iterations: {iterations} can never be reached: the pattern schedules "
                              f"only {capacity} requests in its {own:g}s (add --duration or lower --iterations)")
    check_http3(s.http3, s.http2, req.url)
    transport = Transport(timeout=s.timeout or None, connect_timeout=s.connect_timeout, http2=s.http2, http3=s.http3,
                          insecure=s.insecure, follow=s.follow, max_redirects=s.max_redirects, cacert=s.cacert,
                          cert=s.cert, key=s.key, max_body=s.max_body, low_speed_limit=s.low_speed_limit,
                          low_speed_time=s.low_speed_time)
    name = s.name or f"{req.method} {req.url if s.show_secrets else secretvalues.url(req.url)}"
    plan = Plan(name=name, show_secrets=s.show_secrets, request=req, load=load, transport=transport)
    if s.shard is not None:
        index, count = s.shard
        if count > plan.max_parts():
            raise ConfigError(f"--shard: '{index}/{count}': {count} shards need at least {count} connections "
                              f"and iterations")
        plan = plan.share(index, count)
    return plan


def _at_most(field_name: str, value, top, unit: str = "") -> None:
    if value is not None and not value <= top:  # NaN included
        raise ConfigError(f"{field_name}: {value:g}{' ' + unit if unit else ''} is out of range (at most {top:g})"
                          if isinstance(value, float) else f"{field_name}: {value} is out of range (at most {top})")


def _rates(p) -> list:
    """The rates a built-in pattern names (a custom one's are checked as its schedule is built)."""
    if isinstance(p, patterns.ConstantRate):
        return [p.rps]
    if isinstance(p, patterns.LinearRamp):
        return [p.start_rps, p.end_rps]
    if isinstance(p, patterns.StepPattern):
        return [r for r, _ in p.steps]
    return []


def _check_warmup_span(load: Load) -> None:
    """An open-model counted warmup runs at the warmup rate: it must have one, and end."""
    n, rate = load.warmup_iterations, load.warmup_rate()
    if not rate > 0:
        raise ConfigError(f"--warmup-iterations: {n} warmup requests need a rate: the pattern sends nothing "
                          f"in its first minute (give --warmup DURATION instead)")
    if not load.warmup_span() <= MAX_SECONDS:
        raise ConfigError(f"--warmup-iterations: {n} at {rate:g} req/s is out of range (it would take more than "
                          f"{MAX_SECONDS // 86400} days)")


def split_count(total: int, i: int, n: int) -> int:
    return total // n + (1 if i < total % n else 0)


def split_schedule(ts, cum, i: int, n: int):
    """Part i of n of a schedule: the requests k with k % n == i.  Request k of the whole is
    due when cum reaches k, so the part's j-th (k = j*n + i) is due when (cum - i) / n reaches j."""
    c = patterns.exact_counts((np.asarray(cum, dtype=np.float64) - i) / n)
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
