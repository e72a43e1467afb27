"""What the native engine hands to Python: the return types of Engine.snapshot(), harvest()
and results(), and the names of the engine's fixed-size counter arrays.

Pure Python, importable without the compiled engine (type checkers, result loading).  These
are built a few times a second at most, never per request, so NamedTuples cost nothing
measurable.  engine.pyx checks at import that its C array sizes match the name tuples here.

Units: *_ns fields are nanoseconds, elapsed_s seconds; counters are request counts unless
named otherwise (bytes: response bytes, headers + body).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

# Slot i of every status-class array (Snapshot.status_classes, HarvestedSecond.status_classes):
# 0 transport errors (no response), then responses by status // 100 (a status outside
# 100..599 counts as 5xx).
STATUS_CLASSES = ("error", "1xx", "2xx", "3xx", "4xx", "5xx")

# What a transport error (a CURLcode, sometimes with libcurl's message) means for a load test;
# "connection_closed": the server read the request and closed the connection without a byte of
# answer; "quic_connect": no QUIC connection (nothing answered over UDP, or the QUIC handshake
# failed; --http3 only); "aborted": still in flight when the run ended.  Keys of
# EngineResults.error_classes.
ERROR_CLASSES = ("connection_refused", "timeout", "dns", "tls", "connection_reset", "connection_closed",
                 "quic_connect", "invalid_response", "too_many_redirects", "other", "aborted")

# The HTTP version of each response (CURLINFO_HTTP_VERSION), as the result names them.
HTTP_VERSIONS = ("1.0", "1.1", "2", "3")

# --http3's two modes: "only" (QUIC or fail), "fallback" (QUIC raced against TCP: h2 or http/1.1
# when QUIC does not answer).
HTTP3_MODES = ("only", "fallback")

# libcurl's timing breakdown per response, and "error": time to failure of transport errors.
PHASES = ("dns", "connect", "tls", "ttfb", "transfer", "curlTotal", "error")

# Keys of EngineResults.histograms, in the engine's order (these names reach the result JSON).
HISTOGRAMS = ("response", "service", "sendLag", "sendJitter") + PHASES


class SparseCounts(NamedTuple):
    """A latency histogram (csrc/lunge_hist.h's layout) kept as its non-empty counters."""
    idx: np.ndarray         #: int32 counter indices, increasing
    counts: np.ndarray      #: uint64 count of each counter in idx
    total: int = 0          #: values recorded
    min_ns: int = 0         #: exact smallest value, ns (0 when empty)
    max_ns: int = 0         #: exact largest value, ns
    sum_ns: int = 0         #: exact sum, ns
    sum_sq: float = 0.0     #: sum of squares, ns^2 (for the standard deviation)


class HarvestedSecond(NamedTuple):
    """One closed second of the run, by completion time (Engine.harvest())."""
    sec: int                #: seconds since the engine's start (its first second is 0)
    last_sec: int           #: == sec, unless later seconds were folded in (Python fell behind)
    requests: int           #: measured requests completed (warmup excluded), aborted ones included
    failures: int           #: of which transport errors or status >= 400
    errors: int             #: of which transport errors
    bytes: int              #: response bytes received (headers + body)
    status_classes: tuple   #: counts per STATUS_CLASSES slot
    hist: SparseCounts      #: response times (ns) of the requests that got a response


class Snapshot(NamedTuple):
    """Live counters of a running engine (Engine.snapshot()), or of several, summed."""
    elapsed_s: float        #: seconds since the loop started (0.0 before)
    issued: int             #: requests handed to libcurl, warmup included
    completed: int          #: measured requests completed
    failures: int           #: of which transport errors or status >= 400
    errors: int             #: of which transport errors
    bytes: int              #: response bytes received (headers + body)
    in_flight: int          #: requests in libcurl's hands now
    connections: int        #: connections opened so far
    warmup_completed: int   #: warmup requests completed
    status_classes: tuple   #: completed requests per STATUS_CLASSES slot
    versions: tuple = (0, 0, 0, 0)  #: responses per HTTP_VERSIONS slot


class EngineResults(NamedTuple):
    """Everything one engine measured (Engine.results(), once run() has returned).
    Times are ns since the loop started, except wall_start_ns."""
    wall_start_ns: int          #: wall clock (CLOCK_REALTIME, ns since the epoch) at the start
    elapsed_ns: int             #: start to the loop's end
    first_send_ns: int          #: first measured request's (due) send; 0 if none
    issue_end_ns: int           #: when issuing ended (limit reached, stop() or abort)
    completed_at_issue_end: int  #: measured requests completed by issue_end_ns
    issued: int                 #: requests handed to libcurl, warmup included
    completed: int              #: measured requests completed, aborted ones included
    failures: int               #: of which transport errors or status >= 400
    errors: int                 #: of which transport errors
    bytes: int                  #: response bytes received (headers + body)
    connections: int            #: connections opened
    status_codes: dict          #: {HTTP status: count}; 0 counts statuses outside 100..599
    curl_codes: dict            #: {CURLcode: count} of transport errors (127: that or above)
    error_classes: dict         #: {ERROR_CLASSES name: count}, non-zero ones only
    error_samples: dict         #: {ERROR_CLASSES name: libcurl's message for the first one}
    series_overruns: int        #: seconds folded into another (Python fell behind harvesting)
    open_model: bool            #: rate-paced (a schedule) rather than closed-model
    late_sends: int             #: open model: sends more than 1 ms after their due time
    max_lag_ns: int             #: open model: largest send lag
    warmup_issued: int          #: warmup requests issued
    warmup_completed: int       #: warmup requests completed
    warmup_failures: int        #: of which transport errors or status >= 400
    histograms: dict            #: {HISTOGRAMS name: lunge._native.hist.Histogram}, values in ns
    http_versions: dict = {}    #: {HTTP_VERSIONS name: responses}, non-zero ones only


# ---------------------------------------------------------------- flows (flow.pyx's FlowEngine)
#
# Python (lunge.flowplan) compiles a v2 scenario file into these specs, one set per engine
# (worker); the FlowEngine runs every scenario of its set on one curl multi handle, with the GIL
# released.  Templates are tuples of segments in flowkit.render's form: ("lit", "text"),
# ("var", i) (the VU's variable i: set by an extract, or None), ("iteration",), ("vuId",),
# ("timestamp",) (Unix seconds), ("timestampMs",), ("isoTimestamp",), ("uuid",),
# ("randomInt", lo, hi).  Everything the same for every request is already literal text.

# Executor kinds, as the file spells them (config.scenario.EXECUTORS).
FLOW_EXECUTORS = ("constant-vus", "ramping-vus", "constant-arrival-rate", "ramping-arrival-rate",
                  "per-vu-iterations", "shared-iterations")

# Extract sources and check types, as the file spells them.
EXTRACT_SOURCES = ("body", "header", "status")
CHECK_TYPES = ("status", "body", "header", "duration")
CHECK_CONDITIONS = ("eq", "ne", "gt", "lt", "gte", "lte", "contains", "matches")


class ExtractSpec(NamedTuple):
    """One `extract` item of a request."""
    var: int                #: the VU variable it sets (index into the VU's table)
    source: str             #: EXTRACT_SOURCES
    path: str | None        #: header: its name; body: a plain JSON path (flowkit.is_plain_path), or None: the whole body
    fallback: object        #: None (native), or fallback(status: int, headers: bytes, body: bytes) -> bytes | None,
                            #: called with the GIL per response (regexes, JSONPaths that are not plain); None: not found


class CheckSpec(NamedTuple):
    """One assertion of a request, checked on every response of it."""
    label: str              #: how reports name it: "status eq 200", or the assertion's message
    type: str               #: CHECK_TYPES
    condition: str          #: CHECK_CONDITIONS
    path: str | None        #: header: its name; body: a plain JSON path, or None: the whole body
    value: tuple            #: a template: the text compared with (eq, ne, contains)
    number: float           #: gt/lt/gte/lte, status eq/ne, duration (seconds): the number compared with; nan if none
    fallback: object        #: None (native), or fallback(status, headers: bytes, body: bytes, seconds: float) -> str | None:
                            #: the failure message, None when it passes (matches, non-plain paths); called with the GIL


class StepSpec(NamedTuple):
    """One request of a flow."""
    name: str               #: the request's name in the metrics
    stat: int               #: index of its row in ScenarioSpec.stats (requests of one name share a row)
    method: str             #: upper case
    url: tuple              #: template of the whole URL
    headers: tuple          #: templates, each of a whole "Name: value" line
    body: tuple | None      #: template of the body, or None (no body)
    timeout_s: float        #: 0: none
    think_s: float          #: wait after its response (after the last request too: before the next iteration)
    extracts: tuple         #: ExtractSpec, applied in order after the response
    checks: tuple           #: CheckSpec
    needs_body: bool        #: keep the response body (an extract or check reads it)
    needs_headers: bool     #: keep the response headers


class ScenarioSpec(NamedTuple):
    """One scenario, as one engine (worker) runs its share.  Times in seconds; schedules are
    relative to the scenario's own start."""
    name: str
    executor: str           #: FLOW_EXECUTORS
    start_s: float          #: from the engine's start; with after_previous, from the previous scenario's end
    after_previous: bool    #: options.sequential: start when the previous scenario (in this engine) has ended
    stop_s: float           #: no iteration starts from then on (iteration executors: maxDuration)
    graceful_stop_s: float  #: running iterations are interrupted this long after stop_s
    vus: int                #: this engine's VUs at most (arrival rate: its maxVUs share)
    vu_steps: tuple         #: constant-vus / ramping-vus: ((t_s, active VUs), ...): a step function from (0, n0)
    schedule: tuple | None  #: arrival rate: (ts, cumulative) the whole scenario's cumulative iterations, from (0, 0)
    schedule_stride: int    #: arrival rate: this engine starts the whole scenario's iterations k = j*stride + offset
    schedule_offset: int
    pre_allocated: int      #: arrival rate: VUs this engine makes before the start
    iterations: int         #: per-vu-iterations: per VU; shared-iterations: this engine's share; else 0
    first_vu: int           #: {{vuId}} of this engine's first VU (from 1); its VUs are first_vu, first_vu + 1, ...
    iteration_stride: int   #: {{iteration}}: this engine's j-th iteration is j * stride + offset
    iteration_offset: int
    pacing: tuple           #: ("none", 0, 0) | ("constant", s, 0) | ("random", min_s, max_s): wait after an iteration
    iteration_timeout_s: float  #: 0: none; an iteration running longer is interrupted
    new_connections: bool   #: options.noVUConnectionReuse: a VU's connections close after each iteration
    nvars: int              #: size of each VU's variable table
    initial: tuple          #: the table's start values: bytes or None (not set), nvars of them
    steps: tuple            #: StepSpec
    stats: tuple            #: request names, one per metrics row
    seed: int               #: the VUs' random generators start from it


# Flow results.  Totals come as for the Engine (snapshot(), harvest(), results() give
# Snapshot, HarvestedSecond and EngineResults over every request of every scenario); these
# add the per-scenario and per-request-name detail.

class CheckCounts(NamedTuple):
    label: str
    passed: int
    failed: int
    first_failure: str      #: the first failure's message ("" if none failed)


class StepResults(NamedTuple):
    """Every request of one name in one scenario."""
    name: str
    requests: int           #: completed (aborted ones included)
    failures: int           #: transport errors, status >= 400, or a failed check
    errors: int             #: transport errors
    check_failures: int     #: requests with a failed check (and no other failure)
    bytes: int
    status_codes: dict      #: {status: count}
    error_classes: dict     #: {ERROR_CLASSES name: count}
    error_samples: dict     #: {ERROR_CLASSES name: first message}
    histogram: object       #: hist.Histogram of response times (ns) of requests that got a response
    checks: tuple           #: CheckCounts, one per distinct label, in file order
    extract_misses: int     #: extracts that found nothing (the variable kept its previous value)


class ScenarioSecond(NamedTuple):
    """One second of one scenario, by completion time (seconds since the engine's start)."""
    sec: int
    requests: int
    failures: int
    iterations: int         #: iterations completed in that second
    dropped: int            #: arrival rate: iterations due in that second that found no free VU
    vus: int                #: the most VUs in an iteration (think time included) at once during the second
    sum_ns: int             #: response times' sum and largest, for the second's mean and max
    max_ns: int


class ScenarioResults(NamedTuple):
    name: str
    executor: str
    started_s: float        #: when it started (s from the engine's start); -1 if it never did
    ended_s: float          #: when its last iteration ended or was interrupted
    iterations: int         #: completed
    interrupted: int        #: interrupted iterations (gracefulStop, iterationsTimeout, the run's end)
    dropped: int            #: arrival rate: due iterations that found no free VU (never sent late)
    max_vus: int            #: most VUs running at once
    vus_made: int           #: arrival rate: VUs made (pre-allocated + grown)
    requests: int
    failures: int
    errors: int
    histograms: dict        #: {"response": request times, "iteration": iteration durations,
                            #:  "lateness": arrival rate: actual start - due start} of hist.Histogram (ns)
    steps: tuple            #: StepResults, in ScenarioSpec.stats order
    seconds: tuple          #: ScenarioSecond, in order, one per second from its start to its end


class ScenarioSnapshot(NamedTuple):
    """A scenario's live state (FlowEngine.scenario_snapshot())."""
    name: str
    state: str              #: "waiting", "running", "stopping" (graceful stop), "done"
    vus: int                #: VUs in an iteration now
    target_vus: int         #: VUs the executor wants now (arrival rate: the pool's size)
    iterations: int         #: completed so far
    dropped: int
    requests: int
    failures: int
