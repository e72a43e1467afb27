# The flow engine's C headers (csrc/): request templates and plain JSON paths, declared once for
# flow.pyx (the engine) and flowkit.pyx (their Python face for tests and plan-time checks).
from libc.stddef cimport size_t
from libc.stdint cimport int64_t, uint64_t


cdef extern from "lunge_tmpl.h" nogil:
    enum: LT_LIT, LT_VAR, LT_ITERATION, LT_VU, LT_TIMESTAMP, LT_UUID, LT_RANDINT, LT_TIMESTAMP_MS, LT_ISO
    ctypedef struct lt_seg:
        int kind
        const char *text
        size_t len
        int var
        int64_t lo
        int64_t hi
    ctypedef struct lt_ctx:
        const char *const *vals
        const size_t *lens
        int nvars
        uint64_t iteration
        uint64_t vu
        uint64_t now_ms
        uint64_t *rng
    uint64_t lt_next(uint64_t *s)
    long lt_render(const lt_seg *segs, int n, const lt_ctx *c, char *out, size_t cap)


cdef extern from "lunge_json.h" nogil:
    enum: LJ_MAX_STEPS
    enum: LJ_MISSING, LJ_STRING, LJ_NUMBER, LJ_TRUE, LJ_FALSE, LJ_NULL, LJ_OBJECT, LJ_ARRAY, LJ_COUNT
    ctypedef struct lj_step:
        pass
    int lj_compile(const char *path, lj_step *steps, int max)
    int lj_find(const char *json, size_t len, const lj_step *steps, int n, const char **out, size_t *outlen,
                long *count)
    long lj_unescape(const char *s, size_t len, char *dst, size_t cap)
