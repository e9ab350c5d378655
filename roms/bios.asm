; pyvmm system BIOS: POST and the PC/AT BIOS services, for F000:0000-FFFF.
;
; Written for the 8086 instruction set so that one image runs on the 8086, 80186
; and 80286 models; it drives the chips only through their ports, as a PC/AT BIOS
; does.  Entry points that old software calls directly sit at IBM's addresses
; (FIXED); everything else lives below E000h.  Build with roms/build.py, which
; also sets the checksum byte at FFFFh.

        cpu 8086
        bits 16
        org 0

%include "bios/defs.inc"

STACK_SEG       equ 0x0000
STACK_TOP       equ 0x7000

rom_start:

; ---------------------------------------------------------------------------
; POST
; ---------------------------------------------------------------------------
post:
        cli
        cld
        POST_CODE 0x01
        ; CMOS shutdown status: 05h/0Ah resume a program through 40:67 after a
        ; CPU reset (how a 286 leaves protected mode), 09h ends INT 15h AH=87h.
        mov al, 0x8F
        out 0x70, al
        in al, 0x71
        mov ah, al
        mov al, 0x8F
        out 0x70, al
        xor al, al
        out 0x71, al
        mov al, 0x0D            ; re-enable NMI
        out 0x70, al
        cmp ah, 0x05
        je .resume_eoi
        cmp ah, 0x0A
        je .resume
        cmp ah, 0x09
        jne .cold
        jmp block_move_return
.resume_eoi:
        mov al, 0x20
        out 0x20, al
.resume:
        mov ax, STACK_SEG       ; the program restores its own stack; this one
        mov ss, ax              ; only has to hold until it does
        mov sp, STACK_TOP
        mov ax, BDA_SEG
        mov ds, ax
        jmp far [B_RESETPTR]

.cold:
        mov ax, STACK_SEG
        mov ss, ax
        mov sp, STACK_TOP
        mov ax, BDA_SEG
        mov ds, ax
        mov bx, [B_RESETFLAG]   ; survives into the new BDA (1234h = warm boot)

        POST_CODE 0x02
        call init_dma
        POST_CODE 0x03
        call init_pic
        POST_CODE 0x04
        call init_pit

        POST_CODE 0x05
        call size_memory        ; AX = KiB of conventional memory
        mov dx, ax
        cmp bx, 0x1234
        je .no_clear
        POST_CODE 0x06
        call clear_memory       ; cold boot: write and clear every RAM page
.no_clear:
        POST_CODE 0x07
        call init_ivt
        call init_bda           ; DX = memory KiB, BX = reset flag
        call init_bios_ram
        call detect_cpu

        POST_CODE 0x08
        call init_kbc
        POST_CODE 0x09
        call read_cmos_config
        call detect_ports

        POST_CODE 0x0A
        call init_ticks_from_rtc

        ; Unmask the timer, keyboard, cascade, floppy, RTC and ATA interrupts.
        mov al, 0xB8
        out 0x21, al
        mov al, 0x3E
        out 0xA1, al
        sti

        POST_CODE 0x0B
        call scan_option_roms
        POST_CODE 0x0C
        call banner

        POST_CODE 0x0D
        call fd_post_init
        POST_CODE 0x0E
        call ata_post_init
        call report_drives

        POST_CODE 0x0F
        mov ax, BDA_SEG
        mov ds, ax
        mov word [B_RESETFLAG], 0
        int 0x19
        jmp post                ; INT 19h does not return

; ---------------------------------------------------------------------------
; DMA: both 8237s master-cleared, channel 4 in cascade mode for the slave.
init_dma:
        xor al, al
        out 0x0D, al            ; master clear, channels 0-3
        out 0xDA, al            ; master clear, channels 4-7
        out 0x08, al            ; command: enabled, normal timing
        out 0xD0, al
        mov al, 0xC0            ; channel 4: cascade mode
        out 0xD6, al
        xor al, al
        out 0xD4, al            ; unmask channel 4 only
        mov al, 0x0F
        out 0x0F, al            ; mask channels 0-3 until a driver programs one
        mov al, 0x0E
        out 0xDE, al            ; mask 5-7, keep 4 (cascade) open
        ret

; PICs: edge triggered, cascade on IR2, master vectors 08h-0Fh, slave 70h-77h.
init_pic:
        mov al, 0x11            ; ICW1: edge, cascade, ICW4 follows
        out 0x20, al
        out 0xA0, al
        mov al, 0x08            ; ICW2
        out 0x21, al
        mov al, 0x70
        out 0xA1, al
        mov al, 0x04            ; ICW3: slave on IR2
        out 0x21, al
        mov al, 0x02            ; ICW3: slave identity 2
        out 0xA1, al
        mov al, 0x01            ; ICW4: 8086 mode, normal EOI
        out 0x21, al
        out 0xA1, al
        mov al, 0xFF
        out 0x21, al
        out 0xA1, al
        ret

; PIT channel 0 mode 3 with count 0 (65536): 18.2 Hz; channel 2 ready for beeps.
init_pit:
        mov al, 0x36
        out 0x43, al
        xor al, al
        out 0x40, al
        out 0x40, al
        mov al, 0xB6
        out 0x43, al
        mov ax, 1193
        out 0x42, al
        mov al, ah
        out 0x42, al
        ret

; Find conventional memory in 1 KiB steps from 64 KiB up to 640 KiB by writing
; two patterns to the first word of each KiB (the old value is put back).
; Returns AX = KiB.
size_memory:
        push ds
        push bx
        push cx
        mov ax, 0x1000
.next:
        mov ds, ax
        mov cx, [0]
        mov word [0], 0xAA55
        cmp word [0], 0xAA55
        jne .end
        mov word [0], 0x55AA
        cmp word [0], 0x55AA
        jne .end
        mov [0], cx
        add ax, 0x40
        cmp ax, 0xA000
        jb .next
.end:
        mov cl, 6
        shr ax, cl
        pop cx
        pop bx
        pop ds
        ret

; Cold boot: fill every paragraph below the top of memory (AX KiB) with zero,
; apart from the POST stack.
clear_memory:
        push ax
        push bx
        push cx
        push dx
        push di
        push es
        mov cl, 6
        shl ax, cl
        mov dx, ax              ; top segment
        xor ax, ax
        mov bx, 0x0800          ; 0:0000-7FFF holds the stack; IVT/BDA are rebuilt
.seg:
        mov es, bx
        xor di, di
        mov cx, 0x4000          ; 32 KiB at a time
        rep stosw
        add bx, 0x0800
        cmp bx, dx
        jb .seg
        mov es, ax              ; 0:0500 up to just below the POST stack
        mov di, 0x0500
        mov cx, (STACK_TOP - 0x500 - 0x200) / 2
        rep stosw
        pop es
        pop di
        pop dx
        pop cx
        pop bx
        pop ax
        ret

; Every vector to an IRET, hardware IRQs to EOI handlers, then the services.
init_ivt:
        push ax
        push cx
        push di
        push es
        xor ax, ax
        mov es, ax
        xor di, di
        mov cx, 256
.all:
        mov ax, dummy_iret
        stosw
        mov ax, cs
        stosw
        loop .all
        mov si, vector_table
.set:
        mov bl, [cs:si]
        cmp bl, 0xFF
        je .done
        xor bh, bh
        shl bx, 1
        shl bx, 1
        mov ax, [cs:si+1]
        mov [es:bx], ax
        mov [es:bx+2], cs
        add si, 3
        jmp .set
.done:
        ; data pointers: floppy parameters, no font/video tables yet
        mov word [es:0x1E*4], dpt_144
        mov [es:0x1E*4+2], cs
        xor ax, ax
        mov [es:0x1D*4], ax
        mov [es:0x1D*4+2], ax
        mov [es:0x1F*4], ax
        mov [es:0x1F*4+2], ax
        pop es
        pop di
        pop cx
        pop ax
        ret

vector_table:
        db 0x02
        dw int02_nmi
        db 0x05
        dw int05_prtsc
        db 0x08
        dw int08_timer
        db 0x09
        dw int09_kbd
        db 0x0A
        dw irq_master_default
        db 0x0B
        dw irq_master_default
        db 0x0C
        dw irq_master_default
        db 0x0D
        dw irq_master_default
        db 0x0E
        dw int0e_floppy
        db 0x0F
        dw irq_master_default
        db 0x11
        dw int11_equip
        db 0x12
        dw int12_memsize
        db 0x13
        dw int13_disk
        db 0x14
        dw int14_serial
        db 0x15
        dw int15_system
        db 0x16
        dw int16_kbd
        db 0x17
        dw int17_printer
        db 0x18
        dw int18_noboot
        db 0x19
        dw int19_boot
        db 0x1A
        dw int1a_time
        db 0x40
        dw int13_floppy_entry
        db 0x70
        dw int70_rtc
        db 0x71
        dw int71_irq9
        db 0x72
        dw irq_slave_default
        db 0x73
        dw irq_slave_default
        db 0x74
        dw int74_mouse
        db 0x75
        dw int75_fpu
        db 0x76
        dw int76_ata
        db 0x77
        dw int77_ata
        db 0xFF

; BDA from scratch: DX = memory KiB, BX = reset flag to keep.
init_bda:
        push es
        mov ax, BDA_SEG
        mov es, ax
        xor di, di
        xor ax, ax
        mov cx, 0x80            ; 40:00-40:FF
        rep stosw
        mov [es:B_RESETFLAG], bx
        mov [es:B_MEMKB], dx
        mov word [es:B_KBHEAD], B_KBBUF
        mov word [es:B_KBTAIL], B_KBBUF
        mov word [es:B_KBSTART], B_KBBUF
        mov word [es:B_KBEND], B_KBBUF_END
        mov byte [es:B_KBFLAG3], 0x10   ; 101/102-key keyboard
        mov byte [es:B_KBFLAG], 0x20    ; Num Lock on
        mov word [es:B_EQUIP], 0x0020   ; initial video: 80x25 colour
        mov byte [es:B_PRTSC_STATUS], 0
        pop es
        ret

; The BIOS's own RAM at 0000:0300 (see defs.inc), over the vectors init_ivt has
; just pointed at an IRET.
init_bios_ram:
        push es
        xor ax, ax
        mov es, ax
        mov di, BIOS_RAM
        mov cx, (BIOS_RAM_END - BIOS_RAM) / 2
        rep stosw
        pop es
        ret

; 8086/8088: FLAGS bits 12-15 stick at 1 and shift counts are not masked.
; 80186: bits 12-15 stick at 1, shift counts are masked to 5 bits.
; 80286+: bits 12-15 clear in real mode.  R_CPU = 3 marks a 386 or later.
detect_cpu:
        push ds
        push es
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
        mov bl, 0
        or al, al
        jz .store
        mov bl, 1
        jmp .store
.286up:
        ; a 386 lets real mode set IOPL/NT (bits 12-14), a 286 keeps them clear
        mov bl, 2
        pushf
        pop ax
        or ax, 0x7000
        push ax
        popf
        pushf
        pop ax
        test ax, 0x7000
        jz .store
        mov bl, 3
        and ax, 0x0FFF
        push ax
        popf
.store:
        xor ax, ax
        mov es, ax
        mov [es:R_CPU], bl
        cmp bl, 2
        jb .fpu
        call detect_pmode
.fpu:
        mov ax, BDA_SEG
        mov ds, ax
        ; coprocessor: FNINIT then FNSTSW writes 0 only when an FPU answers
        mov word [0xF0], 0x5A5A
        fninit
        fnstsw [0xF0]
        cmp byte [0xF0], 0
        jne .nofpu
        or byte [B_EQUIP], 0x02
.nofpu:
        mov word [0xF0], 0
        pop es
        pop ds
        ret

; 80286 or later: can the CPU enter protected mode, as INT 15h AH=87h must?
; SMSW raising the invalid-opcode exception says no (a CPU model without the
; 286's system instructions). R_PMODE = 1 when it can.
detect_pmode:
        push es
        xor ax, ax
        mov es, ax
        push word [es:6*4]
        push word [es:6*4+2]
        mov word [es:6*4], .no
        mov [es:6*4+2], cs
        cpu 286
        smsw ax
        cpu 8086
        mov byte [es:R_PMODE], 1
        jmp .restore
.no:
        add sp, 6                       ; the exception's IP, CS and FLAGS
.restore:
        pop word [es:6*4+2]
        pop word [es:6*4]
        pop es
        ret

%include "bios/kbc.inc"
%include "bios/post_setup.inc"
%include "bios/kbd.inc"
%include "bios/floppy.inc"
%include "bios/ata.inc"
%include "bios/services.inc"
%include "bios/mouse.inc"
%include "bios/blockmove.inc"

; ---------------------------------------------------------------------------
; Entry points at IBM's fixed addresses.
; ---------------------------------------------------------------------------
        FIXED 0xE05B
        jmp post

        FIXED 0xE2C3
int02_nmi:
        iret

        FIXED 0xE3FE
        jmp int13_disk

        FIXED 0xE6F2
        jmp int19_boot

        FIXED 0xE6F5
config_table:                   ; INT 15h AH=C0h
        dw 8                    ; bytes that follow
        db 0xFC                 ; model: AT
        db 0x00                 ; submodel
        db 0x01                 ; BIOS revision
        db 0x70                 ; 2nd PIC, RTC, INT 15h AH=4Fh intercept (no EBDA)
        db 0x40                 ; INT 16h AH=09h answers
        db 0, 0, 0

        FIXED 0xE739
        jmp int14_serial

        FIXED 0xE82E
        jmp int16_kbd

        FIXED 0xE987
        jmp int09_kbd

        FIXED 0xEC59
        jmp int13_floppy_entry

        FIXED 0xEF57
        jmp int0e_floppy

        FIXED 0xEFC7
dpt_144:                        ; 1.44M 3.5" diskette parameters (INT 1Eh)
        db 0xAF, 0x02, 37, 2, 18, 0x1B, 0xFF, 0x6C, 0xF6, 15, 8

        FIXED 0xEFD2
        jmp int17_printer

        FIXED 0xF065
        jmp dummy_iret

        FIXED 0xF841
        jmp int12_memsize

        FIXED 0xF84D
        jmp int11_equip

        FIXED 0xF859
        jmp int15_system

        FIXED 0xFE6E
        jmp int1a_time

        FIXED 0xFEA5
        jmp int08_timer

        FIXED 0xFF53
dummy_iret:
        iret

        FIXED 0xFF54
        jmp int05_prtsc

        FIXED 0xFFF0
reset_vector:
        jmp 0xF000:post

        FIXED 0xFFF5
        db "11/25/26"
        FIXED 0xFFFE
        db 0xFC                 ; model byte: PC/AT
        db 0                    ; checksum, set by roms/build.py
