"""Faults sent from another process to the running emotion node: rejected, counted, reported,
and the node keeps publishing states (issue: fault injection from outside)."""

import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from emotion_msgs.msg import AudioFrame
from rclpy.parameter import Parameter
from sensor_msgs.msg import CompressedImage, Image
from ros_helpers import spin_until

from emotion_ros.io.stamps import to_seconds
from emotion_ros.nodes.perception_node import PerceptionNode
from emotion_ros.nodes.runner import bring_up, shut_down

SECONDS = 7.0


@dataclass
class Run:
    counters: dict  # the node's input counters, and "rejected_by"
    backend_errors: int
    states: list  # [(wall time, stamp)]
    statuses: list  # sensor statuses [(wall time, DiagnosticStatus)]
    first_message: float  # wall time the first sensor message reached the test
    peak_mb_up: float  # the peak resident memory once the node was up [MB]


def run_scenario(scenario: str, compressed: bool = False) -> Run:
    """The node, brought up, under a fault publisher in another process."""
    emotion = PerceptionNode(parameter_overrides=[
        Parameter("explanation.enabled", value=False), Parameter("diagnostics_period", value=0.3),
        Parameter("qos.reliable", value=True), Parameter("qos.depth", value=50), Parameter("compressed", value=compressed),
    ])
    states, statuses, arrivals = [], [], []
    emotion.state_listeners.append(lambda m: states.append((time.monotonic(), to_seconds(m.header.stamp))))
    listener = rclpy.create_node("diagnostics_listener")
    listener.create_subscription(DiagnosticArray, "/diagnostics", lambda m: statuses.extend(
        (time.monotonic(), s) for s in m.status if s.name.endswith("sensor input")), 50)
    for msg_type, topic in ((CompressedImage, "image/compressed") if compressed else (Image, "image"), (AudioFrame, "audio")):
        listener.create_subscription(msg_type, topic, lambda _: arrivals.append(time.monotonic()), 50)
    publisher = None
    try:
        bring_up(emotion)  # before the faults start: they are for a running node
        peak_mb_up = peak_mb()
        publisher = subprocess.Popen([sys.executable, str(Path(__file__).with_name("fault_publisher.py")), scenario, str(SECONDS), "2"])  # the node and this listener
        spin_until([emotion, listener], lambda: publisher.poll() is not None, timeout=SECONDS + 30)
        spin_until([emotion, listener], lambda: False, timeout=0.5)
        counters = {**emotion.input.counters(), "rejected_by": dict(emotion.input.rejected)}
    finally:
        shut_down([emotion])
        listener.destroy_node()
        if publisher is not None:
            publisher.wait(timeout=30)
    return Run(counters, emotion.counts["backend_errors"], states, statuses, min(arrivals, default=float("inf")), peak_mb_up)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def largest_gap(times: list[float]) -> float:
    return max(b - a for a, b in zip(times, times[1:]))


def test_malformed_messages_are_rejected_before_they_cost_anything(ros):
    run = run_scenario("rejected", compressed=True)
    rejected = run.counters["rejected_by"]
    assert rejected == {("image/compressed", "size"): 3,  # the bombs, from their headers
                        ("audio", "range"): 2,  # 1e20 and 1e30
                        ("audio", "size"): 1,  # 312 s in one message
                        ("image/compressed", "stamp"): 1, ("audio", "stamp"): 1}
    assert peak_mb() - run.peak_mb_up < 400  # a 30000 x 30000 bomb decoded would take 2.7 GB
    assert run.backend_errors == 0 and len(run.states) >= 8
    assert largest_gap([wall for wall, _ in run.states]) < 1.5  # never blocked
    assert any(s.level == DiagnosticStatus.WARN and "rejected" in s.message for _, s in run.statuses)


def test_stamps_far_ahead_cost_one_step_and_the_stream_recovers(ros):
    run = run_scenario("jumps")
    assert largest_gap([wall for wall, _ in run.statuses]) < 1.5  # diagnostics kept coming: the executor never hung
    assert run.counters["clock_jumps"] >= 1
    normal = [stamp for _, stamp in run.states if stamp < 2000]
    assert normal and normal[-1] > 1000 + SECONDS - 2.5  # states on the real timeline after the jumps
    assert run.backend_errors == 0


@pytest.mark.parametrize("scenario, topic", [("zero_stamps", "image"), ("audio_behind", "audio")])
def test_a_stream_that_arrives_but_is_unusable_is_an_error(ros, scenario, topic):
    run = run_scenario(scenario)
    # Once the stream has arrived for longer than silent_after (2 s), and a status period more.
    late = [s for wall, s in run.statuses if wall > run.first_message + 2.0 + 0.5]
    assert late and all(s.level == DiagnosticStatus.ERROR for s in late)
    assert all(f"messages on {topic} arrive but none was usable" in s.message for s in late)
