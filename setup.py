"""Build script for pyvmm's compiled modules.

Every ``.pyx`` file under ``pyvmm/`` is compiled; set ``PYVMM_SANITIZE=1`` to build
them with AddressSanitizer and UBSan (used by the robustness CI job).
"""
import glob
import os

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

compile_args = ["-O3"]
link_args = []
if os.environ.get("PYVMM_SANITIZE"):
    compile_args = ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined"]
    link_args = ["-fsanitize=address,undefined"]

extensions = [
    Extension(
        path[:-len(".pyx")].replace(os.sep, "."),
        [path],
        include_dirs=[numpy.get_include()],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for path in sorted(glob.glob(os.path.join("pyvmm", "**", "*.pyx"), recursive=True))
]

packages = find_packages(include=["pyvmm", "pyvmm.*"])
packages += ["pyvmm.frontend", "pyvmm.roms"]

setup(
    packages=packages,
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    ),
)
