"""The save-state file format (ARCHITECTURE.md contract 8).

A state file is::

    8 bytes   magic b"PYVMMSAV"
    4 bytes   format version (little-endian u32)
    4 bytes   CRC-32 of the compressed payload
    rest      zlib-compressed payload

and the payload is a 4-byte length, a JSON document, then binary blobs.  The JSON
holds one dict per part of the machine (``cpu``, ``clock``, each device by name,
``machine``); bytes inside them are written as ``{"$bytes": [blob, offset, length]}``
references into the blobs, so RAM, VRAM and disk overlays are stored raw.  JSON (not
pickle) means a hostile state file can at worst be refused, never run code.

Version history: 1 — first format.
"""
import json
import struct
import zlib

from ..errors import StateError

MAGIC = b"PYVMMSAV"
FORMAT_VERSION = 1
_HEADER = struct.Struct("<8sII")


def encode(parts):
    """Serialise ``parts`` (a dict of plain data, bytes allowed anywhere) to file bytes."""
    blobs = []
    size = [0]

    def pack(value):
        if isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
            ref = {"$bytes": [size[0], len(data)]}
            blobs.append(data)
            size[0] += len(data)
            return ref
        if isinstance(value, dict):
            return {"$dict": [[pack(k), pack(v)] for k, v in value.items()]} \
                if any(not isinstance(k, str) for k in value) else {k: pack(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [pack(v) for v in value]
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if hasattr(value, "item"):          # numpy scalars
            return value.item()
        raise TypeError(f"cannot save a {type(value).__name__} in a state")

    doc = json.dumps(pack(parts), separators=(",", ":")).encode()
    payload = zlib.compress(struct.pack("<I", len(doc)) + doc + b"".join(blobs), 6)
    return _HEADER.pack(MAGIC, FORMAT_VERSION, zlib.crc32(payload)) + payload


def decode(data, what="state file"):
    """Parse file bytes written by :func:`encode`; every flaw is a StateError."""
    if len(data) < _HEADER.size or data[:8] != MAGIC:
        raise StateError(f"{what} is not a pyvmm save state")
    _magic, version, crc = _HEADER.unpack_from(data)
    if version != FORMAT_VERSION:
        raise StateError(f"{what} has format version {version}; this pyvmm reads version {FORMAT_VERSION}"
                         + (" (it was written by a newer pyvmm)" if version > FORMAT_VERSION else ""))
    payload = data[_HEADER.size:]
    if zlib.crc32(payload) != crc:
        raise StateError(f"{what} is corrupt or truncated (checksum mismatch)")
    try:
        body = zlib.decompress(payload)
        (doc_len,) = struct.unpack_from("<I", body)
        doc = json.loads(body[4:4 + doc_len])
    except (zlib.error, struct.error, ValueError) as e:
        raise StateError(f"{what} is corrupt: {e}") from None
    blobs = memoryview(body)[4 + doc_len:]

    def unpack(value):
        if isinstance(value, dict):
            if "$bytes" in value:
                offset, length = value["$bytes"]
                if offset < 0 or length < 0 or offset + length > len(blobs):
                    raise StateError(f"{what} is corrupt: a blob lies outside the file")
                return bytes(blobs[offset:offset + length])
            if "$dict" in value:
                return {_hashable(unpack(k)): unpack(v) for k, v in value["$dict"]}
            return {k: unpack(v) for k, v in value.items()}
        if isinstance(value, list):
            return [unpack(v) for v in value]
        return value

    try:
        return unpack(doc)
    except (TypeError, ValueError, KeyError) as e:
        raise StateError(f"{what} is corrupt: {type(e).__name__}: {e}") from None


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key
