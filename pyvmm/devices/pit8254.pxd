# Declarations of the 8254, so that the I/O bus reaches its ports in C.
cimport cython
from libc.stdint cimport uint32_t

from ..bus.ioport cimport PortDevice


@cython.final
cdef class Counter:
    cdef readonly int index
    cdef public int mode_bits, mode, bcd, access, cr, cr_valid, null_count
    cdef public int write_msb, write_lsb, read_msb, count_latched, count_latch
    cdef public int status_latched, status_latch, gate, loaded, counting
    cdef public long long start, paused_e, load_at      # PIT ticks
    cdef public int n, offset, load_low, idle_value, idle_out

    cdef int _count_of(self, int raw) noexcept
    cpdef int sync(self, long long t) noexcept
    cdef long long _elapsed(self, long long t) noexcept
    cpdef int out(self, long long t) noexcept
    cpdef int value(self, long long t) noexcept
    cdef int _freeze(self, long long t, int out) noexcept
    cpdef int control(self, long long t, int value) noexcept
    cpdef int write(self, long long t, int value) noexcept
    cdef int _write_count(self, long long t, int raw) noexcept
    cpdef int set_gate(self, long long t, int level) noexcept
    cpdef int latch_count(self, long long t) noexcept
    cpdef int latch_status(self, long long t) noexcept
    cpdef int read(self, long long t) noexcept


@cython.final
cdef class PIT8254(PortDevice):
    cdef readonly list counters         # three Counter objects
    cdef public int irq_pulse
    cdef public object board, clock, irq0, timer

    cdef long long _tick(self) except? -1
    cdef int _control(self, long long t, int value) except -1
    cdef int _out0_changed(self) except -1
    cdef int _arm(self, long long t) except -1
    cdef int _restore_out0(self) except -1
