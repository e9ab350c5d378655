"""Hostile guests: random code, random port I/O and random stores must never crash
the host, raise out of Machine.run, hang past the cycle budget or leak host memory.

Short by default; with PYVMM_LONG=1 many seeds and millions of instructions each.
Run with ``-s`` to see the seeds and instruction counts (docs/robustness.md quotes
them).
"""
import gc
import os
import subprocess
import sys
import tempfile

import pytest

from tests.helpers import LONG, ROOT
from tests.robustness.fuzz import KINDS, build_case, run_case, team_bios
from tests.robustness.guest import rss_bytes

# PYVMM_FUZZ_SEEDS / PYVMM_FUZZ_CYCLES override the counts (to repeat a finding, or to
# size a run to the time a machine has)
SEEDS = range(int(os.environ.get("PYVMM_FUZZ_SEEDS", 200 if LONG else 3)))
CYCLES = int(os.environ.get("PYVMM_FUZZ_CYCLES", 3_000_000 if LONG else 300_000))
CHILD_SEEDS = range(1000, 1020) if LONG else range(1000, 1002)
POST_CYCLES = 1_000_000      # pyvmm's BIOS reaches the boot sector after about 600 000


def _budget(kind):
    return CYCLES + (POST_CYCLES if kind == "boot" else 0)


def _check(result):
    case = f"{result['kind']} seed {result['seed']} ({result['model']})"
    assert result["now"] >= result["end"], f"{case}: the run stopped before its cycle budget"
    assert result["instructions"] > 0, case
    # ROM ignores writes: the system BIOS the guest attacked is still the file's bytes
    assert result["rom"] == result["rom_file"], f"{case}: a guest store changed the system ROM"
    assert result["vga_rom"] == result["vga_rom_file"], f"{case}: a guest store changed the option ROM"


@pytest.mark.parametrize("kind", KINDS)
def test_hostile_guest_in_process(kind):
    if kind == "boot" and team_bios() is None:
        pytest.skip("roms/bios.bin and roms/vgabios.bin are not built yet")
    total = 0
    for seed in SEEDS:
        try:
            result = run_case(kind, seed, _budget(kind))
        except Exception as e:       # what escaped Machine.run: name the case to repeat it
            e.add_note(f"hostile guest: python3 -m tests.robustness.fuzz {kind} {seed} {_budget(kind)}")
            raise
        _check(result)
        if kind == "boot":
            assert any("Booting from diskette" in line for line in result["log"]), \
                f"seed {seed}: the BIOS never reached the random boot sector: {result['log']}"
        total += result["instructions"]
    print(f"\nhostile {kind}: seeds {SEEDS.start}..{SEEDS.stop - 1}, "
          f"{_budget(kind)} cycles each, {total} instructions")


@pytest.mark.parametrize("kind", KINDS)
def test_hostile_guest_in_subprocess(kind):
    """The same cases in a child process: a segfault or abort is a test failure that
    names the seed."""
    if kind == "boot" and team_bios() is None:
        pytest.skip("roms/bios.bin and roms/vgabios.bin are not built yet")
    for seed in CHILD_SEEDS:
        proc = subprocess.run([sys.executable, "-m", "tests.robustness.fuzz", kind, str(seed), str(_budget(kind))],
                              cwd=ROOT, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.returncode == 0, (f"{kind} seed {seed}: child exited with {proc.returncode}\n"
                                      f"{proc.stdout}\n{proc.stderr[-4000:]}")
        print(f"\n{proc.stdout.strip()}")


UNDER_ASAN = pytest.mark.skipif("asan" in os.environ.get("LD_PRELOAD", ""),
                                reason="AddressSanitizer's quarantine keeps freed memory: RSS says nothing there")


@UNDER_ASAN
def test_host_memory_does_not_grow():
    """Many machines built, run and closed: the process keeps no more than one
    guest's RAM plus a small constant."""
    runs = 60 if LONG else 12
    # Warm-up: every kind on every CPU model once.  glibc raises its mmap threshold
    # after the first large free (the 80286's 16 MiB address space), so the heap
    # settles about 14 MiB higher after the first few machines and then stays.
    for seed in range(12):
        run_case(KINDS[seed % 3], seed, CYCLES)
    gc.collect()
    before = rss_bytes()
    for seed in range(runs):
        run_case(KINDS[seed % 3], 2000 + seed, CYCLES)
    gc.collect()
    grown = rss_bytes() - before
    print(f"\nRSS growth over {runs} machines: {grown / 2**20:.1f} MiB")
    assert grown < (1 << 20) + (8 << 20)


@UNDER_ASAN
def test_one_machine_long_run_memory():
    """One machine run slice after slice: RSS stays flat after the first slice."""
    from pyvmm.machine import Machine
    slices = 200 if LONG else 20
    with tempfile.TemporaryDirectory() as tmp:
        options, _ = build_case("port", 7, tmp)
        with Machine(**options) as machine:
            machine.run(cycles=CYCLES)
            gc.collect()
            before = rss_bytes()
            for _ in range(slices):
                machine.run(cycles=CYCLES)
            gc.collect()
            grown = rss_bytes() - before
            print(f"\none machine, {machine.cpu.instructions} instructions: RSS grew {grown / 2**20:.1f} MiB")
    assert grown < 4 << 20
