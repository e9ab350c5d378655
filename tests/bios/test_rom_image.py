"""The committed firmware images: size, reset vector, checksum, and that they are
exactly what roms/build.py makes from the sources."""

import shutil
import subprocess
import sys

import pytest

from tests.bios.qemu_harness import ROMS

BIOS = ROMS / "bios.bin"


def test_bios_is_64k_with_reset_jump_and_zero_checksum():
    data = BIOS.read_bytes()
    assert len(data) == 0x10000
    # F000:FFF0: JMP FAR F000:xxxx into the ROM
    assert data[0xFFF0] == 0xEA
    offset = int.from_bytes(data[0xFFF1:0xFFF3], "little")
    assert int.from_bytes(data[0xFFF3:0xFFF5], "little") == 0xF000
    assert offset < 0xFFF0
    assert sum(data) % 256 == 0
    assert data[0xFFFE] == 0xFC                   # PC/AT model byte
    assert data[0xFFF5:0xFFFD].decode("ascii")[2] == "/"


def test_fixed_entry_points_are_at_ibm_addresses():
    data = BIOS.read_bytes()
    # POST at E05B and the diskette parameter table at EFC7 (1.44M: 18 sectors)
    assert data[0xE05B] in (0xE9, 0xEB)
    assert data[0xEFC7 + 4] == 18
    # the dummy interrupt handler at FF53 is an IRET
    assert data[0xFF53] == 0xCF


@pytest.mark.skipif(shutil.which("nasm") is None, reason="nasm is not installed")
def test_committed_images_match_a_rebuild():
    result = subprocess.run([sys.executable, str(ROMS / "build.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sources_stay_8086_outside_the_286_386_only_services():
    """NASM refuses newer instructions under `cpu 8086`; the only code assembled
    for a newer CPU is INT 15h AH=87h (286+) and AX=E820h (386+), which run after
    POST's CPU detection says the CPU has them, and POST's protected-mode probe
    (one SMSW, on a CPU whose flags say 286 or later, with INT 6 caught); each
    block switches back."""
    allowed = {"bios.asm": ["8086", "286", "8086"], "bios/blockmove.inc": ["286", "386", "8086"],
               "bios/services.inc": ["386", "8086"]}
    for source in [ROMS / "bios.asm", *sorted((ROMS / "bios").glob("*.inc"))]:
        name = source.relative_to(ROMS).as_posix()
        levels = [line.split()[1] for line in source.read_text().splitlines()
                  if line.strip().lower().startswith("cpu ")]
        expected = allowed.get(name, [])
        assert levels == expected, (name, levels)
