/*
 * lunge_wait.h - waiting with sub-millisecond precision, for rate-paced sends.
 *
 * curl_multi_poll takes whole milliseconds; at 10 000 req/s sends are 100 us apart.
 * For short waits the engine asks libcurl for its sockets (curl_multi_waitfds) and
 * sleeps in ppoll with a nanosecond timeout; the engine thread's timer slack is set
 * to 1 us so the kernel does not round that sleep up by its default 50 us.
 *
 * Windows has no ppoll and no timer slack: WSAPoll and every other wait take whole
 * milliseconds.  There lunge_curl_load leaves curl_multi_waitfds unloaded (LUNGE_WAITFDS 0),
 * so the engine waits in curl_multi_poll, and lunge_fine_timer_slack asks for a 1 ms timer
 * period instead (timeBeginPeriod): by default a wait there rounds up to the 15.6 ms tick.
 * LUNGE_WAITS names the mode for `lunge --version` (engine.platform()).
 */
#ifndef LUNGE_WAIT_H
#define LUNGE_WAIT_H

#include <stdint.h>

#include "lunge_clock.h"

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <windows.h>
#include <timeapi.h>
#define LUNGE_WAITFDS 0
#define LUNGE_WAITS "whole milliseconds (curl_multi_poll, 1 ms timer period)"
#else
#include <poll.h>
#include <time.h>
#define LUNGE_WAITFDS 1
#ifdef __linux__
#include <sys/prctl.h>
#define LUNGE_WAITS "sub-millisecond (ppoll, 1 us timer slack)"
#else
#define LUNGE_WAITS "whole milliseconds (poll on libcurl's sockets)"
#endif
#endif

static inline void lunge_fine_timer_slack(void) {
#if defined(__linux__)
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
#elif defined(_WIN32)
  /* Once per process, kept until it exits (the period is per process since Windows 10 2004). */
  static volatile LONG asked = 0;
  if (InterlockedExchange(&asked, 1) == 0) timeBeginPeriod(1);
#endif
}

/* The last stretch before a due send is polled without sleeping: waking a sleeping vCPU
 * can take longer than the gap between sends at high rates.  It costs CPU only in the last
 * 150 us before each send, and the sockets are still served as they become ready. */
#define LUNGE_SPIN_NS 150000ull

/* Wait until one of fds (struct curl_waitfd) is ready or wait_ns has passed.  Returns poll()'s
 * result.  Not reached on Windows (LUNGE_WAITFDS 0); kept correct there all the same. */
static inline int lunge_wait_fds(void *fds, unsigned int n, uint64_t wait_ns) {
#if defined(__linux__)
  uint64_t deadline = lunge_now_ns() + wait_ns;
  struct timespec ts = {0, 0};
  int r;
  if (wait_ns > LUNGE_SPIN_NS) {
    uint64_t sleep_ns = wait_ns - LUNGE_SPIN_NS;
    ts.tv_sec = (time_t)(sleep_ns / 1000000000ull);
    ts.tv_nsec = (long)(sleep_ns % 1000000000ull);
    r = ppoll((struct pollfd *)fds, n, &ts, NULL);
    if (r != 0) return r;
    ts.tv_sec = 0;
    ts.tv_nsec = 0;
  }
  while (lunge_now_ns() < deadline) {
    r = ppoll((struct pollfd *)fds, n, &ts, NULL);
    if (r != 0) return r;
  }
  return 0;
#elif defined(_WIN32)
  /* WSAPOLLFD has curl_waitfd's layout but its own event bits: translate both ways
   * (CURL_WAIT_POLLIN 1, CURL_WAIT_POLLPRI 2, CURL_WAIT_POLLOUT 4). */
  WSAPOLLFD *p = (WSAPOLLFD *)fds;
  for (unsigned int i = 0; i < n; i++) {
    short ev = p[i].events, w = 0;
    if (ev & 1) w |= POLLRDNORM;
    if (ev & 2) w |= POLLRDBAND;
    if (ev & 4) w |= POLLWRNORM;
    p[i].events = w;
  }
  int r = n ? WSAPoll(p, (ULONG)n, (INT)(wait_ns / 1000000ull)) : (Sleep((DWORD)(wait_ns / 1000000ull)), 0);
  for (unsigned int i = 0; i < n; i++) {
    short re = p[i].revents, c = 0;
    if (re & (POLLRDNORM | POLLHUP | POLLERR)) c |= 1;
    if (re & POLLRDBAND) c |= 2;
    if (re & (POLLWRNORM | POLLERR)) c |= 4;
    p[i].revents = c;
  }
  return r;
#else
  return poll((struct pollfd *)fds, n, (int)(wait_ns / 1000000ull));
#endif
}

#endif
