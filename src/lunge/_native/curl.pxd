# libcurl as the engine reaches it: csrc/lunge_curl.h's types, function table (dlopen'ed, see
# lunge_curl_load) and ABI numbers.  Only what engine.pyx and flow.pyx use; tests/test_curl_abi.py checks
# every number in the header against pycurl's constants and that this file declares no name
# the header lacks.

cdef extern from "lunge_curl.h" nogil:
    ctypedef void CURL
    ctypedef void CURLM
    ctypedef void CURLU
    ctypedef long long curl_off_t
    ctypedef int CURLcode
    ctypedef int CURLMcode
    ctypedef int CURLUcode
    ctypedef int curl_socket_t   # int, or SOCKET (64 bits) on Windows: only passed through

    struct curl_slist:
        char *data
        curl_slist *next

    ctypedef union CURLMsgData:
        CURLcode result

    ctypedef struct CURLMsg:
        int msg
        CURL *easy_handle
        CURLMsgData data

    struct curl_waitfd:   # filled by libcurl, read by lunge_wait_fds: opaque here
        pass

    ctypedef struct curl_version_info_data:
        const char *version
        int features
        const char *ssl_version

    ctypedef size_t (*curl_write_callback)(char *ptr, size_t size, size_t nmemb, void *userdata) noexcept nogil
    ctypedef int (*curl_sockopt_callback)(void *clientp, curl_socket_t curlfd, int purpose) noexcept nogil
    ctypedef size_t (*curl_header_callback)(char *buffer, size_t size, size_t nitems, void *userdata) noexcept nogil
    ctypedef int (*curl_prereq_callback)(void *clientp, char *conn_primary_ip, char *conn_local_ip,
                                         int conn_primary_port, int conn_local_port) noexcept nogil

    ctypedef struct lunge_curl_api:
        void *dl
        int own_alloc
        curl_version_info_data *(*version_info)(int) noexcept nogil
        const char *(*easy_strerror)(CURLcode) noexcept nogil
        CURL *(*easy_init)() noexcept nogil
        void (*easy_cleanup)(CURL *) noexcept nogil
        CURLM *(*multi_init)() noexcept nogil
        CURLMcode (*multi_cleanup)(CURLM *) noexcept nogil
        CURLMcode (*multi_add_handle)(CURLM *, CURL *) noexcept nogil
        CURLMcode (*multi_remove_handle)(CURLM *, CURL *) noexcept nogil
        CURLMcode (*multi_perform)(CURLM *, int *) noexcept nogil
        CURLMcode (*multi_poll)(CURLM *, void *, unsigned int, int, int *) noexcept nogil
        CURLMcode (*multi_wakeup)(CURLM *) noexcept nogil
        CURLMsg *(*multi_info_read)(CURLM *, int *) noexcept nogil
        CURLMcode (*multi_timeout)(CURLM *, long *) noexcept nogil
        CURLMcode (*multi_waitfds)(CURLM *, curl_waitfd *, unsigned int, unsigned int *) noexcept nogil
        const char *(*multi_strerror)(CURLMcode) noexcept nogil
        curl_slist *(*slist_append)(curl_slist *, const char *) noexcept nogil
        void (*slist_free_all)(curl_slist *) noexcept nogil
        CURLU *(*url)() noexcept nogil
        void (*url_cleanup)(CURLU *) noexcept nogil
        CURLUcode (*url_set)(CURLU *, int, const char *, unsigned int) noexcept nogil
        const char *(*url_strerror)(CURLUcode) noexcept nogil

    lunge_curl_api LC
    int lunge_curl_load(const char *path, char *err, size_t errlen)
    CURLcode lc_setopt_long(CURL *h, int opt, long v)
    CURLcode lc_setopt_ptr(CURL *h, int opt, const void *v)
    CURLcode lc_setopt_off(CURL *h, int opt, curl_off_t v)
    CURLcode lc_setopt_write(CURL *h, curl_write_callback cb)
    CURLcode lc_setopt_sockopt(CURL *h, curl_sockopt_callback cb)
    CURLcode lc_setopt_header(CURL *h, curl_header_callback cb)
    CURLcode lc_setopt_prereq(CURL *h, curl_prereq_callback cb)
    CURLMcode lc_multi_setopt_long(CURLM *m, int opt, long v)
    long lc_info_long(CURL *h, int info)
    curl_off_t lc_info_off(CURL *h, int info)
    void *lc_info_ptr(CURL *h, int info)

    enum:
        CURLM_OK
        CURLMSG_DONE
        CURLUPART_URL
        CURL_ERROR_SIZE
        CURL_SOCKOPT_OK
        CURL_PREREQFUNC_OK
        CURL_PREREQFUNC_ABORT

        CURL_VERSION_HTTP2
        CURL_VERSION_HTTP3

        CURLE_OK
        CURLE_UNSUPPORTED_PROTOCOL
        CURLE_COULDNT_RESOLVE_PROXY
        CURLE_COULDNT_RESOLVE_HOST
        CURLE_COULDNT_CONNECT
        CURLE_WEIRD_SERVER_REPLY
        CURLE_HTTP2
        CURLE_PARTIAL_FILE
        CURLE_OPERATION_TIMEDOUT
        CURLE_SSL_CONNECT_ERROR
        CURLE_ABORTED_BY_CALLBACK
        CURLE_TOO_MANY_REDIRECTS
        CURLE_OBSOLETE51
        CURLE_GOT_NOTHING
        CURLE_SSL_ENGINE_NOTFOUND
        CURLE_SSL_ENGINE_SETFAILED
        CURLE_SEND_ERROR
        CURLE_RECV_ERROR
        CURLE_SSL_CERTPROBLEM
        CURLE_SSL_CIPHER
        CURLE_PEER_FAILED_VERIFICATION
        CURLE_BAD_CONTENT_ENCODING
        CURLE_FILESIZE_EXCEEDED
        CURLE_USE_SSL_FAILED
        CURLE_SSL_ENGINE_INITFAILED
        CURLE_SSL_CACERT_BADFILE
        CURLE_SSL_SHUTDOWN_FAILED
        CURLE_SSL_CRL_BADFILE
        CURLE_SSL_ISSUER_ERROR
        CURLE_SSL_PINNEDPUBKEYNOTMATCH
        CURLE_SSL_INVALIDCERTSTATUS
        CURLE_HTTP2_STREAM
        CURLE_HTTP3
        CURLE_QUIC_CONNECT_ERROR
        CURLE_SSL_CLIENTCERT
        CURLE_TOO_LARGE

        CURLOPT_WRITEDATA
        CURLOPT_URL
        CURLOPT_HEADERDATA
        CURLOPT_FRESH_CONNECT
        CURLOPT_FORBID_REUSE
        CURLOPT_HTTPGET
        CURLOPT_PROXY
        CURLOPT_ERRORBUFFER
        CURLOPT_POSTFIELDS
        CURLOPT_USERAGENT
        CURLOPT_HTTPHEADER
        CURLOPT_SSLCERT
        CURLOPT_CUSTOMREQUEST
        CURLOPT_LOW_SPEED_LIMIT
        CURLOPT_LOW_SPEED_TIME
        CURLOPT_NOBODY
        CURLOPT_FOLLOWLOCATION
        CURLOPT_SSL_VERIFYPEER
        CURLOPT_CAINFO
        CURLOPT_MAXREDIRS
        CURLOPT_SSL_VERIFYHOST
        CURLOPT_HTTP_VERSION
        CURLOPT_DNS_CACHE_TIMEOUT
        CURLOPT_SSLKEY
        CURLOPT_NOSIGNAL
        CURLOPT_NOPROXY
        CURLOPT_PRIVATE
        CURLOPT_TCP_NODELAY
        CURLOPT_CONNECTTIMEOUT_MS
        CURLOPT_RESOLVE
        CURLOPT_CONNECT_TO
        CURLOPT_PIPEWAIT
        CURLOPT_CURLU
        CURLOPT_SOCKOPTDATA
        CURLOPT_PREREQDATA
        CURLOPT_MAXFILESIZE_LARGE
        CURLOPT_POSTFIELDSIZE_LARGE

        CURLMOPT_PIPELINING
        CURLMOPT_MAXCONNECTS
        CURLMOPT_MAX_TOTAL_CONNECTIONS
        CURLPIPE_NOTHING
        CURLPIPE_MULTIPLEX

        CURL_HTTP_VERSION_1_1
        CURL_HTTP_VERSION_2TLS
        CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
        CURL_HTTP_VERSION_3
        CURL_HTTP_VERSION_3ONLY
        CURL_HTTP_VERSION_1_0
        CURL_HTTP_VERSION_2_0

        CURLINFO_PRIVATE
        CURLINFO_RESPONSE_CODE
        CURLINFO_HEADER_SIZE
        CURLINFO_REQUEST_SIZE
        CURLINFO_NUM_CONNECTS
        CURLINFO_HTTP_VERSION
        CURLINFO_CONTENT_LENGTH_DOWNLOAD_T
        CURLINFO_TOTAL_TIME_T
        CURLINFO_NAMELOOKUP_TIME_T
        CURLINFO_CONNECT_TIME_T
        CURLINFO_PRETRANSFER_TIME_T
        CURLINFO_STARTTRANSFER_TIME_T
        CURLINFO_APPCONNECT_TIME_T
