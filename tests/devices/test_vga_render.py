"""Golden-image tests of the VGA renderer.

Every screen is built the way a BIOS and a program would: the mode is set by port
writes from our own register tables (pyvmm.devices.vga.VGA_MODES), the DAC and the
font are loaded through the ports, the picture is written through the memory window,
and tweaks (split screen, panning, mode X) are register writes.  The rendered frame
must equal tests/devices/golden/<name>.png; run with PYVMM_REGEN_GOLDEN=1 to rewrite
the PNGs after an intended change (and look at them before committing).
"""
import os
import struct
import zlib

import numpy as np
import pytest

from pyvmm.board import Board
from pyvmm.devices.vga import VGA, program_mode
from pyvmm.png import decode_png, encode_png, read_png, write_png

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")

# 3x5 hex digits drawn for these tests (rows top to bottom, bit 2 = left column)
HEX_DIGITS = [
    (7, 5, 5, 5, 7), (2, 6, 2, 2, 7), (7, 1, 7, 4, 7), (7, 1, 3, 1, 7),
    (5, 5, 7, 1, 1), (7, 4, 7, 1, 7), (7, 4, 7, 5, 7), (7, 1, 1, 2, 2),
    (7, 5, 7, 5, 7), (7, 5, 7, 1, 7), (2, 5, 7, 5, 5), (6, 5, 6, 5, 6),
    (3, 4, 4, 4, 3), (6, 5, 5, 5, 6), (7, 4, 6, 4, 7), (7, 4, 6, 4, 4),
]


def hex_font(height):
    """A synthetic font: each glyph shows its code as two hex digits; box-drawing
    codes C0-DF also get a full-width bar (so the 9th-dot rule is visible), DBh is a
    solid block and 00h/20h are blank."""
    scale = 2 if height >= 14 else 1
    top = (height - 5 * scale) // 2
    font = np.zeros((256, height), dtype=np.uint8)
    for code in range(256):
        if code in (0x00, 0x20):
            continue
        if code == 0xDB:
            font[code, :] = 0xFF
            continue
        for r in range(5):
            bits = HEX_DIGITS[code >> 4][r] << 5 | HEX_DIGITS[code & 15][r] << 1
            for s in range(scale):
                font[code, top + r * scale + s] = bits
        if 0xC0 <= code <= 0xDF:
            font[code, height - 2] = 0xFF
    return font


def load_font(io, mem, font, select=0):
    """Load ``font`` into character map ``select`` of plane 2 as a BIOS does:
    sequential plane-2 access at A0000h, then back to text-mode odd/even."""
    base = (select & 3) * 0x4000 + (select >> 2) * 0x2000
    io.outw(0x3C4, 0x0100)
    io.outw(0x3C4, 0x0402)          # map mask: plane 2
    io.outw(0x3C4, 0x0704)          # sequential, extended memory
    io.outw(0x3C4, 0x0300)
    io.outw(0x3CE, 0x0204)          # read map 2
    io.outw(0x3CE, 0x0005)          # write mode 0, no odd/even
    io.outw(0x3CE, 0x0406)          # A0000h 64K, graphics addressing
    height = font.shape[1]
    for code in range(256):
        slot = np.zeros(32, dtype=np.uint8)
        slot[:height] = font[code]
        mem.write(0xA0000 + base + code * 32, slot.tobytes())
    io.outw(0x3C4, 0x0100)
    io.outw(0x3C4, 0x0302)
    io.outw(0x3C4, 0x0204)
    io.outw(0x3C4, 0x0300)
    io.outw(0x3CE, 0x0004)
    io.outw(0x3CE, 0x1005)
    io.outw(0x3CE, 0x0E06)


def load_dac(io, entries, first=0):
    io.outb(0x3C8, first)
    for r, g, b in entries:
        io.outb(0x3C9, r)
        io.outb(0x3C9, g)
        io.outb(0x3C9, b)


def ega_dac():
    """64 entries: bits 0-2 are blue/green/red at 2/3, bits 3-5 add 1/3."""
    return [(0x2A * (i >> 2 & 1) + 0x15 * (i >> 5 & 1), 0x2A * (i >> 1 & 1) + 0x15 * (i >> 4 & 1),
             0x2A * (i & 1) + 0x15 * (i >> 3 & 1)) for i in range(64)]


def cga_dac():
    """64 entries for the 200-line modes: bit 4 is intensity, colour 6 is brown."""
    out = []
    for i in range(64):
        hi = 0x15 * (i >> 4 & 1)
        g = 0x2A * (i >> 1 & 1)
        if i & 0x17 == 6:
            g = 0x15
        out.append((0x2A * (i >> 2 & 1) + hi, g + hi, 0x2A * (i & 1) + hi))
    return out


def ramp_dac():
    return [((i * 63) // 255, (i * 4 & 0xFF) >> 2, 63 - (i * 63) // 255) for i in range(256)]


def set_crtc(io, index, value):
    io.outw(0x3D4, value << 8 | index)


def set_atc(io, index, value):
    io.inb(0x3DA)
    io.outb(0x3C0, index)
    io.outb(0x3C0, value)
    io.outb(0x3C0, 0x20)


def check_golden(name, frame):
    path = os.path.join(GOLDEN, name + ".png")
    if os.environ.get("PYVMM_REGEN_GOLDEN") == "1":
        os.makedirs(GOLDEN, exist_ok=True)
        write_png(path, frame)
        return
    assert os.path.exists(path), f"missing golden {path}: run with PYVMM_REGEN_GOLDEN=1"
    expected = read_png(path)
    assert expected.shape == frame.shape
    diff = np.argwhere(np.any(expected != frame, axis=2))
    assert diff.size == 0, f"{name}: {len(diff)} pixels differ, first at (y, x) {tuple(diff[0])}"


@pytest.fixture
def machine():
    board = Board()
    vga = board.attach(VGA())
    return board, vga


# -- text modes ---------------------------------------------------------------------------
def text_screen(board, cols, rows):
    """All 256 codes in order, with foreground/background bands and a few blinkers."""
    n = cols * rows
    cells = np.zeros(n * 2, dtype=np.uint8)
    idx = np.arange(n)
    cells[0::2] = idx & 0xFF
    attrs = ((idx // cols) % 8) << 4 | (15 - idx % 16)
    attrs[(idx // cols) == 1] = 0x07
    attrs[(idx % 29) == 0] |= 0x80
    cells[1::2] = attrs
    board.mem.write(0xB8000, cells.tobytes())


def set_text_mode(board, mode, font_height, rows=None):
    io = board.io
    program_mode(io, mode)
    load_dac(io, ega_dac())
    load_font(io, board.mem, hex_font(font_height))
    if font_height != 16:
        lines = 400 // font_height * font_height
        set_crtc(io, 0x09, 0x40 | (font_height - 1))
        set_crtc(io, 0x12, (lines - 1) & 0xFF)
        set_crtc(io, 0x0A, font_height - 2)
        set_crtc(io, 0x0B, font_height - 1)


@pytest.mark.parametrize("name,mode,height,cols,rows", [
    ("text80x25_8x16", 0x03, 16, 80, 25),
    ("text40x25_8x16", 0x01, 16, 40, 25),
    ("text80x28_8x14", 0x03, 14, 80, 28),
    ("text80x50_8x8", 0x03, 8, 80, 50),
])
def test_text_modes(machine, name, mode, height, cols, rows):
    board, vga = machine
    set_text_mode(board, mode, height)
    assert vga.text_size() == (cols, rows)
    text_screen(board, cols, rows)
    set_crtc(board.io, 0x0E, 0x00)
    set_crtc(board.io, 0x0F, 2 * cols + 5)       # cursor at row 2, column 5
    frame = vga.render()
    assert frame.shape == (rows * height, 720, 3)
    check_golden(name, frame)


def test_text_8dot_without_line_graphics(machine):
    board, vga = machine
    set_text_mode(board, 0x03, 16)
    text_screen(board, 80, 25)
    board.io.outw(0x3C4, 0x0100)
    board.io.outw(0x3C4, 0x0101)                 # 8-dot characters
    board.io.outw(0x3C4, 0x0300)
    board.io.outb(0x3C2, 0x63)                   # 25.175 MHz for 640 dots
    frame = vga.render()
    assert frame.shape == (400, 640, 3)
    check_golden("text80x25_8dot", frame)


def test_nine_dot_rule(machine):
    board, vga = machine
    set_text_mode(board, 0x03, 16)
    board.mem.write(0xB8000, bytes([0xC4, 0x07, 0xB4, 0x07, 0xDB, 0x07]))
    set_crtc(board.io, 0x0A, 0x20)               # no cursor over the cells
    frame = vga.render()
    bar = 14                                      # the row hex_font fills for C0-DF
    white = frame[bar, 0]
    assert (frame[bar, 0:9] == white).all()       # C4h: the 9th dot repeats the 8th
    assert (frame[bar, 17] == 0).all()           # B4h: not in C0-DF, 9th dot is background
    assert (frame[0, 18:27] == white).all()       # DBh is in C0-DF: solid over 9 dots
    # with line graphics disabled the 9th dot of C4h is background
    set_atc(board.io, 0x10, 0x08)
    frame = vga.render()
    assert (frame[bar, 8] == 0).all() and (frame[bar, 7] == white).all()


def test_512_characters(machine):
    board, vga = machine
    set_text_mode(board, 0x03, 16)
    inverted = 0xFF - hex_font(16)
    load_font(board.io, board.mem, inverted, select=1)
    board.io.outw(0x3C4, 0x0403)                 # map A (attr bit 3 = 1) = font 1
    set_atc(board.io, 0x12, 0x07)                # bit 3 picks the font, not intensity
    text_screen(board, 80, 25)
    check_golden("text80x25_512chars", vga.render())


def test_text_smooth_scroll(machine):
    board, vga = machine
    set_text_mode(board, 0x03, 16)
    text_screen(board, 80, 25)
    set_crtc(board.io, 0x0C, 0x00)
    set_crtc(board.io, 0x0D, 81)                 # one row and one column down the page
    set_crtc(board.io, 0x08, 0x05)               # preset row scan: 5 lines up
    set_atc(board.io, 0x13, 0x03)                # 4 dots left in 9-dot mode
    check_golden("text80x25_panned", vga.render())


def test_cursor_shape_and_blink(machine):
    board, vga = machine
    set_text_mode(board, 0x03, 16)
    board.mem.write(0xB8000, bytes([0x20, 0x1E] * 80))
    set_crtc(board.io, 0x0E, 0)
    set_crtc(board.io, 0x0F, 3)
    set_crtc(board.io, 0x0A, 4)
    set_crtc(board.io, 0x0B, 9)
    frame = vga.render()
    yellow = vga.dac_rgb()[0x3E]
    cell = frame[0:16, 27:36]
    assert (cell[4:10] == yellow).all()
    assert not (cell[0:4] == yellow).all(axis=2).any()
    assert not (cell[10:16] == yellow).all(axis=2).any()
    # the cursor is off for frames 8-15 of every 16
    frame_cycles = board.clock.rate * 900 * 449 // 28322000 + 1
    board.clock.advance(frame_cycles * 8)
    assert not (vga.render()[0:16, 27:36] == yellow).all(axis=2).any()
    board.clock.advance(frame_cycles * 8)
    assert (vga.render()[4:10, 27:36] == yellow).all()
    # CR0A bit 5 hides it
    set_crtc(board.io, 0x0A, 0x24)
    assert not (vga.render()[0:16, 27:36] == yellow).all(axis=2).any()


def test_attribute_blink_rate(machine):
    board, vga = machine
    set_text_mode(board, 0x03, 16)
    board.mem.write(0xB8000, bytes([0xDB, 0x8F, 0xDB, 0x0F]))
    set_crtc(board.io, 0x0A, 0x20)
    rate = board.clock.rate
    dots_per_frame = 900 * 449

    def at_frame(n):
        # the middle of frame n
        board.clock.now = (n * dots_per_frame + dots_per_frame // 2) * rate // 28322000
        f = vga.render()
        return bool(f[8, 4].any()), bool(f[8, 13].any())

    assert at_frame(0) == (True, True)
    assert at_frame(15) == (True, True)
    assert at_frame(16) == (False, True)      # blinking cell shows its background
    assert at_frame(31) == (False, True)
    assert at_frame(32) == (True, True)
    set_atc(board.io, 0x10, 0x04)             # intensity instead of blink
    assert at_frame(16) == (True, True)


# -- graphics modes -------------------------------------------------------------------------
def write_planes(board, planes, base=0xA0000):
    """Write planar data plane by plane through the map mask (write mode 0)."""
    io = board.io
    for p, data in enumerate(planes):
        io.outw(0x3C4, (1 << p) << 8 | 0x02)
        board.mem.write(base, np.ascontiguousarray(data, dtype=np.uint8).tobytes())
    io.outw(0x3C4, 0x0F02)


def pack_planar(pixels):
    """(h, w) 4-bit pixels -> four (h*w/8) plane byte arrays."""
    h, w = pixels.shape
    planes = []
    for p in range(4):
        bits = (pixels >> p) & 1
        planes.append(np.packbits(bits.reshape(h, w // 8, 8), axis=2).reshape(-1))
    return planes


def test_pattern(h, w, colours):
    y, x = np.mgrid[0:h, 0:w]
    bars = (x * colours // w) % colours
    checker = ((x // 8 + y // 8) % colours)
    pix = np.where(y < h // 2, bars, checker)
    # a diagonal and a frame, to see geometry
    pix[np.abs(x * h - y * w) < w] = colours - 1
    pix[0, :] = pix[-1, :] = pix[:, 0] = pix[:, -1] = colours - 1
    return pix.astype(np.uint8)


test_pattern.__test__ = False


@pytest.mark.parametrize("name,mode,w,h,dac", [
    ("mode0D_320x200x16", 0x0D, 320, 200, "cga"),
    ("mode0E_640x200x16", 0x0E, 640, 200, "cga"),
    ("mode10_640x350x16", 0x10, 640, 350, "ega"),
    ("mode12_640x480x16", 0x12, 640, 480, "ega"),
])
def test_planar_16_colour_modes(machine, name, mode, w, h, dac):
    board, vga = machine
    program_mode(board.io, mode)
    load_dac(board.io, cga_dac() if dac == "cga" else ega_dac())
    write_planes(board, pack_planar(test_pattern(h, w, 16)))
    frame = vga.render()
    assert vga.is_text_mode() is False and vga.text_size() is None
    check_golden(name, frame)


def test_mode11_640x480x2(machine):
    board, vga = machine
    program_mode(board.io, 0x11)
    load_dac(board.io, ega_dac())
    pix = test_pattern(480, 640, 2)
    board.mem.write(0xA0000, np.packbits(pix.reshape(480, 80, 8), axis=2).tobytes())
    frame = vga.render()
    assert frame.shape == (480, 640, 3)
    check_golden("mode11_640x480x2", frame)


def test_mode06_640x200x2(machine):
    board, vga = machine
    program_mode(board.io, 0x06)
    load_dac(board.io, cga_dac())
    pix = test_pattern(200, 640, 2)
    rows = np.packbits(pix.reshape(200, 80, 8), axis=2).reshape(200, 80)
    # CGA interleave: even lines in the first 8K, odd lines in the second
    board.mem.write(0xB8000, rows[0::2].tobytes())
    board.mem.write(0xBA000, rows[1::2].tobytes())
    frame = vga.render()
    assert frame.shape == (400, 640, 3)
    assert (frame[0::2] == frame[1::2]).all()    # double scanned
    check_golden("mode06_640x200x2", frame)


def test_mode04_320x200x4(machine):
    board, vga = machine
    program_mode(board.io, 0x04)
    load_dac(board.io, cga_dac())
    pix = test_pattern(200, 320, 4)
    q = pix.reshape(200, 80, 4)
    rows = (q[:, :, 0] << 6 | q[:, :, 1] << 4 | q[:, :, 2] << 2 | q[:, :, 3]).astype(np.uint8)
    board.mem.write(0xB8000, rows[0::2].tobytes())
    board.mem.write(0xBA000, rows[1::2].tobytes())
    frame = vga.render()
    assert frame.shape == (400, 640, 3)
    assert (frame[:, 0::2] == frame[:, 1::2]).all()
    check_golden("mode04_320x200x4", frame)


def mode13_picture():
    y, x = np.mgrid[0:200, 0:320]
    pix = ((x + 2 * y) & 0xFF).astype(np.uint8)
    pix[90:110, 140:180] = 0xFF
    return pix


def test_mode13_320x200x256(machine):
    board, vga = machine
    program_mode(board.io, 0x13)
    load_dac(board.io, ramp_dac())
    board.mem.write(0xA0000, mode13_picture().tobytes())
    frame = vga.render()
    assert frame.shape == (400, 640, 3)
    check_golden("mode13_320x200x256", frame)
    # every pixel is two dots wide and two lines high
    assert (frame[0::2] == frame[1::2]).all() and (frame[:, 0::2] == frame[:, 1::2]).all()
    rgb = vga.dac_rgb()
    assert (frame[2 * 7, 2 * 11] == rgb[(11 + 14) & 0xFF]).all()


def test_palette_animation(machine):
    board, vga = machine
    program_mode(board.io, 0x13)
    load_dac(board.io, ramp_dac())
    board.mem.write(0xA0000, mode13_picture().tobytes())
    before = vga.render().copy()
    load_dac(board.io, [(63, 0, 0)], first=0xFF)  # only entry FFh changes
    after = vga.render()
    changed = np.any(before != after, axis=2)
    assert changed[180:220, 280:360].all()
    expected = np.repeat(np.repeat(mode13_picture() == 0xFF, 2, axis=0), 2, axis=1)
    assert (changed == expected).all()
    assert (after[200, 320] == (255, 0, 0)).all()


def set_mode_x(io):
    """320x240 unchained from mode 13h: planar memory, byte mode, 480-line timing."""
    program_mode(io, 0x13)
    io.outw(0x3C4, 0x0604)                        # chain-4 off
    io.outw(0x3D4, 0x0014)                        # doubleword mode off
    io.outw(0x3D4, 0xE317)                        # byte mode
    io.outw(0x3C4, 0x0100)
    io.outb(0x3C2, 0xE3)
    io.outw(0x3C4, 0x0300)
    io.outw(0x3D4, 0x2C11)                        # unprotect CR0-7
    for index, value in ((0x06, 0x0D), (0x07, 0x3E), (0x09, 0x41), (0x10, 0xEA),
                         (0x11, 0xAC), (0x12, 0xDF), (0x15, 0xE7), (0x16, 0x06)):
        io.outw(0x3D4, value << 8 | index)


def test_mode_x_320x240(machine):
    board, vga = machine
    set_mode_x(board.io)
    load_dac(board.io, ramp_dac())
    y, x = np.mgrid[0:240, 0:320]
    pix = ((x ^ y) & 0xFF).astype(np.uint8)
    pix[0, :] = pix[-1, :] = pix[:, 0] = pix[:, -1] = 0xFF
    # pixel x lives in plane x & 3 at byte y*80 + x//4
    write_planes(board, [pix[:, p::4].reshape(-1) for p in range(4)])
    # a second page at 19200 (= 320*240/4) that is not displayed
    board.io.outw(0x3C4, 0x0F02)
    board.mem.write(0xA0000 + 19200, bytes([0x55]) * 100)
    frame = vga.render()
    assert frame.shape == (480, 640, 3)
    check_golden("modeX_320x240", frame)
    # page flip by start address
    board.io.outw(0x3D4, 0x4B0C)
    board.io.outw(0x3D4, 0x000D)                 # start = 19200 = 4B00h
    assert (vga.render()[0, :8] == vga.dac_rgb()[0x55]).all()


def test_split_screen(machine):
    board, vga = machine
    program_mode(board.io, 0x12)
    load_dac(board.io, ega_dac())
    top = test_pattern(480, 640, 16)
    write_planes(board, pack_planar(top))
    # the top window is scrolled to line 100 of the picture; from scanline 300 the
    # split screen restarts at address 0 (the top of the picture)
    board.io.outw(0x3D4, 0x1F0C)
    board.io.outw(0x3D4, 0x400D)                 # start = 1F40h = line 100
    board.io.outw(0x3D4, 0x2C18)                 # line compare = 12Ch = 300 (bit 8 in CR07)
    board.io.outw(0x3D4, 0x0009)                 # bit 9 of line compare clear
    frame = vga.render()
    check_golden("split_screen_mode12", frame)
    rgb = vga.dac_rgb()
    expected = rgb[np.array(vga.atc[:16])[top]]
    assert (frame[:300] == expected[100:400]).all()
    assert (frame[300:] == expected[:180]).all()


def test_pel_panning_graphics(machine):
    board, vga = machine
    program_mode(board.io, 0x12)
    load_dac(board.io, ega_dac())
    pix = test_pattern(480, 640, 16)
    write_planes(board, pack_planar(pix))
    plain = vga.render().copy()
    board.io.outw(0x3D4, 0x010D)                 # start one byte (8 pixels) on
    set_atc(board.io, 0x13, 0x03)                # and 3 more pixels
    frame = vga.render()
    assert (frame[:, :629] == plain[:, 11:640]).all()
    check_golden("pan_mode12", frame)
    # mode 13h pans in whole pixels: value 2 = one 320-mode pixel = two dots
    program_mode(board.io, 0x13)
    load_dac(board.io, ramp_dac())
    board.mem.write(0xA0000, mode13_picture().tobytes())
    plain = vga.render().copy()
    set_atc(board.io, 0x13, 0x02)
    assert (vga.render()[:, :636] == plain[:, 2:638]).all()


def test_split_screen_resets_panning_when_asked(machine):
    board, vga = machine
    program_mode(board.io, 0x12)
    load_dac(board.io, ega_dac())
    write_planes(board, pack_planar(test_pattern(480, 640, 16)))
    plain = vga.render().copy()
    board.io.outw(0x3D4, 0xF018)                 # line compare 0F0h = 240:
    board.io.outw(0x3D4, 0x2E07)                 # bit 8 (CR07 bit 4, writable while protected)
    board.io.outw(0x3D4, 0x0009)                 # and bit 9 clear
    set_atc(board.io, 0x13, 0x04)
    set_atc(board.io, 0x10, 0x21)                # graphics + pel panning compatibility
    frame = vga.render()
    assert (frame[:240, :636] == plain[:240, 4:640]).all()
    assert (frame[240:] == plain[:240]).all()     # the split part is not panned


def test_underline(machine):
    board, vga = machine
    set_text_mode(board, 0x03, 16)
    set_crtc(board.io, 0x0A, 0x20)
    board.mem.write(0xB8000, bytes([0x20, 0x01, 0x20, 0x09, 0x20, 0x02]))
    assert not vga.render()[:, :27].any()
    set_crtc(board.io, 0x14, 0x0F)               # underline on the last row scan
    frame = vga.render()
    blue, light_blue = vga.dac_rgb()[0x01], vga.dac_rgb()[0x39]
    assert (frame[15, 0:9] == blue).all() and (frame[15, 9:18] == light_blue).all()
    assert not frame[:15, :27].any() and not frame[15, 18:27].any()   # attr 02h: none


def test_png_round_trip_and_filters(tmp_path):
    rng = np.random.default_rng(5)
    img = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    path = tmp_path / "x.png"
    write_png(path, img)
    assert (read_png(path) == img).all()
    # rows filtered with sub, up, average and paeth (types 1-4), as other encoders write
    raw = img.reshape(5, 21).astype(int)
    out = b""
    for y in range(5):
        ftype = 1 + y % 4
        row = []
        for i in range(21):
            a = raw[y, i - 3] if i >= 3 else 0
            b = raw[y - 1, i] if y else 0
            c = raw[y - 1, i - 3] if y and i >= 3 else 0
            if ftype == 1:
                pred = a
            elif ftype == 2:
                pred = b
            elif ftype == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pred = min((abs(p - a), 0, a), (abs(p - b), 1, b), (abs(p - c), 2, c))[2]
            row.append((raw[y, i] - pred) & 0xFF)
        out += bytes([ftype] + row)
    plain = encode_png(img)
    ihdr_end = 8 + 8 + 13 + 4
    idat = zlib.compress(out)
    chunk = struct.pack(">I", len(idat)) + b"IDAT" + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
    data = plain[:ihdr_end] + chunk + plain[-12:]
    assert (decode_png(data) == img).all()
