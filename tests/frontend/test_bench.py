"""Smoke tests of the benchmark suite: the workloads run to their end with exact,
repeatable instruction counts, do what they say to memory and ports, the committed
binaries match their sources, and the command line writes and compares JSON.
Tiny iteration counts and no timing assertions."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from frontend.bench import SUITE, load_suite
from tests.helpers import IMAGES

suite = load_suite()


@pytest.mark.parametrize("name", [w.name for w in suite.WORKLOADS])
def test_workload_halts_with_an_exact_instruction_count(name):
    n0 = suite.run_guest(name, 0).instructions
    n1 = suite.run_guest(name, 1).instructions
    n3 = suite.run_guest(name, 3).instructions
    assert 0 < n0 < n1 < n3
    assert n3 - n1 >= n1 - n0                 # iterations are alike (ALU branches on data)
    assert suite.run_guest(name, 3).instructions == n3  # and the count repeats exactly


def _run(name, iterations):
    board, cpu = suite.make_guest(name, iterations)
    from pyvmm.cpu import EXIT_HLT
    assert cpu.run(1 << 34) == EXIT_HLT and cpu.halted
    return board, cpu


@pytest.mark.parametrize("name, width, height", [("vga13", 640, 400), ("vga12", 640, 480)])
def test_vga_fill_programs_the_mode_and_writes_video_memory(name, width, height):
    board, _ = _run(name, 2)                  # frame 0 in colour 0, frame 1 in colour 1
    assert not board.vga.is_text_mode()
    assert board.vga.frame_size() == (width, height)
    # Mode 13h reads back the byte; mode 12h read mode 0 reads plane 0, which got 01h.
    assert [board.mem.read8(0xA0000 + off) for off in (0, 1, 999, 2 * 19200 - 1)] == [1] * 4


@pytest.mark.parametrize("name, words", [("ram13", 32000), ("ram12", 19200)])
def test_ram_fill_writes_the_same_number_of_words_after_the_program(name, words):
    board, _ = _run(name, 2)
    base = (suite.LOAD_SEG + 0x1000) << 4
    assert board.mem.read(base, 2 * words) == b"\x01" * (2 * words)
    assert board.mem.read(base + 2 * words, 2) == b"\x00\x00"


def test_port_loop_reaches_the_port_handler():
    board, _ = _run("portio", 1)
    assert board.io.inb(0x80) == 1            # last OUT DX,AX with CX = 1


def test_string_workload_copies_and_fills():
    board, _ = _run("string", 1)
    seg = suite.LOAD_SEG << 4
    assert board.mem.read(seg + 0x8000, 4) == b"\x5a\xa5\x5a\xa5"
    assert board.mem.read(seg + 0x6000, 1024) == board.mem.read(seg + 0x4000, 1024)


def test_header_patch():
    code = suite.workload_bytes("alu", 0x01020304, exit_mode=2)
    assert code[0] == 0xE9 and code[3] == 2 and code[4:8] == bytes([4, 3, 2, 1])


@pytest.mark.skipif(shutil.which("nasm") is None, reason="nasm is not installed")
def test_committed_binaries_match_their_sources(tmp_path):
    build = load_build()
    table = (suite.WORKLOAD_DIR / "vgamodes.inc").read_text()
    for mode in (0x13, 0x12):
        for kind, port, value in build.mode_table(mode):
            assert f"dw {kind}, 0{port:04X}h, 0{value:04X}h" in table
    assert set(build.BUILDS) == {"boot"} | {w.name for w in suite.WORKLOADS}
    for name, (source, defines) in build.BUILDS.items():
        out = tmp_path / f"{name}.bin"
        subprocess.run(["nasm", "-f", "bin", "-I", f"{suite.WORKLOAD_DIR}/", "-o", str(out)]
                       + [f"-D{k}={v}" for k, v in defines.items()]
                       + [str(suite.WORKLOAD_DIR / source)], check=True)
        assert out.read_bytes() == (suite.WORKLOAD_DIR / f"{name}.bin").read_bytes(), name


def load_build():
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_build", suite.WORKLOAD_DIR / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_floppy_image_layout(tmp_path):
    img = tmp_path / "b.img"
    suite.floppy_image(img, "muldiv", 7)
    data = img.read_bytes()
    assert len(data) == 1474560 and data[510:512] == b"\x55\xaa"
    code = (suite.WORKLOAD_DIR / "muldiv.bin").read_bytes()
    assert data[512] == 0xE9 and data[515] == 1 and data[516:520] == (7).to_bytes(4, "little")
    assert data[520:512 + len(code)] == code[8:]


@pytest.mark.parametrize("anchor", suite.ANCHORS, ids=lambda a: a.exe)
def test_anchor_runs_a_workload_to_its_end(anchor):
    if not anchor.available():
        pytest.skip(f"{anchor.exe} is not installed")
    seconds, cpu_seconds, cmd = suite._time_process(anchor, "modrm", 2)  # raises unless it ended
    assert cpu_seconds >= 0
    assert seconds > 0 and cmd[0] == anchor.exe


def test_cli_json_and_compare(tmp_path, capsys):
    from frontend.bench import main
    out = tmp_path / "r.json"
    assert main(["--only", "alu,ram13", "--quick", "--scale", "0.1", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    alu = doc["results"]["cpu.alu"]
    assert alu["unit"] == "MIPS" and alu["instructions"] > 0 and len(alu["values"]) == 1
    assert "vga.ram13" in doc["results"] and doc["options"]["quick"]
    capsys.readouterr()
    assert main(["--only", "alu", "--runs", "2", "--scale", "0.01", "--compare", str(out)]) == 0
    text = capsys.readouterr().out
    assert "cpu.alu" in text and "Compared with" in text and " x" in text
    assert "cpu.alu" in text.split("Compared with")[1]


def test_cli_rejects_unknown_groups_and_bad_compare(tmp_path, capsys):
    from frontend.bench import main
    assert main(["--only", "floppy"]) == 2
    assert "unknown group" in capsys.readouterr().err
    assert main(["--only", "alu", "--quick", "--compare", str(tmp_path / "none.json")]) == 2


def test_pyvmm_bench_is_wired_to_the_suite():
    assert SUITE.is_file()
    from frontend.cli import main
    assert main(["bench", "--only", "nothing"]) == 2


def test_boot_child_reports_time_and_memory():
    image = IMAGES / "fdboot-1.4MB.img"
    if not image.is_file():
        pytest.skip(f"{image} is absent")
    try:
        from pyvmm.machine import Machine
        Machine(fda=str(image), snapshot=True).close()
    except Exception as e:                    # the firmware is not in this tree yet
        pytest.skip(f"no Machine can be built here: {e}")
    got = suite.child("boot", image)
    assert got["boot"] > 0 and got["instructions"] > 0 and got["maxrss_kib"] > 0
