"""The motherboard without a CPU: I/O bus, memory map, clock and IRQ lines.

Chip tests build a :class:`Board`, attach one device and drive it through
``board.io``, its IRQ lines and ``board.clock.advance()``.  The full
:class:`pyvmm.machine.Machine` is a Board plus a CPU, the chipset and firmware.

``irq[0..15]`` are the ISA interrupt request lines; the 8259 pair connects itself to
them when attached.  Devices that need other devices find them as attributes set
when those attach (``board.pic``, ``board.dma``, ``board.kbc`` …); a device that
is absent is ``None``.
"""
from .bus import IOBus, IrqLine
from .clock import Clock, DEFAULT_RATE
from .mem import PhysMem


class Board:
    def __init__(self, rate=DEFAULT_RATE, address_space=1 << 20):
        self.io = IOBus()
        self.mem = PhysMem(address_space)
        self.clock = Clock(rate)
        self.irq = [IrqLine(n) for n in range(16)]
        self.devices = []
        self.cpu = None
        self.pic = None
        self.pit = None
        self.dma = None
        self.fdc = None
        self.kbc = None
        self.vga = None
        self.ata = None               # primary channel; ata2 the secondary
        self.ata2 = None
        self.nmi_enabled = True       # port 70h bit 7 (the RTC index port) masks NMI
        self.reset_requested = None   # "hard"/"cpu" once a device asks for a reset
        self.exit_code = None         # set by the debug-exit device
        self.log = []                 # lines written by debug devices when no sink is set
        self.log_sink = None          # callable(str) that receives them instead
        self._a20_sources = {}

    def attach(self, device):
        device.attach(self)
        self.devices.append(device)
        return device

    def request_reset(self, kind="hard"):
        """A guest asked to reset the machine (8042 pulse, port 92h, triple fault)."""
        self.reset_requested = kind
        self.clock.request_stop()

    def request_exit(self, code):
        """The guest asked the host to end the run with ``code`` (debug-exit)."""
        self.exit_code = code
        self.clock.request_stop()

    def set_a20(self, enabled, source="kbc"):
        """Drive one of the A20 gate inputs ("kbc" = 8042 output port, "port92" = fast
        A20).  As on AT boards the inputs are ORed: A20 is on if any source enables it."""
        self._a20_sources[source] = bool(enabled)
        self.mem.set_a20(any(self._a20_sources.values()))

    def emit_log(self, text):
        if self.log_sink is not None:
            self.log_sink(text)
        else:
            self.log.append(text)
