"""VGA registers, display memory data path and timing, driven through ports,
board.mem and the clock only."""
import random

import numpy as np
import pytest

from pyvmm.board import Board
from pyvmm.devices.vga import VGA, VGA_MODES, program_mode
from pyvmm.errors import StateError

A0000 = 0xA0000


@pytest.fixture
def machine():
    board = Board()
    vga = board.attach(VGA())
    return board, vga


def gc(io, index, value):
    io.outw(0x3CE, value << 8 | index)


def seq(io, index, value):
    io.outw(0x3C4, value << 8 | index)


def planar(board):
    """Planar addressing at A0000h (64K), all planes enabled, write mode 0."""
    io = board.io
    seq(io, 2, 0x0F)
    seq(io, 4, 0x06)
    gc(io, 5, 0x00)
    gc(io, 6, 0x05)
    gc(io, 8, 0xFF)


def fill_planes(vga, offset, values):
    for p, v in enumerate(values):
        vga.mem.planes[p, offset] = v


def plane_bytes(vga, offset):
    return [int(vga.mem.planes[p, offset]) for p in range(4)]


def load_latches(board, vga, offset, values):
    fill_planes(vga, offset, values)
    board.mem.read8(A0000 + offset)
    assert vga.mem.latches == list(values)


# -- write modes ------------------------------------------------------------------------
def test_write_mode0_map_mask(machine):
    board, vga = machine
    planar(board)
    board.mem.write8(A0000 + 10, 0xA5)
    assert plane_bytes(vga, 10) == [0xA5] * 4
    seq(board.io, 2, 0x05)
    board.mem.write8(A0000 + 11, 0x3C)
    assert plane_bytes(vga, 11) == [0x3C, 0, 0x3C, 0]


def test_write_mode0_set_reset(machine):
    board, vga = machine
    planar(board)
    gc(board.io, 0, 0b0101)      # set/reset value
    gc(board.io, 1, 0b0011)      # enabled for planes 0 and 1
    board.mem.write8(A0000, 0x5A)
    assert plane_bytes(vga, 0) == [0xFF, 0x00, 0x5A, 0x5A]


def test_write_mode0_rotate_and_logical_ops(machine):
    board, vga = machine
    planar(board)
    gc(board.io, 3, 0x03)                          # rotate right 3, replace
    board.mem.write8(A0000, 0x81)
    assert plane_bytes(vga, 0) == [0x30] * 4
    for func, expect in ((1, lambda l, d: l & d), (2, lambda l, d: l | d), (3, lambda l, d: l ^ d)):
        latches = [0x0F, 0xF0, 0x55, 0xAA]
        load_latches(board, vga, 100, latches)
        gc(board.io, 3, func << 3)
        board.mem.write8(A0000 + 200, 0x3C)
        assert plane_bytes(vga, 200) == [expect(l, 0x3C) for l in latches]


def test_write_mode0_bit_mask_keeps_latched_bits(machine):
    board, vga = machine
    planar(board)
    latches = [0x12, 0x34, 0x56, 0x78]
    load_latches(board, vga, 5, latches)
    gc(board.io, 8, 0xF0)
    board.mem.write8(A0000 + 6, 0xFF)
    assert plane_bytes(vga, 6) == [0xF0 | (l & 0x0F) for l in latches]


def test_write_mode1_copies_latches(machine):
    board, vga = machine
    planar(board)
    load_latches(board, vga, 7, [1, 2, 3, 4])
    gc(board.io, 5, 0x01)
    gc(board.io, 8, 0x00)                          # bit mask does not apply in mode 1
    board.mem.write8(A0000 + 300, 0xEE)
    assert plane_bytes(vga, 300) == [1, 2, 3, 4]


def test_write_mode2_colour_with_bit_mask(machine):
    board, vga = machine
    planar(board)
    latches = [0x11, 0x22, 0x44, 0x88]
    load_latches(board, vga, 0, latches)
    gc(board.io, 5, 0x02)
    gc(board.io, 8, 0x0F)
    board.mem.write8(A0000 + 1, 0b1010)
    assert plane_bytes(vga, 1) == [0x10, 0x2F, 0x40, 0x8F]
    gc(board.io, 3, 3 << 3)                        # XOR with the latches
    board.mem.write8(A0000 + 2, 0b0011)
    assert plane_bytes(vga, 2) == [0x11 ^ 0x0F, 0x22 ^ 0x0F, 0x44, 0x88]


def test_write_mode3_rotated_data_ands_bit_mask(machine):
    board, vga = machine
    planar(board)
    latches = [0xFF, 0x00, 0xF0, 0x0F]
    load_latches(board, vga, 0, latches)
    gc(board.io, 5, 0x03)
    gc(board.io, 0, 0b0110)                        # set/reset colour
    gc(board.io, 8, 0xF0)
    gc(board.io, 3, 0x04)                          # rotate right 4: 3Ch -> C3h
    board.mem.write8(A0000 + 1, 0x3C)
    mask = 0xC3 & 0xF0
    assert plane_bytes(vga, 1) == [(sr & mask) | (l & ~mask & 0xFF)
                                   for sr, l in zip((0, 0xFF, 0xFF, 0), latches)]


# -- read modes -------------------------------------------------------------------------
def test_read_mode0_read_map_select(machine):
    board, vga = machine
    planar(board)
    fill_planes(vga, 42, [0x10, 0x20, 0x30, 0x40])
    for p in range(4):
        gc(board.io, 4, p)
        assert board.mem.read8(A0000 + 42) == 0x10 * (p + 1)
    assert vga.mem.latches == [0x10, 0x20, 0x30, 0x40]


def test_read_mode1_colour_compare(machine):
    board, vga = machine
    planar(board)
    # pixels (bit 7 .. 0) with colours 0..7 spread over the planes
    colours = [0, 1, 2, 3, 4, 5, 6, 7]
    planes = [sum(((c >> p) & 1) << (7 - i) for i, c in enumerate(colours)) for p in range(4)]
    fill_planes(vga, 9, planes)
    gc(board.io, 5, 0x08)
    gc(board.io, 2, 5)
    gc(board.io, 7, 0x0F)
    assert board.mem.read8(A0000 + 9) == 0b00000100            # only colour 5
    gc(board.io, 7, 0x01)                                      # compare plane 0 only
    assert board.mem.read8(A0000 + 9) == 0b01010101            # odd colours
    gc(board.io, 7, 0x00)
    assert board.mem.read8(A0000 + 9) == 0xFF


# -- addressing ---------------------------------------------------------------------------
def test_chain4_addressing(machine):
    board, vga = machine
    program_mode(board.io, 0x13)
    for i in range(8):
        board.mem.write8(A0000 + 0x100 + i, 0x50 + i)
    for i in range(8):
        assert vga.mem.planes[i & 3, 0x100 + (i & ~3)] == 0x50 + i
        assert board.mem.read8(A0000 + 0x100 + i) == 0x50 + i
    assert vga.mem.planes[0, 0x101] == 0                        # every fourth byte used


def test_odd_even_addressing(machine):
    board, vga = machine
    program_mode(board.io, 0x03)
    board.mem.write(0xB8000, b"H\x1fi\x2e")
    assert vga.mem.planes[0, 0] == ord("H") and vga.mem.planes[1, 0] == 0x1F
    assert vga.mem.planes[0, 2] == ord("i") and vga.mem.planes[1, 2] == 0x2E
    assert vga.mem.planes[2, 0] == 0                             # font plane untouched
    assert board.mem.read(0xB8000, 4) == b"H\x1fi\x2e"


def test_memory_map_select_windows(machine):
    board, vga = machine
    planar(board)
    for select, live, dead in ((0, (0xA0000, 0xB0000, 0xB8000), ()),
                               (1, (0xA0000, 0xAFFFF), (0xB0000, 0xB8000)),
                               (2, (0xB0000, 0xB7FFF), (0xA0000, 0xB8000)),
                               (3, (0xB8000, 0xBFFFF), (0xA0000, 0xB0000, 0xB7FFF))):
        gc(board.io, 6, select << 2 | 1)
        for addr in dead:
            before = vga.mem.planes.copy()
            board.mem.write8(addr, 0x77)
            assert (vga.mem.planes == before).all()
            assert board.mem.read8(addr) == 0xFF
        for addr in live:
            board.mem.write8(addr, 0x66)
            assert board.mem.read8(addr) == 0x66


# -- register files ----------------------------------------------------------------------
def test_attribute_flip_flop(machine):
    board, vga = machine
    io = board.io
    io.outb(0x3C2, 0x01)                     # colour addressing: status 1 at 3DAh
    io.inb(0x3DA)
    io.outb(0x3C0, 0x01)
    io.outb(0x3C0, 0x15)
    assert vga.atc[1] == 0x15
    io.outb(0x3C0, 0x02)                     # an index write ...
    io.inb(0x3DA)                            # ... then the flip-flop is reset
    io.outb(0x3C0, 0x03)                     # so this is an index again
    io.outb(0x3C0, 0x2A)
    assert vga.atc[2] == 0 and vga.atc[3] == 0x2A
    assert io.inb(0x3C0) == 0x03
    io.inb(0x3DA)
    io.outb(0x3C0, 0x23)
    assert io.inb(0x3C1) == 0x2A and io.inb(0x3C0) == 0x23
    # the flip-flop now expects data; 3BAh does not reset it under colour addressing
    io.inb(0x3BA)
    io.outb(0x3C0, 0x2B)
    io.outb(0x3C0, 0x24)
    assert vga.atc[3] == 0x2B and io.inb(0x3C0) == 0x24


def test_dac_auto_increment(machine):
    board, vga = machine
    io = board.io
    io.outb(0x3C8, 0xFE)
    for v in (1, 2, 3, 4, 5, 6, 7, 8, 9):
        io.outb(0x3C9, v | 0xC0)             # only six bits are kept
    assert vga.dac[0xFE * 3:] == bytes([1, 2, 3, 4, 5, 6])
    assert vga.dac[:3] == bytes([7, 8, 9])   # the index wrapped to 0
    assert io.inb(0x3C8) == 0x01
    assert io.inb(0x3C7) & 3 == 0
    io.outb(0x3C7, 0xFF)
    assert io.inb(0x3C7) & 3 == 3
    assert [io.inb(0x3C9) for _ in range(6)] == [4, 5, 6, 7, 8, 9]
    # a write index change restarts the triplet
    io.outb(0x3C8, 0x10)
    io.outb(0x3C9, 0x3F)
    io.outb(0x3C8, 0x11)
    io.outb(0x3C9, 1)
    io.outb(0x3C9, 2)
    io.outb(0x3C9, 3)
    assert vga.dac[0x10 * 3:0x12 * 3] == bytes([0, 0, 0, 1, 2, 3])


def test_pel_mask_and_misc(machine):
    board, vga = machine
    io = board.io
    assert io.inb(0x3C6) == 0xFF
    io.outb(0x3C6, 0x0F)
    assert io.inb(0x3C6) == 0x0F
    io.outb(0x3C2, 0xE3)
    assert io.inb(0x3CC) == 0xE3
    assert io.inb(0x3C2) & 0x10                # input status 0 switch sense


def test_crtc_address_select(machine):
    board, vga = machine
    io = board.io
    io.outb(0x3C2, 0x00)                       # mono addressing
    io.outw(0x3B4, 0x340C)
    assert vga.crtc[0x0C] == 0x34
    io.outw(0x3D4, 0x560C)
    assert vga.crtc[0x0C] == 0x34 and io.inb(0x3D5) == 0xFF
    io.outb(0x3C2, 0x01)
    io.outw(0x3D4, 0x560C)
    assert io.inb(0x3D5) == 0x56 and io.inb(0x3B5) == 0xFF


def test_crtc_protect(machine):
    board, vga = machine
    io = board.io
    io.outb(0x3C2, 0x01)
    io.outw(0x3D4, 0x5F00)
    io.outw(0x3D4, 0x0007)
    io.outw(0x3D4, 0x8011)                     # protect CR0-7
    io.outw(0x3D4, 0x1200)
    io.outw(0x3D4, 0xFF07)
    assert vga.crtc[0] == 0x5F
    assert vga.crtc[7] == 0x10                 # only the line compare bit got through
    io.outw(0x3D4, 0x1209)                     # CR8 and above are not protected
    assert vga.crtc[9] == 0x12
    io.outw(0x3D4, 0x0011)
    io.outw(0x3D4, 0x1200)
    assert vga.crtc[0] == 0x12


def test_index_data_word_writes(machine):
    board, vga = machine
    io = board.io
    io.outb(0x3C2, 0x01)
    io.outw(0x3C4, 0x0A02)
    io.outw(0x3CE, 0x5508)
    io.outw(0x3D4, 0x7713)
    assert vga.seq[2] == 0x0A and vga.mem.map_mask == 0x0A
    assert vga.gc[8] == 0x55 and vga.mem.bit_mask == 0x55
    assert vga.crtc[0x13] == 0x77
    assert io.inb(0x3C4) == 2 and io.inb(0x3C5) == 0x0A
    assert io.inb(0x3CE) == 8 and io.inb(0x3CF) == 0x55


def test_registers_keep_only_implemented_bits(machine):
    board, vga = machine
    io = board.io
    io.outw(0x3C4, 0xFF04)
    assert io.inb(0x3C5) == 0x0E
    io.outw(0x3CE, 0xFF05)
    assert io.inb(0x3CF) == 0x7B
    io.inb(0x3DA)
    io.outb(0x3C0, 0x00)
    io.outb(0x3C0, 0xFF)
    assert vga.atc[0] == 0x3F


# -- timing -------------------------------------------------------------------------------
def retrace_starts(board, status_port, frames, step):
    starts = []
    prev = board.io.inb(status_port) & 0x08
    end = board.clock.now + int(frames)
    while board.clock.now < end:
        board.clock.advance(step)
        cur = board.io.inb(status_port) & 0x08
        if cur and not prev:
            starts.append(board.clock.now)
        prev = cur
    return starts


@pytest.mark.parametrize("mode,hz", [(0x03, 28322000 / (900 * 449)),    # 70.1 Hz
                                     (0x12, 25175000 / (800 * 525)),    # 59.9 Hz
                                     (0x13, 25175000 / (800 * 449))])   # 70.1 Hz
def test_vertical_retrace_rate(machine, mode, hz):
    board, vga = machine
    program_mode(board.io, mode)
    rate = board.clock.rate
    frame = rate / hz
    starts = retrace_starts(board, 0x3DA, 3.5 * frame, 50)
    assert len(starts) == 3
    for a, b in zip(starts, starts[1:]):
        assert abs((b - a) - frame) <= 50
    assert abs(rate / ((starts[-1] - starts[0]) / 2) - hz) < 0.1
    assert 59.5 < hz < 60.5 or 69.5 < hz < 70.5
    # retrace lasts CR11 bits 0-3 minus CR10 lines
    line = frame / vga.timing()[2]
    board.clock.now = starts[-1]
    lines = 0
    while board.io.inb(0x3DA) & 0x08:
        board.clock.advance(int(line))
        lines += 1
    crtc = VGA_MODES[mode][2]
    assert abs(lines - ((crtc[0x11] - crtc[0x10]) & 15)) <= 1


def test_horizontal_blanking_and_display_enable(machine):
    board, vga = machine
    program_mode(board.io, 0x12)
    dot_hz, line_dots, vtotal = vga.timing()
    rate = board.clock.rate
    samples = []
    for dot in range(0, line_dots, 8):
        board.clock.now = (10 * line_dots + dot) * rate // dot_hz + 1
        samples.append(board.io.inb(0x3DA) & 0x09)
    visible = sum(1 for s in samples if s == 0)
    assert visible == 80                     # 640 of the 800 dots of a line are displayed
    assert all(s & 0x08 == 0 for s in samples)
    board.clock.now = 485 * line_dots * rate // dot_hz + 1
    assert board.io.inb(0x3DA) & 0x01        # vertical blanking


def test_vertical_interrupt_status(machine):
    board, vga = machine
    program_mode(board.io, 0x12)
    io = board.io
    io.outw(0x3D4, 0x0C11)                   # protect off, clear held (bit 4 = 0)
    io.outw(0x3D4, 0x1C11)                   # bit 4 = 1: let the next retrace set it
    assert not io.inb(0x3C2) & 0x80
    retrace_starts(board, 0x3DA, board.clock.rate / 59, 100)
    assert io.inb(0x3C2) & 0x80
    io.outw(0x3D4, 0x0C11)
    assert not io.inb(0x3C2) & 0x80


# -- text view, state, dirty tracking ----------------------------------------------------
def test_text_cells_match_memory(machine):
    board, vga = machine
    program_mode(board.io, 0x03)
    rng = np.random.default_rng(1)
    chars = rng.integers(0, 256, (25, 80), dtype=np.uint8)
    attrs = rng.integers(0, 256, (25, 80), dtype=np.uint8)
    cells = np.stack([chars, attrs], axis=2).reshape(-1)
    board.mem.write(0xB8000, cells.tobytes())
    board.io.outw(0x3D4, 0x070E)
    board.io.outw(0x3D4, 0xD00F)             # 07D0h = 2000: row 25, below the screen
    got_chars, got_attrs, cursor = vga.text_cells()
    assert vga.text_size() == (80, 25)
    assert (got_chars == chars).all() and (got_attrs == attrs).all()
    assert cursor == (0x7D0 // 80, 0x7D0 % 80, False, 13, 14)   # off screen
    board.io.outw(0x3D4, 0x010E)
    board.io.outw(0x3D4, 0x0F0F)             # 010Fh = 271 = row 3, column 31
    assert vga.text_cells()[2] == (3, 31, True, 13, 14)
    board.io.outw(0x3D4, 0x000C)
    board.io.outw(0x3D4, 0x500D)             # start one row on
    got_chars, _, cursor = vga.text_cells()
    assert (got_chars[:24] == chars[1:]).all() and cursor[:2] == (2, 31)


def test_state_round_trip(machine):
    board, vga = machine
    program_mode(board.io, 0x12)
    rng = random.Random(3)
    for _ in range(500):
        board.mem.write8(A0000 + rng.randrange(0x10000), rng.randrange(256))
    board.io.outb(0x3C8, 5)
    board.io.outb(0x3C9, 9)                  # half a DAC triplet pending
    board.mem.read8(A0000 + 77)
    frame = vga.render().copy()
    state = vga.get_state()
    other_board = Board()
    other = other_board.attach(VGA())
    other.set_state(state)
    assert other.get_state() == state
    assert (other.render() == frame).all()
    other_board.io.outb(0x3C9, 10)
    other_board.io.outb(0x3C9, 11)
    assert other.dac[15:18] == bytes([9, 10, 11])
    with pytest.raises(StateError):
        other.set_state({**state, "version": 99})
    with pytest.raises(StateError):
        other.set_state({**state, "planes": b"short"})


def test_two_vgas_share_nothing():
    boards = [Board(), Board()]
    vgas = [b.attach(VGA()) for b in boards]
    program_mode(boards[0].io, 0x13)
    boards[0].mem.write8(A0000, 0x42)
    assert vgas[1].mem.planes.max() == 0 and vgas[1].seq[4] == 0x02


def test_render_is_cached_until_something_changes(machine):
    board, vga = machine
    program_mode(board.io, 0x12)
    first = vga.render()
    assert vga.render() is first
    board.mem.write8(A0000, 0xFF)
    second = vga.render()
    assert second is not first and vga.render() is second
    board.io.outb(0x3C8, 0)
    for v in (63, 0, 0):
        board.io.outb(0x3C9, v)
    assert vga.render() is not second
    board.mem.read8(A0000 + 5)               # reads change nothing on screen
    third = vga.render()
    assert vga.render() is third


def test_blanking(machine):
    board, vga = machine
    program_mode(board.io, 0x12)
    board.io.outb(0x3C8, 0)
    for v in (0x3F, 0x3F, 0x3F):
        board.io.outb(0x3C9, v)
    board.io.outb(0x3C8, 1)
    for v in (0x3F, 0, 0):
        board.io.outb(0x3C9, v)
    assert vga.render().any()
    board.io.outw(0x3C4, 0x2101)             # screen off
    assert not vga.render().any()
    board.io.outw(0x3C4, 0x0101)
    board.io.inb(0x3DA)
    board.io.outb(0x3C0, 0x11)               # palette address source clear: overscan colour
    board.io.outb(0x3C0, 0x01)
    frame = vga.render()
    assert (frame == (255, 0, 0)).all()
    board.io.outb(0x3C0, 0x20)
    assert (vga.render() == 255).all()


# -- fuzz ------------------------------------------------------------------------------------
PORTS = [0x3B4, 0x3B5, 0x3BA, 0x3D4, 0x3D5, 0x3DA] + list(range(0x3C0, 0x3D0))


def test_register_fuzz_never_raises(machine):
    board, vga = machine
    rng = random.Random(12345)
    io = board.io
    for round_ in range(40):
        for _ in range(200):
            kind = rng.random()
            port = rng.choice(PORTS)
            if kind < 0.45:
                io.outb(port, rng.randrange(256))
            elif kind < 0.6:
                io.outw(port, rng.randrange(0x10000))
            elif kind < 0.75:
                assert 0 <= io.inb(port) <= 0xFF
            elif kind < 0.9:
                board.mem.write8(A0000 + rng.randrange(0x20000), rng.randrange(256))
            else:
                assert 0 <= board.mem.read8(A0000 + rng.randrange(0x20000)) <= 0xFF
        board.clock.advance(rng.randrange(1, 200000))
        frame = vga.render()
        assert frame.ndim == 3 and frame.shape[2] == 3
        vga.text_cells()
        vga.text_size()
        state = vga.get_state()
        vga.set_state(state)
        assert vga.get_state() == state


def test_write_block_matches_byte_writes(machine):
    board, vga = machine
    program_mode(board.io, 0x12)
    gc(board.io, 3, 0x18)                    # XOR with latches, so the path matters
    data = bytes(range(256)) * 4
    board.mem.read8(A0000 + 0x2000)
    vga.mem.write_block(A0000 + 0x100, data)
    via_block = vga.mem.planes.copy()
    vga.mem.planes[:] = 0
    board.mem.read8(A0000 + 0x2000)
    for i, b in enumerate(data):
        board.mem.write8(A0000 + 0x100 + i, b)
    assert (vga.mem.planes == via_block).all()
