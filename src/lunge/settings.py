"""Settings: everything a load test is told, in one typed model, with every default in one place.

    flags  over  the config's performance test / request  over  the defaults below

`Settings.layered(flags, config)` builds it: for each field the first layer that sets it
(anything but None) wins. A few fields go together (`TOGETHER`): a rate given by a flag
replaces the config's rate *and* pattern, `--format`/`--output` replace the config's formats
*and* paths. The plan (lunge.plan) validates a Settings; the preparation step (lunge.prepare)
does what touches the machine.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lunge.patterns import RatePattern

# A typo guard (`--concurrency 1000000`), not a capacity claim; --max-concurrency raises it.
MAX_CONCURRENCY = 20000
# --backoff PAUSE without MAX, and a config's backoff without `max`: doubling up to 64 x PAUSE.
BACKOFF_MAX_FACTOR = 64
DEFAULT_TOLERANCE = 0.10
# --max-error-rate-abort RATE without SECONDS: this many seconds in a row.
ERROR_ABORT_SECONDS = 5
# The original Lunge's quick mode (perf --url --vus N) runs this long when no duration is given.
GO_LUNGE_DURATION = 30.0
# The largest request body read from a file (-d @FILE, --json @FILE, a config's "@file" body).
MAX_REQUEST_BODY = 100 * 1024 ** 2


@dataclass(frozen=True)
class Settings:
    # ---- the request (--url mode; with -c the request comes from the config)
    url: str | None = None
    method: str | None = None            # None: GET, or POST when there is a body
    headers: tuple[str, ...] = ()        # "Name: value"
    data: str | None = None              # -d: a literal body, or @FILE
    name: str | None = None              # test name in the result (default: METHOD URL)

    # ---- the load
    concurrency: int = 10                # connections; in the open model, the cap on requests in flight
    iterations: int | None = None        # exactly this many measured requests
    duration: float | None = None        # seconds of measured issuing
    rps: float | None = None             # open model: a constant rate ...
    pattern: RatePattern | None = None   # ... or a rate pattern (lunge.patterns)
    pattern_field: str = "--pattern"     # where the pattern came from, for error messages
    ramp_up: float = 0.0                 # seconds
    stages: tuple[tuple[float, int], ...] = ()  # ramping VUs (closed model): (seconds, target connections), ...
    ramp_down: float = 0.0
    warmup: float = 0.0                  # seconds sent first, kept out of the metrics
    warmup_iterations: int = 0           # or this many requests
    grace: float = 5.0                   # seconds in-flight requests may take after issuing stops
    backoff: tuple[float, float] | None = None   # (pause, max pause) seconds after an error
    max_concurrency: int = MAX_CONCURRENCY
    workers: int | None = None           # engine threads (None: the usable cores)
    shard: tuple[int, int] | None = None  # (i, n): part i of n, for one of n machines
    data_file: str | None = None         # CSV rows of variables, one per request (with -c)
    variants: int = 1000                 # renderings of a request with per-request values to cycle through

    # ---- the transport
    timeout: float | None = 30.0         # per request, seconds; 0 or None: none
    connect_timeout: float | None = None
    http2: bool = False
    http3: str | None = None             # "only" (QUIC or fail) or "fallback" (QUIC, else TCP): contract.HTTP3_MODES
    insecure: bool = False
    follow: bool = False
    max_redirects: int = 10
    cacert: str | None = None
    cert: str | None = None
    key: str | None = None
    max_body: int = 0                    # bytes; a larger response fails (invalid_response)
    low_speed_limit: int = 0             # bytes/s; slower for low_speed_time seconds: timeout
    low_speed_time: float = 30.0         # with low_speed_limit: how long a response may stay under it
    show_secrets: bool = False           # keep credentials in what the result records

    # ---- during the run (lunge.live)
    real_time: bool = False
    progress_interval: float = 5.0       # seconds between progress lines off a terminal; 0: none
    resources: bool = True
    max_memory: int | None = None        # bytes
    max_error_rate_abort: tuple[float, int] | None = None  # (failed share, seconds in a row)
    hooks: tuple[str, ...] = ()
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"

    # ---- after the run (lunge.cli.finish)
    formats: tuple[str, ...] = ("text",)
    output: Mapping[str, str] = field(default_factory=dict)  # format -> path; "*": one path or base name
    template: str | None = None
    threshold_exprs: tuple[str, ...] = ()   # --threshold flags (the config's thresholds apply too)
    no_thresholds: bool = False
    baseline: bool = False
    compare: bool = False
    tolerance: float = DEFAULT_TOLERANCE
    fail_on_regression: bool = False

    @classmethod
    def layered(cls, *layers: Mapping[str, Any]) -> Settings:
        """The first layer (flags, then the config) that sets a field wins; the defaults above
        fill the rest. Fields of a TOGETHER group come from one layer."""
        names = {f.name for f in fields(cls)}
        for layer in layers:
            unknown = set(layer) - names
            if unknown:
                raise TypeError(f"not settings: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        grouped = {n: g for g in TOGETHER for n in g}
        for name in names:
            if name in values:
                continue
            group = grouped.get(name, (name,))
            for layer in layers:
                if any(layer.get(n) is not None for n in group):
                    values.update({n: layer[n] for n in group if layer.get(n) is not None})
                    break
        return cls(**values)


# --http3's modes (contract.HTTP3_MODES) and the flag that asks for each.
HTTP3_FLAGS = {"only": "--http3", "fallback": "--http3-fallback"}


def http3_setting(value: Any, where: str) -> str | None:
    """A config file's `http3`: "only" (or true), "fallback", or false/absent (None)."""
    from lunge.errors import ConfigError

    if value is None or value is False:
        return None
    if value is True:
        return "only"
    if value in HTTP3_FLAGS:
        return str(value)
    raise ConfigError(f"{where}: {value!r} is not one of \"only\", \"fallback\", true, false")


def check_http3(http3: str | None, http2: bool, url: str, where: str | None = None) -> None:
    """--http3 / --http3-fallback need an https:// URL and exclude --http2 (ConfigError).
    where: the config field that asked for HTTP/3, when no flag did (named in the message)."""
    from lunge.errors import ConfigError

    if http3 is None:
        return
    flag = where or HTTP3_FLAGS[http3]
    if http2:
        raise ConfigError(f"{flag} and --http2: choose one HTTP version")
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme != "https":
        raise ConfigError(f"{flag}: HTTP/3 needs an https:// URL (QUIC is always encrypted), not {scheme or url!r}")


# Fields taken together from the first layer that sets any of them.
TOGETHER = (("rps", "pattern", "pattern_field"), ("formats", "output"))

DEFAULTS = Settings()


def request_layer(request) -> dict[str, Any]:
    """The settings a config's rendered request (lunge.config.ResolvedRequest) gives."""
    return {"timeout": request.timeout, "insecure": request.insecure or None, "http3": request.http3,
            "follow": request.follow_redirects or None, "name": f"{request.method} {request.name}"}


def test_layer(test, base_dir: str, duration: float | None = None, rate_from_flags: bool = False) -> dict[str, Any]:
    """The settings a config's performance test (lunge.config.PerformanceTest) gives. `duration`
    is the run's (a flag's, or the config's): the short pattern forms ramp over it. A rate
    given by a flag replaces the config's, which is then not built at all."""
    import os

    from lunge import patterns

    if test is None:
        return {}
    ld, mon, rep = test.load, test.monitoring, test.reporting
    formats, output = rep.formats, dict(rep.output) or None
    if formats is None and output is not None and set(output) == {"*"}:  # one path alone: as --output FILE
        from lunge import report

        formats, output = report.formats_for_output(output["*"])
    template = rep.template
    if template and not os.path.isabs(template):
        template = os.path.join(base_dir, template)
    return dict(
        name=test.name,
        concurrency=ld.concurrency, iterations=ld.iterations, duration=ld.duration, rps=ld.rps,
        pattern=patterns.from_config(ld.pattern, ld.rps, duration if duration is not None else ld.duration)
        if ld.pattern is not None and not rate_from_flags else None,
        pattern_field=f"performance.{test.key}.load.pattern" if ld.pattern is not None else None,
        ramp_up=ld.ramp_up, ramp_down=ld.ramp_down,
        warmup=ld.warmup.duration if ld.warmup else None, warmup_iterations=ld.warmup.iterations if ld.warmup else None,
        data_file=os.path.join(base_dir, ld.data_file) if ld.data_file else None, variants=ld.variants,
        backoff=ld.backoff,
        real_time=mon.real_time, progress_interval=mon.interval, resources=mon.resources, max_memory=mon.max_memory,
        formats=formats, output=output, template=template,
    )
