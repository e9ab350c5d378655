"""Differential test of the CPU core against unicorn (QEMU's x86 in 16-bit mode).

Random streams of documented 8086 instructions run from random register states in
both emulators, one instruction at a time, and every register, the flags (minus the
ones the instruction leaves undefined) and every byte either side wrote are compared
after each instruction.

The stream is generated as it runs: each instruction is chosen knowing the current
registers, so it can be kept clear of the places where unicorn's 386 differs from an
8086 by design rather than by bug:

* a word access at offset FFFFh (the 8086 wraps inside the segment, the 386 faults);
* shift and rotate counts of 32 or more (the 386 masks the count to 5 bits);
* PUSH SP, PUSHF/POPF and flag bits 12-15 (the 8086 reads them as ones);
* IDIV quotients of -128/-32768 (a divide error on the 8086), division overflow;
* DAA/DAS with AF set, CF clear and AL in 9Ah-9Fh, and DAS with AF set, CF clear
  and AL < 6: with AF set the 8086 adjusts the high digit only above 9Fh and its DAS
  does not carry the low digit's borrow into CF (the SingleStepTests 8086 vectors
  agree with the core there), while the 386 uses 99h and the borrow;
* no segment register loads, INT, HLT, I/O, TF, REP or backward jumps.

Jumps go forward only, and the code for the next instruction is written where the
CPU will fetch it, followed by a HLT so that unicorn's translation blocks end there.
Unicorn may translate the code after an instruction (a branch target, the byte after
an instruction that ends its block) before it stops, so after each instruction and
its comparison both CPUs are moved (same IP on both) to fresh code that nothing has
fetched yet; code is never rewritten before the translation cache is dropped.

``PYVMM_LONG=1`` runs at least 1,000,000 instructions; the default run is 20,000.
``PYVMM_DIFF_SEED`` picks another random stream.
"""
import ctypes
import os
import random

import numpy as np
import pytest

from tests.helpers import LONG

unicorn = pytest.importorskip("unicorn", reason="the unicorn package is not installed (pip install unicorn)")
from unicorn import x86_const as X   # noqa: E402

from pyvmm.bus import IOBus          # noqa: E402
from pyvmm.clock import Clock        # noqa: E402
from pyvmm.cpu import CPU            # noqa: E402
from pyvmm.mem import PhysMem        # noqa: E402

CF, PF, AF, ZF, SF, OF = 0x001, 0x004, 0x010, 0x040, 0x080, 0x800
ARITH = CF | PF | AF | ZF | SF | OF
COMPARED_FLAGS = 0x0FD5              # CF PF AF ZF SF TF IF DF OF
R16 = ("ax", "cx", "dx", "bx", "sp", "bp", "si", "di")
UC_REG = {"ax": X.UC_X86_REG_AX, "cx": X.UC_X86_REG_CX, "dx": X.UC_X86_REG_DX,
          "bx": X.UC_X86_REG_BX, "sp": X.UC_X86_REG_SP, "bp": X.UC_X86_REG_BP,
          "si": X.UC_X86_REG_SI, "di": X.UC_X86_REG_DI, "ip": X.UC_X86_REG_IP,
          "flags": X.UC_X86_REG_EFLAGS, "cs": X.UC_X86_REG_CS, "ds": X.UC_X86_REG_DS,
          "es": X.UC_X86_REG_ES, "ss": X.UC_X86_REG_SS}
CODE_SEG = 0x5000                    # code lives in 50000h-5FFFFh
DATA_LO, DATA_HI = 0x10000, 0x40000  # DS/ES/SS are chosen in 1000h-3000h
BLOCK = 2000                         # instructions between fresh register states
SEGS = {0x26: "es", 0x36: "ss", 0x3E: "ds"}


def s8(v):
    return v - 0x100 if v & 0x80 else v


def s16(v):
    return v - 0x10000 if v & 0x8000 else v


class Gen:
    """Chooses the next instruction for the register state ``st`` (a dict)."""

    def __init__(self, rng, read_mem):
        self.rng = rng
        self.read_mem = read_mem     # linear, n -> bytes (unicorn's memory)
        self.forms = [(w, f) for f, w in (
            (self.alu, 14), (self.alu_imm_acc, 3), (self.grp1, 8), (self.mov, 6),
            (self.mov_imm, 4), (self.mov_moffs, 2), (self.mov_sreg, 1), (self.incdec, 4),
            (self.pushpop, 4), (self.xchg, 3), (self.shift, 10), (self.set_cl, 2),
            (self.test, 3), (self.grp3, 6), (self.divide, 4), (self.cbw, 1), (self.lea, 2),
            (self.string, 5), (self.flagop, 3), (self.lahf_sahf, 2), (self.jump, 6),
            (self.xlat, 1), (self.bcd, 2), (self.nop, 1))]
        self.total = sum(w for w, _ in self.forms)

    def next(self, st):
        """``(code, undefined_flags)`` for an instruction valid in state ``st``."""
        while True:
            pick = self.rng.randrange(self.total)
            for w, form in self.forms:
                if pick < w:
                    break
                pick -= w
            out = form(st)
            if out is not None:
                return out

    # -- operands -------------------------------------------------------------------------
    def reg(self, w, dest):
        """A register number; a 16-bit destination is never SP (keeps SP even)."""
        choices = [0, 1, 2, 3, 5, 6, 7] if (w and dest) else range(8)
        return self.rng.choice(choices)

    def modrm(self, st, reg, w, dest, mem_only=False, reg_only=False):
        """``(prefix, modrm+disp, linear or None)``; None if the operand would be a
        word at offset FFFFh."""
        rng = self.rng
        if reg_only or (not mem_only and rng.random() < 0.45):
            rm = self.reg(w, dest)
            return b"", bytes([0xC0 | reg << 3 | rm]), None
        mod, rm = rng.randrange(3), rng.randrange(8)
        if mod == 0 and rm == 6:
            disp = rng.randrange(0x10000)
            tail = disp.to_bytes(2, "little")
        elif mod == 1:
            disp = rng.randrange(256)
            tail = bytes([disp])
            disp = s8(disp)
        elif mod == 2:
            disp = rng.randrange(0x10000)
            tail = disp.to_bytes(2, "little")
        else:
            disp, tail = 0, b""
        base = {0: st["bx"] + st["si"], 1: st["bx"] + st["di"], 2: st["bp"] + st["si"],
                3: st["bp"] + st["di"], 4: st["si"], 5: st["di"],
                6: 0 if mod == 0 else st["bp"], 7: st["bx"]}[rm]
        ea = (base + disp) & 0xFFFF
        seg = "ss" if rm in (2, 3) or (rm == 6 and mod != 0) else "ds"
        prefix = b""
        if rng.random() < 0.25:
            p = rng.choice(list(SEGS))
            prefix, seg = bytes([p]), SEGS[p]
        if w and ea == 0xFFFF:
            return None
        return prefix, bytes([mod << 6 | reg << 3 | rm]) + tail, (st[seg] << 4) + ea

    def operand_value(self, st, w, rm_byte, lin):
        if lin is not None:
            data = self.read_mem(lin, 2 if w else 1)
            return int.from_bytes(data, "little")
        rm = rm_byte & 7
        if w:
            return st[R16[rm]]
        return (st[R16[rm & 3]] >> (8 if rm & 4 else 0)) & 0xFF

    # -- instruction forms ----------------------------------------------------------------
    def alu(self, st):
        rng = self.rng
        base, d, w = rng.randrange(8) * 8, rng.randrange(2), rng.randrange(2)
        writes = base != 0x38
        r = self.reg(w, writes and d == 1)
        m = self.modrm(st, r, w, writes and d == 0)
        if m is None:
            return None
        undef = AF if base in (0x08, 0x20, 0x30) else 0
        return m[0] + bytes([base | d << 1 | w]) + m[1], undef

    def alu_imm_acc(self, st):
        base, w = self.rng.randrange(8) * 8, self.rng.randrange(2)
        imm = self.rng.randrange(0x10000 if w else 0x100).to_bytes(2 if w else 1, "little")
        return bytes([base | 4 | w]) + imm, AF if base in (0x08, 0x20, 0x30) else 0

    def grp1(self, st):
        rng = self.rng
        op = rng.choice((0x80, 0x81, 0x83))
        n = rng.randrange(8)
        w = op != 0x80
        m = self.modrm(st, n, w, n != 7)
        if m is None:
            return None
        imm = rng.randrange(0x10000).to_bytes(2, "little") if op == 0x81 else bytes([rng.randrange(256)])
        return m[0] + bytes([op]) + m[1] + imm, AF if n in (1, 4, 6) else 0

    def mov(self, st):
        d, w = self.rng.randrange(2), self.rng.randrange(2)
        m = self.modrm(st, self.reg(w, d == 1), w, d == 0)
        if m is None:
            return None
        return m[0] + bytes([0x88 | d << 1 | w]) + m[1], 0

    def mov_imm(self, st):
        rng = self.rng
        w = rng.randrange(2)
        if rng.random() < 0.5:
            r = self.reg(w, True)
            imm = rng.randrange(0x10000).to_bytes(2, "little") if w else bytes([rng.randrange(256)])
            return bytes([0xB0 | w << 3 | r]) + imm, 0
        m = self.modrm(st, 0, w, True)
        if m is None:
            return None
        imm = rng.randrange(0x10000).to_bytes(2, "little") if w else bytes([rng.randrange(256)])
        return m[0] + bytes([0xC6 | w]) + m[1] + imm, 0

    def mov_moffs(self, st):
        rng = self.rng
        op = rng.choice((0xA0, 0xA1, 0xA2, 0xA3))
        off = rng.randrange(0x10000)
        if op & 1 and off == 0xFFFF:
            return None
        prefix = bytes([rng.choice(list(SEGS))]) if rng.random() < 0.25 else b""
        return prefix + bytes([op]) + off.to_bytes(2, "little"), 0

    def mov_sreg(self, st):
        m = self.modrm(st, self.rng.randrange(4), 1, True)
        if m is None:
            return None
        return m[0] + b"\x8C" + m[1], 0

    def incdec(self, st):
        rng = self.rng
        if rng.random() < 0.5:
            return bytes([rng.choice([0x40 + i for i in range(16) if i not in (4, 12)])]), 0
        w = rng.randrange(2)
        m = self.modrm(st, rng.randrange(2), w, True)
        if m is None:
            return None
        return m[0] + bytes([0xFE | w]) + m[1], 0

    def pushpop(self, st):
        rng = self.rng
        kind = rng.randrange(5)
        if kind == 0:
            return bytes([rng.choice([0x50 + i for i in range(8) if i != 4])]), 0
        if kind == 1:
            return bytes([rng.choice([0x58 + i for i in range(8) if i != 4])]), 0
        if kind == 2:
            return bytes([rng.choice((0x06, 0x0E, 0x16, 0x1E))]), 0
        m = self.modrm(st, 6 if kind == 3 else 0, 1, True)    # never PUSH SP / POP SP
        if m is None:
            return None
        return m[0] + (b"\xFF" if kind == 3 else b"\x8F") + m[1], 0

    def xchg(self, st):
        rng = self.rng
        if rng.random() < 0.4:
            return bytes([rng.choice([0x90 + i for i in range(1, 8) if i != 4])]), 0
        w = rng.randrange(2)
        m = self.modrm(st, self.reg(w, True), w, True)
        if m is None:
            return None
        return m[0] + bytes([0x86 | w]) + m[1], 0

    def shift(self, st):
        rng = self.rng
        op = rng.choice((0xD0, 0xD1, 0xD2, 0xD3))
        n = rng.choice((0, 1, 2, 3, 4, 5, 7))          # /6 is undocumented
        w = op & 1
        count = 1 if op < 0xD2 else st["cx"] & 0xFF
        if count >= 32:
            return None
        m = self.modrm(st, n, w, True)
        if m is None:
            return None
        width = 16 if w else 8
        if count == 0:
            undef = 0
        elif n < 4:                                    # rotates touch CF and OF only
            undef = OF if count != 1 else 0
        else:
            undef = AF | (OF if count != 1 else 0) | (CF if count >= width and n != 7 else 0)
        return m[0] + bytes([op]) + m[1], undef

    def set_cl(self, st):
        return bytes([0xB1, self.rng.randrange(20)]), 0

    def test(self, st):
        rng = self.rng
        w = rng.randrange(2)
        kind = rng.randrange(3)
        if kind == 0:
            m = self.modrm(st, self.reg(w, False), w, False)
            return None if m is None else (m[0] + bytes([0x84 | w]) + m[1], AF)
        imm = rng.randrange(0x10000).to_bytes(2, "little") if w else bytes([rng.randrange(256)])
        if kind == 1:
            return bytes([0xA8 | w]) + imm, AF
        m = self.modrm(st, 0, w, False)
        return None if m is None else (m[0] + bytes([0xF6 | w]) + m[1] + imm, AF)

    def grp3(self, st):
        """NOT, NEG, MUL, IMUL."""
        n = self.rng.choice((2, 3, 4, 5))
        w = self.rng.randrange(2)
        m = self.modrm(st, n, w, n in (2, 3))
        if m is None:
            return None
        return m[0] + bytes([0xF6 | w]) + m[1], (SF | ZF | AF | PF) if n >= 4 else 0

    def divide(self, st):
        n = self.rng.choice((6, 7))
        w = self.rng.randrange(2)
        m = self.modrm(st, n, w, False)
        if m is None:
            return None
        d = self.operand_value(st, w, m[1][0], m[2])
        if w:
            num, d_s, lim = (st["dx"] << 16) | st["ax"], s16(d), 0x7FFF
            num_s = num - (1 << 32) if num >> 31 else num
        else:
            num, d_s, lim = st["ax"], s8(d), 0x7F
            num_s = s16(num)
        if d == 0:
            return None
        if n == 6 and num // d > (0xFFFF if w else 0xFF):
            return None
        if n == 7:
            q = abs(num_s) // abs(d_s)
            if q > lim:                                 # also keeps clear of -80h/-8000h
                return None
        return m[0] + bytes([0xF6 | w]) + m[1], ARITH

    def cbw(self, st):
        return bytes([self.rng.choice((0x98, 0x99))]), 0

    def lea(self, st):
        m = self.modrm(st, self.reg(1, True), 0, False, mem_only=True)   # no access: any EA
        return m[0] + b"\x8D" + m[1], 0

    def string(self, st):
        rng = self.rng
        op = rng.choice((0xA4, 0xA5, 0xA6, 0xA7, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF))
        w = op & 1
        uses_si = op in (0xA4, 0xA5, 0xA6, 0xA7, 0xAC, 0xAD)
        uses_di = op not in (0xAC, 0xAD)
        if w and ((uses_si and st["si"] == 0xFFFF) or (uses_di and st["di"] == 0xFFFF)):
            return None
        prefix = bytes([rng.choice(list(SEGS))]) if uses_si and rng.random() < 0.25 else b""
        return prefix + bytes([op]), 0

    def flagop(self, st):
        return bytes([self.rng.choice((0xF5, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD))]), 0

    def lahf_sahf(self, st):
        return bytes([self.rng.choice((0x9E, 0x9F))]), 0

    def jump(self, st):
        """Forward only: Jcc, JMP short/near, LOOP/LOOPZ/LOOPNZ/JCXZ, CALL near."""
        rng = self.rng
        d = rng.randrange(8)
        kind = rng.randrange(5)
        if kind <= 1:
            return bytes([0x70 + rng.randrange(16), d]), 0
        if kind == 2:
            return bytes([rng.choice((0xE0, 0xE1, 0xE2, 0xE3)), d]), 0
        if kind == 3:
            return (bytes([0xEB, d]) if rng.random() < 0.5 else bytes([0xE9, d, 0])), 0
        return bytes([0xE8, d, 0]), 0

    def xlat(self, st):
        prefix = bytes([self.rng.choice(list(SEGS))]) if self.rng.random() < 0.25 else b""
        return prefix + b"\xD7", 0

    def bcd(self, st):
        op = self.rng.choice((0x27, 0x2F, 0xD4, 0xD5))
        if op in (0x27, 0x2F):
            al, fl = st["ax"] & 0xFF, st["flags"]
            if fl & AF and not fl & CF and (0x99 < al <= 0x9F or (op == 0x2F and al < 6)):
                return None
            return bytes([op]), OF
        return bytes([op, 0x0A]), OF | AF | CF

    def nop(self, st):
        return b"\x90", 0


class Pair:
    """The core and unicorn side by side over the same 1 MiB."""

    def __init__(self, rng):
        self.rng = rng
        self.mem = PhysMem(1 << 20)
        self.mem.map_ram(0, 1 << 20)
        self.cpu = CPU(self.mem, IOBus(), Clock(), model="8086")
        self.uc = unicorn.Uc(unicorn.UC_ARCH_X86, unicorn.UC_MODE_16)
        self.uc.mem_map(0, 1 << 20)
        self.writes = []
        self.uc.hook_add(unicorn.UC_HOOK_MEM_WRITE, self._on_write)
        noise = bytes(rng.randrange(256) for _ in range(4096)) * ((DATA_HI - DATA_LO) // 4096)
        self.mem.write(DATA_LO, noise)
        self.uc.mem_write(DATA_LO, noise)
        self._read_batch = self._batch_reader()
        self.code_end = 0        # past every byte written or fetched since the cache was dropped

    def _on_write(self, uc, access, address, size, value, user_data):
        self.writes.append((address, size))

    def _batch_reader(self):
        """Reading 14 registers one by one through the binding costs ~15 us each;
        one uc_reg_read_batch call through ctypes reads them all in ~10 us."""
        try:
            from unicorn.unicorn_py3.unicorn import uclib
            handle = self.uc._uch
        except (ImportError, AttributeError):
            return None
        n = len(UC_REG)
        ids = (ctypes.c_int * n)(*UC_REG.values())
        vals = (ctypes.c_uint64 * n)()
        ptrs = (ctypes.c_void_p * n)(*[ctypes.addressof(vals) + 8 * i for i in range(n)])
        names = list(UC_REG)

        def read():
            uclib.uc_reg_read_batch(handle, ids, ptrs, n)
            return {name: v & 0xFFFF for name, v in zip(names, vals)}
        return read

    def uc_state(self):
        if self._read_batch is not None:
            return self._read_batch()
        read = self.uc.reg_read
        return {name: read(reg) & 0xFFFF for name, reg in UC_REG.items()}

    def core_state(self):
        get = self.cpu.get_reg
        return {name: get(name) for name in UC_REG}

    def new_block(self):
        """Fresh random registers; code from CODE_SEG:0000 again."""
        rng = self.rng
        if self.code_end:
            self.uc.ctl_remove_cache(CODE_SEG << 4, (CODE_SEG << 4) + self.code_end + 16)
        st = {name: rng.randrange(0x10000) for name in R16}
        st["sp"] &= 0xFFFE
        st["flags"] = (rng.randrange(0x10000) & 0x0CD5) | 0x0002      # never TF
        st["ip"] = 0
        st["cs"] = CODE_SEG
        for seg in ("ds", "es", "ss"):
            st[seg] = rng.randrange(0x1000, 0x3001)
        self.set_both(st)
        self.code_end = 0

    def set_both(self, st):
        for name, reg in UC_REG.items():
            self.uc.reg_write(reg, st[name])
        self.cpu.load_test_state(st)

    def place(self, code):
        """Put ``code`` where both CPUs fetch next, with a HLT after it."""
        ip = self.cpu.get_reg("ip")
        data = code + b"\xF4"
        self.mem.write((CODE_SEG << 4) + ip, data)
        self.uc.mem_write((CODE_SEG << 4) + ip, data)
        self.code_end = max(self.code_end, ip + len(data) + 8)   # + a jump's reach

    def relocate(self):
        """Continue both CPUs at fresh code (see the module docstring)."""
        self.uc.reg_write(X.UC_X86_REG_IP, self.code_end)
        self.cpu.set_reg("ip", self.code_end)

    def step(self):
        self.writes.clear()
        ip = self.uc.reg_read(X.UC_X86_REG_IP)
        self.uc.emu_start((CODE_SEG << 4) + ip, 0xFFFFFFFF, count=1)
        self.cpu.step()

    def memory_diffs(self):
        out = []
        for addr, size in self.writes:
            theirs = bytes(self.uc.mem_read(addr, size))
            ours = self.mem.read(addr, size)
            if theirs != ours:
                out.append(f"[{addr:05X}] core {ours.hex()} unicorn {theirs.hex()}")
        return out

    def full_memory_diff(self):
        theirs = np.frombuffer(bytes(self.uc.mem_read(DATA_LO, DATA_HI - DATA_LO)), dtype=np.uint8)
        ours = self.mem.data[DATA_LO:DATA_HI]
        bad = np.nonzero(theirs != ours)[0]
        return [f"[{DATA_LO + int(i):05X}] core {int(ours[i]):02x} unicorn {int(theirs[i]):02x}"
                for i in bad[:8]]

    def resync(self):
        """After a divergence, carry on from unicorn's state."""
        self.cpu.load_test_state(self.uc_state())
        self.mem.data[DATA_LO:DATA_HI] = np.frombuffer(
            bytes(self.uc.mem_read(DATA_LO, DATA_HI - DATA_LO)), dtype=np.uint8)


def fmt_state(st):
    return " ".join(f"{n.upper()}={st[n]:04X}" for n in
                    ("ax", "bx", "cx", "dx", "si", "di", "bp", "sp", "ds", "es", "ss", "ip", "flags"))


def run_diff(count, seed):
    """Run ``count`` instructions; return (executed, [divergence reports])."""
    rng = random.Random(seed)
    pair = Pair(rng)
    gen = Gen(rng, lambda lin, n: bytes(pair.uc.mem_read(lin, n)))
    divergences = []
    done = 0
    while done < count:
        pair.new_block()
        st = pair.uc_state()
        for _ in range(min(BLOCK, count - done)):
            if st["ip"] > 0xF000:
                break
            code, undef = gen.next(st)
            pair.place(code)
            pair.step()
            done += 1
            theirs, ours = pair.uc_state(), pair.core_state()
            diffs = [f"{n.upper()} core {ours[n]:04X} unicorn {theirs[n]:04X}"
                     for n in UC_REG if n != "flags" and ours[n] != theirs[n]]
            mask = COMPARED_FLAGS & ~undef
            if (ours["flags"] ^ theirs["flags"]) & mask:
                diffs.append(f"FLAGS core {ours['flags']:04X} unicorn {theirs['flags']:04X} "
                             f"(compared bits {mask:04X})")
            diffs += pair.memory_diffs()
            # flags the instruction left undefined may differ: carry unicorn's forward
            pair.cpu.set_reg("flags", theirs["flags"])
            if diffs:
                divergences.append(f"{code.hex(' ').upper()}: before {fmt_state(st)}; " + "; ".join(diffs))
                pair.resync()
            pair.relocate()
            st = dict(theirs, ip=pair.code_end)
        extra = pair.full_memory_diff()
        if extra:
            divergences.append("memory written by one side only: " + "; ".join(extra))
            pair.resync()
    return done, divergences


def test_core_matches_unicorn_on_random_8086_streams():
    count = 1_000_000 if LONG else 20_000
    seed = int(os.environ.get("PYVMM_DIFF_SEED", "8086"))
    done, divergences = run_diff(count, seed)
    print(f"unicorn differential: {done} instructions, seed {seed}, {len(divergences)} divergences")
    assert done >= count
    assert not divergences, f"{len(divergences)} divergences in {done} instructions (seed {seed}):\n" + \
        "\n".join(divergences[:25])
