"""The py_trees example: a real publisher's emotion events switch the robot's behaviour."""

import time

import numpy as np
import py_trees
import pytest
import rclpy
from emotion_msgs.msg import EmotionState
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from ros_helpers import spin_until

from emotion_ros.behaviours.emotion_listener import EmotionListener
from emotion_ros.behaviours.hri_tree import build_hri_tree
from emotion_ros.model.label_sets import FER_LABELS
from emotion_ros.runtime.estimate import EmotionEstimate
from emotion_ros.runtime.messages import estimate_to_msg

LABELS = FER_LABELS


def state(label: str | None, t: float, confidence: float = 0.8) -> EmotionState:
    """label None: a window in which the model found nobody (near-uniform scores, no person)."""
    if label is None:
        scores = np.full(len(LABELS), 1 / len(LABELS), np.float32)
        estimate = EmotionEstimate(t - 2, t, LABELS, scores, 0.0, 0.0, 0.0, True, True, reads_faces=True)
        return estimate_to_msg(estimate, "camera", "test")
    scores = np.full(len(LABELS), (1 - confidence) / (len(LABELS) - 1), np.float32)
    scores[LABELS.index(label)] = confidence
    return estimate_to_msg(EmotionEstimate(t - 2, t, LABELS, scores, 0.5, 0.2, 0.0, True, True), "camera", "test")


@pytest.fixture
def publisher_and_tree(ros):
    pub_node = rclpy.create_node("emotion_test_publisher")
    latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    events = pub_node.create_publisher(EmotionState, "emotion/event", latched)
    states = pub_node.create_publisher(EmotionState, "emotion/state", QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    robot = rclpy.create_node("robot")
    EmotionListener(robot)
    commands = []
    tree = build_hri_tree(commands.append, min_confidence=0.5, max_age=0.6)
    yield pub_node, events, states, robot, tree, commands
    robot.destroy_node()
    pub_node.destroy_node()
    py_trees.blackboard.Blackboard.clear()


def test_events_switch_the_robot_between_greeting_backing_off_and_idling(publisher_and_tree):
    pub_node, events, states, robot, tree, commands = publisher_and_tree

    def play(label, seconds, event=True, confidence=0.8):
        if event:
            events.publish(state(label, time.time(), confidence))
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            states.publish(state(label, time.time(), confidence))
            spin_until([robot, pub_node], lambda: False, timeout=0.1)
            tree.tick()

    spin_until([robot, pub_node], lambda: events.get_subscription_count() > 0, timeout=5)
    tree.tick()
    assert commands == ["idle"]  # nothing heard yet
    play("happy", 1.0)
    assert commands[-1] == "greet"
    play("angry", 1.0)
    assert commands[-1] == "back_off"
    play("angry", 0.5, event=False, confidence=0.3)  # still angry, but not confidently: stop backing off
    assert commands[-1] == "idle"
    play("happy", 1.0)
    assert commands[-1] == "greet"
    play(None, 0.5, event=False)  # the person walks out of view: no emotion to act on
    assert commands[-1] == "idle"
    play("happy", 1.0)
    assert commands[-1] == "greet"
    # Perception stops: after max_age the robot no longer acts on a stale emotion.
    spin_until([robot, pub_node], lambda: False, timeout=0.8)
    tree.tick()
    assert commands == ["idle", "greet", "back_off", "idle", "greet", "idle", "greet", "idle"]


def test_a_late_subscriber_gets_the_current_emotion_at_once(ros):
    """emotion/event is transient local: a tree started after the event still knows the label."""
    pub_node = rclpy.create_node("early_publisher")
    latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    events = pub_node.create_publisher(EmotionState, "emotion/event", latched)
    events.publish(state("happy", time.time()))
    robot = rclpy.create_node("late_robot")
    listener = EmotionListener(robot)
    try:
        assert spin_until([robot, pub_node], lambda: listener.blackboard.get("/emotion/event") is not None, timeout=5)
        assert listener.blackboard.get("/emotion/event").label == "happy"
    finally:
        robot.destroy_node()
        pub_node.destroy_node()
        py_trees.blackboard.Blackboard.clear()


def test_a_condition_on_a_person_id_follows_that_person_over_dds(ros):
    from emotion_msgs.msg import PersonEmotionArray
    from py_trees.common import Status

    from emotion_ros.behaviours.conditions import PersonFeels
    from emotion_ros.runtime.estimate import PersonEstimate
    from emotion_ros.runtime.messages import people_to_msg

    def people(t, feelings):
        """feelings: (track, label) per person in view."""
        persons = []
        for i, (track, label) in enumerate(feelings):
            scores = np.full(len(LABELS), 0.1 / (len(LABELS) - 1), np.float32)
            scores[LABELS.index(label)] = 0.9
            persons.append(PersonEstimate(i, np.array([100.0 * i, 50, 100.0 * i + 80, 130]), 1.0, scores, 0.0, 0.0, track, 3.0, 0.9))
        estimate = EmotionEstimate(t - 2, t, LABELS, persons[0].scores if persons else np.full(7, 1 / 7, np.float32),
                                   0.0, 0.0, 0.0, True, True, reads_faces=True, people=tuple(persons))
        return people_to_msg(estimate, "camera", "test")

    pub_node, robot = rclpy.create_node("people_test_publisher"), rclpy.create_node("robot")
    publisher = pub_node.create_publisher(PersonEmotionArray, "emotion/people", QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    EmotionListener(robot)
    second_is_happy, anyone_sad = PersonFeels("happy", person_id="f2", min_confidence=0.5), PersonFeels("sad")
    try:
        spin_until([pub_node, robot], lambda: publisher.get_subscription_count() > 0, timeout=10)
        for t, feelings, expected in (
            (10.0, [(1, "sad"), (2, "happy")], (Status.SUCCESS, Status.SUCCESS)),
            (10.5, [(2, "neutral"), (1, "neutral")], (Status.FAILURE, Status.FAILURE)),
            (11.0, [(1, "neutral")], (Status.FAILURE, Status.FAILURE)),  # f2 left
        ):
            publisher.publish(people(t, feelings))
            spin_until([pub_node, robot], lambda: py_trees.blackboard.Blackboard.get("/emotion/people") is not None
                       and py_trees.blackboard.Blackboard.get("/emotion/people").header.stamp.sec == int(t)
                       and py_trees.blackboard.Blackboard.get("/emotion/people").header.stamp.nanosec == int(t % 1 * 1e9), timeout=10)
            assert (second_is_happy.update(), anyone_sad.update()) == expected, (t, second_is_happy.feedback_message)
        assert second_is_happy.feedback_message == "f2 is not in view"
    finally:
        robot.destroy_node()
        pub_node.destroy_node()
        py_trees.blackboard.Blackboard.clear()
