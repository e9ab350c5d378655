"""Scripted runs: ``--wait``, ``--type``, ``--sleep`` and ``--screenshot`` steps,
executed in order against virtual time.  The headless loop and the interactive
frontends both call :meth:`Script.advance` between slices of emulation, so a script
behaves the same in a window as without one."""

RUNNING, DONE, TIMEOUT = "running", "done", "timeout"


def unescape(text):
    r"""Turn the shell-friendly escapes of --type into characters: \n Enter, \t Tab,
    \e Escape, \\ a backslash.  {NAME} key names pass through untouched."""
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            mapped = {"n": "\n", "r": "\n", "t": "\t", "\\": "\\", "e": "{ESC}"}.get(nxt)
            if mapped is not None:
                out.append(mapped)
                i += 2
                continue
        out.append(c)
        i += 1
    return "".join(out)


class Script:
    def __init__(self, steps, timeout):
        self.steps = list(steps)
        self.timeout = timeout
        self.index = 0
        self.started = None      # cycle at which the current step began
        self.failed_step = None

    @property
    def finished(self):
        return self.index >= len(self.steps)

    def describe_failure(self):
        kind, value = self.failed_step
        return f"timed out after {self.timeout:g} virtual seconds waiting for {value!r}"

    def advance(self, machine):
        """Do every step that can be done now.  Returns RUNNING, DONE or TIMEOUT."""
        clock = machine.clock
        while self.index < len(self.steps):
            kind, value = self.steps[self.index]
            if self.started is None:
                self.started = clock.now
                if kind == "type":
                    machine.queue_text(unescape(value))
            if kind == "wait":
                if value not in "\n".join(machine.screen_text()):
                    if clock.now - self.started >= clock.cycles_from_seconds(self.timeout):
                        self.failed_step = (kind, value)
                        return TIMEOUT
                    return RUNNING
            elif kind == "type":
                if machine.typing:
                    return RUNNING
            elif kind == "sleep":
                if clock.now - self.started < clock.cycles_from_seconds(value):
                    return RUNNING
            elif kind == "screenshot":
                machine.save_screenshot(value)
            self.index += 1
            self.started = None
        return DONE
