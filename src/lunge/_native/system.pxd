# The engine's other C helpers (csrc/): clock, sub-millisecond waits, the atomics shared with
# snapshot(), and which of them this platform has (engine.platform()).  One extern block per
# header; only what engine.pyx uses.
from libc.stdint cimport uint64_t, int64_t


cdef extern from "lunge_clock.h" nogil:
    const char *LUNGE_CLOCK
    uint64_t lunge_now_ns()
    int64_t lunge_wall_ns()


cdef extern from "lunge_wait.h" nogil:
    const char *LUNGE_WAITS
    int LUNGE_WAITFDS
    void lunge_fine_timer_slack()
    int lunge_wait_fds(void *fds, unsigned int n, uint64_t wait_ns)


cdef extern from "lunge_alloc.h" nogil:
    int LUNGE_ALLOC


cdef extern from "lunge_atomic.h" nogil:
    uint64_t la_get(const uint64_t *p)
    void la_set(uint64_t *p, uint64_t v)
    void la_bump(uint64_t *p, uint64_t v)
    int la_get_int(const int *p)
    void la_set_int(int *p, int v)
