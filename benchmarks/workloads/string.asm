; String instructions: REP MOVSW, REP STOSW, REPE CMPSB over equal buffers
; (so it runs to the end) and a LODSB loop.
%include "harness.inc"
        BENCH_BEGIN
        BENCH_LOOP
        mov si, 4000h
        mov di, 6000h
        mov cx, 512
        rep movsw                       ; 1 KiB copy
        mov di, 8000h
        mov ax, 0A55Ah
        mov cx, 512
        rep stosw                       ; 1 KiB fill
        mov si, 4000h
        mov di, 6000h
        mov cx, 1024
        repe cmpsb                      ; equal: compares all 1024 bytes
        mov si, 8000h
        mov cx, 256
        xor bx, bx
.lods:
        lodsb
        add bl, al
        adc bh, 0
        loop .lods
        BENCH_END
