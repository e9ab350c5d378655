"""Run the firmware in roms/ on QEMU's ISA PC and read its text screen.

QEMU's isapc is the chipset pyvmm models (8259 pair, 8254, 8237 pair, MC146818,
8042, 82077 FDC, ATA), so it is the reference machine for the BIOS until pyvmm
itself boots. The text screen is read through the monitor (`xp` on B8000h); the
BIOS's POST log arrives through QEMU's debug console on port E9h.
"""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROMS = REPO / "roms"
SHARED = Path(os.environ.get("PYVMM_SHARED") or REPO.parent / "shared")
IMAGES = SHARED / "images"
QEMU = shutil.which("qemu-system-i386")
# The VGA BIOS used under QEMU: $PYVMM_VGABIOS, else QEMU's own ISA VGA BIOS
# (SeaVGABIOS, from the seabios package), else ours.
_VGA_CANDIDATES = [os.environ.get("PYVMM_VGABIOS"), "/usr/share/seabios/vgabios-isavga.bin",
                   str(ROMS / "vgabios.bin")]
VGABIOS = next((Path(p) for p in _VGA_CANDIDATES if p and Path(p).is_file()), None)


def missing_reason():
    """Why the QEMU tests cannot run here, or None."""
    if QEMU is None:
        return "qemu-system-i386 is not installed (apt-get install qemu-system-x86)"
    if VGABIOS is None:
        return "no VGA BIOS image for QEMU (set PYVMM_VGABIOS or install seabios)"
    if not IMAGES.is_dir():
        return f"shared images not found at {IMAGES} (set PYVMM_SHARED)"
    return None


class Monitor:
    """Minimal client for QEMU's human monitor on a Unix socket."""

    def __init__(self, path, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(str(path))
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self._until_prompt()

    def _until_prompt(self):
        data = b""
        while not data.endswith(b"(qemu) "):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("QEMU monitor closed")
            data += chunk
        return data.decode("latin-1")

    def command(self, line):
        self.sock.sendall(line.encode() + b"\n")
        text = self._until_prompt()
        # drop the echoed command line (with its terminal escapes)
        return text.split("\r\n", 1)[1] if "\r\n" in text else ""

    def close(self):
        self.sock.close()


class QemuPC:
    """One QEMU isapc running roms/bios.bin with a diskette image."""

    def __init__(self, floppy=None, bios=ROMS / "bios.bin", cpu="486", memory="640K", boot="a",
                 readonly=True, no_reboot=True, extra=()):
        self.dir = tempfile.TemporaryDirectory(prefix="pyvmm-bios-")
        tmp = Path(self.dir.name)
        self.log = tmp / "e9.log"
        self.monitor_path = tmp / "monitor.sock"
        args = [QEMU, "-M", "isapc", "-cpu", cpu, "-m", memory, "-vga", "std",
                "-bios", str(bios),
                # isapc hands option ROMs to fw_cfg; a PC/AT BIOS finds them at C0000
                "-device", f"loader,file={VGABIOS},addr=0xc0000,force-raw=on",
                "-boot", boot, "-display", "none",
                "-monitor", f"unix:{self.monitor_path},server=on,wait=off",
                "-debugcon", f"file:{self.log}", "-global", "isa-debugcon.iobase=0xe9"]
        if no_reboot:
            args.append("-no-reboot")
        if floppy is not None:
            args += ["-drive", f"file={floppy},if=floppy,format=raw,readonly={'on' if readonly else 'off'}"]
        args += list(extra)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            self.monitor = Monitor(self.monitor_path)
        except OSError:
            self.proc.kill()
            raise RuntimeError(f"QEMU did not start: {self.proc.stderr.read().decode()}")

    def screen(self):
        """The 80x25 text screen as 25 lines."""
        out = self.monitor.command("xp /2000hx 0xb8000")
        cells = [int(word, 16) for line in out.splitlines() if ":" in line
                 for word in re.findall(r"0x([0-9a-f]{4})\b", line.split(":", 1)[1])]
        chars = "".join(chr(c & 0xFF) if 32 <= (c & 0xFF) < 127 else " " for c in cells[:2000])
        return [chars[i:i + 80].rstrip() for i in range(0, len(chars), 80)]

    def post_log(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for(self, *texts, timeout=60.0):
        """Poll the screen until every text has been seen on it (not necessarily at
        once). Returns the last screen; raises AssertionError on timeout."""
        pending = list(texts)
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"QEMU exited ({self.proc.returncode}); POST log:\n{self.post_log()}")
            lines = self.screen()
            text = "\n".join(lines)
            pending = [t for t in pending if t not in text]
            if not pending:
                return lines
            if time.monotonic() > deadline:
                raise AssertionError(f"not seen on screen: {pending}\nscreen:\n" + "\n".join(lines)
                                     + f"\nPOST log:\n{self.post_log()}")
            time.sleep(0.25)

    def close(self):
        try:
            self.monitor.command("quit")
        except OSError:
            pass
        self.monitor.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stderr.close()
        self.dir.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
