"""Helpers for tests that run real ROS 2 nodes in this process."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import rclpy
from emotion_msgs.msg import AudioFrame
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from emotion_ros.io.audio import pcm_to_audio_frame
from emotion_ros.io.image import rgb_to_image
from emotion_ros.io.stamps import to_stamp
from emotion_ros.nodes.runner import bring_up, shut_down


def spin_until(nodes, condition: Callable[[], bool], timeout: float) -> bool:
    """Spin the nodes until condition() holds or timeout [s] passes; returns condition()."""
    executor = SingleThreadedExecutor()
    for node in nodes:
        executor.add_node(node)
    deadline = time.monotonic() + timeout
    try:
        while not condition() and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
    finally:
        for node in nodes:
            executor.remove_node(node)
        executor.shutdown()
    return condition()


def listen_and_ask(node, client, seconds: float, request_for: Callable[[], object | None], answer: Callable[[object], None]) -> None:
    """Spin ``node`` for ``seconds``; once request_for() gives a request and the service is ready,
    call ``client`` with it (once) and give the response to answer()."""
    import rclpy

    future, answered = None, False
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
        if future is None and client.service_is_ready():
            request = request_for()
            if request is not None:
                future = client.call_async(request)
        if future is not None and future.done() and not answered:
            answer(future.result())
            answered = True


def write_and_shut_down(out: str, result: dict, node) -> None:
    """Write what a listener process heard as JSON, then end its ROS context."""
    import json

    import rclpy

    with open(out, "w") as handle:
        json.dump(result, handle)
    node.destroy_node()
    rclpy.shutdown()


class SyntheticSensors:
    """A camera (15 fps, 64x48) and a microphone (0.1 s chunks) on a synthetic clock."""

    def __init__(self, t0=1000.0, picture: np.ndarray | None = None):
        """picture: (H, W, 3) uint8 RGB every frame shows (default: a flat grey that changes)."""
        self.picture = picture
        self.node = rclpy.create_node("synthetic_sensors")
        self.image = self.node.create_publisher(Image, "image", qos_profile_sensor_data)
        self.audio = self.node.create_publisher(AudioFrame, "audio", qos_profile_sensor_data)
        self.t = t0
        self.frame = 0

    def advance(self, seconds, video=True, audio=True, extra=None):
        """Publish ``seconds`` of sensor data at about twice real time."""
        steps = round(seconds * 30)
        for _ in range(steps):
            if video and self.frame % 2 == 0:
                rgb = self.picture if self.picture is not None else np.full((48, 64, 3), (self.frame * 3) % 256, np.uint8)
                self.image.publish(rgb_to_image(rgb, "rgb8", Header(stamp=to_stamp(self.t), frame_id="camera")))
            if audio and self.frame % 3 == 0:
                tone = 0.2 * np.sin(2 * np.pi * 200 * (self.t + np.arange(1600) / 16000))
                self.audio.publish(pcm_to_audio_frame(tone, 16000, "S16LE", Header(stamp=to_stamp(self.t))))
            if extra is not None:
                extra(self)
            self.t += 1 / 30
            self.frame += 1
            yield


def drive(nodes, generator, pace=1 / 60):
    """Run the generator, spinning the nodes between steps."""
    executor = SingleThreadedExecutor()
    for node in nodes:
        executor.add_node(node)
    try:
        for _ in generator:
            deadline = time.monotonic() + pace
            while time.monotonic() < deadline:
                executor.spin_once(timeout_sec=pace / 4)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
    finally:
        for node in nodes:
            executor.remove_node(node)
        executor.shutdown()


def drive_node(node, sensors: "SyntheticSensors", steps) -> None:
    """Bring ``node`` up, run the sensors' steps spinning both, then shut the node down and
    remove the sensors (whatever happened)."""
    try:
        bring_up(node)
        drive([node, sensors.node], steps)
    finally:
        shut_down([node])
        sensors.node.destroy_node()


def play_bag_into(emotion, player_node, player) -> None:
    """Bring the emotion node (with use_sim_time) up, play the bag into it at the recorded pace
    (nodes/bag_player.py) and end its input; the caller shuts both nodes down."""
    import threading

    bring_up(emotion)
    assert spin_until([emotion, player_node], lambda: player.subscribers() > 0, timeout=10)
    threading.Thread(target=player.play, daemon=True).start()
    assert spin_until([emotion, player_node], player.finished.is_set, timeout=60)
    spin_until([emotion, player_node], lambda: False, timeout=0.5)
    emotion.finish_input()
