"""The public Machine API, call by call, on real FreeDOS."""
import threading

import numpy as np
import pytest

from pyvmm.config import MachineConfig
from pyvmm.cpu import EXIT_BREAK
from pyvmm.errors import ConfigError, Error, ImageError
from pyvmm.machine import Machine
from pyvmm.png import read_png
from tests.helpers import shared_image


def screen(m):
    return "\n".join(m.screen_text())


@pytest.fixture(scope="module")
def dos():
    with Machine(fda=str(shared_image("fdboot-1.4MB.img")), snapshot=True) as m:
        assert m.wait_for_text("A:\\>", timeout=120), screen(m)
        yield m


def test_boot_type_dir_and_read_the_screen(dos):
    dos.type_text("dir\n")
    assert dos.wait_for_text("bytes free", timeout=20), screen(dos)
    assert any("KERNEL" in line and "SYS" in line for line in dos.screen_text())


def test_screen_cells_and_screenshot(dos, tmp_path):
    dos.run(seconds=1)                      # the prompt after the previous command
    chars, attrs, cursor = dos.screen_cells()
    assert chars.shape == attrs.shape == (25, 80)
    row, col = cursor[0], cursor[1]
    assert bytes(chars[row, col - 3:col]) == b":\\>"
    assert attrs[row, 0] == 0x07
    picture = dos.screenshot()
    assert picture.dtype == np.uint8 and picture.shape == (400, 720, 3)
    path = tmp_path / "shot.png"
    dos.save_screenshot(str(path))
    assert np.array_equal(read_png(str(path)), picture)


def test_press_and_release_named_keys(dos):
    for key in ("E", "C", "H", "O"):
        dos.press(key)
        dos.run(seconds=0.02)
        dos.release(key)
        dos.run(seconds=0.02)
    dos.press("SPACE"); dos.release("SPACE")
    dos.type_text("hi{ENTER}")
    assert dos.wait_for_text("\nhi", timeout=5) or "hi" in screen(dos).split("echo hi")[-1]


def test_memory_registers_read_write(dos):
    dos.write(0x500, b"\x12\x34")
    assert dos.read(0x500, 2) == b"\x12\x34"
    assert dos.memory[0x500] == 0x12
    dos.memory[0x501] = 0x99
    assert dos.read(0x501, 1) == b"\x99"
    regs = dos.registers
    assert regs.cs == regs["cs"] == dos.cpu.get_reg("cs")
    saved = regs.bx
    regs.bx = 0xBEEF
    assert dos.cpu.get_reg("bx") == 0xBEEF
    regs["bx"] = saved


def test_run_until_and_step(dos):
    start = dos.clock.now
    assert dos.run_until(lambda m: m.clock.now - start >= 1000, timeout=1)
    n = dos.cpu.instructions
    dos.step()
    assert dos.cpu.instructions in (n, n + 1)     # one instruction, or a halted CPU waiting
    with pytest.raises(ValueError):
        dos.run()
    with pytest.raises(ValueError):
        dos.run(cycles=-1)


def test_breakpoint_stops_run(dos):
    vector = int.from_bytes(dos.read(0x08 * 4, 4), "little")     # IRQ 0 handler
    linear = ((vector >> 16) << 4) + (vector & 0xFFFF)
    dos.cpu.add_breakpoint(linear)
    try:
        assert dos.run(seconds=1) is True
        assert (dos.registers.cs << 4) + dos.registers.ip == linear
    finally:
        dos.cpu.clear_breakpoints()
    assert dos.run(seconds=0.1) is False


def test_floppy_swap_raises_the_change_line_and_dos_reads_the_new_disk(tmp_path):
    from pyvmm.storage.disktool import main as disk
    other = tmp_path / "data.img"
    note = tmp_path / "NOTE.TXT"
    note.write_text("hello from the second diskette\r\n")
    assert disk(["create", str(other), "--size", "1.44M", "--format", "fat"]) == 0
    assert disk(["put", str(other), str(note)]) == 0
    with Machine(fda=str(shared_image("fdboot-1.4MB.img")), snapshot=True) as m:
        assert m.wait_for_text("A:\\>", timeout=120)
        assert m.floppy_path(0) == str(shared_image("fdboot-1.4MB.img"))
        m.eject_floppy(0)
        assert m.floppy_path(0) is None
        m.insert_floppy(0, str(other))
        assert m.floppy_path(0) == str(other)
        m.type_text("type note.txt\n")
        assert m.wait_for_text("hello from the second diskette", timeout=20), screen(m)


def test_bad_arguments_raise_pyvmm_errors(tmp_path):
    with pytest.raises(ConfigError):
        Machine(cpu="z80")
    with pytest.raises(ImageError):
        Machine(fda=str(tmp_path / "missing.img"))
    with pytest.raises(Error):
        Machine(config=MachineConfig(), memory="lots")


def test_two_machines_boot_different_images_at_once():
    results = {}

    def boot(name):
        with Machine(fda=str(shared_image(name)), snapshot=True) as m:
            results[name] = m.wait_for_text("A:\\>", timeout=120)
            results[name + ":screen"] = screen(m)

    threads = [threading.Thread(target=boot, args=(n,)) for n in ("fdboot-720K.img", "fdboot-360K.img")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["fdboot-720K.img"] and results["fdboot-360K.img"]


def test_two_machines_interleaved_keep_their_own_state():
    a = Machine(fda=str(shared_image("fdboot-1.4MB.img")), snapshot=True)
    b = Machine(fda=str(shared_image("fdboot-720K.img")), snapshot=True)
    try:
        for _ in range(400):
            a.run(seconds=0.01)
            b.run(seconds=0.01)
        assert "A:\\>" in screen(a) and "A:\\>" in screen(b)
        a.type_text("echo only-in-a\n")
        b.run(seconds=0.5)
        assert "only-in-a" in screen(a) and "only-in-a" not in screen(b)
    finally:
        a.close()
        b.close()


def test_reset_button_reboots_to_the_prompt():
    with Machine(fda=str(shared_image("fdboot-1.4MB.img")), snapshot=True) as m:
        assert m.wait_for_text("A:\\>", timeout=120)
        m.type_text("echo before-reset\n")
        assert m.wait_for_text("before-reset", timeout=5)
        m.reset()
        m.run(seconds=0.5)
        assert "before-reset" not in screen(m)
        assert m.wait_for_text("A:\\>", timeout=120), screen(m)
        assert m.screen_text()[0].startswith("pyvmm BIOS")
