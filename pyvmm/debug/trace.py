"""The instruction tracer behind ``pyvmm run --trace FILE``.

Each executed instruction gives one line, written before it runs::

    0000:7C00  B83412         mov ax, 0x1234      AX=0000 BX=0000 ... FL=F002

An interrupt entered between instructions (a hardware IRQ, a trap) gives a line
``-- interrupt -> CS:IP``, and a halted CPU waiting for its next timer gives
``-- halted`` once per halt.
"""
from .control import EXIT_HLT, step
from .disasm import Disassembler, format_insn

TRACE_REGS = ("ax", "bx", "cx", "dx", "si", "di", "bp", "sp", "ds", "es", "ss", "flags")


def register_line(cpu):
    return " ".join(f"{'FL' if name == 'flags' else name.upper()}={cpu.get_reg(name):04X}"
                    for name in TRACE_REGS)


class Tracer:
    """Single-steps ``machine`` and writes one line per instruction to ``file``
    (any object with ``write``)."""

    def __init__(self, machine, file):
        self.machine = machine
        self.file = file
        self.disasm = Disassembler()
        self.count = 0           # instructions traced
        self._halt_noted = False

    def step(self):
        """Trace and execute one instruction (or interrupt entry, or halted wait).
        Returns the EXIT_* code of :func:`pyvmm.debug.control.step`."""
        machine, cpu = self.machine, self.machine.cpu
        cs, ip = cpu.get_reg("cs"), cpu.get_reg("ip")
        line = f"{format_insn(self.disasm.one(machine.mem, cs, ip)):<48} {register_line(cpu)}\n"
        before = cpu.instructions
        reason = step(machine)
        if cpu.instructions != before:
            self.file.write(line)
            self.count += 1
            self._halt_noted = False
        elif reason == EXIT_HLT:
            if not self._halt_noted:
                self.file.write(f"-- halted at {cs:04X}:{ip:04X}, clock {machine.clock.now}\n")
                self._halt_noted = True
        else:
            self.file.write(f"-- interrupt -> {cpu.get_reg('cs'):04X}:{cpu.get_reg('ip'):04X}\n")
        return reason

    def run(self, max_instructions=None):
        """Trace until ``max_instructions`` instructions ran, the guest asked to
        exit, or the CPU is halted with no timer that could wake it."""
        machine = self.machine
        while max_instructions is None or self.count < max_instructions:
            if machine.board.exit_code is not None:
                break
            now = machine.clock.now
            if self.step() == EXIT_HLT and machine.clock.now == now and machine.cpu.halted:
                break
        return self.count


def run_traced(machine, path, max_instructions=None):
    """Run ``machine`` one instruction at a time, tracing to the file ``path``;
    returns the number of instructions traced."""
    with open(path, "w", encoding="utf-8") as f:
        return Tracer(machine, f).run(max_instructions)
