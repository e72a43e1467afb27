/*
 * lunge_wait.h - waiting with sub-millisecond precision, for rate-paced sends.
 *
 * curl_multi_poll takes whole milliseconds; at 10 000 req/s sends are 100 us apart.
 * For short waits the engine asks libcurl for its sockets (curl_multi_waitfds) and
 * sleeps in ppoll with a nanosecond timeout; the engine thread's timer slack is set
 * to 1 us so the kernel does not round that sleep up by its default 50 us.
 */
#ifndef LUNGE_WAIT_H
#define LUNGE_WAIT_H

#include <poll.h>
#include <stdint.h>
#include <time.h>

#include "lunge_clock.h"
#ifdef __linux__
#include <sys/prctl.h>
#endif

static inline void lunge_fine_timer_slack(void) {
#ifdef __linux__
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
#endif
}

/* The last stretch before a due send is polled without sleeping: waking a sleeping vCPU
 * can take longer than the gap between sends at high rates.  It costs CPU only in the last
 * 150 us before each send, and the sockets are still served as they become ready. */
#define LUNGE_SPIN_NS 150000ull

/* Wait until one of fds is ready or wait_ns has passed.  Returns poll()'s result. */
static inline int lunge_wait_fds(void *fds, unsigned int n, uint64_t wait_ns) {
#ifdef __linux__
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
#else
  return poll((struct pollfd *)fds, n, (int)(wait_ns / 1000000ull));
#endif
}

#endif
