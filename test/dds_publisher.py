"""Publishes EmotionState and AudioFrame messages from a separate process (for test_dds.py).

Usage: python dds_publisher.py SECONDS
"""

import sys
import time

import numpy as np
import rclpy
from emotion_msgs.msg import AudioFrame, EmotionState
from rclpy.qos import qos_profile_sensor_data
from std_msgs.msg import Header

from emotion_ros.io.audio import pcm_to_audio_frame
from emotion_ros.io.stamps import to_stamp
from emotion_ros.model.label_sets import FER_LABELS

LABELS = list(FER_LABELS)


def state(i: int) -> EmotionState:
    scores = np.full(7, 0.05, np.float32)
    scores[3] = 0.7
    return EmotionState(
        header=Header(stamp=to_stamp(1000.0 + i * 0.5), frame_id="camera"),
        window_start=to_stamp(998.0 + i * 0.5),
        labels=LABELS,
        scores=scores.tolist(),
        label="happy",
        confidence=0.7,
        valence=0.8,
        arousal=-0.25,
        speaking=True,
        speaking_probability=0.9,
        video_present=True,
        audio_present=False,
        model_id=f"tiny@{i}",
        latency=0.012,
    )


def main() -> None:
    rclpy.init()
    node = rclpy.create_node("dds_test_publisher")
    states = node.create_publisher(EmotionState, "emotion/state", 10)
    audio = node.create_publisher(AudioFrame, "audio", qos_profile_sensor_data)
    ramp = (np.arange(1600, dtype=np.float32) / 1600) - 0.5
    deadline = time.monotonic() + float(sys.argv[1])
    i = 0
    while time.monotonic() < deadline:
        states.publish(state(i))
        audio.publish(pcm_to_audio_frame(ramp, 16000, "S16LE", Header(stamp=to_stamp(1000.0 + i * 0.1), frame_id="mic")))
        i += 1
        time.sleep(0.05)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
