; pyvmm VGA BIOS: option ROM at C000:0000.
;
; Build with python3 roms/vgabuild.py (nasm -f bin, include path roms/).
; 8086 instructions only.  The ROM keeps no state of its own: everything lives
; in the VGA registers and the BIOS data area (segment 40h).

cpu 8086
bits 16
org 0

BDA_SEG     equ 0x40
B_EQUIP     equ 0x10
B_MODE      equ 0x49
B_COLS      equ 0x4A
B_PAGESIZE  equ 0x4C
B_PAGEOFS   equ 0x4E
B_CURPOS    equ 0x50
B_CURSHAPE  equ 0x60
B_PAGE      equ 0x62
B_CRTC      equ 0x63
B_MODECTL   equ 0x65
B_PALETTE   equ 0x66
B_ROWS      equ 0x84
B_CHARH     equ 0x85
B_EGAINFO   equ 0x87            ; bit 0 cursor emulation off, 1 mono, 5-6 memory, 7 keep memory
B_SWITCHES  equ 0x88
B_VGAFLAGS  equ 0x89            ; bit 0 VGA, 1 grey summing, 3 no default palette, 4/7 scan lines
B_DCC       equ 0x8A
B_SAVEPTR   equ 0xA8

; mode types
T_TEXT      equ 0
T_CGA4      equ 1
T_CGA2      equ 2
T_PLANAR    equ 3
T_LINEAR    equ 4
T_NONE      equ 0xFF

; INT 10h stack frame (saved registers) and locals
%define F_AX    word [bp+0]
%define F_AL    byte [bp+0]
%define F_AH    byte [bp+1]
%define F_BX    word [bp+2]
%define F_BL    byte [bp+2]
%define F_BH    byte [bp+3]
%define F_CX    word [bp+4]
%define F_CL    byte [bp+4]
%define F_CH    byte [bp+5]
%define F_DX    word [bp+6]
%define F_DL    byte [bp+6]
%define F_DH    byte [bp+7]
%define F_ES    word [bp+16]
%define L_TYPE  byte [bp-2]     ; mode type of the current mode
%define L_ATTR  byte [bp-1]     ; nonzero: character writes also write the attribute
%define L_LINES word [bp-4]     ; scan lines per character row (1 in text modes)
%define L_LINESB byte [bp-4]
%define L_BPC   word [bp-6]     ; bytes per character column in one scan line
%define L_BPCB  byte [bp-6]
%define L_BASE  word [bp-8]     ; offset of the page being drawn
%define L_SEG   word [bp-10]    ; video memory segment
%define L_T1    word [bp-12]    ; scratch
%define L_T2    word [bp-14]
%define L_T3    word [bp-16]
LOCALS      equ 16

rom_start:
    db 0x55, 0xAA
    db rom_blocks
    jmp near init

    db "pyvmm VGA BIOS", 0
    db "Fonts derived from Terminus Font, Copyright (c) 2010 Dimitar Toshkov Zhekov, "
    db "SIL Open Font License 1.1 (see roms/FONTS.md)", 0

%include "vgabios/modes.inc"
%include "vgabios/palette.inc"
%include "vgabios/code.inc"
%include "vgabios/funcs.inc"
%include "vgabios/state.inc"
%include "font8x8.inc"
%include "font8x14.inc"
%include "font8x16.inc"

; The first three bytes of an alternate font table: none (0 terminates it).
alt_font:
    db 0

    times 511 - (($ - $$) % 512) db 0
checksum:
    db 0
rom_end:

rom_blocks  equ (rom_end - rom_start) / 512
