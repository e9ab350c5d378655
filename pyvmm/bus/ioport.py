"""The 64K I/O port table.

Devices register handlers for the ports they own with :meth:`IOBus.register`.
Handlers receive the absolute port number: ``read(port) -> int`` and
``write(port, value)``.  A device may give byte handlers only; a 16- or 32-bit access
to such a port is split into byte accesses at ascending ports, as the ISA bus does.
Reads of a port nobody owns return all ones; writes to it are dropped.  Two devices
claiming the same port (for the same direction and width) is a configuration error
raised at start-up.
"""
from ..errors import BusConflict

PORTS = 0x10000


def _unmapped_read(port):
    return 0xFF


def _unmapped_write(port, value):
    pass


class IOBus:
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

    # -- accesses (the CPU core calls these) -----------------------------------------
    def inb(self, port):
        port &= 0xFFFF
        return self.read8[port](port) & 0xFF

    def outb(self, port, value):
        port &= 0xFFFF
        self.write8[port](port, value & 0xFF)

    def inw(self, port):
        port &= 0xFFFF
        handler = self.read16[port]
        if handler is not None:
            return handler(port) & 0xFFFF
        p1 = (port + 1) & 0xFFFF
        return (self.read8[port](port) & 0xFF) | ((self.read8[p1](p1) & 0xFF) << 8)

    def outw(self, port, value):
        port &= 0xFFFF
        handler = self.write16[port]
        if handler is not None:
            handler(port, value & 0xFFFF)
            return
        p1 = (port + 1) & 0xFFFF
        self.write8[port](port, value & 0xFF)
        self.write8[p1](p1, (value >> 8) & 0xFF)

    def ind(self, port):
        port &= 0xFFFF
        handler = self.read32.get(port)
        if handler is not None:
            return handler(port) & 0xFFFFFFFF
        return self.inw(port) | (self.inw((port + 2) & 0xFFFF) << 16)

    def outd(self, port, value):
        port &= 0xFFFF
        handler = self.write32.get(port)
        if handler is not None:
            handler(port, value & 0xFFFFFFFF)
            return
        self.outw(port, value & 0xFFFF)
        self.outw((port + 2) & 0xFFFF, (value >> 16) & 0xFFFF)
