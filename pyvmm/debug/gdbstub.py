"""A GDB remote-serial-protocol server for a Machine.

Use it with ``gdb -ex 'set architecture i8086' -ex 'target remote 127.0.0.1:PORT'``.

Addresses: gdb sees one flat, linear address space.  ``m``/``M`` and breakpoints
take linear (physical) addresses, and the register gdb calls ``eip`` is reported
as the linear address ``CS*16 + IP`` so that ``x/i $pc``, ``break *ADDR`` and the
stop location all agree.  Writing ``eip`` keeps CS when the new address is
reachable from it (IP = eip - CS*16) and otherwise loads CS = eip >> 4.

Registers (``g``/``G``/``p``/``P``) use the i386 layout, 32 bits each, little
endian: eax ecx edx ebx esp ebp esi edi eip eflags cs ss ds es fs gs; fs and gs
read as zero (there are none before the 386) and ignore writes.

Breakpoints (``Z0``) are execution breakpoints in the CPU core's breakpoint list
(up to 16), never patched into guest memory.  While the guest runs (``c``) the
socket is polled between slices of the run so Ctrl-C (0x03) stops it.
"""
import select
import socket

from .control import EXIT_BREAK, EXIT_HLT, linear, run_slice, step

GDB_REGS = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
            "eip", "eflags", "cs", "ss", "ds", "es", "fs", "gs")
SLICE = 50_000           # cycles run between two polls of the socket
MAX_BREAKPOINTS = 16     # the core's breakpoint list
SIGINT, SIGTRAP = 2, 5


def checksum(payload):
    return sum(payload) & 0xFF


def frame(payload):
    """``$payload#cc`` with the two-digit hex checksum."""
    return b"$" + payload + b"#%02x" % checksum(payload)


class GdbStub:
    """Serve one gdb at a time on ``host:port`` (port 0 picks a free one, see
    ``self.port``).  :meth:`serve` handles connections until gdb kills the target
    or :meth:`close` is called; :meth:`serve_one` handles a single connection."""

    def __init__(self, machine, port=0, host="127.0.0.1"):
        self.machine = machine
        self.breakpoints = set()          # linear addresses
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(1)
        self.host, self.port = self.listener.getsockname()[:2]
        self.conn = None
        self._buf = bytearray()
        self._killed = False

    # -- connection ----------------------------------------------------------------
    def serve(self):
        while not self._killed:
            try:
                self.serve_one()
            except OSError:
                if self.listener.fileno() < 0:
                    return
                raise

    def serve_one(self):
        conn, _addr = self.listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn, self._buf = conn, bytearray()
        try:
            while True:
                packet = self._read_packet()
                if packet is None:
                    return
                reply = self.handle(packet)
                if reply is None:          # k: no reply, the session ends
                    return
                self._send(reply)
                if packet[:1] == b"D":
                    return
        finally:
            conn.close()
            self.conn = None

    def close(self):
        self.listener.close()

    def _recv(self):
        data = self.conn.recv(4096)
        if not data:
            raise ConnectionError("gdb closed the connection")
        self._buf += data

    def _read_packet(self):
        """The next packet's payload (bytes), acknowledging it; None at EOF.
        A stray 0x03 while stopped is answered as a stop."""
        try:
            while True:
                while self._buf and self._buf[0] != ord("$"):
                    if self._buf[0] == 0x03:
                        del self._buf[0]
                        self._send(b"S%02x" % SIGINT)
                    else:
                        del self._buf[0]           # acks of our replies, noise
                end = self._buf.find(b"#")
                if self._buf and end >= 0 and len(self._buf) >= end + 3:
                    payload = bytes(self._buf[1:end])
                    sent = self._buf[end + 1:end + 3]
                    del self._buf[:end + 3]
                    try:
                        ok = int(sent, 16) == checksum(payload)
                    except ValueError:
                        ok = False
                    self.conn.sendall(b"+" if ok else b"-")
                    if ok:
                        return _unescape(payload)
                    continue
                self._recv()
        except (ConnectionError, OSError):
            return None

    def _send(self, payload):
        data = frame(_escape(payload))
        for _ in range(5):
            self.conn.sendall(data)
            while not self._buf:
                self._recv()
            if self._buf[0] == ord("+"):
                del self._buf[0]
                return
            if self._buf[0] == ord("-"):
                del self._buf[0]
                continue
            return                         # no ack mode on the other side; go on

    def _interrupted(self):
        """True if gdb sent Ctrl-C (0x03) while the guest was running."""
        if self.conn is None:
            return False
        readable, _, _ = select.select([self.conn], [], [], 0)
        if readable:
            self._recv()
        if 0x03 in self._buf:
            self._buf.remove(0x03)
            return True
        return False

    # -- registers -----------------------------------------------------------------
    def read_register(self, n):
        cpu = self.machine.cpu
        name = GDB_REGS[n]
        if name in ("fs", "gs"):
            return 0
        if name == "eip":
            return linear(cpu.get_reg("cs"), cpu.get_reg("ip"))
        if name == "eflags":
            return cpu.get_reg("flags")
        return cpu.get_reg(name)

    def write_register(self, n, value):
        cpu = self.machine.cpu
        name = GDB_REGS[n]
        if name in ("fs", "gs"):
            return
        if name == "eip":
            cs = cpu.get_reg("cs")
            if not 0 <= value - (cs << 4) <= 0xFFFF:
                cs = min(value >> 4, 0xFFFF)
                cpu.set_reg("cs", cs)
            cpu.set_reg("ip", value - (cs << 4))
        elif name == "eflags":
            cpu.set_reg("flags", value & 0xFFFF)
        elif name in ("cs", "ss", "ds", "es"):
            cpu.set_reg(name, value & 0xFFFF)
        else:
            cpu.set_reg(name, value)

    # -- commands --------------------------------------------------------------------
    def handle(self, packet):
        """The reply payload to one packet (None: end the session without a reply)."""
        cmd, args = packet[:1], packet[1:]
        try:
            if cmd == b"?":
                return b"S%02x" % SIGTRAP
            if cmd == b"g":
                return b"".join(self.read_register(n).to_bytes(4, "little").hex().encode()
                                for n in range(len(GDB_REGS)))
            if cmd == b"G":
                raw = bytes.fromhex(args.decode())
                for n in range(min(len(GDB_REGS), len(raw) // 4)):
                    self.write_register(n, int.from_bytes(raw[4 * n:4 * n + 4], "little"))
                return b"OK"
            if cmd == b"p":
                n = int(args, 16)
                if n >= len(GDB_REGS):
                    return b"E00"
                return self.read_register(n).to_bytes(4, "little").hex().encode()
            if cmd == b"P":
                n, value = args.split(b"=")
                n = int(n, 16)
                if n >= len(GDB_REGS):
                    return b"E00"
                self.write_register(n, int.from_bytes(bytes.fromhex(value.decode()), "little"))
                return b"OK"
            if cmd == b"m":
                addr, length = (int(x, 16) for x in args.split(b","))
                return self.machine.mem.read(addr, length).hex().encode()
            if cmd == b"M":
                where, data = args.split(b":")
                addr, length = (int(x, 16) for x in where.split(b","))
                self.machine.mem.write(addr, bytes.fromhex(data.decode())[:length])
                return b"OK"
            if cmd in (b"Z", b"z"):
                kind, addr, _size = args.split(b",")
                if kind != b"0":
                    return b""                 # only software breakpoints
                addr = int(addr, 16)
                if cmd == b"z":
                    self.breakpoints.discard(addr)
                elif addr not in self.breakpoints:
                    if len(self.breakpoints) >= MAX_BREAKPOINTS:
                        return b"E0e"
                    self.breakpoints.add(addr)
                return b"OK"
            if cmd == b"s":
                if args:
                    self.write_register(8, int(args, 16))
                step(self.machine)
                return b"S%02x" % SIGTRAP
            if cmd == b"c":
                if args:
                    self.write_register(8, int(args, 16))
                return self.cont()
            if cmd == b"k":
                self._killed = True
                return None
            if cmd == b"D":
                return b"OK"
            if cmd == b"H":
                return b"OK"
            if cmd == b"q":
                return self.query(args)
            return b""                         # vCont?, v..., anything else: unsupported
        except (ValueError, IndexError):
            return b"E01"

    def query(self, args):
        if args.startswith(b"Supported"):
            return b"PacketSize=4000"
        if args == b"Attached":
            return b"1"
        return b""

    def cont(self):
        """Run until a breakpoint, Ctrl-C from gdb, or the guest's exit."""
        machine, cpu = self.machine, self.machine.cpu
        addresses = {addr & machine.mem.addr_mask for addr in self.breakpoints}
        cpu.clear_breakpoints()
        for addr in addresses:
            cpu.add_breakpoint(addr)
        reason = EXIT_BREAK          # the first instruction is a resumption
        try:
            while True:
                reason = run_slice(machine, SLICE, addresses, resume=reason == EXIT_BREAK)
                if machine.board.exit_code is not None:
                    return b"W%02x" % (machine.board.exit_code & 0xFF)
                if reason == EXIT_BREAK:
                    return b"S%02x" % SIGTRAP
                if self._interrupted():
                    return b"S%02x" % SIGINT
                if reason == EXIT_HLT:         # halted for good: wait for gdb only
                    select.select([self.conn], [], [], 0.05)
        finally:
            cpu.clear_breakpoints()


def _escape(payload):
    out = bytearray()
    for b in payload:
        if b in b"#$}*":
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


def _unescape(payload):
    out = bytearray()
    it = iter(payload)
    for b in it:
        if b == 0x7D:
            out.append(next(it, 0) ^ 0x20)
        else:
            out.append(b)
    return bytes(out)
