"""Code page 437, the PC's character set, as Unicode.

The ROM font draws every byte as a glyph, so the control range 00h-1Fh and 7Fh are
the IBM graphic characters (smileys, arrows, ...), not control codes.  00h is shown
as a space, as the screen shows it.
"""

_LOW = (" ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼")
_HIGH = bytes(range(0x80, 0x100)).decode("cp437")

TABLE = tuple(_LOW) + tuple(chr(c) for c in range(0x20, 0x7F)) + ("⌂",) + tuple(_HIGH)
assert len(TABLE) == 256

_ENCODE = {ch: i for i, ch in enumerate(TABLE)}


def decode(data):
    """Bytes of screen characters to a str of the glyphs they show."""
    return "".join(TABLE[b] for b in data)


def encode_char(ch):
    """The CP437 byte that shows ``ch``, or None."""
    return _ENCODE.get(ch)
