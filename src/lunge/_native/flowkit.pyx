# cython: language_level=3
"""The flow engine's native parts, callable from Python for tests and for plan-time checks:
the plain JSON path finder (csrc/lunge_json.h) a VU uses to extract values from response
bodies, and the request templates (csrc/lunge_tmpl.h) it renders, both on the engine thread."""
from libc.stddef cimport size_t
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc

from lunge._native.flowc cimport *

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


SEGMENTS = {"lit": LT_LIT, "var": LT_VAR, "iteration": LT_ITERATION, "vuId": LT_VU, "timestamp": LT_TIMESTAMP,
            "timestampMs": LT_TIMESTAMP_MS, "isoTimestamp": LT_ISO, "uuid": LT_UUID, "randomInt": LT_RANDINT}


def render(segments, variables, uint64_t iteration=0, uint64_t vu=1, uint64_t now_ms=0, uint64_t seed=1,
           size_t cap=65536):
    """Render a template as the engine does. segments: [("lit", "text"), ("var", index),
    ("iteration",), ("vuId",), ("timestamp",) (Unix seconds of now_ms), ("timestampMs",), ("isoTimestamp",)
    (UTC, 2026-12-06T07:20:00.123Z), ("uuid",), ("randomInt", lo, hi)]; variables: a
    list of bytes or None (not set). The rendered bytes, or None when a variable is not set or
    the result does not fit `cap`."""
    cdef int n = len(segments), nv = len(variables), i
    cdef lt_seg *segs = <lt_seg *>malloc(sizeof(lt_seg) * max(n, 1))
    cdef const char **vals = <const char **>malloc(sizeof(char *) * max(nv, 1))
    cdef size_t *lens = <size_t *>malloc(sizeof(size_t) * max(nv, 1))
    cdef char *out = <char *>malloc(max(cap, 1))
    cdef uint64_t rng = seed or 1
    cdef lt_ctx c
    cdef long m
    keep = []  # the bytes the segments point into
    try:
        for i, seg in enumerate(segments):
            segs[i].kind = SEGMENTS[seg[0]]
            segs[i].text = NULL
            segs[i].len = 0
            segs[i].var = -1
            segs[i].lo = segs[i].hi = 0
            if seg[0] == "lit":
                b = seg[1].encode()
                keep.append(b)
                segs[i].text = b
                segs[i].len = len(b)
            elif seg[0] == "var":
                segs[i].var = seg[1]
            elif seg[0] == "randomInt":
                segs[i].lo, segs[i].hi = seg[1], seg[2]
        for i, v in enumerate(variables):
            if v is None:
                vals[i] = NULL
                lens[i] = 0
            else:
                keep.append(v)
                vals[i] = <bytes>v
                lens[i] = len(v)
        c.vals = vals
        c.lens = lens
        c.nvars = nv
        c.iteration = iteration
        c.vu = vu
        c.now_ms = now_ms
        c.rng = &rng
        m = lt_render(segs, n, &c, out, cap)
        return None if m < 0 else out[:m]
    finally:
        free(segs)
        free(vals)
        free(lens)
        free(out)
