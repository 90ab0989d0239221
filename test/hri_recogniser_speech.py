"""The speech_recognizer node where an hri_msgs package is importable: it publishes ROS4HRI
LiveSpeech on /humans/voices/anonymous_speaker/speech, incremental while the person talks and
final at the end, stamped with the audio time the words ended. Writes what a listener got as
JSON (for test_speech_recognizer_node.py).

Usage: python hri_recogniser_speech.py OUT.json
"""

import json
import sys

import numpy as np
import rclpy
from emotion_msgs.msg import AudioFrame
from hri_msgs.msg import LiveSpeech
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from std_msgs.msg import Header

from emotion_ros.eval.asr_benchmark import speech_end
from emotion_ros.io.audio import pcm_to_audio_frame
from emotion_ros.io.stamps import to_seconds, to_stamp
from emotion_ros.nodes.runner import bring_up, shut_down
from emotion_ros.nodes.speech_recognizer_node import SpeechRecognizerNode
from emotion_ros.samples.sample_clip import synthesize_speech
from ros_helpers import drive, spin_until

SENTENCE = "The robot is waiting in the kitchen, and the door is open for you."
T0 = 20.0


def main():
    rclpy.init()
    rate = 16000
    speech = synthesize_speech(SENTENCE, rate)
    audio = np.concatenate([np.zeros(rate // 2, np.float32), speech, np.zeros(rate, np.float32)])
    node = SpeechRecognizerNode(parameter_overrides=[Parameter("vad.partial_interval", value=1.0)])
    peer = rclpy.create_node("hri_speech_listener")
    microphone = peer.create_publisher(AudioFrame, "audio", qos_profile_sensor_data)
    heard = []
    peer.create_subscription(LiveSpeech, "/humans/voices/anonymous_speaker/speech", lambda m: heard.append(
        {"t": to_seconds(m.header.stamp), "incremental": m.incremental, "final": m.final, "confidence": m.confidence}),
        QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
    try:
        bring_up(node)
        spin_until([node, peer], lambda: microphone.get_subscription_count() > 0, timeout=10)

        def play():
            for start in range(0, len(audio), rate // 10):
                microphone.publish(pcm_to_audio_frame(audio[start : start + rate // 10], rate, "S16LE",
                                                      Header(stamp=to_stamp(T0 + start / rate))))
                yield

        drive([node, peer], play(), pace=0.1)  # real time
        spin_until([node, peer], lambda: any(m["final"] for m in heard), timeout=10)
    finally:
        shut_down([node])
        peer.destroy_node()
    with open(sys.argv[1], "w") as handle:
        json.dump({"heard": heard, "said": SENTENCE, "speech_end": T0 + 0.5 + speech_end(speech)}, handle)
    rclpy.shutdown()


if __name__ == "__main__":
    main()
