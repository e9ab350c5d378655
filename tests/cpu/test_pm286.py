"""The 80286's protected mode: the 0F system instructions, descriptor loads into the
segment caches, limit checks, exceptions through the IDT, double fault and shutdown,
and what the BIOS builds on them (the AT's way back to real mode through a CPU
reset, INT 15h AH=87h).  Small NASM programs run on a bare 80286 with 16 MiB of RAM
(tests.cpu.cpurig) or, where the BIOS takes part, on a whole Machine."""
import shutil
import subprocess
from pathlib import Path

import pytest

from pyvmm.cpu import EXIT_HLT
from pyvmm.machine import Machine as PC
from tests.cpu.cpurig import FakePIC, Machine

pytestmark = pytest.mark.skipif(shutil.which("nasm") is None, reason="nasm is not installed")

BIOS = Path(__file__).resolve().parents[2] / "roms" / "bios.bin"
LOAD = 0x10000          # the bare-CPU programs run at 1000:0000, org 0
RESULTS = LOAD + 0x800  # where they leave their results (RES)

# PRELUDE: descriptor and gate macros, ENTER_PM and RES.  GDT_COMMON: the GDTR and
# IDTR images and the descriptors every protected-mode program here starts with:
# 08h code and 10h data at 10000h (the program), 18h stack at 20000h.
DESC_MACRO = """
%macro DESC 3                           ; base, limit, access byte
        dw %2
        dw (%1) & 0xFFFF
        db ((%1) >> 16) & 0xFF
        db %3
        dw 0
%endmacro
"""

PRELUDE = """
        bits 16
        cpu 286
        org 0
""" + DESC_MACRO + """
%macro GATE 2                           ; handler offset in selector 08h, type byte
        dw %1
        dw 0x08
        db 0
        db %2
        dw 0
%endmacro
%macro ENTER_PM 0
        lgdt [cs:gdtr]
        lidt [cs:idtr]
        mov ax, 1
        lmsw ax
        jmp 0x08:%%pm
%%pm:
        mov ax, 0x10
        mov ds, ax
        mov ax, 0x18
        mov ss, ax
        mov sp, 0x1000
%endmacro
RES equ 0x800
"""

GDT_COMMON = """
gdtr:   dw gdt_end - gdt - 1
        dd 0x10000 + gdt
idtr:   dw idt_end - idt - 1
        dd 0x10000 + idt
        align 8
gdt:    dq 0
        DESC 0x10000, 0xFFFF, 0x9A      ; 08h code
        DESC 0x10000, 0xFFFF, 0x92      ; 10h data
        DESC 0x20000, 0xFFFF, 0x92      ; 18h stack
"""


def assemble(tmp_path, source, name="prog"):
    src = tmp_path / f"{name}.asm"
    out = tmp_path / f"{name}.bin"
    src.write_text(source)
    subprocess.run(["nasm", "-f", "bin", "-w+error", "-o", str(out), str(src)], check=True)
    return out.read_bytes()


def run_bare(tmp_path, body, cycles=10_000):
    """Run PRELUDE + body at 1000:0000 on a bare 286 until it halts."""
    m = Machine("80286", size=1 << 24)
    m.mem.write(LOAD, assemble(tmp_path, PRELUDE + body))
    m.cpu.cs, m.cpu.ip = LOAD >> 4, 0
    assert m.cpu.run(cycles) == EXIT_HLT
    return m


def words(m, addr, n):
    raw = m.mem.read(addr, 2 * n)
    return [int.from_bytes(raw[i:i + 2], "little") for i in range(0, 2 * n, 2)]


# -- real mode --------------------------------------------------------------------

def test_real_mode_msw_and_descriptor_table_registers(tmp_path):
    """SMSW reads FFF0h after reset (bits 4-15 are ones), LMSW sets TS/EM/MP and
    CLTS clears TS; LGDT/LIDT take 24-bit bases and SGDT/SIDT store FFh above them."""
    m = run_bare(tmp_path, """
        mov ax, 0x1000
        mov ds, ax
        smsw [RES]
        mov ax, 0x000E                  ; MP, EM, TS
        lmsw ax
        smsw [RES + 2]
        clts
        smsw [RES + 4]
        lgdt [gdt_in]
        lidt [idt_in]
        sgdt [RES + 6]
        sidt [RES + 12]
        hlt
gdt_in: dw 0x1234
        dd 0xAB563412                   ; the top byte is not part of a 286 base
idt_in: dw 0x02FF
        dd 0x00345678
""")
    assert words(m, RESULTS, 3) == [0xFFF0, 0xFFFE, 0xFFF6]
    assert m.mem.read(RESULTS + 6, 12) == bytes([0x34, 0x12, 0x12, 0x34, 0x56, 0xFF,
                                                 0xFF, 0x02, 0x78, 0x56, 0x34, 0xFF])


@pytest.mark.parametrize("insn", ["sldt ax", "str ax", "lldt ax", "ltr ax", "verr ax",
                                  "verw ax", "lar ax, bx", "lsl ax, bx", "db 0x0F, 0x05",
                                  "db 0x0F, 0x01, 0xD0"])
def test_real_mode_rejects_what_needs_descriptors(tmp_path, insn):
    """The 0F 00 group, LAR and LSL are invalid opcodes in real mode, as is LOADALL
    here (0F 05) and a register operand for LGDT: INT 6 returns to the opcode."""
    m = Machine("80286")
    m.handler(6, 0x0200)
    m.code(assemble(tmp_path, "bits 16\ncpu 286\n" + insn + "\n"))
    assert m.cpu.run(100) == EXIT_HLT
    assert (m.cpu.cs, m.cpu.ip) == (0x0200, 1)
    ip, cs, _flags = m.stack_words(3)
    assert (cs, ip) == (0x0100, 0)


def test_8086_and_80186_keep_their_0f():
    """0F is POP CS on the 8086 and an invalid opcode on the 80186, as before."""
    m = Machine("8086")
    m.code([0x0F])
    m.mem.write((0x0900 << 4) + 0x1000, b"\x00\x03")
    m.cpu.step()
    assert (m.cpu.cs, m.cpu.ip, m.cpu.sp) == (0x0300, 1, 0x1002)
    m = Machine("80186")
    m.handler(6, 0x0200)
    m.code([0x0F, 0x01, 0xE0])                  # smsw ax on a 286
    assert m.cpu.run(100) == EXIT_HLT and (m.cpu.cs, m.cpu.ip) == (0x0200, 1)


def test_real_mode_interrupts_use_the_idtr(tmp_path):
    """The 286 takes real-mode vectors from IDTR's base; a vector past its limit is
    a double fault (INT 8), and with no room for vector 8 either the CPU shuts down."""
    m = Machine("80286", size=1 << 24)
    m.mem.write(LOAD, assemble(tmp_path, PRELUDE + """
        mov ax, 0x1000
        mov ds, ax
        xor ax, ax
        mov es, ax
        mov word [es:0x2000 + 0x21 * 4], h21
        mov [es:0x2000 + 0x21 * 4 + 2], ds
        mov word [es:0x2000 + 0x08 * 4], h08
        mov [es:0x2000 + 0x08 * 4 + 2], ds
        lidt [moved]
        int 0x21                        ; through 2000h + 84h
        lidt [short_idt]
        int 0x21                        ; past the limit: INT 8 instead
        lidt [no_idt]
        sti
        int 0x21                        ; no vector 8 either: shutdown
        mov word [RES + 4], 0xBAD
        hlt
h21:    mov word [RES], 0x21
        iret
h08:    mov word [RES + 2], 0x08
        iret
moved:  dw 0x03FF
        dd 0x2000
short_idt: dw 0x0047                    ; vectors 0-11h
        dd 0x2000
no_idt: dw 0
        dd 0
"""))
    shutdowns = []
    m.cpu.on_shutdown = lambda: shutdowns.append(1)
    m.cpu.cs, m.cpu.ip = LOAD >> 4, 0
    assert m.cpu.run(1000) == EXIT_HLT
    assert words(m, RESULTS, 3) == [0x21, 0x08, 0] and shutdowns == [1]
    assert not m.cpu.flags & 0x0200             # shut down: deaf to INTR


# -- protected mode -------------------------------------------------------------------

def test_hardware_interrupt_in_protected_mode(tmp_path):
    """INTR in protected mode enters the handler through the IDT and IRET returns
    to the interrupted HLT's successor, IF restored."""
    m = Machine("80286", size=1 << 24)
    pic = FakePIC(m.cpu)
    m.mem.write(LOAD, assemble(tmp_path, PRELUDE + """
        ENTER_PM
        sti
        hlt
        mov word [RES + 2], 0x600D
        hlt
irq:    inc word [RES]
        iret
""" + GDT_COMMON + """
gdt_end:
idt:    times 0x21 dq 0
        GATE irq, 0x86
idt_end:
"""))
    m.cpu.cs, m.cpu.ip = LOAD >> 4, 0
    assert m.cpu.run(1000) == EXIT_HLT
    pic.request(0x21)
    assert m.cpu.run(1000) == EXIT_HLT
    assert words(m, RESULTS, 2) == [1, 0x600D] and pic.acks == [0x21]
    assert m.cpu.flags & 0x0200 and m.cpu.cs == 0x08


def test_descriptor_loads_fill_the_caches(tmp_path):
    """After LMSW sets PE, a far JMP, MOV/POP to segment registers, LES, far CALL/RET,
    INT through an interrupt gate and IRET all go through the GDT: the bases come
    from the descriptors (one above 1 MiB), the CPU sets their accessed bits, and
    LMSW cannot clear PE again."""
    m = run_bare(tmp_path, """
        ENTER_PM
        mov ax, 0x20
        mov es, ax
        mov word [es:0x10], 0xBEEF      ; linear 123410h
        push es
        pop ds                          ; POP DS through the GDT
        mov ax, [0x10]
        mov bx, 0x10
        mov ds, bx
        mov [RES], ax
        les di, [far_ptr]               ; ES:DI = 20h:0012h
        mov word [es:di], 0xCAFE
        call 0x08:far_proc
        sti
        int 0x21
        mov [RES + 4], ax
        smsw ax
        and ax, 0xFFFE
        lmsw ax                         ; PE stays set
        smsw [RES + 6]
        mov [RES + 8], es
        mov al, [gdt + 0x08 + 5]        ; the access bytes as the CPU left them
        mov ah, [gdt + 0x20 + 5]
        mov [RES + 10], ax
        hlt
far_proc:
        mov word [RES + 2], 0x1234
        retf
int21:
        pushf
        pop ax                          ; IF clear inside an interrupt gate
        iret
far_ptr: dw 0x0012, 0x0020
""" + GDT_COMMON + """
        DESC 0x123400, 0x0FFF, 0x92     ; 20h data above 1 MiB
gdt_end:
idt:    times 0x21 dq 0
        GATE int21, 0x86                ; 21h: 286 interrupt gate
idt_end:
""")
    loaded, called, flags_in_int, msw, es, access = words(m, RESULTS, 6)
    assert (loaded, called, msw, es) == (0xBEEF, 0x1234, 0xFFF1, 0x0020)
    assert not flags_in_int & 0x0200
    assert access == 0x939B                     # accessed bits set in 08h and 20h
    assert words(m, 0x123410, 2) == [0xBEEF, 0xCAFE]
    assert (m.cpu.cs, m.cpu.ds, m.cpu.ss) == (0x08, 0x10, 0x18)
    state = m.cpu.get_state()
    assert state["sbase"] == [0x123400, 0x10000, 0x20000, 0x10000]
    assert state["slimit"][0] == 0x0FFF and state["sattr"][0] == 0x93
    assert state["pm"]["msw"] & 1


def test_transfers_between_code_segments_of_other_sizes(tmp_path):
    """INT from offset 1800h into a 4 KiB handler segment and IRET back, a far CALL
    into it and RETF: the limit that counts is the one of the segment each
    instruction runs in."""
    m = run_bare(tmp_path, """
        ENTER_PM
        jmp high
handler:
        inc word [RES]
        iret
proc:   inc word [RES + 2]
        retf
        times 0x1800 - ($ - $$) db 0      ; RES (800h) in here
high:   int 0x21
        call 0x20:proc
        mov word [RES + 4], 0x600D
        hlt
""" + GDT_COMMON + """
        DESC 0x10000, 0x0FFF, 0x9A      ; 20h the same code, 4 KiB
gdt_end:
idt:    times 0x21 dq 0
        dw handler, 0x20, 0x8600, 0
idt_end:
""")
    assert words(m, RESULTS, 3) == [1, 1, 0x600D]


def test_limit_violation_enters_the_gp_handler_with_the_fault_undone(tmp_path):
    """A word that does not fit under DS's limit raises #GP(0) through a trap gate:
    the handler sees error code 0 and the faulting instruction's address, and the
    instruction changed nothing (a POP's SP included)."""
    m = run_bare(tmp_path, """
        ENTER_PM
        mov ax, 0x20
        mov ds, ax
        mov bx, 0x0FFF                  ; limit 0FFFh: the word's second byte is out
        pop word [bx]
        hlt
gp:     mov ax, 0x10
        mov ds, ax
        pop word [RES]                  ; error code
        pop word [RES + 2]              ; IP
        pop word [RES + 4]              ; CS
        mov [RES + 6], sp
        hlt
""" + GDT_COMMON + """
        DESC 0x30000, 0x0FFF, 0x92      ; 20h
gdt_end:
idt:    times 13 dq 0
        GATE gp, 0x87                   ; 13: trap gate
idt_end:
""")
    code, ip, cs, sp = words(m, RESULTS, 4)
    assert code == 0 and cs == 0x08
    assert m.mem.read(LOAD + ip, 2) == bytes([0x8F, 0x07])       # pop word [bx]
    assert sp == 0x1000 - 2                     # the POP took nothing; FLAGS still there


def test_rep_string_stops_at_the_segment_limit(tmp_path):
    """REP STOSB into a 4 KiB segment from offset 0FF0h: the sixteen bytes under the
    limit are written, the seventeenth raises #GP(0) with DI and CX where that element
    left them (the RAM block fast path must not run past a protected-mode limit)."""
    m = run_bare(tmp_path, """
        ENTER_PM
        mov ax, 0x20
        mov es, ax
        mov di, 0x0FF0
        mov cx, 0x40
        mov al, 0xA5
        cld
        rep stosb
        hlt
gp:     mov ax, 0x10
        mov ds, ax
        pop word [RES]                  ; error code
        mov [RES + 2], di
        mov [RES + 4], cx
        hlt
""" + GDT_COMMON + """
        DESC 0x30000, 0x0FFF, 0x92      ; 20h: 4 KiB of data
gdt_end:
idt:    times 13 dq 0
        GATE gp, 0x87                   ; 13: trap gate
idt_end:
""")
    assert words(m, RESULTS, 3) == [0, 0x1000, 0x30]
    assert m.mem.read(0x30FF0, 17) == bytes([0xA5] * 16 + [0])


@pytest.mark.parametrize("body, vector, code", [
    ("mov bp, 0x0FFF\n mov ax, [bp]", 12, 0),        # past SS's limit: #SS(0)
    ("mov ax, 0x28\n mov es, ax", 11, 0x28),         # not present: #NP(selector)
    ("mov ax, 0x30\n mov ds, ax", 13, 0x30),         # past the GDT limit
    ("xor ax, ax\n mov es, ax\n mov [es:0], ax", 13, 0),   # null selector loads, use faults
    ("mov ax, 0x08\n mov ds, ax", 13, 0x08),         # execute-only code as data
    ("mov word [cs:0], 1", 13, 0),                   # writes to code
    ("mov ax, 0x20\n mov ss, ax", 13, 0x20),         # read-only data as a stack
    ("jmp 0x20:0", 13, 0x20),                        # data as code
    ("mov ax, 0x2000\n jmp ax", 13, 0),              # past CS's limit
])
def test_protection_faults_and_their_error_codes(tmp_path, body, vector, code):
    m = run_bare(tmp_path, f"""
        ENTER_PM
        {body}
        mov byte [RES], 0xEE
        hlt
""" + """
        align 8
vectors:
%assign v 10
%rep 4
v_%+v:  mov ax, 0x10
        mov ds, ax
        mov byte [RES], v
        pop word [RES + 2]
        hlt
%assign v v+1
%endrep
gdtr:   dw gdt_end - gdt - 1
        dd 0x10000 + gdt
idtr:   dw idt_end - idt - 1
        dd 0x10000 + idt
        align 8
gdt:    dq 0
        DESC 0x10000, 0x0FFF, 0x98      ; 08h execute-only code, 4 KiB
        DESC 0x10000, 0xFFFF, 0x92      ; 10h data
        DESC 0x20000, 0x0FFF, 0x92      ; 18h stack, 4 KiB
        DESC 0x30000, 0xFFFF, 0x90      ; 20h read-only data
        DESC 0x40000, 0xFFFF, 0x12      ; 28h not present
gdt_end:
idt:    times 10 dq 0
        GATE v_10, 0x86
        GATE v_11, 0x86
        GATE v_12, 0x86
        GATE v_13, 0x86
idt_end:
""")
    assert words(m, RESULTS, 2) == [vector, code]


def test_fault_without_a_handler_is_a_double_fault(tmp_path):
    """#GP whose gate is not present: the #NP that causes is a second contributory
    fault, so the CPU enters the double-fault handler (error code 0)."""
    m = run_bare(tmp_path, """
        ENTER_PM
        mov ax, [0xFFFF]
        hlt
df:     pop word [RES]
        mov word [RES + 2], 0xDF
        hlt
""" + GDT_COMMON + """
gdt_end:
idt:    times 8 dq 0
        GATE df, 0x86                   ; 8: double fault
        times 4 dq 0
        dw 0, 0x08, 0x0600, 0           ; 13: interrupt gate, not present
idt_end:
""")
    assert words(m, RESULTS, 2) == [0, 0xDF]


def test_triple_fault_shuts_down_and_signals_the_board(tmp_path):
    """With no IDT at all a fault cannot be delivered, nor the double fault: the CPU
    shuts down (halted, deaf to INTR) and tells the board, which resets it."""
    m = Machine("80286", size=1 << 24)
    m.mem.write(LOAD, assemble(tmp_path, PRELUDE + """
        lgdt [cs:gdtr]
        lidt [cs:idtr]
        mov ax, 1
        lmsw ax
        jmp 0x08:pm
pm:     sti
        int 3
        mov ax, 0x1234
        hlt
gdtr:   dw gdt_end - gdt - 1
        dd 0x10000 + gdt
idtr:   dw 0
        dd 0
        align 8
gdt:    dq 0
        DESC 0x10000, 0xFFFF, 0x9A
gdt_end:
"""))
    shutdowns = []
    m.cpu.on_shutdown = lambda: shutdowns.append(1)
    pic = FakePIC(m.cpu)
    pic.request(0x20)                           # pending from STI on
    m.cpu.cs, m.cpu.ip = LOAD >> 4, 0
    assert m.cpu.run(1000) == EXIT_HLT
    assert shutdowns == [1] and m.cpu.halted and m.cpu.ax != 0x1234
    assert pic.acks == []
    m.cpu.reset()
    assert (m.cpu.cs, m.cpu.ip) == (0xF000, 0xFFF0)
    m.code([0x0F, 0x01, 0xE0, 0xF4])                # smsw ax: real mode again
    m.cpu.cs, m.cpu.ip = 0x0100, 0
    assert m.cpu.run(100) == EXIT_HLT and m.cpu.ax == 0xFFF0


def test_state_round_trip_in_protected_mode(tmp_path):
    """A state saved in protected mode carries the MSW and the descriptor tables:
    the restored CPU's next segment load still goes through the GDT."""
    m = run_bare(tmp_path, """
        ENTER_PM
        hlt
        mov ax, 0x20
        mov es, ax
        mov word [es:0], 0x4321
        hlt
""" + GDT_COMMON + """
        DESC 0x123400, 0x00FF, 0x92
gdt_end:
idt:
idt_end:
""")
    state = m.cpu.get_state()
    m2 = Machine("80286", size=1 << 24)
    m2.mem.write(0, m.mem.read(0, 0x40000))
    m2.cpu.set_state(state)
    m2.cpu.halted = False
    assert m2.cpu.run(100) == EXIT_HLT
    m.cpu.halted = False
    assert m.cpu.run(100) == EXIT_HLT
    assert m2.cpu.get_state() == m.cpu.get_state()
    assert m2.cpu.get_state()["sbase"][0] == 0x123400
    assert words(m2, 0x123400, 1) == [0x4321]
    with pytest.raises(ValueError):
        m2.cpu.ds = 0x0028                      # past the GDT: refused, nothing changes
    assert m2.cpu.ds == 0x10


# -- with the BIOS ----------------------------------------------------------------------

def boot(tmp_path, source, **options):
    """A Machine that boots ``source`` (a 512-byte boot sector, org 7C00h)."""
    image = bytearray(1474560)
    program = assemble(tmp_path, source, "boot")
    image[:len(program)] = program
    path = tmp_path / "boot.img"
    path.write_bytes(bytes(image))
    m = PC(bios=str(BIOS), fda=str(path), snapshot=True, cpu="80286", **options)
    m.post.history = True
    return m


BOOT_PRELUDE = """
        bits 16
        cpu 286
        org 0x7C00
""" + DESC_MACRO + """
%macro SAY 1
        mov si, %%s
        call say
        jmp %%e
%%s:    db %1, 10, 0
%%e:
%endmacro
        jmp 0:start
say:    lodsb
        or al, al
        jz .done
        out 0xE9, al
        jmp say
.done:  ret
start:  cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7C00
        sti
"""


def test_copy_to_extended_memory_and_back_by_triple_fault(tmp_path):
    """A 286 program of the HIMEM era copies to extended memory itself: A20 on, into
    protected mode, REP MOVSW between descriptors, and back to real mode through a
    triple fault instead of the 8042's reset pulse; CMOS 0Fh = 0Ah and 40:67 make
    POST jump back to it at once."""
    with boot(tmp_path, BOOT_PRELUDE + """
        mov ax, 0x2401                  ; A20 on
        int 0x15
        SAY "entering"
        mov word [0x467], resume
        mov word [0x469], 0
        mov al, 0x8F
        out 0x70, al
        mov al, 0x0A
        out 0x71, al
        cli
        lgdt [gdtr]
        lidt [null_idt]
        mov ax, 1
        lmsw ax
        jmp 0x08:pm - 0x7C00
pm:     mov ax, 0x10
        mov ds, ax
        mov ax, 0x18
        mov es, ax
        xor si, si
        xor di, di
        mov cx, 256
        cld
        rep movsw                       ; this sector to 123400h
        int 0x10                        ; no IDT: #GP, #DF, shutdown
        SAY "not reset"
        hlt
resume: xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, 0x7C00
        smsw ax
        and al, 1
        add al, '0'
        mov [pe_flag], al
        SAY "resumed"
        mov si, pe_msg
        call say
        sti
.idle:  hlt
        jmp .idle
pe_msg: db "PE="
pe_flag: db "?", 10, 0
gdtr:   dw gdt_end - gdt - 1
        dd gdt
null_idt: dw 0, 0, 0
        align 8
gdt:    dq 0
        DESC 0x7C00, 0xFFFF, 0x9B       ; 08h this code (accessed already: the
        DESC 0x7C00, 0x01FF, 0x93       ; 10h this sector    copy matches the image)
        DESC 0x123400, 0x01FF, 0x93     ; 18h extended memory
gdt_end:
        times 510 - ($ - $$) db 0
        dw 0xAA55
""", memory=2048) as m:
        assert m.run_until(lambda m: "PE=0" in m.board.log, timeout=30), m.board.log
        assert m.board.log[-3:] == ["entering", "resumed", "PE=0"]
        assert m.post.post_history.count(0x01) == 2 and m.post.post_history.count(0x02) == 1
        sector = (tmp_path / "boot.img").read_bytes()[:512]     # as it was before "PE="
        assert bytes(m.read(0x123400, 512)) == sector


def test_int15_block_move_copies_to_extended_memory_and_back(tmp_path):
    """INT 15h AH=87h on the 286: 4 KiB from conventional memory to 1 MiB + 64 KiB
    and back elsewhere, AH=0 and CF=0 each time, the data intact."""
    with boot(tmp_path, BOOT_PRELUDE + """
        mov di, 0x1000                  ; 4 KiB of a pattern at 1000h
        mov cx, 0x800
        mov ax, 0x0102
.fill:  stosw
        add ax, 0x0303
        loop .fill
        mov word [src + 2], 0x1000
        mov byte [src + 4], 0
        mov word [dst + 2], 0
        mov byte [dst + 4], 0x11
        call move
        mov [0x600], ax
        mov word [src + 2], 0
        mov byte [src + 4], 0x11
        mov word [dst + 2], 0x3000
        mov byte [dst + 4], 0
        call move
        mov [0x602], ax
        SAY "moved"
.idle:  hlt
        jmp .idle
move:   push ds
        pop es
        mov si, gdt
        mov cx, 0x800
        mov ah, 0x87
        int 0x15
        mov al, 0
        adc al, 0                       ; AL = CF, AH = the status
        ret
        align 8
gdt:    times 2 dq 0
src:    DESC 0, 0xFFFF, 0x93
dst:    DESC 0, 0xFFFF, 0x93
        times 2 dq 0
        times 510 - ($ - $$) db 0
        dw 0xAA55
""", memory=2048) as m:
        assert m.run_until(lambda m: "moved" in m.board.log, timeout=30), m.board.log
        assert bytes(m.read(0x600, 4)) == bytes(4)          # AH=0, CF=0 both times
        pattern = bytes(m.read(0x1000, 0x1000))
        assert pattern[:4] == bytes([2, 1, 5, 4])
        assert bytes(m.read(0x110000, 0x1000)) == pattern
        assert bytes(m.read(0x3000, 0x1000)) == pattern
