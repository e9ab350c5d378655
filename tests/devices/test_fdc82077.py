"""82077AA floppy controller, driven through its ports, the 8237 DMA (ports) and IRQ 6."""
import hashlib
import os
import random

import pytest

from pyvmm.board import Board
from pyvmm.devices.dma8237 import DMAController
from pyvmm.devices.fdc82077 import FDC82077
from pyvmm.storage.image import DiskImage

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "images")
SIZES = {          # name -> (bytes, cylinders, heads, sectors, drive type, DSR rate code)
    "160K": (163840, 40, 1, 8, "360K", 2),
    "180K": (184320, 40, 1, 9, "360K", 2),
    "320K": (327680, 40, 2, 8, "360K", 2),
    "360K": (368640, 40, 2, 9, "360K", 2),
    "720K": (737280, 80, 2, 9, "720K", 2),
    "1.2M": (1228800, 80, 2, 15, "1.2M", 0),
    "1.44M": (1474560, 80, 2, 18, "1.44M", 0),
    "2.88M": (2949120, 80, 2, 36, "2.88M", 3),
}
BUF = 0x10000      # DMA buffer (page 1)
FDC, MSR, FIFO, DIR, DOR, DSR = 0x3F0, 0x3F4, 0x3F5, 0x3F7, 0x3F2, 0x3F4


def make_image(tmp_path, size, name="disk.img", seed=1):
    data = random.Random(seed).randbytes(size)
    path = tmp_path / name
    path.write_bytes(data)
    return path, data


class Rig:
    def __init__(self, drives=("1.44M", "1.44M")):
        self.b = Board()
        self.b.mem.map_ram(0, 0xA0000)
        self.dma = self.b.attach(DMAController())
        self.fdc = self.b.attach(FDC82077(drives=drives))
        self.io = self.b.io
        self.irq = self.b.irq[6]
        self.io.outb(0xD6, 0xC0)     # channel 4 cascade, unmasked: channels 0-3 work
        self.io.outb(0xD4, 0x00)

    def reset(self, motors=0x10):
        self.io.outb(DOR, 0x00)
        self.io.outb(DOR, 0x0C | motors)
        assert self.irq.level == 1
        for d in range(4):
            assert self.cmd(0x08) == [0xC0 | d, 0]
        assert self.irq.level == 0

    def msr(self):
        return self.io.inb(MSR)

    def out(self, *values):
        for v in values:
            assert self.msr() & 0xC0 == 0x80, f"MSR {self.msr():#x} not ready for a command byte"
            self.io.outb(FIFO, v)

    def results(self):
        out = []
        while self.msr() & 0xD0 == 0xD0:
            out.append(self.io.inb(FIFO))
        return out

    def cmd(self, *values):
        self.out(*values)
        return self.results()

    def wait_irq(self, ms=2000):
        for _ in range(ms * 10):
            if self.irq.level:
                return True
            self.b.clock.advance(self.b.clock.cycles_from_seconds(0.0001))
        return False

    def seek(self, drive, cyl, head=0):
        self.out(0x0F, (head << 2) | drive, cyl)
        assert self.msr() & (1 << drive)           # drive busy while seeking
        assert self.wait_irq()
        st0, pcn = self.cmd(0x08)
        assert st0 == 0x20 | drive and pcn == cyl
        assert not self.msr() & (1 << drive)

    def dma_program(self, mode, addr, count):
        io = self.io
        io.outb(0x0A, 0x06)          # mask channel 2
        io.outb(0x0C, 0)
        io.outb(0x0B, mode)
        io.outb(0x04, addr & 0xFF)
        io.outb(0x04, (addr >> 8) & 0xFF)
        io.outb(0x81, addr >> 16)
        io.outb(0x05, (count - 1) & 0xFF)
        io.outb(0x05, (count - 1) >> 8)
        io.outb(0x0A, 0x02)          # unmask

    def mem(self, addr, n):
        return self.b.mem.data[addr:addr + n].tobytes()

    def poke(self, addr, data):
        self.b.mem.data[addr:addr + len(data)] = list(data)

    def rw(self, op, drive, c, h, r, eot, count, mt=True, addr=BUF):
        self.dma_program(0x46 if op == 0x06 else 0x4A, addr, count * 512)
        self.out(op | (0x80 if mt else 0) | 0x40, (h << 2) | drive, c, h, r, 2, eot, 0x1B, 0xFF)
        assert self.wait_irq()
        res = self.results()
        assert self.irq.level == 0          # reading the result cleared INT
        return res


@pytest.fixture
def rig():
    r = Rig()
    r.reset()
    return r


def insert(rig, tmp_path, size=1474560, drive=0, **kw):
    path, data = make_image(tmp_path, size, name=f"d{drive}.img")
    img = DiskImage.open(path, **kw)
    rig.fdc.insert(drive, img)
    return path, data, img


# -- registers ------------------------------------------------------------------
def test_power_on_reset_and_registers():
    r = Rig()
    assert r.io.inb(DOR) == 0 and r.msr() == 0      # held in reset
    r.io.outb(DOR, 0x1C)
    assert r.irq.level and r.msr() == 0x80
    assert r.io.inb(0x3F0) & 0x80                     # SRA shows INT
    assert r.io.inb(0x3F1) == 0xC1                    # SRB: motor 0 on, drive 0
    for d in range(4):
        assert r.cmd(0x08) == [0xC0 | d, 0]
    assert r.cmd(0x08) == [0x80]                      # nothing pending: invalid
    r.io.outb(0x3F3, 0x02)
    assert r.io.inb(0x3F3) & 3 == 2
    r.io.outb(DOR, 0x14)                              # DMA gate off: INT not on the bus
    r.io.outb(DSR, 0x80)                              # software reset
    assert r.fdc.int_pending and not r.irq.level
    r.io.outb(DOR, 0x1C)
    assert r.irq.level


def test_version_invalid_configure_dumpreg_lock_perpendicular(rig):
    assert rig.cmd(0x10) == [0x90]
    assert rig.cmd(0x1F) == [0x80]
    assert rig.cmd(0x00) == [0x80]
    assert rig.cmd(0x03, 0xAF, 0x02) == []                        # SPECIFY
    assert rig.cmd(0x13, 0x00, 0x57, 0x05) == []                  # CONFIGURE
    assert rig.cmd(0x12, 0x80 | (0x3 << 2) | 0x2) == []           # PERPENDICULAR
    dump = rig.cmd(0x0E)
    assert dump == [0, 0, 0, 0, 0xAF, 0x02, 0, (3 << 2) | 2, 0x57, 0x05]
    assert rig.cmd(0x94) == [0x10]                                # LOCK
    rig.io.outb(DSR, 0x80)
    for d in range(4):
        rig.cmd(0x08)
    dump = rig.cmd(0x0E)
    assert dump[8] == 0x57 and dump[9] == 0x05 and dump[7] == (3 << 2) | 0x80  # kept, GAP cleared
    assert rig.cmd(0x14) == [0x00]
    rig.io.outb(DSR, 0x80)
    dump = rig.cmd(0x0E)
    assert dump[8] == 0x20 and dump[9] == 0                       # back to defaults
    for d in range(4):
        rig.cmd(0x08)
    # a (locked) CONFIGURE with polling disabled: no interrupt after a reset
    rig.cmd(0x13, 0x00, 0x10, 0x00)
    rig.cmd(0x94)
    rig.io.outb(DSR, 0x80)
    assert not rig.irq.level and rig.cmd(0x08) == [0x80]


def test_msr_phases(rig, tmp_path):
    insert(rig, tmp_path)
    rig.io.outb(DSR, 0x00)
    assert rig.msr() == 0x80
    rig.io.outb(FIFO, 0x46)
    assert rig.msr() == 0x90                       # command in progress
    for v in (0, 0, 0, 1, 2, 18, 0x1B):
        rig.io.outb(FIFO, v)
    rig.dma_program(0x46, BUF, 512)
    rig.io.outb(FIFO, 0xFF)
    assert rig.msr() == 0x10                       # execution, DMA
    assert rig.wait_irq()
    assert rig.msr() == 0xD0                       # result
    assert len(rig.results()) == 7 and rig.msr() == 0x80


# -- seeks and sensing -------------------------------------------------------------------
def test_seek_recalibrate_and_timing(rig, tmp_path):
    insert(rig, tmp_path)
    rig.cmd(0x03, 0xCF, 0x02)                       # SRT=C: 4 ms steps at 500k
    rig.io.outb(DSR, 0x00)
    rig.out(0x0F, 0x00, 10)
    clk = rig.b.clock
    clk.advance(clk.cycles_from_seconds(0.050))     # 10 steps * 4 ms = 40 ms + settle
    assert not rig.irq.level
    clk.advance(clk.cycles_from_seconds(0.006))
    assert rig.irq.level
    assert rig.cmd(0x08) == [0x20, 10]
    assert rig.cmd(0x04, 0x04) == [0x28 | 0x04]     # ST3: ready, two-sided, head 1, not T0
    rig.out(0x07, 0x00)
    assert rig.wait_irq()
    assert rig.cmd(0x08) == [0x20, 0]
    assert rig.cmd(0x04, 0x00) == [0x38]            # track 0
    # two overlapped seeks: two interrupts' worth of status, in completion order
    rig.out(0x0F, 0x00, 2)
    rig.out(0x0F, 0x01, 1)
    assert rig.msr() & 0x03 == 0x03
    assert rig.wait_irq()
    clk.advance(clk.cycles_from_seconds(0.1))
    assert rig.cmd(0x08) == [0x21, 1]
    assert rig.irq.level                            # the second one is still pending
    assert rig.cmd(0x08) == [0x20, 2]
    assert not rig.irq.level


def test_relative_seek(rig, tmp_path):
    insert(rig, tmp_path)
    rig.seek(0, 10)
    rig.out(0xCF, 0x00, 5)                          # 5 tracks inward
    assert rig.wait_irq()
    assert rig.cmd(0x08) == [0x20, 15]
    rig.out(0x8F, 0x00, 20)                         # outward, stops at 0
    assert rig.wait_irq()
    assert rig.cmd(0x08) == [0x20, 0]
    assert rig.cmd(0x04, 0x00)[0] & 0x10


def test_eject_during_pio_read(rig, tmp_path):
    insert(rig, tmp_path)
    rig.io.outb(DSR, 0x00)
    rig.cmd(0x03, 0xDF, 0x03)
    rig.out(0x46, 0x00, 0, 0, 1, 2, 18, 0x1B, 0xFF)
    assert rig.wait_irq()
    for _ in range(100):
        rig.io.inb(FIFO)
    rig.fdc.eject(0)
    for _ in range(412):
        rig.io.inb(FIFO)
    assert rig.wait_irq()
    assert rig.results()[0] == 0x48


def test_dmf_disk_reads_in_a_144m_drive(rig, tmp_path):
    import struct
    data = bytearray(random.Random(2).randbytes(80 * 2 * 21 * 512))
    data[0:3] = b"\xEB\x3C\x90"
    struct.pack_into("<HBHBHHBHHH", data, 11, 512, 4, 1, 2, 16, 3360, 0xF0, 3, 21, 2)
    path = tmp_path / "dmf.img"
    path.write_bytes(bytes(data))
    rig.fdc.insert(0, DiskImage.open(path))
    rig.io.outb(DSR, 0x00)
    rig.seek(0, 79)
    rig.rw(0x06, 0, 79, 0, 1, 21, 42)
    lba = 79 * 2 * 21
    assert rig.mem(BUF, 42 * 512) == bytes(data[lba * 512:(lba + 42) * 512])


def test_recalibrate_beyond_79_tracks_sets_ec(rig, tmp_path):
    rig.cmd(0x03, 0xFF, 0x02)            # 1 ms steps
    rig.io.outb(DSR, 0x00)
    rig.seek(0, 83)                      # a drive steps a few tracks past 79
    rig.out(0x07, 0x00)
    assert rig.wait_irq()
    st0, pcn = rig.cmd(0x08)
    assert st0 == 0x70 and pcn == 0
    rig.out(0x07, 0x00)
    assert rig.wait_irq()
    assert rig.cmd(0x08) == [0x20, 0]


def test_sense_drive_status_write_protect(rig, tmp_path):
    insert(rig, tmp_path, readonly=True)
    assert rig.cmd(0x04, 0x00) == [0x78]


# -- data transfers ---------------------------------------------------------------------------
def test_read_data_dma_multitrack(rig, tmp_path):
    _, data, _ = insert(rig, tmp_path)
    rig.io.outb(DSR, 0x00)
    rig.seek(0, 5)
    # start at sector 17 side 0, 4 sectors with MT: 17, 18 (side 0), 1, 2 (side 1)
    res = rig.rw(0x06, 0, 5, 0, 17, 18, 4)
    lba = (5 * 2 + 0) * 18 + 16
    assert rig.mem(BUF, 4 * 512) == data[lba * 512:(lba + 4) * 512]
    assert res == [0x04, 0, 0, 5, 1, 3, 2]          # ST0 reports head 1; next sector 3
    # last sector of side 1: the chip reports C+1, H toggled, R=1
    res = rig.rw(0x06, 0, 5, 1, 18, 18, 1)
    assert res == [0x04, 0, 0, 6, 0, 1, 2]
    # without MT the cylinder ends at EOT of side 0
    res = rig.rw(0x06, 0, 5, 0, 18, 18, 1, mt=False)
    assert res == [0x00, 0, 0, 6, 0, 1, 2]
    assert rig.mem(BUF, 512) == data[((5 * 2) * 18 + 17) * 512:((5 * 2) * 18 + 18) * 512]


def test_read_past_eot_without_tc(rig, tmp_path):
    _, data, _ = insert(rig, tmp_path)
    rig.io.outb(DSR, 0x00)
    res = rig.rw(0x06, 0, 0, 0, 17, 18, 4, mt=False)    # DMA wants 4, track has 2 left
    assert res == [0x40, 0x80, 0, 1, 0, 1, 2]           # abnormal, EN
    assert rig.mem(BUF, 1024) == data[16 * 512:18 * 512]


def test_write_data_dma_then_read_back(rig, tmp_path):
    path, data, img = insert(rig, tmp_path)
    rig.io.outb(DSR, 0x00)
    rig.seek(0, 79)
    payload = random.Random(7).randbytes(3 * 512)
    rig.poke(BUF, payload)
    res = rig.rw(0x05, 0, 79, 1, 16, 18, 3)
    assert res == [0x04, 0, 0, 80, 0, 1, 2]             # TC on the last sector: C+1, H toggled
    img.close()
    lba = (79 * 2 + 1) * 18 + 15
    on_disk = path.read_bytes()
    assert on_disk[lba * 512:(lba + 3) * 512] == payload
    assert on_disk[:lba * 512] == data[:lba * 512]


def test_write_exact_count_ends_with_tc(rig, tmp_path):
    path, data, img = insert(rig, tmp_path)
    rig.io.outb(DSR, 0x00)
    payload = bytes(range(256)) * 4
    rig.poke(BUF, payload)
    res = rig.rw(0x05, 0, 0, 0, 1, 18, 2)
    assert res == [0x00, 0, 0, 0, 0, 3, 2]
    assert img.read_sectors(0, 2) == payload


def test_errors_no_disk_not_found_write_protect_rate(rig, tmp_path):
    rig.io.outb(DSR, 0x00)
    res = rig.rw(0x06, 0, 0, 0, 1, 18, 1)
    assert res[0] == 0x48                                # not ready
    _, data, img = insert(rig, tmp_path, readonly=True)
    res = rig.rw(0x06, 0, 0, 0, 19, 19, 1)
    assert res[:3] == [0x40, 0x04, 0x00]                 # sector 19: not found
    res = rig.rw(0x06, 0, 3, 0, 1, 18, 1)
    assert res[:3] == [0x40, 0x04, 0x10]                 # wrong cylinder
    res = rig.rw(0x05, 0, 0, 0, 1, 18, 1)
    assert res[:3] == [0x40, 0x02, 0x00]                 # write protected
    rig.io.outb(DSR, 0x02)                               # 250 kbps for an HD disk
    res = rig.rw(0x06, 0, 0, 0, 1, 18, 1)
    assert res[:3] == [0x40, 0x01, 0x00]                 # missing address mark
    rig.io.outb(0x3F7, 0x00)                             # CCR back to 500
    res = rig.rw(0x06, 0, 0, 0, 1, 18, 1)
    assert res[:3] == [0x00, 0, 0]
    rig.io.outb(DOR, 0x0C)                               # motor off
    res = rig.rw(0x06, 0, 0, 0, 1, 18, 1)
    assert res[0] == 0x48


def test_read_id_verify_format(rig, tmp_path):
    path, data, img = insert(rig, tmp_path)
    rig.io.outb(DSR, 0x00)
    rig.seek(0, 3)
    rig.out(0x4A, 0x04)
    assert rig.wait_irq()
    st0, st1, st2, c, h, r, n = rig.results()
    assert (st0, st1, st2, c, h, n) == (0x04, 0, 0, 3, 1, 2) and 1 <= r <= 18
    # VERIFY with EC: 20 sectors from side 0 sector 10 run onto side 1
    rig.out(0xD6, 0x80, 3, 0, 10, 2, 18, 0x1B, 20)
    assert rig.wait_irq()
    assert rig.results() == [0x04, 0, 0, 3, 1, 12, 2]
    rig.out(0x56, 0x00, 3, 0, 20, 2, 18, 0x1B, 0xFF)
    assert rig.wait_irq()
    assert rig.results()[:2] == [0x40, 0x04]
    # FORMAT TRACK cylinder 3 head 1 with fill F6
    ids = b"".join(bytes([3, 1, s, 2]) for s in range(1, 19))
    rig.poke(BUF, ids)
    rig.dma_program(0x4A, BUF, len(ids))
    rig.out(0x4D, 0x04, 2, 18, 0x54, 0xF6)
    assert rig.wait_irq()
    assert rig.results()[:3] == [0x04, 0, 0]
    img.close()
    out = path.read_bytes()
    lba = (3 * 2 + 1) * 18
    assert out[lba * 512:(lba + 18) * 512] == b"\xF6" * 18 * 512
    assert out[:lba * 512] == data[:lba * 512]
    assert out[(lba + 18) * 512:] == data[(lba + 18) * 512:]


def test_pio_mode_read_and_write(rig, tmp_path):
    path, data, img = insert(rig, tmp_path)
    rig.io.outb(DSR, 0x00)
    rig.cmd(0x03, 0xDF, 0x03)                    # ND: non-DMA
    rig.out(0x46, 0x00, 0, 0, 17, 2, 18, 0x1B, 0xFF)
    got = bytearray()
    while True:
        assert rig.wait_irq()
        msr = rig.msr()
        if msr & 0xF0 == 0xF0:                   # RQM DIO NDMA CB: a data byte
            got.append(rig.io.inb(FIFO))
            continue
        assert msr & 0xD0 == 0xD0
        break
    assert bytes(got) == data[16 * 512:18 * 512]
    assert rig.results() == [0x00, 0, 0, 1, 0, 1, 2]
    # write with the FIFO enabled, threshold 8: one interrupt per 8 bytes
    rig.cmd(0x13, 0x00, 0x07, 0x00)
    payload = random.Random(3).randbytes(512)
    rig.out(0x45, 0x00, 0, 0, 18, 2, 18, 0x1B, 0xFF)
    edges = rig.irq.rising_edges
    for i, v in enumerate(payload):
        if i % 8 == 0:
            assert rig.wait_irq()
        assert rig.msr() & 0xE0 == 0xA0          # RQM NDMA, host to FDC
        rig.io.outb(FIFO, v)
    assert rig.wait_irq()
    assert rig.results() == [0x00, 0, 0, 1, 0, 1, 2]
    assert rig.irq.rising_edges - edges == 512 // 8 + 1
    assert img.read_sectors(17, 1) == payload


def test_pio_format_and_dma_gate(rig, tmp_path):
    path, data, img = insert(rig, tmp_path)
    rig.io.outb(DSR, 0x00)
    rig.seek(0, 2)
    rig.cmd(0x03, 0xDF, 0x03)                    # non-DMA
    rig.out(0x4D, 0x00, 2, 18, 0x54, 0x4E)
    for s in range(1, 19):
        for v in (2, 0, s, 2):
            assert rig.wait_irq()
            rig.io.outb(FIFO, v)
    assert rig.wait_irq()
    assert rig.results()[:3] == [0x00, 0, 0]
    assert img.read_sectors(2 * 2 * 18, 18) == b"\x4E" * 18 * 512
    # with the DMA gate (DOR bit 3) off, neither DREQ nor INT reach the bus
    rig.cmd(0x03, 0xDF, 0x02)
    rig.io.outb(DOR, 0x14)
    rig.dma_program(0x46, BUF, 512)
    rig.out(0x46, 0x00, 2, 0, 1, 2, 18, 0x1B, 0xFF)
    rig.b.clock.advance(rig.b.clock.cycles_from_seconds(0.01))
    assert rig.msr() == 0x10 and not rig.irq.level
    rig.io.outb(DOR, 0x1C)
    assert rig.wait_irq()
    assert rig.results()[:3] == [0x00, 0, 0]
    assert rig.mem(BUF, 512) == b"\x4E" * 512


def test_implied_seek_and_media_change(rig, tmp_path):
    _, data, img = insert(rig, tmp_path)
    rig.io.outb(DSR, 0x00)
    assert rig.io.inb(DIR) & 0x80                # power-on and insertion: changed
    rig.seek(0, 0)
    assert rig.io.inb(DIR) & 0x80                # no step: line stays
    rig.seek(0, 1)
    assert not rig.io.inb(DIR) & 0x80
    rig.fdc.eject(0)
    assert rig.io.inb(DIR) & 0x80
    rig.seek(0, 2)
    assert rig.io.inb(DIR) & 0x80                # stepping with no disk keeps it
    rig.fdc.insert(0, img)
    rig.seek(0, 2)
    assert rig.io.inb(DIR) & 0x80                # same track: no step
    rig.seek(0, 3)
    assert not rig.io.inb(DIR) & 0x80
    rig.cmd(0x13, 0x00, 0x40, 0x00)              # EIS
    res = rig.rw(0x06, 0, 40, 1, 1, 18, 1)
    assert res[0] == 0x04 and rig.fdc.pcn[0] == 40
    lba = (40 * 2 + 1) * 18
    assert rig.mem(BUF, 512) == data[lba * 512:(lba + 1) * 512]


def test_360k_disk_in_12m_drive_double_steps(tmp_path):
    r = Rig(drives=("1.2M", "1.2M"))
    r.reset()
    path, data = make_image(tmp_path, 368640)
    r.fdc.insert(0, DiskImage.open(path))
    r.io.outb(DSR, 0x01)                         # 300 kbps
    r.seek(0, 6)                                 # physical track 6 = media cylinder 3
    res = r.rw(0x06, 0, 3, 1, 1, 9, 9)
    lba = (3 * 2 + 1) * 9
    assert res[:3] == [0x04, 0, 0]
    assert r.mem(BUF, 9 * 512) == data[lba * 512:(lba + 9) * 512]
    r.seek(0, 7)                                 # between two wide tracks
    assert r.rw(0x06, 0, 3, 1, 1, 9, 1)[:2] == [0x44, 0x01]
    r.io.outb(DSR, 0x02)
    r.seek(0, 6)
    assert r.rw(0x06, 0, 3, 1, 1, 9, 1)[:2] == [0x44, 0x01]


def test_configuration_errors():
    from pyvmm.errors import ConfigError
    with pytest.raises(ConfigError):
        FDC82077(drives=("1.44M", "8-inch"))
    with pytest.raises(ConfigError):
        FDC82077(drives=("1.44M", "1.44M", "1.44M"))
    with pytest.raises(ConfigError):
        FDC82077(drives=("1.44M",)).insert(1, None)


def test_cmos_types_and_state_roundtrip(rig, tmp_path):
    f = FDC82077(drives=("360K", "2.88M"))
    assert f.cmos_byte() == 0x15
    assert FDC82077(drives=("1.2M", "720K")).cmos_byte() == 0x23
    assert FDC82077(drives=("1.44M",)).cmos_byte() == 0x40
    assert f.cmos_drive_type(0) == 1 and f.cmos_drive_type(1) == 5
    insert(rig, tmp_path)
    rig.cmd(0x03, 0xAF, 0x03)
    rig.out(0x0F, 0x00, 7)
    state = rig.fdc.get_state()
    assert plain(state)
    rig.wait_irq()
    rig.cmd(0x08)
    rig.fdc.set_state(state)
    assert rig.fdc.pcn[0] == 7 and rig.fdc.drive_busy == 1 and rig.fdc.nd == 1


def plain(value):
    if isinstance(value, dict):
        return all(isinstance(k, (str, int)) and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    return value is None or isinstance(value, (bool, int, str, bytes))


def test_state_mid_dma_transfer_is_plain_and_resumes(rig, tmp_path):
    _, data, _ = insert(rig, tmp_path)
    rig.io.outb(DSR, 0x00)
    rig.io.outb(0x0A, 0x06)                      # channel 2 masked: the transfer waits
    rig.out(0xC6, 0x00, 0, 0, 1, 2, 18, 0x1B, 0xFF)
    rig.b.clock.advance(rig.b.clock.cycles_from_seconds(0.001))
    state = rig.fdc.get_state()
    assert plain(state) and state["xfer"]["op"] == "read"
    rig.fdc.set_state(state)
    rig.dma_program(0x46, BUF, 2 * 512)          # unmasking lets the DMA run
    assert rig.wait_irq()
    assert rig.results() == [0x00, 0, 0, 0, 0, 3, 2]
    assert rig.mem(BUF, 1024) == data[:1024]


def test_register_fuzz_never_raises(tmp_path):
    r = Rig()
    path, _ = make_image(tmp_path, 368640)
    r.fdc.insert(0, DiskImage.open(path, snapshot=True))
    rnd = random.Random(99)
    ports = [0x3F0, 0x3F1, 0x3F2, 0x3F3, 0x3F4, 0x3F5, 0x3F7, 0x0A, 0x0B, 0x04, 0x05]
    for _ in range(20000):
        p = rnd.choice(ports)
        if rnd.random() < 0.5:
            r.io.inb(p)
        else:
            r.io.outb(p, rnd.randrange(256) if p != 0x3F5 else rnd.choice([3, 4, 5, 6, 7, 8, 0x0A, 0x0D, 0x0F, 0x46, 0xC5, rnd.randrange(256)]))
        if rnd.random() < 0.01:
            r.b.clock.advance(rnd.randrange(100000))


# -- every floppy format round-trips as a BIOS reads it ---------------------------------
def read_whole_disk(r, cylinders, heads, sectors, drive_type, rate, double_step=False):
    r.io.outb(DSR, rate)
    out = bytearray()
    for c in range(cylinders):
        r.seek(0, c * 2 if double_step else c)
        for h in range(heads):
            res = r.rw(0x06, 0, c, h, 1, sectors, sectors, mt=False)
            assert res[:3] == [h << 2, 0, 0], (c, h, res)
            out += r.mem(BUF, sectors * 512)
    return bytes(out)


@pytest.mark.parametrize("name", list(SIZES))
def test_every_floppy_size_round_trips(tmp_path, name):
    size, cyls, heads, secs, dtype, rate = SIZES[name]
    r = Rig(drives=(dtype, dtype))
    r.reset()
    path, data = make_image(tmp_path, size, seed=size)
    img = DiskImage.open(path, readonly=True)
    assert img.geometry == (cyls, heads, secs)
    r.fdc.insert(0, img)
    assert read_whole_disk(r, cyls, heads, secs, dtype, rate) == data


@pytest.mark.parametrize("name", ["fdboot-360K.img", "fdboot-1.4MB.img", "freedos722.img"])
def test_freedos_images_read_back(name):
    path = os.path.join(SHARED, name)
    if not os.path.exists(path):
        pytest.skip(f"{path} is absent")
    img = DiskImage.open(path, readonly=True)
    c, h, s = img.geometry
    dtype = {9: "720K" if c == 80 else "360K", 18: "1.44M"}[s]
    r = Rig(drives=(dtype, dtype))
    r.reset()
    r.fdc.insert(0, img)
    with open(path, "rb") as f:
        expect = f.read()
    assert read_whole_disk(r, c, h, s, dtype, 0 if s == 18 else 2) == expect


def test_snapshot_mode_leaves_file_untouched(rig, tmp_path):
    path, data = make_image(tmp_path, 1474560)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    img = DiskImage.open(path, snapshot=True)
    rig.fdc.insert(0, img)
    rig.io.outb(DSR, 0x00)
    payload = b"\xA5" * 1024
    rig.poke(BUF, payload)
    assert rig.rw(0x05, 0, 0, 0, 1, 18, 2)[:3] == [0, 0, 0]
    rig.poke(BUF, bytes(1024))
    assert rig.rw(0x06, 0, 0, 0, 1, 18, 2)[:3] == [0, 0, 0]
    assert rig.mem(BUF, 1024) == payload
    img.close()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
