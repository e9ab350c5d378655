"""Host ends of the emulated serial ports.

A backend takes the bytes a UART transmits with ``write(data)``, hands host input
back from ``poll() -> bytes`` (called by the machine periodically, never blocking) and
releases what it holds with ``close()``.  :func:`parse_serial_spec` builds one from a
command-line string: ``null``, ``stdio``, ``file:PATH`` or ``tcp:[HOST:]PORT``.
"""
import os
import select
import socket
import sys

from ..errors import ConfigError

TCP_OUT_LIMIT = 1 << 20      # bytes kept for a slow client before the oldest are dropped


class NullBackend:
    """Discards output, never has input."""

    def write(self, data):
        pass

    def poll(self):
        return b""

    def close(self):
        pass


class StdioBackend:
    """Output to stdout, input from stdin when it has bytes ready (the terminal mode
    is the frontend's business)."""

    def __init__(self, stdin=None, stdout=None):
        self.stdin = stdin if stdin is not None else sys.stdin
        self.stdout = stdout if stdout is not None else sys.stdout
        self._pending = False

    def _fd(self):
        try:
            return self.stdin.fileno()
        except (AttributeError, OSError, ValueError):
            return None

    def write(self, data):
        out = getattr(self.stdout, "buffer", self.stdout)
        out.write(bytes(data))
        self._pending = True

    def poll(self):
        if self._pending:
            self._pending = False
            self.stdout.flush()
        fd = self._fd()
        if fd is None:
            return b""
        try:
            ready, _, _ = select.select([fd], [], [], 0)
            if not ready:
                return b""
            return os.read(fd, 4096)
        except OSError:
            return b""

    def close(self):
        if self._pending:
            self._pending = False
            self.stdout.flush()


class FileBackend:
    """Appends output to a file; never has input."""

    def __init__(self, path):
        self.path = path
        try:
            self._file = open(path, "ab")
        except OSError as e:
            raise ConfigError(f"serial output file {path!r}: {e.strerror}") from None

    def write(self, data):
        if self._file is not None:
            self._file.write(bytes(data))

    def poll(self):
        if self._file is not None:
            self._file.flush()
        return b""

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None


class TcpBackend:
    """A listening TCP socket (127.0.0.1 unless told otherwise) serving one client at a
    time.  Nothing blocks: connections are accepted and input read in :meth:`poll`;
    output without a client is dropped."""

    def __init__(self, port, host="127.0.0.1"):
        self.host = host
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind((host, int(port)))
            self._listener.listen(1)
            self._listener.setblocking(False)
        except (OSError, OverflowError) as e:
            self._listener.close()
            raise ConfigError(f"serial tcp:{host}:{port}: cannot listen ({e})") from None
        self.port = self._listener.getsockname()[1]
        self._client = None
        self._out = bytearray()

    @property
    def connected(self):
        return self._client is not None

    def _accept(self):
        while True:
            try:
                conn, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if self._client is None:
                conn.setblocking(False)
                self._client = conn
            else:
                conn.close()              # one client at a time

    def _drop_client(self):
        self._client.close()
        self._client = None
        self._out.clear()

    def _send(self):
        while self._out and self._client is not None:
            try:
                sent = self._client.send(self._out)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._drop_client()
                return
            del self._out[:sent]

    def write(self, data):
        if self._client is None:
            return
        self._out += data
        if len(self._out) > TCP_OUT_LIMIT:
            del self._out[:len(self._out) - TCP_OUT_LIMIT]
        self._send()

    def poll(self):
        if self._listener is None:
            return b""
        self._accept()
        if self._client is None:
            return b""
        self._send()
        chunks = []
        while self._client is not None:
            try:
                data = self._client.recv(4096)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self._drop_client()
                break
            if not data:
                self._drop_client()       # the client hung up; wait for the next one
                break
            chunks.append(data)
        return b"".join(chunks)

    def close(self):
        if self._client is not None:
            self._drop_client()
        if self._listener is not None:
            self._listener.close()
            self._listener = None


def parse_serial_spec(spec):
    """Build a backend from ``null``, ``stdio``, ``file:PATH`` or ``tcp:[HOST:]PORT``."""
    if not isinstance(spec, str):
        raise ConfigError(f"serial backend must be a string, not {type(spec).__name__}")
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    if kind in ("null", "none") and not rest:
        return NullBackend()
    if kind == "stdio" and not rest:
        return StdioBackend()
    if kind == "file":
        if not rest:
            raise ConfigError("serial backend 'file:' needs a path, as in file:com1.log")
        return FileBackend(rest)
    if kind == "tcp":
        host, _, port = rest.rpartition(":")
        host = host or "127.0.0.1"
        if not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ConfigError(f"serial backend {spec!r}: the port must be a number 0-65535, "
                              "as in tcp:127.0.0.1:4555")
        return TcpBackend(int(port), host)
    raise ConfigError(f"serial backend {spec!r} is not understood: "
                      "use null, stdio, file:PATH or tcp:[HOST:]PORT")
