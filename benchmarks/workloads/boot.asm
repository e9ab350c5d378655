; Boot sector for the anchor runs (QEMU, Bochs): loads the workload stored from
; sector 2 of the floppy to 1000:0100 and jumps there with exit_mode = 1.
        cpu 8086
        org 7C00h
SECTORS equ 16                          ; 8 KiB: every workload is smaller

        cli
        xor ax, ax
        mov ss, ax
        mov sp, 7C00h
        sti
        mov ax, 1000h
        mov es, ax
        mov di, 3                       ; tries
.read:
        mov ax, 0200h | SECTORS
        mov bx, 100h
        mov cx, 2                       ; cylinder 0, sector 2
        xor dh, dh                      ; head 0, DL = boot drive from the BIOS
        int 13h
        jnc .go
        xor ah, ah
        int 13h                         ; reset the drive and try again
        dec di
        jnz .read
        mov al, '!'
        out 0E9h, al
        cli
        hlt
.go:
        mov byte [es:103h], 1
        jmp 1000h:0100h

        times 510 - ($ - $$) db 0
        dw 0AA55h
