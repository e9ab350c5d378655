"""Write-heavy guests run in a child process that the crash test kills with SIGKILL.

``python3 -m tests.robustness.workload ata IMAGE SECTORS``: the PIO sector writer of
:func:`tests.robustness.guest.ata_write_program` on the hard disk IMAGE; after every
slice of emulation it prints ``completed N`` (the guest's own count of writes the
controller reported complete) and flushes, so the parent knows a lower bound of
what must be in the file when it kills the child.

``python3 -m tests.robustness.workload freedos IMAGE``: FreeDOS booted from the
floppy IMAGE copying files in a loop; prints ``copied N`` after each finished copy.
"""
import sys
import tempfile

from tests.robustness.guest import COUNT_ADDR, ata_write_program, write_roms

FREEDOS_PROMPT = "A:\\>"


def run_ata(image, sectors):
    from pyvmm.machine import Machine
    with tempfile.TemporaryDirectory() as tmp:
        bios, vga = write_roms(tmp, ata_write_program(sectors, 0xFFFF, exit_when_done=False))
        with Machine(bios=bios, vgabios=vga, hda=image, boot="c") as m:
            print("started", flush=True)
            while True:
                m.run(cycles=20000)
                print("completed", int.from_bytes(m.read(COUNT_ADDR, 2), "little"), flush=True)


def run_freedos(image):
    from pyvmm.machine import Machine
    with Machine(fda=image) as m:
        if not m.wait_for_text(FREEDOS_PROMPT, timeout=120):
            print("no prompt", flush=True)
            return 3
        print("started", flush=True)
        n = 0
        while True:
            n += 1
            m.type_text(f"copy /y command.com c{n % 4}.tmp\necho END-{n}\n")
            if not m.wait_for_text(f"END-{n}", timeout=60):
                print("stuck", flush=True)
                return 4
            print("copied", n, flush=True)


def main(argv=None):
    argv = argv or sys.argv[1:]
    if argv[0] == "ata":
        return run_ata(argv[1], int(argv[2]))
    return run_freedos(argv[1])


if __name__ == "__main__":
    sys.exit(main())
