import datetime
import random

import pytest

from pyvmm.board import Board
from pyvmm.devices.rtc146818 import RTC146818
from pyvmm.errors import ConfigError, ImageError

HZ = 32768


def make(**options):
    board = Board()
    rtc = board.attach(RTC146818(**options))
    return board, rtc


def rd(board, reg):
    board.io.outb(0x70, reg)
    return board.io.inb(0x71)


def wr(board, reg, value):
    board.io.outb(0x70, reg)
    board.io.outb(0x71, value)


def time_regs(board):
    return [rd(board, r) for r in (0, 2, 4, 6, 7, 8, 9)]


def seconds(board, s):
    return board.clock.cycles_from_seconds(s)


def until_tick(board, tick):
    board.clock.run_until(board.clock.cycle_of_tick(HZ, tick))


def test_default_time_in_bcd_and_century():
    board, rtc = make()
    # 2000-01-01 was a Saturday: day of week 7 with Sunday = 1
    assert time_regs(board) == [0x00, 0x00, 0x00, 0x07, 0x01, 0x01, 0x00]
    assert rd(board, 0x32) == 0x20
    assert rd(board, 0x0A) & 0x7F == 0x26
    assert rd(board, 0x0B) == 0x02
    assert rd(board, 0x0D) == 0x80


def test_time_advances_with_the_virtual_clock_across_a_leap_day():
    board, rtc = make(start_time=datetime.datetime(2000, 2, 28, 23, 59, 58))
    board.clock.advance(seconds(board, 3))
    # updates end at 0.502 s, 1.502 s and 2.502 s
    assert time_regs(board) == [0x01, 0x00, 0x00, 0x03, 0x29, 0x02, 0x00]


def test_epoch_start_time_is_utc():
    board, rtc = make(start_time=951782400)      # 2000-02-29 00:00:00 UTC
    assert time_regs(board)[4:] == [0x29, 0x02, 0x00]
    with pytest.raises(ConfigError):
        RTC146818(start_time="yesterday")


def test_binary_mode_rolls_over_the_year():
    board, rtc = make()
    wr(board, 0x0B, 0x86)                        # SET, binary, 24 h
    for reg, value in ((0, 59), (2, 59), (4, 23), (6, 6), (7, 31), (8, 12), (9, 99)):
        wr(board, reg, value)
    wr(board, 0x0B, 0x06)
    board.clock.advance(seconds(board, 1))
    assert time_regs(board) == [0, 0, 0, 7, 1, 1, 0]


def test_12_hour_mode_pm_bit():
    board, rtc = make()
    wr(board, 0x0B, 0x80)                        # SET, BCD, 12 h
    wr(board, 0, 0x59)
    wr(board, 2, 0x59)
    wr(board, 4, 0x91)                           # 11 PM
    wr(board, 0x0B, 0x00)
    board.clock.advance(seconds(board, 1))
    assert rd(board, 4) == 0x12 and rd(board, 7) == 0x02     # 12 AM next day
    wr(board, 0x0B, 0x80)
    wr(board, 0, 0x59)
    wr(board, 2, 0x59)
    wr(board, 4, 0x11)                           # 11 AM
    wr(board, 0x0B, 0x00)
    board.clock.advance(seconds(board, 1))
    assert rd(board, 4) == 0x92                  # 12 PM


def test_daylight_saving_rule():
    board, rtc = make(start_time=datetime.datetime(1999, 4, 25, 1, 59, 59))   # a Sunday
    wr(board, 0x0B, 0x03)                        # 24 h, DSE
    board.clock.advance(seconds(board, 1))
    assert rd(board, 4) == 0x03 and rd(board, 2) == 0x00
    board, rtc = make(start_time=datetime.datetime(1999, 10, 31, 1, 59, 59))
    wr(board, 0x0B, 0x03)
    board.clock.advance(seconds(board, 1))
    assert rd(board, 4) == 0x01 and rd(board, 2) == 0x00
    board.clock.advance(seconds(board, 3600))
    assert rd(board, 4) == 0x02                  # the hour repeats only once


def test_uip_window_around_the_update_cycle():
    board, rtc = make()
    first = HZ // 2                              # first update starts half a second in
    until_tick(board, first - 9)
    assert not rd(board, 0x0A) & 0x80
    until_tick(board, first - 8)                 # 244 us before the update
    assert rd(board, 0x0A) & 0x80
    until_tick(board, first + 64)                # still inside the 1984 us cycle
    assert rd(board, 0x0A) & 0x80 and rd(board, 0) == 0x00
    until_tick(board, first + 65)
    assert not rd(board, 0x0A) & 0x80 and rd(board, 0) == 0x01
    until_tick(board, first + HZ - 8)            # once per second
    assert rd(board, 0x0A) & 0x80


def test_periodic_interrupt_rate_and_register_c_acknowledge():
    board, rtc = make()
    irq = board.irq[8]
    wr(board, 0x0A, 0x2F)                        # 2 Hz
    rd(board, 0x0C)
    wr(board, 0x0B, 0x42)                        # PIE
    board.clock.advance(seconds(board, 1.2))
    assert irq.level == 1 and irq.rising_edges == 1   # held until C is read
    assert rd(board, 0x0C) & 0xC0 == 0xC0
    assert irq.level == 0
    assert rd(board, 0x0C) & 0x40 == 0

    # 1024 Hz with an interrupt handler that acknowledges every time
    wr(board, 0x0A, 0x26)
    edges = []

    def handler(level):
        if level:
            edges.append(board.clock.now)
            rd(board, 0x0C)

    irq.connect(handler)
    start = board.clock.now
    board.clock.advance(seconds(board, 1))
    assert len(edges) == 1024
    assert all(0 < b - a <= board.clock.rate // 1024 + 1 for a, b in zip(edges, edges[1:]))
    assert edges[0] > start


def test_pf_is_set_without_pie_but_no_interrupt():
    board, rtc = make()
    rd(board, 0x0C)
    board.clock.advance(seconds(board, 0.01))
    assert rd(board, 0x0C) == 0x40
    assert rd(board, 0x0C) == 0x00
    assert board.irq[8].rising_edges == 0


def test_alarm_with_dont_care_fields():
    board, rtc = make()
    wr(board, 1, 0x05)                           # second 5
    wr(board, 3, 0xC0)                           # any minute
    wr(board, 5, 0xFF)                           # any hour
    wr(board, 0x0B, 0x22)                        # AIE
    board.clock.advance(seconds(board, 4.4))
    assert board.irq[8].level == 0
    board.clock.advance(seconds(board, 0.2))
    assert board.irq[8].level == 1
    assert rd(board, 0x0C) & 0xA0 == 0xA0
    assert board.irq[8].level == 0
    assert rd(board, 0) == 0x05


def test_update_ended_interrupt():
    board, rtc = make()
    wr(board, 0x0B, 0x12)                        # UIE
    board.clock.advance(seconds(board, 0.4))
    assert board.irq[8].level == 0
    board.clock.advance(seconds(board, 0.2))
    assert board.irq[8].level == 1
    assert rd(board, 0x0C) & 0x90 == 0x90
    board.clock.advance(seconds(board, 1))
    assert board.irq[8].rising_edges == 2


def test_set_bit_halts_updates_and_clears_uie():
    board, rtc = make()
    wr(board, 0x0B, 0x92)                        # SET with UIE: UIE is dropped
    assert rd(board, 0x0B) == 0x82
    board.clock.advance(seconds(board, 3))
    assert rd(board, 0) == 0x00
    assert not rd(board, 0x0A) & 0x80
    assert not rd(board, 0x0C) & 0x10
    wr(board, 0x0B, 0x02)
    board.clock.advance(seconds(board, 1))
    assert rd(board, 0) == 0x01


def test_divider_reset_stops_time_and_restart_delays_half_a_second():
    board, rtc = make()
    wr(board, 0x0A, 0x66)                        # divider held in reset
    board.clock.advance(seconds(board, 5))
    assert rd(board, 0) == 0x00 and not rd(board, 0x0A) & 0x80
    wr(board, 0x0A, 0x26)
    board.clock.advance(seconds(board, 0.45))
    assert rd(board, 0) == 0x00
    board.clock.advance(seconds(board, 0.1))
    assert rd(board, 0) == 0x01


def test_nvram_layout_and_checksum():
    board, rtc = make()
    rtc.set_config(base_kb=640, ext_kb=15360, floppies=(4, 2), hard_disks=(47, 2))
    assert rd(board, 0x10) == 0x42
    assert rd(board, 0x12) == 0xF2
    assert rd(board, 0x19) == 47 and rd(board, 0x1A) == 0
    assert rd(board, 0x14) == 0x41                # two drives, VGA, drives present
    assert (rd(board, 0x15), rd(board, 0x16)) == (0x80, 0x02)
    assert (rd(board, 0x17), rd(board, 0x18)) == (0x00, 0x3C)
    assert (rd(board, 0x30), rd(board, 0x31)) == (0x00, 0x3C)
    total = sum(rd(board, r) for r in range(0x10, 0x2E))
    assert rd(board, 0x2E) << 8 | rd(board, 0x2F) == total
    assert rd(board, 0x3D) == 0x21                # boot floppy, then hard disk
    rtc.set_config(boot_order="c")
    assert rd(board, 0x3D) == 0x02 and rd(board, 0x38) & 0xF0 == 0
    with pytest.raises(ConfigError):
        rtc.set_config(boot_order="x")
    rtc.set_config(floppies=(0, 0), equipment=0x02)
    assert rd(board, 0x14) == 0x02 and rd(board, 0x10) == 0
    total = sum(rd(board, r) for r in range(0x10, 0x2E))
    assert rd(board, 0x2E) << 8 | rd(board, 0x2F) == total


def test_index_bit7_masks_nmi_and_ram_is_plain():
    board, rtc = make()
    assert board.nmi_enabled
    board.io.outb(0x70, 0x80 | 0x40)
    assert not board.nmi_enabled
    board.io.outb(0x71, 0x5A)
    board.io.outb(0x70, 0x40)
    assert board.nmi_enabled and board.io.inb(0x71) == 0x5A
    wr(board, 0x0D, 0x00)                        # read-only
    assert rd(board, 0x0D) == 0x80


def test_nvram_persists_through_a_file(tmp_path):
    path = tmp_path / "cmos.bin"
    board, rtc = make(nvram_path=str(path))
    wr(board, 0x40, 0xA5)
    rtc.flush()
    assert path.stat().st_size == 128
    board2, rtc2 = make(nvram_path=str(path))
    assert rd(board2, 0x40) == 0xA5
    assert rd(board2, 0) == 0x00                 # the time comes from start_time
    path.write_bytes(b"\0" * 10)
    with pytest.raises(ImageError):
        make(nvram_path=str(path))


def test_state_round_trip_and_boards_share_nothing():
    board, rtc = make()
    board2, rtc2 = make()
    wr(board, 0x0B, 0x12)
    wr(board, 0x50, 0x77)
    board.clock.advance(seconds(board, 2))
    assert rd(board2, 0x50) == 0 and rd(board2, 0) == 0 and rd(board2, 0x0B) == 0x02
    board3, rtc3 = make()
    board3.clock.set_state(board.clock.get_state())
    rtc3.set_state(rtc.get_state())
    assert rtc3.get_state() == rtc.get_state()
    board.clock.advance(seconds(board, 1))
    board3.clock.advance(seconds(board3, 1))
    assert time_regs(board3) == time_regs(board)
    assert board3.irq[8].level == board.irq[8].level


def test_register_fuzz_never_raises():
    board, rtc = make()
    rng = random.Random(99)
    for _ in range(5000):
        r = rng.random()
        if r < 0.4:
            board.io.outb(0x70, rng.randrange(256))
        elif r < 0.7:
            board.io.outb(0x71, rng.randrange(256))
        elif r < 0.95:
            board.io.inb(0x71)
        else:
            board.clock.advance(rng.randrange(board.clock.rate // 4))
    for reg in range(128):
        assert 0 <= rd(board, reg) <= 0xFF
