"""Intel 82077AA floppy disk controller (PC/AT mode) with two drives.

Ports 3F0h-3F5h and 3F7h (3F6h belongs to the IDE controller):

====  ======================  =====================================
3F0h  SRA (read)              PS/2 status A: INT, drive 2, TRK0 ...
3F1h  SRB (read)              PS/2 status B: drive select, motors
3F2h  DOR (read/write)        drive select, /RESET, DMA gate, motors
3F3h  TDR (read/write)        tape drive select
3F4h  MSR (read) / DSR (write) RQM DIO NDMA CB busy / rate, reset
3F5h  FIFO                    command, execution (PIO) and result bytes
3F7h  DIR (read) / CCR (write) disk change (bit 7) / data rate
====  ======================  =====================================

A command goes through three phases: the host writes the command bytes while MSR
shows RQM with DIO=0; the execution phase moves data through DMA channel 2
(``board.dma``) or, when SPECIFY set ND, through the FIFO with an interrupt per
byte group; the result phase presents ST0-ST3 and an ID with RQM and DIO=1.  Seeks
overlap: the command phase ends at once, the drive's busy bit stays set, and the
seek's end (after the step pulses and the head settle time on the virtual clock)
raises IRQ 6 and queues a status for SENSE INTERRUPT STATUS.

Media are :class:`pyvmm.storage.image.DiskImage` objects.  A track is found only
when the data rate suits the medium and the drive; sectors carry the standard IDs
(C = media cylinder, H = head, R = 1..sectors, N = 2).
"""
from ..errors import ConfigError, StateError
from .base import Device

# drive type -> CMOS type number (RTC register 10h), number of tracks
DRIVE_TYPES = {
    "none": (0, 0),
    "360K": (1, 40),
    "1.2M": (2, 80),
    "720K": (3, 80),
    "1.44M": (4, 80),
    "2.88M": (5, 80),
}
RATE_KBPS = (500, 300, 250, 1000)   # DSR/CCR bits 1-0
DMA_CHANNEL = 2
NDRIVES = 4                           # drive selects the chip has; two drives exist

# status register bits
ST0_NORMAL, ST0_ABNORMAL, ST0_INVALID, ST0_POLL = 0x00, 0x40, 0x80, 0xC0
ST0_SE, ST0_EC, ST0_NR = 0x20, 0x10, 0x08
ST1_EN, ST1_ND, ST1_NW, ST1_MA = 0x80, 0x04, 0x02, 0x01
ST2_WC, ST2_BC = 0x10, 0x02
MSR_RQM, MSR_DIO, MSR_NDMA, MSR_CB = 0x80, 0x40, 0x20, 0x10
DOR_NRESET, DOR_DMAGATE = 0x04, 0x08

# low five bits of the first command byte -> (name, total command bytes)
COMMANDS = {
    0x03: ("specify", 3),
    0x04: ("sense_drive", 2),
    0x05: ("write", 9),
    0x06: ("read", 9),
    0x07: ("recalibrate", 2),
    0x08: ("sense_int", 1),
    0x0A: ("read_id", 2),
    0x0D: ("format", 6),
    0x0E: ("dumpreg", 1),
    0x0F: ("seek", 3),
    0x10: ("version", 1),
    0x12: ("perpendicular", 2),
    0x13: ("configure", 4),
    0x14: ("lock", 1),
    0x16: ("verify", 9),
}

SECTOR = 512
RECAL_STEPS = 79        # RECALIBRATE gives up (EC) after this many step pulses
HEAD_SETTLE_US = 15000  # drive head settle time after the last step
EXEC_DELAY_US = 100     # ID search before the first data byte moves
ROTATION_US = 200000    # 300 rpm: READ ID reports the sector under the head


def media_rate(drive_type, geometry):
    """The data rate (kbps) that reads a medium of ``geometry`` in ``drive_type``."""
    cylinders, _, sectors = geometry
    if sectors >= 36:
        return 1000
    if sectors >= 15:
        return 500
    if drive_type == "1.2M" and cylinders <= 42:
        return 300    # a 360K disk spins at 360 rpm in a 1.2M drive
    return 250


class FDC82077(Device):
    name = "fdc"
    STATE_VERSION = 1
    STATE_FIELDS = (
        "dor", "tdr", "rate_sel", "precomp", "in_reset", "phase", "command", "result",
        "result_clears_int",
        "int_pending", "pending_sense", "srt", "hut", "hlt", "nd", "eis", "efifo",
        "poll", "fifothr", "pretrk", "locked", "perp_drives", "perp_gap",
        "perp_wgate", "last_eot", "pcn", "track", "changed", "seek_target",
        "seek_status", "drive_busy", "last_dir", "last_head", "xfer", "dreq",
    )

    def __init__(self, drives=("1.44M", "1.44M"), base=0x3F0, irq=6, dma=DMA_CHANNEL):
        drives = list(drives)
        if len(drives) > 2:
            raise ConfigError("fdc: at most two floppy drives")
        for t in drives:
            if t not in DRIVE_TYPES:
                raise ConfigError(f"fdc: drive type {t!r} is not one of {', '.join(DRIVE_TYPES)}")
        self.drive_types = (drives + ["none"] * NDRIVES)[:NDRIVES]
        self.base = base
        self.irq_number = irq
        self.dma_channel = dma
        self.images = [None] * NDRIVES
        self.reset("hard")

    # -- configuration -------------------------------------------------------------
    def cmos_drive_type(self, drive):
        """CMOS drive type number (0 none, 1 360K, 2 1.2M, 3 720K, 4 1.44M, 5 2.88M)."""
        return DRIVE_TYPES[self.drive_types[drive]][0]

    def cmos_byte(self):
        """RTC register 10h: drive 0 type in the high nibble, drive 1 in the low."""
        return (self.cmos_drive_type(0) << 4) | self.cmos_drive_type(1)

    def _exists(self, d):
        return self.drive_types[d] != "none"

    def insert(self, drive, image):
        """Put ``image`` in ``drive``; the drive's change line goes active."""
        if not 0 <= drive < 2 or not self._exists(drive):
            raise ConfigError(f"fdc: there is no floppy drive {drive}")
        self.images[drive] = image
        self.changed[drive] = 1

    def eject(self, drive):
        image = self.images[drive]
        self.images[drive] = None
        self.changed[drive] = 1
        return image

    # -- lifecycle -------------------------------------------------------------------
    def attach(self, board):
        super().attach(board)
        b = self.base
        board.io.register(b, 2, read8=self._read_status, owner=self.name)
        board.io.register(b + 2, 4, read8=self._read, write8=self._write, owner=self.name)
        board.io.register(b + 7, 1, read8=self._read_dir, write8=self._write_ccr, owner=self.name)
        self.irq = board.irq[self.irq_number]
        clock = board.clock
        self.seek_timers = [clock.timer(f"{self.name}.seek{d}", self._seek_done_cb(d))
                            for d in range(NDRIVES)]
        self.exec_timer = clock.timer(f"{self.name}.exec", self._execute)
        self._dma_bound = None
        board.fdc = self

    def _seek_done_cb(self, d):
        return lambda: self._seek_done(d)

    def reset(self, kind="hard"):
        self.dor = 0x00              # power on holds the chip in reset
        self.tdr = 0
        self.rate_sel = 2            # 250 kbps after a hardware reset
        self.precomp = 0
        self.in_reset = 1
        self.srt = self.hut = self.hlt = 0
        self.nd = 0
        self.locked = 0
        self.eis, self.efifo, self.poll, self.fifothr, self.pretrk = 0, 1, 0, 0, 0
        self.perp_drives = self.perp_gap = self.perp_wgate = 0
        self.last_eot = 0
        self.pcn = [0] * NDRIVES
        self.track = [0] * NDRIVES
        self.changed = [1] * NDRIVES  # the change line is active at power on
        self.last_dir = 0
        self.last_head = 0
        self.int_pending = 0
        self.dreq = 0
        self._chip_reset()
        if hasattr(self, "board"):
            self._update_irq()

    def _chip_reset(self):
        """What /RESET and DSR reset clear: phases, pending interrupts, transfers."""
        self.phase = "command"
        self.command = []
        self.result = []
        self.result_clears_int = 1   # reading a data command's result acknowledges INT
        self.pending_sense = []
        self.seek_target = [None] * NDRIVES
        self.seek_status = [0] * NDRIVES
        self.drive_busy = 0
        self.xfer = None
        self.int_pending = 0
        self.perp_gap = self.perp_wgate = 0
        if not self.locked:
            self.eis, self.efifo, self.poll, self.fifothr, self.pretrk = 0, 1, 0, 0, 0
        if hasattr(self, "board"):
            for t in self.seek_timers:
                t.cancel()
            self.exec_timer.cancel()
            self._set_dreq(0)

    def _leave_reset(self):
        self.in_reset = 0
        if not self.poll:
            # drive polling after reset reports a "ready changed" status per drive
            self.pending_sense = [[ST0_POLL | d, d] for d in range(NDRIVES)]
            self.int_pending = 1
        self._update_irq()

    # -- lines to the board ----------------------------------------------------------
    def _update_irq(self):
        self.irq.set(self.int_pending and self.dor & DOR_DMAGATE)

    def _set_int(self, level):
        self.int_pending = 1 if level else 0
        self._update_irq()

    def _set_dreq(self, level):
        self.dreq = 1 if level else 0
        dma = self.board.dma
        if dma is not None:
            if self._dma_bound is not dma:   # the DMA may be attached after us
                dma.register_channel(self.dma_channel, self._dma_service)
                self._dma_bound = dma
            dma.set_dreq(self.dma_channel, bool(self.dreq and self.dor & DOR_DMAGATE))

    def _us(self, us):
        return self.board.clock.cycles_from_seconds(us / 1e6)

    # -- register access ---------------------------------------------------------------
    def _read_status(self, port):
        d = self.dor & 3
        if port == self.base:          # SRA
            v = 0x04                     # /INDEX inactive
            if self.int_pending:
                v |= 0x80
            if not self._exists(1):
                v |= 0x40                # /DRV2: no second drive
            if self.track[d] != 0:
                v |= 0x10                # /TRK0
            if self.last_head:
                v |= 0x08
            img = self.images[d]
            if not (img is not None and img.readonly):
                v |= 0x02                # /WP
            return v | (self.last_dir & 1)
        return 0xC0 | ((self.dor & 1) << 5) | ((self.dor >> 4) & 3)    # SRB

    def _read(self, port):
        reg = port - self.base
        if reg == 2:
            return self.dor
        if reg == 3:
            return self.tdr & 3
        if reg == 4:
            return self._msr()
        return self._read_fifo()

    def _write(self, port, value):
        reg = port - self.base
        if reg == 2:
            self._write_dor(value)
        elif reg == 3:
            self.tdr = value & 3
        elif reg == 4:
            self.rate_sel = value & 3
            self.precomp = (value >> 2) & 7
            if value & 0x80:             # self-clearing software reset
                self._chip_reset()
                self.in_reset = 1
                if self.dor & DOR_NRESET:
                    self._leave_reset()
                else:
                    self._update_irq()
        else:
            self._write_fifo(value)

    def _write_dor(self, value):
        old = self.dor
        self.dor = value
        if not value & DOR_NRESET:
            if old & DOR_NRESET or not self.in_reset:
                self._chip_reset()
                self.in_reset = 1
            self._update_irq()
            return
        if self.in_reset:
            self._leave_reset()
            return
        self._update_irq()
        if (old ^ value) & DOR_DMAGATE and self.dreq:
            self._set_dreq(1)

    def _read_dir(self, port):
        d = self.dor & 3
        return 0x80 if self._exists(d) and self.changed[d] else 0x00

    def _write_ccr(self, port, value):
        self.rate_sel = value & 3

    def _msr(self):
        if self.in_reset:
            return 0
        busy = self.drive_busy
        if self.phase == "command":
            return MSR_RQM | busy | (MSR_CB if self.command else 0)
        if self.phase == "result":
            return MSR_RQM | MSR_DIO | MSR_CB | busy
        x = self.xfer
        if x is not None and x["pio"] and x["ready"]:
            return MSR_RQM | MSR_NDMA | MSR_CB | (MSR_DIO if x["op"] == "read" else 0) | busy
        return MSR_CB | busy | (MSR_NDMA if x is not None and x["pio"] else 0)

    # -- FIFO ------------------------------------------------------------------------
    def _read_fifo(self):
        if self.in_reset:
            return 0xFF
        if self.phase == "result":
            if self.int_pending and self.result_clears_int:
                self._set_int(0)
            value = self.result.pop(0)
            if not self.result:
                self.phase = "command"
            return value
        x = self.xfer
        if self.phase == "exec" and x is not None and x["pio"] and x["ready"] and x["op"] == "read":
            value = x["buf"][x["pos"]]
            x["pos"] += 1
            self._pio_step(x)
            return value
        return 0xFF

    def _write_fifo(self, value):
        if self.in_reset:
            return
        x = self.xfer
        if self.phase == "exec" and x is not None and x["pio"] and x["ready"] \
                and x["op"] in ("write", "format"):
            x["buf"] = x["buf"] + bytes([value])
            x["pos"] += 1
            self._pio_step(x)
            return
        if self.phase != "command":
            return
        self.command.append(value & 0xFF)
        entry = COMMANDS.get(self.command[0] & 0x1F)
        if entry is None:
            self.command = []
            self._finish([ST0_INVALID], clears_int=False)
            return
        if len(self.command) == entry[1]:
            cmd, self.command = self.command, []
            getattr(self, "_cmd_" + entry[0])(cmd)

    def _finish(self, result, clears_int=True, interrupt=False):
        """Enter the result phase (or the command phase when there is no result)."""
        self.result = list(result)
        self.result_clears_int = 1 if clears_int else 0
        self.phase = "result" if self.result else "command"
        if interrupt:
            self._set_int(1)

    # -- simple commands -----------------------------------------------------------
    def _cmd_specify(self, cmd):
        self.srt, self.hut = cmd[1] >> 4, cmd[1] & 0x0F
        self.hlt, self.nd = cmd[2] >> 1, cmd[2] & 1
        self._finish([])

    def _cmd_version(self, cmd):
        self._finish([0x90], clears_int=False)

    def _cmd_configure(self, cmd):
        self.eis = (cmd[2] >> 6) & 1
        self.efifo = (cmd[2] >> 5) & 1
        self.poll = (cmd[2] >> 4) & 1
        self.fifothr = cmd[2] & 0x0F
        self.pretrk = cmd[3]
        self._finish([])

    def _cmd_lock(self, cmd):
        self.locked = (cmd[0] >> 7) & 1
        self._finish([self.locked << 4], clears_int=False)

    def _cmd_perpendicular(self, cmd):
        if cmd[1] & 0x80:
            self.perp_drives = (cmd[1] >> 2) & 0x0F
        self.perp_gap = (cmd[1] >> 1) & 1
        self.perp_wgate = cmd[1] & 1
        self._finish([])

    def _cmd_dumpreg(self, cmd):
        self._finish(self.pcn + [
            (self.srt << 4) | self.hut, (self.hlt << 1) | self.nd, self.last_eot,
            (self.locked << 7) | (self.perp_drives << 2) | (self.perp_gap << 1) | self.perp_wgate,
            (self.eis << 6) | (self.efifo << 5) | (self.poll << 4) | self.fifothr,
            self.pretrk], clears_int=False)

    def _cmd_sense_drive(self, cmd):
        d, hds = cmd[1] & 3, (cmd[1] >> 2) & 1
        img = self.images[d]
        st3 = 0x20 | 0x08 | (hds << 2) | d        # ready, two-sided
        if img is not None and img.readonly:
            st3 |= 0x40
        if self._exists(d) and self.track[d] == 0:
            st3 |= 0x10
        self._finish([st3], clears_int=False)

    def _cmd_sense_int(self, cmd):
        if not self.pending_sense:
            self._finish([ST0_INVALID], clears_int=False)
            return
        st0, d = self.pending_sense.pop(0)
        self.drive_busy &= ~(1 << d)
        self._finish([st0, self.pcn[d]], clears_int=False)
        self._set_int(any(e[0] & 0xC0 != ST0_POLL for e in self.pending_sense))

    # -- seeks -------------------------------------------------------------------------
    def _step_time(self):
        # SRT counts 1 ms steps at 500 kbps, (16 - SRT) of them; slower rates stretch it
        return (16 - self.srt) * 1000 * 500 // RATE_KBPS[self.rate_sel]

    def _start_seek(self, d, target, recalibrate):
        steps_wanted = abs(target - self.pcn[d]) if not recalibrate else self.track[d]
        status = ST0_SE | d
        if recalibrate:
            steps = min(self.track[d], RECAL_STEPS) if self._exists(d) else RECAL_STEPS
            if self._exists(d) and self.track[d] <= RECAL_STEPS:
                self.track[d] = 0
            else:
                if self._exists(d):
                    self.track[d] -= RECAL_STEPS
                status |= ST0_ABNORMAL | ST0_EC     # no TRK0 signal after 79 steps
            self.pcn[d] = 0
            self.last_dir = 0
        else:
            steps = steps_wanted
            if target != self.pcn[d]:
                self.last_dir = 1 if target > self.pcn[d] else 0
            if self._exists(d):
                limit = DRIVE_TYPES[self.drive_types[d]][1] + 3
                delta = target - self.pcn[d]
                self.track[d] = min(max(self.track[d] + delta, 0), limit)
            self.pcn[d] = target
        if steps and self._exists(d) and self.images[d] is not None:
            self.changed[d] = 0          # a step pulse with a disk in resets the change line
        self.seek_status[d] = status
        self.seek_target[d] = self.pcn[d]
        self.drive_busy |= 1 << d
        self.seek_timers[d].set_in(self._us(steps * self._step_time() + HEAD_SETTLE_US))
        self._finish([])

    def _seek_done(self, d):
        if self.seek_target[d] is None:
            return
        self.seek_target[d] = None
        self.pending_sense.append([self.seek_status[d], d])
        self._set_int(1)

    def _cmd_seek(self, cmd):
        d, hds = cmd[1] & 3, (cmd[1] >> 2) & 1
        self.last_head = hds
        target = cmd[2]
        if cmd[0] & 0x80:                # RELATIVE SEEK: bit 6 steps inward (up)
            target = self.pcn[d] + cmd[2] if cmd[0] & 0x40 else self.pcn[d] - cmd[2]
            target = min(max(target, 0), 255)
        self._start_seek(d, target, False)

    def _cmd_recalibrate(self, cmd):
        self._start_seek(cmd[1] & 3, 0, True)

    # -- media -------------------------------------------------------------------------
    def _media_cylinder(self, d):
        """The media cylinder under drive ``d``'s head, or None."""
        img = self.images[d]
        if img is None:
            return None
        cylinders = img.geometry[0]
        t = self.track[d]
        if DRIVE_TYPES[self.drive_types[d]][1] == 80 and cylinders <= 42:
            if t & 1:
                return None              # between the wide tracks of a 40-track disk
            t >>= 1
        return t if t < cylinders else None

    def _track_error(self, d, hds):
        """(ST0 bits, ST1) when no ID can be read on drive ``d`` head ``hds``, else None."""
        img = self.images[d]
        motor = self.dor & (0x10 << d)
        if not self._exists(d) or img is None or not motor:
            return ST0_ABNORMAL | ST0_NR, 0
        if RATE_KBPS[self.rate_sel] != media_rate(self.drive_types[d], img.geometry) \
                or hds >= img.geometry[1] or self._media_cylinder(d) is None:
            return ST0_ABNORMAL, ST1_MA
        return None

    def _locate(self, x):
        """LBA of the sector whose ID matches x's C/H/R/N on the current track, or
        set x's error status and return None."""
        d, hds = x["drive"], x["hds"]
        err = self._track_error(d, hds)
        if err is not None:
            x["st0"] |= err[0]
            x["st1"] |= err[1]
            return None
        img = self.images[d]
        mc = self._media_cylinder(d)
        _, heads, sectors = img.geometry
        if x["c"] != mc:
            x["st0"] |= ST0_ABNORMAL
            x["st1"] |= ST1_ND
            x["st2"] |= ST2_BC if x["c"] == 0xFF else ST2_WC
            return None
        if x["h"] != hds or x["n"] != 2 or not 1 <= x["r"] <= sectors:
            x["st0"] |= ST0_ABNORMAL
            x["st1"] |= ST1_ND
            return None
        return (mc * heads + hds) * sectors + x["r"] - 1

    def _next_sector(self, x):
        """Advance x's ID as the chip does after a sector; False at the end of the
        cylinder (the ID is then the one the chip reports: C+1, R=1)."""
        if x["r"] < x["eot"]:
            x["r"] += 1
            return True
        x["r"] = 1
        if x["mt"] and x["hds"] == 0:
            x["hds"] = 1
            x["h"] ^= 1
            return True
        x["c"] = (x["c"] + 1) & 0xFF
        if x["mt"]:
            x["h"] ^= 1
        return False

    # -- data commands ------------------------------------------------------------------
    def _begin(self, op, cmd):
        d, hds = cmd[1] & 3, (cmd[1] >> 2) & 1
        self.last_head = hds
        x = {"op": op, "drive": d, "hds": hds, "mt": cmd[0] >> 7, "st0": 0, "st1": 0,
             "st2": 0, "c": 0, "h": hds, "r": 1, "n": 2, "eot": 0, "count": 0,
             "pio": self.nd, "ready": 0, "buf": b"", "pos": 0, "lba": None, "fill": 0,
             "ids": b""}
        if len(cmd) == 9:
            x["c"], x["h"], x["r"], x["n"], x["eot"] = cmd[2], cmd[3], cmd[4], cmd[5], cmd[6]
            x["count"] = cmd[8]                   # DTL, or SC for VERIFY with EC
            self.last_eot = cmd[6]
            if op == "verify":
                x["ec"] = (cmd[1] >> 7) & 1
            if self.eis and self._exists(d):
                delta = x["c"] - self.pcn[d]
                if delta and self.images[d] is not None:
                    self.changed[d] = 0
                self.track[d] = max(self.track[d] + delta, 0)
                self.pcn[d] = x["c"]
        elif op == "format":
            x["n"], x["count"], x["fill"] = cmd[2], cmd[3], cmd[5]
            x["c"] = self.pcn[d]
        self.xfer = x
        self.phase = "exec"
        self.exec_timer.set_in(self._us(EXEC_DELAY_US))

    def _cmd_read(self, cmd):
        self._begin("read", cmd)

    def _cmd_write(self, cmd):
        self._begin("write", cmd)

    def _cmd_verify(self, cmd):
        self._begin("verify", cmd)

    def _cmd_read_id(self, cmd):
        self._begin("read_id", cmd)

    def _cmd_format(self, cmd):
        self._begin("format", cmd)

    def _execute(self):
        """The exec timer: the ID search is over, start moving data."""
        x = self.xfer
        if x is None or self.phase != "exec":
            return
        d, op = x["drive"], x["op"]
        if op == "read_id":
            err = self._track_error(d, x["hds"])
            if err is not None:
                x["st0"] |= err[0]
                x["st1"] |= err[1]
                self._end()
                return
            img = self.images[d]
            sectors = img.geometry[2]
            cycles = self._us(ROTATION_US)
            x["c"], x["h"], x["n"] = self._media_cylinder(d), x["hds"], 2
            x["r"] = (self.board.clock.now % cycles) * sectors // cycles + 1
            self._end()
            return
        if op in ("write", "format"):
            img = self.images[d]
            err = self._track_error(d, x["hds"])
            if err is None and img.readonly:
                err = (ST0_ABNORMAL, ST1_NW)
            if err is not None:
                x["st0"] |= err[0]
                x["st1"] |= err[1]
                self._end()
                return
        if op == "verify":
            self._verify(x)
            return
        if op != "format" and self._locate_into(x) is None:
            self._end()
            return
        if op == "read":
            x["buf"] = self.images[d].read_sectors(x["lba"], 1)
        if x["pio"]:
            x["ready"] = 1
            self._set_int(1)
        else:
            self._set_dreq(1)

    def _locate_into(self, x):
        x["lba"] = self._locate(x)
        x["pos"] = 0
        x["buf"] = b""
        return x["lba"]

    def _verify(self, x):
        counted = x.get("ec") and x["count"]
        remaining = x["count"] if counted else None
        while True:
            if self._locate(x) is None:
                break
            if counted:
                remaining -= 1
                more = self._next_sector(x)
                if remaining == 0:
                    break
            else:
                more = self._next_sector(x)
            if not more:
                break
        self._end()

    def _sector_done(self, x, tc):
        """A whole sector moved: write it out, advance, and end on TC or end of
        cylinder.  Returns True while the transfer goes on."""
        if self._media_gone(x):
            return False
        if x["op"] == "write":
            self.images[x["drive"]].write_sectors(x["lba"], x["buf"][:SECTOR].ljust(SECTOR, b"\0"))
        more = self._next_sector(x)
        if tc:
            self._end()
            return False
        if not more:
            if not x["pio"]:
                x["st0"] |= ST0_ABNORMAL
                x["st1"] |= ST1_EN       # ran off the cylinder without TC
            self._end()
            return False
        if self._locate_into(x) is None:
            self._end()
            return False
        if x["op"] == "read":
            x["buf"] = self.images[x["drive"]].read_sectors(x["lba"], 1)
        return True

    def _media_gone(self, x):
        """The disk was ejected during the execution phase: end as not ready."""
        if self.images[x["drive"]] is not None:
            return False
        x["st0"] |= ST0_ABNORMAL | ST0_NR
        self._end()
        return True

    def _format_ids(self, x, ids):
        if self._media_gone(x):
            return
        img = self.images[x["drive"]]
        cylinders, heads, sectors = img.geometry
        fill = bytes([x["fill"]]) * SECTOR
        for i in range(0, len(ids) - 3, 4):
            c, h, r, n = ids[i:i + 4]
            x["c"], x["h"], x["r"], x["n"] = c, h, r, n
            if n == 2 and c < cylinders and h < heads and 1 <= r <= sectors:
                img.write_sectors((c * heads + h) * sectors + r - 1, fill)
        self._end()

    def _dma_service(self):
        """DMA channel 2 is ready to move data for the current command."""
        x = self.xfer
        if x is None or self.phase != "exec" or x["pio"] or not self.dreq:
            return
        dma = self.board.dma
        ch = self.dma_channel
        while self.xfer is x:
            if x["op"] == "format":
                want = 4 * x["count"] - len(x["ids"])
                got = dma.read_memory(ch, want)
                x["ids"] += got
                if len(x["ids"]) >= 4 * x["count"] or len(got) < want:
                    self._format_ids(x, x["ids"])
                return
            if x["op"] == "read":
                chunk = x["buf"][x["pos"]:]
                moved = dma.write_memory(ch, chunk)
                x["pos"] += moved
                tc = self._tc(len(chunk), moved)
            else:
                want = SECTOR - len(x["buf"])
                got = bytes(dma.read_memory(ch, want))
                x["buf"] += got
                x["pos"] = len(x["buf"])
                tc = self._tc(want, len(got))
            if x["pos"] < SECTOR and not tc:
                return                   # the DMA stalled (masked); wait for it
            if not self._sector_done(x, tc):
                return

    def _tc(self, wanted, moved):
        return moved < wanted or self.board.dma.terminal_count(self.dma_channel)

    def _pio_group(self):
        return 1 if self.efifo else self.fifothr + 1

    def _pio_step(self, x):
        """The host moved one byte through the FIFO in non-DMA mode."""
        self._set_int(0)
        if x["op"] == "format":
            if x["pos"] >= 4 * x["count"]:
                x["ready"] = 0
                self._format_ids(x, x["buf"])
            elif x["pos"] % self._pio_group() == 0:
                self._set_int(1)
            return
        if x["pos"] >= SECTOR:
            x["ready"] = 0
            if not self._sector_done(x, False):
                return
            x["ready"] = 1
            self._set_int(1)
        elif x["pos"] % self._pio_group() == 0:
            self._set_int(1)

    def _end(self):
        """End the execution phase: present ST0 ST1 ST2 C H R N and interrupt."""
        x = self.xfer
        self.xfer = None
        self._set_dreq(0)
        self.exec_timer.cancel()
        st0 = x["st0"] | (x["hds"] << 2) | x["drive"]
        self._finish([st0, x["st1"], x["st2"], x["c"] & 0xFF, x["h"] & 0xFF,
                      x["r"] & 0xFF, x["n"] & 0xFF], interrupt=True)

    # -- state ---------------------------------------------------------------------------
    def get_state(self):
        state = super().get_state()
        state["drive_types"] = list(self.drive_types)
        if self.xfer is not None:
            state["xfer"] = dict(self.xfer)
        return state

    def set_state(self, state):
        if not isinstance(state.get("xfer"), (dict, type(None))):
            raise StateError("fdc: the save state's transfer record is not a table")
        super().set_state(state)
        if state["drive_types"] != list(self.drive_types):
            raise StateError("fdc: the save state has other floppy drive types")
        if self.xfer is not None:
            self.xfer = dict(self.xfer)
            self.xfer["buf"] = bytes(self.xfer["buf"])
            self.xfer["ids"] = bytes(self.xfer["ids"])
        self.pending_sense = [list(e) for e in self.pending_sense]
        self._update_irq()
