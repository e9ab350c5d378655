; CALL/RET, PUSH/POP and stores: nested near calls that save registers on the
; stack and store through BX, BP and DI.
%include "harness.inc"
        BENCH_BEGIN
        mov bx, 4000h
        mov di, 5000h
        BENCH_LOOP
        mov cx, 128
.inner:
        call outer_fn
        push cx
        pushf
        popf
        pop cx
        loop .inner
        BENCH_END

outer_fn:
        push ax
        push bx
        push bp
        mov bp, sp
        mov [bx], cx
        mov [bp-8], ax
        call inner_fn
        call inner_fn
        pop bp
        pop bx
        pop ax
        ret

inner_fn:
        push dx
        push si
        mov si, cx
        and si, 7Eh
        mov [bx+si+100h], dx
        inc dx
        pop si
        pop dx
        ret
