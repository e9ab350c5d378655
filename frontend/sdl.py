"""The SDL window: the VGA picture at 4:3, keyboard by physical key, PS/2 mouse,
PC speaker, and hotkeys (all Ctrl+Alt+key, as in QEMU):

  G  release the captured mouse          F  fullscreen on/off
  S  save a screenshot (pyvmm-N.png)     P  pause / resume
  R  reset the machine                   V  paste the clipboard as typed keys
  A  eject / re-insert the floppy in A:  T  turbo on/off
  W  save the machine state (pyvmm-N.state; load it with --load-state)

Closing the window flushes the disks and exits 0.
"""
import ctypes
import itertools
import os
import time
import warnings

import numpy as np

from .keymap import HID_TO_KEY
from .pacing import Pacer
from .script import DONE, TIMEOUT

FRAME = 1 / 60


def _free_name(suffix):
    """pyvmm-1.png, pyvmm-2.png, ...: the first name not taken yet."""
    for n in itertools.count(1):
        name = f"pyvmm-{n}{suffix}"
        if not os.path.exists(name):
            return name


class SpeakerAudio:
    """A square wave at the frequency of PIT counter 2 while port 61h gates it to the
    speaker.  Each frame queues the samples for that frame (SDL_QueueAudio), so no
    Python runs on SDL's audio thread; the device is opened at the first tone, so a
    silent guest never touches the host's sound system."""

    RATE = 44100
    AHEAD = 3 * RATE // 60          # queue at most about three frames of sound

    def __init__(self, sdl2, machine):
        self.sdl2 = sdl2
        self.machine = machine
        self.phase = 0.0
        self.device = 0
        self.unavailable = False

    def open(self):
        sdl2 = self.sdl2
        if sdl2.SDL_InitSubSystem(sdl2.SDL_INIT_AUDIO) != 0:
            self.unavailable = True
            return
        want = sdl2.SDL_AudioSpec(self.RATE, sdl2.AUDIO_S16SYS, 1, 1024)
        have = sdl2.SDL_AudioSpec(0, 0, 0, 0)
        self.device = sdl2.SDL_OpenAudioDevice(None, 0, ctypes.byref(want), ctypes.byref(have), 0)
        if not self.device:
            self.unavailable = True
            return
        sdl2.SDL_PauseAudioDevice(self.device, 0)

    def update(self, seconds):
        """Queue ``seconds`` of the tone the guest plays now (nothing while silent)."""
        freq = self.machine.speaker_frequency()
        if not freq or freq > 20000 or self.unavailable:
            return
        if not self.device:
            self.open()
            if not self.device:
                return
        queued = self.sdl2.SDL_GetQueuedAudioSize(self.device) // 2
        n = min(int(seconds * self.RATE), self.AHEAD - queued)
        if n <= 0:
            return
        phase = (self.phase + np.arange(n) * (freq / self.RATE)) % 1.0
        self.phase = float((phase[-1] + freq / self.RATE) % 1.0)
        samples = np.where(phase < 0.5, 6000, -6000).astype(np.int16)
        self.sdl2.SDL_QueueAudio(self.device, samples.ctypes.data_as(ctypes.c_void_p), 2 * n)

    def close(self):
        if self.device:
            self.sdl2.SDL_CloseAudioDevice(self.device)
            self.device = 0


def run_sdl(machine, script, realtime, exit_after):
    os.environ.setdefault("PYSDL2_DLL_PATH", "")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # pysdl2 says which SDL build it found
        import sdl2

    if sdl2.SDL_Init(sdl2.SDL_INIT_VIDEO | sdl2.SDL_INIT_EVENTS) != 0:
        from pyvmm.errors import ConfigError
        raise ConfigError(f"cannot open an SDL window: {sdl2.SDL_GetError().decode()} (try --display curses or none)")
    ui = SdlWindow(sdl2, machine, script, realtime, exit_after)
    try:
        return ui.loop()
    finally:
        ui.close()
        sdl2.SDL_Quit()


class SdlWindow:
    def __init__(self, sdl2, machine, script, realtime, exit_after):
        self.sdl2 = sdl2
        self.machine = machine
        self.script = script
        self.exit_after = exit_after
        self.pacer = Pacer(machine, realtime)
        self.paused = False
        self.captured = False
        self.fullscreen = False
        self.held = set()
        self.ejected_a = None
        self.mips = 0.0
        self._mips_mark = (time.monotonic(), machine.cpu.instructions)
        self.window = sdl2.SDL_CreateWindow(b"pyvmm", sdl2.SDL_WINDOWPOS_CENTERED, sdl2.SDL_WINDOWPOS_CENTERED,
                                            960, 720, sdl2.SDL_WINDOW_RESIZABLE | sdl2.SDL_WINDOW_ALLOW_HIGHDPI)
        self.renderer = sdl2.SDL_CreateRenderer(self.window, -1, 0)
        self.texture = None
        self.tex_size = (0, 0)
        self._event = sdl2.SDL_Event()
        self.status = DONE
        self._shown = None           # the frame array and window size last presented
        self._shown_size = None
        self.speaker = SpeakerAudio(sdl2, machine)

    def close(self):
        self.speaker.close()
        if self.texture:
            self.sdl2.SDL_DestroyTexture(self.texture)
        self.sdl2.SDL_DestroyRenderer(self.renderer)
        self.sdl2.SDL_DestroyWindow(self.window)

    # -- main loop ----------------------------------------------------------------------
    def loop(self):
        """Run until the window is closed, the script ends the run, or the guest exits."""
        while True:
            status = self.frame()
            if status is not None:
                return status
            if self.paused:
                time.sleep(FRAME)
            else:
                self.pacer.pace()

    def frame(self):
        """One frame: host events, a frame's worth of emulation, the picture.  Returns
        the script status when the run is over, else None."""
        sdl2 = self.sdl2
        event = self._event
        while sdl2.SDL_PollEvent(ctypes.byref(event)):
            if event.type == sdl2.SDL_QUIT:
                return self.status
            self.handle(event)
        if not self.paused:
            self.status = self.script.advance(self.machine)
            if self.status == TIMEOUT or (self.status == DONE and self.exit_after and self.script.steps):
                return self.status
            self.machine.run(seconds=FRAME)
            if self.machine.exit_code is not None:
                return self.status
            self.speaker.update(FRAME)
        self.draw()
        self.update_title()
        return None

    def draw(self):
        sdl2 = self.sdl2
        frame = self.machine.screenshot()
        size = self.output_size()
        if frame is self._shown and size == self._shown_size:
            return          # the VGA returns the same array while nothing changed
        self._shown, self._shown_size = frame, size
        h, w = frame.shape[:2]
        if (w, h) != self.tex_size:
            if self.texture:
                sdl2.SDL_DestroyTexture(self.texture)
            self.texture = sdl2.SDL_CreateTexture(self.renderer, sdl2.SDL_PIXELFORMAT_RGB24,
                                                  sdl2.SDL_TEXTUREACCESS_STREAMING, w, h)
            self.tex_size = (w, h)
        data = frame if frame.flags["C_CONTIGUOUS"] else frame.copy()
        sdl2.SDL_UpdateTexture(self.texture, None, data.ctypes.data_as(ctypes.c_void_p), w * 3)
        sdl2.SDL_SetRenderDrawColor(self.renderer, 0, 0, 0, 255)
        sdl2.SDL_RenderClear(self.renderer)
        sdl2.SDL_RenderCopy(self.renderer, self.texture, None, ctypes.byref(self.target_rect()))
        sdl2.SDL_RenderPresent(self.renderer)

    def output_size(self):
        ww, wh = ctypes.c_int(), ctypes.c_int()
        self.sdl2.SDL_GetRendererOutputSize(self.renderer, ctypes.byref(ww), ctypes.byref(wh))
        return ww.value, wh.value

    def target_rect(self):
        """The largest rectangle of the picture's display aspect that fits the window,
        at a whole multiple of the picture size when the window allows one."""
        ww, wh = self.output_size()
        aw, ah = self.machine.vga.display_aspect()
        fw = self.tex_size[0]
        # a whole multiple of the picture's width, its height following the aspect
        # (720x400 text shows as 720x540 at 1x, 1440x1080 at 2x)
        scale = min(ww // fw, wh * aw // (fw * ah)) if fw else 0
        if scale >= 1:
            w = fw * scale
            h = round(w * ah / aw)
        elif ww * ah <= wh * aw:
            w, h = ww, ww * ah // aw
        else:
            w, h = wh * aw // ah, wh
        return self.sdl2.SDL_Rect((ww - w) // 2, (wh - h) // 2, w, h)

    def update_title(self):
        now = time.monotonic()
        t0, i0 = self._mips_mark
        if now - t0 >= 1.0:
            instructions = self.machine.cpu.instructions
            self.mips = (instructions - i0) / (now - t0) / 1e6
            self._mips_mark = (now, instructions)
            state = "paused" if self.paused else ("turbo" if not self.pacer.realtime else "running")
            grab = "Ctrl+Alt+G releases the mouse" if self.captured else "click to capture the mouse"
            title = f"pyvmm - {state} - {self.mips:.1f} MIPS - {grab}"
            self.sdl2.SDL_SetWindowTitle(self.window, title.encode())

    # -- input --------------------------------------------------------------------------
    def handle(self, event):
        sdl2 = self.sdl2
        if event.type in (sdl2.SDL_KEYDOWN, sdl2.SDL_KEYUP):
            down = event.type == sdl2.SDL_KEYDOWN
            mods = sdl2.SDL_GetModState()
            code = event.key.keysym.scancode
            if down and (mods & sdl2.KMOD_CTRL) and (mods & sdl2.KMOD_ALT) and self.hotkey(code):
                return
            if event.key.repeat:
                return           # the emulated keyboard makes its own typematic repeats
            name = HID_TO_KEY.get(code)
            if name is None:
                return
            if down:
                self.held.add(name)
                self.machine.press(name)
            elif name in self.held:
                self.held.discard(name)
                self.machine.release(name)
        elif event.type == sdl2.SDL_MOUSEBUTTONDOWN and not self.captured:
            self.set_capture(True)
        elif self.captured and event.type == sdl2.SDL_MOUSEMOTION:
            self.machine.mouse_move(event.motion.xrel, event.motion.yrel, self.buttons())
        elif self.captured and event.type in (sdl2.SDL_MOUSEBUTTONDOWN, sdl2.SDL_MOUSEBUTTONUP):
            self.machine.mouse_move(0, 0, self.buttons())
        elif event.type == sdl2.SDL_WINDOWEVENT and event.window.event == sdl2.SDL_WINDOWEVENT_FOCUS_LOST:
            for name in list(self.held):     # keys released while away must not stick
                self.machine.release(name)
            self.held.clear()

    def buttons(self):
        state = self.sdl2.SDL_GetMouseState(None, None)
        return ((1 if state & 1 else 0) | (2 if state & 4 else 0) | (4 if state & 2 else 0))

    def set_capture(self, on):
        self.captured = on
        self.sdl2.SDL_SetRelativeMouseMode(self.sdl2.SDL_TRUE if on else self.sdl2.SDL_FALSE)
        self._mips_mark = (0.0, self._mips_mark[1])    # refresh the title now

    def hotkey(self, code):
        sdl2 = self.sdl2
        for name in list(self.held):
            self.machine.release(name)
        self.held.clear()
        if code == sdl2.SDL_SCANCODE_G:
            self.set_capture(False)
        elif code == sdl2.SDL_SCANCODE_F:
            self.fullscreen = not self.fullscreen
            sdl2.SDL_SetWindowFullscreen(self.window, sdl2.SDL_WINDOW_FULLSCREEN_DESKTOP if self.fullscreen else 0)
        elif code == sdl2.SDL_SCANCODE_S:
            self.machine.save_screenshot(_free_name(".png"))
        elif code == sdl2.SDL_SCANCODE_W:
            self.machine.save_state(_free_name(".state"))
        elif code == sdl2.SDL_SCANCODE_P:
            self.paused = not self.paused
            self.pacer.resync()
        elif code == sdl2.SDL_SCANCODE_R:
            self.machine.reset()
        elif code == sdl2.SDL_SCANCODE_T:
            self.pacer.realtime = not self.pacer.realtime
            self.pacer.resync()
        elif code == sdl2.SDL_SCANCODE_V:
            if sdl2.SDL_HasClipboardText():
                text = sdl2.SDL_GetClipboardText()
                self.machine.queue_text(text.decode("utf-8", "replace").replace("\r\n", "\n")
                                        .replace("{", "{{"))
        elif code == sdl2.SDL_SCANCODE_A:
            self.toggle_floppy()
        else:
            return False
        self._mips_mark = (0.0, self._mips_mark[1])
        return True

    def toggle_floppy(self):
        if self.ejected_a is None:
            path = self.machine.floppy_path(0)
            if path is not None:
                self.machine.eject_floppy(0)
                self.ejected_a = path
        else:
            self.machine.insert_floppy(0, self.ejected_a)
            self.ejected_a = None
