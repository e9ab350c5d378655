"""The SDL window as a person uses it, under a private Xvfb server: FreeDOS boots in the
window, keys arrive as SDL key events, what the X server shows matches the machine's
picture, the picture keeps 4:3 at whole scales when the window is resized, and closing
the window flushes the disks and ends pyvmm with status 0."""
import ctypes
import ctypes.util
import os
import select
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from pyvmm.machine import Machine
from pyvmm.png import read_png
from tests.helpers import ROOT, shared_image

ARTIFACTS = ROOT / "build" / "test-artifacts"
SCREEN_W, SCREEN_H = 1280, 1024


@pytest.fixture(scope="module")
def xvfb():
    """A private X server; its display number is chosen by Xvfb itself (-displayfd)."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    pytest.importorskip("sdl2", reason="PySDL2 is not installed")
    rfd, wfd = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(wfd), "-screen", "0", f"{SCREEN_W}x{SCREEN_H}x24",
                             "-nolisten", "tcp"], pass_fds=(wfd,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(wfd)
    try:
        ready, _, _ = select.select([rfd], [], [], 20)
        number = os.read(rfd, 16).decode().strip() if ready else ""
        if not number:
            pytest.fail("Xvfb did not report a display number within 20 s")
        yield f":{number}"
    finally:
        os.close(rfd)
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def sdl(xvfb, monkeypatch):
    monkeypatch.setenv("DISPLAY", xvfb)
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    monkeypatch.setenv("PYSDL2_DLL_PATH", os.environ.get("PYSDL2_DLL_PATH", ""))
    import sdl2
    assert sdl2.SDL_Init(sdl2.SDL_INIT_VIDEO | sdl2.SDL_INIT_EVENTS) == 0, sdl2.SDL_GetError()
    yield sdl2
    sdl2.SDL_Quit()


@pytest.fixture
def window(sdl):
    from frontend.script import Script
    from frontend.sdl import SdlWindow
    with Machine(fda=str(shared_image("fdboot-1.4MB.img")), snapshot=True) as machine:
        ui = SdlWindow(sdl, machine, Script([], 60), realtime=False, exit_after=False)
        try:
            yield ui
        finally:
            ui.close()


def run_frames_until(ui, predicate, virtual_seconds):
    for _ in range(int(virtual_seconds * 60)):
        assert ui.frame() is None
        if predicate():
            return True
    return False


def screen(ui):
    return "\n".join(ui.machine.screen_text())


def push_key(sdl2, scancode, down):
    event = sdl2.SDL_Event()
    event.type = sdl2.SDL_KEYDOWN if down else sdl2.SDL_KEYUP
    event.key.type = event.type
    event.key.state = sdl2.SDL_PRESSED if down else sdl2.SDL_RELEASED
    event.key.keysym.scancode = scancode
    event.key.keysym.sym = sdl2.SDL_GetKeyFromScancode(scancode)
    assert sdl2.SDL_PushEvent(ctypes.byref(event)) == 1


def type_scancodes(ui, names):
    sdl2 = ui.sdl2
    for name in names:
        code = getattr(sdl2, f"SDL_SCANCODE_{name}")
        push_key(sdl2, code, True)
        ui.frame()
        push_key(sdl2, code, False)
        ui.frame()


def grab_window(ui, path):
    """What the X server shows in the window (ImageMagick `import`), saved as PNG;
    without ImageMagick, the renderer's own pixels."""
    sdl2 = ui.sdl2
    ui._shown = None             # present the current picture again, then look at it
    ui.draw()
    w, h = ui.output_size()
    x, y = ctypes.c_int(), ctypes.c_int()
    sdl2.SDL_GetWindowPosition(ui.window, ctypes.byref(x), ctypes.byref(y))
    if shutil.which("import"):
        subprocess.run(["import", "-display", os.environ["DISPLAY"], "-window", "root",
                        "-crop", f"{w}x{h}+{x.value}+{y.value}", "+repage", f"PNG24:{path}"],
                       check=True, timeout=60)
        return read_png(str(path))
    pixels = np.zeros((h, w, 3), dtype=np.uint8)
    assert sdl2.SDL_RenderReadPixels(ui.renderer, None, sdl2.SDL_PIXELFORMAT_RGB24,
                                     pixels.ctypes.data_as(ctypes.c_void_p), w * 3) == 0
    from pyvmm.png import write_png
    write_png(str(path), pixels)
    return pixels


def cell_means(picture, rows, cols):
    """Mean colour of each of rows x cols equal cells (the text cells of the screen)."""
    h, w = picture.shape[:2]
    ys = np.arange(rows + 1) * h // rows
    xs = np.arange(cols + 1) * w // cols
    out = np.zeros((rows, cols, 3))
    for r in range(rows):
        for c in range(cols):
            out[r, c] = picture[ys[r]:ys[r + 1], xs[c]:xs[c + 1]].reshape(-1, 3).mean(axis=0)
    return out


def assert_window_shows_machine(ui, grabbed):
    rect = ui.target_rect()
    inside = grabbed[rect.y:rect.y + rect.h, rect.x:rect.x + rect.w]
    cols, rows = ui.machine.vga.text_size()
    seen = cell_means(inside, rows, cols)
    want = cell_means(ui.machine.screenshot(), rows, cols)
    assert np.abs(seen - want).max() < 6, np.abs(seen - want).max()
    # the same cells hold characters, and there are some
    lit_seen, lit_want = seen.max(axis=2) > 3, want.max(axis=2) > 3
    assert lit_want.sum() > 10 and (lit_seen == lit_want).all()
    # the border around the 4:3 picture is black
    mask = np.ones(grabbed.shape[:2], dtype=bool)
    mask[rect.y:rect.y + rect.h, rect.x:rect.x + rect.w] = False
    assert grabbed[mask].max(initial=0) == 0


def test_freedos_in_the_window_takes_keys_and_shows_its_screen(window):
    ui = window
    assert run_frames_until(ui, lambda: "A:\\>" in screen(ui), 120), screen(ui)
    type_scancodes(ui, ["V", "E", "R", "RETURN"])
    assert run_frames_until(ui, lambda: "FreeCom version" in screen(ui), 20), screen(ui)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    grabbed = grab_window(ui, ARTIFACTS / "sdl-freedos-ver.png")
    w, h = ui.output_size()
    assert grabbed.shape == (h, w, 3)
    assert_window_shows_machine(ui, grabbed)

    # a person drags the window larger: the picture stays 4:3 at a whole scale
    ui.sdl2.SDL_SetWindowSize(ui.window, 1500, 1130)
    run_frames_until(ui, lambda: ui.output_size() == (1500, 1130), 2)
    assert ui.output_size() == (1500, 1130)
    rect = ui.target_rect()
    assert (rect.w, rect.h) == (1440, 1080) and (rect.x, rect.y) == (30, 25)
    ui.sdl2.SDL_SetWindowSize(ui.window, 1000, 700)
    run_frames_until(ui, lambda: ui.output_size() == (1000, 700), 2)
    rect = ui.target_rect()
    assert (rect.w, rect.h, rect.x, rect.y) == (720, 540, 140, 80)
    grabbed = grab_window(ui, ARTIFACTS / "sdl-freedos-resized.png")
    assert_window_shows_machine(ui, grabbed)


@pytest.mark.parametrize("size, expected", [
    ((960, 720), (720, 540)),        # 720x400 text at 1x, stretched to 4:3
    ((1440, 1080), (1440, 1080)),    # exactly 2x
    ((2000, 1100), (1440, 1080)),    # 2x fits, 3x does not
    ((600, 600), (600, 450)),        # smaller than 1x: the largest 4:3 that fits
])
def test_picture_is_4_3_at_whole_scales(window, size, expected):
    ui = window
    assert run_frames_until(ui, lambda: ui.tex_size == (720, 400), 10)   # the VGA BIOS set text mode 3
    ui.sdl2.SDL_SetWindowSize(ui.window, *size)
    ui.frame()
    assert ui.output_size() == size
    rect = ui.target_rect()
    assert (rect.w, rect.h) == expected
    assert (rect.x, rect.y) == ((size[0] - expected[0]) // 2, (size[1] - expected[1]) // 2)
    assert abs(rect.w * 3 - rect.h * 4) <= 4


def test_picture_before_the_vga_bios_keeps_the_aspect(window):
    ui = window
    ui.frame()
    assert ui.tex_size[0] < 100       # the CRTC is not programmed yet: a tiny frame
    rect = ui.target_rect()
    assert abs(rect.w * 3 - rect.h * 4) <= 4 and rect.w <= 960 and rect.h <= 720


def test_sdl_quit_ends_the_loop(window):
    ui = window
    ui.frame()
    event = ui.sdl2.SDL_Event()
    event.type = ui.sdl2.SDL_QUIT
    ui.sdl2.SDL_PushEvent(ctypes.byref(event))
    assert ui.loop() == "done"


def pyvmm_windows(display_name):
    """Ids of the top-level windows whose title starts with "pyvmm" (xwininfo)."""
    out = subprocess.run(["xwininfo", "-display", display_name, "-root", "-children"],
                         capture_output=True, text=True, timeout=30).stdout
    return [int(line.split()[0], 16) for line in out.splitlines()
            if line.strip().startswith("0x") and '"pyvmm' in line]


def close_window_like_a_window_manager(display_name, window):
    """Send WM_DELETE_WINDOW, as a window manager does when the close button is clicked."""
    x11 = ctypes.CDLL(ctypes.util.find_library("X11"))
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
    x11.XFlush.argtypes = x11.XCloseDisplay.argtypes = [ctypes.c_void_p]

    class ClientMessage(ctypes.Structure):      # XClientMessageEvent, padded to sizeof(XEvent)
        _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                    ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                    ("format", ctypes.c_int), ("data", ctypes.c_long * 5), ("pad", ctypes.c_long * 12)]

    dpy = x11.XOpenDisplay(display_name.encode())
    assert dpy, f"cannot open X display {display_name}"
    try:
        msg = ClientMessage(type=33, send_event=1, display=dpy, window=window,      # 33: ClientMessage
                            message_type=x11.XInternAtom(dpy, b"WM_PROTOCOLS", 0), format=32)
        msg.data[0] = x11.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
        x11.XSendEvent(dpy, window, 0, 0, ctypes.byref(msg))
        x11.XFlush(dpy)
    finally:
        x11.XCloseDisplay(dpy)


def test_closing_the_window_flushes_the_disk_and_exits_0(xvfb, tmp_path):
    if shutil.which("xwininfo") is None:
        pytest.skip("xwininfo is not installed (apt-get install x11-utils)")
    disk = tmp_path / "a.img"
    shutil.copyfile(shared_image("fdboot-1.4MB.img"), disk)
    before = disk.read_bytes()
    done = tmp_path / "done.png"
    env = dict(os.environ, DISPLAY=xvfb, SDL_AUDIODRIVER="dummy")
    proc = subprocess.Popen([sys.executable, "-m", "frontend.cli", "run", "--display", "sdl", "--turbo",
                             "--fda", str(disk), "--wait", "A:\\>", "--type", r"echo written>HELLO.TXT\n",
                             "--sleep", "3", "--screenshot", str(done)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not done.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the scripted steps did not finish in 120 s"
            time.sleep(0.2)
        windows = pyvmm_windows(xvfb)
        assert len(windows) == 1, windows
        close_window_like_a_window_manager(xvfb, windows[0])
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()
    after = disk.read_bytes()
    assert after != before
    assert b"HELLO   TXT" in after and b"written" in after


def test_hotkeys_pause_and_save_a_screenshot(window, tmp_path, monkeypatch):
    ui = window
    sdl2 = ui.sdl2
    monkeypatch.chdir(tmp_path)
    assert run_frames_until(ui, lambda: ui.tex_size == (720, 400), 10)
    sdl2.SDL_SetModState(sdl2.KMOD_LCTRL | sdl2.KMOD_LALT)
    try:
        type_scancodes(ui, ["P"])                 # Ctrl+Alt+P pauses: the guest's clock stops
        assert ui.paused
        now = ui.machine.clock.now
        ui.frame()
        assert ui.machine.clock.now == now
        type_scancodes(ui, ["S"])                 # Ctrl+Alt+S saves the picture
        type_scancodes(ui, ["W"])                 # Ctrl+Alt+W saves the machine state
        type_scancodes(ui, ["P"])
    finally:
        sdl2.SDL_SetModState(sdl2.KMOD_NONE)
    assert not ui.paused
    saved = read_png(str(tmp_path / "pyvmm-1.png"))
    assert saved.shape == (400, 720, 3)
    ui.machine.load_state(str(tmp_path / "pyvmm-1.state"))     # a state of this machine
    assert ui.machine.clock.now == now
    ui.frame()
    assert ui.machine.clock.now > now
    assert not ui.held                            # hotkeys never reach the guest
