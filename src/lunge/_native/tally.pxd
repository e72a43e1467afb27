# What Engine (engine.pyx) and FlowEngine (flow.pyx) count for Python, the same way: the live
# counters snapshot() reads, the ring of seconds harvest() takes, and the run's totals results()
# hands over (contract.py's Snapshot, HarvestedSecond and EngineResults).  cdef inline, as
# xfer.pxd: compiled into each engine, so count() and ring_roll(), on the per-request path, cost
# what the engines' own methods did.  What only one engine counts (the Engine's warmup, the flow
# engine's scenarios and request names) stays in that engine.
from libc.stdint cimport uint64_t, int64_t
from libc.stdlib cimport free
from libc.string cimport strncpy

from lunge._native.curl cimport CURL_ERROR_SIZE
from lunge._native.xfer cimport NCLASSES, NVERSIONS
from lunge._native.hist cimport take_sparse, lunge_hist, lh_new, lh_reset_stats
from lunge._native.system cimport la_get, la_bump, la_get_int, la_set_int

# Array sizes.  Index enums follow contract.py's name tuples (each engine checks at import).
cdef enum:
    RING = 8            # per-second slots between the engine and Python's harvest
    NSTATUS = 600       # status_counts: one per HTTP status 0..599 (0: outside 100..599)
    NCURLCODES = 128    # curl_codes: one per CURLcode, the last one for 127 and above
    NSTATUS_CLASSES = 6

# Status classes, by index (contract.STATUS_CLASSES): transport error, then status // 100.
cdef enum:
    SC_ERROR, SC_1XX, SC_2XX, SC_3XX, SC_4XX, SC_5XX

# Second.state, who owns a ring slot: free (the engine may reuse it), open (the engine
# writes it), closed (Python reads it).  An engine's state: its run.  Both start at 0: Cython
# zeroes a new engine object.
cdef enum:
    SLOT_FREE, SLOT_OPEN, SLOT_CLOSED
cdef enum:
    ENGINE_NEW, ENGINE_RUNNING, ENGINE_DONE


cdef struct Second:
    int state           # SLOT_FREE, SLOT_OPEN (engine writes), SLOT_CLOSED (Python may read)
    int64_t sec
    int64_t last_sec    # > sec only when Python fell behind and seconds were merged
    uint64_t requests
    uint64_t failures
    uint64_t errors
    uint64_t bytes
    uint64_t status[NSTATUS_CLASSES]  # by SC_*: transport errors, then 1xx..5xx
    lunge_hist *hist


cdef struct Ring:       # the seconds handed to Python's harvest()
    Second s[RING]
    int cur             # the open one
    uint64_t next_boundary
    uint64_t overruns   # seconds folded into the open one (Python fell behind)


cdef struct Times:      # the run's times (lunge_now_ns()), but wall0
    uint64_t t0         # the loop's start
    int64_t wall0       # the wall clock then (CLOCK_REALTIME, ns since the epoch)
    uint64_t first_send # the first measured request's (due) send; 0: none
    uint64_t issue_end  # issuing ended (its limit, stop() or abort); 0: not yet
    uint64_t completed_at_issue_end
    uint64_t t_end      # the loop's end


cdef struct Live:       # one writer (the engine), read live by snapshot()
    uint64_t issued
    uint64_t warm_completed   # the Engine's warmup (the flow engine has none: 0)
    uint64_t completed
    uint64_t failures
    uint64_t errors
    uint64_t bytes
    uint64_t in_flight
    uint64_t connections
    uint64_t status[NSTATUS_CLASSES]
    uint64_t versions[NVERSIONS]   # responses by HTTP version (HTTP_VERSIONS)


cdef struct Totals:     # the run's tables, read by results() once the run is over
    uint64_t status_counts[NSTATUS]
    uint64_t curl_codes[NCURLCODES]
    uint64_t class_counts[NCLASSES]
    char samples[NCLASSES][CURL_ERROR_SIZE]   # libcurl's message for each class's first error


# ---------------------------------------------------------------- the engine's side (nogil)
cdef inline int ring_alloc(Ring *r) noexcept nogil:
    # The seconds' histograms; -1: out of memory (ring_free frees what was made).
    for i in range(RING):
        r.s[i].hist = lh_new()
        if r.s[i].hist == NULL:
            return -1
    return 0


cdef inline void ring_free(Ring *r) noexcept nogil:
    for i in range(RING):
        free(r.s[i].hist)


cdef inline void ring_start(Ring *r, uint64_t t0) noexcept nogil:
    r.next_boundary = t0 + 1000000000
    r.cur = 0
    r.s[0].sec = 0
    r.s[0].last_sec = 0
    r.s[0].state = SLOT_OPEN


cdef inline void ring_roll(Ring *r, uint64_t t0, uint64_t now) noexcept nogil:
    # Close the open second and open the next ring slot, if Python has freed it.
    if now < r.next_boundary:
        return
    cdef int64_t sec = <int64_t>((now - t0) // 1000000000)
    cdef int nxt = (r.cur + 1) % RING
    r.next_boundary = t0 + <uint64_t>(sec + 1) * 1000000000
    if la_get_int(&r.s[nxt].state) != SLOT_FREE:
        r.overruns += 1          # Python is behind: this second absorbs the next
        r.s[r.cur].last_sec = sec
        return
    la_set_int(&r.s[r.cur].state, SLOT_CLOSED)
    cdef Second *s = &r.s[nxt]
    s.sec = sec
    s.last_sec = sec
    s.requests = s.failures = s.errors = s.bytes = 0
    for i in range(NSTATUS_CLASSES):
        s.status[i] = 0
    lh_reset_stats(s.hist)   # harvest() zeroed the counters it read
    s.state = SLOT_OPEN
    r.cur = nxt


cdef inline void ring_end(Ring *r) noexcept nogil:
    # The run is over: Python may take the last second.
    la_set_int(&r.s[r.cur].state, SLOT_CLOSED)


cdef inline void end_issuing(Times *t, Live *live, uint64_t now) noexcept nogil:
    # No more requests will be issued (once: the first call counts).
    if t.issue_end == 0:
        t.issue_end = now
        t.completed_at_issue_end = la_get(&live.completed)


cdef inline void count(Second *sec, Live *live, int sclass, bint failed, uint64_t nbytes) noexcept nogil:
    # One measured request completed, answered or not, into the open second and the live counters.
    sec.requests += 1
    sec.bytes += nbytes
    sec.status[sclass] += 1
    la_bump(&live.completed, 1)
    la_bump(&live.bytes, nbytes)
    la_bump(&live.status[sclass], 1)
    if failed:
        sec.failures += 1
        la_bump(&live.failures, 1)
    if sclass == SC_ERROR:
        sec.errors += 1
        la_bump(&live.errors, 1)


cdef inline void keep_sample(char *sample, const char *msg) noexcept nogil:
    # A class's first message is its sample (sample: CURL_ERROR_SIZE bytes, zeroed).
    if sample[0] == 0:
        strncpy(sample, msg, CURL_ERROR_SIZE - 1)


cdef inline void failure(Totals *t, int cls, int code, const char *msg) noexcept nogil:
    # A transport error of class cls (C_*); code: its CURLcode, or -1 (not libcurl's: aborted, not sent).
    t.class_counts[cls] += 1
    if code >= 0:
        t.curl_codes[code if code < NCURLCODES else NCURLCODES - 1] += 1
    keep_sample(t.samples[cls], msg)


# ---------------------------------------------------------------- Python's side (a few times a second)
# (A .pxd holds no Python import at module level: contract's names are imported in the functions
# that use them, a look-up in sys.modules per call.)
cdef inline object live_snapshot(Live *live, uint64_t now, uint64_t t0):
    from lunge._native.contract import Snapshot
    return Snapshot(
        elapsed_s=(now - t0) / 1e9 if t0 else 0.0,
        issued=la_get(&live.issued),
        completed=la_get(&live.completed),
        failures=la_get(&live.failures),
        errors=la_get(&live.errors),
        bytes=la_get(&live.bytes),
        in_flight=la_get(&live.in_flight),
        connections=la_get(&live.connections),
        warmup_completed=la_get(&live.warm_completed),
        status_classes=tuple([la_get(&live.status[i]) for i in range(NSTATUS_CLASSES)]),
        versions=tuple([la_get(&live.versions[i]) for i in range(NVERSIONS)]),
    )


cdef inline list ring_harvest(Ring *r):
    # The closed seconds (contract.HarvestedSecond, in order), each with its histogram in sparse
    # form; their slots go back to the engine.
    from lunge._native.contract import HarvestedSecond
    out = []
    cdef Second *s
    for i in range(RING):
        s = &r.s[i]
        if la_get_int(&s.state) != SLOT_CLOSED:
            continue
        out.append(HarvestedSecond(
            sec=s.sec, last_sec=s.last_sec, requests=s.requests,
            failures=s.failures, errors=s.errors, bytes=s.bytes,
            status_classes=tuple([s.status[k] for k in range(NSTATUS_CLASSES)]),
            hist=take_sparse(s.hist),
        ))
        la_set_int(&s.state, SLOT_FREE)
    out.sort(key=lambda d: d.sec)
    return out


cdef inline dict samples_dict(char (*samples)[CURL_ERROR_SIZE], object via):
    # {ERROR_CLASSES name: first message}; via: the engine's own-pool route, taken out of libcurl's words.
    from lunge._native.contract import ERROR_CLASSES
    return {ERROR_CLASSES[i]: via.sub("", samples[i].decode(errors="replace"))
            for i in range(NCLASSES) if samples[i][0]}


cdef inline dict totals(Times *tm, Live *live, Totals *t, Ring *r, object via):
    # What both engines hand over alike in contract.EngineResults (keyword arguments), once the
    # run is over; via: as samples_dict's.
    from lunge._native.contract import ERROR_CLASSES, HTTP_VERSIONS
    return dict(
        wall_start_ns=tm.wall0,
        elapsed_ns=tm.t_end - tm.t0,
        first_send_ns=tm.first_send - tm.t0 if tm.first_send else 0,
        issue_end_ns=tm.issue_end - tm.t0,
        completed_at_issue_end=tm.completed_at_issue_end,
        issued=live.issued,
        completed=live.completed,
        failures=live.failures,
        errors=live.errors,
        bytes=live.bytes,
        connections=live.connections,
        status_codes={i: t.status_counts[i] for i in range(NSTATUS) if t.status_counts[i]},
        http_versions={HTTP_VERSIONS[i]: live.versions[i] for i in range(NVERSIONS) if live.versions[i]},
        curl_codes={i: t.curl_codes[i] for i in range(NCURLCODES) if t.curl_codes[i]},
        error_classes={ERROR_CLASSES[i]: t.class_counts[i] for i in range(NCLASSES) if t.class_counts[i]},
        error_samples=samples_dict(t.samples, via),
        series_overruns=r.overruns,
    )
