"""A bare CPU for the tests: RAM everywhere, an I/O bus, a clock; helpers to place code
and interrupt handlers."""
import os
from pathlib import Path

from pyvmm.bus.ioport import IOBus
from pyvmm.clock.scheduler import Clock
from pyvmm.cpu import CPU
from pyvmm.mem.physmem import PhysMem

CODE = 0x0100           # code segment used by the tests
STACK = 0x0900          # SS, with SP = 0x1000


def shared_dir():
    """The team's shared data folder: beside the repository, or $PYVMM_SHARED."""
    env = os.environ.get("PYVMM_SHARED")
    return Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared"


class Machine:
    def __init__(self, model="8086", size=1 << 20):
        self.mem = PhysMem(size)
        self.mem.map_ram(0, size)
        self.io = IOBus()
        self.clock = Clock()
        self.cpu = CPU(self.mem, self.io, self.clock, model=model)
        cpu = self.cpu
        cpu.cs, cpu.ip = CODE, 0
        cpu.ss, cpu.sp = STACK, 0x1000
        cpu.ds = cpu.es = 0x0800

    def code(self, data, seg=CODE, off=0):
        self.mem.write((seg << 4) + off, bytes(data))

    def handler(self, vector, seg, code=b"\xF4"):
        """Point ``vector`` at seg:0000 and put ``code`` there (default: HLT)."""
        self.mem.write(vector * 4, (0).to_bytes(2, "little") + seg.to_bytes(2, "little"))
        self.code(code, seg)

    def stack_words(self, n):
        base = (self.cpu.ss << 4) + self.cpu.sp
        raw = self.mem.read(base, 2 * n)
        return [int.from_bytes(raw[i:i + 2], "little") for i in range(0, 2 * n, 2)]


class FakePIC:
    """The 8259's side of INTR/INTA: one pending vector, acknowledged once."""

    def __init__(self, cpu):
        self.cpu = cpu
        self.vector = None
        self.acks = []
        cpu.intack = self.intack

    def request(self, vector):
        self.vector = vector
        self.cpu.set_intr(1)

    def intack(self):
        v = self.vector
        self.acks.append(v)
        self.vector = None
        self.cpu.set_intr(0)
        return v
