"""The Artlav 80186 ROM tests: run each ROM to HLT on the 80186 model and compare RAM
from address 0 with the recorded result.  The few excused bytes are FLAGS words that
the program stored after instructions leaving those flags undefined; the recording
chip and ours (which follows the 8086 vectors there) disagree on them."""
import pytest

from pyvmm.cputest import rom_diffs, run_rom
from tests.cpu.cpurig import shared_dir

FOLDER = shared_dir() / "cpu-tests" / "80186-artlav"

# test name -> {byte offset: reason}
EXCUSED = {
    "bcdcnv": {0x63: "FLAGS high byte after DAS: OF is undefined",
               0x6D: "FLAGS high byte after DAS: OF is undefined"},
    "mul": {0x88: "FLAGS low byte after AAD 39h: AF is undefined",
            0x89: "FLAGS high byte after AAD 39h: OF is undefined",
            0x8C: "FLAGS low byte after AAD 12h: AF and CF are undefined"},
}
NAMES = ["add", "bcdcnv", "bitwise", "cmpneg", "control", "datatrnf", "div", "interrupt",
         "jmpmov", "jump1", "jump2", "mul", "rep", "rotate", "segpr", "shifts", "strings", "sub"]

pytestmark = pytest.mark.skipif(not FOLDER.is_dir(), reason=f"no ROM tests at {FOLDER} (set PYVMM_SHARED)")


@pytest.mark.parametrize("name", NAMES)
def test_rom(name):
    rig = run_rom(FOLDER / f"{name}.bin", "80186")
    assert rig.cpu.halted
    if name == "jmpmov":
        # no result file: the program leaves 4001h in the word at address 0
        assert int(rig.mem.data[0]) | int(rig.mem.data[1]) << 8 == 0x4001
        return
    diffs = rom_diffs(rig, FOLDER / f"res_{name}.bin")
    excused = EXCUSED.get(name, {})
    assert [hex(i) for i in diffs if i not in excused] == []
    # an excuse that no longer applies should be removed
    assert set(excused) <= set(diffs)
