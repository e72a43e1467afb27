"""Result files that cannot lie: the counters of a loaded result must agree with each other and
with its histograms, and `lunge merge` only merges runs that belong together.

- check_counts(): the invariants the engine keeps (lunge/_native/engine.pyx, `_count` and
  `_complete`): every completed request is a response (a status code, recorded in the
  response histogram) or a transport error (an error class), so
      sum(statusCodes) = histogram.totalCount = completed - transportErrors
      sum(errors)      = transportErrors <= failures <= completed
  and per second the same with `requests`, plus t >= 0, span >= 1, seconds in order, within
  the run, adding up to `completed`.
  Flow runs' scenarios likewise (check_scenarios()): per request name
      errors <= failures <= requests, check failures <= failures - errors,
      sum(statusCodes) = histogram.totalCount = requests - errors, sum(errorClasses) = errors,
  and per scenario the request names' requests and errors add up to the scenario's, and its
  per-second rows are in order (t >= 0, increasing).
- check_mergeable(): the same testName and configuration.url, and runs that overlap in time
  (or nearly: a gap of at most MERGE_SLACK_S between one ending and the next starting), unless
  --force.
"""
from __future__ import annotations

from lunge._native.contract import HTTP_VERSIONS
from lunge.errors import ConfigError

MERGE_SLACK_S = 5.0      # runs this close (one ends, the next starts) count as run together


def _fail(source: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: inconsistent lunge result: {message}")


def check_counts(r, source: str) -> None:
    """Refuse a result whose counters, histograms and series disagree (one line naming the field)."""
    responses = r.completed - r.errors
    if r.elapsed_ns < 0:
        raise _fail(source, f"durationMs is negative ({r.elapsed_ns / 1e6:g})")
    if r.errors > r.completed:
        raise _fail(source, f"counters.transportErrors ({r.errors}) is more than counters.completed ({r.completed})")
    if not r.errors <= r.failures <= r.completed:
        raise _fail(source, f"counters.failures ({r.failures}) is not between transportErrors ({r.errors}) "
                            f"and completed ({r.completed})")
    if sum(r.error_classes.values()) != r.errors:
        raise _fail(source, f"counters.errors add up to {sum(r.error_classes.values())}, "
                            f"counters.transportErrors is {r.errors}")
    if r.response.total != responses:
        raise _fail(source, f"the response histogram counts {r.response.total} responses, but completed - "
                            f"transportErrors is {responses}")
    if sum(r.status_codes.values()) != responses:
        raise _fail(source, f"counters.statusCodes add up to {sum(r.status_codes.values())}, but completed - "
                            f"transportErrors is {responses}")
    if r.http_versions:  # absent from results written before lunge counted them
        unknown = set(r.http_versions) - set(HTTP_VERSIONS)
        if unknown:
            raise _fail(source, f"counters.httpVersions: {sorted(unknown)[0]!r} is not an HTTP version "
                                f"({', '.join(HTTP_VERSIONS)})")
        if sum(r.http_versions.values()) != responses:
            raise _fail(source, f"counters.httpVersions add up to {sum(r.http_versions.values())}, but completed - "
                                f"transportErrors is {responses}")
    end_s = r.elapsed_ns / 1e9
    next_t, total = 0, 0
    for i, s in enumerate(r.series):
        where = f"timeSeries[{i}]"
        if s.t < 0:
            raise _fail(source, f"{where}.t is negative ({s.t})")
        if s.span < 1:
            raise _fail(source, f"{where}.span is {s.span} (at least 1)")
        if s.t < next_t:
            raise _fail(source, f"{where}.t ({s.t}) is not after the second before it")
        if s.t > end_s + 2:
            raise _fail(source, f"{where}.t ({s.t}) is after the end of the run ({end_s:g} s)")
        if not s.errors <= s.failures <= s.requests:
            raise _fail(source, f"{where}: errors {s.errors} <= failures {s.failures} <= requests {s.requests} "
                                f"does not hold")
        if sum(s.status) != s.requests:
            raise _fail(source, f"{where}: statusClasses add up to {sum(s.status)}, requests is {s.requests}")
        got = s.hist.total if s.hist is not None else 0
        if got != s.requests - s.errors:
            raise _fail(source, f"{where}: the histogram counts {got} responses, requests - errors is "
                                f"{s.requests - s.errors}")
        next_t = s.t + s.span
        total += s.requests
    if r.series and total != r.completed:
        raise _fail(source, f"timeSeries requests add up to {total}, counters.completed is {r.completed}")
    check_scenarios(r, source)


def check_scenarios(r, source: str) -> None:
    for s in r.scenarios:
        where = f"scenarios.{s.name}"
        if not s.errors <= s.failures <= s.requests:
            raise _fail(source, f"{where}: errors {s.errors} <= failures {s.failures} <= totalRequests "
                                f"{s.requests} does not hold")
        for attr, key in (("requests", "totalRequests"), ("errors", "errors")):
            got = sum(getattr(st, attr) for st in s.steps)
            if s.steps and got != getattr(s, attr):
                raise _fail(source, f"{where}: the requests' {key} add up to {got}, the scenario's is "
                                    f"{getattr(s, attr)}")
        last = -1
        for i, row in enumerate(s.seconds):
            if row.sec < 0:
                raise _fail(source, f"{where}.timeSeries[{i}].t is negative ({row.sec})")
            if row.sec <= last:
                raise _fail(source, f"{where}.timeSeries[{i}].t ({row.sec}) is not after the second before it")
            last = row.sec
        for st in s.steps:
            at = f"{where}.requests.{st.name}"
            responses = st.requests - st.errors
            if not st.errors <= st.failures <= st.requests:
                raise _fail(source, f"{at}: errors {st.errors} <= failures {st.failures} <= totalRequests "
                                    f"{st.requests} does not hold")
            if st.check_failures > st.failures - st.errors:
                raise _fail(source, f"{at}: checkFailures ({st.check_failures}) is more than failures - errors "
                                    f"({st.failures - st.errors})")
            if st.histogram.total != responses or sum(st.status_codes.values()) != responses:
                raise _fail(source, f"{at}: the histogram counts {st.histogram.total} and statusCodes "
                                    f"{sum(st.status_codes.values())} responses, totalRequests - errors is {responses}")
            if sum(st.error_classes.values()) != st.errors:
                raise _fail(source, f"{at}: errorClasses add up to {sum(st.error_classes.values())}, errors is "
                                    f"{st.errors}")


def check_mergeable(results: list, sources: list, force: bool) -> None:
    """Without --force: one test (testName, configuration.url), run together in time."""
    if force or len(results) < 2:
        return
    first, src0 = results[0], sources[0]
    for r, src in zip(results[1:], sources[1:]):
        if r.name != first.name:
            raise ConfigError(f"merge: {src} is another test (testName {r.name!r}, {src0} has {first.name!r}); "
                              f"add --force to merge them anyway")
        if r.configuration.get("url", r.configuration.get("file")) != \
                first.configuration.get("url", first.configuration.get("file")):
            raise ConfigError(f"merge: {src} has another target (configuration.url {r.configuration.get('url')!r}, "
                              f"{src0} has {first.configuration.get('url')!r}); add --force to merge them anyway")
    order = sorted(range(len(results)), key=lambda i: results[i].start_wall_ns)
    end: int | None = None
    last = order[0]
    for i in order:
        r = results[i]
        if end is not None and (r.start_wall_ns - end) / 1e9 > MERGE_SLACK_S:
            gap = (r.start_wall_ns - end) / 1e9
            raise ConfigError(f"merge: {sources[last]} and {sources[i]} do not overlap in time ({sources[i]} starts "
                              f"{_duration(gap)} after {sources[last]} ends); add --force to merge them anyway")
        r_end = r.start_wall_ns + r.elapsed_ns
        if end is None or r_end > end:
            end, last = r_end, i


def _duration(seconds: float) -> str:
    for unit, scale in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= scale:
            return f"{seconds / scale:.1f} {unit}"
    return f"{seconds:.1f} s"
