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


def read_input_file(path, what, error=ConfigError):
    """The bytes of the file a user named as ``what`` (e.g. "config file"), or
    ``error`` with one line saying why it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise error(f"{what} {path} is a directory") from None
    except PermissionError:
        raise error(f"{what} {path} cannot be read (permission denied)") from None
