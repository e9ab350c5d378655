"""The VGA BIOS option ROM (roms/vgabios.bin): image format, fonts, and INT 10h
under QEMU's ISA PC (SeaBIOS runs our ROM as the machine's VGA BIOS; small
boot programs call INT 10h, report through the debug console at port E9h and
the screen is checked through QEMU's screendump)."""

import shutil
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
ROMS = ROOT / "roms"
VGABIOS = ROMS / "vgabios.bin"
QEMU = shutil.which("qemu-system-i386")
NASM = shutil.which("nasm")


def rom():
    return VGABIOS.read_bytes()


def font(height):
    """Glyphs of roms/font8x<height>.inc as a list of 256 byte strings."""
    glyphs = []
    for line in (ROMS / f"font8x{height}.inc").read_text().splitlines():
        if line.strip().startswith("db"):
            glyphs.append(bytes(int(v, 16) for v in line.split(";")[0].split("db")[1].split(",")))
    return glyphs


# ---------------------------------------------------------------- image


def test_option_rom_header_size_and_checksum():
    data = rom()
    assert data[:2] == b"\x55\xAA"
    assert len(data) == data[2] * 512
    assert len(data) <= 32 * 1024
    assert sum(data) % 256 == 0
    assert data[3] == 0xE9  # near jump to the init routine at offset 3


def test_rom_carries_the_fonts():
    data = rom()
    for height in (8, 14, 16):
        assert b"".join(font(height)) in data


@pytest.mark.parametrize("height", [8, 14, 16])
def test_font_glyphs_sane(height):
    glyphs = font(height)
    assert len(glyphs) == 256 and all(len(g) == height for g in glyphs)
    assert not any(glyphs[0x20]) and not any(glyphs[0x00])          # blanks
    assert any(glyphs[ord("A")]) and glyphs[ord("A")] != glyphs[ord("B")]
    assert all(b == 0xFF for b in glyphs[0xDB])                      # full block
    assert len(set(glyphs[0x21:0x7F])) == 0x7F - 0x21                 # printable ASCII all distinct
    # box drawing: the vertical bar of U+2502 runs through the whole cell
    assert all(b & 0x18 for b in glyphs[0xB3])


def test_build_is_deterministic(tmp_path):
    if NASM is None:
        pytest.skip("nasm is not installed")
    out = tmp_path / "vgabios.bin"
    cmd = [NASM, "-f", "bin", "-w+error", "-I", f"{ROMS}/", "-o", str(out), str(ROMS / "vgabios.asm")]
    subprocess.run(cmd, check=True, capture_output=True)
    data = bytearray(out.read_bytes())
    data[-1] = 0
    data[-1] = -sum(data) & 0xFF
    assert bytes(data) == rom()


# ---------------------------------------------------------------- QEMU

BOOT = r"""
cpu 8086
org 0x7C00
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    mov ax, 0x0208              ; the program follows the boot sector
    mov cx, 0x0002
    xor dh, dh
    mov bx, 0x7E00
    int 0x13
    jmp main
times 510-($-$$) db 0
dw 0xAA55

hex:                            ; AL as two hex digits to the debug console
    push ax
    push cx
    mov cl, 4
    shr al, cl
    call .nib
    pop cx
    pop ax
    push ax
    and al, 15
    call .nib
    pop ax
    ret
.nib:
    add al, '0'
    cmp al, '9'
    jbe .o
    add al, 7
.o: out 0xE9, al
    ret

hexw:                           ; AX as four hex digits
    xchg al, ah
    call hex
    xchg al, ah
    jmp hex

say:                            ; tag at SI to the debug console
    lodsb
    test al, al
    jz .r
    out 0xE9, al
    jmp say
.r: ret

tty:                            ; teletype string at SI, colour BL
    lodsb
    test al, al
    jz .r
    mov ah, 0x0E
    int 0x10
    jmp tty
.r: ret

stage:                          ; end of a stage: newline, wait for a key
    mov al, 10
    out 0xE9, al
    xor ah, ah
    int 0x16
    ret

%macro TAG 1
    jmp %%go
%%s db %1, 0
%%go:
    mov si, %%s
    call say
%endmacro

main:
%include "stages.inc"
    TAG "END"
    mov al, 10
    out 0xE9, al
.halt:
    hlt
    jmp .halt
buffer:
times 9*512-($-$$) db 0
"""

MODES_STAGES = r"""
    ; text mode 3: teletype, write string, scroll window, read back
    mov ax, 0x0003
    int 0x10
    mov si, hello
    mov bl, 7
    call tty
    mov ax, 0x1301
    mov bx, 0x001E
    mov cx, 5
    mov dx, 0x0500
    mov bp, str13
    int 0x10
    mov ax, 0x0600
    mov bh, 0x1F
    mov cx, 0x0A0A
    mov dx, 0x0C14
    int 0x10
    mov ah, 0x02
    xor bh, bh
    mov dx, 0x0B0C
    int 0x10
    mov ax, 0x0A58
    mov cx, 1
    int 0x10
    TAG "T"
    mov ah, 0x08
    int 0x10
    call hexw
    mov ah, 0x0F
    int 0x10
    call hexw
    mov al, bh
    call hex
    call stage
    mov si, modes
next_mode:
    lodsb
    cmp al, 0xFF
    je modes_done
    push si
    push ax
    xor ah, ah
    int 0x10
    TAG "G"
    pop ax
    call hex
    mov dx, 10
.row:
    mov cx, 10
.col:
    mov ax, 0x0C02
    xor bh, bh
    int 0x10
    inc cx
    cmp cx, 30
    jb .col
    inc dx
    cmp dx, 30
    jb .row
    mov ah, 0x02
    xor bh, bh
    mov dx, 0x0500
    int 0x10
    mov si, gtext
    mov bl, 3
    call tty
    mov ax, 0x0D00
    mov cx, 15
    mov dx, 15
    int 0x10
    call hex
    mov ax, 0x0D00
    mov cx, 40
    mov dx, 15
    int 0x10
    call hex
    mov ah, 0x03
    xor bh, bh
    int 0x10
    mov ax, dx
    call hexw
    mov ax, 0x0800              ; the character just drawn, read back from pixels
    mov dx, 0x0500
    push dx
    mov ah, 0x02
    int 0x10
    mov ah, 0x08
    int 0x10
    pop dx
    call hex
    call stage
    pop si
    jmp next_mode
hello db "Hello from pyvmm VGA", 13, 10, "Line 2", 0
str13 db "PYVMM"
gtext db "AB", 0
modes db 0x04, 0x06, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0x13, 0xFF
modes_done:
"""

FEATURE_STAGES = r"""
    ; 80x50: 8x8 font with CRTC recalculation
    mov ax, 0x0003
    int 0x10
    mov ax, 0x1112
    xor bl, bl
    int 0x10
    mov ah, 0x02
    xor bh, bh
    mov dx, 0x3100
    int 0x10
    mov si, bottom
    mov bl, 7
    call tty
    TAG "R"
    push ds
    mov ax, 0x40
    mov ds, ax
    mov al, [0x84]
    mov ah, [0x85]
    pop ds
    call hexw
    call stage

    ; back to 80x25 with the 8x16 font; font pointers
    mov ax, 0x1114
    xor bl, bl
    int 0x10
    TAG "I"
    mov ax, 0x1130
    mov bh, 6
    int 0x10
    mov ax, cx
    call hexw
    mov al, dl
    call hex
    mov al, [es:bp+0x41*16+8]   ; middle of 'A'
    or al, [es:bp+0x41*16+4]
    call hex
    mov al, [es:bp+0x20*16+8]
    call hex
    xor ax, ax
    mov es, ax
    call stage

    ; DAC and palette registers
    mov ax, 0x1010
    mov bx, 1
    mov dh, 63
    xor cx, cx
    int 0x10
    mov ah, 0x02
    xor bh, bh
    xor dx, dx
    int 0x10
    mov ax, 0x0900 + 0xDB
    mov bx, 0x0001
    mov cx, 1
    int 0x10
    TAG "P"
    mov ax, 0x1015
    mov bx, 1
    int 0x10
    mov al, dh
    call hex
    mov ax, cx
    call hexw
    mov ax, 0x1007
    mov bl, 6
    int 0x10
    mov al, bh
    call hex
    call stage

    ; state information, display combination, save/restore
    TAG "S"
    mov ah, 0x1B
    xor bx, bx
    mov di, buffer
    int 0x10
    call hex
    mov al, [buffer+4]
    call hex
    mov al, [buffer+0x22]
    call hex
    mov al, [buffer+0x25]
    call hex
    mov ax, 0x1A00
    int 0x10
    call hex
    mov ax, bx
    call hexw
    mov ax, 0x1C00
    mov cx, 7
    int 0x10
    call hex
    mov ax, bx
    call hexw
    mov ax, 0x1C01
    mov cx, 7
    mov bx, buffer
    int 0x10
    mov ax, 0x0013
    int 0x10
    mov ax, 0x1C02
    mov cx, 7
    mov bx, buffer
    int 0x10
    mov ah, 0x0F
    int 0x10
    call hexw
    mov ax, 0x14AB              ; unsupported function: registers unchanged
    mov bx, 0x1234
    int 0x10
    call hexw
    mov ax, bx
    call hexw
    call stage

    ; 350 scan lines for the next text mode
    mov ax, 0x1201
    mov bl, 0x30
    int 0x10
    push ax
    mov ax, 0x0003
    int 0x10
    mov si, hello350
    mov bl, 7
    call tty
    TAG "L"
    pop ax
    call hex
    push ds
    mov ax, 0x40
    mov ds, ax
    mov al, [0x84]
    mov ah, [0x85]
    pop ds
    call hexw
    mov ax, 0x1202
    mov bl, 0x30
    int 0x10
    call stage

    ; mode 12h: character, scroll, read back
    mov ax, 0x0012
    int 0x10
    mov ah, 0x02
    xor bh, bh
    mov dx, 0x0100
    int 0x10
    mov ax, 0x0941
    mov bx, 0x000E
    mov cx, 1
    int 0x10
    mov ax, 0x0601
    xor bh, bh
    xor cx, cx
    mov dx, 0x1D4F
    int 0x10
    mov ah, 0x02
    xor bh, bh
    xor dx, dx
    int 0x10
    TAG "C"
    mov ah, 0x08
    int 0x10
    call hex
    mov ah, 0x02
    mov dx, 0x0100
    int 0x10
    mov ah, 0x08
    int 0x10
    call hex
    call stage

    ; mode 13h: teletype in colour, pixels at the far corner
    mov ax, 0x0013
    int 0x10
    mov si, hi
    mov bl, 0x28
    call tty
    mov ax, 0x0C0F
    mov cx, 319
    mov dx, 199
    int 0x10
    TAG "V"
    mov ax, 0x0D00
    int 0x10
    call hex
    mov ah, 0x02
    xor bh, bh
    xor dx, dx
    int 0x10
    mov ah, 0x08
    int 0x10
    call hex
    call stage

    ; text again: teletype scrolls at the bottom, string with attributes
    mov ax, 0x0003
    int 0x10
    mov cx, 26
.lines:
    mov si, line
    mov bl, 7
    push cx
    call tty
    pop cx
    loop .lines
    mov ax, 0x1303
    xor bh, bh
    mov cx, 3
    mov dx, 0x0300
    mov bp, pairs
    int 0x10
    TAG "W"
    mov ah, 0x03
    xor bh, bh
    int 0x10
    mov ax, dx
    call hexw
    call stage
    jmp features_done
bottom db "BOTTOM", 0
hello350 db "350", 0
hi db "Hi", 0
line db "scroll", 13, 10, 0
pairs db "R", 0x4F, "G", 0x2F, "B", 0x1F
features_done:
"""

MORE_STAGES = r"""
    ; cursor shape with CGA emulation
    mov ax, 0x0003
    int 0x10
    mov ah, 0x01
    mov cx, 0x0007
    int 0x10
    TAG "K"
    mov dx, 0x3D4
    mov al, 0x0A
    out dx, al
    inc dx
    in al, dx
    call hex
    dec dx
    mov al, 0x0B
    out dx, al
    inc dx
    in al, dx
    call hex
    mov ah, 0x03
    xor bh, bh
    int 0x10
    mov ax, cx
    call hexw
    call stage

    ; display page 1
    mov ax, 0x0501
    int 0x10
    mov ax, 0x1300
    mov bx, 0x0107
    mov cx, 5
    xor dx, dx
    mov bp, page1
    int 0x10
    TAG "Q"
    mov ah, 0x0F
    int 0x10
    mov al, bh
    call hex
    push ds
    mov ax, 0x40
    mov ds, ax
    mov ax, [0x4E]
    pop ds
    call hexw
    call stage
    mov ax, 0x0500
    int 0x10

    ; CGA palette and background in mode 4
    mov ax, 0x0004
    int 0x10
    mov ah, 0x0B
    mov bx, 0x0100
    int 0x10
    mov ah, 0x0B
    mov bx, 0x0011
    int 0x10
    mov ax, 0x0C01
    xor bh, bh
    xor cx, cx
    xor dx, dx
    int 0x10
    mov ax, 0x0C02
    mov cx, 8
    int 0x10
    mov ax, 0x0C03
    mov cx, 16
    int 0x10
    TAG "B"
    call stage

    ; grey summing of a DAC entry
    mov ax, 0x0013
    int 0x10
    mov ax, 0x101B
    mov bx, 0x20
    mov cx, 1
    int 0x10
    TAG "Y"
    mov ax, 0x1015
    mov bx, 0x20
    int 0x10
    mov al, dh
    call hex
    mov ax, cx
    call hexw
    call stage

    ; user font: 'A' becomes a full block
    mov ax, 0x0003
    int 0x10
    mov ax, 0x1100
    mov bx, 0x1000
    mov cx, 1
    mov dx, 0x41
    mov bp, block
    int 0x10
    mov ax, 0x0E41
    mov bl, 7
    int 0x10
    TAG "U"
    mov ah, 0x12
    mov bl, 0x10
    int 0x10
    mov ax, bx
    call hexw
    mov ax, cx
    call hexw
    call stage

    ; save the DAC, change it, restore it
    mov ax, 0x1C01
    mov cx, 4
    mov bx, buffer
    int 0x10
    mov ax, 0x1010
    mov bx, 7
    mov dh, 0
    mov cx, 0x3F00
    int 0x10
    mov ax, 0x1C02
    mov cx, 4
    mov bx, buffer
    int 0x10
    TAG "H"
    mov ax, 0x1015
    mov bx, 7
    int 0x10
    mov al, dh
    call hex
    mov ax, cx
    call hexw
    call stage

    ; 40-column colour text, then monochrome text
    mov ax, 0x0001
    int 0x10
    mov si, forty
    mov bl, 7
    call tty
    TAG "F"
    mov ah, 0x0F
    int 0x10
    call hexw
    call stage
    mov ax, 0x0007
    int 0x10
    mov si, mono
    mov bl, 7
    call tty
    TAG "M"
    mov ah, 0x0F
    int 0x10
    call hexw
    int 0x11
    and al, 0x30
    call hex
    call stage

    ; all palette registers out and back in; hardware state save/restore
    mov ax, 0x0003
    int 0x10
    mov ax, 0x1009
    mov dx, buffer
    int 0x10
    TAG "Z"
    mov al, [buffer+6]
    call hex
    mov al, [buffer+15]
    call hex
    mov byte [buffer+1], 0x3F
    mov ax, 0x1002
    mov dx, buffer
    int 0x10
    mov ax, 0x1007
    mov bl, 1
    int 0x10
    mov al, bh
    call hex
    mov ax, 0x1C01
    mov cx, 1
    mov bx, buffer
    int 0x10
    mov ax, 0x0013
    int 0x10
    mov ax, 0x1C02
    mov cx, 1
    mov bx, buffer
    int 0x10
    mov dx, 0x3CC
    in al, dx
    call hex
    mov dx, 0x3D4
    mov al, 0x09
    out dx, al
    inc dx
    in al, dx
    call hex
    mov ax, 0x1007
    mov bl, 1
    int 0x10
    mov al, bh
    call hex
    call stage

    ; teletype scrolling in mode 12h; scroll down in mode 4; 200-line text
    mov ax, 0x0012
    int 0x10
    mov ah, 0x02
    xor bh, bh
    mov dx, 0x1D00
    int 0x10
    mov si, xy
    mov bl, 0x0C
    call tty
    TAG "X"
    call stage
    mov ax, 0x0004
    int 0x10
    mov ah, 0x02
    xor bh, bh
    mov dx, 0x1800
    int 0x10
    mov si, xy
    mov bl, 0x03
    call tty
    mov ax, 0x0701
    xor bh, bh
    xor cx, cx
    mov dx, 0x1827
    int 0x10
    TAG "D"
    call stage
    mov ax, 0x1200
    mov bl, 0x30
    int 0x10
    mov ax, 0x0003
    int 0x10
    mov si, forty
    mov bl, 7
    call tty
    TAG "2"
    push ds
    mov ax, 0x40
    mov ds, ax
    mov ax, [0x84]
    pop ds
    call hexw
    call stage

    ; font and palette services: register results
    mov ax, 0x1202
    mov bl, 0x30
    int 0x10
    mov ax, 0x0003
    int 0x10
    mov ax, 0x1111
    xor bl, bl
    int 0x10
    TAG "N"
    push ds
    mov ax, 0x40
    mov ds, ax
    mov ax, [0x84]
    pop ds
    call hexw
    mov ax, 0x1123              ; INT 43h = ROM 8x8, 25 rows
    mov bl, 2
    int 0x10
    push es
    mov ax, 0x1130
    mov bh, 1
    int 0x10
    mov si, bp
    mov di, es
    mov ax, 0x1130
    mov bh, 3
    int 0x10
    cmp si, bp
    jne .differ
    mov ax, es
    cmp di, ax
    jne .differ
    mov al, 0xEE
    jmp .same
.differ:
    xor al, al
.same:
    call hex
    mov ax, cx
    call hexw
    mov al, dl
    call hex
    pop es
    mov ax, 0x1012              ; DAC 20h-21h from a table, read back
    mov bx, 0x20
    mov cx, 2
    mov dx, dacs
    int 0x10
    mov ax, 0x1017
    mov bx, 0x20
    mov cx, 2
    mov dx, buffer
    int 0x10
    mov al, [buffer+2]
    call hex
    mov al, [buffer+3]
    call hex
    mov ax, 0x1013              ; 16 colour pages, select page 5
    mov bx, 0x0100
    int 0x10
    mov ax, 0x1013
    mov bx, 0x0501
    int 0x10
    mov ax, 0x101A
    int 0x10
    mov ax, bx
    call hexw
    mov ax, 0x1013
    mov bx, 0x0000
    int 0x10
    mov ax, 0x1A01              ; display combination: VGA mono active
    mov bx, 0x0007
    int 0x10
    mov ax, 0x1A00
    int 0x10
    mov ax, bx
    call hexw
    mov ax, 0x1A01
    mov bx, 0x0008
    int 0x10
    mov ax, 0x1201              ; display off, then on
    mov bl, 0x36
    int 0x10
    call hex
    mov ax, 0x1200
    mov bl, 0x36
    int 0x10
    call hex
    call stage
    jmp more_done
dacs db 1, 2, 3, 4, 5, 6
xy db "XY", 13, 10, 0
forty db "FORTY", 0
mono db "MONO", 0
page1 db "PAGE1"
block times 16 db 0xFF
more_done:
"""


class Qemu:
    """QEMU's ISA PC with our VGA BIOS, running one boot program."""

    def __init__(self, tmp, stages):
        self.tmp = tmp
        (tmp / "stages.inc").write_text(stages)
        (tmp / "boot.asm").write_text(BOOT)
        disk = tmp / "boot.img"
        subprocess.run([NASM, "-f", "bin", "-I", f"{tmp}/", "-o", str(disk), str(tmp / "boot.asm")],
                       check=True, capture_output=True)
        with open(disk, "r+b") as f:
            f.truncate(1474560)
        romdir = tmp / "rom"
        romdir.mkdir()
        # -vga std gives the ISA PC an isa-vga, whose option ROM QEMU looks up as
        # "vgabios.bin" on its data path (-L first); isapc's default would be Cirrus.
        shutil.copy(VGABIOS, romdir / "vgabios.bin")
        self.debug = tmp / "debug.txt"
        self.sock_path = tmp / "monitor.sock"
        self.proc = subprocess.Popen(
            [QEMU, "-M", "isapc", "-vga", "std", "-L", str(romdir), "-display", "none", "-no-reboot",
             "-drive", f"file={disk},format=raw,if=floppy", "-debugcon", f"file:{self.debug}",
             "-monitor", f"unix:{self.sock_path},server,nowait"],
            cwd=romdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # QEMU also searches its cwd
        self.monitor = None
        for _ in range(100):
            try:
                self.monitor = socket.socket(socket.AF_UNIX)
                self.monitor.connect(str(self.sock_path))
                break
            except OSError:
                self.monitor.close()
                self.monitor = None
                time.sleep(0.05)
        assert self.monitor is not None, "QEMU monitor did not come up"
        self.monitor.settimeout(5)
        self._read_until(b"(qemu)")
        roms = self.command("info roms").decode(errors="replace")
        assert f'size=0x{VGABIOS.stat().st_size:06x} name="vgabios.bin"' in roms, roms

    def _read_until(self, marker):
        data = b""
        while marker not in data:
            chunk = self.monitor.recv(4096)
            if not chunk:
                raise OSError("QEMU closed its monitor")
            data += chunk
        return data

    def command(self, text):
        self.monitor.sendall(text.encode() + b"\n")
        return self._read_until(b"(qemu)")

    def lines(self):
        try:
            return self.debug.read_text().split("\n")[:-1]
        except FileNotFoundError:
            return []

    def wait_line(self, count, timeout=20):
        deadline = time.monotonic() + timeout
        while len(self.lines()) < count:
            assert time.monotonic() < deadline, f"boot program stalled after {self.lines()}"
            assert self.proc.poll() is None, "QEMU exited"
            time.sleep(0.05)
        return self.lines()[count - 1]

    def screen(self):
        path = self.tmp / "screen.ppm"
        self.command(f"screendump {path}")
        data = path.read_bytes()
        magic, size, depth, pixels = data.split(b"\n", 3)
        width, height = map(int, size.split())
        return np.frombuffer(pixels, np.uint8).reshape(height, width, 3)

    def run(self):
        """[(debug line, screen)] for every stage of the program."""
        out = []
        while True:
            line = self.wait_line(len(out) + 1)
            if line.startswith("END"):
                return out
            out.append((line, self.screen()))
            self.command("sendkey spc")

    def close(self):
        try:
            self.command("quit")
        except OSError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.monitor:
            self.monitor.close()


def run_program(tmp_path, stages):
    if QEMU is None:
        pytest.skip("qemu-system-i386 is not installed (apt-get install qemu-system-x86)")
    if NASM is None:
        pytest.skip("nasm is not installed (apt-get install nasm)")
    qemu = Qemu(tmp_path, stages)
    try:
        return qemu.run()
    finally:
        qemu.close()


def dac8(r, g, b):
    """A 6-bit DAC colour as QEMU's screendump shows it (low bits filled from bit 0)."""
    return tuple((v << 2) | (3 if v & 1 else 0) for v in (r, g, b))


def cell(screen, row, col, width=9, height=16):
    return screen[row * height:(row + 1) * height, col * width:(col + 1) * width]


def glyph_of(screen, row, col, fg, width=9, height=16):
    """The 8 left columns of a text cell as glyph bytes (1 where the colour is fg)."""
    pixels = cell(screen, row, col, width, height)[:, :8]
    on = np.all(pixels == np.array(fg, np.uint8), axis=2)
    return bytes(int("".join("1" if p else "0" for p in r), 2) for r in on)


@pytest.fixture(scope="module")
def mode_stages(tmp_path_factory):
    return run_program(tmp_path_factory.mktemp("modes"), MODES_STAGES)


@pytest.fixture(scope="module")
def feature_stages(tmp_path_factory):
    return run_program(tmp_path_factory.mktemp("features"), FEATURE_STAGES)


GREY, WHITE, YELLOW = dac8(0x2A, 0x2A, 0x2A), dac8(0x3F, 0x3F, 0x3F), dac8(0x3F, 0x3F, 0x15)
BLUE, BLACK = dac8(0, 0, 0x2A), (0, 0, 0)


def test_text_mode_3(mode_stages):
    line, screen = mode_stages[0]
    # AH=08h gives 'X' with the window's attribute; AH=0Fh: mode 3, 80 columns, page 0
    assert line == "T" + "1F58" + "5003" + "00"
    assert screen.shape == (400, 720, 3)
    glyphs = font(16)
    for col, char in enumerate("Hello from pyvmm VGA"):
        assert glyph_of(screen, 0, col, GREY) == glyphs[ord(char)], char
    for col, char in enumerate("PYVMM"):                     # AH=13h, yellow on blue
        assert glyph_of(screen, 5, col, YELLOW) == glyphs[ord(char)]
        assert tuple(cell(screen, 5, col)[0, 0]) == BLUE
    assert tuple(cell(screen, 10, 10)[0, 0]) == BLUE           # scrolled-clear window
    assert tuple(cell(screen, 12, 20)[15, 8]) == BLUE
    assert tuple(cell(screen, 12, 21)[0, 0]) == BLACK
    # the cursor (scan lines 13-14) sits on the 'X'
    assert glyph_of(screen, 11, 12, WHITE)[:13] == glyphs[ord("X")][:13]


# mode: (size, colour of pixel value 2, colour of text colour 3, read back of 2)
GRAPHICS = {
    0x04: ((400, 640), dac8(0x3F, 0x15, 0x3F), WHITE, 2),
    0x06: ((400, 640), BLACK, WHITE, 0),
    0x0D: ((400, 640), dac8(0, 0x2A, 0), dac8(0, 0x2A, 0x2A), 2),
    0x0E: ((400, 640), dac8(0, 0x2A, 0), dac8(0, 0x2A, 0x2A), 2),
    0x0F: ((350, 640), None, None, 2),
    0x10: ((350, 640), dac8(0, 0x2A, 0), dac8(0, 0x2A, 0x2A), 2),
    0x11: ((480, 640), None, WHITE, 2),       # QEMU shows plane 1 despite colour plane enable
    0x12: ((480, 640), dac8(0, 0x2A, 0), dac8(0, 0x2A, 0x2A), 2),
    0x13: ((400, 640), dac8(0, 0x2A, 0), dac8(0, 0x2A, 0x2A), 2),
}


@pytest.mark.parametrize("index,mode", list(enumerate(GRAPHICS, 1)))
def test_graphics_mode(mode_stages, index, mode):
    line, screen = mode_stages[index]
    size, square, text, readback = GRAPHICS[mode]
    # G<mode><pixel 15,15><pixel 40,15><cursor row 5 col 2><char read back>
    assert line == f"G{mode:02X}{readback:02X}000502{0x41:02X}"
    assert screen.shape[:2] == size
    height, width = screen.shape[:2]
    sx = 2 if mode in (0x04, 0x0D, 0x13) else 1              # 320 pixels shown twice
    sy = 2 if mode in (0x04, 0x06, 0x0D, 0x0E, 0x13) else 1  # 200 lines shown twice
    if square is not None:
        assert tuple(screen[20 * sy, 20 * sx]) == square
    if mode not in (0x0F, 0x11):
        assert tuple(screen[40 * sy, 20 * sx]) == BLACK
    # "AB" at character row 5: some pixels of the text colour in the first two cells
    cell_h = {0x0F: 14, 0x10: 14, 0x11: 16, 0x12: 16}.get(mode, 8) * sy
    band = screen[5 * cell_h:6 * cell_h, :16 * sx]
    if text is not None:
        assert np.any(np.all(band == np.array(text, np.uint8), axis=2))
    else:
        assert np.any(band != 0)
    assert not np.any(screen[6 * cell_h:, 40 * sx:] != 0)      # nothing else drawn


def test_font_8x8_gives_80x50(feature_stages):
    line, screen = feature_stages[0]
    assert line == "R" + "0831"                                 # 40:85 = 8, 40:84 = 49
    glyphs = font(8)
    for col, char in enumerate("BOTTOM"):
        assert glyph_of(screen, 49, col, GREY, height=8) == glyphs[ord(char)]


def test_font_info_and_8x16_again(feature_stages):
    line, screen = feature_stages[1]
    # CX = 16 lines, DL = 24 rows-1, 'A' has pixels in its middle, space has none
    assert line[:7] == "I" + "0010" + "18"
    assert line[7:9] != "00" and line[9:11] == "00"


def test_dac_and_palette_registers(feature_stages):
    line, screen = feature_stages[2]
    # DAC 1 read back (3F,00,00); palette register 6 = 14h
    assert line == "P" + "3F" + "0000" + "14"
    assert tuple(screen[4, 4]) == dac8(0x3F, 0, 0)             # full block in colour 1


def test_state_info_dcc_save_restore(feature_stages):
    line, _ = feature_stages[3]
    assert line[:9] == "S" + "1B" + "03" + "19" + "08"         # AH=1Bh: mode 3, 25 rows, VGA colour
    assert line[9:15] == "1A" + "0008"                          # AH=1Ah: VGA colour, no alternate
    assert line[15:17] == "1C" and int(line[17:21], 16) >= 2    # AH=1Ch size in 64-byte blocks
    assert line[21:25] == "5003"                                # restored BIOS data: mode 3
    assert line[25:] == "14AB" + "1234"                         # unsupported AH: untouched


def test_350_line_text(feature_stages):
    line, screen = feature_stages[4]
    assert line == "L" + "12" + "0E18"                          # 8x14 cells, 25 rows
    assert screen.shape == (350, 720, 3)
    glyphs = font(14)
    for col, char in enumerate("350"):
        assert glyph_of(screen, 0, col, GREY, height=14) == glyphs[ord(char)]


def test_mode_12h_scroll_and_read_char(feature_stages):
    line, screen = feature_stages[5]
    assert line == "C" + "41" + "00"                            # 'A' moved up to row 0
    glyphs = font(16)
    assert glyph_of(screen, 0, 0, YELLOW, width=8) == glyphs[ord("A")]
    assert not np.any(screen[16:, :] != 0)


def test_mode_13h_teletype_and_pixel(feature_stages):
    line, screen = feature_stages[6]
    assert line == "V" + "0F" + "48"
    assert tuple(screen[399, 639]) == WHITE
    red = screen[:16, :16]
    assert np.any(np.all(red == np.array(dac8(0x3F, 0, 0), np.uint8), axis=2))


def test_teletype_scrolls_and_write_string(feature_stages):
    line, screen = feature_stages[7]
    assert line == "W" + "0303"                                 # AL bit 0: cursor after the string
    glyphs = font(16)
    # 26 lines of "scroll" on 25 rows: the first one has scrolled away
    for row in range(0, 24):
        assert glyph_of(screen, row, 0, GREY) == glyphs[ord("s")] or row == 3
    assert glyph_of(screen, 3, 0, WHITE) == glyphs[ord("R")]
    assert tuple(cell(screen, 3, 1)[0, 0]) == dac8(0, 0x2A, 0)


@pytest.fixture(scope="module")
def more_stages(tmp_path_factory):
    return run_program(tmp_path_factory.mktemp("more"), MORE_STAGES)


def test_cursor_shape_emulation(more_stages):
    line, _ = more_stages[0]
    assert line == "K" + "000E" + "0007"      # CGA 0-7 shown as lines 0-14 of 16; 40:60 keeps 0007h


def test_display_page_1(more_stages):
    line, screen = more_stages[1]
    assert line == "Q" + "01" + "1000"        # AH=0Fh BH = 1, 40:4E = page 1 offset
    glyphs = font(16)
    for col, char in enumerate("PAGE1"):
        if col:                               # the block cursor of stage K covers the 'P'
            assert glyph_of(screen, 0, col, GREY) == glyphs[ord(char)]


def test_cga_palette_and_background(more_stages):
    _, screen = more_stages[2]
    assert tuple(screen[100, 100]) == BLUE                             # background colour 1
    # palette 0 with intensity: light green, light red, yellow
    assert tuple(screen[0, 0]) == dac8(0x15, 0x3F, 0x15)
    assert tuple(screen[0, 16]) == dac8(0x3F, 0x15, 0x15)
    assert tuple(screen[0, 32]) == dac8(0x3F, 0x3F, 0x15)


def test_grey_summing(more_stages):
    line, _ = more_stages[3]
    assert line == "Y" + "07" + "0707"        # (0,0,63) -> 0.11 * 63


def test_user_font_and_ega_info(more_stages):
    line, screen = more_stages[4]
    assert line == "U" + "0003" + "0F09"      # colour, 256 KiB; feature bits 0Fh, switches 9
    assert np.all(cell(screen, 0, 0)[:, :8] == np.array(GREY, np.uint8))


def test_save_restore_dac(more_stages):
    line, _ = more_stages[5]
    assert line == "H" + "2A" + "2A2A"        # DAC 7 back to the text-mode grey


def test_40_column_text(more_stages):
    line, screen = more_stages[6]
    assert line == "F" + "2801"               # 40 columns, mode 1
    # 9-dot cells at half dot clock are 18 pixels wide; QEMU draws them 16 wide
    assert screen.shape == (400, 640, 3)
    glyphs = font(16)
    for col, char in enumerate("FORTY"):
        assert glyph_of(screen[:, ::2], 0, col, GREY, width=8) == glyphs[ord(char)]


def test_monochrome_text(more_stages):
    line, screen = more_stages[7]
    assert line == "M" + "5007" + "30"        # mode 7; equipment word: 80x25 monochrome
    assert screen.shape == (400, 720, 3)
    glyphs = font(16)
    for col, char in enumerate("MONO"):
        assert glyph_of(screen, 0, col, GREY) == glyphs[ord(char)]


def test_generated_sources_reproduce(tmp_path):
    """mkfont.py and vgabuild.py regenerate the committed includes byte for byte."""
    import sys
    sys.path.insert(0, str(ROMS))
    try:
        import mkfont
        import vgabuild
    finally:
        sys.path.remove(str(ROMS))
    if not (mkfont.FONT_DIR / "Uni2-Terminus16.psf.gz").exists():
        pytest.skip("console-setup's Terminus fonts are not installed (apt-get install console-setup)")
    mkfont.main([str(tmp_path)])
    for height in (8, 14, 16):
        name = f"font8x{height}.inc"
        assert (tmp_path / name).read_text() == (ROMS / name).read_text(), name
    vgabuild.write_palette(tmp_path / "palette.inc")
    assert (tmp_path / "palette.inc").read_text() == (ROMS / "vgabios" / "palette.inc").read_text()


def test_palette_block_and_hardware_save_restore(more_stages):
    line, _ = more_stages[8]
    # AX=1009h: register 6 = 14h, 15 = 3Fh; AX=1002h then 1007h: register 1 = 3Fh;
    # after mode 13h, restoring the saved hardware state gives back misc 67h,
    # CRTC 09h = 4Fh and palette register 1 = 3Fh
    assert line == "Z" + "14" + "3F" + "3F" + "67" + "4F" + "3F"


def test_teletype_scrolls_in_mode_12h(more_stages):
    _, screen = more_stages[9]
    rows = np.argwhere(screen.any(axis=2))[:, 0]
    assert rows.min() >= 28 * 16 and rows.max() < 29 * 16   # "XY" moved up from row 29 to 28
    glyphs = font(16)
    assert glyph_of(screen, 28, 0, dac8(0x3F, 0x15, 0x15), width=8) == glyphs[ord("X")]


def test_scroll_down_in_mode_4(more_stages):
    _, screen = more_stages[10]
    rows = np.argwhere(screen.any(axis=2))[:, 0]
    assert rows.min() >= 24 * 16 and rows.max() < 25 * 16   # up by the newline, down again by AH=07h


def test_200_line_text(more_stages):
    line, screen = more_stages[11]
    assert line == "2" + "0818"               # 8x8 cells shown twice: 25 rows
    assert screen.shape == (400, 720, 3)
    glyphs = font(8)
    for col, char in enumerate("FORTY"):
        doubled = glyph_of(screen[::2], 0, col, GREY, height=8)     # a VGA doubles each line
        single = glyph_of(screen, 0, col, GREY, height=16)[:8]      # QEMU does not in text modes
        assert glyphs[ord(char)] in (doubled, single)


def test_font_palette_and_dcc_services(more_stages):
    line, _ = more_stages[12]
    assert line[:5] == "N" + "0E1B"           # AX=1111h: 8x14 cells, 28 rows
    assert line[5:7] == "EE"                  # AX=1123h set INT 43h to the ROM 8x8 font
    assert line[7:13] == "0008" + "18"        # ... with 8 lines a character and 25 rows
    assert line[13:17] == "0304"              # AX=1012h/1017h: bytes 2-3 of (1,2,3),(4,5,6)
    assert line[17:21] == "0501"              # AX=101Ah: page 5 of 16
    assert line[21:25] == "0007"              # AX=1A01h/1A00h: VGA mono active, none alternate
    assert line[25:] == "12" + "12"           # AX=12xxh BL=36h: display off, on
