"""Machine configuration: one validated record that the CLI, TOML files and the
Python API all build.

Every key is checked for type and range here, so a mistake becomes one
:class:`~pyvmm.errors.ConfigError` line naming the key, before anything is opened.
"""
import dataclasses
import datetime as _dt
import tomllib
from typing import Optional

from .errors import ConfigError, read_input_file

CPU_MODELS = ("8086", "8088", "80186", "80286")
DEFAULT_RTC = "2000-01-01T00:00:00"


@dataclasses.dataclass
class MachineConfig:
    cpu: str = "8086"
    memory: int = 640                 # KiB: conventional up to 640, extended above 1024 (286)
    fda: Optional[str] = None
    fdb: Optional[str] = None
    hda: Optional[str] = None
    hdb: Optional[str] = None
    boot: str = "a"                   # drive letters in boot order: "a", "c", "ac", "ca"
    snapshot: bool = False
    serial: Optional[str] = None      # COM1 backend: stdio | file:PATH | tcp:127.0.0.1:PORT
    debug_exit: bool = False
    rtc: str = DEFAULT_RTC            # "now" or an ISO date/time; fixed by default for determinism
    bios: Optional[str] = None        # override images for the system and VGA BIOS
    vgabios: Optional[str] = None

    def __post_init__(self):
        self.validate()

    # -- checking -----------------------------------------------------------------------
    def validate(self):
        _expect(self, "cpu", str)
        if self.cpu not in CPU_MODELS:
            raise ConfigError(f"cpu: unknown model {self.cpu!r} (choose from {', '.join(CPU_MODELS)})")
        _expect(self, "memory", int)
        limit = 640 if self.cpu != "80286" else 15 * 1024 + 1024
        if not 64 <= self.memory <= limit:
            raise ConfigError(f"memory: {self.memory} KiB is out of range for a {self.cpu} (64 to {limit})")
        if 640 < self.memory < 1024:
            raise ConfigError(f"memory: {self.memory} KiB is not possible: up to 640 KiB, "
                              "or 1024 and more for extended memory on an 80286")
        for key in ("fda", "fdb", "hda", "hdb", "serial", "bios", "vgabios"):
            _expect(self, key, str, optional=True)
            if getattr(self, key) == "":
                raise ConfigError(f"{key}: empty value")
        _expect(self, "boot", str)
        if not self.boot or any(c not in "ac" for c in self.boot) or len(set(self.boot)) != len(self.boot):
            raise ConfigError(f"boot: {self.boot!r} is not a boot order (use a, c, ac or ca)")
        _expect(self, "snapshot", bool)
        _expect(self, "debug_exit", bool)
        self.rtc_start()          # raises on a bad time

    def rtc_start(self):
        """The RTC's start time as a naive datetime (local time, as a PC keeps it)."""
        value = self.rtc
        if isinstance(value, _dt.datetime):        # TOML has a datetime type of its own
            when = value
        elif not isinstance(value, str):
            raise ConfigError(f"rtc: expected 'now' or a date and time, not {type(value).__name__}")
        elif value == "now":
            return _dt.datetime.now().replace(microsecond=0)
        else:
            try:
                when = _dt.datetime.fromisoformat(value)
            except ValueError:
                raise ConfigError(f"rtc: {value!r} is not 'now' or a date and time like 2024-05-01T12:00:00") from None
        if not 1980 <= when.year <= 2099:
            raise ConfigError(f"rtc: year {when.year} is outside 1980-2099")
        return when.replace(tzinfo=None, microsecond=0)

    # -- building -----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, values, origin="configuration"):
        names = {f.name for f in dataclasses.fields(cls)}
        clean = {}
        for key, value in values.items():
            name = key.replace("-", "_")
            if name not in names:
                raise ConfigError(f"{origin}: unknown key {key!r} (known: {', '.join(sorted(names))})")
            clean[name] = value
        return cls(**clean)

    @classmethod
    def from_toml(cls, path):
        data = read_input_file(path, "config file")
        try:
            values = tomllib.loads(data.decode("utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"config file {path}: {e}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"config file {path} is not TOML text") from None
        return cls.from_dict(values, origin=str(path))

    def replace(self, **changes):
        """A copy with ``changes`` applied (validated like everything else)."""
        return self.from_dict({**dataclasses.asdict(self), **changes}, origin="Machine options")


def _expect(cfg, key, kind, optional=False):
    value = getattr(cfg, key)
    if value is None and optional:
        return
    # bool is an int in Python; a memory size of True is a mistake
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        want = kind.__name__ + (" or nothing" if optional else "")
        raise ConfigError(f"{key}: expected {want}, not {type(value).__name__} {value!r}")
