"""Shared test helpers: where the team's shared data lives, and skips when it is absent."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PYVMM_SHARED", ROOT.parent / "shared"))
IMAGES = SHARED / "images"
CPU_TESTS = SHARED / "cpu-tests"


def shared_image(name):
    """Path of a FreeDOS image in ../shared/images, or skip the test saying why."""
    path = IMAGES / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (the shared FreeDOS images are needed; set PYVMM_SHARED)")
    return path


LONG = os.environ.get("PYVMM_LONG") == "1"
