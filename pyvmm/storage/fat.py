"""A small FAT12/FAT16 reader and writer for the disk tool.

Enough to make, inspect and fill DOS disks: format a floppy or a partitioned hard
disk, list directories, read files and write files (8.3 names, no long names).
It works on a :class:`pyvmm.storage.image.DiskImage`, so the image is locked while
the tool changes it and every write is whole sectors.

Layout facts used here (Microsoft's FAT specification, "FAT: General Overview of
On-Disk Format"): the BPB in the boot sector; reserved sectors, then the FAT
copies, then the fixed root directory, then the data area from cluster 2; the FAT
type follows from the number of data clusters (< 4085 is FAT12, < 65525 FAT16).
"""
import struct
import time

from ..errors import ImageError
from .image import SECTOR

ATTR_RO, ATTR_HIDDEN, ATTR_SYSTEM, ATTR_LABEL, ATTR_DIR, ATTR_ARCHIVE = 1, 2, 4, 8, 0x10, 0x20
ATTR_LFN = 0x0F
FAT_PARTITION_TYPES = (0x01, 0x04, 0x06, 0x0E)
HD_FIRST_SECTOR = 63      # DOS starts the first partition on the second track

# standard DOS floppy formats: total sectors -> (sectors/track, heads,
# sectors/cluster, root entries, media byte)
FLOPPY_FORMATS = {
    320: (8, 1, 1, 64, 0xFE),
    360: (9, 1, 1, 64, 0xFC),
    640: (8, 2, 2, 112, 0xFF),
    720: (9, 2, 2, 112, 0xFD),
    1440: (9, 2, 2, 112, 0xF9),
    2400: (15, 2, 1, 224, 0xF9),
    2880: (18, 2, 1, 224, 0xF0),
    5760: (36, 2, 2, 240, 0xF0),
}


def _not_bootable_code(message):
    """Boot code (at offset 3Eh, loaded at 0:7C00h) that prints ``message`` through
    INT 10h, waits for a key (INT 16h) and tries the next boot device (INT 19h)."""
    msg_at = 0x7C00 + 0x3E + 27
    code = bytes([
        0x31, 0xC0,                    # xor ax, ax
        0x8E, 0xD8,                    # mov ds, ax
        0x31, 0xDB,                    # xor bx, bx (page 0)
        0xBE, msg_at & 0xFF, msg_at >> 8,   # mov si, message
        0xFC,                          # cld
        0xAC,                          # next: lodsb
        0x84, 0xC0,                    # test al, al
        0x74, 0x06,                    # jz wait
        0xB4, 0x0E,                    # mov ah, 0Eh
        0xCD, 0x10,                    # int 10h
        0xEB, 0xF5,                    # jmp next
        0x31, 0xC0,                    # wait: xor ax, ax
        0xCD, 0x16,                    # int 16h
        0xCD, 0x19,                    # int 19h
    ])
    return code + message.encode("ascii") + b"\0"


def _boot_sector(bpb_fields, message="This disk is not bootable. Press a key to try another.\r\n"):
    sec = bytearray(SECTOR)
    sec[0:3] = b"\xEB\x3C\x90"
    sec[3:11] = b"PYVMM1.0"
    sec[11:62] = bpb_fields
    code = _not_bootable_code(message)
    sec[0x3E:0x3E + len(code)] = code
    sec[510:512] = b"\x55\xAA"
    return sec


def _bpb(total, spt, heads, spc, root_entries, media, spf, hidden, fat_name, drive, serial, label):
    return struct.pack("<HBHBHHBHHHII", SECTOR, spc, 1, 2, root_entries,
                       total if total < 0x10000 else 0, media, spf, spt, heads, hidden,
                       total if total >= 0x10000 else 0) + \
        struct.pack("<BBBI11s8s", drive, 0, 0x29, serial, label.ljust(11)[:11].encode("ascii"),
                    fat_name.ljust(8).encode("ascii"))


def _sectors_per_fat(total, spc, root_entries, fat_bits):
    """FAT size that covers the clusters left after the FATs themselves."""
    root_sectors = (root_entries * 32 + SECTOR - 1) // SECTOR
    spf = 1
    while True:
        clusters = (total - 1 - 2 * spf - root_sectors) // spc
        need = ((clusters + 2) * fat_bits + 8 * SECTOR - 1) // (8 * SECTOR)
        if need <= spf:
            return spf, clusters
        spf = need


def format_image(image, label="NO NAME", serial=None):
    """Write an empty FAT file system on ``image`` (a DiskImage opened for writing):
    a floppy gets a FAT12 volume over the whole disk; a hard disk gets an MBR with
    one FAT16 partition that starts on the second track."""
    if serial is None:
        serial = int(time.time()) & 0xFFFFFFFF
    total = image.total_sectors
    if image.kind == "floppy":
        fmt = FLOPPY_FORMATS.get(total)
        if fmt is None:
            raise ImageError(f"{image.path}: no standard DOS format has {total} sectors")
        spt, heads, spc, root_entries, media = fmt
        spf, _ = _sectors_per_fat(total, spc, root_entries, 12)
        bpb = _bpb(total, spt, heads, spc, root_entries, media, spf, 0, "FAT12", 0x00, serial, label)
        _write_volume(image, 0, spf, root_entries, media, bpb, 12)
        return
    c, h, s = image.geometry
    start = HD_FIRST_SECTOR
    size = min(total, c * h * s) - start
    spc = 1
    while True:
        spf, clusters = _sectors_per_fat(size, spc, 512, 16)
        if clusters < 65525:
            break
        spc *= 2
        if spc > 64:
            raise ImageError(f"{image.path}: too large for one FAT16 partition (2 GiB)")
    if clusters < 4085:
        raise ImageError(f"{image.path}: too small for a FAT16 partition (at least 3 MiB)")
    bpb = _bpb(size, s, h, spc, 512, 0xF8, spf, start, "FAT16", 0x80, serial, label)
    mbr = bytearray(SECTOR)
    code = _not_bootable_code("No operating system. Press a key to try another.\r\n")
    mbr[0x3E:0x3E + len(code)] = code
    mbr[0:3] = b"\xEB\x3C\x90"
    ptype = 0x04 if size < 0x10000 else 0x06
    mbr[446:462] = bytes([0x80]) + _chs(start, h, s) + bytes([ptype]) + \
        _chs(start + size - 1, h, s) + struct.pack("<II", start, size)
    mbr[510:512] = b"\x55\xAA"
    image.write_sectors(0, bytes(mbr))
    _write_volume(image, start, spf, 512, 0xF8, bpb, 16)


def _chs(lba, heads, sectors):
    c, rest = divmod(lba, heads * sectors)
    h, s = divmod(rest, sectors)
    if c > 1023:
        c, h, s = 1023, heads - 1, sectors - 1
    return bytes([h, ((s + 1) & 0x3F) | ((c >> 2) & 0xC0), c & 0xFF])


def _write_volume(image, start, spf, root_entries, media, bpb, fat_bits):
    image.write_sectors(start, bytes(_boot_sector(bpb)))
    fat = bytearray(spf * SECTOR)
    # entries 0 and 1: the media byte, then all ones
    fat[0:fat_bits // 4] = bytes([media]) + b"\xFF" * (fat_bits // 4 - 1)
    root_sectors = (root_entries * 32 + SECTOR - 1) // SECTOR
    for copy in range(2):
        image.write_sectors(start + 1 + copy * spf, bytes(fat))
    image.write_sectors(start + 1 + 2 * spf, bytes(root_sectors * SECTOR))


def find_volume(image):
    """(first sector, MBR partition entry or None) of the FAT volume on ``image``."""
    boot = image.read_sectors(0, 1)
    if _has_bpb(boot):
        return 0, None
    if boot[510:512] == b"\x55\xAA":
        for i in range(4):
            entry = boot[446 + 16 * i:462 + 16 * i]
            if entry[4] in FAT_PARTITION_TYPES:
                start = struct.unpack_from("<I", entry, 8)[0]
                if 0 < start < image.total_sectors and _has_bpb(image.read_sectors(start, 1)):
                    return start, entry
    raise ImageError(f"{image.path}: no FAT file system found")


def _has_bpb(boot):
    bps, spc, reserved, nfats, root = struct.unpack_from("<HBHBH", boot, 11)
    spf = struct.unpack_from("<H", boot, 22)[0]
    return (bps == SECTOR and spc and not spc & (spc - 1) and reserved >= 1
            and nfats in (1, 2) and root and spf and boot[0] in (0xEB, 0xE9))


def _split83(name):
    """'readme.txt' -> b'README  TXT', or ImageError when it is not a DOS name."""
    up = name.upper()
    if up in (".", ".."):
        return up.encode().ljust(11)
    base, dot, ext = up.partition(".")
    bad = set(' "*+,/:;<=>?[\\]|.')
    if not base or len(base) > 8 or len(ext) > 3 or any(ch in bad or ord(ch) < 0x21 or ord(ch) > 0x7E
                                                       for ch in base + ext):
        raise ImageError(f"{name!r} is not a DOS 8.3 file name")
    return base.ljust(8).encode("ascii") + ext.ljust(3).encode("ascii")


def _join83(raw):
    base = raw[:8].decode("ascii", "replace").rstrip()
    ext = raw[8:11].decode("ascii", "replace").rstrip()
    if base.startswith("\x05"):
        base = "\xE5" + base[1:]
    return f"{base}.{ext}" if ext else base


class Entry:
    __slots__ = ("name", "attr", "size", "cluster", "date", "time", "where")

    def __init__(self, raw, where):
        self.name = _join83(raw[:11])
        self.attr = raw[11]
        self.time, self.date, self.cluster, self.size = struct.unpack_from("<HHHI", raw, 22)
        self.where = where        # (sector, byte offset) of the directory entry

    @property
    def is_dir(self):
        return bool(self.attr & ATTR_DIR)

    def stamp(self):
        d, t = self.date, self.time
        return f"{1980 + (d >> 9):04d}-{(d >> 5) & 15:02d}-{d & 31:02d} {t >> 11:02d}:{(t >> 5) & 63:02d}"


class FatVolume:
    """A FAT12/16 volume starting at sector ``start`` of ``image``."""

    def __init__(self, image, start=0):
        self.image = image
        self.start = start
        boot = image.read_sectors(start, 1)
        if not _has_bpb(boot):
            raise ImageError(f"{image.path}: no FAT boot sector at sector {start}")
        (self.bytes_per_sector, self.spc, self.reserved, self.nfats, self.root_entries,
         total16, self.media, self.spf, self.spt, self.heads, self.hidden,
         total32) = struct.unpack_from("<HBHBHHBHHHII", boot, 11)
        self.total = total16 or total32
        self.label = boot[43:54].decode("ascii", "replace").rstrip() if boot[38] == 0x29 else ""
        self.root_sectors = (self.root_entries * 32 + SECTOR - 1) // SECTOR
        self.fat_start = start + self.reserved
        self.root_start = self.fat_start + self.nfats * self.spf
        self.data_start = self.root_start + self.root_sectors
        self.clusters = (self.total - (self.data_start - start)) // self.spc
        if self.clusters <= 0 or start + self.total > image.total_sectors:
            raise ImageError(f"{image.path}: the FAT boot sector describes a larger disk than the image")
        self.fat_bits = 12 if self.clusters < 4085 else 16 if self.clusters < 65525 else 32
        if self.fat_bits == 32:
            raise ImageError(f"{image.path}: FAT32 is not supported")
        self.fat = bytearray(image.read_sectors(self.fat_start, self.spf))
        self.fat_dirty = False

    @property
    def fs_type(self):
        return f"FAT{self.fat_bits}"

    # -- the FAT -------------------------------------------------------------------
    def _get(self, n):
        if self.fat_bits == 16:
            return struct.unpack_from("<H", self.fat, 2 * n)[0]
        off = n * 3 // 2
        v = self.fat[off] | (self.fat[off + 1] << 8)
        return v >> 4 if n & 1 else v & 0xFFF

    def _set(self, n, value):
        self.fat_dirty = True
        if self.fat_bits == 16:
            struct.pack_into("<H", self.fat, 2 * n, value)
            return
        off = n * 3 // 2
        v = self.fat[off] | (self.fat[off + 1] << 8)
        v = (v & 0x000F) | (value << 4) if n & 1 else (v & 0xF000) | value
        self.fat[off], self.fat[off + 1] = v & 0xFF, v >> 8

    def _eoc(self):
        return 0xFFF if self.fat_bits == 12 else 0xFFFF

    def _is_end(self, v):
        return v >= (0xFF8 if self.fat_bits == 12 else 0xFFF8)

    def chain(self, cluster):
        out = []
        while 2 <= cluster < self.clusters + 2:
            if cluster in out or len(out) > self.clusters:
                raise ImageError(f"{self.image.path}: the FAT has a loop at cluster {cluster}")
            out.append(cluster)
            cluster = self._get(cluster)
            if self._is_end(cluster):
                break
        return out

    def free_clusters(self):
        return sum(1 for n in range(2, self.clusters + 2) if self._get(n) == 0)

    def _allocate(self, count):
        free = []
        for n in range(2, self.clusters + 2):
            if self._get(n) == 0:
                free.append(n)
                if len(free) == count:
                    break
        if len(free) < count:
            raise ImageError(f"{self.image.path}: the disk is full")
        for a, b in zip(free, free[1:] + [None]):
            self._set(a, self._eoc() if b is None else b)
        return free

    def _cluster_sector(self, n):
        return self.data_start + (n - 2) * self.spc

    # -- directories ---------------------------------------------------------------
    def _dir_sectors(self, cluster):
        if cluster == 0:
            return list(range(self.root_start, self.root_start + self.root_sectors))
        return [self._cluster_sector(c) + i for c in self.chain(cluster) for i in range(self.spc)]

    def _scan(self, cluster):
        """Every 32-byte slot of a directory: (sector, offset, raw)."""
        for sec in self._dir_sectors(cluster):
            data = self.image.read_sectors(sec, 1)
            for off in range(0, SECTOR, 32):
                yield sec, off, data[off:off + 32]

    def entries(self, cluster=0):
        out = []
        for sec, off, raw in self._scan(cluster):
            if raw[0] == 0:
                break
            if raw[0] == 0xE5 or raw[11] == ATTR_LFN or raw[11] & ATTR_LABEL:
                continue
            e = Entry(raw, (sec, off))
            if e.name in (".", ".."):
                continue
            out.append(e)
        return out

    def lookup(self, path):
        """The Entry for ``path`` ('DIR/FILE.TXT'), None for the root, or ImageError."""
        parts = [p for p in path.replace("\\", "/").split("/") if p]
        cluster, entry = 0, None
        for i, part in enumerate(parts):
            want = _join83(_split83(part))
            for e in self.entries(cluster):
                if e.name == want:
                    entry = e
                    break
            else:
                raise ImageError(f"{'/'.join(parts[:i + 1])} is not on the disk")
            if i < len(parts) - 1:
                if not entry.is_dir:
                    raise ImageError(f"{'/'.join(parts[:i + 1])} is not a directory")
                cluster = entry.cluster
        return entry

    def listdir(self, path=""):
        entry = self.lookup(path)
        if entry is not None and not entry.is_dir:
            return [entry]
        return self.entries(0 if entry is None else entry.cluster)

    def count_files(self, cluster=0, depth=0):
        n = 0
        for e in self.entries(cluster):
            if e.is_dir:
                if depth < 32 and e.cluster:
                    n += self.count_files(e.cluster, depth + 1)
            else:
                n += 1
        return n

    # -- files ---------------------------------------------------------------------
    def read_file(self, path):
        entry = self.lookup(path)
        if entry is None or entry.is_dir:
            raise ImageError(f"{path} is a directory")
        data = bytearray()
        for c in self.chain(entry.cluster):
            data += self.image.read_sectors(self._cluster_sector(c), self.spc)
        if len(data) < entry.size:
            raise ImageError(f"{path}: its cluster chain is shorter than its size")
        return bytes(data[:entry.size])

    def write_file(self, path, data, mtime=None):
        """Create or replace the file ``path`` with ``data``."""
        parts = [p for p in path.replace("\\", "/").split("/") if p]
        if not parts:
            raise ImageError("a file name is needed")
        name = _split83(parts[-1])
        parent = self.lookup("/".join(parts[:-1])) if len(parts) > 1 else None
        if parent is not None and not parent.is_dir:
            raise ImageError(f"{'/'.join(parts[:-1])} is not a directory")
        dir_cluster = 0 if parent is None else parent.cluster
        slot = None
        for e in self.entries(dir_cluster):
            if e.name == _join83(name):
                if e.is_dir or e.attr & ATTR_RO:
                    raise ImageError(f"{path} exists and cannot be replaced")
                for c in self.chain(e.cluster):
                    self._set(c, 0)
                slot = e.where
                break
        bpc = self.spc * SECTOR
        count = (len(data) + bpc - 1) // bpc
        clusters = self._allocate(count) if count else []
        for i, c in enumerate(clusters):
            chunk = data[i * bpc:(i + 1) * bpc]
            self.image.write_sectors(self._cluster_sector(c), bytes(chunk).ljust(bpc, b"\0"))
        if slot is None:
            slot = self._free_slot(dir_cluster)
        t = time.localtime(mtime)
        dos_time = (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)
        dos_date = (max(t.tm_year - 1980, 0) << 9) | (t.tm_mon << 5) | t.tm_mday
        raw = name + bytes([ATTR_ARCHIVE]) + bytes(10) + struct.pack(
            "<HHHI", dos_time, dos_date, clusters[0] if clusters else 0, len(data))
        self._write_entry(slot, raw)
        self.flush()

    def _free_slot(self, cluster):
        for sec, off, raw in self._scan(cluster):
            if raw[0] in (0x00, 0xE5):
                return sec, off
        if cluster == 0:
            raise ImageError(f"{self.image.path}: the root directory is full")
        last = self.chain(cluster)[-1]
        new = self._allocate(1)[0]
        self._set(last, new)
        self.image.write_sectors(self._cluster_sector(new), bytes(self.spc * SECTOR))
        return self._cluster_sector(new), 0

    def _write_entry(self, where, raw):
        sec, off = where
        data = bytearray(self.image.read_sectors(sec, 1))
        data[off:off + 32] = raw
        self.image.write_sectors(sec, bytes(data))

    def flush(self):
        if self.fat_dirty:
            for copy in range(self.nfats):
                self.image.write_sectors(self.fat_start + copy * self.spf, bytes(self.fat))
            self.fat_dirty = False
