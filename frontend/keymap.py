"""Host key codes to pyvmm key names (see pyvmm/devices/keys.py).

SDL reports physical keys as USB HID usage IDs (SDL_Scancode), so the mapping is by
position, whatever the host's layout: the guest's own keyboard driver applies the
guest's layout, as on a real PC.
"""

# USB HID usage ID -> key name
HID_TO_KEY = {
    **{4 + i: chr(ord("A") + i) for i in range(26)},
    **{30 + i: str((i + 1) % 10) for i in range(10)},
    40: "ENTER", 41: "ESC", 42: "BACKSPACE", 43: "TAB", 44: "SPACE",
    45: "MINUS", 46: "EQUALS", 47: "LBRACKET", 48: "RBRACKET", 49: "BACKSLASH",
    50: "BACKSLASH", 51: "SEMICOLON", 52: "APOSTROPHE", 53: "GRAVE", 54: "COMMA",
    55: "PERIOD", 56: "SLASH", 57: "CAPSLOCK",
    **{58 + i: f"F{i + 1}" for i in range(12)},
    70: "PRINTSCREEN", 71: "SCROLLLOCK", 72: "PAUSE", 73: "INSERT", 74: "HOME",
    75: "PGUP", 76: "DELETE", 77: "END", 78: "PGDN", 79: "RIGHT", 80: "LEFT",
    81: "DOWN", 82: "UP", 83: "NUMLOCK", 84: "KP_DIVIDE", 85: "KP_MULTIPLY",
    86: "KP_MINUS", 87: "KP_PLUS", 88: "KP_ENTER",
    **{89 + i: f"KP_{(i + 1) % 10}" for i in range(10)},
    99: "KP_PERIOD", 100: "INTL_BACKSLASH", 101: "MENU", 135: "INTL_RO", 137: "INTL_YEN",
    224: "LCTRL", 225: "LSHIFT", 226: "LALT", 227: "LWIN",
    228: "RCTRL", 229: "RSHIFT", 230: "RALT", 231: "RWIN",
}
