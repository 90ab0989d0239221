"""What an integrator meets on a robot: remapped topics, sim time, bounded requests, clock jumps."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import rclpy
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from ros_helpers import SyntheticSensors, drive_node, spin_until
from sensor_msgs.msg import CompressedImage
from std_msgs.msg import Header

from emotion_ros.io.image import rgb_to_compressed
from emotion_ros.io.stamps import to_seconds, to_stamp
from emotion_ros.nodes.perception_node import PerceptionNode
from emotion_ros.nodes.runner import bring_up, shut_down

QUIET = [Parameter("explanation.enabled", value=False), Parameter("use_audio", value=False)]


def test_compressed_images_follow_the_remapped_image_topic(ros):
    emotion = PerceptionNode(cli_args=["--ros-args", "-r", "image:=/head_camera/image_raw"],
                             parameter_overrides=QUIET + [Parameter("compressed", value=True)])
    camera = rclpy.create_node("head_camera")
    publisher = camera.create_publisher(CompressedImage, "/head_camera/image_raw/compressed", qos_profile_sensor_data)
    try:
        bring_up(emotion)
        assert [s.topic_name for s in emotion._sensors._subscriptions] == ["/head_camera/image_raw/compressed", "/speech"]
        frame, sent = np.full((48, 64, 3), 90, np.uint8), [0]

        def sent_and_received() -> bool:
            publisher.publish(rgb_to_compressed(frame, "jpeg", header=Header(stamp=to_stamp(100.0 + sent[0] / 15))))
            sent[0] += 1
            return emotion.input.accepted["image/compressed"] >= 3

        assert spin_until([emotion, camera], sent_and_received, timeout=10)
    finally:
        shut_down([emotion])
        camera.destroy_node()


def test_explain_answers_every_call_within_bounds(ros, tmp_path):
    out = tmp_path / "flood.json"
    flood = subprocess.Popen([sys.executable, str(Path(__file__).with_name("explain_flood.py")), str(out), "50"])
    emotion = PerceptionNode(parameter_overrides=[Parameter("explanation.rate", value=0.0)])
    sensors = SyntheticSensors()

    def until_the_caller_is_done():
        while flood.poll() is None:
            yield from sensors.advance(0.1)

    try:
        drive_node(emotion, sensors, until_the_caller_is_done())
    finally:
        flood.wait(timeout=30)
    result = json.loads(out.read_text())
    huge = result["huge_budget"]
    assert huge["success"] and "clamped to 512" in huge["message"] and huge["tokens"] <= 512
    assert [answer["success"] for answer in result["long_questions"]] == [False, False]
    assert all("the limit is 256 tokens" in answer["message"] for answer in result["long_questions"])
    flood_answers = result["flood"]
    assert sum(answer is None for answer in flood_answers) == 0  # every call answered
    assert any(answer["success"] for answer in flood_answers)
    assert all(answer["success"] or "superseded" in answer["message"] for answer in flood_answers)
    assert emotion.counts["explanation_errors"] == 0 and emotion.counts["backend_errors"] == 0


def test_a_rate_the_timer_cannot_take_is_refused(ros):
    for rate in (1e-12, 1e-300):
        emotion = PerceptionNode(parameter_overrides=[Parameter("explanation.rate", value=rate)])
        try:
            assert emotion.trigger_configure() == TransitionCallbackReturn.FAILURE
            assert "explanation.rate" in emotion.failure_reason and "below 0.001 Hz" in emotion.failure_reason
        finally:
            shut_down([emotion])
    emotion = PerceptionNode(parameter_overrides=QUIET)
    try:
        bring_up(emotion)
        refused = emotion.set_parameters([Parameter("explanation.rate", value=1e-300)])[0]
        assert not refused.successful and "below" in refused.reason
        assert emotion.set_parameters([Parameter("explanation.rate", value=0.0)])[0].successful
    finally:
        shut_down([emotion])


def test_a_stream_resuming_after_a_gap_is_not_perception_falling_behind(ros):
    emotion = PerceptionNode(parameter_overrides=QUIET[:1])
    sensors = SyntheticSensors()

    def with_a_gap():
        yield from sensors.advance(3.0)
        sensors.t += 4.0  # the sensors stop for 4 s of sensor time, then resume
        yield from sensors.advance(3.0)

    drive_node(emotion, sensors, with_a_gap())
    counts = dict(emotion.counts)
    assert counts["dropped_windows"] == 0 and counts["skipped_windows"] >= 1 and counts["states"] >= 8


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_signals_shut_the_node_down_cleanly(signal_name):
    process = subprocess.Popen([sys.executable, "-m", "emotion_ros", "emotion", "--ros-args", "-p", "explanation.enabled:=false"],
                               stderr=subprocess.PIPE, text=True)
    lines = []
    while not any(" on the " in line for line in lines):  # the model is loaded and the node active
        line = process.stderr.readline()
        assert line, "".join(lines)
        lines.append(line)
    process.send_signal(getattr(signal, signal_name))
    _, rest = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "transition" not in rest and "Failed to publish" not in rest and "Traceback" not in rest, rest


def test_a_bag_loop_resets_the_cache_the_tracks_and_the_events(ros):
    """The same stamps twice (a looping bag), first with a smiling person, then an empty room:
    nothing of the first run (cached features, tracks, the debounced label) leaks into the second."""
    from skimage import data

    emotion = PerceptionNode(parameter_overrides=[Parameter("explanation.enabled", value=False),
                                                  Parameter("event.min_confidence", value=0.0),
                                                  Parameter("event.min_dwell", value=0.0)])
    person = cv2.resize(data.astronaut(), (256, 256))
    sensors = SyntheticSensors(picture=person)
    states = []
    emotion.state_listeners.append(lambda m: states.append((emotion._estimator.timeline, m.label, m.faces, m.person_id)))

    def loop_twice():
        yield from sensors.advance(3.5)
        sensors.t, sensors.frame, sensors.picture = 1000.0, 0, np.full_like(person, 128)  # the bag starts again
        yield from sensors.advance(3.5)

    drive_node(emotion, sensors, loop_twice())
    events = emotion.counts["events"]
    first = [s for s in states if s[0] == 0]
    second = [s for s in states if s[0] == 1]
    assert first and all(label == "happy" and faces == 1 for _, label, faces, _ in first[1:])
    assert len(second) >= 3 and all(label == "" and faces == 0 for _, label, faces, _ in second)
    assert events == 2  # happy, then nobody once the new run has shown nobody for min_dwell


def test_sim_time_drives_the_silence_detection_and_diagnostics_go_on_while_it_pauses(ros):
    """Under use_sim_time a paused simulation is not a silent sensor, diagnostics carry sim time,
    and they keep coming while /clock pauses (their timer runs on wall time)."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    from rosgraph_msgs.msg import Clock

    emotion = PerceptionNode(parameter_overrides=QUIET[:1] + [
        Parameter("use_sim_time", value=True), Parameter("silent_after", value=1.0),
        Parameter("diagnostics_period", value=0.2)])
    sensors = SyntheticSensors(t0=500.0)
    clock = sensors.node.create_publisher(Clock, "/clock", 10)
    statuses = []
    emotion.create_subscription(DiagnosticArray, "/diagnostics", lambda m: statuses.extend(
        (to_seconds(m.header.stamp), s) for s in m.status if s.name.endswith("sensor input")), 50)

    def tick(s):
        clock.publish(Clock(clock=to_stamp(s.t)))

    def phases():
        yield from sensors.advance(3.0, extra=tick)  # running
        marks.append(len(statuses))
        for _ in range(60):  # simulation paused for 2 s of wall time: no clock, no data
            yield
        marks.append(len(statuses))
        yield from sensors.advance(2.0, video=False, audio=False, extra=tick)  # clock runs, sensors silent

    marks = []
    drive_node(emotion, sensors, phases())
    running, paused, silent = statuses[:marks[0]], statuses[marks[0]:marks[1]], statuses[marks[1]:]
    assert running and all(500.0 <= stamp <= 503.1 for stamp, _ in running)  # stamped with sim time
    assert running[-1][1].level == DiagnosticStatus.OK
    assert len(paused) >= 3 and all(status.level == DiagnosticStatus.OK for _, status in paused), paused
    # ages are sim time: just after the pause the sensors have been quiet for a moment, not 2 s
    assert silent[0][1].level == DiagnosticStatus.OK
    assert silent[-1][1].level == DiagnosticStatus.ERROR and "no data on" in silent[-1][1].message
