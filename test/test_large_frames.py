"""Camera-sized frames (720p rgb8, 2.7 MB) from another process reach the node with the default
sensor-data QoS (best effort) and the shipped Fast DDS profile (config/fastdds_large_frames.xml)."""

import os
import subprocess
import sys
from pathlib import Path

from rclpy.parameter import Parameter
from ros_helpers import spin_until

from emotion_ros.nodes.perception_node import PerceptionNode
from emotion_ros.nodes.runner import bring_up, shut_down


def test_720p_frames_cross_processes_into_the_node(ros):
    assert os.environ["FASTDDS_DEFAULT_PROFILES_FILE"].endswith("fastdds_large_frames.xml")
    emotion = PerceptionNode(parameter_overrides=[Parameter("explanation.enabled", value=False)])
    states = []
    emotion.state_listeners.append(states.append)
    try:
        bring_up(emotion)
        camera = subprocess.Popen([sys.executable, str(Path(__file__).with_name("large_frame_publisher.py")), "1280", "720", "4"],
                                  stdout=subprocess.PIPE, text=True)
        spin_until([emotion], lambda: camera.poll() is not None, timeout=40)
        spin_until([emotion], lambda: False, timeout=0.5)
        sent = int(camera.stdout.read().split()[-1])
        received, size = emotion.input.accepted["image"], emotion.input.source_size
    finally:
        shut_down([emotion])
    assert sent == 120 and received >= 0.9 * sent, f"{received} of {sent} frames arrived"
    assert size == (720, 1280) and len(states) >= 4
