"""The curses frontend as a person uses it, in a tmux terminal: FreeDOS boots to its
prompt, typed keys echo and run, a mode 13h picture shows as half blocks in colour,
resizing the terminal redraws, and Ctrl+] quits with status 0."""
import os
import shlex
import shutil
import subprocess
import sys
import time

import pytest

from tests.helpers import ROOT, shared_image

# A 36-byte DOS program (assembled by hand): mode 13h, top half colour 1 (blue), bottom
# half colour 14 (yellow), wait for a key, back to text mode 3.
#   mov ax,13h / int 10h / mov ax,A000h / mov es,ax / xor di,di
#   mov al,1 / mov cx,32000 / rep stosb / mov al,14 / mov cx,32000 / rep stosb
#   xor ax,ax / int 16h / mov ax,3 / int 10h / ret
BARS_COM = bytes.fromhex("B81300CD10B800A08EC031FFB001B9007DF3AAB00EB9007DF3AA31C0CD16B80300CD10C3")


def tmux(*args, check=True):
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=30, check=check)


class Terminal:
    def __init__(self, name):
        self.name = name

    def capture(self, escapes=False):
        return tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", self.name).stdout

    def wait_for(self, predicate, seconds=90, escapes=False):
        """Poll the pane until predicate(text) holds; the last text either way."""
        deadline = time.monotonic() + seconds
        while True:
            text = self.capture(escapes)
            if predicate(text) or time.monotonic() > deadline:
                return text
            time.sleep(0.2)

    def keys(self, *keys):
        tmux("send-keys", "-t", self.name, *keys)

    def alive(self):
        return tmux("has-session", "-t", self.name, check=False).returncode == 0


def start_terminal(tmp_path, disk):
    """pyvmm run --display curses on ``disk`` in a detached 100x30 tmux session."""
    status = tmp_path / "status"
    name = f"pyvmm-test-{os.getpid()}-{disk.stem}"
    command = (f"{shlex.quote(sys.executable)} -m frontend.cli run --display curses --fda {shlex.quote(str(disk))}"
               f" --snapshot; echo $? > {shlex.quote(str(status))}")
    tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "30", "-c", str(ROOT),
         "env", "TERM=xterm-256color", "sh", "-c", command)
    term = Terminal(name)
    term.status = status
    return term


@pytest.fixture
def terminal(tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")
    disk = tmp_path / "a.img"
    shutil.copyfile(shared_image("fdboot-1.4MB.img"), disk)
    disk.chmod(0o644)
    bars = tmp_path / "bars.com"
    bars.write_bytes(BARS_COM)
    subprocess.run([sys.executable, "-m", "frontend.cli", "disk", "put", str(disk), str(bars), "BARS.COM"],
                   cwd=ROOT, check=True, capture_output=True, timeout=60)
    term = start_terminal(tmp_path, disk)
    try:
        yield term
    finally:
        tmux("kill-session", "-t", term.name, check=False)


def s_ends_with_prompt(screen):
    return screen.rstrip().endswith("A:\\>")


def test_a_game_from_freedos722_shows_as_half_blocks(tmp_path):
    """INVADERS from freedos722.img's GAMES folder draws in a graphics mode; the
    terminal shows it as half blocks, and Ctrl+] still quits."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")
    from tests.integration.test_boot import HIMEM_LINE
    data = bytearray(shared_image("freedos722.img").read_bytes())
    data[data.find(HIMEM_LINE)] = ord(";")      # its HIMEMX needs a 386 (see test_boot.py)
    disk = tmp_path / "freedos722.img"
    disk.write_bytes(bytes(data))
    t = start_terminal(tmp_path, disk)
    try:
        # the prompt after AUTOEXEC's last line (FreeCOM empties the key buffer before it)
        screen = t.wait_for(lambda s: "for fun." in s and s.rstrip().endswith("A:\\>"))
        assert s_ends_with_prompt(screen), screen
        time.sleep(1)
        t.keys("cd games", "Enter")
        screen = t.wait_for(lambda s: "A:\\GAMES>" in s, 30)
        assert "A:\\GAMES>" in screen, screen
        t.keys("invaders", "Enter")
        screen = t.wait_for(lambda s: s.count("\u2580") > 1000, 30)
        assert screen.count("\u2580") > 1000, screen
        t.keys("C-]")                                # Ctrl+] ends pyvmm from inside the game
        deadline = time.monotonic() + 30
        while not t.status.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert t.status.exists() and t.status.read_text().strip() == "0", t.capture()
    finally:
        tmux("kill-session", "-t", t.name, check=False)


def test_freedos_at_the_terminal(terminal):
    t = terminal
    screen = t.wait_for(lambda s: s.startswith("A:\\>"))      # AUTOEXEC.BAT ends with CLS
    assert screen.startswith("A:\\>"), screen

    t.keys("ver", "Enter")
    screen = t.wait_for(lambda s: "FreeCom version" in s, 30)
    assert "A:\\>ver" in screen and "FreeCom version" in screen, screen
    assert screen.count("A:\\>") == 2, screen

    t.keys("dir /w", "Enter")
    screen = t.wait_for(lambda s: "bytes free" in s, 30)
    assert "KERNEL.SYS" in screen and "BARS.COM" in screen, screen

    # a graphics mode shows as upper half blocks in the picture's two colours
    t.keys("bars", "Enter")
    screen = t.wait_for(lambda s: "A:\\>" not in s and s.count("\u2580") > 1000, 30)
    assert "A:\\>" not in screen and screen.count("\u2580") > 1000, screen
    blue, yellow = ("\x1b[38;5;19m", "\x1b[34m"), ("\x1b[38;5;228m", "\x1b[93m", "\x1b[33m")
    coloured = t.wait_for(lambda s: any(c in s for c in blue) and any(c in s for c in yellow), 30, escapes=True)
    assert any(c in coloured for c in blue), "no blue half blocks"
    assert any(c in coloured for c in yellow), "no yellow half blocks"
    t.keys("x")
    screen = t.wait_for(lambda s: "A:\\>" in s, 30)
    assert "A:\\>" in screen and "\u2580" not in screen, screen

    # resizing the terminal redraws at the new size; the guest's 80x25 screen is clipped
    tmux("resize-window", "-t", t.name, "-x", "60", "-y", "15")
    screen = t.wait_for(lambda s: len(s.splitlines()) == 15 and "A:\\>" in s, 10)
    lines = screen.splitlines()
    assert len(lines) == 15 and max(len(line) for line in lines) <= 60, screen
    tmux("resize-window", "-t", t.name, "-x", "100", "-y", "30")
    t.keys("echo wide", "Enter")
    screen = t.wait_for(lambda s: "\nwide" in s and len(s.splitlines()) == 30, 10)
    assert "\nwide" in screen, screen

    # Ctrl+] quits; pyvmm exits 0
    t.keys("C-]")
    deadline = time.monotonic() + 30
    while not t.status.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert t.status.exists(), t.capture()
    assert t.status.read_text().strip() == "0"
