"""The interactive monitor, driven through a StringIO against a tiny PC."""
import io

from pyvmm.mem.physmem import KIND_RAM
from pyvmm.debug.monitor import Monitor
from tests.debug.harness import TinyPC

# 0000:7C00 ...
PROGRAM = bytes.fromhex(
    "b83412"      # 7C00 mov ax,1234h
    "e81a00"      # 7C03 call 7C20h
    "e680"        # 7C06 out 80h,al
    "cd21"        # 7C08 int 21h
    "a30006"      # 7C0A mov [0600h],ax
    "b90300"      # 7C0D mov cx,3
    "e2fe"        # 7C10 loop 7C10h
    "e421"        # 7C12 in al,21h
    "f4")         # 7C14 hlt
SUB = bytes.fromhex("43" "c3")      # 7C20 inc bx / ret
HANDLER = bytes.fromhex("cf")       # 7D00 iret


def make_pc():
    pc = TinyPC(PROGRAM)
    pc.write(0x7C20, SUB)
    pc.write(0x7D00, HANDLER)
    pc.write(0x21 * 4, bytes.fromhex("007d0000"))     # IVT[21h] = 0000:7D00
    pc.step()                                          # the reset far jump
    return pc


def monitor(pc, script=""):
    out = io.StringIO()
    return Monitor(pc, io.StringIO(script), out), out


def command(mon, out, line):
    out.seek(0)
    out.truncate()
    assert mon.execute(line)
    return out.getvalue()


def here(pc):
    return pc.cpu.get_reg("cs"), pc.cpu.get_reg("ip")


def test_registers_show_and_set():
    pc = make_pc()
    mon, out = monitor(pc)
    text = command(mon, out, "r")
    assert "AX=0000" in text and "CS=0000" in text and "IP=7C00" in text
    assert "FLAGS=F002" in text
    assert "mov ax, 0x1234" in text
    command(mon, out, "r bx 55aa")
    assert pc.cpu.get_reg("bx") == 0x55AA
    command(mon, out, "r ah 7f")
    assert pc.cpu.get_reg("ax") == 0x7F00
    assert "no register" in command(mon, out, "r zz 1")
    assert "not a hexadecimal" in command(mon, out, "r ax 12g")


def test_unassemble_dump_and_edit():
    pc = make_pc()
    mon, out = monitor(pc)
    text = command(mon, out, "u 0:7c00 3")
    lines = text.splitlines()
    assert lines[0].startswith("0000:7C00  B83412") and "mov ax, 0x1234" in lines[0]
    assert lines[1].startswith("0000:7C03  E81A00") and "call 0x7c20" in lines[1]
    assert lines[2].startswith("0000:7C06  E680") and "out 0x80, al" in lines[2]
    assert command(mon, out, "u").splitlines()[0].startswith("0000:7C08  CD21")  # goes on
    command(mon, out, "e 0:500 41 42 'hi!'")
    assert pc.read(0x500, 5) == b"ABhi!"
    text = command(mon, out, "d 50:0 8")
    assert text.startswith("0050:0000  41 42 68 69 21 00 00 00") and "ABhi!..." in text
    assert command(mon, out, "d 500 2").startswith("00500  41 42")
    assert "not a byte" in command(mon, out, "e 500 100")


def test_breakpoint_step_and_next():
    pc = make_pc()
    mon, out = monitor(pc)
    command(mon, out, "b 0:7c06")
    assert "1  execute at 0000:7C06" in command(mon, out, "bl")
    text = command(mon, out, "c")
    assert "breakpoint 1 at 0000:7C06" in text
    assert here(pc) == (0, 0x7C06) and pc.cpu.get_reg("bx") == 1
    command(mon, out, "bc 1")
    assert "no breakpoints" in command(mon, out, "bl")
    pc2 = make_pc()
    mon2, out2 = monitor(pc2)
    command(mon2, out2, "s")
    assert here(pc2) == (0, 0x7C03)
    command(mon2, out2, "n")                       # over the CALL
    assert here(pc2) == (0, 0x7C06) and pc2.cpu.get_reg("bx") == 1
    command(mon2, out2, "s 2")                     # out, then int 21h steps in
    assert here(pc2) == (0, 0x7D00)
    command(mon2, out2, "s 3")                     # iret, mov [600h], mov cx
    assert here(pc2) == (0, 0x7C10)
    command(mon2, out2, "n")                       # over the whole LOOP
    assert here(pc2) == (0, 0x7C12) and pc2.cpu.get_reg("cx") == 0


def test_breakpoint_by_linear_address_and_cs_ip_exactness():
    pc = make_pc()
    mon, out = monitor(pc)
    command(mon, out, "b 07c0:0008")               # same linear as 0000:7C08, other CS
    command(mon, out, "b 7c0a")                    # linear
    text = command(mon, out, "c")
    assert "breakpoint 2 at 0000:7C0A" in text and "breakpoint 1" not in text
    assert here(pc) == (0, 0x7C0A)


def test_port_interrupt_and_write_breakpoints():
    pc = make_pc()
    mon, out = monitor(pc)
    command(mon, out, "bp out 80")
    command(mon, out, "bi 21")
    command(mon, out, "bw 600 601")
    command(mon, out, "bp in 21")
    text = command(mon, out, "c")
    assert "port breakpoint: out 0080 = 34" in text
    assert here(pc) == (0, 0x7C08)                 # stopped right after the OUT
    text = command(mon, out, "c")
    assert "interrupt 21 entered" in text and here(pc) == (0, 0x7D00)
    text = command(mon, out, "c")
    assert "write breakpoint: [00600] = 34" in text and here(pc) == (0, 0x7C0D)
    assert pc.read(0x600, 2) == b"\x34\x12"        # the watched write still happened
    text = command(mon, out, "c")
    assert "port breakpoint: in 0021 = 0" in text and here(pc) == (0, 0x7C14)
    text = command(mon, out, "c")
    assert "halted" in text
    # the hooks are gone once the guest stops
    assert pc.mem.kind[0] == KIND_RAM
    assert getattr(pc.io.write8[0x80], "__name__", "") != "write"


def test_port_io_and_device_summary():
    pc = make_pc()
    mon, out = monitor(pc)
    # ICW1..ICW4 to the master PIC: vectors 08h-0Fh, then mask everything but IRQ 0
    for port, value in ((0x20, 0x11), (0x21, 0x08), (0x21, 0x04), (0x21, 0x01), (0x21, 0xFE)):
        command(mon, out, f"o {port:x} {value:x}")
    assert command(mon, out, "i 21").strip() == "FE"
    command(mon, out, "o 43 34")                   # counter 0, mode 2, LSB then MSB
    command(mon, out, "o 40 00")
    command(mon, out, "o 40 10")
    pc.clock.advance(400)
    text = command(mon, out, "dev")
    assert "PIC master  IRR=00 ISR=00 IMR=FE  vectors 08-0F" in text
    assert "PIT 0  mode 2" in text and "reload 1000" in text
    assert "clock  401 cycles" in text           # the reset jump took one


def test_run_loop_quits_and_reports_errors():
    pc = make_pc()
    mon, out = monitor(pc, "help\nfoo\nbc 9\nbi 100\nq\nr\n")
    mon.run()
    text = out.getvalue()
    assert "step over CALL" in text
    assert "unknown command 'foo'" in text
    assert "no breakpoint 9" in text
    assert "interrupt numbers go up to FF" in text
    assert text.count("AX=") == 1                   # the r after q never ran


def test_too_many_execution_breakpoints():
    pc = make_pc()
    mon, out = monitor(pc)
    for i in range(16):
        command(mon, out, f"b {0x8000 + i:x}")
    assert "at most 16" in command(mon, out, "b 9000")


def test_interrupt_breakpoint_tells_shared_handlers_apart():
    pc = TinyPC(bytes.fromhex("cd22" "cd21" "f4"))         # int 22h / int 21h / hlt
    pc.write(0x7D00, HANDLER)
    pc.write(0x21 * 4, bytes.fromhex("007d0000"))
    pc.write(0x22 * 4, bytes.fromhex("007d0000"))         # the same handler
    mon, out = monitor(pc)
    command(mon, out, "bi 21")
    assert "interrupt 21 entered" in command(mon, out, "c")
    assert here(pc) == (0, 0x7D00)
    sp = pc.cpu.get_reg("sp")
    assert pc.read(sp, 2) == b"\x04\x7c"                  # entered from the INT 21h
