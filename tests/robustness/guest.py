"""Guest programs for the robustness tests, assembled here so the tests need neither
a BIOS that boots nor an assembler on the host.

:class:`Asm` emits the handful of 8086 instructions the workloads use, with labels
for short jumps.  :func:`rom_image` places a program at F000:E000 of a 64 KiB system
ROM whose reset vector jumps there, so ``Machine(bios=path)`` starts it directly.
Every generator takes a seed and is deterministic, so a failure names its seed.
"""
import ctypes
import os
import random
import resource
import struct
from pathlib import Path

ROM_SIZE = 0x10000
CODE_OFFSET = 0xE000          # the program runs at F000:E000
IRET_OFFSET = 0xFF00          # F000:FF00 holds an IRET for every interrupt vector
STACK_SEG = 0x9000            # SS:SP = 9000:FFFE, the top of conventional memory
COUNT_ADDR = 0x500            # workload counters (DS = 0): completed writes, errors
ERROR_ADDR = 0x502
BUFFER_ADDR = 0x1000          # one sector being written

R16 = {"ax": 0, "cx": 1, "dx": 2, "bx": 3, "sp": 4, "bp": 5, "si": 6, "di": 7}
SREG = {"es": 0, "cs": 1, "ss": 2, "ds": 3}


class Asm:
    """A tiny real-mode assembler: one method per instruction form."""

    def __init__(self, origin=CODE_OFFSET):
        self.origin = origin
        self.code = bytearray()
        self.labels = {}
        self.fixups = []          # (position of rel8, label)

    @property
    def here(self):
        return self.origin + len(self.code)

    def emit(self, *parts):
        for part in parts:
            self.code += bytes([part]) if isinstance(part, int) else part
        return self

    def label(self, name):
        self.labels[name] = self.here
        return self

    def jcc(self, opcode, name):
        """A short jump (EB) or conditional jump (70-7F), or LOOP (E2), to a label."""
        self.emit(opcode, 0)
        self.fixups.append((len(self.code) - 1, name))
        return self

    def mov_r16(self, reg, value):
        return self.emit(0xB8 + R16[reg], struct.pack("<H", value & 0xFFFF))

    def mov_al(self, value):
        return self.emit(0xB0, value & 0xFF)

    def mov_sreg_ax(self, sreg):
        return self.emit(0x8E, 0xC0 | (SREG[sreg] << 3))

    def out_dx(self, value, port):
        """mov dx, port; mov al, value; out dx, al"""
        return self.mov_r16("dx", port).mov_al(value).emit(0xEE)

    def setup(self):
        """cli, cld, a stack at 9000:FFFE, DS = ES = 0."""
        self.emit(0xFA, 0xFC)
        self.mov_r16("ax", STACK_SEG).mov_sreg_ax("ss").mov_r16("sp", 0xFFFE)
        return self.mov_r16("ax", 0).mov_sreg_ax("ds").mov_sreg_ax("es")

    def interrupts_on(self):
        """Point all 256 vectors at the IRET in the ROM, then STI."""
        self.mov_r16("di", 0).mov_r16("cx", 256).label("_ivt")
        self.mov_r16("ax", IRET_OFFSET).emit(0xAB).mov_r16("ax", 0xF000).emit(0xAB)
        return self.jcc(0xE2, "_ivt").emit(0xFB)

    def assemble(self):
        for pos, name in self.fixups:
            rel = self.labels[name] - (self.origin + pos + 1)
            if not -128 <= rel <= 127:
                raise ValueError(f"jump to {name} is {rel} bytes away")
            self.code[pos] = rel & 0xFF
        return bytes(self.code)


def rom_image(program):
    """A 64 KiB system ROM: ``program`` at offset E000h, reset vector jumping to it."""
    rom = bytearray(b"\xF4" * ROM_SIZE)           # HLT everywhere else
    rom[CODE_OFFSET:CODE_OFFSET + len(program)] = program
    rom[IRET_OFFSET] = 0xCF
    rom[0xFFF0:0xFFF5] = b"\xEA" + struct.pack("<HH", CODE_OFFSET, 0xF000)
    return bytes(rom)


def option_rom():
    """The smallest valid option ROM (55AAh, 2 KiB, init is RETF, checksum 0): stands
    in for the VGA BIOS where only the CPU, not INT 10h, matters."""
    rom = bytearray(2048)
    rom[0:4] = b"\x55\xAA\x04\xCB"
    rom[-1] = -sum(rom) & 0xFF
    return bytes(rom)


def write_roms(directory, program):
    """Write ``bios.bin`` (``program`` at the reset vector) and ``vga.bin`` into
    ``directory``; returns their paths."""
    directory = Path(directory)
    bios, vga = directory / "bios.bin", directory / "vga.bin"
    bios.write_bytes(rom_image(program))
    vga.write_bytes(option_rom())
    return str(bios), str(vga)


# -- hostile programs -----------------------------------------------------------------------
# No port is left out: F4h (debug exit) is only attached when the configuration asks,
# and the fuzz runs without it.
def port_fuzz_program(seed, ops=200):
    """A loop of random OUT/IN on random ports (biased to the chipset's ranges); every
    third seed (1, 4, 7 ...: each CPU model in turn) runs it with interrupts enabled, so whatever the PIC is programmed to deliver
    is acknowledged and returns through an IRET."""
    rng = random.Random(seed)
    hot = [0x00, 0x20, 0x40, 0x60, 0x70, 0x80, 0x92, 0xA0, 0xC0, 0xF0, 0x170, 0x1F0,
           0x2F8, 0x376, 0x3B0, 0x3C0, 0x3D0, 0x3F0, 0x3F8]
    a = Asm().setup()
    if seed % 3 == 1:
        a.interrupts_on()
    a.label("top")
    for _ in range(ops):
        port = rng.choice(hot) + rng.randrange(16) if rng.random() < 0.8 else rng.randrange(0x10000)
        a.mov_r16("dx", port)
        kind = rng.randrange(4)
        if kind == 0:
            a.mov_al(rng.randrange(256)).emit(0xEE)            # out dx, al
        elif kind == 1:
            a.mov_r16("ax", rng.randrange(0x10000)).emit(0xEF)  # out dx, ax
        elif kind == 2:
            a.emit(0xEC)                                        # in al, dx
        else:
            a.emit(0xED)                                        # in ax, dx
    # the body is longer than a short jump: jump near back to the top
    a.emit(0xE9, struct.pack("<h", a.labels["top"] - (a.here + 3)))
    return a.assemble()


def memory_fuzz_program(seed, ops=200, address_space=1 << 20):
    """Random byte and word stores anywhere in the address space: RAM, the VGA window,
    option and system ROM, unmapped holes; plus the word at offset FFFFh."""
    rng = random.Random(seed)
    a = Asm().setup().label("top")
    for _ in range(ops):
        linear = rng.randrange(address_space)
        # mostly segment:small offset for an even spread; sometimes a large offset,
        # which wraps past 1 MiB when A20 is off and reaches FFFFh word splits
        seg = linear >> 4
        off = linear & 0xF if rng.random() < 0.7 else rng.choice([0xFFFF, rng.randrange(0x10000)])
        a.mov_r16("ax", seg).mov_sreg_ax("es")
        if rng.random() < 0.5:
            a.emit(0x26, 0xC6, 0x06, struct.pack("<H", off), rng.randrange(256))          # mov byte [es:off], imm8
        else:
            a.emit(0x26, 0xC7, 0x06, struct.pack("<H", off), struct.pack("<H", rng.randrange(0x10000)))
        if rng.random() < 0.2:
            a.emit(0x26, 0x8B, 0x1E, struct.pack("<H", off))                            # mov bx, [es:off]
    a.emit(0xE9, struct.pack("<h", a.labels["top"] - (a.here + 3)))
    return a.assemble()


# -- the ATA write workload -------------------------------------------------------------------
def ata_write_program(sectors, total_writes, exit_when_done=True):
    """Write ``total_writes`` sectors through the primary ATA master by PIO, one
    command each: write number ``n`` (from 0) goes to LBA ``n % sectors`` with
    generation ``n // sectors + 1``, so every sector says which write made it (see
    :func:`sector_pattern`).  After each completed write (status DRDY, not BSY, DRQ
    or ERR) the word at 0:500h counts it; a failed command counts at 0:502h and in
    0:500h too, so the sequence goes on.  When done it writes 0 to port F4h (debug exit), or halts.
    ``sectors`` must be a power of two."""
    assert sectors & (sectors - 1) == 0 and sectors <= 0x10000
    shift = sectors.bit_length() - 1
    a = Asm().setup()
    a.emit(0xC7, 0x06, struct.pack("<H", COUNT_ADDR), struct.pack("<H", 0))   # mov word [500h], 0
    a.emit(0xC7, 0x06, struct.pack("<H", ERROR_ADDR), struct.pack("<H", 0))
    a.label("next")
    a.emit(0xA1, struct.pack("<H", COUNT_ADDR))                               # mov ax, [500h]
    a.emit(0x3D, struct.pack("<H", total_writes & 0xFFFF))                    # cmp ax, total
    a.jcc(0x75, "go")                                                         # jne go
    if exit_when_done:
        a.out_dx(0, 0xF4)
    a.label("done").emit(0xF4).jcc(0xEB, "done")                              # hlt; jmp done
    a.label("go")
    a.emit(0x89, 0xC3)                                                        # mov bx, ax
    a.emit(0x81, 0xE3, struct.pack("<H", sectors - 1))                        # and bx, sectors-1  (lba)
    a.emit(0x89, 0xC5)                                                        # mov bp, ax
    a.emit(0xB1, shift, 0xD3, 0xED)                                           # mov cl, shift; shr bp, cl
    a.emit(0x45)                                                              # inc bp  (generation)
    # fill the buffer with (lba, gen, ~lba, ~gen) words
    a.mov_r16("di", BUFFER_ADDR).mov_r16("cx", 64)
    a.label("fill")
    a.emit(0x89, 0xD8, 0xAB)                                                  # mov ax, bx; stosw
    a.emit(0x89, 0xE8, 0xAB)                                                  # mov ax, bp; stosw
    a.emit(0x89, 0xD8, 0xF7, 0xD0, 0xAB)                                      # mov ax, bx; not ax; stosw
    a.emit(0x89, 0xE8, 0xF7, 0xD0, 0xAB)                                      # mov ax, bp; not ax; stosw
    a.jcc(0xE2, "fill")                                                       # loop fill
    # wait until not busy, then the task file: LBA mode, master, one sector
    a.mov_r16("dx", 0x1F7).label("idle").emit(0xEC, 0xA8, 0x80).jcc(0x75, "idle")
    a.out_dx(0xE0, 0x1F6).out_dx(1, 0x1F2)
    a.mov_r16("dx", 0x1F3).emit(0x88, 0xD8, 0xEE)                             # mov al, bl; out
    a.mov_r16("dx", 0x1F4).emit(0x88, 0xF8, 0xEE)                             # mov al, bh; out
    a.out_dx(0, 0x1F5).out_dx(0x30, 0x1F7)                                    # WRITE SECTORS
    a.label("drq").emit(0xEC, 0xA8, 0x80).jcc(0x75, "drq")                    # in al, dx; test BSY
    a.emit(0xA8, 0x08).jcc(0x74, "fail")                                      # no DRQ: failed
    a.mov_r16("si", BUFFER_ADDR).mov_r16("cx", 256).mov_r16("dx", 0x1F0)
    a.label("data").emit(0xAD, 0xEF).jcc(0xE2, "data")                        # lodsw; out dx, ax; loop
    a.mov_r16("dx", 0x1F7)
    a.label("fin").emit(0xEC, 0xA8, 0x80).jcc(0x75, "fin")
    a.emit(0xA8, 0x29).jcc(0x75, "fail")                                      # DF, DRQ or ERR: failed
    a.emit(0xFF, 0x06, struct.pack("<H", COUNT_ADDR))                         # inc word [500h]
    a.jcc(0xEB, "back")
    a.label("fail")
    a.emit(0xFF, 0x06, struct.pack("<H", ERROR_ADDR))                         # inc word [502h]
    a.emit(0xFF, 0x06, struct.pack("<H", COUNT_ADDR))                         # and go on
    a.label("back")
    a.emit(0xE9, struct.pack("<h", a.labels["next"] - (a.here + 3)))          # jmp next
    return a.assemble()


def sector_pattern(lba, gen):
    """The 512 bytes the workload writes as generation ``gen`` of sector ``lba``
    (generation 0 is the image's initial content)."""
    group = struct.pack("<4H", lba & 0xFFFF, gen & 0xFFFF, ~lba & 0xFFFF, ~gen & 0xFFFF)
    return group * 64


def sector_generation(data, lba):
    """Which generation of ``lba`` the 512 bytes ``data`` hold, or None when they are
    not a whole write of that sector (torn, foreign or garbage)."""
    gen = struct.unpack_from("<H", data, 2)[0]
    return gen if data == sector_pattern(lba, gen) else None


def workload_image(path, sectors):
    """A hard-disk image of ``sectors`` sectors, each holding generation 0."""
    with open(path, "wb") as f:
        for lba in range(sectors):
            f.write(sector_pattern(lba, 0))
    return str(path)


def expected_generation(lba, writes, sectors):
    """The generation sector ``lba`` holds after the first ``writes`` writes."""
    if lba >= sectors or writes <= lba:
        return 0
    return (writes - 1 - lba) // sectors + 1


# -- host measurements --------------------------------------------------------------------------
def rss_bytes():
    """The resident set size of this process now, after glibc has handed its free heap
    pages back (malloc_trim): whether a freed 16 MiB guest RAM stays cached in the heap
    depends on the allocation history of the whole test session, not on a leak."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass                     # not glibc: the figure includes the allocator's cache
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def file_digest(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def file_stamp(path):
    """(sha256, size, mtime_ns, mode) of a file: what must not change."""
    st = os.stat(path)
    return (file_digest(path), st.st_size, st.st_mtime_ns, st.st_mode)
