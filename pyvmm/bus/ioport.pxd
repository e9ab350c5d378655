# Declarations of the I/O port bus, so that the CPU core and compiled devices can
# cimport it: the core calls IOBus.read/write in C, and the bus calls a PortDevice's
# io_read/io_write through its vtable, so an IN/OUT to a compiled chip makes no
# Python call.
from libc.stdint cimport uint32_t, int64_t

cdef class PortDevice:
    # set (in __cinit__) by a chip whose handlers neither look at the clock nor change
    # what the core caches between device calls (clock.now/deadline, mem.addr_mask):
    # the core calls them without publishing its time first
    cdef bint timeless
    # ``port`` is the absolute port number; reads return 0..255, -1 only with an
    # exception set (as do writes)
    cdef int io_read(self, uint32_t port) except -1
    cdef int io_write(self, uint32_t port, uint32_t value) except -1


cdef class PortRead:
    cdef readonly PortDevice device


cdef class PortWrite:
    cdef readonly PortDevice device


cdef class IOBus:
    # readonly: the C paths index the 64K lists without a length check; entries
    # may be replaced (the debugger's port watches do)
    cdef readonly list read8, write8, read16, write16
    cdef readonly dict read32, write32, owner

    # width in bytes (1, 2 or 4); the port is taken modulo 64K, the value masked
    cdef int64_t read(self, uint32_t port, int width) except -1
    cdef int write(self, uint32_t port, uint32_t value, int width) except -1
    # every handler this access reaches belongs to a timeless PortDevice
    cdef bint timeless_access(self, uint32_t port, int width, bint write) noexcept
