# What Engine (engine.pyx) and FlowEngine (flow.pyx) share about one transfer: the error
# classes of contract.ERROR_CLASSES and how a CURLcode maps to them, and the resend guard
# behind both engines' CURLOPT_PREREQFUNCTION.  cdef inline: compiled into each module, so
# the engines' hot paths pay no call across modules.
from libc.string cimport strstr

from lunge._native.curl cimport *

# Error classes, by index (contract.ERROR_CLASSES): what a CURLcode means for a load test.
cdef enum:
    C_REFUSED, C_TIMEOUT, C_DNS, C_TLS, C_RESET, C_CLOSED, C_QUIC, C_INVALID, C_REDIRECTS, C_OTHER, C_ABORTED

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
