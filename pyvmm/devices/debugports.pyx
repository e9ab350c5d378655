# cython: language_level=3
"""Ports that exist for debugging guests, not on a real AT.

* :class:`PostPort` - port 80h, the POST checkpoint port that ISA "POST cards"
  display.  ``post_code`` holds the last byte written; with ``history=True`` every
  byte is also appended to ``post_history``.  Reads are left unclaimed (all ones),
  as a POST card does not drive the bus, unless ``readback=True``: then they return
  ``post_code`` (the benchmarks' port-I/O loop uses it as a latch in both
  directions).  It is a compiled PortDevice, so guest OUTs to it make no Python call.
* :class:`DebugConsole` - port E9h, the Bochs/QEMU "port E9 hack": bytes written are
  collected into lines and each finished line goes to ``board.emit_log``.  Reading
  the port returns E9h, which guests use to detect it.
* :class:`DebugExit` - QEMU's isa-debug-exit: writing V to port F4h ends the run
  with exit code ``(V << 1) | 1`` through ``board.request_exit``.  The machine
  attaches it only when its configuration asks for it.
"""
from libc.stdint cimport uint32_t

from .base import Device
from ..bus.ioport cimport PortDevice, PortRead, PortWrite
from ..errors import StateError


cdef class PostPort(PortDevice):
    cdef public int port, post_code
    cdef public bint history, readback
    cdef public list post_history
    cdef public object board

    name = "postcode"
    STATE_VERSION = 1

    def __cinit__(self):
        self.timeless = True

    def __init__(self, port=0x80, history=False, readback=False):
        self.port = port
        self.history = history
        self.readback = readback
        self.post_code = 0
        self.post_history = []
        self.board = None

    def attach(self, board):
        self.board = board
        board.io.register(self.port, 1, write8=PortWrite(self),
                          read8=PortRead(self) if self.readback else None, owner=self.name)

    def reset(self, kind="hard"):
        if kind == "hard":
            self.post_code = 0
            self.post_history = []

    cdef int io_read(self, uint32_t port) except -1:
        return self.post_code

    cdef int io_write(self, uint32_t port, uint32_t value) except -1:
        self.post_code = value
        if self.history:
            self.post_history.append(value)
        return 0

    def get_state(self):
        return {"version": self.STATE_VERSION, "post_code": self.post_code,
                "post_history": list(self.post_history)}

    def set_state(self, state):
        if state.get("version") != self.STATE_VERSION:
            raise StateError(f"{self.name}: state version {state.get('version')} is not {self.STATE_VERSION}")
        self.post_code = int(state["post_code"])
        self.post_history = list(state["post_history"])


class DebugConsole(Device):
    name = "debugcon"
    STATE_FIELDS = ("line",)

    def __init__(self, port=0xE9, encoding="cp437"):
        self.port = port
        self.encoding = encoding
        self.line = bytearray()

    def attach(self, board):
        super().attach(board)
        board.io.register(self.port, 1, read8=self._read, write8=self._write, owner=self.name)

    def reset(self, kind="hard"):
        self.flush()

    def _read(self, port):
        return 0xE9

    def _write(self, port, value):
        if value == 0x0A:
            self._emit()
        elif value != 0x0D:
            self.line.append(value)

    def flush(self):
        """Send an unfinished line (at reset or when the run ends)."""
        if self.line:
            self._emit()

    def _emit(self):
        text = bytes(self.line).decode(self.encoding, errors="replace")
        self.line = bytearray()
        self.board.emit_log(text)


class DebugExit(Device):
    name = "debugexit"

    def __init__(self, port=0xF4):
        self.port = port

    def attach(self, board):
        super().attach(board)
        board.io.register(self.port, 1, write8=self._write, owner=self.name)

    def _write(self, port, value):
        self.board.request_exit((value << 1) | 1)
