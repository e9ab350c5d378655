"""Motorola MC146818A real-time clock with 128 bytes of CMOS RAM (ports 70h/71h).

Port 70h selects a register (bits 6:0); its bit 7 masks the NMI on the AT, which the
board sees as ``board.nmi_enabled``.  Port 71h reads and writes the selected register.

Time runs on the virtual clock with the PC's 32.768 kHz time base: registers 00h-09h
advance once per virtual second, in BCD or binary as register B's DM bit says (the
chip counts in whatever format is selected; changing DM does not convert what is
stored).  Timing follows the data sheet in 32.768 kHz ticks counted from the moment
the divider left reset: the first update cycle starts half a second later and then
every second; UIP rises 244 us (8 ticks) before an update cycle starts and stays set
through the 1984 us (65 ticks) cycle; the time registers change, UF is set and the
alarm is compared at the end of the cycle.  Only DV = 010 runs the divider (the
other time bases do not match the PC's crystal); DV = 11x holds it in reset.

IRQ 8 follows IRQF = PF.PIE + AF.AIE + UF.UIE and stays asserted until register C is
read.  Register B's DSE applies the chip's built-in (1980s US) daylight-saving rule.
"""
import datetime
import os

from ..errors import ConfigError, ImageError
from .base import Device

REG_A, REG_B, REG_C, REG_D = 0x0A, 0x0B, 0x0C, 0x0D
A_UIP = 0x80
B_SET, B_PIE, B_AIE, B_UIE, B_SQWE = 0x80, 0x40, 0x20, 0x10, 0x08
B_DM, B_24H, B_DSE = 0x04, 0x02, 0x01
C_IRQF, C_PF, C_AF, C_UF = 0x80, 0x40, 0x20, 0x10
D_VRT = 0x80

TIMEBASE_HZ = 32768
UIP_LEAD_TICKS = 8         # 244 us
UPDATE_TICKS = 65          # 1984 us
FIRST_UPDATE_TICKS = TIMEBASE_HZ // 2
DEFAULT_START = datetime.datetime(2000, 1, 1, 0, 0, 0)
NVRAM_SIZE = 128
BOOT_DEVICES = {"a": 1, "c": 2}


def _days_in_month(month, year):
    if month == 2:
        return 29 if year % 4 == 0 else 28
    return 30 if month in (4, 6, 9, 11) else 31


class RTC146818(Device):
    name = "rtc"
    STATE_VERSION = 1
    STATE_FIELDS = ("ram", "index", "nmi_masked", "div_origin", "pf_tick", "dst_fell_back")
    STATE_RANGES = {"index": (0, 127)}

    def __init__(self, start_time=None, nvram_path=None):
        if start_time is None:
            start_time = DEFAULT_START
        elif not isinstance(start_time, datetime.datetime):
            try:
                start_time = datetime.datetime.fromtimestamp(float(start_time), datetime.timezone.utc)
            except (TypeError, ValueError, OverflowError, OSError):
                raise ConfigError(f"RTC start_time {start_time!r} is not a datetime or "
                                  "epoch seconds") from None
        self.start_time = start_time.replace(tzinfo=None)
        self.nvram_path = nvram_path
        self.ram = bytearray(NVRAM_SIZE)
        self.index = 0
        self.nmi_masked = 0
        self.div_origin = 0     # cycle at which the divider chain left reset
        self.pf_tick = 0        # divider tick at which PF was last cleared
        self.dst_fell_back = 0  # the October hour was repeated today

    # -- lifecycle ------------------------------------------------------------------------
    def attach(self, board):
        super().attach(board)
        self.clock = board.clock
        self.irq = board.irq[8]
        board.io.register(0x70, write8=self._write_index, owner="rtc146818")
        board.io.register(0x71, read8=self._read_data, write8=self._write_data, owner="rtc146818")
        self._update_timer = board.clock.timer("rtc.update", self._on_update)
        self._periodic_timer = board.clock.timer("rtc.periodic", self._on_periodic)
        if self.nvram_path is not None and os.path.exists(self.nvram_path):
            try:
                with open(self.nvram_path, "rb") as f:
                    image = f.read(NVRAM_SIZE + 1)
            except OSError as e:
                raise ImageError(f"CMOS file {self.nvram_path}: {e.strerror}") from None
            if len(image) != NVRAM_SIZE:
                raise ImageError(f"CMOS file {self.nvram_path} is {len(image)} bytes, not {NVRAM_SIZE}")
            self.ram[0x0E:] = image[0x0E:]
        self.ram[REG_A] = 0x26      # 32.768 kHz base, 1024 Hz periodic rate (BIOS default)
        self.ram[REG_B] = B_24H
        self.ram[REG_D] = D_VRT
        self.set_time(self.start_time)
        board.nmi_enabled = True
        self.div_origin = self.clock.now
        self.pf_tick = 0
        self._rearm(restart=True)

    def reset(self, kind="hard"):
        # /RESET clears the interrupt enables and flags; time, A and RAM survive
        self.ram[REG_B] &= ~(B_PIE | B_AIE | B_UIE | B_SQWE)
        self.ram[REG_C] = 0
        self._update_irq()
        self._rearm()

    def set_state(self, state):
        super().set_state(state)
        self.board.nmi_enabled = not self.nmi_masked
        self.irq.set(self.ram[REG_C] & C_IRQF)

    def flush(self):
        """Write the 128 bytes to ``nvram_path`` (if one was given), atomically."""
        if self.nvram_path is None:
            return
        tmp = f"{self.nvram_path}.tmp"
        with open(tmp, "wb") as f:
            f.write(bytes(self.ram))
        os.replace(tmp, self.nvram_path)

    # -- host helpers -----------------------------------------------------------------------
    def set_time(self, when):
        """Load the time registers (and the century byte 32h) from a datetime."""
        self._store_time(when.second, when.minute, when.hour, when.isoweekday() % 7 + 1,
                         when.day, when.month, when.year % 100)
        self.ram[0x32] = self._bcd(when.year // 100)

    def set_config(self, base_kb=640, ext_kb=0, floppies=(0, 0), hard_disks=(0, 0),
                   equipment=None, boot_order="ac"):
        """Fill the AT NVRAM layout the BIOS reads and fix the checksum at 2Eh/2Fh.

        ``floppies`` are CMOS drive types (1 360K, 2 1.2M, 3 720K, 4 1.44M, 5 2.88M),
        ``hard_disks`` BIOS disk types (0 none; types above 14 go to 19h/1Ah).
        ``equipment`` defaults to: floppies present, VGA (00), no FPU.
        ``boot_order`` (drive letters, "a" floppy, "c" hard disk) goes where the Bochs
        BIOS, SeaBIOS and ours read it: 3Dh bits 3:0 first and 7:4 second device,
        38h bits 7:4 third (1 floppy, 2 hard disk)."""
        fa, fb = (tuple(floppies) + (0, 0))[:2]
        ha, hb = (tuple(hard_disks) + (0, 0))[:2]
        ram = self.ram
        ram[0x10] = (fa & 0x0F) << 4 | (fb & 0x0F)
        ram[0x12] = min(ha, 15) << 4 | min(hb, 15)
        ram[0x19] = ha if ha >= 15 else 0
        ram[0x1A] = hb if hb >= 15 else 0
        if equipment is None:
            drives = (fa != 0) + (fb != 0)
            equipment = ((drives - 1) << 6 | 1) if drives else 0
        ram[0x14] = equipment & 0xFF
        base_kb = min(base_kb, 0xFFFF)
        ext_kb = min(ext_kb, 0xFFFF)
        ram[0x15], ram[0x16] = base_kb & 0xFF, base_kb >> 8
        ram[0x17], ram[0x18] = ext_kb & 0xFF, ext_kb >> 8
        ram[0x30], ram[0x31] = ext_kb & 0xFF, ext_kb >> 8
        devices = []
        for letter in boot_order.lower():
            if letter not in BOOT_DEVICES:
                raise ConfigError(f"boot order {boot_order!r}: {letter!r} is not a drive (use a or c)")
            devices.append(BOOT_DEVICES[letter])
        devices = (devices + [0, 0, 0])[:3]
        ram[0x3D] = devices[1] << 4 | devices[0]
        ram[0x38] = (ram[0x38] & 0x0F) | devices[2] << 4
        self.fix_checksum()

    def fix_checksum(self):
        total = sum(self.ram[0x10:0x2E])
        self.ram[0x2E], self.ram[0x2F] = total >> 8 & 0xFF, total & 0xFF

    # -- ports ----------------------------------------------------------------------------------
    def _write_index(self, port, value):
        self.index = value & 0x7F
        self.nmi_masked = value >> 7
        self.board.nmi_enabled = not self.nmi_masked

    def _read_data(self, port):
        reg = self.index
        if reg == REG_A:
            return self.ram[REG_A] | (A_UIP if self._uip() else 0)
        if reg == REG_C:
            value = self.ram[REG_C]
            if self._pf_due():
                value |= C_PF
            self.ram[REG_C] = 0
            self.pf_tick = self._tick()
            self._update_irq()
            return value
        return self.ram[reg]

    def _write_data(self, port, value):
        reg = self.index
        if reg == REG_A:
            old = self.ram[REG_A]
            self.ram[REG_A] = value & 0x7F
            restart = bool((old ^ value) & 0x70) and self._running()
            if restart:
                # leaving reset (or changing the base) restarts the divider chain
                self.div_origin = self.clock.now
                self.pf_tick = 0
            self._rearm(restart)
        elif reg == REG_B:
            if value & B_SET:
                value &= ~B_UIE          # setting SET clears UIE (data sheet)
            self.ram[REG_B] = value
            self._update_irq()
            self._rearm()
        elif reg in (REG_C, REG_D):
            return                       # read-only
        else:
            self.ram[reg] = value

    # -- time base -------------------------------------------------------------------------------
    def _running(self):
        return self.ram[REG_A] & 0x70 == 0x20

    def _tick(self, cycles=None):
        """32.768 kHz ticks since the divider left reset."""
        now = self.clock.now if cycles is None else cycles
        return self.clock.ticks(TIMEBASE_HZ, now - self.div_origin)

    def _cycle_of(self, tick):
        return self.div_origin + self.clock.cycle_of_tick(TIMEBASE_HZ, tick)

    def _uip(self):
        if not self._running() or self.ram[REG_B] & B_SET:
            return False
        phase = (self._tick() - FIRST_UPDATE_TICKS) % TIMEBASE_HZ
        return phase >= TIMEBASE_HZ - UIP_LEAD_TICKS or phase < UPDATE_TICKS

    def _period_ticks(self):
        rs = self.ram[REG_A] & 0x0F
        if rs == 0:
            return 0
        if rs <= 2:
            return 1 << (rs + 6)         # 256 Hz and 128 Hz on the 32.768 kHz base
        return 1 << (rs - 1)

    def _pf_due(self):
        period = self._period_ticks()
        if not period or not self._running():
            return False
        return self._tick() // period > self.pf_tick // period

    def _rearm(self, restart=False):
        if not self._running():
            self._update_timer.cancel()
            self._periodic_timer.cancel()
            return
        tick = self._tick()
        if restart or not self._update_timer.active:
            # the next end of an update cycle: 16384 + 65 + k * 32768 ticks after release
            end0 = FIRST_UPDATE_TICKS + UPDATE_TICKS
            nxt = end0 if tick < end0 else end0 + ((tick - end0) // TIMEBASE_HZ + 1) * TIMEBASE_HZ
            self._update_timer.set(self._cycle_of(nxt))
        period = self._period_ticks()
        if period and self.ram[REG_B] & B_PIE:
            self._periodic_timer.set(self._cycle_of((tick // period + 1) * period))
        else:
            self._periodic_timer.cancel()

    def _on_periodic(self):
        self.ram[REG_C] |= C_PF
        self._update_irq()
        period = self._period_ticks()
        self._periodic_timer.set(self._cycle_of((self._tick() // period + 1) * period))

    def _on_update(self):
        if not self.ram[REG_B] & B_SET:
            self._increment()
            flags = C_UF
            if all(alarm >= 0xC0 or alarm == self.ram[reg]
                   for reg, alarm in ((0, self.ram[1]), (2, self.ram[3]), (4, self.ram[5]))):
                flags |= C_AF
            self.ram[REG_C] |= flags
            self._update_irq()
        self._update_timer.set(self._cycle_of(self._tick() + TIMEBASE_HZ))

    def _update_irq(self):
        c = self.ram[REG_C]
        if c & self.ram[REG_B] & (C_PF | C_AF | C_UF):
            self.ram[REG_C] = c | C_IRQF
            self.irq.raise_()
        else:
            self.ram[REG_C] = c & ~C_IRQF
            self.irq.lower()

    # -- calendar ----------------------------------------------------------------------------------
    def _binary(self):
        return self.ram[REG_B] & B_DM

    def _bcd(self, n):
        return (n // 10) << 4 | n % 10

    def _enc(self, n):
        return (n if self._binary() else self._bcd(n)) & 0xFF

    def _dec(self, v):
        return v if self._binary() else (v >> 4) * 10 + (v & 0x0F)

    def _store_time(self, sec, minute, hour, dow, day, month, year):
        ram = self.ram
        ram[0], ram[2] = self._enc(sec), self._enc(minute)
        if ram[REG_B] & B_24H:
            ram[4] = self._enc(hour)
        else:
            ram[4] = self._enc(hour % 12 or 12) | (0x80 if hour >= 12 else 0)
        ram[6], ram[7], ram[8], ram[9] = (self._enc(dow), self._enc(day),
                                          self._enc(month), self._enc(year))

    def _increment(self):
        ram = self.ram
        sec, minute = self._dec(ram[0]) + 1, self._dec(ram[2])
        raw_hour = ram[4]
        if ram[REG_B] & B_24H:
            hour = self._dec(raw_hour)
        else:
            hour = self._dec(raw_hour & 0x7F) % 12 + (12 if raw_hour & 0x80 else 0)
        dow, day = self._dec(ram[6]), self._dec(ram[7])
        month, year = self._dec(ram[8]), self._dec(ram[9])
        if sec >= 60:
            sec, minute = 0, minute + 1
            if minute >= 60:
                minute, hour = 0, hour + 1
                if hour >= 24:
                    hour, day = 0, day + 1
                    dow = dow + 1 if dow < 7 else 1
                    if day > _days_in_month(month, year):
                        day, month = 1, month + 1
                        if month > 12:
                            month, year = 1, year + 1
                            if year > 99:
                                year = 0
                    self.dst_fell_back = 0
            if ram[REG_B] & B_DSE and minute == 0 and hour == 2 and dow == 1:
                # the chip's daylight-saving rule: last Sunday in April 1:59:59 AM
                # jumps to 3:00:00 AM; last Sunday in October it repeats 1:00 AM once
                if month == 4 and day >= 24:
                    hour = 3
                elif month == 10 and day >= 25 and not self.dst_fell_back:
                    hour = 1
                    self.dst_fell_back = 1
        self._store_time(sec, minute, hour, dow, day, month, year)
