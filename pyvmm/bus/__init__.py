from .ioport import IOBus
from .irq import IrqLine

__all__ = ["IOBus", "IrqLine"]
