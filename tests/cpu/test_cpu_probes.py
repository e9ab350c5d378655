"""Guest code that tells CPU generations apart by their undefined opcodes, taken from
the HIMEM.EXE on freedos722.img (a packed HIMEMX).  It is why that image's CONFIG.SYS
cannot load HIMEM on an 8086/8088, 80186 or 80286: these tests pin that each model
does what its chip does with these bytes, so a boot that stops there is the guest's
doing, not the core's."""
import pytest

from pyvmm.cpu import EXIT_HLT
from tests.cpu.cpurig import CODE, Machine

HLT = 0xF4

# The packer's entry: `pop bx / sub bl,bl / push bx` puts a return address rounded
# down to 256 on the stack, then 60 2A C0 EB 0D is PUSHA / SUB AL,AL / JMP +0Dh on an
# 80186 and later, but JO +2Ah (not taken) / RET 0DEBh on an 8086, where 60-6F alias
# the Jcc opcodes 70-7F and C0 aliases C2.
PACKER_ENTRY = [0x5B, 0x2A, 0xDB, 0x53, 0x60, 0x2A, 0xC0, 0xEB, 0x0D]


def run_packer_entry(model):
    """The entry at CS:0100 with 1234h on the stack: BX rounds down to 1200h."""
    m = Machine(model)
    m.code([0xB8, 0x34, 0x12, 0x50] + PACKER_ENTRY, off=0x0100)   # mov ax,1234h; push ax
    m.code([HLT], off=0x011A)                          # where the 186 path's JMP lands
    m.code([HLT], off=0x1200)                          # where the 8086 path's RET lands
    m.cpu.ip = 0x0100
    assert m.cpu.run(1000) == EXIT_HLT
    return m.cpu


@pytest.mark.parametrize("model", ["8086", "8088"])
def test_packer_entry_on_8086_returns_far_up_the_stack(model):
    cpu = run_packer_entry(model)
    assert (cpu.cs, cpu.ip) == (CODE, 0x1201)
    assert cpu.sp == 0x1000 + 0x0DEB                   # RET 0DEBh dropped 0DEBh bytes


@pytest.mark.parametrize("model", ["80186", "80286"])
def test_packer_entry_on_80186_takes_the_pusha_path(model):
    cpu = run_packer_entry(model)
    assert (cpu.cs, cpu.ip) == (CODE, 0x011B)
    assert cpu.sp == 0x1000 - 2 - 16                   # the rounded address, then PUSHA


@pytest.mark.parametrize("model", ["80186", "80286"])
def test_386_near_jcc_raises_int6_at_the_opcode(model):
    # HIMEMX's first check (DOS version) ends in JB rel16, 0F 82: a 386 instruction.
    # (On an 8086, 0F is POP CS: tests/cpu/test_core.py::test_pop_cs_on_8086.)
    m = Machine(model)
    m.handler(6, 0x0200)
    m.code([0xF9, 0x0F, 0x82, 0x00, 0x10, HLT])        # stc; jb near +1000h
    assert m.cpu.run(100) == EXIT_HLT and m.cpu.cs == 0x0200
    assert m.stack_words(2) == [1, CODE]

