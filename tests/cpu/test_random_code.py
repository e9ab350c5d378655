"""Random bytes as code: whatever the stream holds, the core must keep running,
return from run() with an EXIT code and keep its registers in range."""
import numpy as np
import pytest

from pyvmm.cpu import EXIT_BUDGET, EXIT_HLT, EXIT_STOP
from tests.cpu.cpurig import Machine

HANDLER_SEG = 0xF000


@pytest.mark.parametrize("model", ["8086", "80186", "80286"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_byte_stream_never_crashes(model, seed):
    rng = np.random.default_rng(seed)
    m = Machine(model)
    m.mem.data[:] = rng.integers(0, 256, size=m.mem.size, dtype=np.uint8)
    # every vector leads to a HLT; the loop below wakes the CPU and goes on
    for v in range(256):
        m.mem.write(v * 4, (v * 2).to_bytes(2, "little") + HANDLER_SEG.to_bytes(2, "little"))
    m.mem.write((HANDLER_SEG << 4), b"\xF4\xCF" * 256)          # hlt; iret
    cpu = m.cpu
    for name in ("cs", "ds", "es", "ss", "ip", "sp", "ax", "bx", "cx", "dx", "si", "di", "bp"):
        cpu.set_reg(name, int(rng.integers(0, 0x10000)))
    for _ in range(40):
        reason = cpu.run(5000)
        assert reason in (EXIT_BUDGET, EXIT_HLT, EXIT_STOP)
        if reason == EXIT_HLT:
            cpu.halted = False
        if rng.random() < 0.3:
            # jump somewhere new now and then, as a stray far jump would
            cpu.cs, cpu.ip = int(rng.integers(0, 0x10000)), int(rng.integers(0, 0x10000))
        for name in ("ip", "sp", "ax", "cs", "flags"):
            assert 0 <= cpu.get_reg(name) <= 0xFFFF
    assert cpu.instructions > 0
