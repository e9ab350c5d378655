"""BIOS services that need the whole machine, checked on a pyvmm Machine with the
BIOS built from roms/: machsvc.asm boots from a diskette and runs one scenario
(INT 15h AH=87h, the RTC alarm, Print Screen, Pause), reporting on port E9h;
the test presses keys as a person would and reads guest memory.  All waits are
in virtual time."""

import shutil
import subprocess
from pathlib import Path

import pytest

from pyvmm.machine import Machine

HERE = Path(__file__).resolve().parent
BIOS = HERE.parents[1] / "roms" / "bios.bin"

pytestmark = pytest.mark.skipif(shutil.which("nasm") is None, reason="nasm is not installed")

BLOCK_MOVE, ALARM, PRINT_SCREEN, PAUSE, SHUTDOWN = 1, 2, 3, 4, 5
V_COUNT, V_PRINTER = 0x600, 0x604       # machsvc.asm's VARS
PRTSC_STATUS = 0x500                    # 50:00
KBFLAG1, KBHEAD, KBTAIL = 0x418, 0x41A, 0x41C
TICKS = 0x46C
ROWS = 25


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    out = tmp_path_factory.mktemp("machsvc") / "machsvc.bin"
    subprocess.run(["nasm", "-f", "bin", "-w+error", "-o", str(out), str(HERE / "machsvc.asm")],
                   check=True)
    return out.read_bytes()


def boot(program, tmp_path, mode, ready, **options):
    """A Machine booted into scenario ``mode``, run until the log line ``ready``."""
    image = bytearray(1474560)
    image[:len(program)] = program
    image[3] = mode
    path = tmp_path / f"mode{mode}.img"
    path.write_bytes(bytes(image))
    m = Machine(bios=str(BIOS), fda=str(path), snapshot=True, **options)
    m.post.history = True
    assert m.run_until(lambda m: ready in m.board.log, timeout=60), m.board.log
    return m


def word(m, addr):
    return int.from_bytes(m.read(addr, 2), "little")


def checks(log):
    return {line.split(" ", 1)[1]: line.split(" ", 1)[0] for line in log
            if line.startswith(("ok ", "FAIL "))}


# -- where the BIOS keeps its own data ---------------------------------------------

def test_no_ebda_and_the_disk_tables_at_0000_0300(program, tmp_path):
    """All 640 KiB are DOS's; the fixed disk parameter table that INT 41h points to
    and the ATA records sit at 0000:0300 (defs.inc), the IVT above INT E8h stays
    as POST set it."""
    disk = tmp_path / "hd.img"
    disk.write_bytes(bytes(8 * 1024 * 1024))
    with boot(program, tmp_path, 0, "DONE", hda=str(disk)) as m:
        assert word(m, 0x413) == 640 and word(m, 0x40E) == 0
        assert m.read(0x41 * 4, 4) == bytes([0x00, 0x03, 0x00, 0x00])    # 0000:0300
        assert m.read(0x46 * 4, 4) == bytes(4)                           # no drive 81h
        assert m.read(0x475, 1) == b"\x01"
        cylinders, heads, spt = word(m, 0x300), m.read(0x302, 1)[0], m.read(0x30E, 1)[0]
        record = 0x320                                                   # ATA drive 0
        assert (cylinders, heads, spt) == (word(m, record + 6), word(m, record + 8), word(m, record + 10))
        assert cylinders * heads * spt * 512 <= disk.stat().st_size < (cylinders + 1) * heads * spt * 512
        dummy = m.read(0xFF * 4, 4)
        assert int.from_bytes(dummy, "little") == 0xF000_FF53                # the BIOS's IRET
        assert m.read(0xE8 * 4, 0x18 * 4) == dummy * 0x18


# -- INT 15h AH=87h -----------------------------------------------------------------

@pytest.mark.parametrize("cpu", ["8086", "80286"])
def test_cpu_reset_resumes_through_cmos_shutdown_codes(program, tmp_path, cpu):
    """The way AH=87h returns to real mode on a 286 (code 09h works the same way
    with the BIOS's own frame): a program sets CMOS 0Fh and 40:67 and resets the
    CPU through the 8042; POST resumes it at once, without a new POST."""
    with boot(program, tmp_path, SHUTDOWN, "DONE", cpu=cpu) as m:
        results = checks(m.board.log)
        names = ["shutdown_0a_resumed", "shutdown_05_resumed", "shutdown_05_eoi", "shutdown_05_ticks"]
        assert [results.get(name) for name in names] == ["ok"] * len(names), m.board.log
        codes = m.post.post_history         # 01h at every reset, 02h (DMA set-up) only once
        assert codes.count(0x01) == 3 and codes.count(0x02) == 1, codes
        assert m.read(0x413, 2) == (640).to_bytes(2, "little")


# An 8086 or 80186 has no memory above 1 MiB, nor a 286 with 640K: AH=87h answers
# 86h ("function not supported", as the PC/XT BIOS does for AT-only functions)
# with CF set, leaves the registers alone and moves nothing.
@pytest.mark.parametrize("cpu, memory", [("8086", 640), ("80186", 640), ("80286", 640)])
def test_block_move_unsupported_answers_86h(program, tmp_path, cpu, memory):
    with boot(program, tmp_path, BLOCK_MOVE, "DONE", cpu=cpu, memory=memory) as m:
        results = checks(m.board.log)
        assert "bm ah=86 cf=1" in m.board.log, m.board.log
        for name in ("bm_registers", "bm_pic_masks", "bm_a20_kept", "bm_shutdown_code_cleared",
                     "bm_ticks", "bm_nothing_moved"):
            assert results.get(name) == "ok", (name, m.board.log)
        assert m.post.post_history.count(0x01) == 1


# A 286 with extended memory copies in protected mode and comes back through the
# AT's CPU reset (shutdown code 09h), once per call: the data arrives, and the
# registers, PIC masks and A20 are as the caller left them.
def test_block_move_on_the_286_copies_through_protected_mode(program, tmp_path):
    with boot(program, tmp_path, BLOCK_MOVE, "DONE", cpu="80286", memory=2048) as m:
        results = checks(m.board.log)
        assert "bm ah=00 cf=0" in m.board.log, m.board.log
        for name in ("bm_registers", "bm_pic_masks", "bm_a20_kept", "bm_shutdown_code_cleared",
                     "bm_ticks", "bm_data", "bm_a20_on_kept", "bm_pic_masks_2"):
            assert results.get(name) == "ok", (name, m.board.log)
        codes = m.post.post_history         # 01h at every reset, 02h (DMA set-up) only once
        assert codes.count(0x01) == 3 and codes.count(0x02) == 1, codes


# -- INT 1Ah AH=06h/07h -------------------------------------------------------------

@pytest.mark.parametrize("cpu", ["8086", "80286"])
def test_rtc_alarm_calls_int4a_once_and_can_be_cancelled(program, tmp_path, cpu):
    with boot(program, tmp_path, ALARM, "DONE", cpu=cpu) as m:
        results = checks(m.board.log)
        names = ["alarm_set", "alarm_armed", "alarm_busy", "alarm_not_early", "alarm_fired_at_1234_58",
                 "alarm_int4a_from_irq8", "alarm_once", "alarm_reset", "alarm_set_again",
                 "alarm_cancelled"]
        assert [results.get(name) for name in names] == ["ok"] * len(names), m.board.log


# -- Print Screen -------------------------------------------------------------------

def printed(m, before):
    """Lines the guest's printer got since log line ``before``."""
    return m.board.log[before:]


def press_and_wait(m, *keys):
    for key in keys:
        m.press(key)
        m.run(seconds=0.05)
    for key in reversed(keys):
        m.release(key)
        m.run(seconds=0.05)
    m.run(seconds=0.5)


def screen_rows(m):
    return [row.rstrip() for row in m.screen_text()]


@pytest.fixture
def prtsc(program, tmp_path):
    with boot(program, tmp_path, PRINT_SCREEN, "prtsc ready") as m:
        yield m


@pytest.mark.parametrize("keys", [("PRINTSCREEN",), ("LSHIFT", "KP_MULTIPLY"), ("RSHIFT", "KP_MULTIPLY")],
                         ids=["printscreen_key", "lshift_kp_star", "rshift_kp_star"])
def test_print_screen_prints_the_text_screen(prtsc, keys):
    m = prtsc
    rows, cursor = screen_rows(m), m.screen_cells()[2]
    assert "PRINT SCREEN: 0123456789" in rows[2]
    before = len(m.board.log)
    press_and_wait(m, *keys)
    lines = printed(m, before)
    assert [line.rstrip() for line in lines] == rows, lines
    assert all(len(line) == 80 for line in lines)
    assert m.read(PRTSC_STATUS, 1) == b"\x00"
    # the keyboard buffer got nothing, and the cursor went back where it was
    assert word(m, KBHEAD) == word(m, KBTAIL)
    assert screen_rows(m) == rows and m.screen_cells()[2] == cursor


def test_keypad_star_alone_is_a_key_not_print_screen(prtsc):
    m = prtsc
    before = len(m.board.log)
    press_and_wait(m, "KP_MULTIPLY")
    assert printed(m, before) == []
    assert word(m, word(m, KBHEAD) + 0x400) == 0x372A       # '*' from the keypad


def test_print_screen_reports_a_printer_error_in_50_00(prtsc):
    m = prtsc
    m.write(V_PRINTER, b"\x08")                  # I/O error
    before = len(m.board.log)
    press_and_wait(m, "PRINTSCREEN")
    assert printed(m, before) == []
    assert m.read(PRTSC_STATUS, 1) == b"\xff"
    # the next one, with the printer back, succeeds and clears the status
    m.write(V_PRINTER, b"\x90")
    press_and_wait(m, "PRINTSCREEN")
    assert len(printed(m, before)) == ROWS
    assert m.read(PRTSC_STATUS, 1) == b"\x00"


def test_print_screen_busy_is_not_entered_again(prtsc):
    m = prtsc
    m.write(PRTSC_STATUS, b"\x01")               # a print in progress
    before = len(m.board.log)
    press_and_wait(m, "PRINTSCREEN")
    assert printed(m, before) == []
    assert m.read(PRTSC_STATUS, 1) == b"\x01"


def test_ctrl_print_screen_is_a_key_not_a_print(prtsc):
    m = prtsc
    before = len(m.board.log)
    press_and_wait(m, "LCTRL", "PRINTSCREEN")
    assert printed(m, before) == []
    assert word(m, word(m, KBHEAD) + 0x400) == 0x7200


def test_print_screen_without_a_printer_sets_ffh(prtsc):
    m = prtsc
    m.write(0x17 * 4, bytes([0xD2, 0xEF, 0x00, 0xF0]))   # the BIOS's INT 17h at F000:EFD2
    before = len(m.board.log)
    press_and_wait(m, "PRINTSCREEN")
    assert printed(m, before) == []
    assert m.read(PRTSC_STATUS, 1) == b"\xff"


# -- Pause --------------------------------------------------------------------------

@pytest.mark.parametrize("cpu", ["8086", "80286"])
def test_pause_holds_the_guest_while_the_clock_ticks(program, tmp_path, cpu):
    with boot(program, tmp_path, PAUSE, "pause ready", cpu=cpu) as m:
        m.run(seconds=0.1)
        count = word(m, V_COUNT)
        m.run(seconds=0.1)
        assert word(m, V_COUNT) != count                 # running
        m.press("PAUSE")
        m.release("PAUSE")                               # Pause sends nothing on release
        m.run(seconds=0.1)
        assert m.read(KBFLAG1, 1)[0] & 0x08
        count, ticks = word(m, V_COUNT), word(m, TICKS)
        m.run(seconds=1)
        assert word(m, V_COUNT) == count                 # held in INT 09h ...
        assert word(m, TICKS) - ticks >= 17              # ... while IRQ 0 counts on
        # Shift and the lock keys work without ending the pause
        press_and_wait(m, "LSHIFT")
        press_and_wait(m, "CAPSLOCK")
        assert word(m, V_COUNT) == count
        assert m.read(0x417, 1)[0] & 0x40                # Caps Lock toggled
        press_and_wait(m, "CAPSLOCK")
        # the next key ends it and is not stored
        press_and_wait(m, "A")
        assert not m.read(KBFLAG1, 1)[0] & 0x08
        assert word(m, V_COUNT) != count
        assert word(m, KBHEAD) == word(m, KBTAIL)
        # the keyboard and the timer work as before
        press_and_wait(m, "B")
        assert word(m, word(m, KBHEAD) + 0x400) == 0x3062
        ticks = word(m, TICKS)
        m.run(seconds=0.5)
        assert word(m, TICKS) - ticks >= 8
