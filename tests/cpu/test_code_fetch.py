"""Instruction fetch through the code window (one RAM/ROM page of the current CS):
code changed by the guest, by the host between runs and by a device during a run,
pages whose mapping changes, and fetches that leave the page or wrap the segment."""
from pyvmm.cpu import CPU, EXIT_HLT
from tests.cpu.cpurig import CODE, Machine

HLT = 0xF4
NOP = 0x90


def test_guest_patches_the_next_instruction():
    # mov byte [cs:0007], 42h (6 bytes); mov al, 00h whose immediate is at 0007; hlt
    m = Machine()
    m.code([0x2E, 0xC6, 0x06, 0x07, 0x00, 0x42, 0xB0, 0x00, HLT])
    assert m.cpu.run(100) == EXIT_HLT
    assert m.cpu.ax & 0xFF == 0x42


def test_host_write_between_runs_is_fetched():
    m = Machine()
    m.code([0xB0, 0x11, HLT])                       # mov al, 11h; hlt
    assert m.cpu.run(100) == EXIT_HLT and m.cpu.ax & 0xFF == 0x11
    m.code([0xB0, 0x22, HLT])                       # the same place, new code
    m.cpu.halted, m.cpu.ip = False, 0
    assert m.cpu.run(100) == EXIT_HLT and m.cpu.ax & 0xFF == 0x22


def test_device_remapping_the_code_page_during_a_run():
    # out 80h, al; then NOPs in RAM: the port handler maps the code page as MMIO
    # that reads HLT everywhere, so the very next fetch must halt
    m = Machine()
    m.code([0xE6, 0x80] + [NOP] * 16 + [0xB0, 0x77, HLT])
    page = (CODE << 4) & ~0xFFF

    def remap(port, value):
        m.mem.unmap(page, 0x1000)
        m.mem.map_mmio(page, 0x1000, lambda a: HLT, lambda a, v: None)

    m.io.register(0x80, 1, write8=remap, owner="test")
    assert m.cpu.run(1000) == EXIT_HLT
    assert m.cpu.ip == 3 and m.cpu.ax & 0xFF != 0x77


def test_instruction_split_across_pages():
    # mov ax, 1234h with its opcode and first immediate byte at the end of one page
    m = Machine()
    m.cpu.ip = 0x0FFE - (CODE << 4) % 0x1000
    m.code([0xB8, 0x34, 0x12, HLT], off=m.cpu.ip)
    assert m.cpu.run(100) == EXIT_HLT and m.cpu.ax == 0x1234


def test_fetch_wraps_inside_the_segment_on_8086():
    # mov al, imm8 with the opcode at CS:FFFF takes its immediate from CS:0000
    m = Machine("8086")
    m.cpu.ip = 0xFFFF
    m.code([0xB0], off=0xFFFF)
    m.code([0x5A, HLT])                             # imm8 = 5Ah, then (at CS:0001) hlt
    assert m.cpu.run(100) == EXIT_HLT and m.cpu.ax & 0xFF == 0x5A and m.cpu.ip == 2


def test_set_state_moves_the_fetch_to_the_new_cs():
    m = Machine()
    m.code([NOP, NOP, HLT])
    m.code([0xB0, 0x66, HLT], seg=0x0300)
    assert m.cpu.step() == 0                        # fetching from CODE:0000
    other = Machine()
    other.cpu.cs, other.cpu.ip = 0x0300, 0
    m.cpu.set_state(other.cpu.get_state())
    assert m.cpu.run(100) == EXIT_HLT and m.cpu.ax & 0xFF == 0x66


def test_a20_change_by_a_device_during_a_run():
    # code at FFFF:0010 (linear 100000h): with A20 off it is the code at 0000:0000
    m = Machine("80286", size=1 << 21)
    m.mem.write(0x100000, bytes([0xE6, 0x80, 0xB0, 0x11, HLT]))
    m.mem.write(0x000000, bytes([0xE6, 0x80, 0xB0, 0x22, HLT]))
    m.io.register(0x80, 1, write8=lambda port, value: m.mem.set_a20(False), owner="test")
    m.cpu.cs, m.cpu.ip = 0xFFFF, 0x0010
    assert m.cpu.run(100) == EXIT_HLT and m.cpu.ax & 0xFF == 0x22


def test_rom_code_runs_and_ignores_writes():
    m = Machine()
    m.mem.unmap(0xF0000, 0x10000)
    m.mem.map_rom(0xF0000, bytes([0xB0, 0x33, HLT]) + bytes(0x10000 - 3))
    cpu = CPU(m.mem, m.io, m.clock)
    cpu.cs, cpu.ip = 0xF000, 0
    assert cpu.run(100) == EXIT_HLT and cpu.ax & 0xFF == 0x33
