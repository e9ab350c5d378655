"""ATA/IDE controller driven through its ports, IRQ 14/15 and the clock."""
import random

import pytest

from pyvmm.board import Board
from pyvmm.devices.ata import ATAController
from pyvmm.storage.image import DiskImage

MB = 1 << 20


def make_disk(tmp_path, size=4 * MB, name="hd.img", seed=5, **kw):
    data = random.Random(seed).randbytes(size)
    path = tmp_path / name
    path.write_bytes(data)
    return path, data, DiskImage.open(path, kind="hd", **kw)


class Rig:
    def __init__(self, channel=0):
        self.b = Board()
        self.ata = self.b.attach(ATAController(channel=channel))
        self.base, self.ctl = (0x1F0, 0x3F6) if channel == 0 else (0x170, 0x376)
        self.irq = self.b.irq[14 + channel]
        self.io = self.b.io

    def reg(self, n):
        return self.io.inb(self.base + n)

    def set(self, n, v):
        self.io.outb(self.base + n, v)

    def alt(self):
        return self.io.inb(self.ctl)

    def wait(self, mask=0x80, value=0, limit=1000):
        for _ in range(limit):
            if self.alt() & mask == value:
                return self.alt()
            self.b.clock.advance(self.b.clock.cycles_from_seconds(2e-6))
        raise AssertionError(f"status {self.alt():#x} never matched")

    def wait_irq(self):
        for _ in range(1000):
            if self.irq.level:
                return
            self.b.clock.advance(self.b.clock.cycles_from_seconds(2e-6))
        raise AssertionError("no interrupt")

    def lba(self, lba, count, dev=0):
        self.set(6, 0xE0 | (dev << 4) | (lba >> 24))
        self.set(2, count & 0xFF)
        self.set(3, lba & 0xFF)
        self.set(4, (lba >> 8) & 0xFF)
        self.set(5, (lba >> 16) & 0xFF)

    def chs(self, c, h, s, count, dev=0):
        self.set(6, 0xA0 | (dev << 4) | h)
        self.set(2, count & 0xFF)
        self.set(3, s)
        self.set(4, c & 0xFF)
        self.set(5, c >> 8)

    def read_block(self, words=256, width=16):
        out = bytearray()
        if width == 16:
            for _ in range(words):
                out += self.io.inw(self.base).to_bytes(2, "little")
        else:
            for _ in range(words // 2):
                out += self.io.ind(self.base).to_bytes(4, "little")
        return bytes(out)

    def write_block(self, data, width=16):
        step = width // 8
        for i in range(0, len(data), step):
            v = int.from_bytes(data[i:i + step], "little")
            (self.io.outw if width == 16 else self.io.outd)(self.base, v)

    def pio_read(self, sectors_per_block, total, width=16):
        out = b""
        while total:
            self.wait_irq()
            st = self.reg(7)                      # acknowledges the interrupt
            assert st & 0x89 == 0x08, hex(st)
            assert not self.irq.level
            n = min(sectors_per_block, total)
            out += self.read_block(256 * n, width)
            total -= n
        assert self.wait() & 0xC9 == 0x40
        return out

    def pio_write(self, data, sectors_per_block, width=16):
        self.wait(0x88, 0x08)                     # DRQ for the first block, no IRQ
        assert not self.irq.level
        pos = 0
        while pos < len(data):
            n = min(sectors_per_block * 512, len(data) - pos)
            self.write_block(data[pos:pos + n], width)
            pos += n
            self.wait_irq()
            st = self.reg(7)
            if pos < len(data):
                assert st & 0x89 == 0x08
        assert st & 0xC9 == 0x40


@pytest.fixture
def rig(tmp_path):
    r = Rig()
    r.path, r.data, r.img = make_disk(tmp_path)
    r.ata.attach_disk(0, r.img)
    return r


def words(block):
    return [int.from_bytes(block[i:i + 2], "little") for i in range(0, 512, 2)]


def string(ws):
    return b"".join(w.to_bytes(2, "big") for w in ws).decode().rstrip()


def test_identify(rig):
    rig.set(6, 0xA0)
    rig.set(7, 0xEC)
    assert rig.alt() & 0x80                       # BSY first
    assert not rig.irq.level
    w = words(rig.pio_read(1, 1))
    total = 4 * MB // 512
    assert w[0] == 0x0040
    assert (w[1], w[3], w[6]) == (8, 16, 63)       # 4 MiB: 8 x 16 x 63
    assert (w[54], w[55], w[56]) == (8, 16, 63)
    assert w[57] | (w[58] << 16) == 8 * 16 * 63
    assert w[60] | (w[61] << 16) == total
    assert w[49] & 0x0200 and w[49] & 0x0800       # LBA, IORDY
    assert w[47] == 0x8010 and w[59] == 0
    assert string(w[27:47]) == "PYVMM HARDDISK"
    assert string(w[23:27]) == "1.0"
    assert string(w[10:20]).startswith("PYVMM00")
    assert w[53] & 1 and w[64] == 3


def test_read_sectors_lba_and_chs_16_and_32_bit(rig):
    rig.lba(100, 3)
    rig.set(7, 0x20)
    assert rig.pio_read(1, 3) == rig.data[100 * 512:103 * 512]
    # the task file names the last sector read, the count is done
    assert (rig.reg(3), rig.reg(4), rig.reg(5), rig.reg(6) & 0x0F, rig.reg(2)) == (102, 0, 0, 0, 0)
    rig.chs(2, 5, 7, 2)                           # LBA (2*16+5)*63+6
    rig.set(7, 0x21)
    lba = (2 * 16 + 5) * 63 + 6
    assert rig.pio_read(1, 2, width=32) == rig.data[lba * 512:(lba + 2) * 512]
    assert (rig.reg(3), rig.reg(4), rig.reg(6) & 0x0F) == (8, 2, 5)


def test_write_sectors_reach_the_file(rig):
    payload = random.Random(9).randbytes(4 * 512)
    rig.lba(8000, 4)
    rig.set(7, 0x30)
    rig.pio_write(payload, 1)
    rig.img.close()
    out = rig.path.read_bytes()
    assert out[8000 * 512:8004 * 512] == payload
    assert out[:8000 * 512] == rig.data[:8000 * 512]
    assert out[8004 * 512:] == rig.data[8004 * 512:]


def test_multiple_mode(rig):
    rig.lba(0, 5)
    rig.set(7, 0xC4)                               # READ MULTIPLE before SET MULTIPLE
    rig.wait_irq()
    assert rig.reg(7) == 0x51 and rig.reg(1) == 0x04
    rig.set(2, 3)
    rig.set(7, 0xC6)                               # not a power of two
    rig.wait_irq()
    assert rig.reg(7) & 1 and rig.reg(1) == 0x04
    rig.set(2, 4)
    rig.set(7, 0xC6)
    rig.wait_irq()
    assert rig.reg(7) == 0x50
    rig.lba(50, 10)
    rig.set(7, 0xC4)
    edges = rig.irq.rising_edges
    assert rig.pio_read(4, 10) == rig.data[50 * 512:60 * 512]
    assert rig.irq.rising_edges - edges == 3       # blocks of 4, 4, 2
    payload = random.Random(1).randbytes(6 * 512)
    rig.lba(300, 6)
    rig.set(7, 0xC5)
    rig.pio_write(payload, 4, width=32)
    assert rig.img.read_sectors(300, 6) == payload
    rig.set(7, 0xEC)
    assert words(rig.pio_read(1, 1))[59] == 0x0104


def test_errors_idnf_abort_and_verify_seek(rig):
    total = 4 * MB // 512
    rig.lba(total - 1, 2)                          # runs off the end
    rig.set(7, 0x40)
    rig.wait_irq()
    assert rig.reg(7) == 0x51 and rig.reg(1) == 0x10
    rig.lba(total, 1)
    rig.set(7, 0x20)
    rig.wait_irq()
    assert rig.reg(7) == 0x51 and rig.reg(1) == 0x10
    rig.lba(total, 1)
    rig.set(7, 0x30)
    rig.wait_irq()
    assert rig.reg(7) == 0x51 and rig.reg(1) == 0x10
    rig.chs(0, 0, 64, 1)                           # sector 64 of 63
    rig.set(7, 0x70)
    rig.wait_irq()
    assert rig.reg(1) == 0x10
    rig.chs(7, 15, 63, 1)
    rig.set(7, 0x70)
    rig.wait_irq()
    assert rig.reg(7) == 0x50 and rig.reg(1) == 0
    rig.lba(10, 0)                                 # count 0 = 256 sectors
    rig.set(7, 0x40)
    rig.wait_irq()
    assert rig.reg(7) == 0x50 and rig.reg(3) == (10 + 255) & 0xFF
    rig.set(7, 0xA1)                               # IDENTIFY PACKET: not ATAPI
    rig.wait_irq()
    assert rig.reg(7) == 0x51 and rig.reg(1) == 0x04
    rig.set(1, 0x03)
    rig.set(2, 0x22)                               # multiword DMA: refused
    rig.set(7, 0xEF)
    rig.wait_irq()
    assert rig.reg(1) == 0x04
    rig.set(2, 0x0C)                               # PIO 4 with flow control
    rig.set(7, 0xEF)
    rig.wait_irq()
    assert rig.reg(7) == 0x50 and rig.ata.pio_mode[0] == 4
    rig.chs(3, 0, 1, 1)
    rig.set(7, 0x10)                               # RECALIBRATE
    rig.wait_irq()
    assert rig.reg(7) == 0x50 and rig.reg(4) == 0


def test_readonly_image_aborts_writes(tmp_path):
    r = Rig()
    path, data, img = make_disk(tmp_path, readonly=True)
    r.ata.attach_disk(0, img)
    r.lba(0, 1)
    r.set(7, 0x30)
    r.wait_irq()
    assert r.reg(7) == 0x51 and r.reg(1) == 0x04


def test_initialize_device_parameters_translation(rig):
    rig.chs(0, 7, 0, 32)                           # 8 heads, 32 sectors
    rig.set(7, 0x91)
    rig.wait_irq()
    assert rig.reg(7) == 0x50
    rig.chs(3, 2, 5, 1)
    rig.set(7, 0x20)
    lba = (3 * 8 + 2) * 32 + 4
    assert rig.pio_read(1, 1) == rig.data[lba * 512:(lba + 1) * 512]
    rig.set(7, 0xEC)
    w = words(rig.pio_read(1, 1))
    assert (w[54], w[55], w[56]) == (4 * MB // 512 // 256, 8, 32)
    assert (w[1], w[3], w[6]) == (8, 16, 63)
    rig.chs(0, 7, 0, 0)
    rig.set(7, 0x91)                               # zero sectors per track
    rig.wait_irq()
    assert rig.reg(1) == 0x04


def test_status_read_clears_irq_alt_status_does_not_nien(rig):
    rig.lba(0, 1)
    rig.set(7, 0x40)
    rig.wait_irq()
    assert rig.alt() == 0x50 and rig.irq.level     # alt status leaves it pending
    rig.reg(7)
    assert not rig.irq.level
    rig.io.outb(0x3F6, 0x02)                       # nIEN
    rig.set(7, 0x40)
    rig.wait(0x80, 0)
    assert not rig.irq.level and rig.ata.intrq[0]
    rig.io.outb(0x3F6, 0x00)
    assert rig.irq.level


def test_srst_signature_and_diagnostic(tmp_path):
    r = Rig()
    _, _, m = make_disk(tmp_path, name="m.img")
    _, _, s = make_disk(tmp_path, name="s.img")
    r.ata.attach_disk(0, m)
    r.ata.attach_disk(1, s)
    r.lba(1234, 9, dev=1)
    r.io.outb(0x3F6, 0x04)
    assert r.alt() & 0x80
    r.set(2, 0x55)                                 # ignored while BSY
    r.io.outb(0x3F6, 0x00)
    r.wait()
    assert [r.reg(n) for n in (1, 2, 3, 4, 5, 6)] == [0x01, 1, 1, 0, 0, 0xA0]
    assert r.reg(7) == 0x50 and not r.irq.level
    r.set(6, 0xB0)
    assert r.reg(7) == 0x50 and r.reg(1) == 0x01
    r.set(7, 0x90)                                 # EXECUTE DEVICE DIAGNOSTIC
    r.wait()
    assert r.reg(6) == 0xA0 and r.reg(1) == 0x01 and r.irq.level


def test_absent_devices(tmp_path):
    r = Rig(channel=1)
    assert r.reg(7) == 0xFF and r.alt() == 0xFF and r.io.inw(0x170) == 0xFFFF
    _, data, img = make_disk(tmp_path)
    r.ata.attach_disk(1, img)                      # a lone slave
    r.set(6, 0xA0)
    assert r.reg(7) == 0x00 and r.alt() == 0x00
    r.set(7, 0xEC)                                 # the absent master ignores commands
    r.b.clock.advance(10000)
    assert r.reg(7) == 0x00 and not r.irq.level
    r.set(6, 0xB0)
    assert r.reg(7) == 0x50
    r.lba(7, 1, dev=1)
    r.set(7, 0x20)
    assert r.pio_read(1, 1) == data[7 * 512:8 * 512]
    assert r.irq is r.b.irq[15]


def test_snapshot_disk_keeps_file(tmp_path):
    import hashlib
    r = Rig()
    path, data, img = make_disk(tmp_path, snapshot=True)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    r.ata.attach_disk(0, img)
    payload = b"\x5A" * 1024
    r.lba(3, 2)
    r.set(7, 0x30)
    r.pio_write(payload, 1)
    r.lba(3, 2)
    r.set(7, 0x20)
    assert r.pio_read(1, 2) == payload
    img.close()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def plain(value):
    if isinstance(value, dict):
        return all(isinstance(k, (str, int)) and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    return value is None or isinstance(value, (bool, int, str, bytes))


def test_state_roundtrip_mid_transfer(rig):
    assert rig.ata.cmos_disk(0) == 47 and rig.ata.cmos_disk(1) == 0
    rig.lba(20, 2)
    rig.set(7, 0x20)
    rig.wait_irq()
    rig.reg(7)
    first = rig.read_block(100)
    state = rig.ata.get_state()
    assert plain(state)
    rest = rig.read_block(156)
    rig.ata.set_state(state)
    assert rig.read_block(156) == rest
    assert first + rest == rig.data[20 * 512:21 * 512]


def test_fuzz_never_raises(rig):
    rnd = random.Random(4)
    ports = list(range(0x1F0, 0x1F8)) + [0x3F6]
    for _ in range(20000):
        p = rnd.choice(ports)
        op = rnd.random()
        if op < 0.4:
            rig.io.inb(p)
        elif op < 0.5:
            rig.io.inw(0x1F0)
        else:
            v = rnd.randrange(256)
            if p == 0x3F6:
                v &= 0x06 if rnd.random() < 0.1 else 0x02
            rig.io.outb(p, v)
        if rnd.random() < 0.02:
            rig.b.clock.advance(rnd.randrange(2000))
