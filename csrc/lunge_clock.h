/* lunge_clock.h - the engine's one clock: CLOCK_MONOTONIC in nanoseconds (vDSO, no syscall). */
#ifndef LUNGE_CLOCK_H
#define LUNGE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t lunge_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Wall clock, for the ISO timestamps in results (never for intervals). */
static inline int64_t lunge_wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000ll + (int64_t)ts.tv_nsec;
}

#endif
