"""The debugger's run loop: breakpoints that coincide with a timer, and halts."""
from pyvmm.debug.control import EXIT_BREAK, EXIT_HLT, run_slice, step
from tests.debug.harness import TinyPC


def test_breakpoint_reached_exactly_at_a_timer_deadline_still_stops():
    pc = TinyPC(b"\x90" * 16 + b"\xF4")
    fired = []
    pc.clock.timer("test.tick", lambda: fired.append(pc.clock.now)).set(6)
    # the far jump takes cycle 0, so the NOP at 7C05 is next when the clock reads 6:
    # the core's run ends for the timer there, and its next run would not check
    pc.cpu.add_breakpoint(0x7C05)
    assert run_slice(pc, 1000, {0x7C05}) == EXIT_BREAK
    assert fired == [6]
    assert (pc.cpu.get_reg("cs"), pc.cpu.get_reg("ip")) == (0, 0x7C05)
    # resuming from the breakpoint runs on to the HLT and stays there
    assert run_slice(pc, 1000, {0x7C05}, resume=True) == EXIT_HLT
    assert pc.cpu.get_reg("ip") == 0x7C11


def test_step_over_a_halt_jumps_to_the_next_timer():
    pc = TinyPC(b"\xF4")
    step(pc)                                  # far jump
    step(pc)                                  # HLT
    assert pc.cpu.halted
    now = pc.clock.now
    assert step(pc) == EXIT_HLT and pc.clock.now == now      # no timer: time stays
    pc.clock.timer("test.wake", lambda: None).set(now + 500)
    assert step(pc) == EXIT_HLT and pc.clock.now == now + 500
