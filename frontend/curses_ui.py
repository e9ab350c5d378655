"""The terminal frontend: text modes as CP437 characters in 16 colours, graphics modes
as half-block cells (two pixels per character cell) scaled to the terminal.

Terminals report keys, not key releases, so each key becomes a press/release pair
(with Shift, Ctrl or Alt around it when the character needs one).
Ctrl+] quits (after flushing the disks).
"""
import curses
import os
from collections import deque

import numpy as np

from pyvmm import cp437
from pyvmm.devices.keys import text_to_keys

from .pacing import Pacer
from .script import DONE, TIMEOUT

FRAME = 1 / 30
KEY_GAP = 0.01           # virtual seconds between key events typed at the terminal
QUIT_KEY = 0x1D          # Ctrl+]

# VGA text attribute colour order (blue=1, green=2, red=4) -> curses colour numbers
_VGA_TO_CURSES = [curses.COLOR_BLACK, curses.COLOR_BLUE, curses.COLOR_GREEN, curses.COLOR_CYAN,
                  curses.COLOR_RED, curses.COLOR_MAGENTA, curses.COLOR_YELLOW, curses.COLOR_WHITE]

_SPECIAL = {
    curses.KEY_UP: "UP", curses.KEY_DOWN: "DOWN", curses.KEY_LEFT: "LEFT", curses.KEY_RIGHT: "RIGHT",
    curses.KEY_HOME: "HOME", curses.KEY_END: "END", curses.KEY_PPAGE: "PGUP", curses.KEY_NPAGE: "PGDN",
    curses.KEY_IC: "INSERT", curses.KEY_DC: "DELETE", curses.KEY_BACKSPACE: "BACKSPACE",
    curses.KEY_ENTER: "ENTER", 27: "ESC", 127: "BACKSPACE", 8: "BACKSPACE", 10: "ENTER", 13: "ENTER",
    9: "TAB", curses.KEY_BTAB: ("TAB", "LSHIFT"),
    **{curses.KEY_F0 + n: f"F{n}" for n in range(1, 13)},
}


def run_curses(machine, script, realtime, exit_after):
    # Take the size from the terminal itself: stale LINES/COLUMNS in the environment
    # (exported by some shells and by test runners) would clip the guest's screen.
    os.environ.pop("LINES", None)
    os.environ.pop("COLUMNS", None)
    return curses.wrapper(lambda screen: TerminalUI(screen, machine, script, realtime, exit_after).loop())


class TerminalUI:
    def __init__(self, screen, machine, script, realtime, exit_after):
        self.screen = screen
        self.machine = machine
        self.script = script
        self.exit_after = exit_after
        self.pacer = Pacer(machine, realtime)
        self.pending = deque()       # (key name, down) not yet given to the keyboard
        self.shown = None            # what the terminal shows: screen contents and size
        self.shown_frame = None      # the VGA frame array drawn last (graphics modes)
        curses.raw()
        curses.noecho()
        screen.nodelay(True)
        screen.keypad(True)
        curses.start_color()
        self.colors = curses.COLORS
        self.pairs = {}
        self.max_pairs = curses.COLOR_PAIRS - 1
        if self.colors >= 256:
            curses.use_default_colors()

    # -- colours --------------------------------------------------------------------------
    def pair(self, fg, bg):
        """A curses colour pair for terminal colours fg/bg, allocated on first use."""
        key = (fg, bg)
        number = self.pairs.get(key)
        if number is None:
            if len(self.pairs) >= self.max_pairs:
                self.pairs.clear()
            number = len(self.pairs) + 1
            curses.init_pair(number, fg, bg)
            self.pairs[key] = number
        return curses.color_pair(number)

    def text_colour(self, index):
        """VGA colour 0-15 to a terminal colour (and whether it needs A_BOLD)."""
        if self.colors >= 16:
            return _VGA_TO_CURSES[index & 7] + (8 if index & 8 else 0), 0
        return _VGA_TO_CURSES[index & 7], (curses.A_BOLD if index & 8 else 0)

    def rgb_colour(self, rgb):
        """An RGB pixel to the nearest colour of the terminal's palette."""
        r, g, b = (int(c) for c in rgb)
        if self.colors >= 256:
            return 16 + 36 * ((r * 5 + 127) // 255) + 6 * ((g * 5 + 127) // 255) + (b * 5 + 127) // 255
        index = (4 if r > 96 else 0) | (2 if g > 96 else 0) | (1 if b > 96 else 0)
        return [0, 4, 2, 6, 1, 5, 3, 7][index]

    # -- loop --------------------------------------------------------------------------------
    def loop(self):
        status = DONE
        while True:
            if self.read_keys():
                return status
            status = self.script.advance(self.machine)
            if status == TIMEOUT or (status == DONE and self.exit_after and self.script.steps):
                return status
            self.run_frame()
            if self.machine.exit_code is not None:
                return status
            self.draw()
            self.pacer.pace()

    def read_keys(self):
        """Turn pending terminal input into key strokes; True when the user quits."""
        while True:
            try:
                ch = self.screen.get_wch()
            except curses.error:
                return False
            code = ord(ch) if isinstance(ch, str) else ch
            if code == QUIT_KEY:
                return True
            if code == curses.KEY_RESIZE:
                self.screen.clear()
                self.shown = None
                continue
            modifiers = []
            if code == 27:                       # Esc, or Alt+key sent as Esc then the key
                try:
                    nxt = self.screen.get_wch()
                except curses.error:
                    nxt = None
                if nxt is not None:
                    modifiers.append("LALT")
                    code = ord(nxt) if isinstance(nxt, str) else nxt
            self.stroke(code, modifiers)

    def stroke(self, code, modifiers):
        """Queue the key presses and releases that type terminal key ``code``."""
        name = _SPECIAL.get(code)
        if isinstance(name, tuple):
            name, extra = name
            modifiers = modifiers + [extra]
        elif name is None and 1 <= code <= 26:
            name, modifiers = chr(ord("A") + code - 1), modifiers + ["LCTRL"]
        elif name is None and 32 <= code < 127:
            name, shifted = text_to_keys("{{" if code == ord("{") else chr(code))[0]
            if shifted:
                modifiers = modifiers + ["LSHIFT"]
        if name is None:
            return
        self.pending += [(mod, True) for mod in modifiers]
        self.pending += [(name, True), (name, False)]
        self.pending += [(mod, False) for mod in reversed(modifiers)]

    def run_frame(self):
        """Emulate one frame, handing queued key events to the keyboard KEY_GAP apart
        in virtual time, so a burst of typing arrives in order and none is lost."""
        left = FRAME
        while self.pending and left > 0:
            name, down = self.pending.popleft()
            (self.machine.press if down else self.machine.release)(name)
            self.machine.run(seconds=KEY_GAP)
            left -= KEY_GAP
        if left > 0:
            self.machine.run(seconds=left)

    # -- drawing -----------------------------------------------------------------------------
    def draw(self):
        """Repaint when the guest's screen or the terminal's size changed: painting
        cell by cell is the costliest thing this frontend does."""
        rows, cols = self.screen.getmaxyx()
        chars, attrs, cursor = self.machine.screen_cells()
        if chars.size:
            key = ("text", rows, cols, chars.shape, chars.tobytes(), attrs.tobytes(), tuple(cursor))
            if key != self.shown:
                self.erase_if_reshaped(key)
                self.draw_text(chars, attrs, cursor, rows, cols)
        else:
            frame = self.machine.screenshot()
            key = ("pixels", rows, cols, frame.shape, id(frame))   # the VGA makes a new array per change
            if key != self.shown:
                self.erase_if_reshaped(key)
                self.draw_pixels(frame, rows, cols)
            self.shown_frame = frame     # keeps id(frame) from being reused
        if key != self.shown:
            self.shown = key
            self.screen.refresh()

    def erase_if_reshaped(self, key):
        """A new mode or terminal size leaves cells the new picture does not cover."""
        if self.shown is None or self.shown[:4] != key[:4]:
            self.screen.erase()

    def draw_text(self, chars, attrs, cursor, rows, cols):
        for y in range(min(rows, chars.shape[0])):
            line = cp437.decode(bytes(chars[y]))
            for x in range(min(cols - (1 if y == rows - 1 else 0), chars.shape[1])):
                a = int(attrs[y, x])
                fg, bold = self.text_colour(a & 15)
                bg, _ = self.text_colour((a >> 4) & 7)    # bit 7 is blink, not bright
                try:
                    self.screen.addstr(y, x, line[x], self.pair(fg, bg) | bold)
                except curses.error:
                    pass
        row, col, visible = cursor[0], cursor[1], cursor[2]
        if visible and row < rows and col < cols:
            curses.curs_set(1)
            self.screen.move(row, col)
        else:
            curses.curs_set(0)

    def draw_pixels(self, frame, rows, cols):
        curses.curs_set(0)
        h, w = frame.shape[:2]
        # keep the picture's shape: a character cell is about twice as tall as wide
        scale = max(w / cols, h / (2 * rows))
        out_w, out_h = max(1, int(w / scale)), max(2, int(h / scale) // 2 * 2)
        ys = (np.arange(out_h) * h // out_h)
        xs = (np.arange(out_w) * w // out_w)
        small = frame[ys][:, xs]
        for cy in range(min(rows, out_h // 2)):
            top, bottom = small[2 * cy], small[2 * cy + 1]
            for cx in range(min(cols - (1 if cy == rows - 1 else 0), out_w)):
                attr = self.pair(self.rgb_colour(top[cx]), self.rgb_colour(bottom[cx]))
                try:
                    self.screen.addstr(cy, cx, "▀", attr)
                except curses.error:
                    pass
