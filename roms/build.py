"""Rebuild the firmware images in roms/ from their NASM sources.

    python3 roms/build.py           assemble bios.bin and default.img in place, then
                                    run roms/vgabuild.py when roms/vgabios.asm exists
    python3 roms/build.py --check   assemble into a temporary directory and fail
                                    when a committed image differs from its source
"""

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROMS = Path(__file__).resolve().parent
BIOS_SIZE = 0x10000


def nasm(source, output, include_dir):
    """Assemble one flat binary; any warning is an error (a FIXED entry point
    overrun shows up as a negative TIMES warning)."""
    if shutil.which("nasm") is None:
        sys.exit("build.py: nasm is not installed (apt-get install nasm)")
    cmd = ["nasm", "-f", "bin", "-w+error", "-I", f"{include_dir}/", "-o", str(output), str(source)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"build.py: {' '.join(cmd)} failed:\n{result.stdout}{result.stderr}")


def set_checksum(image, size):
    """Make the bytes of a ROM image sum to zero (mod 256) through its last byte."""
    data = bytearray(image.read_bytes())
    if len(data) != size:
        sys.exit(f"build.py: {image.name} is {len(data)} bytes, expected {size}")
    data[-1] = 0
    data[-1] = (-sum(data)) & 0xFF
    image.write_bytes(bytes(data))


def build_bios(out_dir):
    target = out_dir / "bios.bin"
    nasm(ROMS / "bios.asm", target, ROMS)
    set_checksum(target, BIOS_SIZE)
    return [target]


def build_vgabios(out_dir, in_place):
    """The VGA BIOS has its own build script, roms/vgabuild.py: in place it runs
    whole (tables, then the image, fonts kept as committed); for a check only its
    assembler step runs, into out_dir."""
    if not (ROMS / "vgabios.asm").exists():
        return []
    if not (ROMS / "vgabuild.py").exists():
        sys.exit("build.py: roms/vgabios.asm exists but roms/vgabuild.py does not")
    sys.path.insert(0, str(ROMS))
    import vgabuild  # noqa: E402  (sibling script, owned by the VGA BIOS)
    if in_place:
        vgabuild.main(["--no-fonts"])           # reports what it built itself
        return []
    target = out_dir / "vgabios.bin"
    vgabuild.assemble(target)
    return [target]


def build_diag(out_dir):
    source = ROMS / "diag" / "disk.asm"
    if not source.exists():
        return []
    target = out_dir / "default.img"
    nasm(source, target, ROMS / "diag")
    return [target]


def build_all(out_dir, in_place=False):
    out_dir.mkdir(parents=True, exist_ok=True)
    return build_bios(out_dir) + build_diag(out_dir) + build_vgabios(out_dir, in_place)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail when committed images differ from a rebuild")
    args = parser.parse_args(argv)
    if not args.check:
        for path in build_all(ROMS, in_place=True):
            print(f"built {path.relative_to(ROMS.parent)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        stale = []
        for fresh in build_all(Path(tmp)):
            committed = ROMS / fresh.name
            if not committed.exists() or not filecmp.cmp(fresh, committed, shallow=False):
                stale.append(fresh.name)
        if stale:
            print(f"build.py --check: out of date with their sources: {', '.join(stale)}"
                  " (run python3 roms/build.py)", file=sys.stderr)
            return 1
    print("build.py --check: every image matches its source")
    return 0


if __name__ == "__main__":
    sys.exit(main())
