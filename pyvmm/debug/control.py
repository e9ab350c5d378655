"""Run control shared by the monitor, the tracer and the GDB stub.

``Machine.run`` keeps going through ``EXIT_BREAK``/``EXIT_STOP``; a debugger must stop
there, so :func:`run_slice` is the machine's run loop with those two exits returned.
Port and memory-write watches work by wrapping handlers in the bus tables for as long
as a ``with`` block lasts (the shared bus and memory modules are not changed):

* :class:`PortWatch` replaces the ``IOBus`` handler entries of the watched ports with
  wrappers that record the access and call ``cpu.stop()``, so the run ends right
  after the IN/OUT instruction.
* :class:`WriteWatch` turns the RAM/ROM pages under the watched range into MMIO pages
  whose handlers do what the page did before (store to RAM, ignore for ROM, forward
  for MMIO) and record writes inside the range.  Only those pages leave the core's
  fast path, so a watch costs little elsewhere.
"""
from ..clock import NEVER
from ..cpu import EXIT_BREAK, EXIT_BUDGET, EXIT_HLT, EXIT_STOP
from ..mem.physmem import KIND_MMIO, KIND_RAM, KIND_ROM, PAGE_SHIFT

__all__ = ["EXIT_BREAK", "EXIT_BUDGET", "EXIT_HLT", "EXIT_STOP",
           "linear", "step", "run_slice", "PortWatch", "WriteWatch"]


def linear(cs, ip):
    return ((cs & 0xFFFF) << 4) + (ip & 0xFFFF)


def _pending_reset(machine):
    board = machine.board
    kind = board.reset_requested
    if kind is None:
        return
    board.reset_requested = None
    if kind == "hard":
        machine.reset()
    else:
        machine.cpu.reset()


def _sleep_through_hlt(machine, end=NEVER):
    """A halted CPU waits for the next timer: jump the clock there (not past ``end``).
    With no timer armed nothing can wake it and time stays put."""
    clock = machine.clock
    if clock.deadline >= NEVER:
        return
    clock.now = max(clock.now, min(clock.deadline, end))
    clock.fire_due()


def step(machine):
    """One instruction (or one interrupt entry) with ``machine.step()``.  If the CPU
    is halted, time jumps to the next timer instead.  Returns the EXIT_* code."""
    _pending_reset(machine)
    cpu = machine.cpu
    n = cpu.instructions
    machine.step()
    if cpu.halted and cpu.instructions == n:
        _sleep_through_hlt(machine)
        return EXIT_HLT
    return EXIT_BUDGET


def run_slice(machine, cycles, breakpoints=(), resume=True):
    """Run for up to ``cycles`` cycles; return early with EXIT_BREAK (the next
    instruction is at one of ``breakpoints``, linear addresses that must also be in
    the core's list) or EXIT_STOP (``cpu.stop()`` was called).  Returns EXIT_HLT if
    the CPU is halted with no timer armed (it cannot wake).

    The core skips its breakpoint check on the first instruction of every
    ``cpu.run`` so that a debugger can resume from a breakpoint; when a run ends
    for a timer right at a breakpoint, this loop checks that address itself.
    ``resume`` says the first instruction is a resumption and must not stop."""
    board, clock, cpu = machine.board, machine.clock, machine.cpu
    end = clock.now + cycles
    for uart in getattr(machine, "serial", ()):
        uart.poll()
    while clock.now < end and board.exit_code is None:
        _pending_reset(machine)
        if breakpoints and not resume and \
                linear(cpu.get_reg("cs"), cpu.get_reg("ip")) & machine.mem.addr_mask in breakpoints:
            return EXIT_BREAK
        resume = False
        reason = cpu.run(end - clock.now)
        if reason == EXIT_HLT and cpu.halted:
            if clock.deadline >= NEVER:
                return EXIT_HLT
            _sleep_through_hlt(machine, end)
        clock.fire_due()
        if reason in (EXIT_BREAK, EXIT_STOP):
            return reason
    return EXIT_BUDGET


class PortWatch:
    """Stop the CPU after any access to the watched ports.  ``watch`` maps a port to a
    set of directions ("in", "out"); ``hits`` collects ``(direction, port, value)``."""

    def __init__(self, machine, watch):
        self.machine = machine
        self.watch = {port: set(dirs) for port, dirs in watch.items()}
        self.hits = []
        self._saved = []

    def _wrap_read(self, handler, direction, width):
        def read(port):
            value = handler(port)
            self.hits.append((direction, port, value & ((1 << width) - 1)))
            self.machine.cpu.stop()
            return value
        return read

    def _wrap_write(self, handler, direction):
        def write(port, value):
            self.hits.append((direction, port, value))
            self.machine.cpu.stop()
            handler(port, value)
        return write

    def __enter__(self):
        io = self.machine.io
        for port, dirs in self.watch.items():
            if "in" in dirs:
                for table, width in ((io.read8, 8), (io.read16, 16)):
                    if table[port] is not None:
                        self._saved.append((table, port, table[port]))
                        table[port] = self._wrap_read(table[port], "in", width)
                if port in io.read32:
                    self._saved.append((io.read32, port, io.read32[port]))
                    io.read32[port] = self._wrap_read(io.read32[port], "in", 32)
            if "out" in dirs:
                for table in (io.write8, io.write16):
                    if table[port] is not None:
                        self._saved.append((table, port, table[port]))
                        table[port] = self._wrap_write(table[port], "out")
                if port in io.write32:
                    self._saved.append((io.write32, port, io.write32[port]))
                    io.write32[port] = self._wrap_write(io.write32[port], "out")
        return self

    def __exit__(self, *exc):
        for table, port, handler in reversed(self._saved):
            table[port] = handler
        self._saved.clear()
        return False


class WriteWatch:
    """Stop the CPU after a write into any of the ``ranges`` (inclusive linear
    ``(start, end)`` pairs).  ``hits`` collects ``(address, value)``."""

    def __init__(self, machine, ranges):
        self.machine = machine
        self.ranges = [(min(a, b), max(a, b)) for a, b in ranges]
        self.hits = []
        self._saved = []

    def _inside(self, addr):
        return any(a <= addr <= b for a, b in self.ranges)

    def _handlers(self, page, kind):
        mem = self.machine.mem
        data = mem.data
        old_read, old_write = mem.mmio_read[page], mem.mmio_write[page]

        def read8(addr):
            return old_read(addr) if kind == KIND_MMIO else int(data[addr])

        def write8(addr, value):
            if self._inside(addr):
                self.hits.append((addr, value))
                self.machine.cpu.stop()
            if kind == KIND_RAM:
                data[addr] = value
            elif kind == KIND_MMIO:
                old_write(addr, value)
        return read8, write8

    def __enter__(self):
        mem = self.machine.mem
        pages = set()
        for a, b in self.ranges:
            pages.update(range((a & mem.addr_mask) >> PAGE_SHIFT, ((b & mem.addr_mask) >> PAGE_SHIFT) + 1))
        for page in sorted(pages):
            kind = int(mem.kind[page])
            if kind not in (KIND_RAM, KIND_ROM, KIND_MMIO):
                continue
            self._saved.append((page, kind, mem.mmio_read[page], mem.mmio_write[page]))
            mem.mmio_read[page], mem.mmio_write[page] = self._handlers(page, kind)
            mem.kind[page] = KIND_MMIO
        return self

    def __exit__(self, *exc):
        mem = self.machine.mem
        for page, kind, read8, write8 in reversed(self._saved):
            mem.kind[page] = kind
            mem.mmio_read[page], mem.mmio_write[page] = read8, write8
        self._saved.clear()
        return False
