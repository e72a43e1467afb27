/*
 * harness.c - the engine's C layer (csrc/) built for Windows and run against the libcurl DLL
 * of pycurl's win_amd64 wheel: cross-compiled with mingw-w64 and run under wine by
 * scripts/windows_check.sh (the Windows x64 part of what the engine needs; docs/windows.md).
 *
 *   harness.exe LIBCURL.DLL URL REQUESTS CONNECTIONS
 *
 * Loads libcurl through lunge_curl_load (LoadLibraryExW, GetProcAddress), checks the clock,
 * waits, atomics and histogram index, then drives a curl multi loop as the engine does (the
 * same handles re-added, keep-alive) until REQUESTS responses came back, counting them, the
 * sockets libcurl opened (through the sockopt callback's 64-bit SOCKET) and the body bytes.
 * Prints one "key=value" per line and exits 0 only if every check held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lunge_curl.h"  /* with lunge_alloc.h, lunge_wait.h, lunge_clock.h */
#include "lunge_atomic.h"
#include "lunge_hist.h"
#include "lunge_json.h"
#include "lunge_tmpl.h"

static int failures;
#define CHECK(cond, ...)                                 \
  do {                                                   \
    if (!(cond)) {                                       \
      failures++;                                        \
      printf("FAIL %s:%d: ", __FILE__, __LINE__);        \
      printf(__VA_ARGS__);                               \
      printf("\n");                                      \
    }                                                    \
  } while (0)

typedef struct {
  CURL *easy;
  uint64_t body;
  int opened;
  int bad_socket;
} slot;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
  (void)ptr;
  ((slot *)userdata)->body += size * nmemb;
  return size * nmemb;
}

static int on_socket(void *clientp, curl_socket_t fd, int purpose) {
  slot *s = (slot *)clientp;
  int type = 0, len = sizeof(type);
  (void)purpose;
  s->opened++;
  /* The full 64-bit SOCKET must come through: a real TCP socket answers SO_TYPE. */
  if (getsockopt((SOCKET)fd, SOL_SOCKET, SO_TYPE, (char *)&type, &len) != 0 || type != SOCK_STREAM)
    s->bad_socket++;
  return CURL_SOCKOPT_OK;
}

/* HdrHistogram's index, the slow way: for checking lh_clz64. */
static size_t index_ref(uint64_t v) {
  int lz = 0;
  uint64_t x = v | LH_SUB_MASK;
  while (!(x & (1ull << 63))) { x <<= 1; lz++; }
  int bucket = LH_LZC_BASE - lz;
  return ((size_t)(bucket + 1) << LH_HALF_MAG) + (size_t)((v >> bucket) - LH_HALF_COUNT);
}

static void check_platform(void) {
  /* Clock: monotonic, in ns, and a 50 ms sleep measures as about that. */
  uint64_t a = lunge_now_ns(), b = lunge_now_ns();
  CHECK(b >= a, "clock went back: %llu then %llu", (unsigned long long)a, (unsigned long long)b);
  lunge_fine_timer_slack();
  a = lunge_now_ns();
  Sleep(50);
  b = lunge_now_ns();
  double ms = (double)(b - a) / 1e6;
  printf("clock=%s\nsleep_50ms_measured_ms=%.3f\n", LUNGE_CLOCK, ms);
  CHECK(ms >= 45 && ms < 1000, "Sleep(50) measured %.3f ms", ms);
  /* Wall clock: nanoseconds since 1970, as time() says to the second. */
  int64_t wall = lunge_wall_ns();
  int64_t now_s = (int64_t)time(NULL);
  CHECK(wall / 1000000000ll >= now_s - 2 && wall / 1000000000ll <= now_s + 2,
        "wall %lld ns vs time() %lld s", (long long)wall, (long long)now_s);
  /* A wait with no sockets sleeps its whole milliseconds. */
  a = lunge_now_ns();
  int r = lunge_wait_fds(NULL, 0, 20000000ull);
  ms = (double)(lunge_now_ns() - a) / 1e6;
  printf("wait_20ms_measured_ms=%.3f\nwaits=%s\n", ms, LUNGE_WAITS);
  CHECK(r == 0 && ms >= 15 && ms < 1000, "lunge_wait_fds(20 ms) returned %d after %.3f ms", r, ms);
  /* Atomics. */
  uint64_t u = 0;
  int flag = 0;
  la_set(&u, 40);
  la_bump(&u, 2);
  la_set_int(&flag, 7);
  CHECK(la_get(&u) == 42 && la_get_int(&flag) == 7, "atomics: %llu %d", (unsigned long long)la_get(&u), la_get_int(&flag));
  /* Histogram index (lh_clz64) against the slow way, across the whole range. */
  uint64_t vals[] = {0, 1, 2047, 2048, 4095, 4096, 1000000, 123456789, 3600000000000ull, UINT64_MAX >> 1};
  for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
    CHECK(lh_index(vals[i]) == index_ref(vals[i]), "lh_index(%llu)", (unsigned long long)vals[i]);
  for (uint64_t v = 1; v < (1ull << 40); v = v * 3 + 1)
    CHECK(lh_index(v) == index_ref(v), "lh_index(%llu)", (unsigned long long)v);
  printf("sizeof_curl_socket_t=%u\nsizeof_curl_waitfd=%u\n", (unsigned)sizeof(curl_socket_t),
         (unsigned)sizeof(struct curl_waitfd));
  CHECK(sizeof(curl_socket_t) == sizeof(SOCKET) && sizeof(struct curl_waitfd) == sizeof(WSAPOLLFD),
        "curl_socket_t/curl_waitfd sizes differ from SOCKET/WSAPOLLFD");
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: harness LIBCURL.DLL URL REQUESTS CONNECTIONS\n");
    return 2;
  }
  const char *dll = argv[1], *url = argv[2];
  int want = atoi(argv[3]), conns = atoi(argv[4]);
  char err[512];

  check_platform();

  if (lunge_curl_load(dll, err, sizeof(err)) != 0) {
    printf("FAIL load: %s\n", err);
    return 1;
  }
  curl_version_info_data *vi = LC.version_info(0);
  printf("libcurl=%s\nssl=%s\nhttp2=%d\nallocator=%s\nmulti_waitfds_loaded=%d\n", vi->version,
         vi->ssl_version ? vi->ssl_version : "none", !!(vi->features & CURL_VERSION_HTTP2),
         LC.own_alloc ? "lunge" : "default", LC.multi_waitfds != NULL);
  CHECK(!LC.own_alloc, "lunge's allocator is glibc-only");
  CHECK(LC.multi_waitfds == NULL, "Windows waits in curl_multi_poll: curl_multi_waitfds must stay unloaded");

  CURLM *multi = LC.multi_init();
  slot *slots = (slot *)calloc((size_t)conns, sizeof(slot));
  int issued = 0, done = 0, ok = 0, running = 0, queued;
  for (int i = 0; i < conns; i++) {
    CURL *e = slots[i].easy = LC.easy_init();
    lc_setopt_ptr(e, CURLOPT_URL, url);
    lc_setopt_ptr(e, CURLOPT_PROXY, "");
    lc_setopt_long(e, CURLOPT_NOSIGNAL, 1);
    lc_setopt_write(e, on_body);
    lc_setopt_ptr(e, CURLOPT_WRITEDATA, &slots[i]);
    lc_setopt_sockopt(e, on_socket);
    lc_setopt_ptr(e, CURLOPT_SOCKOPTDATA, &slots[i]);
    lc_setopt_ptr(e, CURLOPT_PRIVATE, &slots[i]);
    if (issued < want) { LC.multi_add_handle(multi, e); issued++; }
  }
  uint64_t t0 = lunge_now_ns(), limit = t0 + 60000000000ull;
  while (done < want && lunge_now_ns() < limit) {
    if (LC.multi_perform(multi, &running) != CURLM_OK) break;
    CURLMsg *m;
    while ((m = LC.multi_info_read(multi, &queued))) {
      if (m->msg != CURLMSG_DONE) continue;
      CURL *e = m->easy_handle;
      long status = lc_info_long(e, CURLINFO_RESPONSE_CODE);
      if (m->data.result == CURLE_OK && status == 200) ok++;
      else if (done - ok < 3) printf("error=%d %s status %ld\n", m->data.result, LC.easy_strerror(m->data.result), status);
      done++;
      LC.multi_remove_handle(multi, e);
      if (issued < want) { LC.multi_add_handle(multi, e); issued++; }  /* same handle: keep-alive */
    }
    if (done < want) LC.multi_poll(multi, NULL, 0, 100, NULL);
  }
  double secs = (double)(lunge_now_ns() - t0) / 1e9;
  int opened = 0, bad = 0;
  uint64_t body = 0;
  for (int i = 0; i < conns; i++) {
    opened += slots[i].opened;
    bad += slots[i].bad_socket;
    body += slots[i].body;
    LC.multi_remove_handle(multi, slots[i].easy);
    LC.easy_cleanup(slots[i].easy);
  }
  LC.multi_cleanup(multi);
  printf("responses=%d\nok=%d\nconnections_opened=%d\nbad_sockets=%d\nbody_bytes=%llu\nseconds=%.3f\n", done, ok,
         opened, bad, (unsigned long long)body, secs);
  CHECK(done == want && ok == want, "%d of %d requests answered 200", ok, want);
  CHECK(opened == conns, "%d connections opened for %d handles (keep-alive)", opened, conns);
  CHECK(bad == 0, "%d sockets from the sockopt callback were not TCP sockets", bad);
  printf("failures=%d\n", failures);
  return failures ? 1 : 0;
}
