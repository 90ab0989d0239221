"""Camera and microphone subscriptions of a node, feeding a SensorInput (shared by nodes)."""

from __future__ import annotations

from typing import Callable

from emotion_msgs.msg import AudioFrame
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import String

from emotion_ros.io.audio_common import audio_common_types
from emotion_ros.nodes.parameters import declare
from emotion_ros.window.sensor_input import SensorInput
from emotion_ros.window.window import Window

AUDIO_TYPES = ("audio_frame", "audio_common_stamped", "audio_common_data")
TRANSCRIPT_TYPES = ("string", "live_speech", "none")


def live_speech_type():
    """hri_msgs/LiveSpeech when hri_msgs is installed, else None."""
    try:
        from hri_msgs.msg import LiveSpeech
    except ImportError:
        return None
    return LiveSpeech


def declare_sensor_parameters(node: Node) -> None:
    declare(node, "use_video", True, "Subscribe to the camera.")
    declare(node, "use_audio", True, "Subscribe to the microphone.")
    declare(node, "compressed", False,
            "Subscribe to the compressed transport of `image` (`<image topic>/compressed`, after remapping, as "
            "image_transport names it) instead of `image`.")
    declare(
        node, "audio_type", "audio_frame",
        "Message type on `audio`: audio_frame (emotion_msgs/AudioFrame), audio_common_stamped "
        "(audio_common_msgs/AudioStamped) or audio_common_data (AudioDataStamped + `audio_info`).",
    )
    declare(node, "transcript_type", "string",
            "Message type on `speech`, a speech recogniser's output: string (std_msgs/String), live_speech "
            "(hri_msgs/LiveSpeech, ROS4HRI's /humans/voices/<id>/speech) or none.")
    declare(node, "transcript_delay", 0.5,
            "How long after the speech ends its transcript arrives, for messages without a stamp [s].", 0.0, 30.0)
    declare(node, "silent_after", 2.0, "A topic silent for this long is an ERROR on /diagnostics [s].", 0.1, 600.0)
    declare(node, "qos.depth", 5, "History depth of the sensor subscriptions.", 1, 1000)
    declare(node, "qos.reliable", False,
            "Subscribe to the sensors reliably (e.g. replaying a bag at full speed); default best effort, "
            "the sensor-data profile.")


def sensor_qos(node: Node) -> QoSProfile:
    """The sensor-data profile (best effort, volatile), with the node's depth and reliability."""
    reliable = node.get_parameter("qos.reliable").value
    return QoSProfile(
        depth=node.get_parameter("qos.depth").value,
        reliability=ReliabilityPolicy.RELIABLE if reliable else qos_profile_sensor_data.reliability,
        durability=qos_profile_sensor_data.durability,
        history=qos_profile_sensor_data.history,
    )


def compressed_topic(node: Node, image: str = "image") -> str:
    """image_transport's name for the compressed transport of ``image``: the base topic resolved
    (namespace and remapping applied) plus ``/compressed``, so ``-r image:=/head/image_raw``
    subscribes to ``/head/image_raw/compressed``."""
    return node.resolve_topic_name(image) + "/compressed"


def check_sensor_parameters(node: Node) -> str | None:
    """Why the sensor parameters cannot work, or None."""
    audio_type = node.get_parameter("audio_type").value
    if audio_type not in AUDIO_TYPES:
        return f"audio_type must be one of {AUDIO_TYPES}, got {audio_type!r}"
    if audio_type != "audio_frame" and not audio_common_types():
        return f"audio_type {audio_type!r} needs audio_common_msgs, which is not installed"
    transcript_type = node.get_parameter("transcript_type").value
    if transcript_type not in TRANSCRIPT_TYPES:
        return f"transcript_type must be one of {TRANSCRIPT_TYPES}, got {transcript_type!r}"
    if transcript_type == "live_speech" and live_speech_type() is None:
        return "transcript_type 'live_speech' needs hri_msgs, which is not installed"
    if not node.get_parameter("use_video").value and not node.get_parameter("use_audio").value:
        return "use_video and use_audio are both false: nothing to subscribe to"
    return None


class SensorSubscriptions:
    """Sensor-data QoS subscriptions on relative topics; every message goes through the
    SensorInput, and the windows it completes go to ``on_windows``. A callback never raises:
    an unexpected error is counted as a rejection of kind "internal" and reported."""

    def __init__(self, node: Node, sensor_input: SensorInput, on_windows: Callable[[list[Window]], None], report):
        self.node, self.input, self.on_windows, self.report = node, sensor_input, on_windows, report
        self._subscriptions = []
        self._last_seen: dict[str, float | None] = {}  # node time of the last message whose data was used
        self._last_arrival: dict[str, float | None] = {}  # ... of the last message, used or not
        self._audio_info = None

    def start(self) -> None:
        node, param = self.node, lambda name: self.node.get_parameter(name).value
        self._last_seen, self._last_arrival = {}, {}
        if param("use_video"):
            if param("compressed"):
                self._add("image/compressed", CompressedImage, lambda m: self.input.compressed_image(m, "image/compressed"),
                          compressed_topic(node))
            else:
                self._add("image", Image, lambda m: self.input.image(m, "image"))
        if param("use_audio"):
            audio_type, types = param("audio_type"), audio_common_types()
            if audio_type == "audio_frame":
                self._add("audio", AudioFrame, lambda m: self.input.audio(m, "audio"))
            elif audio_type == "audio_common_stamped":
                self._add("audio", types["AudioStamped"], lambda m: self.input.audio_common_stamped(m, "audio"))
            else:
                # audio_capture publishes its AudioInfo once, transient local: only a transient-local
                # subscription hears it when the node starts after the microphone
                latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
                self._subscriptions.append(node.create_subscription(types["AudioInfo"], "audio_info", self._on_audio_info, latched))
                self._add("audio", types["AudioDataStamped"], lambda m: self.input.audio_common_data(m, self._audio_info, "audio"))
        self._subscribe_transcript(param("transcript_type"), param("transcript_delay"))

    def _subscribe_transcript(self, transcript_type: str, delay: float) -> None:
        """`speech`, reliable: an utterance is an event, not a stream to sample. Not watched for
        silence (people are quiet most of the time)."""
        if transcript_type == "none":
            return
        feed = self.input.transcript if transcript_type == "string" else self.input.live_speech
        msg_type = String if transcript_type == "string" else live_speech_type()

        def callback(msg) -> None:  # words complete no window: nothing to pass on
            try:
                feed(msg, delay, self._now(), "speech")
            except Exception as exc:  # as _add: report, never raise
                self.input.rejected[("speech", "internal")] += 1
                self.report("speech", "internal", f"internal error on a message: {type(exc).__name__}: {exc}")

        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self._subscriptions.append(self.node.create_subscription(msg_type, "speech", callback, qos))

    def stop(self) -> None:
        for subscription in self._subscriptions:
            self.node.destroy_subscription(subscription)
        self._subscriptions = []

    def topic_ages(self) -> dict[str, float | None]:
        """Seconds of node time (sim time under use_sim_time) since each subscribed topic last
        delivered a message whose data the windows took (None: never)."""
        return self._ages(self._last_seen)

    def arrival_ages(self) -> dict[str, float | None]:
        """Seconds since each topic last delivered any message (rejected, duplicate, too old...)."""
        return self._ages(self._last_arrival)

    def _ages(self, times: dict[str, float | None]) -> dict[str, float | None]:
        now = self._now()
        return {topic: None if seen is None else max(0.0, now - seen) for topic, seen in times.items()}

    def _now(self) -> float:
        return self.node.get_clock().now().nanoseconds * 1e-9

    def _on_audio_info(self, msg) -> None:
        self._audio_info = msg

    def _add(self, topic: str, msg_type, feed: Callable, name: str | None = None) -> None:
        """Subscribe ``name`` (default: the relative ``topic``); ``topic`` keys the counters."""
        self._last_seen[topic] = self._last_arrival[topic] = None

        def callback(msg) -> None:
            self._last_arrival[topic] = self._now()
            before = self.input.used[topic]
            try:
                windows = feed(msg)
            except Exception as exc:  # a bug must not take the node down: report it and go on
                self.input.rejected[(topic, "internal")] += 1
                self.report(topic, "internal", f"internal error on a message: {type(exc).__name__}: {exc}")
                return
            if self.input.used[topic] > before:
                self._last_seen[topic] = self._now()
            if windows:
                self.on_windows(windows)

        self._subscriptions.append(self.node.create_subscription(msg_type, name or topic, callback, sensor_qos(self.node)))
