"""8259A pair: driven through ports 20h/21h/A0h/A1h/4D0h/4D1h, the IRQ lines and INTA."""
import random

import pytest

from pyvmm.board import Board
from pyvmm.devices.pic8259 import DualPIC, PIC8259
from pyvmm.errors import StateError

MASTER_BASE = 0x08
SLAVE_BASE = 0x70


def bios_init(io, master_base=MASTER_BASE, slave_base=SLAVE_BASE, icw4=0x01):
    """The AT BIOS sequence: ICW1 edge/cascade/ICW4, ICW2 base, ICW3 wiring, ICW4 8086."""
    io.outb(0x20, 0x11)
    io.outb(0x21, master_base)
    io.outb(0x21, 0x04)          # slave on IR2
    io.outb(0x21, icw4)
    io.outb(0xA0, 0x11)
    io.outb(0xA1, slave_base)
    io.outb(0xA1, 0x02)          # slave ID 2
    io.outb(0xA1, icw4)
    io.outb(0x21, 0x00)
    io.outb(0xA1, 0x00)


@pytest.fixture
def board():
    b = Board()
    b.attach(DualPIC())
    bios_init(b.io)
    return b


def read_irr(io, port=0x20):
    io.outb(port, 0x0A)
    return io.inb(port)


def read_isr(io, port=0x20):
    io.outb(port, 0x0B)
    return io.inb(port)


def test_attach_sets_board_pic_and_claims_ports(board):
    assert isinstance(board.pic, DualPIC)
    for port in (0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1):
        assert board.io.owner[("read8", port)] == "pic"


def test_icw_sequence_and_imr_readback(board):
    io = board.io
    io.outb(0x21, 0xB8)
    io.outb(0xA1, 0x8F)
    assert io.inb(0x21) == 0xB8
    assert io.inb(0xA1) == 0x8F
    # ICW1 clears the IMR and restarts the sequence; the bytes on A0=1 are ICWs again
    io.outb(0x20, 0x11)
    assert io.inb(0x21) == 0x00
    io.outb(0x21, 0x20)
    io.outb(0x21, 0x04)
    io.outb(0x21, 0x01)
    io.outb(0x21, 0x56)          # now OCW1
    assert io.inb(0x21) == 0x56
    board.irq[1].raise_()
    assert board.pic.intr == 0   # masked
    io.outb(0x21, 0x00)
    assert board.pic.acknowledge() == 0x21


def test_single_mode_without_icw4_skips_icw3_and_icw4():
    b = Board()
    pic = b.attach(DualPIC())
    b.io.outb(0x20, 0x12)        # SNGL, no IC4
    b.io.outb(0x21, 0x40)
    b.io.outb(0x21, 0xFE)        # already OCW1
    assert b.io.inb(0x21) == 0xFE
    b.irq[0].raise_()
    assert pic.acknowledge() == 0x40


def test_vectors_priority_and_irr_isr_reads(board):
    pic, io = board.pic, board.io
    board.irq[3].raise_()
    board.irq[1].raise_()
    board.irq[6].raise_()
    assert pic.intr == 1
    assert read_irr(io) == 0x4A
    assert pic.acknowledge() == MASTER_BASE + 1
    assert read_isr(io) == 0x02
    assert read_irr(io) == 0x48
    # IR3 and IR6 are lower priority than the IR1 in service
    assert pic.intr == 0
    io.outb(0x20, 0x20)
    assert pic.intr == 1
    assert pic.acknowledge() == MASTER_BASE + 3
    # a higher-priority request nests over IR3
    board.irq[0].raise_()
    assert pic.intr == 1
    assert pic.acknowledge() == MASTER_BASE + 0
    assert read_isr(io) == 0x09
    io.outb(0x20, 0x20)          # non-specific EOI clears the highest: IR0
    assert read_isr(io) == 0x08
    io.outb(0x20, 0x20)
    assert pic.acknowledge() == MASTER_BASE + 6
    io.outb(0x20, 0x20)
    assert read_isr(io) == 0 and pic.intr == 0


def test_cascade_through_ir2_returns_slave_vector(board):
    pic, io = board.pic, board.io
    board.irq[12].raise_()
    assert pic.intr == 1
    assert read_irr(io) == 0x04
    assert read_irr(io, 0xA0) == 0x10
    assert pic.acknowledge() == SLAVE_BASE + 4
    assert read_isr(io) == 0x04
    assert read_isr(io, 0xA0) == 0x10
    # the slave's IRQ 8 is higher than 12 inside the slave, but master IR2 is busy
    board.irq[8].raise_()
    assert pic.intr == 0
    io.outb(0xA0, 0x20)
    io.outb(0x20, 0x20)
    assert pic.intr == 1
    assert pic.acknowledge() == SLAVE_BASE + 0
    # IRQ 0 and 1 still outrank the whole slave
    board.irq[1].raise_()
    assert pic.acknowledge() == MASTER_BASE + 1


def test_isa_irq2_pin_arrives_as_irq9(board):
    board.irq[2].raise_()
    assert board.pic.acknowledge() == SLAVE_BASE + 1


def test_specific_eoi(board):
    pic, io = board.pic, board.io
    board.irq[4].raise_()
    pic.acknowledge()
    board.irq[2 + 1].raise_()
    pic.acknowledge()
    assert read_isr(io) == 0x18
    io.outb(0x20, 0x64)          # specific EOI for IR4, not the highest in service
    assert read_isr(io) == 0x08
    io.outb(0x20, 0x63)
    assert read_isr(io) == 0


def test_automatic_eoi_leaves_isr_clear(board):
    pic, io = board.pic, board.io
    bios_init(io, icw4=0x03)
    board.irq[5].raise_()
    assert pic.acknowledge() == MASTER_BASE + 5
    assert read_isr(io) == 0
    board.irq[5].lower()
    board.irq[5].raise_()
    assert pic.intr == 1         # no EOI needed for the next one


def test_rotate_on_nonspecific_eoi_gives_equal_priority(board):
    pic, io = board.pic, board.io
    for n in (0, 1, 3):
        board.irq[n].raise_()
    assert pic.acknowledge() == MASTER_BASE + 0
    io.outb(0x20, 0xA0)          # rotate on non-specific EOI: IR0 becomes lowest
    board.irq[0].lower()
    board.irq[0].raise_()
    assert pic.acknowledge() == MASTER_BASE + 1
    io.outb(0x20, 0xA0)          # IR1 lowest: order is now 2,3,...,7,0,1
    assert pic.acknowledge() == MASTER_BASE + 3
    io.outb(0x20, 0xA0)
    assert pic.acknowledge() == MASTER_BASE + 0


def test_set_priority_and_rotate_on_specific_eoi(board):
    pic, io = board.pic, board.io
    io.outb(0x20, 0xC4)          # IR4 lowest, IR5 highest
    for n in (3, 5, 4):
        board.irq[n].raise_()
    assert pic.acknowledge() == MASTER_BASE + 5
    io.outb(0x20, 0xE5)          # rotate on specific EOI 5: IR6 now highest
    assert pic.acknowledge() == MASTER_BASE + 3
    io.outb(0x20, 0x63)
    assert pic.acknowledge() == MASTER_BASE + 4


def test_rotate_in_aeoi_mode(board):
    pic, io = board.pic, board.io
    bios_init(io, icw4=0x03)
    io.outb(0x20, 0x80)          # set rotate in AEOI
    board.irq[1].raise_()
    board.irq[2 + 4].raise_()
    assert pic.acknowledge() == MASTER_BASE + 1
    board.irq[1].lower()
    board.irq[1].raise_()
    board.irq[0].raise_()
    # IR1 became lowest: IR2.. first, then 0, then 1
    assert pic.acknowledge() == MASTER_BASE + 6
    assert pic.acknowledge() == MASTER_BASE + 0
    assert pic.acknowledge() == MASTER_BASE + 1
    io.outb(0x20, 0x00)          # clear rotate in AEOI: priorities stay where they are
    board.irq[0].lower()
    board.irq[0].raise_()
    board.irq[3].raise_()
    assert pic.acknowledge() == MASTER_BASE + 3


def test_special_mask_mode_enables_lower_priorities(board):
    pic, io = board.pic, board.io
    board.irq[3].raise_()
    assert pic.acknowledge() == MASTER_BASE + 3
    board.irq[5].raise_()
    assert pic.intr == 0         # fully nested: IR5 waits for IR3
    io.outb(0x21, 0x08)          # mask IR3 and enter special mask mode
    io.outb(0x20, 0x68)
    assert pic.intr == 1
    assert pic.acknowledge() == MASTER_BASE + 5
    # non-specific EOI skips the masked IR3 in special mask mode
    io.outb(0x20, 0x20)
    assert read_isr(io) == 0x08
    io.outb(0x20, 0x48)          # leave special mask mode
    io.outb(0x21, 0x00)
    io.outb(0x20, 0x20)
    assert read_isr(io) == 0


def test_poll_mode_acts_as_interrupt_acknowledge(board):
    pic, io = board.pic, board.io
    io.outb(0x21, 0xFF)          # a polled system keeps the outputs masked ...
    io.outb(0x20, 0x0C)
    assert io.inb(0x20) == 0x00  # ... and the poll word says "nothing"
    io.outb(0x21, 0x00)
    board.irq[6].raise_()
    board.irq[4].raise_()
    io.outb(0x20, 0x0C)
    assert io.inb(0x21) == 0x84  # poll on either address
    assert read_isr(io) == 0x10
    io.outb(0x20, 0x20)
    io.outb(0x20, 0x0C)
    assert io.inb(0x20) == 0x86
    io.outb(0x20, 0x20)
    # the read after the poll is an ordinary one again
    assert io.inb(0x21) == 0x00
    # poll the slave directly
    board.irq[11].raise_()
    io.outb(0xA0, 0x0C)
    assert io.inb(0xA0) == 0x83


def test_imr_masks_and_unmasking_delivers(board):
    pic, io = board.pic, board.io
    io.outb(0x21, 0x02)
    io.outb(0xA1, 0x01)
    board.irq[1].raise_()
    board.irq[8].raise_()
    assert pic.intr == 0
    assert read_irr(io) == 0x02 and read_irr(io, 0xA0) == 0x01
    io.outb(0xA1, 0x00)
    assert pic.acknowledge() == SLAVE_BASE
    io.outb(0xA0, 0x20)
    io.outb(0x20, 0x20)
    io.outb(0x21, 0x00)
    assert pic.acknowledge() == MASTER_BASE + 1


def test_edge_triggered_latches_pulses_and_needs_new_edge(board):
    pic, io = board.pic, board.io
    board.irq[4].pulse()         # zero-width edge is kept in IRR
    assert read_irr(io) == 0x10
    assert pic.acknowledge() == MASTER_BASE + 4
    io.outb(0x20, 0x20)
    board.irq[3].raise_()
    assert pic.acknowledge() == MASTER_BASE + 3
    io.outb(0x20, 0x20)
    assert pic.intr == 0         # still high, but no new edge
    board.irq[3].lower()
    board.irq[3].raise_()
    assert pic.intr == 1


def test_icw1_resets_edge_sense(board):
    pic, io = board.pic, board.io
    board.irq[5].raise_()
    bios_init(io)
    assert read_irr(io) == 0 and pic.intr == 0
    board.irq[5].lower()
    board.irq[5].raise_()
    assert pic.acknowledge() == MASTER_BASE + 5


def test_level_triggered_via_elcr(board):
    pic, io = board.pic, board.io
    io.outb(0x4D0, 0xFF)
    io.outb(0x4D1, 0xFF)
    # IRQ 0, 1, 2, 8 and 13 are fixed edge
    assert io.inb(0x4D0) == 0xF8
    assert io.inb(0x4D1) == 0xDE
    board.irq[10].raise_()
    assert pic.acknowledge() == SLAVE_BASE + 2
    io.outb(0xA0, 0x20)
    io.outb(0x20, 0x20)
    # still asserted after EOI: a level input requests again without a new edge
    assert pic.intr == 1
    assert pic.acknowledge() == SLAVE_BASE + 2
    board.irq[10].lower()        # the device is serviced
    io.outb(0xA0, 0x20)
    io.outb(0x20, 0x20)
    assert pic.intr == 0
    # IRR follows the level
    board.irq[5].raise_()
    assert read_irr(io) & 0x20
    board.irq[5].lower()
    assert read_irr(io) == 0 and pic.intr == 0


def test_ltim_makes_every_input_level_triggered(board):
    pic, io = board.pic, board.io
    io.outb(0x20, 0x19)
    io.outb(0x21, MASTER_BASE)
    io.outb(0x21, 0x04)
    io.outb(0x21, 0x01)
    board.irq[1].raise_()
    assert pic.acknowledge() == MASTER_BASE + 1
    io.outb(0x20, 0x20)
    assert pic.intr == 1
    board.irq[1].lower()
    assert pic.intr == 0


def test_spurious_irq7_when_level_request_goes_away(board):
    pic, io = board.pic, board.io
    io.outb(0x4D0, 0x08)
    board.irq[3].raise_()
    assert pic.intr == 1
    board.irq[3].lower()         # withdrawn before INTA
    assert pic.acknowledge() == MASTER_BASE + 7
    assert read_isr(io) == 0     # a spurious interrupt sets no ISR bit


def test_spurious_irq7_when_masked_before_inta(board):
    pic, io = board.pic, board.io
    board.irq[4].raise_()
    assert pic.intr == 1
    io.outb(0x21, 0x10)
    assert pic.acknowledge() == MASTER_BASE + 7
    assert read_isr(io) == 0


def test_spurious_irq15_sets_master_ir2_only(board):
    pic, io = board.pic, board.io
    io.outb(0x4D1, 0x08)         # IRQ 11 level triggered
    board.irq[11].raise_()
    assert pic.intr == 1
    board.irq[11].lower()        # master IR2 already latched the slave's INT edge
    assert pic.acknowledge() == SLAVE_BASE + 7
    assert read_isr(io) == 0x04
    assert read_isr(io, 0xA0) == 0
    io.outb(0x20, 0x20)          # the handler EOIs the master only
    assert read_isr(io) == 0 and pic.intr == 0


def test_special_fully_nested_mode_lets_higher_slave_irq_through(board):
    pic, io = board.pic, board.io
    bios_init(io, icw4=0x11)     # SFNM on both (only the master uses it)
    board.irq[12].raise_()
    assert pic.acknowledge() == SLAVE_BASE + 4
    board.irq[9].raise_()
    assert pic.intr == 1
    assert pic.acknowledge() == SLAVE_BASE + 1


def test_on_intr_follows_the_output():
    b = Board()
    pic = b.attach(DualPIC())
    bios_init(b.io)
    seen = []
    pic.on_intr = seen.append
    b.irq[0].raise_()
    pic.acknowledge()
    b.io.outb(0x20, 0x20)
    b.irq[0].lower()
    b.irq[0].raise_()
    assert seen == [1, 0, 1]


def test_single_chip_model_alone():
    levels = []
    chip = PIC8259(master=True, on_int=levels.append)
    for a0, v in ((0, 0x13), (1, 0x20), (1, 0x01)):
        chip.write(a0, v)
    chip.set_input(6, 1)
    assert levels == [1]
    assert chip.pending() == 6
    chip.ack(6)
    assert chip.vector(6) == 0x26
    assert levels == [1, 0]


def test_state_round_trip(board):
    pic, io = board.pic, board.io
    io.outb(0x21, 0x40)
    io.outb(0x4D1, 0x04)
    board.irq[3].raise_()
    board.irq[10].raise_()
    pic.acknowledge()
    state = pic.get_state()
    other = Board()
    twin = other.attach(DualPIC())
    twin.set_state(state)
    assert twin.get_state() == state
    assert twin.acknowledge() == pic.acknowledge()
    with pytest.raises(StateError):
        twin.set_state({"version": 99})


def test_two_boards_share_nothing():
    a, b = Board(), Board()
    pa, pb = a.attach(DualPIC()), b.attach(DualPIC())
    bios_init(a.io)
    bios_init(b.io, master_base=0x20, slave_base=0x28)
    a.io.outb(0x21, 0x0F)
    a.irq[5].raise_()
    assert pa.intr == 1 and pb.intr == 0
    assert b.io.inb(0x21) == 0
    assert pa.acknowledge() == MASTER_BASE + 5
    b.irq[5].raise_()
    assert pb.acknowledge() == 0x25
    assert pa.master is not pb.master


def test_register_fuzz_never_raises():
    rng = random.Random(8259)
    b = Board()
    pic = b.attach(DualPIC())
    ports = (0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1)
    for _ in range(20000):
        r = rng.random()
        if r < 0.45:
            b.io.outb(rng.choice(ports), rng.randrange(256))
        elif r < 0.7:
            b.io.inb(rng.choice(ports))
        elif r < 0.9:
            b.irq[rng.randrange(16)].set(rng.randrange(2))
        elif r < 0.97:
            assert 0 <= pic.acknowledge() <= 0xFF
        else:
            b.clock.advance(rng.randrange(1000))
        assert pic.intr in (0, 1)
    pic.set_state(pic.get_state())


def test_hard_reset_returns_to_power_on_and_cpu_reset_does_nothing(board):
    pic, io = board.pic, board.io
    io.outb(0x21, 0x0F)
    board.irq[6].raise_()
    pic.reset("cpu")
    assert io.inb(0x21) == 0x0F and pic.intr == 1
    pic.reset()
    assert io.inb(0x21) == 0 and io.inb(0xA1) == 0
    # the still-asserted line is seen again by the fresh chip
    assert read_irr(io) == 0x40


def test_cpu_takes_the_vector_from_the_pair(board):
    """The core's INTA goes to the pair (in C when intack is DualPIC.acknowledge):
    IRQ 9 arrives through the slave and master IR2, and the ISR bits are set."""
    from pyvmm.cpu import CPU
    board.mem.map_ram(0, 0x10000)
    vector = SLAVE_BASE + 1
    board.mem.write(vector * 4, bytes([0x00, 0x00, 0x00, 0x02]))   # handler at 0200:0000
    board.mem.write(0x2000, b"\xF4")                                # hlt
    board.mem.write(0x1000, b"\xFB\x90\x90\xF4")                    # sti; nop; nop; hlt
    cpu = CPU(board.mem, board.io, board.clock, model="8086")
    cpu.reset()
    for reg, value in (("cs", 0x100), ("ip", 0), ("ss", 0x300), ("sp", 0x100)):
        cpu.set_reg(reg, value)
    cpu.intack = board.pic.acknowledge
    board.pic.on_intr = cpu.set_intr
    board.irq[9].raise_()
    cpu.run(100)
    assert (cpu.get_reg("cs"), cpu.get_reg("ip")) == (0x200, 1)
    assert read_isr(board.io) == 0x04 and read_isr(board.io, 0xA0) == 0x02
