"""Save states round-trip the whole machine, and every device keeps all of its
behaviour in its state."""
import hashlib
import os
import types

import numpy as np
import pytest

from pyvmm.errors import StateError
from pyvmm.machine import Machine
from tests.helpers import shared_image


def machine_hash(m):
    h = hashlib.sha256()
    h.update(m.memory.tobytes())
    h.update(m.vga.get_state()["planes"] if "planes" in m.vga.get_state() else b"")
    h.update(repr(sorted(m.cpu.get_state().items())).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def booted(tmp_path_factory):
    m = Machine(fda=str(shared_image("fdboot-1.4MB.img")), snapshot=True)
    assert m.wait_for_text("A:\\>", timeout=120)
    m.queue_text("dir\n")             # keys still in flight are part of the state
    m.run(seconds=0.05)
    yield m
    m.close()


def test_save_run_load_run_gives_the_same_machine(booted, tmp_path):
    path = tmp_path / "s.state"
    booted.save_state(str(path))
    booted.run(cycles=3_000_000)
    after_first = machine_hash(booted)
    screen_first = booted.screen_text()
    booted.load_state(str(path))
    booted.run(cycles=3_000_000)
    assert machine_hash(booted) == after_first
    assert booted.screen_text() == screen_first


def test_state_loads_into_a_fresh_machine_of_the_same_configuration(booted, tmp_path):
    path = tmp_path / "s.state"
    booted.save_state(str(path))
    with Machine(fda=str(shared_image("fdboot-1.4MB.img")), snapshot=True) as other:
        other.load_state(str(path))
        booted.run(cycles=1_000_000)
        other.run(cycles=1_000_000)
        assert machine_hash(other) == machine_hash(booted)


@pytest.mark.parametrize("damage", ["truncate", "flip", "version", "garbage", "empty"])
def test_bad_state_files_raise_and_leave_the_machine_untouched(booted, tmp_path, damage):
    path = tmp_path / "s.state"
    booted.save_state(str(path))
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[:len(data) // 2]
    elif damage == "flip":
        data[len(data) // 2] ^= 0x10
    elif damage == "version":
        data[8] = 99
    elif damage == "garbage":
        data = bytearray(os.urandom(4096))
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    before = machine_hash(booted)
    with pytest.raises(StateError):
        booted.load_state(str(path))
    assert machine_hash(booted) == before


def test_state_from_another_configuration_is_refused(booted, tmp_path):
    path = tmp_path / "s.state"
    booted.save_state(str(path))
    with Machine(fda=str(shared_image("fdboot-1.4MB.img")), snapshot=True, cpu="80186") as other:
        with pytest.raises(StateError, match="another configuration"):
            other.load_state(str(path))


from pyvmm.bus import IrqLine
from pyvmm.clock import Timer
from pyvmm.storage.image import DiskImage

# Fields that are caches derived from the state, not state: (class, field) -> why.
DERIVED = {
    ("VGA", "regs_gen"): "render-cache generation counter; any change just re-renders",
    ("FDC82077", "_dma_bound"): "whether its DMA handler is registered yet: wiring, redone on demand",
}


def _is_wiring(value):
    """References to other parts of the machine (timers, images, callbacks)."""
    if isinstance(value, (Timer, DiskImage)) or callable(value):
        return True
    if isinstance(value, (list, tuple)):
        return bool(value) and all(v is None or _is_wiring(v) for v in value)
    if isinstance(value, dict):
        return bool(value) and all(v is None or _is_wiring(v) for v in value.values())
    return False


def _same(a, b, seen=None):
    seen = set() if seen is None else seen
    if id(a) in seen:           # a back-reference (e.g. keyboard -> controller)
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y, seen) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], seen) for k in a)
    if isinstance(a, (bytes, bytearray)) and isinstance(b, (bytes, bytearray)):
        return bytes(a) == bytes(b)
    if isinstance(a, IrqLine) and isinstance(b, IrqLine):
        return a.level == b.level          # the edge counter is a statistic
    if type(a) is type(b) and (hasattr(a, "__dict__") or _fields(a)) and not _is_wiring(a):
        seen.add(id(a))
        return _same(_plain_fields(a), _plain_fields(b), seen)
    return a == b


def _fields(obj):
    """Instance attributes: the __dict__ of a Python object, the ``cdef public``
    fields (getset descriptors on the type) of a compiled one."""
    fields = dict(vars(obj)) if hasattr(obj, "__dict__") else {}
    for cls in type(obj).__mro__:
        for k, d in vars(cls).items():
            if isinstance(d, types.GetSetDescriptorType) and not k.startswith("__"):
                fields.setdefault(k, getattr(obj, k))
    return fields


def _plain_fields(obj):
    return {k: v for k, v in _fields(obj).items()
            if not _is_wiring(v) and k not in ("board", "clock", "io", "mem")}


def test_every_device_field_survives_its_state(booted):
    """Fails when a device forgets a field in get_state: restoring a booted machine's
    device state into a freshly built machine must reproduce every plain-data field."""
    with Machine(fda=str(shared_image("fdboot-1.4MB.img")), snapshot=True) as fresh:
        fresh.clock.set_state(booted.clock.get_state())
        missing = []
        for mine, theirs in zip(booted.board.devices, fresh.board.devices):
            theirs.set_state(mine.get_state())
            want, got = _plain_fields(mine), _plain_fields(theirs)
            for name in want:
                if (type(mine).__name__, name) in DERIVED:
                    continue
                if not _same(want[name], got.get(name)):
                    missing.append(f"{type(mine).__name__}.{name}")
        assert not missing, "fields not carried by get_state/set_state: " + ", ".join(missing)
