"""``pyvmm run``: build the machine from options and hand it to a frontend."""
import os
import sys

from pyvmm.config import DEFAULT_RTC, MachineConfig

from .script import DONE, TIMEOUT, Script

MACHINE_KEYS = ("cpu", "memory", "fda", "fdb", "hda", "hdb", "boot", "snapshot",
                "serial", "debug_exit", "rtc", "bios", "vgabios")

SLICE = 0.01      # virtual seconds emulated between looks at the script and the host


def choose_display(requested):
    if requested:
        return requested
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return "sdl"
    if sys.stdin.isatty() and sys.stdout.isatty():
        return "curses"
    return "none"


def build_config(args, display):
    config = MachineConfig.from_toml(args.config) if args.config else MachineConfig()
    changes = {key: getattr(args, key) for key in MACHINE_KEYS if getattr(args, key, None) is not None}
    if "rtc" not in changes and config.rtc == DEFAULT_RTC and display != "none":
        changes["rtc"] = "now"       # a person at a screen expects today's date
    return config.replace(**changes)


def screen_dump(machine):
    return "\n".join(line.rstrip() for line in machine.screen_text())


def run(args):
    from pyvmm.machine import Machine

    display = choose_display(args.display)
    config = build_config(args, display)
    script = Script(args.steps, args.timeout)
    realtime = args.realtime or (display != "none" and not args.turbo)
    with Machine(config) as machine:
        if args.load_state:
            machine.load_state(args.load_state)
        if args.monitor or args.trace or args.gdb:
            status = run_debugger(machine, args)
        elif display == "sdl":
            from .sdl import run_sdl
            status = run_sdl(machine, script, realtime, args.exit_after)
        elif display == "curses":
            from .curses_ui import run_curses
            status = run_curses(machine, script, realtime, args.exit_after)
        else:
            status = run_headless(machine, script, realtime)
        machine.flush()
        if args.save_state_on_exit:
            machine.save_state(args.save_state_on_exit)
    if status == TIMEOUT:
        print(f"pyvmm: {script.describe_failure()}; the screen was:", file=sys.stderr)
        print(screen_dump(machine), file=sys.stderr)
    if args.print_screen:
        print(screen_dump(machine))
    if machine.exit_code is not None:
        return machine.exit_code
    return 1 if status == TIMEOUT else 0


def run_headless(machine, script, realtime):
    """Run until the script is done (or forever without one), or the guest exits."""
    from .pacing import Pacer
    pacer = Pacer(machine, realtime)
    scripted = bool(script.steps)
    while machine.exit_code is None:
        status = script.advance(machine)
        if status == TIMEOUT or (status == DONE and scripted):
            return status
        machine.run(seconds=SLICE)
        pacer.pace()
    return DONE


def run_debugger(machine, args):
    """--monitor, --trace and --gdb take over the run loop (headless)."""
    if args.trace:
        from pyvmm.debug.trace import run_traced
        try:
            run_traced(machine, args.trace, max_instructions=args.trace_limit)
        except OSError as e:
            from pyvmm.errors import ConfigError
            raise ConfigError(f"cannot write trace file {args.trace}: {e.strerror}") from None
    elif args.gdb:
        from pyvmm.debug.gdbstub import GdbStub
        try:
            stub = GdbStub(machine, port=args.gdb)
        except OSError as e:
            from pyvmm.errors import ConfigError
            raise ConfigError(f"cannot listen on 127.0.0.1:{args.gdb}: {e.strerror}") from None
        print(f"pyvmm: waiting for gdb on 127.0.0.1:{stub.port} (target remote 127.0.0.1:{stub.port})",
              file=sys.stderr)
        try:
            stub.serve()
        finally:
            stub.close()
    else:
        from pyvmm.debug.monitor import Monitor
        Monitor(machine, sys.stdin, sys.stdout).run()
    return DONE
