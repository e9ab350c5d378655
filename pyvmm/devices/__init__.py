"""One module per chip.  Every device follows the lifecycle of :class:`Device`."""
from .base import Device

__all__ = ["Device"]
