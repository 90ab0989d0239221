"""The sensor nodes as ROS 2 lifecycle nodes: real DDS traffic inside this process."""

import os
import shutil
import subprocess
import threading
import time

import numpy as np
import pytest
import yaml
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from emotion_msgs.msg import AudioFrame
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from ros_helpers import spin_until
from sensor_msgs.msg import Image

from emotion_ros.io.audio import audio_frame_to_pcm
from emotion_ros.io.camera import CapturedFrame
from emotion_ros.io.image import image_to_rgb
from emotion_ros.io.media import probe
from emotion_ros.io.stamps import to_seconds
from emotion_ros.nodes.camera_node import CameraNode
from emotion_ros.nodes.file_source_node import FileSourceNode
from emotion_ros.nodes.microphone_node import MicrophoneNode
from emotion_ros.nodes.perception_node import PerceptionNode
from emotion_ros.nodes.speech_recognizer_node import SpeechRecognizerNode
from emotion_ros.nodes.runner import bring_up, shut_down
from emotion_ros.nodes.window_monitor_node import WindowMonitorNode
from emotion_ros.paths import share_dir


def collector(ros_node_factory, msg_type, topic):
    """A plain node that stores what arrives on topic (sensor-data QoS)."""
    import rclpy

    node = rclpy.create_node(ros_node_factory)
    received = []
    node.create_subscription(msg_type, topic, received.append, qos_profile_sensor_data)
    return node, received


def replay_pipeline(clip, **source_params):
    """A file source playing ``clip`` on media time at 2x, and a window monitor collecting windows."""
    params = {"path": str(clip), "rate": 2.0, "stamp_origin": "media", **source_params}
    source = FileSourceNode(parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
    monitor = WindowMonitorNode(parameter_overrides=[Parameter("log_windows", value=False)])
    windows = []
    monitor.window_listeners.append(windows.append)
    return source, monitor, windows


def test_file_source_and_window_monitor_cut_the_clip_on_media_time(ros, sample_clip):
    """A real MP4 through the file source (DDS) and the window assembler: count and timing."""
    info = probe(str(sample_clip))
    source, monitor, windows = replay_pipeline(sample_clip)
    try:
        bring_up(monitor)
        bring_up(source)
        assert spin_until([source, monitor], source.finished.is_set, timeout=30.0)
        spin_until([source, monitor], lambda: False, timeout=0.5)  # deliver what is in flight
        windows += monitor.input.flush()
    finally:
        shut_down([source, monitor])

    stride, duration, fps = 0.5, 2.0, info.fps  # the defaults of config/sensors.yaml
    # Windows end on every stride from the first full window to the end of the media.
    expected_ends = np.arange(duration, np.floor(info.duration / stride) * stride + 1e-9, stride)
    assert [w.t_end for w in windows] == pytest.approx(list(expected_ends))
    for w in windows:
        assert w.t_end - w.t_start == pytest.approx(duration)
        assert w.video_present and w.audio_present
        assert w.frame_mask.all() and w.frames.shape == (16, info.height, info.width, 3)
        # Picked frames are real frames of the file: stamps on its 1/fps grid, inside the window.
        np.testing.assert_allclose(w.frame_stamps * fps, np.round(w.frame_stamps * fps), atol=1e-3)
        assert (w.frame_stamps >= w.t_start - 1 / fps).all() and (w.frame_stamps <= w.t_end).all()
        assert w.audio_coverage > 0.95
    assert source.frames_published == round(info.duration * fps)


def test_camera_node_plays_a_video_file_with_real_frame_timing(ros, sample_clip):
    camera = CameraNode(parameter_overrides=[Parameter("source", value=str(sample_clip)), Parameter("encoding", value="bgr8")])
    listener, images = collector("camera_listener", Image, "image")
    try:
        bring_up(camera)
        started = time.monotonic()
        spin_until([camera, listener], lambda: len(images) >= 30, timeout=10.0)
        elapsed = time.monotonic() - started
    finally:
        shut_down([camera])
        listener.destroy_node()
    assert len(images) >= 30
    assert elapsed > 0.8  # 30 frames of a 25 fps file take 1.2 s when paced, not a burst
    stamps = [to_seconds(m.header.stamp) for m in images]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))
    assert 0.02 < np.median(np.diff(stamps)) < 0.06
    assert images[0].encoding == "bgr8" and images[0].header.frame_id == "camera"
    assert image_to_rgb(images[0]).shape == (240, 320, 3)


def test_camera_node_refuses_a_missing_source(ros):
    camera = CameraNode(parameter_overrides=[Parameter("source", value="/no/such/video.mp4")])
    try:
        assert camera.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert "/no/such/video.mp4" in camera.failure_reason
    finally:
        shut_down([camera])


def test_a_camera_not_plugged_in_keeps_the_node_running_and_reporting(ros):
    camera = CameraNode(parameter_overrides=[Parameter("source", value="/dev/video97"), Parameter("diagnostics_period", value=0.2)])
    listener, diagnostics = collector("diagnostics_listener", DiagnosticArray, "/diagnostics")
    try:
        bring_up(camera)  # configures and activates although the device is not there
        assert spin_until([camera, listener], lambda: len(diagnostics) >= 2, timeout=10.0)
        status = diagnostics[-1].status[0]
        assert status.level == DiagnosticStatus.ERROR and "/dev/video97" in status.message and "trying again" in status.message
    finally:
        shut_down([camera])
        listener.destroy_node()


def test_file_source_given_a_bag_directory_says_how_to_play_it(ros, tmp_path):
    bag = tmp_path / "robot_bag"
    bag.mkdir()
    (bag / "metadata.yaml").write_text("rosbag2_bagfile_information: {}\n")
    source = FileSourceNode(parameter_overrides=[Parameter("path", value=str(bag))])
    try:
        assert source.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert f"emotion-ros replay {bag} --publish" in source.failure_reason and "not found" not in source.failure_reason
    finally:
        shut_down([source])


def test_window_monitor_reports_silent_sensors_and_refuses_live_window_changes(ros):
    monitor = WindowMonitorNode(parameter_overrides=[Parameter("diagnostics_period", value=0.2), Parameter("silent_after", value=0.3)])
    listener, diagnostics = collector("diagnostics_listener", DiagnosticArray, "/diagnostics")
    try:
        bring_up(monitor)
        assert spin_until([monitor, listener], lambda: len(diagnostics) >= 2, timeout=10.0)
        status = diagnostics[-1].status[0]
        assert status.level == DiagnosticStatus.ERROR
        assert "audio" in status.message and "image" in status.message
        result = monitor.set_parameters([Parameter("window.stride", value=0.25)])[0]
        assert not result.successful and "configure" in result.reason
        assert monitor.set_parameters([Parameter("log_windows", value=False)])[0].successful
    finally:
        shut_down([monitor])
        listener.destroy_node()


def test_diagnostics_go_on_under_sim_time_while_the_clock_is_paused(ros):
    """use_sim_time with no /clock (a paused bag, a simulator not started): reporting runs on wall time."""
    monitor = WindowMonitorNode(parameter_overrides=[Parameter("diagnostics_period", value=0.2),
                                                     Parameter("use_sim_time", value=True)])
    listener, diagnostics = collector("diagnostics_listener", DiagnosticArray, "/diagnostics")
    try:
        bring_up(monitor)
        assert monitor.get_clock().now().nanoseconds == 0  # sim time, and no /clock yet
        assert spin_until([monitor, listener], lambda: len(diagnostics) >= 3, timeout=10.0)
    finally:
        shut_down([monitor])
        listener.destroy_node()


@pytest.mark.parametrize("node_class", [CameraNode, MicrophoneNode, FileSourceNode, WindowMonitorNode, PerceptionNode,
                                        SpeechRecognizerNode])
def test_every_yaml_key_is_a_declared_parameter(ros, node_class):
    """ROS silently ignores unknown keys in a parameter file: a typo would never be noticed."""
    params = {}
    for name in ("sensors.yaml", "emotion.yaml"):
        params.update(yaml.safe_load((share_dir() / "config" / name).read_text()))
    node = node_class()
    try:
        section = params[f"/**/{node.get_name()}"]["ros__parameters"]

        def flatten(tree, prefix=""):
            for key, value in tree.items():
                if isinstance(value, dict):
                    yield from flatten(value, f"{prefix}{key}.")
                else:
                    yield f"{prefix}{key}", value

        for name, value in flatten(section):
            assert node.has_parameter(name), f"{node.get_name()}: {name} in sensors.yaml is not declared"
            declared = node.get_parameter(name).value
            assert type(declared) is type(value), f"{name}: YAML {value!r} vs declared {declared!r}"
    finally:
        node.destroy_node()


def pulseaudio_null_sink():
    """Start a PulseAudio daemon with a null sink; returns the environment to record from it."""
    for tool in ("pulseaudio", "paplay", "espeak-ng"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (make installs it)")
    subprocess.run(["pulseaudio", "--kill"], capture_output=True)
    started = subprocess.run(
        ["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", "-n",
         "--load=module-null-sink sink_name=vsink", "--load=module-native-protocol-unix"],
        capture_output=True, text=True,
    )
    if started.returncode != 0:
        pytest.skip(f"PulseAudio could not start: {started.stderr.strip()[:200]}")
    return {"PULSE_SOURCE": "vsink.monitor", "PULSE_SINK": "vsink"}


def test_a_microphone_that_cannot_be_opened_keeps_the_node_running_and_reporting(ros):
    mic = MicrophoneNode(parameter_overrides=[Parameter("device", value="no such device 97"),
                                              Parameter("diagnostics_period", value=0.2)])
    listener, diagnostics = collector("diagnostics_listener", DiagnosticArray, "/diagnostics")
    try:
        bring_up(mic)
        assert spin_until([mic, listener], lambda: len(diagnostics) >= 3, timeout=10.0)
        status = diagnostics[-1].status[0]
        assert status.level == DiagnosticStatus.ERROR and status.name == "microphone: capture"
        assert "cannot open microphone 'no such device 97'" in status.message and "trying again" in status.message
    finally:
        shut_down([mic])
        listener.destroy_node()


def test_microphone_node_records_speech_from_a_real_capture_device(ros, tmp_path, monkeypatch):
    env = pulseaudio_null_sink()
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    speech = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(speech), "Testing the microphone, one two three."], check=True)
    mic = MicrophoneNode(parameter_overrides=[Parameter("device", value="pulse"), Parameter("chunk", value=0.05)])
    listener, frames = collector("mic_listener", AudioFrame, "audio")
    player = None
    try:
        bring_up(mic)  # a device that cannot be opened leaves the node running and retrying
        if mic._problem:
            pytest.skip(f"no PortAudio 'pulse' device: {mic._problem}")
        player = subprocess.Popen(["paplay", "--device=vsink", str(speech)], env={**os.environ, **env})
        spin_until([mic, listener], lambda: player.poll() is not None and len(frames) > 40, timeout=15.0)
    finally:
        if player is not None and player.poll() is None:
            player.kill()
        shut_down([mic])
        listener.destroy_node()
        subprocess.run(["pulseaudio", "--kill"], capture_output=True)
    assert len(frames) > 40
    chunks = [audio_frame_to_pcm(f) for f in frames]
    assert {(c.sample_rate, c.samples.shape[1]) for c in chunks} == {(16000, 1)}
    stamps = [c.stamp for c in chunks]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))
    rms = max(float(np.sqrt((c.samples ** 2).mean())) for c in chunks)
    assert rms > 0.01, "the recording holds no speech"


def test_looping_file_source_keeps_time_running_through_lifecycle_cycles(ros, sample_clip):
    source, monitor, windows = replay_pipeline(sample_clip, loop=True)
    try:
        bring_up(monitor)
        bring_up(source)
        # The second pass continues the first one's timeline: 4 s of media per pass.
        assert spin_until([source, monitor], lambda: windows and windows[-1].t_end >= 6.0, timeout=20.0)
        assert source.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
        first_run = list(windows)
        published = source.frames_published
        spin_until([source, monitor], lambda: False, timeout=0.5)
        assert source.frames_published == published  # inactive: nothing more
        assert source.trigger_activate() == TransitionCallbackReturn.SUCCESS
        assert spin_until([source, monitor], lambda: source.frames_published > published + 10, timeout=10.0)
    finally:
        shut_down([source, monitor])
    # Across the loop seam at 4 s: no gap, no overlap, every window complete.
    ends = [w.t_end for w in first_run]
    assert ends[: ends.index(6.0) + 1] == pytest.approx(list(np.arange(2.0, 6.01, 0.5)))
    assert all(w.audio_present and w.video_present and w.frame_mask.all() for w in first_run[: ends.index(6.0) + 1])
    assert all(w.audio_coverage > 0.95 for w in first_run[: ends.index(6.0) + 1])


class SimulatedCamera:
    """A capture device: ``script`` decides each read (a frame, None for a failed read, or
    "block" to hang until ``release`` is set). It records closes made while a read was running."""

    def __init__(self, script, release: threading.Event, log: dict):
        self.is_file, self.fps = False, 30.0
        self.script, self.release, self.log = script, release, log
        self.reading = False

    def read(self):
        self.reading = True
        try:
            action = self.script(self.log)
            if action == "block":
                self.release.wait()
                return None
            if action is None:
                return None
            time.sleep(1 / 30)
            return CapturedFrame(np.full((48, 64, 3), 90, np.uint8), time.monotonic() - 0.05, "before_read")
        finally:
            self.reading = False

    def rewind(self):
        pass

    def close(self):
        self.log["closes"] += 1
        self.log["closed_while_reading"] += int(self.reading)


def camera_with(script):
    release, log = threading.Event(), {"opens": 0, "closes": 0, "closed_while_reading": 0, "reads": 0}

    def open_capture():
        log["opens"] += 1
        return SimulatedCamera(script, release, log)

    camera = CameraNode(open_capture=open_capture, parameter_overrides=[
        Parameter("stall_timeout", value=0.5), Parameter("diagnostics_period", value=0.2)])
    return camera, release, log


def test_a_camera_that_stops_delivering_is_an_error_and_is_reopened(ros):
    def fails_after_20_frames(log):  # the first device fails after 20 frames; the reopened one works
        log["reads"] += 1
        return None if log["opens"] == 1 and log["reads"] > 20 else "frame"

    camera, _, log = camera_with(fails_after_20_frames)
    listener, diagnostics = collector("diagnostics_listener", DiagnosticArray, "/diagnostics")
    images_listener, images = collector("camera_listener", Image, "image")
    try:
        bring_up(camera)
        levels = lambda: [s.level for m in diagnostics for s in m.status if s.name.endswith("capture")]  # noqa: E731
        assert spin_until([camera, listener, images_listener],
                          lambda: DiagnosticStatus.ERROR in levels() and levels()[-1] == DiagnosticStatus.OK, timeout=15)
    finally:
        shut_down([camera])
        listener.destroy_node()
        images_listener.destroy_node()
    assert log["opens"] == 2 and len(images) > 20
    error = next(s for m in diagnostics for s in m.status if s.level == DiagnosticStatus.ERROR)
    assert "stopped delivering frames" in error.message
    # stamped at capture (50 ms before the simulated read returned), not after it
    stamps = [to_seconds(m.header.stamp) for m in images]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))


def test_a_blocked_camera_read_is_an_error_and_shutdown_never_closes_it_under_the_read(ros):
    camera, release, log = camera_with(lambda log: "block")
    listener, diagnostics = collector("diagnostics_listener", DiagnosticArray, "/diagnostics")
    try:
        bring_up(camera)
        stalled = lambda: any("no frame for" in s.message for m in diagnostics for s in m.status)  # noqa: E731
        assert spin_until([camera, listener], stalled, timeout=10)
        started = time.monotonic()
        shut_down([camera])
        assert time.monotonic() - started < 4.0
        assert log["closes"] == 0  # the read still blocks: nobody closed the device under it
        release.set()
        deadline = time.monotonic() + 5
        while log["closes"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        release.set()
        listener.destroy_node()
    assert log["closes"] == 1 and log["closed_while_reading"] == 0


def test_a_file_played_as_fast_as_possible_carries_media_time(ros, sample_clip):
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    source = FileSourceNode(parameter_overrides=[Parameter("path", value=str(sample_clip)), Parameter("rate", value=0.0),
                                                 Parameter("reliable", value=True), Parameter("publish_audio", value=False)])
    listener = rclpy.create_node("fast_listener")
    images = []
    listener.create_subscription(Image, "image", images.append, QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE))
    try:
        bring_up(source)
        assert spin_until([source, listener], lambda: source.finished.is_set() and len(images) >= 100, timeout=30)
    finally:
        shut_down([source])
        listener.destroy_node()
    stamps = np.array([to_seconds(m.header.stamp) for m in images])
    np.testing.assert_allclose(np.diff(stamps), 1 / 25, atol=1e-6)  # the file's 25 fps, not the publishing speed
