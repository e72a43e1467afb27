/*
 * curl_loop.c - the raw C reference for lunge's engine: a closed-loop load over libcurl's multi
 * interface, written as cheaply as we know how (see benchmarks/RESULTS.md for why each choice).
 *
 *   curl_loop [-c CONNS] (-d SECONDS | -n REQUESTS) [-P|-L] [-A AGENT] [-x EXTRAS] [-V 1.1|2|3 [-C CAFILE]] URL
 *
 * -c   connections = easy handles (default 50)
 * -d   issue new requests for this long, then let the in-flight ones finish (default 8)
 * -n   issue exactly this many requests in all (instead of -d)
 * -P   "plain": only URL + write callback + NOSIGNAL (to show what the tuned options buy)
 * -L   "legacy tuned": the tuned set without NOPROXY and DNS_CACHE_TIMEOUT (the shared
 *      reference's best options), to show what those two buy
 * -A   send this User-Agent header (libcurl sends none by default; lunge sends one)
 * -V   HTTP version, as lunge asks for it: 1.1 (CURL_HTTP_VERSION_1_1), 2 (2TLS on https://, h2 by
 *      ALPN; 2_PRIOR_KNOWLEDGE on http://, h2c: lunge --http2 does the same; streams multiplexed),
 *      3 (3ONLY, QUIC, streams multiplexed); 2 and 3 share connections, so no own pools (as lunge).
 *      Without -V: libcurl's default (HTTP/1.1 on http://, h2 by ALPN on https://)
 * -C   CA bundle to verify the server with (https://)
 * -x   extras, for attributing lunge's cost only (comma list; none is part of the best loop):
 *        timeout   CURLOPT_TIMEOUT_MS 30000 (lunge's default --timeout 30s)
 *        http11    CURLOPT_HTTP_VERSION 1.1 set explicitly
 *        errbuf    CURLOPT_ERRORBUFFER
 *        multiopts CURLMOPT_MAXCONNECTS conns+8, CURLMOPT_PIPELINING nothing
 *        getinfo   the 8 extra curl_easy_getinfo calls lunge makes per response (6 *_TIME_T,
 *                  HEADER_SIZE, NUM_CONNECTS)
 *        noresolve no CURLOPT_RESOLVE (lunge sets none when the URL's host is an IP address)
 *        thread    run the loop in a second thread, as lunge's engine does (a multi-threaded
 *                  process takes glibc malloc's locked paths, and a second thread its own arena)
 *        idlethread  start an idle second thread but run the loop in the main one (as if the
 *                  engine ran on Python's main thread; numpy's OpenBLAS starts a thread anyway)
 *        sharedpool  all handles in one pool bundle (libcurl's default; see "own pools" below)
 *        sysalloc  libcurl's default allocator (plain glibc; see "Allocator" below)
 *
 * Loop: one curl_multi_perform and one curl_multi_poll per wake-up, curl_multi_info_read drained
 * once per batch; each slot owns one easy handle that is removed and re-added untouched (no reset,
 * no new handle, so its connection and parsed state are reused).  Options: NOSIGNAL (no
 * rt_sigaction per request), PROXY "" and NOPROXY "*" (no proxy-environment look-ups per
 * request), CURLU (URL parsed once), RESOLVE (host resolved once), DNS_CACHE_TIMEOUT -1 (no DNS
 * cache pruning per request), and own pools: each handle reaches the origin through a name of its
 * own (CONNECT_TO "host:port:slotN.lunge.invalid:port", RESOLVE'd to the same address), so its
 * connection sits alone in its pool bundle.  libcurl otherwise tests every connection to the
 * origin, busy ones included, before reusing one: ~22 matches per request at 50 connections.
 * The wire is unchanged (Host and SNI follow the URL).  lunge's engine does the same.
 * Allocator: libcurl is initialised with curl_global_init_mem and the allocator of
 * ../csrc/lunge_alloc.h, the very code the engine uses (a per-thread stash of small blocks in
 * front of glibc: its calloc and realloc bypass its own per-thread cache, and its free is ~80
 * instructions).  -P and -L keep libcurl's default allocator.
 * Connections opened are counted by a CURLOPT_SOCKOPTFUNCTION callback (called only when libcurl
 * opens a socket: nothing per request), printed as connections=N.
 * Latency = monotonic time from add_handle to the batch in which info_read reports it, into a 1-us
 * histogram up to 10 s.  Prints one line:
 *   tool=curl_loop ... requests=N errors=E non200=X rps=R p50_ms=.. p90_ms=.. p99_ms=.. max_ms=..
 * Exit status 3 if any request failed or was not 200.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../csrc/lunge_alloc.h"

#define HIST_US 10000000u /* 10 s at 1 us; larger latencies land in the last bucket */
#define BLOCK 1024u       /* per-block sums, so a percentile costs the same whatever the latency */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The body is not needed: count it and drop it. */
static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata) {
  (void)ptr;
  *(uint64_t *)userdata += size * nmemb;
  return size * nmemb;
}

typedef struct {
  CURL *easy;
  CURLU *url;
  struct curl_slist *route, *pin; /* own pools */
  uint64_t sent_ns;
  char errbuf[CURL_ERROR_SIZE]; /* -x errbuf only */
} slot_t;

static uint64_t extra_sink;
static uint64_t sockets_opened; /* connections=, counted by the sockopt callback */

static int opened(void *clientp, curl_socket_t fd, curlsocktype purpose) {
  (void)clientp; (void)fd; (void)purpose;
  sockets_opened++;
  return CURL_SOCKOPT_OK;
} /* keeps -x getinfo's reads from being optimised away */

static uint32_t *hist;  /* calloc'd: untouched pages cost nothing */
static uint64_t blocks[HIST_US / BLOCK + 1];
static uint64_t hist_n, lat_sum_ns, lat_max_ns;

static void record(uint64_t ns) {
  uint64_t us = ns / 1000;
  if (us >= HIST_US) us = HIST_US - 1;
  hist[us]++;
  blocks[us / BLOCK]++;
  hist_n++;
  lat_sum_ns += ns;
  if (ns > lat_max_ns) lat_max_ns = ns;
}

static double pct_ms(double p) {
  if (!hist_n) return 0.0;
  uint64_t rank = (uint64_t)(p / 100.0 * (double)hist_n + 0.5), seen = 0;
  if (rank < 1) rank = 1;
  uint32_t b = 0;
  while (b < HIST_US / BLOCK && seen + blocks[b] < rank) seen += blocks[b++];
  for (uint32_t i = b * BLOCK; i < HIST_US; i++) {
    seen += hist[i];
    if (seen >= rank) return (i + 0.5) / 1000.0; /* bucket middle */
  }
  return (HIST_US - 1) / 1000.0;
}

static void usage(void) {
  fprintf(stderr, "usage: curl_loop [-c CONNS] (-d SECONDS | -n REQUESTS) [-P|-L] [-A AGENT] [-x EXTRAS] "
                  "[-V 1.1|2|3 [-C CAFILE]] URL\n");
  exit(2);
}

static int run(int argc, char **argv) {
  int conns = 50, opt, plain = 0, legacy = 0;
  const char *agent = NULL, *extras = "", *cafile = NULL;
  long version = 0; /* -V: CURL_HTTP_VERSION_*; 0: libcurl's default */
  double secs = 8.0;
  long long limit = 0; /* -n */
  while ((opt = getopt(argc, argv, "c:d:n:PLA:x:V:C:")) != -1) {
    switch (opt) {
      case 'c': conns = atoi(optarg); break;
      case 'd': secs = atof(optarg); break;
      case 'n': limit = atoll(optarg); break;
      case 'P': plain = 1; break;
      case 'L': legacy = 1; break;
      case 'A': agent = optarg; break;
      case 'x': extras = optarg; break;
      case 'V':
        version = !strcmp(optarg, "1.1") ? CURL_HTTP_VERSION_1_1 : !strcmp(optarg, "2") ? CURL_HTTP_VERSION_2TLS
                : !strcmp(optarg, "3") ? CURL_HTTP_VERSION_3ONLY : -1;
        if (version < 0) usage();
        break;
      case 'C': cafile = optarg; break;
      default: usage();
    }
  }
  if (optind != argc - 1 || conns < 1 || secs <= 0 || secs > 3600 || limit < 0) usage();
  const char *url = argv[optind];
  if (version == CURL_HTTP_VERSION_2TLS && !strncasecmp(url, "http:", 5))
    version = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE; /* h2c, as lunge --http2 asks for it on http:// */

  CURLcode init;
#if LUNGE_ALLOC
  if (!plain && !legacy && !strstr(extras, "sysalloc"))
    init = curl_global_init_mem(CURL_GLOBAL_DEFAULT, lunge_malloc, lunge_free, lunge_realloc, lunge_strdup, lunge_calloc);
  else
#endif
    init = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (init != CURLE_OK) { fprintf(stderr, "curl_global_init failed\n"); return 1; }
  hist = calloc(HIST_US, sizeof(uint32_t));
  slot_t *slots = calloc((size_t)conns, sizeof(slot_t));
  if (!hist || !slots) { fprintf(stderr, "out of memory\n"); return 1; }

  /* CURLOPT_RESOLVE entry "host:port:address" so libcurl never asks the resolver. */
  struct curl_slist *resolve = NULL;
  CURLU *probe = curl_url();
  char *host = NULL, *port = NULL;
  if (curl_url_set(probe, CURLUPART_URL, url, 0) != CURLUE_OK ||
      curl_url_get(probe, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      curl_url_get(probe, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
    fprintf(stderr, "bad URL: %s\n", url);
    return 2;
  }
  if (strcmp(host, "127.0.0.1") && strcmp(host, "localhost")) {
    fprintf(stderr, "loopback targets only (127.0.0.1 or localhost), got %s\n", host);
    return 2;
  }
  char entry[256];
  snprintf(entry, sizeof entry, "%s:%s:127.0.0.1", host, port);
  resolve = curl_slist_append(NULL, entry);
  const int multiplex = version == CURL_HTTP_VERSION_2TLS || version == CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                        || version == CURL_HTTP_VERSION_3ONLY;
  const int own_pools = !plain && !legacy && !multiplex && !strstr(extras, "sharedpool") && !strstr(extras, "noresolve");
  char oport[16];
  snprintf(oport, sizeof oport, "%s", port);
  char ohost[200];
  snprintf(ohost, sizeof ohost, "%s", host);
  curl_free(host); curl_free(port); curl_url_cleanup(probe);

#define EXTRA(name) (strstr(extras, name) != NULL)
  const int x_getinfo = EXTRA("getinfo");
  CURLM *multi = curl_multi_init();
  if (multiplex) curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  if (EXTRA("multiopts")) {
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)conns + 8);
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_NOTHING);
  }
  uint64_t body_bytes = 0;
  for (int i = 0; i < conns; i++) {
    CURL *e = slots[i].easy = curl_easy_init();
    if (!e) { fprintf(stderr, "curl_easy_init failed\n"); return 1; }
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body_bytes);
    curl_easy_setopt(e, CURLOPT_PRIVATE, &slots[i]);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, opened);
    if (agent) curl_easy_setopt(e, CURLOPT_USERAGENT, agent);
    if (EXTRA("timeout")) curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
    if (EXTRA("http11")) curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    if (EXTRA("errbuf")) curl_easy_setopt(e, CURLOPT_ERRORBUFFER, slots[i].errbuf);
    if (version) curl_easy_setopt(e, CURLOPT_HTTP_VERSION, version);
    if (multiplex) curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    if (cafile) curl_easy_setopt(e, CURLOPT_CAINFO, cafile);
    if (plain) {
      curl_easy_setopt(e, CURLOPT_URL, url);
    } else {
      slots[i].url = curl_url();
      curl_url_set(slots[i].url, CURLUPART_URL, url, 0);
      curl_easy_setopt(e, CURLOPT_CURLU, slots[i].url);
      curl_easy_setopt(e, CURLOPT_PROXY, "");
      if (!legacy) {
        curl_easy_setopt(e, CURLOPT_NOPROXY, "*");            /* else no_proxy is getenv'd twice per request */
        curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, -1L);  /* else the DNS cache is pruned per request */
      }
      if (own_pools) {
        char route[300];
        snprintf(route, sizeof route, "%s:%s:slot%d.lunge.invalid:%s", ohost, oport, i, oport);
        snprintf(entry, sizeof entry, "slot%d.lunge.invalid:%s:127.0.0.1", i, oport);
        slots[i].route = curl_slist_append(NULL, route);
        slots[i].pin = curl_slist_append(NULL, entry);
        curl_easy_setopt(e, CURLOPT_CONNECT_TO, slots[i].route);
        curl_easy_setopt(e, CURLOPT_RESOLVE, slots[i].pin);
      } else if (!EXTRA("noresolve")) {
        curl_easy_setopt(e, CURLOPT_RESOLVE, resolve);
      }
    }
  }

  uint64_t errors = 0, non200 = 0, issued = 0;
  const uint64_t t0 = now_ns();
  const uint64_t deadline = t0 + (uint64_t)(secs * 1e9);
  const uint64_t hard_stop = deadline + 30ull * 1000000000ull; /* drain bound */
  int active = 0;
  for (int i = 0; i < conns && (!limit || (long long)issued < limit); i++) {
    slots[i].sent_ns = t0;
    curl_multi_add_handle(multi, slots[i].easy);
    issued++;
    active++;
  }

  while (active > 0) {
    int running = 0, queued = 0;
    CURLMcode mc = curl_multi_perform(multi, &running);
    if (mc != CURLM_OK) { fprintf(stderr, "curl_multi_perform: %s\n", curl_multi_strerror(mc)); break; }
    uint64_t now = now_ns(); /* one clock read per batch */
    CURLMsg *m;
    while ((m = curl_multi_info_read(multi, &queued))) {
      if (m->msg != CURLMSG_DONE) continue;
      CURL *e = m->easy_handle;
      slot_t *s;
      curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&s);
      if (m->data.result == CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
        if (x_getinfo) {
          static const CURLINFO t[] = {CURLINFO_NAMELOOKUP_TIME_T, CURLINFO_CONNECT_TIME_T,
                                       CURLINFO_APPCONNECT_TIME_T, CURLINFO_PRETRANSFER_TIME_T,
                                       CURLINFO_STARTTRANSFER_TIME_T, CURLINFO_TOTAL_TIME_T};
          curl_off_t v = 0;
          long l = 0;
          for (int k = 0; k < 6; k++) { curl_easy_getinfo(e, t[k], &v); extra_sink += (uint64_t)v; }
          curl_easy_getinfo(e, CURLINFO_HEADER_SIZE, &l); extra_sink += (uint64_t)l;
          curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &l); extra_sink += (uint64_t)l;
        }
        if (code == 200) record(now - s->sent_ns);
        else non200++;
      } else {
        if (errors++ < 5) fprintf(stderr, "transfer error: %s\n", curl_easy_strerror(m->data.result));
      }
      curl_multi_remove_handle(multi, e);
      if ((limit ? (long long)issued < limit : now < deadline)) {
        s->sent_ns = now;
        curl_multi_add_handle(multi, e);
        issued++;
      } else {
        active--;
      }
    }
    if (active == 0) break;
    if (now > hard_stop) { fprintf(stderr, "drain timeout\n"); break; }
    mc = curl_multi_poll(multi, NULL, 0, 100, NULL);
    if (mc != CURLM_OK) { fprintf(stderr, "curl_multi_poll: %s\n", curl_multi_strerror(mc)); break; }
  }
  const double elapsed = (double)(now_ns() - t0) / 1e9;

  printf("tool=curl_loop libcurl=%s conns=%d opts=%s%s%s%s duration_s=%.3f requests=%llu errors=%llu non200=%llu "
         "rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f mean_ms=%.3f body_bytes=%llu connections=%llu\n",
         curl_version_info(CURLVERSION_NOW)->version, conns, plain ? "plain" : legacy ? "legacy" : "tuned", agent ? "+agent" : "", *extras ? "+" : "", extras, elapsed,
         (unsigned long long)(hist_n + errors + non200), (unsigned long long)errors, (unsigned long long)non200,
         (double)(hist_n + errors + non200) / elapsed, pct_ms(50), pct_ms(90), pct_ms(99),
         (double)lat_max_ns / 1e6, hist_n ? (double)lat_sum_ns / (double)hist_n / 1e6 : 0.0,
         (unsigned long long)body_bytes, (unsigned long long)sockets_opened);

  for (int i = 0; i < conns; i++) {
    curl_multi_remove_handle(multi, slots[i].easy);
    curl_easy_cleanup(slots[i].easy);
    if (slots[i].url) curl_url_cleanup(slots[i].url);
    curl_slist_free_all(slots[i].route);
    curl_slist_free_all(slots[i].pin);
  }
  curl_multi_cleanup(multi);
  curl_slist_free_all(resolve);
  curl_global_cleanup();
  free(slots); free(hist);
  return (errors || non200) ? 3 : 0;
}

static int g_argc, g_rc;
static char **g_argv;
static void *idle_thread(void *arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}
static void *run_thread(void *arg) {
  (void)arg;
  g_rc = run(g_argc, g_argv);
  return NULL;
}

int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i++) {
    if (!strcmp(argv[i], "-x") && strstr(argv[i + 1], "idlethread")) {
      pthread_t t;
      if (pthread_create(&t, NULL, idle_thread, NULL) != 0) { perror("pthread_create"); return 1; }
      pthread_detach(t);
      return run(argc, argv);
    }
    if (!strcmp(argv[i], "-x") && strstr(argv[i + 1], "thread")) {
      pthread_t t;
      g_argc = argc; g_argv = argv;
      if (pthread_create(&t, NULL, run_thread, NULL) != 0) { perror("pthread_create"); return 1; }
      pthread_join(t, NULL);
      return g_rc;
    }
  }
  return run(argc, argv);
}
