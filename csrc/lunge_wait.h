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
#ifdef __linux__
#include <sys/prctl.h>
#endif

static inline void lunge_fine_timer_slack(void) {
#ifdef __linux__
  prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
#endif
}

/* Wait until one of fds is ready or wait_ns has passed.  Returns poll()'s result. */
static inline int lunge_wait_fds(void *fds, unsigned int n, uint64_t wait_ns) {
#ifdef __linux__
  struct timespec ts;
  ts.tv_sec = (time_t)(wait_ns / 1000000000ull);
  ts.tv_nsec = (long)(wait_ns % 1000000000ull);
  return ppoll((struct pollfd *)fds, n, &ts, NULL);
#else
  return poll((struct pollfd *)fds, n, (int)(wait_ns / 1000000ull));
#endif
}

#endif
