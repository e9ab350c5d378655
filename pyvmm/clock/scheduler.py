"""The machine's one clock: an integer cycle counter and a heap of timers.

Time in pyvmm is ``Clock.now``, a count of CPU cycles at ``Clock.rate`` cycles per
virtual second.  Nothing reads the wall clock.  Devices compute their state from
``now`` when they are touched and arm a :class:`Timer` for the next moment they must
act on their own (a PIT output edge, a seek completing); the CPU runs until the
earliest armed timer (``Clock.deadline``) and the machine then calls
:meth:`Clock.fire_due`.

The default rate is four times the 1.193182 MHz PIT input (the PC's 14.31818 MHz
crystal divided by 3, as on the IBM PC), so PIT ticks fall on whole cycles.
"""
import heapq

NEVER = 1 << 62
PIT_HZ = 1193182
DEFAULT_RATE = 4 * PIT_HZ


class Timer:
    """A named one-shot event.  Arm it with :meth:`set` (absolute cycle) or
    :meth:`set_in` (relative); it calls ``callback()`` once when the clock reaches it,
    with ``clock.now`` equal to the deadline.  Re-arming replaces the old deadline."""

    __slots__ = ("clock", "name", "callback", "deadline", "_seq")

    def __init__(self, clock, name, callback):
        self.clock = clock
        self.name = name
        self.callback = callback
        self.deadline = None
        self._seq = 0

    @property
    def active(self):
        return self.deadline is not None

    def set(self, deadline):
        self.clock._arm(self, int(deadline))

    def set_in(self, cycles):
        self.clock._arm(self, self.clock.now + int(cycles))

    def cancel(self):
        if self.deadline is not None:
            self.deadline = None
            self.clock._refresh_deadline()


class Clock:
    """Virtual time.  ``now`` and ``deadline`` are plain ints that the CPU core reads
    and writes: it sets ``now`` before every call into a device and stops when
    ``now`` reaches ``deadline``."""

    def __init__(self, rate=DEFAULT_RATE):
        if int(rate) <= 0:
            raise ValueError("clock rate must be positive")
        self.rate = int(rate)
        self.now = 0
        self.deadline = NEVER
        self._heap = []          # (deadline, seq, timer); stale entries skipped
        self._seq = 0
        self._timers = {}

    # -- timers ---------------------------------------------------------------
    def timer(self, name, callback):
        """Create the timer ``name`` (unique per clock, used by save states)."""
        if name in self._timers:
            raise ValueError(f"timer {name!r} already exists")
        t = Timer(self, name, callback)
        self._timers[name] = t
        return t

    def _arm(self, timer, deadline):
        if deadline < self.now:
            deadline = self.now
        self._seq += 1
        timer.deadline = deadline
        timer._seq = self._seq
        heapq.heappush(self._heap, (deadline, self._seq, timer))
        if deadline < self.deadline:
            self.deadline = deadline

    def _refresh_deadline(self):
        heap = self._heap
        while heap:
            deadline, seq, timer = heap[0]
            if timer.deadline == deadline and timer._seq == seq:
                self.deadline = deadline
                return
            heapq.heappop(heap)
        self.deadline = NEVER

    def request_stop(self):
        """Make the CPU stop at its next instruction boundary (a device asked for a
        reset or an exit).  The real deadline is recomputed by :meth:`fire_due`."""
        self.deadline = self.now

    def fire_due(self):
        """Fire, in deadline order, every timer whose deadline is <= now."""
        heap = self._heap
        while True:
            self._refresh_deadline()
            if self.deadline > self.now:
                return
            deadline, seq, timer = heapq.heappop(heap)
            timer.deadline = None
            saved_now = self.now
            self.now = deadline
            timer.callback()
            self.now = saved_now

    def advance(self, cycles):
        """Let ``cycles`` pass with no CPU: fire each due timer at its own deadline.
        This is how chip tests move time."""
        self.run_until(self.now + int(cycles))

    def run_until(self, target):
        while True:
            self._refresh_deadline()
            if self.deadline > target:
                break
            self.now = max(self.now, self.deadline)
            self.fire_due()
        if target > self.now:
            self.now = target

    # -- unit conversion ---------------------------------------------------------
    def ticks(self, hz, cycles=None):
        """Whole ticks of an ``hz`` clock that have elapsed at cycle ``cycles`` (default now)."""
        return (self.now if cycles is None else cycles) * hz // self.rate

    def cycle_of_tick(self, hz, tick):
        """The first cycle at which ``tick`` ticks of an ``hz`` clock have elapsed."""
        return -((-tick * self.rate) // hz)

    def cycles_from_seconds(self, seconds):
        return int(round(seconds * self.rate))

    def seconds(self, cycles=None):
        return (self.now if cycles is None else cycles) / self.rate

    # -- state ---------------------------------------------------------------------
    def get_state(self):
        return {"rate": self.rate, "now": self.now,
                "timers": {name: t.deadline for name, t in self._timers.items()
                           if t.deadline is not None}}

    def set_state(self, state):
        self.rate = int(state["rate"])
        self.now = int(state["now"])
        self._heap = []
        armed = state["timers"]
        for name, t in self._timers.items():
            t.deadline = None
        for name in sorted(armed, key=lambda n: (armed[n], n)):
            if name not in self._timers:
                raise ValueError(f"state names unknown timer {name!r}")
            self._arm(self._timers[name], armed[name])
        self._refresh_deadline()
