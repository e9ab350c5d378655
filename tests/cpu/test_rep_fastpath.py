"""REP MOVS/CMPS/STOS/LODS/SCAS over RAM run as blocks in C (core.pyx string_block).

The differential test runs random REP string instructions twice, once with the blocks
and once element by element (``cpu.set_string_blocks(False)``), through the same
sequence of ``run()`` slices, and demands the same machine after every slice:
registers, flags, IP, clock, retired count and exit code, and at the end all of
memory, the MMIO accesses and the write-watch hits.  The scenarios mix DF, counts,
overlapping operands, offsets near FFFFh, segments across 1 MiB with A20 on and off
(80286), ROM, MMIO ("VGA") and unmapped operands, segment overrides on the source,
TF, a breakpoint, a debugger write watch, and interrupts: pending through STI's
shadow, arriving from a timer or from an MMIO access in the middle of the string.

``PYVMM_LONG=1`` runs ten times as many scenarios.
"""
import random
from types import SimpleNamespace

import numpy as np
import pytest

from pyvmm.bus.ioport import IOBus
from pyvmm.clock.scheduler import Clock
from pyvmm.cpu import CPU
from pyvmm.debug.control import WriteWatch
from pyvmm.mem.physmem import PhysMem
from tests.cpu.cpurig import FakePIC
from tests.helpers import LONG

OPS = (0xA4, 0xA5, 0xA6, 0xA7, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF)
SOURCE_OPS = (0xA4, 0xA5, 0xA6, 0xA7, 0xAC, 0xAD)  # DS:SI, so a segment override applies
ROM_SEG = 0xF000
CODE_IP, IRET_IP, TRAP_IP, HLT_IP = 0x0100, 0x0200, 0x0210, 0x0220
STACK_SEG, STACK_SP = 0x0080, 0x0800
VEC_IRQ = 0x20
TF, IF, DF = 0x0100, 0x0200, 0x0400
SCENARIOS = 4000 if LONG else 400

# handlers in the ROM: IRET for the IRQ; for the single-step trap, clear TF in the
# pushed FLAGS and return (push bp; mov bp,sp; and word [bp+6],FEFFh; pop bp; iret);
# INT 13 (the 286's segment overrun) halts
TRAP_HANDLER = bytes([0x55, 0x89, 0xE5, 0x81, 0x66, 0x06, 0xFF, 0xFE, 0x5D, 0xCF])


class Mmio:
    """A stand-in for the VGA window: Python handlers over a buffer, logging every
    access; the ``irq_at``-th access raises INTR (an interrupt mid-string)."""

    def __init__(self, init, pic, irq_at):
        self.buf = bytearray(init)
        self.log = []
        self.pic = pic
        self.irq_at = irq_at

    def _count(self):
        if len(self.log) == self.irq_at:
            self.pic.request(VEC_IRQ)

    def read8(self, addr):
        self.log.append(("r", addr))
        self._count()
        return self.buf[addr - 0xA0000]

    def write8(self, addr, value):
        self.log.append(("w", addr, value))
        self._count()
        self.buf[addr - 0xA0000] = value


def scenario(seed, model):
    rng = random.Random(seed)
    size = 1 << 21 if model == "80286" else 1 << 20
    op = rng.choice(OPS)
    prefixes = [rng.choice((0xF2, 0xF3))]
    if op in SOURCE_OPS and rng.random() < 0.4:
        prefixes.insert(rng.randint(0, 1), rng.choice((0x26, 0x2E, 0x36, 0x3E)))

    def offset():
        return rng.choice((rng.randint(0, 0xFFFF), rng.randint(0xFFE0, 0xFFFF), rng.randint(0, 0x20),
                           ((rng.randint(0, 15) << 12) + rng.randint(-8, 8)) & 0xFFFF))

    def segment():
        return rng.choice((rng.randint(0x0100, 0x9000),                 # RAM
                           rng.randint(0x9000, 0x9FFF),                 # RAM running into MMIO
                           rng.randint(0xA000, 0xBFFF),                 # MMIO
                           rng.randint(0xC000, 0xDFFF),                 # nothing mapped
                           rng.randint(0xE000, 0xF000),                 # ROM
                           rng.randint(0xF000, 0xFFFF)))                # across 1 MiB

    ds, es, si, di = segment(), segment(), offset(), offset()
    if rng.random() < 0.3:                       # overlapping source and destination
        es = ds
        di = (si + rng.choice((-4, -2, -1, 0, 1, 2, 3, 4))) & 0xFFFF
    cx = rng.choice((0, 1, 2, rng.randint(3, 64), rng.randint(64, 0x2400), rng.randint(0, 0xFFFF)))
    # few symbols make long REPE/REPNE runs
    symbols = rng.choice(([rng.randint(0, 255)], [rng.randint(0, 255), rng.randint(0, 255)], list(range(256))))
    flags = IF | (rng.randint(0, 0xFFF) & 0x08D5)
    if rng.random() < 0.5:
        flags |= DF
    if rng.random() < 0.1:
        flags |= TF
    sti = rng.random() < 0.2
    if sti:
        # STI; REP ...: an IRQ already pending waits out STI's shadow, so the REP
        # runs one element and then yields to it
        prefixes.insert(0, 0xFB)
        flags &= ~IF
    watch = None
    if rng.random() < 0.15:
        start = ((es << 4) + di + rng.randint(-16, 16)) & (size - 1)
        watch = (start, start + rng.randint(0, 8))
    longest = 2 * cx + 40
    return SimpleNamespace(
        model=model, size=size, seed=seed, code=bytes(prefixes + [op, 0xF4]),
        regs=dict(cx=cx, si=si, di=di, ds=ds, es=es, flags=flags,
                  ax=rng.choice(symbols) | (rng.choice(symbols) << 8), bx=rng.randint(0, 0xFFFF)),
        image=np.take(np.resize(np.array(symbols, np.uint8), 256),
                      np.frombuffer(np.random.default_rng(seed).bytes(size), np.uint8)),
        a20=model != "80286" or rng.random() < 0.5,
        irq_at_start=sti, timer_at=rng.choice((None, rng.randint(1, longest))),
        mmio_irq=rng.choice((None, rng.randint(1, 8))),
        brk=rng.random() < 0.1, watch=watch,
        slices=[rng.choice((1 << 20, rng.randint(1, longest))) for _ in range(30)])


def describe(sc):
    return ", ".join(f"{k}={v!r}" for k, v in vars(sc).items() if k != "image")


def build(sc, blocks):
    image = sc.image.copy()
    rom = image[0xE0000:0x100000].copy()
    code = 0xF0000 - 0xE0000
    rom[code + CODE_IP:code + CODE_IP + len(sc.code)] = np.frombuffer(sc.code, np.uint8)
    rom[code + IRET_IP] = 0xCF
    rom[code + TRAP_IP:code + TRAP_IP + len(TRAP_HANDLER)] = np.frombuffer(TRAP_HANDLER, np.uint8)
    rom[code + HLT_IP] = 0xF4
    for vec, ip in ((1, TRAP_IP), (13, HLT_IP), (VEC_IRQ, IRET_IP)):
        image[vec * 4:vec * 4 + 4] = (ip & 0xFF, ip >> 8, ROM_SEG & 0xFF, ROM_SEG >> 8)

    mem = PhysMem(sc.size)
    mem.map_ram(0, 0xA0000)
    mem.data[:0xA0000] = image[:0xA0000]
    mem.map_rom(0xE0000, rom.tobytes())
    if sc.size > 1 << 20:
        mem.map_ram(1 << 20, sc.size - (1 << 20))
        mem.data[1 << 20:] = image[1 << 20:]
        mem.set_a20(sc.a20)
    clock = Clock()
    cpu = CPU(mem, IOBus(), clock, model=sc.model)
    cpu.set_string_blocks(blocks)
    pic = FakePIC(cpu)
    mmio = Mmio(image[0xA0000:0xC0000].tobytes(), pic, sc.mmio_irq)
    mem.map_mmio(0xA0000, 0x20000, mmio.read8, mmio.write8, owner="vga")
    for name, value in sc.regs.items():
        cpu.set_reg(name, value)
    cpu.cs, cpu.ip, cpu.ss, cpu.sp = ROM_SEG, CODE_IP, STACK_SEG, STACK_SP
    if sc.irq_at_start:
        pic.request(VEC_IRQ)
    if sc.timer_at is not None:
        clock.timer("irq", lambda: pic.request(VEC_IRQ)).set(sc.timer_at)
    if sc.brk:
        cpu.add_breakpoint((ROM_SEG << 4) + CODE_IP + len(sc.code) - 1)
    return SimpleNamespace(mem=mem, cpu=cpu, clock=clock, mmio=mmio)


def run(sc, blocks):
    """The scenario sliced as sc.slices says: a trace of every slice and the end state."""
    m = build(sc, blocks)
    watch = WriteWatch(m, [sc.watch] if sc.watch else [])
    trace = []
    with watch:
        for n in sc.slices:
            reason = m.cpu.run(n)
            m.clock.fire_due()
            trace.append((reason, m.clock.now, m.cpu.get_state()))
            if m.cpu.halted:
                break
    return trace, m.mem.data, m.mmio.log, m.mmio.buf, watch.hits, m.cpu.string_blocks


@pytest.mark.parametrize("model", ["8086", "80286"])
def test_blocks_match_the_element_by_element_path(model):
    blocks_run = 0
    for seed in range(SCENARIOS):
        sc = scenario(seed, model)
        fast, slow = run(sc, True), run(sc, False)
        assert slow[5] == 0
        assert fast[0] == slow[0], describe(sc)
        assert np.array_equal(fast[1], slow[1]), describe(sc)
        assert fast[2:5] == slow[2:5], describe(sc)
        blocks_run += fast[5] > 0
    assert blocks_run > SCENARIOS // 5     # the scenarios do reach the block path


def one_instruction(code, regs, blocks, model="8086"):
    mem = PhysMem(1 << 20)
    mem.map_ram(0, 0xA0000)
    mem.map_rom(0xF0000, bytes(0x10000))
    cpu = CPU(mem, IOBus(), Clock(), model=model)
    cpu.set_string_blocks(blocks)
    mem.write(0x10000, bytes(code) + b"\xF4")
    cpu.cs, cpu.ip, cpu.ss, cpu.sp = 0x1000, 0, STACK_SEG, STACK_SP
    for name, value in regs.items():
        cpu.set_reg(name, value)
    return mem, cpu


def test_overlapping_movsb_replicates_the_first_byte():
    # dst = src + 1 forward: each byte copied is the one just written (not memmove)
    results = []
    for blocks in (True, False):
        mem, cpu = one_instruction(b"\xF3\xA4", dict(ds=0x2000, es=0x2000, si=0x10, di=0x11, cx=100), blocks)
        mem.write(0x20010, bytes(range(1, 103)))
        cpu.run(1000)
        assert cpu.halted and cpu.cx == 0 and (cpu.si, cpu.di) == (0x10 + 100, 0x11 + 100)
        assert mem.read(0x20010, 102) == b"\x01" * 101 + b"\x66"
        results.append(cpu.string_blocks)
    assert results[0] > 0 and results[1] == 0


def test_stos_into_rom_is_dropped_and_still_counts():
    for blocks in (True, False):
        mem, cpu = one_instruction(b"\xF3\xAB", dict(es=0xF000, di=0x100, cx=0x200, ax=0x1234), blocks)
        cpu.run(10000)
        assert cpu.halted and cpu.cx == 0 and cpu.di == 0x500
        assert mem.read(0xF0100, 0x400) == bytes(0x400)
        assert cpu.clock.now == 0x200 + 1          # one cycle per iteration plus the HLT


def test_repe_cmpsw_stops_at_the_first_difference_with_its_flags():
    for blocks in (True, False):
        mem, cpu = one_instruction(b"\xF3\xA7", dict(ds=0x2000, es=0x3000, si=0, di=0, cx=300, flags=0), blocks)
        mem.write(0x20000, bytes(600))
        mem.write(0x30000, bytes(600))
        mem.write(0x30000 + 2 * 200, b"\x01\x00")   # word 200: 0000h - 0001h borrows
        cpu.run(10000)
        assert (cpu.cx, cpu.si, cpu.di) == (300 - 201, 402, 402)
        assert cpu.flags & 0x08D5 == 0x0095         # CF AF SF PF of 0 - 1, ZF clear
        assert cpu.string_blocks == (1 if blocks else 0)
