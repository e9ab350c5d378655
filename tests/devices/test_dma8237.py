import random

from pyvmm.board import Board
from pyvmm.devices.dma8237 import DMAController


def make_board():
    board = Board()
    board.mem.map_ram(0, 0xA0000)
    dma = board.attach(DMAController())
    return board, dma


def enable_cascade(io):
    """What POST does: master clear both chips, channel 4 cascade, unmask it."""
    io.outb(0x0D, 0)
    io.outb(0xDA, 0)
    io.outb(0xD6, 0xC0)
    io.outb(0xD4, 0x00)


def program_8bit(io, ch, mode, phys, count, page_port):
    io.outb(0x0A, 0x04 | ch)           # mask while programming
    io.outb(0x0C, 0)                   # clear the byte-pointer flip-flop
    io.outb(0x0B, mode | ch)
    addr_port, count_port = ch * 2, ch * 2 + 1
    io.outb(addr_port, phys & 0xFF)
    io.outb(addr_port, (phys >> 8) & 0xFF)
    io.outb(page_port, (phys >> 16) & 0xFF)
    io.outb(count_port, (count - 1) & 0xFF)
    io.outb(count_port, ((count - 1) >> 8) & 0xFF)


class FakeDevice:
    """A device that writes ``blocks`` to memory through the DMA when serviced."""

    def __init__(self, dma, ch, block):
        self.dma, self.ch, self.block = dma, ch, block
        self.calls = 0
        self.moved = 0
        dma.register_channel(ch, self.service)

    def service(self):
        self.calls += 1
        self.moved += self.dma.write_memory(self.ch, self.block)
        if self.dma.terminal_count(self.ch):
            self.dma.set_dreq(self.ch, False)


def test_bios_style_floppy_read_lands_at_physical_address_with_tc():
    board, dma = make_board()
    io = board.io
    enable_cascade(io)
    program_8bit(io, 2, 0x46, 0x12345, 512, 0x81)     # single, write, increment
    io.outb(0x0A, 0x02)                               # unmask channel 2
    data = bytes(random.Random(1).randrange(256) for _ in range(512))
    dev = FakeDevice(dma, 2, data)
    dma.set_dreq(2, True)
    assert dev.calls == 1 and dev.moved == 512
    assert board.mem.read(0x12345, 512) == data
    assert board.mem.read(0x12344, 1) == b"\0" and board.mem.read(0x12345 + 512, 1) == b"\0"
    assert dma.terminal_count(2) and dma.remaining(2) == 0
    # current address moved on, count wrapped to FFFFh
    io.outb(0x0C, 0)
    lo, hi = io.inb(0x04), io.inb(0x04)
    assert (hi << 8 | lo) == (0x2345 + 512) & 0xFFFF
    assert io.inb(0x05) | io.inb(0x05) << 8 == 0xFFFF
    status = io.inb(0x08)
    assert status & 0x04                              # TC of channel 2
    assert io.inb(0x08) & 0x0F == 0                   # cleared by the read
    assert io.inb(0x0F) & 0x04                        # no autoinit: masked at TC
    assert dma.write_memory(2, b"x") == 0


def test_transfer_stops_at_count_and_wraps_inside_the_64k_page():
    board, dma = make_board()
    io = board.io
    enable_cascade(io)
    program_8bit(io, 1, 0x45, 0x1FFF0, 0x40, 0x83)
    io.outb(0x0A, 0x01)
    data = bytes(range(0x50))
    assert dma.write_memory(1, data) == 0x40
    # 16 bytes up to 1FFFFh, then the address wraps to 10000h (not 20000h)
    assert board.mem.read(0x1FFF0, 16) == data[:16]
    assert board.mem.read(0x10000, 0x30) == data[16:0x40]
    assert board.mem.read(0x20000, 4) == b"\0" * 4


def test_read_transfer_and_status_request_bits():
    board, dma = make_board()
    io = board.io
    enable_cascade(io)
    board.mem.write(0x30000, b"hello world")
    program_8bit(io, 3, 0x4A, 0x30000, 11, 0x82)      # single, read
    io.outb(0x0A, 0x03)
    dma.register_channel(3, lambda: None)
    dma.set_dreq(3, True)
    assert io.inb(0x08) & 0x80                        # request bit of channel 3
    assert dma.read_memory(3, 5) == b"hello"
    assert dma.remaining(3) == 6
    assert not dma.terminal_count(3)
    assert dma.read_memory(3, 100) == b" world"
    assert dma.terminal_count(3)
    assert dma.read_memory(3, 1) == b""


def test_autoinit_reloads_address_and_count():
    board, dma = make_board()
    io = board.io
    enable_cascade(io)
    program_8bit(io, 1, 0x54, 0x40000, 8, 0x83)        # autoinit write
    io.outb(0x0A, 0x01)
    assert dma.write_memory(1, b"ABCDEFGHIJ") == 8
    assert dma.terminal_count(1)
    assert dma.remaining(1) == 8
    assert not io.inb(0x0F) & 0x02                    # still unmasked
    assert dma.write_memory(1, b"abc") == 3
    assert board.mem.read(0x40000, 8) == b"abcDEFGH"


def test_decrement_mode_fills_downwards():
    board, dma = make_board()
    io = board.io
    enable_cascade(io)
    program_8bit(io, 1, 0x64, 0x50003, 4, 0x83)        # write, decrement
    io.outb(0x0A, 0x01)
    assert dma.write_memory(1, b"1234") == 4
    assert board.mem.read(0x50000, 4) == b"4321"
    io.outb(0x0C, 0)
    assert io.inb(0x02) | io.inb(0x02) << 8 == 0xFFFF  # 0003h - 4


def test_verify_mode_counts_without_moving():
    board, dma = make_board()
    io = board.io
    enable_cascade(io)
    program_8bit(io, 2, 0x42, 0x60000, 512, 0x81)
    io.outb(0x0A, 0x02)
    assert dma.write_memory(2, b"\x55" * 600) == 512
    assert dma.terminal_count(2)
    assert board.mem.read(0x60000, 512) == b"\0" * 512


def test_16bit_channel_5_addresses_words_in_128k_blocks():
    board, dma = make_board()
    io = board.io
    enable_cascade(io)
    phys = 0x3FFFC                                    # word FFFEh of the 128K block 20000h
    io.outb(0xD4, 0x04 | 1)
    io.outb(0xD8, 0)
    io.outb(0xD6, 0x44 | 1)
    word = (phys >> 1) & 0xFFFF
    io.outb(0xC4, word & 0xFF)
    io.outb(0xC4, (word >> 8) & 0xFF)
    io.outb(0x8B, phys >> 16)                         # 03h: bit 0 (A16) is ignored
    io.outb(0xC6, 3)                                  # 4 words
    io.outb(0xC6, 0)
    io.outb(0xD4, 1)
    assert dma.remaining(5) == 8
    assert dma.write_memory(5, b"abcdefghij") == 8
    # two words up to 3FFFFh, then the word address wraps to 20000h
    assert board.mem.read(0x3FFFC, 4) == b"abcd"
    assert board.mem.read(0x20000, 4) == b"efgh"
    assert board.mem.read(0x40000, 2) == b"\0\0"
    assert dma.terminal_count(5)


def test_masked_channel_waits_until_unmasked():
    board, dma = make_board()
    io = board.io
    enable_cascade(io)
    program_8bit(io, 2, 0x46, 0x7000, 512, 0x81)
    dev = FakeDevice(dma, 2, b"\xAA" * 512)
    dma.set_dreq(2, True)
    assert dev.calls == 0 and dma.write_memory(2, b"x") == 0
    io.outb(0x0A, 0x02)
    assert dev.calls == 1 and dev.moved == 512
    assert board.mem.read(0x7000, 512) == b"\xAA" * 512


def test_channels_0_3_need_the_channel_4_cascade():
    board, dma = make_board()
    io = board.io
    program_8bit(io, 2, 0x46, 0x7000, 16, 0x81)
    io.outb(0x0A, 0x02)
    dev = FakeDevice(dma, 2, b"\x11" * 16)
    dma.set_dreq(2, True)
    assert dev.calls == 0                             # channel 4 masked after reset
    io.outb(0xD6, 0xC0)
    io.outb(0xD4, 0x00)
    assert dev.calls == 1 and dev.moved == 16


def test_controller_disable_and_all_mask_and_clear_mask():
    board, dma = make_board()
    io = board.io
    enable_cascade(io)
    program_8bit(io, 1, 0x44, 0x8000, 4, 0x83)
    io.outb(0x0F, 0x0F)
    assert io.inb(0x0F) & 0x0F == 0x0F
    io.outb(0x0E, 0)
    assert io.inb(0x0F) & 0x0F == 0
    io.outb(0x08, 0x04)                               # controller disabled
    assert dma.write_memory(1, b"abcd") == 0
    io.outb(0x08, 0x00)
    assert dma.write_memory(1, b"abcd") == 4


def test_master_clear_resets_flipflop_masks_and_status():
    board, dma = make_board()
    io = board.io
    enable_cascade(io)
    program_8bit(io, 1, 0x44, 0x8000, 2, 0x83)
    io.outb(0x0A, 0x01)
    dma.write_memory(1, b"ab")
    io.outb(0x09, 0x04 | 0)                           # software request on channel 0
    io.outb(0x08, 0x10)
    io.outb(0x02, 0x12)                               # flip-flop now points at the high byte
    io.outb(0x0D, 0)
    assert io.inb(0x0F) & 0x0F == 0x0F
    assert io.inb(0x08) == 0
    assert dma.command[0] == 0
    io.outb(0x02, 0x34)                               # low byte again
    io.outb(0x02, 0x12)
    io.outb(0x0C, 0)
    assert io.inb(0x02) == 0x34 and io.inb(0x02) == 0x12


def test_memory_to_memory_copy_and_fill():
    board, dma = make_board()
    io = board.io
    enable_cascade(io)
    board.mem.write(0x10000, b"copy me!")
    program_8bit(io, 0, 0x88, 0x10000, 8, 0x87)      # block mode, source
    program_8bit(io, 1, 0x84, 0x20000, 8, 0x83)      # block mode, destination
    io.outb(0x08, 0x01)                               # memory-to-memory enabled
    io.outb(0x09, 0x04)                               # software request, channel 0
    assert board.mem.read(0x20000, 8) == b"copy me!"
    assert io.inb(0x0D) == ord("!")                   # last byte stays in the temporary
    assert io.inb(0x08) & 0x02 and dma.terminal_count(1)
    program_8bit(io, 0, 0x88, 0x10007, 1, 0x87)
    program_8bit(io, 1, 0x84, 0x30000, 5, 0x83)
    io.outb(0x08, 0x03)                               # with channel 0 address hold
    io.outb(0x09, 0x04)
    assert board.mem.read(0x30000, 6) == b"!!!!!\0"


def test_software_request_shows_in_status():
    board, dma = make_board()
    io = board.io
    io.outb(0x09, 0x04 | 2)
    assert io.inb(0x08) == 0x40
    io.outb(0x09, 2)
    assert io.inb(0x08) == 0


def test_page_registers_and_temporary():
    board, dma = make_board()
    io = board.io
    for port in range(0x81, 0x90):
        io.outb(port, port ^ 0x5A)
    for port in range(0x81, 0x90):
        assert io.inb(port) == port ^ 0x5A
    assert io.inb(0x80) == 0xFF                       # POST port is not ours
    assert io.inb(0x0D) == 0 and io.inb(0xDA) == 0


def test_state_round_trip_and_boards_share_nothing():
    board, dma = make_board()
    io = board.io
    enable_cascade(io)
    program_8bit(io, 2, 0x46, 0x12345, 100, 0x81)
    state = dma.get_state()
    board2, dma2 = make_board()
    assert dma2.get_state() != state
    dma2.set_state(state)
    assert dma2.get_state() == state
    dma.write_memory(2, b"z" * 10)
    assert dma2.remaining(2) == 100 and board2.mem.read(0x12345, 1) == b"\0"
    assert board.dma is dma and board2.dma is dma2


def test_register_fuzz_never_raises():
    board, dma = make_board()
    rng = random.Random(1234)
    ports = list(range(0x00, 0x10)) + list(range(0xC0, 0xE0, 2)) + list(range(0x81, 0x90))
    for ch in (0, 1, 2, 3, 5, 6, 7):
        dma.register_channel(ch, lambda ch=ch: dma.write_memory(ch, b"\x77" * rng.randrange(1, 300)))
    for _ in range(5000):
        port = rng.choice(ports)
        r = rng.random()
        if r < 0.45:
            board.io.outb(port, rng.randrange(256))
        elif r < 0.8:
            board.io.inb(port)
        else:
            ch = rng.choice((0, 1, 2, 3, 5, 6, 7))
            if rng.random() < 0.5:
                dma.read_memory(ch, rng.randrange(0, 600))
            else:
                dma.set_dreq(ch, rng.random() < 0.7)
        assert 0 <= dma.remaining(rng.randrange(8)) <= 0x20000
    # ROM and empty pages are left alone
    assert board.mem.read(0xF0000, 16) == b"\xff" * 16


def test_two_boards_with_the_whole_set_share_nothing():
    from pyvmm.devices.rtc146818 import RTC146818
    from pyvmm.devices.uart16550 import UART16550
    boards = []
    for _ in range(2):
        board, dma = make_board()
        board.attach(RTC146818())
        board.attach(UART16550())
        boards.append(board)
    a, b = boards
    enable_cascade(a.io)
    program_8bit(a.io, 2, 0x46, 0x1000, 4, 0x81)
    a.io.outb(0x70, 0x8E)                             # NMI masked on board a only
    a.io.outb(0x71, 0x99)
    a.io.outb(0x3FF, 0x42)
    assert b.io.inb(0x81) == 0 and b.io.inb(0x0F) & 0x0F == 0x0F
    assert b.nmi_enabled and not a.nmi_enabled
    b.io.outb(0x70, 0x0E)
    assert b.io.inb(0x71) == 0 and b.io.inb(0x3FF) == 0
