"""PS/2 keyboard behind the 8042, and the key table: ports, IRQ 1 and the clock only."""
import pytest

from pyvmm.board import Board
from pyvmm.devices import keys
from pyvmm.devices.kbc8042 import KBC8042
from pyvmm.errors import ConfigError

DATA, STATUS = 0x60, 0x64


def machine(translate=False, **options):
    board = Board()
    kbc = board.attach(KBC8042(**options))
    board.io.outb(STATUS, 0x60)
    board.io.outb(DATA, 0x45 if translate else 0x05)
    return board, kbc


def at_ms(board, t):
    return board.clock.cycles_from_seconds(t / 1000)


def data(board, limit_ms=50):
    got = []
    step = at_ms(board, 0.1)
    for _ in range(limit_ms * 10):
        if board.io.inb(STATUS) & 1:
            got.append(board.io.inb(DATA))
        board.clock.advance(step)
    return got


def timed(board, limit_ms):
    """(time in ms, byte) of everything received, reading as soon as it is there."""
    got = []
    step = at_ms(board, 0.1)
    start = board.clock.now
    for _ in range(int(limit_ms * 10)):
        if board.io.inb(STATUS) & 1:
            got.append(((board.clock.now - start) * 1000 / board.clock.rate,
                        board.io.inb(DATA)))
        board.clock.advance(step)
    return got


def send(board, *values):
    """Send each byte to the keyboard and collect its reply before the next."""
    out = []
    for v in values:
        board.io.outb(DATA, v)
        out += data(board, 10)
    return out


# -- commands ----------------------------------------------------------------------------------
def test_reset_acks_at_once_and_reports_bat_after_a_delay():
    board, kbc = machine(bat_delay_us=20000)
    board.io.outb(DATA, 0xFF)
    got = timed(board, 40)
    assert [b for _, b in got] == [0xFA, 0xAA]
    assert got[0][0] < 2 and got[1][0] >= 20


def test_reset_restores_defaults():
    board, kbc = machine()
    send(board, 0xF0, 0x01, 0xF3, 0x00, 0xED, 0x07)
    assert send(board, 0xFF) == [0xFA, 0xAA]
    assert send(board, 0xF0, 0x00) == [0xFA, 0xFA, 0x02]
    assert kbc.keyboard.leds == 0 and kbc.keyboard.typematic_byte == 0x2B


def test_echo_identify_and_unknown_commands():
    board, kbc = machine()
    assert send(board, 0xEE) == [0xEE]
    assert send(board, 0xF2) == [0xFA, 0xAB, 0x83]
    assert send(board, 0x42) == [0xFE]


def test_leds_and_typematic_take_a_parameter():
    board, kbc = machine()
    assert send(board, 0xED, 0x04) == [0xFA, 0xFA]
    assert kbc.keyboard.leds == 0x04
    assert send(board, 0xF3, 0x7F) == [0xFA, 0xFA]
    assert kbc.keyboard.typematic_byte == 0x7F
    # a command byte instead of the parameter is taken as the new command
    assert send(board, 0xED, 0xEE) == [0xFA, 0xEE]
    assert kbc.keyboard.leds == 0x04


def test_scancode_set_get_and_set():
    board, kbc = machine()
    assert send(board, 0xF0, 0x00) == [0xFA, 0xFA, 0x02]
    assert send(board, 0xF0, 0x01) == [0xFA, 0xFA]
    assert send(board, 0xF0, 0x00) == [0xFA, 0xFA, 0x01]
    kbc.key_down("ESC")
    kbc.key_up("ESC")
    assert data(board) == [0x01, 0x81]
    assert send(board, 0xF0, 0x07) == [0xFA, 0xFE]
    assert send(board, 0xF0, 0x02) == [0xFA, 0xFA]
    kbc.key_down("ESC")
    assert data(board) == [0x76]


def test_scancode_set_3_codes_and_default_key_types():
    board, kbc = machine()
    assert send(board, 0xF0, 0x03) == [0xFA, 0xFA]
    assert send(board, 0xF0, 0x00) == [0xFA, 0xFA, 0x03]
    kbc.key_down("UP")                              # one byte per key, no E0
    kbc.key_up("UP")                                # typematic keys send no break
    kbc.key_down("F1")
    kbc.key_up("F1")
    kbc.key_down("LSHIFT")                          # modifiers are make/break
    kbc.key_up("LSHIFT")
    kbc.key_down("PAUSE")                           # nothing special in set 3
    kbc.key_up("PAUSE")
    kbc.key_down("INTL_RO")                         # no set-3 code: silent
    kbc.key_up("INTL_RO")
    assert data(board) == [0x63, 0x07, 0x12, 0xF0, 0x12, 0x62]


def test_scancode_set_3_repeat_follows_key_type():
    board, kbc = machine()
    send(board, 0xF0, 0x03)
    kbc.key_down("LCTRL")
    assert data(board, 1000) == [0x11]              # make/break keys do not repeat
    kbc.key_up("LCTRL")
    assert data(board) == [0xF0, 0x11]
    kbc.key_down("A")
    got = data(board, 1000)
    assert got[0] == 0x1C and len(got) > 3 and set(got) == {0x1C}
    kbc.key_up("A")
    assert data(board) == []


def test_set_3_key_type_commands():
    board, kbc = machine()
    send(board, 0xF0, 0x03)
    assert send(board, 0xFA) == [0xFA]              # all: typematic, make and break
    kbc.key_down("A")
    kbc.key_up("A")
    assert data(board) == [0x1C, 0xF0, 0x1C]
    assert send(board, 0xF9) == [0xFA]              # all: make only
    kbc.key_down("LSHIFT")
    kbc.key_up("LSHIFT")
    assert data(board, 1000) == [0x12]
    # FC: the listed keys (A, Up) make/break; the list ends at the next command
    assert send(board, 0xFC, 0x1C, 0x63, 0xF4) == [0xFA, 0xFA, 0xFA, 0xFA]
    for name in ("A", "UP", "B"):
        kbc.key_down(name)
        kbc.key_up(name)
    assert data(board) == [0x1C, 0xF0, 0x1C, 0x63, 0xF0, 0x63, 0x32]
    assert send(board, 0xF6) == [0xFA]              # defaults again
    kbc.key_down("A")
    kbc.key_up("A")
    kbc.key_down("LSHIFT")
    kbc.key_up("LSHIFT")
    assert data(board) == [0x1C, 0x12, 0xF0, 0x12]


def test_disable_and_enable_scanning():
    board, kbc = machine()
    assert send(board, 0xF5) == [0xFA]
    kbc.key_down("A")
    kbc.key_up("A")
    assert data(board) == []
    assert send(board, 0xF4) == [0xFA]
    kbc.key_down("B")
    assert data(board) == [0x32]


def test_set_defaults_keeps_scanning_and_resend_repeats_last_byte():
    board, kbc = machine()
    assert send(board, 0xF3, 0x00) == [0xFA, 0xFA]
    assert send(board, 0xF6) == [0xFA]
    assert kbc.keyboard.typematic_byte == 0x2B
    kbc.key_down("C")
    assert data(board) == [0x21]
    assert send(board, 0xFE) == [0x21]


def test_buffer_overrun_while_inhibited():
    board, kbc = machine()
    board.io.outb(STATUS, 0xAD)                     # inhibit the keyboard
    for name in "QWERTYUIOPASDFGHJKL":              # 19 makes, 16 fit
        kbc.key_down(name)
    board.io.outb(STATUS, 0xAE)
    got = data(board, 100)
    assert len(got) == 17 and got[-1] == 0x00
    assert got[:3] == [0x15, 0x1D, 0x24]


# -- typematic ------------------------------------------------------------------------------------
def test_typematic_repeat_on_the_virtual_clock():
    board, kbc = machine()
    assert send(board, 0xF3, 0x00) == [0xFA, 0xFA]  # 250 ms delay, 30 cps
    kbc.key_down("K")
    got = timed(board, 1000)
    times = [t for t, b in got if b == 0x42]
    assert times[0] < 2
    assert 250 <= times[1] < 252
    gaps = [b - a for a, b in zip(times[1:], times[2:])]
    assert all(33 <= g <= 34 for g in gaps)
    assert len(times) == 1 + 1 + int((1000 - 250) / 33.36)
    kbc.key_up("K")
    assert data(board, 200) == [0xF0, 0x42]


def test_only_the_last_key_repeats_and_stops_on_its_release():
    board, kbc = machine()
    kbc.key_down("A")
    board.clock.advance(at_ms(board, 100))
    kbc.key_down("S")
    got = data(board, 1000)
    assert got.count(0x1C) == 1 and got.count(0x1B) > 3
    kbc.key_up("S")
    got = data(board, 1000)
    assert got == [0xF0, 0x1B]                      # A is held but does not resume
    kbc.key_up("A")
    assert data(board) == [0xF0, 0x1C]


def test_held_key_while_inhibited_stores_one_make():
    board, kbc = machine()
    board.io.outb(STATUS, 0xAD)
    kbc.key_down("L")
    board.clock.advance(at_ms(board, 2000))
    board.io.outb(STATUS, 0xAE)
    got = data(board, 5)
    assert got == [0x4B]


def test_typematic_off_for_host_repeats():
    board, kbc = machine(typematic=False)
    kbc.key_down("A")
    assert data(board, 1500) == [0x1C]
    kbc.key_down("A")                               # the host's own repeat
    kbc.key_up("A")
    assert data(board) == [0x1C, 0xF0, 0x1C]


def test_pause_does_not_repeat():
    board, kbc = machine(translate=True)
    kbc.key_down("PAUSE")
    assert data(board, 1500) == [0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5]


def test_keyboard_state_round_trip():
    board, kbc = machine()
    send(board, 0xF3, 0x20, 0xED, 0x03)
    kbc.key_down("LSHIFT")
    state = kbc.keyboard.get_state()
    board2 = Board()
    kbc2 = board2.attach(KBC8042())
    kbc2.keyboard.set_state(state)
    assert kbc2.keyboard.get_state() == state
    assert kbc2.keyboard.held == ["LSHIFT"] and kbc2.keyboard.leds == 3


# -- key table ------------------------------------------------------------------------------------
REQUIRED = (
    [chr(c) for c in range(ord("A"), ord("Z") + 1)] + [str(d) for d in range(10)]
    + [f"F{n}" for n in range(1, 13)] + [f"KP_{d}" for d in range(10)]
    + "ENTER ESC BACKSPACE TAB SPACE LSHIFT RSHIFT LCTRL RCTRL LALT RALT CAPSLOCK "
      "NUMLOCK SCROLLLOCK UP DOWN LEFT RIGHT HOME END PGUP PGDN INSERT DELETE KP_PLUS "
      "KP_MINUS KP_MULTIPLY KP_DIVIDE KP_ENTER KP_PERIOD PAUSE PRINTSCREEN LWIN RWIN MENU "
      "MINUS EQUALS LBRACKET RBRACKET SEMICOLON APOSTROPHE GRAVE BACKSLASH COMMA PERIOD "
      "SLASH".split())


def test_every_required_key_is_in_the_table():
    missing = [n for n in REQUIRED if n not in keys.KEYS]
    assert missing == []


def _translate(codes):
    """What the 8042 does with set-2 bytes when its translate bit is set."""
    out, brk = [], False
    for b in codes:
        if b == 0xF0:
            brk = True
            continue
        out.append(keys.SET2_TO_SET1[b] | (0x80 if brk else 0))
        brk = False
    return out


@pytest.mark.parametrize("name", sorted(keys.KEYS))
def test_set_2_translates_to_set_1_for_every_key(name):
    assert _translate(keys.make_code(name, 2)) == list(keys.make_code(name, 1))
    assert _translate(keys.break_code(name, 2)) == list(keys.break_code(name, 1))


def test_codes_are_unique():
    for scancode_set in (1, 2):
        seen = [keys.make_code(n, scancode_set) for n in keys.KEYS]
        assert len(set(seen)) == len(seen)
    # set 3 has one code per key position: Alt+Print Screen is Print Screen there
    seen = [keys.make_code(n, 3) for n in keys.KEYS if n != "SYSRQ"]
    seen = [c for c in seen if c]
    assert len(set(seen)) == len(seen) and all(len(c) == 1 for c in seen)


def test_break_codes():
    assert keys.break_code("A", 2) == bytes([0xF0, 0x1C])
    assert keys.break_code("A", 1) == bytes([0x9E])
    assert keys.break_code("KP_ENTER", 2) == bytes([0xE0, 0xF0, 0x5A])
    assert keys.break_code("KP_ENTER", 1) == bytes([0xE0, 0x9C])
    assert keys.break_code("PAUSE", 2) == b""


def test_text_to_keys_with_shifted_characters():
    assert keys.text_to_keys('Dir C:\\ /w "x"!\n') == [
        ("D", True), ("I", False), ("R", False), ("SPACE", False),
        ("C", True), ("SEMICOLON", True), ("BACKSLASH", False), ("SPACE", False),
        ("SLASH", False), ("W", False), ("SPACE", False),
        ("APOSTROPHE", True), ("X", False), ("APOSTROPHE", True), ("1", True),
        ("ENTER", False)]


def test_text_to_keys_special_names_and_braces():
    assert keys.text_to_keys("{F1}{{a}\t{KP_ENTER}") == [
        ("F1", False), ("LBRACKET", True), ("A", False), ("RBRACKET", True),
        ("TAB", False), ("KP_ENTER", False)]
    with pytest.raises(ConfigError):
        keys.text_to_keys("{NOSUCHKEY}")
    with pytest.raises(ConfigError):
        keys.text_to_keys("{F1")
    with pytest.raises(ConfigError):
        keys.text_to_keys("\u00e9")


def test_unknown_key_name_is_a_config_error():
    board, kbc = machine()
    with pytest.raises(ConfigError):
        kbc.key_down("NOSUCHKEY")
