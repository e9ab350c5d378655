"""Debugging tools for a Machine.

* :mod:`.disasm` – 16-bit disassembly of guest memory (capstone);
* :mod:`.trace` – one line per executed instruction (``run_traced``);
* :mod:`.monitor` – an interactive DEBUG/Bochs-style command loop (``Monitor``);
* :mod:`.gdbstub` – a GDB remote-protocol server (``GdbStub``);
* :mod:`.control` – the stepping/run loop and the port and memory-write watches
  they share.
"""
