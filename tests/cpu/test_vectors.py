"""The real-chip vectors (SingleStepTests 8086 and 80286 real mode), one test per
opcode file, through the conformance runner's functions."""
import gzip
import json

import pytest

from pyvmm.cputest import Rig, load_metadata, opcode_info, run_tests
from tests.cpu.cpurig import shared_dir

SUITES = {
    "8086": ("cpu-tests/8086/v1", "8086"),
    "80286": ("cpu-tests/80286/v1_real_mode", "80286"),
}


def _files(suite):
    folder = shared_dir() / SUITES[suite][0]
    files = sorted(folder.glob("*.json.gz"))
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no vectors at {folder} (set PYVMM_SHARED)"))]
    return [pytest.param(f, id=f.name[:-len(".json.gz")]) for f in files]


_rigs = {}


def _rig(suite):
    # one rig per suite for the whole session: building 1-2 MiB per file is waste
    if suite not in _rigs:
        is286 = suite == "80286"
        _rigs[suite] = Rig(SUITES[suite][1], size=(2 << 20) if is286 else (1 << 20))
    return _rigs[suite]


def _check(suite, path):
    folder = path.parent
    stem = path.name[:-len(".json.gz")]
    status, mask = opcode_info(load_metadata(folder), stem)
    tests = json.loads(gzip.decompress(path.read_bytes()))
    passed, failures = run_tests(_rig(suite), tests, mask, stem, until_hlt=(suite == "80286"))
    detail = "; ".join(f"{name}: {', '.join(d[:6])}" for name, d in failures[:3])
    assert not failures, f"{stem} [{status}]: {len(failures)}/{len(tests)} failed: {detail}"


@pytest.mark.parametrize("path", _files("8086"))
def test_8086(path):
    _check("8086", path)


@pytest.mark.parametrize("path", _files("80286"))
def test_80286_real_mode(path):
    _check("80286", path)
