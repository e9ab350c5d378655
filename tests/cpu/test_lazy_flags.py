"""Lazy flags: an ALU operation records its operands and the arithmetic flags are
computed when something reads them.  Each test leaves a flag-setting operation
pending and then reads the flags one of the ways the core does."""
import pytest

from pyvmm.cpu import CPU, EXIT_HLT
from tests.cpu.cpurig import CODE, FakePIC, Machine

HLT = 0xF4
CF, PF, AF, ZF, SF, OF = 0x001, 0x004, 0x010, 0x040, 0x080, 0x800
ARITH = CF | PF | AF | ZF | SF | OF
PAIRS = [(0x0000, 0x0000), (0x0001, 0x0002), (0x7FFF, 0xFFFF), (0x8000, 0x0001),
         (0x1234, 0x1234), (0xFFFF, 0x0001), (0x0010, 0x0001), (0x8000, 0x7FFF)]


def szp(res):
    f = ZF if res == 0 else 0
    f |= SF if res & 0x8000 else 0
    return f | (PF if bin(res & 0xFF).count("1") % 2 == 0 else 0)


def sub_flags(a, b):
    """FLAGS after a 16-bit CMP a, b (the Intel definitions)."""
    res = (a - b) & 0xFFFF
    f = szp(res) | (CF if b > a else 0) | ((a ^ b ^ res) & AF)
    return f | (OF if (a ^ b) & (a ^ res) & 0x8000 else 0)


def add_flags(a, b, c=0):
    res = a + b + c
    f = szp(res & 0xFFFF) | (CF if res > 0xFFFF else 0) | ((a ^ b ^ res) & AF)
    return f | (OF if (res ^ a) & (res ^ b) & 0x8000 else 0)


def run(m, steps=100):
    assert m.cpu.run(steps) == EXIT_HLT


def machine(code, ax=0, bx=0, model="8086"):
    m = Machine(model)
    m.code(code + [HLT])
    m.cpu.ax, m.cpu.bx = ax, bx
    return m


@pytest.mark.parametrize("a, b", PAIRS)
def test_get_flags_after_cmp(a, b):
    m = machine([0x39, 0xD8], a, b)                     # cmp ax, bx
    run(m)
    assert m.cpu.flags & ARITH == sub_flags(a, b)
    assert m.cpu.get_state()["flags"] & ARITH == sub_flags(a, b)


@pytest.mark.parametrize("a, b", PAIRS)
def test_pushf_and_lahf_after_add(a, b):
    m = machine([0x01, 0xD8, 0x9C, 0x9F], a, b)         # add ax, bx; pushf; lahf
    run(m)
    want = add_flags(a, b)
    assert m.stack_words(1)[0] & ARITH == want
    assert m.cpu.ah & 0xD5 == want & 0xD5


@pytest.mark.parametrize("a, b", PAIRS)
def test_every_jcc_after_cmp(a, b):
    f = sub_flags(a, b)
    c, z, s, o, p = (bool(f & x) for x in (CF, ZF, SF, OF, PF))
    taken = [o, c, z, c or z, s, p, s != o, z or (s != o)]
    for cc in range(16):
        # cmp ax, bx; mov cl, 0; jcc +2; hlt; (taken:) mov cl, 1; hlt
        m = machine([0x39, 0xD8, 0xB1, 0x00, 0x70 + cc, 0x01, HLT, 0xB1, 0x01], a, b)
        run(m)
        assert m.cpu.cx & 0xFF == (taken[cc >> 1] != bool(cc & 1)), f"J{cc:X} {a:04X},{b:04X}"


@pytest.mark.parametrize("a, b", PAIRS)
def test_adc_sbb_read_the_pending_carry(a, b):
    # sub ax, bx; mov dx, 0; adc dx, 0   and   add ax, bx; mov dx, 5; sbb dx, 0
    m = machine([0x29, 0xD8, 0xBA, 0x00, 0x00, 0x83, 0xD2, 0x00], a, b)
    run(m)
    assert m.cpu.dx == (1 if b > a else 0)
    m = machine([0x01, 0xD8, 0xBA, 0x05, 0x00, 0x83, 0xDA, 0x00], a, b)
    run(m)
    assert m.cpu.dx == (4 if a + b > 0xFFFF else 5)


@pytest.mark.parametrize("a, b", PAIRS)
def test_inc_dec_keep_the_pending_carry(a, b):
    m = machine([0x39, 0xD8, 0x41, 0x49, 0x41], a, b)  # cmp ax, bx; inc cx; dec cx; inc cx
    m.cpu.cx = 0x7FFF
    run(m)
    # INC 7FFFh -> 8000h: OF SF AF, PF of 00h; CF still the CMP's borrow
    assert m.cpu.flags & ARITH == (sub_flags(a, b) & CF) | OF | SF | AF | PF


def test_sahf_keeps_the_pending_overflow():
    m = machine([0x39, 0xD8, 0xB4, 0x00, 0x9E], 0x8000, 0x0001)   # cmp; mov ah, 0; sahf
    run(m)
    assert m.cpu.flags & ARITH == OF


def test_rotate_keeps_the_pending_sign_zero_parity():
    m = machine([0x39, 0xD8, 0xD1, 0xC1], 0x1234, 0x1234)         # cmp; rol cx, 1
    m.cpu.cx = 0x0001
    run(m)
    assert m.cpu.flags & ARITH == ZF | PF                          # CF = OF = 0 from ROL


@pytest.mark.parametrize("a, b", PAIRS)
def test_software_interrupt_pushes_materialised_flags(a, b):
    m = machine([0x39, 0xD8, 0xCC], a, b)                          # cmp ax, bx; int 3
    m.handler(3, 0x0200)
    run(m)
    assert m.stack_words(3)[2] & ARITH == sub_flags(a, b)


def test_hardware_interrupt_pushes_materialised_flags():
    m = machine([0xFB, 0x39, 0xD8, 0x90], 0x0001, 0x0002)          # sti; cmp; nop
    m.handler(0x30, 0x0200)
    pic = FakePIC(m.cpu)
    assert m.cpu.step() == 0 and m.cpu.step() == 0                 # sti, cmp
    pic.request(0x30)
    run(m)
    assert pic.acks == [0x30]
    assert m.stack_words(3)[2] & ARITH == sub_flags(1, 2)


def test_state_round_trip_with_flags_pending():
    m = machine([0x39, 0xD8], 0x8000, 0x0001)
    run(m)
    state = m.cpu.get_state()
    other = Machine()
    other.cpu.set_state(state)
    assert other.cpu.flags & ARITH == sub_flags(0x8000, 0x0001)


def test_286_overrun_restores_the_pending_flags():
    # cmp ax, bx; add ax, [ffffh]: the word at offset FFFFh faults, the ADD is undone
    # and INT 13 pushes the flags the CMP left pending
    m = machine([0x39, 0xD8, 0x03, 0x06, 0xFF, 0xFF], 0x8000, 0x0001, model="80286")
    m.handler(13, 0x0200)
    run(m)
    assert m.cpu.cs == 0x0200 and m.cpu.ax == 0x8000
    assert m.stack_words(3)[2] & ARITH == sub_flags(0x8000, 0x0001)
