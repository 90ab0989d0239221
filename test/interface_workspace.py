"""Interface packages that are not on PyPI (hri_msgs, audio_common_msgs), built for a test with
colcon as make builds emotion_msgs, and the environment of a process that imports them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest


def build_interfaces(root: Path, package: str, messages: dict[str, str]) -> Path:
    """Builds ``package`` from ``messages`` ("Name.msg" -> definition, depending on std_msgs at
    most) in a colcon workspace under ``root``; its install prefix."""
    colcon = Path(sys.executable).with_name("colcon")
    if not colcon.is_file():
        pytest.skip(f"colcon is not installed next to {sys.executable} (make installs it)")
    source = root / "src" / package
    (source / "msg").mkdir(parents=True)
    for name, text in messages.items():
        (source / "msg" / name).write_text(text)
    (source / "package.xml").write_text(
        f'<?xml version="1.0"?>\n<package format="3">\n  <name>{package}</name>\n  <version>2.0.0</version>\n'
        "  <description>test copy</description>\n  <maintainer email=\"t@example.com\">t</maintainer>\n"
        "  <license>Apache-2.0</license>\n  <buildtool_depend>ament_cmake</buildtool_depend>\n"
        "  <buildtool_depend>rosidl_default_generators</buildtool_depend>\n  <depend>std_msgs</depend>\n"
        "  <exec_depend>rosidl_default_runtime</exec_depend>\n  <member_of_group>rosidl_interface_packages</member_of_group>\n"
        "  <export><build_type>ament_cmake</build_type></export>\n</package>\n")
    (source / "CMakeLists.txt").write_text(
        f"cmake_minimum_required(VERSION 3.8)\nproject({package})\nfind_package(ament_cmake REQUIRED)\n"
        "find_package(rosidl_default_generators REQUIRED)\nfind_package(std_msgs REQUIRED)\n"
        f"rosidl_generate_interfaces(${{PROJECT_NAME}} {' '.join(f'msg/{n}' for n in messages)} DEPENDENCIES std_msgs)\n"
        "ament_export_dependencies(rosidl_default_runtime)\nament_package()\n")
    prefix = Path(sys.prefix)
    env = {**os.environ, "AMENT_PREFIX_PATH": str(prefix), "CMAKE_PREFIX_PATH": str(prefix),
           "PATH": f"{colcon.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    build = subprocess.run(
        [str(colcon), "--log-base", str(root / "log"), "build", "--base-paths", str(root / "src"), "--build-base",
         str(root / "build"), "--install-base", str(root / "install"), "--merge-install",
         "--event-handlers", "console_cohesion-", "status-",
         "--cmake-args", f"-DPython3_EXECUTABLE={sys.executable}", "-DBUILD_TESTING=OFF"],
        cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return root / "install"


def run_with_interfaces(script: str, out: Path, install: Path, timeout: float = 180) -> dict:
    """Run test/``script`` OUT with the interfaces built in ``install`` importable; the JSON it wrote."""
    import json

    run = subprocess.run([sys.executable, str(Path(__file__).with_name(script)), str(out)], env=interface_env(install),
                         capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(out.read_text())


def interface_env(install: Path) -> dict:
    """The environment of a process that imports the interfaces built in ``install``."""
    site = next(install.glob("lib/python*/site-packages"))
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
            "LD_LIBRARY_PATH": os.pathsep.join([str(install / "lib"), os.environ.get("LD_LIBRARY_PATH", "")]),
            "AMENT_PREFIX_PATH": os.pathsep.join([str(install), os.environ.get("AMENT_PREFIX_PATH", sys.prefix)])}


# The hri_msgs messages the node uses, field for field as ROS4HRI's hri_msgs 2.x defines them.
HRI_MSGS = {
    "Expression.msg": "\n".join([
        "std_msgs/Header header",
        *(f'string {name.upper()}="{name}"' for name in (
            "neutral", "angry", "sad", "happy", "surprised", "disgusted", "scared", "pleading", "vulnerable", "despaired",
            "guilty", "disappointed", "embarrassed", "horrified", "skeptical", "annoyed", "furious", "suspicious",
            "rejected", "bored", "tired", "asleep", "confused", "amazed", "excited")),
        "string expression", "float32 valence", "float32 arousal", "float32 confidence", ""]),
    "IdsList.msg": "std_msgs/Header header\nstring[] ids\n",
    "NormalizedRegionOfInterest2D.msg": "std_msgs/Header header\nfloat32 xmin\nfloat32 ymin\nfloat32 xmax\nfloat32 ymax\nfloat32 c\n",
    "LiveSpeech.msg": "std_msgs/Header header\nstring incremental\nstring final\nfloat64 confidence\nstring locale\n",
}
