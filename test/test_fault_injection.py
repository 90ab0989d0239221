"""Faults sent from another process to the running emotion node: rejected, counted, reported,
and the node keeps publishing states (issue: fault injection from outside)."""

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.parameter import Parameter
from ros_helpers import spin_until

from emotion_ros.io.stamps import to_seconds
from emotion_ros.nodes.perception_node import PerceptionNode
from emotion_ros.nodes.runner import bring_up, shut_down

SECONDS = 7.0


def run_scenario(scenario: str, compressed: bool = False):
    """The node under a fault publisher in another process: (its input counters, backend errors,
    states [(wall time, stamp)], sensor statuses [(wall time, status)])."""
    emotion = PerceptionNode(parameter_overrides=[
        Parameter("explanation.enabled", value=False), Parameter("diagnostics_period", value=0.3),
        Parameter("qos.reliable", value=True), Parameter("qos.depth", value=50), Parameter("compressed", value=compressed),
    ])
    states, statuses = [], []
    emotion.state_listeners.append(lambda m: states.append((time.monotonic(), to_seconds(m.header.stamp))))
    listener = rclpy.create_node("diagnostics_listener")
    listener.create_subscription(DiagnosticArray, "/diagnostics", lambda m: statuses.extend(
        (time.monotonic(), s) for s in m.status if s.name.endswith("sensor input")), 50)
    publisher = subprocess.Popen([sys.executable, str(Path(__file__).with_name("fault_publisher.py")), scenario, str(SECONDS)])
    try:
        bring_up(emotion)
        spin_until([emotion, listener], lambda: publisher.poll() is not None, timeout=SECONDS + 30)
        spin_until([emotion, listener], lambda: False, timeout=0.5)
        counters = {**emotion.input.counters(), "rejected_by": dict(emotion.input.rejected)}
    finally:
        shut_down([emotion])
        listener.destroy_node()
        publisher.wait(timeout=30)
    return counters, emotion.counts["backend_errors"], states, statuses


def largest_gap(times: list[float]) -> float:
    return max(b - a for a, b in zip(times, times[1:]))


def test_malformed_messages_are_rejected_before_they_cost_anything(ros):
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MB
    counters, backend_errors, states, statuses = run_scenario("rejected", compressed=True)
    rejected = counters["rejected_by"]
    assert rejected == {("image/compressed", "size"): 3,  # the bombs, from their headers
                        ("audio", "range"): 2,  # 1e20 and 1e30
                        ("audio", "size"): 1,  # 312 s in one message
                        ("image/compressed", "stamp"): 1, ("audio", "stamp"): 1}
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - peak_before < 400
    assert backend_errors == 0 and len(states) >= 8
    assert largest_gap([wall for wall, _ in states]) < 1.5  # never blocked
    assert any(s.level == DiagnosticStatus.WARN and "rejected" in s.message for _, s in statuses)


def test_stamps_far_ahead_cost_one_step_and_the_stream_recovers(ros):
    counters, backend_errors, states, statuses = run_scenario("jumps")
    assert largest_gap([wall for wall, _ in statuses]) < 1.5  # diagnostics kept coming: the executor never hung
    assert counters["clock_jumps"] >= 1
    normal = [stamp for _, stamp in states if stamp < 2000]
    assert normal and normal[-1] > 1000 + SECONDS - 2.5  # states on the real timeline after the jumps
    assert backend_errors == 0


@pytest.mark.parametrize("scenario, topic", [("zero_stamps", "image"), ("audio_behind", "audio")])
def test_a_stream_that_arrives_but_is_unusable_is_an_error(ros, scenario, topic):
    _, _, _, statuses = run_scenario(scenario)
    late = [s for wall, s in statuses if wall > statuses[0][0] + 3.0]
    assert late and all(s.level == DiagnosticStatus.ERROR for s in late)
    assert all(f"messages on {topic} arrive but none was usable" in s.message for s in late)
