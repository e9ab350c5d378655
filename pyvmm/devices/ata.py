"""ATA/IDE controller: one channel (primary or secondary) with a master and a slave.

Primary: command block 1F0h-1F7h, control block 3F6h, IRQ 14.  Secondary: 170h-177h,
376h, IRQ 15.  The task-file registers (features, sector count, sector number,
cylinder low/high, device/head) are written to both devices, as on the cable; the
selected device (DEV, bit 4 of device/head) answers reads and executes commands.

PIO protocol, after ATA-2/ATA-3: a command makes the device BSY for a short time on
the virtual clock; then it either sets DRQ (data in: with an interrupt per block;
data out: the first block without one) or finishes with DRDY and an interrupt.
INTRQ is pending until the host reads the status register (the alternate status
register at 3F6h does not clear it) or writes a command, and nIEN in the device
control register keeps it off the bus.  SRST in the device control register resets
both devices, which afterwards present the ATA signature (count 1, sector 1,
cylinder 0) and diagnostic code 01h.

Absent devices: with no device on the channel every register floats (FFh); with one
device, the present one answers for the absent one with status 00h.
"""
from ..errors import ConfigError
from .base import Device

SECTOR = 512
MAX_MULTIPLE = 16
BSY, DRDY, DF, DSC, DRQ, CORR, IDX, ERR = 0x80, 0x40, 0x20, 0x10, 0x08, 0x04, 0x02, 0x01
ABRT, IDNF, UNC, AMNF = 0x04, 0x10, 0x40, 0x01
NIEN, SRST = 0x02, 0x04
CHANNELS = {0: (0x1F0, 0x3F6, 14), 1: (0x170, 0x376, 15)}
COMMAND_US = 10          # BSY time before DRQ or completion
RESET_US = 50            # BSY time after SRST is released


def ata_string(text, length):
    """An IDENTIFY string field: space padded, two characters per word, the first
    character in the high byte of each word."""
    raw = text.encode("ascii")[:length].ljust(length, b" ")
    return [(raw[i] << 8) | raw[i + 1] for i in range(0, length, 2)]


class ATAController(Device):
    STATE_VERSION = 1
    STATE_FIELDS = ("feature", "nsector", "sector", "lcyl", "hcyl", "select", "devctl",
                    "status", "error", "intrq", "multiple", "cur_heads", "cur_sectors",
                    "pio_mode", "xfer", "pending")

    def __init__(self, channel=0, model="PYVMM HARDDISK", firmware="1.0"):
        if channel not in CHANNELS:
            raise ConfigError(f"ata: channel must be 0 or 1, not {channel!r}")
        self.channel = channel
        self.name = f"ata{channel}"
        self.model = model
        self.firmware = firmware
        self.images = [None, None]
        self.reset("hard")

    def attach_disk(self, unit, image):
        """Connect ``image`` (a hard-disk DiskImage) as master (0) or slave (1)."""
        if unit not in (0, 1):
            raise ConfigError(f"ata: unit must be 0 (master) or 1 (slave), not {unit!r}")
        self.images[unit] = image
        self.status[unit] = DRDY | DSC if image is not None else 0
        self.error[unit] = 0x01
        self.cur_heads[unit], self.cur_sectors[unit] = (image.geometry[1], image.geometry[2]) \
            if image is not None else (0, 0)

    def cmos_disk(self, unit):
        """The BIOS disk type for RTC register 12h/19h: 47, the user-defined type
        (the BIOS learns the geometry from IDENTIFY), or 0 with no disk."""
        return 47 if self._present(unit) else 0

    # -- lifecycle -----------------------------------------------------------------------
    def attach(self, board):
        super().attach(board)
        cmd, ctl, irq = CHANNELS[self.channel]
        board.io.register(cmd, 1, read8=self._read_data8, write8=self._write_data8,
                          read16=self._read_data16, write16=self._write_data16,
                          read32=self._read_data32, write32=self._write_data32, owner=self.name)
        board.io.register(cmd + 1, 7, read8=self._read_reg, write8=self._write_reg, owner=self.name)
        board.io.register(ctl, 1, read8=self._read_alt, write8=self._write_devctl, owner=self.name)
        self.irq = board.irq[irq]
        self.timer = board.clock.timer(f"{self.name}.busy", self._busy_done)
        if self.channel == 0:
            board.ata = self
        else:
            board.ata2 = self

    def reset(self, kind="hard"):
        self.feature = 0
        self.devctl = 0
        self.select = 0xA0
        self.multiple = [0, 0]
        self.pio_mode = [0, 0]
        self.intrq = [0, 0]
        self.xfer = None       # the data block in flight (dict), see _start_block
        self.pending = None    # what the BSY timer completes: {"unit", "action"}
        self.status = [0, 0]
        self.error = [0x01, 0x01]
        self.cur_heads = [0, 0]
        self.cur_sectors = [0, 0]
        self._signature()
        for u in (0, 1):
            img = self.images[u]
            if img is not None:
                self.status[u] = DRDY | DSC
                self.cur_heads[u], self.cur_sectors[u] = img.geometry[1], img.geometry[2]
        if hasattr(self, "timer"):
            self.timer.cancel()
            self._update_irq()

    def _signature(self):
        self.nsector, self.sector, self.lcyl, self.hcyl = 1, 1, 0, 0
        self.select = 0xA0

    # -- helpers ---------------------------------------------------------------------------
    @property
    def unit(self):
        return (self.select >> 4) & 1

    def _present(self, u):
        return self.images[u] is not None

    def _update_irq(self):
        u = self.unit
        self.irq.set(self.intrq[u] and self._present(u) and not self.devctl & NIEN)

    def _set_intrq(self, u, level):
        self.intrq[u] = 1 if level else 0
        self._update_irq()

    def _us(self, us):
        return self.board.clock.cycles_from_seconds(us / 1e6)

    def _busy(self, u, action, us=COMMAND_US, **extra):
        self.status[u] = (self.status[u] | BSY) & ~DRQ
        self.pending = dict(unit=u, action=action, **extra)
        self.timer.set_in(self._us(us))

    # -- register reads ----------------------------------------------------------------------
    def _read_reg(self, port):
        reg = port - CHANNELS[self.channel][0]
        u = self.unit
        if not self._present(0) and not self._present(1):
            return 0xFF
        if reg == 7:
            if not self._present(u):
                return 0x00
            self._set_intrq(u, 0)         # reading status acknowledges the interrupt
            return self.status[u]
        if reg == 1:
            return self.error[u] if self._present(u) else 0x00
        return (0, 0, self.nsector, self.sector, self.lcyl, self.hcyl, self.select)[reg]

    def _read_alt(self, port):
        u = self.unit
        if not self._present(0) and not self._present(1):
            return 0xFF
        return self.status[u] if self._present(u) else 0x00

    # -- register writes -----------------------------------------------------------------------
    def _write_reg(self, port, value):
        reg = port - CHANNELS[self.channel][0]
        if any(self.status[u] & BSY for u in (0, 1) if self._present(u)):
            return                            # the task file is locked while BSY
        if reg == 1:
            self.feature = value
        elif reg == 2:
            self.nsector = value
        elif reg == 3:
            self.sector = value
        elif reg == 4:
            self.lcyl = value
        elif reg == 5:
            self.hcyl = value
        elif reg == 6:
            self.select = value | 0xA0
            self._update_irq()
        else:
            self._command(value)

    def _write_devctl(self, port, value):
        old = self.devctl
        self.devctl = value & (NIEN | SRST)
        if value & SRST and not old & SRST:
            self.xfer = None
            for u in (0, 1):
                if self._present(u):
                    self.status[u] = BSY
                self.intrq[u] = 0
            self.timer.cancel()
            self.pending = None
        elif old & SRST and not value & SRST:
            self._busy(self.unit, "reset", RESET_US)
        self._update_irq()

    # -- data port ---------------------------------------------------------------------------
    def _data_in(self, n):
        x = self.xfer
        u = self.unit
        if x is None or x["dir"] != "in" or x["unit"] != u:
            return 0xFFFFFFFF if not (self._present(0) or self._present(1)) else 0
        pos = x["pos"]
        chunk = x["buf"][pos:pos + n]
        x["pos"] = pos + n
        if x["pos"] >= len(x["buf"]):
            self._block_done(x)
        return int.from_bytes(chunk.ljust(n, b"\0"), "little")

    def _data_out(self, value, n):
        x = self.xfer
        if x is None or x["dir"] != "out" or x["unit"] != self.unit:
            return
        x["buf"] = x["buf"] + value.to_bytes(n, "little")
        x["pos"] += n
        if x["pos"] >= x["size"]:
            self._block_done(x)

    def _read_data8(self, port):
        return self._data_in(1) & 0xFF

    def _read_data16(self, port):
        return self._data_in(2) & 0xFFFF

    def _read_data32(self, port):
        return self._data_in(4)

    def _write_data8(self, port, value):
        self._data_out(value & 0xFF, 1)

    def _write_data16(self, port, value):
        self._data_out(value & 0xFFFF, 2)

    def _write_data32(self, port, value):
        self._data_out(value & 0xFFFFFFFF, 4)

    # -- addressing ---------------------------------------------------------------------------
    def _cur_cylinders(self, u):
        img = self.images[u]
        per_cyl = self.cur_heads[u] * self.cur_sectors[u]
        return min(img.total_sectors // per_cyl, 65535) if per_cyl else 0

    def _lba(self, u):
        """The LBA named by the task file, or None (IDNF) when it is not on the disk."""
        img = self.images[u]
        if self.select & 0x40:
            lba = ((self.select & 0x0F) << 24) | (self.hcyl << 16) | (self.lcyl << 8) | self.sector
        else:
            c = (self.hcyl << 8) | self.lcyl
            h = self.select & 0x0F
            s = self.sector
            heads, sectors = self.cur_heads[u], self.cur_sectors[u]
            if not sectors or h >= heads or not 1 <= s <= sectors or c >= self._cur_cylinders(u):
                return None
            lba = (c * heads + h) * sectors + s - 1
        return lba if lba < img.total_sectors else None

    def _set_address(self, u, lba):
        """Put ``lba`` back in the task file in the addressing mode the host used."""
        if self.select & 0x40:
            self.sector = lba & 0xFF
            self.lcyl = (lba >> 8) & 0xFF
            self.hcyl = (lba >> 16) & 0xFF
            self.select = (self.select & 0xF0) | ((lba >> 24) & 0x0F)
        else:
            heads, sectors = self.cur_heads[u], self.cur_sectors[u]
            c, rest = divmod(lba, heads * sectors)
            h, s = divmod(rest, sectors)
            self.sector = s + 1
            self.lcyl, self.hcyl = c & 0xFF, (c >> 8) & 0xFF
            self.select = (self.select & 0xF0) | h

    # -- commands ------------------------------------------------------------------------------
    def _command(self, cmd):
        u = self.unit
        if not self._present(u):
            return
        self.xfer = None
        self._set_intrq(u, 0)
        self.error[u] = 0
        self.status[u] &= ~(ERR | DF)
        if cmd in (0x20, 0x21, 0xC4):
            if cmd == 0xC4 and not self.multiple[u]:
                return self._abort(u)
            self._busy(u, "read_block", cmd=cmd, count=self.nsector or 256, lba=None)
        elif cmd in (0x30, 0x31, 0xC5):
            if cmd == 0xC5 and not self.multiple[u]:
                return self._abort(u)
            if self.images[u].readonly:
                return self._abort(u)
            lba = self._lba(u)
            if lba is None:
                return self._finish_error(u, IDNF)
            self._busy(u, "write_ready", cmd=cmd, count=self.nsector or 256, lba=lba)
        elif cmd == 0xEC:
            self._busy(u, "identify")
        elif cmd in (0x40, 0x41, 0xC6, 0x91, 0xEF, 0x90, 0xE7, 0xE0, 0xE1, 0xE2, 0xE3, 0xE5) \
                or cmd & 0xF0 in (0x10, 0x70):
            self._busy(u, "simple", cmd=cmd)
        else:
            self._abort(u)

    def _abort(self, u):
        self._finish_error(u, ABRT)

    def _finish_error(self, u, error):
        self.error[u] = error
        self.status[u] = (self.status[u] & ~(BSY | DRQ)) | DRDY | ERR
        self.xfer = None
        self._set_intrq(u, 1)

    def _finish_ok(self, u):
        self.status[u] = (self.status[u] & ~(BSY | DRQ | ERR)) | DRDY | DSC
        self._set_intrq(u, 1)

    def _busy_done(self):
        p, self.pending = self.pending, None
        if p is None:
            return
        u, action = p["unit"], p["action"]
        if action == "reset":
            self._signature()
            for v in (0, 1):
                if self._present(v):
                    self.status[v] = DRDY | DSC
                    self.error[v] = 0x01
            self._update_irq()
        elif action == "read_block":
            self._read_block(u, p["cmd"], p["count"], p["lba"])
        elif action == "write_ready":
            self._start_block(u, p["cmd"], p["count"], p["lba"], interrupt=False)
        elif action == "write_block":
            self._write_block(u, p)
        elif action == "identify":
            self.xfer = {"unit": u, "dir": "in", "cmd": 0xEC, "buf": self._identify(u),
                         "pos": 0, "size": SECTOR, "count": 1, "lba": 0}
            self.status[u] = (self.status[u] & ~BSY) | DRQ | DRDY | DSC
            self._set_intrq(u, 1)
        else:
            self._simple(u, p["cmd"])

    def _block_sectors(self, u, cmd, count):
        return min(count, self.multiple[u]) if cmd in (0xC4, 0xC5) else 1

    def _read_block(self, u, cmd, count, lba):
        if lba is None:
            lba = self._lba(u)
        n = self._block_sectors(u, cmd, count)
        if lba is None or lba + n > self.images[u].total_sectors:
            return self._finish_error(u, IDNF)
        data = self.images[u].read_sectors(lba, n)
        self._set_address(u, lba + n - 1)
        self.nsector = (count - n) & 0xFF
        self.xfer = {"unit": u, "dir": "in", "cmd": cmd, "buf": data, "pos": 0,
                     "size": len(data), "count": count - n, "lba": lba + n}
        self.status[u] = (self.status[u] & ~BSY) | DRQ | DRDY | DSC
        self._set_intrq(u, 1)

    def _start_block(self, u, cmd, count, lba, interrupt):
        """Ask the host for the next block of a write (DRQ)."""
        n = self._block_sectors(u, cmd, count)
        if lba + n > self.images[u].total_sectors:
            self._set_address(u, min(lba, self.images[u].total_sectors - 1))
            return self._finish_error(u, IDNF)
        self.xfer = {"unit": u, "dir": "out", "cmd": cmd, "buf": b"", "pos": 0,
                     "size": n * SECTOR, "count": count, "lba": lba}
        self.status[u] = (self.status[u] & ~BSY) | DRQ | DRDY | DSC
        if interrupt:
            self._set_intrq(u, 1)

    def _block_done(self, x):
        """The host moved the whole DRQ block."""
        u = x["unit"]
        self.xfer = None
        self.status[u] &= ~DRQ
        if x["dir"] == "in":
            if x["cmd"] != 0xEC and x["count"]:
                self._busy(u, "read_block", cmd=x["cmd"], count=x["count"], lba=x["lba"])
            return
        self._busy(u, "write_block", cmd=x["cmd"], count=x["count"], lba=x["lba"],
                   data=bytes(x["buf"][:x["size"]]))

    def _write_block(self, u, p):
        data, lba = p["data"], p["lba"]
        n = len(data) // SECTOR
        self.images[u].write_sectors(lba, data)
        self._set_address(u, lba + n - 1)
        count = p["count"] - n
        self.nsector = count & 0xFF
        if count:
            self._start_block(u, p["cmd"], count, lba + n, interrupt=True)
        else:
            self._finish_ok(u)

    def _simple(self, u, cmd):
        img = self.images[u]
        if cmd in (0x40, 0x41):                   # READ VERIFY SECTORS
            lba = self._lba(u)
            count = self.nsector or 256
            if lba is None:
                return self._finish_error(u, IDNF)
            last = min(lba + count, img.total_sectors) - 1
            self._set_address(u, last)
            if lba + count > img.total_sectors:
                return self._finish_error(u, IDNF)
            self.nsector = 0
        elif cmd & 0xF0 == 0x10:                  # RECALIBRATE
            if not self.select & 0x40:
                self.lcyl = self.hcyl = 0
        elif cmd & 0xF0 == 0x70:                  # SEEK
            if self._lba(u) is None:
                return self._finish_error(u, IDNF)
        elif cmd == 0xC6:                         # SET MULTIPLE MODE
            n = self.nsector
            if n > MAX_MULTIPLE or n & (n - 1):
                return self._abort(u)
            self.multiple[u] = n
        elif cmd == 0x91:                         # INITIALIZE DEVICE PARAMETERS
            heads, sectors = (self.select & 0x0F) + 1, self.nsector
            if not sectors:
                return self._abort(u)
            self.cur_heads[u], self.cur_sectors[u] = heads, sectors
        elif cmd == 0xEF:                         # SET FEATURES
            if self.feature == 0x03:
                mode = self.nsector
                if mode in (0x00, 0x01):
                    self.pio_mode[u] = 0
                elif 0x08 <= mode <= 0x0C:
                    self.pio_mode[u] = mode & 7
                else:
                    return self._abort(u)        # no DMA modes
            elif self.feature not in (0x02, 0x82, 0x55, 0xAA, 0x66, 0xCC):
                return self._abort(u)
        elif cmd == 0x90:                         # EXECUTE DEVICE DIAGNOSTIC
            self._signature()
            for v in (0, 1):
                if self._present(v):
                    self.error[v] = 0x01
                    self.status[v] = DRDY | DSC
            # the master reports; with no master the slave does
            self._set_intrq(0 if self._present(0) else 1, 1)
            return
        elif cmd == 0xE7:                         # FLUSH CACHE
            img.flush()
        elif cmd == 0xE5:                         # CHECK POWER MODE: active
            self.nsector = 0xFF
        self._finish_ok(u)

    def _identify(self, u):
        img = self.images[u]
        cyls, heads, sectors = img.geometry
        w = [0] * 256
        w[0] = 0x0040                              # fixed disk
        w[1], w[3], w[6] = cyls, heads, sectors
        w[10:20] = ata_string(f"PYVMM{self.channel}{u}{img.total_sectors:010d}", 20)
        w[23:27] = ata_string(self.firmware, 8)
        w[27:47] = ata_string(self.model, 40)
        w[47] = 0x8000 | MAX_MULTIPLE
        w[48] = 0x0001                              # 32-bit data port transfers
        w[49] = 0x0E00                              # LBA, IORDY, IORDY can be disabled
        w[51] = 0x0200                              # PIO timing mode 2
        w[53] = 0x0003                              # words 54-58 and 64-70 valid
        cur_c = self._cur_cylinders(u)
        w[54], w[55], w[56] = cur_c, self.cur_heads[u], self.cur_sectors[u]
        cap = cur_c * self.cur_heads[u] * self.cur_sectors[u]
        w[57], w[58] = cap & 0xFFFF, cap >> 16
        w[59] = (0x0100 | self.multiple[u]) if self.multiple[u] else 0
        w[60], w[61] = img.total_sectors & 0xFFFF, img.total_sectors >> 16
        w[64] = 0x0003                              # PIO modes 3 and 4
        w[65] = w[66] = w[67] = w[68] = 120
        w[80] = 0x000E                              # ATA-1 to ATA-3
        return b"".join(v.to_bytes(2, "little") for v in w)

    # -- state ------------------------------------------------------------------------------------
    def get_state(self):
        state = super().get_state()
        if self.xfer is not None:
            state["xfer"] = dict(self.xfer, buf=bytes(self.xfer["buf"]))
        if self.pending is not None:
            state["pending"] = dict(self.pending)
        return state

    def set_state(self, state):
        super().set_state(state)
        if self.xfer is not None:
            self.xfer = dict(self.xfer, buf=bytes(self.xfer["buf"]))
        if self.pending is not None:
            self.pending = dict(self.pending)
        self._update_irq()
