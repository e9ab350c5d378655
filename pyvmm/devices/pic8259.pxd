# Declarations of the 8259A pair, so that the I/O bus reaches its registers and the
# CPU core its INTA cycle (DualPIC.inta) without a Python call.
cimport cython
from libc.stdint cimport uint32_t

from ..bus.ioport cimport PortDevice


@cython.final
cdef class PIC8259:
    cdef public bint master
    cdef public object on_int
    cdef public int irr, isr, imr, lowest, icw_step, icw1, icw2, icw3, icw4
    cdef public int read_isr, poll, special_mask, rotate_aeoi, inputs, elcr, int_output

    cdef int _level_mask(self) noexcept
    cdef int _cascade_mask(self) noexcept
    cdef int _rank(self, int bits) noexcept
    cpdef int pending(self) noexcept
    cdef int _update(self) except -1
    cpdef int set_input(self, int ir, int level) except -1
    cpdef int set_elcr(self, int value) except -1
    cpdef int vector(self, int ir) noexcept
    cpdef int ack(self, int ir) except -1
    cpdef int write(self, int a0, int value) except -1
    cpdef int read(self, int a0) except -1
    cdef int _icw1(self, int value) except -1
    cdef int _icw(self, int value) except -1
    cdef int _ocw2(self, int value) except -1
    cdef int _ocw3(self, int value) except -1
    cdef int _poll_word(self) except -1


@cython.final
cdef class DualPIC(PortDevice):
    cdef public PIC8259 master, slave
    cdef public int intr
    cdef public object on_intr, board

    cdef int inta(self) except -1
