"""National Semiconductor PC16550D UART (COM1 3F8h/IRQ 4, COM2 2F8h/IRQ 3).

Transmission is clocked: a character takes (start + data + parity + stop bits) x 16 x
divisor periods of the 1.8432 MHz crystal on the virtual clock.  THR (or the 16-byte
TX FIFO) moves to the shift register as soon as it is free, so THRE rises right after
the first write and TEMT only when the last character has left.  The finished byte
goes to the host backend, or back into the receiver in loopback mode (where it can
overrun the receiver as on the chip).

Host input (:meth:`UART16550.receive`, or :meth:`poll` on the backend) waits in a host
queue and enters the receiver as fast as the receiver has room, like a line with
flow control: host bytes are never lost to an overrun.  The character timeout of the
FIFO mode is clocked (four character times without FIFO activity).

On the PC the interrupt output reaches the ISA IRQ line only while MCR OUT2 is set.
Parity, framing and break errors are never generated (the host side has no line).
"""
from .base import Device
from .serialhost import NullBackend

UART_HZ = 1843200
FIFO_SIZE = 16
TRIGGER = (1, 4, 8, 14)

IER_RDA, IER_THRE, IER_RLS, IER_MSR = 0x01, 0x02, 0x04, 0x08
LCR_DLAB = 0x80
MCR_DTR, MCR_RTS, MCR_OUT1, MCR_OUT2, MCR_LOOP = 0x01, 0x02, 0x04, 0x08, 0x10
LSR_DR, LSR_OE, LSR_THRE, LSR_TEMT = 0x01, 0x02, 0x20, 0x40
LSR_ERRORS = 0x1E
MSR_CTS, MSR_DSR, MSR_RI, MSR_DCD = 0x10, 0x20, 0x40, 0x80
IIR_NONE, IIR_RLS, IIR_RDA, IIR_TIMEOUT, IIR_THRE, IIR_MSR = 0x01, 0x06, 0x04, 0x0C, 0x02, 0x00


class UART16550(Device):
    name = "uart"
    STATE_VERSION = 1
    STATE_FIELDS = ("dll", "dlm", "ier", "lcr", "mcr", "lsr_errors", "msr", "modem_inputs",
                    "scr", "fcr", "rbr", "rx_fifo", "tx_fifo", "tsr", "tsr_busy",
                    "thre_pending", "timeout_pending", "host_rx")
    STATE_RANGES = {"tsr": (0, 0xFF), "rbr": (0, 0xFF)}

    def __init__(self, base=0x3F8, irq=4, backend=None):
        self.base = base
        self.irq_number = irq
        self.backend = backend if backend is not None else NullBackend()
        self.name = f"uart{base:03x}"
        self.modem_inputs = MSR_CTS | MSR_DSR | MSR_DCD   # a connected host: CTS, DSR, DCD
        self.dll, self.dlm = 0x0C, 0x00                   # 9600 baud until programmed
        self.scr = 0
        self.rbr = 0
        self.host_rx = bytearray()
        self._master_reset()

    def _master_reset(self):
        self.ier = 0
        self.lcr = 0
        self.mcr = 0
        self.fcr = 0
        self.lsr_errors = 0
        self.msr = self.modem_inputs           # delta bits 3:0 clear
        self.rx_fifo = bytearray()
        self.tx_fifo = bytearray()
        self.tsr = 0
        self.tsr_busy = False
        self.thre_pending = False
        self.timeout_pending = False

    # -- lifecycle -------------------------------------------------------------------------
    def attach(self, board):
        super().attach(board)
        self.clock = board.clock
        self.irq = board.irq[self.irq_number]
        board.io.register(self.base, 8, read8=self._read, write8=self._write, owner=self.name)
        self._tx_timer = board.clock.timer(f"{self.name}.tx", self._on_tx_done)
        self._timeout_timer = board.clock.timer(f"{self.name}.timeout", self._on_timeout)

    def reset(self, kind="hard"):
        self._master_reset()
        if kind == "hard":
            self.dll, self.dlm, self.scr, self.rbr = 0x0C, 0x00, 0, 0
        self._tx_timer.cancel()
        self._timeout_timer.cancel()
        self._update_irq()

    def set_state(self, state):
        super().set_state(state)
        self._update_irq()

    # -- host side ---------------------------------------------------------------------------
    def receive(self, data):
        """Bytes arriving from the host; they enter the receiver as it has room."""
        self.host_rx.extend(data)
        self._pull_host()
        self._update_irq()

    def poll(self):
        """Bring pending host input in from the backend (the machine calls this)."""
        data = self.backend.poll()
        if data:
            self.receive(data)

    def close(self):
        """Release the host backend (its socket or file)."""
        self.backend.close()

    def set_modem_inputs(self, cts=True, dsr=True, ri=False, dcd=True):
        """Drive the modem status inputs from the host side."""
        self.modem_inputs = ((MSR_CTS if cts else 0) | (MSR_DSR if dsr else 0)
                             | (MSR_RI if ri else 0) | (MSR_DCD if dcd else 0))
        self._set_modem_lines()
        self._update_irq()

    # -- timing ----------------------------------------------------------------------------------
    def _divisor(self):
        return (self.dlm << 8 | self.dll) or 0x10000

    def _char_cycles(self):
        data_bits = 5 + (self.lcr & 3)
        half_bits = 2 * (1 + data_bits + (1 if self.lcr & 0x08 else 0))
        if self.lcr & 0x04:
            half_bits += 3 if data_bits == 5 else 4      # 1.5 or 2 stop bits
        else:
            half_bits += 2
        # one bit is 16 periods of the baud clock, itself the crystal / divisor
        return max(1, self.clock.rate * half_bits * 8 * self._divisor() // UART_HZ)

    # -- transmitter --------------------------------------------------------------------------------
    def _fifo_enabled(self):
        return self.fcr & 1

    def _capacity(self):
        return FIFO_SIZE if self._fifo_enabled() else 1

    def _write_thr(self, value):
        if len(self.tx_fifo) < self._capacity():
            self.tx_fifo.append(value)
        elif not self._fifo_enabled():
            self.tx_fifo[0] = value            # a full 16450 THR is overwritten
        self.thre_pending = False
        if not self.tsr_busy:
            self._load_tsr()

    def _load_tsr(self):
        self.tsr = self.tx_fifo.pop(0)
        self.tsr_busy = True
        self._tx_timer.set_in(self._char_cycles())
        if not self.tx_fifo:
            self.thre_pending = True

    def _on_tx_done(self):
        byte = self.tsr
        self.tsr_busy = False
        if self.mcr & MCR_LOOP:
            self._loop_receive(byte)
        else:
            self.backend.write(bytes((byte,)))
        if self.tx_fifo:
            self._load_tsr()
        self._update_irq()

    # -- receiver ------------------------------------------------------------------------------------
    def _loop_receive(self, byte):
        if len(self.rx_fifo) < self._capacity():
            self.rx_fifo.append(byte)
        else:
            self.lsr_errors |= LSR_OE
            if not self._fifo_enabled():
                self.rx_fifo[0] = byte       # the 16450 holding register is overwritten
        self._rx_activity()

    def _pull_host(self):
        if self.mcr & MCR_LOOP or not self.host_rx:
            return
        room = self._capacity() - len(self.rx_fifo)
        if room > 0:
            self.rx_fifo += self.host_rx[:room]
            del self.host_rx[:room]
            self._rx_activity()

    def _rx_activity(self):
        """A character entered or left the receiver: restart the timeout count."""
        self.timeout_pending = False
        if self._fifo_enabled() and self.rx_fifo:
            self._timeout_timer.set_in(4 * self._char_cycles())
        else:
            self._timeout_timer.cancel()

    def _on_timeout(self):
        if self._fifo_enabled() and self.rx_fifo:
            self.timeout_pending = True
            self._update_irq()

    def _read_rbr(self):
        if self.rx_fifo:
            self.rbr = self.rx_fifo.pop(0)
            self._rx_activity()
            self._pull_host()
        return self.rbr

    # -- modem lines ------------------------------------------------------------------------------------
    def _set_modem_lines(self):
        if self.mcr & MCR_LOOP:
            m = self.mcr
            lines = ((MSR_CTS if m & MCR_RTS else 0) | (MSR_DSR if m & MCR_DTR else 0)
                     | (MSR_RI if m & MCR_OUT1 else 0) | (MSR_DCD if m & MCR_OUT2 else 0))
        else:
            lines = self.modem_inputs
        old = self.msr & 0xF0
        changed = old ^ lines
        delta = self.msr & 0x0F
        delta |= (changed >> 4) & 0x0B                 # DCTS, DDSR, DDCD on any change
        if old & MSR_RI and not lines & MSR_RI:
            delta |= 0x04                              # TERI on the trailing edge of RI
        self.msr = lines | delta

    # -- interrupts ---------------------------------------------------------------------------------------
    def _iir(self):
        ier = self.ier
        if ier & IER_RLS and self.lsr_errors:
            return IIR_RLS
        if ier & IER_RDA:
            if self._fifo_enabled():
                if len(self.rx_fifo) >= TRIGGER[self.fcr >> 6]:
                    return IIR_RDA
                if self.timeout_pending:
                    return IIR_TIMEOUT
            elif self.rx_fifo:
                return IIR_RDA
        if ier & IER_THRE and self.thre_pending:
            return IIR_THRE
        if ier & IER_MSR and self.msr & 0x0F:
            return IIR_MSR
        return IIR_NONE

    def _update_irq(self):
        self.irq.set(self._iir() != IIR_NONE and self.mcr & MCR_OUT2)

    # -- registers ---------------------------------------------------------------------------------------
    def _lsr(self):
        value = self.lsr_errors
        if self.rx_fifo:
            value |= LSR_DR
        if not self.tx_fifo:
            value |= LSR_THRE
            if not self.tsr_busy:
                value |= LSR_TEMT
        return value

    def _read(self, port):
        reg = port - self.base
        dlab = self.lcr & LCR_DLAB
        if reg == 0:
            value = self.dll if dlab else self._read_rbr()
        elif reg == 1:
            value = self.dlm if dlab else self.ier
        elif reg == 2:
            iir = self._iir()
            if iir == IIR_THRE:
                self.thre_pending = False      # reading IIR acknowledges THRE
            value = iir | (0xC0 if self._fifo_enabled() else 0)
        elif reg == 3:
            value = self.lcr
        elif reg == 4:
            value = self.mcr
        elif reg == 5:
            value = self._lsr()
            self.lsr_errors = 0
        elif reg == 6:
            value = self.msr
            self.msr &= 0xF0
        else:
            value = self.scr
        self._update_irq()
        return value

    def _write(self, port, value):
        reg = port - self.base
        dlab = self.lcr & LCR_DLAB
        if reg == 0:
            if dlab:
                self.dll = value
            else:
                self._write_thr(value)
        elif reg == 1:
            if dlab:
                self.dlm = value
            else:
                old = self.ier
                self.ier = value & 0x0F
                if value & IER_THRE and not old & IER_THRE and not self.tx_fifo:
                    self.thre_pending = True   # enabling ETBEI with THR empty interrupts
        elif reg == 2:
            self._write_fcr(value)
        elif reg == 3:
            self.lcr = value
        elif reg == 4:
            was_loop = self.mcr & MCR_LOOP
            self.mcr = value & 0x1F
            self._set_modem_lines()
            if was_loop and not self.mcr & MCR_LOOP:
                self._pull_host()
        elif reg == 7:
            self.scr = value
        self._update_irq()

    def _write_fcr(self, value):
        had_tx = bool(self.tx_fifo)
        enable = value & 1
        clear_rx = enable != self._fifo_enabled()     # changing mode empties both FIFOs
        clear_tx = clear_rx
        if not enable:
            self.fcr = 0
        else:
            self.fcr = value & 0xC9            # trigger level, DMA mode, enable
            clear_rx = clear_rx or value & 0x02
            clear_tx = clear_tx or value & 0x04
        if clear_tx:
            self.tx_fifo.clear()
            if had_tx:
                self.thre_pending = True
        if clear_rx:
            self.rx_fifo.clear()
            self._rx_activity()
            self._pull_host()
