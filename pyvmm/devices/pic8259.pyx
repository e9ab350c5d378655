# cython: language_level=3
"""Intel 8259A programmable interrupt controllers, cascaded as on the PC/AT.

:class:`PIC8259` is one chip: the IRR/ISR/IMR registers, the ICW1-ICW4
initialisation sequence, OCW1-OCW3, the priority resolver (fully nested, rotating,
special mask, special fully nested), automatic EOI and poll mode.  It has no ports
of its own so that tests and :class:`DualPIC` can drive it directly.

:class:`DualPIC` is the AT pair: master at 20h/21h, slave at A0h/A1h with its INT
output on master IR2, and the EISA edge/level control registers (ELCR) at
4D0h/4D1h.  It connects itself to ``board.irq[0..15]``; the ISA IRQ2 pin is routed
to slave IR1 together with IRQ9, as the AT does.  The CPU's INTA cycle is
:meth:`DualPIC.acknowledge`
(``inta`` in C for the CPU core).  Both are compiled classes (pic8259.pxd): the bus
reaches the registers through ``io_read``/``io_write`` without a Python call.

Triggering.  A level-triggered input (ICW1 LTIM or its ELCR bit) makes its IRR bit
follow the line, so a request withdrawn before INTA vanishes and INTA answers with
the spurious IR7 vector.  An edge-triggered input latches each rising edge in IRR
and keeps it after the line falls, because ``IrqLine.pulse()`` is a zero-width
edge that must still be serviced.  The spurious IR7 vector is also what INTA gets
whenever nothing is requesting any more (masked in between, or already taken), and
a slave whose request went away after the master latched IR2 answers with its own
IR7 vector: the spurious IRQ 15 that leaves master ISR bit 2 set.

Vectors are always produced in 8086 form (ICW2 bits 7-3 plus the level): the
MCS-80/85 CALL sequence (ICW4 uPM=0, ADI) has no meaning on an x86 bus.
"""
from functools import partial

from libc.stdint cimport uint32_t

from ..bus.ioport cimport PortDevice, PortRead, PortWrite
from ..errors import StateError

cdef enum:
    ICW1_IC4 = 0x01
    ICW1_SNGL = 0x02
    ICW1_LTIM = 0x08
    ICW4_AEOI = 0x02
    ICW4_SFNM = 0x10

# The cascade input and the timer/keyboard inputs are always edge triggered on a
# PIIX-style ELCR (IRQ0, 1, 2, 8 and 13 have fixed edge sense).
cdef enum:
    ELCR1_WRITABLE = 0xF8        # 4D0h, master
    ELCR2_WRITABLE = 0xDE        # 4D1h, slave

_CHIP_FIELDS = ("irr", "isr", "imr", "lowest", "icw_step", "icw1", "icw2", "icw3",
                "icw4", "read_isr", "poll", "special_mask", "rotate_aeoi", "inputs",
                "elcr", "int_output")


cdef class PIC8259:
    """One 8259A.  ``on_int(level)`` is called whenever the INT output changes."""

    def __init__(self, master=True, on_int=None):
        self.master = master
        self.on_int = on_int
        self.reset()

    def reset(self):
        self.irr = 0
        self.isr = 0
        self.imr = 0
        self.lowest = 7          # IR with the lowest priority; IR0 is highest after ICW1
        self.icw_step = 0        # next ICW expected on A0=1 (2, 3, 4), 0 when operating
        self.icw1 = 0
        self.icw2 = 0
        self.icw3 = 0
        self.icw4 = 0
        self.read_isr = 0        # OCW3 RIS: A0=0 reads ISR instead of IRR
        self.poll = 0            # OCW3 P: the next read is a poll (an INTA)
        self.special_mask = 0
        self.rotate_aeoi = 0
        self.inputs = 0          # IR pin levels, also the edge-sense memory
        self.elcr = 0
        self.int_output = 0

    # -- inputs -----------------------------------------------------------------
    cdef int _level_mask(self) noexcept:
        """IR inputs that are level triggered (all of them under ICW1 LTIM)."""
        return 0xFF if self.icw1 & ICW1_LTIM else self.elcr

    cpdef int set_input(self, int ir, int level) except -1:
        bit = 1 << ir
        if level:
            if self.inputs & bit:
                return 0
            self.inputs |= bit
            self.irr |= bit
        else:
            if not self.inputs & bit:
                return 0
            self.inputs &= ~bit
            if self._level_mask() & bit:
                self.irr &= ~bit
        self._update()

    cpdef int set_elcr(self, int value) except -1:
        cdef int level
        self.elcr = value & 0xFF
        level = self._level_mask()
        self.irr = (self.irr & ~level) | (self.inputs & level)
        self._update()
        return 0

    # -- priority resolver ------------------------------------------------------------
    cdef int _rank(self, int bits) noexcept:
        """Rank (0 = highest) of the highest-priority IR in ``bits``, 8 if none."""
        cdef int first, rank
        if not bits:
            return 8
        first = self.lowest + 1
        rank = 0
        while not bits & (1 << ((first + rank) & 7)):
            rank += 1
        return rank

    cdef int _cascade_mask(self) noexcept:
        """IR inputs that have a slave behind them (master in cascade mode only)."""
        if not self.master or self.icw1 & ICW1_SNGL:
            return 0
        return self.icw3

    cpdef int pending(self) noexcept:
        """The IR the next INTA would serve, or -1 when INT is inactive."""
        cdef int requests, rank, in_service
        requests = self.irr & ~self.imr
        rank = self._rank(requests)
        if rank == 8:
            return -1
        in_service = self.isr
        if self.special_mask:
            in_service &= ~self.imr
        if self.icw4 & ICW4_SFNM:
            # a busy slave may still pass up its higher-priority requests
            in_service &= ~self._cascade_mask()
        if rank < self._rank(in_service):
            return (self.lowest + 1 + rank) & 7
        return -1

    cdef int _update(self) except -1:
        cdef int level = 1 if self.pending() >= 0 else 0
        if level != self.int_output:
            self.int_output = level
            if self.on_int is not None:
                self.on_int(level)
        return 0

    cpdef int vector(self, int ir) noexcept:
        return (self.icw2 & 0xF8) | ir

    cpdef int ack(self, int ir) except -1:
        """The INTA pulses for ``ir``: IRR to ISR (or straight through in AEOI)."""
        cdef int bit = 1 << ir
        if not self._level_mask() & bit:
            self.irr &= ~bit
        if self.icw4 & ICW4_AEOI:
            if self.rotate_aeoi:
                self.lowest = ir
        else:
            self.isr |= bit
        self._update()
        return 0

    # -- register interface (A0 is the low address bit) ------------------------------
    cpdef int write(self, int a0, int value) except -1:
        value &= 0xFF
        if a0 == 0:
            if value & 0x10:
                self._icw1(value)
            elif value & 0x08:
                self._ocw3(value)
            else:
                self._ocw2(value)
        elif self.icw_step:
            self._icw(value)
        else:
            self.imr = value
            self._update()
        return 0

    cpdef int read(self, int a0) except -1:
        if self.poll:
            return self._poll_word()
        if a0:
            return self.imr
        return self.isr if self.read_isr else self.irr

    cdef int _icw1(self, int value) except -1:
        self.icw1 = value
        self.icw_step = 2
        self.icw4 = 0
        self.imr = 0
        self.isr = 0
        self.lowest = 7
        self.read_isr = 0
        self.poll = 0
        self.special_mask = 0
        self.rotate_aeoi = 0
        # edge sense is reset: an input that is already high must fall and rise again
        self.irr = self.inputs & self._level_mask()
        self._update()
        return 0

    cdef int _icw(self, int value) except -1:
        if self.icw_step == 2:
            self.icw2 = value
            if not self.icw1 & ICW1_SNGL:
                self.icw_step = 3
            elif self.icw1 & ICW1_IC4:
                self.icw_step = 4
            else:
                self.icw_step = 0
        elif self.icw_step == 3:
            self.icw3 = value
            self.icw_step = 4 if self.icw1 & ICW1_IC4 else 0
        else:
            self.icw4 = value & 0x1F
            self.icw_step = 0
        self._update()
        return 0

    cdef int _ocw2(self, int value) except -1:
        cdef int command = value >> 5
        cdef int level = value & 7
        cdef int in_service, rank, ir
        if command == 0b000 or command == 0b100:      # clear/set rotate in AEOI
            self.rotate_aeoi = command >> 2
        elif command == 0b001 or command == 0b101:    # non-specific EOI (rotating)
            in_service = self.isr
            if self.special_mask:
                # masked ISR bits are left for a specific EOI in special mask mode
                in_service &= ~self.imr
            rank = self._rank(in_service)
            if rank < 8:
                ir = (self.lowest + 1 + rank) & 7
                self.isr &= ~(1 << ir)
                if command == 0b101:
                    self.lowest = ir
        elif command == 0b011 or command == 0b111:    # specific EOI (rotating)
            self.isr &= ~(1 << level)
            if command == 0b111:
                self.lowest = level
        elif command == 0b110:                        # set priority
            self.lowest = level
        self._update()
        return 0

    cdef int _ocw3(self, int value) except -1:
        if value & 0x04:
            self.poll = 1
        if value & 0x02:
            self.read_isr = value & 1
        if value & 0x40:
            self.special_mask = (value >> 5) & 1
        self._update()
        return 0

    cdef int _poll_word(self) except -1:
        cdef int ir
        self.poll = 0
        ir = self.pending()
        if ir < 0:
            return 0
        self.ack(ir)
        return 0x80 | ir

    # -- state -------------------------------------------------------------------------
    def get_state(self):
        return {f: getattr(self, f) for f in _CHIP_FIELDS}

    def set_state(self, state):
        for f in _CHIP_FIELDS:
            setattr(self, f, int(state[f]))


cdef class DualPIC(PortDevice):
    """The PC/AT 8259A pair with its ELCR.  ``intr`` is the INT level seen by the
    CPU; ``on_intr(level)`` (e.g. ``cpu.set_intr``) is called when it changes."""

    name = "pic"
    STATE_VERSION = 1

    def __cinit__(self):
        # nothing here reads the clock; INT changes reach the core through on_intr
        # (cpu.set_intr), which it checks at every instruction boundary
        self.timeless = True

    def __init__(self):
        self.master = PIC8259(True, self._master_int)
        self.slave = PIC8259(False, self._slave_int)
        self.intr = 0
        self.on_intr = None
        self.board = None

    def attach(self, board):
        self.board = board
        board.pic = self
        io = board.io
        read, write = PortRead(self), PortWrite(self)
        io.register(0x20, 2, read8=read, write8=write, owner=self.name)
        io.register(0xA0, 2, read8=read, write8=write, owner=self.name)
        io.register(0x4D0, 2, read8=read, write8=write, owner=self.name)
        for n, line in enumerate(board.irq):
            line.connect(partial(self._irq_sink, n))

    def reset(self, kind="hard"):
        if kind != "hard":
            return               # a CPU-only reset (92h, 8042 pulse) leaves the chipset alone
        self.master.reset()
        self.slave.reset()
        self._master_int(0)
        if self.board is not None:
            for n in range(16):
                self._irq_sink(n, self.board.irq[n].level)

    # -- wiring ------------------------------------------------------------------------
    def _irq_sink(self, n, level):
        if n < 8 and n != 2:
            self.master.set_input(n, level)
        elif n == 2 or n == 9:
            # the ISA IRQ2 pin is wired to IRQ9 on the AT
            irq = self.board.irq
            self.slave.set_input(1, irq[2].level or irq[9].level)
        else:
            self.slave.set_input(n - 8, level)

    def _slave_int(self, level):
        self.master.set_input(2, level)

    def _master_int(self, level):
        if level != self.intr:
            self.intr = level
            if self.on_intr is not None:
                self.on_intr(level)

    # -- ports (20h/21h master, A0h/A1h slave, 4D0h/4D1h ELCR) -----------------------------
    cdef int io_read(self, uint32_t port) except -1:
        if port >= 0x4D0:
            return (self.slave if port & 1 else self.master).elcr
        return (self.slave if port & 0x80 else self.master).read(port & 1)

    cdef int io_write(self, uint32_t port, uint32_t value) except -1:
        if port >= 0x4D0:
            if port & 1:
                return self.slave.set_elcr(value & ELCR2_WRITABLE)
            return self.master.set_elcr(value & ELCR1_WRITABLE)
        return (self.slave if port & 0x80 else self.master).write(port & 1, value)

    # -- the CPU side ------------------------------------------------------------------------
    cdef int inta(self) except -1:
        cdef PIC8259 master = self.master
        cdef PIC8259 slave = self.slave
        cdef int ir = master.pending()
        cdef int sir
        if ir < 0:
            return master.vector(7)
        master.ack(ir)
        if not master._cascade_mask() & (1 << ir):
            return master.vector(ir)
        if slave.icw3 & 7 != ir:
            return 0xFF          # no slave answers this cascade address: the bus floats
        sir = slave.pending()
        if sir < 0:
            return slave.vector(7)
        slave.ack(sir)
        return slave.vector(sir)

    def acknowledge(self):
        """Perform the CPU's INTA cycle and return the interrupt vector."""
        return self.inta()

    # -- state -------------------------------------------------------------------------------
    def get_state(self):
        return {"version": self.STATE_VERSION, "master": self.master.get_state(),
                "slave": self.slave.get_state(), "intr": self.intr}

    def set_state(self, state):
        if state.get("version") != self.STATE_VERSION:
            raise StateError(f"{self.name}: state version {state.get('version')} is not {self.STATE_VERSION}")
        self.master.set_state(state["master"])
        self.slave.set_state(state["slave"])
        self.intr = int(state["intr"])
