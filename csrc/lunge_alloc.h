/*
 * lunge_alloc.h - the allocator lunge hands libcurl (curl_global_init_mem).
 *
 * libcurl 8.x makes ~37 allocations and ~27 frees per HTTP/1.1 request, nearly all of blocks
 * under 1 KB.  glibc's costs for them (benchmarks/RESULTS.md):
 *  - calloc and realloc never use glibc's per-thread cache (tcache): they go to an arena,
 *    which in a multi-threaded process (Python + the engine thread) means taking its lock;
 *  - free costs ~80 instructions even on tcache's fast path (its integrity checks), and the
 *    cache holds 7 blocks per size, fewer than a batch of finished transfers frees.
 * So small blocks go through a per-thread stash in front of glibc: a LIFO list per glibc chunk
 * size (16-byte classes up to 1040), each holding up to LUNGE_STASH_BYTES of blocks (at least
 * LUNGE_STASH_MIN of them; ~4 MB at worst per thread).  A byte budget, not a fixed count: the
 * small classes are where a batch of finished transfers frees hundreds of blocks at once (at 50
 * connections, ~850 blocks of 48 bytes), and a stash that overflows sends them back to glibc.
 * Every block is still glibc's own: the stash only delays free() and hands the block out again,
 * so any block may be freed on any thread, by glibc or by us, and malloc_usable_size says which
 * class a block belongs to.  calloc is stash + memset; realloc grows by stash + memcpy.  Larger
 * blocks go straight to glibc.  A thread's stash is handed back to glibc when the thread exits.
 * Only with glibc; elsewhere libcurl keeps its default allocator.
 */
#ifndef LUNGE_ALLOC_H
#define LUNGE_ALLOC_H

#if defined(__GLIBC__)
#define LUNGE_ALLOC 1
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define LUNGE_ALLOC_SMALL 1024   /* larger requests go to glibc directly */
#define LUNGE_STASH_CLASSES 66   /* chunk sizes 32..1040 (usable 24..1032): class = chunk / 16 */
#define LUNGE_STASH_BYTES 65536  /* per class */
#define LUNGE_STASH_MIN 64

typedef struct {
  void *top[LUNGE_STASH_CLASSES];  /* each free block's first word links to the next */
  unsigned n[LUNGE_STASH_CLASSES];
  unsigned limit[LUNGE_STASH_CLASSES];
} lunge_stash;

static __thread lunge_stash *lunge_tls;
static pthread_key_t lunge_stash_key;
static pthread_once_t lunge_stash_once = PTHREAD_ONCE_INIT;

static void lunge_stash_drop(void *arg) {  /* thread exit, in that thread */
  lunge_stash *st = arg;
  lunge_tls = NULL;
  for (int c = 0; c < LUNGE_STASH_CLASSES; c++) {
    while (st->top[c]) {
      void *p = st->top[c];
      st->top[c] = *(void **)p;
      free(p);
    }
  }
  free(st);
}

static void lunge_stash_make_key(void) { pthread_key_create(&lunge_stash_key, lunge_stash_drop); }

static lunge_stash *lunge_stash_get(void) {
  lunge_stash *st = lunge_tls;
  if (__builtin_expect(st != NULL, 1)) return st;
  pthread_once(&lunge_stash_once, lunge_stash_make_key);
  st = calloc(1, sizeof *st);
  if (st) {
    /* Classes 0 and 1 keep nothing: malloc never asks for them.  Only under valgrind, where
     * malloc_usable_size is the requested size, do blocks land there, some too small for the link. */
    for (unsigned c = 2; c < LUNGE_STASH_CLASSES; c++) {
      unsigned by_bytes = LUNGE_STASH_BYTES / (c * 16);
      st->limit[c] = by_bytes > LUNGE_STASH_MIN ? by_bytes : LUNGE_STASH_MIN;
    }
    lunge_tls = st;
    pthread_setspecific(lunge_stash_key, st);
  }
  return st;
}

/* glibc's chunk size for a request (request2size), in 16-byte units. */
static inline unsigned lunge_class(size_t size) {
  size_t chunk = (size + 8 + 15) & ~(size_t)15;
  return (unsigned)((chunk < 32 ? 32 : chunk) >> 4);
}

static void *lunge_malloc(size_t size) {
  lunge_stash *st = lunge_tls;
  if (st && size <= LUNGE_ALLOC_SMALL) {
    unsigned c = lunge_class(size);
    void *p = st->top[c];
    if (p) {
      st->top[c] = *(void **)p;
      st->n[c]--;
      return p;
    }
  }
  return malloc(size);
}

static void lunge_free(void *p) {
  if (!p) return;
  size_t have = malloc_usable_size(p);  /* chunk size - 8 for heap chunks (>= 24) */
  if (have <= LUNGE_ALLOC_SMALL + 8) {
    lunge_stash *st = lunge_stash_get();
    unsigned c = (unsigned)((have + 8) >> 4);  /* <= 65: have <= 1032 */
    if (st && st->n[c] < st->limit[c]) {
      *(void **)p = st->top[c];
      st->top[c] = p;
      st->n[c]++;
      return;
    }
  }
  free(p);
}

static void *lunge_calloc(size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) return NULL;
  if (total > LUNGE_ALLOC_SMALL) return calloc(n, size);  /* fresh pages need no clearing */
  void *p = lunge_malloc(total);
  /* An empty asm that may read p: without it GCC fuses malloc + memset back into calloc. */
  __asm__ volatile("" : : "r"(p) : "memory");
  if (p) memset(p, 0, total);
  return p;
}

static void *lunge_realloc(void *p, size_t size) {
  if (!p) return lunge_malloc(size);
  if (!size || size > LUNGE_ALLOC_SMALL) return realloc(p, size);
  size_t have = malloc_usable_size(p);
  if (size <= have) return p;  /* fits the chunk it already has */
  void *q = lunge_malloc(size);
  if (q) {
    memcpy(q, p, have);
    lunge_free(p);
  }
  return q;
}

static char *lunge_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = lunge_malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}
#else
#define LUNGE_ALLOC 0
#endif

#endif
