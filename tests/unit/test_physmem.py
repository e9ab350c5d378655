import numpy as np
import pytest

from pyvmm.errors import BusConflict, ConfigError
from pyvmm.mem import KIND_MMIO, KIND_RAM, PhysMem


def test_ram_rom_and_empty_pages():
    mem = PhysMem()
    mem.map_ram(0, 0xA0000)
    mem.map_rom(0xF0000, bytes(range(256)) * 256)
    mem.write(0x1000, b"hello")
    assert mem.read(0x1000, 5) == b"hello"
    mem.write8(0xF0001, 0x99)            # ROM ignores writes
    assert mem.read8(0xF0001) == 1
    assert mem.read8(0xC8000) == 0xFF    # nothing mapped
    mem.write8(0xC8000, 0)
    assert mem.read8(0xC8000) == 0xFF
    assert mem.kind[0] == KIND_RAM


def test_mmio_gets_absolute_addresses():
    mem = PhysMem()
    log = []
    mem.map_mmio(0xA0000, 0x20000, lambda a: a & 0xFF, lambda a, v: log.append((a, v)), owner="vga")
    assert mem.kind[0xA0] == KIND_MMIO
    assert mem.read8(0xA0123) == 0x23
    mem.write(0xBFFFF, b"\x01")
    assert log == [(0xBFFFF, 1)]
    assert mem.read(0xA0010, 2) == b"\x10\x11"


def test_overlap_and_misalignment_are_refused():
    mem = PhysMem()
    mem.map_ram(0, 0xA0000)
    with pytest.raises(BusConflict):
        mem.map_rom(0x9F000, bytes(0x2000))
    with pytest.raises(ConfigError):
        mem.map_ram(0xA0800, 0x1000)


def test_a20_gate_folds_bit_20_only_when_off():
    mem = PhysMem(1 << 24)
    mem.map_ram(0, 0x200000)
    mem.write8(0x100005, 7)
    assert mem.read8(0x100005) == 7
    mem.set_a20(False)
    assert mem.addr_mask == 0xEFFFFF
    mem.write8(0x100005, 9)               # lands at 0x000005
    assert mem.read8(0x5) == 9
    mem.set_a20(True)
    assert mem.read8(0x100005) == 7


def test_buffer_is_shared_with_numpy_views():
    mem = PhysMem()
    mem.map_ram(0, 0x10000)
    view = mem.data[0x100:0x104]
    mem.write(0x100, b"\x01\x02\x03\x04")
    assert np.array_equal(view, [1, 2, 3, 4])
