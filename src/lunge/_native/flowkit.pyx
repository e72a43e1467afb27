# cython: language_level=3
"""The flow engine's native parts, callable from Python for tests and for plan-time checks:
the plain JSON path finder (csrc/lunge_json.h) a VU uses to extract values from response
bodies on the engine thread."""
from libc.stddef cimport size_t

cdef extern from "lunge_json.h" nogil:
    enum: LJ_MAX_STEPS
    enum: LJ_MISSING, LJ_STRING, LJ_NUMBER, LJ_TRUE, LJ_FALSE, LJ_NULL, LJ_OBJECT, LJ_ARRAY, LJ_COUNT
    ctypedef struct lj_step:
        pass
    int lj_compile(const char *path, lj_step *steps, int max)
    int lj_find(const char *json, size_t len, const lj_step *steps, int n, const char **out, size_t *outlen,
                long *count)
    long lj_unescape(const char *s, size_t len, char *dst, size_t cap)

KINDS = {LJ_STRING: "string", LJ_NUMBER: "number", LJ_TRUE: "true", LJ_FALSE: "false", LJ_NULL: "null",
         LJ_OBJECT: "object", LJ_ARRAY: "array", LJ_COUNT: "count"}


def is_plain_path(str path):
    """Whether the engine can follow `path` natively ($.a.b[0].c, $['a'], gjson's $.0.id, $.items.#)."""
    cdef lj_step steps[LJ_MAX_STEPS]
    cdef bytes p = path.encode()
    return lj_compile(p, steps, LJ_MAX_STEPS) >= 0


def json_path(bytes doc, str path):
    """(kind, text) of the value at `path` in `doc`, or None where it does not resolve: strings
    decoded, other values as written, '#' as the count. ValueError for a path that is not plain."""
    cdef lj_step steps[LJ_MAX_STEPS]
    cdef bytes p = path.encode()
    cdef int n = lj_compile(p, steps, LJ_MAX_STEPS)
    if n < 0:
        raise ValueError(f"{path!r} is not a plain path")
    cdef const char *out = NULL
    cdef size_t outlen = 0
    cdef long count = 0
    cdef int kind = lj_find(doc, len(doc), steps, n, &out, &outlen, &count)
    if kind == LJ_MISSING:
        return None
    if kind == LJ_COUNT:
        return "count", str(count)
    cdef bytes raw = out[:outlen]
    cdef bytearray buf
    cdef long m
    if kind == LJ_STRING:
        buf = bytearray(len(raw) + 1)
        m = lj_unescape(out, outlen, buf, len(buf))
        if m < 0:
            return None
        return "string", bytes(buf[:m]).decode("utf-8", "replace")
    return KINDS[kind], raw.decode("utf-8", "replace")
