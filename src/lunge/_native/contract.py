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
# answer; "aborted": still in flight when the run ended.  Keys of EngineResults.error_classes.
ERROR_CLASSES = ("connection_refused", "timeout", "dns", "tls", "connection_reset", "connection_closed",
                 "invalid_response", "too_many_redirects", "other", "aborted")

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
