"""Endurance (CI's long job only, PYVMM_LONG=1): FreeDOS runs a batch of DIR, TYPE
and COPY over and over for 10 minutes of virtual time, as fast as the host allows.
The host process's RSS stays within 5 MiB of its value after boot, and every file
the batch wrote is intact afterwards (and the FAT passes ``fsck.fat -n``)."""
import gc
import shutil
import subprocess

import pytest

from tests.helpers import LONG, shared_image
from tests.robustness.guest import rss_bytes

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not LONG, reason="endurance runs only in the long job (PYVMM_LONG=1)")]

VIRTUAL_SECONDS = 600
RSS_SLACK = 5 << 20
LOOP_BAT = (b"@echo off\r\n"
            b"dir\r\n"
            b"type config.sys\r\n"
            b"copy /y command.com w1.tmp\r\n"
            b"copy /y config.sys w2.tmp\r\n"
            b"echo END-%1\r\n")


def _volume(path, snapshot=False):
    from pyvmm.storage.fat import FatVolume
    from pyvmm.storage.image import DiskImage
    image = DiskImage.open(path, kind="floppy", snapshot=snapshot)
    return image, FatVolume(image)


def test_freedos_batch_loop_for_ten_virtual_minutes(tmp_path):
    from pyvmm.errors import ImageError
    from pyvmm.machine import Machine
    path = str(tmp_path / "fd.img")
    shutil.copyfile(shared_image("fdboot-1.4MB.img"), path)
    image, volume = _volume(path)
    volume.write_file("LOOP.BAT", LOOP_BAT)
    volume.flush()
    image.close()
    try:
        machine = Machine(fda=path)
    except ImageError as e:
        pytest.skip(f"the firmware is not built yet: {e}")
    with machine as m:
        assert m.wait_for_text("A:\\>", timeout=120), "\n".join(m.screen_text())
        gc.collect()
        baseline = rss_bytes()
        end = m.clock.now + m.clock.cycles_from_seconds(VIRTUAL_SECONDS)
        worst, n = 0, 0
        while m.clock.now < end:
            n += 1
            m.type_text(f"loop {n}\n")
            assert m.wait_for_text(f"END-{n}", timeout=60), "\n".join(m.screen_text())
            gc.collect()
            worst = max(worst, rss_bytes() - baseline)
            assert worst <= RSS_SLACK, f"RSS grew {worst / 2**20:.1f} MiB after {n} rounds"
        print(f"\nendurance: {n} rounds, {m.cpu.instructions} instructions, "
              f"{VIRTUAL_SECONDS} virtual s, worst RSS growth {worst / 2**20:.2f} MiB")
    image, volume = _volume(path, snapshot=True)
    try:
        assert volume.read_file("W1.TMP") == volume.read_file("COMMAND.COM")
        assert volume.read_file("W2.TMP") == volume.read_file("CONFIG.SYS")
    finally:
        image.close()
    if shutil.which("fsck.fat"):
        fsck = subprocess.run(["fsck.fat", "-n", path], capture_output=True, text=True)
        assert fsck.returncode == 0, fsck.stdout + fsck.stderr
