"""Point the CMake exports of the ROS 2 PyPI wheels at this interpreter's headers.

The ROS 2 wheels were built in a manylinux container, and their generated CMake
exports (share/*/cmake/*.cmake) name that container's Python and NumPy include
directories. CMake refuses imported targets whose include paths do not exist, so
building an interface package against the wheels fails until those paths are
rewritten to the ones of the interpreter that runs this script. Idempotent.

Usage: python fix_wheel_cmake_paths.py PREFIX
"""

import re
import sys
import sysconfig
from pathlib import Path

import numpy

BUILD_PYTHON = r"/opt/python/cp3\d+-cp3\d+"
REWRITES = (
    (re.compile(BUILD_PYTHON + r"/include/python3\.\d+"), sysconfig.get_paths()["include"]),
    (
        re.compile(BUILD_PYTHON + r"/lib/python3\.\d+/site-packages/numpy/_core/include"),
        numpy.get_include(),
    ),
)


def main(prefix: str) -> int:
    changed = 0
    for path in Path(prefix, "share").glob("*/cmake/*.cmake"):
        text = path.read_text()
        new = text
        for pattern, real in REWRITES:
            new = pattern.sub(real.replace("\\", "/"), new)
        if new != text:
            path.write_text(new)
            changed += 1
    print(f"fix_wheel_cmake_paths: rewrote {changed} CMake export file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
