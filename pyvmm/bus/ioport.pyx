# cython: language_level=3
"""The 64K I/O port table.

Devices register handlers for the ports they own with :meth:`IOBus.register`.
Handlers receive the absolute port number: ``read(port) -> int`` and
``write(port, value)``.  A device may give byte handlers only; a 16- or 32-bit access
to such a port is split into byte accesses at ascending ports, as the ISA bus does.
Reads of a port nobody owns return all ones; writes to it are dropped.  Two devices
claiming the same port (for the same direction and width) is a configuration error
raised at start-up.

The tables (``read8``, ``write8``, ``read16``, ``write16`` lists, ``read32``,
``write32`` dicts) stay plain Python containers of callables, so the debugger can
wrap an entry.  A compiled chip (a :class:`PortDevice`) registers the callables
``PortRead(self)`` / ``PortWrite(self)``; the bus recognises them and calls the chip's
``io_read``/``io_write`` in C instead of through Python.  The CPU core calls
:meth:`IOBus.read`/:meth:`IOBus.write` in C too (see ioport.pxd).
"""
from libc.stdint cimport uint32_t, int64_t

from ..errors import BusConflict

PORTS = 0x10000


cdef class PortDevice:
    """Base of the chips whose port handlers are C methods."""

    cdef int io_read(self, uint32_t port) except -1:
        return 0xFF

    cdef int io_write(self, uint32_t port, uint32_t value) except -1:
        return 0


cdef class PortRead:
    """The read handler of a PortDevice, callable from Python as ``read(port)``."""

    def __cinit__(self, PortDevice device not None):
        self.device = device

    def __call__(self, port):
        return self.device.io_read(port & 0xFFFF)


cdef class PortWrite:
    """The write handler of a PortDevice, callable from Python as ``write(port, value)``."""

    def __cinit__(self, PortDevice device not None):
        self.device = device

    def __call__(self, port, value):
        self.device.io_write(port & 0xFFFF, value & 0xFFFFFFFF)


cdef class _Unmapped(PortDevice):
    # nobody drives the data lines: the pull-ups read as all ones; writes are dropped
    def __cinit__(self):
        self.timeless = True


_unmapped = _Unmapped()
_unmapped_read = PortRead(_unmapped)
_unmapped_write = PortWrite(_unmapped)


cdef inline int64_t _call_read(object handler, uint32_t port, int64_t mask) except -1:
    if type(handler) is PortRead:
        return (<PortRead>handler).device.io_read(port) & mask
    return handler(port) & mask


cdef inline bint _timeless(object handler) noexcept:
    if type(handler) is PortRead:
        return (<PortRead>handler).device.timeless
    if type(handler) is PortWrite:
        return (<PortWrite>handler).device.timeless
    return False


cdef inline int _call_write(object handler, uint32_t port, uint32_t value) except -1:
    if type(handler) is PortWrite:
        return (<PortWrite>handler).device.io_write(port, value)
    handler(port, value)
    return 0


cdef class IOBus:
    def __init__(self):
        self.read8 = [_unmapped_read] * PORTS
        self.write8 = [_unmapped_write] * PORTS
        self.read16 = [None] * PORTS
        self.write16 = [None] * PORTS
        self.read32 = {}         # rare (ATA data port): port -> handler
        self.write32 = {}
        self.owner = {}          # (kind, port) -> owner name, for conflict messages

    def register(self, port, count=1, *, read8=None, write8=None,
                 read16=None, write16=None, read32=None, write32=None,
                 owner="device"):
        """Claim ports ``port .. port+count-1`` for the given handlers."""
        for kind, table, handler in (("read8", self.read8, read8),
                                     ("write8", self.write8, write8),
                                     ("read16", self.read16, read16),
                                     ("write16", self.write16, write16),
                                     ("read32", self.read32, read32),
                                     ("write32", self.write32, write32)):
            if handler is None:
                continue
            for p in range(port, port + count):
                if not 0 <= p < PORTS:
                    raise BusConflict(f"{owner}: port {p:#x} is out of range")
                prev = self.owner.get((kind, p))
                if prev is not None:
                    raise BusConflict(f"{owner}: port {p:#06x} ({kind}) already belongs to {prev}")
            for p in range(port, port + count):
                table[p] = handler
                self.owner[(kind, p)] = owner

    def unregister(self, port, count=1):
        for p in range(port, port + count):
            self.read8[p] = _unmapped_read
            self.write8[p] = _unmapped_write
            self.read16[p] = None
            self.write16[p] = None
            self.read32.pop(p, None)
            self.write32.pop(p, None)
            for kind in ("read8", "write8", "read16", "write16", "read32", "write32"):
                self.owner.pop((kind, p), None)

    # -- accesses: C entry points for the CPU core --------------------------------------
    cdef int64_t read(self, uint32_t port, int width) except -1:
        cdef object handler
        cdef uint32_t p1
        port &= 0xFFFF
        if width == 1:
            return _call_read(self.read8[port], port, 0xFF)
        if width == 2:
            handler = self.read16[port]
            if handler is not None:
                return _call_read(handler, port, 0xFFFF)
            p1 = (port + 1) & 0xFFFF
            return _call_read(self.read8[port], port, 0xFF) | (_call_read(self.read8[p1], p1, 0xFF) << 8)
        handler = self.read32.get(port)
        if handler is not None:
            return _call_read(handler, port, 0xFFFFFFFF)
        return self.read(port, 2) | (self.read(port + 2, 2) << 16)

    cdef int write(self, uint32_t port, uint32_t value, int width) except -1:
        cdef object handler
        cdef uint32_t p1
        port &= 0xFFFF
        if width == 1:
            return _call_write(self.write8[port], port, value & 0xFF)
        if width == 2:
            handler = self.write16[port]
            if handler is not None:
                return _call_write(handler, port, value & 0xFFFF)
            p1 = (port + 1) & 0xFFFF
            _call_write(self.write8[port], port, value & 0xFF)
            return _call_write(self.write8[p1], p1, (value >> 8) & 0xFF)
        handler = self.write32.get(port)
        if handler is not None:
            return _call_write(handler, port, value)
        self.write(port, value & 0xFFFF, 2)
        return self.write(port + 2, value >> 16, 2)

    cdef bint timeless_access(self, uint32_t port, int width, bint write) noexcept:
        cdef list table8 = self.write8 if write else self.read8
        cdef object handler
        port &= 0xFFFF
        if width == 1:
            return _timeless(table8[port])
        if width == 2:
            handler = (self.write16 if write else self.read16)[port]
            if handler is not None:
                return _timeless(handler)
            return _timeless(table8[port]) and _timeless(table8[(port + 1) & 0xFFFF])
        return False

    # -- the same from Python (tests, the debugger's port commands) -----------------------
    def inb(self, port):
        return self.read(port & 0xFFFF, 1)

    def outb(self, port, value):
        self.write(port & 0xFFFF, value & 0xFF, 1)

    def inw(self, port):
        return self.read(port & 0xFFFF, 2)

    def outw(self, port, value):
        self.write(port & 0xFFFF, value & 0xFFFF, 2)

    def ind(self, port):
        return self.read(port & 0xFFFF, 4)

    def outd(self, port, value):
        self.write(port & 0xFFFF, value & 0xFFFFFFFF, 4)
