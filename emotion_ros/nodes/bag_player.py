"""Plays a bag's camera and microphone messages over DDS at the recorded rate, with /clock, for
a running emotion node with use_sim_time (what `ros2 bag play --clock` does, without a ROS
install)."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock

from emotion_ros.io.rosbag import (AUDIO_INFO_TYPE, AUDIO_TYPES, IMAGE_TYPES, TRANSCRIPT_TYPES, message_class, read_messages,
                                  sensor_topics)
from emotion_ros.io.stamps import to_stamp

# the emotion node's relative topic for each kind of bag topic (io/rosbag.py)
OUTPUT_TOPICS = {"image": "image", "compressed": "image/compressed", "audio_frame": "audio", "audio_common_stamped": "audio",
                 "audio_common_data": "audio", "audio_info": "audio_info", "transcript": "speech", "live_speech": "speech"}
MSGTYPES = {kind: msgtype for msgtype, kind in {**IMAGE_TYPES, **AUDIO_TYPES, AUDIO_INFO_TYPE: "audio_info",
                                                **TRANSCRIPT_TYPES}.items()}


class BagPlayer:
    """Publishes on ``node``: the bag's image topic on `image` (or `image/compressed`), its audio
    topic on `audio` (and an AudioDataStamped stream's AudioInfo on `audio_info`: its first one
    latched from the start, as audio_capture publishes it), its speech-recogniser topic on `speech`,
    reliably (keep last 100), and the recorded time on /clock before each message, at ``rate``
    times the recorded pace. The played types must be installed (BagError otherwise)."""

    def __init__(self, node: Node, path: str | Path, image_topic: str | None = None, audio_topic: str | None = None,
                 rate: float = 1.0, speech_topic: str | None = None):
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.path, self.rate = Path(path), rate
        self._kinds = sensor_topics(self.path, image_topic, audio_topic, speech_topic).kinds()
        qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self._publishers = {
            topic: node.create_publisher(message_class(MSGTYPES[kind]), OUTPUT_TOPICS[kind], latched if kind == "audio_info" else qos)
            for topic, kind in self._kinds.items()
        }
        self._clock = node.create_publisher(Clock, "/clock", 10)
        self.published = 0
        self.finished = threading.Event()
        # the stream's format, latched: there for the node whenever it starts
        self._formats = {topic: msg for topic, kind in self._kinds.items() if kind == "audio_info"
                         for _, _, msg in itertools.islice(read_messages(self.path, [topic], installed_only=True), 1)}
        for topic, msg in self._formats.items():
            self._publishers[topic].publish(msg)

    def subscribers(self) -> int:
        """The fewest subscribers any of the played topics has (wait for them before playing)."""
        return min(p.get_subscription_count() for p in self._publishers.values())

    def play(self, stop: threading.Event | None = None) -> int:
        """Publish the recording at the recorded pace (any thread); returns how many messages."""
        started_wall = started_bag = None
        # again just before the audio: a subscriber that matched a moment ago may not have had
        # the latched copy yet, and audio before its format is lost
        for topic, msg in self._formats.items():
            self._publishers[topic].publish(msg)
        try:
            for topic, timestamp, msg in read_messages(self.path, list(self._publishers), installed_only=True):
                if stop is not None and stop.is_set():
                    break
                if started_wall is None:
                    started_wall, started_bag = time.monotonic(), timestamp
                time.sleep(max(0.0, started_wall + (timestamp - started_bag) / 1e9 / self.rate - time.monotonic()))
                self._clock.publish(Clock(clock=to_stamp(timestamp / 1e9)))
                self._publishers[topic].publish(msg)
                self.published += 1
        finally:
            self.finished.set()
        return self.published
