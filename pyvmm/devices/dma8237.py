"""The PC/AT DMA subsystem: two Intel 8237A controllers and the 74LS612 page registers.

Controller 1 (ports 00h-0Fh) serves the 8-bit channels 0-3.  Controller 2 (ports
C0h-DEh, even ports only: the AT wires SA1-SA4 to the chip's A0-A3) serves the
16-bit channels 4-7; its channel 4 is the cascade input of controller 1, so channels
0-3 only transfer while channel 4 is unmasked and in cascade mode (the BIOS writes
D6h=C0h, D4h=00h at POST).  The page registers at 81h-8Fh supply address bits
A16-A23 (87h ch0, 83h ch1, 81h ch2, 82h ch3, 8Bh ch5, 89h ch6, 8Ah ch7); the other
ones are plain read/write latches.

16-bit channels count words: their address register holds A1-A16 and the page
register's bit 0 is ignored, so a transfer stays inside a 128 KiB block.  On both
controllers the address wraps inside its 64 KiB (128 KiB) page, as the chip's 16-bit
address counter does.

Devices use the DMA as a service (ARCHITECTURE.md, contract 6)::

    dma.register_channel(ch, handler)   # handler() runs when DREQ is active on an
                                        # enabled, unmasked channel
    dma.set_dreq(ch, active)
    dma.write_memory(ch, data) -> int   # device -> memory, returns bytes accepted
    dma.read_memory(ch, n) -> bytes     # memory -> device
    dma.terminal_count(ch) -> bool      # TC reached since the channel was programmed
    dma.remaining(ch) -> int            # bytes left before TC

Blocks move as NumPy slices.  DMA addresses bypass the A20 gate (it sits on the
CPU's address line); beyond the board's address space reads give 0xFF and writes
are dropped.  A transfer whose direction does not match the channel's
mode (and every verify transfer) only counts: nothing is written to memory and a
device reading gets 0xFF, the floating data bus.  Memory-to-memory transfers
(command bit 0, started by a software request on channel 0) run to completion at once.
"""
import numpy as np

from ..mem.physmem import KIND_MMIO, KIND_RAM, KIND_ROM, PAGE_SHIFT, PAGE_SIZE
from .base import Device

# page register port (offset from 80h) of each channel; channel 4 is the cascade
PAGE_PORT = (0x07, 0x03, 0x01, 0x02, 0x0F, 0x0B, 0x09, 0x0A)

MODE_WRITE, MODE_READ = 1, 2          # transfer type, bits 3:2 (00 is verify)
MODE_CASCADE = 3                      # bits 7:6 of the mode register
CMD_DISABLE = 0x04                    # command register: controller disable


class DMAController(Device):
    name = "dma"
    STATE_VERSION = 1
    STATE_FIELDS = ("base_address", "base_count", "current_address", "current_count",
                    "mode", "page", "command", "status", "request", "mask",
                    "flipflop", "temporary", "tc_reached", "dreq")

    def __init__(self):
        self._handlers = [None] * 8
        self._in_service = [False] * 8
        self._clear()

    def _clear(self):
        self.base_address = [0] * 8
        self.base_count = [0] * 8
        self.current_address = [0] * 8
        self.current_count = [0] * 8
        self.mode = [0] * 8
        self.page = [0] * 16              # latches 80h-8Fh (80h itself is not ours)
        self.command = [0, 0]
        self.status = [0, 0]              # bits 0-3 TC reached (the request bits are live)
        self.request = [0, 0]             # software requests, bits 0-3
        self.mask = [0x0F, 0x0F]
        self.flipflop = [0, 0]
        self.temporary = [0, 0]
        self.tc_reached = [0] * 8
        self.dreq = [0] * 8

    # -- lifecycle -------------------------------------------------------------------------
    def attach(self, board):
        super().attach(board)
        io = board.io
        io.register(0x00, 16, read8=self._read_ctrl1, write8=self._write_ctrl1, owner="dma8237 #1")
        for reg in range(16):
            io.register(0xC0 + 2 * reg, read8=self._read_ctrl2, write8=self._write_ctrl2,
                        owner="dma8237 #2")
        io.register(0x81, 15, read8=self._read_page, write8=self._write_page, owner="dma pages")
        board.dma = self

    def reset(self, kind="hard"):
        dreq = self.dreq
        self._clear()
        self.dreq = dreq               # DREQ is driven by the devices, not the chip

    def set_state(self, state):
        super().set_state(state)
        self._in_service = [False] * 8

    # -- the service API -------------------------------------------------------------------
    def register_channel(self, ch, handler):
        """Make ``handler()`` the transfer function of channel ``ch`` (0-3, 5-7)."""
        if ch not in (0, 1, 2, 3, 5, 6, 7):
            raise ValueError(f"DMA channel {ch} cannot be used by a device")
        self._handlers[ch] = handler

    def set_dreq(self, ch, active):
        """Drive DREQ of ``ch``; an active DREQ on a ready channel calls its handler
        at once (every call, so a device may raise DREQ again for its next block)."""
        self.dreq[ch] = 1 if active else 0
        if active:
            self._service([c != ch for c in range(8)])

    def write_memory(self, ch, data):
        """Move ``data`` from the device to memory as far as the count allows."""
        unit = 2 if ch >= 4 else 1
        n = self._units_available(ch, len(data) // unit)
        if n == 0:
            return 0
        if self.mode[ch] >> 2 & 3 == MODE_WRITE:
            self._scatter(ch, n, np.frombuffer(bytes(data[:n * unit]), dtype=np.uint8))
        self._advance(ch, n)
        return n * unit

    def read_memory(self, ch, n):
        """Up to ``n`` bytes from memory for the device, limited by the count."""
        unit = 2 if ch >= 4 else 1
        count = self._units_available(ch, n // unit)
        if count == 0:
            return b""
        if self.mode[ch] >> 2 & 3 != MODE_READ:
            self._advance(ch, count)
            return b"\xff" * (count * unit)
        data = self._gather(ch, count).tobytes()
        self._advance(ch, count)
        return data

    def terminal_count(self, ch):
        return bool(self.tc_reached[ch])

    def remaining(self, ch):
        if self.tc_reached[ch] and not self.mode[ch] & 0x10:
            return 0
        return (self.current_count[ch] + 1) * (2 if ch >= 4 else 1)

    # -- transfers -------------------------------------------------------------------------
    def _enabled(self, ch):
        """DACK can be granted to ``ch``: controller enabled, channel unmasked and not a
        cascade channel, and for channels 0-3 the cascade through channel 4 open."""
        c = ch >> 2
        if self.command[c] & CMD_DISABLE or self.mask[c] >> (ch & 3) & 1:
            return False
        if self.mode[ch] >> 6 == MODE_CASCADE:
            return False
        return c == 1 or self._enabled_cascade()

    def _enabled_cascade(self):
        """Controller 1 reaches the bus through channel 4 of controller 2."""
        return (not (self.command[1] & CMD_DISABLE or self.mask[1] & 1)
                and self.mode[4] >> 6 == MODE_CASCADE)

    def _units_available(self, ch, wanted):
        if wanted <= 0 or not self._enabled(ch):
            return 0
        return min(wanted, self.current_count[ch] + 1)

    def _chunks(self, ch, n):
        """Split ``n`` units from the current address into runs that do not wrap the
        16-bit address counter: (physical start, units, descending)."""
        addr = self.current_address[ch]
        down = bool(self.mode[ch] & 0x20)
        if ch >= 4:
            base = (self.page[PAGE_PORT[ch]] & 0xFE) << 16
            shift = 1
        else:
            base = self.page[PAGE_PORT[ch]] << 16
            shift = 0
        while n:
            if down:
                k = min(n, addr + 1)
                yield base + ((addr - k + 1) << shift), k, True
                addr = (addr - k) & 0xFFFF
            else:
                k = min(n, 0x10000 - addr)
                yield base + (addr << shift), k, False
                addr = (addr + k) & 0xFFFF
            n -= k

    def _gather(self, ch, n):
        """``n`` units from memory at the channel's current address, in transfer order."""
        unit = 2 if ch >= 4 else 1
        parts = []
        for phys, k, down in self._chunks(ch, n):
            part = self._load(phys, k * unit)
            if down:
                part = part.reshape(k, unit)[::-1].reshape(-1)
            parts.append(part)
        return np.concatenate(parts)

    def _scatter(self, ch, n, arr):
        """Store ``n`` units (``arr``, in transfer order) at the channel's current address."""
        unit = 2 if ch >= 4 else 1
        done = 0
        for phys, k, down in self._chunks(ch, n):
            part = arr[done * unit:(done + k) * unit]
            if down:
                part = part.reshape(k, unit)[::-1].reshape(-1)
            self._store(phys, part)
            done += k

    def _memory_to_memory(self, c):
        """A software request on channel 0 with command bit 0 set copies from channel 0's
        address to channel 1's until channel 1 reaches TC; with bit 1 (address hold)
        channel 0 keeps its address, filling memory with one unit."""
        src, dst = c * 4, c * 4 + 1
        unit = 2 if c else 1
        if self.command[c] & CMD_DISABLE or (c == 0 and not self._enabled_cascade()):
            return
        n = self.current_count[dst] + 1
        if self.command[c] & 0x02:
            data = np.tile(self._gather(src, 1), n)
            self.current_count[src] = (self.current_count[src] - n) & 0xFFFF
        else:
            data = self._gather(src, n)
            step = -n if self.mode[src] & 0x20 else n
            self.current_address[src] = (self.current_address[src] + step) & 0xFFFF
            self.current_count[src] = (self.current_count[src] - n) & 0xFFFF
        self._scatter(dst, n, data)
        self.temporary[c] = int(data[-unit])
        self.request[c] &= ~1
        self._advance(dst, n)

    def _advance(self, ch, n):
        step = -n if self.mode[ch] & 0x20 else n
        self.current_address[ch] = (self.current_address[ch] + step) & 0xFFFF
        count = self.current_count[ch] - n
        if count >= 0:
            self.current_count[ch] = count
            return
        # terminal count: EOP ends the service; autoinit reloads, otherwise the mask is set
        c, bit = ch >> 2, 1 << (ch & 3)
        self.current_count[ch] = 0xFFFF
        self.tc_reached[ch] = 1
        self.status[c] |= bit
        self.request[c] &= ~bit
        if self.mode[ch] & 0x10:
            self.current_address[ch] = self.base_address[ch]
            self.current_count[ch] = self.base_count[ch]
        else:
            self.mask[c] |= bit

    def _store(self, phys, arr):
        mem = self.board.mem
        end = phys + len(arr)
        if end > mem.size:                       # beyond the board's address space
            arr = arr[:max(0, mem.size - phys)]
            end = phys + len(arr)
        if not len(arr):
            return
        kinds = mem.kind[phys >> PAGE_SHIFT:((end - 1) >> PAGE_SHIFT) + 1]
        if np.all(kinds == KIND_RAM):
            mem.data[phys:end] = arr
            return
        pos = phys
        while pos < end:
            page = pos >> PAGE_SHIFT
            stop = min(end, (page + 1) * PAGE_SIZE)
            kind = mem.kind[page]
            if kind == KIND_RAM:
                mem.data[pos:stop] = arr[pos - phys:stop - phys]
            elif kind == KIND_MMIO:
                write8 = mem.mmio_write[page]
                for a in range(pos, stop):
                    write8(a, int(arr[a - phys]))
            pos = stop

    def _load(self, phys, n):
        mem = self.board.mem
        out = np.full(n, 0xFF, dtype=np.uint8)
        end = min(phys + n, mem.size)
        pos = phys
        while pos < end:
            page = pos >> PAGE_SHIFT
            stop = min(end, (page + 1) * PAGE_SIZE)
            kind = mem.kind[page]
            if kind <= KIND_ROM:
                out[pos - phys:stop - phys] = mem.data[pos:stop]
            elif kind == KIND_MMIO:
                read8 = mem.mmio_read[page]
                for a in range(pos, stop):
                    out[a - phys] = read8(a) & 0xFF
            pos = stop
        return out

    # -- DREQ service ------------------------------------------------------------------------
    def _ready_set(self):
        return [bool(self.dreq[ch]) and self._enabled(ch) for ch in range(8)]

    def _service(self, was):
        """Call the handler of each channel that has just become ready to transfer."""
        for ch in range(8):
            if was[ch] or self._in_service[ch]:
                continue
            handler = self._handlers[ch]
            if handler is None or not self.dreq[ch] or not self._enabled(ch):
                continue
            self._in_service[ch] = True
            try:
                handler()
            finally:
                self._in_service[ch] = False

    # -- registers -----------------------------------------------------------------------------
    def _read_ctrl1(self, port):
        return self._read_reg(0, port & 0x0F)

    def _write_ctrl1(self, port, value):
        self._write_reg(0, port & 0x0F, value)

    def _read_ctrl2(self, port):
        return self._read_reg(1, (port - 0xC0) >> 1)

    def _write_ctrl2(self, port, value):
        self._write_reg(1, (port - 0xC0) >> 1, value)

    def _read_reg(self, c, reg):
        if reg < 8:
            ch = c * 4 + (reg >> 1)
            value = self.current_count[ch] if reg & 1 else self.current_address[ch]
            ff = self.flipflop[c]
            self.flipflop[c] = ff ^ 1
            return (value >> 8) & 0xFF if ff else value & 0xFF
        if reg == 8:
            # bits 7:4 show pending requests (hardware DREQ or software); reading
            # clears the TC bits 3:0
            req = self.request[c]
            for i in range(4):
                if self.dreq[c * 4 + i]:
                    req |= 1 << i
            value = (self.status[c] & 0x0F) | (req << 4)
            self.status[c] = 0
            return value
        if reg == 0x0D:
            return self.temporary[c]
        if reg == 0x0F:
            # not readable on a discrete 8237A; AT chipsets return the mask here
            return 0xF0 | self.mask[c]
        return 0xFF

    def _write_reg(self, c, reg, value):
        was = self._ready_set()
        if reg < 8:
            ch = c * 4 + (reg >> 1)
            ff = self.flipflop[c]
            self.flipflop[c] = ff ^ 1
            if reg & 1:
                current = self.base_count[ch]
            else:
                current = self.base_address[ch]
            new = (current & 0x00FF) | (value << 8) if ff else (current & 0xFF00) | value
            if reg & 1:
                self.base_count[ch] = self.current_count[ch] = new
            else:
                self.base_address[ch] = self.current_address[ch] = new
            self.tc_reached[ch] = 0
        elif reg == 8:
            self.command[c] = value
        elif reg == 9:
            bit = 1 << (value & 3)
            if value & 4:
                self.request[c] |= bit
                if bit == 1 and self.command[c] & 0x01:
                    self._memory_to_memory(c)
            else:
                self.request[c] &= ~bit
        elif reg == 0x0A:
            bit = 1 << (value & 3)
            if value & 4:
                self.mask[c] |= bit
            else:
                self.mask[c] &= ~bit
        elif reg == 0x0B:
            ch = c * 4 + (value & 3)
            self.mode[ch] = value & 0xFC
            self.tc_reached[ch] = 0
        elif reg == 0x0C:
            self.flipflop[c] = 0
        elif reg == 0x0D:
            # master clear: the mode, address and count registers survive
            self.command[c] = 0
            self.status[c] = 0
            self.request[c] = 0
            self.temporary[c] = 0
            self.flipflop[c] = 0
            self.mask[c] = 0x0F
        elif reg == 0x0E:
            self.mask[c] = 0
        else:
            self.mask[c] = value & 0x0F
        self._service(was)

    def _read_page(self, port):
        return self.page[port - 0x80]

    def _write_page(self, port, value):
        self.page[port - 0x80] = value
