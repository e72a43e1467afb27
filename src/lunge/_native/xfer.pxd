# What Engine (engine.pyx) and FlowEngine (flow.pyx) share about one transfer: the error
# classes of contract.ERROR_CLASSES and how a failed transfer maps to them, the resend guard
# behind both engines' CURLOPT_PREREQFUNCTION, the timeout message, libcurl's timing breakdown,
# and the loop's wait for libcurl's sockets.
# cdef inline: compiled into each module, so the engines' hot paths pay no call across modules.
# (What the engines count for Python is tally.pxd.)
from libc.stdint cimport uint64_t
from libc.stdio cimport snprintf
from libc.string cimport strstr

from lunge._native.curl cimport *
from lunge._native.hist cimport lunge_hist, lh_record, lh_record_zeros
from lunge._native.system cimport lunge_wait_fds

# Error classes, by index (contract.ERROR_CLASSES): what a CURLcode means for a load test.
cdef enum:
    C_REFUSED, C_TIMEOUT, C_DNS, C_TLS, C_RESET, C_CLOSED, C_QUIC, C_INVALID, C_REDIRECTS, C_OTHER, C_ABORTED
cdef enum:
    NCLASSES = 11

# Timing phases, by index (contract.PHASES): libcurl's breakdown, per response; time to failure.
cdef enum:
    P_DNS, P_CONNECT, P_TLS, P_TTFB, P_TRANSFER, P_TOTAL, P_ERROR
cdef enum:
    NPHASES = 7

# HTTP versions of responses, by index (contract.HTTP_VERSIONS): 1.0, 1.1, 2, 3.
cdef enum:
    NVERSIONS = 4


cdef inline int version_slot(long v) noexcept nogil:
    # CURLINFO_HTTP_VERSION's value (CURL_HTTP_VERSION_*) to its HTTP_VERSIONS slot; -1: none.
    if v == CURL_HTTP_VERSION_1_1:
        return 1
    if v == CURL_HTTP_VERSION_2_0:
        return 2
    if v == CURL_HTTP_VERSION_3:
        return 3
    if v == CURL_HTTP_VERSION_1_0:
        return 0
    return -1


cdef inline int error_class(CURLcode code, const char *msg, bint quic) noexcept nogil:
    # Mostly the CURLcode; libcurl's message settles the codes that several faults share.
    # quic: the transfer may go over QUIC (--http3, --http3-fallback).
    if code == CURLE_QUIC_CONNECT_ERROR:
        return C_QUIC
    if quic and (code == CURLE_SEND_ERROR or code == CURLE_RECV_ERROR) and msg != NULL \
            and strstr(msg, "Failed to connect to") != NULL:
        # A send or receive that failed while connecting is QUIC's (TCP's failures to connect
        # are COULDNT_CONNECT): a closed UDP port answers with an ICMP port unreachable, which
        # libcurl 8.23 reports as "Failed to connect to H:P after 0 ms: Failed sending data to
        # the peer".  With --http3-fallback, when the TCP attempt was refused too, libcurl's
        # message is that one's ("... Could not connect to server"): connection_refused.
        if strstr(msg, "Could not connect to server") != NULL:
            return C_REFUSED
        return C_QUIC
    if code == CURLE_RECV_ERROR and msg != NULL:  # a broken chunk or a TLS alert is not a reset
        # nor are response headers over libcurl's limits ("Too large response headers: N > M")
        if strstr(msg, "chunk") != NULL or strstr(msg, "response headers") != NULL:
            return C_INVALID
        if strstr(msg, "SSL") != NULL or strstr(msg, "alert") != NULL:
            return C_TLS
    if code == CURLE_COULDNT_CONNECT:
        return C_REFUSED
    if code == CURLE_OPERATION_TIMEDOUT:
        return C_TIMEOUT
    if code == CURLE_COULDNT_RESOLVE_PROXY or code == CURLE_COULDNT_RESOLVE_HOST:
        return C_DNS
    if code in (CURLE_SSL_CONNECT_ERROR, CURLE_OBSOLETE51, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
                CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_PEER_FAILED_VERIFICATION, CURLE_USE_SSL_FAILED,
                CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_SHUTDOWN_FAILED,
                CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
                CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT):
        return C_TLS
    # The server read the request and closed without a byte of answer: "Empty reply from
    # server" on a new connection; on a reused one, libcurl's resend that the prereq guard stopped.
    if code == CURLE_GOT_NOTHING or code == CURLE_ABORTED_BY_CALLBACK:
        return C_CLOSED
    if code in (CURLE_PARTIAL_FILE, CURLE_SEND_ERROR, CURLE_RECV_ERROR):
        return C_RESET
    # UNSUPPORTED_PROTOCOL: only a response can cause it (URL schemes are checked before the
    # run): "Received HTTP/0.9", an unknown HTTP version.  FILESIZE_EXCEEDED: --max-body.
    if code in (CURLE_UNSUPPORTED_PROTOCOL, CURLE_WEIRD_SERVER_REPLY, CURLE_HTTP2, CURLE_BAD_CONTENT_ENCODING,
                CURLE_FILESIZE_EXCEEDED, CURLE_HTTP2_STREAM, CURLE_HTTP3, CURLE_TOO_LARGE):
        return C_INVALID
    if code == CURLE_TOO_MANY_REDIRECTS:
        return C_REDIRECTS
    return C_OTHER


cdef inline int prereq_guard(CURL *easy, long *sent_hdr, long *sent_req) noexcept nogil:
    # libcurl calls the prereq callback once per attempt, just before a request goes out.
    # Another attempt of one transfer after an answer is a redirect (-L).  After none, libcurl
    # is resending: the reused connection closed without answering ("Connection died, retrying
    # a fresh connect"), or an HTTP/2 stream was refused.  If the last attempt's request went
    # out, the server may have read it: the resend is stopped here (CURLE_ABORTED_BY_CALLBACK,
    # counted as connection_closed), so that one request counted is one request sent and a POST
    # body never goes out twice.  If nothing went out (a write to a connection already dead),
    # this attempt is the request's first on the wire: it goes.  *sent_hdr < 0: first attempt.
    cdef long h, q
    if sent_hdr[0] < 0:  # the transfer's first attempt: no getinfo on this path
        sent_hdr[0] = 0
        sent_req[0] = 0
        return CURL_PREREQFUNC_OK
    h = lc_info_long(easy, CURLINFO_HEADER_SIZE)   # response headers so far in this transfer
    q = lc_info_long(easy, CURLINFO_REQUEST_SIZE)  # request bytes sent so far
    if h == sent_hdr[0] and q != sent_req[0]:
        return CURL_PREREQFUNC_ABORT
    sent_hdr[0] = h
    sent_req[0] = q
    return CURL_PREREQFUNC_OK


cdef inline int transfer_error(CURL *e, CURLcode res, const char *errbuf, long new_conns, bint quic,
                               const char **msg) noexcept nogil:
    # A failed transfer's error class (C_*), and in *msg its message: libcurl's (errbuf), else
    # the CURLcode's.  new_conns: connections this transfer opened.
    if errbuf[0] != 0:
        msg[0] = errbuf
    else:
        msg[0] = LC.easy_strerror(res)
    if res == CURLE_ABORTED_BY_CALLBACK:  # prereq_guard's: libcurl's own words would be about the callback
        msg[0] = b"the server closed a reused connection without answering (libcurl's resend was not sent)"
    cdef int cls = error_class(res, msg[0], quic)
    if (cls == C_RESET or res == CURLE_GOT_NOTHING) and new_conns \
            and lc_info_off(e, CURLINFO_APPCONNECT_TIME_T) > 0 and lc_info_long(e, CURLINFO_HEADER_SIZE) == 0:
        # Reset or closed right after this transfer's own TLS handshake, before any
        # response byte: the server refused the TLS session (e.g. a client certificate
        # it requires arrived as a reset or a close instead of an alert).  Not a stopped
        # resend: its new connection was libcurl's doing, not the server's refusal.
        cls = C_TLS
    return cls


cdef inline void timeout_message(char *errbuf, CURL *e, uint64_t waited_ns, uint64_t body_bytes) noexcept nogil:
    # A transfer the engine timed out (not libcurl: CURLOPT_TIMEOUT_MS costs a timer per
    # transfer), in libcurl's words.
    cdef curl_off_t size = lc_info_off(e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T)
    if size >= 0:
        snprintf(errbuf, CURL_ERROR_SIZE, "Operation timed out after %llu milliseconds with %llu out of %lld bytes received",
                 <unsigned long long>(waited_ns // 1000000), <unsigned long long>body_bytes, <long long>size)
    else:
        snprintf(errbuf, CURL_ERROR_SIZE, "Operation timed out after %llu milliseconds with %llu bytes received",
                 <unsigned long long>(waited_ns // 1000000), <unsigned long long>body_bytes)


cdef inline void breakdown(lunge_hist **phase, uint64_t *reused, CURL *e, long new_conns) noexcept nogil:
    # libcurl's times are cumulative microseconds from the transfer's start.  On a reused
    # connection DNS, connect and TLS took no time: skip those getinfo calls (~200
    # instructions each, a few per cent of a request) and count the zeros in *reused, recorded
    # at the end.
    cdef curl_off_t dns, con, app
    if new_conns:
        dns = lc_info_off(e, CURLINFO_NAMELOOKUP_TIME_T)
        con = lc_info_off(e, CURLINFO_CONNECT_TIME_T)
        app = lc_info_off(e, CURLINFO_APPCONNECT_TIME_T)
        lh_record(phase[P_DNS], <uint64_t>dns * 1000)
        lh_record(phase[P_CONNECT], <uint64_t>(con - dns if con > dns else 0) * 1000)
        lh_record(phase[P_TLS], <uint64_t>(app - con if app > con else 0) * 1000)
    else:
        reused[0] += 1
    cdef curl_off_t pre = lc_info_off(e, CURLINFO_PRETRANSFER_TIME_T)
    cdef curl_off_t st = lc_info_off(e, CURLINFO_STARTTRANSFER_TIME_T)
    cdef curl_off_t tot = lc_info_off(e, CURLINFO_TOTAL_TIME_T)
    lh_record(phase[P_TTFB], <uint64_t>(st - pre if st > pre else 0) * 1000)
    lh_record(phase[P_TRANSFER], <uint64_t>(tot - st if tot > st else 0) * 1000)
    lh_record(phase[P_TOTAL], <uint64_t>tot * 1000)


cdef inline void breakdown_end(lunge_hist **phase, uint64_t reused) noexcept nogil:
    # The run is over: the reused connections' zeros, in one step.
    lh_record_zeros(phase[P_DNS], reused)
    lh_record_zeros(phase[P_CONNECT], reused)
    lh_record_zeros(phase[P_TLS], reused)


cdef inline CURLMcode multi_wait(CURLM *multi, curl_waitfd *wfds, unsigned int cap, uint64_t wait_ns,
                                 bint paced) noexcept nogil:
    # Sleep until libcurl has work or wait_ns passed.  paced (the Engine's open model, every
    # flow: sends or wakes are due at set times): waits shorter than 2 ms sleep on libcurl's
    # sockets with ns precision (curl_multi_poll only takes whole milliseconds), and longer ones
    # round down so a due send is not late.  Otherwise curl_multi_poll, rounded up.
    # curl_multi_wakeup interrupts a curl_multi_poll.
    cdef long curl_ms = -1
    cdef unsigned int nfds = 0
    if paced and wait_ns < 2000000 and LC.multi_waitfds != NULL:
        LC.multi_timeout(multi, &curl_ms)
        if curl_ms >= 0 and <uint64_t>curl_ms * 1000000 < wait_ns:
            wait_ns = <uint64_t>curl_ms * 1000000
        if wait_ns == 0:
            return CURLM_OK
        if LC.multi_waitfds(multi, wfds, cap, &nfds) == CURLM_OK:
            lunge_wait_fds(wfds, nfds, wait_ns)
            return CURLM_OK
        return LC.multi_poll(multi, NULL, 0, 0, NULL)
    if paced:
        return LC.multi_poll(multi, NULL, 0, <int>(wait_ns // 1000000), NULL)
    return LC.multi_poll(multi, NULL, 0, <int>((wait_ns + 999999) // 1000000), NULL)
