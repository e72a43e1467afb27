"""The native load engine: one OS thread drives one curl multi handle with N easy handles.

Python builds an Engine from a plan, calls run() in a thread (the whole loop runs with the
GIL released), reads snapshot() and harvest() a few times a second while it runs, and
results() once it has returned.  Nothing in Python runs per request: each completion is
recorded here into native histograms and counters.

Loop (cheapest style measured, see benchmarks/RESULTS.md): curl_multi_perform, drain
curl_multi_info_read, re-add the finished easy handle untouched, curl_multi_poll.
"""
from libc.stdint cimport uint64_t, int64_t, UINT64_MAX
from libc.stdlib cimport calloc, free

import re

import numpy as np

from lunge._native.curl cimport *
# shared with flow.pyx: error classes (C_*), the resend guard, timeouts, the timing breakdown, the wait
from lunge._native.xfer cimport *
# shared with flow.pyx: the live counters, the ring of seconds, the run's totals
from lunge._native.tally cimport *
from lunge._native.hist cimport Histogram, lunge_hist, lh_record
from lunge._native.system cimport lunge_now_ns, lunge_wall_ns, lunge_fine_timer_slack, la_get, la_set, \
    la_bump, la_get_int, la_set_int, LUNGE_CLOCK, LUNGE_WAITS, LUNGE_WAITFDS, LUNGE_ALLOC

from lunge._native.contract import (ERROR_CLASSES, HISTOGRAMS, HTTP_VERSIONS, HTTP3_MODES, PHASES, STATUS_CLASSES,
                                    EngineResults)

cdef extern from *:
    """
    #if (defined(_MSC_VER) && !defined(__clang__)) || defined(LUNGE_TEST_MSVC_PATHS)
    #define LUNGE_CC "MSVC " Py_STRINGIFY(_MSC_FULL_VER)  /* MSVC has no __VERSION__ */
    #else
    #define LUNGE_CC __VERSION__
    #endif
    """
    const char *CYTHON_ABI
    const char *LUNGE_CC

ENGINE_VERSION = "1"
BUILD = f"Cython ABI {CYTHON_ABI.decode()}, cc {LUNGE_CC.decode()}"

cdef enum:
    LATE_SEND_NS = 1000000     # open model: a send this late after its due time is a late send

if (len(STATUS_CLASSES), len(ERROR_CLASSES), len(PHASES), len(HTTP_VERSIONS)) \
        != (NSTATUS_CLASSES, NCLASSES, NPHASES, NVERSIONS):
    raise ImportError("lunge._native.contract's class names do not match the engine's arrays")

# A slot's own name for the origin (own_pools); libcurl's messages say "... via NAME:PORT",
# which is lunge's plumbing, not the target's: taken out of the error samples.
OWN_POOL_PREFIX, OWN_POOL_SUFFIX = "slot", ".lunge.invalid"
OWN_POOL_VIA = re.compile(f" via {re.escape(OWN_POOL_PREFIX)}\\d+{re.escape(OWN_POOL_SUFFIX)}:\\d+")


cdef struct Slot:
    CURL *easy
    CURLU *url
    uint64_t sched_ns   # when it should have been sent (= sent_ns in the closed model)
    uint64_t sent_ns    # when it was handed to libcurl
    uint64_t body_bytes
    int index
    int active
    int warm            # a warmup request: counted apart, kept out of the metrics
    int opened          # sockets libcurl opened for this transfer (a new connection)
    long sent_hdr       # _prereq: response header bytes when the last attempt went out; -1: none yet
    long sent_req       # _prereq: request bytes sent before the last attempt
    int version         # HTTP_VERSIONS slot of the last response on this slot's connection; -1: ask
    curl_slist *route   # own pool: CURLOPT_CONNECT_TO to this slot's name ...
    curl_slist *pin     # ... and CURLOPT_RESOLVE of that name
    char errbuf[CURL_ERROR_SIZE]


cdef size_t _discard(char *ptr, size_t size, size_t nmemb, void *userdata) noexcept nogil:
    (<Slot *>userdata).body_bytes += size * nmemb
    return size * nmemb


cdef int _opened(void *clientp, curl_socket_t fd, int purpose) noexcept nogil:
    # Called only when libcurl opens a socket: tells _complete when CURLINFO_NUM_CONNECTS is
    # worth asking for (a getinfo costs ~200 instructions; most transfers reuse a connection).
    (<Slot *>clientp).opened += 1
    return CURL_SOCKOPT_OK


cdef int _prereq(void *clientp, char *ip, char *local_ip, int port, int local_port) noexcept nogil:
    # libcurl's resend of a request the server may have read is stopped (xfer.pxd, prereq_guard).
    cdef Slot *s = <Slot *>clientp
    return prereq_guard(s.easy, &s.sent_hdr, &s.sent_req)


class EngineError(RuntimeError):
    pass


def load_libcurl(str path):
    """dlopen libcurl (once per process) and return its version facts."""
    cdef char err[512]
    cdef bytes p = path.encode()
    if lunge_curl_load(p, err, sizeof(err)) != 0:
        raise EngineError(err.decode(errors="replace"))
    cdef curl_version_info_data *vi = LC.version_info(0)
    return {
        "version": vi.version.decode(),
        "ssl": vi.ssl_version.decode() if vi.ssl_version != NULL else None,
        "http2": bool(vi.features & CURL_VERSION_HTTP2),
        "http3": bool(vi.features & CURL_VERSION_HTTP3),
        # lunge_alloc.h's allocator, or libcurl's default (someone initialised it first)
        "allocator": "lunge" if LC.own_alloc else "default",
    }


def platform():
    """The platform pieces this build uses (`lunge --version`): where one has no equivalent
    on this OS (Windows: the allocator, sub-millisecond waits), the plain path runs instead.
    Call after load_libcurl() for the waits and allocator actually in use."""
    waits = LUNGE_WAITS.decode()
    if LUNGE_WAITFDS and LC.dl != NULL and LC.multi_waitfds == NULL:
        waits = "whole milliseconds (curl_multi_poll: this libcurl, before 8.8, has no curl_multi_waitfds)"
    return {
        "clock": LUNGE_CLOCK.decode(),
        "waits": waits,
        # lunge_alloc.h is built only with glibc; in use only if the engine initialised libcurl
        "allocator_built": bool(LUNGE_ALLOC),
        "allocator": "lunge" if LC.own_alloc else "default",
    }


cdef class Engine:
    """One load loop. Construct with the request and limits, run() once (in a thread),
    stop()/abort() from any thread, results() after run() returns."""

    cdef CURLM *multi
    cdef Slot *slots
    cdef int nslots
    cdef curl_slist *headers
    cdef curl_slist *resolve
    cdef object keep           # Python bytes the easy handles point into
    cdef uint64_t iterations   # 0: unbounded
    cdef uint64_t duration_ns  # 0: unbounded
    cdef uint64_t deadline     # no issuing from then on (UINT64_MAX: none yet)
    cdef uint64_t grace_ns
    cdef Times times
    cdef Live live
    cdef Ring ring
    cdef int stop_flag
    cdef int abort_flag
    cdef int state             # ENGINE_NEW, ENGINE_RUNNING, ENGINE_DONE
    cdef CURLMcode fatal
    cdef lunge_hist *phase[NPHASES]
    cdef lunge_hist *h_response
    cdef lunge_hist *h_service    # open model: from the actual send
    cdef lunge_hist *h_lag        # open model: actual send - scheduled send
    cdef lunge_hist *h_jitter     # open model: |interval between sends - scheduled interval|
    cdef uint64_t prev_sent
    cdef uint64_t prev_sched
    cdef uint64_t timeout_ns      # 0: none
    cdef uint64_t next_expiry     # no transfer times out before this (UINT64_MAX: none)
    cdef uint64_t reused          # responses on a reused connection: DNS, connect, TLS zeros to record
    cdef int *free_stack          # idle slots
    cdef int nfree
    # open model: cumulative schedule, request k is due when it reaches k
    cdef bint open_model
    cdef double *sch_t            # ns since start
    cdef double *sch_n            # requests due by then
    cdef int sch_len
    cdef int sch_seg
    cdef uint64_t next_due        # UINT64_MAX once the schedule is exhausted
    cdef uint64_t late_sends
    cdef uint64_t max_lag
    # closed model ramps: target connections, a step function of time
    cdef double *cc_t
    cdef int *cc_n
    cdef int cc_len
    cdef int cc_seg
    # warmup
    cdef uint64_t warmup_ns
    cdef uint64_t warmup_n
    cdef uint64_t warm_failures
    cdef uint64_t warm_issued
    cdef curl_waitfd *wfds
    cdef unsigned int wfds_cap
    cdef Totals totals
    cdef object hists          # name -> Histogram (owning the native memory)
    # request variants (per-iteration values pre-rendered in Python), cycled per issue
    cdef int nvar
    # this engine's j-th request is request (j // group) * round + (j % group) * stride + offset of
    # the whole run (plan.variant_index)
    cdef uint64_t var_stride
    cdef uint64_t var_offset
    cdef uint64_t var_group
    cdef uint64_t var_round
    cdef CURLU **var_url
    cdef curl_slist **var_headers
    cdef const char **var_body
    cdef curl_off_t *var_len
    # backoff on errors: no new request before hold_until
    cdef uint64_t backoff_base
    cdef uint64_t backoff_max
    cdef uint64_t hold_until
    cdef int error_streak
    cdef bint quic                # --http3 / --http3-fallback: transfers may go over QUIC
    cdef bint ask_version         # ask every response's HTTP version (not only a new connection's)

    def __cinit__(self):
        self.multi = NULL
        self.slots = NULL
        self.headers = NULL
        self.resolve = NULL
        self.free_stack = NULL
        self.sch_t = self.sch_n = self.cc_t = NULL
        self.cc_n = NULL
        self.wfds = NULL
        self.nvar = 0
        self.var_url = NULL
        self.var_headers = NULL
        self.var_body = NULL
        self.var_len = NULL

    def __init__(self, *, str url, str method="GET", headers=(), bytes body=None,
                 int concurrency=1, long long iterations=0, double duration=0.0,
                 double timeout=0.0, double connect_timeout=0.0, double grace=5.0,
                 bint insecure=False, bint http2=False, str http3=None, bint follow=False, int max_redirects=10,
                 resolve=(), str user_agent="lunge", str cacert=None, str cert=None,
                 str key=None, schedule=None, concurrency_steps=None, double warmup=0.0,
                 long long warmup_iterations=0, variants=None, double backoff=0.0,
                 double backoff_max=0.0, variant_stride=1, variant_offset=0, variant_group=1,
                 variant_round=None, long long max_body=0,
                 long low_speed_limit=0, long low_speed_time=0, own_pools=None):
        """schedule: (seconds, cumulative requests) arrays, increasing, from (0, 0): the open
        model's rate plan; the k-th request is due when the cumulative count reaches k.
        concurrency_steps: (seconds, connections) arrays: closed-model ramps.
        warmup / warmup_iterations: requests issued before that time or below that count are
        warmup (counted apart).  iterations counts measured requests only; duration and the
        schedule include the warmup.
        variants: [(url, headers, body)]: request k uses variant k % len (same method), where k
        is the request's index in the whole run: this engine's j-th is (j // group) * round +
        (j % group) * stride + offset (round: stride by default, so j * stride + offset).
        backoff: after a transport error, 429 or 503, no new request for backoff seconds,
        doubling with each error in a row up to backoff_max; a success resets it.
        own_pools: (host, port, address) of the URL's origin, or None: each slot then reaches it
        through a name of its own (CURLOPT_CONNECT_TO, pinned to the address by CURLOPT_RESOLVE),
        so its connection sits alone in libcurl's pool.  libcurl otherwise tests every pooled
        connection to the origin, busy ones included, before it reuses one: per request, work in
        proportion to --concurrency (10 % of libcurl's instructions at 50 connections, a third at
        200).  Same bytes on the wire: Host, SNI and certificate checks follow the URL.
        http3: None, "only" (QUIC or fail: CURL_HTTP_VERSION_3ONLY) or "fallback" (libcurl races
        QUIC against TCP and uses h2/http1.1 if QUIC fails: CURL_HTTP_VERSION_3); an https URL."""
        if LC.dl == NULL:
            raise EngineError("libcurl is not loaded: call lunge.libcurl.load() first")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if http3 is not None and http3 not in HTTP3_MODES:
            raise ValueError(f"http3: {http3!r} is not one of {', '.join(HTTP3_MODES)}")
        self.quic = http3 is not None
        cdef bint multiplex = http2 or self.quic   # streams share connections (h2, QUIC)
        # HTTP/1.x without redirects: a slot's response comes over the connection its last one
        # came over unless this transfer opened one, and a connection keeps its HTTP version: the
        # version is asked once per connection (a getinfo is ~180 instructions, 0.5 % of a
        # request).  Multiplexed streams, redirects and variants (their URLs may name other
        # origins) may land on any connection: asked each time.
        self.ask_version = multiplex or follow or (variants is not None and len(variants) > 1)
        self.iterations = <uint64_t>max(iterations, 0)
        self.duration_ns = <uint64_t>(duration * 1e9)
        self.grace_ns = <uint64_t>(grace * 1e9)
        self.timeout_ns = <uint64_t>(timeout * 1e9) if timeout > 0 else 0
        self.next_expiry = UINT64_MAX
        self.nslots = concurrency
        self.keep = []
        self.hists = {}
        cdef Histogram hobj
        for i, name in enumerate(HISTOGRAMS):
            hobj = Histogram()
            self.hists[name] = hobj
            if i == 0:
                self.h_response = hobj.h
            elif i == 1:
                self.h_service = hobj.h
            elif i == 2:
                self.h_lag = hobj.h
            elif i == 3:
                self.h_jitter = hobj.h
            else:
                self.phase[i - 4] = hobj.h
        self.free_stack = <int *>calloc(concurrency, sizeof(int))
        self.wfds_cap = concurrency + 32
        self.wfds = <curl_waitfd *>calloc(self.wfds_cap, sizeof(curl_waitfd))
        if self.free_stack == NULL or self.wfds == NULL:
            raise MemoryError()
        for i in range(concurrency):
            self.free_stack[i] = concurrency - 1 - i   # slot 0 on top
        self.nfree = concurrency
        self.warmup_ns = <uint64_t>(warmup * 1e9)
        self.warmup_n = <uint64_t>max(warmup_iterations, 0)
        if schedule is not None:
            ts, ns = (np.ascontiguousarray(a, dtype=np.float64) for a in schedule)
            if len(ts) < 2 or len(ts) != len(ns) or np.any(np.diff(ts) < 0) or np.any(np.diff(ns) < 0) \
                    or ts[0] != 0 or ns[0] != 0:
                raise ValueError("schedule: need increasing (seconds, cumulative) arrays from (0, 0)")
            self.open_model = True
            self.sch_len = len(ts)
            self.sch_t = <double *>calloc(self.sch_len, sizeof(double))
            self.sch_n = <double *>calloc(self.sch_len, sizeof(double))
            if self.sch_t == NULL or self.sch_n == NULL:
                raise MemoryError()
            for i in range(self.sch_len):
                self.sch_t[i] = ts[i] * 1e9
                self.sch_n[i] = ns[i]
        if concurrency_steps is not None:
            ts, cs = concurrency_steps
            self.cc_len = len(ts)
            self.cc_t = <double *>calloc(self.cc_len, sizeof(double))
            self.cc_n = <int *>calloc(self.cc_len, sizeof(int))
            if self.cc_t == NULL or self.cc_n == NULL:
                raise MemoryError()
            for i in range(self.cc_len):
                self.cc_t[i] = float(ts[i]) * 1e9
                self.cc_n[i] = min(max(int(cs[i]), 0), concurrency)
        if ring_alloc(&self.ring) < 0:
            raise MemoryError()

        self.multi = LC.multi_init()
        if self.multi == NULL:
            raise EngineError("curl_multi_init failed")
        lc_multi_setopt_long(self.multi, CURLMOPT_MAXCONNECTS, concurrency + 8)
        lc_multi_setopt_long(self.multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX if multiplex else CURLPIPE_NOTHING)

        for h in headers:
            self.headers = LC.slist_append(self.headers, self._cstr(h))
        for r in resolve:
            self.resolve = LC.slist_append(self.resolve, self._cstr(r))
        cdef bytes burl = self._keep(url)
        self.slots = <Slot *>calloc(concurrency, sizeof(Slot))
        if self.slots == NULL:
            raise MemoryError()
        cdef Slot *s
        cdef CURL *e
        cdef CURLUcode uc
        cdef long version = CURL_HTTP_VERSION_1_1
        if self.quic:
            version = CURL_HTTP_VERSION_3ONLY if http3 == "only" else CURL_HTTP_VERSION_3
        elif http2:
            version = CURL_HTTP_VERSION_2TLS if url.lower().startswith("https:") else CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
        method = method.upper()
        for i in range(concurrency):
            s = &self.slots[i]
            s.index = i
            s.version = -1
            s.url = LC.url()
            uc = LC.url_set(s.url, CURLUPART_URL, burl, 0)
            if uc != 0:
                raise ValueError(f"URL {url!r}: {LC.url_strerror(uc).decode()}")
            e = s.easy = LC.easy_init()
            if e == NULL:
                raise EngineError("curl_easy_init failed")
            self._opt(lc_setopt_ptr(e, CURLOPT_CURLU, s.url), "url")
            self._opt(lc_setopt_write(e, _discard), "write callback")
            lc_setopt_ptr(e, CURLOPT_WRITEDATA, s)
            lc_setopt_ptr(e, CURLOPT_PRIVATE, s)
            lc_setopt_sockopt(e, _opened)
            lc_setopt_ptr(e, CURLOPT_SOCKOPTDATA, s)
            # libcurl 7.80+; older ones resend unseen (CURLE_UNKNOWN_OPTION is ignored)
            lc_setopt_prereq(e, _prereq)
            lc_setopt_ptr(e, CURLOPT_PREREQDATA, s)
            lc_setopt_ptr(e, CURLOPT_ERRORBUFFER, s.errbuf)
            lc_setopt_long(e, CURLOPT_NOSIGNAL, 1)
            # No proxy, and no proxy-environment look-ups per request (libcurl 8 reads
            # no_proxy/NO_PROXY for every transfer unless CURLOPT_NOPROXY is set).
            lc_setopt_ptr(e, CURLOPT_PROXY, <const char *>"")
            lc_setopt_ptr(e, CURLOPT_NOPROXY, <const char *>"*")
            # The host is resolved once (CURLOPT_RESOLVE): keep it, and skip the DNS-cache
            # pruning libcurl otherwise does on every transfer.
            lc_setopt_long(e, CURLOPT_DNS_CACHE_TIMEOUT, -1)
            lc_setopt_long(e, CURLOPT_TCP_NODELAY, 1)
            self._opt(lc_setopt_long(e, CURLOPT_HTTP_VERSION, version),
                      "HTTP/3 (this libcurl has none)" if self.quic else
                      "HTTP/2 (this libcurl has none)" if http2 else "HTTP version")
            if multiplex:
                lc_setopt_long(e, CURLOPT_PIPEWAIT, 1)
            if user_agent:  # "": the request's own User-Agent header (or none) goes out as given
                lc_setopt_ptr(e, CURLOPT_USERAGENT, self._cstr(user_agent))
            if self.headers != NULL:
                lc_setopt_ptr(e, CURLOPT_HTTPHEADER, self.headers)
            if own_pools:
                self._own_pool(s, own_pools[0], own_pools[1], own_pools[2])
            elif self.resolve != NULL:
                lc_setopt_ptr(e, CURLOPT_RESOLVE, self.resolve)
            if max_body > 0:  # larger responses fail as invalid_response (CURLE_FILESIZE_EXCEEDED)
                lc_setopt_off(e, CURLOPT_MAXFILESIZE_LARGE, max_body)
            if low_speed_limit > 0:  # slower than this for low_speed_time seconds: a timeout
                lc_setopt_long(e, CURLOPT_LOW_SPEED_LIMIT, low_speed_limit)
                lc_setopt_long(e, CURLOPT_LOW_SPEED_TIME, low_speed_time if low_speed_time > 0 else 30)
            if connect_timeout > 0:
                # (a C long is 32 bits on Windows: past 24.8 days, as good as no limit)
                lc_setopt_long(e, CURLOPT_CONNECTTIMEOUT_MS, <long>min(connect_timeout * 1000, 2147483647.0))
            if insecure:
                lc_setopt_long(e, CURLOPT_SSL_VERIFYPEER, 0)
                lc_setopt_long(e, CURLOPT_SSL_VERIFYHOST, 0)
            if cacert:
                lc_setopt_ptr(e, CURLOPT_CAINFO, self._cstr(cacert))
            if cert:
                lc_setopt_ptr(e, CURLOPT_SSLCERT, self._cstr(cert))
            if key:
                lc_setopt_ptr(e, CURLOPT_SSLKEY, self._cstr(key))
            if follow:
                lc_setopt_long(e, CURLOPT_FOLLOWLOCATION, 1)
                lc_setopt_long(e, CURLOPT_MAXREDIRS, max_redirects)
            if method == "HEAD":
                lc_setopt_long(e, CURLOPT_NOBODY, 1)
            elif method != "GET" and not (method == "POST" and body is not None):
                lc_setopt_ptr(e, CURLOPT_CUSTOMREQUEST, self._cstr(method))
            if body is not None:
                self.keep.append(body)
                lc_setopt_off(e, CURLOPT_POSTFIELDSIZE_LARGE, len(body))
                lc_setopt_ptr(e, CURLOPT_POSTFIELDS, <const char *>body)
        self.backoff_base = <uint64_t>(backoff * 1e9)
        self.backoff_max = <uint64_t>(max(backoff_max, backoff) * 1e9)
        self.var_stride = variant_stride
        self.var_offset = variant_offset
        self.var_group = max(variant_group, 1)
        self.var_round = variant_stride if variant_round is None else variant_round
        if variants:
            self._set_variants(variants, body is not None)

    cdef _set_variants(self, variants, bint has_body):
        cdef int n = len(variants), i
        cdef bytes b
        self.var_url = <CURLU **>calloc(n, sizeof(CURLU *))
        self.var_headers = <curl_slist **>calloc(n, sizeof(curl_slist *))
        self.var_body = <const char **>calloc(n, sizeof(char *))
        self.var_len = <curl_off_t *>calloc(n, sizeof(curl_off_t))
        if self.var_url == NULL or self.var_headers == NULL or self.var_body == NULL or self.var_len == NULL:
            raise MemoryError()
        self.nvar = n
        for i, (url, headers, body) in enumerate(variants):
            self.var_url[i] = LC.url()
            uc = LC.url_set(self.var_url[i], CURLUPART_URL, self._cstr(url), 0)
            if uc != 0:
                raise ValueError(f"URL {url!r}: {LC.url_strerror(uc).decode()}")
            for h in headers:
                self.var_headers[i] = LC.slist_append(self.var_headers[i], self._cstr(h))
            if (body is not None) != has_body:
                raise ValueError("variants: every variant has a body, or none")
            if body is not None:
                b = body
                self.keep.append(b)
                self.var_body[i] = <const char *>b
                self.var_len[i] = len(b)

    cdef _own_pool(self, Slot *s, str host, int port, str address):
        cdef str name = f"{OWN_POOL_PREFIX}{s.index}{OWN_POOL_SUFFIX}"  # .invalid: never a real host
        cdef str h = f"[{host}]" if ":" in host else host
        cdef str a = f"[{address}]" if ":" in address else address
        cdef curl_slist *r = self.resolve
        s.route = LC.slist_append(NULL, self._cstr(f"{h}:{port}:{name}:{port}"))
        s.pin = LC.slist_append(NULL, self._cstr(f"{name}:{port}:{a}"))
        while r != NULL and s.pin != NULL:  # the host stays pinned for its other ports (redirects, variants)
            s.pin = LC.slist_append(s.pin, r.data)
            r = r.next
        if s.route == NULL or s.pin == NULL:
            raise MemoryError()
        self._opt(lc_setopt_ptr(s.easy, CURLOPT_CONNECT_TO, s.route), "connect-to")
        self._opt(lc_setopt_ptr(s.easy, CURLOPT_RESOLVE, s.pin), "resolve")

    cdef bytes _keep(self, str text):
        cdef bytes b = text.encode()
        self.keep.append(b)
        return b

    cdef const char *_cstr(self, str text) except NULL:
        # The bytes stay referenced in self.keep for as long as the handles live.
        cdef bytes b = self._keep(text)
        return <const char *>b

    cdef _opt(self, CURLcode rc, str what):
        if rc != CURLE_OK:
            raise ValueError(f"{what}: {LC.easy_strerror(rc).decode()}")

    def __dealloc__(self):
        cdef int i
        if self.slots != NULL:
            for i in range(self.nslots):
                if self.slots[i].easy != NULL:
                    if self.slots[i].active and self.multi != NULL:
                        LC.multi_remove_handle(self.multi, self.slots[i].easy)
                    LC.easy_cleanup(self.slots[i].easy)
                if self.slots[i].url != NULL:
                    LC.url_cleanup(self.slots[i].url)
                if self.slots[i].route != NULL:
                    LC.slist_free_all(self.slots[i].route)
                if self.slots[i].pin != NULL:
                    LC.slist_free_all(self.slots[i].pin)
            free(self.slots)
        if self.multi != NULL:
            LC.multi_cleanup(self.multi)
        if self.headers != NULL:
            LC.slist_free_all(self.headers)
        if self.resolve != NULL:
            LC.slist_free_all(self.resolve)
        ring_free(&self.ring)
        free(self.free_stack)
        free(self.sch_t)
        free(self.sch_n)
        free(self.cc_t)
        free(self.cc_n)
        free(self.wfds)
        for i in range(self.nvar):
            if self.var_url[i] != NULL:
                LC.url_cleanup(self.var_url[i])
            if self.var_headers[i] != NULL:
                LC.slist_free_all(self.var_headers[i])
        free(self.var_url)
        free(self.var_headers)
        free(self.var_body)
        free(self.var_len)

    # ------------------------------------------------------------------ the loop
    cdef inline bint _may_issue(self, uint64_t now) noexcept nogil:
        if la_get_int(&self.stop_flag):
            return False
        if self.iterations and la_get(&self.live.issued) - self.warm_issued >= self.iterations:
            return False
        if now >= self.deadline:
            return False
        if self.open_model and self.next_due == UINT64_MAX:
            return False
        return True

    cdef inline void _advance_due(self) noexcept nogil:
        # Due time of request k = issued so far: walk the schedule (monotone, so amortised O(1)).
        cdef double k = <double>la_get(&self.live.issued)
        cdef double n0, n1
        while self.sch_seg + 1 < self.sch_len and self.sch_n[self.sch_seg + 1] <= k:
            self.sch_seg += 1
        if self.sch_seg + 1 >= self.sch_len:
            self.next_due = UINT64_MAX
            return
        n0 = self.sch_n[self.sch_seg]
        n1 = self.sch_n[self.sch_seg + 1]
        self.next_due = self.times.t0 + <uint64_t>(self.sch_t[self.sch_seg]
                                                   + (k - n0) / (n1 - n0) * (self.sch_t[self.sch_seg + 1] - self.sch_t[self.sch_seg]))

    cdef inline int _conc_target(self, uint64_t now) noexcept nogil:
        if self.cc_len == 0:
            return self.nslots
        cdef double rel = <double>(now - self.times.t0)
        while self.cc_seg + 1 < self.cc_len and self.cc_t[self.cc_seg + 1] <= rel:
            self.cc_seg += 1
        return self.cc_n[self.cc_seg]

    cdef inline int _issue(self, Slot *s, uint64_t now, uint64_t sched) noexcept nogil:
        cdef uint64_t n = la_get(&self.live.issued)
        cdef uint64_t lag
        s.sched_ns = sched
        s.sent_ns = now
        if self.timeout_ns and now + self.timeout_ns < self.next_expiry:
            self.next_expiry = now + self.timeout_ns
        s.body_bytes = 0
        s.sent_hdr = -1
        s.errbuf[0] = 0
        s.warm = (sched - self.times.t0 < self.warmup_ns) or (n < self.warmup_n)
        cdef int v
        if self.nvar > 1:  # three setopts: the variant's URL, headers and body
            v = <int>(((n // self.var_group) * self.var_round + (n % self.var_group) * self.var_stride
                       + self.var_offset) % <uint64_t>self.nvar)
            lc_setopt_ptr(s.easy, CURLOPT_CURLU, self.var_url[v])
            lc_setopt_ptr(s.easy, CURLOPT_HTTPHEADER, self.var_headers[v])
            if self.var_body[v] != NULL:
                lc_setopt_off(s.easy, CURLOPT_POSTFIELDSIZE_LARGE, self.var_len[v])
                lc_setopt_ptr(s.easy, CURLOPT_POSTFIELDS, self.var_body[v])
        cdef CURLMcode mc = LC.multi_add_handle(self.multi, s.easy)
        if mc != CURLM_OK:
            self.fatal = mc
            return -1
        s.active = 1
        if s.warm:
            self.warm_issued += 1
        else:
            if self.times.first_send == 0:
                self.times.first_send = sched
                if self.warmup_n and self.duration_ns:  # a counted warmup: the duration starts now
                    self.deadline = sched + self.duration_ns
            if self.open_model:
                lag = now - sched
                lh_record(self.h_lag, lag)
                if lag > LATE_SEND_NS:
                    self.late_sends += 1
                if lag > self.max_lag:
                    self.max_lag = lag
                if self.prev_sent:  # jitter: each interval between sends against the scheduled one
                    lag = (now - self.prev_sent) - (sched - self.prev_sched)
                    lh_record(self.h_jitter, lag if <int64_t>lag >= 0 else 0 - lag)
                self.prev_sent = now
                self.prev_sched = sched
        la_set(&self.live.issued, n + 1)
        la_bump(&self.live.in_flight, 1)
        return 0

    cdef inline int _fill(self, uint64_t now) noexcept nogil:
        # Hand idle slots to libcurl: in the open model each due request takes one (if none
        # is idle, it waits, and its latency still counts from its due time); in the closed
        # model, up to the target number of connections.
        cdef Slot *s
        if now < self.hold_until:  # backing off after errors
            return 0
        if self.open_model:
            while self.nfree > 0 and self.next_due <= now and self._may_issue(now):
                self.nfree -= 1
                s = &self.slots[self.free_stack[self.nfree]]
                if self._issue(s, now, self.next_due) < 0:
                    return -1
                self._advance_due()
        else:
            while self.nfree > 0 and <int>la_get(&self.live.in_flight) < self._conc_target(now) \
                    and self._may_issue(now):
                self.nfree -= 1
                if self._issue(&self.slots[self.free_stack[self.nfree]], now, now) < 0:
                    return -1
        return 0

    cdef inline void _release(self, Slot *s) noexcept nogil:
        LC.multi_remove_handle(self.multi, s.easy)
        s.active = 0
        self.free_stack[self.nfree] = s.index
        self.nfree += 1
        la_set(&self.live.in_flight, la_get(&self.live.in_flight) - 1)

    cdef inline void _complete(self, Slot *s, CURLcode res, uint64_t now) noexcept nogil:
        cdef CURL *e = s.easy
        cdef uint64_t latency = now - s.sched_ns   # from the due time: no coordinated omission
        cdef uint64_t nbytes = s.body_bytes
        cdef long status = 0
        cdef int sclass = SC_ERROR, cls
        cdef bint failed = True
        cdef const char *msg
        cdef long new_conns = 0
        if s.opened:
            new_conns = lc_info_long(e, CURLINFO_NUM_CONNECTS)
            s.opened = 0
        ring_roll(&self.ring, self.times.t0, now)
        if s.warm:
            la_bump(&self.live.warm_completed, 1)
            status = lc_info_long(e, CURLINFO_RESPONSE_CODE) if res == CURLE_OK else 0
            if res != CURLE_OK or status >= 400:
                self.warm_failures += 1
            self._note(res != CURLE_OK or status == 429 or status == 503, now)
            self._release(s)
            return
        cdef Second *sec = &self.ring.s[self.ring.cur]
        if res == CURLE_OK:
            status = lc_info_long(e, CURLINFO_RESPONSE_CODE)
            nbytes += <uint64_t>lc_info_long(e, CURLINFO_HEADER_SIZE)
            lh_record(self.h_response, latency)
            lh_record(sec.hist, latency)
            if self.open_model:
                lh_record(self.h_service, now - s.sent_ns)
            breakdown(self.phase, &self.reused, e, new_conns)
            if new_conns or s.version < 0 or self.ask_version:
                s.version = version_slot(lc_info_long(e, CURLINFO_HTTP_VERSION))
            if s.version >= 0:
                la_bump(&self.live.versions[s.version], 1)
            if 100 <= status < 600:
                self.totals.status_counts[status] += 1
                sclass = status // 100
            else:
                self.totals.status_counts[0] += 1
                sclass = SC_5XX
            failed = status >= 400
        else:
            cls = transfer_error(e, res, s.errbuf, new_conns, self.quic, &msg)
            lh_record(self.phase[P_ERROR], now - s.sent_ns)
            failure(&self.totals, cls, res, msg)
        la_bump(&self.live.connections, <uint64_t>new_conns)
        count(sec, &self.live, sclass, failed, nbytes)
        self._note(res != CURLE_OK or status == 429 or status == 503, now)
        self._release(s)

    cdef inline void _note(self, bint bad, uint64_t now) noexcept nogil:
        # Exponential backoff: each error in a row doubles the pause before new requests.
        cdef uint64_t d
        if self.backoff_base == 0:
            return
        if not bad:
            self.error_streak = 0
            return
        self.error_streak += 1
        d = self.backoff_base << (self.error_streak - 1 if self.error_streak < 21 else 20)
        if d > self.backoff_max:
            d = self.backoff_max
        if now + d > self.hold_until:
            self.hold_until = now + d

    cdef void _expire(self, uint64_t now) noexcept nogil:
        # --timeout is enforced here, not by libcurl: CURLOPT_TIMEOUT_MS costs a timer insert
        # and removal per transfer (~600 instructions).  Deadlines follow send order, so the
        # scan runs about once per timeout period, or when a transfer really expires.
        cdef uint64_t nxt = UINT64_MAX, d
        cdef Slot *s
        if now < self.next_expiry:
            return
        for i in range(self.nslots):
            s = &self.slots[i]
            if not s.active:
                continue
            d = s.sent_ns + self.timeout_ns
            if d <= now:
                timeout_message(s.errbuf, s.easy, now - s.sent_ns, s.body_bytes)
                self._complete(s, CURLE_OPERATION_TIMEDOUT, now)
            elif d < nxt:
                nxt = d
        self.next_expiry = nxt

    cdef int _loop(self) noexcept nogil:
        cdef uint64_t now = lunge_now_ns()
        cdef uint64_t wait_ns, limit
        cdef int running = 0, queued = 0, i
        cdef CURLMsg *msg
        cdef CURLMcode mc
        cdef Slot *s
        lunge_fine_timer_slack()
        self.times.t0 = now
        self.times.wall0 = lunge_wall_ns()
        self.deadline = UINT64_MAX
        if self.duration_ns and not self.warmup_n:
            self.deadline = now + self.duration_ns
        ring_start(&self.ring, now)
        if self.open_model:
            self._advance_due()
        if self._fill(now) < 0:
            return -1
        while True:
            mc = LC.multi_perform(self.multi, &running)
            if mc != CURLM_OK:
                self.fatal = mc
                break
            # One clock read per wake-up: the transfers below all ended inside that perform.
            now = lunge_now_ns()
            while True:
                msg = LC.multi_info_read(self.multi, &queued)
                if msg == NULL:
                    break
                if msg.msg != CURLMSG_DONE:
                    continue
                s = <Slot *>lc_info_ptr(msg.easy_handle, CURLINFO_PRIVATE)
                self._complete(s, msg.data.result, now)
                if not self.open_model and self._fill(now) < 0:  # closed: re-add at once
                    break
            if self.open_model:  # due sends are judged against a fresh reading
                now = lunge_now_ns()
            ring_roll(&self.ring, self.times.t0, now)
            self._expire(now)
            if self.fatal != CURLM_OK or self._fill(now) < 0:
                break
            if self.times.issue_end == 0 and not self._may_issue(now):
                end_issuing(&self.times, &self.live, now)
            if la_get(&self.live.in_flight) == 0 and self.times.issue_end != 0:
                break
            if la_get_int(&self.abort_flag):
                break
            if self.times.issue_end != 0 and now >= self.times.issue_end + self.grace_ns:
                break
            # Sleep until libcurl has work, or the next due send, second, ramp step,
            # deadline or grace end.
            wait_ns = self.ring.next_boundary - now
            if self.times.issue_end == 0:
                if self.hold_until > now and self.hold_until - now < wait_ns:
                    wait_ns = self.hold_until - now
                if self.deadline != UINT64_MAX and self.deadline > now and self.deadline - now < wait_ns:
                    wait_ns = self.deadline - now
                if self.open_model and self.nfree > 0 and self.next_due != UINT64_MAX:
                    limit = self.next_due if self.next_due > self.hold_until else self.hold_until
                    wait_ns = 0 if limit <= now else min(wait_ns, limit - now)
                if self.cc_len and self.cc_seg + 1 < self.cc_len:
                    limit = self.times.t0 + <uint64_t>self.cc_t[self.cc_seg + 1]
                    if limit > now and limit - now < wait_ns:
                        wait_ns = limit - now
            else:
                limit = self.times.issue_end + self.grace_ns
                if limit > now and limit - now < wait_ns:
                    wait_ns = limit - now
            if self.next_expiry > now and self.next_expiry - now < wait_ns:
                wait_ns = self.next_expiry - now
            mc = multi_wait(self.multi, self.wfds, self.wfds_cap, wait_ns, self.open_model)
            if mc != CURLM_OK:
                self.fatal = mc
                break
        # Whatever is still in flight (grace over, abort, or a multi failure) is aborted, and counted.
        now = lunge_now_ns()
        end_issuing(&self.times, &self.live, now)
        ring_roll(&self.ring, self.times.t0, now)
        for i in range(self.nslots):
            s = &self.slots[i]
            if s.active:
                if not s.warm:
                    failure(&self.totals, C_ABORTED, -1, b"in flight when the run ended (grace period over or aborted)")
                    count(&self.ring.s[self.ring.cur], &self.live, SC_ERROR, True, s.body_bytes)
                    if s.opened:  # the connection libcurl opened for it counts, answered or not
                        la_bump(&self.live.connections, <uint64_t>lc_info_long(s.easy, CURLINFO_NUM_CONNECTS))
                s.opened = 0
                self._release(s)
        self.times.t_end = now
        breakdown_end(self.phase, self.reused)
        ring_end(&self.ring)
        return 0 if self.fatal == CURLM_OK else -1

    # ------------------------------------------------------------------ Python side
    def run(self):
        """Run the load loop to its end (blocks; call it in a thread). Releases the GIL."""
        if self.state != ENGINE_NEW:
            raise EngineError("an Engine runs once")
        self.state = ENGINE_RUNNING
        cdef int rc
        with nogil:
            rc = self._loop()
        la_set_int(&self.state, ENGINE_DONE)
        if rc != 0:
            raise EngineError(f"curl multi: {LC.multi_strerror(self.fatal).decode()}")

    def stop(self):
        """Stop issuing; in-flight requests finish within the grace period."""
        la_set_int(&self.stop_flag, 1)
        if self.multi != NULL:
            LC.multi_wakeup(self.multi)

    def abort(self):
        """Stop now: in-flight requests are abandoned and counted as `aborted`."""
        la_set_int(&self.stop_flag, 1)
        la_set_int(&self.abort_flag, 1)
        if self.multi != NULL:
            LC.multi_wakeup(self.multi)

    @property
    def running(self):
        return la_get_int(&self.state) == ENGINE_RUNNING

    def snapshot(self):
        """Live counters (a contract.Snapshot), read without stopping the loop."""
        return live_snapshot(&self.live, lunge_now_ns(), self.times.t0)

    def harvest(self):
        """Closed seconds since the last call (contract.HarvestedSecond, in order), each with
        its latency histogram in sparse form, and hand their slots back to the engine."""
        return ring_harvest(&self.ring)

    def results(self):
        """Everything measured (a contract.EngineResults), once run() has returned."""
        if la_get_int(&self.state) != ENGINE_DONE:
            raise EngineError("results() before the run ended")
        return EngineResults(
            **totals(&self.times, &self.live, &self.totals, &self.ring, OWN_POOL_VIA),
            open_model=bool(self.open_model),
            late_sends=self.late_sends,
            max_lag_ns=self.max_lag,
            warmup_issued=self.warm_issued,
            warmup_completed=self.live.warm_completed,
            warmup_failures=self.warm_failures,
            histograms=dict(self.hists),
        )

