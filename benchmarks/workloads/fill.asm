; Screen fill: STOSW one word at a time (each write is its own memory access)
; over a whole frame, one colour per iteration.  Built four ways: into VGA
; memory at A000h after programming mode 13h or 12h through the ports (VGA
; defined), or into plain RAM with the same number of writes.
;   MODE   the mode's register table in vgamodes.inc (mode13 or mode12)
;   WORDS  words per frame: 32000 (320x200x256), 19200 (640x480x16, 4 planes)
%include "harness.inc"
        BENCH_BEGIN
%ifdef VGA
        mov si, MODE
        call set_mode
        mov ax, 0A000h
%else
        mov ax, cs
        add ax, 1000h                   ; the 64 KiB after the program
%endif
        mov es, ax
        xor bx, bx
        BENCH_LOOP
        mov al, bl
        mov ah, al
        inc bx
        xor di, di
        mov cx, WORDS
.fill:
        stosw
        loop .fill
        BENCH_END

%ifdef VGA
; Replay a register table: records of (kind, port, value) words, kind 0 = OUT
; byte, 1 = OUT word, 2 = IN byte; kind FFFFh ends the table.
set_mode:
        lodsw
        cmp ax, 0FFFFh
        je .done
        mov bx, ax
        lodsw
        mov dx, ax
        lodsw
        cmp bx, 1
        je .word
        ja .read
        out dx, al
        jmp set_mode
.word:
        out dx, ax
        jmp set_mode
.read:
        in al, dx
        jmp set_mode
.done:
        ret
%include "vgamodes.inc"
%endif
