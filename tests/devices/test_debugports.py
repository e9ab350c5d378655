"""POST code port 80h, Bochs console port E9h and the F4h debug-exit port."""
import random

import pytest

from pyvmm.board import Board
from pyvmm.devices.debugports import DebugConsole, DebugExit, PostPort
from pyvmm.errors import BusConflict, StateError


def test_post_code_keeps_last_value():
    b = Board()
    post = b.attach(PostPort())
    for code in (0x01, 0x13, 0xAA):
        b.io.outb(0x80, code)
    assert post.post_code == 0xAA
    assert post.post_history == []
    assert b.io.inb(0x80) == 0xFF             # a POST card does not answer reads


def test_post_code_history_when_enabled():
    b = Board()
    post = b.attach(PostPort(history=True))
    for code in (0x01, 0x13, 0xAA):
        b.io.outb(0x80, code)
    assert post.post_history == [0x01, 0x13, 0xAA]
    post.reset()
    assert post.post_history == [] and post.post_code == 0


def test_e9_console_collects_lines():
    b = Board()
    con = b.attach(DebugConsole())
    assert b.io.inb(0xE9) == 0xE9
    for ch in b"hello\r\nwor":
        b.io.outb(0xE9, ch)
    assert b.log == ["hello"]
    for ch in b"ld\n\n":
        b.io.outb(0xE9, ch)
    assert b.log == ["hello", "world", ""]
    got = []
    b.log_sink = got.append
    for ch in b"\xc9\xcd\xbb":                # box drawing in code page 437
        b.io.outb(0xE9, ch)
    assert got == []
    con.flush()
    assert got == ["\u2554\u2550\u2557"]


def test_e9_partial_line_survives_state_round_trip():
    b = Board()
    con = b.attach(DebugConsole())
    for ch in b"abc":
        b.io.outb(0xE9, ch)
    state = con.get_state()
    c = Board()
    twin = c.attach(DebugConsole())
    twin.set_state(state)
    c.io.outb(0xE9, 0x0A)
    assert c.log == ["abc"]
    with pytest.raises(StateError):
        twin.set_state({"version": 3})


def test_debug_exit_code_convention():
    b = Board()
    b.attach(DebugExit())
    b.io.outb(0xF4, 0x10)
    assert b.exit_code == 0x21
    assert b.clock.deadline == b.clock.now
    b.io.outb(0xF4, 0x00)
    assert b.exit_code == 1


def test_debug_exit_port_option_and_conflicts():
    b = Board()
    b.attach(DebugExit(port=0x501))
    b.io.outb(0xF4, 3)
    assert b.exit_code is None
    b.io.outb(0x501, 3)
    assert b.exit_code == 7
    with pytest.raises(BusConflict):
        b.attach(DebugExit(port=0x501))


def test_two_boards_share_nothing():
    a, b = Board(), Board()
    pa, pb = a.attach(PostPort(history=True)), b.attach(PostPort(history=True))
    ca, cb = a.attach(DebugConsole()), b.attach(DebugConsole())
    a.io.outb(0x80, 0x55)
    a.io.outb(0xE9, ord("x"))
    assert pb.post_code == 0 and pb.post_history == []
    assert pa.post_history is not pb.post_history
    assert cb.line == bytearray()


def test_register_fuzz_never_raises():
    rng = random.Random(0xE9)
    b = Board()
    b.attach(PostPort(history=True))
    b.attach(DebugConsole())
    b.attach(DebugExit())
    for _ in range(10000):
        port = rng.choice((0x80, 0xE9, 0xF4))
        if rng.random() < 0.6:
            b.io.outb(port, rng.randrange(256))
        else:
            assert 0 <= b.io.inb(port) <= 0xFF
        b.clock.advance(rng.randrange(10))
    assert b.exit_code & 1


def test_post_code_readback_when_asked():
    b = Board()
    b.attach(PostPort(readback=True))
    b.io.outw(0x80, 0x1234)                   # 34h to 80h, 12h to 81h (nobody's)
    assert b.io.inb(0x80) == 0x34
    assert b.io.inw(0x80) == 0xFF34
