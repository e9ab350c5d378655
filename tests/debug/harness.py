"""A minimal PC for the debugger tests: a Board with RAM, a one-page ROM whose reset
vector jumps to a program of ours, the 8259 pair and the 8254, and the CPU.  It offers
the parts of the Machine API the debug tools use (cpu, mem, io, clock, board, pic,
pit, step, reset, read, write), so the tools are tested without firmware."""
from pyvmm.board import Board
from pyvmm.cpu import CPU
from pyvmm.devices.pic8259 import DualPIC
from pyvmm.devices.pit8254 import PIT8254


def far_jmp(seg, off):
    return bytes([0xEA, off & 0xFF, off >> 8, seg & 0xFF, seg >> 8])


class TinyPC:
    def __init__(self, program=b""):
        """``program`` is loaded at 0000:7C00, where the reset vector (F000:FFF0)
        far-jumps; the rest of the ROM page is HLTs."""
        board = self.board = Board()
        self.mem, self.io, self.clock = board.mem, board.io, board.clock
        self.mem.map_ram(0, 0xA0000)
        rom = bytearray(b"\xF4" * 0x1000)
        rom[0xFF0:0xFF5] = far_jmp(0, 0x7C00)
        self.mem.map_rom(0xFF000, bytes(rom))
        self.mem.write(0x7C00, program)
        self.pic = board.attach(DualPIC())
        self.pit = board.attach(PIT8254())
        self.cpu = CPU(self.mem, self.io, self.clock, model="8086")
        board.cpu = self.cpu
        self.cpu.intack = self.pic.acknowledge
        self.pic.on_intr = self.cpu.set_intr
        self.cpu.reset()

    def step(self):
        self.cpu.step()
        self.clock.fire_due()

    def reset(self):
        self.board.reset_requested = None
        for device in self.board.devices:
            device.reset("hard")
        self.cpu.reset()

    def read(self, addr, n):
        return self.mem.read(addr, n)

    def write(self, addr, data):
        self.mem.write(addr, data)
