/*
 * lunge_atomic.h - the few atomics shared by the engine thread and Python's snapshot reads.
 *
 * Counters have one writer (the engine thread); Python reads them while the loop runs.
 * Relaxed loads and stores make those reads well-defined at the cost of a plain mov on
 * x86-64 and arm64.  Ring slots of per-second data are handed over with release/acquire.
 */
#ifndef LUNGE_ATOMIC_H
#define LUNGE_ATOMIC_H

#include <stdint.h>

/* LUNGE_TEST_MSVC_PATHS: scripts/windows_check.sh builds and runs this branch with mingw-w64. */
#if (defined(_MSC_VER) && !defined(__clang__)) || defined(LUNGE_TEST_MSVC_PATHS)
/* MSVC has no __atomic builtins.  On x64 every aligned 8-byte load and store is atomic and
 * the hardware keeps loads acquire and stores release (TSO): volatile keeps the compiler
 * from tearing, merging or dropping them, and _ReadWriteBarrier from moving other memory
 * accesses across the acquire/release ones. */
#if !defined(_M_X64) && !defined(__x86_64__)
#error "lunge_atomic.h: MSVC builds are for x64 only (see docs/windows.md)"
#endif
#include <intrin.h>
static inline uint64_t la_get(const uint64_t *p) { return *(const volatile uint64_t *)p; }
static inline void la_set(uint64_t *p, uint64_t v) { *(volatile uint64_t *)p = v; }
static inline void la_bump(uint64_t *p, uint64_t v) {
  *(volatile uint64_t *)p = *(const volatile uint64_t *)p + v;
}
static inline int la_get_int(const int *p) {
  int v = *(const volatile int *)p;
  _ReadWriteBarrier();
  return v;
}
static inline void la_set_int(int *p, int v) {
  _ReadWriteBarrier();
  *(volatile int *)p = v;
}
#else
static inline uint64_t la_get(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void la_set(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
/* Single writer: load + store, no locked read-modify-write on the hot path. */
static inline void la_bump(uint64_t *p, uint64_t v) {
  __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}
static inline int la_get_int(const int *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void la_set_int(int *p, int v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
#endif

#endif
