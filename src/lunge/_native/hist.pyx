"""Histogram: the engine's native latency histogram, seen from Python.

Values are nanoseconds. The C side (csrc/lunge_hist.h) records; this module merges,
exports counters to numpy, answers percentiles and encodes to / decodes from
HdrHistogram's V2 format (zlib + base64, "HISTF..."), so a result's histogram can be
read by any HdrHistogram library and merged exactly.
"""
import base64
import struct
import zlib

import numpy as np

from libc.stdint cimport uint64_t, int64_t
from libc.stdlib cimport free
from libc.string cimport memcpy

COUNTS_LEN = LH_COUNTS_LEN
HIGHEST = LH_HIGHEST

# HdrHistogram V2 cookies (word size 8 in the low nibble: | 0x10).
_COOKIE = 0x1C849303 | 0x10
_COMPRESSED_COOKIE = 0x1C849304 | 0x10
_HEADER = struct.Struct(">iiiiqqd")


def _bucket_values():
    cdef size_t i
    cdef uint64_t w
    low = np.empty(LH_COUNTS_LEN, dtype=np.float64)
    width = np.empty(LH_COUNTS_LEN, dtype=np.float64)
    cdef double[::1] lv = low, wv = width   # typed views: 34k item writes in C, not via numpy
    for i in range(LH_COUNTS_LEN):
        lv[i] = lh_value_at(i, &w)
        wv[i] = w
    return low, width


# Per-counter lowest value and width: the mapping from counters back to nanoseconds.
BUCKET_LOW, BUCKET_WIDTH = _bucket_values()
BUCKET_MID = BUCKET_LOW + (BUCKET_WIDTH - 1) / 2.0


class HistogramFormatError(ValueError):
    pass


cdef object take_sparse(lunge_hist *h):
    # Only counters between those of min and max can be set.
    from lunge._native.contract import SparseCounts

    cdef uint64_t *c = h.counts
    cdef size_t j, n = 0, lo = 0, hi = 0
    cdef int[::1] idx_buf
    cdef uint64_t[::1] cnt_buf
    if h.total:
        lo = lh_index(h.min)
        hi = lh_index(h.max if h.max < LH_HIGHEST else LH_HIGHEST)
        for j in range(lo, hi + 1):
            if c[j]:
                n += 1
    idx = np.empty(n, dtype=np.int32)
    cnt = np.empty(n, dtype=np.uint64)
    idx_buf = idx
    cnt_buf = cnt
    n = 0
    if h.total:
        for j in range(lo, hi + 1):
            if c[j]:
                idx_buf[n] = j
                cnt_buf[n] = c[j]
                c[j] = 0
                n += 1
    return SparseCounts(idx=idx, counts=cnt, total=h.total, min_ns=h.min if h.total else 0, max_ns=h.max,
                        sum_ns=h.sum, sum_sq=h.sum_sq)


def percentiles_of(idx, counts, total, min_ns, max_ns, ps):
    """lunge's one percentile rule, for dense and sparse histograms alike: the value (ns, float)
    at percentile p (0..100) is the midpoint of the counter that holds the ceil(p% * total)-th
    smallest value, clamped to the exact min and max. `idx`: increasing counter indices,
    `counts`: their counts."""
    ps = np.atleast_1d(np.asarray(ps, dtype=np.float64))
    if not total:
        return np.zeros(len(ps))
    cum = np.cumsum(counts)
    ranks = np.clip(np.ceil(ps / 100.0 * total), 1, total)
    vals = BUCKET_MID[np.asarray(idx)[np.searchsorted(cum, ranks, side="left")]]
    return np.clip(vals, min_ns, max_ns)


cdef class Histogram:
    """A mergeable latency histogram (ns). `Histogram()` is empty."""

    def __cinit__(self):
        self.h = lh_new()
        if self.h == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.h)

    @staticmethod
    cdef Histogram wrap_copy(const lunge_hist *src):
        cdef Histogram out = Histogram()
        memcpy(out.h, src, sizeof(lunge_hist))
        return out

    # -- recording (the engine records natively; these serve tests and tools)
    def record(self, uint64_t value_ns):
        lh_record(self.h, value_ns)

    def record_array(self, values):
        """Record every value of an integer array (ns)."""
        cdef const int64_t[:] v = np.ascontiguousarray(values, dtype=np.int64)
        cdef Py_ssize_t i, n = v.shape[0]
        with nogil:
            for i in range(n):
                lh_record(self.h, <uint64_t>(v[i] if v[i] > 0 else 0))

    def add(self, Histogram other not None):
        """Merge `other` into this histogram (counts add)."""
        lh_add(self.h, other.h)
        return self

    def copy(self):
        return Histogram.wrap_copy(self.h)

    def clear(self):
        lh_clear(self.h)

    # -- reading
    @property
    def total(self):
        return self.h.total

    @property
    def overflow(self):
        return self.h.overflow

    @property
    def min_ns(self):
        return self.h.min if self.h.total else 0

    @property
    def max_ns(self):
        return self.h.max

    @property
    def sum_ns(self):
        return self.h.sum

    @property
    def sum_sq(self):
        return self.h.sum_sq

    def counts(self):
        """A numpy copy of the counters (uint64, length COUNTS_LEN)."""
        cdef uint64_t[::1] view = <uint64_t[:LH_COUNTS_LEN]> &self.h.counts[0]
        return np.array(view, dtype=np.uint64, copy=True)

    def nonzero(self):
        """(indices, counts) of the non-empty counters: a compact form for per-second data."""
        c = self.counts()
        idx = np.flatnonzero(c)
        return idx.astype(np.int32), c[idx]

    def set_state(self, counts, uint64_t total, uint64_t overflow, uint64_t min_ns,
                  uint64_t max_ns, uint64_t sum_ns, double sum_sq, indices=None):
        """Rebuild from exported state (dense counts, or sparse with `indices`)."""
        lh_clear(self.h)
        cdef uint64_t[::1] view = <uint64_t[:LH_COUNTS_LEN]> &self.h.counts[0]
        arr = np.asarray(view)
        if indices is None:
            arr[:len(counts)] = counts
        else:
            arr[np.asarray(indices, dtype=np.intp)] = counts
        self.h.total = total
        self.h.overflow = overflow
        self.h.min = min_ns if total else <uint64_t>0xFFFFFFFFFFFFFFFF
        self.h.max = max_ns
        self.h.sum = sum_ns
        self.h.sum_sq = sum_sq

    def mean_ns(self):
        return <double>self.h.sum / self.h.total if self.h.total else 0.0

    def stddev_ns(self):
        if not self.h.total:
            return 0.0
        mean = <double>self.h.sum / self.h.total
        var = self.h.sum_sq / self.h.total - mean * mean
        return var ** 0.5 if var > 0 else 0.0

    def percentiles(self, ps):
        """Values (ns, float) at percentiles `ps` (0..100): see percentiles_of."""
        if not self.h.total:
            return np.zeros(len(np.atleast_1d(ps)))
        idx, cnt = self.nonzero()
        return percentiles_of(idx, cnt, self.h.total, self.h.min, self.h.max, ps)

    def percentile(self, p):
        return float(self.percentiles([p])[0])

    # -- HdrHistogram V2 encoding
    def encode(self):
        """HdrHistogram V2 compressed, base64 text ("HISTF...")."""
        cdef uint64_t *c = self.h.counts
        cdef Py_ssize_t last = LH_COUNTS_LEN - 1
        while last >= 0 and c[last] == 0:
            last -= 1
        cdef bytearray buf = bytearray(9 * (last + 2))
        cdef unsigned char *out = buf
        cdef Py_ssize_t i = 0, n = 0, zeros
        cdef int64_t word
        cdef uint64_t z
        with nogil:
            while i <= last:
                if c[i] == 0:
                    zeros = 0
                    while i <= last and c[i] == 0:
                        zeros += 1
                        i += 1
                    word = -zeros if zeros > 1 else 0
                else:
                    word = <int64_t>c[i]
                    i += 1
                z = (<uint64_t>word << 1) ^ <uint64_t>(word >> 63)
                n += _leb128(z, out + n)
        payload = bytes(buf[:n])
        header = _HEADER.pack(_COOKIE, len(payload), 0, LH_SIG_DIGITS, LH_LOWEST, LH_HIGHEST, 1.0)
        packed = zlib.compress(header + payload)
        return base64.b64encode(struct.pack(">ii", _COMPRESSED_COOKIE, len(packed)) + packed).decode("ascii")

    @staticmethod
    def decode(text):
        """A Histogram from HdrHistogram V2 text. min/max/sum are estimated from the counters;
        lunge's result files carry the exact ones beside the encoding (see result.py)."""
        try:
            raw = base64.b64decode(text, validate=True)
            cookie, length = struct.unpack(">ii", raw[:8])
            if cookie != _COMPRESSED_COOKIE:
                raise HistogramFormatError("not an HdrHistogram V2 compressed histogram")
            data = zlib.decompress(raw[8:8 + length])
            cookie, plen, offset, sig, lowest, highest, ratio = _HEADER.unpack(data[:_HEADER.size])
        except (ValueError, struct.error, zlib.error) as e:
            raise HistogramFormatError(f"cannot decode histogram: {e}") from None
        if cookie != _COOKIE or offset != 0:
            raise HistogramFormatError("unsupported HdrHistogram encoding")
        if sig != LH_SIG_DIGITS or lowest != LH_LOWEST or highest > LH_HIGHEST:
            raise HistogramFormatError(
                f"histogram layout (lowest {lowest}, highest {highest}, {sig} digits) "
                f"differs from lunge's (1 ns .. 1 h, 3 digits)")
        counts = _decode_payload(data[_HEADER.size:_HEADER.size + plen])
        h = Histogram()
        total = int(counts.sum())
        nz = np.flatnonzero(counts)
        lo = int(BUCKET_LOW[nz[0]]) if total else 0
        top = nz[len(nz) - 1] if total else 0
        hi = int(BUCKET_LOW[top] + BUCKET_WIDTH[top] - 1) if total else 0
        mids = BUCKET_MID[nz]
        cn = counts[nz].astype(np.float64)
        h.set_state(counts, total, 0, lo, hi, int((mids * cn).sum()), float((mids * mids * cn).sum()))
        return h

    def __eq__(self, other):
        if not isinstance(other, Histogram):
            return NotImplemented
        return (self.total == other.total and self.min_ns == other.min_ns
                and self.max_ns == other.max_ns and self.sum_ns == other.sum_ns
                and bool(np.array_equal(self.counts(), other.counts())))

    def __reduce__(self):
        idx, cnt = self.nonzero()
        return (_rebuild, (idx, cnt, self.total, self.overflow, self.min_ns, self.max_ns,
                           self.sum_ns, self.sum_sq))

    def __repr__(self):
        return f"<Histogram n={self.total} min={self.min_ns}ns max={self.max_ns}ns>"


def _rebuild(idx, cnt, total, overflow, min_ns, max_ns, sum_ns, sum_sq):
    h = Histogram()
    h.set_state(cnt, total, overflow, min_ns, max_ns, sum_ns, sum_sq, indices=idx)
    return h


cdef inline int _leb128(uint64_t z, unsigned char *out) noexcept nogil:
    # HdrHistogram's ZigZag LEB128: 7 bits a byte, at most 9 bytes (the 9th carries 8 bits).
    cdef int n = 0
    while n < 8:
        if z < 0x80:
            out[n] = <unsigned char>z
            return n + 1
        out[n] = <unsigned char>((z & 0x7F) | 0x80)
        z >>= 7
        n += 1
    out[8] = <unsigned char>z
    return 9


def _decode_payload(const unsigned char[:] p):
    counts = np.zeros(LH_COUNTS_LEN, dtype=np.uint64)
    cdef uint64_t[::1] c = counts
    cdef Py_ssize_t pos = 0, idx = 0, n = p.shape[0]
    cdef uint64_t z
    cdef int64_t word
    cdef int shift
    while pos < n:
        z = 0
        shift = 0
        while True:
            if pos >= n:
                raise HistogramFormatError("truncated histogram payload")
            if shift == 56:
                z |= (<uint64_t>p[pos]) << 56
                pos += 1
                break
            z |= (<uint64_t>(p[pos] & 0x7F)) << shift
            pos += 1
            if not (p[pos - 1] & 0x80):
                break
            shift += 7
        word = <int64_t>((z >> 1) ^ (-(<int64_t>(z & 1))))
        if word < 0:
            idx += -word
        else:
            if idx >= LH_COUNTS_LEN:
                raise HistogramFormatError("histogram payload longer than its layout")
            c[idx] = <uint64_t>word
            idx += 1
    return counts
