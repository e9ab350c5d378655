; MUL/IMUL/DIV/IDIV, byte and word forms, with operands that never overflow.
%include "harness.inc"
        BENCH_BEGIN
        mov word [divisor], 7
        BENCH_LOOP
        mov cx, 256
.inner:
        mov ax, cx
        mov bx, 1234
        mul bx                          ; DX:AX = CX * 1234
        mov bx, cx
        or bx, 1
        div bx                          ; quotient 1234
        mov ax, cx
        neg ax
        mov bx, 37
        imul bx
        idiv bx                         ; back to -CX
        mov al, cl
        mov bl, 13
        mul bl
        div bl
        mov al, cl
        and al, 7Fh
        neg al
        mov bl, 5
        imul bl
        idiv bl
        mov ax, cx
        xor dx, dx
        div word [divisor]
        imul word [divisor]
        loop .inner
        BENCH_END
divisor: dw 0
