"""Model differences, exceptions, register access and save states."""
import pytest

from pyvmm.cpu import CPU, EXIT_BREAK, EXIT_HLT
from pyvmm.errors import ConfigError, StateError
from tests.cpu.cpurig import CODE, Machine

HLT = 0xF4


def test_unknown_model_is_a_config_error():
    m = Machine()
    with pytest.raises(ConfigError):
        CPU(m.mem, m.io, m.clock, model="z80")


@pytest.mark.parametrize("model, flags", [("8086", 0xF002), ("8088", 0xF002),
                                          ("80186", 0x0002), ("80286", 0x0002)])
def test_reset_state(model, flags):
    m = Machine(model)
    m.cpu.ax = 0x1234
    m.cpu.reset()
    assert (m.cpu.cs, m.cpu.ip) == (0xF000, 0xFFF0)
    assert m.cpu.flags == flags and m.cpu.ax == 0 and m.cpu.model == model


def test_register_names_and_halves():
    m = Machine()
    cpu = m.cpu
    cpu.ax = 0x1234
    assert (cpu.al, cpu.ah) == (0x34, 0x12)
    cpu.ah = 0xAB
    assert cpu.get_reg("ax") == 0xAB34
    cpu.set_reg("eax", 0xDEADBEEF)
    assert cpu.ax == 0xBEEF and cpu.eax == 0xDEADBEEF
    cpu.set_reg("bl", 0x77)
    assert cpu.bx & 0xFF == 0x77
    with pytest.raises(KeyError):
        cpu.get_reg("xyz")
    with pytest.raises(AttributeError):
        cpu.nonsense = 1


@pytest.mark.parametrize("model, pushed_ip", [("8086", 2), ("80186", 0)])
def test_divide_error_frame(model, pushed_ip):
    m = Machine(model)
    m.handler(0, 0x0200)
    m.code([0xF6, 0xF3, HLT])                          # div bl with bl = 0
    m.cpu.ax, m.cpu.bx = 100, 0
    assert m.cpu.run(100) == EXIT_HLT and m.cpu.cs == 0x0200
    assert m.stack_words(2) == [pushed_ip, CODE]


def test_undefined_opcode_on_80186_raises_int6_at_the_opcode():
    m = Machine("80186")
    m.handler(6, 0x0200)
    m.code([0x90, 0x0F, HLT])
    assert m.cpu.run(100) == EXIT_HLT and m.cpu.cs == 0x0200
    assert m.stack_words(2) == [1, CODE]


def test_pop_cs_on_8086():
    m = Machine("8086")
    m.code([0xB8, 0x00, 0x03, 0x50, 0x0F])  # mov ax,0300h; push ax; pop cs
    m.code([HLT], seg=0x0300, off=5)
    assert m.cpu.run(100) == EXIT_HLT and m.cpu.cs == 0x0300


def test_word_access_wraps_inside_the_segment_on_8086():
    m = Machine("8086")
    m.mem.write(0x8000 + 0xFFFF, b"\x34")
    m.mem.write(0x8000, b"\x12")
    m.code([0xA1, 0xFF, 0xFF, HLT])                    # mov ax, [ffffh] with ds = 0800h
    m.cpu.run(100)
    assert m.cpu.ax == 0x1234


@pytest.mark.parametrize("model, stored", [("8086", 0x0FFE), ("80186", 0x0FFE), ("80286", 0x1000)])
def test_push_sp(model, stored):
    m = Machine(model)
    m.code([0x54, HLT])
    m.cpu.run(100)
    assert m.stack_words(1) == [stored]


@pytest.mark.parametrize("model, result", [("8086", 0x00), ("80186", 0x80)])
def test_shift_count_masked_to_five_bits_from_80186(model, result):
    m = Machine(model)
    m.code([0xD2, 0xE0, HLT])                          # shl al, cl
    m.cpu.al, m.cpu.cl = 0x01, 0x27                    # 39: 186 shifts by 7
    m.cpu.run(100)
    assert m.cpu.al == result


def test_enter_leave_and_pusha_popa():
    m = Machine("80186")
    m.code([0x60, 0xC8, 0x10, 0x00, 0x02, 0xC9, 0x61, HLT])  # pusha; enter 16,2; leave; popa
    m.cpu.bp, m.cpu.ax, m.cpu.di = 0x0F00, 0x1111, 0x2222
    m.cpu.step()
    assert m.cpu.sp == 0x1000 - 16
    m.cpu.step()
    frame = m.cpu.sp
    assert m.cpu.bp == 0x1000 - 16 - 2 and frame == m.cpu.bp - 2 - 2 - 16
    m.cpu.step()
    assert m.cpu.sp == 0x1000 - 16 and m.cpu.bp == 0x0F00
    m.cpu.ax = m.cpu.di = 0
    assert m.cpu.run(100) == EXIT_HLT
    assert (m.cpu.ax, m.cpu.di, m.cpu.sp) == (0x1111, 0x2222, 0x1000)


def test_bound_raises_int5():
    m = Machine("80186")
    m.handler(5, 0x0200)
    m.mem.write(0x8000, (10).to_bytes(2, "little") + (20).to_bytes(2, "little"))
    m.code([0x62, 0x06, 0x00, 0x00, 0x62, 0x1E, 0x00, 0x00, HLT])  # bound ax,[0]; bound bx,[0]
    m.cpu.ax, m.cpu.bx = 15, 25
    assert m.cpu.run(100) == EXIT_HLT and m.cpu.cs == 0x0200
    assert m.stack_words(2) == [4, CODE]


def test_esc_and_wait_do_nothing_without_a_coprocessor():
    m = Machine()
    m.code([0xD9, 0x06, 0x00, 0x00, 0x9B, HLT])        # fld dword [0]; wait
    assert m.cpu.run(100) == EXIT_HLT and m.cpu.ip == 6


def test_state_round_trip_reproduces_the_run():
    m = Machine()
    m.code([0x40, 0x01, 0xC3, 0xD1, 0xE3, 0xEB, 0xF9])  # inc ax; add bx,ax; shl bx,1; jmp $-5
    m.cpu.run(1000)
    state = m.cpu.get_state()
    ram = m.mem.read(0, 0x10000)
    m.cpu.run(5000)
    after = m.cpu.get_state()
    m2 = Machine()
    m2.mem.write(0, ram)
    m2.code([0x40, 0x01, 0xC3, 0xD1, 0xE3, 0xEB, 0xF9])
    m2.cpu.set_state(state)
    m2.clock.now = 1000
    m2.cpu.run(5000)
    assert m2.cpu.get_state() == after


def test_state_version_and_model_checked():
    m = Machine()
    state = m.cpu.get_state()
    with pytest.raises(StateError):
        m.cpu.set_state(dict(state, version=99))
    with pytest.raises(StateError):
        Machine("80186").cpu.set_state(state)


def test_breakpoint_stops_before_the_instruction_and_run_continues_past_it():
    m = Machine()
    m.code([0x90, 0x40, 0x40, HLT])                    # nop; inc ax; inc ax
    m.cpu.add_breakpoint((CODE << 4) + 2)
    assert m.cpu.run(100) == EXIT_BREAK
    assert m.cpu.ip == 2 and m.cpu.ax == 1
    assert m.cpu.run(100) == EXIT_HLT and m.cpu.ax == 2
