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

static inline uint64_t la_get(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void la_set(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
/* Single writer: load + store, no locked read-modify-write on the hot path. */
static inline void la_bump(uint64_t *p, uint64_t v) {
  __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}
static inline int la_get_int(const int *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void la_set_int(int *p, int v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

#endif
