"""The conformance runner's command line (wired as ``pyvmm cputest``)."""
import pytest

from pyvmm.cputest import main
from tests.cpu.cpurig import shared_dir

V8086 = shared_dir() / "cpu-tests" / "8086" / "v1"
ARTLAV = shared_dir() / "cpu-tests" / "80186-artlav"


@pytest.mark.parametrize("argv", [["/no/such/folder"], [], ["--cpu", "z80", "x"],
                                  ["--rom", "/no/such.bin", "--word0", "1"], ["--bogus"]])
def test_bad_input_is_one_line_and_status_2(argv, capsys):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("pyvmm cputest: error:")


@pytest.mark.skipif(not V8086.is_dir(), reason="no 8086 vectors (set PYVMM_SHARED)")
def test_folder_run_ends_with_the_summary_line(capsys):
    assert main([str(V8086), "--cpu", "8086", "--opcode", "F6"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["8000 passed, 0 failed"]


@pytest.mark.skipif(not V8086.is_dir(), reason="no 8086 vectors (set PYVMM_SHARED)")
def test_failures_are_reported_per_file(capsys):
    # the 80186 model is not an 8086: its shifts mask the count and fail some vectors
    assert main([str(V8086), "--cpu", "80186", "--opcode", "D2.4"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("D2.4.json.gz [normal]: ") and "failed; first: " in out[0]
    assert out[-1].endswith(" failed") and not out[-1].endswith(" 0 failed")


@pytest.mark.skipif(not ARTLAV.is_dir(), reason="no ROM tests (set PYVMM_SHARED)")
def test_rom_mode(capsys):
    assert main(["--rom", str(ARTLAV / "add.bin"), "--expect", str(ARTLAV / "res_add.bin")]) == 0
    assert main(["--rom", str(ARTLAV / "jmpmov.bin"), "--word0", "0x4001"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 passed, 0 failed"
