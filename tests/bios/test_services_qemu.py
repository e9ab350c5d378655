"""BIOS services checked from inside the machine: svctest.asm boots from a
diskette under QEMU (with a 4 MiB ATA disk as 80h) and reports each check on
port E9h."""

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.bios.qemu_harness import QemuPC, missing_reason

HERE = Path(__file__).resolve().parent

pytestmark = [
    pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason())),
    pytest.mark.skipif(shutil.which("nasm") is None, reason="nasm is not installed"),
]

CHECKS = ["int12", "no_ebda", "int11", "int15_c0", "int15_86_wait", "int1a_rtc", "int16_store_read",
          "int13_fd_params", "int13_fd_type", "int13_fd_read_multitrack", "int13_fd_read_last",
          "int13_fd_dma_boundary", "int13_fd_write_read_verify", "int13_fd_format", "int13_hd_params",
          "int13_hd_edd_check", "int13_hd_ext_read", "int13_hd_chs_read", "int13_hd_ext_write",
          "int13_hd_edd_params", "int14_serial", "int17_no_printer", "int15_c2_mouse", "int74_mouse_packet", "int15_24_a20",
          "int15_no_extended_memory"]


# Keys typed at the guest and the INT 16h AH=10h words they must give (Num Lock
# is on after POST; Caps Lock is toggled around the "a").
KEYS = ["up", "f1", "shift-tab", "ctrl-c", "alt-x", "kp_8", "caps_lock", "a", "caps_lock", "f12",
        "esc"]
KEY_WORDS = ["48E0", "3B00", "0F00", "2E03", "2D00", "4838", "1E41", "8600", "011B"]


def numbered_image(path, sectors, program=b"", first=16):
    """Sector n (n >= first) starts with n as a little-endian word."""
    data = bytearray(sectors * 512)
    data[:len(program)] = program
    for lba in range(first, sectors):
        data[lba * 512:lba * 512 + 2] = lba.to_bytes(2, "little")
    path.write_bytes(bytes(data))


def run_services(tmp, boot="a", memory="640K"):
    """Boot svctest.asm and return its port E9h log once it says DONE."""
    program = tmp / "svctest.bin"
    subprocess.run(["nasm", "-f", "bin", "-w+error", "-o", str(program), str(HERE / "svctest.asm")],
                   check=True)
    floppy = tmp / "svc.img"
    disk = tmp / "disk.img"
    numbered_image(floppy, 2880, program.read_bytes())
    numbered_image(disk, 8192, program.read_bytes())
    serial = tmp / "com1.txt"
    extra = ["-drive", f"file={disk},if=ide,index=0,media=disk,format=raw",
             "-serial", f"file:{serial}"]
    # the 87h copy returns through a CPU reset, which QEMU must not treat as an exit
    pc = QemuPC(floppy=floppy, readonly=False, boot=boot, memory=memory, no_reboot=False, extra=extra)
    try:
        deadline = time.monotonic() + 60
        moved = typed = False
        while "DONE" not in pc.post_log() and time.monotonic() < deadline:
            log = pc.post_log()
            if not moved and "mouse ready" in log:
                pc.monitor.command("mouse_move 20 -10")
                moved = True
            if not typed and "keys ready" in log:
                for key in KEYS:
                    pc.monitor.command(f"sendkey {key}")
                typed = True
            time.sleep(0.25)
        log = pc.post_log()
        drive = {"a": "diskette A:", "c": "hard disk C:"}[boot]
        assert f"Booting from {drive}" in log, log
        return log + "\nCOM1:" + serial.read_text(errors="replace")
    finally:
        pc.close()


@pytest.fixture(scope="module", params=["a", "c"], ids=["boot_diskette", "boot_disk"])
def service_log(request, tmp_path_factory):
    """The checks run once booted from A: and once from C: (the same program is
    on both, so INT 19h's disk path with its 55AAh check is exercised too)."""
    return run_services(tmp_path_factory.mktemp("svc"), boot=request.param)


@pytest.fixture(scope="module")
def extended_log(tmp_path_factory):
    return run_services(tmp_path_factory.mktemp("svc2m"), memory="2M")


@pytest.mark.parametrize("name", ["int15_88_ext", "int15_e801", "int15_87_block_move",
                                  "int15_e820"])
def test_extended_memory_service(extended_log, name):
    assert f"ok {name}" in extended_log.splitlines(), extended_log


@pytest.mark.parametrize("name", CHECKS)
def test_service(service_log, name):
    assert f"ok {name}" in service_log.splitlines(), service_log


def test_keystrokes_translate_to_bios_words(service_log):
    words = [line[4:] for line in service_log.splitlines() if line.startswith("key ")]
    assert words == KEY_WORDS, service_log


def test_serial_bytes_reach_com1(service_log):
    assert "COM1:Z!" in service_log
