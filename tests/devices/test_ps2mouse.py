"""PS/2 mouse on the 8042's auxiliary port: ports, IRQ 12 and the clock only."""
from pyvmm.board import Board
from pyvmm.devices.kbc8042 import KBC8042

DATA, STATUS = 0x60, 0x64
OBF, AUX_OBF = 0x01, 0x20


def machine(**options):
    board = Board()
    kbc = board.attach(KBC8042(**options))
    board.io.outb(STATUS, 0xA8)                     # enable the auxiliary interface
    board.io.outb(STATUS, 0x60)
    board.io.outb(DATA, 0x47)                       # IRQ 1 + IRQ 12, translate
    return board, kbc


def ms(board, n):
    return board.clock.cycles_from_seconds(n / 1000)


def receive(board, limit_ms=30):
    """Bytes from the output buffer, each with (AUX_OBF set, IRQ 12 level) at read time."""
    got = []
    step = ms(board, 0.1)
    for _ in range(int(limit_ms * 10)):
        st = board.io.inb(STATUS)
        if st & OBF:
            flags = (bool(st & AUX_OBF), board.irq[12].level)
            got.append((board.io.inb(DATA), flags))
            assert board.irq[12].level == 0         # reading 60h lowers the line
        board.clock.advance(step)
    return got


def data(board, limit_ms=30):
    return [b for b, _ in receive(board, limit_ms)]


def aux(board, *values):
    """Send bytes to the mouse through D4h, each followed by its reply."""
    out = []
    for v in values:
        board.io.outb(STATUS, 0xD4)
        board.io.outb(DATA, v)
        out += data(board, 10)
    return out


def enabled(**options):
    board, kbc = machine(**options)
    assert aux(board, 0xFF) == [0xFA, 0xAA, 0x00]
    assert aux(board, 0xF4) == [0xFA]
    return board, kbc


def test_reset_through_d4_raises_irq12_for_each_byte():
    board, kbc = machine()
    board.io.outb(STATUS, 0xD4)
    board.io.outb(DATA, 0xFF)
    edges = board.irq[12].rising_edges
    got = receive(board)
    assert got == [(0xFA, (True, 1)), (0xAA, (True, 1)), (0x00, (True, 1))]
    assert board.irq[12].rising_edges == edges + 3
    assert board.irq[1].rising_edges == 0


def test_id_status_and_settings():
    board, kbc = machine()
    assert aux(board, 0xF2) == [0xFA, 0x00]
    assert aux(board, 0xE9) == [0xFA, 0x00, 0x02, 100]   # stream, disabled, 1:1
    assert aux(board, 0xF3, 200) == [0xFA, 0xFA]
    assert aux(board, 0xE8, 3) == [0xFA, 0xFA]
    assert aux(board, 0xE7, 0xF4, 0xF0) == [0xFA] * 3
    kbc.mouse_move(0, 0, 0b101)                     # left + middle held
    assert aux(board, 0xE9) == [0xFA, 0x76, 0x03, 200]
    assert aux(board, 0xF6, 0xE9) == [0xFA, 0xFA, 0x06, 0x02, 100]   # buttons stay


def test_invalid_parameters_are_refused():
    board, kbc = machine()
    assert aux(board, 0xF3, 55) == [0xFA, 0xFE]
    assert aux(board, 0xE8, 9) == [0xFA, 0xFE]
    assert aux(board, 0x42) == [0xFE]
    assert aux(board, 0xE9) == [0xFA, 0x00, 0x02, 100]


def test_no_packets_until_reporting_is_enabled():
    board, kbc = machine()
    kbc.mouse_move(5, -5)
    assert data(board) == []
    assert aux(board, 0xF4) == [0xFA]
    kbc.mouse_move(5, -5)
    assert data(board) == [0x28, 0x05, 0xFB]
    assert aux(board, 0xF5) == [0xFA]
    kbc.mouse_move(5, -5)
    assert data(board) == []


def test_movement_packets_sign_and_y_up():
    board, kbc = enabled()
    kbc.mouse_move(10, 3)                           # right and up (PS/2 y is up)
    assert receive(board) == [(0x08, (True, 1)), (10, (True, 1)), (3, (True, 1))]
    kbc.mouse_move(-2, -7)                          # left and down
    assert data(board) == [0x08 | 0x10 | 0x20, 0xFE, 0xF9]


def test_overflow_bits_and_clamping():
    board, kbc = enabled()
    kbc.mouse_move(300, 0)
    assert data(board) == [0x08 | 0x40, 0xFF, 0x00]
    kbc.mouse_move(-500, -400)
    assert data(board) == [0x08 | 0x10 | 0x20 | 0x40 | 0x80, 0x00, 0x00]


def test_buttons_send_a_packet_without_movement():
    board, kbc = enabled()
    kbc.mouse.set_buttons(0b001)
    assert data(board) == [0x09, 0, 0]
    kbc.mouse_move(0, 0, 0b010)
    assert data(board) == [0x0A, 0, 0]
    kbc.mouse_move(0, 0, 0b010)                     # nothing changed: nothing sent
    assert data(board) == []


def test_moves_coalesce_per_sample_interval():
    board, kbc = enabled()
    assert aux(board, 0xF3, 10) == [0xFA, 0xFA]     # 10 samples/s: 100 ms apart
    kbc.mouse_move(1, 0)
    assert data(board, 5) == [0x08, 1, 0]
    start = board.clock.now
    for _ in range(20):                             # 20 moves within 40 ms
        kbc.mouse_move(2, 1)
        board.clock.advance(ms(board, 2))
    assert data(board, 30) == []                    # too soon after the last packet
    got = data(board, 100)
    assert got == [0x08, 40, 20]
    assert board.clock.now - start >= ms(board, 100)


def test_slow_reader_gets_coalesced_packets_not_a_backlog():
    board, kbc = enabled()
    board.io.outb(STATUS, 0xA7)                     # aux interface held off
    for _ in range(50):
        kbc.mouse_move(1, 0)
        board.clock.advance(ms(board, 10))
    board.io.outb(STATUS, 0xA8)
    got = data(board, 100)
    assert len(got) == 6                            # the held packet and one more
    assert got[1] + got[4] == 50


def test_scaling_2_to_1_applies_to_stream_reports():
    board, kbc = enabled()
    assert aux(board, 0xE7) == [0xFA]
    for d, scaled in ((1, 1), (2, 1), (3, 3), (4, 6), (5, 9), (10, 20)):
        kbc.mouse_move(d, 0)
        assert data(board)[1] == scaled


def test_remote_mode_read_data():
    board, kbc = enabled()
    assert aux(board, 0xF0) == [0xFA]
    kbc.mouse_move(4, -4, 0b001)
    assert data(board) == []                        # remote mode: no stream packets
    assert aux(board, 0xEB) == [0xFA, 0x29, 0x04, 0xFC]
    assert aux(board, 0xEB) == [0xFA, 0x09, 0x00, 0x00]
    assert aux(board, 0xE9)[1] & 0x40               # status reports remote mode
    assert aux(board, 0xEA) == [0xFA]
    kbc.mouse_move(1, 0)
    assert data(board) == [0x09, 0x01, 0x00]


def test_wrap_mode_echoes_until_reset_wrap():
    board, kbc = enabled()
    assert aux(board, 0xEE) == [0xFA]
    assert aux(board, 0x12, 0xF4, 0xE9) == [0x12, 0xF4, 0xE9]
    kbc.mouse_move(3, -3)
    assert data(board) == []
    assert aux(board, 0xEC) == [0xFA]
    kbc.mouse_move(3, -3)
    assert data(board) == [0x28, 0x03, 0xFD]


def test_resend_repeats_last_packet():
    board, kbc = enabled()
    kbc.mouse_move(7, 0)
    assert data(board) == [0x08, 7, 0]
    assert aux(board, 0xFE) == [0x08, 7, 0]


def test_disabled_aux_holds_data_and_d4_reenables():
    board, kbc = enabled()
    board.io.outb(STATUS, 0xA7)
    kbc.mouse_move(1, 1)
    assert data(board) == []
    assert aux(board, 0xF2) == [0xFA, 0x00]          # D4 re-enables the interface
    board.io.outb(STATUS, 0x20)
    assert not board.io.inb(DATA) & 0x20


def test_irq12_masked_by_command_byte():
    board, kbc = enabled()
    board.io.outb(STATUS, 0x60)
    board.io.outb(DATA, 0x45)                       # IRQ 12 off
    kbc.mouse_move(1, 0)
    board.clock.advance(ms(board, 20))
    assert board.io.inb(STATUS) & (OBF | AUX_OBF) == OBF | AUX_OBF
    assert board.irq[12].level == 0 and board.irq[1].level == 0


def test_mouse_state_round_trip():
    board, kbc = enabled()
    aux(board, 0xF3, 40, 0xE8, 1, 0xE7)
    kbc.mouse_move(3, 3, 1)
    state = kbc.mouse.get_state()
    board2 = Board()
    kbc2 = board2.attach(KBC8042())
    kbc2.mouse.set_state(state)
    assert kbc2.mouse.get_state() == state
    assert (kbc2.mouse.sample_rate, kbc2.mouse.resolution, kbc2.mouse.scaling_2to1) == (40, 1, True)
