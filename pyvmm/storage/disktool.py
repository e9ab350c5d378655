"""``pyvmm disk``: make, inspect and fill disk images from the host.

    pyvmm disk create FILE --size 1.44M|720K|...|64M [--format fat] [--force]
    pyvmm disk info FILE
    pyvmm disk ls IMG [DIR]
    pyvmm disk put IMG FILE [DEST]
    pyvmm disk get IMG SRC DEST [--force]

Every problem is one line on stderr and exit status 2.
"""
import argparse
import os
import struct
import sys

from ..errors import Error, ImageError
from .fat import FatVolume, find_volume, format_image
from .image import FLOPPY_GEOMETRIES, SECTOR, DiskImage, read_bpb

# the names people give floppy formats, which are not powers of 1024
FLOPPY_NAMES = {"160K": 160, "180K": 180, "320K": 320, "360K": 360, "720K": 720,
                "1.2M": 1200, "1.44M": 1440, "2.88M": 2880}
MIN_HD = 4 << 20
MAX_HD = 2 << 30


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise ImageError(message)


def parse_size(text):
    """'1.44M' -> 1474560, '64M' -> 67108864, '720K' -> 737280, '2G', plain bytes."""
    t = text.strip().upper()
    if t.endswith("B"):
        t = t[:-1]
    if t in FLOPPY_NAMES:
        return FLOPPY_NAMES[t] * 1024
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1)
    number = t[:-1] if scale != 1 else t
    try:
        value = float(number)
    except ValueError:
        raise ImageError(f"size {text!r} is not a size like 1.44M, 720K or 64M") from None
    size = int(value * scale)
    if size <= 0:
        raise ImageError(f"size {text!r} must be positive")
    return size


def _kind_of(size):
    return "floppy" if size in FLOPPY_GEOMETRIES else "hd"


def cmd_create(args, out):
    size = parse_size(args.size)
    kind = _kind_of(size)
    if kind == "hd":
        if size % SECTOR:
            raise ImageError(f"a hard disk size must be a multiple of 512 bytes, not {size}")
        if not MIN_HD <= size <= MAX_HD:
            raise ImageError("a hard disk must be between 4M and 2G (or give a floppy size: "
                             + ", ".join(FLOPPY_NAMES) + ")")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if args.force else os.O_EXCL)
    try:
        fd = os.open(args.file, flags, 0o644)
    except FileExistsError:
        raise ImageError(f"{args.file} exists (use --force to overwrite it)") from None
    except OSError as exc:
        raise ImageError(f"cannot create {args.file}: {exc.strerror}") from None
    try:
        os.ftruncate(fd, size)
    finally:
        os.close(fd)
    if args.format:
        with DiskImage.open(args.file, kind=kind) as img:
            format_image(img, label=args.label)
    what = f"FAT{12 if kind == 'floppy' else 16}" if args.format else "blank"
    print(f"created {args.file}: {size} bytes, {what} {'floppy' if kind == 'floppy' else 'hard disk'}", file=out)


def cmd_info(args, out):
    size = os.path.getsize(args.file) if os.path.isfile(args.file) else None
    kind = _kind_of(size) if size else "floppy"
    with DiskImage.open(args.file, kind=kind, readonly=True) as img:
        c, h, s = img.geometry
        print(f"file:       {args.file}", file=out)
        print(f"size:       {img.size} bytes ({img.total_sectors} sectors)", file=out)
        print(f"kind:       {'floppy' if kind == 'floppy' else 'hard disk'}", file=out)
        print(f"geometry:   {c} cylinders, {h} heads, {s} sectors/track", file=out)
        if img.warning:
            print(f"warning:    {img.warning}", file=out)
        try:
            start, part = find_volume(img)
        except ImageError:
            print("filesystem: none recognised", file=out)
            return
        if part is not None:
            first, count = struct.unpack_from("<II", part, 8)
            print(f"partition:  type {part[4]:02X}h, sectors {first}..{first + count - 1}"
                  f"{', active' if part[0] == 0x80 else ''}", file=out)
        vol = FatVolume(img, start)
        bpb = read_bpb(img.read_sectors(start, 1)) or {}
        print(f"filesystem: {vol.fs_type}, label {vol.label or '(none)'!s}", file=out)
        print(f"bpb:        {vol.bytes_per_sector} bytes/sector, {vol.spc} sectors/cluster, "
              f"{vol.reserved} reserved, {vol.nfats} FATs of {vol.spf} sectors, "
              f"{vol.root_entries} root entries, media {vol.media:02X}h, "
              f"{bpb.get('total_sectors', vol.total)} sectors, {vol.spt} sectors/track, "
              f"{vol.heads} heads, {vol.hidden} hidden", file=out)
        print(f"clusters:   {vol.clusters} ({vol.free_clusters()} free, "
              f"{vol.free_clusters() * vol.spc * SECTOR} bytes)", file=out)
        print(f"files:      {vol.count_files()}", file=out)


def _open_volume(path, write):
    size = os.path.getsize(path) if os.path.isfile(path) else None
    img = DiskImage.open(path, kind=_kind_of(size) if size else "floppy", readonly=not write)
    if write and img.readonly:
        img.close()
        raise ImageError(f"{path} is read-only")
    try:
        start, _ = find_volume(img)
        return img, FatVolume(img, start)
    except BaseException:
        img.close()
        raise


def cmd_ls(args, out):
    img, vol = _open_volume(args.image, write=False)
    with img:
        for e in vol.listdir(args.dir or ""):
            size = "<DIR>" if e.is_dir else str(e.size)
            print(f"{e.name:<12} {size:>10}  {e.stamp()}", file=out)


def cmd_put(args, out):
    try:
        with open(args.file, "rb") as f:
            data = f.read()
        mtime = os.path.getmtime(args.file)
    except OSError as exc:
        raise ImageError(f"cannot read {args.file}: {exc.strerror}") from None
    img, vol = _open_volume(args.image, write=True)
    with img:
        dest = args.dest or os.path.basename(args.file)
        if dest.endswith(("/", "\\")):
            dest += os.path.basename(args.file)
        else:
            entry = vol.lookup(dest) if _exists(vol, dest) else None
            if entry is not None and entry.is_dir:
                dest = dest + "/" + os.path.basename(args.file)
        vol.write_file(dest, data, mtime)
    print(f"put {args.file} -> {dest.upper()} ({len(data)} bytes)", file=out)


def _exists(vol, path):
    try:
        vol.lookup(path)
        return True
    except ImageError:
        return False


def cmd_get(args, out):
    img, vol = _open_volume(args.image, write=False)
    with img:
        data = vol.read_file(args.src)
    dest = args.dest
    if os.path.isdir(dest):
        dest = os.path.join(dest, args.src.replace("\\", "/").rstrip("/").split("/")[-1].upper())
    if os.path.exists(dest) and not args.force:
        raise ImageError(f"{dest} exists (use --force to overwrite it)")
    try:
        with open(dest, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise ImageError(f"cannot write {dest}: {exc.strerror}") from None
    print(f"got {args.src.upper()} -> {dest} ({len(data)} bytes)", file=out)


def build_parser():
    p = _Parser(prog="pyvmm disk", description="Make, inspect and fill disk images.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    c = sub.add_parser("create", help="make a blank or FAT-formatted image")
    c.add_argument("file")
    c.add_argument("--size", required=True, help="1.44M, 720K, 1.2M, 360K, ... or a hard disk size like 64M")
    c.add_argument("--format", choices=["fat"], help="format it (FAT12 floppy, FAT16 partition on a hard disk)")
    c.add_argument("--label", default="NO NAME", help="volume label")
    c.add_argument("--force", action="store_true", help="overwrite an existing file")
    c.set_defaults(func=cmd_create)
    i = sub.add_parser("info", help="size, geometry, BPB and file system")
    i.add_argument("file")
    i.set_defaults(func=cmd_info)
    ls = sub.add_parser("ls", help="list a directory")
    ls.add_argument("image")
    ls.add_argument("dir", nargs="?")
    ls.set_defaults(func=cmd_ls)
    put = sub.add_parser("put", help="copy a host file into the image")
    put.add_argument("image")
    put.add_argument("file")
    put.add_argument("dest", nargs="?")
    put.set_defaults(func=cmd_put)
    get = sub.add_parser("get", help="copy a file out of the image")
    get.add_argument("image")
    get.add_argument("src")
    get.add_argument("dest")
    get.add_argument("--force", action="store_true", help="overwrite an existing host file")
    get.set_defaults(func=cmd_get)
    return p


def main(argv=None, out=None, err=None):
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        args.func(args, out)
    except Error as exc:
        print(f"pyvmm disk: error: {exc}", file=err)
        return 2
    except SystemExit as exc:          # --help
        return exc.code if isinstance(exc.code, int) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
