"""The debug tools on a whole Machine booting the built-in floppy: the boot sector
is loaded at 0000:7C00 by our BIOS, which is where these tests stop."""
import io
import re
import shutil
import subprocess
import threading

import pytest

from pyvmm.debug.gdbstub import GdbStub
from pyvmm.debug.monitor import Monitor
from pyvmm.debug.trace import run_traced


@pytest.fixture
def machine():
    from pyvmm.errors import ImageError
    from pyvmm.machine import Machine
    try:
        m = Machine()
    except (ImageError, ModuleNotFoundError) as e:
        pytest.skip(f"no bootable Machine (firmware or default disk missing): {e}")
    with m:
        yield m


def test_monitor_stops_at_the_boot_sector(machine):
    out = io.StringIO()
    script = "b 0:7c00\nc\ndev\nd 0:7dfe 2\nq\n"
    Monitor(machine, io.StringIO(script), out).run()
    text = out.getvalue()
    assert "breakpoint 1 at 0000:7C00" in text
    assert (machine.registers.cs, machine.registers.ip) == (0, 0x7C00)
    assert "0000:7DFE  55 AA" in text                    # the boot signature
    # POST programmed the 8259 pair with the PC/AT vector bases
    assert "PIC master" in text and "vectors 08-0F" in text
    assert "PIC slave" in text and "vectors 70-77" in text
    assert re.search(r"PIT 0  mode [23]", text)


def test_trace_from_reset(machine, tmp_path):
    path = tmp_path / "boot.trace"
    assert run_traced(machine, str(path), max_instructions=300) == 300
    lines = [line for line in path.read_text().splitlines() if not line.startswith("--")]
    assert len(lines) == 300
    assert lines[0].startswith("F000:FFF0  EA")          # the reset vector's far jump
    assert all(re.match(r"[0-9A-F]{4}:[0-9A-F]{4}  [0-9A-F]+ +\S", line) for line in lines)


@pytest.mark.skipif(shutil.which("gdb") is None, reason="the gdb binary is not installed (Debian package gdb)")
def test_gdb_breaks_at_the_boot_sector(machine):
    stub = GdbStub(machine, 0)
    thread = threading.Thread(target=stub.serve, daemon=True)
    thread.start()
    try:
        out = subprocess.run(
            ["gdb", "-nx", "-batch",
             "-ex", "set architecture i8086",
             "-ex", f"target remote 127.0.0.1:{stub.port}",
             "-ex", "break *0x7c00",
             "-ex", "continue",
             "-ex", "info registers eip cs",
             "-ex", "x/2xb 0x7dfe",
             "-ex", "stepi",
             "-ex", "info registers eip",
             "-ex", "kill"],
            capture_output=True, text=True, timeout=120)
    finally:
        stub.close()
    thread.join(5)
    text = out.stdout + out.stderr
    eips = [int(v, 16) for v in re.findall(r"^eip\s+0x([0-9a-f]+)", text, re.M)]
    assert eips[0] == 0x7C00, text
    assert re.search(r"^cs\s+0x0\b", text, re.M), text
    assert re.search(r"0x7dfe:\s+0x55\s+0xaa", text), text
    assert len(eips) == 2 and eips[1] != 0x7C00, text    # stepped off the first instruction
