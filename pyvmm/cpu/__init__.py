"""The CPU core (Cython): 8086/8088, 80186 and the 80286's real mode."""
from .core import CPU, EXIT_BUDGET, EXIT_BREAK, EXIT_HLT, EXIT_STOP

__all__ = ["CPU", "EXIT_BUDGET", "EXIT_HLT", "EXIT_STOP", "EXIT_BREAK"]
