import datetime

import pytest

from pyvmm.config import MachineConfig
from pyvmm.errors import ConfigError


@pytest.mark.parametrize("changes, message", [
    ({"cpu": "z80"}, "cpu: unknown model 'z80'"),
    ({"cpu": 8086}, "cpu: expected str"),
    ({"memory": 700}, "memory: 700 KiB is out of range for a 8086"),
    ({"memory": 32}, "memory: 32 KiB is out of range"),
    ({"memory": "640"}, "memory: expected int"),
    ({"memory": True}, "memory: expected int"),
    ({"cpu": "80286", "memory": 800}, "memory: 800 KiB is not possible"),
    ({"boot": "x"}, "boot: 'x' is not a boot order"),
    ({"boot": "aa"}, "boot: 'aa' is not a boot order"),
    ({"boot": ""}, "boot: '' is not a boot order"),
    ({"snapshot": 1}, "snapshot: expected bool"),
    ({"debug_exit": "yes"}, "debug_exit: expected bool"),
    ({"fda": 3}, "fda: expected str or nothing"),
    ({"fda": ""}, "fda: empty value"),
    ({"rtc": "yesterday"}, "rtc: 'yesterday' is not 'now' or a date and time"),
    ({"rtc": "1970-01-01T00:00:00"}, "rtc: year 1970 is outside 1980-2099"),
    ({"rtc": 5}, "rtc: expected 'now' or a date and time"),
])
def test_bad_values_name_the_key(changes, message):
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(")):
        MachineConfig(**changes)


def test_defaults_are_a_640k_8086_booting_a_with_a_fixed_clock():
    cfg = MachineConfig()
    assert (cfg.cpu, cfg.memory, cfg.boot) == ("8086", 640, "a")
    assert cfg.rtc_start() == datetime.datetime(2000, 1, 1)


def test_286_takes_extended_memory():
    assert MachineConfig(cpu="80286", memory=4096).memory == 4096


def test_toml_keys_match_the_options(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('cpu = "80186"\nmemory = 512\ndebug-exit = true\nrtc = "2024-05-01T12:30:00"\n')
    cfg = MachineConfig.from_toml(path)
    assert (cfg.cpu, cfg.memory, cfg.debug_exit) == ("80186", 512, True)
    assert cfg.rtc_start() == datetime.datetime(2024, 5, 1, 12, 30)


@pytest.mark.parametrize("text, message", [
    ('colour = "red"\n', "unknown key 'colour'"),
    ('memory = "lots"\n', "memory: expected int"),
    ('cpu = \n', "m.toml"),
])
def test_bad_toml_gives_one_clear_error(tmp_path, text, message):
    path = tmp_path / "m.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        MachineConfig.from_toml(path)


def test_missing_or_binary_toml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        MachineConfig.from_toml(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="is a directory"):
        MachineConfig.from_toml(tmp_path)
    bad = tmp_path / "bin.toml"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError):
        MachineConfig.from_toml(bad)
