"""PS/2 mouse: the device on the 8042's auxiliary port (reached with command D4h).

Movement from the host is accumulated in the mouse's X/Y counters.  In stream mode
with data reporting enabled the mouse sends a 3-byte packet at most once per sample
interval (1/sample-rate seconds of virtual time), so many small host motions within
one interval coalesce into one packet, as the real sensor does.  In remote mode the
counters are only read out by Read Data (EBh).

Packet: byte 0 = Y overflow (7), X overflow (6), Y sign (5), X sign (4), always 1 (3),
middle (2), right (1), left (0); bytes 1 and 2 = the low 8 bits of the 9-bit two's
complement X and Y movement.  PS/2 counts Y positive upwards.

Host deltas are taken as counts as they come; the resolution (E8h) is stored and
reported but does not rescale them.
"""
from .base import Device

ACK = 0xFA
RESEND = 0xFE
BAT_OK = 0xAA
DEVICE_ID = 0x00            # standard PS/2 mouse (no wheel)
SAMPLE_RATES = (10, 20, 40, 60, 80, 100, 200)
BUTTON_LEFT, BUTTON_RIGHT, BUTTON_MIDDLE = 1, 2, 4


def _scale_2to1(d):
    """The 2:1 scaling curve of the PS/2 mouse (stream reports only)."""
    a = abs(d)
    s = (0, 1, 1, 3, 6, 9)[a] if a < 6 else 2 * a
    return -s if d < 0 else s


def _clip9(d):
    """(9-bit value, overflow flag) of a counter."""
    if d > 255:
        return 255, 1
    if d < -256:
        return -256, 1
    return d, 0


class PS2Mouse(Device):
    name = "ps2mouse"
    STATE_VERSION = 1
    STATE_FIELDS = ("queue", "last_packet", "pending_cmd", "remote", "wrap", "reporting",
                    "sample_rate", "resolution", "scaling_2to1", "buttons",
                    "reported_buttons", "dx", "dy", "next_sample", "resetting")

    def __init__(self, bat_delay_us=5000):
        self.bat_delay_us = int(bat_delay_us)
        self.port = None          # the controller; it provides data_ready()
        self._set_power_on()

    def _set_power_on(self):
        self.queue = []
        self.last_packet = [0]    # what FE (resend) repeats
        self.pending_cmd = 0      # a command waiting for its parameter byte
        self.buttons = 0          # buttons the host holds (bit 0 left, 1 right, 2 middle)
        self.reported_buttons = 0
        self.next_sample = 0      # first cycle at which the next stream packet may go
        self.resetting = False
        self._defaults()

    def _defaults(self):
        self.remote = False
        self.wrap = False
        self.reporting = False
        self.sample_rate = 100
        self.resolution = 2       # 4 counts/mm
        self.scaling_2to1 = False
        self.dx = 0
        self.dy = 0

    def attach(self, board):
        super().attach(board)
        self.clock = board.clock
        self.bat_timer = self.clock.timer(f"{self.name}.bat", self._bat_done)
        self.sample_timer = self.clock.timer(f"{self.name}.sample", self._sample)

    def reset(self, kind="hard"):
        self._set_power_on()
        self.bat_timer.cancel()
        self.sample_timer.cancel()

    # -- link to the controller -------------------------------------------------------
    def has_data(self):
        return bool(self.queue)

    def read(self):
        return self.queue.pop(0)

    def _send(self, data):
        self.last_packet = list(data)
        self.queue.extend(self.last_packet)
        if self.port is not None:
            self.port.data_ready()

    # -- commands from the host -----------------------------------------------------------
    def write(self, value):
        """A byte from the controller (the guest wrote D4h, then the byte to 60h)."""
        value &= 0xFF
        if self.resetting and value != 0xFF:
            return
        if self.wrap and value not in (0xEC, 0xFF):
            self.queue.clear()
            self._send((value,))  # wrap (echo) mode
            return
        cmd, self.pending_cmd = self.pending_cmd, 0
        if not cmd:
            self.queue.clear()    # a command stops whatever the mouse was sending
        if cmd == 0xF3:
            self._set_param(value in SAMPLE_RATES, "sample_rate", value)
        elif cmd == 0xE8:
            self._set_param(value <= 3, "resolution", value)
        elif value in (0xF3, 0xE8):
            self.pending_cmd = value
            self._send((ACK,))
        elif value == 0xFF:
            self.queue.clear()
            self.sample_timer.cancel()
            self._defaults()
            self.resetting = True
            self._send((ACK,))
            self.bat_timer.set_in(self.clock.cycles_from_seconds(self.bat_delay_us / 1e6))
        elif value == 0xFE:
            self._send(self.last_packet)
        elif value == 0xF6:
            self._defaults()
            self._send((ACK,))
        elif value == 0xF5:
            self.reporting = False
            self._clear_counters()
            self._send((ACK,))
        elif value == 0xF4:
            self.reporting = True
            self._clear_counters()
            self._send((ACK,))
        elif value == 0xF2:
            self._send((ACK, DEVICE_ID))
        elif value == 0xF0:
            self.remote = True
            self._clear_counters()
            self._send((ACK,))
        elif value == 0xEE:
            self.wrap = True
            self._clear_counters()
            self._send((ACK,))
        elif value == 0xEC:
            self.wrap = False
            self._clear_counters()
            self._send((ACK,))
        elif value == 0xEB:
            self._send([ACK] + self._packet(scaled=False))
        elif value == 0xEA:
            self.remote = False
            self._clear_counters()
            self._send((ACK,))
        elif value == 0xE9:
            status = (self.remote << 6 | self.reporting << 5 | self.scaling_2to1 << 4
                      | (self.buttons & BUTTON_LEFT) << 2
                      | (self.buttons & BUTTON_MIDDLE) >> 1
                      | (self.buttons & BUTTON_RIGHT) >> 1)
            self._send((ACK, status, self.resolution, self.sample_rate))
        elif value in (0xE6, 0xE7):
            self.scaling_2to1 = value == 0xE7
            self._send((ACK,))
        else:
            self._send((RESEND,))

    def _set_param(self, valid, field, value):
        if valid:
            setattr(self, field, value)
            self._send((ACK,))
        else:
            self._send((RESEND,))

    def _clear_counters(self):
        self.dx = 0
        self.dy = 0
        self.reported_buttons = self.buttons
        self.sample_timer.cancel()

    def _bat_done(self):
        self.resetting = False
        self._send((BAT_OK, DEVICE_ID))

    # -- the sensor --------------------------------------------------------------------------
    def move(self, dx, dy, buttons=None):
        """The host mouse moved by ``dx``, ``dy`` counts in PS/2 directions (x right,
        y UP: a window system's y must be negated); ``buttons`` (bit 0 left, 1 right,
        2 middle), when given, is the new button state."""
        if self.resetting:
            return
        self.dx += int(dx)
        self.dy += int(dy)
        if buttons is not None:
            self.buttons = int(buttons) & 7
        self._schedule()

    def set_buttons(self, buttons):
        """The host's buttons changed (bit 0 left, 1 right, 2 middle)."""
        self.move(0, 0, buttons)

    def _streaming(self):
        return self.reporting and not self.remote and not self.wrap and not self.resetting

    def _schedule(self):
        if not self._streaming() or self.sample_timer.active:
            return
        if self.dx or self.dy or self.buttons != self.reported_buttons:
            self.sample_timer.set(max(self.clock.now, self.next_sample))

    def _sample(self):
        if not self._streaming():
            return
        interval = self.clock.rate // self.sample_rate
        if self.queue:
            # the last packet has not left yet: keep counting for one more interval
            self.sample_timer.set_in(interval)
            return
        self.next_sample = self.clock.now + interval
        self._send(self._packet(scaled=self.scaling_2to1))

    def _packet(self, scaled):
        """Build a movement packet from the counters and clear them."""
        dx, dy = self.dx, self.dy
        if scaled:
            dx, dy = _scale_2to1(dx), _scale_2to1(dy)
        dx, x_over = _clip9(dx)
        dy, y_over = _clip9(dy)
        head = (y_over << 7 | x_over << 6 | (dy < 0) << 5 | (dx < 0) << 4 | 0x08
                | self.buttons & 7)
        self.dx = 0
        self.dy = 0
        self.reported_buttons = self.buttons
        return [head, dx & 0xFF, dy & 0xFF]
