"""CPU conformance runner: SingleStepTests vectors and the Artlav 80186 ROM tests.

    pyvmm cputest PATH [--cpu MODEL] [--opcode OP]
    pyvmm cputest --rom X.bin [--expect res_X.bin | --word0 VALUE] [--cpu MODEL]

PATH is a folder of ``*.json.gz`` files with a ``metadata.json`` giving each opcode's
status and ``flags-mask`` (only ``flags & mask`` is compared).  When a divide error
pushed FLAGS, the pushed word is compared under the same mask: the chip leaves those
flags undefined.  The 80286 vectors end with a HLT after the instruction under test;
the runner steps until the CPU halts.
"""
import argparse
import gzip
import json
import sys
from pathlib import Path

from .bus.ioport import IOBus
from .clock.scheduler import Clock
from .cpu import CPU, EXIT_HLT
from .errors import ConfigError
from .mem.physmem import PhysMem

try:
    import orjson
    _loads = orjson.loads
except ImportError:
    _loads = json.loads

REGS = ("ax", "bx", "cx", "dx", "cs", "ss", "ds", "es", "sp", "bp", "si", "di", "ip", "flags")
MODELS = ("8086", "8088", "80186", "80286")
# opcodes whose exception frame holds undefined flags (divide error)
_DIV_FILES = {"F6.6", "F6.7", "F7.6", "F7.7", "D4"}


class Rig:
    """A bare CPU with RAM everywhere: what the vectors assume."""

    def __init__(self, model, size=1 << 20):
        self.mem = PhysMem(size)
        self.mem.map_ram(0, size)
        self.io = IOBus()
        self.clock = Clock()
        self.cpu = CPU(self.mem, self.io, self.clock, model=model)


def load_metadata(folder):
    meta = folder / "metadata.json"
    if not meta.is_file():
        return {}
    return json.loads(meta.read_text()).get("opcodes", {})


def opcode_info(opcodes, stem):
    """(status, flags mask) for a file stem such as ``80.1`` or ``A4``."""
    op, _, reg = stem.partition(".")
    info = opcodes.get(op.upper(), {})
    if reg and "reg" in info:
        info = info["reg"].get(reg, {})
    return info.get("status", "normal"), info.get("flags-mask", 0xFFFF)


def run_tests(rig, tests, mask, stem, until_hlt=False):
    """Run a list of vector tests; returns (passed, failures) where failures is a list
    of (test name, description of the differences)."""
    cpu, data = rig.cpu, rig.mem.data
    addr_mask = rig.mem.size - 1
    div = stem.upper() in _DIV_FILES
    passed = 0
    failures = []
    for t in tests:
        init, final = t["initial"], t["final"]
        iregs = init["regs"]
        cpu.load_test_state(iregs)
        touched = []
        for a, v in init["ram"]:
            data[a & addr_mask] = v
            touched.append(a & addr_mask)
        cpu.step()
        if until_hlt:
            for _ in range(4):
                if cpu.halted:
                    break
                cpu.step()
        diffs = []
        fregs = final["regs"]
        for name in REGS:
            want = fregs.get(name, iregs[name])
            got = cpu.get_reg(name)
            if name == "flags":
                if (want ^ got) & mask:
                    diffs.append(f"flags={got:04x} want {want:04x} (mask {mask:04x})")
            elif want != got:
                diffs.append(f"{name}={got:04x} want {want:04x}")
        flag_bytes = {}
        if div and cpu.get_reg("sp") == (iregs["sp"] - 6) & 0xFFFF:
            base = iregs["ss"] << 4
            lo = (base + ((iregs["sp"] - 2) & 0xFFFF)) & addr_mask
            hi = (base + ((iregs["sp"] - 1) & 0xFFFF)) & addr_mask
            flag_bytes = {lo: mask & 0xFF, hi: mask >> 8}
        for a, v in final["ram"]:
            a &= addr_mask
            got = int(data[a])
            if (got ^ v) & flag_bytes.get(a, 0xFF):
                diffs.append(f"[{a:05x}]={got:02x} want {v:02x}")
            touched.append(a)
        for a in touched:
            data[a] = 0
        if diffs:
            failures.append((t.get("name", "?"), diffs))
        else:
            passed += 1
    return passed, failures


def run_folder(folder, model, opcode=None, out=print):
    folder = Path(folder)
    opcodes = load_metadata(folder)
    meta_cpu = json.loads((folder / "metadata.json").read_text()).get("cpu") if (folder / "metadata.json").is_file() else None
    is286 = meta_cpu == "80286"
    # the 286 forms addresses up to 10FFEFh: give it the space above 1 MiB
    rig = Rig(model, size=(2 << 20) if is286 else (1 << 20))
    files = sorted(folder.glob("*.json.gz"))
    if opcode:
        op = opcode.upper()
        files = [f for f in files if f.name[:-len(".json.gz")].upper() == op
                 or f.name.upper().startswith(op + ".")]
    total_pass = total_fail = 0
    results = {}
    for f in files:
        stem = f.name[:-len(".json.gz")]
        status, mask = opcode_info(opcodes, stem)
        tests = _loads(gzip.decompress(f.read_bytes()))
        passed, failures = run_tests(rig, tests, mask, stem, until_hlt=is286)
        total_pass += passed
        total_fail += len(failures)
        results[stem] = (status, passed, failures)
        if failures:
            name, diffs = failures[0]
            out(f"{f.name} [{status}]: {len(failures)} failed; first: {name}: {', '.join(diffs)}")
    return total_pass, total_fail, results


def run_rom(rom, model="80186", max_cycles=50_000_000):
    """Run an Artlav ROM test until HLT; returns the rig (RAM in rig.mem.data)."""
    image = Path(rom).read_bytes()
    if len(image) != 0x10000:
        raise ConfigError(f"{rom}: a ROM test image must be 64 KiB, not {len(image)} bytes")
    rig = Rig(model)
    rig.mem.unmap(0, 1 << 20)
    rig.mem.map_ram(0, 0xF0000)
    rig.mem.map_rom(0xF0000, image)
    rig.cpu.reset()
    reason = rig.cpu.run(max_cycles)
    if reason != EXIT_HLT:
        raise ConfigError(f"{rom}: did not reach HLT in {max_cycles} cycles")
    return rig


def rom_diffs(rig, expect):
    """Offsets where RAM from 0 differs from the bytes in ``expect``."""
    want = Path(expect).read_bytes()
    got = rig.mem.data[:len(want)].tobytes()
    return [i for i in range(len(want)) if got[i] != want[i]]


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise ConfigError(message)


def main(argv=None):
    p = _Parser(prog="pyvmm cputest", description="Run CPU conformance tests.")
    p.add_argument("path", nargs="?", help="folder of SingleStepTests *.json.gz files")
    p.add_argument("--cpu", default=None, choices=MODELS)
    p.add_argument("--opcode", help="only this opcode file, e.g. 00, F6 or F6.7")
    p.add_argument("--rom", help="an Artlav 80186 test ROM (64 KiB)")
    p.add_argument("--expect", help="expected RAM image for --rom (res_X.bin)")
    p.add_argument("--word0", help="for --rom without --expect: the word expected at address 0")
    try:
        args = p.parse_args(argv)
        if args.rom:
            if args.path:
                raise ConfigError("give either PATH or --rom, not both")
            if not Path(args.rom).is_file():
                raise ConfigError(f"{args.rom}: no such file")
            if args.expect and not Path(args.expect).is_file():
                raise ConfigError(f"{args.expect}: no such file")
            if not args.expect and args.word0 is None:
                raise ConfigError("--rom needs --expect FILE or --word0 VALUE")
            rig = run_rom(args.rom, args.cpu or "80186")
            if args.expect:
                diffs = rom_diffs(rig, args.expect)
                for i in diffs[:20]:
                    print(f"[{i:05x}]={rig.mem.data[i]:02x} want {Path(args.expect).read_bytes()[i]:02x}")
                failed = len(diffs)
                print(f"{Path(args.expect).stat().st_size - failed} passed, {failed} failed")
            else:
                want = int(args.word0, 0)
                got = int(rig.mem.data[0]) | int(rig.mem.data[1]) << 8
                failed = int(got != want)
                if failed:
                    print(f"word 0 = {got:#06x}, want {want:#06x}")
                print(f"{1 - failed} passed, {failed} failed")
            return 0 if failed == 0 else 1
        if not args.path:
            raise ConfigError("give a test folder PATH or --rom FILE")
        folder = Path(args.path)
        if not folder.is_dir() or not any(folder.glob("*.json.gz")):
            raise ConfigError(f"{args.path}: not a folder of *.json.gz test files")
        model = args.cpu or "8086"
        passed, failed, _ = run_folder(folder, model, args.opcode)
        print(f"{passed} passed, {failed} failed")
        return 0 if failed == 0 else 1
    except ConfigError as e:
        print(f"pyvmm cputest: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"pyvmm cputest: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
