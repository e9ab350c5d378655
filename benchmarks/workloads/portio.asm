; Port I/O: byte and word OUT/IN to the POST port 80h, immediate and DX forms.
%include "harness.inc"
        BENCH_BEGIN
        mov dx, 80h
        BENCH_LOOP
        mov cx, 64
.inner:
        mov al, cl
        out 80h, al
        in al, 80h
        out dx, al
        in al, dx
        mov ax, cx
        out dx, ax
        in ax, dx
        loop .inner
        BENCH_END
