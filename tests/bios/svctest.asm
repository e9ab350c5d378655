; BIOS service checks, booted from a 1.44M diskette (and an optional ATA disk at
; 80h) under QEMU by test_services_qemu.py. Each check writes "ok NAME" or
; "FAIL NAME" to port E9h; "DONE" ends the run. Sectors from LBA 16 on (on both
; the diskette and the disk) start with their own LBA as a word.

        cpu 8086
        bits 16
        org 0x7C00

PROG_SECTORS    equ 15
BUF             equ 0x9000          ; scratch buffers at 0:9000 and up

start:
        cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7C00
        sti
        mov [boot_drive], dl
        mov ax, 0x0200 + PROG_SECTORS
        mov bx, 0x7E00
        mov cx, 0x0002
        xor dh, dh
        int 0x13
        jc .halt
        jmp main
.halt:
        hlt
        jmp .halt

boot_drive:     db 0
        times 510 - ($ - $$) db 0
        dw 0xAA55

; --- helpers --------------------------------------------------------------
putc:
        out 0xE9, al
        push ax
        push bx
        mov ah, 0x0E
        mov bx, 7
        int 0x10
        pop bx
        pop ax
        ret

; SI = string
puts:
        lodsb
        or al, al
        jz .done
        call putc
        jmp puts
.done:
        ret

; CF clear = pass. SI = name.
report:
        pushf
        push si
        jc .fail
        mov si, s_ok
        jmp .print
.fail:
        mov si, s_fail
.print:
        call puts
        pop si
        call puts
        mov al, 13
        call putc
        mov al, 10
        call putc
        popf
        ret

%macro CHECK 1
        mov si, %%name
        call report
        jmp %%over
%%name: db %1, 0
%%over:
%endmacro

; ZF -> CF: pass when equal.
%macro PASS_IF_EQ 0
        clc
        je %%ok
        stc
%%ok:
%endmacro

main:
        ; INT 12h agrees with 40:13 and gives all of 640K: no EBDA is carved out
        int 0x12
        mov bx, ax
        push ds
        mov ax, 0x40
        mov ds, ax
        cmp bx, [0x13]
        pop ds
        jne .mem_bad
        cmp bx, 640
        PASS_IF_EQ
        jmp .mem_done
.mem_bad:
        stc
.mem_done:
        CHECK "int12"

        ; ... so 40:0E is 0, AH=C1h fails and C0h's feature byte 1 has no EBDA bit (2)
        push ds
        mov ax, 0x40
        mov ds, ax
        cmp word [0x0E], 0
        pop ds
        jne .ebda_bad
        mov ah, 0xC1
        int 0x15
        jnc .ebda_bad
        mov ah, 0xC0
        int 0x15
        jc .ebda_bad
        test byte [es:bx + 5], 0x04
        PASS_IF_EQ
        jmp .ebda_done
.ebda_bad:
        stc
.ebda_done:
        CHECK "no_ebda"
        xor ax, ax
        mov es, ax

        int 0x11
        test al, 0x01
        clc
        jnz .eq_ok
        stc
.eq_ok:
        CHECK "int11"

        mov ah, 0xC0
        int 0x15
        jc .cfg_bad
        cmp byte [es:bx + 2], 0xFC
        PASS_IF_EQ
.cfg_bad:
        CHECK "int15_c0"
        xor ax, ax
        mov es, ax

        ; INT 15h AH=86h waits 250 ms on the RTC; the timer keeps ticking meanwhile
        xor ah, ah
        int 0x1A
        mov [t0], dx
        mov ah, 0x86
        mov cx, 0x0003
        mov dx, 0xD090                  ; 250000 us
        int 0x15
        jc .wait_bad
        xor ah, ah
        int 0x1A
        sub dx, [t0]
        cmp dx, 3
        jb .wait_bad
        cmp dx, 10
        ja .wait_bad
        clc
        jmp .wait_done
.wait_bad:
        stc
.wait_done:
        CHECK "int15_86_wait"

        mov ah, 0x02
        int 0x1A
        jc .rtc_bad
        cmp ch, 0x24
        jae .rtc_bad
        cmp cl, 0x60
        jae .rtc_bad
        mov ah, 0x04
        int 0x1A
        jc .rtc_bad
        cmp ch, 0x19
        jb .rtc_bad
        cmp dh, 0x12
        ja .rtc_bad
        clc
        jmp .rtc_done
.rtc_bad:
        stc
.rtc_done:
        CHECK "int1a_rtc"

        ; keystroke stored with AH=05h comes back through AH=01h and AH=00h
        mov ah, 0x05
        mov cx, 0x1E61
        int 0x16
        or al, al
        jnz .kbd_bad
        mov ah, 0x01
        int 0x16
        jz .kbd_bad
        cmp ax, 0x1E61
        jne .kbd_bad
        xor ah, ah
        int 0x16
        cmp ax, 0x1E61
        jne .kbd_bad
        mov ah, 0x01
        int 0x16
        jnz .kbd_bad
        clc
        jmp .kbd_done
.kbd_bad:
        stc
.kbd_done:
        CHECK "int16_store_read"

        ; diskette geometry of a 1.44M drive
        mov ah, 0x08
        xor dl, dl
        int 0x13
        jc .fdp_bad
        cmp bl, 4
        jne .fdp_bad
        cmp cx, 0x4F12
        jne .fdp_bad
        cmp dh, 1
        jne .fdp_bad
        cmp [0x1E * 4], di              ; INT 1Eh: the table of the drive's type
        jne .fdp_bad
        cmp byte [es:di + 4], 18
        PASS_IF_EQ
        jmp .fdp_done
.fdp_bad:
        stc
.fdp_done:
        CHECK "int13_fd_params"
        xor ax, ax
        mov es, ax

        mov ah, 0x15
        xor dl, dl
        int 0x13
        cmp ah, 0x02
        PASS_IF_EQ
        CHECK "int13_fd_type"

        ; a read from head 0 into head 1 (multi-track): LBA 18..35 from C0 H0 S... is
        ; head 1; read C0 H0 S17 count 3 -> LBA 16, 17, 18
        mov ax, 0x0203
        mov bx, BUF
        mov cx, 0x0011
        xor dx, dx
        int 0x13
        jc .mt_bad
        cmp word [BUF], 16
        jne .mt_bad
        cmp word [BUF + 512], 17
        jne .mt_bad
        cmp word [BUF + 1024], 18
        PASS_IF_EQ
        jmp .mt_done
.mt_bad:
        stc
.mt_done:
        CHECK "int13_fd_read_multitrack"

        ; last sector of the diskette: C79 H1 S18 = LBA 2879
        mov ax, 0x0201
        mov bx, BUF
        mov cx, 0x4F12
        mov dx, 0x0100
        int 0x13
        jc .last_bad
        cmp word [BUF], 2879
        PASS_IF_EQ
        jmp .last_done
.last_bad:
        stc
.last_done:
        CHECK "int13_fd_read_last"

        ; a buffer across a 64K boundary is refused with 09h
        mov ax, 0x1000
        mov es, ax
        mov ax, 0x0202
        mov bx, 0xFF00
        mov cx, 0x0001
        xor dx, dx
        int 0x13
        jnc .dma_bad
        cmp ah, 0x09
        PASS_IF_EQ
        jmp .dma_done
.dma_bad:
        stc
.dma_done:
        CHECK "int13_fd_dma_boundary"
        xor ax, ax
        mov es, ax

        ; write LBA 100 (C2 H1 S11), read it back, verify
        mov di, BUF
        mov cx, 256
        mov ax, 0xC0DE
        rep stosw
        mov ax, 0x0301
        mov bx, BUF
        mov cx, 0x020B
        mov dx, 0x0100
        int 0x13
        jc .wr_bad
        mov word [BUF], 0
        mov ax, 0x0201
        mov bx, BUF
        mov cx, 0x020B
        mov dx, 0x0100
        int 0x13
        jc .wr_bad
        cmp word [BUF + 510], 0xC0DE
        jne .wr_bad
        mov ax, 0x0401
        mov cx, 0x020B
        mov dx, 0x0100
        int 0x13
        jmp .wr_done
.wr_bad:
        stc
.wr_done:
        CHECK "int13_fd_write_read_verify"

        ; set the medium for a format, format C3 H0, read a sector back
        mov ah, 0x18
        mov cx, 0x4F12
        xor dl, dl
        int 0x13
        jc .fmt_bad
        cmp byte [es:di + 4], 18
        jne .fmt_bad
        xor ax, ax
        mov es, ax
        mov di, BUF
        mov cx, 18
        mov bl, 1
.fmt_id:
        mov byte [di], 3                ; C
        mov byte [di + 1], 0            ; H
        mov [di + 2], bl                ; R
        mov byte [di + 3], 2            ; N: 512 bytes
        add di, 4
        inc bl
        loop .fmt_id
        mov ax, 0x0512
        mov bx, BUF
        mov cx, 0x0300
        xor dx, dx
        int 0x13
        jc .fmt_bad
        ; (QEMU's FDC accepts FORMAT TRACK without writing the fill bytes, so
        ; only the command's success and a readable track are checked)
        or ah, ah
        jnz .fmt_bad
        mov ax, 0x0201
        mov bx, BUF
        mov cx, 0x0305
        xor dx, dx
        int 0x13
        jmp .fmt_done
.fmt_bad:
        stc
.fmt_done:
        CHECK "int13_fd_format"
        xor ax, ax
        mov es, ax

        ; --- fixed disk 80h
        mov ah, 0x08
        mov dl, 0x80
        int 0x13
        jc .hd_skip_jmp
        cmp dl, 1
        jb .hd_skip_jmp
        mov [hd_heads], dh
        and cl, 0x3F
        mov [hd_spt], cl
        jmp .hd_present
.hd_skip_jmp:
        jmp hd_absent
.hd_present:
        clc
        CHECK "int13_hd_params"

        mov ah, 0x41
        mov bx, 0x55AA
        mov dl, 0x80
        int 0x13
        jc .edd_bad
        cmp bx, 0xAA55
        jne .edd_bad
        test cl, 0x01
        jz .edd_bad
        clc
        jmp .edd_done
.edd_bad:
        stc
.edd_done:
        CHECK "int13_hd_edd_check"

        ; LBA read of sectors 20-21 through a disk address packet
        mov word [dap_count], 2
        mov word [dap_lba], 20
        mov ah, 0x42
        mov dl, 0x80
        mov si, dap
        int 0x13
        jc .lba_bad
        cmp word [BUF], 20
        jne .lba_bad
        cmp word [BUF + 512], 21
        PASS_IF_EQ
        jmp .lba_done
.lba_bad:
        stc
.lba_done:
        CHECK "int13_hd_ext_read"

        ; CHS read of LBA spt*heads+... : cylinder 1, head 0, sector 1
        mov al, [hd_heads]
        inc al
        mul byte [hd_spt]               ; AX = LBA of C1 H0 S1
        mov [t0], ax
        mov ax, 0x0201
        mov bx, BUF
        mov cx, 0x0101
        mov dx, 0x0080
        int 0x13
        jc .chs_bad
        mov ax, [t0]
        cmp [BUF], ax
        PASS_IF_EQ
        jmp .chs_done
.chs_bad:
        stc
.chs_done:
        CHECK "int13_hd_chs_read"

        ; write through the packet, read back through CHS (LBA 40)
        mov di, BUF
        mov cx, 256
        mov ax, 0xBEEF
        rep stosw
        mov word [dap_count], 1
        mov word [dap_lba], 40
        mov ah, 0x43
        xor al, al
        mov dl, 0x80
        mov si, dap
        int 0x13
        jc .hw_bad
        mov word [BUF], 0
        mov ah, 0x42
        mov dl, 0x80
        mov si, dap
        int 0x13
        jc .hw_bad
        cmp word [BUF + 2], 0xBEEF
        PASS_IF_EQ
        jmp .hw_done
.hw_bad:
        stc
.hw_done:
        CHECK "int13_hd_ext_write"

        mov word [edd_params], 0x1A
        mov ah, 0x48
        mov dl, 0x80
        mov si, edd_params
        int 0x13
        jc .ep_bad
        cmp word [edd_params + 16], 8192 ; 4 MiB test disk
        jne .ep_bad
        cmp word [edd_params + 24], 512
        PASS_IF_EQ
        jmp .ep_done
.ep_bad:
        stc
.ep_done:
        CHECK "int13_hd_edd_params"

hd_absent:
        ; COM1: 9600 8N1, then "Z!" out (the test reads QEMU's serial file)
        mov ax, 0x00E3
        xor dx, dx
        int 0x14
        test ah, 0x80
        jnz .com_bad
        mov ax, 0x015A
        xor dx, dx
        int 0x14
        test ah, 0x80
        jnz .com_bad
        mov ax, 0x0121
        xor dx, dx
        int 0x14
        test ah, 0x80
        jnz .com_bad
        mov ah, 0x03
        xor dx, dx
        int 0x14
        test ah, 0x20                   ; transmitter holding register empty
        jz .com_bad
        clc
        jmp .com_done
.com_bad:
        stc
.com_done:
        CHECK "int14_serial"

        ; no printer behind LPT2: INT 17h reports a time-out
        mov ah, 0x02
        mov dx, 1
        int 0x17
        test ah, 0x01
        jz .lpt_bad
        clc
        jmp .lpt_done
.lpt_bad:
        stc
.lpt_done:
        CHECK "int17_no_printer"

        ; --- PS/2 mouse through INT 15h AH=C2h
        mov ax, 0xC205
        mov bh, 3
        int 0x15
        jc .ms_bad
        mov ax, 0xC201
        int 0x15
        jc .ms_bad
        cmp bl, 0xAA
        jne .ms_bad
        mov ax, 0xC204
        int 0x15
        jc .ms_bad
        cmp bh, 0
        jne .ms_bad
        mov ax, 0xC207
        mov bx, mouse_handler
        push cs
        pop es
        int 0x15
        jc .ms_bad
        mov ax, 0xC200
        mov bh, 1
        int 0x15
        jc .ms_bad
        clc
        jmp .ms_done
.ms_bad:
        stc
.ms_done:
        CHECK "int15_c2_mouse"

        ; the test moves the mouse now; IRQ 12 hands the packet to our handler
        mov si, s_mouse_ready
        call puts
        xor ah, ah
        int 0x1A
        mov bx, dx
.ms_wait:
        cmp byte [mouse_seen], 0
        jne .ms_got
        xor ah, ah
        int 0x1A
        sub dx, bx
        cmp dx, 91                      ; 5 s
        ja .ms_late
        hlt
        jmp .ms_wait
.ms_got:
        test byte [mouse_status], 0x08  ; byte 0 of a packet always has bit 3
        jz .ms_late
        cmp byte [mouse_x], 0
        je .ms_late
        clc
        jmp .ms_pkt_done
.ms_late:
        stc
.ms_pkt_done:
        CHECK "int74_mouse_packet"
        mov ax, 0xC200
        mov bh, 0
        int 0x15

        ; keys typed by the test, as INT 16h AH=10h words
        mov si, s_keys_ready
        call puts
        mov cx, KEY_COUNT
.key:
        mov ah, 0x10
        int 0x16
        push ax
        mov si, s_key
        call puts
        pop ax
        call puthex16
        mov al, 13
        call putc
        mov al, 10
        call putc
        loop .key

        ; A20 on and off through the 8042 and port 92h
        mov ax, 0x2401
        int 0x15
        jc .a20_bad
        mov ax, 0x2402
        int 0x15
        cmp al, 1
        jne .a20_bad
        mov ax, 0x2400
        int 0x15
        mov ax, 0x2402
        int 0x15
        cmp al, 0
        PASS_IF_EQ
        jmp .a20_done
.a20_bad:
        stc
.a20_done:
        CHECK "int15_24_a20"

        mov ah, 0x88
        int 0x15
        or ax, ax
        jz .no_ext
        jmp ext_memory
.no_ext:
        ; no memory above 1 MiB here: 88h says 0, E801h and 87h refuse
        mov ah, 0x88
        int 0x15
        or ax, ax
        jnz .ext_bad
        mov ax, 0xE801
        int 0x15
        jnc .ext_bad
        mov ah, 0x87
        mov cx, 1
        int 0x15
        jnc .ext_bad
        clc
        jmp .ext_done
.ext_bad:
        stc
.ext_done:
        CHECK "int15_no_extended_memory"

done:
        mov si, s_done
        call puts
.idle:
        hlt
        jmp .idle

; With 2 MiB (1024K above 1 MiB): 88h, E801h, and an 87h copy there and back.
ext_memory:
        cmp ax, 1024
        PASS_IF_EQ
        CHECK "int15_88_ext"
        mov ax, 0xE801
        int 0x15
        jc .e801_bad
        cmp ax, 1024
        PASS_IF_EQ
        jmp .e801_done
.e801_bad:
        stc
.e801_done:
        CHECK "int15_e801"
        ; BUF (0:9000) -> 100000h, then 100000h -> 0:A000
        mov di, BUF
        mov cx, 256
        mov ax, 0x5A17
        rep stosw
        mov word [gdt_src + 2], BUF
        mov byte [gdt_src + 4], 0
        mov word [gdt_dst + 2], 0
        mov byte [gdt_dst + 4], 0x10
        mov ah, 0x87
        mov cx, 256
        mov si, gdt
        int 0x15
        jc .bm_bad
        mov word [gdt_src + 2], 0
        mov byte [gdt_src + 4], 0x10
        mov word [gdt_dst + 2], BUF + 0x1000
        mov byte [gdt_dst + 4], 0
        mov ah, 0x87
        mov cx, 256
        mov si, gdt
        int 0x15
        jc .bm_bad
        cmp word [BUF + 0x1000 + 510], 0x5A17
        PASS_IF_EQ
        jmp .bm_done
.bm_bad:
        stc
.bm_done:
        CHECK "int15_87_block_move"

        ; E820h: three entries, the first all of 0-9FFFFh usable, the last the
        ; 1 MiB above 1 MiB
        cpu 386
        xor ebx, ebx
        xor bp, bp
.e820_next:
        mov eax, 0xE820
        mov edx, 0x534D4150
        mov ecx, 20
        mov di, e820_entry
        int 0x15
        jc .e820_bad
        cmp eax, 0x534D4150
        jne .e820_bad
        or bp, bp
        jnz .e820_later
        cmp dword [e820_entry], 0
        jne .e820_bad
        cmp dword [e820_entry + 8], 0xA0000
        jne .e820_bad
        cmp byte [e820_entry + 16], 1
        jne .e820_bad
.e820_later:
        inc bp
        or ebx, ebx
        jnz .e820_next
        cmp bp, 3
        jne .e820_bad
        cmp dword [e820_entry], 0x100000
        jne .e820_bad
        cmp dword [e820_entry + 8], 0x100000
        jne .e820_bad
        cmp byte [e820_entry + 16], 1
        PASS_IF_EQ
        jmp .e820_done
.e820_bad:
        stc
.e820_done:
        cpu 8086
        CHECK "int15_e820"
        jmp done

e820_entry:     times 20 db 0

gdt:            times 16 db 0
gdt_src:        dw 0xFFFF, 0
                db 0, 0x93, 0, 0
gdt_dst:        dw 0xFFFF, 0
                db 0, 0x93, 0, 0
                times 16 db 0

; Called by the BIOS with status, X, Y, 0 pushed (in that order).
mouse_handler:
        push bp
        mov bp, sp
        push ax
        mov ax, [bp + 12]
        mov [cs:mouse_status], al
        mov ax, [bp + 10]
        mov [cs:mouse_x], al
        mov byte [cs:mouse_seen], 1
        pop ax
        pop bp
        retf

puthex16:
        push cx
        mov cx, 4
.digit:
        push cx
        mov cl, 4
        rol ax, cl
        pop cx
        push ax
        and al, 0x0F
        add al, '0'
        cmp al, '9'
        jbe .out
        add al, 7
.out:
        call putc
        pop ax
        loop .digit
        pop cx
        ret

KEY_COUNT       equ 9
mouse_seen:     db 0
mouse_status:   db 0
mouse_x:        db 0
s_mouse_ready:  db "mouse ready", 13, 10, 0
s_keys_ready:   db "keys ready", 13, 10, 0
s_key:          db "key ", 0

s_ok:           db "ok ", 0
s_fail:         db "FAIL ", 0
s_done:         db "DONE", 13, 10, 0
t0:             dw 0
hd_heads:       db 0
hd_spt:         db 0
dap:            db 0x10, 0
dap_count:      dw 0
                dw BUF, 0
dap_lba:        dw 0, 0, 0, 0
edd_params:     times 0x1A db 0

        times (PROG_SECTORS + 1) * 512 - ($ - $$) db 0
