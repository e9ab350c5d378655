; pyvmm's built-in default diskette: a 1.44M FAT12 image with no files whose
; reserved sectors hold a diagnostics program. The boot sector loads it; it
; shows the CPU model, memory, drives and video, echoes keys, then walks
; through some video modes, a key press each.
;
; Assembled by roms/build.py into roms/default.img. 8086 instructions only.

        cpu 8086
        bits 16
        org 0x7C00

PROG_SECTORS    equ 8                   ; program after the boot sector
PROG_SEG        equ 0x0800              ; loaded at 0800:0000 (8000h)
RESERVED        equ 1 + PROG_SECTORS

boot:
        jmp short boot_code
        nop
        ; BIOS parameter block: 1.44M, FAT12, the program in reserved sectors
        db "PYVMM1.0"
        dw 512                          ; bytes per sector
        db 1                            ; sectors per cluster
        dw RESERVED                     ; reserved sectors
        db 2                            ; FATs
        dw 224                          ; root directory entries
        dw 2880                         ; sectors
        db 0xF0                         ; media descriptor
        dw 9                            ; sectors per FAT
        dw 18                           ; sectors per track
        dw 2                            ; heads
        dd 0                            ; hidden sectors
        dd 0                            ; large sector count
        db 0, 0, 0x29                   ; drive, reserved, extended boot signature
        dd 0x20261125                   ; volume serial
        db "PYVMM DIAG "
        db "FAT12   "

boot_code:
        cli
        xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, 0x7C00
        sti
        cld
        mov bp, 3                       ; tries
.load:
        mov ax, PROG_SEG
        mov es, ax
        xor bx, bx
        mov ax, 0x0200 + PROG_SECTORS
        mov cx, 0x0002
        xor dh, dh
        int 0x13
        jnc .loaded
        xor ah, ah
        int 0x13
        dec bp
        jnz .load
        mov si, boot_fail
.msg:
        lodsb
        or al, al
        jz .halt
        mov ah, 0x0E
        mov bx, 7
        int 0x10
        jmp .msg
.halt:
        xor ah, ah
        int 0x16
        int 0x19
.loaded:
        jmp PROG_SEG:0

boot_fail:      db "Cannot load the diagnostics. Press a key.", 13, 10, 0
        times 510 - ($ - $$) db 0
        dw 0xAA55

; ---------------------------------------------------------------------------
; The program, linked at offset 0 of PROG_SEG.
        section prog vstart=0 align=1
prog:
        mov ax, cs
        mov ds, ax
        mov es, ax
        mov ax, 0x0003
        int 0x10
        mov si, s_title
        call puts

        ; CPU: FLAGS bits 12-15 and the shift-count mask tell the models apart
        mov si, s_cpu
        call puts
        call cpu_model
        call puts
        int 0x11
        mov si, s_fpu_no
        test al, 0x02
        jz .fpu
        mov si, s_fpu_yes
.fpu:
        call puts

        ; memory
        mov si, s_mem
        call puts
        int 0x12
        call putdec
        mov si, s_kb_conv
        call puts
        mov ah, 0x88
        int 0x15
        jnc .ext
        xor ax, ax
.ext:
        call putdec
        mov si, s_kb_ext
        call puts

        ; diskette drives from the equipment word, with their INT 13h types
        int 0x11
        xor cx, cx
        test al, 0x01
        jz .no_fd
        mov cl, 6
        shr al, cl
        inc al
        mov cl, al
.no_fd:
        xor dl, dl
        jcxz .fd_done
.fd:
        push cx
        push dx
        mov si, s_fd
        call puts
        mov al, 'A'
        add al, dl
        call putc
        mov si, s_colon
        call puts
        mov ah, 0x08
        int 0x13
        mov si, s_unknown
        jc .fd_type
        cmp bl, 5
        ja .fd_type
        xor bh, bh
        shl bx, 1
        mov si, [fd_names + bx]
.fd_type:
        call puts
        call crlf
        pop dx
        pop cx
        inc dl
        loop .fd
.fd_done:
        ; fixed disks: count and size
        mov ah, 0x08
        mov dl, 0x80
        int 0x13
        jc .hd_done
        xor ch, ch
        mov cl, dl
        mov dl, 0x80
        jcxz .hd_done
.hd:
        push cx
        push dx
        mov si, s_hd
        call puts
        mov al, dl
        sub al, 0x80 - 'C'
        call putc
        mov si, s_colon
        call puts
        mov ah, 0x15
        int 0x13
        ; CX:DX sectors -> MiB = CX:DX / 2048
        mov ax, dx
        mov dx, cx
        mov cx, 2048
        div cx
        call putdec
        mov si, s_mib
        call puts
        pop dx
        pop cx
        inc dl
        loop .hd
.hd_done:
        ; video
        mov si, s_video
        call puts
        mov ax, 0x1A00
        int 0x10
        mov si, s_vga
        cmp al, 0x1A
        je .vid
        mov si, s_other_video
.vid:
        call puts

        ; keyboard echo
        mov si, s_keys
        call puts
.key:
        xor ah, ah
        int 0x16
        cmp al, 0x1B
        je .keys_done
        push ax
        mov si, s_scan
        call puts
        mov al, ah
        call puthex
        mov si, s_ascii
        call puts
        pop ax
        push ax
        call puthex
        mov al, ' '
        call putc
        pop ax
        cmp al, 0x20
        jb .nochar
        call putc
.nochar:
        call crlf
        jmp .key
.keys_done:
        ; the video walk
        mov si, modes
.mode:
        lodsw                           ; AL = mode, AH = kind
        or al, al
        jz .walk_done
        push si
        push ax
        xor ah, ah
        int 0x10
        pop ax
        mov bp, [si + 2]                ; bytes per colour band (planar modes)
        call draw_mode
        pop si
        push si
        mov si, [si]                    ; name
        call puts
        mov si, s_next
        call puts
        xor ah, ah
        int 0x16
        pop si
        add si, 4
        jmp .mode
.walk_done:
        mov ax, 0x0003
        int 0x10
        mov si, s_end
        call puts
        xor ah, ah
        int 0x16
        int 0x19

; Patterned bars for each kind of memory layout (AH = kind).
draw_mode:
        push es
        cmp ah, 1
        je .cga
        cmp ah, 2
        je .planar
        cmp ah, 3
        je .linear
        jmp .done
.cga:
        ; CGA: interleaved banks at B800:0000/2000; a byte per 4 (or 8) pixels
        mov ax, 0xB800
        mov es, ax
        xor di, di
        mov bx, 0
.cga_row:
        mov al, bl
        mov cl, 3
        shr al, cl
        and al, 0x03
        mov ah, 0x55
        mul ah                          ; 00h, 55h, AAh, FFh: the four colours
        mov cx, 80
        rep stosb
        inc bx
        cmp bx, 100
        jb .cga_row
        mov di, 0x2000
        xor bx, bx
.cga_row2:
        mov al, bl
        mov cl, 3
        shr al, cl
        and al, 0x03
        mov ah, 0x55
        mul ah
        mov cx, 80
        rep stosb
        inc bx
        cmp bx, 100
        jb .cga_row2
        jmp .done
.planar:
        ; EGA/VGA planes: the map mask picks the colour of a solid band
        mov ax, 0xA000
        mov es, ax
        xor di, di
        xor bx, bx
.band:
        mov dx, 0x3C4
        mov al, 0x02
        out dx, al
        inc dx
        mov al, bl
        and al, 0x0F
        out dx, al
        mov al, 0xFF
        mov cx, bp
        rep stosb
        inc bx
        cmp bx, 16
        jb .band
        mov dx, 0x3C4
        mov ax, 0x0F02
        out dx, al
        inc dx
        mov al, ah
        out dx, al
        jmp .done
.linear:
        ; 256 colours: one byte per pixel, a colour per column
        mov ax, 0xA000
        mov es, ax
        xor di, di
        mov dx, 200
.line:
        xor ax, ax
        mov cx, 320
.pixel:
        mov [es:di], al
        inc di
        inc ax
        loop .pixel
        dec dx
        jnz .line
.done:
        pop es
        ret

; SI -> CPU name.
cpu_model:
        pushf
        pop ax
        and ax, 0x0FFF
        push ax
        popf
        pushf
        pop ax
        and ax, 0xF000
        cmp ax, 0xF000
        jne .286up
        mov al, 1
        mov cl, 33
        shl al, cl
        mov si, s_8086
        or al, al
        jz .done
        mov si, s_80186
        jmp .done
.286up:
        ; 386 and later let real mode set IOPL/NT (bits 12-14)
        pushf
        pop ax
        or ax, 0x7000
        push ax
        popf
        pushf
        pop ax
        mov si, s_80286
        test ax, 0x7000
        jz .done
        mov si, s_80386
.done:
        ret

putc:
        push ax
        push bx
        mov ah, 0x0E
        mov bx, 0x0007
        int 0x10
        pop bx
        pop ax
        ret

puts:
        push ax
.next:
        lodsb
        or al, al
        jz .done
        call putc
        jmp .next
.done:
        pop ax
        ret

crlf:
        push si
        mov si, s_crlf
        call puts
        pop si
        ret

putdec:
        push ax
        push bx
        push cx
        push dx
        mov bx, 10
        xor cx, cx
.div:
        xor dx, dx
        div bx
        push dx
        inc cx
        or ax, ax
        jnz .div
.out:
        pop ax
        add al, '0'
        call putc
        loop .out
        pop dx
        pop cx
        pop bx
        pop ax
        ret

puthex:
        push ax
        push cx
        mov ah, al
        mov cl, 4
        shr al, cl
        call .digit
        mov al, ah
        and al, 0x0F
        call .digit
        pop cx
        pop ax
        ret
.digit:
        add al, '0'
        cmp al, '9'
        jbe .out
        add al, 7
.out:
        jmp putc

; mode, kind (1 CGA, 2 planar, 3 linear, 0 text), the name's address, and for
; planar modes the bytes of each of the 16 colour bands (a sixteenth of the page)
modes:
        db 0x01, 0
        dw s_m01, 0
        db 0x04, 1
        dw s_m04, 0
        db 0x06, 1
        dw s_m06, 0
        db 0x0D, 2
        dw s_m0d, 40 * 200 / 16
        db 0x12, 2
        dw s_m12, 80 * 480 / 16
        db 0x13, 3
        dw s_m13, 0
        db 0x03, 0
        dw s_m03, 0
        db 0, 0

fd_names:       dw s_unknown, s_360, s_12, s_720, s_144, s_288
s_title:        db "pyvmm diagnostics", 13, 10, 13, 10, 0
s_cpu:          db "CPU:     ", 0
s_8086:         db "8086/8088", 0
s_80186:        db "80186/80188", 0
s_80286:        db "80286", 0
s_80386:        db "80386 or later", 0
s_fpu_yes:      db ", with coprocessor", 13, 10, 0
s_fpu_no:       db ", no coprocessor", 13, 10, 0
s_mem:          db "Memory:  ", 0
s_kb_conv:      db "K conventional, ", 0
s_kb_ext:       db "K extended", 13, 10, 0
s_fd:           db "Drive ", 0
s_hd:           db "Disk  ", 0
s_colon:        db ": ", 0
s_unknown:      db "unknown", 0
s_360:          db "5.25in 360K", 0
s_12:           db "5.25in 1.2M", 0
s_720:          db "3.5in 720K", 0
s_144:          db "3.5in 1.44M", 0
s_288:          db "3.5in 2.88M", 0
s_mib:          db " MiB", 13, 10, 0
s_video:        db "Video:   ", 0
s_vga:          db "VGA", 13, 10, 0
s_other_video:  db "not VGA", 13, 10, 0
s_keys:         db 13, 10, "Keyboard echo: type keys, Esc ends.", 13, 10, 0
s_scan:         db "scan ", 0
s_ascii:        db "  ascii ", 0
s_next:         db " - press a key", 0
s_m01:          db "Mode 01h: 40x25 text", 0
s_m04:          db "Mode 04h: 320x200 4 colours", 0
s_m06:          db "Mode 06h: 640x200 2 colours", 0
s_m0d:          db "Mode 0Dh: 320x200 16 colours", 0
s_m12:          db "Mode 12h: 640x480 16 colours", 0
s_m13:          db "Mode 13h: 320x200 256 colours", 0
s_m03:          db "Mode 03h: 80x25 text", 0
s_end:          db "Diagnostics done. Press a key to boot again.", 13, 10, 0
s_crlf:         db 13, 10, 0

        times PROG_SECTORS * 512 - ($ - $$) db 0

; ---------------------------------------------------------------------------
; The FAT12 file system: two empty FATs (media F0h), an empty root directory
; and free data sectors, to 1,474,560 bytes.
        section fat1 follows=prog vstart=0 align=1
        db 0xF0, 0xFF, 0xFF
        times 9 * 512 - 3 db 0
        section fat2 follows=fat1 vstart=0 align=1
        db 0xF0, 0xFF, 0xFF
        times 9 * 512 - 3 db 0
        section rest follows=fat2 vstart=0 align=1
        times (2880 - RESERVED - 18) * 512 db 0
