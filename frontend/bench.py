"""``pyvmm bench``: the benchmark suite of a source checkout (benchmarks/suite.py).

The guest workloads and the runner live in the repository's ``benchmarks/`` folder,
not in the installed package, so this command works from a checkout (an editable
install or ``python3 -m pyvmm.frontend.cli`` run in the tree).
"""
import importlib.util
import sys
from pathlib import Path

SUITE = Path(__file__).resolve().parents[1] / "benchmarks" / "suite.py"


def load_suite(path=SUITE):
    """The runner module, loaded from its file (``benchmarks`` is not a package)."""
    spec = importlib.util.spec_from_file_location("pyvmm_bench_suite", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv) -> int:
    if not SUITE.is_file():
        print(f"pyvmm bench: {SUITE} is absent; the benchmarks ship with the source "
              "repository, run this from a checkout", file=sys.stderr)
        return 2
    return load_suite().main(list(argv))
