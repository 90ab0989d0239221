"""The speech_recognizer node over DDS: microphone audio in, `speech` and /diagnostics out."""

import shutil

import numpy as np
import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from emotion_msgs.msg import AudioFrame
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from std_msgs.msg import Header, String

from emotion_ros.io.audio import pcm_to_audio_frame
from emotion_ros.io.stamps import to_stamp
from emotion_ros.nodes.runner import StartupError, bring_up, shut_down
from emotion_ros.nodes.speech_recognizer_node import SpeechRecognizerNode
from ros_helpers import drive, spin_until

KITCHEN = "The robot is waiting in the kitchen."


def test_spoken_words_reach_speech_and_bad_audio_is_reported_not_fatal(ros):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (make installs it)")
    from emotion_ros.samples.sample_clip import synthesize_speech

    rate = 48000
    audio = np.concatenate([np.zeros(rate // 2, np.float32), synthesize_speech(KITCHEN, rate), np.zeros(rate, np.float32)])
    node = SpeechRecognizerNode()
    peer = rclpy.create_node("microphone_and_listener")
    microphone = peer.create_publisher(AudioFrame, "audio", qos_profile_sensor_data)
    heard, statuses = [], []
    peer.create_subscription(String, "speech", lambda msg: heard.append(msg.data), QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    peer.create_subscription(DiagnosticArray, "/diagnostics", lambda msg: statuses.extend(msg.status), 10)
    try:
        bring_up(node)
        assert spin_until([node, peer], lambda: microphone.get_subscription_count() > 0, timeout=10)

        def play():
            bad = AudioFrame(header=Header(stamp=to_stamp(50.0)), sample_rate=rate, channels=1, encoding="MP3", data=[1, 2, 3])
            microphone.publish(bad)
            step = rate // 10
            for start in range(0, len(audio), step):
                stamp = 50.0 + start / rate
                microphone.publish(pcm_to_audio_frame(audio[start : start + step], rate, "S16LE", Header(stamp=to_stamp(stamp))))
                yield

        drive([node, peer], play(), pace=0.05)  # twice real time
        assert spin_until([node, peer], lambda: heard, timeout=20)
        spin_until([node, peer], lambda: len(statuses) >= 3, timeout=5)
    finally:
        shut_down([node])
        peer.destroy_node()
    assert [w.strip(".").lower() for w in heard[0].split()] == [w.strip(".").lower() for w in KITCHEN.split()], heard
    assert len(heard) == 1
    values = {kv.key: kv.value for kv in statuses[-1].values}
    assert values["utterances"] == "1" and float(values["real_time_factor"]) < 1.0, values
    assert values["rejected_messages"] == "1" and values["dropped_audio_seconds"] == "0.0", values
    assert any("rejected" in s.message and "MP3" in s.message for s in statuses), [s.message for s in statuses]


def test_a_missing_model_fails_configure_with_the_reason(ros, tmp_path):
    from rclpy.parameter import Parameter

    node = SpeechRecognizerNode(parameter_overrides=[Parameter("model_dir", value=str(tmp_path))])
    try:
        with pytest.raises(StartupError):
            bring_up(node)
        assert "model.bin is missing" in node.failure_reason
    finally:
        shut_down([node])
