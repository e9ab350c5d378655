"""Host key names and the scan codes a PC keyboard sends for them.

One table (:data:`_TABLE`) lists every key once: its name, the make code in scan code
set 2 (what a PS/2 keyboard sends by default), the make code in set 1 (what software
sees after the 8042 translates), the code in set 3 (one byte per key, no prefixes;
from A. Brouwer's "Keyboard scancodes", 9.6), and the characters it types on a US
layout without and with Shift.  Everything else here is derived from that table:

* :func:`make_code` / :func:`break_code` give the bytes a keyboard sends in set 1, 2, 3;
* :data:`SET2_TO_SET1` is the 8042's translation of set-2 bytes into set-1 bytes;
* :func:`text_to_keys` turns text into the strokes that type it.

Break codes follow the two rules of the sets: set 2 puts F0 before the last byte of
each part (``E0 75`` -> ``E0 F0 75``), set 1 sets bit 7 of it (``E0 48`` -> ``E0 C8``);
a key whose make is several parts (Print Screen) releases them in reverse order.
Pause sends its whole make-and-break sequence on press and nothing on release.  Set 3
releases with F0 before the code, for keys whose type has a break.
"""
from types import MappingProxyType

from ..errors import ConfigError

# name, set-2 make, set-1 make, set-3 make (None: the key has no set-3 code here),
# US character, US character with Shift
_TABLE = (
    ("ESC", "76", "01", "08", "\x1b", None),
    ("F1", "05", "3B", "07", None, None),
    ("F2", "06", "3C", "0F", None, None),
    ("F3", "04", "3D", "17", None, None),
    ("F4", "0C", "3E", "1F", None, None),
    ("F5", "03", "3F", "27", None, None),
    ("F6", "0B", "40", "2F", None, None),
    ("F7", "83", "41", "37", None, None),
    ("F8", "0A", "42", "3F", None, None),
    ("F9", "01", "43", "47", None, None),
    ("F10", "09", "44", "4F", None, None),
    ("F11", "78", "57", "56", None, None),
    ("F12", "07", "58", "5E", None, None),
    ("PRINTSCREEN", "E0 12 E0 7C", "E0 2A E0 37", "57", None, None),
    ("SYSRQ", "84", "54", "57", None, None),          # Print Screen while Alt is held
    ("SCROLLLOCK", "7E", "46", "5F", None, None),
    ("PAUSE", "E1 14 77 E1 F0 14 F0 77", "E1 1D 45 E1 9D C5", "62", None, None),

    ("GRAVE", "0E", "29", "0E", "`", "~"),
    ("1", "16", "02", "16", "1", "!"),
    ("2", "1E", "03", "1E", "2", "@"),
    ("3", "26", "04", "26", "3", "#"),
    ("4", "25", "05", "25", "4", "$"),
    ("5", "2E", "06", "2E", "5", "%"),
    ("6", "36", "07", "36", "6", "^"),
    ("7", "3D", "08", "3D", "7", "&"),
    ("8", "3E", "09", "3E", "8", "*"),
    ("9", "46", "0A", "46", "9", "("),
    ("0", "45", "0B", "45", "0", ")"),
    ("MINUS", "4E", "0C", "4E", "-", "_"),
    ("EQUALS", "55", "0D", "55", "=", "+"),
    ("BACKSPACE", "66", "0E", "66", "\b", None),

    ("TAB", "0D", "0F", "0D", "\t", None),
    ("Q", "15", "10", "15", "q", "Q"),
    ("W", "1D", "11", "1D", "w", "W"),
    ("E", "24", "12", "24", "e", "E"),
    ("R", "2D", "13", "2D", "r", "R"),
    ("T", "2C", "14", "2C", "t", "T"),
    ("Y", "35", "15", "35", "y", "Y"),
    ("U", "3C", "16", "3C", "u", "U"),
    ("I", "43", "17", "43", "i", "I"),
    ("O", "44", "18", "44", "o", "O"),
    ("P", "4D", "19", "4D", "p", "P"),
    ("LBRACKET", "54", "1A", "54", "[", "{"),
    ("RBRACKET", "5B", "1B", "5B", "]", "}"),
    ("BACKSLASH", "5D", "2B", "5C", "\\", "|"),

    ("CAPSLOCK", "58", "3A", "14", None, None),
    ("A", "1C", "1E", "1C", "a", "A"),
    ("S", "1B", "1F", "1B", "s", "S"),
    ("D", "23", "20", "23", "d", "D"),
    ("F", "2B", "21", "2B", "f", "F"),
    ("G", "34", "22", "34", "g", "G"),
    ("H", "33", "23", "33", "h", "H"),
    ("J", "3B", "24", "3B", "j", "J"),
    ("K", "42", "25", "42", "k", "K"),
    ("L", "4B", "26", "4B", "l", "L"),
    ("SEMICOLON", "4C", "27", "4C", ";", ":"),
    ("APOSTROPHE", "52", "28", "52", "'", '"'),
    ("ENTER", "5A", "1C", "5A", "\n", None),

    ("LSHIFT", "12", "2A", "12", None, None),
    ("Z", "1A", "2C", "1A", "z", "Z"),
    ("X", "22", "2D", "22", "x", "X"),
    ("C", "21", "2E", "21", "c", "C"),
    ("V", "2A", "2F", "2A", "v", "V"),
    ("B", "32", "30", "32", "b", "B"),
    ("N", "31", "31", "31", "n", "N"),
    ("M", "3A", "32", "3A", "m", "M"),
    ("COMMA", "41", "33", "41", ",", "<"),
    ("PERIOD", "49", "34", "49", ".", ">"),
    ("SLASH", "4A", "35", "4A", "/", "?"),
    ("RSHIFT", "59", "36", "59", None, None),

    ("LCTRL", "14", "1D", "11", None, None),
    ("LWIN", "E0 1F", "E0 5B", "8B", None, None),
    ("LALT", "11", "38", "19", None, None),
    ("SPACE", "29", "39", "29", " ", None),
    ("RALT", "E0 11", "E0 38", "39", None, None),
    ("RWIN", "E0 27", "E0 5C", "8C", None, None),
    ("MENU", "E0 2F", "E0 5D", "8D", None, None),
    ("RCTRL", "E0 14", "E0 1D", "58", None, None),

    ("INSERT", "E0 70", "E0 52", "67", None, None),
    ("DELETE", "E0 71", "E0 53", "64", None, None),
    ("HOME", "E0 6C", "E0 47", "6E", None, None),
    ("END", "E0 69", "E0 4F", "65", None, None),
    ("PGUP", "E0 7D", "E0 49", "6F", None, None),
    ("PGDN", "E0 7A", "E0 51", "6D", None, None),
    ("UP", "E0 75", "E0 48", "63", None, None),
    ("DOWN", "E0 72", "E0 50", "60", None, None),
    ("LEFT", "E0 6B", "E0 4B", "61", None, None),
    ("RIGHT", "E0 74", "E0 4D", "6A", None, None),

    ("NUMLOCK", "77", "45", "76", None, None),
    ("KP_DIVIDE", "E0 4A", "E0 35", "77", None, None),
    ("KP_MULTIPLY", "7C", "37", "7E", None, None),
    ("KP_MINUS", "7B", "4A", "84", None, None),
    ("KP_PLUS", "79", "4E", "7C", None, None),
    ("KP_ENTER", "E0 5A", "E0 1C", "79", None, None),
    ("KP_PERIOD", "71", "53", "71", None, None),
    ("KP_0", "70", "52", "70", None, None),
    ("KP_1", "69", "4F", "69", None, None),
    ("KP_2", "72", "50", "72", None, None),
    ("KP_3", "7A", "51", "7A", None, None),
    ("KP_4", "6B", "4B", "6B", None, None),
    ("KP_5", "73", "4C", "73", None, None),
    ("KP_6", "74", "4D", "74", None, None),
    ("KP_7", "6C", "47", "6C", None, None),
    ("KP_8", "75", "48", "75", None, None),
    ("KP_9", "7D", "49", "7D", None, None),

    # keys of non-US keyboards (102-key ISO and Japanese 106-key)
    ("INTL_BACKSLASH", "61", "56", "13", None, None),
    ("INTL_RO", "51", "73", None, None, None),
    ("INTL_YEN", "6A", "7D", None, None, None),
    ("HENKAN", "64", "79", None, None, None),
    ("MUHENKAN", "67", "7B", None, None, None),
    ("KATAKANA", "13", "70", None, None, None),
)


class Key:
    """One row of the table: make codes in sets 1 and 2 as bytes, the set-3 code as an
    int (or None)."""
    __slots__ = ("name", "set1", "set2", "set3", "char", "shifted_char")

    def __init__(self, name, set2, set1, set3, char, shifted_char):
        self.name = name
        self.set2 = bytes.fromhex(set2)
        self.set1 = bytes.fromhex(set1)
        self.set3 = None if set3 is None else int(set3, 16)
        self.char = char
        self.shifted_char = shifted_char

    def __repr__(self):
        return f"Key({self.name!r}, set2={self.set2.hex(' ')}, set1={self.set1.hex(' ')})"


KEYS = MappingProxyType({row[0]: Key(*row) for row in _TABLE})

# Sets 1 and 2: Pause's make already contains its release; nothing is sent when it is
# let go, and it does not repeat.  Every other key is make/break and typematic.
NO_BREAK = frozenset({"PAUSE"})
NO_REPEAT = frozenset({"PAUSE"})
# Set 3 gives each key a type the host can change (F7h-FDh).  By default only these
# keys send a break code (and do not repeat); all others repeat and send no break.
SET3_MAKE_BREAK = frozenset({"CAPSLOCK", "LSHIFT", "RSHIFT", "LCTRL", "LALT",
                             "LWIN", "RWIN", "MENU"})


def _parts(code):
    """Split a make sequence into parts: an optional E0 prefix plus one code byte."""
    parts, i = [], 0
    while i < len(code):
        if code[i] == 0xE0:
            parts.append(code[i:i + 2])
            i += 2
        else:
            parts.append(code[i:i + 1])
            i += 1
    return parts


def key(name):
    """The :class:`Key` called ``name``; a :class:`ConfigError` for an unknown name."""
    try:
        return KEYS[name]
    except KeyError:
        raise ConfigError(f"unknown key name {name!r}") from None


def make_code(name, scancode_set=2):
    """Bytes a keyboard in ``scancode_set`` (1, 2 or 3) sends when ``name`` goes down."""
    k = key(name)
    if scancode_set == 3:
        return b"" if k.set3 is None else bytes((k.set3,))
    return k.set1 if scancode_set == 1 else k.set2


def break_code(name, scancode_set=2):
    """Bytes a keyboard in ``scancode_set`` (1, 2 or 3) sends when ``name`` goes up
    (in set 3 only if the key's type includes a break code)."""
    if scancode_set == 3:
        make = make_code(name, 3)
        return b"\xF0" + make if make else b""
    if name in NO_BREAK:
        key(name)
        return b""
    out = bytearray()
    for part in reversed(_parts(make_code(name, scancode_set))):
        if scancode_set == 1:
            out += part[:-1] + bytes((part[-1] | 0x80,))
        else:
            out += part[:-1] + b"\xF0" + part[-1:]
    return bytes(out)


def _translation():
    """The 8042's set-2 -> set-1 byte translation, read off the key table."""
    xlat = {}
    for k in KEYS.values():
        # Pause spells its release inside the make: keep each code once, presses only.
        two = list(dict.fromkeys(b for b in k.set2 if b not in (0xE0, 0xE1, 0xF0)))
        one = list(dict.fromkeys(b for b in k.set1 if b not in (0xE0, 0xE1) and b < 0x80))
        if len(two) != len(one):
            raise AssertionError(f"{k.name}: set 1 and set 2 codes do not pair up")
        for c2, c1 in zip(two, one):
            if xlat.setdefault(c2, c1) != c1:
                raise AssertionError(f"{k.name}: set-2 code {c2:#04x} translates two ways")
    # Not keys: 00 is the set-2 buffer overrun code (FFh in set 1); 02 is the
    # keyboard's answer "set 2" to F0 00, which software sees as 41h.
    xlat[0x00] = 0xFF
    xlat[0x02] = 0x41
    # Other bytes above 7Fh (prefixes, ACK FA, BAT AA, echo EE ...) pass unchanged, as
    # on the chip.  Below 80h the chip's table is one-to-one; the few codes no key here
    # sends (they only occur in translated set 3) pass unchanged instead.
    return bytes(xlat.get(b, b) for b in range(256))


SET2_TO_SET1 = _translation()

_BY_CHAR = MappingProxyType(
    {**{k.char: (k.name, False) for k in KEYS.values() if k.char},
     **{k.shifted_char: (k.name, True) for k in KEYS.values() if k.shifted_char}})


def text_to_keys(text):
    """Strokes that type ``text`` on a US keyboard, as a list of ``(name, shifted)``.

    Printable ASCII, ``"\\n"`` (Enter), ``"\\t"`` (Tab) and ``"\\b"`` (Backspace) map to
    their keys; ``"{NAME}"`` presses the key called NAME (``"{F1}"``, ``"{UP}"``);
    ``"{{"`` types a literal ``{``.  Anything else is a :class:`ConfigError`.
    """
    strokes = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "{":
            if text.startswith("{{", i):
                strokes.append(_BY_CHAR["{"])
                i += 2
                continue
            end = text.find("}", i + 1)
            if end < 0:
                raise ConfigError(f"unterminated key name at offset {i} in {text!r}")
            strokes.append((key(text[i + 1:end]).name, False))
            i = end + 1
            continue
        try:
            strokes.append(_BY_CHAR[ch])
        except KeyError:
            raise ConfigError(f"no US key types {ch!r}") from None
        i += 1
    return strokes
