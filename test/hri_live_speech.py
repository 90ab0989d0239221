"""The emotion node behind a ROS4HRI speech recogniser: hri_msgs/LiveSpeech hypotheses and a
final result, stamped, on `speech` (transcript_type live_speech), with a synthetic camera and
microphone. Runs where an hri_msgs package is importable; writes the states' words as JSON
(for test_rep155.py).

Usage: python hri_live_speech.py OUT.json
"""

import json
import sys

import rclpy
from hri_msgs.msg import LiveSpeech
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header

from emotion_ros.io.stamps import to_seconds, to_stamp
from emotion_ros.nodes.perception_node import PerceptionNode
from ros_helpers import SyntheticSensors, drive_node


def main():
    rclpy.init()
    emotion = PerceptionNode(parameter_overrides=[
        Parameter("transcript_type", value="live_speech"), Parameter("explanation.enabled", value=False)])
    sensors = SyntheticSensors(t0=1000.0)
    speech = sensors.node.create_publisher(LiveSpeech, "speech", QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    states = []
    emotion.state_listeners.append(lambda m: states.append(
        {"t": round(to_seconds(m.header.stamp), 3), "text_present": m.text_present, "utterance": m.utterance}))

    def say(incremental="", final="", at=0.0, confidence=0.0):
        speech.publish(LiveSpeech(header=Header(stamp=to_stamp(at)), incremental=incremental, final=final,
                                  confidence=confidence))

    def steps():
        yield from sensors.advance(3.0)  # to 1003 s
        say(incremental="I can", at=1002.8)
        yield from sensors.advance(1.0)  # windows ending 1003.5 and 1004.0 hear the hypothesis
        say(final="I can't believe it", at=1003.9, confidence=0.9)  # the final result replaces it
        yield from sensors.advance(4.0)

    drive_node(emotion, sensors, steps())
    rejected = {f"{topic}:{kind}": n for (topic, kind), n in emotion.input.rejected.items()} if emotion.input else {}
    with open(sys.argv[1], "w") as out:
        json.dump({"states": states, "rejected": rejected}, out)
    rclpy.shutdown()


if __name__ == "__main__":
    main()
