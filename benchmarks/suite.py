"""pyvmm's benchmark suite: guest-code MIPS, FreeDOS boot time, idle load, memory and
start-up time, and anchor runs of the same guest programs under other emulators.

    python3 benchmarks/suite.py [--only cpu,vga,boot,idle,rss,startup] [--runs N]
                                [--quick] [--json FILE] [--compare OLD.json] [--anchors]
    pyvmm bench ...            (the same options)

Method.  Every figure is the median (and min-max) of N runs in this process or in
fresh child processes; compare against a baseline measured in the same sitting, the
host is shared and noisy.  Guest workloads (benchmarks/workloads/*.asm, assembled by
workloads/build.py) run from RAM on a bare CPU + PhysMem + IOBus + Clock; the port-I/O
loop adds the POST port device reading back its latch, the VGA fills the real VGA
device.  Only ``cpu.run`` is timed; MIPS = retired instructions (``cpu.instructions``,
a REP instruction counts once) / wall seconds.  Anchors run the same bytes as a boot sector
(QEMU, Bochs) or a .COM program (DOSBox), time the emulator process end to end with
N iterations and with 0 iterations, and take the difference as the loop's time.
"""
import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

# NumPy's BLAS threads would spin beside the measured loop on a small machine
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WORKLOAD_DIR = ROOT / "benchmarks" / "workloads"
RESULTS_DIR = ROOT / "benchmarks" / "results"
IMAGES = Path(os.environ.get("PYVMM_SHARED", ROOT.parent / "shared")) / "images"
PROMPT = "A:\\>"
BOOT_TIMEOUT = 120.0          # virtual seconds a boot may take
CHILD_TIMEOUT = 300.0         # wall seconds for one boot/idle/build child process
LOAD_SEG = 0x1000             # workloads run at 1000:0100 (org 100h)
EXIT_MODE_OFFSET = 3          # header fields, see workloads/harness.inc
ITERATIONS_OFFSET = 4
DESCRIPTION = ("Measure pyvmm: guest-code MIPS, VGA vs RAM writes, FreeDOS boot time, "
               "host load when idle, peak memory, start-up time; --anchors compares with "
               "QEMU, Bochs and DOSBox.")
GROUPS = ("cpu", "vga", "boot", "idle", "rss", "startup")


@dataclass(frozen=True)
class Workload:
    name: str
    group: str
    title: str
    iterations: int           # default count: about 0.5-1 s on a fast core
    vga: bool = False
    port80: bool = False


WORKLOADS = [
    Workload("alu", "cpu", "ALU/load loop", 10000),
    Workload("callret", "cpu", "CALL/RET, PUSH/POP, stores", 10000),
    Workload("string", "cpu", "REP MOVSW/STOSW, REPE CMPSB, LODSB loop", 12000),
    Workload("muldiv", "cpu", "MUL/IMUL/DIV/IDIV", 5000),
    Workload("modrm", "cpu", "ModR/M: 8 r/m forms, disp8/disp16", 20000),
    Workload("portio", "cpu", "OUT/IN to port 80h", 2000, port80=True),
    Workload("vga13", "vga", "mode 13h fill, STOSW to VGA", 10, vga=True),
    Workload("ram13", "vga", "same writes to RAM (vs vga13)", 10),
    Workload("vga12", "vga", "mode 12h fill, STOSW to VGA planes", 12, vga=True),
    Workload("ram12", "vga", "same writes to RAM (vs vga12)", 12),
]
BY_NAME = {w.name: w for w in WORKLOADS}
VGA_PAIRS = (("vga13", "ram13"), ("vga12", "ram12"))


# -- guest workloads on pyvmm --------------------------------------------------------------
def workload_bytes(name, iterations, exit_mode=0):
    """The workload binary with its header patched (see workloads/harness.inc)."""
    path = WORKLOAD_DIR / f"{name}.bin"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run python3 benchmarks/workloads/build.py")
    code = bytearray(path.read_bytes())
    if code[0] != 0xE9:
        raise ValueError(f"{path} does not start with the benchmark header")
    code[EXIT_MODE_OFFSET] = exit_mode
    code[ITERATIONS_OFFSET:ITERATIONS_OFFSET + 4] = int(iterations).to_bytes(4, "little")
    return bytes(code)


def make_guest(name, iterations, model="8086"):
    """A CPU with the workload loaded at 1000:0100, ready to run (not timed)."""
    from pyvmm.board import Board
    from pyvmm.cpu import CPU
    w = BY_NAME[name]
    board = Board()
    board.mem.map_ram(0, 0xA0000)
    if w.vga:
        from pyvmm.devices.vga import VGA
        board.attach(VGA())
    if w.port80:
        from pyvmm.devices.debugports import PostPort
        board.attach(PostPort(readback=True))     # port 80h keeps the last byte
    board.mem.write((LOAD_SEG << 4) + 0x100, workload_bytes(name, iterations))
    cpu = CPU(board.mem, board.io, board.clock, model=model)
    if w.vga:
        cpu.attach_vga(board.vga.mem)      # as Machine wires it
    cpu.reset()
    for reg in ("cs", "ds", "es", "ss"):
        cpu.set_reg(reg, LOAD_SEG)
    cpu.set_reg("ip", 0x100)
    cpu.set_reg("sp", 0xFFFE)
    return board, cpu


class GuestRun(NamedTuple):
    instructions: int         # retired by the workload, from cpu.instructions
    seconds: float            # wall time of the cpu.run calls
    cpu_seconds: float        # process CPU time of the same, steadier on a busy host


def run_guest(name, iterations, model="8086"):
    """Run the workload to its HLT (only this is timed); returns a GuestRun."""
    from pyvmm.cpu import EXIT_HLT
    board, cpu = make_guest(name, iterations, model)
    clock = board.clock
    budget = 1 << 40            # cycles; a guest that runs away is a failure, not a hang
    n0 = cpu.instructions
    c0, t0 = time.process_time(), time.perf_counter()
    while True:
        reason = cpu.run(1 << 30)
        clock.fire_due()
        if reason == EXIT_HLT and cpu.halted:
            break
        if clock.now > budget:
            raise RuntimeError(f"workload {name} did not halt")
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
    return GuestRun(cpu.instructions - n0, seconds, cpu_seconds)


# -- measurements ---------------------------------------------------------------------------
def progress(text):
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def _summary(values, unit, better, **extra):
    return dict(unit=unit, better=better, values=values, median=statistics.median(values),
                min=min(values), max=max(values), **extra)


def bench_workload(w, runs, scale, model):
    iterations = max(1, int(w.iterations * scale))
    run_guest(w.name, 1, model)                       # warm caches and imports
    got = [run_guest(w.name, iterations, model) for _ in range(runs)]
    counts = {g.instructions for g in got}
    if len(counts) != 1:
        raise RuntimeError(f"workload {w.name} retired different instruction counts: {sorted(counts)}")
    n = counts.pop()
    return _summary([n / g.seconds / 1e6 for g in got], "MIPS", "higher", instructions=n,
                    iterations=iterations, seconds=statistics.median(g.seconds for g in got),
                    cpu_mips=statistics.median(n / g.cpu_seconds / 1e6 for g in got),
                    title=w.title)


def child(kind, *args, timeout=CHILD_TIMEOUT):
    """Run one measurement in a fresh Python process; returns its JSON answer."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, *map(str, args)]
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                           env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"gave up after {timeout:g} s of wall time") from None
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(last)
    return json.loads(r.stdout.strip().splitlines()[-1])


def _child_boot(image):
    t0 = time.perf_counter()
    from pyvmm.machine import Machine
    machine = Machine(fda=image, snapshot=True)
    t1 = time.perf_counter()
    ok = machine.wait_for_text(PROMPT, BOOT_TIMEOUT)
    t2 = time.perf_counter()
    if not ok:
        raise RuntimeError(f"{Path(image).name}: no {PROMPT} after {BOOT_TIMEOUT:g} virtual seconds")
    instructions = machine.cpu.instructions
    virtual = machine.clock.seconds()
    machine.run(seconds=2.0)                          # a little life at the prompt
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    machine.close()
    return dict(build=t1 - t0, boot=t2 - t1, instructions=instructions,
                virtual=virtual, maxrss_kib=rss)


def _child_idle(image, seconds):
    from frontend.pacing import Pacer
    from frontend.run import SLICE
    from pyvmm.machine import Machine
    machine = Machine(fda=image, snapshot=True)
    if not machine.wait_for_text(PROMPT, BOOT_TIMEOUT):
        raise RuntimeError(f"{Path(image).name}: no {PROMPT} after {BOOT_TIMEOUT:g} virtual seconds")
    pacer = Pacer(machine, realtime=True)
    cpu0, wall0 = time.process_time(), time.monotonic()
    while time.monotonic() - wall0 < seconds:
        machine.run(seconds=SLICE)
        pacer.pace()
    cpu_s, wall = time.process_time() - cpu0, time.monotonic() - wall0
    return dict(cpu=cpu_s, wall=wall, load=cpu_s / wall)


def _child_build():
    t0 = time.perf_counter()
    from pyvmm.machine import Machine
    Machine(snapshot=True).close()                    # the built-in disk, as `pyvmm run`
    return dict(build=time.perf_counter() - t0)


def images(quick):
    found = sorted(IMAGES.glob("*.img"))
    if quick:
        first = [p for p in found if p.name == "fdboot-1.4MB.img"]
        return first or found[:1]
    return found


def bench_boot(runs, quick, results, notes):
    """Boot-to-prompt wall time and peak RSS of a session, per image."""
    imgs = images(quick)
    if not imgs:
        notes.append(f"boot/rss: no images in {IMAGES}")
    for img in imgs:
        progress(f"boot {img.name}")
        try:
            got = [child("boot", img) for _ in range(runs)]
        except RuntimeError as e:
            notes.append(f"boot {img.name}: skipped ({e})")
            continue
        results[f"boot.{img.name}"] = _summary(
            [g["boot"] for g in got], "s", "lower", title=f"boot {img.name} to {PROMPT}",
            instructions=got[0]["instructions"], virtual_s=round(got[0]["virtual"], 3))
        results[f"rss.{img.name}"] = _summary(
            [g["maxrss_kib"] / 1024 for g in got], "MiB", "lower",
            title=f"peak RSS, {img.name} session")


def bench_idle(runs, seconds, results, notes):
    imgs = images(True)
    if not imgs:
        notes.append(f"idle: no images in {IMAGES}")
        return
    progress(f"idle at the prompt, {runs} x {seconds:g} s")
    try:
        got = [child("idle", imgs[0], seconds, timeout=CHILD_TIMEOUT + seconds) for _ in range(runs)]
    except RuntimeError as e:
        notes.append(f"idle: skipped ({e})")
        return
    results["idle.prompt"] = _summary(
        [100 * g["load"] for g in got], "% CPU", "lower",
        title=f"host CPU idle at {PROMPT}, realtime {seconds:g} s ({imgs[0].name})")


def pyvmm_command():
    exe = shutil.which("pyvmm")
    return [exe] if exe else [sys.executable, "-m", "pyvmm.frontend.cli"]


def bench_startup(runs, results, notes):
    cmd = pyvmm_command() + ["--version"]
    times = []
    for _ in range(max(runs, 3)):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
        if r.returncode != 0:
            notes.append(f"startup: {' '.join(cmd)} failed with status {r.returncode}")
            return
    results["startup.version"] = _summary(times, "s", "lower", title="pyvmm --version",
                                          command=cmd)
    try:
        got = [child("build") for _ in range(runs)]
    except RuntimeError as e:
        notes.append(f"startup: Machine build skipped ({e})")
        return
    results["startup.machine"] = _summary([g["build"] for g in got], "s", "lower",
                                          title="import + build a Machine (fresh process)")


# -- anchors: the same programs under other emulators --------------------------------------
BOCHSRC = """\
megs: 16
romimage: file={bios}
vgaromimage: file={vgabios}
floppya: 1_44={image}, status=inserted
boot: floppy
display_library: rfb, options="timeout=0"
clock: sync=none
speaker: enabled=0
port_e9_hack: enabled=1
log: {log}
panic: action=fatal
error: action=ignore
info: action=ignore
debug: action=ignore
"""

DOSBOX_CONF = """\
[sdl]
fullscreen=false
[dosbox]
machine=svga_s3
memsize=16
[cpu]
core=normal
cputype=auto
cycles=fixed 1000000
[mixer]
nosound=true
[speaker]
pcspeaker=false
[autoexec]
mount c "{dir}"
c:
BENCH.COM
exit
"""


def floppy_image(path, name, iterations):
    """A 1.44M floppy: boot sector, then the workload from sector 2 (exit_mode 1)."""
    data = bytearray(1474560)
    data[0:512] = (WORKLOAD_DIR / "boot.bin").read_bytes()
    code = workload_bytes(name, iterations, exit_mode=1)
    data[512:512 + len(code)] = code
    path.write_bytes(data)


class Anchor:
    """An emulator found on PATH.  Subclasses give ``prepare(tmp, name, iterations)``,
    which writes the files for one run and returns (command, env), and
    ``check(result, tmp)``, which raises unless the run reached the workload's end."""
    name = ""
    exe = ""
    stdin = ""

    def available(self):
        return shutil.which(self.exe) is not None


class QemuAnchor(Anchor):
    name = "QEMU TCG"
    exe = "qemu-system-i386"

    def prepare(self, tmp, name, iterations):
        img = tmp / "bench.img"
        floppy_image(img, name, iterations)
        return [self.exe, "-accel", "tcg", "-m", "16", "-display", "none", "-vga", "std",
                "-no-reboot", "-boot", "a", "-drive", f"if=floppy,format=raw,file={img}",
                "-debugcon", f"file:{tmp / 'e9.txt'}",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"], None

    def check(self, result, tmp):
        # isa-debug-exit ends QEMU with status (0 << 1) | 1
        if result.returncode != 1 or "done" not in (tmp / "e9.txt").read_text(errors="replace"):
            raise RuntimeError(f"QEMU status {result.returncode}, workload did not finish")


class BochsAnchor(Anchor):
    """Debian's Bochs 2.7 has no nogui library and is built with the internal
    debugger: the rfb display with timeout=0 does not wait for a viewer, and "c" on
    stdin starts the simulation."""
    name = "Bochs"
    exe = "bochs"
    stdin = "c\n"

    def available(self):
        return (super().available() and Path("/usr/share/bochs/BIOS-bochs-latest").is_file()
                and self.vgabios() is not None)

    @staticmethod
    def vgabios():
        for p in ("/usr/share/vgabios/vgabios.bin", "/usr/share/bochs/VGABIOS-lgpl-latest"):
            if Path(p).is_file():
                return p
        return None

    def prepare(self, tmp, name, iterations):
        img = tmp / "bench.img"
        floppy_image(img, name, iterations)
        rc = tmp / "bochsrc"
        rc.write_text(BOCHSRC.format(bios="/usr/share/bochs/BIOS-bochs-latest",
                                     vgabios=self.vgabios(), image=img,
                                     log=tmp / "bochs.log"))
        return [self.exe, "-q", "-f", str(rc)], None

    def check(self, result, tmp):
        if "done" not in result.stdout:
            raise RuntimeError(f"Bochs status {result.returncode}, workload did not finish")


class DosboxAnchor(Anchor):
    """The .COM program from a mounted folder.  core=normal is the interpreter that
    core=auto picks for real-mode programs; a fixed 1M cycles/ms is more than the host
    can give, so DOSBox runs flat out instead of pacing to its default 3000 cycles/ms.
    The program proves it ended by creating DONE.TXT."""
    name = "DOSBox"
    exe = "dosbox"

    def prepare(self, tmp, name, iterations):
        (tmp / "BENCH.COM").write_bytes(workload_bytes(name, iterations, exit_mode=2))
        conf = tmp / "dosbox.conf"
        conf.write_text(DOSBOX_CONF.format(dir=tmp))
        env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
        return [self.exe, "-conf", str(conf)], env

    def check(self, result, tmp):
        if not any(p.name.upper() == "DONE.TXT" for p in tmp.iterdir()):
            raise RuntimeError(f"DOSBox status {result.returncode}, workload did not finish")


ANCHORS = (QemuAnchor(), BochsAnchor(), DosboxAnchor())


def _children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _time_process(anchor, name, iterations):
    """One emulator run; returns (wall seconds, CPU seconds of the process, command)."""
    with tempfile.TemporaryDirectory(prefix="pyvmm-bench-") as d:
        tmp = Path(d)
        cmd, env = anchor.prepare(tmp, name, iterations)
        c0, t0 = _children_cpu(), time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, input=anchor.stdin,
                           env=env, timeout=600)
        dt, cpu_s = time.perf_counter() - t0, _children_cpu() - c0
        anchor.check(r, tmp)
    return dt, cpu_s, cmd


def bench_anchors(selected, runs, seconds, model, results, notes):
    """pyvmm against each installed emulator on the same bytes.  pyvmm runs N
    iterations, N chosen so that its run takes about ``seconds``.  An emulator's loop
    time is median(process time with M iterations) - median(process time with 0); M
    starts at N and grows until that difference is also about ``seconds``, so fast
    emulators are not lost in their start-up noise.  Ratios compare time per iteration,
    in wall time and in CPU time (the emulator process's, pyvmm's cpu.run's): on a
    shared host the CPU-time ratio is the steadier one."""
    out = {}
    present = [a for a in ANCHORS if a.available()]
    for a in ANCHORS:
        if a not in present:
            notes.append(f"anchor {a.name}: skipped, {a.exe} is not installed")
    for w in selected:
        progress(f"anchors: {w.name}")
        probe = run_guest(w.name, w.iterations, model).seconds
        n = max(1, round(w.iterations * seconds / max(probe, 1e-6)))
        per_iteration = (run_guest(w.name, n, model).instructions
                         - run_guest(w.name, 0, model).instructions) / n
        mine = [run_guest(w.name, n, model) for _ in range(runs)]
        wall = statistics.median(g.seconds for g in mine)
        cpu = statistics.median(g.cpu_seconds for g in mine)
        row = {"iterations": n, "instructions_per_iteration": per_iteration, "pyvmm_s": wall,
               "pyvmm_cpu_s": cpu, "pyvmm_mips": per_iteration * n / wall / 1e6}
        for a in present:
            try:
                empty = [_time_process(a, w.name, 0) for _ in range(runs)]
                empty_wall = statistics.median(e[0] for e in empty)
                empty_cpu = statistics.median(e[1] for e in empty)
                m = n
                t = _time_process(a, w.name, m)[0]
                if t - empty_wall < seconds / 2:
                    m = min(n * 1000, max(m + 1, round(m * seconds / max(t - empty_wall, 0.01))))
                full = [_time_process(a, w.name, m) for _ in range(runs)]
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                notes.append(f"anchor {a.name} {w.name}: failed ({e})")
                continue
            net = statistics.median(f[0] for f in full) - empty_wall
            net_cpu = statistics.median(f[1] for f in full) - empty_cpu
            resolved = net >= 0.1 and net_cpu >= 0.1
            row[a.name] = {"iterations": m, "startup_s": empty_wall, "net_s": net,
                           "startup_cpu_s": empty_cpu, "net_cpu_s": net_cpu,
                           "mips": per_iteration * m / net / 1e6 if resolved else None,
                           "ratio": (net / m) / (wall / n) if resolved else None,
                           "cpu_ratio": (net_cpu / m) / (cpu / n) if resolved else None,
                           "command": full[0][2]}
            if not resolved:
                notes.append(f"anchor {a.name} {w.name}: loop time {net:.3f} s is below the "
                             f"start-up noise even with {m} iterations")
        out[w.name] = row
    results["anchors"] = out


# -- reporting ------------------------------------------------------------------------------
def _fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"


def print_table(results, out=sys.stdout):
    rows = [(k, r) for k, r in results.items() if isinstance(r, dict) and "median" in r]
    if rows:
        print(f"{'benchmark':<26} {'median':>9} {'min-max':>17} {'unit':<6} detail", file=out)
        for key, r in rows:
            span = f"{_fmt(r['min'])}-{_fmt(r['max'])}"
            detail = r.get("title", "")
            if "instructions" in r and r["unit"] == "MIPS":
                detail += f" ({r['instructions']} instr.; {_fmt(r['cpu_mips'])} by CPU time)"
            print(f"{key:<26} {_fmt(r['median']):>9} {span:>17} {r['unit']:<6} {detail}", file=out)
    anchors = results.get("anchors")
    if anchors:
        print("\nAnchors, the same workload bytes under other emulators.  Method: emulator process "
              "time\nwith M iterations minus with 0 iterations (medians); pyvmm: cpu.run time with N "
              "iterations.\nxR = the emulator's time per iteration / pyvmm's (> 1: pyvmm is faster), "
              "in wall time and\n(cpu xR) in process CPU time; MIPS = pyvmm's instruction count for "
              "those iterations / wall time.", file=out)
        commands = {}
        for name, row in anchors.items():
            parts = [f"{name:<8} pyvmm {row['pyvmm_mips']:6.1f} MIPS (N={row['iterations']})"]
            for a in ANCHORS:
                got = row.get(a.name)
                if got:
                    parts.append(f"{a.name} {_fmt(got['mips'])} MIPS x{_fmt(got['ratio'])} "
                                 f"(cpu x{_fmt(got['cpu_ratio'])})")
                    commands.setdefault(a.name, got["command"])
            print("  " + " | ".join(parts), file=out)
        for a, cmd in commands.items():
            print(f"  {a}: {' '.join(cmd)}", file=out)
        if "Bochs" in commands:
            print("  bochsrc: " + "; ".join(BOCHSRC.splitlines()) + "; 'c' fed on stdin", file=out)
        if "DOSBox" in commands:
            print("  dosbox.conf: " + "; ".join(DOSBOX_CONF.splitlines())
                  + "; with SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy", file=out)


def compare(results, old, out=sys.stdout):
    """Ratios of this run's medians to an earlier run's (>1 means better now)."""
    print(f"\nCompared with {old.get('when', 'an earlier run')} (ratio > 1: better now)", file=out)
    for key, r in results.items():
        o = (old.get("results") or {}).get(key)
        if not (isinstance(r, dict) and "median" in r and isinstance(o, dict) and o.get("median")):
            continue
        ratio = r["median"] / o["median"]
        if r["better"] == "lower":
            ratio = 1 / ratio if ratio else float("inf")
        print(f"  {key:<26} {_fmt(o['median']):>9} -> {_fmt(r['median']):>9} {r['unit']:<6} x{ratio:.2f}",
              file=out)


def _git_commit():
    try:
        r = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True)
        return r.stdout.strip() or None
    except OSError:
        return None


# -- command line ---------------------------------------------------------------------------
def parse_args(argv):
    p = argparse.ArgumentParser(prog="pyvmm bench", description=DESCRIPTION,
                                epilog="Groups: cpu (guest loops), vga (VGA fills vs RAM), boot "
                                       "(FreeDOS boot time), idle (host CPU at the prompt), rss "
                                       "(peak memory), startup (pyvmm --version, Machine build).")
    p.add_argument("--only", metavar="GROUPS", help="comma-separated groups or workload names")
    p.add_argument("--runs", type=int, default=5, metavar="N", help="runs per figure (default 5)")
    p.add_argument("--quick", action="store_true",
                   help="1 run, 1/10 of the iterations, one image, 3 s idle")
    p.add_argument("--scale", type=float, default=1.0, help="multiply workload iterations")
    p.add_argument("--idle-seconds", type=float, default=30.0, metavar="S",
                   help="realtime seconds at the prompt for the idle figure (default 30)")
    p.add_argument("--model", default="8086", help="CPU model for the guest loops")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--compare", metavar="OLD.json", help="print ratios against an earlier --json")
    p.add_argument("--anchors", action="store_true",
                   help="also run the guest loops under QEMU, Bochs and DOSBox when installed "
                        "(at most 3 runs each)")
    p.add_argument("--anchor-seconds", type=float, default=3.0, metavar="S",
                   help="size anchor loops so that pyvmm runs each for about S seconds (default 3)")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    if args.quick:
        args.runs = 1
        args.scale *= 0.1
        args.idle_seconds = min(args.idle_seconds, 3.0)
        args.anchor_seconds = min(args.anchor_seconds, 0.5)
    wanted = set(GROUPS) if not args.only else {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = wanted - set(GROUPS) - set(BY_NAME)
    if unknown:
        p.error(f"unknown group or workload: {', '.join(sorted(unknown))} "
                f"(groups: {', '.join(GROUPS)}; workloads: {', '.join(BY_NAME)})")
    args.wanted = wanted
    return args


def run_suite(args, out=sys.stdout):
    results, notes = {}, []
    selected = [w for w in WORKLOADS if w.group in args.wanted or w.name in args.wanted]
    for w in selected:
        progress(f"{w.name} ({w.title})")
        results[f"{w.group}.{w.name}"] = bench_workload(w, args.runs, args.scale, args.model)
    for a, b in VGA_PAIRS:
        ra, rb = results.get(f"vga.{a}"), results.get(f"vga.{b}")
        if ra and rb and ra["iterations"] == rb["iterations"]:
            results[f"vga.{a}/{b}"] = _summary(
                [ra["seconds"] / rb["seconds"]], "x", "lower",
                title=f"time ratio, the same {ra['iterations']} frames to VGA vs RAM")
    if "boot" in args.wanted or "rss" in args.wanted:
        bench_boot(args.runs, args.quick, results, notes)
        if "boot" not in args.wanted:
            results = {k: v for k, v in results.items() if not k.startswith("boot.")}
        if "rss" not in args.wanted:
            results = {k: v for k, v in results.items() if not k.startswith("rss.")}
    if "idle" in args.wanted:
        bench_idle(args.runs, args.idle_seconds, results, notes)
    if "startup" in args.wanted:
        bench_startup(args.runs, results, notes)
    if args.anchors:
        bench_anchors(selected, min(args.runs, 3), args.anchor_seconds, args.model, results, notes)
    doc = {"version": 1, "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "commit": _git_commit(),
           "host": {"python": platform.python_version(), "machine": platform.machine(),
                    "cpus": os.cpu_count(), "node": platform.node()},
           "options": {"runs": args.runs, "scale": args.scale, "quick": args.quick,
                       "model": args.model, "idle_seconds": args.idle_seconds},
           "results": results, "notes": notes}
    print_table(results, out)
    for n in notes:
        print(f"note: {n}", file=out)
    return doc


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        kind, rest = argv[1], argv[2:]
        fn = {"boot": _child_boot, "idle": _child_idle, "build": _child_build}[kind]
        if kind == "idle":
            rest = [rest[0], float(rest[1])]
        print(json.dumps(fn(*rest)))
        return 0
    try:
        args = parse_args(argv)
    except SystemExit as e:                 # --help, or a usage error already printed
        return e.code if isinstance(e.code, int) else 2
    old = None
    if args.compare:
        try:
            with open(args.compare) as f:
                old = json.load(f)
        except (OSError, ValueError) as e:
            print(f"pyvmm bench: cannot read {args.compare}: {e}", file=sys.stderr)
            return 2
    doc = run_suite(args)
    if old is not None:
        compare(doc["results"], old)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
