"""The physical memory map.

All of the physical address space is one contiguous NumPy ``uint8`` buffer, ``data``,
so that the CPU core, DMA, the renderer and the API share it without copies.  A
table ``kind`` holds one byte per 4 KiB page saying what the page is:

* ``KIND_RAM``  – read and written in ``data``;
* ``KIND_ROM``  – read from ``data``, writes ignored;
* ``KIND_MMIO`` – every access goes to the owning device's ``read8``/``write8``;
* ``KIND_NONE`` – nothing there: reads return 0xFF, writes are dropped.

The CPU core reads ``data``, ``kind`` and ``addr_mask`` directly and only calls
:meth:`read8`/:meth:`write8` for pages that are not RAM or ROM.

``addr_mask`` folds addresses into the space: ``size - 1`` normally, with bit 20
cleared while the A20 gate is off on a machine with more than 1 MiB of address
space (on an 8086 the 1 MiB wrap is simply the 20-bit space).
"""
import numpy as np

from ..errors import BusConflict, ConfigError

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT
KIND_RAM, KIND_ROM, KIND_MMIO, KIND_NONE = 0, 1, 2, 3


class PhysMem:
    def __init__(self, size=1 << 20):
        if size < (1 << 20) or size & (size - 1):
            raise ConfigError("physical address space must be a power of two of at least 1 MiB")
        self.size = size
        self.data = np.zeros(size, dtype=np.uint8)
        self.kind = np.full(size >> PAGE_SHIFT, KIND_NONE, dtype=np.uint8)
        self.mmio_read = [None] * (size >> PAGE_SHIFT)
        self.mmio_write = [None] * (size >> PAGE_SHIFT)
        self.page_owner = {}
        self.a20_enabled = True
        self.addr_mask = size - 1

    # -- building the map -----------------------------------------------------------
    def _claim(self, start, length, owner):
        if start % PAGE_SIZE or length % PAGE_SIZE or length <= 0:
            raise ConfigError(f"{owner}: memory range {start:#x}+{length:#x} is not page aligned")
        if start + length > self.size:
            raise ConfigError(f"{owner}: memory range {start:#x}+{length:#x} is outside the address space")
        pages = range(start >> PAGE_SHIFT, (start + length) >> PAGE_SHIFT)
        for p in pages:
            if p in self.page_owner:
                raise BusConflict(f"{owner}: page {p << PAGE_SHIFT:#x} already belongs to {self.page_owner[p]}")
        for p in pages:
            self.page_owner[p] = owner
        return pages

    def map_ram(self, start, length, owner="ram"):
        for p in self._claim(start, length, owner):
            self.kind[p] = KIND_RAM

    def map_rom(self, start, image, owner="rom"):
        """Map ``image`` (bytes, length a multiple of 4 KiB) read-only at ``start``."""
        image = bytes(image)
        pages = self._claim(start, len(image), owner)
        self.data[start:start + len(image)] = np.frombuffer(image, dtype=np.uint8)
        for p in pages:
            self.kind[p] = KIND_ROM

    def map_mmio(self, start, length, read8, write8, owner="mmio"):
        """Send every byte access in the range to ``read8(addr)``/``write8(addr, value)``
        with the absolute physical address."""
        for p in self._claim(start, length, owner):
            self.kind[p] = KIND_MMIO
            self.mmio_read[p] = read8
            self.mmio_write[p] = write8

    def unmap(self, start, length):
        for p in range(start >> PAGE_SHIFT, (start + length) >> PAGE_SHIFT):
            self.page_owner.pop(p, None)
            self.kind[p] = KIND_NONE
            self.mmio_read[p] = None
            self.mmio_write[p] = None

    # -- A20 ---------------------------------------------------------------------------
    def set_a20(self, enabled):
        self.a20_enabled = bool(enabled)
        mask = self.size - 1
        if not enabled:
            mask &= ~(1 << 20)
        self.addr_mask = mask

    # -- slow-path accesses (MMIO and empty pages; also used by the API) ----------------
    def read8(self, addr):
        addr &= self.addr_mask
        page = addr >> PAGE_SHIFT
        kind = self.kind[page]
        if kind <= KIND_ROM:
            return int(self.data[addr])
        if kind == KIND_MMIO:
            return self.mmio_read[page](addr) & 0xFF
        return 0xFF

    def write8(self, addr, value):
        addr &= self.addr_mask
        page = addr >> PAGE_SHIFT
        kind = self.kind[page]
        if kind == KIND_RAM:
            self.data[addr] = value & 0xFF
        elif kind == KIND_MMIO:
            self.mmio_write[page](addr, value & 0xFF)

    def read(self, addr, n):
        """``n`` bytes from physical ``addr`` as the CPU would see them."""
        addr &= self.addr_mask
        end = addr + n
        if end <= self.size and np.all(self.kind[addr >> PAGE_SHIFT:((end - 1) >> PAGE_SHIFT) + 1] <= KIND_ROM):
            return self.data[addr:end].tobytes()
        return bytes(self.read8(addr + i) for i in range(n))

    def write(self, addr, data):
        """Write ``data`` at physical ``addr`` as the CPU would (ROM and empty pages ignore it)."""
        addr &= self.addr_mask
        data = bytes(data)
        end = addr + len(data)
        if end <= self.size and np.all(self.kind[addr >> PAGE_SHIFT:((end - 1) >> PAGE_SHIFT) + 1] == KIND_RAM):
            self.data[addr:end] = np.frombuffer(data, dtype=np.uint8)
            return
        for i, b in enumerate(data):
            self.write8(addr + i, b)
