"""The BIOS boots every shared FreeDOS image to the DOS prompt on QEMU's ISA PC."""

import time

import pytest

from tests.bios.qemu_harness import IMAGES, QemuPC, missing_reason

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))

BOOT_TIMEOUT = 90.0

IMAGE_NAMES = ["fdboot-1.4MB.img", "fdboot-1200K.img", "fdboot-720K.img", "fdboot-360K.img",
               "fdboot-320K.img", "fdboot-180K.img", "fdboot-160K.img", "freedos722.img",
               "svarog86-720k.img"]
EXPECTED = {"freedos722.img": ["Welcome to FreeDOS", "A:\\>"]}


@pytest.mark.parametrize("name", IMAGE_NAMES)
def test_boots_to_dos_prompt(name):
    image = IMAGES / name
    if not image.exists():
        pytest.skip(f"{image} is absent")
    with QemuPC(floppy=image) as pc:
        pc.wait_for(*EXPECTED.get(name, ["A:\\>"]), timeout=BOOT_TIMEOUT)
        log = pc.post_log()
    assert "pyvmm BIOS" in log
    assert "Booting from diskette A:" in log


def test_post_without_boot_device_reports_and_waits():
    """No diskette: the boot attempt says why and INT 18h asks for a key."""
    with QemuPC(floppy=None) as pc:
        lines = pc.wait_for("No bootable device", timeout=BOOT_TIMEOUT)
        text = "\n".join(lines)
    assert "pyvmm BIOS" in text
    assert "Diskette A: missing or unreadable" in text


def _type(pc, keys):
    for key in keys:
        pc.monitor.command(f"sendkey {key}")


def test_keyboard_reaches_dos_through_irq1_and_int16():
    """Keys typed at the prompt arrive through INT 09h/16h, Shift included."""
    with QemuPC(floppy=IMAGES / "fdboot-1.4MB.img") as pc:
        pc.wait_for("A:\\>", timeout=BOOT_TIMEOUT)
        _type(pc, ["e", "c", "h", "o", "spc", "shift-h", "i", "shift-1", "spc", "1", "2", "ret"])
        lines = pc.wait_for("Hi! 12", timeout=30)
    assert "A:\\>echo Hi! 12" in lines


def test_ctrl_alt_del_warm_boots_back_to_dos():
    with QemuPC(floppy=IMAGES / "fdboot-1.4MB.img") as pc:
        pc.wait_for("A:\\>", timeout=BOOT_TIMEOUT)
        _type(pc, ["ctrl-alt-delete"])
        end = time.monotonic() + 60
        while pc.post_log().count("pyvmm BIOS") < 2 and time.monotonic() < end:
            time.sleep(0.25)
        assert pc.post_log().count("pyvmm BIOS") == 2
        assert pc.post_log().count("Booting from diskette A:") == 2
