"""pyvmm: a PC/AT emulator with a Cython core."""
from .errors import BusConflict, ConfigError, Error, ImageError, StateError

__version__ = "0.1.0"

__all__ = ["Error", "ConfigError", "ImageError", "StateError", "BusConflict", "__version__"]
