"""The ``pyvmm`` command.

``pyvmm run`` boots a PC (window, terminal or headless); ``pyvmm cputest`` checks the
CPU core against real-chip vectors; ``pyvmm disk`` makes and edits disk images;
``pyvmm bench`` measures speed.  Input mistakes print one line and exit with status 2.
"""
import argparse
import sys

EXIT_USAGE = 2

DESCRIPTION = """\
pyvmm - a PC/AT emulator (8086 to 80286 real mode, VGA, floppy, IDE disks) that boots DOS.

  pyvmm run                          boot the built-in demo disk
  pyvmm run --fda freedos.img        boot a floppy image in drive A:
  pyvmm run --hda disk.img --boot c  boot a hard-disk image
  pyvmm cputest DIR --cpu 8086       run SingleStepTests CPU vectors
  pyvmm disk create my.img --size 1.44M --format fat
  pyvmm bench                        measure emulation speed

Run 'pyvmm COMMAND --help' for the options of each command."""


class _ArgumentParser(argparse.ArgumentParser):
    """argparse prints usage and a message; we print one clear line and exit 2."""

    def error(self, message):
        raise SystemExit(_usage_error(f"{self.prog}: {message}"))


def _usage_error(message):
    print(message, file=sys.stderr)
    return EXIT_USAGE


class _Step(argparse.Action):
    """Keeps the scripted-run steps in command-line order."""

    def __call__(self, parser, namespace, values, option_string=None):
        steps = getattr(namespace, "steps", None) or []
        steps.append((self.dest, values))
        namespace.steps = steps


def _run_parser(sub):
    p = sub.add_parser(
        "run", help="boot a PC",
        description="Boot a PC/AT. With no disk, the built-in demo disk boots. "
                    "Scripted steps (--wait, --type, --sleep, --screenshot) run in the order given.")
    g = p.add_argument_group("machine")
    g.add_argument("--config", metavar="FILE", help="TOML file with machine keys (cpu, memory, fda, ...); options given here win")
    g.add_argument("--fda", metavar="IMG", help="floppy image for drive A:")
    g.add_argument("--fdb", metavar="IMG", help="floppy image for drive B:")
    g.add_argument("--hda", metavar="IMG", help="hard-disk image, primary master (C:)")
    g.add_argument("--hdb", metavar="IMG", help="hard-disk image, primary slave (D:)")
    g.add_argument("--boot", metavar="ORDER", help="boot order: a (floppy), c (hard disk), ac or ca (default a)")
    g.add_argument("--cpu", metavar="MODEL", help="8086, 8088, 80186 or 80286 (default 8086)")
    g.add_argument("--memory", metavar="KB", type=_kb, help="RAM in KiB (default 640)")
    g.add_argument("--snapshot", action="store_true", default=None, help="keep disk writes in memory; never change the image files")
    g.add_argument("--serial", metavar="SPEC", help="COM1: stdio, file:PATH or tcp:127.0.0.1:PORT")
    g.add_argument("--debug-exit", action="store_true", default=None, help="writing V to port F4h ends pyvmm with status (V<<1)|1")
    g.add_argument("--rtc", metavar="TIME", help="RTC start: 'now' or e.g. 2024-05-01T12:00:00 (default: now with a display, a fixed date headless)")
    g.add_argument("--bios", metavar="FILE", help="system BIOS image (64 KiB) instead of the built-in one")
    g.add_argument("--vgabios", metavar="FILE", help="VGA BIOS option ROM instead of the built-in one")
    d = p.add_argument_group("display")
    d.add_argument("--display", choices=("sdl", "curses", "none"),
                   help="sdl window, curses terminal or none (default: sdl if a display exists, else curses on a terminal, else none)")
    pace = d.add_mutually_exclusive_group()
    pace.add_argument("--realtime", action="store_true", help="guest time follows the wall clock (default with a display)")
    pace.add_argument("--turbo", action="store_true", help="run as fast as the host allows (default with --display none)")
    s = p.add_argument_group("scripted run (steps run in order)")
    s.add_argument("--wait", metavar="TEXT", action=_Step, help="wait until TEXT is on the text screen")
    s.add_argument("--type", metavar="TEXT", action=_Step, help=r"type keys: \n is Enter, {F1} {ESC} {UP} name special keys")
    s.add_argument("--sleep", metavar="SECONDS", type=_seconds, action=_Step, help="let the guest run that many virtual seconds")
    s.add_argument("--screenshot", metavar="FILE.png", action=_Step, help="save the screen as PNG at this point")
    s.add_argument("--timeout", metavar="SECONDS", type=_seconds, default=60.0,
                   help="virtual seconds each --wait may take (default 60)")
    s.add_argument("--print-screen", action="store_true", help="print the text screen to stdout at the end")
    s.add_argument("--exit-after", action="store_true",
                   help="with a display, exit when the steps are done (headless runs always do)")
    dbg = p.add_argument_group("debugging and save states")
    dbg.add_argument("--monitor", action="store_true", help="start in the interactive monitor (registers, disassembly, breakpoints); 'help' lists its commands")
    dbg.add_argument("--trace", metavar="FILE", help="write one line per instruction (CS:IP, bytes, disassembly, registers) to FILE")
    dbg.add_argument("--trace-limit", metavar="N", type=_count, default=1_000_000, help="instructions to trace (default 1000000)")
    dbg.add_argument("--gdb", metavar="PORT", type=_port, help="serve the GDB remote protocol on 127.0.0.1:PORT (gdb: set architecture i8086)")
    dbg.add_argument("--load-state", metavar="FILE", help="start from a state saved by --save-state-on-exit or the API")
    dbg.add_argument("--save-state-on-exit", metavar="FILE", help="save the machine's state to FILE when the run ends")
    p.set_defaults(func=_cmd_run, steps=[])
    return p


def _number(convert, not_a, low=None, high=None, out_of_range=None):
    """An argparse type: ``convert`` the text, then check ``low <= value <= high``.
    The messages are formats with the quoted text as ``{0}``."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(not_a.format(repr(text))) from None
        # written as "not inside" so that NaN is refused too
        if not ((low is None or low <= value) and (high is None or value <= high)):
            raise argparse.ArgumentTypeError(out_of_range.format(repr(text)))
        return value
    return parse


# --memory is range-checked by MachineConfig, which knows the CPU model.
_kb = _number(int, "{0} is not a whole number of KiB")
_count = _number(int, "{0} is not a whole number", low=1, out_of_range="{0} must be positive")
_port = _number(int, "{0} is not a TCP port number", low=1, high=65535,
                out_of_range="{0} is not a TCP port number (1-65535)")
_seconds = _number(float, "{0} is not a number of seconds", low=0, high=1e6,
                   out_of_range="{0} seconds is out of range")


def _cmd_run(args):
    from .run import run
    return run(args)


def _cmd_cputest(argv):
    from pyvmm.cputest import main as cputest_main
    return cputest_main(argv)


def _cmd_disk(argv):
    from pyvmm.storage.disktool import main as disk_main
    return disk_main(argv)


def _cmd_bench(argv):
    from .bench import main as bench_main
    return bench_main(argv)


# Subcommands that parse their own arguments.
_PASSTHROUGH = {"cputest": _cmd_cputest, "disk": _cmd_disk, "bench": _cmd_bench}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _PASSTHROUGH:
        return _guarded(_PASSTHROUGH[argv[0]], argv[1:])
    parser = _ArgumentParser(prog="pyvmm", description=DESCRIPTION,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_ArgumentParser)
    _run_parser(sub)
    for name, text in (("cputest", "run CPU conformance vectors"),
                       ("disk", "create and edit disk images"),
                       ("bench", "measure emulation speed")):
        sub.add_parser(name, help=text, add_help=False)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    if args.version:
        from pyvmm import __version__
        print(f"pyvmm {__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    return _guarded(args.func, args)


def _guarded(func, args):
    from pyvmm.errors import Error
    try:
        return func(args)
    except Error as e:
        return _usage_error(f"pyvmm: {e}")
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # stdout went away (e.g. piped into head): not an error of the emulation
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
