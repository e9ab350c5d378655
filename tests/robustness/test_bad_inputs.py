"""Bad inputs: every wrong option, TOML key, image, ROM and save state gives one
clear line (exit status 2 from the command, an Error subclass from the API) and
changes no file.

The command rows run ``pyvmm.frontend.cli.main`` in this process (the code
``python3 -m pyvmm.frontend.cli`` runs); a few rows, and all of them with
PYVMM_LONG=1, also run as a real subprocess.
"""
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from pyvmm.errors import ConfigError, Error, ImageError, StateError
from tests.helpers import LONG, ROOT
from tests.robustness.guest import Asm, file_stamp, option_rom, rom_image

FLOPPY_144 = 1440 * 1024


def _idle_program():
    """Count in a loop, so two runs differ in RAM and registers."""
    a = Asm().setup().label("top")
    a.emit(0xFF, 0x06, struct.pack("<H", 0x600))      # inc word [600h]
    a.emit(0x41)                                      # inc cx
    a.jcc(0xEB, "top")
    return a.assemble()


def _bpb(sectors_per_track, heads, total):
    """A boot sector whose BPB describes the given geometry."""
    boot = bytearray(512)
    boot[0:3] = b"\xEB\x3C\x90"
    boot[11:13] = (512).to_bytes(2, "little")
    boot[13] = 1
    boot[14:16] = (1).to_bytes(2, "little")
    boot[16] = 2
    boot[19:21] = total.to_bytes(2, "little")
    boot[24:26] = sectors_per_track.to_bytes(2, "little")
    boot[26:28] = heads.to_bytes(2, "little")
    boot[510:512] = b"\x55\xAA"
    return bytes(boot)


# Rows that fail today because of bugs in other modules (each is in the robustness
# report with its reproducer).  Strict: when the bug is fixed the row passes, the
# xfail fails, and the entry must go.
KNOWN_BUGS = {}


def _params(rows):
    return [pytest.param(row, id=row[0], marks=[pytest.mark.xfail(strict=True, reason="known bug: " + KNOWN_BUGS[row[0]])]
                         if row[0] in KNOWN_BUGS else []) for row in rows]


class Env:
    """A directory of good inputs; rows add bad ones next to them."""

    def __init__(self, root):
        self.root = Path(root)
        self.bios = self.file("bios.bin", rom_image(_idle_program()))
        self.vga = self.file("vga.bin", option_rom())
        self.fda = self.file("a.img", _bpb(18, 2, 2880) + bytes(FLOPPY_144 - 512))
        self.hda = self.file("c.img", bytes(512 * 1008))

    def file(self, name, data=b"", mode=None):
        path = self.root / name
        path.write_bytes(data)
        if mode is not None:
            path.chmod(mode)
        return str(path)

    def dir(self, name):
        path = self.root / name
        path.mkdir()
        return str(path)

    def toml(self, text):
        return self.file("machine.toml", text.encode())

    def stamps(self):
        """Every file under the directory with its hash, size, mtime and mode."""
        out = {}
        for path in sorted(self.root.rglob("*")):
            if path.is_file():
                out[str(path)] = file_stamp(path)
            else:
                out[str(path)] = "dir" if path.is_dir() else "other"
        return out


@pytest.fixture
def env(tmp_path):
    return Env(tmp_path)


def _fifo(env):
    path = env.root / "fifo.img"
    os.mkfifo(path)
    return ["--fda", str(path)]


def _unreadable(env):
    if os.geteuid() == 0:
        pytest.skip("running as root: permission bits do not stop reads "
                    "(the FIFO and directory rows cover unopenable images)")
    return ["--fda", env.file("noread.img", bytes(FLOPPY_144), mode=0)]


# (id, extra arguments built in the env, fragment the one line must contain).
# Base arguments give every run a good BIOS, VGA ROM and floppy, so each row has
# exactly one thing wrong.
CLI_ROWS = [
    # options: wrong types, out of range, unknown names
    ("cpu-unknown", lambda e: ["--cpu", "z80"], "cpu: unknown model 'z80'"),
    ("cpu-empty", lambda e: ["--cpu", ""], "cpu: unknown model ''"),
    ("memory-text", lambda e: ["--memory", "lots"], "'lots' is not a whole number of KiB"),
    ("memory-float", lambda e: ["--memory", "640.5"], "is not a whole number of KiB"),
    ("memory-small", lambda e: ["--memory", "32"], "memory: 32 KiB is out of range"),
    ("memory-negative", lambda e: ["--memory", "-640"], "out of range"),
    ("memory-hole", lambda e: ["--memory", "800", "--cpu", "80286"], "memory: 800 KiB is not possible"),
    ("memory-8086-extended", lambda e: ["--memory", "2048"], "memory: 2048 KiB is out of range for a 8086"),
    ("memory-huge", lambda e: ["--memory", "99999999", "--cpu", "80286"], "out of range"),
    ("boot-letter", lambda e: ["--boot", "x"], "boot: 'x' is not a boot order"),
    ("boot-repeated", lambda e: ["--boot", "aa"], "boot: 'aa' is not a boot order"),
    ("rtc-word", lambda e: ["--rtc", "tomorrow"], "rtc: 'tomorrow' is not 'now' or a date"),
    ("rtc-year", lambda e: ["--rtc", "1970-01-01T00:00:00"], "rtc: year 1970 is outside 1980-2099"),
    ("sleep-negative", lambda e: ["--sleep", "-1"], "'-1' seconds is out of range"),
    ("sleep-text", lambda e: ["--sleep", "soon"], "'soon' is not a number of seconds"),
    ("sleep-nan", lambda e: ["--sleep", "nan"], "out of range"),
    ("timeout-text", lambda e: ["--timeout", "x"], "'x' is not a number of seconds"),
    ("display-unknown", lambda e: ["--display", "vnc"], "invalid choice: 'vnc'"),
    ("option-unknown", lambda e: ["--frobnicate"], "unrecognized arguments: --frobnicate"),
    ("pace-both", lambda e: ["--turbo", "--realtime"], "not allowed with argument"),
    ("serial-unknown", lambda e: ["--serial", "lpt:1"], "serial backend 'lpt:1' is not understood"),
    ("serial-port-range", lambda e: ["--serial", "tcp:127.0.0.1:99999"], "the port must be a number 0-65535"),
    ("serial-file-nopath", lambda e: ["--serial", "file:"], "serial backend 'file:' needs a path"),
    ("serial-file-nodir", lambda e: ["--serial", f"file:{e.root}/no/such/dir/com1.log"], "serial output file"),
    ("type-unknown-key", lambda e: ["--type", "{NOSUCHKEY}"], "unknown key name 'NOSUCHKEY'"),
    ("type-unterminated", lambda e: ["--type", "{F1"], "unterminated key name"),
    ("screenshot-no-dir", lambda e: ["--screenshot", str(e.root / "no" / "dir" / "x.png")], "x.png"),
    ("serial-file-then-bad-image", lambda e: ["--serial", f"file:{e.root}/com1.log", "--fdb", str(e.root / "none.img")],
     "none.img does not exist"),
    ("same-image-twice", lambda e: ["--fdb", e.fda], "is in use by another pyvmm"),
    # TOML files and keys
    ("config-missing", lambda e: ["--config", str(e.root / "none.toml")], "none.toml does not exist"),
    ("config-directory", lambda e: ["--config", e.dir("conf.d")], "is a directory"),
    ("config-syntax", lambda e: ["--config", e.toml("cpu = \n")], "machine.toml: Invalid value"),
    ("config-binary", lambda e: ["--config", e.file("bin.toml", b"\xff\xfe\x00\x01")], "is not TOML text"),
    ("toml-unknown-key", lambda e: ["--config", e.toml('speed = 4\n')], "unknown key 'speed'"),
    ("toml-cpu-int", lambda e: ["--config", e.toml("cpu = 8086\n")], "cpu: expected str, not int 8086"),
    ("toml-memory-str", lambda e: ["--config", e.toml('memory = "640"\n')], "memory: expected int, not str '640'"),
    ("toml-memory-bool", lambda e: ["--config", e.toml("memory = true\n")], "memory: expected int, not bool True"),
    ("toml-memory-float", lambda e: ["--config", e.toml("memory = 640.0\n")], "memory: expected int, not float"),
    ("toml-memory-range", lambda e: ["--config", e.toml("memory = 10\n")], "memory: 10 KiB is out of range"),
    ("toml-snapshot-str", lambda e: ["--config", e.toml('snapshot = "yes"\n')], "snapshot: expected bool, not str 'yes'"),
    ("toml-debug-exit-int", lambda e: ["--config", e.toml("debug-exit = 1\n")], "debug_exit: expected bool, not int 1"),
    ("toml-boot-list", lambda e: ["--config", e.toml('boot = ["a"]\n')], "boot: expected str, not list"),
    ("toml-fda-int", lambda e: ["--config", e.toml("fda = 5\n")], "fda: expected str or nothing, not int 5"),
    ("toml-fda-empty", lambda e: ["--config", e.toml('fda = ""\n')], "fda: empty value"),
    ("toml-rtc-date", lambda e: ["--config", e.toml("rtc = 2024-05-01\n")], "rtc: expected 'now' or a date and time, not date"),
    ("toml-rtc-year", lambda e: ["--config", e.toml("rtc = 2150-05-01T00:00:00\n")], "rtc: year 2150 is outside"),
    ("toml-table", lambda e: ["--config", e.toml("[machine]\ncpu = '8086'\n")], "unknown key 'machine'"),
    # disk images
    ("image-missing", lambda e: ["--fda", str(e.root / "none.img")], "none.img does not exist"),
    ("image-empty-name", lambda e: ["--fda", ""], "fda: empty value"),
    ("image-empty", lambda e: ["--fda", e.file("empty.img")], "is empty (0 bytes)"),
    ("image-truncated", lambda e: ["--fda", e.file("short.img", bytes(FLOPPY_144 - 1))],
     "1474559 bytes is not the size of any floppy format"),
    ("image-oversized", lambda e: ["--fda", e.file("big.img", bytes(FLOPPY_144 + 512))],
     "1475072 bytes is not the size of any floppy format"),
    ("image-dmf-lying-bpb", lambda e: ["--fda", e.file("dmf.img", _bpb(18, 2, 2880) + bytes(80 * 2 * 21 * 512 - 512))],
     "1720320 bytes is not the size of any floppy format"),
    ("image-directory", lambda e: ["--fda", e.dir("disk.d")], "is a directory, not a disk image"),
    ("image-fifo", _fifo, "is not a regular file"),
    ("image-unreadable", _unreadable, "cannot be read: permission denied"),
    ("image-through-file", lambda e: ["--fda", e.fda + "/x.img"], "cannot be opened: Not a directory"),
    ("hd-missing", lambda e: ["--hda", str(e.root / "none.img")], "none.img does not exist"),
    ("hd-partial-sector", lambda e: ["--hda", e.file("odd.img", bytes(512 * 1008 + 100))],
     "is not a whole number of 512-byte sectors"),
    ("hd-empty", lambda e: ["--hda", e.file("hdempty.img")], "is empty (0 bytes)"),
    # ROM overrides
    ("bios-small", lambda e: ["--bios", e.file("small.rom", bytes(1000))], "is 1000 bytes; a system BIOS must be exactly 65536"),
    ("bios-large", lambda e: ["--bios", e.file("large.rom", bytes(0x20000))], "a system BIOS must be exactly 65536"),
    ("bios-empty", lambda e: ["--bios", e.file("zero.rom")], "is 0 bytes"),
    ("bios-missing", lambda e: ["--bios", str(e.root / "none.rom")], "none.rom does not exist"),
    ("bios-directory", lambda e: ["--bios", e.dir("rom.d")], "is a directory"),
    ("vgabios-no-signature", lambda e: ["--vgabios", e.file("vga0.rom", bytes(2048))], "is not an option ROM"),
    ("vgabios-odd-size", lambda e: ["--vgabios", e.file("vga1.rom", b"\x55\xAA" + bytes(3000))], "is not an option ROM"),
    ("vgabios-too-big", lambda e: ["--vgabios", e.file("vga2.rom", b"\x55\xAA" + bytes(0x20000 - 2))], "is not an option ROM"),
]

# rows that also run as a real `python3 -m pyvmm.frontend.cli` child by default
SUBPROCESS_ROWS = {"cpu-unknown", "toml-memory-str", "image-truncated", "bios-small"}


def _cli_args(env, extra):
    base = ["run", "--display", "none", "--bios", env.bios, "--vgabios", env.vga, "--fda", env.fda]
    return base + extra + ["--sleep", "0"]


def _check_one_line(status, err, fragment):
    lines = err.strip().splitlines()
    assert status == 2, f"exit status {status}, stderr {err!r}"
    assert len(lines) == 1, f"expected one line, got {err!r}"
    assert lines[0].startswith("pyvmm"), lines[0]
    assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


@pytest.mark.parametrize("row", _params(CLI_ROWS))
def test_cli_rejects(row, env, capsys):
    from pyvmm.frontend.cli import main
    name, build, fragment = row
    extra = build(env)
    before = env.stamps()
    status = main(_cli_args(env, extra))
    out, err = capsys.readouterr()
    _check_one_line(status, err, fragment)
    assert env.stamps() == before, "a rejected run changed, created or removed a file"
    if LONG or name in SUBPROCESS_ROWS:
        proc = subprocess.run([sys.executable, "-m", "pyvmm.frontend.cli"] + _cli_args(env, extra),
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        _check_one_line(proc.returncode, proc.stderr, fragment)
        assert env.stamps() == before


def test_cli_rejects_locked_image(env, capsys):
    """A hard disk in use by another run (held here with DiskImage, which takes the
    same flock a running pyvmm holds) is refused; the holder's file is untouched."""
    from pyvmm.frontend.cli import main
    from pyvmm.storage.image import DiskImage
    before = env.stamps()
    with DiskImage.open(env.hda, kind="hd"):
        for args in (["--hda", env.hda], ["--hda", env.hda, "--snapshot"]):
            status = main(_cli_args(env, args))
            _check_one_line(status, capsys.readouterr().err, "is in use by another pyvmm")
    assert env.stamps() == before


def _flock_holder(path):
    """The pid holding an exclusive flock on ``path`` (from /proc/locks, which
    looking does not disturb), or None."""
    st = os.stat(path)
    inode = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    with open("/proc/locks") as f:
        for line in f:
            fields = line.split()
            if "FLOCK" in fields and "WRITE" in fields and inode in fields:
                return int(fields[fields.index("WRITE") + 1])
    return None


def test_cli_rejects_image_locked_by_running_pyvmm(env):
    """The same with a real pyvmm process holding the image."""
    holder = subprocess.Popen([sys.executable, "-m", "pyvmm.frontend.cli", "run", "--display", "none",
                               "--bios", env.bios, "--vgabios", env.vga, "--hda", env.hda, "--sleep", "600"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        import time
        for _ in range(600):                       # wait until the child holds the lock
            if _flock_holder(env.hda) == holder.pid:
                break
            if holder.poll() is not None:
                pytest.fail(f"holder exited: {holder.communicate()}")
            time.sleep(0.05)
        else:
            pytest.fail("the running pyvmm never locked its image")
        proc = subprocess.run([sys.executable, "-m", "pyvmm.frontend.cli"] + _cli_args(env, ["--hda", env.hda]),
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        _check_one_line(proc.returncode, proc.stderr, "is in use by another pyvmm")
    finally:
        holder.kill()
        holder.wait()


def test_lying_bpb_on_a_standard_size_is_a_warning(env):
    """A 1.44M file whose BPB claims 720K: the size decides, and the image says why."""
    from pyvmm.machine import Machine
    path = env.file("liar.img", _bpb(9, 2, 1440) + bytes(FLOPPY_144 - 512))
    before = file_stamp(path)
    with Machine(bios=env.bios, vgabios=env.vga, fda=path) as m:
        image = m.fdc.eject(0)
        assert image.geometry == (80, 2, 18)
        assert "BPB says 1440 sectors" in image.warning
        image.close()
    assert file_stamp(path) == before


# -- the API -----------------------------------------------------------------------------------
API_ROWS = [
    ("cpu-int", lambda e: dict(cpu=8086), ConfigError, "cpu: expected str"),
    ("cpu-unknown", lambda e: dict(cpu="68000"), ConfigError, "unknown model '68000'"),
    ("memory-str", lambda e: dict(memory="640"), ConfigError, "memory: expected int"),
    ("memory-bool", lambda e: dict(memory=True), ConfigError, "memory: expected int"),
    ("memory-range", lambda e: dict(memory=1 << 40), ConfigError, "out of range"),
    ("snapshot-int", lambda e: dict(snapshot=1), ConfigError, "snapshot: expected bool"),
    ("fda-bytes", lambda e: dict(fda=b"a.img"), ConfigError, "fda: expected str or nothing"),
    ("fda-path", lambda e: dict(fda=Path(e.fda)), ConfigError, "fda: expected str or nothing"),
    ("boot-empty", lambda e: dict(boot=""), ConfigError, "is not a boot order"),
    ("rtc-int", lambda e: dict(rtc=0), ConfigError, "rtc: expected 'now'"),
    ("serial-int", lambda e: dict(serial=1), ConfigError, "serial: expected str"),
    ("fdb-int", lambda e: dict(fdb=1), ConfigError, "fdb: expected str or nothing"),
    ("hdb-list", lambda e: dict(hdb=["c.img"]), ConfigError, "hdb: expected str or nothing"),
    ("bios-bytes", lambda e: dict(bios=b"\0" * 65536), ConfigError, "bios: expected str or nothing"),
    ("vgabios-empty", lambda e: dict(vgabios=""), ConfigError, "vgabios: empty value"),
    ("debug-exit-str", lambda e: dict(debug_exit="yes"), ConfigError, "debug_exit: expected bool"),
    ("rtc-range", lambda e: dict(rtc="2100-01-01T00:00:00"), ConfigError, "rtc: year 2100 is outside"),
    ("boot-order", lambda e: dict(boot="ab"), ConfigError, "is not a boot order"),
    ("memory-286-range", lambda e: dict(cpu="80286", memory=32 * 1024), ConfigError, "out of range"),
    ("serial-spec", lambda e: dict(serial="com1"), ConfigError, "serial backend 'com1' is not understood"),
    ("image-missing", lambda e: dict(fda=str(e.root / "none.img")), ImageError, "does not exist"),
    ("image-empty", lambda e: dict(hda=e.file("e.img")), ImageError, "is empty"),
    ("image-partial-sector", lambda e: dict(hda=e.file("p.img", bytes(1000))), ImageError, "whole number of 512-byte sectors"),
    ("image-truncated", lambda e: dict(fda=e.file("t.img", bytes(FLOPPY_144 - 1))), ImageError, "not the size of any floppy"),
    ("image-directory", lambda e: dict(hda=e.dir("hd.d")), ImageError, "is a directory"),
    ("bios-size", lambda e: dict(bios=e.file("b.rom", bytes(4096))), ImageError, "must be exactly 65536"),
    ("vgabios-signature", lambda e: dict(vgabios=e.file("v.rom", bytes(4096))), ImageError, "is not an option ROM"),
]


@pytest.mark.parametrize("row", _params(API_ROWS))
def test_api_rejects(row, env):
    from pyvmm.machine import Machine
    name, build, error, fragment = row
    options = dict(bios=env.bios, vgabios=env.vga, fda=env.fda)
    options.update(build(env))
    before = env.stamps()
    with pytest.raises(error) as info:
        Machine(**options)
    assert isinstance(info.value, (Error, ValueError))
    assert fragment in str(info.value) and "\n" not in str(info.value)
    assert env.stamps() == before


def test_api_unknown_option_is_a_config_error(env):
    """A misspelt keyword is the API's "unknown name" case: it must be a ConfigError
    naming the key, like an unknown TOML key, not a bare TypeError."""
    from pyvmm.machine import Machine
    with pytest.raises(ConfigError, match="speed"):
        Machine(bios=env.bios, vgabios=env.vga, fda=env.fda, speed=4)


# -- save states -------------------------------------------------------------------------------
def _machine_fingerprint(m):
    """RAM, CPU and every device's state: what a refused load must leave alone."""
    import hashlib
    import json
    h = hashlib.sha256(m.memory.tobytes())
    h.update(repr(m.cpu.get_state()).encode())
    h.update(repr(m.clock.get_state()).encode())
    for device in m.board.devices:
        h.update(json.dumps(device.get_state(), default=repr, sort_keys=True).encode())
    return h.hexdigest()


def _container(doc, blobs=b"", version=1, crc=None):
    """A save-state file around an arbitrary JSON document (a crafted, hostile state
    whose checksum is right)."""
    import json
    body = json.dumps(doc).encode() if not isinstance(doc, bytes) else doc
    payload = zlib.compress(struct.pack("<I", len(body)) + body + blobs)
    return b"PYVMMSAV" + struct.pack("<II", version, zlib.crc32(payload) if crc is None else crc) + payload


def _flip(data, index, bit=0):
    data = bytearray(data)
    data[index] ^= 1 << bit
    return bytes(data)


def _other_machine_state(env, **options):
    from pyvmm.machine import Machine
    path = env.root / "other.state"
    with Machine(bios=env.bios, vgabios=env.vga, fda=env.fda, snapshot=True, **options) as other:
        other.run(cycles=1000)
        other.save_state(str(path))
    return path.read_bytes()


def _retyped_state(good, edit):
    """The good state decoded, changed by ``edit(parts)`` and encoded again."""
    from pyvmm.state.snapshot import decode, encode
    parts = decode(good)
    edit(parts)
    return encode(parts)


def _set_cpu_regs(parts):
    parts["cpu"]["regs"] = ["x"] * 8


def _drop_device(parts):
    parts["devices"].popitem()


STATE_ROWS = [
    ("empty", lambda e, good: b"", "is not a pyvmm save state"),
    ("text", lambda e, good: b"this is not a state\n", "is not a pyvmm save state"),
    ("png", lambda e, good: b"\x89PNG\r\n\x1a\n" + bytes(100), "is not a pyvmm save state"),
    ("header-only", lambda e, good: good[:16], "checksum mismatch"),
    ("truncated-header", lambda e, good: good[:10], "is not a pyvmm save state"),
    ("truncated-half", lambda e, good: good[:len(good) // 2], "checksum mismatch"),
    ("truncated-last-byte", lambda e, good: good[:-1], "checksum mismatch"),
    ("bit-flip-payload", lambda e, good: _flip(good, len(good) // 2, 3), "checksum mismatch"),
    ("bit-flip-crc", lambda e, good: _flip(good, 12, 7), "checksum mismatch"),
    ("bit-flip-magic", lambda e, good: _flip(good, 0, 1), "is not a pyvmm save state"),
    ("newer-version", lambda e, good: good[:8] + struct.pack("<I", 2) + good[12:], "format version 2; this pyvmm reads version 1"),
    ("older-version", lambda e, good: good[:8] + struct.pack("<I", 0) + good[12:], "format version 0"),
    ("crc-ok-not-zlib", lambda e, good: b"PYVMMSAV" + struct.pack("<II", 1, zlib.crc32(b"garbage")) + b"garbage", "is corrupt"),
    ("crc-ok-not-json", lambda e, good: _container(b"{not json"), "is corrupt"),
    ("json-empty-object", lambda e, good: _container({}), "does not fit this machine"),
    ("json-list", lambda e, good: _container([1, 2, 3]), "does not fit this machine"),
    ("blob-outside", lambda e, good: _container({"machine": {"$bytes": [0, 10 ** 9]}}), "a blob lies outside the file"),
    ("blob-ref-not-pair", lambda e, good: _container({"machine": {"$bytes": 5}}), "is corrupt"),
    ("dict-key-unhashable", lambda e, good: _container({"machine": {"$dict": [[{"a": 1}, 1]]}}), "is corrupt"),
    ("other-cpu", lambda e, good: _other_machine_state(e, cpu="80186"), "another configuration (cpu 80186"),
    ("other-memory", lambda e, good: _other_machine_state(e, memory=512), "another configuration"),
    ("cpu-regs-strings", lambda e, good: _retyped_state(good, _set_cpu_regs), "state: cpu.regs[0] should be a number"),
    ("device-missing", lambda e, good: _retyped_state(good, _drop_device), "does not fit this machine"),
]


@pytest.fixture
def running(env):
    """A machine that has run a while, with a good state saved from an earlier point."""
    from pyvmm.machine import Machine
    m = Machine(bios=env.bios, vgabios=env.vga, fda=env.fda, snapshot=True)
    m.run(cycles=5000)
    good = env.root / "good.state"
    m.save_state(str(good))
    m.run(cycles=7000)
    yield m, good.read_bytes()
    m.close()


@pytest.mark.parametrize("row", _params(STATE_ROWS))
def test_load_state_rejects(row, env, running):
    m, good = running
    name, build, fragment = row
    path = env.root / f"{name}.state"
    path.write_bytes(build(env, good))
    before_files = env.stamps()
    before = _machine_fingerprint(m)
    with pytest.raises(StateError) as info:
        m.load_state(str(path))
    assert fragment in str(info.value), str(info.value)
    assert "\n" not in str(info.value)
    assert _machine_fingerprint(m) == before, "a refused load changed the running machine"
    assert env.stamps() == before_files
    m.run(cycles=1000)                    # and it still runs


def test_load_state_rejects_paths(env, running):
    m, _good = running
    before = _machine_fingerprint(m)
    for path, fragment in ((env.root / "none.state", "cannot read state file"),
                           (env.dir("state.d"), "cannot read state file")):
        with pytest.raises(StateError, match=fragment):
            m.load_state(str(path))
    assert _machine_fingerprint(m) == before


def test_good_state_still_loads(env, running):
    """The control row: the unmodified file loads and the machine goes back to it."""
    m, good = running
    path = env.root / "again.state"
    path.write_bytes(good)
    m.load_state(str(path))
    m.run(cycles=7000)
    m2_fingerprint = _machine_fingerprint(m)
    m.load_state(str(path))
    m.run(cycles=7000)
    assert _machine_fingerprint(m) == m2_fingerprint


def _load_edited_states(env, edits):
    """Save a good state of a running guest, then for each ``(where, edit)`` load it
    with ``edit(devices)`` applied into a fresh machine and run 50,000 cycles.  A load
    refused with StateError is fine; what else escapes, even an exception compiled
    code can only report as "unraisable", is returned as one line per case."""
    from pyvmm.machine import Machine
    from pyvmm.state.snapshot import decode, encode
    from tests.robustness.fuzz import build_case
    options, _ = build_case("port", 3, env.root)
    options = {**options, "cpu": "8086"}
    with Machine(**options) as m:
        m.run(cycles=20000)
        good_path = env.root / "good.state"
        m.save_state(str(good_path))
    good = good_path.read_bytes()
    bad_path = env.root / "bad.state"
    escapes, unraisable = [], []
    old_hook = sys.unraisablehook
    sys.unraisablehook = lambda u: unraisable.append(f"{type(u.exc_value).__name__}: {u.exc_value}")
    try:
        for where, edit in edits(decode(good)["devices"]):
            parts = decode(good)
            edit(parts["devices"])
            bad_path.write_bytes(encode(parts))
            del unraisable[:]
            with Machine(**options) as m:
                try:
                    m.load_state(str(bad_path))
                except StateError:
                    continue
                except Exception as e:
                    escapes.append(f"{where}: load: {type(e).__name__}: {e}")
                    continue
                try:
                    m.run(cycles=50000)
                    m.screen_text()
                except Exception as e:
                    escapes.append(f"{where}: run: {type(e).__name__}: {e}")
            escapes.extend(f"{where}: unraisable {u}" for u in unraisable)
    finally:
        sys.unraisablehook = old_hook
    return escapes


def _set_at(path, value):
    def edit(devices):
        node = devices
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
    return edit


def test_load_state_type_confusion(env):
    """A state whose checksum is right but whose device fields have the wrong type
    (a hostile or hand-edited file) is refused, or else the machine runs on."""
    def edits(devices):
        for key, fields in devices.items():
            for field in fields:
                if field != "version":
                    yield f"{key}.{field}='x'", _set_at((key, field), "x")
    escapes = _load_edited_states(env, edits)
    assert not escapes, "\n".join(escapes)


def _int_leaves(node, path=()):
    """Paths to every integer (not bool) inside a device's state."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key != "version":
                yield from _int_leaves(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _int_leaves(value, path + (i,))
    elif isinstance(node, int) and not isinstance(node, bool):
        yield path


def test_load_state_value_confusion(env):
    """A state whose checksum is right but whose device numbers are out of range
    (negative, zero, huge) is refused, or else the machine runs on: no exception
    escapes, not even one Python can only report as "unraisable" from compiled code.
    A seeded sample of the fields in the fast suite, every field with PYVMM_LONG=1."""
    import random

    def edits(devices):
        cases = [(path, value) for path in _int_leaves(devices) for value in (-1, 0, 1 << 40)]
        if not LONG:
            cases = random.Random(7).sample(cases, 120)
        for path, value in cases:
            yield "devices." + ".".join(map(str, path)) + f"={value}", _set_at(path, value)
    escapes = _load_edited_states(env, edits)
    assert not escapes, "\n".join(escapes[:40])
