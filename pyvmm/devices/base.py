"""The device lifecycle shared by every chip (ARCHITECTURE.md, contract 7).

* ``__init__(**options)`` stores options only: no ports, no timers, no files.
* ``attach(board)`` registers ports/MMIO on ``board.io``/``board.mem``, creates its
  timers on ``board.clock`` (with names prefixed by the device name) and takes the
  IRQ lines it drives from ``board.irq``.
* ``reset(kind)`` puts the chip in its power-on (``"hard"``) state.
* ``get_state() -> dict`` / ``set_state(dict)`` capture every field that affects
  behaviour as plain data (ints, bytes, lists, dicts, str), tagged with
  ``STATE_VERSION``.  Timers are saved by the clock, not by the device.

No module-level mutable state: two machines in one process share nothing.
"""
from ..errors import StateError


class Device:
    name = "device"
    STATE_VERSION = 1
    # names of attributes that get_state/set_state copy as plain data; a device with
    # simple state lists them here and inherits the default implementation.
    STATE_FIELDS = ()
    # field -> (lowest, highest) for numbers the device uses as an index or a byte, so a
    # hand-edited state is refused on load instead of failing later inside the guest's run
    STATE_RANGES = {}

    def attach(self, board):
        self.board = board

    def reset(self, kind="hard"):
        pass

    def get_state(self):
        state = {"version": self.STATE_VERSION}
        for field in self.STATE_FIELDS:
            value = getattr(self, field)
            state[field] = list(value) if isinstance(value, (list, bytearray)) and not isinstance(value, bytes) else value
        return state

    def set_state(self, state):
        if state.get("version") != self.STATE_VERSION:
            raise StateError(f"{self.name}: state version {state.get('version')} is not {self.STATE_VERSION}")
        for field, (lowest, highest) in self.STATE_RANGES.items():
            if not lowest <= state[field] <= highest:
                raise StateError(f"{self.name}: state field {field} = {state[field]!r} is outside {lowest}..{highest}")
        for field in self.STATE_FIELDS:
            current = getattr(self, field)
            value = state[field]
            if isinstance(current, bytearray):
                value = bytearray(value)
            elif isinstance(current, list):
                value = list(value)
            setattr(self, field, value)
