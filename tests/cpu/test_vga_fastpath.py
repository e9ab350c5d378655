"""The core calls the VGA memory engine in C for the A0000h window, and falls back
to the Python handlers for any page someone else has taken over (a debugger)."""
from pyvmm.board import Board
from pyvmm.cpu import CPU
from pyvmm.devices.vga import VGA, program_mode


def machine_with_program(code):
    board = Board()
    board.mem.map_ram(0, 0xA0000)
    vga = board.attach(VGA())
    program_mode(board.io, 0x13)
    board.mem.write(0x1000, code)
    cpu = CPU(board.mem, board.io, board.clock, model="8086")
    cpu.attach_vga(vga.mem)
    cpu.reset()
    for reg, value in (("cs", 0x100), ("ip", 0), ("ds", 0xA000), ("es", 0xA000), ("ss", 0x50), ("sp", 0x100)):
        cpu.set_reg(reg, value)
    return board, vga, cpu


# mov byte [0x0005], 0x2A ; mov al, [0x0005] ; mov [0xF000], al ; hlt
PROGRAM = bytes([0xC6, 0x06, 0x05, 0x00, 0x2A, 0xA0, 0x05, 0x00, 0xA2, 0x00, 0xF0, 0xF4])


def test_guest_writes_reach_the_planes_and_read_back():
    board, vga, cpu = machine_with_program(PROGRAM)
    cpu.run(100)
    assert cpu.halted
    # chain-4: byte 5 of the window is plane 1, offset 4
    assert vga.mem.planes[1, 4] == 0x2A
    assert vga.mem.read8(0xA0005) == 0x2A
    assert vga.mem.read8(0xAF000) == 0x2A


def test_a_page_whose_handler_was_replaced_goes_through_python():
    board, vga, cpu = machine_with_program(PROGRAM)
    seen = []
    original = board.mem.mmio_write[0xA0]
    board.mem.mmio_write[0xA0] = lambda addr, value: (seen.append((addr, value)), original(addr, value))
    cpu.run(100)
    assert seen == [(0xA0005, 0x2A)]           # the watched page saw the write
    assert vga.mem.planes[1, 4] == 0x2A        # and the write still happened
