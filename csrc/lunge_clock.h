/* lunge_clock.h - the engine's one clock: CLOCK_MONOTONIC in nanoseconds (vDSO, no syscall).
 * Windows: QueryPerformanceCounter (its frequency read once), and the wall clock from
 * GetSystemTimePreciseAsFileTime (100 ns ticks since 1601).  LUNGE_CLOCK names the source. */
#ifndef LUNGE_CLOCK_H
#define LUNGE_CLOCK_H

#include <stdint.h>

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#define LUNGE_CLOCK "QueryPerformanceCounter"

static inline uint64_t lunge_now_ns(void) {
  static uint64_t freq;  /* fixed at boot; a racing first read stores the same value */
  LARGE_INTEGER c;
  if (!freq) {
    LARGE_INTEGER f;
    QueryPerformanceFrequency(&f);
    freq = (uint64_t)f.QuadPart;
  }
  QueryPerformanceCounter(&c);
  uint64_t t = (uint64_t)c.QuadPart;
  /* Split so that t * 1e9 cannot overflow (it would after ~30 min at a 10 MHz counter). */
  return t / freq * 1000000000ull + t % freq * 1000000000ull / freq;
}

static inline int64_t lunge_wall_ns(void) {
  FILETIME ft;
  GetSystemTimePreciseAsFileTime(&ft);
  uint64_t t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
  return ((int64_t)t - 116444736000000000ll) * 100;  /* 1601 -> 1970, 100 ns -> ns */
}

#else
#include <time.h>

#define LUNGE_CLOCK "CLOCK_MONOTONIC"

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

#endif
