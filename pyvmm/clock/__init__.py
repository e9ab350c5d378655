from .scheduler import Clock, Timer, NEVER, PIT_HZ, DEFAULT_RATE

__all__ = ["Clock", "Timer", "NEVER", "PIT_HZ", "DEFAULT_RATE"]
