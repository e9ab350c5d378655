# cython: language_level=3, cdivision=False
"""Intel 8254 programmable interval timer (ports 40h-43h).

Nothing here ticks.  Each counter remembers when its counting element (CE) was last
loaded (``start``, in PIT ticks of ``Clock.ticks(PIT_HZ)``) and with what count
(``n``); its value and OUT level at any later tick are computed from the elapsed
ticks.  The only discrete event is the transfer of the count register (CR) into the
CE, kept as ``load_at`` and applied when time passes it (:meth:`Counter.sync`).

Tick conventions follow the 82C54 data sheet: a count written during tick ``t`` is
loaded on the next CLK pulse, ``t + 1``, so in mode 0 OUT rises N+1 pulses after the
write; a gate trigger at tick ``t`` loads at ``t + 1`` too.  Mode 2 OUT is low for
the one tick in which the CE holds 1; mode 3 is high for ceil(N/2) and low for
floor(N/2) ticks; modes 4 and 5 strobe OUT low for the tick in which the CE reaches
0.  A new count written while modes 2/3 run takes effect at the end of the current
period (mode 2) or half-cycle (mode 3).  The counts the data sheet calls illegal (1
in modes 2 and 3) give a steady output.

Counter 0 drives ``board.irq[0]``.  Only it has a timer, armed for its next OUT
transition; a one-tick low pulse (modes 2, 4, 5) is delivered as a single event at
its rising edge that lowers and raises the line, so the BIOS's 18.2 Hz mode 3 costs
two events per period and a mode 2 rate generator one.

Both classes are compiled (pit8254.pxd): the bus reaches the ports through
``io_read``/``io_write`` without a Python call.  Division and modulo keep Python's
floor semantics (``cdivision=False``): a count that has run past zero in modes 0, 1,
4 and 5 gives a negative ``n - e`` that must wrap like the 16-bit CE.
"""
from libc.stdint cimport uint32_t

from ..bus.ioport cimport PortDevice, PortRead, PortWrite
from ..clock import PIT_HZ
from ..errors import StateError

_COUNTER_FIELDS = (
    "mode_bits", "mode", "bcd", "access", "cr", "cr_valid", "null_count",
    "write_msb", "write_lsb", "read_msb", "count_latched", "count_latch",
    "status_latched", "status_latch", "gate", "loaded", "counting", "start",
    "paused_e", "n", "offset", "load_at", "load_low", "idle_value", "idle_out")


cdef inline int _from_bcd(int raw) noexcept:
    return ((raw >> 12) & 15) * 1000 + ((raw >> 8) & 15) * 100 + ((raw >> 4) & 15) * 10 + (raw & 15)


cdef inline int _to_bcd(int value) noexcept:
    return ((value // 1000) << 12) | ((value // 100 % 10) << 8) | ((value // 10 % 10) << 4) | (value % 10)


cdef class Counter:
    """One of the three counters."""

    def __init__(self, int index):
        self.index = index
        self.reset()

    def reset(self):
        # power-on: as if programmed for mode 3, LSB then MSB, but given no count yet
        self.mode_bits = 3
        self.mode = 3
        self.bcd = 0
        self.access = 3
        self.cr = 0
        self.cr_valid = 0
        self.null_count = 1
        self.write_msb = 0       # LSB written, MSB expected next (access 3)
        self.write_lsb = 0
        self.read_msb = 0        # the read flip-flop (access 3)
        self.count_latched = 0
        self.count_latch = 0
        self.status_latched = 0
        self.status_latch = 0
        self.gate = 0 if self.index == 2 else 1   # gates 0 and 1 are tied high on the PC
        self.loaded = 0          # the CE holds a count and follows start/n
        self.counting = 0        # time flows (else the CE is frozen at paused_e)
        self.start = 0
        self.paused_e = 0
        self.n = 65536
        self.offset = 0          # mode 3: ticks into the period at start
        self.load_at = -1        # tick of the pending CR -> CE transfer
        self.load_low = 0        # mode 3: that transfer begins a low half-cycle
        self.idle_value = 0      # CE value and OUT while nothing is loaded
        self.idle_out = 1

    # -- time -------------------------------------------------------------------
    cdef int _count_of(self, int raw) noexcept:
        if self.bcd:
            return _from_bcd(raw) or 10000
        return raw or 65536

    cpdef int sync(self, long long t) noexcept:
        """Apply a CR -> CE transfer that is due by tick ``t``."""
        cdef long long at = self.load_at
        cdef int n
        if at < 0 or at > t:
            return 0
        self.load_at = -1
        self.null_count = 0
        self.loaded = 1
        self.start = at
        n = self.n = self._count_of(self.cr)
        self.offset = (n + 1) // 2 if self.load_low else 0
        self.load_low = 0
        self.counting = 1 if self.mode == 1 or self.mode == 5 else self.gate
        self.paused_e = 0
        return 0

    cdef long long _elapsed(self, long long t) noexcept:
        return t - self.start if self.counting else self.paused_e

    cpdef int out(self, long long t) noexcept:
        cdef int mode
        cdef long long e, n
        if not self.loaded:
            return self.idle_out
        mode = self.mode
        if (mode == 2 or mode == 3) and not self.counting:
            return 1
        e = self._elapsed(t)
        n = self.n
        if mode <= 1:
            return 1 if e >= n else 0
        if mode == 2:
            return 0 if e % n == n - 1 else 1
        if mode == 3:
            return 1 if (e + self.offset) % n < (n + 1) // 2 else 0
        return 0 if e == n else 1

    cpdef int value(self, long long t) noexcept:
        """The CE contents in binary (0..65535, or 0..9999 in BCD mode)."""
        cdef long long e, n, v, p, j, high
        cdef int mode
        if not self.loaded:
            return self.idle_value
        e = self._elapsed(t)
        n = self.n
        mode = self.mode
        if mode == 2:
            v = n - e % n
        elif mode == 3:
            high = (n + 1) // 2
            p = (e + self.offset) % n
            if p < high:
                j = p
                v = n + 1 - 2 * j if n & 1 and j else n - 2 * j
            else:
                j = p - high
                v = n - 1 - 2 * j if n & 1 and j else n - 2 * j
        else:
            v = n - e
        return <int>(v % (10000 if self.bcd else 65536))

    def next_edge(self, long long t):
        """(tick, pulse) of the next moment after ``t`` at which OUT changes or a
        load happens, or None.  ``pulse`` marks a rising edge whose one-tick low
        phase is not given its own event."""
        best = None
        pulse = 0
        if self.loaded and self.counting:
            e = t - self.start
            n = self.n
            mode = self.mode
            if mode <= 1:
                if e < n:
                    best = self.start + n
            elif mode == 2:
                if n > 1:
                    best, pulse = t + n - e % n, 1
            elif mode == 3:
                if n > 1:
                    p = (e + self.offset) % n
                    high = (n + 1) // 2
                    best = t + (high - p if p < high else n - p)
            elif e <= n:
                best, pulse = self.start + n + 1, 1
        if self.load_at > t and (best is None or self.load_at < best):
            best, pulse = self.load_at, 0
        return None if best is None else (best, pulse)

    # -- programming ---------------------------------------------------------------------
    cdef int _freeze(self, long long t, int out) noexcept:
        """Stop the CE where it is (its value stays readable) with OUT at ``out``."""
        self.idle_value = self.value(t)
        self.idle_out = out
        self.loaded = 0
        self.counting = 0
        self.load_at = -1
        return 0

    cpdef int control(self, long long t, int value) noexcept:
        cdef int mode_bits = (value >> 1) & 7
        self._freeze(t, 0 if mode_bits == 0 else 1)
        self.access = (value >> 4) & 3
        self.mode_bits = mode_bits
        self.mode = mode_bits & 3 if mode_bits >= 6 else mode_bits
        self.bcd = value & 1
        self.cr_valid = 0
        self.null_count = 1
        self.write_msb = 0
        self.read_msb = 0
        self.count_latched = 0
        self.status_latched = 0
        self.load_low = 0
        return 0

    cpdef int write(self, long long t, int value) noexcept:
        cdef int access = self.access
        if access == 1:
            self._write_count(t, value)
        elif access == 2:
            self._write_count(t, value << 8)
        elif not self.write_msb:
            self.write_lsb = value
            self.write_msb = 1
            if self.mode == 0:
                # mode 0: the first byte stops counting and drops OUT at once
                self._freeze(t, 0)
        else:
            self.write_msb = 0
            self._write_count(t, self.write_lsb | (value << 8))
        return 0

    cdef int _write_count(self, long long t, int raw) noexcept:
        cdef int mode
        cdef long long e, n, p, high
        self.cr = raw
        self.cr_valid = 1
        self.null_count = 1
        mode = self.mode
        if mode == 0:
            self._freeze(t, 0)
            self.load_at = t + 1
        elif mode == 4:
            self._freeze(t, self.out(t))
            self.load_at = t + 1
        elif mode == 2 or mode == 3:
            if not self.loaded:
                self.load_at = t + 1
            elif self.counting and self.load_at < 0:
                e = t - self.start
                n = self.n
                if mode == 2:
                    self.load_at = t + n - e % n
                else:
                    p = (e + self.offset) % n
                    high = (n + 1) // 2
                    self.load_low = 1 if p < high else 0
                    self.load_at = t + (high - p if p < high else n - p)
        # modes 1 and 5 wait for a gate trigger
        return 0

    cpdef int set_gate(self, long long t, int level) noexcept:
        cdef int mode
        if level == self.gate:
            return 0
        self.gate = level
        mode = self.mode
        if level:
            if mode == 0 or mode == 4:
                if self.loaded and not self.counting:
                    self.start = t - self.paused_e
                    self.counting = 1
            elif self.cr_valid:
                # modes 1, 2, 3, 5: the rising edge reloads the CE on the next pulse
                self.load_at = t + 1
                self.load_low = 0
        elif self.loaded and self.counting and mode != 1 and mode != 5:
            self.paused_e = t - self.start
            self.counting = 0
            if mode == 2 or mode == 3:
                self.load_at = -1
        return 0

    cpdef int latch_count(self, long long t) noexcept:
        if not self.count_latched:
            self.count_latched = 1
            self.count_latch = self.value(t)
        return 0

    cpdef int latch_status(self, long long t) noexcept:
        if not self.status_latched:
            self.status_latched = 1
            self.status_latch = ((self.out(t) << 7) | (self.null_count << 6) | (self.access << 4)
                                 | (self.mode_bits << 1) | self.bcd)
        return 0

    cpdef int read(self, long long t) noexcept:
        cdef int value, access, byte
        if self.status_latched:
            self.status_latched = 0
            return self.status_latch
        if self.count_latched:
            value = self.count_latch
        else:
            value = self.value(t)
        if self.bcd:
            value = _to_bcd(value)
        access = self.access
        if access == 1:
            byte = value & 0xFF
        elif access == 2:
            byte = value >> 8
        else:
            byte = value >> 8 if self.read_msb else value & 0xFF
            self.read_msb ^= 1
            if self.read_msb:
                return byte
        self.count_latched = 0
        return byte

    def get_state(self):
        return {f: int(getattr(self, f)) for f in _COUNTER_FIELDS}

    def set_state(self, state):
        # n divides time: a zero (or a count no 8254 can hold) would fail in the guest's run
        if not 1 <= int(state["n"]) <= 65536:
            raise StateError(f"pit: counter {self.index} state field n = {state['n']!r} is outside 1..65536")
        for f in _COUNTER_FIELDS:
            setattr(self, f, int(state[f]))


cdef class PIT8254(PortDevice):
    """The 8254 at 40h-43h.  Counter 0 drives IRQ 0; counter 2 feeds the speaker."""

    name = "pit"
    STATE_VERSION = 1

    def __init__(self):
        self.counters = [Counter(i) for i in range(3)]
        self.irq_pulse = 0       # the armed event is a rising edge after an unsignalled low tick
        self.board = None

    def attach(self, board):
        self.board = board
        board.pit = self
        self.clock = board.clock
        self.irq0 = board.irq[0]
        self.timer = board.clock.timer(f"{self.name}.out0", self._out0_event)
        board.io.register(0x40, 3, read8=PortRead(self), write8=PortWrite(self), owner=self.name)
        board.io.register(0x43, 1, write8=PortWrite(self), owner=self.name)
        self._out0_changed()

    def reset(self, kind="hard"):
        if kind != "hard":
            return               # a CPU-only reset (92h, 8042 pulse) leaves the chipset alone
        for c in self.counters:
            c.reset()
        if self.board is not None:
            self._out0_changed()

    cdef long long _tick(self) except? -1:
        # Clock.ticks(PIT_HZ) without the call: now and rate are Python ints, so the
        # product cannot overflow before the floor division
        clock = self.clock
        return clock.now * PIT_HZ // clock.rate

    # -- ports -------------------------------------------------------------------
    cdef int io_read(self, uint32_t port) except -1:
        cdef Counter c = <Counter>self.counters[port - 0x40]     # 40h-42h only
        cdef long long t = self._tick()
        c.sync(t)
        return c.read(t)

    cdef int io_write(self, uint32_t port, uint32_t value) except -1:
        cdef Counter c
        cdef long long t = self._tick()
        cdef int index = port - 0x40
        if index == 3:
            return self._control(t, value)
        c = <Counter>self.counters[index]
        c.sync(t)
        c.write(t, value)
        if index == 0:
            self._out0_changed()
        return 0

    cdef int _control(self, long long t, int value) except -1:
        cdef int select = value >> 6
        cdef int i
        cdef Counter c
        if select == 3:
            # read-back: bit 5 low latches counts, bit 4 low latches status
            for i in range(3):
                if value & (2 << i):
                    c = <Counter>self.counters[i]
                    c.sync(t)
                    if not value & 0x10:
                        c.latch_status(t)
                    if not value & 0x20:
                        c.latch_count(t)
            return 0
        c = <Counter>self.counters[select]
        c.sync(t)
        if value & 0x30 == 0:
            c.latch_count(t)
            return 0
        c.control(t, value)
        if select == 0:
            self._out0_changed()
        return 0

    # -- IRQ 0 --------------------------------------------------------------------
    cdef int _out0_changed(self) except -1:
        """Counter 0 was reprogrammed: put IRQ 0 at its OUT level, arm the next edge."""
        cdef Counter c = <Counter>self.counters[0]
        cdef long long t = self._tick()
        c.sync(t)
        self.irq0.set(c.out(t))
        return self._arm(t)

    cdef int _arm(self, long long t) except -1:
        edge = (<Counter>self.counters[0]).next_edge(t)
        if edge is None:
            self.irq_pulse = 0
            self.timer.cancel()
        else:
            self.irq_pulse = edge[1]
            self.timer.set(self.clock.cycle_of_tick(PIT_HZ, edge[0]))
        return 0

    def _out0_event(self):
        cdef Counter c = <Counter>self.counters[0]
        cdef long long t = self._tick()
        cdef int out
        c.sync(t)
        out = c.out(t)
        if self.irq_pulse and out:
            self.irq0.lower()
        self.irq0.set(out)
        self._arm(t)

    # -- for other devices and the frontend ------------------------------------------
    def set_gate(self, channel, level):
        """Drive the GATE input of ``channel`` (port 61h bit 0 drives counter 2)."""
        cdef Counter c = <Counter>self.counters[channel]
        cdef long long t = self._tick()
        c.sync(t)
        c.set_gate(t, 1 if level else 0)
        if channel == 0:
            self._out0_changed()

    def output(self, channel):
        """The OUT level (0/1) of ``channel`` now."""
        cdef Counter c = <Counter>self.counters[channel]
        cdef long long t = self._tick()
        c.sync(t)
        return c.out(t)

    def speaker_frequency(self):
        """``(hz, mode)`` of counter 2: the frequency of its output waveform in Hz
        (PIT_HZ / count) while it runs as a rate generator (mode 2) or square wave
        (mode 3) with its gate open, else 0.0; and its counting mode 0-5.  Whether
        the speaker hears it is port 61h's business (SystemControl.speaker_on())."""
        cdef Counter c = <Counter>self.counters[2]
        c.sync(self._tick())
        if c.mode in (2, 3) and c.loaded and c.counting:
            return PIT_HZ / c.n, c.mode
        return 0.0, c.mode

    # -- state ---------------------------------------------------------------------------
    def get_state(self):
        return {"version": self.STATE_VERSION,
                "counters": [c.get_state() for c in self.counters],
                "irq_pulse": self.irq_pulse}

    def set_state(self, state):
        if state.get("version") != self.STATE_VERSION:
            raise StateError(f"{self.name}: state version {state.get('version')} is not {self.STATE_VERSION}")
        for c, s in zip(self.counters, state["counters"]):
            c.set_state(s)
        self.irq_pulse = int(state["irq_pulse"])
        if self.board is not None:
            # IRQ 0 back at OUT 0's level (the clock, restored first, holds the timer)
            self._restore_out0()

    cdef int _restore_out0(self) except -1:
        cdef Counter c = <Counter>self.counters[0]
        cdef long long t = self._tick()
        c.sync(t)
        self.irq0.set(c.out(t))
        return 0
