"""8254 PIT: driven through ports 40h-43h, set_gate() and clock.advance().

With ``Board(rate=PIT_HZ)`` one clock cycle is one PIT tick, so the data-sheet
timings can be written down directly: a count written at tick t is loaded at t+1.
"""
import random

import pytest

from pyvmm.board import Board
from pyvmm.clock import DEFAULT_RATE, PIT_HZ
from pyvmm.devices.pit8254 import PIT8254
from pyvmm.errors import StateError


def make(rate=PIT_HZ):
    b = Board(rate=rate)
    pit = b.attach(PIT8254())
    return b, pit


def program(io, channel, mode, count=None, access=3, bcd=0):
    io.outb(0x43, (channel << 6) | (access << 4) | (mode << 1) | bcd)
    if count is None:
        return
    if access in (1, 3):
        io.outb(0x40 + channel, count & 0xFF)
    if access in (2, 3):
        io.outb(0x40 + channel, (count >> 8) & 0xFF)


def read_count(io, channel):
    io.outb(0x43, channel << 6)              # counter latch command
    lo = io.inb(0x40 + channel)
    return lo | (io.inb(0x40 + channel) << 8)


def read_status(io, channel):
    io.outb(0x43, 0xE0 | (2 << channel))     # read-back: status only
    return io.inb(0x40 + channel)


def trace(b, pit, channel, ticks):
    """OUT of ``channel`` at each of the next ``ticks`` ticks, starting now."""
    levels = []
    for _ in range(ticks):
        levels.append(pit.output(channel))
        b.clock.advance(1)
    return levels


def edge_recorder(b):
    events = []
    b.irq[0].connect(lambda level: events.append((b.clock.now, level)))
    events.clear()               # connect() reports the present level
    return events


def test_attach_sets_board_pit_and_ports():
    b, pit = make()
    assert b.pit is pit
    assert b.io.owner[("write8", 0x43)] == "pit"
    assert b.io.inb(0x43) == 0xFF            # the control register is write-only


@pytest.mark.parametrize("n", [2, 3, 100, 11932])
def test_mode2_irq0_every_n_ticks_exactly(n):
    b, pit = make()
    events = edge_recorder(b)
    program(b.io, 0, 2, n)                    # written at tick 0, loaded at tick 1
    b.clock.advance(10 * n + 1)
    rises = [t for t, level in events if level]
    assert rises == [1 + k * n for k in range(1, 11)]
    # one timer event per period: the one-tick low pulse arrives at its rising edge
    assert events.count((1 + n, 0)) == 1 and len(events) == 20
    # OUT itself is low for exactly the tick in which the CE holds 1
    b.clock.advance(n - 1)
    assert pit.output(0) == 0
    b.clock.advance(1)
    assert pit.output(0) == 1


def test_mode2_at_default_rate_edges_fall_on_tick_boundaries():
    b, pit = make(DEFAULT_RATE)
    events = edge_recorder(b)
    program(b.io, 0, 2, 1000)
    b.clock.advance(b.clock.cycle_of_tick(PIT_HZ, 5001))
    rises = [t for t, level in events if level]
    assert rises == [b.clock.cycle_of_tick(PIT_HZ, 1 + 1000 * k) for k in range(1, 6)]
    assert rises[1] - rises[0] == 4000


@pytest.mark.parametrize("n,high,low", [(10, 5, 5), (7, 4, 3), (3, 2, 1)])
def test_mode3_square_wave_halves(n, high, low):
    b, pit = make()
    program(b.io, 0, 3, n)
    b.clock.advance(1)                        # load tick
    levels = trace(b, pit, 0, 3 * n)
    assert levels == ([1] * high + [0] * low) * 3
    assert b.irq[0].level == pit.output(0)


def test_mode3_bios_18hz_costs_two_events_per_period():
    b, pit = make()
    events = edge_recorder(b)
    program(b.io, 0, 3, 0)                    # 65536: 18.2 Hz
    b.clock.advance(1 + 3 * 65536)
    assert events == [(1 + 32768 + 65536 * k + d, level)
                      for k in range(3) for d, level in ((0, 0), (32768, 1))]


def test_mode3_counts_by_two_and_odd_count_values():
    b, pit = make()
    program(b.io, 1, 3, 6)
    b.clock.advance(1)
    assert counts(b, 6) == [6, 4, 2, 6, 4, 2]
    b, pit = make()
    program(b.io, 1, 3, 5)
    b.clock.advance(1)
    assert counts(b, 5) == [5, 4, 2, 5, 2]


def counts(b, ticks):
    values = []
    for _ in range(ticks):
        values.append(read_count(b.io, 1))
        b.clock.advance(1)
    return values


def test_mode0_interrupt_on_terminal_count():
    b, pit = make()
    events = edge_recorder(b)
    program(b.io, 0, 0)
    assert pit.output(0) == 0 and b.irq[0].level == 0
    b.clock.advance(10)
    program(b.io, 0, 0, 50)                   # written at tick 10
    b.clock.advance(50)                       # tick 60: CE holds 1
    assert pit.output(0) == 0
    assert read_count(b.io, 0) == 1
    b.clock.advance(1)                        # N+1 ticks after the write
    assert pit.output(0) == 1
    assert events[-1] == (61, 1)
    b.clock.advance(1000)
    assert pit.output(0) == 1                 # stays high; the CE wraps on
    assert read_count(b.io, 0) == (0 - 1000) & 0xFFFF
    assert b.clock.deadline > 1 << 40         # no timer left armed


def test_mode0_first_byte_stops_counting_and_gate_pauses():
    b, pit = make()
    program(b.io, 2, 0, 100)
    pit.set_gate(2, 1)                        # counter 2's gate comes from port 61h
    b.clock.advance(21)
    assert read_count(b.io, 2) == 80
    b.io.outb(0x42, 0x10)                     # first byte of a new count
    b.clock.advance(50)
    assert read_count(b.io, 2) == 80
    b.io.outb(0x42, 0x00)                     # count 0x0010 loads on the next tick
    b.clock.advance(1)
    assert read_count(b.io, 2) == 16
    pit.set_gate(2, 0)
    b.clock.advance(100)
    assert read_count(b.io, 2) == 16 and pit.output(2) == 0
    pit.set_gate(2, 1)
    b.clock.advance(16)
    assert pit.output(2) == 1


def test_mode1_hardware_retriggerable_one_shot():
    b, pit = make()
    program(b.io, 2, 1, 5)
    b.clock.advance(100)
    assert pit.output(2) == 1                 # nothing until a trigger
    assert read_status(b.io, 2) & 0x40        # null count: CR not yet in the CE
    pit.set_gate(2, 1)                        # trigger at tick 100
    assert trace(b, pit, 2, 8) == [1, 0, 0, 0, 0, 0, 1, 1]
    pit.set_gate(2, 0)
    pit.set_gate(2, 1)                        # trigger at tick 108
    b.clock.advance(3)
    pit.set_gate(2, 0)
    pit.set_gate(2, 1)                        # retrigger at 111 restarts the count
    assert trace(b, pit, 2, 8) == [0, 0, 0, 0, 0, 0, 1, 1]


def test_mode5_hardware_triggered_strobe():
    b, pit = make()
    program(b.io, 2, 5, 4)
    b.clock.advance(7)
    assert pit.output(2) == 1
    pit.set_gate(2, 1)
    assert trace(b, pit, 2, 8) == [1, 1, 1, 1, 1, 0, 1, 1]


def test_mode4_software_triggered_strobe():
    b, pit = make()
    events = edge_recorder(b)
    program(b.io, 0, 4, 3)
    assert trace(b, pit, 0, 7) == [1, 1, 1, 1, 0, 1, 1]
    assert [level for _, level in events] == [0, 1]   # one event for the strobe
    # writing a new count retriggers
    program(b.io, 0, 4, 2)
    assert trace(b, pit, 0, 5) == [1, 1, 1, 0, 1]


def test_mode2_gate_forces_out_high_and_reloads():
    b, pit = make()
    program(b.io, 2, 2, 4)
    pit.set_gate(2, 1)                        # gate rise at tick 0: load at 1
    b.clock.advance(1)
    assert trace(b, pit, 2, 4) == [1, 1, 1, 0]
    pit.set_gate(2, 0)                        # tick 5: stopped, OUT high
    b.clock.advance(10)
    assert pit.output(2) == 1
    pit.set_gate(2, 1)                        # tick 15: reload at 16
    assert trace(b, pit, 2, 6) == [1, 1, 1, 1, 0, 1]


def test_new_count_takes_effect_at_end_of_period_or_half_cycle():
    b, pit = make()
    events = edge_recorder(b)
    program(b.io, 0, 2, 10)                   # rising edges at 11, 21, ...
    b.clock.advance(15)
    b.io.outb(0x40, 4)                        # count only, at 15: the period runs out
    b.io.outb(0x40, 0)
    b.clock.advance(20)
    assert [t for t, level in events if level] == [11, 21, 25, 29, 33]
    b, pit = make()
    program(b.io, 1, 3, 10)                   # high 1..5, low 6..10
    b.clock.advance(3)
    b.io.outb(0x41, 4)                        # at tick 3, inside the high half
    b.io.outb(0x41, 0)
    assert trace(b, pit, 1, 10) == [1, 1, 1, 0, 0, 1, 1, 0, 0, 1]


def test_latch_reads_value_at_known_cycle():
    b, pit = make(DEFAULT_RATE)
    program(b.io, 0, 2, 1000)
    b.clock.advance(4 * 101)                  # tick 101: 100 ticks after the load
    b.io.outb(0x43, 0x00)
    b.clock.advance(4 * 250)
    assert b.io.inb(0x40) | (b.io.inb(0x40) << 8) == 900
    # a second latch before reading is ignored
    b.io.outb(0x43, 0x00)
    b.clock.advance(4 * 7)
    b.io.outb(0x43, 0x00)
    assert b.io.inb(0x40) | (b.io.inb(0x40) << 8) == 1000 - 350
    # an unlatched read sees the live value
    assert b.io.inb(0x40) | (b.io.inb(0x40) << 8) == 1000 - 357


def test_lsb_only_and_msb_only_access():
    b, pit = make()
    program(b.io, 1, 0, 0x12, access=1)
    b.clock.advance(3)
    assert b.io.inb(0x41) == 0x10
    assert b.io.inb(0x41) == 0x10
    program(b.io, 1, 0, 0x0300, access=2)
    b.clock.advance(1 + 0x100)
    assert b.io.inb(0x41) == 0x02


def test_read_back_status_and_null_count():
    b, pit = make()
    program(b.io, 0, 3, 100)
    b.io.outb(0x43, 0xC2)                     # read-back count and status of counter 0
    status = b.io.inb(0x40)
    assert status == 0x80 | 0x40 | 0x30 | (3 << 1)
    assert b.io.inb(0x40) | (b.io.inb(0x40) << 8) == 0   # CE not loaded yet
    b.clock.advance(1)
    assert read_status(b.io, 0) == 0x80 | 0x30 | (3 << 1)
    program(b.io, 1, 4, 9, access=1, bcd=1)
    assert read_status(b.io, 1) == 0x80 | 0x40 | 0x10 | (4 << 1) | 1
    b.clock.advance(1)
    assert read_status(b.io, 1) == 0x80 | 0x10 | (4 << 1) | 1
    # mode 2 written as x11 comes back as written
    program(b.io, 2, 7)
    assert (read_status(b.io, 2) >> 1) & 7 == 7
    # one read-back command latches several counters
    b.io.outb(0x43, 0xEE)
    assert [b.io.inb(0x40 + i) & 0x3F for i in range(3)] == [0x36, 0x19, 0x3E]


def test_bcd_counting_and_count_zero():
    b, pit = make()
    program(b.io, 1, 0, 0x0100, bcd=1)        # 100 decimal
    b.clock.advance(11)
    assert read_count(b.io, 1) == 0x0090
    program(b.io, 1, 0, 0, bcd=1)             # 0 means 10000 in BCD
    b.clock.advance(1)
    assert read_count(b.io, 1) == 0x0000
    b.clock.advance(1)
    assert read_count(b.io, 1) == 0x9999
    b.clock.advance(9998)
    assert pit.output(1) == 0
    b.clock.advance(1)
    assert pit.output(1) == 1


@pytest.mark.parametrize("bcd,period", [(0, 65536), (1, 10000)])
def test_count_zero_is_the_largest_period(bcd, period):
    b, pit = make()
    events = edge_recorder(b)
    program(b.io, 0, 2, 0, bcd=bcd)
    b.clock.advance(1 + 2 * period)
    assert [t for t, level in events if level] == [1 + period, 1 + 2 * period]


def test_speaker_frequency_of_counter2():
    b, pit = make()
    assert pit.speaker_frequency() == (0.0, 3)
    program(b.io, 2, 3, 1193)
    pit.set_gate(2, 1)
    b.clock.advance(2)
    hz, mode = pit.speaker_frequency()
    assert mode == 3 and hz == pytest.approx(PIT_HZ / 1193)
    pit.set_gate(2, 0)
    assert pit.speaker_frequency() == (0.0, 3)


def test_state_round_trip_continues_identically():
    b, pit = make()
    program(b.io, 0, 2, 300)
    program(b.io, 1, 3, 77)
    program(b.io, 2, 0, 5000, bcd=1)
    pit.set_gate(2, 1)
    b.clock.advance(1234)
    b.io.outb(0x43, 0x40)
    b.io.inb(0x41)                            # leave counter 1 mid-latch
    clock_state, state = b.clock.get_state(), pit.get_state()

    c, twin = make()
    c.clock.set_state(clock_state)
    twin.set_state(state)
    assert twin.get_state() == state
    assert c.io.inb(0x41) == b.io.inb(0x41)
    ea, eb = edge_recorder(b), edge_recorder(c)
    b.clock.advance(5000)
    c.clock.advance(5000)
    assert ea == eb and len(ea) > 20
    assert [pit.output(i) for i in range(3)] == [twin.output(i) for i in range(3)]
    with pytest.raises(StateError):
        twin.set_state({"version": 0})


def test_two_boards_share_nothing():
    a, pa = make()
    b, pb = make()
    program(a.io, 0, 0, 10)
    a.clock.advance(20)
    assert pa.output(0) == 1
    assert pb.output(0) == 1 and pb.counters[0].mode == 3
    assert b.clock.deadline > 1 << 40
    assert pa.counters[0] is not pb.counters[0]


def test_register_fuzz_never_raises():
    rng = random.Random(8254)
    b, pit = make(DEFAULT_RATE)
    for _ in range(20000):
        r = rng.random()
        if r < 0.4:
            b.io.outb(0x40 + rng.randrange(4), rng.randrange(256))
        elif r < 0.7:
            b.io.inb(0x40 + rng.randrange(3))
        elif r < 0.8:
            pit.set_gate(rng.randrange(3), rng.randrange(2))
        else:
            b.clock.advance(rng.choice((1, 3, 50, 5000)))
        assert pit.output(rng.randrange(3)) in (0, 1)
        assert b.irq[0].level == pit.output(0) or pit.counters[0].mode in (2, 4, 5)
    pit.speaker_frequency()
    pit.set_state(pit.get_state())


def test_irq0_through_the_pic_once_per_period():
    from pyvmm.devices.pic8259 import DualPIC
    b = Board()
    pit = b.attach(PIT8254())                 # OUT 0 is already high at power-on
    pic = b.attach(DualPIC())
    for port, value in ((0x20, 0x11), (0x21, 0x08), (0x21, 0x04), (0x21, 0x01), (0x21, 0xFE)):
        b.io.outb(port, value)
    program(b.io, 0, 3, 0)                    # the BIOS's 18.2 Hz tick
    period = b.clock.cycle_of_tick(PIT_HZ, 65536)
    raised = []
    pic.on_intr = lambda level: level and raised.append(b.clock.now)
    b.clock.advance(b.clock.cycle_of_tick(PIT_HZ, 1))      # the load tick
    for _ in range(3):
        assert pic.intr == 0
        b.clock.advance(period)
        assert pic.acknowledge() == 0x08
        b.io.outb(0x20, 0x20)
    assert raised[0] == b.clock.cycle_of_tick(PIT_HZ, 1 + 65536)
    assert raised[1] - raised[0] == raised[2] - raised[1] == period


def test_counters_1_and_2_need_no_timer():
    b, pit = make()
    program(b.io, 1, 2, 18)
    program(b.io, 2, 3, 1193)
    pit.set_gate(2, 1)
    assert b.clock.deadline > 1 << 40
    b.clock.advance(10000)
    assert read_count(b.io, 1) == 18 - (10000 - 1) % 18
