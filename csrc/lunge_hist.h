/*
 * lunge_hist.h - a fixed-layout HDR (log-linear) histogram of nanoseconds.
 *
 * Layout is HdrHistogram's with lowest discernible value 1, highest trackable 1 hour
 * (3.6e12 ns) and 3 significant digits: 2048 sub-buckets, 32 buckets, 33 792 counters.
 * Every histogram in lunge has this one layout, so merging is adding counters, and the
 * encoded form (HdrHistogram V2, see docs/result-format.md) is readable by HdrHistogram tools.
 * Recording is O(1): a clz, a shift, an increment; nothing is allocated.
 * Values above the top are clamped into the top bucket and counted in `overflow`, never dropped.
 */
#ifndef LUNGE_HIST_H
#define LUNGE_HIST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LH_SIG_DIGITS 3
#define LH_LOWEST 1ull
#define LH_HIGHEST 3600000000000ull
#define LH_HALF_MAG 10
#define LH_HALF_COUNT 1024
#define LH_SUB_MASK 2047ull
#define LH_BUCKETS 32
#define LH_COUNTS_LEN ((LH_BUCKETS + 1) * LH_HALF_COUNT)
#define LH_LZC_BASE 53 /* 64 - unit magnitude (0) - half-count magnitude (10) - 1 */

typedef struct {
  uint64_t total;    /* values recorded */
  uint64_t overflow; /* of which above LH_HIGHEST (clamped) */
  uint64_t min;      /* exact; UINT64_MAX when empty */
  uint64_t max;      /* exact */
  uint64_t sum;      /* exact, ns */
  double sum_sq;     /* for the standard deviation */
  uint64_t counts[LH_COUNTS_LEN];
} lunge_hist;

static inline void lh_clear(lunge_hist *h) {
  memset(h, 0, sizeof(*h));
  h->min = UINT64_MAX;
}

/* Empty the totals but not the counters: for a caller that has zeroed the counters it set. */
static inline void lh_reset_stats(lunge_hist *h) {
  h->total = h->overflow = h->max = h->sum = 0;
  h->sum_sq = 0.0;
  h->min = UINT64_MAX;
}

static inline lunge_hist *lh_new(void) {
  lunge_hist *h = (lunge_hist *)malloc(sizeof(lunge_hist));
  if (h) lh_clear(h);
  return h;
}

/* Leading zero bits of a non-zero value.  LUNGE_TEST_MSVC_PATHS: see lunge_atomic.h. */
#if (defined(_MSC_VER) && !defined(__clang__)) || defined(LUNGE_TEST_MSVC_PATHS)
#include <intrin.h>
#ifdef _MSC_VER
#pragma intrinsic(_BitScanReverse64)
#endif
static inline int lh_clz64(uint64_t v) {
  unsigned long top;
  _BitScanReverse64(&top, v);
  return 63 - (int)top;
}
#else
#define lh_clz64(v) __builtin_clzll(v)
#endif

static inline size_t lh_index(uint64_t v) {
  int bucket = LH_LZC_BASE - lh_clz64(v | LH_SUB_MASK);
  uint64_t sub = v >> bucket;
  return ((size_t)(bucket + 1) << LH_HALF_MAG) + (size_t)(sub - LH_HALF_COUNT);
}

static inline void lh_record(lunge_hist *h, uint64_t v) {
  uint64_t c = v;
  if (v > LH_HIGHEST) { c = LH_HIGHEST; h->overflow++; }
  h->counts[lh_index(c)]++;
  h->total++;
  h->sum += v;
  h->sum_sq += (double)v * (double)v;
  if (v < h->min) h->min = v;
  if (v > h->max) h->max = v;
}

/* Record n values of 0 at once. */
static inline void lh_record_zeros(lunge_hist *h, uint64_t n) {
  if (!n) return;
  h->counts[lh_index(0)] += n;
  h->total += n;
  h->min = 0;
}

static inline void lh_add(lunge_hist *dst, const lunge_hist *src) {
  for (size_t i = 0; i < LH_COUNTS_LEN; i++) dst->counts[i] += src->counts[i];
  dst->total += src->total;
  dst->overflow += src->overflow;
  dst->sum += src->sum;
  dst->sum_sq += src->sum_sq;
  if (src->min < dst->min) dst->min = src->min;
  if (src->max > dst->max) dst->max = src->max;
}

/* Lowest value that lands in counter i, and the width of its range. */
static inline uint64_t lh_value_at(size_t i, uint64_t *width) {
  int bucket = (int)(i >> LH_HALF_MAG) - 1;
  uint64_t sub = (uint64_t)(i & (LH_HALF_COUNT - 1)) + LH_HALF_COUNT;
  if (bucket < 0) { sub -= LH_HALF_COUNT; bucket = 0; }
  if (width) *width = 1ull << bucket;
  return sub << bucket;
}

#endif
