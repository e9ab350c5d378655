; ALU and load loop: register arithmetic, logic, shifts, compares and
; conditional branches fed by word loads from a 4 KiB table.
%include "harness.inc"
        BENCH_BEGIN
        mov si, 4000h
        xor bx, bx
        xor dx, dx
        BENCH_LOOP
        mov cx, 256
.inner:
        mov ax, [si]
        add ax, bx
        adc dx, ax
        xor bx, dx
        sub ax, cx
        and ax, 0FF0h
        or dx, ax
        shl ax, 1
        rcr bx, 1
        inc si
        inc si
        and si, 0FFEh
        or si, 4000h
        cmp ax, bx
        jb .below
        neg ax
.below:
        mov [si+2000h], ax
        loop .inner
        BENCH_END
