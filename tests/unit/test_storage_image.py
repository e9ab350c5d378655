"""Disk image layer: geometry, modes, locking, overlays and hostile files."""
import hashlib
import os
import struct
import subprocess
import sys

import pytest

from pyvmm.errors import ImageError
from pyvmm.storage.image import DiskImage, hd_geometry

FLOPPIES = {
    163840: (40, 1, 8), 184320: (40, 1, 9), 327680: (40, 2, 8), 368640: (40, 2, 9),
    737280: (80, 2, 9), 1228800: (80, 2, 15), 1474560: (80, 2, 18), 2949120: (80, 2, 36),
}


def bpb_sector(total, spt, heads):
    sec = bytearray(512)
    sec[0:3] = b"\xEB\x3C\x90"
    struct.pack_into("<HBHBHHBHHH", sec, 11, 512, 1, 1, 2, 224, total, 0xF0, 9, spt, heads)
    sec[510:512] = b"\x55\xAA"
    return bytes(sec)


def write(path, size, boot=b""):
    with open(path, "wb") as f:
        f.write(boot)
        f.truncate(size)
    return path


@pytest.mark.parametrize("size", sorted(FLOPPIES))
def test_floppy_geometry_from_size(tmp_path, size):
    p = write(tmp_path / "f.img", size)
    with DiskImage.open(p) as img:
        assert img.geometry == FLOPPIES[size]
        assert img.total_sectors == size // 512 and img.warning is None


def test_bpb_agreeing_and_lying(tmp_path):
    p = write(tmp_path / "ok.img", 1474560, bpb_sector(2880, 18, 2))
    with DiskImage.open(p) as img:
        assert img.geometry == (80, 2, 18) and img.warning is None
    p = write(tmp_path / "lie.img", 1474560, bpb_sector(1440, 9, 2))
    with DiskImage.open(p) as img:
        assert img.geometry == (80, 2, 18)          # the size wins
        assert "BPB" in img.warning and "80x2x18" in img.warning


def test_dmf_only_with_a_matching_bpb(tmp_path):
    p = write(tmp_path / "dmf.img", 80 * 2 * 21 * 512, bpb_sector(3360, 21, 2))
    with DiskImage.open(p) as img:
        assert img.geometry == (80, 2, 21)
    p = write(tmp_path / "dmf82.img", 82 * 2 * 21 * 512, bpb_sector(3444, 21, 2))
    with DiskImage.open(p) as img:
        assert img.geometry == (82, 2, 21)
    p = write(tmp_path / "nobpb.img", 80 * 2 * 21 * 512)
    with pytest.raises(ImageError, match="not the size of any floppy format"):
        DiskImage.open(p)
    p = write(tmp_path / "otherbpb.img", 80 * 2 * 21 * 512, bpb_sector(2880, 18, 2))
    with pytest.raises(ImageError):
        DiskImage.open(p)


def test_hd_geometry(tmp_path):
    p = write(tmp_path / "hd.img", 64 << 20)
    with DiskImage.open(p, kind="hd") as img:
        assert img.geometry == (130, 16, 63)
        assert img.total_sectors == 131072
    assert hd_geometry(20 * 1024 * 1024 * 1024 // 512) == (16383, 16, 63)
    big = write(tmp_path / "big.img", 9 << 30)          # sparse
    with DiskImage.open(big, kind="hd", readonly=True) as img:
        assert img.geometry == (16383, 16, 63)
    with DiskImage.open(p, kind="hd", geometry=(512, 8, 32)) as img:
        assert img.geometry == (512, 8, 32)
    with pytest.raises(ImageError, match="larger than the file"):
        DiskImage.open(p, kind="hd", geometry=(1000, 16, 63))


def test_read_write_go_to_the_file(tmp_path):
    p = write(tmp_path / "hd.img", 4 << 20)
    img = DiskImage.open(p, kind="hd")
    data = os.urandom(3 * 512)
    img.write_sectors(100, data)
    assert img.read_sectors(100, 3) == data
    img.close()
    assert p.read_bytes()[100 * 512:103 * 512] == data
    assert img.closed
    with pytest.raises(ImageError):
        img.read_sectors(0, 1)


def test_one_pwrite_per_request(tmp_path, monkeypatch):
    p = write(tmp_path / "hd.img", 4 << 20)
    calls = []
    real = os.pwrite
    monkeypatch.setattr(os, "pwrite", lambda fd, d, off: calls.append((len(d), off)) or real(fd, d, off))
    with DiskImage.open(p, kind="hd") as img:
        img.write_sectors(7, bytes(16 * 512))
    assert calls == [(16 * 512, 7 * 512)]


def test_out_of_range_and_partial_sectors(tmp_path):
    p = write(tmp_path / "f.img", 368640)
    with DiskImage.open(p) as img:
        with pytest.raises(ImageError, match="beyond"):
            img.read_sectors(719, 2)
        with pytest.raises(ValueError):
            img.write_sectors(0, b"x" * 100)


def test_readonly_option_and_file(tmp_path):
    p = write(tmp_path / "f.img", 368640)
    with DiskImage.open(p, readonly=True) as img:
        assert img.readonly
        with pytest.raises(ImageError, match="read-only"):
            img.write_sectors(0, bytes(512))
    os.chmod(p, 0o444)
    with DiskImage.open(p) as img:              # not writable: write-protected, also for root
        assert img.readonly
    os.chmod(p, 0o644)


def test_snapshot_overlay(tmp_path):
    p = write(tmp_path / "f.img", 1474560)
    with open(p, "r+b") as f:
        f.write(os.urandom(1474560))
    before = hashlib.sha256(p.read_bytes()).hexdigest()
    img = DiskImage.open(p, snapshot=True)
    assert not img.readonly
    orig = img.read_sectors(10, 3)
    img.write_sectors(11, b"\xAA" * 512)
    got = img.read_sectors(10, 3)
    assert got[:512] == orig[:512] and got[512:1024] == b"\xAA" * 512 and got[1024:] == orig[1024:]
    overlay = img.get_overlay()
    assert list(overlay) == [11]
    img.close()
    assert hashlib.sha256(p.read_bytes()).hexdigest() == before
    img2 = DiskImage.open(p, snapshot=True)
    img2.set_overlay(overlay)
    assert img2.read_sectors(11, 1) == b"\xAA" * 512
    with pytest.raises(ImageError):
        img2.set_overlay({5000: bytes(512)})
    img2.close()
    with DiskImage.open(p) as rw:
        with pytest.raises(ImageError, match="snapshot"):
            rw.set_overlay(overlay)
    # snapshot does not lock out readers or take the write lock
    a = DiskImage.open(p, snapshot=True)
    b = DiskImage.open(p, snapshot=True)
    a.close()
    b.close()


def one_line(exc):
    msg = str(exc.value)
    assert "\n" not in msg and msg
    return msg


def test_hostile_files(tmp_path):
    with pytest.raises(ImageError) as e:
        DiskImage.open(tmp_path / "missing.img")
    assert "does not exist" in one_line(e)
    with pytest.raises(ImageError) as e:
        DiskImage.open(tmp_path)
    assert "directory" in one_line(e)
    empty = write(tmp_path / "empty.img", 0)
    with pytest.raises(ImageError) as e:
        DiskImage.open(empty)
    assert "empty" in one_line(e)
    odd = write(tmp_path / "odd.img", 1000000)
    with pytest.raises(ImageError) as e:
        DiskImage.open(odd)
    assert "not the size of any floppy" in one_line(e)
    with pytest.raises(ImageError) as e:
        DiskImage.open(odd, kind="hd")
    assert "512-byte" in one_line(e)
    with pytest.raises(ImageError) as e:
        DiskImage.open(os.devnull)
    assert "not a regular file" in one_line(e)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ImageError) as e:
        DiskImage.open(fifo)
    one_line(e)
    with pytest.raises(ImageError) as e:
        DiskImage.open(empty / "sub.img")               # a path through a file
    one_line(e)
    with pytest.raises(ImageError):
        DiskImage.open(odd, kind="tape")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without read permission")
def test_unreadable_file(tmp_path):
    p = write(tmp_path / "secret.img", 368640)
    os.chmod(p, 0)
    with pytest.raises(ImageError) as e:
        DiskImage.open(p, readonly=True)
    assert "permission" in one_line(e)


def test_locking(tmp_path):
    p = write(tmp_path / "f.img", 368640)
    first = DiskImage.open(p)
    with pytest.raises(ImageError) as e:
        DiskImage.open(p)
    assert one_line(e) == f"image {p} is in use by another pyvmm"
    with pytest.raises(ImageError, match="in use"):
        DiskImage.open(p, readonly=True)
    first.close()
    DiskImage.open(p).close()
    # another process holding the lock
    code = ("import fcntl,os,sys,time; fd=os.open(sys.argv[1],os.O_RDWR); "
            "fcntl.flock(fd,fcntl.LOCK_EX); print('locked',flush=True); sys.stdin.read()")
    proc = subprocess.Popen([sys.executable, "-c", code, str(p)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(ImageError, match="in use by another pyvmm"):
            DiskImage.open(p)
    finally:
        proc.stdin.close()
        proc.wait()
    DiskImage.open(p).close()
