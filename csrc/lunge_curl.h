/*
 * lunge_curl.h - the slice of libcurl's C ABI that the engine uses, reached through dlopen
 * (LoadLibraryEx on Windows).
 *
 * Why not #include <curl/curl.h> and link -lcurl: the engine must drive the *same* libcurl
 * that pycurl's wheel bundles (8.x, HTTP/2, HTTP/3), so `pip install lunge` needs neither
 * curl headers nor a system libcurl, and single requests (pycurl) and load tests (engine)
 * behave alike.  libcurl's option and info numbers are a stable ABI; tests/test_curl_abi.py
 * checks every number below against pycurl's constants.
 */
#ifndef LUNGE_CURL_H
#define LUNGE_CURL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lunge_alloc.h"
#include "lunge_wait.h"

/* The loader: dlopen/dlsym, or on Windows LoadLibraryEx/GetProcAddress (no libdl there). */
#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
typedef HMODULE lunge_lib;
#define LUNGE_DLSYM(lib, name) ((void *)GetProcAddress((lib), (name)))
#else
#include <dlfcn.h>
typedef void *lunge_lib;
#define LUNGE_DLSYM(lib, name) dlsym((lib), (name))
#endif

typedef void CURL;
typedef void CURLM;
typedef void CURLU;
typedef int64_t curl_off_t;
typedef int CURLcode;
typedef int CURLMcode;
typedef int CURLUcode;

struct curl_slist { char *data; struct curl_slist *next; };

typedef struct {
  int msg; /* CURLMSG_DONE = 1 */
  CURL *easy_handle;
  union { void *whatever; CURLcode result; } data;
} CURLMsg;

/* Only the leading fields we read; libcurl owns the struct. */
typedef struct {
  int age;
  const char *version;
  unsigned int version_num;
  const char *host;
  int features;
  const char *ssl_version;
  long ssl_version_num;
  const char *libz_version;
  const char *const *protocols;
} curl_version_info_data;

/* libcurl's socket type: a descriptor (int), or on Windows a SOCKET (UINT_PTR: 64 bits on Win64). */
#ifdef _WIN32
typedef UINT_PTR curl_socket_t;
#else
typedef int curl_socket_t;
#endif

/* Same layout as struct pollfd, and on Windows as WSAPOLLFD.  The CURL_WAIT_POLL* bits
 * (1, 2, 4) equal POLLIN/POLLPRI/POLLOUT on Linux and macOS, not WSAPoll's (lunge_wait.h). */
struct curl_waitfd { curl_socket_t fd; short events; short revents; };

typedef size_t (*curl_write_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*curl_sockopt_callback)(void *clientp, curl_socket_t curlfd, int purpose);
typedef size_t (*curl_header_callback)(char *buffer, size_t size, size_t nitems, void *userdata);
typedef int (*curl_prereq_callback)(void *clientp, char *conn_primary_ip, char *conn_local_ip,
                                    int conn_primary_port, int conn_local_port);

enum {
  CURLM_OK = 0,
  CURLMSG_DONE = 1,
  CURL_GLOBAL_DEFAULT = 3,
  CURLUPART_URL = 0,
  CURL_ERROR_SIZE = 256,  /* CURLOPT_ERRORBUFFER's size */
  CURL_SOCKOPT_OK = 0,
  CURL_PREREQFUNC_OK = 0,
  CURL_PREREQFUNC_ABORT = 1,

  /* curl_version_info_data.features */
  CURL_VERSION_HTTP2 = 0x10000,
  CURL_VERSION_HTTP3 = 0x2000000,

  /* CURLcode: the ones the engine's error classes name (engine.pyx, error_class) */
  CURLE_OK = 0,
  CURLE_UNSUPPORTED_PROTOCOL = 1,
  CURLE_COULDNT_RESOLVE_PROXY = 5,
  CURLE_COULDNT_RESOLVE_HOST = 6,
  CURLE_COULDNT_CONNECT = 7,
  CURLE_WEIRD_SERVER_REPLY = 8,
  CURLE_HTTP2 = 16,
  CURLE_PARTIAL_FILE = 18,
  CURLE_OPERATION_TIMEDOUT = 28,
  CURLE_SSL_CONNECT_ERROR = 35,
  CURLE_ABORTED_BY_CALLBACK = 42,  /* only the engine's pre-request callback aborts */
  CURLE_TOO_MANY_REDIRECTS = 47,
  CURLE_OBSOLETE51 = 51,  /* PEER_FAILED_VERIFICATION before 7.62 */
  CURLE_GOT_NOTHING = 52,
  CURLE_SSL_ENGINE_NOTFOUND = 53,
  CURLE_SSL_ENGINE_SETFAILED = 54,
  CURLE_SEND_ERROR = 55,
  CURLE_RECV_ERROR = 56,
  CURLE_SSL_CERTPROBLEM = 58,
  CURLE_SSL_CIPHER = 59,
  CURLE_PEER_FAILED_VERIFICATION = 60,
  CURLE_BAD_CONTENT_ENCODING = 61,
  CURLE_FILESIZE_EXCEEDED = 63,
  CURLE_USE_SSL_FAILED = 64,
  CURLE_SSL_ENGINE_INITFAILED = 66,
  CURLE_SSL_CACERT_BADFILE = 77,
  CURLE_SSL_SHUTDOWN_FAILED = 80,
  CURLE_SSL_CRL_BADFILE = 82,
  CURLE_SSL_ISSUER_ERROR = 83,
  CURLE_SSL_PINNEDPUBKEYNOTMATCH = 90,
  CURLE_SSL_INVALIDCERTSTATUS = 91,
  CURLE_HTTP2_STREAM = 92,
  CURLE_HTTP3 = 95,
  CURLE_QUIC_CONNECT_ERROR = 96,
  CURLE_SSL_CLIENTCERT = 98,
  CURLE_TOO_LARGE = 100,

  /* CURLoption: LONG = 0, OBJECTPOINT = 10000, FUNCTIONPOINT = 20000, OFF_T = 30000 */
  CURLOPT_WRITEDATA = 10001,
  CURLOPT_URL = 10002,
  CURLOPT_PROXY = 10004,
  CURLOPT_ERRORBUFFER = 10010,
  CURLOPT_WRITEFUNCTION = 20011,
  CURLOPT_POSTFIELDS = 10015,
  CURLOPT_USERAGENT = 10018,
  CURLOPT_HTTPHEADER = 10023,
  CURLOPT_SSLCERT = 10025,
  CURLOPT_HEADERDATA = 10029,
  CURLOPT_CUSTOMREQUEST = 10036,
  CURLOPT_LOW_SPEED_LIMIT = 19,
  CURLOPT_LOW_SPEED_TIME = 20,
  CURLOPT_NOBODY = 44,
  CURLOPT_FRESH_CONNECT = 74,
  CURLOPT_FORBID_REUSE = 75,
  CURLOPT_HEADERFUNCTION = 20079,
  CURLOPT_HTTPGET = 80,
  CURLOPT_FOLLOWLOCATION = 52,
  CURLOPT_SSL_VERIFYPEER = 64,
  CURLOPT_CAINFO = 10065,
  CURLOPT_MAXREDIRS = 68,
  CURLOPT_SSL_VERIFYHOST = 81,
  CURLOPT_HTTP_VERSION = 84,
  CURLOPT_DNS_CACHE_TIMEOUT = 92,
  CURLOPT_SSLKEY = 10087,
  CURLOPT_NOSIGNAL = 99,
  CURLOPT_NOPROXY = 10177,
  CURLOPT_PRIVATE = 10103,
  CURLOPT_TCP_NODELAY = 121,
  CURLOPT_CONNECTTIMEOUT_MS = 156,
  CURLOPT_RESOLVE = 10203,
  CURLOPT_CONNECT_TO = 10243,
  CURLOPT_PIPEWAIT = 237,
  CURLOPT_CURLU = 10282,
  CURLOPT_SOCKOPTFUNCTION = 20148,
  CURLOPT_SOCKOPTDATA = 10149,
  CURLOPT_PREREQFUNCTION = 20312,  /* 7.80.0 */
  CURLOPT_PREREQDATA = 10313,
  CURLOPT_MAXFILESIZE_LARGE = 30117,
  CURLOPT_POSTFIELDSIZE_LARGE = 30120,

  CURLMOPT_PIPELINING = 3,
  CURLMOPT_MAXCONNECTS = 6,
  CURLMOPT_MAX_TOTAL_CONNECTIONS = 13,
  CURLPIPE_NOTHING = 0,
  CURLPIPE_MULTIPLEX = 2,

  CURL_HTTP_VERSION_1_1 = 2,
  CURL_HTTP_VERSION_2TLS = 4,
  CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE = 5,
  CURL_HTTP_VERSION_3 = 30,      /* HTTP/3, falling back to TCP (h2, http/1.1) */
  CURL_HTTP_VERSION_3ONLY = 31,  /* QUIC or fail */
  /* CURLINFO_HTTP_VERSION's values also include 1.0 and 2 */
  CURL_HTTP_VERSION_1_0 = 1,
  CURL_HTTP_VERSION_2_0 = 3,

  /* CURLINFO: STRING = 0x100000, LONG = 0x200000, OFF_T = 0x600000 */
  CURLINFO_PRIVATE = 0x100015,
  CURLINFO_RESPONSE_CODE = 0x200002,
  CURLINFO_HEADER_SIZE = 0x20000B,
  CURLINFO_REQUEST_SIZE = 0x20000C,
  CURLINFO_NUM_CONNECTS = 0x20001A,
  CURLINFO_HTTP_VERSION = 0x20002E,
  CURLINFO_CONTENT_LENGTH_DOWNLOAD_T = 0x60000F,
  CURLINFO_TOTAL_TIME_T = 0x600032,
  CURLINFO_NAMELOOKUP_TIME_T = 0x600033,
  CURLINFO_CONNECT_TIME_T = 0x600034,
  CURLINFO_PRETRANSFER_TIME_T = 0x600035,
  CURLINFO_STARTTRANSFER_TIME_T = 0x600036,
  CURLINFO_APPCONNECT_TIME_T = 0x600038,
};

/* The function table, filled once by lunge_curl_load(). */
typedef struct {
  lunge_lib dl;
  int own_alloc;  /* 1: libcurl allocates through lunge_alloc.h (we initialised it first) */
  CURLcode (*global_init)(long);
  curl_version_info_data *(*version_info)(int);
  const char *(*easy_strerror)(CURLcode);
  CURL *(*easy_init)(void);
  void (*easy_cleanup)(CURL *);
  CURLcode (*easy_setopt)(CURL *, int, ...);
  CURLcode (*easy_getinfo)(CURL *, int, ...);
  CURLM *(*multi_init)(void);
  CURLMcode (*multi_cleanup)(CURLM *);
  CURLMcode (*multi_setopt)(CURLM *, int, ...);
  CURLMcode (*multi_add_handle)(CURLM *, CURL *);
  CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
  CURLMcode (*multi_perform)(CURLM *, int *);
  CURLMcode (*multi_poll)(CURLM *, void *, unsigned int, int, int *);
  CURLMcode (*multi_wakeup)(CURLM *);
  CURLMsg *(*multi_info_read)(CURLM *, int *);
  CURLMcode (*multi_timeout)(CURLM *, long *);
  /* 8.8.0; NULL on older libcurl, and on Windows (lunge_wait.h): the engine then waits in
   * curl_multi_poll, in whole milliseconds. */
  CURLMcode (*multi_waitfds)(CURLM *, struct curl_waitfd *, unsigned int, unsigned int *);
  const char *(*multi_strerror)(CURLMcode);
  struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
  void (*slist_free_all)(struct curl_slist *);
  CURLU *(*url)(void);
  void (*url_cleanup)(CURLU *);
  CURLUcode (*url_set)(CURLU *, int, const char *, unsigned int);
  const char *(*url_strerror)(CURLUcode);
} lunge_curl_api;

static lunge_curl_api LC;

#define LUNGE_SYM(field, name)                                                   \
  do {                                                                           \
    *(void **)(&LC.field) = LUNGE_DLSYM(dl, name);                                   \
    if (!LC.field) { snprintf(err, errlen, "%s: symbol %s missing", path, name); \
                     return -1; }                                                \
  } while (0)

/* 7.68.0: curl_multi_wakeup (7.66.0 brought curl_multi_poll). */
#define LUNGE_CURL_MIN_VERSION 0x074400

/* Load libcurl from `path` (the file pycurl links, so both share one instance whichever loads first).
 * Returns 0, or -1 with a message in err.  Called once, from Python, before any engine runs. */
static int lunge_curl_load(const char *path, char *err, size_t errlen) {
  if (LC.dl) return 0;
#ifdef _WIN32
  /* path is UTF-8 (from Python); Windows file APIs take UTF-16. */
  int wlen = MultiByteToWideChar(CP_UTF8, 0, path, -1, NULL, 0);
  wchar_t *wpath = wlen > 0 ? (wchar_t *)malloc((size_t)wlen * sizeof(wchar_t)) : NULL;
  if (!wpath || !MultiByteToWideChar(CP_UTF8, 0, path, -1, wpath, wlen)) {
    free(wpath);
    snprintf(err, errlen, "cannot load libcurl: bad path %s", path);
    return -1;
  }
  /* The DLL's own folder first for its dependencies: pycurl's wheel (delvewheel) keeps
   * libssl, libcrypto, nghttp2, zlib... next to libcurl in pycurl.libs\, which the loader
   * does not search unless pycurl has been imported (it calls os.add_dll_directory).
   * No "already loaded?" probe (GetModuleHandleEx): it only decides lunge's allocator, glibc's. */
  lunge_lib dl = LoadLibraryExW(wpath, NULL, LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR | LOAD_LIBRARY_SEARCH_DEFAULT_DIRS);
  free(wpath);
  if (!dl) {
    snprintf(err, errlen, "cannot load libcurl: %s: Windows error %lu", path, (unsigned long)GetLastError());
    return -1;
  }
#else
#if LUNGE_ALLOC
  void *mapped = dlopen(path, RTLD_NOW | RTLD_NOLOAD);  /* already in the process (pycurl)? */
  int loaded_before = mapped != NULL;
  if (mapped) dlclose(mapped);
#endif
  lunge_lib dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!dl) { snprintf(err, errlen, "cannot load libcurl: %s", dlerror()); return -1; }
#endif
  LUNGE_SYM(global_init, "curl_global_init");
  LUNGE_SYM(version_info, "curl_version_info");
  LUNGE_SYM(easy_strerror, "curl_easy_strerror");
  LUNGE_SYM(easy_init, "curl_easy_init");
  LUNGE_SYM(easy_cleanup, "curl_easy_cleanup");
  LUNGE_SYM(easy_setopt, "curl_easy_setopt");
  LUNGE_SYM(easy_getinfo, "curl_easy_getinfo");
  LUNGE_SYM(multi_init, "curl_multi_init");
  LUNGE_SYM(multi_cleanup, "curl_multi_cleanup");
  LUNGE_SYM(multi_setopt, "curl_multi_setopt");
  LUNGE_SYM(multi_add_handle, "curl_multi_add_handle");
  LUNGE_SYM(multi_remove_handle, "curl_multi_remove_handle");
  LUNGE_SYM(multi_perform, "curl_multi_perform");
  LUNGE_SYM(multi_poll, "curl_multi_poll");
  LUNGE_SYM(multi_wakeup, "curl_multi_wakeup");
  LUNGE_SYM(multi_info_read, "curl_multi_info_read");
  LUNGE_SYM(multi_timeout, "curl_multi_timeout");
#if LUNGE_WAITFDS
  *(void **)(&LC.multi_waitfds) = LUNGE_DLSYM(dl, "curl_multi_waitfds");
#endif
  LUNGE_SYM(multi_strerror, "curl_multi_strerror");
  LUNGE_SYM(slist_append, "curl_slist_append");
  LUNGE_SYM(slist_free_all, "curl_slist_free_all");
  LUNGE_SYM(url, "curl_url");
  LUNGE_SYM(url_cleanup, "curl_url_cleanup");
  LUNGE_SYM(url_set, "curl_url_set");
  LUNGE_SYM(url_strerror, "curl_url_strerror");
  curl_version_info_data *vi = LC.version_info(0);
  if (!vi || vi->version_num < LUNGE_CURL_MIN_VERSION) {
    snprintf(err, errlen, "%s is libcurl %s; lunge needs 7.68.0 or newer", path, vi ? vi->version : "?");
    return -1;
  }
  /* curl_global_init is reference-counted: after pycurl's it only counts.  The first one
   * decides the allocator, so when nobody had this libcurl loaded yet, initialise it with
   * ours (lunge_alloc.h); pycurl, imported later, then shares that instance and allocator. */
  CURLcode rc;
#if LUNGE_ALLOC
  CURLcode (*init_mem)(long, void *(*)(size_t), void (*)(void *), void *(*)(void *, size_t),
                       char *(*)(const char *), void *(*)(size_t, size_t));
  *(void **)(&init_mem) = LUNGE_DLSYM(dl, "curl_global_init_mem");
  if (init_mem && !loaded_before) {
    rc = init_mem(CURL_GLOBAL_DEFAULT, lunge_malloc, lunge_free, lunge_realloc, lunge_strdup, lunge_calloc);
    LC.own_alloc = rc == CURLE_OK;
  } else
#endif
    rc = LC.global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) {
    snprintf(err, errlen, "curl_global_init failed");
    return -1;
  }
  LC.dl = dl;
  return 0;
}
#undef LUNGE_SYM

/* Typed wrappers: Cython cannot call a variadic function pointer cleanly. */
static inline CURLcode lc_setopt_long(CURL *h, int opt, long v) { return LC.easy_setopt(h, opt, v); }
static inline CURLcode lc_setopt_ptr(CURL *h, int opt, const void *v) { return LC.easy_setopt(h, opt, v); }
static inline CURLcode lc_setopt_off(CURL *h, int opt, curl_off_t v) { return LC.easy_setopt(h, opt, v); }
static inline CURLcode lc_setopt_write(CURL *h, curl_write_callback cb) {
  return LC.easy_setopt(h, CURLOPT_WRITEFUNCTION, cb);
}
static inline CURLcode lc_setopt_sockopt(CURL *h, curl_sockopt_callback cb) {
  return LC.easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, cb);
}
static inline CURLcode lc_setopt_header(CURL *h, curl_header_callback cb) {
  return LC.easy_setopt(h, CURLOPT_HEADERFUNCTION, cb);
}
static inline CURLcode lc_setopt_prereq(CURL *h, curl_prereq_callback cb) {
  return LC.easy_setopt(h, CURLOPT_PREREQFUNCTION, cb);
}
static inline CURLMcode lc_multi_setopt_long(CURLM *m, int opt, long v) { return LC.multi_setopt(m, opt, v); }
static inline long lc_info_long(CURL *h, int info) {
  long v = 0;
  LC.easy_getinfo(h, info, &v);
  return v;
}
static inline curl_off_t lc_info_off(CURL *h, int info) {
  curl_off_t v = 0;
  LC.easy_getinfo(h, info, &v);
  return v;
}
static inline void *lc_info_ptr(CURL *h, int info) {
  void *v = NULL;
  LC.easy_getinfo(h, info, &v);
  return v;
}

#endif
