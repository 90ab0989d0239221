"""An audio_common bag replayed offline and played at the recorded rate into a sim-time emotion
node whose `audio_type` is the bag's layout, in a process that imports an audio_common_msgs
package; writes both runs' states as JSON (for test_replay.py). The player starts first, so the
node hears ros-drivers' AudioInfo only if its subscription is transient local, as audio_capture's
publisher is.

Usage: python audio_common_live.py CLIP ros-drivers|mgonzs13 OUT.json
"""

import json
import sys
from pathlib import Path

import rclpy
from rclpy.parameter import Parameter
from recorded_bags import replay, write_audio_common_bag
from ros_helpers import play_bag_into

from emotion_ros.io.audio_common import audio_common_types
from emotion_ros.io.stamps import to_seconds
from emotion_ros.nodes.bag_player import BagPlayer
from emotion_ros.nodes.perception_node import PerceptionNode
from emotion_ros.nodes.runner import shut_down
from emotion_ros.runtime.backends import create_backend

AUDIO_TYPES = {"ros-drivers": "audio_common_data", "mgonzs13": "audio_common_stamped"}


def main():
    clip, layout, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    bag = write_audio_common_bag(clip, out.parent / "bag", "mcap", layout)
    _, offline = replay(create_backend("onnxruntime", "tiny"), bag)  # read into the installed classes
    rclpy.init()
    player_node = rclpy.create_node("bag_player")
    player = BagPlayer(player_node, bag)
    emotion = PerceptionNode(parameter_overrides=[
        Parameter("use_sim_time", value=True), Parameter("qos.reliable", value=True), Parameter("qos.depth", value=100),
        Parameter("audio_type", value=AUDIO_TYPES[layout]), Parameter("explanation.enabled", value=False)])
    states = []
    emotion.state_listeners.append(lambda m: states.append(
        {"t_end": to_seconds(m.header.stamp), "label": m.label, "speaking": m.speaking, "audio_present": m.audio_present}))
    try:
        play_bag_into(emotion, player_node, player)
        rejected = sum(emotion.input.rejected.values())
    finally:
        shut_down([emotion])
        player_node.destroy_node()
        rclpy.try_shutdown()
    out.write_text(json.dumps({"types": sorted(audio_common_types()), "offline": offline, "live": states, "rejected": rejected}))


if __name__ == "__main__":
    main()
