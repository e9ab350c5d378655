# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The x86 core: 8086/8088, 80186 and the 80286 (real mode, and its protected mode
at privilege level 0, enough for a BIOS block move: see "80286 protected mode").

Time: every instruction costs one cycle of the machine clock, every REP iteration
after the first one more, and an interrupt entry one.  ``run()`` keeps time in
``self.cyc`` and writes it to ``clock.now`` before every call into Python (port I/O,
MMIO, INTA) and on exit; after each call it re-reads ``clock.deadline`` and
``mem.addr_mask``.

Reset: CS:IP = F000:FFF0 on every model (the same physical address FFFF0h as the
8086's documented FFFF:0000; F000 is what the 286 uses and what our ROMs expect).

Interrupts are sampled at instruction boundaries in the 8086 flowchart's order: NMI,
then INTR (IF=1, not in the shadow of STI or MOV/POP SS), then the single-step trap of
an instruction that began with TF=1; one entry per boundary, so a trap taken after an
NMI entry runs first and returns into the NMI handler.  INTR is ignored while
``intack`` is None.  A REP string instruction stops between iterations when an
interrupt is pending (IP back at the instruction; on the 8086 at its last prefix,
losing the others, as the chip does) or when time is up (IP back at the first prefix).

Models: the 8088 behaves as the 8086 (no prefetch queue is modelled, so they do not
differ here).  The 80186 adds its instructions, INT 6 for undefined opcodes, divide
errors returning to the faulting instruction, shift counts masked to 5 bits and
FLAGS bits 12-15 reading 0 (Intel leaves them undefined; the 80186 ROM test results
record zeros).  The 80286 model adds PUSH SP storing the old SP and the real-mode
segment overrun: a word at offset FFFFh, or an instruction longer than 10 bytes,
raises INT 13 with the registers as they were (string instructions keep their
progress, as the 286 vectors show).  Its 0F opcodes: LGDT/LIDT (which the 286
honours in real mode too), SGDT/SIDT, SMSW/LMSW, CLTS, and in protected mode
SLDT/STR/LLDT/LTR/VERR/VERW, LAR and LSL.  A fault that cannot be delivered (a
triple fault) shuts the CPU down: it halts and calls ``on_shutdown``, which the
Machine wires to the AT's CPU reset.

Speed: the six arithmetic flags are lazy (the last ALU operation's operands are
kept and the flags computed when read, see fl()), and instructions are fetched
through a code window on the current CS's RAM/ROM page (see code_window()); it reads
memory live, so code written by anyone is fetched as written.

Not modelled: the prefetch queue (code that modifies the bytes right after itself
sees the new bytes at once; an 8086 would run the stale queued bytes) and the exact
results of the 8086's undefined FE /2-7 forms and register forms of LEA/LES/LDS and
FF /3, FF /5 (the vectors exclude them; here they do something harmless).
"""
cimport cython
from libc.stdint cimport uint8_t, uint16_t, uint32_t, int8_t, int16_t, int32_t, int64_t, uint64_t
from libc.string cimport memcpy, memset

cdef extern from *:
    """
    /* the small helpers (memory, fetch, ModRM, registers) must fold into the
       execute function: GCC's size heuristics give up on a function this big */
    #if defined(__GNUC__)
    #undef CYTHON_INLINE
    #define CYTHON_INLINE __inline__ __attribute__((always_inline))
    #endif
    """

import numpy as np
from ..devices.vgamem cimport VGAMem
from ..bus.ioport cimport IOBus
from ..devices.pic8259 cimport DualPIC
from ..errors import ConfigError, StateError

cdef enum:
    # run() exit reasons
    X_BUDGET = 0        # clock reached start+max_cycles or clock.deadline
    X_HLT = 1           # the CPU is halted (HLT) with nothing to wake it
    X_STOP = 2          # cpu.stop() was called (by a device, the debugger, an error)
    X_BREAK = 3         # the next instruction is at a breakpoint

cdef enum:
    # FLAGS bits
    CF = 0x0001
    PF = 0x0004
    AF = 0x0010
    ZF = 0x0040
    SF = 0x0080
    TF = 0x0100
    IF_ = 0x0200
    DF = 0x0400
    OF = 0x0800
    ARITH = 0x08D5      # OF SF ZF AF PF CF

cdef enum:
    # lazy flags: the last flag-setting ALU operation, its arithmetic flags not yet
    # computed (lf_op == LF_NONE: the ARITH bits of self.flags are current)
    LF_NONE = 0
    LF_ADD = 1          # ADD/ADC: lf_res = a + b + carry-in, unmasked
    LF_SUB = 2          # SUB/SBB/CMP/NEG: lf_res = a - b - carry-in
    LF_LOGIC = 3        # AND/OR/XOR/TEST: CF, OF, AF clear
    LF_INC = 4          # INC: as ADD of 1, CF (current in self.flags) kept
    LF_DEC = 5          # DEC: as SUB of 1, CF kept

cdef enum:
    # register numbers as the ModRM byte encodes them
    R_AX = 0
    R_CX = 1
    R_DX = 2
    R_BX = 3
    R_SP = 4
    R_BP = 5
    R_SI = 6
    R_DI = 7
    S_ES = 0
    S_CS = 1
    S_SS = 2
    S_DS = 3

cdef enum:
    M_8086 = 0
    M_8088 = 1
    M_80186 = 2
    M_80286 = 3
    NBREAK = 16

EXIT_BUDGET = X_BUDGET
EXIT_HLT = X_HLT
EXIT_STOP = X_STOP
EXIT_BREAK = X_BREAK
STATE_VERSION = 2          # 2: the 286's protected-mode registers ("pm")

_MODELS = {"8086": M_8086, "8088": M_8088, "80186": M_80186, "80286": M_80286}
_R16 = ("ax", "cx", "dx", "bx", "sp", "bp", "si", "di")
_R32 = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi")
_R8 = ("al", "cl", "dl", "bl", "ah", "ch", "dh", "bh")
_SREG = ("es", "cs", "ss", "ds")
_REGNAMES = frozenset(_R16 + _R32 + _R8 + _SREG + ("ip", "flags"))


# ModRM memory forms by r/m: offset = r[EA_BASE] + r[EA_INDEX] (+ disp), where
# register R_ZERO always reads 0; the default segment (mod 0, r/m 6 is [disp16] in DS)
cdef enum:
    R_ZERO = 8
cdef uint8_t EA_BASE[8]
cdef uint8_t EA_INDEX[8]
cdef uint8_t EA_SEG[8]
EA_BASE[:] = [R_BX, R_BX, R_BP, R_BP, R_SI, R_DI, R_BP, R_BX]
EA_INDEX[:] = [R_SI, R_DI, R_SI, R_DI, R_ZERO, R_ZERO, R_ZERO, R_ZERO]
EA_SEG[:] = [S_DS, S_DS, S_SS, S_SS, S_DS, S_DS, S_SS, S_DS]

# the prefix bytes: segment overrides, REP/REPNE, LOCK and its alias F1
cdef uint8_t IS_PREFIX[256]
IS_PREFIX[:] = [1 if b in (0x26, 0x2E, 0x36, 0x3E, 0xF0, 0xF1, 0xF2, 0xF3) else 0 for b in range(256)]


cdef inline uint32_t parity(uint32_t v) noexcept nogil:
    # PF set when the low byte has an even number of ones: 0x9669 has bit n set for
    # each even-parity nibble n, and v ^ v>>4 folds the byte's parity into a nibble.
    return ((0x9669 >> ((v ^ (v >> 4)) & 0xF)) & 1) << 2


@cython.final
cdef class CPU:
    cdef uint32_t r[9]          # eax ecx edx ebx esp ebp esi edi (16-bit ops use the low half), R_ZERO
    cdef uint16_t sreg[4]       # es cs ss ds selectors
    cdef uint32_t sbase[4]      # hidden descriptor caches (real mode: selector << 4)
    cdef uint32_t slimit[4]
    cdef uint32_t sattr[4]
    cdef uint32_t ip
    cdef uint32_t flags         # ARITH bits stale while lf_op != LF_NONE: read via fl()
    cdef int lf_op
    cdef uint32_t lf_a, lf_b, lf_c, lf_res, lf_mask
    cdef int cpu_model
    cdef uint32_t flags_fixed   # bits that read as one
    cdef uint32_t flags_keep    # bits POPF/IRET can change

    cdef uint8_t* memp          # mem.data (never reallocated)
    cdef uint8_t* kindp         # mem.kind, one byte per 4 KiB page
    cdef uint32_t amask         # mem.addr_mask (< len(data); A20 may clear bit 20)
    # the code window: fw_p[ip - fw_lo] is the byte at CS:ip for ip - fw_lo < fw_len,
    # one RAM/ROM page of the current CS; emptied when CS, amask or the map may change
    cdef uint8_t* fw_p
    cdef uint32_t fw_lo
    cdef uint32_t fw_len
    cdef object mem_arr
    cdef object kind_arr

    cdef public object mem
    cdef public IOBus io         # called in C: IN/OUT make no Python call of their own
    cdef public object clock
    cdef public object intack
    cdef DualPIC pic            # intack's owner when it is the AT's 8259A pair: INTA in C

    cdef int64_t cyc            # time inside run(); clock.now outside
    cdef int64_t limit          # start + max_cycles of the current run
    cdef int64_t stop_at        # min(limit, clock.deadline)
    cdef int64_t n_instr
    cdef bint in_run
    cdef bint stepping
    cdef bint overrun           # 286: this instruction hit a word at offset FFFFh
    cdef bint string_fault      # 286: the faulting instruction is a string one
    cdef uint32_t nfetch        # instruction bytes fetched (the 286's 10-byte limit)
    cdef bint halt_flag
    cdef bint intr_line
    cdef bint nmi_pending
    cdef bint trap_pending
    cdef int shadow             # 1: after MOV/POP SS (no interrupt at all), 2: after STI (no INTR)
    cdef bint stop_req
    cdef object pyexc
    cdef VGAMem vgamem          # the VGA's planar memory, called in C for its own pages
    cdef uint8_t vga_page[32]   # page A0000h+i*4K is still vgamem's (a debugger may wrap it)

    # per-instruction decode state
    cdef int seg_ovr
    cdef int rep
    cdef uint32_t insn_ip
    cdef uint32_t last_prefix_ip
    cdef int mod_
    cdef int reg_
    cdef int rm_
    cdef int ea_seg
    cdef uint32_t ea_off

    cdef uint32_t brk[NBREAK]
    cdef int nbrk
    cdef bint string_slow       # tests: REP strings element by element, no RAM blocks
    cdef int64_t n_blocks       # REP string blocks run in C (string_block)

    # 80286 protected mode: the machine status word, the descriptor-table registers,
    # and per segment the offsets an access may use, derived from its cached
    # descriptor (real mode and not-yet-reloaded caches: all of 0-FFFFh).  A read of
    # n bytes at off is allowed when off - rlo <= rspan - (n - 1), a write likewise.
    cdef uint32_t msw
    cdef uint32_t gdt_base
    cdef uint32_t gdt_limit
    cdef uint32_t idt_base
    cdef uint32_t idt_limit
    cdef uint32_t ldt_sel
    cdef uint32_t ldt_base
    cdef uint32_t ldt_limit
    cdef uint32_t tr_sel
    cdef uint32_t tr_base
    cdef uint32_t tr_limit
    cdef uint32_t cpl
    cdef uint32_t rlo[4]
    cdef uint32_t rspan[4]
    cdef uint32_t wlo[4]
    cdef uint32_t wspan[4]
    cdef uint32_t fault_vec     # the first protected-mode fault of this instruction
    cdef uint32_t fault_err     # and its error code
    cdef uint32_t gate_vec      # the fault that stopped an interrupt's delivery
    cdef uint32_t gate_err
    cdef bint in_insn           # exec_286 is inside an instruction
    cdef int seg_saved          # bit s: segment s's cache is saved in the save_* arrays
    cdef uint32_t save_sel[4]
    cdef uint32_t save_base[4]
    cdef uint32_t save_limit[4]
    cdef uint32_t save_attr[4]
    cdef uint32_t save_cpl
    cdef uint32_t d_addr        # read_desc's result: where the descriptor is,
    cdef uint32_t d_base        # its 24-bit base, limit and access byte
    cdef uint32_t d_limit
    cdef uint32_t d_attr
    cdef public object on_shutdown  # called on a shutdown cycle (the AT resets the CPU)

    def __init__(self, mem, IOBus io not None, clock, model="8086"):
        if model not in _MODELS:
            raise ConfigError(f"unknown CPU model {model!r} (choose from {', '.join(_MODELS)})")
        self.mem = mem
        self.io = io
        self.clock = clock
        self.intack = None
        self.on_shutdown = None
        self.cpu_model = _MODELS[model]
        self._bind_memory()
        self.pyexc = None
        self.reset()

    def _bind_memory(self):
        cdef uint8_t[::1] d = self.mem.data
        cdef uint8_t[::1] k = self.mem.kind
        self.mem_arr = self.mem.data
        self.kind_arr = self.mem.kind
        self.memp = &d[0]
        self.kindp = &k[0]
        self.amask = self.mem.addr_mask
        self.fw_len = 0

    @property
    def model(self):
        for name, m in _MODELS.items():
            if m == self.cpu_model:
                return name

    @property
    def halted(self):
        return bool(self.halt_flag)

    @halted.setter
    def halted(self, value):
        self.halt_flag = bool(value)

    @property
    def instructions(self):
        return self.n_instr

    @instructions.setter
    def instructions(self, value):
        self.n_instr = value

    def reset(self):
        cdef int i
        self.pm_reset()
        for i in range(8):
            self.r[i] = 0
        for i in range(4):
            self.load_seg(i, 0)
        self.load_seg(S_CS, 0xF000)
        self.ip = 0xFFF0
        if self.cpu_model >= M_80186:
            # 286 real mode: IOPL/NT (bits 12-15) read as zero.  Intel documents them
            # as undefined on the 80186; the 80186 ROM test results record zeros.
            self.flags_fixed = 0x0002
        else:
            self.flags_fixed = 0xF002
        self.flags_keep = 0x0FD5
        self.flags = self.flags_fixed
        self.lf_op = LF_NONE
        self.halt_flag = 0
        self.nmi_pending = 0
        self.trap_pending = 0
        self.shadow = 0
        self.stop_req = 0

    # ------------------------------------------------------------------ memory
    cdef inline void load_seg(self, int s, uint32_t sel) noexcept:
        sel &= 0xFFFF
        if s == S_CS:
            self.fw_len = 0             # the code window belongs to the old CS
        if self.msw & 1:
            self.load_seg_pm(s, sel)
            return
        self.sreg[s] = <uint16_t>sel
        self.sbase[s] = sel << 4
        self.slimit[s] = 0xFFFF
        self.sattr[s] = 0x93 if s != S_CS else 0x9B

    cdef void py_failed(self) noexcept:
        # keep the first Python exception raised by a device; run() re-raises it
        import sys
        if self.pyexc is None:
            self.pyexc = sys.exc_info()[1]
        self.stop_req = 1
        self.stop_at = 0

    cdef void before_py(self) noexcept:
        if self.in_run:
            try:
                self.clock.now = self.cyc
            except BaseException:
                self.py_failed()

    cdef void after_py(self) noexcept:
        cdef int64_t d
        self.fw_len = 0         # the device may have changed the map or A20
        try:
            self.amask = self.mem.addr_mask
            if self.in_run:
                d = self.clock.deadline
                self.stop_at = self.limit if (self.limit < d or self.stepping) else d
                if self.stop_req:
                    self.stop_at = 0
        except BaseException:
            self.py_failed()

    cdef uint32_t mmio_read(self, uint32_t a) noexcept:
        cdef uint32_t v = 0xFF
        if a - 0xA0000 < 0x20000 and self.vga_page[(a - 0xA0000) >> 12]:
            return self.vgamem.read8(a) & 0xFF     # no Python: VGA memory is a C engine
        self.before_py()
        try:
            v = self.mem.read8(a)
        except BaseException:
            self.py_failed()
        self.after_py()
        return v & 0xFF

    cdef void mmio_write(self, uint32_t a, uint32_t v) noexcept:
        if a - 0xA0000 < 0x20000 and self.vga_page[(a - 0xA0000) >> 12]:
            self.vgamem.write8(a, v & 0xFF)
            return
        self.before_py()
        try:
            self.mem.write8(a, v & 0xFF)
        except BaseException:
            self.py_failed()
        self.after_py()

    cdef inline uint32_t rd8(self, uint32_t a) noexcept:
        cdef uint8_t k
        a &= self.amask                       # a < len(data), a >> 12 < len(kind)
        k = self.kindp[a >> 12]
        if k <= 1:
            return self.memp[a]               # RAM or ROM
        if k == 2:
            return self.mmio_read(a)
        return 0xFF

    cdef inline void wr8(self, uint32_t a, uint32_t v) noexcept:
        cdef uint8_t k
        a &= self.amask                       # a < len(data), a >> 12 < len(kind)
        k = self.kindp[a >> 12]
        if k == 0:
            self.memp[a] = <uint8_t>v
        elif k == 2:
            self.mmio_write(a, v)

    cdef inline uint32_t rd16_lin(self, uint32_t a) noexcept:
        return self.rd8(a) | (self.rd8(a + 1) << 8)

    cdef inline uint32_t rds8(self, int s, uint32_t off) noexcept:
        if off - self.rlo[s] > self.rspan[s]:
            return self.limit_fault(s)
        return self.rd8(self.sbase[s] + off)

    cdef inline void wrs8(self, int s, uint32_t off, uint32_t v) noexcept:
        if self.overrun:
            return          # the instruction already faulted: it writes nothing more
        if off - self.wlo[s] > self.wspan[s]:
            self.limit_fault(s)
            return
        self.wr8(self.sbase[s] + off, v)

    cdef void segment_overrun(self) noexcept:
        # 286 real mode: a word at offset FFFFh does not wrap, it raises INT 13
        # (the loop restores the registers and enters the handler)
        self.pm_raise(13, 0)

    cdef inline uint32_t rds16(self, int s, uint32_t off) noexcept:
        cdef uint32_t a = (self.sbase[s] + off) & self.amask
        if off - self.rlo[s] < self.rspan[s] and (a & 0xFFF) != 0xFFF and self.kindp[a >> 12] <= 1:
            # a and a+1 are in the same page, so both < len(data)
            return self.memp[a] | (<uint32_t>self.memp[a + 1] << 8)
        if self.msw & 1 and off - self.rlo[s] >= self.rspan[s]:
            return self.limit_fault(s)
        if off == 0xFFFF and self.cpu_model == M_80286:
            self.segment_overrun()
            return 0
        # the second byte comes from offset (off+1) & FFFFh of the same segment
        return self.rds8(s, off) | (self.rds8(s, (off + 1) & 0xFFFF) << 8)

    cdef inline void wrs16(self, int s, uint32_t off, uint32_t v) noexcept:
        cdef uint32_t a = (self.sbase[s] + off) & self.amask
        if off - self.wlo[s] < self.wspan[s] and (a & 0xFFF) != 0xFFF and self.kindp[a >> 12] == 0:
            # a and a+1 are in the same RAM page, so both < len(data)
            self.memp[a] = <uint8_t>v
            self.memp[a + 1] = <uint8_t>(v >> 8)
            return
        if self.msw & 1 and off - self.wlo[s] >= self.wspan[s]:
            self.limit_fault(s)
            return
        if off == 0xFFFF and self.cpu_model == M_80286:
            self.segment_overrun()
            return
        self.wrs8(s, off, v & 0xFF)
        self.wrs8(s, (off + 1) & 0xFFFF, (v >> 8) & 0xFF)

    cdef void code_window(self) noexcept:
        """Open the code window at CS:IP: the rest of its page, up to offset FFFFh."""
        cdef uint32_t a = (self.sbase[S_CS] + self.ip) & self.amask
        cdef uint32_t n = 0x1000 - (a & 0xFFF)
        self.fw_len = 0
        if self.kindp[a >> 12] > 1:
            return              # MMIO or nothing: every fetch takes rd8
        if n > 0x10000 - self.ip:
            n = 0x10000 - self.ip
        self.fw_p = self.memp + a
        self.fw_lo = self.ip
        self.fw_len = n

    cdef inline uint32_t fetch8(self) noexcept:
        cdef uint32_t d = self.ip - self.fw_lo
        cdef uint32_t v
        if d >= self.fw_len:
            self.code_window()
            d = 0
        if d < self.fw_len:
            v = self.fw_p[d]
        else:
            v = self.rd8(self.sbase[S_CS] + self.ip)
        self.ip = (self.ip + 1) & 0xFFFF
        self.nfetch += 1
        return v

    cdef inline uint32_t fetch16(self) noexcept:
        cdef uint32_t d = self.ip - self.fw_lo
        cdef uint32_t v
        if d < self.fw_len and d + 1 < self.fw_len:
            v = self.fw_p[d] | (<uint32_t>self.fw_p[d + 1] << 8)
        else:
            v = self.rds16(S_CS, self.ip)       # crosses a page, wraps or faults
        self.ip = (self.ip + 2) & 0xFFFF
        self.nfetch += 2
        return v

    # ------------------------------------------------------------------ 80286 protected mode
    # (Intel 80286 Programmer's Reference Manual, chapters 6-9.)  Modelled: the MSW,
    # GDT/LDT/IDT, descriptor loads into the hidden caches with the type, privilege
    # and present checks for transfers within one privilege level, limit checks on
    # data accesses and (per instruction, cs_limit_check) on CS, exceptions through
    # interrupt and trap gates, double fault and shutdown.  A faulting instruction
    # is undone (registers, segment caches, FLAGS; memory it wrote before the fault
    # stays) and restarted.  Not modelled: task switches (task gates, TSS
    # selectors, IRET with NT set), call gates, changes of privilege level (so the
    # CPU stays at CPL 0, where LMSW put it), IOPL and gate-DPL checks, the EXT bit
    # of error codes.  The transfers not modelled raise #GP(selector).
    cdef void pm_reset(self) noexcept:
        cdef int i
        self.msw = 0
        self.gdt_base = 0
        self.gdt_limit = 0xFFFF
        self.idt_base = 0
        self.idt_limit = 0x3FF
        self.ldt_sel = 0
        self.ldt_base = 0
        self.ldt_limit = 0
        self.tr_sel = 0
        self.tr_base = 0
        self.tr_limit = 0
        self.cpl = 0
        for i in range(4):
            self.rlo[i] = 0
            self.rspan[i] = 0xFFFF
            self.wlo[i] = 0
            self.wspan[i] = 0xFFFF

    cdef void set_bounds(self, int s) noexcept:
        """The offsets segment s lets reads and writes use, from its cached descriptor
        (an offset range rlo..rlo+rspan; none at all is lo = 10000h, span 0)."""
        cdef uint32_t attr = self.sattr[s]
        cdef uint32_t limit = self.slimit[s]
        cdef uint32_t lo = 0
        cdef uint32_t span = limit
        if not (self.msw & 1):
            lo = 0
            span = 0xFFFF
        elif not (attr & 0x80):
            lo = 0x10000            # not present (a null selector): no access at all
            span = 0
        elif (attr & 0x0C) == 0x04:
            # expand-down data: the offsets above the limit
            if limit >= 0xFFFF:
                lo = 0x10000
                span = 0
            else:
                lo = limit + 1
                span = 0xFFFF - lo
        self.rlo[s] = lo
        self.rspan[s] = span
        if (self.msw & 1) and (attr & 0x0A) != 0x02:
            # code segments and read-only data refuse writes (protected mode only;
            # code readability is not checked: instruction fetch reads through CS too)
            lo = 0x10000
            span = 0
        self.wlo[s] = lo
        self.wspan[s] = span
        if s == S_CS:
            self.fw_len = 0             # the code window belongs to the old CS

    cdef void pm_raise(self, uint32_t vec, uint32_t err) noexcept:
        """Fault the current instruction: exec_286 undoes it and delivers vec.  From
        here on it writes nothing (protected mode sends every write to the slow path,
        which drops it)."""
        cdef int i
        if self.overrun:
            return
        self.overrun = 1
        self.fault_vec = vec
        self.fault_err = err
        if self.msw & 1:
            for i in range(4):
                self.wlo[i] = 0x10000
                self.wspan[i] = 0

    cdef uint32_t limit_fault(self, int s) noexcept:
        # an offset outside the segment: #SS for the stack segment, else #GP
        self.pm_raise(12 if s == S_SS else 13, 0)
        return 0

    cdef bint read_desc(self, uint32_t sel) noexcept:
        """Read the descriptor selected by sel (GDT, or the LDT when TI is set) into
        d_*; 0 when the selector points past its table's limit."""
        cdef uint32_t tbase = self.gdt_base
        cdef uint32_t tlimit = self.gdt_limit
        cdef uint32_t a
        if sel & 4:
            if (self.ldt_sel & 0xFFFC) == 0:
                return 0
            tbase = self.ldt_base
            tlimit = self.ldt_limit
        if (sel | 7) > tlimit:
            return 0
        a = tbase + (sel & 0xFFF8)
        self.d_addr = a
        self.d_limit = self.rd16_lin(a)
        self.d_base = self.rd16_lin(a + 2) | (self.rd8(a + 4) << 16)
        self.d_attr = self.rd8(a + 5)
        return 1

    cdef void mark_accessed(self) noexcept:
        # the 286 sets the descriptor's accessed bit when it loads it
        if not (self.d_attr & 1):
            self.d_attr |= 1
            self.wr8(self.d_addr + 5, self.d_attr)

    cdef void set_cache(self, int s, uint32_t sel) noexcept:
        """Segment s := sel with the descriptor in d_*, keeping the old cache for
        exec_286 to put back if the instruction faults."""
        cdef int bit = 1 << s
        if not (self.seg_saved & bit):
            self.seg_saved |= bit
            self.save_sel[s] = self.sreg[s]
            self.save_base[s] = self.sbase[s]
            self.save_limit[s] = self.slimit[s]
            self.save_attr[s] = self.sattr[s]
            if s == S_CS:
                self.save_cpl = self.cpl
        self.sreg[s] = <uint16_t>sel
        self.sbase[s] = self.d_base
        self.slimit[s] = self.d_limit
        self.sattr[s] = self.d_attr
        self.set_bounds(s)

    cdef void load_seg_pm(self, int s, uint32_t sel) noexcept:
        """MOV/POP to a segment register, LDS/LES, and CS for far JMP/CALL/RET and
        IRET, in protected mode: the checks of the 286 manual's segment-load table."""
        cdef uint32_t err = sel & 0xFFFC
        cdef uint32_t rpl = sel & 3
        cdef uint32_t attr, dpl
        if self.overrun:
            return
        if err == 0:
            if s == S_CS or s == S_SS:
                self.pm_raise(13, 0)
                return
            # a null selector loads: any access through it faults
            self.d_base = 0
            self.d_limit = 0
            self.d_attr = 0
            self.set_cache(s, sel)
            return
        if not self.read_desc(sel):
            self.pm_raise(13, err)
            return
        attr = self.d_attr
        dpl = (attr >> 5) & 3
        if not (attr & 0x10):
            # a system descriptor: call gates, task gates and TSSs are not modelled
            self.pm_raise(13, err)
            return
        if s == S_CS:
            if not (attr & 0x08):
                self.pm_raise(13, err)
                return
            if attr & 0x04:                 # conforming: runs at the caller's level
                if dpl > self.cpl:
                    self.pm_raise(13, err)
                    return
            elif dpl != self.cpl or rpl > self.cpl:
                # another privilege level (a return outward included): not modelled
                self.pm_raise(13, err)
                return
            if not (attr & 0x80):
                self.pm_raise(11, err)
                return
            self.mark_accessed()
            self.set_cache(S_CS, err | self.cpl)
            return
        if s == S_SS:
            if rpl != self.cpl or dpl != self.cpl or (attr & 0x0A) != 0x02:
                self.pm_raise(13, err)      # not writable data at the current level
                return
            if not (attr & 0x80):
                self.pm_raise(12, err)
                return
        else:
            if (attr & 0x0A) == 0x08:       # execute-only code
                self.pm_raise(13, err)
                return
            if (attr & 0x0C) != 0x0C and dpl < (rpl if rpl > self.cpl else self.cpl):
                self.pm_raise(13, err)      # more privileged than the caller
                return
            if not (attr & 0x80):
                self.pm_raise(11, err)
                return
        self.mark_accessed()
        self.set_cache(s, sel)

    cdef void restore_segs(self) noexcept:
        """Undo the segment loads of a faulting protected-mode instruction."""
        cdef int s
        for s in range(4):
            if self.seg_saved & (1 << s):
                self.sreg[s] = <uint16_t>self.save_sel[s]
                self.sbase[s] = self.save_base[s]
                self.slimit[s] = self.save_limit[s]
                self.sattr[s] = self.save_attr[s]
                if s == S_CS:
                    self.cpl = self.save_cpl
            self.set_bounds(s)
        self.seg_saved = 0

    cdef bint gate_fail(self, uint32_t vec, uint32_t err) noexcept:
        self.gate_vec = vec
        self.gate_err = err
        return 0

    cdef bint pm_gate(self, uint32_t vec, int32_t err) noexcept:
        """Enter handler vec through its IDT gate, pushing FLAGS, CS, IP and the error
        code if err >= 0; 0 (gate_vec/gate_err say why) when that faults, before
        anything changed."""
        cdef uint32_t gerr = vec * 8 + 2            # the IDT bit with the vector's index
        cdef uint32_t a, off, sel, acc, attr, dpl, sp, n, i
        if vec * 8 + 7 > self.idt_limit:
            return self.gate_fail(13, gerr)
        a = self.idt_base + vec * 8
        off = self.rd16_lin(a)
        sel = self.rd16_lin(a + 2)
        acc = self.rd8(a + 5)
        if (acc & 0x1F) != 0x06 and (acc & 0x1F) != 0x07:
            # only 286 interrupt (6) and trap (7) gates; a task gate is not modelled
            return self.gate_fail(13, gerr)
        if not (acc & 0x80):
            return self.gate_fail(11, gerr)
        if (sel & 0xFFFC) == 0:
            return self.gate_fail(13, 0)
        if not self.read_desc(sel):
            return self.gate_fail(13, sel & 0xFFFC)
        attr = self.d_attr
        dpl = (attr >> 5) & 3
        if (attr & 0x18) != 0x18 or dpl > self.cpl:
            return self.gate_fail(13, sel & 0xFFFC)
        if dpl < self.cpl and not (attr & 0x04):
            # an inner-level handler takes its stack from the TSS: not modelled
            return self.gate_fail(13, sel & 0xFFFC)
        if not (attr & 0x80):
            return self.gate_fail(11, sel & 0xFFFC)
        if off > self.d_limit:
            return self.gate_fail(13, 0)
        n = 4 if err >= 0 else 3
        sp = self.r[R_SP] & 0xFFFF
        for i in range(1, n + 1):
            if ((sp - 2 * i) & 0xFFFF) - self.wlo[S_SS] >= self.wspan[S_SS]:
                return self.gate_fail(12, 0)
        self.mark_accessed()
        self.push16(self.get_flags())
        self.push16(self.sreg[S_CS])
        self.push16(self.ip)
        if err >= 0:
            self.push16(<uint32_t>err)
        self.flags &= ~(TF | 0x4000)                # and NT
        if (acc & 0x1F) == 0x06:
            self.flags &= ~IF_                      # an interrupt gate, not a trap gate
        self.sreg[S_CS] = <uint16_t>((sel & 0xFFFC) | self.cpl)
        self.sbase[S_CS] = self.d_base
        self.slimit[S_CS] = self.d_limit
        self.sattr[S_CS] = self.d_attr
        self.set_bounds(S_CS)
        self.ip = off
        return 1

    cdef void pm_deliver(self, uint32_t vec, int32_t err, bint exc) noexcept:
        """Deliver interrupt or exception (exc) vec.  A fault on the way is delivered
        in its place; one during a contributory exception (0, 10-13) is a double
        fault (8), and one during a double fault shuts the CPU down."""
        while not self.pm_gate(vec, err):
            if exc and vec == 8:
                self.shutdown()
                return
            if exc and (vec == 0 or (vec >= 10 and vec <= 13)):
                vec = 8
                err = 0
            else:
                vec = self.gate_vec
                err = <int32_t>self.gate_err
            exc = 1

    cdef void pm_interrupt(self, uint32_t vec) noexcept:
        if self.in_insn:
            # INT n, INTO, BOUND, an invalid opcode: the gate's fault is the
            # instruction's, entered after exec_286 has undone it
            if not self.pm_gate(vec, -1):
                self.pm_raise(self.gate_vec, self.gate_err)
        else:
            self.pm_deliver(vec, -1, 0)

    cdef void shutdown(self) noexcept:
        """The 286 stops after a fault it cannot deliver; only NMI or RESET restart
        it.  An AT's board decodes the shutdown cycle and resets the CPU."""
        self.halt_flag = 1
        self.flags &= ~IF_
        if self.on_shutdown is None:
            return
        self.before_py()
        try:
            self.on_shutdown()
        except BaseException:
            self.py_failed()
        self.after_py()

    # ------------------------------------------------------------------ port I/O
    cdef uint32_t port_in(self, uint32_t port, int w) noexcept:
        cdef uint32_t v = 0xFFFF
        # chips that never look at the time (PIC, POST port, no device) skip the sync
        cdef bint sync = not self.io.timeless_access(port, 2 if w else 1, 0)
        if sync:
            self.before_py()
        try:
            v = <uint32_t>self.io.read(port, 2 if w else 1)
        except BaseException:
            self.py_failed()
        if sync:
            self.after_py()
        return v & (0xFFFF if w else 0xFF)

    cdef void port_out(self, uint32_t port, uint32_t v, int w) noexcept:
        cdef bint sync = not self.io.timeless_access(port, 2 if w else 1, 1)
        if sync:
            self.before_py()
        try:
            self.io.write(port, v & (0xFFFF if w else 0xFF), 2 if w else 1)
        except BaseException:
            self.py_failed()
        if sync:
            self.after_py()

    # ------------------------------------------------------------------ registers
    cdef inline uint32_t get_r8(self, int i) noexcept:
        if i < 4:
            return self.r[i] & 0xFF
        return (self.r[i - 4] >> 8) & 0xFF

    cdef inline void set_r8(self, int i, uint32_t v) noexcept:
        if i < 4:
            self.r[i] = (self.r[i] & 0xFFFFFF00U) | (v & 0xFF)
        else:
            self.r[i - 4] = (self.r[i - 4] & 0xFFFF00FFU) | ((v & 0xFF) << 8)

    cdef inline uint32_t get_r16(self, int i) noexcept:
        return self.r[i] & 0xFFFF

    cdef inline void set_r16(self, int i, uint32_t v) noexcept:
        self.r[i] = (self.r[i] & 0xFFFF0000U) | (v & 0xFFFF)

    cdef inline void push16(self, uint32_t v) noexcept:
        cdef uint32_t sp = (self.r[R_SP] - 2) & 0xFFFF
        self.set_r16(R_SP, sp)
        self.wrs16(S_SS, sp, v)

    cdef inline uint32_t pop16(self) noexcept:
        cdef uint32_t sp = self.r[R_SP] & 0xFFFF
        cdef uint32_t v = self.rds16(S_SS, sp)
        self.set_r16(R_SP, sp + 2)
        return v

    cdef inline uint32_t get_flags(self) noexcept:
        return (self.fl() & self.flags_keep) | self.flags_fixed

    cdef inline void set_flags(self, uint32_t v) noexcept:
        self.lf_op = LF_NONE
        self.flags = (v & self.flags_keep) | self.flags_fixed

    # ------------------------------------------------------------------ lazy flags
    # ALU operations record their operands; the six arithmetic flags are computed
    # only when something reads them.  Everything that reads or partly updates the
    # ARITH bits goes through fl()/sync_flags() first (IF, TF, DF are always current).
    cdef void materialise(self) noexcept:
        cdef uint32_t a = self.lf_a
        cdef uint32_t b = self.lf_b
        cdef uint32_t res = self.lf_res
        cdef uint32_t mask = self.lf_mask
        cdef uint32_t sign = (mask >> 1) + 1
        cdef int op = self.lf_op
        cdef uint32_t f = self.flags & ~ARITH
        if op == LF_ADD or op == LF_INC:
            if op == LF_INC:
                f |= self.flags & CF
            elif res > mask:
                f |= CF
            if (res ^ a) & (res ^ b) & sign:
                f |= OF
        elif op == LF_SUB or op == LF_DEC:
            if op == LF_DEC:
                f |= self.flags & CF
            elif <uint64_t>b + self.lf_c > a:
                f |= CF
            if (a ^ b) & (a ^ res) & sign:
                f |= OF
        if op != LF_LOGIC:
            f |= (a ^ b ^ res) & AF
        res &= mask
        if res & sign:
            f |= SF
        if res == 0:
            f |= ZF
        self.flags = f | parity(res)
        self.lf_op = LF_NONE

    cdef inline void sync_flags(self) noexcept:
        if self.lf_op != LF_NONE:
            self.materialise()

    cdef inline uint32_t fl(self) noexcept:
        if self.lf_op != LF_NONE:
            self.materialise()
        return self.flags

    cdef inline uint32_t lazy_cf(self) noexcept:
        cdef int op = self.lf_op
        if op == LF_ADD:
            return self.lf_res > self.lf_mask
        if op == LF_SUB:
            return <uint64_t>self.lf_b + self.lf_c > self.lf_a
        if op == LF_LOGIC:
            return 0
        return self.flags & CF

    cdef inline bint lazy_zf(self) noexcept:
        if self.lf_op == LF_NONE:
            return (self.flags & ZF) != 0
        return (self.lf_res & self.lf_mask) == 0

    # ------------------------------------------------------------------ ModRM
    cdef inline void modrm(self) noexcept:
        cdef uint32_t b = self.fetch8()
        cdef uint32_t off
        cdef int rm = b & 7
        self.mod_ = b >> 6
        self.reg_ = (b >> 3) & 7
        self.rm_ = rm
        if b >= 0xC0:
            return
        if b < 0x40:
            if rm == 6:
                off = self.fetch16()            # [disp16], DS
                self.ea_off = off
                self.ea_seg = self.seg_ovr if self.seg_ovr >= 0 else S_DS
                return
            off = 0
        elif b < 0x80:
            off = <uint32_t><int32_t><int8_t>self.fetch8()
        else:
            off = self.fetch16()
        self.ea_off = (off + self.r[EA_BASE[rm]] + self.r[EA_INDEX[rm]]) & 0xFFFF
        self.ea_seg = self.seg_ovr if self.seg_ovr >= 0 else EA_SEG[rm]

    cdef inline uint32_t rm8(self) noexcept:
        if self.mod_ == 3:
            return self.get_r8(self.rm_)
        return self.rds8(self.ea_seg, self.ea_off)

    cdef inline void set_rm8(self, uint32_t v) noexcept:
        if self.mod_ == 3:
            self.set_r8(self.rm_, v)
        else:
            self.wrs8(self.ea_seg, self.ea_off, v)

    cdef inline uint32_t rm16(self) noexcept:
        if self.mod_ == 3:
            return self.r[self.rm_] & 0xFFFF
        return self.rds16(self.ea_seg, self.ea_off)

    cdef inline void set_rm16(self, uint32_t v) noexcept:
        if self.mod_ == 3:
            self.set_r16(self.rm_, v)
        else:
            self.wrs16(self.ea_seg, self.ea_off, v)

    cdef inline uint32_t rmw(self, int w) noexcept:
        return self.rm16() if w else self.rm8()

    cdef inline void set_rmw(self, int w, uint32_t v) noexcept:
        if w:
            self.set_rm16(v)
        else:
            self.set_rm8(v)

    cdef inline uint32_t regw(self, int w, int i) noexcept:
        return (self.r[i] & 0xFFFF) if w else self.get_r8(i)

    cdef inline void set_regw(self, int w, int i, uint32_t v) noexcept:
        if w:
            self.set_r16(i, v)
        else:
            self.set_r8(i, v)

    # ------------------------------------------------------------------ ALU
    cdef inline void szp(self, uint32_t res, int w) noexcept:
        cdef uint32_t f = self.flags & ~(ZF | SF | PF)
        if w:
            res &= 0xFFFF
            f |= (res >> 8) & SF
        else:
            res &= 0xFF
            f |= res & SF
        if res == 0:
            f |= ZF
        self.flags = f | parity(res)

    cdef inline uint32_t alu_lazy(self, int op, uint32_t a, uint32_t b, int w) noexcept:
        """ADD OR ADC SBB AND SUB XOR CMP (op 0-7) on masked a, b; flags stay lazy."""
        cdef uint32_t mask = 0xFFFF if w else 0xFF
        cdef uint32_t res, c = 0
        if op == 1 or op == 4 or op == 6:
            if op == 1:
                res = a | b
            elif op == 4:
                res = a & b
            else:
                res = a ^ b
            self.lf_op = LF_LOGIC
        else:
            if op == 2 or op == 3:
                c = self.lazy_cf()
            if op <= 2:
                res = a + b + c
                self.lf_op = LF_ADD
            else:
                res = a - b - c
                self.lf_op = LF_SUB
            self.lf_a = a
            self.lf_b = b
            self.lf_c = c
        self.lf_res = res
        self.lf_mask = mask
        return res & mask

    cdef uint32_t alu(self, int op, uint32_t a, uint32_t b, int w) noexcept:
        """alu_lazy with the flags computed at once (string instructions test ZF)."""
        cdef uint32_t res = self.alu_lazy(op, a, b, w)
        self.materialise()
        return res

    cdef uint32_t incdec(self, uint32_t a, int dec, int w) noexcept:
        cdef uint32_t mask = 0xFFFF if w else 0xFF
        cdef uint32_t res
        if self.lf_op != LF_INC and self.lf_op != LF_DEC:
            # INC/DEC keep CF: make it current in self.flags
            self.flags = (self.flags & ~CF) | self.lazy_cf()
        if dec:
            res = a - 1
            self.lf_op = LF_DEC
        else:
            res = a + 1
            self.lf_op = LF_INC
        self.lf_a = a
        self.lf_b = 1
        self.lf_res = res
        self.lf_mask = mask
        return res & mask

    cdef uint32_t shift(self, int op, uint32_t v, uint32_t count, int w) noexcept:
        cdef uint32_t bits = 16 if w else 8
        cdef uint32_t mask = 0xFFFF if w else 0xFF
        cdef uint32_t top = 0x8000 if w else 0x80
        cdef uint32_t cf
        cdef uint32_t prev = v
        cdef uint32_t i, f
        if self.cpu_model >= M_80186:
            count &= 0x1F
            if op == 6:
                op = 4      # /6 is SHL on the 186 and later
        if count == 0:
            return v
        if op >= 4:
            self.lf_op = LF_NONE    # SHL/SHR/SETMO/SAR set all six flags below
        else:
            self.sync_flags()       # rotates keep SF ZF AF PF, RCL/RCR read CF
        cf = self.flags & CF
        # one loop per operation: the step's branch is then the same every time
        if op == 0:                     # ROL
            for i in range(count):
                cf = (v >> (bits - 1)) & 1
                v = ((v << 1) | cf) & mask
        elif op == 1:                   # ROR
            for i in range(count):
                cf = v & 1
                v = (v >> 1) | (cf << (bits - 1))
        elif op == 2:                   # RCL
            for i in range(count):
                f = (v >> (bits - 1)) & 1
                v = ((v << 1) | cf) & mask
                cf = f
        elif op == 3:                   # RCR
            for i in range(count):
                f = v & 1
                v = (v >> 1) | (cf << (bits - 1))
                cf = f
        elif op == 4:                   # SHL
            for i in range(count):
                cf = (v >> (bits - 1)) & 1
                v = (v << 1) & mask
        elif op == 5:                   # SHR (OF from the operand of the last step)
            for i in range(count):
                prev = v
                cf = v & 1
                v = v >> 1
        elif op == 6:
            # SETMO: the undocumented /6 sets the operand to all ones
            cf = 0
            v = mask
        else:                           # SAR
            for i in range(count):
                cf = v & 1
                v = (v >> 1) | (v & top)
        f = (self.flags & ~(CF | OF)) | cf
        if op == 0 or op == 2 or op == 4:
            if ((v & top) != 0) != (cf != 0):
                f |= OF
        elif op == 1 or op == 3:
            if ((v ^ (v << 1)) & top):
                f |= OF
        elif op == 5:
            if prev & top:
                f |= OF
        self.flags = f
        if op >= 4:
            self.flags &= ~AF
            self.szp(v, w)
        return v

    # ------------------------------------------------------------------ interrupts
    cdef void interrupt(self, uint32_t vec) noexcept:
        cdef uint32_t new_ip, new_cs
        if self.overrun:
            return          # the 286 instruction faulted already: INT 13 wins
        if self.msw & 1:
            self.pm_interrupt(vec)
            return
        if vec * 4 + 3 > self.idt_limit:
            # 286 real mode after LIDT: a vector past the limit is a double fault,
            # and one that cannot be delivered shuts the CPU down
            if vec == 8 or 8 * 4 + 3 > self.idt_limit:
                self.shutdown()
                return
            vec = 8
        new_ip = self.rd16_lin(self.idt_base + vec * 4)
        new_cs = self.rd16_lin(self.idt_base + vec * 4 + 2)
        self.push16(self.get_flags())
        self.flags &= ~(IF_ | TF)
        self.push16(self.sreg[S_CS])
        self.push16(self.ip)
        self.load_seg(S_CS, new_cs)
        self.ip = new_ip

    cdef void fault(self, uint32_t vec) noexcept:
        # exceptions on 186+ return to the faulting instruction, prefixes included
        self.ip = self.insn_ip
        self.interrupt(vec)

    cdef void divide_error(self) noexcept:
        # the 8086 pushes the address of the next instruction, later chips the faulting one
        if self.cpu_model >= M_80186:
            self.ip = self.insn_ip
        self.interrupt(0)

    cdef bint irq_waiting(self) noexcept:
        return self.nmi_pending or (self.intr_line and (self.flags & IF_) != 0 and self.intack is not None)

    cdef int service_events(self) noexcept:
        """Take at most one interrupt at an instruction boundary; 1 if one was taken."""
        cdef int sh = self.shadow
        cdef uint32_t vec
        self.shadow = 0
        if sh == 1:
            self.trap_pending = 0
            return 0
        if self.nmi_pending:
            self.nmi_pending = 0
            self.halt_flag = 0
            self.interrupt(2)
            return 1
        if sh == 0 and self.intr_line and (self.flags & IF_) and self.intack is not None:
            self.before_py()
            vec = 0xFF
            try:
                vec = self.pic.inta() if self.pic is not None else self.intack()
            except BaseException:
                self.py_failed()
                return 0        # no vector: run() stops and raises the error
            self.after_py()
            self.halt_flag = 0
            self.interrupt(vec & 0xFF)
            return 1
        if self.trap_pending:
            self.trap_pending = 0
            self.interrupt(1)
            return 1
        return 0

    # ------------------------------------------------------------------ helpers
    cdef inline bint cond(self, int c) noexcept:
        cdef uint32_t f
        cdef bint v
        c &= 0xF
        if c >> 1 == 1:
            return (self.lazy_cf() != 0) ^ (c & 1)
        if c >> 1 == 2:
            return self.lazy_zf() ^ (c & 1)
        if c >> 1 == 3:
            return ((self.lazy_cf() != 0) or self.lazy_zf()) ^ (c & 1)
        f = self.fl()
        if c >> 1 == 0:
            v = (f & OF) != 0
        elif c >> 1 == 4:
            v = (f & SF) != 0
        elif c >> 1 == 5:
            v = (f & PF) != 0
        elif c >> 1 == 6:
            v = ((f & SF) != 0) != ((f & OF) != 0)
        else:
            v = ((f & ZF) != 0) or (((f & SF) != 0) != ((f & OF) != 0))
        return v ^ (c & 1)

    cdef inline void jump_rel8(self, bint taken) noexcept:
        cdef uint32_t d = <uint32_t><int32_t><int8_t>self.fetch8()
        if taken:
            self.ip = (self.ip + d) & 0xFFFF

    cdef inline int src_seg(self) noexcept:
        return self.seg_ovr if self.seg_ovr >= 0 else S_DS

    cdef int undefined(self) noexcept:
        # 80186 and later: invalid opcode exception, INT 6, returning to the opcode
        self.fault(6)
        return 0

    # ------------------------------------------------------------------ strings
    cdef inline uint32_t block_room(self, int s, uint32_t off, int w, bint down,
                                    uint32_t* lin) noexcept:
        """Elements of 1 << w bytes from s:off on, stepping down or up, that lie in one
        4 KiB page without wrapping the offset (so the masked address of the first,
        stored in *lin, addresses them all); 0 if the first one straddles a page or
        offset FFFFh (the per-element path knows the wrap and the 286's overrun)."""
        cdef uint32_t a = (self.sbase[s] + off) & self.amask
        cdef uint32_t pg = a & 0xFFF
        lin[0] = a
        if off + w > 0xFFFF or pg + w > 0xFFF:
            return 0
        if down:
            return ((off if off < pg else pg) >> w) + 1
        return ((0xFFFF - off if 0xFFFF - off < 0xFFF - pg else 0xFFF - pg) + 1) >> w

    cdef int string_block(self, int base, int w, bint first) noexcept:
        """The next iterations of REP MOVS/CMPS/STOS/LODS/SCAS as one block in C, as far
        as both operands stay inside one RAM page (ROM too for reads), CX lasts, time
        allows and (CMPS/SCAS) the compare does not end the REP; returns how many ran,
        0 if none could (the caller then does one element its own way).  Registers,
        flags (alu() on the last compare) and cycles come out as the per-element loop
        leaves them; it cannot see an interrupt arrive, since no device runs meanwhile."""
        cdef bint down = (self.flags & DF) != 0
        cdef uint32_t si = self.r[R_SI] & 0xFFFF
        cdef uint32_t di = self.r[R_DI] & 0xFFFF
        cdef uint32_t src = 0, dst = 0, m, nbytes, lo_src, lo_dst, a = 0, b = 0, ax
        cdef int64_t n = self.r[R_CX] & 0xFFFF
        cdef int64_t t = self.stop_at - 1 - self.cyc
        cdef int64_t i, done
        cdef int32_t stride = -(1 << w) if down else (1 << w)
        cdef uint8_t* p
        cdef uint8_t* q
        cdef uint8_t lo, hi
        cdef bint repe = self.rep == 0xF3
        # time: an iteration after the first costs a cycle and must end before
        # stop_at; the first one is counted by the loop after the instruction
        if t < 0:
            t = 0
        if first:
            t += 1
        if t < n:
            n = t
        if base != 0xAA and base != 0xAE:           # reads DS:SI (or the override)
            m = self.block_room(self.src_seg(), si, w, down, &src)
            if m == 0 or self.kindp[src >> 12] > 1:
                return 0
            if m < n:
                n = m
        if base != 0xAC:                            # reads or writes ES:DI
            m = self.block_room(S_ES, di, w, down, &dst)
            if m == 0 or self.kindp[dst >> 12] > (0 if base == 0xA4 or base == 0xAA else 1):
                return 0
            if m < n:
                n = m
        if n <= 0:
            return 0
        done = n
        nbytes = <uint32_t>n << w
        # the lowest addresses of the runs (a run going down ends there)
        lo_src = src - (nbytes - (1 << w)) if down else src
        lo_dst = dst - (nbytes - (1 << w)) if down else dst
        p = self.memp + src
        q = self.memp + dst
        ax = self.r[R_AX] & (0xFFFF if w else 0xFF)
        if base == 0xA4:                            # MOVS
            if lo_src + nbytes <= lo_dst or lo_dst + nbytes <= lo_src:
                memcpy(self.memp + lo_dst, self.memp + lo_src, nbytes)
            else:
                # overlapping: element by element, as the chip reads each element
                # before writing it (dst = src+1 replicates the first byte)
                for i in range(n):
                    lo = p[0]
                    if w:
                        hi = p[1]
                        q[0] = lo
                        q[1] = hi
                    else:
                        q[0] = lo
                    p += stride
                    q += stride
        elif base == 0xAA:                          # STOS
            lo = <uint8_t>ax
            hi = <uint8_t>(ax >> 8)
            if not w or lo == hi:
                memset(self.memp + lo_dst, lo, nbytes)
            else:
                q = self.memp + lo_dst
                for i in range(n):
                    q[0] = lo
                    q[1] = hi
                    q += 2
        elif base == 0xAC:                          # LODS: only the last element stays
            p += (n - 1) * stride
            if w:
                self.set_r16(R_AX, p[0] | (<uint32_t>p[1] << 8))
            else:
                self.set_r8(0, p[0])
        else:                                       # CMPS, SCAS: up to the deciding compare
            a = ax
            for i in range(n):
                if base == 0xA6:
                    a = p[0] | (<uint32_t>p[1] << 8) if w else p[0]
                    p += stride
                b = q[0] | (<uint32_t>q[1] << 8) if w else q[0]
                q += stride
                if (a == b) != repe:
                    done = i + 1
                    break
            self.alu(7, a, b, w)
        nbytes = <uint32_t>done << w
        if base != 0xAA and base != 0xAE:
            self.set_r16(R_SI, si - nbytes if down else si + nbytes)
        if base != 0xAC:
            self.set_r16(R_DI, di - nbytes if down else di + nbytes)
        self.set_r16(R_CX, self.r[R_CX] - <uint32_t>done)
        self.cyc += done - first
        self.n_blocks += 1
        return <int>done

    def set_string_blocks(self, bint on):
        """Tests: False makes REP string instructions run element by element, the
        reference that the RAM block path is compared with."""
        self.string_slow = not on

    @property
    def string_blocks(self):
        """How many REP string blocks ran in C so far (tests, profiling)."""
        return self.n_blocks

    cdef int string_op(self, int op) noexcept:
        """A4-A7, AA-AF, 6C-6F: one or, under REP, several iterations.  A REP stops
        early (IP back at the prefix) when an interrupt is pending or time is up.
        Iterations over RAM go a page at a time through string_block."""
        cdef int w = op & 1
        cdef uint32_t step = (2 if w else 1)
        cdef uint32_t cx, a, b, si, di
        cdef int base = op & 0xFE
        cdef bint rep = self.rep != 0
        cdef bint first = 1
        self.string_fault = 1
        if self.flags & DF:
            step = (-step) & 0xFFFF
        while True:
            if rep:
                cx = self.r[R_CX] & 0xFFFF
                if cx == 0:
                    return 0
                if not first and self.irq_waiting():
                    # the interrupt returns to the instruction; an 8086 returns to its
                    # last prefix byte, losing any earlier prefix
                    self.ip = self.last_prefix_ip if self.cpu_model <= M_8088 else self.insn_ip
                    return 0
                # (the loop adds the first iteration's cycle afterwards)
                if not first and self.cyc + 1 >= self.stop_at:
                    self.ip = self.insn_ip      # time is up: resume it whole later
                    return 0
                # (protected mode goes element by element: the blocks know no segment limits)
                if base >= 0xA4 and not self.string_slow and not (self.msw & 1) \
                        and not self.irq_waiting() and self.string_block(base, w, first):
                    first = 0
                    if (base == 0xA6 or base == 0xAE) and ((self.flags & ZF) != 0) != (self.rep == 0xF3):
                        return 0
                    continue
                if not first:
                    self.cyc += 1
            first = 0
            si = self.r[R_SI] & 0xFFFF
            di = self.r[R_DI] & 0xFFFF
            if base == 0xA4:            # MOVS
                if w:
                    self.wrs16(S_ES, di, self.rds16(self.src_seg(), si))
                else:
                    self.wrs8(S_ES, di, self.rds8(self.src_seg(), si))
                self.set_r16(R_SI, si + step)
                self.set_r16(R_DI, di + step)
            elif base == 0xA6:          # CMPS
                if w:
                    a = self.rds16(self.src_seg(), si)
                    b = self.rds16(S_ES, di)
                else:
                    a = self.rds8(self.src_seg(), si)
                    b = self.rds8(S_ES, di)
                self.alu(7, a, b, w)
                self.set_r16(R_SI, si + step)
                self.set_r16(R_DI, di + step)
            elif base == 0xAA:          # STOS
                if w:
                    self.wrs16(S_ES, di, self.r[R_AX] & 0xFFFF)
                else:
                    self.wrs8(S_ES, di, self.r[R_AX] & 0xFF)
                self.set_r16(R_DI, di + step)
            elif base == 0xAC:          # LODS
                if w:
                    self.set_r16(R_AX, self.rds16(self.src_seg(), si))
                else:
                    self.set_r8(0, self.rds8(self.src_seg(), si))
                self.set_r16(R_SI, si + step)
            elif base == 0xAE:          # SCAS
                if w:
                    self.alu(7, self.r[R_AX] & 0xFFFF, self.rds16(S_ES, di), 1)
                else:
                    self.alu(7, self.r[R_AX] & 0xFF, self.rds8(S_ES, di), 0)
                self.set_r16(R_DI, di + step)
            elif base == 0x6C:          # INS
                a = self.port_in(self.r[R_DX] & 0xFFFF, w)
                if w:
                    self.wrs16(S_ES, di, a)
                else:
                    self.wrs8(S_ES, di, a)
                self.set_r16(R_DI, di + step)
            else:                       # OUTS
                if w:
                    a = self.rds16(self.src_seg(), si)
                else:
                    a = self.rds8(self.src_seg(), si)
                self.port_out(self.r[R_DX] & 0xFFFF, a, w)
                self.set_r16(R_SI, si + step)
            if self.overrun and (self.msw & 1):
                # protected mode: the fault names this element; those before it are
                # done (exec_pm keeps SI, DI and CX) and the REP resumes with it
                self.set_r16(R_SI, si)
                self.set_r16(R_DI, di)
                return 0
            if not rep:
                return 0
            if self.overrun:
                # 286 segment overrun mid-REP: CX counts the faulting element once,
                # twice for INS (what the 286 vectors record)
                self.set_r16(R_CX, (self.r[R_CX] - (2 if base == 0x6C else 1)) & 0xFFFF)
                return 0
            self.set_r16(R_CX, (self.r[R_CX] - 1) & 0xFFFF)
            if base == 0xA6 or base == 0xAE:
                # REPE (F3) stops on ZF=0, REPNE (F2) on ZF=1
                if ((self.flags & ZF) != 0) != (self.rep == 0xF3):
                    return 0

    # ------------------------------------------------------------------ MUL/DIV
    cdef void grp3(self, int w) noexcept:
        cdef int op = self.reg_
        cdef uint32_t v, a, res, hi
        cdef int64_t sa, sb, q, rr, lo_lim
        cdef bint neg = self.rep != 0 and self.cpu_model <= M_8088
        if op == 0 or op == 1:          # TEST rm, imm (/1 is an alias on the 8086)
            v = self.rmw(w)
            a = self.fetch16() if w else self.fetch8()
            self.alu_lazy(4, v, a, w)
        elif op == 2:
            self.set_rmw(w, ~self.rmw(w))
        elif op == 3:
            v = self.rmw(w)
            self.set_rmw(w, self.alu_lazy(5, 0, v, w))
        elif op == 4:                   # MUL
            self.sync_flags()           # AF is kept
            v = self.rmw(w)
            if w:
                res = (self.r[R_AX] & 0xFFFF) * v
                self.set_r16(R_AX, res)
                self.set_r16(R_DX, res >> 16)
                hi = res >> 16
            else:
                res = (self.r[R_AX] & 0xFF) * v
                self.set_r16(R_AX, res)
                hi = res >> 8
            self.flags &= ~(CF | OF)
            if hi:
                self.flags |= CF | OF
            self.szp(res, w)
            if self.cpu_model <= M_8088:
                self.flags &= ~ZF
        elif op == 5:                   # IMUL
            self.sync_flags()
            v = self.rmw(w)
            if w:
                sa = <int16_t>(self.r[R_AX] & 0xFFFF)
                sb = <int16_t>v
                q = sa * sb
                if neg:
                    q = -q
                self.set_r16(R_AX, <uint32_t>q)
                self.set_r16(R_DX, <uint32_t>(q >> 16))
                hi = q != <int16_t>q
            else:
                sa = <int8_t>(self.r[R_AX] & 0xFF)
                sb = <int8_t>v
                q = sa * sb
                if neg:
                    q = -q
                self.set_r16(R_AX, <uint32_t>q)
                hi = q != <int8_t>q
            self.flags &= ~(CF | OF)
            if hi:
                self.flags |= CF | OF
            self.szp(<uint32_t>q, w)
            if self.cpu_model <= M_8088:
                self.flags &= ~ZF
        elif op == 6:                   # DIV
            v = self.rmw(w)
            if v == 0:
                self.divide_error()
                return
            if w:
                a = ((self.r[R_DX] & 0xFFFF) << 16) | (self.r[R_AX] & 0xFFFF)
                if a // v > 0xFFFF:
                    self.divide_error()
                    return
                self.set_r16(R_AX, a // v)
                self.set_r16(R_DX, a % v)
            else:
                a = self.r[R_AX] & 0xFFFF
                if a // v > 0xFF:
                    self.divide_error()
                    return
                self.set_r16(R_AX, ((a % v) << 8) | (a // v))
        else:                           # IDIV
            v = self.rmw(w)
            if v == 0:
                self.divide_error()
                return
            if w:
                sa = <int32_t>(((self.r[R_DX] & 0xFFFF) << 16) | (self.r[R_AX] & 0xFFFF))
                sb = <int16_t>v
            else:
                sa = <int16_t>(self.r[R_AX] & 0xFFFF)
                sb = <int8_t>v
            q = sa // sb
            rr = sa % sb
            if neg:
                q = -q
            # the 8086 rejects the most negative quotient too
            lo_lim = (-0x7FFF if w else -0x7F) if self.cpu_model <= M_8088 else (-0x8000 if w else -0x80)
            if q > (0x7FFF if w else 0x7F) or q < lo_lim:
                self.divide_error()
                return
            if w:
                self.set_r16(R_AX, <uint32_t>q)
                self.set_r16(R_DX, <uint32_t>rr)
            else:
                self.set_r16(R_AX, ((<uint32_t>rr & 0xFF) << 8) | (<uint32_t>q & 0xFF))

    # ------------------------------------------------------------------ execute
    cdef inline int exec_one(self) noexcept:
        """Decode and execute one instruction at CS:IP.  Returns 0, or X_HLT."""
        cdef uint32_t op = 0
        cdef uint32_t v, a, b, off
        cdef int w, i, n
        self.insn_ip = self.ip
        self.seg_ovr = -1
        self.rep = 0
        n = 0
        while True:
            a = self.ip
            op = self.fetch8()
            if not IS_PREFIX[op]:
                break
            if op == 0xF2 or op == 0xF3:
                self.rep = op
            elif op < 0x40:
                self.seg_ovr = (op >> 3) & 3
            # else LOCK (F1 is its alias): no bus to lock here
            self.last_prefix_ip = a
            n += 1
            if n >= 16:
                # a run of prefixes this long is no real program: end the instruction
                return 0

        if op < 0x40 and (op & 7) < 6:
            # the eight ALU operations in their six forms
            w = op & 1
            i = op >> 3
            if (op & 7) < 4:
                self.modrm()
                if op & 2:
                    v = self.alu_lazy(i, self.regw(w, self.reg_), self.rmw(w), w)
                    if i != 7:
                        self.set_regw(w, self.reg_, v)
                else:
                    v = self.alu_lazy(i, self.rmw(w), self.regw(w, self.reg_), w)
                    if i != 7:
                        self.set_rmw(w, v)
            elif w:
                v = self.alu_lazy(i, self.r[R_AX] & 0xFFFF, self.fetch16(), 1)
                if i != 7:
                    self.set_r16(R_AX, v)
            else:
                v = self.alu_lazy(i, self.r[R_AX] & 0xFF, self.fetch8(), 0)
                if i != 7:
                    self.set_r8(0, v)
            return 0

        if op == 0x06 or op == 0x0E or op == 0x16 or op == 0x1E:
            self.push16(self.sreg[(op >> 3) & 3])
        elif op == 0x07 or op == 0x17 or op == 0x1F:
            self.load_seg((op >> 3) & 3, self.pop16())
            if op == 0x17:
                self.shadow = 1
        elif op == 0x0F:
            if self.cpu_model == M_80286:
                return self.exec_0f()
            if self.cpu_model >= M_80186:
                return self.undefined()
            self.load_seg(S_CS, self.pop16())       # POP CS, 8086 only
        elif op == 0x27 or op == 0x2F:              # DAA, DAS
            self.decimal_adjust(op == 0x2F)
        elif op == 0x37 or op == 0x3F:              # AAA, AAS
            self.ascii_adjust(op == 0x3F)
        elif op in (0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F):
            i = op & 7
            self.set_r16(i, self.incdec(self.r[i] & 0xFFFF, op >= 0x48, 1))
        elif op in (0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57):
            i = op & 7
            if i == R_SP and self.cpu_model == M_80286:
                self.push16(self.r[R_SP] & 0xFFFF)   # the 286 pushes SP as it was
            elif i == R_SP:
                # 8086/80186 push the already decremented SP
                v = (self.r[R_SP] - 2) & 0xFFFF
                self.push16(v)
            else:
                self.push16(self.r[i] & 0xFFFF)
        elif op in (0x58, 0x59, 0x5A, 0x5B, 0x5C, 0x5D, 0x5E, 0x5F):
            self.set_r16(op & 7, self.pop16())
        elif op in (0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F):
            if self.cpu_model <= M_8088:
                self.jump_rel8(self.cond(op))      # 8086: aliases of 70-7F
            else:
                return self.exec_186(op)
        elif op in (0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x7B, 0x7C, 0x7D, 0x7E, 0x7F):
            self.jump_rel8(self.cond(op))
        elif op in (0x80, 0x81, 0x82, 0x83):
            w = op & 1
            self.modrm()
            v = self.rmw(w)
            if op == 0x81:
                b = self.fetch16()
            elif op == 0x83:
                b = (<uint32_t><int32_t><int8_t>self.fetch8()) & 0xFFFF
            else:
                b = self.fetch8()
            v = self.alu_lazy(self.reg_, v, b, w)
            if self.reg_ != 7:
                self.set_rmw(w, v)
        elif op == 0x84 or op == 0x85:
            w = op & 1
            self.modrm()
            self.alu_lazy(4, self.rmw(w), self.regw(w, self.reg_), w)
        elif op == 0x86 or op == 0x87:
            w = op & 1
            self.modrm()
            v = self.rmw(w)
            self.set_rmw(w, self.regw(w, self.reg_))
            self.set_regw(w, self.reg_, v)
        elif op in (0x88, 0x89, 0x8A, 0x8B):
            w = op & 1
            self.modrm()
            if op & 2:
                self.set_regw(w, self.reg_, self.rmw(w))
            else:
                self.set_rmw(w, self.regw(w, self.reg_))
        elif op == 0x8C:
            self.modrm()
            # only two bits of reg select the segment register
            self.set_rm16(self.sreg[self.reg_ & 3])
        elif op == 0x8D:
            self.modrm()
            if self.mod_ == 3:
                if self.cpu_model >= M_80186:
                    return self.undefined()
                # 8086: reuses the last computed address; we keep the register's value
                return 0
            self.set_r16(self.reg_, self.ea_off)
        elif op == 0x8E:
            self.modrm()
            i = self.reg_ & 3
            if i == S_CS and self.cpu_model >= M_80186:
                return self.undefined()
            self.load_seg(i, self.rm16())
            if i == S_SS:
                self.shadow = 1
        elif op == 0x8F:
            self.modrm()
            if self.reg_ != 0 and self.cpu_model >= M_80186:
                return self.undefined()
            self.set_rm16(self.pop16())
        elif op in (0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97):
            i = op & 7
            v = self.r[R_AX] & 0xFFFF
            self.set_r16(R_AX, self.r[i])
            self.set_r16(i, v)
        elif op == 0x98:
            self.set_r16(R_AX, <uint32_t><int32_t><int8_t>(self.r[R_AX] & 0xFF))
        elif op == 0x99:
            self.set_r16(R_DX, 0xFFFF if self.r[R_AX] & 0x8000 else 0)
        elif op == 0x9A:
            off = self.fetch16()
            v = self.fetch16()
            self.push16(self.sreg[S_CS])
            self.push16(self.ip)
            self.load_seg(S_CS, v)
            self.ip = off
        elif op == 0x9B:
            pass            # WAIT: no coprocessor, TEST# is never busy
        elif op == 0x9C:
            self.push16(self.get_flags())
        elif op == 0x9D:
            self.set_flags(self.pop16())
        elif op == 0x9E:
            self.flags = (self.fl() & ~0xD5) | ((self.r[R_AX] >> 8) & 0xD5)
        elif op == 0x9F:
            self.set_r8(4, self.get_flags() & 0xFF)
        elif op in (0xA0, 0xA1, 0xA2, 0xA3):
            w = op & 1
            off = self.fetch16()
            if op & 2:
                if w:
                    self.wrs16(self.src_seg(), off, self.r[R_AX] & 0xFFFF)
                else:
                    self.wrs8(self.src_seg(), off, self.r[R_AX] & 0xFF)
            elif w:
                self.set_r16(R_AX, self.rds16(self.src_seg(), off))
            else:
                self.set_r8(0, self.rds8(self.src_seg(), off))
        elif op in (0xA4, 0xA5, 0xA6, 0xA7, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF):
            return self.string_op(op)
        elif op == 0xA8:
            self.alu_lazy(4, self.r[R_AX] & 0xFF, self.fetch8(), 0)
        elif op == 0xA9:
            self.alu_lazy(4, self.r[R_AX] & 0xFFFF, self.fetch16(), 1)
        elif op in (0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7):
            self.set_r8(op & 7, self.fetch8())
        elif op in (0xB8, 0xB9, 0xBA, 0xBB, 0xBC, 0xBD, 0xBE, 0xBF):
            self.set_r16(op & 7, self.fetch16())
        elif op == 0xC0 or op == 0xC1:
            if self.cpu_model <= M_8088:
                return self.ret_near(op == 0xC0)     # 8086: aliases of C2/C3
            w = op & 1
            self.modrm()
            v = self.rmw(w)
            b = self.fetch8()
            self.set_rmw(w, self.shift(self.reg_, v, b, w))
        elif op == 0xC2 or op == 0xC3:
            return self.ret_near(op == 0xC2)
        elif op == 0xC4 or op == 0xC5:
            self.modrm()
            if self.mod_ == 3:
                if self.cpu_model >= M_80186:
                    return self.undefined()
                return 0
            v = self.rds16(self.ea_seg, self.ea_off)
            b = self.rds16(self.ea_seg, (self.ea_off + 2) & 0xFFFF)
            self.set_r16(self.reg_, v)
            self.load_seg(S_DS if op == 0xC5 else S_ES, b)
        elif op == 0xC6 or op == 0xC7:
            w = op & 1
            self.modrm()
            if self.reg_ != 0 and self.cpu_model >= M_80186:
                return self.undefined()
            v = self.fetch16() if w else self.fetch8()
            self.set_rmw(w, v)
        elif op == 0xC8 or op == 0xC9:
            if self.cpu_model <= M_8088:
                return self.ret_far(op == 0xC8)     # 8086: aliases of CA/CB
            return self.exec_186(op)
        elif op == 0xCA or op == 0xCB:
            return self.ret_far(op == 0xCA)
        elif op == 0xCC:
            self.interrupt(3)
        elif op == 0xCD:
            self.interrupt(self.fetch8())
        elif op == 0xCE:
            if self.fl() & OF:
                self.interrupt(4)
        elif op == 0xCF:
            self.ip = self.pop16()
            self.load_seg(S_CS, self.pop16())
            self.set_flags(self.pop16())
        elif op in (0xD0, 0xD1, 0xD2, 0xD3):
            w = op & 1
            self.modrm()
            v = self.rmw(w)
            b = (self.r[R_CX] & 0xFF) if op & 2 else 1
            self.set_rmw(w, self.shift(self.reg_, v, b, w))
        elif op == 0xD4:                            # AAM
            self.sync_flags()
            b = self.fetch8()
            if b == 0:
                # the 8086 leaves the flags of a zero result before trapping
                self.flags &= ~(CF | OF | AF)
                self.szp(0, 0)
                self.divide_error()
                return 0
            a = self.r[R_AX] & 0xFF
            self.set_r16(R_AX, ((a // b) << 8) | (a % b))
            self.flags &= ~(CF | OF | AF)
            self.szp(a % b, 0)
        elif op == 0xD5:                            # AAD
            b = self.fetch8()
            a = self.r[R_AX] & 0xFFFF
            # the 8086 adds AH*imm to AL as a byte ADD, setting flags like one
            self.alu_lazy(0, a & 0xFF, ((a >> 8) * b) & 0xFF, 0)
            self.set_r16(R_AX, ((a & 0xFF) + (a >> 8) * b) & 0xFF)
        elif op == 0xD6:                            # SALC
            self.set_r8(0, 0xFF if self.lazy_cf() else 0)
        elif op == 0xD7:                            # XLAT
            self.set_r8(0, self.rds8(self.src_seg(), (self.r[R_BX] + (self.r[R_AX] & 0xFF)) & 0xFFFF))
        elif op in (0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF):
            self.modrm()        # ESC with no coprocessor: decode the operand, do nothing
        elif op == 0xE0 or op == 0xE1 or op == 0xE2:
            v = (self.r[R_CX] - 1) & 0xFFFF
            self.set_r16(R_CX, v)
            if op == 0xE0:
                self.jump_rel8(v != 0 and not self.lazy_zf())
            elif op == 0xE1:
                self.jump_rel8(v != 0 and self.lazy_zf())
            else:
                self.jump_rel8(v != 0)
        elif op == 0xE3:
            self.jump_rel8((self.r[R_CX] & 0xFFFF) == 0)
        elif op == 0xE4 or op == 0xE5:
            w = op & 1
            v = self.port_in(self.fetch8(), w)
            self.set_regw(w, 0, v)
        elif op == 0xE6 or op == 0xE7:
            w = op & 1
            a = self.fetch8()
            self.port_out(a, self.regw(w, 0), w)
        elif op == 0xE8:
            v = self.fetch16()
            self.push16(self.ip)
            self.ip = (self.ip + v) & 0xFFFF
        elif op == 0xE9:
            v = self.fetch16()
            self.ip = (self.ip + v) & 0xFFFF
        elif op == 0xEA:
            off = self.fetch16()
            v = self.fetch16()
            self.load_seg(S_CS, v)
            self.ip = off
        elif op == 0xEB:
            self.jump_rel8(1)
        elif op == 0xEC or op == 0xED:
            w = op & 1
            self.set_regw(w, 0, self.port_in(self.r[R_DX] & 0xFFFF, w))
        elif op == 0xEE or op == 0xEF:
            w = op & 1
            self.port_out(self.r[R_DX] & 0xFFFF, self.regw(w, 0), w)
        elif op == 0xF4:
            self.halt_flag = 1
            return X_HLT
        elif op == 0xF5:
            self.flags = self.fl() ^ CF
        elif op == 0xF6 or op == 0xF7:
            self.modrm()
            self.grp3(op & 1)
        elif op == 0xF8:
            self.flags = self.fl() & ~CF
        elif op == 0xF9:
            self.flags = self.fl() | CF
        elif op == 0xFA:
            self.flags &= ~IF_
        elif op == 0xFB:
            if not (self.flags & IF_):
                self.shadow = 2
            self.flags |= IF_
        elif op == 0xFC:
            self.flags &= ~DF
        elif op == 0xFD:
            self.flags |= DF
        elif op == 0xFE or op == 0xFF:
            return self.grp45(op & 1)
        return 0

    cdef int exec_286(self) noexcept:
        """exec_one with the 286's segment overrun: the faulting instruction leaves
        the registers as they were and INT 13 returns to it."""
        cdef int i, r
        cdef uint16_t sregs[4]
        cdef uint32_t saved_r[8]
        cdef uint32_t saved_flags
        cdef int saved_lf_op
        cdef uint32_t saved_lf[5]
        if self.msw & 1:
            return self.exec_pm()
        saved_flags = self.flags
        saved_lf_op = self.lf_op
        saved_lf[0] = self.lf_a
        saved_lf[1] = self.lf_b
        saved_lf[2] = self.lf_c
        saved_lf[3] = self.lf_res
        saved_lf[4] = self.lf_mask
        for i in range(8):
            saved_r[i] = self.r[i]
        for i in range(4):
            sregs[i] = self.sreg[i]
        self.overrun = 0
        self.string_fault = 0
        self.nfetch = 0
        r = self.exec_one()
        if self.nfetch > 10:
            # an instruction longer than ten bytes (prefixes included) is refused
            # with INT 13; its memory writes, if any, are not undone here
            self.overrun = 1
        if self.overrun:
            self.overrun = 0
            for i in range(8):
                # a string instruction keeps its progress: SI/DI stepped past the
                # faulting element, CX counting the elements done
                if not (self.string_fault and (i == R_SI or i == R_DI or i == R_CX)):
                    self.r[i] = saved_r[i]
            for i in range(4):
                self.load_seg(i, sregs[i])
            self.flags = saved_flags
            self.lf_op = saved_lf_op
            self.lf_a = saved_lf[0]
            self.lf_b = saved_lf[1]
            self.lf_c = saved_lf[2]
            self.lf_res = saved_lf[3]
            self.lf_mask = saved_lf[4]
            self.halt_flag = 0
            self.fault(13)
            return 0
        return r

    cdef int exec_pm(self) noexcept:
        """exec_286 in protected mode: a fault undoes the instruction (registers,
        segment caches, FLAGS; memory it wrote before the fault stays; a string
        instruction keeps the elements it finished) and enters its handler through
        the IDT, returning to the instruction."""
        cdef int i, r
        cdef uint32_t saved_r[8]
        cdef uint32_t saved_flags
        cdef uint32_t cs_sel = self.sreg[S_CS]
        cdef uint32_t cs_limit = self.slimit[S_CS]
        self.sync_flags()                   # FLAGS whole, to put back on a fault
        saved_flags = self.flags
        for i in range(8):
            saved_r[i] = self.r[i]
        if self.ip > cs_limit:
            self.pm_deliver(13, 0, 1)       # execution ran off the end of CS
            return 0
        self.overrun = 0
        self.string_fault = 0
        self.nfetch = 0
        self.in_insn = 1
        r = self.exec_one()
        self.in_insn = 0
        self.cs_limit_check(cs_sel, cs_limit)
        if self.nfetch > 10:
            self.pm_raise(13, 0)            # longer than ten bytes, as in real mode
        if self.overrun:
            self.overrun = 0
            for i in range(8):
                if not (self.string_fault and (i == R_SI or i == R_DI or i == R_CX)):
                    self.r[i] = saved_r[i]
            self.restore_segs()
            self.flags = saved_flags
            self.lf_op = LF_NONE
            self.halt_flag = 0
            self.ip = self.insn_ip
            self.pm_deliver(self.fault_vec, <int32_t>self.fault_err, 1)
            return 0
        self.seg_saved = 0                  # set_cache saves afresh next instruction
        return r

    cdef void cs_limit_check(self, uint32_t cs_sel, uint32_t cs_limit) noexcept:
        """Protected mode: an instruction whose bytes run past the limit of its code
        segment (cs_sel, cs_limit), or that jumps past the limit of its target,
        raises #GP(0); checked after it ran, so the bytes past the limit were read
        and any memory write it made stays.  Falling through to the byte after the
        limit faults on the next instruction."""
        cdef uint32_t end = self.insn_ip + self.nfetch     # unwrapped, past the last byte
        if end - 1 > cs_limit:
            self.pm_raise(13, 0)
        elif self.ip > self.slimit[S_CS] and (self.ip != end or self.sreg[S_CS] != cs_sel):
            self.pm_raise(13, 0)

    cdef int ret_near(self, bint imm) noexcept:
        cdef uint32_t n = self.fetch16() if imm else 0
        self.ip = self.pop16()
        self.set_r16(R_SP, self.r[R_SP] + n)
        return 0

    cdef int ret_far(self, bint imm) noexcept:
        cdef uint32_t n = self.fetch16() if imm else 0
        self.ip = self.pop16()
        self.load_seg(S_CS, self.pop16())
        self.set_r16(R_SP, self.r[R_SP] + n)
        return 0

    cdef void decimal_adjust(self, bint sub) noexcept:
        """DAA/DAS as the 8086 does them."""
        cdef uint32_t al = self.r[R_AX] & 0xFF
        cdef uint32_t old_af = self.fl() & AF
        cdef uint32_t old_cf = self.flags & CF
        cdef uint32_t f = self.flags & ~(CF | AF | OF)
        cdef uint32_t v = al
        if (al & 0xF) > 9 or old_af:
            v = (v - 6) if sub else (v + 6)
            f |= AF
        if al > (0x9F if old_af else 0x99) or old_cf:
            v = (v - 0x60) if sub else (v + 0x60)
            f |= CF
        v &= 0xFF
        # OF is undefined; the 8086 sets it as the signed overflow of the adjustment
        if sub:
            if (al & ~v) & 0x80:
                f |= OF
        elif (~al & v) & 0x80:
            f |= OF
        self.flags = f
        self.set_r8(0, v)
        self.szp(v, 0)

    cdef void ascii_adjust(self, bint sub) noexcept:
        cdef uint32_t al = self.r[R_AX] & 0xFF
        cdef uint32_t ah = (self.r[R_AX] >> 8) & 0xFF
        cdef uint32_t f = self.fl() & ~(CF | AF)
        if (al & 0xF) > 9 or (self.flags & AF):
            if sub:
                al = (al - 6) & 0xFF
                ah = (ah - 1) & 0xFF
            else:
                al = (al + 6) & 0xFF
                ah = (ah + 1) & 0xFF
            f |= CF | AF
        self.flags = f
        self.set_r16(R_AX, (ah << 8) | (al & 0x0F))
        self.szp(al & 0x0F, 0)

    cdef int grp45(self, int w) noexcept:
        cdef uint32_t v, off
        cdef int op
        self.modrm()
        op = self.reg_
        if op == 0 or op == 1:
            self.set_rmw(w, self.incdec(self.rmw(w), op, w))
            return 0
        if not w and self.cpu_model >= M_80186:
            return self.undefined()
        if op == 7 and self.cpu_model >= M_80186:
            return self.undefined()
        if (op == 3 or op == 5) and self.mod_ == 3 and self.cpu_model >= M_80186:
            return self.undefined()
        # FE /2-7 on the 8086 run the FF operation on a byte operand
        v = self.rmw(w)
        if not w:
            v |= 0xFF00
        if op == 2:
            self.push16(self.ip)
            self.ip = v
        elif op == 3 or op == 5:
            off = v
            if self.mod_ == 3:
                v = self.sreg[S_CS]
            else:
                v = self.rds16(self.ea_seg, (self.ea_off + 2) & 0xFFFF)
            if op == 3:
                self.push16(self.sreg[S_CS])
                self.push16(self.ip)
            self.load_seg(S_CS, v)
            self.ip = off
        elif op == 4:
            self.ip = v
        else:
            # PUSH rm (/7 is an alias on the 8086); PUSH SP pushes the new SP
            if self.mod_ == 3 and self.rm_ == R_SP and self.cpu_model != M_80286:
                v = (v - 2) & 0xFFFF
            self.push16(v)
        return 0

    # ------------------------------------------------------------------ 80186
    cdef int exec_186(self, uint32_t op) noexcept:
        cdef uint32_t v, a, b, sp, fp, level, i
        cdef int64_t sa, sb, q
        if op == 0x60:                              # PUSHA
            sp = self.r[R_SP] & 0xFFFF
            if self.cpu_model == M_80286 and (sp & 1) and sp <= 15:
                self.segment_overrun()          # one of the eight words would wrap
                return 0
            for i in range(8):
                self.push16(sp if i == R_SP else (self.r[i] & 0xFFFF))
        elif op == 0x61:                            # POPA (the stored SP is skipped)
            for i in range(7, -1, -1):
                v = self.pop16()
                if i != R_SP:
                    self.set_r16(i, v)
        elif op == 0x62:                            # BOUND
            self.modrm()
            if self.mod_ == 3:
                return self.undefined()
            sa = <int16_t>(self.r[self.reg_] & 0xFFFF)
            a = self.rds16(self.ea_seg, self.ea_off)
            b = self.rds16(self.ea_seg, (self.ea_off + 2) & 0xFFFF)
            if sa < <int16_t>a or sa > <int16_t>b:
                self.fault(5)
        elif op == 0x68:
            self.push16(self.fetch16())
        elif op == 0x6A:
            self.push16(<uint32_t><int32_t><int8_t>self.fetch8())
        elif op == 0x69 or op == 0x6B:              # IMUL r, rm, imm
            self.modrm()
            sa = <int16_t>self.rm16()
            if op == 0x69:
                sb = <int16_t>self.fetch16()
            else:
                sb = <int8_t>self.fetch8()
            q = sa * sb
            self.set_r16(self.reg_, <uint32_t>q)
            self.sync_flags()
            self.flags &= ~(CF | OF)
            if q != <int16_t>q:
                self.flags |= CF | OF
            self.szp(<uint32_t>q, 1)
        elif op in (0x6C, 0x6D, 0x6E, 0x6F):
            return self.string_op(op)
        elif op == 0xC8:                            # ENTER
            a = self.fetch16()
            level = self.fetch8() & 0x1F
            self.push16(self.r[R_BP] & 0xFFFF)
            fp = self.r[R_SP] & 0xFFFF
            if level > 0:
                for i in range(1, level):
                    self.set_r16(R_BP, self.r[R_BP] - 2)
                    self.push16(self.rds16(S_SS, self.r[R_BP] & 0xFFFF))
                self.push16(fp)
            self.set_r16(R_BP, fp)
            self.set_r16(R_SP, self.r[R_SP] - a)
        elif op == 0xC9:                            # LEAVE
            self.set_r16(R_SP, self.r[R_BP])
            self.set_r16(R_BP, self.pop16())
        else:
            return self.undefined()
        return 0

    # ------------------------------------------------------------------ 80286 0F xx
    cdef int exec_0f(self) noexcept:
        """The 286's two-byte opcodes.  The system instructions that only make sense
        with descriptors (0F 00, LAR, LSL) are invalid opcodes in real mode, as on
        the chip; LOADALL (0F 05) is left undefined."""
        cdef uint32_t op = self.fetch8()
        cdef bint pm = self.msw & 1
        if op == 0x01:
            self.modrm()
            return self.sys_grp7()
        if op == 0x06:                              # CLTS
            if pm and self.cpl != 0:
                self.pm_raise(13, 0)
                return 0
            self.msw &= ~8
            return 0
        if not pm or op > 0x03:
            return self.undefined()
        self.modrm()
        if op == 0x00:
            return self.sys_grp6()
        return self.lar_lsl(op == 0x03)

    cdef int sys_grp7(self) noexcept:
        """0F 01: SGDT, SIDT, LGDT, LIDT (24-bit bases), SMSW, LMSW."""
        cdef int op = self.reg_
        cdef uint32_t limit, base, v
        if op == 4:                                 # SMSW: bits 4-15 read as ones
            self.set_rm16(0xFFF0 | self.msw)
            return 0
        if op == 5 or op == 7 or (op < 4 and self.mod_ == 3):
            return self.undefined()
        if op != 0 and op != 1 and (self.msw & 1) and self.cpl != 0:
            self.pm_raise(13, 0)                    # LGDT, LIDT, LMSW need CPL 0
            return 0
        if op == 6:                                 # LMSW: PE can be set, not cleared
            v = self.rm16()
            if self.overrun:
                return 0
            self.msw = (self.msw & 1) | (v & 0xF)
            if self.msw & 1:
                self.flags_keep = 0x7FD5            # IOPL and NT exist in protected mode
            return 0
        if op <= 1:                                 # SGDT, SIDT
            limit = self.gdt_limit if op == 0 else self.idt_limit
            base = self.gdt_base if op == 0 else self.idt_base
            self.wrs16(self.ea_seg, self.ea_off, limit)
            self.wrs16(self.ea_seg, (self.ea_off + 2) & 0xFFFF, base & 0xFFFF)
            # the 286 stores FFh in the base's unused top byte
            self.wrs16(self.ea_seg, (self.ea_off + 4) & 0xFFFF, 0xFF00 | (base >> 16))
            return 0
        limit = self.rds16(self.ea_seg, self.ea_off)    # LGDT, LIDT
        base = self.rds16(self.ea_seg, (self.ea_off + 2) & 0xFFFF)
        base |= self.rds8(self.ea_seg, (self.ea_off + 4) & 0xFFFF) << 16
        if self.overrun:
            return 0
        if op == 2:
            self.gdt_limit = limit
            self.gdt_base = base
        else:
            self.idt_limit = limit
            self.idt_base = base
        return 0

    cdef int sys_grp6(self) noexcept:
        """0F 00 in protected mode: SLDT, STR, LLDT, LTR, VERR, VERW."""
        cdef int op = self.reg_
        cdef uint32_t sel, err
        if op == 0:
            self.set_rm16(self.ldt_sel)
            return 0
        if op == 1:
            self.set_rm16(self.tr_sel)
            return 0
        if op == 4 or op == 5:
            sel = self.rm16()
            self.sync_flags()               # ZF alone changes: the rest must be current
            self.flags &= ~ZF
            if self.accessible(sel, op == 5):
                self.flags |= ZF
            return 0
        if op > 5:
            return self.undefined()
        if self.cpl != 0:
            self.pm_raise(13, 0)
            return 0
        sel = self.rm16()
        if self.overrun:
            return 0
        err = sel & 0xFFFC
        if op == 2 and err == 0:                    # LLDT 0: no LDT
            self.ldt_sel = sel
            self.ldt_base = 0
            self.ldt_limit = 0
            return 0
        if err == 0 or (sel & 4) or not self.read_desc(sel):
            self.pm_raise(13, err)
            return 0
        # LLDT wants an LDT descriptor (type 2), LTR an available 286 TSS (type 1)
        if (self.d_attr & 0x1F) != (0x02 if op == 2 else 0x01):
            self.pm_raise(13, err)
            return 0
        if not (self.d_attr & 0x80):
            self.pm_raise(11, err)
            return 0
        if op == 2:
            self.ldt_sel = sel
            self.ldt_base = self.d_base
            self.ldt_limit = self.d_limit
        else:
            self.wr8(self.d_addr + 5, self.d_attr | 0x02)     # the TSS is busy now
            self.tr_sel = sel
            self.tr_base = self.d_base
            self.tr_limit = self.d_limit
        return 0

    cdef bint accessible(self, uint32_t sel, bint write) noexcept:
        """VERR/VERW: may the current level read (write) through sel?"""
        cdef uint32_t attr, dpl, rpl = sel & 3
        if (sel & 0xFFFC) == 0 or not self.read_desc(sel):
            return 0
        attr = self.d_attr
        dpl = (attr >> 5) & 3
        if not (attr & 0x10):
            return 0
        if (attr & 0x0C) != 0x0C and dpl < (rpl if rpl > self.cpl else self.cpl):
            return 0
        if write:
            return (attr & 0x0A) == 0x02            # writable data
        return (attr & 0x0A) != 0x08                # data or readable code

    cdef int lar_lsl(self, bint lsl) noexcept:
        """LAR (access byte into the high byte) and LSL (the limit): ZF says whether
        the descriptor is visible at the current level."""
        cdef uint32_t sel = self.rm16()
        cdef uint32_t attr, dpl, rpl = sel & 3, typ
        cdef bint ok = 0
        if (sel & 0xFFFC) != 0 and self.read_desc(sel):
            attr = self.d_attr
            dpl = (attr >> 5) & 3
            typ = attr & 0x1F
            if typ & 0x10:
                ok = (attr & 0x0C) == 0x0C or dpl >= (rpl if rpl > self.cpl else self.cpl)
            elif typ >= 1 and typ <= (3 if lsl else 7):
                # TSSs and the LDT; LAR also sees the gates
                ok = dpl >= (rpl if rpl > self.cpl else self.cpl)
        self.sync_flags()
        self.flags &= ~ZF
        if ok and not self.overrun:
            self.flags |= ZF
            self.set_r16(self.reg_, self.d_limit if lsl else (self.d_attr << 8))
        return 0

    # ------------------------------------------------------------------ the loop
    cdef int boundary(self) noexcept:
        """Interrupts at an instruction boundary: 1 if an interrupt was entered."""
        if self.halt_flag:
            if not (self.nmi_pending or (self.intr_line and (self.flags & IF_) and self.intack is not None)):
                return 0
        if self.nmi_pending or self.trap_pending or self.shadow or (self.intr_line and (self.flags & IF_)):
            return self.service_events()
        return 0

    cdef int loop(self, bint single) noexcept:
        cdef uint32_t tf
        cdef int r, i
        cdef bint first = 1
        while True:
            if self.nmi_pending | self.trap_pending | self.shadow | self.intr_line | self.halt_flag:
                if self.boundary():
                    self.cyc += 1
                    if single:
                        return X_BUDGET
                    first = 0
                    continue
                if self.halt_flag:
                    return X_HLT
            if self.cyc >= self.stop_at:
                # cpu.stop() and a failed device call also set stop_at to 0
                if self.stop_req:
                    self.stop_req = 0
                    return X_STOP
                if not single:
                    return X_BUDGET
            if self.nbrk and not first:
                for i in range(self.nbrk):
                    if self.brk[i] == ((self.sbase[S_CS] + self.ip) & self.amask):
                        return X_BREAK
            first = 0
            tf = self.flags & TF
            if self.cpu_model == M_80286:
                r = self.exec_286()
            else:
                r = self.exec_one()
            self.cyc += 1
            self.n_instr += 1
            self.trap_pending = tf != 0
            if r != 0:
                return r
            if single:
                return X_BUDGET

    cdef int enter(self, int64_t max_cycles, bint single) except -1:
        cdef int r
        cdef int64_t d
        self.cyc = self.clock.now
        d = self.clock.deadline
        # step() runs a whole REP string instruction unless an interrupt is pending
        self.limit = self.cyc + max_cycles if not single else (<int64_t>1 << 62)
        self.stepping = single
        self.stop_at = self.limit if (self.limit < d or single) else d
        if self.stop_req:
            self.stop_at = 0
        self.amask = self.mem.addr_mask
        self.fw_len = 0
        self.bind_vga()
        self.in_run = 1
        try:
            r = self.loop(single)
        finally:
            self.in_run = 0
            self.clock.now = self.cyc
        if self.pyexc is not None:
            e = self.pyexc
            self.pyexc = None
            self.stop_req = 0
            raise e
        return r

    cdef void bind_vga(self):
        """Mark the pages of A0000h-BFFFFh whose MMIO handlers are still the VGA
        engine's own: only those take the C path (a debugger's write watch or another
        device mapped there keeps its Python handlers)."""
        cdef int i
        cdef object vm = self.vgamem
        if vm is None:
            return
        readers, writers = self.mem.mmio_read, self.mem.mmio_write
        for i in range(32):
            self.vga_page[i] = (getattr(readers[0xA0 + i], "__self__", None) is vm
                                and getattr(writers[0xA0 + i], "__self__", None) is vm)

    def attach_vga(self, VGAMem vgamem):
        """Let the core call the VGA memory engine directly for the A0000h window."""
        self.vgamem = vgamem

    def run(self, max_cycles):
        """Run until clock.now reaches min(now+max_cycles, clock.deadline), HLT,
        cpu.stop() or a breakpoint; returns an EXIT_* code."""
        return self.enter(max_cycles, 0)

    def step(self):
        """Execute exactly one instruction or enter one interrupt; returns EXIT_*."""
        return self.enter(1, 1)

    def stop(self):
        """Make run() return X_STOP at the next instruction boundary."""
        self.stop_req = 1
        self.stop_at = 0

    def set_intr(self, level):
        self.intr_line = bool(level)

    def nmi(self):
        self.nmi_pending = 1

    def add_breakpoint(self, linear):
        if self.nbrk >= NBREAK:
            raise ConfigError(f"at most {NBREAK} breakpoints")
        self.brk[self.nbrk] = linear & 0xFFFFFFFF
        self.nbrk += 1

    def clear_breakpoints(self):
        self.nbrk = 0

    # ------------------------------------------------------------------ registers (API)
    def get_reg(self, name):
        name = name.lower()
        if name in _R16:
            return self.r[_R16.index(name)] & 0xFFFF
        if name in _R32:
            return self.r[_R32.index(name)]
        if name in _R8:
            return self.get_r8(_R8.index(name))
        if name in _SREG:
            return self.sreg[_SREG.index(name)]
        if name == "ip":
            return self.ip
        if name == "flags":
            return self.get_flags()
        raise KeyError(f"no register {name!r}")

    def set_reg(self, name, value):
        name = name.lower()
        value = int(value)
        if name in _R16:
            self.set_r16(_R16.index(name), value & 0xFFFF)
        elif name in _R32:
            self.r[_R32.index(name)] = value & 0xFFFFFFFF
        elif name in _R8:
            self.set_r8(_R8.index(name), value & 0xFF)
        elif name in _SREG:
            self.load_seg(_SREG.index(name), value & 0xFFFF)
            if self.overrun:
                # protected mode: the descriptor check refused it; nothing changed
                self.overrun = 0
                self.restore_segs()
                raise ValueError(f"{name} = {value:#06x}: error code {self.fault_err:#06x} "
                                 f"(exception {self.fault_vec})")
            self.seg_saved = 0
        elif name == "ip":
            self.ip = value & 0xFFFF
        elif name == "flags":
            self.set_flags(value & 0xFFFF)
        else:
            raise KeyError(f"no register {name!r}")

    def __getattr__(self, name):
        if name in _REGNAMES:
            return self.get_reg(name)
        raise AttributeError(name)

    def __setattr__(self, name, value):
        # a cdef class has no __dict__: the settable names are the registers and these
        if name in _REGNAMES:
            self.set_reg(name, value)
        elif name == "intack":
            self.intack = value
            owner = getattr(value, "__self__", None)
            self.pic = owner if isinstance(owner, DualPIC) and value == owner.acknowledge else None
        elif name == "on_shutdown":
            self.on_shutdown = value
        elif name == "halted":
            self.halt_flag = bool(value)
        elif name == "instructions":
            self.n_instr = value
        elif name in ("mem", "io", "clock"):
            if name == "mem":
                self.mem = value
                self._bind_memory()
            elif name == "io":
                if value is None:
                    raise TypeError("the CPU needs an IOBus")
                self.io = value
            else:
                self.clock = value
        else:
            raise AttributeError(f"CPU has no settable attribute {name!r}")

    def load_test_state(self, regs):
        """Set registers from a dict of 16-bit values (the conformance runner)."""
        for name, value in regs.items():
            self.set_reg(name, value)
        self.halt_flag = 0
        self.shadow = 0
        self.trap_pending = 0

    def get_state(self):
        return {
            "version": STATE_VERSION,
            "model": self.model,
            "regs": [self.r[i] for i in range(8)],
            "sreg": [self.sreg[i] for i in range(4)],
            "sbase": [self.sbase[i] for i in range(4)],
            "slimit": [self.slimit[i] for i in range(4)],
            "sattr": [self.sattr[i] for i in range(4)],
            "ip": self.ip,
            "flags": self.fl(),
            "halted": bool(self.halt_flag),
            "intr": bool(self.intr_line),
            "nmi_pending": bool(self.nmi_pending),
            "trap_pending": bool(self.trap_pending),
            "shadow": self.shadow,
            "instructions": self.n_instr,
            "breakpoints": [self.brk[i] for i in range(self.nbrk)],
            "pm": {"msw": self.msw, "cpl": self.cpl,
                   "gdtr": [self.gdt_base, self.gdt_limit], "idtr": [self.idt_base, self.idt_limit],
                   "ldtr": [self.ldt_sel, self.ldt_base, self.ldt_limit],
                   "tr": [self.tr_sel, self.tr_base, self.tr_limit]},
        }

    def set_state(self, state):
        cdef int i
        if state.get("version") != STATE_VERSION:
            raise StateError(f"cpu: state version {state.get('version')} is not {STATE_VERSION}")
        if state.get("model") != self.model:
            raise StateError(f"cpu: state is for a {state.get('model')}, this CPU is a {self.model}")
        try:
            for i in range(8):
                self.r[i] = state["regs"][i]
            for i in range(4):
                self.sreg[i] = state["sreg"][i]
                self.sbase[i] = state["sbase"][i]
                self.slimit[i] = state["slimit"][i]
                self.sattr[i] = state["sattr"][i]
            self.ip = state["ip"]
            self.flags = state["flags"]
            self.lf_op = LF_NONE
            self.halt_flag = state["halted"]
            self.intr_line = state["intr"]
            self.nmi_pending = state["nmi_pending"]
            self.trap_pending = state["trap_pending"]
            self.shadow = state["shadow"]
            self.n_instr = state["instructions"]
            bp = list(state["breakpoints"])[:NBREAK]
            self.nbrk = len(bp)
            for i in range(self.nbrk):
                self.brk[i] = bp[i]
            pm = state["pm"]
            self.msw = pm["msw"]
            self.cpl = pm["cpl"]
            self.gdt_base, self.gdt_limit = pm["gdtr"]
            self.idt_base, self.idt_limit = pm["idtr"]
            self.ldt_sel, self.ldt_base, self.ldt_limit = pm["ldtr"]
            self.tr_sel, self.tr_base, self.tr_limit = pm["tr"]
            self.flags_keep = 0x7FD5 if self.msw & 1 else 0x0FD5
            for i in range(4):
                self.set_bounds(i)
        except (KeyError, IndexError, TypeError, OverflowError, ValueError) as e:
            raise StateError(f"cpu: bad state ({e})") from None
