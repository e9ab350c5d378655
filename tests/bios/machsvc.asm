; BIOS services that need the whole machine around them, checked on a pyvmm
; Machine by test_services_machine.py: INT 15h AH=87h (and the 286's way back
; through a CPU reset), the INT 1Ah AH=06h/07h RTC alarm, Print Screen and
; Pause. The test writes the scenario number into the boot sector (mode) and
; reads "ok NAME" / "FAIL NAME" lines and the variables at VARS; in the
; Print Screen and Pause scenarios it presses the keys itself. Scenario 5 takes
; the CPU reset with CMOS shutdown codes 0Ah and 05h that AH=87h returns through
; on a 286.

        cpu 8086
        bits 16
        org 0x7C00

PROG_SECTORS    equ 6
VARS            equ 0x0600          ; read by the test
V_COUNT         equ VARS + 0        ; word: INT 4Ah calls / pause loop rounds
V_ISR           equ VARS + 2        ; byte: slave in-service register seen in INT 4Ah
V_PRINTER       equ VARS + 4        ; byte: the status our INT 17h printer answers
BUF             equ 0x2000          ; 512 bytes copied up to 1 MiB ...
BUF2            equ 0x3000          ; ... and back here

start:
        jmp short boot
        nop
mode:   db 0                        ; 1 block move, 2 alarm, 3 print screen, 4 pause,
                                    ; 5 shutdown codes
boot:
        cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7C00
        sti
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

        times 510 - ($ - $$) db 0
        dw 0xAA55

; --- helpers: everything goes to port E9h only, so the screen stays as set --

; SI = string
puts:
        push ax
.next:
        lodsb
        or al, al
        jz .done
        out 0xE9, al
        jmp .next
.done:
        pop ax
        ret

newline:
        push ax
        mov al, 10
        out 0xE9, al
        pop ax
        ret

; AL as two hex digits
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
        add al, 'A' - '9' - 1
.out:
        out 0xE9, al
        ret

; CF clear = pass. SI = name.
report:
        pushf
        push si
        mov si, s_ok
        jnc .print
        mov si, s_fail
.print:
        call puts
        pop si
        call puts
        call newline
        popf
        ret

%macro CHECK 1
        mov si, %%name
        call report
        jmp %%over
%%name: db %1, 0
%%over:
%endmacro

%macro SAY 1
        mov si, %%text
        call puts
        call newline
        jmp %%over
%%text: db %1, 0
%%over:
%endmacro

; ZF -> CF: pass when equal.
%macro PASS_IF_EQ 0
        clc
        je %%ok
        stc
%%ok:
%endmacro

; CX timer ticks, sleeping in HLT
wait_ticks:
        push ax
        push ds
        mov ax, 0x40
        mov ds, ax
.tick:
        mov ax, [0x6C]
.same:
        hlt
        cmp ax, [0x6C]
        je .same
        loop .tick
        pop ds
        pop ax
        ret

; AL = CMOS index -> AL = value
cmos_read:
        out 0x70, al
        in al, 0x71
        ret

s_ok:   db "ok ", 0
s_fail: db "FAIL ", 0

main:
        mov al, [mode]
        cmp al, 1
        jne .not1
        jmp block_move
.not1:
        cmp al, 2
        jne .not2
        jmp alarm
.not2:
        cmp al, 3
        jne .not3
        jmp print_screen
.not3:
        cmp al, 4
        jne .not4
        jmp pause
.not4:
        cmp al, 5
        jne done
        jmp shutdown

done:
        SAY "DONE"
.idle:
        hlt
        jmp .idle

; --- 1: INT 15h AH=87h ------------------------------------------------------
; Two copies, BUF -> 100000h -> BUF2: the first with A20 as POST left it (off),
; the second with A20 on, each with PIC masks of our own. The line "bm ah=XX
; cf=N" gives the first call's answer; without memory above 1 MiB (an 8086 or
; 80186, or a 286 with 640K) that is AH=86h with CF set and nothing moves.
block_move:
        mov di, BUF
        mov cx, 256
        mov ax, 0x5A17
.fill:
        stosw
        add ax, 0x0101
        loop .fill
        mov al, 0xBA                    ; IRQ 1 masked too: the masks are ours
        out 0x21, al
        mov al, 0x3F
        out 0xA1, al
        in al, 0x92
        and al, 0x02
        mov [a20_before], al

        mov word [gdt_src + 2], BUF
        mov byte [gdt_src + 4], 0
        mov word [gdt_dst + 2], 0
        mov byte [gdt_dst + 4], 0x10
        call move
        mov [first_ah], ah
        pushf
        pop ax
        and al, 0x01
        mov [first_cf], al
        mov si, s_bm
        call puts
        mov al, [first_ah]
        call puthex
        mov si, s_cf
        call puts
        mov al, [first_cf]
        add al, '0'
        out 0xE9, al
        call newline
        cmp byte [regs_ok], 1
        PASS_IF_EQ
        CHECK "bm_registers"
        call same_masks
        CHECK "bm_pic_masks"
        in al, 0x92
        and al, 0x02
        cmp al, [a20_before]
        PASS_IF_EQ
        CHECK "bm_a20_kept"
        mov al, 0x0F
        call cmos_read
        or al, al
        PASS_IF_EQ
        CHECK "bm_shutdown_code_cleared"
        mov cx, 2                       ; the timer still interrupts
        call wait_ticks
        clc
        CHECK "bm_ticks"
        cmp byte [first_cf], 0
        jne .unsupported

        mov ax, 0x2401                  ; A20 on for the second copy
        int 0x15
        mov word [gdt_src + 2], 0
        mov byte [gdt_src + 4], 0x10
        mov word [gdt_dst + 2], BUF2
        mov byte [gdt_dst + 4], 0
        call move
        jc .fail
        cmp byte [regs_ok], 1
        jne .fail
        mov si, BUF
        mov di, BUF2
        mov cx, 256
        repe cmpsw
        PASS_IF_EQ
        jmp .data_done
.fail:
        stc
.data_done:
        CHECK "bm_data"
        in al, 0x92
        and al, 0x02
        cmp al, 0x02
        PASS_IF_EQ
        CHECK "bm_a20_on_kept"
        call same_masks
        CHECK "bm_pic_masks_2"
        mov ax, 0x2400
        int 0x15
        jmp .restore
.unsupported:
        ; BUF2 untouched
        mov si, BUF2
        mov cx, 256
.zero:
        lodsw
        or ax, ax
        jnz .touched
        loop .zero
        clc
        jmp .zero_done
.touched:
        stc
.zero_done:
        CHECK "bm_nothing_moved"
.restore:
        mov al, 0xB8
        out 0x21, al
        mov al, 0x3E
        out 0xA1, al
        jmp done

; AH=87h with known values in the registers it must keep; regs_ok = 1 when
; they came back. Returns the caller's AH and CF.
move:
        mov byte [regs_ok], 0
        mov bx, 0x5678
        mov dx, 0x1234
        mov di, 0x4321
        mov bp, 0xBEEF
        mov [sp_before], sp
        mov ah, 0x87
        mov cx, 256
        mov si, gdt
        int 0x15
        pushf
        cmp bx, 0x5678
        jne .out
        cmp dx, 0x1234
        jne .out
        cmp di, 0x4321
        jne .out
        cmp bp, 0xBEEF
        jne .out
        cmp cx, 256
        jne .out
        cmp si, gdt
        jne .out
        push ax
        mov ax, ds
        or ax, ax
        jnz .out_ax
        mov ax, es
        or ax, ax
        jnz .out_ax
        mov ax, ss
        or ax, ax
        jnz .out_ax
        mov ax, sp
        add ax, 4                       ; the pushed flags and AX
        cmp ax, [sp_before]
        jne .out_ax
        mov byte [regs_ok], 1
.out_ax:
        pop ax
.out:
        popf
        ret

; CF clear when the PIC masks are still 0BAh/3Fh.
same_masks:
        in al, 0x21
        cmp al, 0xBA
        jne .no
        in al, 0xA1
        cmp al, 0x3F
        jne .no
        clc
        ret
.no:
        stc
        ret

s_bm:   db "bm ah=", 0
s_cf:   db " cf=", 0
a20_before:     db 0
first_ah:       db 0
first_cf:       db 0
regs_ok:        db 0
sp_before:      dw 0

gdt:            times 16 db 0
gdt_src:        dw 0xFFFF, 0
                db 0, 0x93, 0, 0
gdt_dst:        dw 0xFFFF, 0
                db 0, 0x93, 0, 0
                times 16 db 0

; --- 2: INT 1Ah AH=06h/07h ---------------------------------------------------
; The clock is set to 12:34:56 and the alarm to 12:34:58; the INT 4Ah handler
; counts its calls and notes whether IRQ 8 is in service.
alarm:
        mov word [0x4A * 4], int4a
        mov [0x4A * 4 + 2], cs
        mov ah, 0x03
        mov cx, 0x1234
        mov dx, 0x5600
        int 0x1A
        mov ah, 0x06
        mov cx, 0x1234
        mov dh, 0x58
        int 0x1A
        CHECK "alarm_set"
        mov al, 0x0B                    ; AIE on, IRQ 8 and the cascade unmasked
        call cmos_read
        test al, 0x20
        jz .not_armed
        in al, 0xA1
        test al, 0x01
        jnz .not_armed
        in al, 0x21
        test al, 0x04
        PASS_IF_EQ
        jmp .armed_done
.not_armed:
        stc
.armed_done:
        CHECK "alarm_armed"
        mov ah, 0x06                    ; one alarm at a time
        mov cx, 0x1234
        mov dh, 0x59
        int 0x1A
        cmc
        CHECK "alarm_busy"
        mov cx, 9                       ; half a second: not yet
        call wait_ticks
        cmp word [V_COUNT], 0
        PASS_IF_EQ
        CHECK "alarm_not_early"
        mov cx, 91                      ; up to 5 s for it
.wait:
        cmp word [V_COUNT], 0
        jne .fired
        push cx
        mov cx, 1
        call wait_ticks
        pop cx
        loop .wait
.fired:
        mov ah, 0x02
        int 0x1A
        cmp word [V_COUNT], 1
        jne .late
        cmp cx, 0x1234
        jne .late
        cmp dh, 0x58
        PASS_IF_EQ
        jmp .fired_done
.late:
        stc
.fired_done:
        CHECK "alarm_fired_at_1234_58"
        cmp byte [V_ISR], 1
        PASS_IF_EQ
        CHECK "alarm_int4a_from_irq8"
        mov cx, 37                      ; two more seconds: once only
        call wait_ticks
        cmp word [V_COUNT], 1
        PASS_IF_EQ
        CHECK "alarm_once"
        mov ah, 0x07
        int 0x1A
        jc .reset_bad
        mov al, 0x0B
        call cmos_read
        test al, 0x20
        PASS_IF_EQ
        jmp .reset_done
.reset_bad:
        stc
.reset_done:
        CHECK "alarm_reset"
        ; set again 3 s ahead (accepted now), cancel, and wait past it
        mov ah, 0x06
        mov cx, 0x1235
        mov dh, 0x03
        int 0x1A
        CHECK "alarm_set_again"
        mov ah, 0x07
        int 0x1A
        mov cx, 91
        call wait_ticks
        mov ah, 0x02
        int 0x1A
        cmp cx, 0x1235                  ; the time went past 12:35:03 ...
        jne .cancel_bad
        cmp dh, 0x05
        jb .cancel_bad
        cmp word [V_COUNT], 1           ; ... without a call
        PASS_IF_EQ
        jmp .cancel_done
.cancel_bad:
        stc
.cancel_done:
        CHECK "alarm_cancelled"
        jmp done

int4a:
        push ax
        mov al, 0x0B                    ; read the slave's ISR ...
        out 0xA0, al
        in al, 0xA0
        and al, 0x01
        mov [cs:V_ISR], al
        mov al, 0x0A                    ; ... and go back to the IRR
        out 0xA0, al
        inc word [cs:V_COUNT]
        pop ax
        iret

; --- 3: Print Screen ----------------------------------------------------------
; A known screen, and a printer of our own on INT 17h: each character it is
; given goes to port E9h (CR is dropped there, LF ends a line), and every call
; answers with the status byte at V_PRINTER.
print_screen:
        mov ax, 0x0003
        int 0x10
        mov ah, 0x02
        xor bh, bh
        mov dx, 0x0205
        int 0x10
        mov si, s_screen
.text:
        lodsb
        or al, al
        jz .placed
        mov ah, 0x0E
        mov bx, 0x0007
        int 0x10
        jmp .text
.placed:
        mov byte [V_PRINTER], 0x90      ; selected, not busy
        mov word [0x17 * 4], int17
        mov [0x17 * 4 + 2], cs
        SAY "prtsc ready"
.idle:
        hlt
        jmp .idle

int17:
        or ah, ah
        jnz .status
        out 0xE9, al
.status:
        mov ah, [cs:V_PRINTER]
        iret

s_screen:       db "PRINT SCREEN: 0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ", 0

; --- 4: Pause -----------------------------------------------------------------
; Count as fast as possible with interrupts on; the test presses Pause and
; watches the count stop while the timer ticks on.
pause:
        SAY "pause ready"
        sti
.spin:
        inc word [V_COUNT]
        jmp .spin

; --- 5: CMOS shutdown codes 0Ah and 05h ---------------------------------------
; A 286 program leaves protected mode (and AH=87h comes back) through a CPU
; reset: a shutdown code in CMOS 0Fh, a far pointer at 40:67, and the reset line
; of the 8042. POST then jumps to 40:67 at once; with 05h it first sends the EOI
; for the interrupt handler that reset the CPU. Here 0Ah comes from the main
; program, 05h from inside the IRQ 0 handler.
shutdown:
        mov word [0x467], resumed
        mov [0x469], cs
        mov [saved_sp], sp
        mov al, 0x0A
        jmp shutdown_reset
resumed:
        xor ax, ax                      ; POST left us its stack and DS = BDA
        mov ss, ax
        mov sp, [cs:saved_sp]
        mov ds, ax
        mov es, ax
        sti
        cmp byte [stage], 1
        je .after_05
        mov byte [stage], 1
        mov al, 0x0F                    ; POST cleared the code
        call cmos_read
        or al, al
        PASS_IF_EQ
        CHECK "shutdown_0a_resumed"
        cli
        mov ax, [0x08 * 4]
        mov [old_int08], ax
        mov ax, [0x08 * 4 + 2]
        mov [old_int08 + 2], ax
        mov word [0x08 * 4], int08_reset
        mov [0x08 * 4 + 2], cs
        sti
.wait:
        hlt
        jmp .wait
.after_05:
        cli
        mov ax, [old_int08]
        mov [0x08 * 4], ax
        mov ax, [old_int08 + 2]
        mov [0x08 * 4 + 2], ax
        sti
        mov al, 0x0F
        call cmos_read
        or al, al
        PASS_IF_EQ
        CHECK "shutdown_05_resumed"
        mov al, 0x0B                    ; IRQ 0 no longer in service ...
        out 0x20, al
        in al, 0x20
        mov ah, al
        mov al, 0x0A
        out 0x20, al
        test ah, 0x01
        PASS_IF_EQ
        CHECK "shutdown_05_eoi"
        mov cx, 2                       ; ... so the timer interrupts again
        call wait_ticks
        clc
        CHECK "shutdown_05_ticks"
        jmp done

int08_reset:
        mov al, 0x05
        ; fall through: no return from here

; AL = shutdown code
shutdown_reset:
        cli
        mov ah, al
        mov al, 0x8F
        out 0x70, al
        mov al, ah
        out 0x71, al
        mov al, 0xFE                    ; pulse the CPU reset line
        out 0x64, al
.wait:
        hlt
        jmp .wait

saved_sp:       dw 0
stage:          db 0
old_int08:      dw 0, 0

        times PROG_SECTORS * 512 + 512 - ($ - $$) db 0
