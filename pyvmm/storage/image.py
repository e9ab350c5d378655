"""Disk images: raw floppy and hard-disk files behind one sector interface.

A :class:`DiskImage` is what the floppy and ATA controllers see: 512-byte sectors
addressed by LBA plus a CHS geometry.  Three write modes:

* read-only (file not writable, or ``readonly=True``): the guest sees a
  write-protected disk;
* snapshot (``snapshot=True``, like QEMU ``-snapshot``): the file is opened
  read-only and never written; guest writes land in a copy-on-write overlay
  (sector -> bytes) that save states export with :meth:`get_overlay`;
* read-write: each request is one ``pwrite`` of whole sectors at the sector
  offset, so a crash leaves every sector either old or new, and the file is locked
  with ``flock`` so a second pyvmm cannot write it at the same time.

Every problem with the file is an :class:`pyvmm.errors.ImageError` with one line.
"""
import errno
import fcntl
import os
import stat

from ..errors import ImageError

SECTOR = 512

# (cylinders, heads, sectors per track) by image size, as the standard PC formats.
FLOPPY_GEOMETRIES = {
    160 * 1024: (40, 1, 8),
    180 * 1024: (40, 1, 9),
    320 * 1024: (40, 2, 8),
    360 * 1024: (40, 2, 9),
    720 * 1024: (80, 2, 9),
    1200 * 1024: (80, 2, 15),
    1440 * 1024: (80, 2, 18),
    2880 * 1024: (80, 2, 36),
}
# DMF-style formats: accepted only when the boot sector's BPB describes them, since
# nothing else distinguishes them from a truncated or padded file.
FLOPPY_BPB_ONLY = {
    80 * 2 * 21 * SECTOR: (80, 2, 21),
    82 * 2 * 21 * SECTOR: (82, 2, 21),
}

HD_HEADS = 16
HD_SECTORS = 63
HD_MAX_CYLINDERS = 16383
LBA28_LIMIT = 1 << 28


def read_bpb(boot):
    """The geometry fields of a DOS BPB in ``boot`` (512 bytes), or None when the
    sector does not carry a plausible one."""
    if len(boot) < 64:
        return None
    bps = int.from_bytes(boot[11:13], "little")
    spc = boot[13]
    reserved = int.from_bytes(boot[14:16], "little")
    nfats = boot[16]
    total16 = int.from_bytes(boot[19:21], "little")
    spt = int.from_bytes(boot[24:26], "little")
    heads = int.from_bytes(boot[26:28], "little")
    total32 = int.from_bytes(boot[32:36], "little")
    total = total16 or total32
    if (bps != SECTOR or spc == 0 or spc & (spc - 1) or reserved == 0
            or nfats not in (1, 2) or not 1 <= spt <= 63 or not 1 <= heads <= 255
            or total == 0):
        return None
    return {"bytes_per_sector": bps, "sectors_per_track": spt, "heads": heads,
            "total_sectors": total}


def floppy_geometry(size, boot):
    """Choose (cylinders, heads, sectors) for a floppy image of ``size`` bytes.
    Returns (geometry, warning-or-None); raises ImageError when nothing fits."""
    bpb = read_bpb(boot)
    geometry = FLOPPY_GEOMETRIES.get(size)
    if geometry is None:
        dmf = FLOPPY_BPB_ONLY.get(size)
        if dmf is not None and bpb is not None and (bpb["heads"], bpb["sectors_per_track"]) == dmf[1:] \
                and bpb["total_sectors"] == size // SECTOR:
            return dmf, None
        raise ImageError(f"{size} bytes is not the size of any floppy format "
                         f"(160K, 180K, 320K, 360K, 720K, 1.2M, 1.44M, 2.88M)")
    warning = None
    if bpb is not None:
        c, h, s = geometry
        if (bpb["heads"], bpb["sectors_per_track"], bpb["total_sectors"]) != (h, s, c * h * s):
            warning = (f"boot sector BPB says {bpb['total_sectors']} sectors, "
                       f"{bpb['heads']} heads, {bpb['sectors_per_track']} sectors/track; "
                       f"using {c}x{h}x{s} from the file size")
    return geometry, warning


def hd_geometry(total_sectors):
    """The CHS a BIOS reports for a disk of ``total_sectors``: 16 heads, 63 sectors,
    as many cylinders as fit, at most 16383."""
    cylinders = min(max(total_sectors // (HD_HEADS * HD_SECTORS), 1), HD_MAX_CYLINDERS)
    return (cylinders, HD_HEADS, HD_SECTORS)


def _open_error(path, exc):
    if exc.errno == errno.ENOENT:
        return ImageError(f"image {path} does not exist")
    if exc.errno == errno.EISDIR:
        return ImageError(f"image {path} is a directory, not a disk image")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return ImageError(f"image {path} cannot be read: permission denied")
    return ImageError(f"image {path} cannot be opened: {exc.strerror}")


class DiskImage:
    """A disk image file.  Use :meth:`open`; the constructor takes an open fd."""

    def __init__(self, path, fd, size, kind, geometry, readonly, snapshot, warning=None):
        self.path = path
        self._fd = fd
        self.size = size
        self.kind = kind
        self.geometry = geometry
        self.total_sectors = size // SECTOR
        self.readonly = readonly
        self.snapshot = snapshot
        self.warning = warning
        self.overlay = {}     # sector -> bytes, used in snapshot mode
        self.dirty = False

    @classmethod
    def open(cls, path, kind="floppy", readonly=False, snapshot=False, geometry=None):
        path = os.fspath(path)
        if kind not in ("floppy", "hd"):
            raise ImageError(f"image {path}: kind must be 'floppy' or 'hd', not {kind!r}")
        try:
            st = os.stat(path)
        except OSError as exc:
            raise _open_error(path, exc) from None
        if stat.S_ISDIR(st.st_mode):
            raise ImageError(f"image {path} is a directory, not a disk image")
        if not stat.S_ISREG(st.st_mode) and not stat.S_ISBLK(st.st_mode):
            raise ImageError(f"image {path} is not a regular file")
        write = not readonly and not snapshot
        # no write bit counts as read-only even for root, who could write anyway
        if write and (not st.st_mode & 0o222 or not os.access(path, os.W_OK)):
            readonly = True
            write = False
        try:
            fd = os.open(path, (os.O_RDWR if write else os.O_RDONLY) | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            if write and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                readonly, write = True, False
                try:
                    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
                except OSError as exc2:
                    raise _open_error(path, exc2) from None
            else:
                raise _open_error(path, exc) from None
        try:
            size = os.lseek(fd, 0, os.SEEK_END)
            # A writer locks exclusively; a reader shares, since a writer elsewhere
            # would change the image under it.
            try:
                fcntl.flock(fd, (fcntl.LOCK_EX if write else fcntl.LOCK_SH) | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise ImageError(f"image {path} is in use by another pyvmm") from None
                raise
            if size == 0:
                raise ImageError(f"image {path} is empty (0 bytes)")
            try:
                boot = os.pread(fd, SECTOR, 0)
            except OSError as exc:
                raise ImageError(f"image {path} cannot be read: {exc.strerror}") from None
            warning = None
            if size % SECTOR and (kind == "hd" or geometry is not None):
                raise ImageError(f"image {path}: {size} bytes is not a whole number of 512-byte sectors")
            if geometry is not None:
                geometry = tuple(int(x) for x in geometry)
                if len(geometry) != 3 or min(geometry) <= 0:
                    raise ImageError(f"image {path}: geometry must be three positive numbers")
                if geometry[0] * geometry[1] * geometry[2] * SECTOR > size:
                    raise ImageError(f"image {path}: geometry {geometry} is larger than the file")
            elif kind == "floppy":
                try:
                    geometry, warning = floppy_geometry(size, boot)
                except ImageError as exc:
                    raise ImageError(f"image {path}: {exc}") from None
            else:
                geometry = hd_geometry(size // SECTOR)
            if kind == "hd" and size // SECTOR > LBA28_LIMIT:
                raise ImageError(f"image {path} is larger than 128 GiB (the LBA28 limit)")
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, size, kind, geometry, readonly, snapshot, warning)

    # -- geometry -----------------------------------------------------------------
    @property
    def cylinders(self):
        return self.geometry[0]

    @property
    def heads(self):
        return self.geometry[1]

    @property
    def sectors(self):
        return self.geometry[2]

    def chs_to_lba(self, c, h, s):
        return (c * self.heads + h) * self.sectors + (s - 1)

    # -- sectors ------------------------------------------------------------------
    def _check(self, lba, count):
        if self._fd is None:
            raise ImageError(f"image {self.path} is closed")
        if lba < 0 or count < 0 or lba + count > self.total_sectors:
            raise ImageError(f"image {self.path}: sectors {lba}..{lba + count - 1} "
                             f"are beyond its {self.total_sectors} sectors")

    def read_sectors(self, lba, count):
        self._check(lba, count)
        try:
            data = os.pread(self._fd, count * SECTOR, lba * SECTOR)
        except OSError as exc:
            raise ImageError(f"image {self.path} cannot be read: {exc.strerror}") from None
        if len(data) < count * SECTOR:
            data += bytes(count * SECTOR - len(data))
        if self.overlay:
            buf = None
            for i in range(count):
                patch = self.overlay.get(lba + i)
                if patch is not None:
                    if buf is None:
                        buf = bytearray(data)
                    buf[i * SECTOR:(i + 1) * SECTOR] = patch
            if buf is not None:
                data = bytes(buf)
        return data

    def write_sectors(self, lba, data):
        if len(data) % SECTOR:
            raise ValueError("write_sectors needs whole sectors")
        count = len(data) // SECTOR
        self._check(lba, count)
        if self.readonly:
            raise ImageError(f"image {self.path} is read-only")
        data = bytes(data)
        if self.snapshot:
            for i in range(count):
                self.overlay[lba + i] = data[i * SECTOR:(i + 1) * SECTOR]
            return
        try:
            written = os.pwrite(self._fd, data, lba * SECTOR)
        except OSError as exc:
            raise ImageError(f"image {self.path} cannot be written: {exc.strerror}") from None
        if written != len(data):
            raise ImageError(f"image {self.path}: short write ({written} of {len(data)} bytes)")
        self.dirty = True

    def flush(self):
        if self._fd is not None and self.dirty:
            os.fsync(self._fd)
            self.dirty = False

    def close(self):
        if self._fd is None:
            return
        try:
            self.flush()
        finally:
            os.close(self._fd)   # releases the flock
            self._fd = None

    @property
    def closed(self):
        return self._fd is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- save states ----------------------------------------------------------------
    def get_overlay(self):
        """The snapshot overlay as plain data: {sector: bytes}."""
        return {int(k): bytes(v) for k, v in self.overlay.items()}

    def set_overlay(self, overlay):
        if overlay and not self.snapshot:
            raise ImageError(f"image {self.path}: a save state with disk changes needs snapshot mode")
        for k, v in overlay.items():
            if len(v) != SECTOR or not 0 <= int(k) < self.total_sectors:
                raise ImageError(f"image {self.path}: overlay sector {k} is invalid")
        self.overlay = {int(k): bytes(v) for k, v in overlay.items()}

    def __repr__(self):
        mode = "snapshot" if self.snapshot else "ro" if self.readonly else "rw"
        return f"DiskImage({self.path!r}, {self.kind}, {self.geometry}, {mode})"
