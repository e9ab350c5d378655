; ModR/M addressing: loads, ALU with memory operands and stores through all
; eight r/m forms with disp8 and disp16, and the direct [disp16] form.
%include "harness.inc"
        BENCH_BEGIN
        mov bx, 4000h
        mov si, 2100h
        mov di, 2200h
        mov bp, 5000h
        BENCH_LOOP
        mov cx, 64
.inner:
        mov ax, [bx+si+4]
        add ax, [bx+di+8]
        mov [bp+si+12], ax
        xor ax, [bp+di+16]
        mov [si+20], ax
        sub ax, [di+24]
        mov [bp+28], ax
        or ax, [bx+32]
        mov dx, [bx+si+1000h]
        add dx, [bx+di+1100h]
        mov [bp+si+1200h], dx
        and dx, [bp+di+1300h]
        mov [si+1400h], dx
        adc dx, [di+1500h]
        mov [bp+1600h], dx
        cmp dx, [bx+1700h]
        mov [6000h], ax
        add [6002h], dx
        inc word [bx+si]
        dec byte [bp+di+2]
        loop .inner
        BENCH_END
