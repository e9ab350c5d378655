"""Interrupt entry and ordering, HLT, REP interruption, and the time contract, driven
through INTR/INTA (a fake PIC), NMI, ports and the clock."""
import pytest

from tests.cpu.cpurig import CODE, FakePIC, Machine
from pyvmm.cpu import EXIT_BUDGET, EXIT_HLT, EXIT_STOP

NOP, HLT, STI, CLI = 0x90, 0xF4, 0xFB, 0xFA
IF, TF = 0x0200, 0x0100


def test_intr_waits_one_instruction_after_sti_then_pushes_the_next_ip():
    m = Machine()
    pic = FakePIC(m.cpu)
    m.handler(0x21, 0x0200)
    m.code([STI, NOP, NOP, HLT])
    pic.request(0x21)
    assert m.cpu.run(100) == EXIT_HLT
    assert (m.cpu.cs, m.cpu.ip) == (0x0200, 1)        # halted in the handler
    ip, cs, flags = m.stack_words(3)
    assert (cs, ip) == (CODE, 2)                       # STI's shadow let one NOP run
    assert flags & IF and not m.cpu.flags & IF
    assert pic.acks == [0x21]


def test_intr_ignored_while_if_clear():
    m = Machine()
    pic = FakePIC(m.cpu)
    m.code([CLI, NOP, NOP, HLT])
    pic.request(0x21)
    assert m.cpu.run(100) == EXIT_HLT
    assert m.cpu.ip == 4 and pic.acks == []


def test_mov_ss_blocks_intr_for_one_instruction():
    m = Machine()
    pic = FakePIC(m.cpu)
    m.handler(0x30, 0x0200)
    m.code([0x8E, 0xD0, NOP, NOP, HLT])               # mov ss, ax
    m.cpu.ax = 0x0900
    m.cpu.flags = 0x0202
    m.cpu.step()                                       # MOV SS
    pic.request(0x30)
    m.cpu.step()                                       # the shadowed NOP
    assert m.cpu.cs == CODE and m.cpu.ip == 3
    m.cpu.step()                                       # now the interrupt
    assert m.cpu.cs == 0x0200 and pic.acks == [0x30]


def test_trap_after_the_instruction_following_popf():
    m = Machine()
    m.handler(1, 0x0300)
    m.cpu.ax = TF | 0x0002
    m.code([0x50, 0x9D, NOP, NOP, HLT])               # push ax; popf; nop; nop
    assert m.cpu.run(100) == EXIT_HLT
    assert m.cpu.cs == 0x0300
    ip, cs, flags = m.stack_words(3)
    assert (cs, ip) == (CODE, 3)                       # after POPF and one NOP
    assert flags & TF and not m.cpu.flags & TF


def test_nmi_is_taken_before_intr_and_clears_if():
    m = Machine()
    pic = FakePIC(m.cpu)
    m.handler(2, 0x0400)
    m.handler(0x21, 0x0200)
    m.code([NOP, HLT])
    m.cpu.flags = 0x0202
    pic.request(0x21)
    m.cpu.nmi()
    m.cpu.step()
    assert m.cpu.cs == 0x0400 and pic.acks == []
    m.cpu.step()                                       # IF=0 in the NMI handler
    assert m.cpu.cs == 0x0400 and m.cpu.halted


def test_nmi_and_trap_pending_together_trap_runs_first():
    # 8086 flowchart: NMI's frame is pushed, then the single-step frame on top of it
    m = Machine()
    m.handler(2, 0x0400)
    m.handler(1, 0x0300)
    m.code([NOP, NOP, HLT])
    m.cpu.flags = TF | 0x0002
    m.cpu.step()                                       # NOP with TF set
    m.cpu.nmi()
    m.cpu.step()                                       # NMI entry
    assert m.cpu.cs == 0x0400
    m.cpu.step()                                       # then the trap entry
    assert m.cpu.cs == 0x0300
    ip, cs, _ = m.stack_words(3)
    assert (cs, ip) == (0x0400, 0)


def test_hlt_returns_at_once_until_woken():
    m = Machine()
    pic = FakePIC(m.cpu)
    m.handler(0x21, 0x0200)
    m.code([STI, HLT, NOP, HLT])
    assert m.cpu.run(100) == EXIT_HLT
    assert m.cpu.halted and m.cpu.ip == 2
    now = m.clock.now
    assert m.cpu.run(100) == EXIT_HLT and m.clock.now == now
    pic.request(0x21)
    assert m.cpu.run(100) == EXIT_HLT
    assert m.cpu.cs == 0x0200
    assert m.stack_words(2) == [2, CODE]               # resumes after the HLT


def test_nmi_wakes_hlt_with_if_clear():
    m = Machine()
    m.handler(2, 0x0400)
    m.code([CLI, HLT])
    assert m.cpu.run(100) == EXIT_HLT
    m.cpu.nmi()
    m.cpu.run(100)
    assert m.cpu.cs == 0x0400


def test_rep_stops_on_budget_and_resumes_whole():
    m = Machine()
    m.code([0x26, 0xF3, 0xAA, HLT])                   # es: rep stosb
    m.cpu.cx, m.cpu.di, m.cpu.al = 100, 0, 0x5A
    assert m.cpu.run(10) == EXIT_BUDGET
    assert m.clock.now == 10
    assert m.cpu.ip == 0 and 0 < m.cpu.cx < 100       # IP back at the first prefix
    assert m.cpu.run(1000) == EXIT_HLT
    assert m.cpu.cx == 0 and m.cpu.di == 100
    assert m.mem.read(0x8000, 100) == b"\x5A" * 100


@pytest.mark.parametrize("model, resume_ip", [("8086", 1), ("80186", 0)])
def test_rep_interrupted_by_intr(model, resume_ip):
    # the 8086 returns to the last prefix (the segment override is lost), later
    # chips to the first
    m = Machine(model)
    pic = FakePIC(m.cpu)
    m.handler(0x21, 0x0200)
    # the destination is a device page whose first write raises the request
    m.mem.unmap(0xB0000, 0x1000)
    m.mem.map_mmio(0xB0000, 0x1000, lambda a: 0, lambda a, v: pic.request(0x21))
    m.code([0x26, 0xF3, 0xA4, HLT])                   # es: rep movsb
    m.cpu.es, m.cpu.di = 0xB000, 0
    m.cpu.flags = 0x0202
    m.cpu.cx = 50
    m.cpu.step()
    assert m.cpu.cs == CODE and m.cpu.ip == resume_ip and m.cpu.cx == 49
    m.cpu.step()
    assert m.cpu.cs == 0x0200
    ip, cs, _ = m.stack_words(3)
    assert (cs, ip) == (CODE, resume_ip)


def test_clock_now_is_current_at_port_io_and_deadline_stops_run():
    m = Machine()
    seen = []
    m.io.register(0x80, write8=lambda port, value: seen.append(m.clock.now))
    m.code([NOP, NOP, 0xE6, 0x80, NOP, NOP, NOP, HLT])  # out 80h, al
    fired = []
    m.clock.timer("t", lambda: fired.append(m.clock.now)).set(4)
    assert m.cpu.run(1000) == EXIT_BUDGET
    assert seen == [2]                                 # two instructions before the OUT
    assert m.clock.now == 4 and m.cpu.instructions == 4
    m.clock.fire_due()
    assert fired == [4]
    assert m.cpu.run(1000) == EXIT_HLT


def test_device_arming_an_earlier_timer_stops_the_run():
    m = Machine()
    t = m.clock.timer("t", lambda: None)
    m.io.register(0x80, write8=lambda port, value: t.set_in(1))
    m.code([0xE6, 0x80] + [NOP] * 20 + [HLT])
    assert m.cpu.run(1000) == EXIT_BUDGET
    assert m.clock.now == 1


def test_request_stop_and_cpu_stop():
    m = Machine()
    m.io.register(0x80, write8=lambda port, value: m.clock.request_stop())
    m.io.register(0x81, write8=lambda port, value: m.cpu.stop())
    m.code([0xE6, 0x80, NOP, 0xE6, 0x81, NOP, HLT])
    assert m.cpu.run(1000) == EXIT_BUDGET and m.cpu.ip == 2
    m.clock.fire_due()                                 # what the machine does next
    assert m.cpu.run(1000) == EXIT_STOP and m.cpu.ip == 5
    assert m.cpu.run(1000) == EXIT_HLT


def test_device_exception_propagates_out_of_run():
    m = Machine()

    def boom(port):
        raise RuntimeError("device failed")
    m.io.register(0x80, read8=boom)
    m.code([NOP, 0xE4, 0x80, NOP, HLT])                # in al, 80h
    with pytest.raises(RuntimeError, match="device failed"):
        m.cpu.run(1000)
    assert m.clock.now == 2 and m.cpu.ip == 3
    assert m.cpu.run(1000) == EXIT_HLT


def test_port_io_widths():
    m = Machine()
    log = []
    m.io.register(0x60, read8=lambda p: 0x12, write8=lambda p, v: log.append((p, v)))
    m.io.register(0x61, read8=lambda p: 0x34, write8=lambda p, v: log.append((p, v)))
    m.code([0xE5, 0x60, 0x89, 0xC3, 0xBA, 0x60, 0x00, 0xEF, HLT])  # in ax,60h; mov bx,ax; mov dx,60h; out dx,ax
    m.cpu.run(100)
    assert m.cpu.bx == 0x3412
    assert log == [(0x60, 0x12), (0x61, 0x34)]


def test_mmio_pages_go_through_the_device():
    m = Machine()
    m.mem.unmap(0xB0000, 0x1000)
    reads, writes = [], []
    m.mem.map_mmio(0xB0000, 0x1000, lambda a: reads.append(a) or 0x77,
                   lambda a, v: writes.append((a, v)))
    m.cpu.ds = 0xB000
    m.code([0xA1, 0x10, 0x00, 0xC7, 0x06, 0x20, 0x00, 0x34, 0x12, HLT])  # mov ax,[10h]; mov word [20h],1234h
    m.cpu.run(100)
    assert m.cpu.ax == 0x7777 and reads == [0xB0010, 0xB0011]
    assert writes == [(0xB0020, 0x34), (0xB0021, 0x12)]


def test_rom_ignores_writes_and_empty_pages_read_ff():
    m = Machine()
    m.mem.unmap(0xC0000, 0x2000)
    m.mem.map_rom(0xC0000, b"\xAB" * 0x1000)
    m.cpu.ds = 0xC000
    m.code([0xC6, 0x06, 0x00, 0x00, 0x55, 0xA0, 0x00, 0x00, 0x8A, 0x26, 0x00, 0x10, HLT])
    m.cpu.run(100)                                     # mov byte [0],55h; mov al,[0]; mov ah,[1000h]
    assert m.cpu.al == 0xAB and m.cpu.ah == 0xFF


def test_a20_gate_wraps_above_1mib():
    m = Machine(model="80286", size=2 << 20)
    m.mem.write(0x100000, b"\x11")
    m.mem.write(0x000000, b"\x22")
    m.cpu.ds = 0xFFFF
    m.code([0xA0, 0x10, 0x00, HLT])                    # mov al, [ffff:0010]
    m.cpu.run(100)
    assert m.cpu.al == 0x11
    m.mem.set_a20(False)
    m.cpu.ip, m.cpu.halted = 0, False
    m.cpu.run(100)
    assert m.cpu.al == 0x22


def test_intr_and_trap_pending_together_intr_entered_first():
    m = Machine()
    pic = FakePIC(m.cpu)
    m.handler(0x21, 0x0200)
    m.handler(1, 0x0300)
    m.code([NOP, NOP, HLT])
    m.cpu.flags = TF | IF | 0x0002
    m.cpu.step()                                       # NOP with TF set
    pic.request(0x21)
    m.cpu.step()                                       # INTR entry
    assert m.cpu.cs == 0x0200 and pic.acks == [0x21]
    m.cpu.step()                                       # then the trap, over it
    assert m.cpu.cs == 0x0300
    assert m.stack_words(2) == [0, 0x0200]
