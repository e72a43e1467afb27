"""The native flow engine: virtual users (VUs) run scenarios of requests in order, on one curl
multi handle driven by one OS thread, under k6-style executors.

Python builds a FlowEngine from contract.ScenarioSpec's (one set per worker), calls run() in a
thread (the whole loop runs with the GIL released), reads snapshot(), harvest() and
scenario_snapshot() while it runs, and results() / flow_results() once it has returned.  Nothing
in Python runs per request or per iteration, unless an extract or a check has a `fallback`
(a regex, a JSONPath that is not plain): that is the slow path, a call with the GIL per response.

Model (engine.pyx is the sibling this follows: its ring of seconds, live atomics, error classes
and resend guard, its timeouts without CURLOPT_TIMEOUT):
- one easy handle per VU, made when the VU first runs; connections come from libcurl's pool in
  the multi handle, shared by every VU (CURLMOPT_MAXCONNECTS: the VUs + 8;
  max_connections > 0 caps them with CURLMOPT_MAX_TOTAL_CONNECTIONS);
- a VU renders its step's URL, header lines and body (csrc/lunge_tmpl.h) into its own growable
  buffers, the header lines into curl_slist nodes it owns: no allocation per request once the
  buffers have grown; a step whose templates are all literal is prepared once at construction;
- on completion: times, counts, extracts (csrc/lunge_json.h) into the VU's variable table, checks,
  then the step's think time, the next step, the iteration's end, pacing, the next iteration;
- sleeping VUs (think time, pacing) sit in a min-heap by wake time: no per-VU scan per loop turn;
- per-request timeouts and iteration deadlines (iteration_timeout_s, ramp-down, ...) are enforced
  by a scan that runs when the earliest deadline passes (as Engine._expire).
"""
from cpython.ref cimport PyObject
from libc.math cimport isnan
from libc.stdint cimport uint64_t, int64_t, UINT64_MAX
from libc.stdlib cimport calloc, free, malloc, realloc, strtod
from libc.string cimport memcpy, memcmp, strncpy, strlen, strchr
from libc.stdio cimport snprintf

import math
import re

from lunge._native.curl cimport *
from lunge._native.xfer cimport *
from lunge._native.tally cimport *
from lunge._native.hist cimport Histogram, lunge_hist, lh_record, lh_add
from lunge._native.system cimport lunge_now_ns, lunge_wall_ns, lunge_fine_timer_slack, la_get, la_set, \
    la_bump, la_get_int, la_set_int

import numpy as np

from lunge._native.contract import (CHECK_CONDITIONS, CHECK_TYPES, ERROR_CLASSES, EXTRACT_SOURCES, FLOW_EXECUTORS,
                                    HISTOGRAMS, HTTP3_MODES, HTTP_VERSIONS, PHASES, STATUS_CLASSES, CheckCounts,
                                    EngineResults, ScenarioResults, ScenarioSecond, ScenarioSnapshot, StepResults)
from lunge._native.engine import EngineError
from lunge._native.flowkit import SEGMENTS


from lunge._native.flowc cimport *


cdef extern from * nogil:
    """
    #include <string.h>
    #if (defined(_MSC_VER) && !defined(__clang__)) || defined(LUNGE_TEST_MSVC_PATHS)
    #define strncasecmp _strnicmp  /* MSVC has no <strings.h> */
    #else
    #include <strings.h>
    #endif
    static inline const void *lunge_memmem(const void *h, size_t hl, const void *n, size_t nl) {
        if (nl == 0) return h;
        if (nl > hl) return NULL;
        const char *p = (const char *)h, *e = p + hl - nl;
        for (; p <= e; p++) {
            p = (const char *)memchr(p, *(const char *)n, (size_t)(e - p) + 1);
            if (!p) return NULL;
            if (memcmp(p, n, nl) == 0) return p;
        }
        return NULL;
    }
    """
    const void *lunge_memmem(const void *h, size_t hl, const void *n, size_t nl)
    int strncasecmp(const char *a, const char *b, size_t n)

FLOW_VERSION = "1"
cdef const char *EMPTY = ""
# A VU's own name for an origin (own pools); libcurl's messages say "... via NAME:PORT", which is
# lunge's plumbing, not the target's: taken out of the error samples.
cdef const char *OWN_PREFIX = "slot"
cdef const char *OWN_SUFFIX = ".lunge.invalid"
OWN_POOL_VIA = re.compile(r" via slot\d+x\d+\.lunge\.invalid:\d+")

cdef enum:
    MSG = 256               # a check's first failure message
    SCRATCH = 65536         # rendering a check's value, decoding a compared string
    MAX_BUF = 64 << 20      # a VU's render buffers grow up to this
    MAX_HEADERS_CAPTURE = 1 << 20

cdef enum:
    LATE_SEND_NS = 1000000

# Executors (contract.FLOW_EXECUTORS order), scenario states (ScenarioSnapshot.state).
cdef enum:
    X_CONST_VUS, X_RAMP_VUS, X_CAR, X_RAR, X_PER_VU, X_SHARED
cdef enum:
    SS_WAITING, SS_RUNNING, SS_STOPPING, SS_DONE
SCENARIO_STATES = ("waiting", "running", "stopping", "done")

# A VU: idle (not in an iteration, or in an arrival-rate pool), a request in flight, asleep
# (think time or pacing, in the heap), done (its iterations are over).
cdef enum:
    VU_IDLE, VU_FLIGHT, VU_SLEEP, VU_DONE
cdef enum:
    Z_THINK, Z_PACE

cdef enum:
    EX_BODY, EX_HEADER, EX_STATUS
cdef enum:
    CK_STATUS, CK_BODY, CK_HEADER, CK_DURATION
cdef enum:
    CO_EQ, CO_NE, CO_GT, CO_LT, CO_GTE, CO_LTE, CO_CONTAINS, CO_MATCHES

if (len(STATUS_CLASSES), len(ERROR_CLASSES), len(PHASES), len(HTTP_VERSIONS)) \
        != (NSTATUS_CLASSES, NCLASSES, NPHASES, NVERSIONS) \
        or FLOW_EXECUTORS[X_SHARED] != "shared-iterations" or EXTRACT_SOURCES[EX_STATUS] != "status" \
        or CHECK_TYPES[CK_DURATION] != "duration" or CHECK_CONDITIONS[CO_MATCHES] != "matches":
    raise ImportError("lunge._native.contract's names do not match the flow engine's arrays")


cdef struct Tmpl:
    lt_seg *segs
    int n
    int literal         # no segment but text: `text` is the whole, NUL-terminated
    const char *text
    size_t len


cdef struct Extract:
    int var
    int source
    int nsteps          # body: the compiled path's steps; -1: the whole body
    lj_step steps[LJ_MAX_STEPS]
    const char *name    # header: its name
    size_t namelen
    PyObject *fallback  # NULL: native


cdef struct Check:
    int type
    int cond
    int nsteps
    lj_step steps[LJ_MAX_STEPS]
    const char *name
    size_t namelen
    Tmpl value
    double number
    PyObject *fallback
    int counter         # index into FlowEngine.counts
    int own_label       # the label is the user's message: a failure's message is the label


cdef struct Step:
    int row             # global index of its metrics row
    int nobody          # HEAD
    int has_body
    const char *custom  # CURLOPT_CUSTOMREQUEST, or NULL
    Tmpl url
    Tmpl *hdr
    int nhdr
    int hdr_literal
    curl_slist *hdr_fixed
    Tmpl body
    uint64_t timeout_ns
    uint64_t think_ns
    Extract *ex
    int nex
    Check *ck
    int nck
    int needs_body
    int needs_headers


cdef struct Row:        # every request of one name in one scenario (StepResults)
    uint64_t requests
    uint64_t failures
    uint64_t errors
    uint64_t check_failures
    uint64_t bytes
    uint64_t extract_misses
    uint64_t status[NSTATUS]
    uint64_t classes[NCLASSES]
    char samples[NCLASSES][CURL_ERROR_SIZE]
    lunge_hist *hist


cdef struct CheckCount:
    uint64_t passed
    uint64_t failed
    char first[MSG]


cdef struct SecRow:
    uint64_t requests
    uint64_t failures
    uint64_t iterations
    uint64_t dropped
    uint64_t vus
    uint64_t sum_ns
    uint64_t max_ns


cdef struct ScenLive:   # one writer (the engine), read by scenario_snapshot()
    uint64_t active     # VUs in an iteration
    uint64_t target
    uint64_t iterations
    uint64_t dropped
    uint64_t requests
    uint64_t failures


cdef struct Scen:
    int kind
    int state           # SS_*, atomic
    int after_prev
    uint64_t start_ns   # relative: to the engine's start, or to the previous scenario's end
    uint64_t stop_ns    # relative to its own start
    uint64_t graceful_ns
    uint64_t start_abs  # 0: not known yet (after_prev)
    uint64_t t_start
    uint64_t stop_at
    uint64_t hard_stop
    uint64_t ended
    int nvus
    int vu_base         # its VUs are FlowEngine.vus[vu_base .. vu_base + nvus)
    int live_vus        # iteration executors: VUs not done
    # constant-vus / ramping-vus: the target, a step function of time
    double *vs_t
    int *vs_n
    int vs_len
    int vs_seg
    int target
    # arrival rate
    double *sch_t
    double *sch_n
    int sch_len
    int sch_seg
    uint64_t next_due   # UINT64_MAX: none
    uint64_t sched_j
    uint64_t sched_stride
    uint64_t sched_offset
    int made
    int *pool
    int npool
    # iterations
    uint64_t iterations
    uint64_t shared_left
    uint64_t iter_j
    uint64_t iter_stride
    uint64_t iter_offset
    uint64_t first_vu
    int pace_kind       # 0 none, 1 constant, 2 random
    uint64_t pace_a
    uint64_t pace_b
    uint64_t iter_timeout_ns
    int new_conns
    int any_headers
    int nvars
    const char **init_vals
    size_t *init_lens
    Step *steps
    int nsteps
    uint64_t seed
    long http_version
    # results
    uint64_t interrupted
    uint64_t errors
    uint64_t max_vus
    ScenLive live
    lunge_hist *h_resp
    lunge_hist *h_iter
    lunge_hist *h_late
    lunge_hist *h_wake  # think time and pacing: how late sleeping VUs woke
    SecRow *secs
    int64_t nsecs       # rows allocated (by engine second)
    int64_t vus_filled  # seconds whose `vus` is set
    uint64_t sec_peak   # the most VUs in an iteration at once since the open second began


cdef struct VU:
    CURL *easy
    curl_slist *route   # own pool: CURLOPT_CONNECT_TO each origin to this VU's own names ...
    curl_slist *pin     # ... and CURLOPT_RESOLVE of those names (with the run's pins)
    int scen
    int local
    int state
    int in_iter
    int step
    int last_step       # the step the easy handle is set up for (-1: none)
    int retire          # ramping down: no new iteration after this one
    int heap_pos        # -1: not in the heap
    int sleep_kind
    int want_body
    int want_headers
    int opened
    int sent            # this step's request went out (0: its templates did not render)
    const char *custom
    uint64_t iteration
    uint64_t iters_done
    uint64_t iter_start
    uint64_t sent_ns
    uint64_t req_deadline   # UINT64_MAX: none
    uint64_t iter_deadline  # UINT64_MAX: none
    uint64_t wake_ns
    uint64_t body_bytes
    uint64_t rng
    long sent_hdr
    long sent_req
    char *url
    size_t url_cap
    char *hbuf
    size_t hbuf_cap
    size_t *hoff
    curl_slist *hnodes
    char *bbuf
    size_t bbuf_cap
    char *body          # the response body, captured when a step needs it (up to body_cap)
    size_t body_len
    size_t body_cap
    char *hdrs          # the last response's header lines, captured when a step needs them
    size_t hdrs_len
    size_t hdrs_cap
    char **vals         # the variable table
    size_t *lens
    size_t *caps
    char errbuf[CURL_ERROR_SIZE]


cdef size_t _write(char *ptr, size_t size, size_t nmemb, void *userdata) noexcept nogil:
    cdef VU *v = <VU *>userdata
    cdef size_t n = size * nmemb, room, cap
    cdef char *b
    v.body_bytes += n
    if v.want_body and n:
        room = <size_t>v.want_body - v.body_len if <size_t>v.want_body > v.body_len else 0  # want_body: the cap
        if n < room:
            room = n
        if room:
            if v.body_len + room > v.body_cap:
                cap = v.body_cap * 2 if v.body_cap else 4096
                while cap < v.body_len + room:
                    cap *= 2
                b = <char *>realloc(v.body, cap)
                if b == NULL:
                    return n
                v.body = b
                v.body_cap = cap
            memcpy(v.body + v.body_len, ptr, room)
            v.body_len += room
    return n


cdef size_t _header(char *ptr, size_t size, size_t nitems, void *userdata) noexcept nogil:
    # Header lines of every response of the transfer: a status line starts the last one over.
    cdef VU *v = <VU *>userdata
    cdef size_t n = size * nitems, cap
    cdef char *b
    if not v.want_headers:
        return n
    if n >= 5 and memcmp(ptr, b"HTTP/", 5) == 0:
        v.hdrs_len = 0
    if v.hdrs_len + n > MAX_HEADERS_CAPTURE:
        return n
    if v.hdrs_len + n > v.hdrs_cap:
        cap = v.hdrs_cap * 2 if v.hdrs_cap else 2048
        while cap < v.hdrs_len + n:
            cap *= 2
        b = <char *>realloc(v.hdrs, cap)
        if b == NULL:
            return n
        v.hdrs = b
        v.hdrs_cap = cap
    memcpy(v.hdrs + v.hdrs_len, ptr, n)
    v.hdrs_len += n
    return n


cdef int _opened(void *clientp, curl_socket_t fd, int purpose) noexcept nogil:
    (<VU *>clientp).opened += 1
    return CURL_SOCKOPT_OK


cdef int _prereq(void *clientp, char *ip, char *local_ip, int port, int local_port) noexcept nogil:
    cdef VU *v = <VU *>clientp
    return prereq_guard(v.easy, &v.sent_hdr, &v.sent_req)


cdef inline int _find_header(const char *hdrs, size_t len, const char *name, size_t namelen,
                             const char **out, size_t *outlen) noexcept nogil:
    # The value of header `name` (case-insensitive) in the captured lines; 0 if absent.
    cdef size_t i = 0, j, e
    while i < len:
        j = i
        while j < len and hdrs[j] != b'\n':
            j += 1
        # line hdrs[i..j)
        if j - i > namelen and hdrs[i + namelen] == b':' and strncasecmp(hdrs + i, name, namelen) == 0:
            e = j
            while e > i + namelen + 1 and (hdrs[e - 1] == b'\r' or hdrs[e - 1] == b' ' or hdrs[e - 1] == b'\t'):
                e -= 1
            j = i + namelen + 1
            while j < e and (hdrs[j] == b' ' or hdrs[j] == b'\t'):
                j += 1
            out[0] = hdrs + j
            outlen[0] = e - j
            return 1
        i = j + 1
    return 0


cdef inline uint64_t _splitmix(uint64_t x) noexcept nogil:
    x += 0x9E3779B97F4A7C15ULL
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL
    return x ^ (x >> 31)


cdef const char *NOT_SET = b"not sent: a variable of the request's templates is not set (an earlier extract found nothing)"
cdef const char *UNSAFE_HEADER = (b"not sent: a header rendered with a CR, LF or NUL, or with a name that is not "
                                  b"an HTTP token (from an extracted value)")
cdef const char *UNSAFE_URL = b"not sent: the URL rendered with a control character (from an extracted value)"


cdef inline bint _tchar(unsigned char ch) noexcept nogil:
    # RFC 9110's token characters: what a header name is made of
    return ((97 <= ch <= 122) or (65 <= ch <= 90) or (48 <= ch <= 57)
            or (ch != 0 and strchr(b"!#$%&'*+-.^_`|~", ch) != NULL))


cdef inline bint _unsafe(const char *p, size_t n, bint url) noexcept nogil:
    # What lunge never puts on the wire (as lunge/wire.py): CR, LF, NUL in a header line, or a
    # name (up to the first ':') that is empty or not a token; any control character in a URL.
    cdef size_t i
    cdef unsigned char ch
    cdef bint in_name = not url
    for i in range(n):
        ch = <unsigned char>p[i]
        if ch == 13 or ch == 10 or ch == 0 or (url and (ch < 32 or ch == 127)):
            return True
        if in_name:
            if ch == 58:  # ':'
                if i == 0:
                    return True
                in_name = False
            elif not _tchar(ch):
                return True
    return in_name


def load_libcurl(str path):
    """dlopen libcurl into this module's function table (lunge.libcurl.load() calls it after
    engine.load_libcurl: the same instance, its allocator already chosen)."""
    cdef char err[512]
    cdef bytes p = path.encode()
    if lunge_curl_load(p, err, sizeof(err)) != 0:
        raise EngineError(err.decode(errors="replace"))


cdef class FlowEngine:
    """Scenarios of flows on one loop. Construct with contract.ScenarioSpec's, run() once (in a
    thread), stop()/abort() from any thread, results() and flow_results() after run() returns."""

    cdef CURLM *multi
    cdef Scen *sc
    cdef int nsc
    cdef VU *vus
    cdef int nvus
    cdef Row *rows
    cdef int nrows
    cdef CheckCount *counts
    cdef int ncounts
    cdef int *heap
    cdef int nheap
    cdef curl_slist *resolve
    cdef char **pool_host       # own pools: each origin's host (IPv6 in brackets), port and address
    cdef int *pool_port
    cdef char **pool_addr
    cdef int npools
    cdef bint own               # VUs use own pools (HTTP/1.x; no connection cap below the VUs)
    cdef bint quic              # --http3 / --http3-fallback: transfers may go over QUIC
    cdef object keep
    cdef object py_rows          # per scenario: [(name, Histogram, [(label, counter)])]
    cdef object py_scen_hists    # per scenario: {name: Histogram}
    cdef object hists
    cdef object names
    cdef object executors
    cdef uint64_t grace_ns
    cdef Times times
    cdef uint64_t stop_seen      # when stop() was seen (0: not)
    cdef uint64_t next_expiry
    cdef uint64_t reused
    cdef uint64_t late_sends
    cdef uint64_t max_lag
    cdef uint64_t body_cap
    cdef Live live
    cdef Ring ring
    cdef int stop_flag
    cdef int abort_flag
    cdef int state
    cdef CURLMcode fatal
    cdef lunge_hist *phase[NPHASES]
    cdef lunge_hist *h_response
    cdef lunge_hist *h_service
    cdef lunge_hist *h_lag
    cdef Totals totals
    cdef char *scratch           # SCRATCH bytes: a check's rendered value
    cdef char *scratch2          # SCRATCH bytes: a decoded string, a number's text
    cdef char *decoded           # a check's decoded JSON string, grown to the longest (<= body_cap)
    cdef size_t decoded_cap
    cdef curl_waitfd *wfds
    cdef unsigned int wfds_cap
    # easy-handle options, kept in self.keep
    cdef int o_insecure
    cdef const char *o_cacert
    cdef const char *o_cert
    cdef const char *o_key
    cdef long long o_max_body
    cdef long o_connect_ms

    def __cinit__(self):
        self.multi = NULL
        self.sc = NULL
        self.vus = NULL
        self.rows = NULL
        self.counts = NULL
        self.heap = NULL
        self.resolve = NULL
        self.scratch = self.scratch2 = self.decoded = NULL
        self.decoded_cap = 0
        self.wfds = NULL
        self.nsc = self.nvus = self.nrows = 0

    def __init__(self, *, list scenarios, bint insecure=False, bint http2=False, str http3=None, resolve=(),
                 str cacert=None,
                 str cert=None, str key=None, long long max_body=0, double connect_timeout=0.0, double grace=5.0,
                 int max_connections=0, long long body_cap=1 << 20, own_pools=()):
        """scenarios: contract.ScenarioSpec, run on one multi handle; the totals (snapshot(),
        harvest(), results()) cover all of them.  grace: after stop(), the longest the run goes
        on (each scenario's own graceful_stop_s applies within it).  body_cap: response bytes a
        VU keeps for its extracts and checks (the rest is counted, not kept).  http3: None, "only"
        or "fallback" (contract.HTTP3_MODES; Engine's)."""
        if LC.dl == NULL:
            raise EngineError("libcurl is not loaded: call lunge.libcurl.load() first")
        if not scenarios:
            raise ValueError("a FlowEngine needs at least one scenario")
        if http3 is not None and http3 not in HTTP3_MODES:
            raise ValueError(f"http3: {http3!r} is not one of {', '.join(HTTP3_MODES)}")
        self.quic = http3 is not None
        self.keep = []
        self.hists = {}
        self.grace_ns = <uint64_t>(max(grace, 0.0) * 1e9)
        self.body_cap = <uint64_t>max(body_cap, 0)
        self.next_expiry = UINT64_MAX
        self.o_insecure = insecure
        self.o_cacert = self._cstr(cacert) if cacert else NULL
        self.o_cert = self._cstr(cert) if cert else NULL
        self.o_key = self._cstr(key) if key else NULL
        self.o_max_body = max_body
        # (a C long is 32 bits on Windows: past 24.8 days, as good as no limit)
        self.o_connect_ms = <long>min(connect_timeout * 1000, 2147483647.0) if connect_timeout > 0 else 0
        cdef Histogram hobj
        cdef int i
        # As Engine's, but sendJitter (3) stays empty: no request here has a scheduled send of its own.
        for i, name in enumerate(HISTOGRAMS):
            hobj = Histogram()
            self.hists[name] = hobj
            if i == 0:
                self.h_response = hobj.h
            elif i == 1:
                self.h_service = hobj.h
            elif i == 2:
                self.h_lag = hobj.h
            elif i >= 4:
                self.phase[i - 4] = hobj.h
        if ring_alloc(&self.ring) < 0:
            raise MemoryError()
        self.scratch = <char *>malloc(SCRATCH)
        self.scratch2 = <char *>malloc(SCRATCH)
        if self.scratch == NULL or self.scratch2 == NULL:
            raise MemoryError()
        for r in resolve:
            self.resolve = LC.slist_append(self.resolve, self._cstr(r))
        self._set_pools(list(own_pools or ()))

        self.nsc = len(scenarios)
        self.sc = <Scen *>calloc(self.nsc, sizeof(Scen))
        if self.sc == NULL:
            raise MemoryError()
        self.names = [s.name for s in scenarios]
        self.executors = [s.executor for s in scenarios]
        total_vus = sum(max(int(s.vus), 0) for s in scenarios)
        nrows = sum(len(s.stats) for s in scenarios)
        self.nvus = total_vus
        self.nrows = nrows
        self.vus = <VU *>calloc(max(total_vus, 1), sizeof(VU))
        self.heap = <int *>calloc(max(total_vus, 1), sizeof(int))
        self.rows = <Row *>calloc(max(nrows, 1), sizeof(Row))
        if self.vus == NULL or self.heap == NULL or self.rows == NULL:
            raise MemoryError()
        self.py_rows = []
        self.py_scen_hists = []
        labels_total = []
        cdef int vu_base = 0, row_base = 0, k
        cdef VU *v
        for i, spec in enumerate(scenarios):
            self._scenario(i, spec, vu_base, row_base, labels_total, http2, http3)
            for k in range(self.sc[i].nvus):
                v = &self.vus[vu_base + k]
                v.scen = i
                v.local = k
                v.heap_pos = -1
                v.last_step = -1
                v.req_deadline = UINT64_MAX
                v.iter_deadline = UINT64_MAX
                v.rng = _splitmix(<uint64_t>spec.seed ^ _splitmix(<uint64_t>(self.sc[i].first_vu + k))) or 1
            vu_base += self.sc[i].nvus
            row_base += len(spec.stats)
        self.ncounts = len(labels_total)
        self.counts = <CheckCount *>calloc(max(self.ncounts, 1), sizeof(CheckCount))
        if self.counts == NULL:
            raise MemoryError()

        self.multi = LC.multi_init()
        if self.multi == NULL:
            raise EngineError("curl_multi_init failed")
        conns = max_connections if max_connections > 0 else total_vus
        # With a cap below the VUs, connections must be shared (each VU cannot keep its own);
        # the pool libcurl scans is then at most the cap.
        self.own = not (http2 or self.quic) and (max_connections <= 0 or total_vus <= max_connections)
        lc_multi_setopt_long(self.multi, CURLMOPT_MAXCONNECTS, conns + 8)
        if max_connections > 0:
            lc_multi_setopt_long(self.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max_connections)
        lc_multi_setopt_long(self.multi, CURLMOPT_PIPELINING,
                             CURLPIPE_MULTIPLEX if http2 or self.quic else CURLPIPE_NOTHING)
        self.wfds_cap = conns + 32
        self.wfds = <curl_waitfd *>calloc(self.wfds_cap, sizeof(curl_waitfd))
        if self.wfds == NULL:
            raise MemoryError()

    # ------------------------------------------------------------------ construction
    cdef _scenario(self, int i, spec, int vu_base, int row_base, list labels_total, bint http2, str http3):
        cdef Scen *s = &self.sc[i]
        cdef Histogram hr = Histogram(), hi = Histogram(), hl = Histogram(), hw = Histogram()
        if spec.executor not in FLOW_EXECUTORS:
            raise ValueError(f"scenario {spec.name!r}: unknown executor {spec.executor!r}")
        s.kind = FLOW_EXECUTORS.index(spec.executor)
        s.state = SS_WAITING
        s.after_prev = bool(spec.after_previous) and i > 0
        s.start_ns = <uint64_t>(max(spec.start_s, 0.0) * 1e9)
        s.stop_ns = <uint64_t>(max(spec.stop_s, 0.0) * 1e9)
        s.graceful_ns = <uint64_t>(max(spec.graceful_stop_s, 0.0) * 1e9)
        s.nvus = max(int(spec.vus), 0)
        s.vu_base = vu_base
        s.hard_stop = UINT64_MAX
        s.next_due = UINT64_MAX
        s.first_vu = spec.first_vu
        s.iter_stride = max(int(spec.iteration_stride), 1)
        s.iter_offset = max(int(spec.iteration_offset), 0)
        s.sched_stride = max(int(spec.schedule_stride), 1)
        s.sched_offset = max(int(spec.schedule_offset), 0)
        s.iterations = max(int(spec.iterations), 0)
        s.iter_timeout_ns = <uint64_t>(spec.iteration_timeout_s * 1e9) if spec.iteration_timeout_s > 0 else 0
        s.new_conns = bool(spec.new_connections)
        s.seed = spec.seed
        kind, a, b = spec.pacing
        s.pace_kind = ("none", "constant", "random").index(kind)
        s.pace_a = <uint64_t>(max(a, 0.0) * 1e9)
        s.pace_b = <uint64_t>(max(b, a, 0.0) * 1e9)
        s.h_resp, s.h_iter, s.h_late, s.h_wake = hr.h, hi.h, hl.h, hw.h
        self.py_scen_hists.append({"response": hr, "iteration": hi, "lateness": hl, "wake": hw})
        if s.kind in (X_CONST_VUS, X_RAMP_VUS):
            steps = list(spec.vu_steps) or [(0.0, s.nvus)]
            s.vs_len = len(steps)
            s.vs_t = <double *>calloc(s.vs_len, sizeof(double))
            s.vs_n = <int *>calloc(s.vs_len, sizeof(int))
            if s.vs_t == NULL or s.vs_n == NULL:
                raise MemoryError()
            for k, (t, n) in enumerate(steps):
                s.vs_t[k] = float(t) * 1e9
                s.vs_n[k] = min(max(int(n), 0), s.nvus)
        elif s.kind in (X_CAR, X_RAR):
            if spec.schedule is None:
                raise ValueError(f"scenario {spec.name!r}: an arrival-rate executor needs a schedule")
            ts, ns = (np.ascontiguousarray(x, dtype=np.float64) for x in spec.schedule)
            if len(ts) < 2 or len(ts) != len(ns) or np.any(np.diff(ts) < 0) or np.any(np.diff(ns) < 0) \
                    or ts[0] != 0 or ns[0] != 0:
                raise ValueError("schedule: need increasing (seconds, cumulative) arrays from (0, 0)")
            s.sch_len = len(ts)
            s.sch_t = <double *>calloc(s.sch_len, sizeof(double))
            s.sch_n = <double *>calloc(s.sch_len, sizeof(double))
            s.pool = <int *>calloc(max(s.nvus, 1), sizeof(int))
            if s.sch_t == NULL or s.sch_n == NULL or s.pool == NULL:
                raise MemoryError()
            for k in range(s.sch_len):
                s.sch_t[k] = ts[k] * 1e9
                s.sch_n[k] = ns[k]
            s.made = min(max(int(spec.pre_allocated), 0), s.nvus)
        # the variable table's start values
        s.nvars = spec.nvars
        if len(spec.initial) != spec.nvars:
            raise ValueError(f"scenario {spec.name!r}: initial has {len(spec.initial)} values for {spec.nvars} variables")
        s.init_vals = <const char **>calloc(max(s.nvars, 1), sizeof(char *))
        s.init_lens = <size_t *>calloc(max(s.nvars, 1), sizeof(size_t))
        if s.init_vals == NULL or s.init_lens == NULL:
            raise MemoryError()
        for k, val in enumerate(spec.initial):
            if val is not None:
                self.keep.append(val)
                s.init_vals[k] = <const char *>(<bytes>val)
                s.init_lens[k] = len(val)
        # metrics rows and their checks' counters
        rows = []
        for k, name in enumerate(spec.stats):
            hobj = Histogram()
            self.rows[row_base + k].hist = hobj.h
            rows.append((name, hobj, {}))
        self.py_rows.append(rows)
        s.nsteps = len(spec.steps)
        if s.nsteps == 0:
            raise ValueError(f"scenario {spec.name!r} has no requests")
        s.steps = <Step *>calloc(s.nsteps, sizeof(Step))
        if s.steps == NULL:
            raise MemoryError()
        first_url = "".join(seg[1] for seg in spec.steps[0].url[:1] if seg[0] == "lit").lower()
        s.http_version = CURL_HTTP_VERSION_1_1
        if http3 is not None:
            s.http_version = CURL_HTTP_VERSION_3ONLY if http3 == "only" else CURL_HTTP_VERSION_3
        elif http2:
            s.http_version = CURL_HTTP_VERSION_2TLS if first_url.startswith("https:") \
                else CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
        for k, st in enumerate(spec.steps):
            self._step(&s.steps[k], st, row_base, rows, labels_total, s.nvars)
            if st.needs_headers:
                s.any_headers = 1

    cdef _step(self, Step *p, st, int row_base, list rows, list labels_total, int nvars):
        if not 0 <= st.stat < len(rows):
            raise ValueError(f"request {st.name!r}: stat {st.stat} is not a row of stats")
        p.row = row_base + st.stat
        method = st.method.upper()
        p.nobody = method == "HEAD"
        p.has_body = st.body is not None
        # a body makes libcurl send a POST: any other method with a body (GET too) is named
        if (method not in ("GET", "HEAD") and not (method == "POST" and p.has_body)) or (method == "GET" and p.has_body):
            p.custom = self._cstr(method)
        self._tmpl(&p.url, st.url, nvars)
        p.nhdr = len(st.headers)
        p.hdr = <Tmpl *>calloc(max(p.nhdr, 1), sizeof(Tmpl))
        if p.hdr == NULL:
            raise MemoryError()
        p.hdr_literal = 1
        for j, h in enumerate(st.headers):
            self._tmpl(&p.hdr[j], h, nvars)
            if not p.hdr[j].literal:
                p.hdr_literal = 0
        if p.hdr_literal:
            for j in range(p.nhdr):
                p.hdr_fixed = LC.slist_append(p.hdr_fixed, p.hdr[j].text)
                if p.hdr_fixed == NULL:
                    raise MemoryError()
        if p.has_body:
            self._tmpl(&p.body, st.body, nvars)
        p.timeout_ns = <uint64_t>(st.timeout_s * 1e9) if st.timeout_s > 0 else 0
        p.think_ns = <uint64_t>(st.think_s * 1e9) if st.think_s > 0 else 0
        p.needs_body = bool(st.needs_body)
        p.needs_headers = bool(st.needs_headers)
        p.nex = len(st.extracts)
        p.ex = <Extract *>calloc(max(p.nex, 1), sizeof(Extract))
        p.nck = len(st.checks)
        p.ck = <Check *>calloc(max(p.nck, 1), sizeof(Check))
        if p.ex == NULL or p.ck == NULL:
            raise MemoryError()
        cdef Extract *x
        cdef Check *c
        for j, e in enumerate(st.extracts):
            x = &p.ex[j]
            if not 0 <= e.var < nvars:
                raise ValueError(f"request {st.name!r}: extract into variable {e.var} of {nvars}")
            x.var = e.var
            x.source = EXTRACT_SOURCES.index(e.source)
            x.nsteps = -1
            if e.fallback is not None:
                self.keep.append(e.fallback)
                x.fallback = <PyObject *>e.fallback
            elif x.source == EX_BODY and e.path is not None:
                x.nsteps = lj_compile(self._cstr(e.path), x.steps, LJ_MAX_STEPS)
                if x.nsteps < 0:
                    raise ValueError(f"extract {e.path!r} is not a plain path: it needs a fallback")
            elif x.source == EX_HEADER:
                x.name = self._cstr(e.path or "")
                x.namelen = len((e.path or "").encode())
        row_checks = rows[st.stat][2]
        for j, ck in enumerate(st.checks):
            c = &p.ck[j]
            c.type = CHECK_TYPES.index(ck.type)
            c.cond = CHECK_CONDITIONS.index(ck.condition)
            c.nsteps = -1
            c.number = ck.number if ck.number is not None else math.nan
            if ck.label not in row_checks:
                row_checks[ck.label] = len(labels_total)
                labels_total.append(ck.label)
            c.counter = row_checks[ck.label]
            c.own_label = not ck.label.startswith(ck.type + " ")
            self._tmpl(&c.value, ck.value or (), nvars)
            if ck.fallback is not None:
                self.keep.append(ck.fallback)
                c.fallback = <PyObject *>ck.fallback
            elif c.cond == CO_MATCHES:
                raise ValueError(f"check {ck.label!r}: 'matches' needs a fallback")
            elif c.type == CK_BODY and ck.path is not None:
                c.nsteps = lj_compile(self._cstr(ck.path), c.steps, LJ_MAX_STEPS)
                if c.nsteps < 0:
                    raise ValueError(f"check {ck.path!r} is not a plain path: it needs a fallback")
            elif c.type == CK_HEADER:
                c.name = self._cstr(ck.path or "")
                c.namelen = len((ck.path or "").encode())

    cdef _tmpl(self, Tmpl *t, segments, int nvars):
        cdef int n = len(segments), j
        t.n = n
        t.segs = <lt_seg *>calloc(max(n, 1), sizeof(lt_seg))
        if t.segs == NULL:
            raise MemoryError()
        t.literal = 1
        for j, seg in enumerate(segments):
            kind = seg[0]
            if kind == "lit":
                b = self._keep(seg[1])
                t.segs[j].kind = LT_LIT
                t.segs[j].text = b
                t.segs[j].len = len(b)
                continue
            t.literal = 0
            if kind not in SEGMENTS:
                raise ValueError(f"template segment {seg!r}")
            t.segs[j].kind = SEGMENTS[kind]
            t.segs[j].var = -1
            if kind == "var":
                if not 0 <= seg[1] < nvars:
                    raise ValueError(f"template variable {seg[1]} of {nvars}")
                t.segs[j].var = seg[1]
            elif kind == "randomInt":
                t.segs[j].lo, t.segs[j].hi = seg[1], seg[2]
        if t.literal:
            whole = self._keep("".join(seg[1] for seg in segments))
            t.text = whole
            t.len = len(whole)

    # _keep, _cstr: as Engine's (Python objects kept alive by each engine; two lines each).
    cdef bytes _keep(self, str text):
        cdef bytes b = text.encode()
        self.keep.append(b)
        return b

    cdef const char *_cstr(self, str text) except NULL:
        cdef bytes b = self._keep(text)
        return <const char *>b

    def __dealloc__(self):
        cdef int i, k, j
        cdef VU *v
        cdef Scen *s
        if self.vus != NULL:
            for i in range(self.nvus):
                v = &self.vus[i]
                if v.easy != NULL:
                    if v.state == VU_FLIGHT and self.multi != NULL:
                        LC.multi_remove_handle(self.multi, v.easy)
                    LC.easy_cleanup(v.easy)
                if v.route != NULL:
                    LC.slist_free_all(v.route)
                if v.pin != NULL:
                    LC.slist_free_all(v.pin)
                free(v.url)
                free(v.hbuf)
                free(v.hoff)
                free(v.hnodes)
                free(v.bbuf)
                free(v.body)
                free(v.hdrs)
                if v.vals != NULL:
                    for k in range(self.sc[v.scen].nvars):
                        free(v.vals[k])
                free(v.vals)
                free(v.lens)
                free(v.caps)
            free(self.vus)
        free(self.pool_host)
        free(self.pool_addr)
        free(self.pool_port)
        if self.multi != NULL:
            LC.multi_cleanup(self.multi)
        if self.sc != NULL:
            for i in range(self.nsc):
                s = &self.sc[i]
                free(s.vs_t)
                free(s.vs_n)
                free(s.sch_t)
                free(s.sch_n)
                free(s.pool)
                free(s.init_vals)
                free(s.init_lens)
                free(s.secs)
                if s.steps != NULL:
                    for k in range(s.nsteps):
                        free(s.steps[k].url.segs)
                        free(s.steps[k].body.segs)
                        if s.steps[k].hdr != NULL:
                            for j in range(s.steps[k].nhdr):
                                free(s.steps[k].hdr[j].segs)
                        free(s.steps[k].hdr)
                        if s.steps[k].hdr_fixed != NULL:
                            LC.slist_free_all(s.steps[k].hdr_fixed)
                        free(s.steps[k].ex)
                        if s.steps[k].ck != NULL:
                            for j in range(s.steps[k].nck):
                                free(s.steps[k].ck[j].value.segs)
                        free(s.steps[k].ck)
                    free(s.steps)
            free(self.sc)
        if self.resolve != NULL:
            LC.slist_free_all(self.resolve)
        ring_free(&self.ring)
        free(self.rows)
        free(self.counts)
        free(self.heap)
        free(self.scratch)
        free(self.scratch2)
        free(self.decoded)
        free(self.wfds)

    # ------------------------------------------------------------------ VUs
    cdef _set_pools(self, list pools):
        # own_pools: [(host, port, address)] of the origins the steps name.  Each VU then reaches
        # each origin through names of its own (CURLOPT_CONNECT_TO, pinned by CURLOPT_RESOLVE),
        # so its connections sit alone in libcurl's pool, as a k6 VU's do: libcurl otherwise tests
        # every pooled connection to the origin before it reuses one, work per request in
        # proportion to the VUs (10 000 VUs: a third of a millisecond).  Same bytes on the wire.
        cdef int i
        self.npools = len(pools)
        if not self.npools:
            return
        self.pool_host = <char **>calloc(self.npools, sizeof(char *))
        self.pool_addr = <char **>calloc(self.npools, sizeof(char *))
        self.pool_port = <int *>calloc(self.npools, sizeof(int))
        if self.pool_host == NULL or self.pool_addr == NULL or self.pool_port == NULL:
            raise MemoryError()
        for i, (host, port, addr) in enumerate(pools):
            self.pool_host[i] = <char *>self._cstr(f"[{host}]" if ":" in host else host)
            self.pool_addr[i] = <char *>self._cstr(f"[{addr}]" if ":" in addr else addr)
            self.pool_port[i] = port

    cdef int _own_pool(self, VU *v) noexcept nogil:
        cdef char line[600]
        cdef int k
        cdef long idx = v - self.vus
        cdef curl_slist *r = self.resolve
        cdef curl_slist *t
        for k in range(self.npools):
            snprintf(line, sizeof(line), "%s:%d:%s%ldx%d%s:%d", self.pool_host[k], self.pool_port[k],
                     OWN_PREFIX, idx, k, OWN_SUFFIX, self.pool_port[k])
            t = LC.slist_append(v.route, line)
            if t == NULL:
                return -1
            v.route = t
            snprintf(line, sizeof(line), "%s%ldx%d%s:%d:%s", OWN_PREFIX, idx, k, OWN_SUFFIX, self.pool_port[k],
                     self.pool_addr[k])
            t = LC.slist_append(v.pin, line)
            if t == NULL:
                return -1
            v.pin = t
        while r != NULL:  # the run's pins stay, for the origins' other ports (redirects)
            t = LC.slist_append(v.pin, r.data)
            if t == NULL:
                return -1
            v.pin = t
            r = r.next
        if lc_setopt_ptr(v.easy, CURLOPT_CONNECT_TO, v.route) != CURLE_OK:
            return -1
        return 0 if lc_setopt_ptr(v.easy, CURLOPT_RESOLVE, v.pin) == CURLE_OK else -1

    cdef int _vu_init(self, VU *v) noexcept nogil:
        # The VU's easy handle and buffers, made when it first runs.
        cdef Scen *s = &self.sc[v.scen]
        cdef CURL *e
        cdef int k, maxh = 1
        for k in range(s.nsteps):
            if s.steps[k].nhdr > maxh:
                maxh = s.steps[k].nhdr
        v.hoff = <size_t *>calloc(maxh, sizeof(size_t))
        v.hnodes = <curl_slist *>calloc(maxh, sizeof(curl_slist))
        v.vals = <char **>calloc(s.nvars if s.nvars else 1, sizeof(char *))
        v.lens = <size_t *>calloc(s.nvars if s.nvars else 1, sizeof(size_t))
        v.caps = <size_t *>calloc(s.nvars if s.nvars else 1, sizeof(size_t))
        if v.hoff == NULL or v.hnodes == NULL or v.vals == NULL or v.lens == NULL or v.caps == NULL:
            return -1
        for k in range(s.nvars):
            if s.init_vals[k] != NULL and self._setvar(v, k, s.init_vals[k], s.init_lens[k]) < 0:
                return -1
        e = v.easy = LC.easy_init()
        if e == NULL:
            return -1
        lc_setopt_write(e, _write)
        lc_setopt_ptr(e, CURLOPT_WRITEDATA, v)
        if s.any_headers:
            lc_setopt_header(e, _header)
            lc_setopt_ptr(e, CURLOPT_HEADERDATA, v)
        lc_setopt_ptr(e, CURLOPT_PRIVATE, v)
        lc_setopt_sockopt(e, _opened)
        lc_setopt_ptr(e, CURLOPT_SOCKOPTDATA, v)
        lc_setopt_prereq(e, _prereq)
        lc_setopt_ptr(e, CURLOPT_PREREQDATA, v)
        lc_setopt_ptr(e, CURLOPT_ERRORBUFFER, v.errbuf)
        lc_setopt_long(e, CURLOPT_NOSIGNAL, 1)
        lc_setopt_ptr(e, CURLOPT_PROXY, <const char *>"")
        lc_setopt_ptr(e, CURLOPT_NOPROXY, <const char *>"*")
        lc_setopt_long(e, CURLOPT_DNS_CACHE_TIMEOUT, -1)
        lc_setopt_long(e, CURLOPT_TCP_NODELAY, 1)
        lc_setopt_long(e, CURLOPT_HTTP_VERSION, s.http_version)
        if s.http_version != CURL_HTTP_VERSION_1_1:
            lc_setopt_long(e, CURLOPT_PIPEWAIT, 1)
        if self.npools and self.own:
            if self._own_pool(v) < 0:
                return -1
        elif self.resolve != NULL:
            lc_setopt_ptr(e, CURLOPT_RESOLVE, self.resolve)
        if self.o_max_body > 0:
            lc_setopt_off(e, CURLOPT_MAXFILESIZE_LARGE, self.o_max_body)
        if self.o_connect_ms > 0:
            lc_setopt_long(e, CURLOPT_CONNECTTIMEOUT_MS, self.o_connect_ms)
        if self.o_insecure:
            lc_setopt_long(e, CURLOPT_SSL_VERIFYPEER, 0)
            lc_setopt_long(e, CURLOPT_SSL_VERIFYHOST, 0)
        if self.o_cacert != NULL:
            lc_setopt_ptr(e, CURLOPT_CAINFO, self.o_cacert)
        if self.o_cert != NULL:
            lc_setopt_ptr(e, CURLOPT_SSLCERT, self.o_cert)
        if self.o_key != NULL:
            lc_setopt_ptr(e, CURLOPT_SSLKEY, self.o_key)
        return 0

    cdef inline int _setvar(self, VU *v, int i, const char *src, size_t n) noexcept nogil:
        cdef char *b
        if n + 1 > v.caps[i]:
            b = <char *>realloc(v.vals[i], n + 1 if n + 1 > 32 else 32)
            if b == NULL:
                return -1
            v.vals[i] = b
            v.caps[i] = n + 1 if n + 1 > 32 else 32
        memcpy(v.vals[i], src, n)
        v.lens[i] = n
        return 0

    cdef inline void _ctx(self, VU *v, lt_ctx *c, uint64_t now) noexcept nogil:
        cdef Scen *s = &self.sc[v.scen]
        c.vals = <const char *const *>v.vals
        c.lens = v.lens
        c.nvars = s.nvars
        c.iteration = v.iteration
        c.vu = s.first_vu + <uint64_t>v.local
        c.now_ms = <uint64_t>(self.times.wall0 // 1000000) + (now - self.times.t0) // 1000000
        c.rng = &v.rng

    cdef long _render(self, const Tmpl *t, const lt_ctx *c, char **buf, size_t *cap, size_t off) noexcept nogil:
        # The template at (*buf)[off..], NUL-terminated, growing the buffer; its length, or -1
        # when a variable is not set (or it would pass MAX_BUF).
        cdef long m
        cdef size_t ncap
        cdef char *b
        cdef int j
        while True:
            if cap[0] > off + 1:
                m = lt_render(t.segs, t.n, c, buf[0] + off, cap[0] - off - 1)
                if m >= 0:
                    buf[0][off + <size_t>m] = 0
                    return m
                for j in range(t.n):
                    if t.segs[j].kind == LT_VAR and (t.segs[j].var < 0 or c.vals[t.segs[j].var] == NULL):
                        return -1
            ncap = cap[0] * 2 if cap[0] else 256
            while ncap < off + 64:
                ncap *= 2
            if ncap > MAX_BUF:
                return -1
            b = <char *>realloc(buf[0], ncap)
            if b == NULL:
                return -1
            buf[0] = b
            cap[0] = ncap

    cdef void _heap_push(self, VU *v, uint64_t wake, int kind) noexcept nogil:
        cdef int i = self.nheap, p, id = <int>(v - self.vus)
        v.state = VU_SLEEP
        v.wake_ns = wake
        v.sleep_kind = kind
        self.nheap += 1
        while i > 0:
            p = (i - 1) // 2
            if self.vus[self.heap[p]].wake_ns <= wake:
                break
            self.heap[i] = self.heap[p]
            self.vus[self.heap[i]].heap_pos = i
            i = p
        self.heap[i] = id
        v.heap_pos = i

    cdef void _heap_remove(self, VU *v) noexcept nogil:
        cdef int i = v.heap_pos, last, c, p
        cdef uint64_t w
        if i < 0:
            return
        v.heap_pos = -1
        self.nheap -= 1
        if i == self.nheap:
            return
        last = self.heap[self.nheap]
        w = self.vus[last].wake_ns
        # sift up, then down
        while i > 0:
            p = (i - 1) // 2
            if self.vus[self.heap[p]].wake_ns <= w:
                break
            self.heap[i] = self.heap[p]
            self.vus[self.heap[i]].heap_pos = i
            i = p
        while True:
            c = 2 * i + 1
            if c >= self.nheap:
                break
            if c + 1 < self.nheap and self.vus[self.heap[c + 1]].wake_ns < self.vus[self.heap[c]].wake_ns:
                c += 1
            if self.vus[self.heap[c]].wake_ns >= w:
                break
            self.heap[i] = self.heap[c]
            self.vus[self.heap[i]].heap_pos = i
            i = c
        self.heap[i] = last
        self.vus[last].heap_pos = i

    # ------------------------------------------------------------------ the per-request path
    cdef int _issue(self, VU *v, uint64_t now) noexcept nogil:
        # Send the VU's current step; -1 only on a curl multi failure.
        cdef Scen *s = &self.sc[v.scen]
        cdef Step *p = &s.steps[v.step]
        cdef CURL *e = v.easy
        cdef lt_ctx c
        cdef long m
        cdef size_t off
        cdef int j
        cdef bint same = v.last_step == v.step
        cdef CURLMcode mc
        cdef uint64_t d
        self._ctx(v, &c, now)
        v.sent = 0
        if not p.url.literal:
            m = self._render(&p.url, &c, &v.url, &v.url_cap, 0)
            if m < 0:
                return self._not_sent(v, now, NOT_SET)
            if _unsafe(v.url, <size_t>m, True):
                return self._not_sent(v, now, UNSAFE_URL)
        if not p.hdr_literal:
            off = 0
            for j in range(p.nhdr):
                m = self._render(&p.hdr[j], &c, &v.hbuf, &v.hbuf_cap, off)
                if m < 0:
                    return self._not_sent(v, now, NOT_SET)
                # an extracted value is what a server sent: CR, LF or NUL in it would let the
                # server write header lines (or a request) of its own into this one
                if not p.hdr[j].literal and _unsafe(v.hbuf + off, <size_t>m, False):
                    return self._not_sent(v, now, UNSAFE_HEADER)
                v.hoff[j] = off
                off += <size_t>m + 1
        if p.has_body and not p.body.literal:
            m = self._render(&p.body, &c, &v.bbuf, &v.bbuf_cap, 0)
            if m < 0:
                return self._not_sent(v, now, NOT_SET)
            lc_setopt_off(e, CURLOPT_POSTFIELDSIZE_LARGE, m)
            lc_setopt_ptr(e, CURLOPT_POSTFIELDS, v.bbuf)
        elif p.has_body and not same:
            lc_setopt_off(e, CURLOPT_POSTFIELDSIZE_LARGE, <curl_off_t>p.body.len)
            lc_setopt_ptr(e, CURLOPT_POSTFIELDS, p.body.text)
        if not p.url.literal:
            lc_setopt_ptr(e, CURLOPT_URL, v.url)
        elif not same:
            lc_setopt_ptr(e, CURLOPT_URL, p.url.text)
        if not p.hdr_literal:
            for j in range(p.nhdr):
                v.hnodes[j].data = v.hbuf + v.hoff[j]
                v.hnodes[j].next = &v.hnodes[j + 1] if j + 1 < p.nhdr else NULL
            lc_setopt_ptr(e, CURLOPT_HTTPHEADER, v.hnodes)
        elif not same:
            lc_setopt_ptr(e, CURLOPT_HTTPHEADER, p.hdr_fixed)
        if not same:
            # the method: HTTPGET resets a previous POST or HEAD; a body makes it a POST
            if p.nobody:
                lc_setopt_long(e, CURLOPT_NOBODY, 1)
            elif not p.has_body:
                lc_setopt_long(e, CURLOPT_HTTPGET, 1)
            elif v.last_step >= 0 and s.steps[v.last_step].nobody:
                lc_setopt_long(e, CURLOPT_NOBODY, 0)
            if p.custom != v.custom:
                lc_setopt_ptr(e, CURLOPT_CUSTOMREQUEST, p.custom)
                v.custom = p.custom
            if s.new_conns:  # a new connection for each iteration, closed after its last request
                lc_setopt_long(e, CURLOPT_FRESH_CONNECT, 1 if v.step == 0 else 0)
                lc_setopt_long(e, CURLOPT_FORBID_REUSE, 1 if v.step == s.nsteps - 1 else 0)
            v.last_step = v.step
        v.want_body = <int>(self.body_cap if self.body_cap < 0x7fffffff else 0x7fffffff) if p.needs_body else 0
        v.want_headers = p.needs_headers
        v.body_len = 0
        v.hdrs_len = 0
        v.body_bytes = 0
        v.sent_hdr = -1
        v.errbuf[0] = 0
        v.sent_ns = now
        if p.timeout_ns:
            d = now + p.timeout_ns
            v.req_deadline = d
            if d < self.next_expiry:
                self.next_expiry = d
        else:
            v.req_deadline = UINT64_MAX
        mc = LC.multi_add_handle(self.multi, e)
        if mc != CURLM_OK:
            self.fatal = mc
            return -1
        v.state = VU_FLIGHT
        v.sent = 1
        if self.times.first_send == 0:
            self.times.first_send = now
        la_bump(&self.live.issued, 1)
        la_bump(&self.live.in_flight, 1)
        return 0

    cdef int _not_sent(self, VU *v, uint64_t now, const char *msg) noexcept nogil:
        # A template did not render (a variable no extract has set), or rendered what must not
        # go on the wire (CR, LF, NUL from an extracted value): the request is counted as
        # failed (class "other") and not sent; the VU goes on with the next step on the next
        # loop turn (not at once: a flow of such steps must not spin inside one turn).  It counts
        # as issued too (an attempt), so that issued >= completed holds for every reader.
        cdef Scen *s = &self.sc[v.scen]
        cdef Row *r = &self.rows[s.steps[v.step].row]
        self._roll(now)
        la_bump(&self.live.issued, 1)
        failure(&self.totals, C_OTHER, -1, msg)
        r.classes[C_OTHER] += 1
        keep_sample(r.samples[C_OTHER], msg)
        count(&self.ring.s[self.ring.cur], &self.live, SC_ERROR, True, 0)
        self._count_flow(s, r, now, True, True, 0, 0, False)
        v.step += 1
        self._heap_push(v, now + 1 + s.steps[v.step - 1].think_ns, Z_THINK)
        return 0

    cdef inline void _count_flow(self, Scen *s, Row *r, uint64_t now, bint failed, bint error, uint64_t nbytes,
                                 uint64_t latency, bint answered) noexcept nogil:
        cdef SecRow *q = self._secrow(s, now)
        la_bump(&s.live.requests, 1)
        r.requests += 1
        r.bytes += nbytes
        if q != NULL:
            q.requests += 1
            if answered:
                q.sum_ns += latency
                if latency > q.max_ns:
                    q.max_ns = latency
        if failed:
            la_bump(&s.live.failures, 1)
            r.failures += 1
            if q != NULL:
                q.failures += 1
        if error:
            s.errors += 1
            r.errors += 1

    cdef SecRow *_secrow(self, Scen *s, uint64_t now) noexcept nogil:
        cdef int64_t sec = <int64_t>((now - self.times.t0) // 1000000000), n
        cdef SecRow *b
        if sec >= s.nsecs:
            n = s.nsecs * 2 if s.nsecs else 64
            while n <= sec:
                n *= 2
            b = <SecRow *>realloc(s.secs, <size_t>n * sizeof(SecRow))
            if b == NULL:
                return NULL
            for i in range(s.nsecs, n):
                b[i].requests = b[i].failures = b[i].iterations = b[i].dropped = b[i].vus = 0
                b[i].sum_ns = b[i].max_ns = 0
            s.secs = b
            s.nsecs = n
        return &s.secs[sec]

    cdef void _complete(self, VU *v, CURLcode res, uint64_t now) noexcept nogil:
        # Engine._complete's shared steps are xfer.pxd's and tally.pxd's; in between, what only
        # the flow counts (its scenario, its request name), extracts and checks, and no warmup.
        cdef Scen *s = &self.sc[v.scen]
        cdef Step *p = &s.steps[v.step]
        cdef Row *r = &self.rows[p.row]
        cdef CURL *e = v.easy
        cdef uint64_t latency = now - v.sent_ns
        cdef uint64_t nbytes = v.body_bytes
        cdef long status = 0, new_conns = 0
        cdef int sclass = SC_ERROR, cls
        cdef bint failed = True, check_failed = False
        cdef const char *msg
        cdef int vslot
        if v.opened:
            new_conns = lc_info_long(e, CURLINFO_NUM_CONNECTS)
            v.opened = 0
        self._roll(now)
        cdef Second *sec = &self.ring.s[self.ring.cur]
        if res == CURLE_OK:
            status = lc_info_long(e, CURLINFO_RESPONSE_CODE)
            nbytes += <uint64_t>lc_info_long(e, CURLINFO_HEADER_SIZE)
            lh_record(self.h_response, latency)
            lh_record(sec.hist, latency)
            lh_record(s.h_resp, latency)
            lh_record(r.hist, latency)
            breakdown(self.phase, &self.reused, e, new_conns)
            vslot = version_slot(lc_info_long(e, CURLINFO_HTTP_VERSION))
            if vslot >= 0:
                la_bump(&self.live.versions[vslot], 1)
            if 100 <= status < 600:
                self.totals.status_counts[status] += 1
                r.status[status] += 1
                sclass = status // 100
            else:
                self.totals.status_counts[0] += 1
                r.status[0] += 1
                sclass = SC_5XX
            failed = status >= 400
            if p.nex:
                self._extracts(v, p, r, status)
            if p.nck:
                check_failed = self._checks(v, p, status, latency)
            if check_failed:
                if not failed:
                    r.check_failures += 1
                failed = True
        else:
            cls = transfer_error(e, res, v.errbuf, new_conns, self.quic, &msg)
            lh_record(self.phase[P_ERROR], latency)
            failure(&self.totals, cls, res, msg)
            r.classes[cls] += 1
            keep_sample(r.samples[cls], msg)
        la_bump(&self.live.connections, <uint64_t>new_conns)
        count(sec, &self.live, sclass, failed, nbytes)
        self._count_flow(s, r, now, failed, sclass == SC_ERROR, nbytes, latency, res == CURLE_OK)
        LC.multi_remove_handle(self.multi, e)
        v.state = VU_IDLE
        v.req_deadline = UINT64_MAX
        la_set(&self.live.in_flight, la_get(&self.live.in_flight) - 1)
        self._after_request(v, now)

    # ------------------------------------------------------------------ extracts and checks
    cdef void _extracts(self, VU *v, Step *p, Row *r, long status) noexcept nogil:
        cdef Extract *x
        cdef const char *out = NULL
        cdef size_t outlen = 0, n
        cdef long count = 0, m
        cdef int kind, j, ok
        cdef char num[24]
        for j in range(p.nex):
            x = &p.ex[j]
            ok = 0
            if x.fallback != NULL:
                ok = self._extract_fallback(v, x, status)
            elif x.source == EX_STATUS:
                n = <size_t>snprintf(num, sizeof(num), "%ld", status)
                ok = self._setvar(v, x.var, num, n) == 0
            elif x.source == EX_HEADER:
                if _find_header(v.hdrs, v.hdrs_len, x.name, x.namelen, &out, &outlen):
                    ok = self._setvar(v, x.var, out, outlen) == 0
            elif x.nsteps < 0:
                ok = self._setvar(v, x.var, v.body if v.body != NULL else EMPTY, v.body_len) == 0
            else:
                kind = lj_find(v.body, v.body_len, x.steps, x.nsteps, &out, &outlen, &count)
                if kind == LJ_COUNT:
                    n = <size_t>snprintf(num, sizeof(num), "%ld", count)
                    ok = self._setvar(v, x.var, num, n) == 0
                elif kind == LJ_STRING:
                    # decoded text is never longer than the escaped: decoded aside first, so a
                    # malformed escape (a miss) leaves the VU's value as it was
                    m = self._decode(out, outlen)
                    if m >= 0:
                        ok = self._setvar(v, x.var, self.decoded, <size_t>m) == 0
                elif kind != LJ_MISSING:
                    ok = self._setvar(v, x.var, out, outlen) == 0
            if not ok:
                r.extract_misses += 1

    cdef long _decode(self, const char *s, size_t n) noexcept nogil:
        # A JSON string's text (escapes decoded) into self.decoded, grown to fit (decoded text is
        # never longer than the escaped, which is within body_cap); its length, or -1.
        cdef char *b
        if n + 1 > self.decoded_cap:
            b = <char *>realloc(self.decoded, n + 1)
            if b == NULL:
                return -1
            self.decoded = b
            self.decoded_cap = n + 1
        return lj_unescape(s, n, self.decoded, self.decoded_cap)

    cdef int _extract_fallback(self, VU *v, Extract *x, long status) noexcept with gil:
        # The slow path: Python, with the GIL, for this response.
        cdef int ok = 0
        cdef const char *src
        cdef bytes got
        try:
            res = (<object>x.fallback)(status, v.hdrs[:v.hdrs_len] if v.hdrs != NULL else b"",
                                       v.body[:v.body_len] if v.body != NULL else b"")
            if res is not None:
                got = res.encode() if isinstance(res, str) else bytes(res)
                src = got
                ok = self._setvar(v, x.var, src, len(got)) == 0
        except Exception:
            ok = 0
        return ok

    cdef bint _checks(self, VU *v, Step *p, long status, uint64_t latency) noexcept nogil:
        cdef bint any_failed = False
        cdef int j, ok
        cdef Check *c
        cdef CheckCount *k
        cdef char *first
        for j in range(p.nck):
            c = &p.ck[j]
            k = &self.counts[c.counter]
            first = NULL
            if k.first[0] == 0:
                first = &k.first[0]
            ok = self._check(v, c, status, latency, first)
            if ok:
                k.passed += 1
            else:
                k.failed += 1
                any_failed = True
        return any_failed

    cdef int _check(self, VU *v, Check *c, long status, uint64_t latency, char *msg) noexcept nogil:
        # 1 when the check passes; else 0, with the failure's message in msg (when not NULL).
        cdef const char *act = NULL
        cdef size_t actlen = 0, vlen = 0
        cdef const char *out = NULL
        cdef size_t outlen = 0
        cdef long count = 0, m
        cdef int kind, ok
        cdef double a, want = c.number
        cdef char *endp
        cdef lt_ctx ctx
        cdef const char *vtext
        cdef char num[32]
        if c.fallback != NULL:
            return self._check_fallback(v, c, status, latency, msg)
        if c.type == CK_STATUS or c.type == CK_DURATION:
            if c.type == CK_STATUS:
                a = <double>status
            else:
                a = <double>latency / 1e9
            if isnan(want) or c.cond == CO_CONTAINS:   # compared as text
                actlen = <size_t>snprintf(num, sizeof(num), "%ld", status) if c.type == CK_STATUS \
                    else <size_t>snprintf(num, sizeof(num), "%.6g", a)
                act = num
            else:
                ok = self._compare_num(c.cond, a, want)
                if not ok and msg != NULL:
                    self._message(c, msg, num, <size_t>snprintf(num, sizeof(num), "%ld", status) if c.type == CK_STATUS
                                  else <size_t>snprintf(num, sizeof(num), "%.3fs", a))
                return ok
        elif c.type == CK_HEADER:
            if not _find_header(v.hdrs, v.hdrs_len, c.name, c.namelen, &act, &actlen):
                if msg != NULL:
                    self._message(c, msg, b"missing", 7)
                return 0
        else:  # body
            if c.nsteps < 0:
                act = v.body if v.body != NULL else EMPTY
                actlen = v.body_len
            else:
                kind = lj_find(v.body, v.body_len, c.steps, c.nsteps, &out, &outlen, &count)
                if kind == LJ_MISSING:
                    if msg != NULL:
                        self._message(c, msg, b"missing", 7)
                    return 0
                if kind == LJ_COUNT:
                    actlen = <size_t>snprintf(num, sizeof(num), "%ld", count)
                    act = num
                elif kind == LJ_STRING:
                    m = self._decode(out, outlen)
                    if m < 0:
                        if msg != NULL:
                            self._message(c, msg, b"undecodable", 11)
                        return 0
                    act = self.decoded
                    actlen = <size_t>m
                else:
                    act = out
                    actlen = outlen
        if c.cond in (CO_GT, CO_LT, CO_GTE, CO_LTE) or (c.type != CK_BODY and c.type != CK_HEADER and not isnan(want)):
            # numeric: the text as a number; not a number fails
            if actlen == 0 or actlen >= 64:
                ok = 0
            else:
                if act != self.scratch2:
                    memcpy(self.scratch2, act, actlen)
                self.scratch2[actlen] = 0
                a = strtod(self.scratch2, &endp)
                ok = endp == self.scratch2 + actlen and self._compare_num(c.cond, a, want)
            if not ok and msg != NULL:
                self._message(c, msg, act, actlen)
            return ok
        # text: eq, ne, contains against the rendered value
        if c.value.literal:
            vtext = c.value.text
            vlen = c.value.len
        else:
            self._ctx(v, &ctx, lunge_now_ns())
            m = lt_render(c.value.segs, c.value.n, &ctx, self.scratch, SCRATCH)
            if m < 0:
                if msg != NULL:
                    self._message(c, msg, b"(its value did not render)", 26)
                return 0
            vtext = self.scratch
            vlen = <size_t>m
        if c.cond == CO_EQ:
            ok = actlen == vlen and memcmp(act, vtext, vlen) == 0
        elif c.cond == CO_NE:
            ok = not (actlen == vlen and memcmp(act, vtext, vlen) == 0)
        elif c.cond == CO_CONTAINS:
            ok = lunge_memmem(act, actlen, vtext, vlen) != NULL
        else:
            ok = 0
        if not ok and msg != NULL:
            self._message(c, msg, act, actlen)
        return ok

    cdef inline int _compare_num(self, int cond, double a, double b) noexcept nogil:
        if cond == CO_EQ:
            return a == b
        if cond == CO_NE:
            return a != b
        if cond == CO_GT:
            return a > b
        if cond == CO_LT:
            return a < b
        if cond == CO_GTE:
            return a >= b
        if cond == CO_LTE:
            return a <= b
        return 0

    cdef void _message(self, Check *c, char *msg, const char *act, size_t actlen) noexcept nogil:
        # "status 404, expected eq 200"; or the label, when it is the user's own message.
        cdef const char *names[4]
        cdef const char *conds[8]
        cdef char want[64]
        names[0], names[1], names[2], names[3] = b"status", b"body", b"header", b"duration"
        conds[0], conds[1], conds[2], conds[3] = b"eq", b"ne", b"gt", b"lt"
        conds[4], conds[5], conds[6], conds[7] = b"gte", b"lte", b"contains", b"matches"
        if c.own_label:
            msg[0] = 1   # marks "the label": flow_results() puts the label there
            msg[1] = 0
            return
        if c.value.literal and c.value.len and (isnan(c.number) or c.type == CK_BODY or c.type == CK_HEADER):
            snprintf(want, sizeof(want), "%.*s", <int>(c.value.len if c.value.len < 60 else 60), c.value.text)
        elif not isnan(c.number):
            snprintf(want, sizeof(want), "%g%s", c.number, b"s" if c.type == CK_DURATION else b"")
        else:
            strncpy(want, b"(a template)", sizeof(want))
        snprintf(msg, MSG, "%s %.*s, expected %s %s", names[c.type], <int>(actlen if actlen < 120 else 120), act,
                 conds[c.cond], want)

    cdef int _check_fallback(self, VU *v, Check *c, long status, uint64_t latency, char *msg) noexcept with gil:
        # The slow path: Python, with the GIL, for this response.
        cdef int ok = 0
        cdef bytes b = b""
        try:
            got = (<object>c.fallback)(status, v.hdrs[:v.hdrs_len] if v.hdrs != NULL else b"",
                                       v.body[:v.body_len] if v.body != NULL else b"", latency / 1e9)
            ok = got is None
            if not ok:
                b = str(got).encode("utf-8", "replace")[:MSG - 1]
        except Exception as exc:
            ok = 0
            b = f"check failed: {exc!r}".encode("utf-8", "replace")[:MSG - 1]
        if not ok and msg != NULL:
            strncpy(msg, b, MSG - 1)
            msg[MSG - 1] = 0
            if msg[0] == 1:   # (1 marks "the label")
                msg[0] = 63
        return ok

    # ------------------------------------------------------------------ iterations
    cdef void _after_request(self, VU *v, uint64_t now) noexcept nogil:
        cdef Scen *s = &self.sc[v.scen]
        cdef uint64_t think = s.steps[v.step].think_ns
        v.step += 1
        if think:
            self._heap_push(v, now + think, Z_THINK)
        else:
            self._advance(v, now)

    cdef void _advance(self, VU *v, uint64_t now) noexcept nogil:
        cdef Scen *s = &self.sc[v.scen]
        if v.step < s.nsteps:
            self._issue(v, now)
        else:
            self._finish_iteration(v, now)

    cdef void _finish_iteration(self, VU *v, uint64_t now) noexcept nogil:
        cdef Scen *s = &self.sc[v.scen]
        cdef SecRow *q = self._secrow(s, now)
        cdef uint64_t pace
        lh_record(s.h_iter, now - v.iter_start)
        la_bump(&s.live.iterations, 1)
        if q != NULL:
            q.iterations += 1
        self._leave_iteration(v, s)
        if s.kind == X_CAR or s.kind == X_RAR:
            s.pool[s.npool] = v.local
            s.npool += 1
            return
        if s.pace_kind and s.state == SS_RUNNING:
            pace = s.pace_a
            if s.pace_kind == 2 and s.pace_b > s.pace_a:
                pace += <uint64_t>(<double>(lt_next(&v.rng) >> 11) * (1.0 / 9007199254740992.0)
                                   * <double>(s.pace_b - s.pace_a))
            if pace:
                self._heap_push(v, now + pace, Z_PACE)
                return
        self._next(v, now)

    cdef inline void _leave_iteration(self, VU *v, Scen *s) noexcept nogil:
        v.in_iter = 0
        v.iters_done += 1
        v.iter_deadline = UINT64_MAX
        v.state = VU_IDLE
        la_set(&s.live.active, la_get(&s.live.active) - 1)

    cdef bint _may_start(self, VU *v, Scen *s) noexcept nogil:
        if s.state != SS_RUNNING or la_get_int(&self.stop_flag):
            return False
        if s.kind == X_CONST_VUS or s.kind == X_RAMP_VUS:
            return v.local < s.target
        if s.kind == X_PER_VU:
            return v.iters_done < s.iterations
        if s.kind == X_SHARED:
            return s.shared_left > 0
        return False

    cdef void _next(self, VU *v, uint64_t now) noexcept nogil:
        # The VU is between iterations: start its next one, or leave it idle (or done).
        cdef Scen *s = &self.sc[v.scen]
        v.retire = 0
        if self._may_start(v, s):
            if s.kind == X_SHARED:
                s.shared_left -= 1
            self._start_iteration(v, s, now, now)
            return
        v.state = VU_IDLE
        if s.kind == X_PER_VU or s.kind == X_SHARED:
            v.state = VU_DONE
            s.live_vus -= 1

    cdef void _start_iteration(self, VU *v, Scen *s, uint64_t now, uint64_t due) noexcept nogil:
        # due: when the iteration should have started (arrival rate: its schedule's time, so
        # its duration counts from then, as the open model's latency does; otherwise now)
        cdef uint64_t d, active
        if v.easy == NULL and self._vu_init(v) < 0:
            self.fatal = -1
            return
        v.in_iter = 1
        v.retire = 0
        v.step = 0
        v.iter_start = due
        v.iteration = s.iter_j * s.iter_stride + s.iter_offset
        s.iter_j += 1
        active = la_get(&s.live.active) + 1
        la_set(&s.live.active, active)
        if active > s.max_vus:
            s.max_vus = active
        if active > s.sec_peak:
            s.sec_peak = active
        if s.iter_timeout_ns:
            d = now + s.iter_timeout_ns
            v.iter_deadline = d
            if d < self.next_expiry:
                self.next_expiry = d
        self._issue(v, now)

    cdef void _interrupt(self, VU *v, uint64_t now) noexcept nogil:
        # The VU's iteration stops now: its request in flight is aborted (and counted).
        cdef Scen *s = &self.sc[v.scen]
        cdef Row *r
        if v.state == VU_FLIGHT:
            r = &self.rows[s.steps[v.step].row]
            self._roll(now)
            failure(&self.totals, C_ABORTED, -1, b"in flight when its iteration was interrupted (gracefulStop, "
                                                 b"iteration timeout, ramp-down or the run's end)")
            r.classes[C_ABORTED] += 1
            keep_sample(r.samples[C_ABORTED], b"in flight when its iteration was interrupted")
            count(&self.ring.s[self.ring.cur], &self.live, SC_ERROR, True, v.body_bytes)
            self._count_flow(s, r, now, True, True, v.body_bytes, 0, False)
            if v.opened:
                la_bump(&self.live.connections, <uint64_t>lc_info_long(v.easy, CURLINFO_NUM_CONNECTS))
                v.opened = 0
            LC.multi_remove_handle(self.multi, v.easy)
            la_set(&self.live.in_flight, la_get(&self.live.in_flight) - 1)
            v.req_deadline = UINT64_MAX
        elif v.state == VU_SLEEP:
            self._heap_remove(v)
        v.state = VU_IDLE
        if v.in_iter:
            s.interrupted += 1
            self._leave_iteration(v, s)
            # (an interrupted iteration still counts as one of the VU's: per-vu-iterations)
            if s.kind == X_CAR or s.kind == X_RAR:
                s.pool[s.npool] = v.local
                s.npool += 1

    # ------------------------------------------------------------------ scenarios
    cdef void _start_scenario(self, Scen *s, uint64_t now) noexcept nogil:
        cdef int k
        s.t_start = now
        s.stop_at = now + s.stop_ns
        s.state = SS_RUNNING
        la_set_int(&s.state, SS_RUNNING)
        if s.kind == X_CAR or s.kind == X_RAR:
            for k in range(s.made):     # the pool: VU 0 on top
                s.pool[k] = s.made - 1 - k
            s.npool = s.made
            la_set(&s.live.target, <uint64_t>s.made)
            self._advance_due(s)
        elif s.kind == X_CONST_VUS or s.kind == X_RAMP_VUS:
            self._retarget(s, now)
        else:
            s.live_vus = s.nvus
            s.shared_left = s.iterations
            la_set(&s.live.target, <uint64_t>s.nvus)
            for k in range(s.nvus):
                self._next(&self.vus[s.vu_base + k], now)

    cdef void _advance_due(self, Scen *s) noexcept nogil:
        # Due time of the scenario's iteration k = j * stride + offset (j: this engine's dues so far).
        cdef double k = <double>(s.sched_j * s.sched_stride + s.sched_offset)
        cdef double n0, n1
        while s.sch_seg + 1 < s.sch_len and s.sch_n[s.sch_seg + 1] <= k:
            s.sch_seg += 1
        if s.sch_seg + 1 >= s.sch_len:
            s.next_due = UINT64_MAX
            return
        n0 = s.sch_n[s.sch_seg]
        n1 = s.sch_n[s.sch_seg + 1]
        s.next_due = s.t_start + <uint64_t>(s.sch_t[s.sch_seg]
                                            + (k - n0) / (n1 - n0) * (s.sch_t[s.sch_seg + 1] - s.sch_t[s.sch_seg]))

    cdef void _arrivals(self, Scen *s, uint64_t now) noexcept nogil:
        cdef VU *v
        cdef uint64_t lag, due
        cdef SecRow *q
        while s.next_due <= now and s.next_due < s.stop_at:
            if s.npool > 0:
                s.npool -= 1
                v = &self.vus[s.vu_base + s.pool[s.npool]]
            elif s.made < s.nvus:
                v = &self.vus[s.vu_base + s.made]
                s.made += 1
                la_set(&s.live.target, <uint64_t>s.made)
            else:   # no idle VU and the pool is at its largest: dropped, never started late
                la_bump(&s.live.dropped, 1)
                q = self._secrow(s, now)
                if q != NULL:
                    q.dropped += 1
                s.sched_j += 1
                self._advance_due(s)
                continue
            due = s.next_due
            lag = now - due
            lh_record(s.h_late, lag)
            lh_record(self.h_lag, lag)
            if lag > LATE_SEND_NS:
                self.late_sends += 1
            if lag > self.max_lag:
                self.max_lag = lag
            s.sched_j += 1
            self._advance_due(s)
            self._start_iteration(v, s, now, due)

    cdef void _retarget(self, Scen *s, uint64_t now) noexcept nogil:
        # constant-vus / ramping-vus: VUs 0..target-1 run; above it, they finish their iteration
        # (interrupted graceful_stop_s after the drop) and stop.
        cdef double rel = <double>(now - s.t_start)
        cdef int t, k
        cdef VU *v
        cdef uint64_t d
        while s.vs_seg + 1 < s.vs_len and s.vs_t[s.vs_seg + 1] <= rel:
            s.vs_seg += 1
        t = s.vs_n[s.vs_seg]
        if t == s.target and s.t_start != now:
            return
        if t < s.target:
            d = now + s.graceful_ns
            for k in range(t, s.target):
                v = &self.vus[s.vu_base + k]
                if v.in_iter:
                    v.retire = 1
                    if d < v.iter_deadline:
                        v.iter_deadline = d
                        if d < self.next_expiry:
                            self.next_expiry = d
                elif v.state == VU_SLEEP:   # pacing between iterations
                    self._heap_remove(v)
                    v.state = VU_IDLE
            s.target = t
        else:
            s.target = t
            for k in range(t):
                v = &self.vus[s.vu_base + k]
                if v.in_iter:
                    if v.retire:   # back up before it stopped: it goes on, without the deadline
                        v.retire = 0
                        v.iter_deadline = v.iter_start + s.iter_timeout_ns if s.iter_timeout_ns else UINT64_MAX
                elif v.state == VU_IDLE:
                    self._next(v, now)
        la_set(&s.live.target, <uint64_t>s.target)

    cdef void _begin_stop(self, Scen *s, uint64_t now, uint64_t hard) noexcept nogil:
        # No new iteration from now; running ones have until `hard`.
        cdef int k
        cdef VU *v
        s.state = SS_STOPPING
        la_set_int(&s.state, SS_STOPPING)
        s.next_due = UINT64_MAX
        s.hard_stop = hard
        for k in range(s.nvus):
            v = &self.vus[s.vu_base + k]
            if not v.in_iter and v.state == VU_SLEEP:
                self._heap_remove(v)
                v.state = VU_IDLE

    cdef void _done(self, Scen *s, uint64_t now) noexcept nogil:
        cdef int k, i = <int>(s - self.sc)
        cdef VU *v
        for k in range(s.nvus):
            v = &self.vus[s.vu_base + k]
            if v.in_iter or v.state == VU_FLIGHT or v.state == VU_SLEEP:
                self._interrupt(v, now)
        s.ended = now
        self._fill_vus(s, now)
        la_set_int(&s.state, SS_DONE)
        if i + 1 < self.nsc and self.sc[i + 1].after_prev and self.sc[i + 1].start_abs == 0:
            self.sc[i + 1].start_abs = now + self.sc[i + 1].start_ns

    cdef uint64_t _tick(self, Scen *s, uint64_t now) noexcept nogil:
        # The scenario's executor at `now`; returns the next time it needs a turn.
        cdef uint64_t nxt = UINT64_MAX, hard
        if s.state == SS_WAITING:
            if s.start_abs == 0:
                return UINT64_MAX
            if now < s.start_abs:
                return s.start_abs
            self._start_scenario(s, now)
        if s.state == SS_RUNNING:
            if now >= s.stop_at:
                hard = s.stop_at + s.graceful_ns
                self._begin_stop(s, now, hard)
            elif s.kind == X_CAR or s.kind == X_RAR:
                self._arrivals(s, now)
                if s.next_due == UINT64_MAX:   # the schedule is over
                    self._begin_stop(s, now, (s.stop_at if s.stop_at > now else now) + s.graceful_ns)
                else:
                    nxt = s.next_due
            elif s.kind == X_CONST_VUS or s.kind == X_RAMP_VUS:
                self._retarget(s, now)
                if s.vs_seg + 1 < s.vs_len:
                    nxt = s.t_start + <uint64_t>s.vs_t[s.vs_seg + 1]
            elif s.live_vus == 0:
                self._begin_stop(s, now, now)
            if s.state == SS_RUNNING and s.stop_at < nxt:
                nxt = s.stop_at
        if s.state == SS_STOPPING:
            if la_get(&s.live.active) == 0:
                self._done(s, now)
                return UINT64_MAX
            if now >= s.hard_stop:
                self._done(s, now)
                return UINT64_MAX
            nxt = s.hard_stop
        return nxt

    cdef void _fill_vus(self, Scen *s, uint64_t now) noexcept nogil:
        # ScenarioSecond.vus: the most VUs in an iteration at once during each second, up to
        # now's.  A peak, not a sample at the second's end: an arrival-rate scenario of
        # millisecond iterations is between them at almost every instant.
        cdef int64_t sec = <int64_t>((now - self.times.t0) // 1000000000)
        cdef uint64_t active = la_get(&s.live.active)
        cdef SecRow *q
        if s.t_start == 0:
            return
        q = self._secrow(s, now)
        if q == NULL:
            return
        while s.vus_filled < sec:
            s.secs[s.vus_filled].vus = s.sec_peak if s.sec_peak > active else active
            s.sec_peak = active
            s.vus_filled += 1
        q.vus = s.sec_peak if s.sec_peak > active else active

    # ------------------------------------------------------------------ the loop
    cdef inline void _roll(self, uint64_t now) noexcept nogil:
        # The ring's roll (tally.pxd), after the flow's own per-second work: each running
        # scenario's VU peak for the second that ends (ScenarioSecond.vus).
        if now < self.ring.next_boundary:
            return
        cdef int i
        for i in range(self.nsc):
            if self.sc[i].state == SS_RUNNING or self.sc[i].state == SS_STOPPING:
                self._fill_vus(&self.sc[i], now)
        ring_roll(&self.ring, self.times.t0, now)

    cdef void _expire(self, uint64_t now) noexcept nogil:
        # Request timeouts and iteration deadlines: scanned when the earliest one passes.
        cdef uint64_t nxt = UINT64_MAX
        cdef VU *v
        cdef int i
        if now < self.next_expiry:
            return
        for i in range(self.nvus):
            v = &self.vus[i]
            if v.in_iter and v.iter_deadline <= now:
                self._interrupt(v, now)
                self._next(v, now)
            if v.state == VU_FLIGHT and v.req_deadline <= now:
                timeout_message(v.errbuf, v.easy, now - v.sent_ns, v.body_bytes)
                self._complete(v, CURLE_OPERATION_TIMEDOUT, now)
            if v.state == VU_FLIGHT and v.req_deadline < nxt:
                nxt = v.req_deadline
            if v.in_iter and v.iter_deadline < nxt:
                nxt = v.iter_deadline
        self.next_expiry = nxt

    cdef void _stop_all(self, uint64_t now) noexcept nogil:
        # stop(): every scenario as at its stop_s, its gracefulStop bounded by the engine's grace.
        cdef int i
        cdef Scen *s
        cdef uint64_t hard
        self.stop_seen = now
        for i in range(self.nsc):
            s = &self.sc[i]
            if s.state == SS_WAITING:
                s.ended = now
                s.state = SS_DONE
                la_set_int(&s.state, SS_DONE)
            elif s.state == SS_RUNNING:
                hard = now + (s.graceful_ns if s.graceful_ns < self.grace_ns else self.grace_ns)
                s.stop_at = now
                self._begin_stop(s, now, hard)
            elif s.state == SS_STOPPING and now + self.grace_ns < s.hard_stop:
                s.hard_stop = now + self.grace_ns

    cdef int _loop(self) noexcept nogil:
        cdef uint64_t now = lunge_now_ns()
        cdef uint64_t wait_ns, limit
        cdef int running = 0, queued = 0, i, ndone, nissuing
        cdef CURLMsg *msg
        cdef CURLMcode mc
        cdef VU *v
        lunge_fine_timer_slack()
        self.times.t0 = now
        self.times.wall0 = lunge_wall_ns()
        ring_start(&self.ring, now)
        for i in range(self.nsc):
            if not self.sc[i].after_prev:
                self.sc[i].start_abs = now + self.sc[i].start_ns
                if self.sc[i].start_abs == 0:
                    self.sc[i].start_abs = 1
        # Engine._loop's drive (perform, drain, poll), kept apart: here a completion moves its VU
        # on (think time, next step), where the Engine re-adds the same handle at once.
        while True:
            mc = LC.multi_perform(self.multi, &running)
            if mc != CURLM_OK:
                self.fatal = mc
                break
            now = lunge_now_ns()
            while True:
                msg = LC.multi_info_read(self.multi, &queued)
                if msg == NULL:
                    break
                if msg.msg != CURLMSG_DONE:
                    continue
                v = <VU *>lc_info_ptr(msg.easy_handle, CURLINFO_PRIVATE)
                self._complete(v, msg.data.result, now)
            now = lunge_now_ns()
            self._roll(now)
            if self.stop_seen == 0 and la_get_int(&self.stop_flag):
                self._stop_all(now)
            # sleepers whose time has come (pushed now + something: never twice in one turn)
            while self.nheap > 0 and self.vus[self.heap[0]].wake_ns <= now:
                v = &self.vus[self.heap[0]]
                self._heap_remove(v)
                v.state = VU_IDLE
                if v.sleep_kind == Z_THINK or v.sleep_kind == Z_PACE:
                    lh_record(self.sc[v.scen].h_wake, now - v.wake_ns)
                if v.sleep_kind == Z_THINK:
                    self._advance(v, now)
                else:
                    self._next(v, now)
            self._expire(now)
            wait_ns = self.ring.next_boundary - now
            ndone = nissuing = 0
            for i in range(self.nsc):
                limit = self._tick(&self.sc[i], now)
                if limit > now and limit - now < wait_ns:
                    wait_ns = limit - now
                elif limit <= now:
                    wait_ns = 0
                if self.sc[i].state == SS_DONE:
                    ndone += 1
                elif self.sc[i].state != SS_STOPPING:
                    nissuing += 1
            if self.fatal != CURLM_OK:
                break
            if nissuing == 0:
                end_issuing(&self.times, &self.live, now)
            if ndone == self.nsc:
                break
            if la_get_int(&self.abort_flag):
                break
            if self.stop_seen:
                limit = self.stop_seen + self.grace_ns
                if now >= limit:
                    break
                if limit - now < wait_ns:
                    wait_ns = limit - now
            if self.nheap > 0:
                limit = self.vus[self.heap[0]].wake_ns
                wait_ns = 0 if limit <= now else min(wait_ns, limit - now)
            if self.next_expiry > now and self.next_expiry - now < wait_ns:
                wait_ns = self.next_expiry - now
            mc = multi_wait(self.multi, self.wfds, self.wfds_cap, wait_ns, True)  # arrivals and wakes: paced
            if mc != CURLM_OK:
                self.fatal = mc
                break
        # Whatever still runs (abort, the grace over, a multi failure) is interrupted, and counted.
        now = lunge_now_ns()
        end_issuing(&self.times, &self.live, now)
        self._roll(now)
        for i in range(self.nsc):
            if self.sc[i].state != SS_DONE:
                if self.sc[i].state == SS_WAITING:
                    self.sc[i].ended = now
                    la_set_int(&self.sc[i].state, SS_DONE)
                else:
                    self._done(&self.sc[i], now)
        self.times.t_end = now
        lh_add(self.h_service, self.h_response)
        breakdown_end(self.phase, self.reused)
        ring_end(&self.ring)
        return 0 if self.fatal == CURLM_OK else -1

    # ------------------------------------------------------------------ Python side
    # run(), stop(), abort(), running: as Engine's, methods of a class of another module (a shared
    # base class across the two modules is not worth it for these few lines, run once).
    def run(self):
        """Run the scenarios to their end (blocks; call it in a thread). Releases the GIL."""
        if self.state != ENGINE_NEW:
            raise EngineError("a FlowEngine runs once")
        self.state = ENGINE_RUNNING
        cdef int rc
        with nogil:
            rc = self._loop()
        la_set_int(&self.state, ENGINE_DONE)
        if rc != 0:
            if self.fatal == -1:
                raise EngineError("out of memory for a VU (curl_easy_init or its buffers)")
            raise EngineError(f"curl multi: {LC.multi_strerror(self.fatal).decode()}")

    def stop(self):
        """Start no new iteration: each scenario as at its stop_s (its gracefulStop applies,
        bounded by the engine's grace)."""
        la_set_int(&self.stop_flag, 1)
        if self.multi != NULL:
            LC.multi_wakeup(self.multi)

    def abort(self):
        """Stop now: requests in flight are counted as `aborted`, running iterations as interrupted."""
        la_set_int(&self.stop_flag, 1)
        la_set_int(&self.abort_flag, 1)
        if self.multi != NULL:
            LC.multi_wakeup(self.multi)

    @property
    def running(self):
        return la_get_int(&self.state) == ENGINE_RUNNING

    def snapshot(self):
        """Live counters over every scenario (a contract.Snapshot)."""
        return live_snapshot(&self.live, lunge_now_ns(), self.times.t0)

    def scenario_snapshot(self):
        """Each scenario's live state (contract.ScenarioSnapshot), in ScenarioSpec order."""
        out = []
        cdef Scen *s
        for i in range(self.nsc):
            s = &self.sc[i]
            out.append(ScenarioSnapshot(
                name=self.names[i], state=SCENARIO_STATES[la_get_int(&s.state)],
                vus=la_get(&s.live.active), target_vus=la_get(&s.live.target),
                iterations=la_get(&s.live.iterations), dropped=la_get(&s.live.dropped),
                requests=la_get(&s.live.requests), failures=la_get(&s.live.failures)))
        return tuple(out)

    def harvest(self):
        """Closed seconds since the last call (contract.HarvestedSecond, in order), totals over
        every scenario, as Engine.harvest()."""
        return ring_harvest(&self.ring)

    def results(self):
        """The totals over every scenario (a contract.EngineResults), once run() has returned."""
        if la_get_int(&self.state) != ENGINE_DONE:
            raise EngineError("results() before the run ended")
        return EngineResults(
            **totals(&self.times, &self.live, &self.totals, &self.ring, OWN_POOL_VIA),
            open_model=False,
            late_sends=self.late_sends,
            max_lag_ns=self.max_lag,
            warmup_issued=0,
            warmup_completed=0,
            warmup_failures=0,
            histograms=dict(self.hists),
        )

    def flow_results(self):
        """Per scenario and per request name (contract.ScenarioResults), once run() has returned."""
        if la_get_int(&self.state) != ENGINE_DONE:
            raise EngineError("flow_results() before the run ended")
        out = []
        cdef Scen *s
        cdef Row *r
        cdef CheckCount *k
        cdef SecRow *q
        cdef int64_t a, b
        row_base = 0
        for i in range(self.nsc):
            s = &self.sc[i]
            steps = []
            for j, (name, hobj, labels) in enumerate(self.py_rows[i]):
                r = &self.rows[row_base + j]
                checks = []
                for label, ci in labels.items():
                    k = &self.counts[ci]
                    first = label if k.first[0] == 1 else k.first.decode("utf-8", "replace")
                    checks.append(CheckCounts(label=label, passed=k.passed, failed=k.failed, first_failure=first))
                steps.append(StepResults(
                    name=name, requests=r.requests, failures=r.failures, errors=r.errors,
                    check_failures=r.check_failures, bytes=r.bytes,
                    status_codes={c: r.status[c] for c in range(NSTATUS) if r.status[c]},
                    error_classes={ERROR_CLASSES[c]: r.classes[c] for c in range(NCLASSES) if r.classes[c]},
                    error_samples=samples_dict(r.samples, OWN_POOL_VIA),
                    histogram=hobj, checks=tuple(checks), extract_misses=r.extract_misses))
            row_base += len(self.py_rows[i])
            seconds = []
            if s.t_start:
                a = <int64_t>((s.t_start - self.times.t0) // 1000000000)
                b = <int64_t>((s.ended - self.times.t0) // 1000000000) if s.ended else a
                for sec in range(a, b + 1):
                    if sec < s.nsecs:
                        q = &s.secs[sec]
                        seconds.append(ScenarioSecond(sec=sec, requests=q.requests, failures=q.failures,
                                                      iterations=q.iterations, dropped=q.dropped, vus=q.vus,
                                                      sum_ns=q.sum_ns, max_ns=q.max_ns))
                    else:
                        seconds.append(ScenarioSecond(sec=sec, requests=0, failures=0, iterations=0, dropped=0,
                                                      vus=0, sum_ns=0, max_ns=0))
            out.append(ScenarioResults(
                name=self.names[i], executor=self.executors[i],
                started_s=(s.t_start - self.times.t0) / 1e9 if s.t_start else -1.0,
                ended_s=(s.ended - self.times.t0) / 1e9 if s.t_start else -1.0,
                iterations=s.live.iterations, interrupted=s.interrupted, dropped=s.live.dropped,
                max_vus=s.max_vus, vus_made=s.made if s.kind in (X_CAR, X_RAR) else 0,
                requests=s.live.requests, failures=s.live.failures, errors=s.errors,
                histograms=dict(self.py_scen_hists[i]), steps=tuple(steps), seconds=tuple(seconds)))
        return tuple(out)
