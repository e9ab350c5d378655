import os
import random
import socket
import time

import pytest

from pyvmm.board import Board
from pyvmm.devices.serialhost import (FileBackend, NullBackend, StdioBackend, TcpBackend,
                                      parse_serial_spec)
from pyvmm.devices.uart16550 import UART16550
from pyvmm.errors import ConfigError

BASE = 0x3F8
RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR = range(BASE, BASE + 8)


class Recorder:
    def __init__(self):
        self.out = bytearray()
        self.input = bytearray()

    def write(self, data):
        self.out += data

    def poll(self):
        data, self.input = bytes(self.input), bytearray()
        return data

    def close(self):
        pass


def make(backend=None, base=BASE, irq=4, divisor=1):
    board = Board()
    uart = board.attach(UART16550(base=base, irq=irq, backend=backend))
    io = board.io
    io.outb(base + 3, 0x80)
    io.outb(base, divisor & 0xFF)
    io.outb(base + 1, divisor >> 8)
    io.outb(base + 3, 0x03)                      # 8N1
    return board, uart


def char_cycles(board, divisor=1, bits=10):
    return board.clock.rate * bits * 16 * divisor // 1843200 + 1


def test_divisor_latch_and_scratch():
    board, uart = make(divisor=0x0180)
    io = board.io
    io.outb(LCR, 0x83)
    assert io.inb(RBR) == 0x80 and io.inb(IER) == 0x01
    io.outb(LCR, 0x03)
    io.outb(IER, 0x0F)
    assert io.inb(IER) == 0x0F
    io.outb(LCR, 0x83)
    assert io.inb(IER) == 0x01                   # DLM, not IER
    io.outb(LCR, 0x03)
    io.outb(SCR, 0xA5)
    assert io.inb(SCR) == 0xA5
    assert io.inb(LSR) == 0x60
    assert io.inb(IIR) == 0x02                   # enabling ETBEI with THR empty
    assert io.inb(IIR) == 0x01


def test_character_time_follows_divisor_and_line_format():
    rec = Recorder()
    board, uart = make(rec, divisor=12)          # 9600 baud, 8N1: 1.0417 ms per char
    board.io.outb(RBR, ord("x"))
    assert board.io.inb(LSR) & 0x60 == 0x20      # THR moved on; shifting
    board.clock.advance(char_cycles(board, 12) - 2)
    assert rec.out == b""
    board.clock.advance(2)
    assert rec.out == b"x" and board.io.inb(LSR) & 0x60 == 0x60


def test_loopback_echo_and_modem_lines():
    rec = Recorder()
    board, uart = make(rec)
    io = board.io
    io.outb(MCR, 0x10)
    io.outb(RBR, 0x41)
    assert not io.inb(LSR) & 0x01
    board.clock.advance(char_cycles(board))
    assert io.inb(LSR) & 0x61 == 0x61
    assert io.inb(RBR) == 0x41
    assert rec.out == b""                        # nothing leaves in loopback
    uart.receive(b"host")                        # held while looped back
    assert not io.inb(LSR) & 0x01
    io.inb(MSR)
    io.outb(MCR, 0x1F)                           # RTS DTR OUT1 OUT2 -> CTS DSR RI DCD
    assert io.inb(MSR) == 0xF0 | 0x0B
    io.outb(MCR, 0x10)
    assert io.inb(MSR) == 0x0F                   # RI fell: TERI
    io.outb(MCR, 0x00)
    assert io.inb(RBR) == ord("h")


def test_fifo_transmit_thre_interrupt_and_temt():
    rec = Recorder()
    board, uart = make(rec)
    io = board.io
    irq = board.irq[4]
    io.outb(IIR, 0x07)                           # FIFO on, both cleared
    io.outb(MCR, 0x08)                           # OUT2 gates the IRQ
    io.outb(IER, 0x02)
    assert irq.level == 1 and io.inb(IIR) == 0xC2
    assert io.inb(IIR) == 0xC1 and irq.level == 0   # reading IIR acknowledged THRE
    for b in b"abc":
        io.outb(RBR, b)
    assert io.inb(LSR) & 0x60 == 0x00 and irq.level == 0
    board.clock.advance(2 * char_cycles(board))
    assert rec.out == b"ab"
    assert io.inb(LSR) & 0x60 == 0x20 and irq.level == 1    # FIFO empty, "c" shifting
    board.clock.advance(char_cycles(board))
    assert rec.out == b"abc" and io.inb(LSR) & 0x60 == 0x60
    io.outb(RBR, ord("d"))                       # writing THR acknowledges THRE ...
    assert io.inb(IIR) == 0xC2                   # ... until it empties again


@pytest.mark.parametrize("bits,level", [(0, 1), (1, 4), (2, 8), (3, 14)])
def test_fifo_trigger_levels_and_timeout(bits, level):
    board, uart = make()
    io = board.io
    io.outb(IIR, 0x01 | bits << 6)
    io.outb(MCR, 0x08)
    io.outb(IER, 0x01)
    uart.receive(bytes(range(level - 1)))
    assert io.inb(IIR) == 0xC1
    uart.receive(b"\xEE")
    assert io.inb(IIR) == 0xC4 and board.irq[4].level == 1
    io.inb(RBR)
    if level == 1:
        assert io.inb(IIR) == 0xC1
        return
    assert io.inb(IIR) == 0xC1                   # below the trigger again
    board.clock.advance(4 * char_cycles(board) - 10)
    assert io.inb(IIR) == 0xC1
    board.clock.advance(20)
    assert io.inb(IIR) == 0xCC                   # character timeout
    io.inb(RBR)
    assert io.inb(IIR) == 0xC1


def test_iir_priorities():
    board, uart = make()
    io = board.io
    io.outb(MCR, 0x18)                           # loopback: CTS, DSR drop (DCTS, DDSR)
    io.outb(RBR, 1)
    board.clock.advance(char_cycles(board))
    io.outb(RBR, 2)
    board.clock.advance(char_cycles(board))      # RBR not read: overrun
    io.outb(IER, 0x0F)
    assert board.irq[4].level == 1
    assert io.inb(IIR) == 0x06                   # line status first
    assert io.inb(LSR) & 0x63 == 0x63            # OE, DR; cleared by the read
    assert io.inb(IIR) == 0x04                   # received data
    assert io.inb(RBR) == 2
    assert io.inb(IIR) == 0x02                   # THR empty (acknowledged by this read)
    assert io.inb(IIR) == 0x00                   # modem status
    assert io.inb(MSR) == 0x83
    assert io.inb(IIR) == 0x01
    assert board.irq[4].level == 0


def test_out2_gates_the_interrupt_line():
    board, uart = make()
    io = board.io
    io.outb(IER, 0x01)
    uart.receive(b"z")
    assert io.inb(IIR) == 0x04 and board.irq[4].level == 0
    io.outb(MCR, 0x08)
    assert board.irq[4].level == 1


def test_fcr_clear_bits_and_host_flow_control():
    board, uart = make()
    io = board.io
    io.outb(IIR, 0x01)
    data = bytes(range(40))
    uart.receive(data)
    got = bytearray()
    while io.inb(LSR) & 0x01:
        got.append(io.inb(RBR))
    assert bytes(got) == data                    # host input is never overrun
    uart.receive(b"12345")
    io.outb(IIR, 0x03)
    assert not io.inb(LSR) & 0x01
    for b in b"hello":
        io.outb(RBR, b)
    assert not io.inb(LSR) & 0x20
    io.outb(IIR, 0x05)
    assert io.inb(LSR) & 0x60 == 0x20            # FIFO empty, shift register busy
    io.outb(IIR, 0x00)                           # FIFO off: IIR bits 7:6 clear
    assert io.inb(IIR) & 0xC0 == 0


def test_modem_inputs_from_host_raise_msr_interrupt():
    board, uart = make()
    io = board.io
    io.outb(MCR, 0x08)
    io.outb(IER, 0x08)
    assert io.inb(MSR) == 0xB0
    uart.set_modem_inputs(dcd=False)
    assert board.irq[4].level == 1 and io.inb(IIR) == 0x00
    assert io.inb(MSR) == 0x38
    assert board.irq[4].level == 0


def test_file_backend_round_trip(tmp_path):
    path = tmp_path / "com1.log"
    path.write_bytes(b"old:")
    backend = FileBackend(str(path))
    board, uart = make(backend)
    for b in b"hello":
        board.io.outb(RBR, b)
        board.clock.advance(char_cycles(board))
    uart.poll()
    assert path.read_bytes() == b"old:hello"
    uart.close()
    assert backend.poll() == b""
    with pytest.raises(ConfigError):
        FileBackend(str(tmp_path / "missing" / "x.log"))


def test_tcp_backend_round_trip_on_localhost():
    backend = TcpBackend(0)
    board, uart = make(backend)
    io = board.io
    client = socket.create_connection(("127.0.0.1", backend.port), timeout=5)
    try:
        client.sendall(b"ping")
        for _ in range(500):
            uart.poll()
            if io.inb(LSR) & 0x01:
                break
            time.sleep(0.01)
        got = bytearray()
        for _ in range(500):
            while io.inb(LSR) & 0x01:
                got.append(io.inb(RBR))
            if len(got) >= 4:
                break
            uart.poll()
            time.sleep(0.01)
        assert bytes(got) == b"ping"
        assert backend.connected
        for b in b"pong":
            io.outb(RBR, b)
            board.clock.advance(char_cycles(board))
        received = bytearray()
        while len(received) < 4:
            chunk = client.recv(16)
            assert chunk
            received += chunk
        assert bytes(received) == b"pong"
    finally:
        client.close()
        backend.close()


def test_null_and_stdio_backends(tmp_path):
    assert NullBackend().poll() == b""
    r, w = os.pipe()
    try:
        out = open(tmp_path / "out", "wb")
        backend = StdioBackend(stdin=os.fdopen(r, "rb", buffering=0), stdout=out)
        os.write(w, b"key")
        assert backend.poll() == b"key"
        assert backend.poll() == b""
        backend.write(b"text")
        backend.close()
        out.close()
        assert (tmp_path / "out").read_bytes() == b"text"
    finally:
        os.close(w)


def test_parse_serial_spec(tmp_path):
    assert isinstance(parse_serial_spec("null"), NullBackend)
    assert isinstance(parse_serial_spec("stdio"), StdioBackend)
    fb = parse_serial_spec(f"file:{tmp_path / 'log'}")
    assert isinstance(fb, FileBackend)
    fb.close()
    tb = parse_serial_spec("tcp:127.0.0.1:0")
    assert isinstance(tb, TcpBackend) and tb.host == "127.0.0.1"
    tb.close()
    tb = parse_serial_spec("tcp:0")
    assert tb.host == "127.0.0.1"
    tb.close()
    for bad in ("", "serial", "file:", "tcp:", "tcp:host:port", "tcp:1.2.3.4:99999", "stdio:x"):
        with pytest.raises(ConfigError):
            parse_serial_spec(bad)
    with pytest.raises(ConfigError):
        parse_serial_spec(None)


def test_two_boards_share_nothing_and_state_round_trips():
    rec1, rec2 = Recorder(), Recorder()
    board1, uart1 = make(rec1)
    board2, uart2 = make(rec2, base=0x2F8, irq=3)
    assert uart1.backend is not uart2.backend
    board1.io.outb(SCR, 0x11)
    uart1.receive(b"one")
    assert board2.io.inb(0x2FF) == 0 and not board2.io.inb(0x2FD) & 1
    board1.io.outb(RBR, 0x42)
    board1.clock.advance(char_cycles(board1))
    board2.clock.advance(char_cycles(board2))
    assert rec1.out == b"B" and rec2.out == b""
    assert UART16550().backend is not UART16550().backend
    board3, uart3 = make(Recorder())
    board1.io.outb(RBR, 0x43)
    board3.clock.set_state(board1.clock.get_state())
    uart3.set_state(uart1.get_state())
    assert uart3.get_state() == uart1.get_state()
    board3.clock.advance(char_cycles(board3))
    assert uart3.backend.out == b"C"
    assert board3.io.inb(RBR) == ord("o")


def test_register_fuzz_never_raises():
    board, uart = make(Recorder())
    rng = random.Random(7)
    io = board.io
    for _ in range(6000):
        r = rng.random()
        port = BASE + rng.randrange(8)
        if r < 0.45:
            io.outb(port, rng.randrange(256))
        elif r < 0.9:
            io.inb(port)
        elif r < 0.95:
            uart.receive(bytes(rng.randrange(256) for _ in range(rng.randrange(20))))
        else:
            board.clock.advance(rng.randrange(20000))
        if rng.random() < 0.01:
            io.outb(LCR, 0x03)                   # keep the divisor small enough to make progress
    assert uart.get_state()["version"] == 1
