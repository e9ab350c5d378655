"""The GDB stub: packet framing and commands over a socket, then the real gdb."""
import re
import shutil
import socket
import subprocess
import threading

import pytest

from pyvmm.debug.gdbstub import GdbStub, checksum, frame
from tests.debug.harness import TinyPC, far_jmp

# 0000:7C00  mov ax,1234h / mov bx,5678h / add ax,bx / jmp far 07C0:0020
PROGRAM = bytes.fromhex("b83412" "bb7856" "01d8") + far_jmp(0x07C0, 0x0020)
# 07C0:0020 (linear 7C20h)  inc cx / out 80h,al / jmp $ (spin)
TAIL = bytes.fromhex("41" "e680" "ebfe")


def make_pc():
    pc = TinyPC(PROGRAM)
    pc.write(0x7C20, TAIL)
    return pc


class Client:
    """A minimal gdb: sends packets, checks acks and checksums."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def _more(self):
        data = self.sock.recv(4096)
        assert data, "stub closed the connection"
        self.buf += data

    def command(self, payload):
        self.sock.sendall(frame(payload))
        while not self.buf:
            self._more()
        assert self.buf[:1] == b"+", self.buf
        self.buf = self.buf[1:]
        return self.reply()

    def reply(self):
        while b"#" not in self.buf or len(self.buf) < self.buf.index(b"#") + 3:
            self._more()
        assert self.buf[:1] == b"$", self.buf
        end = self.buf.index(b"#")
        payload, cs = self.buf[1:end], self.buf[end + 1:end + 3]
        self.buf = self.buf[end + 3:]
        assert int(cs, 16) == checksum(payload)
        self.sock.sendall(b"+")
        return payload


@pytest.fixture
def served():
    pc = make_pc()
    stub = GdbStub(pc, 0)
    thread = threading.Thread(target=stub.serve_one, daemon=True)
    thread.start()
    client = Client(stub.port)
    yield pc, stub, client
    client.sock.close()
    thread.join(5)
    stub.close()


def regs(client):
    raw = bytes.fromhex(client.command(b"g").decode())
    names = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
             "eip", "eflags", "cs", "ss", "ds", "es", "fs", "gs")
    return {n: int.from_bytes(raw[4 * i:4 * i + 4], "little") for i, n in enumerate(names)}


def test_framing_queries_and_registers(served):
    pc, stub, client = served
    assert client.command(b"qSupported:multiprocess+;swbreak+").startswith(b"PacketSize=")
    assert client.command(b"qAttached") == b"1"
    assert client.command(b"vCont?") == b""
    assert client.command(b"?") == b"S05"
    r = regs(client)
    assert (r["cs"], r["eip"], r["eflags"]) == (0xF000, 0xFFFF0, 0xF002)
    # a corrupted packet is refused with '-' and not executed
    client.sock.sendall(b"$P0=78563412#00")
    while not client.buf:
        client._more()
    assert client.buf[:1] == b"-"
    client.buf = client.buf[1:]
    assert client.command(b"P0=78563412") == b"OK"
    assert pc.cpu.get_reg("eax") == 0x12345678
    assert client.command(b"p0") == b"78563412"
    assert client.command(b"p20") == b"E00"


def test_memory_breakpoints_step_and_continue(served):
    pc, stub, client = served
    assert client.command(b"m7c00,3") == b"b83412"
    assert client.command(b"M500,2:abcd") == b"OK"
    assert pc.read(0x500, 2) == b"\xab\xcd"
    assert client.command(b"Z0,7c06,1") == b"OK"
    assert client.command(b"c") == b"S05"
    r = regs(client)
    assert (r["cs"], r["eip"], r["eax"], r["ebx"]) == (0, 0x7C06, 0x1234, 0x5678)
    assert pc.read(0x7C00, 3) == PROGRAM[:3]          # memory never patched
    assert client.command(b"s") == b"S05"
    assert regs(client)["eax"] == 0x68AC
    assert client.command(b"z0,7c06,1") == b"OK"
    assert client.command(b"Z0,7c21,1") == b"OK"      # linear: 07C0:0021
    assert client.command(b"c") == b"S05"
    r = regs(client)
    assert (r["cs"], r["eip"], r["ecx"]) == (0x07C0, 0x7C21, 1)
    assert pc.cpu.get_reg("ip") == 0x21
    # eip writes keep CS when reachable from it
    assert client.command(b"P8=207c0000") == b"OK"
    assert (pc.cpu.get_reg("cs"), pc.cpu.get_reg("ip")) == (0x07C0, 0x20)


def test_ctrl_c_interrupts_a_running_guest(served):
    pc, stub, client = served
    client.sock.sendall(frame(b"c"))
    while not client.buf:
        client._more()
    assert client.buf[:1] == b"+"
    client.buf = client.buf[1:]
    client.sock.sendall(b"\x03")
    assert client.reply() == b"S02"
    assert pc.cpu.instructions > 5                   # it ran into the spin loop
    assert (pc.cpu.get_reg("cs"), pc.cpu.get_reg("ip")) == (0x07C0, 0x23)
    assert client.command(b"D") == b"OK"


GDB = shutil.which("gdb")


@pytest.mark.skipif(GDB is None, reason="the gdb binary is not installed (Debian package gdb)")
def test_real_gdb_session():
    pc = make_pc()
    stub = GdbStub(pc, 0)
    thread = threading.Thread(target=stub.serve, daemon=True)
    thread.start()
    try:
        out = subprocess.run(
            [GDB, "-nx", "-batch",
             "-ex", "set architecture i8086",
             "-ex", f"target remote 127.0.0.1:{stub.port}",
             "-ex", "info registers eip cs",
             "-ex", "break *0x7c00",
             "-ex", "continue",
             "-ex", "info registers eip eax cs",
             "-ex", "stepi",
             "-ex", "info registers eip eax",
             "-ex", "x/3xb 0x7c00",
             "-ex", "break *0x7c21",
             "-ex", "continue",
             "-ex", "info registers eip ecx cs",
             "-ex", "set $eax = 0xbeef",
             "-ex", "kill"],
            capture_output=True, text=True, timeout=60)
    finally:
        stub.close()
    thread.join(5)
    text = out.stdout + out.stderr

    def values(reg):
        return [int(v, 16) for v in re.findall(rf"^{reg}\s+0x([0-9a-f]+)", text, re.M)]

    assert values("eip") == [0xFFFF0, 0x7C00, 0x7C03, 0x7C21], text
    assert values("cs") == [0xF000, 0, 0x07C0], text
    assert values("eax") == [0, 0x1234], text
    assert values("ecx") == [1], text
    assert re.search(r"0x7c00:\s+0xb8\s+0x34\s+0x12", text), text
    assert pc.cpu.get_reg("ax") == 0xBEEF
