"""16-bit x86 disassembly of guest memory, with capstone doing the decoding.

Bytes are fetched as the CPU fetches them: the offset wraps inside the 64 KiB code
segment and the physical address ``(cs << 4) + ip`` goes through PhysMem (so the
1 MiB wrap and the A20 gate apply).  Reading an MMIO page calls the device's read
handler, as a CPU fetch would.
"""
import capstone

MAX_INSN = 15        # no x86 instruction is longer (prefixes included)


def _memory(machine_or_mem):
    return getattr(machine_or_mem, "mem", machine_or_mem)


def fetch(mem, cs, ip, n):
    """``n`` code bytes at ``cs:ip``, the offset wrapping at 64 KiB."""
    base = (cs & 0xFFFF) << 4
    ip &= 0xFFFF
    if ip + n <= 0x10000:
        return mem.read(base + ip, n)
    return bytes(mem.read8(base + ((ip + i) & 0xFFFF)) for i in range(n))


class Disassembler:
    """A reusable capstone handle in 16-bit mode (creating one costs ~0.1 ms)."""

    def __init__(self):
        self._cs = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_16)

    def decode(self, code, ip):
        """``(length, text)`` of the first instruction in ``code`` at offset ``ip``;
        a byte capstone cannot decode comes back as ``db 0xNN``."""
        for _addr, size, mnemonic, op_str in self._cs.disasm_lite(code, ip & 0xFFFF, 1):
            return size, f"{mnemonic} {op_str}".rstrip()
        return 1, f"db 0x{code[0]:02x}"

    def one(self, mem, cs, ip):
        """``(cs, ip, bytes, text)`` of the instruction at ``cs:ip``."""
        code = fetch(mem, cs, ip, MAX_INSN)
        size, text = self.decode(code, ip)
        return cs & 0xFFFF, ip & 0xFFFF, code[:size], text

    def many(self, mem, cs, ip, count):
        out = []
        for _ in range(count):
            insn = self.one(mem, cs, ip)
            out.append(insn)
            ip = (ip + len(insn[2])) & 0xFFFF
        return out


def disassemble(machine_or_mem, cs, ip, count=1):
    """``count`` instructions from ``cs:ip`` as a list of ``(cs, ip, bytes, text)``.
    ``machine_or_mem`` is a Machine (its ``mem`` is used) or a PhysMem."""
    return Disassembler().many(_memory(machine_or_mem), cs, ip, count)


def format_insn(insn):
    """One line ``CS:IP  BYTES  TEXT`` for listings and traces."""
    cs, ip, code, text = insn
    return f"{cs:04X}:{ip:04X}  {code.hex().upper():<14} {text}"
