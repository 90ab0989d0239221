"""Window monitor: subscribes to `image` and `audio`, cuts windows, reports their timing.

Use it to check that a robot's camera and microphone streams line up before running
perception; it logs every window and publishes input health on /diagnostics.
"""

from __future__ import annotations

import time
from typing import Callable

from diagnostic_msgs.msg import DiagnosticArray
from emotion_msgs.msg import AudioFrame
from rcl_interfaces.msg import SetParametersResult
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image

from emotion_ros.io.audio_common import audio_common_types
from emotion_ros.nodes.managed_node import SUCCESS, ManagedNode
from emotion_ros.nodes.parameters import declare, declare_config, read_config
from emotion_ros.nodes.runner import main_for
from emotion_ros.nodes.throttled_log import ThrottledLog
from emotion_ros.window.config import WindowConfig
from emotion_ros.window.diagnostics import input_status
from emotion_ros.window.sensor_input import SensorInput
from emotion_ros.window.window import Window

AUDIO_TYPES = ("audio_frame", "audio_common_stamped", "audio_common_data")


class WindowMonitorNode(ManagedNode):
    """Lifecycle: configure builds the window assembler, activate subscribes."""

    def __init__(self, **kwargs):
        super().__init__("window_monitor", **kwargs)
        declare_config(self, "window", WindowConfig)
        declare(self, "compressed", False, "Subscribe to `image/compressed` instead of `image`.")
        declare(
            self, "audio_type", "audio_frame",
            "Message type on `audio`: audio_frame (emotion_msgs/AudioFrame), audio_common_stamped "
            "(audio_common_msgs/AudioStamped) or audio_common_data (AudioDataStamped + `audio_info`).",
        )
        declare(self, "use_video", True, "Subscribe to the camera.")
        declare(self, "use_audio", True, "Subscribe to the microphone.")
        declare(self, "log_windows", True, "Log one line per window.")
        declare(self, "silent_after", 2.0, "A topic silent for this long is an ERROR on /diagnostics [s].", 0.1, 600.0)
        declare(self, "diagnostics_period", 1.0, "Period of /diagnostics messages [s].", 0.1, 60.0)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.window_listeners: list[Callable[[Window], None]] = []
        self.input: SensorInput | None = None
        self._throttled = ThrottledLog(self.get_logger().warning)
        self._sensor_subscriptions = []
        self._last_seen: dict[str, float | None] = {}
        self._reported_rejections = 0
        self._audio_info = None
        self._diagnostics_pub = None
        self._timer = None

    def _on_set_parameters(self, params) -> SetParametersResult:
        for p in params:
            if p.name.startswith("window.") and self.input is not None:
                return SetParametersResult(
                    successful=False,
                    reason=f"{p.name} shapes the window buffers: deactivate and clean up the node, then configure again",
                )
        return SetParametersResult(successful=True)

    def on_configure(self, state):
        try:
            config = read_config(self, "window", WindowConfig)
        except ValueError as exc:
            return self.fail(str(exc))
        audio_type = self.param("audio_type")
        if audio_type not in AUDIO_TYPES:
            return self.fail(f"audio_type must be one of {AUDIO_TYPES}, got {audio_type!r}")
        if audio_type != "audio_frame" and not audio_common_types():
            return self.fail(f"audio_type {audio_type!r} needs audio_common_msgs, which is not installed")
        self.input = SensorInput(config, report=self._throttled)
        self._diagnostics_pub = self.create_lifecycle_publisher(DiagnosticArray, "/diagnostics", 10)
        return SUCCESS

    def start(self):
        qos = qos_profile_sensor_data
        subscribe = self.create_subscription
        self._last_seen = {}
        if self.param("use_video"):
            if self.param("compressed"):
                self._track("image/compressed", subscribe(CompressedImage, "image/compressed", self._on_compressed, qos))
            else:
                self._track("image", subscribe(Image, "image", self._on_image, qos))
        if self.param("use_audio"):
            audio_type = self.param("audio_type")
            types = audio_common_types()
            if audio_type == "audio_frame":
                self._track("audio", subscribe(AudioFrame, "audio", self._on_audio_frame, qos))
            elif audio_type == "audio_common_stamped":
                self._track("audio", subscribe(types["AudioStamped"], "audio", self._on_audio_stamped, qos))
            else:
                latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
                self._sensor_subscriptions.append(subscribe(types["AudioInfo"], "audio_info", self._on_audio_info, latched))
                self._track("audio", subscribe(types["AudioDataStamped"], "audio", self._on_audio_data, qos))
        self._timer = self.create_timer(self.param("diagnostics_period"), self._publish_diagnostics)
        return SUCCESS

    def _track(self, topic: str, subscription) -> None:
        self._sensor_subscriptions.append(subscription)
        self._last_seen[topic] = None

    def stop(self) -> None:
        for subscription in self._sensor_subscriptions:
            self.destroy_subscription(subscription)
        self._sensor_subscriptions = []
        if self._timer is not None:
            self.destroy_timer(self._timer)
            self._timer = None

    def release(self) -> None:
        self.input = None
        if self._diagnostics_pub is not None:
            self.destroy_lifecycle_publisher(self._diagnostics_pub)
            self._diagnostics_pub = None

    # -- callbacks: convert, assemble, hand windows on ----------------------------------------
    def _seen(self, topic: str, accepted_before: int) -> None:
        if self.input.accepted[topic] > accepted_before:
            self._last_seen[topic] = time.monotonic()

    def _handle(self, topic: str, feed) -> None:
        before = self.input.accepted[topic]
        try:
            windows = feed()
        except Exception as exc:  # a bug must not take the node down: report it and go on
            self.input.rejected[(topic, "internal")] += 1
            self._throttled(topic, "internal", f"internal error on a message: {type(exc).__name__}: {exc}")
            return
        self._seen(topic, before)
        for window in windows:
            if self.param("log_windows"):
                self.get_logger().info(window.summary())
            for listener in self.window_listeners:
                listener(window)

    def _on_image(self, msg: Image) -> None:
        self._handle("image", lambda: self.input.image(msg, "image"))

    def _on_compressed(self, msg: CompressedImage) -> None:
        self._handle("image/compressed", lambda: self.input.compressed_image(msg, "image/compressed"))

    def _on_audio_frame(self, msg: AudioFrame) -> None:
        self._handle("audio", lambda: self.input.audio(msg, "audio"))

    def _on_audio_stamped(self, msg) -> None:
        self._handle("audio", lambda: self.input.audio_common_stamped(msg, "audio"))

    def _on_audio_info(self, msg) -> None:
        self._audio_info = msg

    def _on_audio_data(self, msg) -> None:
        self._handle("audio", lambda: self.input.audio_common_data(msg, self._audio_info, "audio"))

    def _publish_diagnostics(self) -> None:
        if self.input is None or self._diagnostics_pub is None:
            return
        now = time.monotonic()
        counters = self.input.counters()
        ages = {topic: None if seen is None else now - seen for topic, seen in self._last_seen.items()}
        status = input_status(
            name=f"{self.get_name()}: sensor input",
            hardware_id=self.get_fully_qualified_name(),
            counters=counters,
            topic_ages=ages,
            silent_after=self.param("silent_after"),
            new_rejections=counters["rejected"] - self._reported_rejections,
        )
        self._reported_rejections = counters["rejected"]
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics_pub.publish(array)


def main(args=None) -> int:
    return main_for(WindowMonitorNode, args)
