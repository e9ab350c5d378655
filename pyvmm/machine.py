"""A whole PC/AT: the board, the chipset, the CPU and the firmware, assembled from a
:class:`~pyvmm.config.MachineConfig`, with the public API that frontends, tests and
scripts use (ARCHITECTURE.md: "pyvmm.Machine").
"""
from importlib import resources
from typing import Callable, Optional

import numpy as np

from . import cp437
from .board import Board
from .clock import NEVER
from .config import MachineConfig
from .errors import ConfigError, ImageError, read_input_file

ROM_BASE = 0xF0000
VGA_ROM_BASE = 0xC0000


def _read_rom(path, name, size=None):
    if path is None:        # the built-in image, shipped in the package
        try:
            data = (resources.files("pyvmm.roms") / name).read_bytes()
        except FileNotFoundError:
            raise ImageError(f"ROM image {name} does not exist (rebuild with roms/build.py)") from None
    else:
        data = read_input_file(path, "ROM image", ImageError)
    if size is not None and len(data) != size:
        raise ImageError(f"ROM image {path or name} is {len(data)} bytes; a system BIOS must be exactly {size}")
    if size is None and (len(data) == 0 or len(data) % 512 or len(data) > 0x10000
                         or data[:2] != b"\x55\xaa"):
        raise ImageError(f"ROM image {path or name} is not an option ROM "
                         "(55AAh header, a multiple of 512 bytes, at most 64 KiB)")
    return data


def drive_type_for(image):
    """The drive a PC would have for this diskette (a 1.44M drive when empty)."""
    if image is None:
        return "1.44M"
    cylinders, heads, sectors = image.geometry
    if cylinders <= 42:
        return "360K"
    if sectors <= 9:
        return "720K"
    if sectors == 15:
        return "1.2M"
    if sectors >= 36:
        return "2.88M"
    return "1.44M"


def default_disk_path():
    """The built-in first-contact floppy that boots when no disk is given."""
    return str(resources.files("pyvmm.roms") / "default.img")


class Machine:
    """A PC/AT you can run, look at, type into and inspect from Python.

    ``Machine(fda="freedos.img", cpu="8086", snapshot=True)`` takes the keys of
    :class:`~pyvmm.config.MachineConfig` (or ``config=MachineConfig(...)``).  Use it
    as a context manager so disk images are flushed and closed.
    """

    def __init__(self, config: Optional[MachineConfig] = None, **options):
        if config is None:
            config = MachineConfig.from_dict(options, origin="Machine options")
        elif options:
            config = config.replace(**options)
        self.config = config
        self._images = []
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    # -- assembly -----------------------------------------------------------------------
    def _build(self):
        from .cpu import CPU
        from .devices.debugports import DebugConsole, DebugExit, PostPort
        from .devices.dma8237 import DMAController
        from .devices.kbc8042 import KBC8042
        from .devices.pic8259 import DualPIC
        from .devices.pit8254 import PIT8254
        from .devices.rtc146818 import RTC146818
        from .devices.sysctrl import SystemControl
        from .devices.uart16550 import UART16550
        from .devices.fdc82077 import FDC82077
        from .devices.ata import ATAController
        from .devices.vga import VGA
        from .devices.serialhost import parse_serial_spec

        cfg = self.config
        extended = cfg.cpu == "80286"
        board = self.board = Board(address_space=(1 << 24) if extended else (1 << 20))
        self.clock, self.mem, self.io = board.clock, board.mem, board.io
        mem = board.mem
        conventional = min(cfg.memory, 640)
        mem.map_ram(0, conventional * 1024)
        if cfg.memory > 1024:
            mem.map_ram(1 << 20, (cfg.memory - 1024) * 1024)

        bios = _read_rom(cfg.bios, "bios.bin", size=0x10000)
        mem.map_rom(ROM_BASE, bios)
        if extended:   # the 286 fetches its first instructions from the top of 16 MiB
            mem.map_rom((1 << 24) - 0x10000, bios, owner="rom-alias")
        vgabios = _read_rom(cfg.vgabios, "vgabios.bin")
        mem.map_rom(VGA_ROM_BASE, vgabios + bytes(-len(vgabios) % 4096), owner="vga-rom")

        self.pic = board.attach(DualPIC())
        self.pit = board.attach(PIT8254())
        self.sysctrl = board.attach(SystemControl())
        self.dma = board.attach(DMAController())
        self.rtc = board.attach(RTC146818(start_time=cfg.rtc_start()))
        self.kbc = board.attach(KBC8042())
        self.vga = board.attach(VGA())
        self.post = board.attach(PostPort())
        board.attach(DebugConsole())
        if cfg.debug_exit:
            board.attach(DebugExit())
        floppies = [cfg.fda, cfg.fdb]
        if not any((cfg.fda, cfg.fdb, cfg.hda, cfg.hdb)):
            floppies[0] = default_disk_path()
        images = [None if path is None else
                  self._open(path, "floppy", cfg.snapshot or path == default_disk_path())
                  for path in floppies]
        self.fdc = board.attach(FDC82077(drives=tuple(drive_type_for(img) for img in images)))
        for drive, image in enumerate(images):
            if image is not None:
                self.fdc.insert(drive, image)
        self.ata = [board.attach(ATAController(channel=0)), board.attach(ATAController(channel=1))]
        for unit, path in enumerate((cfg.hda, cfg.hdb)):
            if path is not None:
                self.ata[0].attach_disk(unit, self._open(path, "hd", cfg.snapshot))

        # Last of the inputs: a file: backend creates its file, so only once all else is valid.
        backend = parse_serial_spec(cfg.serial) if cfg.serial else None
        self.serial = [board.attach(UART16550(base=0x3F8, irq=4, backend=backend)),
                       board.attach(UART16550(base=0x2F8, irq=3))]

        self.rtc.set_config(base_kb=conventional, ext_kb=max(0, cfg.memory - 1024),
                            floppies=tuple(self.fdc.cmos_drive_type(d) for d in (0, 1)),
                            hard_disks=tuple(self.ata[0].cmos_disk(u) for u in (0, 1)),
                            boot_order=cfg.boot)

        self.cpu = CPU(mem, board.io, board.clock, model=cfg.cpu)
        board.cpu = self.cpu
        self._typing = []
        self._type_interval = 1
        self._typist = board.clock.timer("machine.typist", self._type_next)
        self.cpu.attach_vga(self.vga.mem)      # VGA memory accesses stay in C
        self.cpu.intack = self.pic.acknowledge
        # the AT decodes the 286's shutdown cycle (a triple fault) into a CPU reset
        self.cpu.on_shutdown = lambda: board.request_reset("cpu")
        self.pic.on_intr = self.cpu.set_intr
        self.cpu.reset()

    def _open(self, path, kind, snapshot):
        from .storage.image import DiskImage
        image = DiskImage.open(path, kind=kind, snapshot=snapshot)
        self._images.append(image)
        return image

    # -- running ------------------------------------------------------------------------
    def run(self, cycles: Optional[int] = None, seconds: Optional[float] = None) -> bool:
        """Run for ``cycles`` clock cycles or ``seconds`` of virtual time (one of them).
        Returns True if it ended early: a breakpoint, ``cpu.stop()`` or a guest exit."""
        if (cycles is None) == (seconds is None):
            raise ValueError("give exactly one of cycles= or seconds=")
        if seconds is not None:
            cycles = self.clock.cycles_from_seconds(seconds)
        if cycles < 0:
            raise ValueError("cannot run backwards")
        return self._run_to(self.clock.now + int(cycles))

    def _run_to(self, end):
        from .cpu import EXIT_BREAK, EXIT_HLT, EXIT_STOP
        board, clock, cpu = self.board, self.clock, self.cpu
        for uart in self.serial:           # bring host input (stdin, TCP) to the guest
            uart.poll()
        while clock.now < end:
            if board.exit_code is not None:
                return True
            if board.reset_requested is not None:
                self._reset(board.reset_requested)
            reason = cpu.run(end - clock.now)
            if reason == EXIT_HLT and cpu.halted:
                # Nothing to do until the next timer: jump the clock there.
                clock.now = max(clock.now, min(clock.deadline, end))
            clock.fire_due()
            if reason == EXIT_BREAK or reason == EXIT_STOP:
                return True
        return board.exit_code is not None

    def run_until(self, predicate: Callable[["Machine"], bool], timeout: float = 60.0,
                  poll: float = 0.01) -> bool:
        """Run until ``predicate(machine)`` is true, checking every ``poll`` virtual
        seconds; give up after ``timeout`` virtual seconds.  Returns whether it held."""
        end = self.clock.now + self.clock.cycles_from_seconds(timeout)
        step = max(1, self.clock.cycles_from_seconds(poll))
        while True:
            if predicate(self):
                return True
            if self.clock.now >= end or self.board.exit_code is not None:
                return False
            self._run_to(min(end, self.clock.now + step))

    def wait_for_text(self, text: str, timeout: float = 60.0) -> bool:
        """Run until ``text`` appears on the text screen."""
        return self.run_until(lambda m: text in "\n".join(m.screen_text()), timeout)

    def step(self) -> None:
        """Execute exactly one instruction (or enter one interrupt)."""
        self.cpu.step()
        self.clock.fire_due()

    def reset(self) -> None:
        """Press the reset button: every chip and the CPU to power-on state."""
        self._reset("hard")

    def _reset(self, kind):
        self.board.reset_requested = None
        if kind == "hard":
            for device in self.board.devices:
                device.reset(kind)
        self.cpu.reset()

    @property
    def exit_code(self) -> Optional[int]:
        """The status the guest asked for through the debug-exit port, else None."""
        return self.board.exit_code

    # -- screen -------------------------------------------------------------------------
    def screen_cells(self):
        """``(chars, attrs, cursor)``: uint8 arrays [rows, cols] and the cursor
        ``(row, col, visible)``; in graphics modes the arrays are empty."""
        return self.vga.text_cells()

    def screen_text(self) -> list:
        """The text screen as one str per row (CP437 glyphs as Unicode)."""
        chars, _attrs, _cursor = self.vga.text_cells()
        return [cp437.decode(bytes(row)) for row in chars]

    def screenshot(self) -> np.ndarray:
        """The displayed picture as an RGB uint8 array (height, width, 3)."""
        return self.vga.render()

    def save_screenshot(self, path: str) -> None:
        from .png import write_png
        try:
            write_png(path, self.screenshot())
        except OSError as e:
            raise ImageError(f"cannot write screenshot {path}: {e.strerror}") from None

    # -- input --------------------------------------------------------------------------
    def press(self, key: str) -> None:
        """Press the key named ``key`` (names in :mod:`pyvmm.devices.keys`)."""
        self.kbc.key_down(key)

    def release(self, key: str) -> None:
        self.kbc.key_up(key)

    def type_text(self, text: str, interval: float = 0.02) -> None:
        """Type ``text`` as a person would and run the machine until it is typed: one
        key event every ``interval`` virtual seconds ("\\n" is Enter, "{F1}" names a
        special key)."""
        self.queue_text(text, interval)
        while self._typing and self.board.exit_code is None:
            self._run_to(self._typist.deadline or self.clock.now)

    def queue_text(self, text: str, interval: float = 0.02) -> None:
        """Queue ``text`` to be typed while the machine runs (see :meth:`type_text`)."""
        from .devices.keys import text_to_keys
        for name, shifted in text_to_keys(text):
            if shifted:
                self._typing.append(("LSHIFT", True))
            self._typing += [(name, True), (name, False)]
            if shifted:
                self._typing.append(("LSHIFT", False))
        self._type_interval = max(1, self.clock.cycles_from_seconds(interval))
        if self._typing and not self._typist.active:
            self._typist.set_in(self._type_interval)

    @property
    def typing(self) -> bool:
        """True while queued keys are still being typed."""
        return bool(self._typing)

    def _type_next(self):
        key, down = self._typing.pop(0)
        (self.kbc.key_down if down else self.kbc.key_up)(key)
        if self._typing:
            self._typist.set_in(self._type_interval)

    def mouse_move(self, dx: int, dy: int, buttons: int = 0) -> None:
        """Move the PS/2 mouse by (dx, dy) pixels (y down) with buttons bit 0 left,
        bit 1 right, bit 2 middle."""
        self.kbc.mouse_move(dx, -dy, buttons)

    def speaker_frequency(self) -> float:
        """The PC speaker's tone in Hz right now (0 when silent)."""
        hz, _mode = self.pit.speaker_frequency()
        return hz if self.sysctrl.speaker_on() else 0.0

    # -- memory and registers --------------------------------------------------------------
    @property
    def memory(self) -> np.ndarray:
        """The physical address space as a writable uint8 array (ROM included; writes
        to it bypass the ROM protection)."""
        return self.mem.data

    def read(self, addr: int, n: int) -> bytes:
        return self.mem.read(addr, n)

    def write(self, addr: int, data: bytes) -> None:
        self.mem.write(addr, data)

    @property
    def registers(self):
        return _Registers(self.cpu)

    # -- save states --------------------------------------------------------------------
    def save_state(self, path: str) -> None:
        """Write the whole machine (CPU, devices, RAM, VRAM, pending timers, disk
        overlays) to ``path``; see :mod:`pyvmm.state.snapshot` for the format."""
        from .state.snapshot import encode
        data = encode(self._collect_state())
        tmp = f"{path}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        import os
        os.replace(tmp, path)

    def load_state(self, path: str) -> None:
        """Restore a state saved by :meth:`save_state` on a machine of the same
        configuration.  A bad file raises StateError and leaves this machine as it was."""
        from .errors import StateError
        from .state.snapshot import decode
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise StateError(f"cannot read state file {path}: {e.strerror}") from None
        parts = decode(data, what=f"state file {path}")
        backup = self._collect_state()
        try:
            self._apply_state(parts)
        except StateError:
            self._apply_state(backup, check=False)
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as e:
            self._apply_state(backup, check=False)
            raise StateError(f"state file {path} does not fit this machine: {type(e).__name__}: {e}") from None

    def _device_keys(self):
        return [f"{i}:{device.name}" for i, device in enumerate(self.board.devices)]

    def _collect_state(self):
        board = self.board
        return {
            "machine": {"cpu": self.config.cpu, "memory": self.config.memory,
                        "devices": self._device_keys(),
                        "typing": [list(e) for e in self._typing], "type_interval": self._type_interval,
                        "reset_requested": board.reset_requested, "exit_code": board.exit_code},
            "cpu": self.cpu.get_state(),
            "clock": self.clock.get_state(),
            "memory": {"data": self.mem.data.tobytes(), "a20": self.mem.a20_enabled},
            "devices": {key: device.get_state() for key, device in zip(self._device_keys(), board.devices)},
            "overlays": [image.get_overlay() for image in self._images],
        }

    def _apply_state(self, parts, check=True):
        from .errors import StateError
        info = parts["machine"]
        if (info["cpu"], info["memory"], info["devices"]) != (self.config.cpu, self.config.memory, self._device_keys()):
            raise StateError("the state was saved from a machine with another configuration "
                             f"(cpu {info['cpu']}, {info['memory']} KiB, {len(info['devices'])} devices)")
        if len(parts["overlays"]) != len(self._images):
            raise StateError("the state was saved with another set of disk images")
        if check:   # every part before anything changes (the backup needs no check)
            _check_shape(self.cpu.get_state(), parts["cpu"], "cpu")
            _check_shape(self.clock.get_state(), parts["clock"], "clock")
            for key, device in zip(self._device_keys(), self.board.devices):
                _check_shape(device.get_state(), parts["devices"][key], key)
        data = parts["memory"]["data"]
        if len(data) != self.mem.size:
            raise StateError("the state's memory size does not match this machine")
        self.mem.data[:] = np.frombuffer(data, dtype=np.uint8)
        self.mem.set_a20(parts["memory"]["a20"])
        self.clock.set_state(parts["clock"])    # first: devices read the time as they load
        for key, device in zip(self._device_keys(), self.board.devices):
            device.set_state(parts["devices"][key])
        for image, overlay in zip(self._images, parts["overlays"]):
            image.set_overlay(overlay)
        self.cpu.set_state(parts["cpu"])
        self._typing = [tuple(e) for e in info["typing"]]
        self._type_interval = info["type_interval"]
        self.board.reset_requested = info["reset_requested"]
        self.board.exit_code = info["exit_code"]

    # -- disks --------------------------------------------------------------------------
    def insert_floppy(self, drive: int, path: str, snapshot: Optional[bool] = None) -> None:
        """Put the image at ``path`` in floppy drive 0 (A:) or 1 (B:), raising the
        disk-change line as swapping a real diskette does."""
        if drive not in (0, 1):
            raise ConfigError(f"floppy drive {drive} does not exist (0 is A:, 1 is B:)")
        image = self._open(path, "floppy", self.config.snapshot if snapshot is None else snapshot)
        self.eject_floppy(drive)
        self.fdc.insert(drive, image)

    def floppy_path(self, drive: int) -> Optional[str]:
        """The image file in floppy drive 0 (A:) or 1 (B:), or None when empty."""
        image = self.fdc.images[drive]
        return None if image is None else image.path

    def eject_floppy(self, drive: int) -> None:
        old = self.fdc.eject(drive)
        if old is not None:
            old.close()
            self._images.remove(old)

    def flush(self) -> None:
        for image in self._images:
            image.flush()

    def close(self) -> None:
        """Flush and close every disk image."""
        images, self._images = self._images, []
        for image in images:
            image.close()
        for uart in getattr(self, "serial", ()):
            uart.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _check_shape(current, loaded, where):
    """Refuse a state part whose structure differs from what this machine produces:
    same keys, and the same kind of value at each place (a hostile or hand-edited
    state must fail to load, not crash the machine later)."""
    from .errors import StateError
    if isinstance(current, dict):
        if not isinstance(loaded, dict):
            raise StateError(f"state: {where} should be a table")
        if where.endswith("timers"):       # armed timers vary; names are checked by the clock
            return
        if set(current) != set(loaded):
            raise StateError(f"state: {where} has keys {sorted(map(str, set(loaded) ^ set(current)))} "
                             "that do not fit this machine")
        for key in current:
            _check_shape(current[key], loaded[key], f"{where}.{key}")
    elif isinstance(current, (list, tuple)):
        if not isinstance(loaded, (list, tuple)):
            raise StateError(f"state: {where} should be a list")
        for i, item in enumerate(loaded[:len(current)]):   # queues may be longer or shorter
            _check_shape(current[i], item, f"{where}[{i}]")
    elif current is None:
        return                                 # an optional field: any kind when set
    elif isinstance(current, bool):
        if not (loaded is None or isinstance(loaded, (bool, int))):
            raise StateError(f"state: {where} should be a flag")
    elif isinstance(current, int):
        if not isinstance(loaded, int) and not (loaded is None):
            raise StateError(f"state: {where} should be a number")
    elif isinstance(current, float):
        if not isinstance(loaded, (int, float)):
            raise StateError(f"state: {where} should be a number")
    elif isinstance(current, (bytes, bytearray)):
        if not isinstance(loaded, (bytes, bytearray)):
            raise StateError(f"state: {where} should be bytes")
    elif isinstance(current, str):
        if not isinstance(loaded, str):
            raise StateError(f"state: {where} should be text")


class _Registers:
    """``machine.registers.ax`` / ``machine.registers["cs"] = 0x1000``."""

    def __init__(self, cpu):
        object.__setattr__(self, "_cpu", cpu)

    def __getitem__(self, name):
        return self._cpu.get_reg(name)

    def __setitem__(self, name, value):
        self._cpu.set_reg(name, value)

    __getattr__ = __getitem__

    def __setattr__(self, name, value):
        self._cpu.set_reg(name, value)
