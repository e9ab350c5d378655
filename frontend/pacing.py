"""Real-time pacing: guest time follows the wall clock in --realtime mode.

The machine runs ahead in slices; the pacer sleeps until the wall clock catches up,
so a guest that waits (HLT) costs almost no host CPU.  In turbo mode it does nothing.
"""
import time


class Pacer:
    def __init__(self, machine, realtime):
        self.machine = machine
        self.realtime = realtime
        self.resync()

    def resync(self):
        """Start counting from now (after a pause, or when turbo is switched off)."""
        self.wall0 = time.monotonic()
        self.virt0 = self.machine.clock.seconds()

    def pace(self):
        if not self.realtime:
            return
        ahead = (self.machine.clock.seconds() - self.virt0) - (time.monotonic() - self.wall0)
        if ahead > 0:
            time.sleep(ahead)
        elif ahead < -0.25:
            # The host cannot keep up: do not try to catch up in a burst later.
            self.resync()
