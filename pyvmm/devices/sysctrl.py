"""System control ports: 61h (AT port B) and 92h (PS/2 system control port A).

Port 61h, written bits: 0 = GATE of PIT counter 2, 1 = speaker data enable (ANDed
with counter 2's OUT to drive the speaker), 2 = 1 clears and disables the RAM
parity NMI, 3 = 1 clears and disables the I/O channel check NMI.  Read bits 0-3 as
written, plus 4 = refresh request toggle (it flips on every DRAM refresh, which the
AT's counter 1 requests every 18 PIT ticks = 15.085 us; computed from the clock),
5 = OUT of counter 2, 6 = I/O channel check (IOCHK), 7 = parity error.  Nothing on
this machine makes a parity error or drives IOCHK; :meth:`SystemControl.parity_error`
and :meth:`SystemControl.channel_check` latch them for a device or test that does.

Port 92h: bit 0 written 0->1 resets the CPU (``board.request_reset("cpu")``), bit 1
gates A20 (``board.set_a20``).  Reads return the written bits with bit 1 showing the
board's actual A20 state.
"""
from .base import Device
from ..clock import PIT_HZ

REFRESH_TICKS = 18


class SystemControl(Device):
    name = "sysctrl"
    STATE_FIELDS = ("port_b", "port_a", "parity_latch", "iochk_latch")

    def __init__(self):
        self.port_b = 0          # 61h bits 0-3 as written
        self.port_a = 0          # 92h as written
        self.parity_latch = 0
        self.iochk_latch = 0
        self.board = None

    def attach(self, board):
        super().attach(board)
        board.io.register(0x61, 1, read8=self._read61, write8=self._write61, owner=self.name)
        board.io.register(0x92, 1, read8=self._read92, write8=self._write92, owner=self.name)
        self.port_a = 0x02 if board.mem.a20_enabled else 0

    def reset(self, kind="hard"):
        # the fast-reset bit reads back 0 after the reset it caused; A20 is left alone
        self.port_a &= ~0x01
        if kind != "hard":
            return               # a CPU-only reset leaves port B and the PIT gate alone
        self.port_b = 0
        self.parity_latch = 0
        self.iochk_latch = 0
        pit = self._pit()
        if pit is not None:
            pit.set_gate(2, 0)

    def _pit(self):
        return getattr(self.board, "pit", None) if self.board is not None else None

    # -- port 61h ---------------------------------------------------------------
    def _read61(self, port):
        value = self.port_b
        clock = self.board.clock
        if (clock.ticks(PIT_HZ) // REFRESH_TICKS) & 1:
            value |= 0x10
        pit = self._pit()
        if pit is not None and pit.output(2):
            value |= 0x20
        if self.iochk_latch:
            value |= 0x40
        if self.parity_latch:
            value |= 0x80
        return value

    def _write61(self, port, value):
        self.port_b = value & 0x0F
        if value & 0x04:
            self.parity_latch = 0
        if value & 0x08:
            self.iochk_latch = 0
        pit = self._pit()
        if pit is not None:
            pit.set_gate(2, value & 1)

    def parity_error(self):
        """Latch a RAM parity error (bit 7) unless the check is disabled."""
        if not self.port_b & 0x04:
            self.parity_latch = 1

    def channel_check(self):
        """Latch an I/O channel check (bit 6) unless the check is disabled."""
        if not self.port_b & 0x08:
            self.iochk_latch = 1

    def speaker_on(self):
        """True when counter 2 is gated on and its output reaches the speaker."""
        return self.port_b & 0x03 == 0x03

    # -- port 92h ---------------------------------------------------------------
    def _read92(self, port):
        return self.port_a

    def _write92(self, port, value):
        old = self.port_a
        self.port_a = value & 0xFF
        # Port 92h's gate is one input of the board's A20 OR (the 8042 is the other).
        self.board.set_a20(bool(value & 0x02), source="port92")
        if value & 0x01 and not old & 0x01:
            self.board.request_reset("cpu")
