"""Ports 61h and 92h, driven through the I/O bus with a PIT on the board."""
import random

import pytest

from pyvmm.board import Board
from pyvmm.clock import DEFAULT_RATE, PIT_HZ
from pyvmm.devices.pit8254 import PIT8254
from pyvmm.devices.sysctrl import SystemControl
from pyvmm.errors import StateError


def make(rate=PIT_HZ, address_space=1 << 21):
    b = Board(rate=rate, address_space=address_space)
    pit = b.attach(PIT8254())
    sc = b.attach(SystemControl())
    return b, pit, sc


def test_bit0_gates_counter2_and_bit5_reads_its_output():
    b, pit, sc = make()
    b.io.outb(0x43, 0xB2)                     # counter 2, mode 1 one-shot
    b.io.outb(0x42, 5)
    b.io.outb(0x42, 0)
    assert b.io.inb(0x61) & 0x20
    b.io.outb(0x61, 0x01)                     # gate rises: trigger
    b.clock.advance(1)
    assert not b.io.inb(0x61) & 0x20
    b.clock.advance(5)
    assert b.io.inb(0x61) & 0x20
    assert b.io.inb(0x61) & 0x0F == 0x01


def test_speaker_on_needs_gate_and_data_enable():
    b, pit, sc = make()
    assert not sc.speaker_on()
    b.io.outb(0x61, 0x01)
    assert not sc.speaker_on()
    b.io.outb(0x61, 0x03)
    assert sc.speaker_on()
    b.io.outb(0x43, 0xB6)
    b.io.outb(0x42, 0xA9)
    b.io.outb(0x42, 0x04)                     # 1193: ~1 kHz beep
    b.clock.advance(2)
    assert pit.speaker_frequency() == (pytest.approx(PIT_HZ / 1193), 3)
    b.io.outb(0x61, 0x02)
    assert not sc.speaker_on()
    assert pit.speaker_frequency()[0] == 0.0


def test_refresh_toggle_flips_every_15_us():
    b, pit, sc = make(DEFAULT_RATE)
    period = b.clock.cycle_of_tick(PIT_HZ, 18)
    assert period / DEFAULT_RATE == pytest.approx(15.085e-6, rel=1e-3)
    seen = []
    for _ in range(8):
        seen.append((b.io.inb(0x61) >> 4) & 1)
        b.clock.advance(period)
    assert seen == [0, 1] * 4
    b.clock.advance(period // 2)
    before = b.io.inb(0x61) & 0x10
    assert b.io.inb(0x61) & 0x10 == before    # reading does not flip it


def test_nmi_status_bits_latch_and_clear():
    b, pit, sc = make()
    assert b.io.inb(0x61) & 0xC0 == 0
    sc.parity_error()
    sc.channel_check()
    assert b.io.inb(0x61) & 0xC0 == 0xC0
    b.io.outb(0x61, 0x04)                     # clear and disable parity
    assert b.io.inb(0x61) & 0xC0 == 0x40
    sc.parity_error()
    assert b.io.inb(0x61) & 0x80 == 0
    b.io.outb(0x61, 0x08)                     # clear I/O check, re-enable parity
    assert b.io.inb(0x61) & 0xC0 == 0
    sc.parity_error()
    assert b.io.inb(0x61) & 0x80


def test_port92_fast_a20():
    b, pit, sc = make()
    b.io.outb(0x92, 0x00)
    assert not b.mem.a20_enabled
    assert b.io.inb(0x92) & 0x02 == 0
    b.io.outb(0x92, 0x02)
    assert b.mem.a20_enabled
    assert b.io.inb(0x92) & 0x02
    b.set_a20(False)                          # the 8042's gate input off: the inputs are
    assert b.mem.a20_enabled                  # ORed, so port 92h still holds A20 open
    assert b.io.inb(0x92) & 0x02
    b.io.outb(0x92, 0x00)
    assert not b.mem.a20_enabled


def test_port92_fast_reset_on_rising_bit0():
    b, pit, sc = make()
    b.io.outb(0x92, b.io.inb(0x92) | 0x01)
    assert b.reset_requested == "cpu"
    assert b.clock.deadline == b.clock.now    # the CPU stops at once
    assert b.mem.a20_enabled                  # A20 untouched by the reset write
    b.reset_requested = None
    b.io.outb(0x92, 0x03)                     # bit 0 still set: no new reset
    assert b.reset_requested is None
    sc.reset("cpu")
    assert b.io.inb(0x92) & 0x01 == 0


def test_reset_closes_the_gate():
    b, pit, sc = make()
    b.io.outb(0x61, 0x03)
    sc.reset()
    assert b.io.inb(0x61) & 0x0F == 0
    assert pit.counters[2].gate == 0


def test_state_round_trip_and_version():
    b, pit, sc = make()
    b.io.outb(0x61, 0x0B)
    b.io.outb(0x92, 0x02)
    sc.channel_check()
    state = sc.get_state()
    c, _, twin = make()
    twin.set_state(state)
    assert twin.get_state() == state
    with pytest.raises(StateError):
        twin.set_state({"version": 5})


def test_two_boards_share_nothing():
    a, _, sa = make()
    b, _, sb = make()
    a.io.outb(0x61, 0x03)
    a.io.outb(0x92, 0x00)
    assert sa.speaker_on() and not sb.speaker_on()
    assert not a.mem.a20_enabled and b.mem.a20_enabled


def test_register_fuzz_never_raises():
    rng = random.Random(61)
    b, pit, sc = make(DEFAULT_RATE)
    for _ in range(10000):
        r = rng.random()
        port = rng.choice((0x61, 0x92))
        if r < 0.4:
            b.io.outb(port, rng.randrange(256))
        elif r < 0.8:
            assert 0 <= b.io.inb(port) <= 0xFF
        else:
            b.clock.advance(rng.randrange(200))
        b.reset_requested = None


def test_cpu_reset_leaves_port_b_and_gate():
    b, pit, sc = make()
    b.io.outb(0x61, 0x03)
    pit.reset("cpu")
    sc.reset("cpu")
    assert b.io.inb(0x61) & 0x0F == 0x03
    assert pit.counters[2].gate == 1
