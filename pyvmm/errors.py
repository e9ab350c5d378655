"""Exceptions that pyvmm raises for problems with its inputs.

Every error a user can cause (a bad option, a missing image, a corrupt save state)
is a subclass of :class:`Error`, so frontends print one line and exit 2 instead of
showing a traceback.  Bugs in pyvmm itself stay ordinary exceptions.
"""


class Error(Exception):
    """Base class of every error caused by input to pyvmm (files, options, states)."""


class ConfigError(Error, ValueError):
    """A machine option or configuration key is wrong (type, range or name)."""


class ImageError(Error, ValueError):
    """A disk, ROM or other image file cannot be used as given."""


class StateError(Error, ValueError):
    """A save-state file is corrupt, truncated or of an unknown version."""


class BusConflict(ConfigError):
    """Two devices claimed the same I/O port or memory page."""
