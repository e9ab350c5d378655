"""CPU core speed: MIPS on a mixed guest loop run from RAM with no devices.

    python3 benchmarks/cpu_bench.py [--runs 5] [--cycles 20000000] [--model 8086]

The guest program is assembled below from bytes (no assembler needed): an inner loop
of ALU, memory, stack, branch and MUL/DIV instructions, then a REP MOVSW block copy,
a CALL/RET pair and a far-away jump back.  MIPS counts retired instructions
(``cpu.instructions``; a REP instruction counts once).
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# NumPy's BLAS threads would spin beside the measured loop on a small machine
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from pyvmm.bus.ioport import IOBus           # noqa: E402
from pyvmm.clock.scheduler import Clock      # noqa: E402
from pyvmm.cpu import CPU                    # noqa: E402
from pyvmm.mem.physmem import PhysMem        # noqa: E402

CODE_SEG = 0x1000
DATA_SEG = 0x2000


class Asm:
    """Just enough of an assembler: bytes, labels and rel8/rel16 fix-ups."""

    def __init__(self):
        self.code = bytearray()
        self.labels = {}
        self.fixups = []

    def emit(self, *data):
        self.code += bytes(data)

    def label(self, name):
        self.labels[name] = len(self.code)

    def rel8(self, opcode, target):
        self.emit(opcode, 0)
        self.fixups.append((len(self.code), target, 1))

    def rel16(self, opcode, target):
        self.emit(opcode, 0, 0)
        self.fixups.append((len(self.code), target, 2))

    def build(self):
        for end, target, size in self.fixups:
            disp = self.labels[target] - end
            if size == 1:
                assert -128 <= disp < 128
                self.code[end - 1] = disp & 0xFF
            else:
                self.code[end - 2:end] = (disp & 0xFFFF).to_bytes(2, "little")
        return bytes(self.code)


def guest():
    a = Asm()
    a.label("start")
    a.emit(0xB9, 0x00, 0x01)          # mov cx, 256
    a.label("inner")
    a.emit(0x8B, 0x04)                # mov ax, [si]
    a.emit(0x01, 0xD8)                # add ax, bx
    a.emit(0x31, 0xC2)                # xor dx, ax
    a.emit(0x89, 0x05)                # mov [di], ax
    a.emit(0x46, 0x46)                # inc si; inc si
    a.emit(0x81, 0xE6, 0xFE, 0x0F)    # and si, 0FFEh
    a.emit(0x83, 0xC7, 0x02)          # add di, 2
    a.emit(0x81, 0xE7, 0xFE, 0x0F)    # and di, 0FFEh
    a.emit(0x89, 0xD8)                # mov ax, bx
    a.emit(0xBD, 0x07, 0x00)          # mov bp, 7
    a.emit(0xF7, 0xE5)                # mul bp
    a.emit(0x43)                      # inc bx
    a.emit(0x31, 0xD2)                # xor dx, dx
    a.emit(0xF7, 0xF5)                # div bp
    a.emit(0x50)                      # push ax
    a.emit(0x58)                      # pop ax
    a.emit(0x3D, 0x64, 0x00)          # cmp ax, 100
    a.rel8(0x72, "skip")              # jb skip
    a.emit(0xD1, 0xE0)                # shl ax, 1
    a.emit(0x88, 0x47, 0x10)          # mov [bx+10h], al
    a.label("skip")
    a.rel8(0xE2, "inner")             # loop inner
    a.emit(0x56, 0x57)                # push si; push di
    a.emit(0xFC)                      # cld
    a.emit(0xBE, 0x00, 0x20)          # mov si, 2000h
    a.emit(0xBF, 0x00, 0x30)          # mov di, 3000h
    a.emit(0xB9, 0x40, 0x00)          # mov cx, 64
    a.emit(0xF3, 0xA5)                # rep movsw
    a.emit(0xAC)                      # lodsb
    a.emit(0xAA)                      # stosb
    a.emit(0x5F, 0x5E)                # pop di; pop si
    a.rel16(0xE8, "sub")              # call sub
    a.rel16(0xE9, "start")            # jmp start
    a.label("sub")
    a.emit(0x87, 0xCA)                # xchg cx, dx
    a.emit(0x87, 0xCA)                # xchg cx, dx
    a.emit(0xC3)                      # ret
    return a.build()


def make_cpu(model):
    mem = PhysMem(1 << 20)
    mem.map_ram(0, 1 << 20)
    cpu = CPU(mem, IOBus(), Clock(), model=model)
    mem.write(CODE_SEG << 4, guest())
    for name, value in (("cs", CODE_SEG), ("ip", 0), ("ds", DATA_SEG), ("es", DATA_SEG),
                        ("ss", DATA_SEG), ("sp", 0xFFFE), ("si", 0), ("di", 0x800)):
        cpu.set_reg(name, value)
    return cpu


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--cycles", type=int, default=20_000_000)
    p.add_argument("--model", default="8086")
    args = p.parse_args(argv)
    cpu = make_cpu(args.model)
    cpu.run(100_000)                  # warm up
    figures, cpu_figures = [], []
    for i in range(args.runs):
        n0 = cpu.instructions
        t0, c0 = time.perf_counter(), time.process_time()
        cpu.run(args.cycles)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        n = cpu.instructions - n0
        figures.append(n / dt / 1e6)
        cpu_figures.append(n / dc / 1e6)
        # process time leaves out the time other processes held the core
        print(f"run {i + 1}: {n} instructions in {dt:.3f} s = {figures[-1]:.1f} MIPS "
              f"({cpu_figures[-1]:.1f} MIPS of process time)")
    print(f"median: {statistics.median(figures):.1f} MIPS "
          f"({statistics.median(cpu_figures):.1f} MIPS of process time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
