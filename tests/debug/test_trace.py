"""The instruction tracer and the disassembler it uses."""
import io

from pyvmm.debug.disasm import disassemble
from pyvmm.debug.trace import Tracer, run_traced
from tests.debug.harness import TinyPC

SIMPLE = bytes.fromhex("b83412" "bb0100" "01d8" "f4")   # mov ax / mov bx / add ax,bx / hlt


def out(port, value):
    return bytes([0xB0, value, 0xE6, port])               # mov al,value / out port,al


# Program the PIC (vectors 08h-0Fh, only IRQ 0 unmasked) and PIT counter 0 (mode 2,
# count 100h), then STI and halt in a loop; the IRQ 0 handler sends an EOI.
TIMER = (out(0x20, 0x11) + out(0x21, 0x08) + out(0x21, 0x04) + out(0x21, 0x01)
         + out(0x21, 0xFE) + out(0x43, 0x34) + out(0x40, 0x00) + out(0x40, 0x01)
         + bytes.fromhex("fb" "f4" "ebfd"))               # sti / hlt / jmp hlt
HANDLER = out(0x20, 0x20) + b"\xCF"                        # EOI / iret


def test_disassemble_reads_as_the_cpu_fetches():
    pc = TinyPC(SIMPLE)
    listing = disassemble(pc, 0, 0x7C00, 4)
    assert [(cs, ip, code.hex(), text) for cs, ip, code, text in listing] == [
        (0, 0x7C00, "b83412", "mov ax, 0x1234"),
        (0, 0x7C03, "bb0100", "mov bx, 1"),
        (0, 0x7C06, "01d8", "add ax, bx"),
        (0, 0x7C08, "f4", "hlt")]
    assert disassemble(pc.mem, 0xF000, 0xFFF0, 1)[0][3] == "ljmp 0:0x7c00"
    # the offset wraps inside the segment: 07BF:FFFF fetches FFFFh then 0000h
    pc.write(0x17BEF, b"\xB0")
    pc.write(0x07BF0, b"\x42")
    cs, ip, code, text = disassemble(pc, 0x07BF, 0xFFFF, 1)[0]
    assert (code, text) == (b"\xB0\x42", "mov al, 0x42")
    # bytes capstone cannot decode come back one at a time
    pc.write(0x600, b"\xFE\xF8")                          # FE /7 does not exist
    assert disassemble(pc, 0, 0x600, 1)[0][2:] == (b"\xFE", "db 0xfe")


def test_tracer_lines_hold_address_bytes_text_and_registers():
    pc = TinyPC(SIMPLE)
    buf = io.StringIO()
    n = Tracer(pc, buf).run()
    lines = buf.getvalue().splitlines()
    assert n == 5                                          # far jmp + 4, then halted for good
    assert lines[0].startswith("F000:FFF0  EA007C0000") and "ljmp 0:0x7c00" in lines[0]
    assert lines[2].startswith("0000:7C03  BB0100") and "mov bx, 1" in lines[2]
    assert "AX=1234 BX=0000 CX=0000" in lines[2]           # registers before the instruction
    assert "FL=F002" in lines[3]
    assert "AX=1235 BX=0001" in lines[4] and "FL=F006" in lines[4]
    assert lines[5].startswith("-- halted at 0000:7C09")
    for line in lines[:5]:
        for reg in ("AX", "BX", "CX", "DX", "SI", "DI", "BP", "SP", "DS", "ES", "SS", "FL"):
            assert f" {reg}=" in line


def test_tracer_follows_halt_and_interrupts(tmp_path):
    pc = TinyPC(TIMER)
    pc.write(0x7D00, HANDLER)
    pc.write(8 * 4, bytes.fromhex("007d0000"))             # IVT[8] = 0000:7D00
    path = tmp_path / "trace.txt"
    assert run_traced(pc, str(path), max_instructions=40) == 40
    lines = path.read_text().splitlines()
    halted = [i for i, line in enumerate(lines) if line.startswith("-- halted")]
    entered = [i for i, line in enumerate(lines) if line == "-- interrupt -> 0000:7D00"]
    assert halted and entered and halted[0] < entered[0]
    assert lines[entered[0] + 1].startswith("0000:7D00  B020")  # the handler runs next
    assert any(line.startswith("0000:7D04  CF") and "iret" in line for line in lines)
    # time jumped to the timer while halted: 100h PIT ticks are 400h cycles
    assert pc.clock.now >= 0x400 * 2
    assert sum(1 for line in lines if line[:1] != "-") == 40
