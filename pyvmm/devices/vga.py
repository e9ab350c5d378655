"""IBM VGA: sequencer, CRT controller, graphics controller, attribute controller,
DAC and 256 KiB of planar display memory.

Ports: 3C0h-3CFh always; the CRTC (3x4h/3x5h), input status 1 (3xAh read) and
feature control (3xAh write) at 3Bxh or 3Dxh as the miscellaneous output register's
I/O address select bit (bit 0) says.  16-bit OUTs to an index port are split into
index and data bytes by the bus.  Memory: A0000h-BFFFFh is mapped as MMIO and served
by :class:`pyvmm.devices.vgamem.VGAMem`; the graphics controller's memory map select
decides which part answers.

Timing follows the virtual clock: the dot clock (25.175 or 28.322 MHz, misc output
bits 2-3), the character width and the CRTC totals place the beam.  From it input
status 1 reports display disabled (bit 0: outside the horizontal or vertical display
end) and vertical retrace (bit 3: from CR10h until the line counter's low bits match
CR11h bits 0-3); input status 0 bit 7 the vertical retrace interrupt; and the renderer
takes the frame number that drives cursor blink (16 frames) and attribute blink (32).

The renderer derives everything from the registers, never from a mode number; text
or graphics is the attribute controller's mode control bit 0, the pixel format the
graphics controller's shift register mode and the attribute 8-bit colour bit.
:meth:`VGA.render` returns the picture as the monitor draws it: one row per scanline
and one column per dot clock, so 80x25 text with 9-dot characters is 720x400, and
320x200 modes (dot clock halved, double scanned) are 640x400; frontends scale it to
:meth:`VGA.display_aspect` (4:3).
"""
import numpy as np

from .base import Device
from .vgamem import VGAMem
from .vgarender import render_frame
from ..errors import StateError

DOT_CLOCKS = (25175000, 28322000)        # misc output clock select 0 and 1
SEQ_COUNT, CRTC_COUNT, GC_COUNT, ATC_COUNT = 5, 25, 9, 21

# mask of the bits each register implements (reads return only these)
SEQ_MASK = (0x03, 0x3D, 0x0F, 0x3F, 0x0E)
GC_MASK = (0x0F, 0x0F, 0x0F, 0x1F, 0x03, 0x7B, 0x0F, 0x0F, 0xFF)
ATC_MASK = (0x3F,) * 16 + (0xEF, 0xFF, 0x3F, 0x0F, 0x0F)


def _font_offset(select):
    """Plane-2 offset of character map ``select`` (3 bits, high bit is the 8K half)."""
    return (select & 3) * 0x4000 + (select >> 2) * 0x2000


class VGA(Device):
    name = "vga"
    STATE_VERSION = 1

    def __init__(self):
        self.board = None
        self.mem = VGAMem()
        self._frame = None
        self._frame_key = None
        self._lut = None
        self.regs_gen = 0
        self.reset()

    # -- lifecycle --------------------------------------------------------------------
    def attach(self, board):
        self.board = board
        io = board.io
        io.register(0x3C0, 16, read8=self._read_3cx, write8=self._write_3cx, owner=self.name)
        for base in (0x3B0, 0x3D0):
            io.register(base + 4, 2, read8=self._read_crtc, write8=self._write_crtc, owner=self.name)
            io.register(base + 0xA, 1, read8=self._read_status1, write8=self._write_feature,
                        owner=self.name)
        board.mem.map_mmio(0xA0000, 0x20000, self.mem.read8, self.mem.write8, owner=self.name)
        board.vga = self

    def reset(self, kind="hard"):
        if kind != "hard":
            return                           # only RESET DRV (a hard reset) reaches the card
        self.misc = 0x00
        self.feature = 0x00
        self.subsystem_enable = 0x01
        self.seq_index = 0
        self.seq = [0] * SEQ_COUNT
        self.crtc_index = 0
        self.crtc = [0] * CRTC_COUNT
        self.gc_index = 0
        self.gc = [0] * GC_COUNT
        self.atc_index = 0
        self.atc_flipflop = 0                # 0: the next 3C0h write is an index
        self.atc = [0] * ATC_COUNT
        self.dac = bytearray(768)
        self.dac_pel_mask = 0xFF
        self.dac_read_index = 0
        self.dac_write_index = 0
        self.dac_reading = 0                 # 1 after 3C7h was written, 0 after 3C8h
        self.dac_component = 0
        self.dac_latch = [0, 0, 0]
        self.vint_base = 0                   # vertical retraces counted when CR11 bit 4 was set
        self.mem.reset()
        self.gc[8] = 0xFF
        self.gc[7] = 0x0F
        self.seq[2] = 0x0F
        self.seq[4] = 0x02
        self._sync_mem()
        self._touch()

    def _sync_mem(self):
        m = self.mem
        m.map_mask = self.seq[2]
        m.memory_mode = self.seq[4]
        (m.set_reset, m.enable_set_reset, m.color_compare, m.data_rotate,
         m.read_map_select, m.gc_mode, m.gc_misc, m.color_dont_care, m.bit_mask) = self.gc

    def _touch(self):
        """A register that affects the picture changed."""
        self.regs_gen += 1
        self._lut = None

    # -- state ---------------------------------------------------------------------------
    _PLAIN = ("misc", "feature", "subsystem_enable", "seq_index", "crtc_index", "gc_index",
              "atc_index", "atc_flipflop", "dac_pel_mask", "dac_read_index", "dac_write_index",
              "dac_reading", "dac_component", "vint_base")
    _LISTS = ("seq", "crtc", "gc", "atc", "dac_latch")

    def get_state(self):
        state = {"version": self.STATE_VERSION}
        for f in self._PLAIN:
            state[f] = getattr(self, f)
        for f in self._LISTS:
            state[f] = list(getattr(self, f))
        state["dac"] = bytes(self.dac)
        state["planes"] = self.mem.planes.tobytes()
        state["latches"] = self.mem.latches
        return state

    def set_state(self, state):
        if state.get("version") != self.STATE_VERSION:
            raise StateError(f"vga: state version {state.get('version')} is not {self.STATE_VERSION}")
        try:
            lengths = {"seq": SEQ_COUNT, "crtc": CRTC_COUNT, "gc": GC_COUNT, "atc": ATC_COUNT,
                       "dac_latch": 3}
            for f in self._LISTS:
                if len(state[f]) != lengths[f]:
                    raise StateError(f"vga: state field {f} has the wrong length")
            if len(state["dac"]) != 768 or len(state["planes"]) != 4 * 0x10000:
                raise StateError("vga: DAC or video memory in the state has the wrong size")
            for f in self._PLAIN:
                setattr(self, f, int(state[f]))
            for f in self._LISTS:
                setattr(self, f, [int(v) & 0xFF for v in state[f]])
            self.dac = bytearray(state["dac"])
            self.mem.planes[:] = np.frombuffer(state["planes"], dtype=np.uint8).reshape(4, 0x10000)
            self.mem.latches = state["latches"]
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"vga: bad state ({exc})") from None
        self._sync_mem()
        self.mem.dirty = True
        self._touch()

    # -- timing ---------------------------------------------------------------------------
    def timing(self):
        """(dot clock Hz, dots per scanline, scanlines per frame) from the registers."""
        dot_hz = DOT_CLOCKS[1] if (self.misc >> 2) & 3 == 1 else DOT_CLOCKS[0]
        c = self.crtc
        char_dots = (8 if self.seq[1] & 1 else 9) * (2 if self.seq[1] & 8 else 1)
        line_dots = (c[0] + 5) * char_dots
        vtotal = (c[6] | (c[7] & 0x01) << 8 | (c[7] & 0x20) << 4) + 2
        return dot_hz, line_dots, vtotal

    def _beam(self):
        """(frame number, scanline, character clock) of the beam now."""
        dot_hz, line_dots, vtotal = self.timing()
        clock = self.board.clock if self.board is not None else None
        if clock is None:
            return 0, 0, 0
        dots = clock.now * dot_hz // clock.rate
        frame, pos = divmod(dots, line_dots * vtotal)
        line, hdot = divmod(pos, line_dots)
        return frame, line, hdot * (self.crtc[0] + 5) // line_dots

    def _vretrace_start(self):
        c = self.crtc
        return c[0x10] | (c[7] & 0x04) << 6 | (c[7] & 0x80) << 2

    def _vretraces(self):
        """How many vertical retraces have begun since time 0."""
        frame, line, _ = self._beam()
        return frame + (1 if line >= self._vretrace_start() else 0)

    def _read_status1(self, port):
        if not self._crtc_port_live(port):
            return 0xFF
        self.atc_flipflop = 0
        c = self.crtc
        frame, line, hchar = self._beam()
        vrs = self._vretrace_start()
        vlen = ((c[0x11] & 0x0F) - vrs) & 0x0F or 16
        vdisp = (c[0x12] | (c[7] & 0x02) << 7 | (c[7] & 0x40) << 3) + 1
        value = 0
        if hchar > c[1] or line >= vdisp:
            value |= 0x01                    # display disabled: outside the active area
        if vrs <= line < vrs + vlen:
            value |= 0x08
        return value

    def _status0(self):
        value = 0x10                         # switch sense: a colour monitor is attached
        c11 = self.crtc[0x11]
        if c11 & 0x10 and not c11 & 0x20 and self._vretraces() > self.vint_base:
            value |= 0x80                    # vertical retrace interrupt pending
        return value

    # -- ports 3C0h-3CFh -------------------------------------------------------------------
    def _read_3cx(self, port):
        reg = port & 0xF
        if reg == 0x0:
            return self.atc_index
        if reg == 0x1:
            i = self.atc_index & 0x1F
            return self.atc[i] if i < ATC_COUNT else 0x00
        if reg == 0x2:
            return self._status0()
        if reg == 0x3:
            return self.subsystem_enable
        if reg == 0x4:
            return self.seq_index
        if reg == 0x5:
            return self.seq[self.seq_index] if self.seq_index < SEQ_COUNT else 0xFF
        if reg == 0x6:
            return self.dac_pel_mask
        if reg == 0x7:
            return 0x03 if self.dac_reading else 0x00
        if reg == 0x8:
            return self.dac_write_index
        if reg == 0x9:
            return self._dac_read()
        if reg == 0xA:
            return self.feature
        if reg == 0xC:
            return self.misc
        if reg == 0xE:
            return self.gc_index
        if reg == 0xF:
            return self.gc[self.gc_index] if self.gc_index < GC_COUNT else 0xFF
        return 0xFF

    def _write_3cx(self, port, value):
        reg = port & 0xF
        if reg == 0x0:
            self._write_atc(value)
        elif reg == 0x2:
            self.misc = value
            self._touch()
        elif reg == 0x3:
            self.subsystem_enable = value & 0x01
        elif reg == 0x4:
            self.seq_index = value & 0x07
        elif reg == 0x5:
            self._write_seq(value)
        elif reg == 0x6:
            self.dac_pel_mask = value
            self._touch()
        elif reg == 0x7:
            self.dac_read_index = value
            self.dac_reading = 1
            self.dac_component = 0
        elif reg == 0x8:
            self.dac_write_index = value
            self.dac_reading = 0
            self.dac_component = 0
        elif reg == 0x9:
            self._dac_write(value)
        elif reg == 0xE:
            self.gc_index = value & 0x0F
        elif reg == 0xF:
            self._write_gc(value)

    def _write_seq(self, value):
        i = self.seq_index
        if i >= SEQ_COUNT:
            return
        self.seq[i] = value & SEQ_MASK[i]
        if i == 2:
            self.mem.map_mask = self.seq[2]
        elif i == 4:
            self.mem.memory_mode = self.seq[4]
        self._touch()

    def _write_gc(self, value):
        i = self.gc_index
        if i >= GC_COUNT:
            return
        value &= GC_MASK[i]
        self.gc[i] = value
        setattr(self.mem, ("set_reset", "enable_set_reset", "color_compare", "data_rotate",
                           "read_map_select", "gc_mode", "gc_misc", "color_dont_care",
                           "bit_mask")[i], value)
        if i in (5, 6):
            self._touch()

    def _write_atc(self, value):
        if self.atc_flipflop == 0:
            if (value ^ self.atc_index) & 0x20:
                self._touch()                # palette address source blanks or shows the screen
            self.atc_index = value & 0x3F
        else:
            i = self.atc_index & 0x1F
            if i < ATC_COUNT:
                self.atc[i] = value & ATC_MASK[i]
                self._touch()
        self.atc_flipflop ^= 1

    # -- DAC -------------------------------------------------------------------------------
    def _dac_read(self):
        value = self.dac[self.dac_read_index * 3 + self.dac_component]
        self.dac_component += 1
        if self.dac_component == 3:
            self.dac_component = 0
            self.dac_read_index = (self.dac_read_index + 1) & 0xFF
        return value

    def _dac_write(self, value):
        self.dac_latch[self.dac_component] = value & 0x3F
        self.dac_component += 1
        if self.dac_component == 3:
            # the entry changes only when its third component arrives
            base = self.dac_write_index * 3
            self.dac[base:base + 3] = bytes(self.dac_latch)
            self.dac_component = 0
            self.dac_write_index = (self.dac_write_index + 1) & 0xFF
            self._touch()

    # -- CRTC ---------------------------------------------------------------------------------
    def _crtc_port_live(self, port):
        """The CRTC and status 1 answer at 3Dxh in colour and at 3Bxh in mono addressing."""
        return ((port & 0xF0) == 0xD0) == bool(self.misc & 1)

    def _read_crtc(self, port):
        if not self._crtc_port_live(port):
            return 0xFF
        if port & 1 == 0:
            return self.crtc_index
        i = self.crtc_index
        return self.crtc[i] if i < CRTC_COUNT else 0xFF

    def _write_crtc(self, port, value):
        if not self._crtc_port_live(port):
            return
        if port & 1 == 0:
            self.crtc_index = value & 0x3F
            return
        i = self.crtc_index
        if i >= CRTC_COUNT:
            return
        if self.crtc[0x11] & 0x80 and i <= 7:
            if i != 7:
                return
            # with CR0-7 protected only the line compare bit 8 of the overflow is writable
            value = (self.crtc[7] & ~0x10) | (value & 0x10)
        if i == 0x11 and value & 0x10 and not self.crtc[0x11] & 0x10:
            self.vint_base = self._vretraces()
        self.crtc[i] = value
        self._touch()

    def _write_feature(self, port, value):
        if self._crtc_port_live(port):
            self.feature = value & 0x03

    # -- display geometry ------------------------------------------------------------------
    def _frame_number(self):
        return self._beam()[0]

    def geometry(self):
        """Everything the display pipeline needs, decoded from the registers."""
        c, seq, atc = self.crtc, self.seq, self.atc
        mode_ctl = atc[0x10]
        text = not mode_ctl & 0x01
        cw = 8 if seq[1] & 1 else 9
        eight_bit = 1 if mode_ctl & 0x40 else 0
        pan = atc[0x13] & 0x0F
        if eight_bit:
            pan &= 0x06                      # two dots per pixel: pans in whole pixels
        elif cw == 9:
            pan = pan + 1 if pan < 8 else 0  # 9-dot panning counts 8, 0, 1 .. 7
        elif pan > 7:
            pan = 0
        if c[0x14] & 0x40:
            addr_mode = 2
        elif c[0x17] & 0x40:
            addr_mode = 0
        else:
            addr_mode = 1
        cms = seq[3]
        frame = self._frame_number()
        return {
            "text": 1 if text else 0,
            "shift": 2 if self.gc[5] & 0x40 else (1 if self.gc[5] & 0x20 else 0),
            "eight_bit": eight_bit,
            "char_width": cw,
            "dot_div": 2 if seq[1] & 0x08 else 1,
            "chars": c[1] + 1,
            "lines": (c[0x12] | (c[7] & 0x02) << 7 | (c[7] & 0x40) << 3) + 1,
            "max_scan": c[9] & 0x1F,
            "double_scan": 1 if c[9] & 0x80 else 0,
            "start": c[0x0C] << 8 | c[0x0D],
            "advance": c[0x13] * 2,
            "line_compare": c[0x18] | (c[7] & 0x10) << 4 | (c[9] & 0x40) << 3,
            "preset_row": c[8] & 0x1F,
            "byte_pan": (c[8] >> 5) & 3,
            "pel_pan": pan,
            "split_pan_reset": 1 if mode_ctl & 0x20 else 0,
            "addr_mode": addr_mode,
            "word_bit": 13 if c[0x17] & 0x20 else 15,
            "cga_bank": 0 if c[0x17] & 0x01 else 1,
            "herc_bank": 0 if c[0x17] & 0x02 else 1,
            "font_a": _font_offset((cms >> 5 & 1) << 2 | (cms >> 2) & 3),
            "font_b": _font_offset((cms >> 4 & 1) << 2 | cms & 3),
            "line_graphics": 1 if mode_ctl & 0x04 else 0,
            "blink_enable": 1 if mode_ctl & 0x08 else 0,
            "blink_on": 1 if text and not (frame >> 4) & 1 else 0,
            "underline": c[0x14] & 0x1F,
            "cursor_on": 1 if text and not c[0x0A] & 0x20 and not (frame >> 3) & 1 else 0,
            "cursor_loc": c[0x0E] << 8 | c[0x0F],
            "cursor_start": c[0x0A] & 0x1F,
            "cursor_end": c[0x0B] & 0x1F,
            "cursor_skew": (c[0x0B] >> 5) & 3,
        }

    def dac_rgb(self):
        """The DAC as a (256, 3) uint8 array scaled from 6 to 8 bits."""
        d = np.frombuffer(bytes(self.dac), dtype=np.uint8).reshape(256, 3)
        return (d << 2) | (d >> 4)

    def _colour_lut(self):
        """RGB for each attribute-controller input (4-bit pixel, or paired nibbles)."""
        if self._lut is not None:
            return self._lut
        atc = self.atc
        pal = np.array(atc[:16], dtype=np.int32)
        cpe = atc[0x12] & 0x0F
        colsel = atc[0x14]
        v = np.arange(256, dtype=np.int32)
        if atc[0x10] & 0x40:
            index = (pal[(v >> 4) & cpe] & 0x0F) << 4 | (pal[v & cpe] & 0x0F)
        else:
            index = pal[v & 0x0F & cpe]
            if atc[0x10] & 0x80:
                index = (index & 0x0F) | (colsel & 0x03) << 4
            index = index | (colsel & 0x0C) << 4
        self._lut = np.ascontiguousarray(self.dac_rgb()[index & self.dac_pel_mask])
        return self._lut

    def frame_size(self):
        """(width, height) of what :meth:`render` returns."""
        g = self.geometry()
        return g["chars"] * g["char_width"] * g["dot_div"], g["lines"]

    def render(self):
        """The displayed picture as a (height, width, 3) uint8 array (see module doc).

        An unchanged screen costs a dictionary build and a comparison: the last frame
        is returned when neither memory nor registers nor the blink phase changed."""
        g = self.geometry()
        blanked = (self.seq[0] & 3) != 3 or self.seq[1] & 0x20 or not self.atc_index & 0x20
        key = (self.regs_gen, g["blink_on"], g["cursor_on"], bool(blanked))
        if self._frame is not None and key == self._frame_key and not self.mem.dirty:
            return self._frame
        width = g["chars"] * g["char_width"] * g["dot_div"]
        height = g["lines"]
        frame = np.zeros((height, width, 3), dtype=np.uint8)
        if blanked:
            if not self.atc_index & 0x20 and (self.seq[0] & 3) == 3 and not self.seq[1] & 0x20:
                # palette address source clear: the screen shows the overscan colour
                frame[:] = self.dac_rgb()[self.atc[0x11] & self.dac_pel_mask]
        else:
            render_frame(self.mem.planes, frame, self._colour_lut(), g)
        self.mem.dirty = False
        self._frame = frame
        self._frame_key = key
        return frame

    def is_text_mode(self):
        return not self.atc[0x10] & 0x01

    def display_aspect(self):
        """The shape a frontend should show the frame at."""
        return (4, 3)

    def text_size(self):
        """(cols, rows) of the text screen, or None in a graphics mode."""
        if not self.is_text_mode():
            return None
        g = self.geometry()
        row_lines = ((g["max_scan"] + 1) * (2 if g["double_scan"] else 1))
        return g["chars"], g["lines"] // row_lines

    def text_cells(self):
        """(chars uint8[rows, cols], attrs uint8[rows, cols], (row, col, visible,
        start, end)) of the text screen as the CRTC scans it from the start address.
        In a graphics mode the arrays are empty and the cursor is not visible."""
        size = self.text_size()
        c = self.crtc
        start_line, end_line = c[0x0A] & 0x1F, c[0x0B] & 0x1F
        if size is None:
            empty = np.zeros((0, 0), dtype=np.uint8)
            return empty, empty.copy(), (0, 0, False, start_line, end_line)
        cols, rows = size
        g = self.geometry()
        ma = (g["start"] + np.arange(rows)[:, None] * g["advance"] + np.arange(cols)[None, :])
        ma &= 0xFFFF
        if g["addr_mode"] == 2:
            addr = ma << 2
        elif g["addr_mode"] == 1:
            addr = (ma << 1) | ((ma >> g["word_bit"]) & 1)
        else:
            addr = ma
        if g["cga_bank"]:
            addr &= ~0x2000
        if g["herc_bank"]:
            addr &= ~0x4000
        addr &= 0xFFFF
        planes = self.mem.planes
        chars = planes[0][addr]
        attrs = planes[1][addr]
        rel = (g["cursor_loc"] - g["cursor_skew"] - g["start"]) & 0xFFFF
        row, col = (divmod(rel, g["advance"]) if g["advance"] else (0, rel))
        visible = (not c[0x0A] & 0x20 and start_line <= end_line
                   and row < rows and col < cols and start_line <= g["max_scan"])
        return chars, attrs, (int(row), int(col), bool(visible), start_line, end_line)


# -- mode tables -------------------------------------------------------------------------
# Register values for the standard modes, as the IBM VGA documentation lists them:
# misc output, sequencer 1-4, CRTC 0-18h, graphics controller 0-8, attribute 0-14h.
_TEXT_ATC = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07,
             0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F, 0x0C, 0x00, 0x0F, 0x08, 0x00]
_EGA_ATC = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
            0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x01, 0x00, 0x0F, 0x00, 0x00]
_VGA16_ATC = _TEXT_ATC[:16] + [0x01, 0x00, 0x0F, 0x00, 0x00]
_TEXT_GC = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0E, 0x00, 0xFF]
_PLANAR_GC = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0F, 0xFF]
_CRTC_40 = [0x2D, 0x27, 0x28, 0x90, 0x2B, 0xA0, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00,
            0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x14, 0x1F, 0x96, 0xB9, 0xA3, 0xFF]
_CRTC_80 = [0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00,
            0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF]
_CRTC_200_40 = [0x2D, 0x27, 0x28, 0x90, 0x2B, 0x80, 0xBF, 0x1F, 0x00, 0xC0, 0x00, 0x00, 0x00,
                0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x14, 0x00, 0x96, 0xB9, 0xE3, 0xFF]
_CRTC_200_80 = [0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F, 0x00, 0xC0, 0x00, 0x00, 0x00,
                0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x00, 0x96, 0xB9, 0xE3, 0xFF]
_CRTC_480 = [0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0x0B, 0x3E, 0x00, 0x40, 0x00, 0x00, 0x00,
             0x00, 0x00, 0x00, 0xEA, 0x8C, 0xDF, 0x28, 0x00, 0xE7, 0x04, 0xE3, 0xFF]


def _with(table, **changes):
    table = list(table)
    for key, value in changes.items():
        table[int(key[1:], 16)] = value
    return table


VGA_MODES = {
    # 40x25 and 80x25 text, 400 lines, 9-dot characters, 28.322 MHz
    0x01: (0x67, [0x08, 0x03, 0x00, 0x02], _CRTC_40, _TEXT_GC, _TEXT_ATC),
    0x03: (0x67, [0x00, 0x03, 0x00, 0x02], _CRTC_80, _TEXT_GC, _TEXT_ATC),
    # CGA 320x200x4 and 640x200x2
    0x04: (0x63, [0x09, 0x03, 0x00, 0x02],
           _with(_CRTC_200_40, r09=0xC1, r17=0xA2),
           [0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x0F, 0x00, 0xFF],
           [0x00, 0x13, 0x15, 0x17, 0x02, 0x04, 0x06, 0x07,
            0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x01, 0x00, 0x03, 0x00, 0x00]),
    0x06: (0x63, [0x01, 0x01, 0x00, 0x06],
           _with(_CRTC_200_80, r09=0xC1, r17=0xC2),
           [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0D, 0x00, 0xFF],
           [0x00] + [0x17] * 15 + [0x01, 0x00, 0x01, 0x00, 0x00]),
    # EGA 16-colour planar modes
    0x0D: (0x63, [0x09, 0x0F, 0x00, 0x06], _CRTC_200_40, _PLANAR_GC, _EGA_ATC),
    0x0E: (0x63, [0x01, 0x0F, 0x00, 0x06], _CRTC_200_80, _PLANAR_GC, _EGA_ATC),
    0x10: (0xA3, [0x01, 0x0F, 0x00, 0x06],
           [0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F, 0x00, 0x40, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x83, 0x85, 0x5D, 0x28, 0x0F, 0x63, 0xBA, 0xE3, 0xFF],
           _PLANAR_GC, _VGA16_ATC),
    # VGA 640x480 two- and sixteen-colour, 320x200x256
    0x11: (0xE3, [0x01, 0x0F, 0x00, 0x06], _with(_CRTC_480, r17=0xC3), _PLANAR_GC,
           [0x00] + [0x3F] * 15 + [0x01, 0x00, 0x0F, 0x00, 0x00]),
    0x12: (0xE3, [0x01, 0x0F, 0x00, 0x06], _CRTC_480, _PLANAR_GC, _VGA16_ATC),
    0x13: (0x63, [0x01, 0x0F, 0x00, 0x0E],
           _with(_CRTC_80, r04=0x54, r05=0x80, r09=0x41, r0A=0x00, r0B=0x00, r14=0x40, r17=0xA3),
           [0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0F, 0xFF],
           list(range(16)) + [0x41, 0x00, 0x0F, 0x00, 0x00]),
}


def program_mode(io, mode):
    """Load the registers of ``mode`` (a key of :data:`VGA_MODES`) through the ports,
    in the order a BIOS does: sequencer held in reset while misc output and clocking
    change, CRTC unprotected, then graphics and attribute controllers, and the
    attribute index written with the palette address source bit last to show the
    screen.  Memory and the DAC are left alone."""
    misc, seq, crtc, gc, atc = VGA_MODES[mode]
    io.outw(0x3C4, 0x0100)                     # synchronous reset
    io.outb(0x3C2, misc)
    for i, v in enumerate(seq, start=1):
        io.outw(0x3C4, v << 8 | i)
    io.outw(0x3C4, 0x0300)
    crt = 0x3D4 if misc & 1 else 0x3B4
    io.outw(crt, 0x11 | (crtc[0x11] & 0x7F) << 8)
    for i, v in enumerate(crtc):
        io.outw(crt, v << 8 | i)
    for i, v in enumerate(gc):
        io.outw(0x3CE, v << 8 | i)
    io.inb(crt + 6)                            # reset the attribute flip-flop
    for i, v in enumerate(atc):
        io.outb(0x3C0, i)
        io.outb(0x3C0, v)
    io.outb(0x3C0, 0x20)
