"""Keeps the newest emotion event, state and people on a py_trees blackboard."""

from __future__ import annotations

import time

import py_trees
from emotion_msgs.msg import EmotionState, PersonEmotionArray
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from emotion_ros.runtime.messages import msg_to_estimate

# Blackboard keys (under the "emotion" namespace).
EVENT_KEY, STATE_KEY, RECEIVED_KEY = "/emotion/event", "/emotion/state", "/emotion/received_at"
PEOPLE_KEY = "/emotion/people"  # the newest PersonEmotionArray message, as received


class EmotionListener:
    """Subscribes ``node`` to emotion/event (transient local, so the current label arrives at
    once), emotion/state and emotion/people, and writes them to the blackboard (event and state
    as EmotionEstimates, people as the message), with the wall time (time.monotonic()) each was
    received."""

    def __init__(self, node: Node, event_topic: str = "emotion/event", state_topic: str = "emotion/state",
                 people_topic: str = "emotion/people"):
        self.blackboard = py_trees.blackboard.Client(name="EmotionListener")
        for key in (EVENT_KEY, STATE_KEY, PEOPLE_KEY, RECEIVED_KEY):
            self.blackboard.register_key(key, access=py_trees.common.Access.WRITE)
        self.blackboard.set(EVENT_KEY, None)
        self.blackboard.set(STATE_KEY, None)
        self.blackboard.set(PEOPLE_KEY, None)
        self.blackboard.set(RECEIVED_KEY, {})
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        node.create_subscription(EmotionState, event_topic, lambda m: self._store(EVENT_KEY, m), latched)
        node.create_subscription(EmotionState, state_topic, lambda m: self._store(STATE_KEY, m), reliable)
        node.create_subscription(PersonEmotionArray, people_topic, lambda m: self._store(PEOPLE_KEY, m), reliable)

    def _store(self, key: str, msg: EmotionState | PersonEmotionArray) -> None:
        self.blackboard.set(key, msg if key == PEOPLE_KEY else msg_to_estimate(msg))
        received = dict(self.blackboard.get(RECEIVED_KEY))
        received[key] = time.monotonic()
        self.blackboard.set(RECEIVED_KEY, received)
