"""Intel 8042 keyboard controller as programmed on the PC/AT and PS/2 (ports 60h, 64h).

The controller sits between the CPU and two serial devices, a PS/2 keyboard
(:class:`PS2Keyboard`) and a PS/2 mouse on the auxiliary port (:class:`PS2Mouse`).
Reading 60h takes the one-byte output buffer; writing 60h sends a byte to the keyboard
or supplies the parameter of the last controller command; reading 64h gives the status
register; writing 64h gives the controller a command.

The devices keep their own queues.  Whenever the output buffer is empty and a device
has a byte, the next byte is moved in after ``byte_delay_us`` of virtual time - the
time a byte takes on the wire (the controller's own replies to 20h, AAh ... are there
at once if the buffer is free) - and IRQ 1 (keyboard, controller replies) or IRQ 12
(mouse) is raised if the command byte enables it.  Reading 60h lowers
the line, so an interrupt handler sees exactly one byte per interrupt.  With the
translate bit of the command byte set the controller turns the keyboard's set-2 codes
into set 1, folding each F0 break prefix into bit 7 of the following code.

Writes are taken at once, so the input buffer is never full (IBF reads 0); the wire
has no errors, so the parity bit stays 0.  The general time-out bit is set when a byte
is sent to the auxiliary port with no mouse connected.
"""
from ..errors import StateError
from .base import Device
from .keys import SET2_TO_SET1
from .ps2kbd import PS2Keyboard
from .ps2mouse import PS2Mouse

DATA_PORT = 0x60
STATUS_PORT = 0x64

# status register (read 64h)
ST_OBF = 0x01           # output buffer full
ST_IBF = 0x02           # input buffer full
ST_SYS = 0x04           # system flag (command byte bit 2)
ST_CMD = 0x08           # last write was to 64h (command), not 60h (data)
ST_UNLOCKED = 0x10      # keyboard lock switch off: keyboard not inhibited
ST_AUX_OBF = 0x20       # the output buffer holds a byte from the mouse
ST_TIMEOUT = 0x40
ST_PARITY = 0x80

# command byte (controller RAM byte 0)
CB_IRQ1 = 0x01
CB_IRQ12 = 0x02
CB_SYS = 0x04
CB_KBD_OFF = 0x10       # keyboard clock held low: interface disabled
CB_AUX_OFF = 0x20
CB_TRANSLATE = 0x40
CB_POWER_ON = CB_TRANSLATE | CB_AUX_OFF | CB_IRQ1

# output port (D0h/D1h)
OP_RESET = 0x01         # CPU reset line, active low
OP_A20 = 0x02
OP_IRQ1 = 0x10          # mirrors of the two interrupt outputs
OP_IRQ12 = 0x20
# power-on: CPU running, A20 on, the four PS/2 clock and data lines released
OP_POWER_ON = 0xCF

# input port (C0h): keyboard not inhibited, no manufacturing jumper, 512K on the
# system board, colour display; the idle PS/2 data lines (bits 0-1) read high.
INPUT_PORT = 0xB3

# where the byte in the output buffer came from
SRC_CTRL, SRC_KBD, SRC_AUX = 0, 1, 2


class KBC8042(Device):
    name = "kbc"
    STATE_VERSION = 1
    STATE_FIELDS = ("ram", "output_buffer", "obf", "source", "cmd_flag", "timeout",
                    "pending_cmd", "output_port", "ctrl_queue", "xlat_break")

    def __init__(self, mouse=True, typematic=True, byte_delay_us=500, bat_delay_us=5000):
        """``mouse=False`` leaves the auxiliary port empty; ``typematic=False`` turns
        off the keyboard's own key repeat (for a frontend that repeats keys itself)."""
        self.byte_delay_us = int(byte_delay_us)
        self.keyboard = PS2Keyboard(typematic=typematic, bat_delay_us=bat_delay_us)
        self.mouse = PS2Mouse(bat_delay_us=bat_delay_us) if mouse else None
        self.keyboard.port = self
        if self.mouse is not None:
            self.mouse.port = self
        self._set_power_on()

    def _set_power_on(self):
        self.ram = [0] * 32       # internal RAM; byte 0 is the command byte
        self.ram[0] = CB_POWER_ON
        self.output_buffer = 0
        self.obf = False
        self.source = SRC_CTRL
        self.cmd_flag = True
        self.timeout = False
        self.pending_cmd = 0      # a command waiting for its data byte on 60h
        self.output_port = OP_POWER_ON
        self.ctrl_queue = []      # the controller's pending reply [value, source], served first
        self.xlat_break = False   # an F0 was swallowed by translation

    def attach(self, board):
        super().attach(board)
        board.kbc = self
        self.clock = board.clock
        self.irq1 = board.irq[1]
        self.irq12 = board.irq[12]
        board.io.register(DATA_PORT, read8=self._read_data, write8=self._write_data,
                          owner=self.name)
        board.io.register(STATUS_PORT, read8=self._read_status, write8=self._write_command,
                          owner=self.name)
        self.fill_timer = self.clock.timer(f"{self.name}.fill", self._fill)
        self.keyboard.attach(board)
        if self.mouse is not None:
            self.mouse.attach(board)
        self.reset("hard")

    def reset(self, kind="hard"):
        if kind == "cpu":
            return                # the 8042 only drives the CPU's reset line
        self._set_power_on()
        self.fill_timer.cancel()
        self.keyboard.reset(kind)
        if self.mouse is not None:
            self.mouse.reset(kind)
        self._update_irq()
        self.board.set_a20(True)

    # -- host side ---------------------------------------------------------------------------
    def key_down(self, name):
        self.keyboard.key_down(name)

    def key_up(self, name):
        self.keyboard.key_up(name)

    def mouse_move(self, dx, dy, buttons=None):
        """Move the mouse by PS/2 counts (y positive = up); a no-op without a mouse."""
        if self.mouse is not None:
            self.mouse.move(dx, dy, buttons)

    # -- output buffer ----------------------------------------------------------------------
    def data_ready(self):
        """A device has bytes: fetch the next one after a wire delay if the buffer is free."""
        if not self.obf and not self.fill_timer.active:
            self.fill_timer.set_in(self.clock.cycles_from_seconds(self.byte_delay_us / 1e6))

    def _fill(self):
        if self.obf:
            return
        if self.ctrl_queue:
            value, source = self.ctrl_queue.pop(0)
            self._load(value, source)
            return
        kbd = self.keyboard
        if not self.ram[0] & CB_KBD_OFF:
            while kbd.has_data():
                value = kbd.read()
                if self.ram[0] & CB_TRANSLATE:
                    if value == 0xF0:
                        self.xlat_break = True
                        continue
                    value = SET2_TO_SET1[value] | (0x80 if self.xlat_break else 0)
                    self.xlat_break = False
                self._load(value, SRC_KBD)
                return
        mouse = self.mouse
        if mouse is not None and not self.ram[0] & CB_AUX_OFF and mouse.has_data():
            self._load(mouse.read(), SRC_AUX)

    def _load(self, value, source):
        self.output_buffer = value
        self.source = source
        self.obf = True
        self._update_irq()

    def _reply(self, value, source=SRC_CTRL):
        """A byte the controller itself puts in the output buffer, with no wire delay
        (``source`` says which interrupt it raises: D2h/D3h pose as a device).  While
        the buffer is full one reply waits; a newer one replaces it, so a guest that
        never reads cannot pile replies up."""
        self.ctrl_queue[:] = [[value, source]]
        if not self.obf:
            self.fill_timer.cancel()
            self._fill()

    def _update_irq(self):
        cb = self.ram[0]
        self.irq1.set(self.obf and self.source != SRC_AUX and cb & CB_IRQ1)
        self.irq12.set(self.obf and self.source == SRC_AUX and cb & CB_IRQ12)

    def _after_change(self):
        """Interfaces or enables changed: update the lines and look for waiting data."""
        self._update_irq()
        if self._anything_waiting():
            self.data_ready()

    def _anything_waiting(self):
        if self.ctrl_queue:
            return True
        if not self.ram[0] & CB_KBD_OFF and self.keyboard.has_data():
            return True
        return (self.mouse is not None and not self.ram[0] & CB_AUX_OFF
                and self.mouse.has_data())

    # -- port 60h ------------------------------------------------------------------------------
    def _read_data(self, port):
        value = self.output_buffer
        self.obf = False
        self._update_irq()
        if self._anything_waiting():
            self.data_ready()
        return value

    def _write_data(self, port, value):
        self.cmd_flag = False
        self.timeout = False
        cmd, self.pending_cmd = self.pending_cmd, 0
        if 0x60 <= cmd <= 0x7F:
            self.ram[cmd & 0x1F] = value
            self._after_change()
        elif cmd == 0xD1:
            self._write_output_port(value)
        elif cmd == 0xD2:
            self._reply(value, SRC_KBD)
        elif cmd == 0xD3:
            self._reply(value, SRC_AUX)
        elif cmd == 0xD4:
            self._send_aux(value)
        else:
            # sending to the keyboard drives its clock, which re-enables the interface
            self.ram[0] &= ~CB_KBD_OFF
            self.keyboard.write(value)
            self._after_change()

    def _send_aux(self, value):
        if self.mouse is None:
            self.timeout = True
            self._reply(0xFE, SRC_AUX)
            return
        self.ram[0] &= ~CB_AUX_OFF
        self.mouse.write(value)
        self._after_change()

    def _write_output_port(self, value):
        # Bit 0 low pulses the CPU's reset; the line is released when the CPU restarts.
        self.output_port = value | OP_RESET
        self.board.set_a20(bool(value & OP_A20))
        if not value & OP_RESET:
            self.board.request_reset("cpu")

    def _read_output_port(self):
        port = self.output_port & ~(OP_IRQ1 | OP_IRQ12)
        return port | (OP_IRQ1 if self.irq1.level else 0) | (OP_IRQ12 if self.irq12.level else 0)

    # -- port 64h ------------------------------------------------------------------------------
    def _read_status(self, port):
        status = ST_UNLOCKED
        if self.obf:
            status |= ST_OBF
            if self.source == SRC_AUX:
                status |= ST_AUX_OBF
        if self.ram[0] & CB_SYS:
            status |= ST_SYS
        if self.cmd_flag:
            status |= ST_CMD
        if self.timeout:
            status |= ST_TIMEOUT
        return status

    def _write_command(self, port, cmd):
        self.cmd_flag = True
        self.pending_cmd = 0
        if 0x20 <= cmd <= 0x3F:
            self._reply(self.ram[cmd & 0x1F])
        elif 0x60 <= cmd <= 0x7F or cmd in (0xD1, 0xD2, 0xD3, 0xD4):
            self.pending_cmd = cmd
        elif cmd == 0xA7:
            self.ram[0] |= CB_AUX_OFF
            self._after_change()
        elif cmd == 0xA8:
            self.ram[0] &= ~CB_AUX_OFF
            self._after_change()
        elif cmd == 0xA9 or cmd == 0xAB:
            self._reply(0x00)     # interface test: clock and data lines fine
        elif cmd == 0xAA:
            # a passed self-test sets the system flag (IBM PS/2 technical reference)
            self.ram[0] |= CB_SYS
            self._reply(0x55)
        elif cmd == 0xAD:
            self.ram[0] |= CB_KBD_OFF
            self._after_change()
        elif cmd == 0xAE:
            self.ram[0] &= ~CB_KBD_OFF
            self._after_change()
        elif cmd == 0xC0:
            self._reply(INPUT_PORT)
        elif cmd == 0xD0:
            self._reply(self._read_output_port())
        elif cmd == 0xDD:
            self._set_a20(False)
        elif cmd == 0xDF:
            self._set_a20(True)
        elif cmd == 0xE0:
            # test inputs T0/T1: keyboard and mouse clock lines, high unless held off
            self._reply((0 if self.ram[0] & CB_KBD_OFF else 1)
                        | (0 if self.ram[0] & CB_AUX_OFF else 2))
        elif cmd >= 0xF0 and not cmd & 0x01:
            # F0-FF pulse the output port lines whose bit is 0; bit 0 is CPU reset
            self.board.request_reset("cpu")

    def _set_a20(self, enabled):
        self.output_port = (self.output_port | OP_A20) if enabled else (self.output_port & ~OP_A20)
        self.board.set_a20(enabled)

    # -- state -----------------------------------------------------------------------------------
    def get_state(self):
        state = super().get_state()
        state["ctrl_queue"] = [list(entry) for entry in self.ctrl_queue]
        state["keyboard"] = self.keyboard.get_state()
        state["mouse"] = self.mouse.get_state() if self.mouse is not None else None
        return state

    def set_state(self, state):
        if (state.get("mouse") is None) != (self.mouse is None):
            raise StateError(f"{self.name}: state and machine disagree on a PS/2 mouse")
        super().set_state(state)
        self.ctrl_queue = [list(entry) for entry in state["ctrl_queue"]]
        self.keyboard.set_state(state["keyboard"])
        if self.mouse is not None:
            self.mouse.set_state(state["mouse"])
        self._update_irq()
