"""8042 keyboard controller: ports 60h/64h, IRQ 1/12 and the virtual clock only."""
import random

import pytest

from pyvmm.board import Board
from pyvmm.devices.kbc8042 import KBC8042
from pyvmm.errors import StateError

DATA, STATUS = 0x60, 0x64
OBF, IBF, SYS, CMD, UNLOCKED, AUX_OBF, TIMEOUT, PARITY = (1 << n for n in range(8))


def machine(**options):
    board = Board()
    kbc = board.attach(KBC8042(**options))
    return board, kbc


def ms(board, n=1):
    board.clock.advance(board.clock.cycles_from_seconds(n / 1000))


def status(board):
    return board.io.inb(STATUS)


def command(board, cmd, data=None):
    board.io.outb(STATUS, cmd)
    if data is not None:
        board.io.outb(DATA, data)


def receive(board, limit_ms=50):
    """Every byte that reaches the output buffer within ``limit_ms``, read one per
    interrupt, with the IRQ 1 / IRQ 12 levels seen just before each read."""
    got = []
    for _ in range(limit_ms * 10):
        if status(board) & OBF:
            lines = (board.irq[1].level, board.irq[12].level)
            got.append((board.io.inb(DATA), lines))
        board.clock.advance(board.clock.cycles_from_seconds(0.0001))
    return got


def data(board, limit_ms=50):
    return [b for b, _ in receive(board, limit_ms)]


def reply(board):
    assert status(board) & OBF, "controller reply must be ready at once"
    return board.io.inb(DATA)


def set_translate(board, on):
    command(board, 0x60, 0x47 if on else 0x07)   # IRQ 1 + IRQ 12 + system flag


# -- BIOS initialisation -------------------------------------------------------------------
def test_bios_init_sequence_status_bits_at_each_step():
    board, kbc = machine()
    io = board.io
    st = status(board)
    assert st & (OBF | IBF | AUX_OBF | TIMEOUT | PARITY) == 0
    assert st & UNLOCKED and not st & SYS          # power-on: system flag clear

    command(board, 0xAA)                            # controller self-test
    st = status(board)
    assert st & OBF and st & CMD and st & SYS and not st & AUX_OBF
    assert io.inb(DATA) == 0x55
    assert not status(board) & OBF

    command(board, 0xAB)                            # keyboard interface test
    assert reply(board) == 0x00

    command(board, 0x60)                            # write command byte ...
    assert status(board) & CMD
    io.outb(DATA, 0x45)                             # IRQ1, system flag, translate
    st = status(board)
    assert not st & CMD and not st & OBF and st & SYS
    command(board, 0x20)
    assert reply(board) == 0x45

    edges = board.irq[1].rising_edges
    io.outb(DATA, 0xFF)                             # keyboard reset
    assert not status(board) & OBF                  # the ACK needs time on the wire
    got = receive(board)
    assert got == [(0xFA, (1, 0)), (0xAA, (1, 0))]
    assert board.irq[1].rising_edges == edges + 2   # one interrupt per byte
    assert board.irq[1].level == 0

    io.outb(DATA, 0xED)                             # LEDs: num lock
    assert data(board) == [0xFA]
    io.outb(DATA, 0x02)
    assert data(board) == [0xFA]
    assert kbc.keyboard.leds == 0x02

    io.outb(DATA, 0xF4)                             # enable scanning
    assert data(board) == [0xFA]
    kbc.key_down("A")
    assert receive(board) == [(0x1E, (1, 0))]


def test_command_byte_and_internal_ram():
    board, kbc = machine()
    command(board, 0x20)
    assert reply(board) == 0x61                     # power-on: translate, aux off, IRQ1
    command(board, 0x65, 0x5A)                      # RAM byte 5
    command(board, 0x25)
    assert reply(board) == 0x5A
    command(board, 0xA8)
    command(board, 0x20)
    assert not reply(board) & 0x20
    command(board, 0xA7)
    command(board, 0xAD)
    command(board, 0x20)
    assert reply(board) & 0x30 == 0x30
    command(board, 0xAE)
    command(board, 0x20)
    assert reply(board) & 0x30 == 0x20


def test_interface_tests_input_port_and_test_inputs():
    board, kbc = machine()
    command(board, 0xA9)
    assert reply(board) == 0x00
    command(board, 0xC0)
    assert reply(board) & 0x80                      # keyboard not inhibited
    command(board, 0xA8)
    command(board, 0xE0)
    assert reply(board) == 0x03                     # both clock lines released
    command(board, 0xAD)
    command(board, 0xA7)
    command(board, 0xE0)
    assert reply(board) == 0x00


# -- scan codes through the controller -----------------------------------------------------------
def test_key_press_translated_to_set_1_with_one_irq_per_byte():
    board, kbc = machine()
    set_translate(board, True)
    kbc.key_down("A")
    kbc.key_up("A")
    assert receive(board) == [(0x1E, (1, 0)), (0x9E, (1, 0))]
    edges = board.irq[1].rising_edges
    kbc.key_down("UP")
    kbc.key_up("UP")
    assert data(board) == [0xE0, 0x48, 0xE0, 0xC8]
    assert board.irq[1].rising_edges == edges + 4
    kbc.key_down("RCTRL")
    kbc.key_up("RCTRL")
    assert data(board) == [0xE0, 0x1D, 0xE0, 0x9D]


def test_key_press_untranslated_is_set_2():
    board, kbc = machine()
    set_translate(board, False)
    kbc.key_down("A")
    kbc.key_up("A")
    assert data(board) == [0x1C, 0xF0, 0x1C]
    kbc.key_down("UP")
    kbc.key_up("UP")
    assert data(board) == [0xE0, 0x75, 0xE0, 0xF0, 0x75]
    kbc.key_down("PRINTSCREEN")
    kbc.key_up("PRINTSCREEN")
    assert data(board) == [0xE0, 0x12, 0xE0, 0x7C, 0xE0, 0xF0, 0x7C, 0xE0, 0xF0, 0x12]


def test_pause_sends_its_e1_sequence_on_press_only():
    board, kbc = machine()
    set_translate(board, True)
    kbc.key_down("PAUSE")
    kbc.key_up("PAUSE")
    assert data(board) == [0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5]
    set_translate(board, False)
    kbc.key_down("PAUSE")
    kbc.key_up("PAUSE")
    assert data(board) == [0xE1, 0x14, 0x77, 0xE1, 0xF0, 0x14, 0xF0, 0x77]


def test_printscreen_translated():
    board, kbc = machine()
    kbc.key_down("PRINTSCREEN")
    kbc.key_up("PRINTSCREEN")
    assert data(board) == [0xE0, 0x2A, 0xE0, 0x37, 0xE0, 0xB7, 0xE0, 0xAA]


def test_keyboard_in_set_1_untranslated():
    board, kbc = machine()
    set_translate(board, False)
    board.io.outb(DATA, 0xF0)
    board.io.outb(DATA, 0x01)
    assert data(board) == [0xFA, 0xFA]
    kbc.key_down("HOME")
    kbc.key_up("HOME")
    assert data(board) == [0xE0, 0x47, 0xE0, 0xC7]


def test_identify_and_scancode_set_query_seen_through_translation():
    board, kbc = machine()
    board.io.outb(DATA, 0xF2)
    assert data(board) == [0xFA, 0xAB, 0x41]
    board.io.outb(DATA, 0xF0)
    board.io.outb(DATA, 0x00)
    assert data(board) == [0xFA, 0xFA, 0x41]        # "set 2" as software sees it
    set_translate(board, False)
    board.io.outb(DATA, 0xF2)
    assert data(board) == [0xFA, 0xAB, 0x83]


def test_output_buffer_holds_one_byte_and_device_keeps_the_rest():
    board, kbc = machine()
    for name in ("Q", "W", "E"):
        kbc.key_down(name)
    ms(board, 20)                                   # nobody reads
    assert status(board) & OBF
    assert board.irq[1].rising_edges == 1
    assert board.io.inb(DATA) == 0x10
    assert not status(board) & OBF                  # next byte follows after a delay
    assert board.irq[1].level == 0
    assert data(board) == [0x11, 0x12]
    assert board.irq[1].rising_edges == 3


def test_disabled_keyboard_interface_holds_keys_until_enabled():
    board, kbc = machine()
    command(board, 0xAD)
    kbc.key_down("Z")
    assert data(board) == []
    command(board, 0xAE)
    assert data(board) == [0x2C]


def test_irq_enable_bits_gate_the_lines_not_the_buffer():
    board, kbc = machine()
    command(board, 0x60, 0x44)                      # translate, no interrupts
    kbc.key_down("X")
    ms(board, 5)
    assert status(board) & OBF and board.irq[1].level == 0
    command(board, 0x60, 0x45)                      # enabling IRQ 1 raises the line
    assert board.irq[1].level == 1
    assert board.io.inb(DATA) == 0x2D
    assert board.irq[1].level == 0


def test_write_keyboard_and_aux_output_buffer():
    board, kbc = machine()
    command(board, 0x60, 0x47)
    command(board, 0xD2, 0x9C)
    st = status(board)
    assert st & OBF and not st & AUX_OBF and board.irq[1].level and not board.irq[12].level
    assert board.io.inb(DATA) == 0x9C               # not translated
    command(board, 0xD3, 0x42)
    st = status(board)
    assert st & OBF and st & AUX_OBF and board.irq[12].level and not board.irq[1].level
    assert board.io.inb(DATA) == 0x42
    assert board.irq[12].level == 0
    assert not status(board) & AUX_OBF


def test_no_mouse_times_out():
    board, kbc = machine(mouse=False)
    assert kbc.mouse is None
    command(board, 0xD4, 0xF4)
    st = status(board)
    assert st & TIMEOUT and st & AUX_OBF
    assert board.io.inb(DATA) == 0xFE
    board.io.outb(DATA, 0xEE)                       # next write clears the time-out
    assert not status(board) & TIMEOUT


# -- A20 and reset ------------------------------------------------------------------------------
def test_a20_through_output_port():
    board, kbc = machine()
    assert board.mem.a20_enabled
    command(board, 0xD0)
    port = reply(board)
    assert port & 0x03 == 0x03                      # CPU running, A20 on
    command(board, 0xD1, 0xDD)                      # the classic "A20 off" value
    assert not board.mem.a20_enabled
    command(board, 0xD0)
    assert reply(board) & 0x02 == 0
    command(board, 0xD1, 0xDF)
    assert board.mem.a20_enabled
    assert board.reset_requested is None
    command(board, 0xDD)
    assert not board.mem.a20_enabled
    command(board, 0xDF)
    assert board.mem.a20_enabled
    command(board, 0xD0)
    assert reply(board) & 0x02


def test_output_port_shows_interrupt_lines():
    board, kbc = machine()
    command(board, 0x60, 0x47)                      # IRQ 1 and IRQ 12 enabled
    command(board, 0xD2, 0x11)                      # IRQ 1 active ...
    command(board, 0xD0)                            # ... when the port is read
    assert board.io.inb(DATA) == 0x11
    assert data(board)[0] & 0x30 == 0x10
    command(board, 0xD3, 0x22)                      # IRQ 12 active
    command(board, 0xD0)
    assert board.io.inb(DATA) == 0x22
    assert data(board)[0] & 0x30 == 0x20


def test_reset_through_output_port():
    board, kbc = machine()
    command(board, 0xD1, 0x02)                      # bit 0 low: reset the CPU
    assert board.reset_requested == "cpu"
    assert board.mem.a20_enabled


@pytest.mark.parametrize("cmd, resets", [(0xFE, True), (0xF0, True), (0xFF, False),
                                         (0xF1, False), (0xFC, True)])
def test_pulse_output_lines(cmd, resets):
    board, kbc = machine()
    command(board, cmd)
    assert (board.reset_requested == "cpu") is resets
    assert board.mem.a20_enabled                    # pulses leave A20 alone


def test_cpu_reset_leaves_controller_alone_but_hard_reset_does_not():
    board, kbc = machine()
    command(board, 0x60, 0x07)
    command(board, 0xDD)
    kbc.reset("cpu")
    command(board, 0x20)
    assert reply(board) == 0x07
    kbc.reset("hard")
    command(board, 0x20)
    assert reply(board) == 0x61
    assert board.mem.a20_enabled


# -- robustness ----------------------------------------------------------------------------------
def test_register_fuzz_never_raises_and_state_round_trips():
    rng = random.Random(8042)
    board, kbc = machine()
    names = ["A", "UP", "PAUSE", "LSHIFT", "PRINTSCREEN", "KP_ENTER", "F12", "INTL_RO"]
    for step in range(6000):
        r = rng.random()
        if r < 0.3:
            board.io.inb(rng.choice((DATA, STATUS)))
        elif r < 0.55:
            board.io.outb(STATUS, rng.randrange(256))
        elif r < 0.8:
            board.io.outb(DATA, rng.randrange(256))
        elif r < 0.87:
            (kbc.key_down if rng.random() < 0.6 else kbc.key_up)(rng.choice(names))
        elif r < 0.93:
            kbc.mouse_move(rng.randrange(-400, 400), rng.randrange(-400, 400),
                           rng.randrange(8))
        else:
            board.clock.advance(rng.randrange(1, 40000))
        board.reset_requested = None
        # device buffers stay bounded whatever the guest does
        assert len(kbc.keyboard.queue) <= 17 and len(kbc.keyboard.replies) <= 3
        assert len(kbc.mouse.queue) <= 4 and len(kbc.ctrl_queue) <= 1
    # state is plain data and a second machine restored from it behaves the same
    state = kbc.get_state()
    other_board, other = machine()
    other_board.clock.set_state(board.clock.get_state())
    other.set_state(state)
    assert other.get_state() == state
    board.clock.advance(100000)
    other_board.clock.advance(100000)
    for _ in range(50):
        assert [b.io.inb(p) for b, p in ((board, STATUS), (board, DATA))] == \
               [other_board.io.inb(p) for p in (STATUS, DATA)]
        board.clock.advance(5000)
        other_board.clock.advance(5000)


def test_two_boards_share_nothing():
    board_a, a = machine()
    board_b, b = machine()
    set_translate(board_a, False)
    a.key_down("A")
    command(board_a, 0xDD)
    ms(board_a, 5)
    ms(board_b, 5)
    assert status(board_a) & OBF and not status(board_b) & OBF
    assert board_b.mem.a20_enabled and not board_a.mem.a20_enabled
    assert b.keyboard.held == [] and a.keyboard.held == ["A"]
    command(board_b, 0x20)
    assert reply(board_b) == 0x61
    assert board_a.io.inb(DATA) == 0x1C


def test_state_of_a_machine_without_mouse_is_refused_by_one_with():
    board, kbc = machine(mouse=False)
    state = kbc.get_state()
    other_board, other = machine()
    with pytest.raises(StateError):
        other.set_state(state)
    with pytest.raises(StateError):
        other.set_state(dict(other.get_state(), version=99))
