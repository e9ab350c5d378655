"""`pyvmm disk`: create, info, ls, put, get, and their errors."""
import io
import os
import shutil
import subprocess

import pytest

from pyvmm.storage.disktool import main, parse_size
from pyvmm.storage.fat import FatVolume, find_volume
from pyvmm.storage.image import DiskImage

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "images")
FLOPPY_SIZES = ["160K", "180K", "320K", "360K", "720K", "1.2M", "1.44M", "2.88M"]


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def error_line(*argv):
    code, out, err = run(*argv)
    assert code == 2, (out, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pyvmm disk: error: ")
    return lines[0]


def test_parse_size():
    assert parse_size("1.44M") == 1474560
    assert parse_size("1.2m") == 1228800
    assert parse_size("720K") == 737280
    assert parse_size("64M") == 64 << 20
    assert parse_size("1G") == 1 << 30


@pytest.mark.parametrize("size", FLOPPY_SIZES)
def test_create_every_floppy_format(tmp_path, size):
    img = tmp_path / "f.img"
    code, out, _ = run("create", img, "--size", size, "--format", "fat")
    assert code == 0 and "FAT12" in out
    with DiskImage.open(img, readonly=True) as d:
        assert d.warning is None                 # our BPB agrees with the size
        vol = FatVolume(d, 0)
        assert vol.fs_type == "FAT12" and vol.total == d.total_sectors
        assert vol.free_clusters() == vol.clusters
    if shutil.which("fsck.fat"):
        r = subprocess.run(["fsck.fat", "-n", str(img)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr


def test_create_blank_and_never_overwrite(tmp_path):
    img = tmp_path / "b.img"
    assert run("create", img, "--size", "720K")[0] == 0
    assert img.read_bytes() == bytes(737280)
    img.write_bytes(b"keep")
    assert "exists" in error_line("create", img, "--size", "720K")
    assert img.read_bytes() == b"keep"
    assert run("create", img, "--size", "720K", "--force")[0] == 0
    assert img.stat().st_size == 737280


def test_hard_disk_put_get_ls_info(tmp_path):
    img = tmp_path / "hd.img"
    code, out, _ = run("create", img, "--size", "16M", "--format", "fat")
    assert code == 0 and "FAT16" in out
    data = os.urandom(100000)
    src = tmp_path / "payload.bin"
    src.write_bytes(data)
    assert run("put", img, src, "DATA.BIN")[0] == 0
    small = tmp_path / "readme.txt"
    small.write_text("hello\n")
    assert run("put", img, small)[0] == 0
    code, out, _ = run("ls", img)
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert names == ["DATA.BIN", "README.TXT"]
    assert "100000" in out
    assert run("get", img, "data.bin", tmp_path / "back.bin")[0] == 0
    assert (tmp_path / "back.bin").read_bytes() == data
    assert "exists" in error_line("get", img, "data.bin", tmp_path / "back.bin")
    # replacing a file frees its old clusters
    src.write_bytes(b"short")
    assert run("put", img, src, "DATA.BIN")[0] == 0
    assert run("get", img, "DATA.BIN", tmp_path / "back.bin", "--force")[0] == 0
    assert (tmp_path / "back.bin").read_bytes() == b"short"
    code, out, _ = run("info", img)
    assert code == 0
    assert "partition:  type 04h, sectors 63.." in out and "active" in out
    assert "FAT16" in out and "files:      2" in out and "16 heads, 63 sectors/track" in out
    with DiskImage.open(img, kind="hd", readonly=True) as d:
        start, part = find_volume(d)
        assert start == 63 and part[0] == 0x80
        mbr = d.read_sectors(0, 1)
        assert mbr[510:] == b"\x55\xAA"
    if shutil.which("mdir"):
        r = subprocess.run(["mdir", "-b", "-i", f"{img}@@{63 * 512}", "::"],
                           capture_output=True, text=True)
        assert "DATA.BIN" in r.stdout and "README.TXT" in r.stdout, r.stdout + r.stderr


def test_many_files_fill_root_and_disk(tmp_path):
    img = tmp_path / "f.img"
    run("create", img, "--size", "160K", "--format", "fat")
    f = tmp_path / "x"
    f.write_bytes(b"1")
    for i in range(64):
        assert run("put", img, f, f"F{i}.TXT")[0] == 0
    assert "root directory is full" in error_line("put", img, f, "ONEMORE.TXT")
    img2 = tmp_path / "g.img"
    run("create", img2, "--size", "160K", "--format", "fat")
    f.write_bytes(os.urandom(200 * 1024))
    assert "full" in error_line("put", img2, f, "BIG.BIN")


def test_freedos_image_subdirectories(tmp_path):
    src = os.path.join(SHARED, "freedos722.img")
    if not os.path.exists(src):
        pytest.skip(f"{src} is absent")
    img = tmp_path / "fd.img"
    shutil.copyfile(src, img)
    code, out, _ = run("ls", img, "GAMES")
    assert code == 0 and "TETRIS.COM" in out
    code, out, _ = run("info", img)
    assert "FAT12" in out and "80 cylinders, 2 heads, 9 sectors/track" in out
    payload = tmp_path / "new.com"
    payload.write_bytes(os.urandom(3000))
    assert run("put", img, payload, "games/")[0] == 0
    assert run("get", img, "GAMES/NEW.COM", tmp_path / "out.com")[0] == 0
    assert (tmp_path / "out.com").read_bytes() == payload.read_bytes()
    code, out, _ = run("get", img, "games\\tetris.com", tmp_path)
    assert code == 0 and (tmp_path / "TETRIS.COM").stat().st_size == 2048
    if shutil.which("fsck.fat"):
        # the only complaints are the ones fsck already has about the original
        def complaints(path):
            r = subprocess.run(["fsck.fat", "-n", str(path)], capture_output=True, text=True)
            return {line for line in r.stdout.splitlines() if str(path) not in line}
        assert complaints(img) == complaints(src)


def test_errors_are_one_line_exit_2(tmp_path):
    assert "does not exist" in error_line("info", tmp_path / "nope.img")
    assert "does not exist" in error_line("ls", tmp_path / "nope.img")
    assert "size" in error_line("create", tmp_path / "a.img", "--size", "lots")
    assert "between 4M and 2G" in error_line("create", tmp_path / "a.img", "--size", "3M")
    error_line("bogus")
    error_line("create", tmp_path / "a.img")            # --size missing
    img = tmp_path / "f.img"
    run("create", img, "--size", "1.44M", "--format", "fat")
    f = tmp_path / "x"
    f.write_bytes(b"1")
    assert "8.3" in error_line("put", img, f, "much-too-long-name.txt")
    assert "not on the disk" in error_line("get", img, "NONE.TXT", tmp_path / "o")
    assert "not on the disk" in error_line("put", img, f, "NODIR/X.TXT")
    assert "cannot read" in error_line("put", img, tmp_path / "missing", "X.TXT")
    blank = tmp_path / "blank.img"
    run("create", blank, "--size", "720K")
    assert "no FAT file system" in error_line("ls", blank)
    held = DiskImage.open(img)
    try:
        assert "in use by another pyvmm" in error_line("put", img, f, "X.TXT")
    finally:
        held.close()
    assert run("--help")[0] == 0
