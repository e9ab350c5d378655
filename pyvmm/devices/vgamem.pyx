# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The VGA's 256 KiB of display memory: four 64 KiB planes and the graphics
controller's data path between them and the CPU.

The CPU sees A0000-BFFFF; the graphics controller's memory map select decides which
window answers.  An access is routed to the planes by the sequencer's memory mode
(chain-4, odd/even or planar) and passes through the latches, rotator, set/reset,
logical unit and bit mask as the IBM VGA documentation describes for write modes
0-3 and read modes 0-1.

The register values live here as the raw bytes the VGA device wrote (the device
copies each sequencer/GC write into the field of the same name), so that a later
CPU core can call :meth:`VGAMem.read8`/:meth:`VGAMem.write8` at C level.
"""
import numpy as np

PLANE_SIZE = 0x10000

# base and size of the CPU window for each memory map select value (GC misc bits 2-3):
# A0000 128K, A0000 64K, B0000 32K, B8000 32K
cdef int WINDOW_BASE[4]
cdef int WINDOW_SIZE[4]
WINDOW_BASE[:] = [0x00000, 0x00000, 0x10000, 0x18000]
WINDOW_SIZE[:] = [0x20000, 0x10000, 0x08000, 0x08000]


cdef class VGAMem:
    """``planes`` is a (4, 65536) uint8 NumPy array; ``latch`` the four latches."""

    def __init__(self):
        self.planes = np.zeros((4, PLANE_SIZE), dtype=np.uint8)
        self.pv = self.planes
        self.reset()

    def reset(self):
        self.planes[:] = 0
        self.map_mask = 0x0F
        self.memory_mode = 0x02
        self.set_reset = 0
        self.enable_set_reset = 0
        self.color_compare = 0
        self.data_rotate = 0
        self.read_map_select = 0
        self.gc_mode = 0
        self.gc_misc = 0
        self.color_dont_care = 0x0F
        self.bit_mask = 0xFF
        self.latch[0] = self.latch[1] = self.latch[2] = self.latch[3] = 0
        self.dirty = True

    property latches:
        """The four latch bytes as a list (for save states and tests)."""
        def __get__(self):
            return [self.latch[0], self.latch[1], self.latch[2], self.latch[3]]

        def __set__(self, values):
            cdef int p
            for p in range(4):
                self.latch[p] = <unsigned char>(int(values[p]) & 0xFF)

    cdef inline int _window_offset(self, unsigned int addr) noexcept:
        """Offset of ``addr`` inside the selected window, or -1 outside it."""
        cdef int sel = (self.gc_misc >> 2) & 3
        cdef int off = <int>(addr & 0x1FFFF) - WINDOW_BASE[sel]
        if off < 0 or off >= WINDOW_SIZE[sel]:
            return -1
        return off

    cpdef int read8(self, unsigned int addr):
        cdef int off = self._window_offset(addr)
        cdef int plane, p, result
        cdef unsigned int poff
        if off < 0:
            return 0xFF
        if self.memory_mode & 0x08:          # chain-4: A0-A1 pick the plane
            plane = off & 3
            poff = off & 0xFFFC
        elif self.gc_mode & 0x10:            # host odd/even: A0 picks plane 0/1 (2/3)
            plane = (self.read_map_select & 2) | (off & 1)
            poff = off & 0xFFFE
        else:
            plane = self.read_map_select & 3
            poff = off & 0xFFFF
        for p in range(4):
            self.latch[p] = self.pv[p, poff]
        if not (self.gc_mode & 0x08):
            return self.latch[plane]
        # read mode 1: 1 where every "care" plane matches the colour compare
        result = 0xFF
        for p in range(4):
            if self.color_dont_care & (1 << p):
                result &= ~(self.latch[p] ^ (0xFF if self.color_compare & (1 << p) else 0x00))
        return result & 0xFF

    cpdef void write8(self, unsigned int addr, int value):
        cdef int off = self._window_offset(addr)
        cdef int planes_on, p, rot, func, mode, mask, data, d, sr
        cdef unsigned int poff
        cdef unsigned char latch
        if off < 0:
            return
        value &= 0xFF
        if self.memory_mode & 0x08:
            planes_on = 1 << (off & 3)
            poff = off & 0xFFFC
        elif not (self.memory_mode & 0x04):  # odd/even: even bytes to planes 0/2, odd to 1/3
            planes_on = 0x0A if off & 1 else 0x05
            poff = off & 0xFFFE
        else:
            planes_on = 0x0F
            poff = off & 0xFFFF
        planes_on &= self.map_mask
        if not planes_on:
            return
        rot = self.data_rotate & 7
        func = (self.data_rotate >> 3) & 3
        mode = self.gc_mode & 3
        data = ((value >> rot) | (value << (8 - rot))) & 0xFF
        mask = self.bit_mask
        if mode == 3:
            mask &= data
        for p in range(4):
            if not (planes_on & (1 << p)):
                continue
            latch = self.latch[p]
            if mode == 1:
                d = latch
            else:
                sr = 0xFF if self.set_reset & (1 << p) else 0x00
                if mode == 0:
                    d = sr if self.enable_set_reset & (1 << p) else data
                elif mode == 2:
                    d = 0xFF if value & (1 << p) else 0x00
                else:
                    d = sr
                if func == 1:
                    d &= latch
                elif func == 2:
                    d |= latch
                elif func == 3:
                    d ^= latch
                d = (d & mask) | (latch & ~mask)
            self.pv[p, poff] = <unsigned char>d
        self.dirty = True

    cpdef void write_block(self, unsigned int addr, const unsigned char[:] data):
        """Write ``data`` to consecutive addresses from ``addr`` through the full data
        path (the effect of REP STOSB/MOVSB into the window), without a Python call
        per byte."""
        cdef Py_ssize_t i
        for i in range(data.shape[0]):
            self.write8(addr + <unsigned int>i, data[i])
