"""The pyvmm command as a user meets it: scripted headless runs and clear errors."""
import os
import subprocess
import sys

import pytest

from tests.helpers import shared_image

PYVMM = [sys.executable, "-m", "pyvmm.frontend.cli"]


def pyvmm(*args, timeout=300):
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    return subprocess.run(PYVMM + list(args), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=env)


def test_version():
    r = pyvmm("--version")
    assert r.returncode == 0 and r.stdout.startswith("pyvmm ")


def test_scripted_boot_types_ver_and_prints_the_screen():
    # FreeCOM's plain VER names only the shell; /R adds the DOS and kernel versions.
    image = shared_image("fdboot-1.4MB.img")
    r = pyvmm("run", "--fda", str(image), "--display", "none", "--wait", "A:\\>",
              "--type", "ver /r\\n", "--wait", "FreeDOS", "--print-screen")
    assert r.returncode == 0, r.stderr
    after = r.stdout.split("A:\\>ver /r", 1)[1]
    assert "FreeCom version" in after and "FreeDOS kernel" in after


def test_timeout_exits_1_with_the_screen_on_stderr():
    image = shared_image("fdboot-1.4MB.img")
    r = pyvmm("run", "--fda", str(image), "--display", "none", "--wait", "A:\\>",
              "--wait", "this text never appears", "--timeout", "5")
    assert r.returncode == 1
    assert "timed out" in r.stderr and "A:\\>" in r.stderr


def test_same_command_gives_the_same_screen():
    image = shared_image("fdboot-1.4MB.img")
    args = ("run", "--fda", str(image), "--display", "none", "--wait", "A:\\>",
            "--type", "dir\\n", "--sleep", "1", "--print-screen")
    first, second = pyvmm(*args), pyvmm(*args)
    assert first.returncode == 0 and first.stdout == second.stdout


@pytest.mark.parametrize("args, message", [
    (("run", "--cpu", "z80"), "cpu: unknown model 'z80'"),
    (("run", "--memory", "lots"), "'lots' is not a whole number of KiB"),
    (("run", "--memory", "4096"), "memory: 4096 KiB is out of range for a 8086"),
    (("run", "--boot", "z"), "boot: 'z' is not a boot order"),
    (("run", "--display", "tv"), "invalid choice: 'tv'"),
    (("run", "--rtc", "noon"), "rtc: 'noon' is not 'now' or a date and time"),
    (("run", "--sleep", "x"), "'x' is not a number of seconds"),
    (("run", "--timeout", "-1"), "'-1' seconds is out of range"),
    (("run", "--serial", "carrier-pigeon"), "serial"),
    (("run", "--fda", "/nonexistent.img"), "/nonexistent.img"),
    (("run", "--hda", "/"), "/"),
    (("run", "--config", "/nonexistent.toml"), "config file /nonexistent.toml does not exist"),
    (("run", "--bios", "/etc/hostname"), "/etc/hostname"),
    (("run", "--frobnicate"), "unrecognized arguments: --frobnicate"),
    (("launch",), "invalid choice: 'launch'"),
])
def test_bad_options_give_one_line_and_status_2(args, message):
    r = pyvmm(*args, "--display", "none") if args[0] == "run" else pyvmm(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr
