"""No lost or stray writes.

* A write the ATA controller reports complete is in the image file when pyvmm exits
  normally (API and command), and in the overlay in snapshot mode.
* Snapshot mode never opens the base image for writing; a read-only image is never
  modified.
* Crash consistency: a child writing sectors in a loop is killed with SIGKILL at
  random points; every sector then holds one whole write (old or new), never a torn
  or foreign one, and every write the guest saw complete is there.  The same with
  FreeDOS copying files, checked with ``fsck.fat -n``.

The guest is :func:`tests.robustness.guest.ata_write_program`, started at the reset
vector from its own ROM: no BIOS needed.
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import LONG, ROOT, shared_image
from tests.robustness.guest import (COUNT_ADDR, ERROR_ADDR, ata_write_program, expected_generation,
                                    file_stamp, sector_generation, sector_pattern, workload_image,
                                    write_roms)

SECTORS = 64                 # sectors the workload cycles through
IMAGE_SECTORS = 128          # the image is larger: the rest must stay untouched
WRITES = 200                 # a little over three generations of every sector


def _check_image(path, writes, at_least=None):
    """Every sector holds one whole write.  With ``writes``, exactly the state after
    that many writes; with ``at_least``, any state from that many writes on."""
    data = open(path, "rb").read()
    assert len(data) == IMAGE_SECTORS * 512, "the image changed size"
    gens = []
    for lba in range(IMAGE_SECTORS):
        gen = sector_generation(data[lba * 512:(lba + 1) * 512], lba)
        assert gen is not None, f"sector {lba} is torn or holds another sector's data"
        gens.append(gen)
    if writes is not None:
        want = [expected_generation(lba, writes, SECTORS) for lba in range(IMAGE_SECTORS)]
        assert gens == want
    else:
        # writes go in order: the image is the state after some n >= at_least writes
        # (a sector being written when the kill came may still be old)
        assert gens[SECTORS:] == [0] * (IMAGE_SECTORS - SECTORS), "a write landed outside the workload"
        low = [expected_generation(lba, at_least, SECTORS) for lba in range(SECTORS)]
        assert all(g >= w for g, w in zip(gens, low)), "a write the guest saw complete is missing"
        top = max(range(SECTORS), key=lambda lba: (gens[lba], lba))
        n = (gens[top] - 1) * SECTORS + top + 1 if gens[top] else 0   # writes done, by the newest sector
        want = [expected_generation(lba, n, SECTORS) for lba in range(SECTORS)]
        assert gens[:SECTORS] == want, f"the sectors are not the state after write #{n}"
    return gens


@pytest.fixture
def workload(tmp_path):
    image = workload_image(tmp_path / "hd.img", IMAGE_SECTORS)
    bios, vga = write_roms(tmp_path, ata_write_program(SECTORS, WRITES))
    return image, bios, vga


def _run_to_exit(m):
    while m.exit_code is None:
        m.run(cycles=200_000)
        assert m.clock.now < 100_000_000, "the workload did not finish"


def test_completed_writes_reach_the_file(workload):
    from pyvmm.machine import Machine
    image, bios, vga = workload
    with Machine(bios=bios, vgabios=vga, hda=image, boot="c", debug_exit=True) as m:
        _run_to_exit(m)
        assert int.from_bytes(m.read(COUNT_ADDR, 2), "little") == WRITES
        assert int.from_bytes(m.read(ERROR_ADDR, 2), "little") == 0
    _check_image(image, WRITES)


def test_completed_writes_reach_the_file_from_the_command(workload):
    image, bios, vga = workload
    proc = subprocess.run([sys.executable, "-m", "pyvmm.frontend.cli", "run", "--display", "none",
                           "--bios", bios, "--vgabios", vga, "--hda", image, "--boot", "c", "--debug-exit"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr          # the guest wrote 0 to F4h: (0 << 1) | 1
    _check_image(image, WRITES)


def _open_modes(path):
    """The access modes of this process's open descriptors on ``path``."""
    modes = []
    real = os.path.realpath(path)
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != real:
                continue
            with open(f"/proc/self/fdinfo/{fd}") as f:
                flags = int(next(line for line in f if line.startswith("flags:")).split()[1], 8)
        except (OSError, StopIteration):
            continue
        modes.append(flags & os.O_ACCMODE)
    return modes


@pytest.mark.parametrize("readonly_file", [False, True], ids=["writable-file", "read-only-file"])
def test_snapshot_mode_keeps_the_base_image(workload, readonly_file):
    from pyvmm.machine import Machine
    image, bios, vga = workload
    if readonly_file:
        os.chmod(image, 0o444)
    before = file_stamp(image)
    with Machine(bios=bios, vgabios=vga, hda=image, boot="c", debug_exit=True, snapshot=True) as m:
        modes = _open_modes(image)
        assert modes and all(mode == os.O_RDONLY for mode in modes), "snapshot mode opened the image for writing"
        _run_to_exit(m)
        assert int.from_bytes(m.read(ERROR_ADDR, 2), "little") == 0
        disk = m.ata[0].images[0]
        for lba in range(IMAGE_SECTORS):
            gen = expected_generation(lba, WRITES, SECTORS)
            assert disk.read_sectors(lba, 1) == sector_pattern(lba, gen)
        assert sorted(disk.get_overlay()) == list(range(SECTORS))
    assert file_stamp(image) == before
    _check_image(image, 0)


def test_read_only_image_is_never_modified(workload):
    """Without snapshot mode a file with no write permission is a write-protected
    disk: every WRITE SECTORS fails (the guest counts the failures), the file stays."""
    from pyvmm.machine import Machine
    image, bios, vga = workload
    os.chmod(image, 0o444)
    before = file_stamp(image)
    with Machine(bios=bios, vgabios=vga, hda=image, boot="c", debug_exit=True) as m:
        assert all(mode == os.O_RDONLY for mode in _open_modes(image))
        _run_to_exit(m)
        assert int.from_bytes(m.read(ERROR_ADDR, 2), "little") == WRITES
    assert file_stamp(image) == before


def _kill_points(seed, count):
    rng = random.Random(seed)
    return [rng.uniform(0.05, 1.5) for _ in range(count)]


def _run_and_kill(argv, delay, tag):
    """Start the workload child, let it run ``delay`` seconds after it says
    "started", SIGKILL it; returns the last number it printed after ``tag``."""
    child = subprocess.Popen([sys.executable, "-m", "tests.robustness.workload"] + argv,
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        first = child.stdout.readline()
        if first.strip() != "started":
            child.kill()
            out, err = child.communicate()
            return first + out, err
        time.sleep(delay)
        os.kill(child.pid, signal.SIGKILL)
        out, err = child.communicate()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL, f"child ended by itself ({child.returncode}): {err[-2000:]}"
    # only whole lines: the kill may cut the last one short
    counts = [int(line.split()[1]) for line in out.split("\n")[:-1] if line.startswith(tag + " ")]
    return counts[-1] if counts else 0, err


def test_sigkill_leaves_whole_sectors(tmp_path):
    for i, delay in enumerate(_kill_points(1, 12 if LONG else 3)):
        image = workload_image(tmp_path / f"hd{i}.img", IMAGE_SECTORS)
        done, err = _run_and_kill(["ata", image, str(SECTORS)], delay, "completed")
        assert isinstance(done, int), f"workload did not start: {done} {err}"
        gens = _check_image(image, None, at_least=done)
        print(f"\nkilled after {delay:.2f}s: the guest had seen {done} writes complete; "
              f"newest generation on disk {max(gens)}")


def _freedos_floppy_or_skip(tmp_path):
    from pyvmm.errors import ImageError
    from pyvmm.machine import Machine
    source = shared_image("fdboot-1.4MB.img")
    image = tmp_path / "fd.img"
    shutil.copyfile(source, image)
    os.chmod(image, 0o644)          # the shared images are read-only files
    try:
        with Machine(fda=str(image), snapshot=True) as m:
            if not m.wait_for_text("A:\\>", timeout=120):
                pytest.skip("FreeDOS does not reach A:\\> in pyvmm yet (tests/integration/test_boot.py)")
    except ImageError as e:
        pytest.skip(f"the firmware is not built yet: {e}")
    return str(image)


def _kill_after(argv, tag, target):
    """Start the workload child and SIGKILL it the moment it reports ``tag target``."""
    child = subprocess.Popen([sys.executable, "-m", "tests.robustness.workload"] + argv,
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    seen = []
    try:
        for line in child.stdout:
            seen.append(line.strip())
            if line.split() == [tag, str(target)]:
                os.kill(child.pid, signal.SIGKILL)
                break
    finally:
        if child.poll() is None:
            child.kill()
        err = child.communicate()[1]
    assert child.returncode == -signal.SIGKILL, f"child ended by itself: {seen[-3:]} {err[-2000:]}"


@pytest.mark.skipif(shutil.which("fsck.fat") is None, reason="fsck.fat (Debian dosfstools) is not installed")
def test_sigkill_after_freedos_copies_keeps_fat_consistent(tmp_path):
    """FreeDOS copies COMMAND.COM over and over; the host process is killed right
    after a copy finished (a random one of the first few), while DOS reads keys at
    its prompt.  Nothing DOS wrote may be lost: fsck.fat passes and the copies are
    whole.  (A kill in the middle of a COPY can leave the FAT inconsistent on any
    PC - DOS updates the FAT and the directory entry at different times - so the
    arbitrary-point kill test is the sector-level one above.)"""
    from pyvmm.storage.fat import FatVolume
    from pyvmm.storage.image import DiskImage
    image = _freedos_floppy_or_skip(tmp_path)
    for target in random.Random(2).sample(range(1, 8), 6 if LONG else 2):
        _kill_after(["freedos", image], "copied", target)
        fsck = subprocess.run(["fsck.fat", "-n", image], capture_output=True, text=True)
        assert fsck.returncode == 0, f"killed after copy {target}: {fsck.stdout}{fsck.stderr}"
        with DiskImage.open(image, snapshot=True) as disk:
            volume = FatVolume(disk)
            original = volume.read_file("COMMAND.COM")
            for k in {n % 4 for n in range(1, target + 1)}:
                assert volume.read_file(f"C{k}.TMP") == original, f"C{k}.TMP is not a whole copy"
        print(f"\nFreeDOS killed after copy {target}: {fsck.stdout.strip().splitlines()[-1]}")
