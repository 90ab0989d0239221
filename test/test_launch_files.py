"""The launch files under the real ROS 2 launch system: `launch_test` (launch_testing) runs
launch_check.py on each, with its default and documented arguments, a namespace, and a video
file as the camera, in a colcon workspace built once per test session.

The launch system comes from a ROS 2 distribution when one is importable here; else from the
unmodified ros2/launch, launch_ros and ros2cli sources beside the repository
(shared/ros2-launch, see its README), built into the workspace on the package's own ROS 2
wheels. Without either the tests skip, saying so.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a colcon workspace, and nodes loading the model
ROOT = Path(__file__).resolve().parent.parent
LAUNCH_SOURCES = ROOT.parent / "shared" / "ros2-launch" / "src"
NEVER_LOGGED = ["expecting type", "cannot load model"]


@pytest.fixture(scope="session")
def launch_workspace(tmp_path_factory) -> Path:
    colcon = Path(sys.executable).with_name("colcon")
    distribution = importlib.util.find_spec("launch_testing") is not None and shutil.which("ros2") is not None
    if not colcon.is_file() or shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs colcon next to the interpreter (make installs it) and a git checkout")
    if not distribution and not LAUNCH_SOURCES.is_dir():
        pytest.skip(f"no ROS 2 launch system: no distribution's launch_testing is importable and {LAUNCH_SOURCES} "
                    "does not exist")
    root = tmp_path_factory.mktemp("launch_ws")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, tracked):  # a clean clone: tracked files only
        (root / "src" / "emotion_ros" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, root / "src" / "emotion_ros" / name)
    if not distribution:
        for source in LAUNCH_SOURCES.iterdir():
            (root / "src" / source.name).symlink_to(source, target_is_directory=True)
    prefix = Path(sys.prefix)  # the ROS underlay: the venv's ROS 2 wheels
    env = {**os.environ, "AMENT_PREFIX_PATH": str(prefix), "CMAKE_PREFIX_PATH": str(prefix),
           "PATH": f"{colcon.parent}{os.pathsep}{os.environ['PATH']}"}
    build = subprocess.run(
        [str(colcon), "build", "--symlink-install", "--base-paths", "src", "src/emotion_ros/interfaces",
         "--event-handlers", "console_cohesion-", "status-",
         "--cmake-args", f"-DPython3_EXECUTABLE={sys.executable}", "-DBUILD_TESTING=OFF"],
        cwd=root, env=env, capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    assemble = subprocess.run(["bash", "-c", "source install/setup.bash && ros2 run emotion_ros emotion-ros assemble-tiny"],
                              cwd=root, env=env, capture_output=True, text=True, timeout=900)  # as the README says
    assert assemble.returncode == 0, assemble.stdout[-3000:] + assemble.stderr[-3000:]
    return root


def launch_test(workspace: Path, check: dict, timeout: float = 300) -> None:
    """Run launch_check.py with ``check`` under launch_test in the sourced workspace; fail with its output."""
    env = {**os.environ, "LAUNCH_CHECK": json.dumps(check),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run(["bash", "-c", f"source install/setup.bash && exec launch_test {Path(__file__).with_name('launch_check.py')}"],
                         cwd=workspace, env=env, capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]


@pytest.mark.parametrize("arguments", [{}, {"camera_source": "0"}], ids=["defaults", "camera_source:=0"])
def test_sensors_launch_keeps_the_camera_running_on_a_device_index(launch_workspace, arguments):
    """No camera here: the node keeps trying and reporting, with its source the string "0"."""
    launch_test(launch_workspace, {"file": "sensors.launch.py", "arguments": arguments, "timeout": 30,
                                   "parameters": {"/camera": {"source": "0", "width": 640, "fps": 30.0}},
                                   "alive": ["/camera", "/window_monitor"], "never_logged": NEVER_LOGGED})


def test_sensors_launch_in_a_namespace_with_a_video_file_as_the_camera(launch_workspace, sample_clip):
    launch_test(launch_workspace, {
        "file": "sensors.launch.py", "arguments": {"namespace": "robot1", "camera_source": str(sample_clip)},
        "topics": {"/robot1/image": ["sensor_msgs/msg/Image", 10]}, "timeout": 40,
        "parameters": {"/robot1/camera": {"source": str(sample_clip), "width": 640, "height": 480},
                       "/robot1/window_monitor": {"window.duration": 2.0}},
        "alive": ["/robot1/camera", "/robot1/window_monitor"], "never_logged": NEVER_LOGGED})


def test_emotion_launch_perceives_a_video_file_as_the_camera_in_a_namespace(launch_workspace, sample_clip):
    launch_test(launch_workspace, {
        "file": "emotion.launch.py", "arguments": {"namespace": "robot1", "camera_source": str(sample_clip)},
        "topics": {"/robot1/emotion/state": ["emotion_msgs/msg/EmotionState", 3]}, "timeout": 150,
        "parameters": {"/robot1/emotion": {"model": "tiny", "window.duration": 2.0}},
        "alive": ["/robot1/camera", "/robot1/emotion"], "never_logged": NEVER_LOGGED})


def test_emotion_launch_for_a_bag_played_with_its_clock(launch_workspace):
    """The README's recipe: no drivers, sim time, reliable subscriptions."""
    launch_test(launch_workspace, {
        "file": "emotion.launch.py", "arguments": {"use_sensors": "false", "use_sim_time": "true", "reliable": "true",
                                                   "transcribe": "false"},
        "timeout": 90, "parameters": {"/emotion": {"use_sim_time": True, "qos.reliable": True}},
        "alive": ["/emotion"], "never_logged": NEVER_LOGGED})


@pytest.fixture(scope="module")
def eight_second_clip(tmp_path_factory) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make installs it)")
    from emotion_ros.samples.sample_clip import make_sample_clip

    return make_sample_clip(tmp_path_factory.mktemp("media") / "clip8.mp4", duration=8.0, fps=25, size=(320, 240))


@pytest.mark.parametrize("rate, states", [("1.0", 10), ("0", 1)])
def test_replay_launch_waits_for_the_emotion_node_and_its_windows_arrive(launch_workspace, eight_second_clip, rate, states):
    """An 8 s clip cuts 13 windows at rate 1 (the last may wait for a message after the file's
    end, and the first may meet a model still warming up); the file waits until the node,
    loading its model for 6-18 s, listens. As fast as possible (rate 0) the node perceives the
    newest window whenever it is free, so at least one state arrives."""
    launch_test(launch_workspace, {
        "file": "replay.launch.py", "arguments": {"path": str(eight_second_clip), "rate": rate},
        "topics": {"/emotion/state": ["emotion_msgs/msg/EmotionState", states]}, "timeout": 150,
        "parameters": {"/file_source": {"reliable": rate == "0", "wait_for_subscribers": 60.0}},
        "alive": ["/emotion"], "never_logged": NEVER_LOGGED})
