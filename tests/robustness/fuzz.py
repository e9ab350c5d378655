"""Hostile-guest runs: one seeded case on a whole Machine, in this process or in a
child (``python3 -m tests.robustness.fuzz KIND SEED CYCLES``), so that a segfault
is a failed test rather than a dead pytest.

Kinds:

* ``port`` - a loop of random OUT/IN, byte and word, on every port range;
* ``memory`` - a loop of random stores across the whole address space (RAM, VGA
  window, option ROM, system ROM, unmapped holes);
* ``code`` - all conventional RAM (interrupt table included) filled with random
  bytes and the CPU started at a random address in it;
* ``boot`` - a random boot sector (with the 55AAh signature) loaded by pyvmm's BIOS.

Each run must end at its cycle budget with no exception; guest faults, HLT and
resets are the guest's business.
"""
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

from tests.robustness.guest import memory_fuzz_program, option_rom, port_fuzz_program, rom_image

KINDS = ("port", "memory", "code", "boot")
MODELS = ("8086", "8088", "80186", "80286")
ROOT = Path(__file__).resolve().parents[2]
FLOPPY = 360 * 1024


def team_bios():
    """pyvmm's own system and VGA BIOS paths, or None while they are not built."""
    bios, vga = ROOT / "roms" / "bios.bin", ROOT / "roms" / "vgabios.bin"
    return (str(bios), str(vga)) if bios.is_file() and vga.is_file() else None


def build_case(kind, seed, workdir):
    """Machine options and a post-build hook for one case; files go in ``workdir``."""
    workdir = Path(workdir)
    rng = random.Random(f"{kind}:{seed}")
    model = MODELS[seed % len(MODELS)]
    vga = workdir / "vga.bin"       # the smallest option ROM: no INT 10h is needed
    vga.write_bytes(option_rom())
    floppy = bytearray(FLOPPY)
    prepare = None
    bios = workdir / "bios.bin"
    if kind == "port":
        bios.write_bytes(rom_image(port_fuzz_program(seed)))
    elif kind == "memory":
        bios.write_bytes(rom_image(memory_fuzz_program(seed)))
    elif kind == "code":
        bios.write_bytes(rom_image(b"\xF4"))

        def prepare(machine):
            noise = np.random.default_rng(seed).integers(0, 256, 640 * 1024, dtype=np.uint8)
            machine.memory[:640 * 1024] = noise
            start = rng.randrange(640 * 1024)
            machine.registers.cs = start >> 4
            machine.registers.ip = start & 0xF
            for reg in ("ax", "bx", "cx", "dx", "si", "di", "bp", "sp", "ds", "es", "ss"):
                machine.registers[reg] = rng.randrange(0x10000)
            machine.registers.flags = rng.randrange(0x10000)
    elif kind == "boot":
        if team_bios() is None:
            return None
        bios, vga = map(Path, team_bios())
        floppy[:510] = rng.randbytes(510)
        floppy[510:512] = b"\x55\xAA"
    else:
        raise ValueError(f"unknown kind {kind!r}")
    fda = workdir / "fd.img"
    fda.write_bytes(bytes(floppy))
    options = dict(cpu=model, bios=str(bios), vgabios=str(vga), fda=str(fda), snapshot=True)
    return options, prepare


def run_case(kind, seed, cycles, workdir=None):
    """Run one case for ``cycles``; returns a summary dict.  Raises whatever escapes
    the machine (that is the bug the test is looking for)."""
    from pyvmm.machine import Machine
    with tempfile.TemporaryDirectory() as tmp:
        case = build_case(kind, seed, workdir or tmp)
        if case is None:
            return None
        options, prepare = case
        with Machine(**options) as machine:
            if prepare is not None:
                prepare(machine)
            end = machine.clock.now + cycles
            machine.run(cycles=cycles)
            return {"kind": kind, "seed": seed, "model": options["cpu"],
                    "instructions": machine.cpu.instructions, "now": machine.clock.now,
                    "end": end, "rom": bytes(machine.read(0xF0000, 0x10000)),
                    "rom_file": Path(options["bios"]).read_bytes(),
                    "vga_rom": bytes(machine.read(0xC0000, Path(options["vgabios"]).stat().st_size)),
                    "vga_rom_file": Path(options["vgabios"]).read_bytes(),
                    "exit_code": machine.exit_code, "log": list(machine.board.log)}


def main(argv=None):
    kind, seed, cycles = (argv or sys.argv[1:])[:3]
    result = run_case(kind, int(seed), int(cycles))
    if result is None:
        print(f"{kind} {seed}: skipped")
        return 0
    print(f"{kind} seed={seed} model={result['model']} instructions={result['instructions']} "
          f"now={result['now']} end={result['end']}")
    return 0 if result["now"] >= result["end"] else 1


if __name__ == "__main__":
    sys.exit(main())
