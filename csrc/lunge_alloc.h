/*
 * lunge_alloc.h - the calloc and realloc lunge hands libcurl (curl_global_init_mem).
 *
 * glibc serves malloc and free from a per-thread cache (tcache), but its calloc and realloc
 * never look there: they go to an arena, which in a multi-threaded process (Python + the
 * engine thread) means taking its lock.  libcurl 8.x makes ~14 callocs and ~10 reallocs per
 * HTTP/1.1 request, nearly all under 1 KB.  Routing those through malloc (+ memset, or
 * + memcpy when a block must grow) keeps them in the cache: 2 k fewer instructions per request
 * in the engine thread (benchmarks/RESULTS.md).  Larger blocks keep glibc's own calloc and realloc (a
 * calloc from fresh pages skips the clearing).  Only with glibc: malloc_usable_size says how
 * far a block may grow in place.  Elsewhere libcurl keeps its default allocator.
 */
#ifndef LUNGE_ALLOC_H
#define LUNGE_ALLOC_H

#if defined(__GLIBC__)
#define LUNGE_ALLOC 1
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define LUNGE_ALLOC_SMALL 1024  /* tcache holds chunks up to 1032 usable bytes */

static void *lunge_calloc(size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) return NULL;
  if (total > LUNGE_ALLOC_SMALL) return calloc(n, size);
  void *p = malloc(total);
  /* An empty asm that may read p: without it GCC fuses malloc + memset back into calloc. */
  __asm__ volatile("" : : "r"(p) : "memory");
  if (p) memset(p, 0, total);
  return p;
}

static void *lunge_realloc(void *p, size_t size) {
  if (!p || !size || size > LUNGE_ALLOC_SMALL) return realloc(p, size);
  size_t have = malloc_usable_size(p);
  if (size <= have) return p;  /* fits the chunk it already has */
  void *q = malloc(size);
  if (q) {
    memcpy(q, p, have);
    free(p);
  }
  return q;
}
#else
#define LUNGE_ALLOC 0
#endif

#endif
