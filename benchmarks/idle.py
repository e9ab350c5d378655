"""Host CPU while the guest idles at a prompt in real-time mode.

    python3 benchmarks/idle.py --fda ../shared/images/fdboot-1.4MB.img [--seconds 30]

Boots in turbo until the prompt is on screen, then runs paced as `pyvmm run
--display none --realtime` does and prints the process CPU time as a share of one
core, with the guest's instructions per second (an idle guest that halts runs few)."""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from frontend.pacing import Pacer          # noqa: E402
from frontend.run import SLICE             # noqa: E402
from pyvmm.machine import Machine          # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fda", required=True)
    p.add_argument("--prompt", default="A:\\>")
    p.add_argument("--seconds", type=float, default=30.0)
    args = p.parse_args(argv)
    with Machine(fda=args.fda, snapshot=True) as m:
        if not m.wait_for_text(args.prompt, timeout=120):
            print(f"no {args.prompt!r} on screen after 120 virtual seconds", file=sys.stderr)
            return 1
        pacer = Pacer(m, realtime=True)
        cpu0, wall0, ins0 = time.process_time(), time.monotonic(), m.cpu.instructions
        while time.monotonic() - wall0 < args.seconds:
            m.run(seconds=SLICE)
            pacer.pace()
        cpu, wall, ins = time.process_time() - cpu0, time.monotonic() - wall0, m.cpu.instructions - ins0
    print(f"idle at {args.prompt!r}: {100 * cpu / wall:.1f}% of one core over {wall:.1f} s; "
          f"guest {ins / wall / 1e6:.2f} M instructions/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
