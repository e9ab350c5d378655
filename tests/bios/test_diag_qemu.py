"""roms/default.img, the built-in diagnostics diskette, boots and runs its pages."""

import time

import pytest

from tests.bios.qemu_harness import ROMS, QemuPC, missing_reason

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))

DEFAULT_IMG = ROMS / "default.img"


def test_default_image_is_an_empty_fat12_diskette():
    data = DEFAULT_IMG.read_bytes()
    assert len(data) == 1474560
    assert data[510:512] == b"\x55\xaa"
    assert int.from_bytes(data[11:13], "little") == 512      # bytes per sector
    assert int.from_bytes(data[19:21], "little") == 2880     # sectors
    reserved = int.from_bytes(data[14:16], "little")
    assert data[reserved * 512:reserved * 512 + 3] == b"\xf0\xff\xff"   # first FAT


def test_diagnostics_report_echo_and_walk_video_modes():
    with QemuPC(floppy=DEFAULT_IMG) as pc:
        lines = pc.wait_for("Keyboard echo", timeout=60)
        text = "\n".join(lines)
        assert "CPU:" in text and "Memory:" in text and "K conventional" in text
        assert "Drive A: 3.5in 1.44M" in text
        assert "Video:   VGA" in text
        pc.monitor.command("sendkey a")
        pc.wait_for("scan 1E  ascii 61 a", timeout=10)
        pc.monitor.command("sendkey esc")
        pc.wait_for("Mode 01h: 40x25 text", timeout=10)
        for _ in range(6):                       # 04h 06h 0Dh 12h 13h, then 03h
            pc.monitor.command("sendkey spc")
            time.sleep(0.3)
        pc.wait_for("Mode 03h: 80x25 text", timeout=10)
        pc.monitor.command("sendkey spc")
        pc.wait_for("Diagnostics done", timeout=10)
