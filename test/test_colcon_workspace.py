"""The README's colcon path on a clean copy of the repository: the workspace builds with the
README's command, the emotion node refuses to run without the default model and names the
command that builds it, and runs once the model is where that command writes it."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


pytestmark = pytest.mark.slow  # colcon workspaces
ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    section = (ROOT / "README.md").read_text().split("## With a ROS 2 distribution")[1].split("\n## ")[0]
    block = section.split("```bash\n")[1].split("```")[0].replace("\\\n", " ")
    return [line.split("  #")[0].strip() for line in block.splitlines()]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    colcon = Path(sys.executable).with_name("colcon")
    if not colcon.is_file() or shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs colcon next to the interpreter (make installs it) and a git checkout")
    root = tmp_path_factory.mktemp("emotion_ws")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, tracked):  # a clean clone: tracked files only (no models/tiny, no .venv)
        (root / "src" / "emotion_ros" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, root / "src" / "emotion_ros" / name)
    build = next(c for c in readme_commands() if c.startswith("colcon build"))
    prefix = Path(sys.prefix)  # the ROS underlay: the venv's ROS 2 wheels
    env = {**os.environ, "AMENT_PREFIX_PATH": str(prefix), "CMAKE_PREFIX_PATH": str(prefix),
           "PATH": f"{colcon.parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(f"{build} --event-handlers console_cohesion- status- "
                            f"--cmake-args -DPython3_EXECUTABLE={sys.executable} -DBUILD_TESTING=OFF",
                            shell=True, cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root


def sourced(root: Path, command: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(["bash", "-c", f"source install/setup.bash && exec {command}"], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def test_the_readme_workspace_builds_and_the_node_says_how_to_get_the_default_model(workspace):
    assert (workspace / "install" / "emotion_msgs").is_dir() and (workspace / "install" / "emotion_ros").is_dir()
    assert any(re.fullmatch(r"ros2 run emotion_ros emotion-ros assemble-tiny", c) for c in readme_commands())
    where = sourced(workspace, "python -c 'from emotion_ros.paths import share_dir; print(share_dir())'")
    assert where.communicate(timeout=60)[0].strip() == str(workspace / "install" / "emotion_ros" / "share" / "emotion_ros")
    node = sourced(workspace, "install/emotion_ros/lib/emotion_ros/emotion_node")
    output = node.communicate(timeout=120)[0]
    assert node.returncode == 1 and "ros2 run emotion_ros emotion-ros assemble-tiny" in output and "Traceback" not in output


def test_the_node_runs_once_assemble_tiny_has_written_the_model(workspace):
    """The installed package holds the committed parts: assembling needs nothing else (the
    same weights as make's models/tiny, so the ONNX export is the cached one)."""
    # what `ros2 run emotion_ros emotion-ros assemble-tiny` runs
    assemble = sourced(workspace, "install/emotion_ros/lib/emotion_ros/emotion-ros assemble-tiny --no-onnx")
    output = assemble.communicate(timeout=300)[0]
    assert assemble.returncode == 0, output
    assert (workspace / "install" / "emotion_ros" / "share" / "emotion_ros" / "models" / "tiny" / "model.safetensors").is_file()
    node = sourced(workspace, "install/emotion_ros/lib/emotion_ros/emotion_node --ros-args -p explanation.enabled:=false")
    lines = []
    while not any(" on the " in line for line in lines):
        line = node.stdout.readline()
        assert line, "".join(lines)
        lines.append(line)
    time.sleep(1.0)
    node.send_signal(signal.SIGINT)
    node.communicate(timeout=30)
    assert node.returncode == 0 and "untrained" not in "".join(lines)
