"""Interrupt request lines.

A device holds an :class:`IrqLine` and drives it; it never imports the PIC.  The
PIC (or a test) connects a sink ``sink(level)`` that is called on every change of
level.  ``pulse()`` makes one rising and one falling edge, as an ISA device that
signals an edge-triggered interrupt does.
"""


class IrqLine:
    __slots__ = ("number", "level", "sink", "rising_edges")

    def __init__(self, number, sink=None):
        self.number = number
        self.level = 0
        self.sink = sink
        self.rising_edges = 0   # counted for tests and statistics

    def connect(self, sink):
        self.sink = sink
        if sink is not None and self.level:
            sink(1)

    def raise_(self):
        if not self.level:
            self.level = 1
            self.rising_edges += 1
            if self.sink is not None:
                self.sink(1)

    def lower(self):
        if self.level:
            self.level = 0
            if self.sink is not None:
                self.sink(0)

    def set(self, level):
        if level:
            self.raise_()
        else:
            self.lower()

    def pulse(self):
        self.raise_()
        self.lower()

    def __repr__(self):
        return f"IrqLine({self.number}, level={self.level})"
