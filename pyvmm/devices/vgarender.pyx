# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The VGA's display pipeline in C: CRTC address generation, the sequencer's
character/pixel serialiser, and the attribute controller's text attributes.

:func:`render_frame` walks the frame scanline by scanline exactly as the CRTC does
(row scan counter, double scan, line compare, start address, offset), turns the
memory address counter into a plane address (byte/word/doubleword mode, the CGA and
Hercules bank substitutions of CRTC mode control bits 0-1) and serialises each
character clock into attribute-controller inputs.  Those pass through ``lut``, a
256-entry RGB table built by the device from the palette registers, colour plane
enable, colour select, the pel mask and the DAC.  Everything comes from the
``geom`` dict that :meth:`pyvmm.devices.vga.VGA.geometry` derives from the registers.
"""

cdef enum:
    MAX_CHARS = 258          # 8-bit horizontal display end + 1, plus one for panning
    LINE_DOTS = MAX_CHARS * 9


cdef inline unsigned int plane_address(int ma, int rowscan, int addr_mode, int word_bit,
                                      int cga_bank, int herc_bank) noexcept nogil:
    cdef unsigned int a
    if addr_mode == 2:
        a = ma << 2
    elif addr_mode == 1:
        a = (ma << 1) | ((ma >> word_bit) & 1)
    else:
        a = ma
    if cga_bank:
        a = (a & ~0x2000) | ((rowscan & 1) << 13)
    if herc_bank:
        a = (a & ~0x4000) | ((rowscan & 2) << 13)
    return a & 0xFFFF


def render_frame(const unsigned char[:, ::1] planes, unsigned char[:, :, ::1] out,
                 const unsigned char[:, ::1] lut, dict geom):
    """Draw the frame described by ``geom`` into ``out`` (height, width, 3)."""
    cdef int height = out.shape[0], width = out.shape[1]
    cdef int text = geom["text"], shift = geom["shift"], eight_bit = geom["eight_bit"]
    cdef int cw = geom["char_width"], div = geom["dot_div"], chars = geom["chars"]
    cdef int max_scan = geom["max_scan"], double_scan = geom["double_scan"]
    cdef int row_ma = geom["start"], advance = geom["advance"]
    cdef int line_compare = geom["line_compare"], rowscan = geom["preset_row"]
    cdef int byte_pan = geom["byte_pan"], pel_pan = geom["pel_pan"]
    cdef int split_pan_reset = geom["split_pan_reset"]
    cdef int addr_mode = geom["addr_mode"], word_bit = geom["word_bit"]
    cdef int cga_bank = geom["cga_bank"], herc_bank = geom["herc_bank"]
    cdef int font_a = geom["font_a"], font_b = geom["font_b"]
    cdef int line_graphics = geom["line_graphics"], blink_enable = geom["blink_enable"]
    cdef int blink_on = geom["blink_on"], underline = geom["underline"]
    cdef int cursor_on = geom["cursor_on"], cursor_loc = geom["cursor_loc"]
    cdef int cursor_start = geom["cursor_start"], cursor_end = geom["cursor_end"]
    cdef int cursor_skew = geom["cursor_skew"]
    cdef unsigned char line[LINE_DOTS + 16]
    cdef int y, c, i, x, ma, pan, dbl = 0, fetch
    cdef unsigned int a
    cdef int code, attr, glyph, fg, bg, solid, ninth, b0, b1, b2, b3, v
    cdef unsigned char idx
    cdef int pix

    fetch = chars + 1 if chars < MAX_CHARS else MAX_CHARS
    pan = pel_pan
    with nogil:
        for y in range(height):
            if y == line_compare:
                row_ma = 0
                rowscan = 0
                byte_pan = 0
                if split_pan_reset:
                    pan = 0
            for c in range(fetch):
                ma = (row_ma + byte_pan + c) & 0xFFFF
                a = plane_address(ma, rowscan, addr_mode, word_bit, cga_bank, herc_bank)
                x = c * cw
                if text:
                    code = planes[0, a]
                    attr = planes[1, a]
                    glyph = planes[2, ((font_a if attr & 8 else font_b)
                                       + code * 32 + (rowscan & 31)) & 0xFFFF]
                    fg = attr & 15
                    bg = attr >> 4
                    if blink_enable:
                        bg &= 7
                        if attr & 0x80 and not blink_on:
                            glyph = 0
                    solid = 0
                    if rowscan == underline and (attr & 0x77) == 0x01:
                        solid = 1
                    if (cursor_on and ((ma - cursor_skew) & 0xFFFF) == cursor_loc
                            and cursor_start <= rowscan <= cursor_end):
                        solid = 1
                    if solid:
                        glyph = 0xFF
                    for i in range(8):
                        line[x + i] = fg if glyph & (0x80 >> i) else bg
                    if cw == 9:
                        # the 9th dot repeats the 8th only for the box-drawing range
                        ninth = solid or (line_graphics and 0xC0 <= code <= 0xDF and glyph & 1)
                        line[x + 8] = fg if ninth else bg
                else:
                    b0 = planes[0, a]
                    b1 = planes[1, a]
                    b2 = planes[2, a]
                    b3 = planes[3, a]
                    if shift == 2:       # 256-colour: each plane byte gives two nibbles
                        line[x + 0] = b0 >> 4
                        line[x + 1] = b0 & 15
                        line[x + 2] = b1 >> 4
                        line[x + 3] = b1 & 15
                        line[x + 4] = b2 >> 4
                        line[x + 5] = b2 & 15
                        line[x + 6] = b3 >> 4
                        line[x + 7] = b3 & 15
                    elif shift == 1:     # CGA interleave: 2-bit pixels from planes 0/1 (2/3)
                        for i in range(4):
                            line[x + i] = ((b0 >> (6 - 2 * i)) & 3) | (((b2 >> (6 - 2 * i)) & 3) << 2)
                            line[x + 4 + i] = ((b1 >> (6 - 2 * i)) & 3) | (((b3 >> (6 - 2 * i)) & 3) << 2)
                    else:
                        for i in range(8):
                            v = 7 - i
                            line[x + i] = (((b0 >> v) & 1) | (((b1 >> v) & 1) << 1)
                                           | (((b2 >> v) & 1) << 2) | (((b3 >> v) & 1) << 3))
                    if cw == 9:
                        line[x + 8] = 0
                    if eight_bit:        # the attribute controller pairs nibbles into bytes
                        for i in range(0, 8, 2):
                            v = (line[x + i] << 4) | line[x + i + 1]
                            line[x + i] = v
                            line[x + i + 1] = v
            for x in range(width):
                idx = line[x // div + pan]
                out[y, x, 0] = lut[idx, 0]
                out[y, x, 1] = lut[idx, 1]
                out[y, x, 2] = lut[idx, 2]
            # the row scan counter steps every line (every second one when double scanning)
            if double_scan and not dbl:
                dbl = 1
            else:
                dbl = 0
                if rowscan >= max_scan:
                    rowscan = 0
                    row_ma = (row_ma + advance) & 0xFFFF
                else:
                    rowscan += 1
