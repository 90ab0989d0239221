"""emotion_msgs over real DDS between two processes on loopback."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rclpy
from emotion_msgs.msg import AudioFrame, EmotionState
from rclpy.qos import qos_profile_sensor_data
from ros_helpers import spin_until

from emotion_ros.io.audio import audio_frame_to_pcm
from emotion_ros.io.stamps import to_seconds


def test_emotion_state_and_audio_frame_cross_process_boundaries(ros):
    publisher = subprocess.Popen([sys.executable, str(Path(__file__).with_name("dds_publisher.py")), "20"])
    node = rclpy.create_node("dds_test_subscriber")
    states, frames = [], []
    node.create_subscription(EmotionState, "emotion/state", states.append, 10)
    node.create_subscription(AudioFrame, "audio", frames.append, qos_profile_sensor_data)
    try:
        assert spin_until([node], lambda: len(states) >= 5 and len(frames) >= 5, timeout=30.0), (
            f"received {len(states)} states and {len(frames)} audio frames"
        )
    finally:
        publisher.terminate()
        publisher.wait(timeout=10)
        node.destroy_node()

    state = states[-1]
    i = round((to_seconds(state.header.stamp) - 1000.0) / 0.5)
    assert to_seconds(state.window_start) == pytest.approx(998.0 + i * 0.5)
    assert state.labels == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    np.testing.assert_allclose(state.scores, [0.05, 0.05, 0.05, 0.7, 0.05, 0.05, 0.05], rtol=1e-6)
    assert (state.label, state.header.frame_id, state.model_id) == ("happy", "camera", f"tiny@{i}")
    assert state.confidence == pytest.approx(0.7) and state.valence == pytest.approx(0.8)
    assert state.arousal == pytest.approx(-0.25) and state.speaking and state.video_present and not state.audio_present

    chunk = audio_frame_to_pcm(frames[-1])
    assert (chunk.sample_rate, chunk.samples.shape, frames[-1].encoding) == (16000, (1600, 1), "S16LE")
    np.testing.assert_allclose(chunk.samples[:, 0], np.arange(1600) / 1600 - 0.5, atol=1 / 32768)
    assert frames[-1].header.frame_id == "mic"
