"""PS/2 (MF II) keyboard: the device at the far end of the 8042's keyboard port.

The keyboard keeps its own 16-byte buffer of key data (:attr:`PS2Keyboard.queue`)
and, apart from it, the reply to the last command (:attr:`PS2Keyboard.replies`, sent
first: "response codes do not occupy a buffer position", IBM 101/102-key keyboard
reference).  The controller takes one byte at a time when its own buffer is free, so
nothing is lost while the guest is slow or has the interface inhibited; key data that
does not fit is replaced by one overrun code.  The host presses keys by name
(:mod:`pyvmm.devices.keys`); the keyboard sends them in its current scan code set (1,
2 or 3) and, while a key is held, repeats its make code at the typematic rate on the
virtual clock.  Set 3 is meant to be read untranslated: through the 8042's translation
its codes that no set-2 key uses pass unchanged here (see keys.SET2_TO_SET1).

Commands from the host (AT/PS/2 keyboard command set): FF reset, FE resend, F6 set
defaults, F5 disable, F4 enable, F3 typematic rate/delay, F2 identify, F0 scan code
set (1, 2, 3), EE echo, ED LEDs, and for set 3 the key types: F7-FA set all keys
typematic / make-break / make only / all three, FB-FD set the listed keys (their set-3
codes follow, each acknowledged, until the next command).
"""
from .base import Device
from . import keys

ACK = 0xFA
RESEND = 0xFE
BAT_OK = 0xAA
ECHO = 0xEE
ID = (0xAB, 0x83)           # MF II keyboard
QUEUE_SIZE = 16             # the keyboard's own buffer
DEFAULT_TYPEMATIC = 0x2B    # 10.9 characters/s after 500 ms

# set-3 key types, per set-3 code: bit 0 sends a break code, bit 1 repeats
TYPE_BREAK, TYPE_REPEAT = 1, 2
# F7-FA (all keys) and FB-FD (listed keys): typematic, make/break, make only, all
TYPE_OF_COMMAND = {0xF7: TYPE_REPEAT, 0xF8: TYPE_BREAK, 0xF9: 0,
                   0xFA: TYPE_BREAK | TYPE_REPEAT,
                   0xFB: TYPE_REPEAT, 0xFC: TYPE_BREAK, 0xFD: 0}


def _set3_default_types():
    types = [TYPE_REPEAT] * 256
    for k in keys.KEYS.values():
        if k.set3 is not None and k.name in keys.SET3_MAKE_BREAK:
            types[k.set3] = TYPE_BREAK
    return tuple(types)


SET3_DEFAULT_TYPES = _set3_default_types()


def typematic_times(value):
    """(delay, period) in microseconds encoded by an F3 parameter byte."""
    delay = (((value >> 5) & 3) + 1) * 250_000
    # period = (8 + A) * 2**B * 4.17 ms, A = bits 0-2, B = bits 3-4
    period = ((8 + (value & 7)) << ((value >> 3) & 3)) * 4170
    return delay, period


class PS2Keyboard(Device):
    name = "ps2kbd"
    STATE_VERSION = 1
    STATE_FIELDS = ("queue", "replies", "last_sent", "pending_cmd", "scancode_set", "leds",
                    "typematic_byte", "key_types", "scanning", "resetting", "held", "repeat_key")

    def __init__(self, typematic=True, bat_delay_us=5000):
        """``typematic=False`` turns off the keyboard's own key repeat, for a host
        frontend that sends its own repeats as extra :meth:`key_down` calls."""
        self.typematic = bool(typematic)
        self.bat_delay_us = int(bat_delay_us)
        self.port = None          # the controller; it provides data_ready()
        self._set_power_on()

    def _set_power_on(self):
        self.queue = []           # key data, at most QUEUE_SIZE bytes plus an overrun code
        self.replies = []         # the unsent reply to the last command
        self.last_sent = 0
        self.pending_cmd = 0      # a command waiting for its parameter byte
        self.scancode_set = 2
        self.leds = 0
        self.typematic_byte = DEFAULT_TYPEMATIC
        self.key_types = list(SET3_DEFAULT_TYPES)
        self.scanning = True
        self.resetting = False    # between the ACK of FF and the BAT code
        self.held = []            # names of keys the host holds down, oldest first
        self.repeat_key = ""      # the key being repeated ("" when none)

    def attach(self, board):
        super().attach(board)
        self.clock = board.clock
        self.bat_timer = self.clock.timer(f"{self.name}.bat", self._bat_done)
        self.repeat_timer = self.clock.timer(f"{self.name}.typematic", self._repeat)

    def reset(self, kind="hard"):
        self._set_power_on()
        self.bat_timer.cancel()
        self.repeat_timer.cancel()

    # -- link to the controller -------------------------------------------------------
    def has_data(self):
        return bool(self.replies or self.queue)

    def read(self):
        """The controller clocks the next byte out of the keyboard."""
        self.last_sent = (self.replies or self.queue).pop(0)
        return self.last_sent

    def _reply(self, data):
        self.replies.extend(data)
        self._notify()

    def _notify(self):
        if self.port is not None:
            self.port.data_ready()

    def _send_keycode(self, data):
        """Key data obeys the buffer size: on overflow the overrun code replaces it."""
        if len(self.queue) + len(data) > QUEUE_SIZE:
            overrun = 0xFF if self.scancode_set == 1 else 0x00
            if not self.queue or self.queue[-1] != overrun:
                self.queue.append(overrun)
                self._notify()
            return
        self.queue.extend(data)
        self._notify()

    # -- commands from the host ---------------------------------------------------------
    def write(self, value):
        """A byte from the controller (the guest wrote it to port 60h)."""
        value &= 0xFF
        if self.resetting and value != 0xFF:
            return                # busy with the self-test; the byte is not taken
        cmd, self.pending_cmd = self.pending_cmd, 0
        if cmd and value < 0xED:  # a parameter (a command byte aborts the wait)
            self._parameter(cmd, value)
            return
        self.replies.clear()      # a new command abandons an unsent earlier reply
        if value in (0xED, 0xF3, 0xF0, 0xFB, 0xFC, 0xFD):
            self.pending_cmd = value
            self._reply((ACK,))
        elif value in (0xF7, 0xF8, 0xF9, 0xFA):
            self.key_types = [TYPE_OF_COMMAND[value]] * 256
            self._reply((ACK,))
        elif value == 0xEE:
            self._reply((ECHO,))
        elif value == 0xF2:
            self._reply((ACK,) + ID)
        elif value == 0xF4:
            self.queue.clear()
            self.scanning = True
            self._reply((ACK,))
        elif value == 0xF5:
            self._defaults()
            self.scanning = False
            self._reply((ACK,))
        elif value == 0xF6:
            self._defaults()
            self.scanning = True
            self._reply((ACK,))
        elif value == 0xFE:
            self._reply((self.last_sent,))
        elif value == 0xFF:
            self._defaults()
            self.leds = 0
            self.scancode_set = 2
            self.scanning = False
            self.resetting = True
            self._reply((ACK,))
            self.bat_timer.set_in(self.clock.cycles_from_seconds(self.bat_delay_us / 1e6))
        else:
            self._reply((RESEND,))

    def _parameter(self, cmd, value):
        if cmd == 0xED:
            self.leds = value & 7
            self._reply((ACK,))
        elif cmd == 0xF3:
            self.typematic_byte = value & 0x7F
            self._reply((ACK,))
        elif cmd != 0xF0:         # FB-FD: one key's set-3 code; more may follow
            self.key_types[value] = TYPE_OF_COMMAND[cmd]
            self.pending_cmd = cmd
            self.replies.clear()  # one ACK per list byte; an unsent older one is moot
            self._reply((ACK,))
        elif value == 0:          # F0 00: report the current set
            self._reply((ACK, self.scancode_set))
        elif value in (1, 2, 3):
            self.scancode_set = value
            self.queue.clear()
            self._stop_repeat()
            self._reply((ACK,))
        else:
            self._reply((RESEND,))

    def _defaults(self):
        """F5/F6/FF: default typematic and key types, empty buffer, no repeat."""
        self.typematic_byte = DEFAULT_TYPEMATIC
        self.key_types = list(SET3_DEFAULT_TYPES)
        self.queue.clear()
        self._stop_repeat()

    def _bat_done(self):
        self.resetting = False
        self.scanning = True
        self._reply((BAT_OK,))

    # -- keys from the host ----------------------------------------------------------------
    def key_down(self, name):
        """Press ``name`` (a :mod:`keys` name).  Pressing a key that is already held is a
        host-generated repeat and sends its make code again."""
        make = keys.make_code(name, self.scancode_set)
        if name not in self.held:
            self.held.append(name)
        if not self.scanning or not make:
            return
        self._send_keycode(make)
        # only the last key pressed repeats; a key that does not repeat ends it
        if self.typematic and self._key_type(name) & TYPE_REPEAT:
            self.repeat_key = name
            self.repeat_timer.set_in(self._cycles(typematic_times(self.typematic_byte)[0]))
        else:
            self._stop_repeat()

    def key_up(self, name):
        """Release ``name``; a key that is not held is ignored."""
        brk = keys.break_code(name, self.scancode_set)
        if name not in self.held:
            return
        self.held.remove(name)
        if name == self.repeat_key:
            self._stop_repeat()   # repeating ends with the release of its key
        if self.scanning and brk and self._key_type(name) & TYPE_BREAK:
            self._send_keycode(brk)

    def _key_type(self, name):
        if self.scancode_set == 3:
            return self.key_types[keys.KEYS[name].set3]
        return ((0 if name in keys.NO_BREAK else TYPE_BREAK)
                | (0 if name in keys.NO_REPEAT else TYPE_REPEAT))

    def _stop_repeat(self):
        self.repeat_key = ""
        self.repeat_timer.cancel()

    def _repeat(self):
        if not self.repeat_key or not self.scanning:
            return
        # "If a key is pressed and held down while keyboard transmission is
        # inhibited, only the first make code is stored in the buffer" (IBM).
        if not self.queue:
            self._send_keycode(keys.make_code(self.repeat_key, self.scancode_set))
        self.repeat_timer.set_in(self._cycles(typematic_times(self.typematic_byte)[1]))

    def _cycles(self, microseconds):
        return self.clock.cycles_from_seconds(microseconds / 1e6)
