from libc.stdint cimport uint64_t


cdef extern from "lunge_hist.h" nogil:
    enum:
        LH_COUNTS_LEN
        LH_SIG_DIGITS
    unsigned long long LH_LOWEST
    unsigned long long LH_HIGHEST

    ctypedef struct lunge_hist:
        uint64_t total
        uint64_t overflow
        uint64_t min
        uint64_t max
        uint64_t sum
        double sum_sq
        uint64_t counts[1]

    lunge_hist *lh_new()
    void lh_clear(lunge_hist *h)
    void lh_reset_stats(lunge_hist *h)
    size_t lh_index(uint64_t v)
    void lh_record(lunge_hist *h, uint64_t v)
    void lh_record_zeros(lunge_hist *h, uint64_t n)
    void lh_add(lunge_hist *dst, const lunge_hist *src)
    uint64_t lh_value_at(size_t i, uint64_t *width)


cdef class Histogram:
    cdef lunge_hist *h

    @staticmethod
    cdef Histogram wrap_copy(const lunge_hist *src)


# The non-empty counters of h as a contract.SparseCounts, zeroing them (and only them): how an
# engine hands Python a closed second's histogram without clearing 270 KB each second.
cdef object take_sparse(lunge_hist *h)
