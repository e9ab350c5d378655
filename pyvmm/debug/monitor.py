"""An interactive machine monitor in the manner of DEBUG and the Bochs debugger.

``Monitor(machine, stdin, stdout).run()`` reads commands until ``q`` or end of input.
Numbers are hexadecimal (``0x`` allowed); an address is ``seg:off`` (either part may
be a register name, e.g. ``cs:ip``, ``ds:si``) or a linear address.  ``help`` lists
the commands.

Breakpoints live in this module.  Execution breakpoints and interrupt breakpoints use
the CPU core's breakpoint list (at most 16 addresses in all), so ``c`` runs at full
speed between hits; port breakpoints wrap the IOBus handlers and memory-write
breakpoints wrap the pages under the range (see :mod:`pyvmm.debug.control`), both
only while the guest runs.
"""
import sys

from ..clock import NEVER, PIT_HZ
from .control import EXIT_BREAK, EXIT_HLT, PortWatch, WriteWatch, linear, run_slice, step
from .disasm import Disassembler, format_insn

SLICE = 100_000          # cycles between checks of the breakpoint bookkeeping
MAX_CORE_BREAKPOINTS = 16
REGS16 = ("ax", "bx", "cx", "dx", "sp", "bp", "si", "di", "ds", "es", "ss", "cs", "ip", "flags")
REGS8 = ("al", "ah", "bl", "bh", "cl", "ch", "dl", "dh")
FLAG_NAMES = ((0x800, "OF"), (0x400, "DF"), (0x200, "IF"), (0x100, "TF"), (0x80, "SF"),
              (0x40, "ZF"), (0x10, "AF"), (0x4, "PF"), (0x1, "CF"))
PREFIXES = {0x26, 0x2E, 0x36, 0x3E, 0xF0, 0xF2, 0xF3}
STRING_OPS = set(range(0xA4, 0xA8)) | set(range(0xAA, 0xB0)) | set(range(0x6C, 0x70))

HELP = """\
r                     registers and the next instruction
r REG VALUE           set a register (ax..di, al..dh, cs ds es ss, ip, flags)
u [ADDR] [N]          disassemble N instructions (default: from CS:IP, 10)
d [ADDR] [LEN]        dump memory (default: DS:0 or where the last dump ended, 80h)
e ADDR BYTE.. ['text'] write bytes to memory
b ADDR                execution breakpoint at SEG:OFF (exact CS:IP) or a linear address
bp in|out PORT        stop after the guest accesses PORT
bi N                  stop on entry to the handler of interrupt N
bw START END          stop after the guest writes linear START..END (inclusive)
bl                    list breakpoints;  bc N  clear one (bc * clears all)
s [N]                 step N instructions (default 1)
n                     next: step over CALL, INT, REP string ops and LOOP
c                     continue until a breakpoint (Ctrl-C stops it)
i PORT                read a byte from PORT;  o PORT VALUE  write one
dev                   PIC, PIT and clock summaries
q                     quit
Numbers are hexadecimal."""


class MonitorError(Exception):
    """A command the monitor cannot carry out (the message is shown to the user)."""


def parse_number(text):
    try:
        return int(text[2:] if text.lower().startswith("0x") else text, 16)
    except ValueError:
        raise MonitorError(f"{text!r} is not a hexadecimal number") from None


class Monitor:
    def __init__(self, machine, stdin=None, stdout=None):
        self.machine = machine
        self.stdin = sys.stdin if stdin is None else stdin
        self.stdout = sys.stdout if stdout is None else stdout
        self.disasm = Disassembler()
        self.breakpoints = []        # dicts: id, kind, and the kind's fields
        self._next_id = 1
        self._unassemble_at = None   # (cs, ip) where the last `u` stopped
        self._dump_at = None         # (seg, off) or linear where the last `d` stopped

    # -- the loop ---------------------------------------------------------------------
    def say(self, text=""):
        self.stdout.write(text + "\n")

    def run(self):
        """Read and execute commands until ``q`` or end of input."""
        self.say("pyvmm monitor; 'help' lists the commands")
        self.show_registers()
        while True:
            self.stdout.write("- ")
            self.stdout.flush()
            try:
                line = self.stdin.readline()
            except KeyboardInterrupt:
                self.say()
                continue
            if not line:
                return
            if not self.execute(line):
                return

    def execute(self, line):
        """Execute one command line; False when it was ``q``."""
        words = line.split()
        if not words:
            return True
        cmd, args = words[0].lower(), words[1:]
        if cmd == "q":
            return False
        handler = getattr(self, f"cmd_{cmd}", None)
        if handler is None:
            self.say(f"unknown command {cmd!r}; 'help' lists the commands")
            return True
        try:
            handler(args)
        except MonitorError as e:
            self.say(f"error: {e}")
        return True

    # -- helpers ----------------------------------------------------------------------
    def reg(self, name):
        return self.machine.cpu.get_reg(name)

    def parse_value(self, text):
        if text.lower() in REGS16 or text.lower() in REGS8:
            return self.reg(text.lower())
        return parse_number(text)

    def parse_address(self, text):
        """``(seg, off)`` for ``seg:off``, or ``(None, linear)``."""
        if ":" in text:
            seg, off = text.split(":", 1)
            return self.parse_value(seg) & 0xFFFF, self.parse_value(off) & 0xFFFF
        return None, parse_number(text)

    def read_word(self, addr):
        data = self.machine.mem.read(addr, 2)
        return data[0] | data[1] << 8

    def here(self):
        return self.reg("cs"), self.reg("ip")

    # -- registers ----------------------------------------------------------------------
    def show_registers(self):
        r = self.reg
        self.say("  ".join(f"{n.upper()}={r(n):04X}" for n in ("ax", "bx", "cx", "dx", "sp", "bp", "si", "di")))
        flags = r("flags")
        names = " ".join(name for bit, name in FLAG_NAMES if flags & bit)
        self.say("  ".join(f"{n.upper()}={r(n):04X}" for n in ("ds", "es", "ss", "cs", "ip"))
                 + f"  FLAGS={flags:04X} [{names}]")
        cpu = self.machine.cpu
        state = "  (halted)" if cpu.halted else ""
        self.say(format_insn(self.disasm.one(self.machine.mem, *self.here())) + state)

    def cmd_r(self, args):
        if not args:
            self.show_registers()
            return
        if len(args) != 2:
            raise MonitorError("usage: r [REG VALUE]")
        name = args[0].lower()
        if name not in REGS16 and name not in REGS8:
            raise MonitorError(f"no register {args[0]!r}")
        self.machine.cpu.set_reg(name, parse_number(args[1]))
        self.show_registers()

    # -- memory -------------------------------------------------------------------------
    def cmd_u(self, args):
        if args:
            seg, off = self.parse_address(args[0])
            if seg is None:
                seg, off = off >> 4, off & 0xF
        else:
            seg, off = self._unassemble_at or self.here()
        count = parse_number(args[1]) if len(args) > 1 else 10
        for insn in self.disasm.many(self.machine.mem, seg, off, count):
            self.say(format_insn(insn))
            off = (insn[1] + len(insn[2])) & 0xFFFF
        self._unassemble_at = (seg, off)

    def cmd_d(self, args):
        if args:
            seg, off = self.parse_address(args[0])
        elif self._dump_at is not None:
            seg, off = self._dump_at
        else:
            seg, off = self.reg("ds"), 0
        length = parse_number(args[1]) if len(args) > 1 else 0x80
        mem = self.machine.mem
        done = 0
        while done < length:
            n = min(16, length - done)
            if seg is None:
                addr, label = off, f"{off:05X}"
            else:
                addr, label = linear(seg, off), f"{seg:04X}:{off:04X}"
            data = mem.read(addr, n)
            text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in data)
            self.say(f"{label}  {' '.join(f'{b:02X}' for b in data):<47}  {text}")
            done += n
            off = off + n if seg is None else (off + n) & 0xFFFF
        self._dump_at = (seg, off)

    def cmd_e(self, args):
        if len(args) < 2:
            raise MonitorError("usage: e ADDR BYTE.. ['text']")
        seg, off = self.parse_address(args[0])
        rest = " ".join(args[1:])
        data = bytearray()
        while rest:
            rest = rest.lstrip()
            if rest[:1] in ("'", '"'):
                end = rest.find(rest[0], 1)
                if end < 0:
                    raise MonitorError("unterminated string")
                data += rest[1:end].encode("latin-1")
                rest = rest[end + 1:]
            else:
                word, _, rest = rest.partition(" ")
                value = parse_number(word)
                if value > 0xFF:
                    raise MonitorError(f"{word} is not a byte")
                data.append(value)
        addr = off if seg is None else linear(seg, off)
        self.machine.mem.write(addr, bytes(data))

    # -- ports --------------------------------------------------------------------------
    def cmd_i(self, args):
        if len(args) != 1:
            raise MonitorError("usage: i PORT")
        port = parse_number(args[0]) & 0xFFFF
        self.say(f"{self.machine.io.inb(port):02X}")

    def cmd_o(self, args):
        if len(args) != 2:
            raise MonitorError("usage: o PORT VALUE")
        self.machine.io.outb(parse_number(args[0]) & 0xFFFF, parse_number(args[1]) & 0xFF)

    # -- breakpoints --------------------------------------------------------------------
    def _add(self, **bp):
        bp["id"] = self._next_id
        self._next_id += 1
        self.breakpoints.append(bp)
        self.say(f"breakpoint {bp['id']}: {self._describe(bp)}")

    def _describe(self, bp):
        kind = bp["kind"]
        if kind == "exec":
            if bp["cs"] is None:
                return f"execute at linear {bp['linear']:05X}"
            return f"execute at {bp['cs']:04X}:{bp['ip']:04X}"
        if kind == "port":
            return f"{bp['dir']} port {bp['port']:04X}"
        if kind == "int":
            return f"interrupt {bp['vector']:02X}"
        return f"write {bp['start']:05X}..{bp['end']:05X}"

    def _core_addresses(self):
        """The linear addresses the core must stop at, folded as the CPU folds them."""
        mask = self.machine.mem.addr_mask
        return {bp["linear"] & mask for bp in self.breakpoints if bp["kind"] == "exec"} | \
               {self._vector_target(bp["vector"]) & mask for bp in self.breakpoints if bp["kind"] == "int"}

    def _check_core_room(self, extra):
        if len(self._core_addresses() | {extra}) > MAX_CORE_BREAKPOINTS:
            raise MonitorError(f"at most {MAX_CORE_BREAKPOINTS} execution and interrupt breakpoints")

    def cmd_b(self, args):
        if len(args) != 1:
            raise MonitorError("usage: b SEG:OFF | b LINEAR")
        seg, off = self.parse_address(args[0])
        lin = off if seg is None else linear(seg, off)
        self._check_core_room(lin)
        self._add(kind="exec", cs=seg, ip=None if seg is None else off, linear=lin)

    def cmd_bp(self, args):
        if len(args) != 2 or args[0].lower() not in ("in", "out"):
            raise MonitorError("usage: bp in|out PORT")
        self._add(kind="port", dir=args[0].lower(), port=parse_number(args[1]) & 0xFFFF)

    def cmd_bi(self, args):
        if len(args) != 1:
            raise MonitorError("usage: bi N")
        vector = parse_number(args[0])
        if vector > 0xFF:
            raise MonitorError("interrupt numbers go up to FF")
        self._check_core_room(self._vector_target(vector))
        self._add(kind="int", vector=vector)

    def cmd_bw(self, args):
        if len(args) != 2:
            raise MonitorError("usage: bw START END")
        start, end = parse_number(args[0]), parse_number(args[1])
        self._add(kind="write", start=min(start, end), end=max(start, end))

    def cmd_bl(self, args):
        if not self.breakpoints:
            self.say("no breakpoints")
        for bp in self.breakpoints:
            self.say(f"{bp['id']:3d}  {self._describe(bp)}")

    def cmd_bc(self, args):
        if len(args) != 1:
            raise MonitorError("usage: bc N | bc *")
        if args[0] == "*":
            self.breakpoints.clear()
            return
        try:
            n = int(args[0], 10)
        except ValueError:
            raise MonitorError(f"{args[0]!r} is not a breakpoint number") from None
        kept = [bp for bp in self.breakpoints if bp["id"] != n]
        if len(kept) == len(self.breakpoints):
            raise MonitorError(f"no breakpoint {n}")
        self.breakpoints = kept

    def _vector_target(self, vector):
        """The linear address of the handler that the IVT entry ``vector`` points to."""
        return linear(self.read_word(vector * 4 + 2), self.read_word(vector * 4))

    def _interrupt_hit(self, bp):
        """At the handler of ``bp``'s vector: was it entered for that vector?  A
        software INT n is recognised from the return address; any other entry
        (IRQ, exception) is taken as a hit."""
        mask = self.machine.mem.addr_mask
        if linear(*self.here()) & mask != self._vector_target(bp["vector"]) & mask:
            return False
        ss, sp = self.reg("ss"), self.reg("sp")
        ret = linear(self.read_word(linear(ss, sp + 2)), self.read_word(linear(ss, sp)))
        mem = self.machine.mem
        if mem.read8(ret - 2) == 0xCD:
            return mem.read8(ret - 1) == bp["vector"]
        if mem.read8(ret - 1) == 0xCC:
            return bp["vector"] == 3
        return True

    # -- running ------------------------------------------------------------------------
    def cmd_s(self, args):
        count = parse_number(args[0]) if args else 1
        cpu = self.machine.cpu
        for _ in range(count):
            before = cpu.instructions
            reason = step(self.machine)
            if reason == EXIT_HLT and cpu.instructions == before and cpu.halted:
                self.say(f"halted; clock at {self.machine.clock.now}")
            if self.machine.board.exit_code is not None:
                self.say(f"guest exit, code {self.machine.board.exit_code}")
                break
        self.show_registers()

    def cmd_n(self, args):
        cs, ip = self.here()
        _cs, _ip, code, _text = self.disasm.one(self.machine.mem, cs, ip)
        i = 0
        while i < len(code) - 1 and code[i] in PREFIXES:
            i += 1
        op = code[i]
        rep = any(b in (0xF2, 0xF3) for b in code[:i])
        over = (op in (0xE8, 0x9A, 0xCC, 0xCD, 0xCE, 0xE0, 0xE1, 0xE2)
                or (rep and op in STRING_OPS)
                or (op == 0xFF and i + 1 < len(code) and (code[i + 1] >> 3) & 7 in (2, 3)))
        if not over:
            self.cmd_s([])
            return
        nxt = (ip + len(code)) & 0xFFFF
        self._go(temp=(cs, nxt))

    def cmd_c(self, args):
        self._go()

    def _go(self, temp=None):
        """Run until a breakpoint (or ``temp``, a one-shot CS:IP) and say why it stopped."""
        machine, cpu = self.machine, self.machine.cpu
        ports = {}
        for bp in self.breakpoints:
            if bp["kind"] == "port":
                ports.setdefault(bp["port"], set()).add(bp["dir"])
        ranges = [(bp["start"], bp["end"]) for bp in self.breakpoints if bp["kind"] == "write"]
        temp_linear = None if temp is None else linear(*temp)
        message = None
        reason = EXIT_BREAK          # where we stand is a resumption, never a hit
        try:
            with PortWatch(machine, ports) as pw, WriteWatch(machine, ranges) as ww:
                while message is None:
                    # interrupt handlers move when the guest rewrites the IVT
                    cpu.clear_breakpoints()
                    addresses = self._core_addresses()
                    if temp_linear is not None:
                        addresses.add(temp_linear & machine.mem.addr_mask)
                    for addr in sorted(addresses)[:MAX_CORE_BREAKPOINTS]:
                        cpu.add_breakpoint(addr)
                    reason = run_slice(machine, SLICE, addresses, resume=reason == EXIT_BREAK)
                    message = self._why_stopped(reason, pw, ww, temp)
        except KeyboardInterrupt:
            message = "interrupted"
        finally:
            cpu.clear_breakpoints()
        self.say(message)
        self.show_registers()

    def _why_stopped(self, reason, pw, ww, temp):
        machine = self.machine
        hits = []
        for direction, port, value in pw.hits:
            hits.append(f"port breakpoint: {direction} {port:04X} = {value:X}")
        for addr, value in ww.hits:
            hits.append(f"write breakpoint: [{addr:05X}] = {value:02X}")
        pw.hits.clear()
        ww.hits.clear()
        if reason == EXIT_BREAK:
            cs, ip = self.here()
            mask = machine.mem.addr_mask
            here = linear(cs, ip) & mask
            for bp in self.breakpoints:
                if bp["kind"] == "exec" and (bp["linear"] & mask == here if bp["cs"] is None
                                             else (bp["cs"], bp["ip"]) == (cs, ip)):
                    hits.append(f"breakpoint {bp['id']} at {cs:04X}:{ip:04X}")
                elif bp["kind"] == "int" and self._interrupt_hit(bp):
                    hits.append(f"breakpoint {bp['id']}: interrupt {bp['vector']:02X} entered")
        if machine.board.exit_code is not None:
            hits.append(f"guest exit, code {machine.board.exit_code}")
        elif reason == EXIT_HLT:
            hits.append("the CPU is halted and no timer can wake it")
        if hits:
            return "\n".join(hits)
        if reason == EXIT_BREAK and temp == self.here():
            return f"at {temp[0]:04X}:{temp[1]:04X}"      # `n` got past the instruction
        return None

    # -- devices ------------------------------------------------------------------------
    def cmd_dev(self, args):
        machine = self.machine
        pic = getattr(machine, "pic", None)
        if pic is not None:
            for name, chip in (("master", pic.master), ("slave", pic.slave)):
                self.say(f"PIC {name:<6}  IRR={chip.irr:02X} ISR={chip.isr:02X} IMR={chip.imr:02X}"
                         f"  vectors {chip.icw2 & 0xF8:02X}-{(chip.icw2 & 0xF8) + 7:02X}")
        pit = getattr(machine, "pit", None)
        if pit is not None:
            t = pit.clock.ticks(PIT_HZ)
            for c in pit.counters:
                c.sync(t)      # what any port read does first: due loads take effect
                self.say(f"PIT {c.index}  mode {c.mode}  count {c.value(t):04X}  reload {c.cr:04X}"
                         f"  out {c.out(t)}  gate {c.gate}{'  BCD' if c.bcd else ''}")
        clock = machine.clock
        deadline = "none" if clock.deadline >= NEVER else str(clock.deadline)
        self.say(f"clock  {clock.now} cycles = {clock.seconds():.6f} s at {clock.rate} Hz;"
                 f" next event {deadline}; {machine.cpu.instructions} instructions")

    def cmd_help(self, args):
        self.say(HELP)
