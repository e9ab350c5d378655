"""A small PNG writer and reader for screenshots and golden images.

Only what pyvmm needs: 8-bit RGB, no interlace.  The writer stores every row with
filter type 0; the reader undoes all five filter types so that PNGs saved by other
tools (8-bit greyscale, RGB or RGBA, non-interlaced) read back as RGB too.
"""
import struct
import zlib

import numpy as np

from .errors import ImageError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# channels per colour type we accept: grey, RGB, grey+alpha, RGBA
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


def _chunk(kind, payload):
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def encode_png(rgb):
    """The PNG file bytes of ``rgb``, a uint8 array shaped (height, width, 3)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError("write_png needs a non-empty (height, width, 3) array")
    height, width = rgb.shape[:2]
    rows = np.zeros((height, 1 + width * 3), dtype=np.uint8)   # leading 0 = filter "none"
    rows[:, 1:] = rgb.reshape(height, width * 3)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 9)) + _chunk(b"IEND", b""))


def write_png(path, rgb):
    with open(path, "wb") as f:
        f.write(encode_png(rgb))


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(raw, height, stride, bpp):
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int32)
    pos = 0
    for y in range(height):
        ftype = raw[pos]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=pos + 1).astype(np.int32)
        pos += 1 + stride
        if ftype == 0:
            cur = line
        elif ftype == 2:
            cur = (line + prev) & 0xFF
        elif ftype in (1, 3, 4):
            # these depend on the pixel to the left, so they run byte by byte
            cur = line.copy()
            for i in range(stride):
                left = cur[i - bpp] if i >= bpp else 0
                if ftype == 1:
                    pred = left
                elif ftype == 3:
                    pred = (left + prev[i]) >> 1
                else:
                    pred = _paeth(left, prev[i], prev[i - bpp] if i >= bpp else 0)
                cur[i] = (cur[i] + pred) & 0xFF
        else:
            raise ImageError(f"PNG row {y} has unknown filter type {ftype}")
        out[y] = cur
        prev = cur
    return out


def decode_png(data):
    """An RGB uint8 array (height, width, 3) from PNG file bytes."""
    if data[:8] != SIGNATURE:
        raise ImageError("not a PNG file")
    pos = 8
    header = None
    idat = []
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        payload = data[pos + 8:pos + 8 + length]
        if len(payload) != length:
            raise ImageError("PNG chunk is truncated")
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", payload)
        elif kind == b"IDAT":
            idat.append(payload)
        elif kind == b"IEND":
            break
    if header is None or not idat:
        raise ImageError("PNG file has no IHDR or IDAT")
    width, height, depth, ctype, _comp, _filt, interlace = header
    if depth != 8 or ctype not in _CHANNELS or interlace:
        raise ImageError("only 8-bit non-interlaced grey/RGB/RGBA PNG files are supported")
    channels = _CHANNELS[ctype]
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as exc:
        raise ImageError(f"PNG data is corrupt: {exc}") from None
    stride = width * channels
    if len(raw) < height * (1 + stride):
        raise ImageError("PNG image data is truncated")
    pixels = _unfilter(raw, height, stride, channels).reshape(height, width, channels)
    if channels < 3:
        return np.repeat(pixels[:, :, :1], 3, axis=2)
    return np.ascontiguousarray(pixels[:, :, :3])


def read_png(path):
    with open(path, "rb") as f:
        return decode_png(f.read())
