import pytest

from pyvmm.board import Board
from pyvmm.bus import IOBus, IrqLine
from pyvmm.cpu import CPU
from pyvmm.devices.pic8259 import DualPIC
from pyvmm.devices.pit8254 import PIT8254
from pyvmm.errors import BusConflict


def test_unmapped_ports_read_all_ones_and_drop_writes():
    io = IOBus()
    io.outb(0x1234, 0x55)
    assert io.inb(0x1234) == 0xFF
    assert io.inw(0x1234) == 0xFFFF
    assert io.ind(0x1234) == 0xFFFFFFFF


def test_handlers_receive_absolute_port_and_wide_accesses_split():
    io = IOBus()
    regs = {}
    io.register(0x300, 4, read8=lambda p: regs.get(p, 0), write8=regs.__setitem__, owner="card")
    io.outw(0x301, 0xBEEF)
    assert regs == {0x301: 0xEF, 0x302: 0xBE}
    assert io.inw(0x301) == 0xBEEF
    assert io.inb(0x302) == 0xBE


def test_word_handler_takes_precedence_and_dword_uses_its_own_handler():
    io = IOBus()
    seen = []
    io.register(0x1F0, read16=lambda p: 0x1234, write16=lambda p, v: seen.append((16, v)),
                read32=lambda p: 0xCAFEBABE, write32=lambda p, v: seen.append((32, v)), owner="ata")
    assert io.inw(0x1F0) == 0x1234
    assert io.ind(0x1F0) == 0xCAFEBABE
    io.outw(0x1F0, 0x10001)
    io.outd(0x1F0, 0x1_0000_0001)
    assert seen == [(16, 0x0001), (32, 0x00000001)]


def test_overlapping_registration_fails_naming_both_owners():
    io = IOBus()
    io.register(0x60, read8=lambda p: 0, owner="kbc")
    with pytest.raises(BusConflict, match="kbc"):
        io.register(0x5F, 2, read8=lambda p: 0, owner="other")
    # a different direction on the same port is not a conflict
    io.register(0x60, write8=lambda p, v: None, owner="kbc-out")


def test_port_numbers_wrap_at_64k():
    io = IOBus()
    got = []
    io.register(0xFFFF, write8=lambda p, v: got.append((p, v)), owner="top")
    io.register(0x0000, write8=lambda p, v: got.append((p, v)), owner="bottom")
    io.outw(0xFFFF, 0x0201)
    assert got == [(0xFFFF, 1), (0, 2)]


def test_irq_line_reports_level_changes_once():
    changes = []
    line = IrqLine(3)
    line.connect(changes.append)
    line.raise_()
    line.raise_()
    line.lower()
    line.pulse()
    assert changes == [1, 0, 1, 0]
    assert line.rising_edges == 2


def test_connecting_to_a_raised_line_delivers_its_level():
    line = IrqLine(5)
    line.raise_()
    changes = []
    line.connect(changes.append)
    assert changes == [1]


def test_compiled_device_ports_keep_the_bus_rules():
    """The PIC is a compiled PortDevice: its ports answer from Python through the same
    tables, word accesses split at ascending ports, and its claims still conflict."""
    board = Board()
    board.attach(DualPIC())
    io = board.io
    io.outb(0x21, 0x5A)                      # OCW1 (no ICW sequence pending after reset)
    assert io.inb(0x21) == 0x5A
    assert io.read8[0x21](0x21) == 0x5A      # the table entry is callable from Python
    assert io.inw(0x21) == 0xFF5A            # 22h belongs to nobody: all ones
    io.outw(0xA1, 0x1234)                    # 34h to the slave IMR, 12h to unowned A2h
    assert io.inb(0xA1) == 0x34
    assert io.ind(0x20) == 0xFFFF5A00        # IRR 00, IMR 5A, 22h-23h unowned
    with pytest.raises(BusConflict, match="pic"):
        io.register(0x21, write8=lambda p, v: None, owner="other")
    io.unregister(0x21)
    assert io.inb(0x21) == 0xFF


# mov dx,21h; in al,dx; mov bl,al; mov al,5Ah; out dx,al; in ax,dx; hlt
CPU_PORTS = bytes([0xBA, 0x21, 0x00, 0xEC, 0x88, 0xC3, 0xB0, 0x5A, 0xEE, 0xED, 0xF4])


def test_cpu_in_out_reach_compiled_and_python_handlers():
    """IN/OUT from the core go through the compiled bus: to the PIC's C handlers, and
    to a Python handler put into the table in front of them (as a debugger does)."""
    board = Board()
    board.mem.map_ram(0, 0x10000)
    board.attach(DualPIC())
    io = board.io
    io.outb(0x21, 0xC3)
    seen = []
    compiled = io.write8[0x21]

    def spy(port, value):
        seen.append((port, value))
        compiled(port, value)
    io.write8[0x21] = spy
    board.mem.write(0x1000, CPU_PORTS)
    cpu = CPU(board.mem, io, board.clock, model="8086")
    cpu.reset()
    cpu.set_reg("cs", 0x100)
    cpu.set_reg("ip", 0)
    cpu.run(100)
    assert cpu.halted
    assert cpu.get_reg("bl") == 0xC3
    assert seen == [(0x21, 0x5A)]
    assert cpu.get_reg("ax") == 0xFF5A       # word IN: IMR, then unowned 22h


def test_compiled_chip_that_reads_the_clock_sees_the_instruction_time():
    """Only timeless chips skip the core's clock sync: the PIT, read by IN after 40
    NOPs, counts from the cycle of the latching OUT."""
    board = Board()
    board.mem.map_ram(0, 0x10000)
    board.attach(PIT8254())
    io = board.io
    io.outb(0x43, 0x34)                      # counter 0, LSB/MSB, mode 2
    io.outb(0x40, 0)
    io.outb(0x40, 0)                         # 65536, loaded at tick 1
    # 40 x nop; mov al,0; out 43h,al; in al,40h; mov bl,al; in al,40h; mov bh,al; hlt
    code = b"\x90" * 40 + bytes([0xB0, 0x00, 0xE6, 0x43, 0xE4, 0x40, 0x88, 0xC3,
                                 0xE4, 0x40, 0x88, 0xC7, 0xF4])
    board.mem.write(0x1000, code)
    cpu = CPU(board.mem, io, board.clock, model="8086")
    cpu.reset()
    cpu.set_reg("cs", 0x100)
    cpu.set_reg("ip", 0)
    while not cpu.halted:
        cpu.run(1000)                        # stops at each PIT event
        board.clock.fire_due()
    # the OUT is instruction 41 (cycle 41 = PIT tick 10 at 4 cycles per tick): 9 ticks counted
    assert cpu.get_reg("bx") == 0x10000 - 9
