"""Microphone driver: publishes `audio` (emotion_msgs/AudioFrame) from a sound card."""

from __future__ import annotations

from emotion_msgs.msg import AudioFrame
from rclpy.qos import qos_profile_sensor_data
from std_msgs.msg import Header

from emotion_ros.io.audio import PCM_ENCODINGS, SUPPORTED_SAMPLE_RATES, PcmChunk, pcm_to_audio_frame
from emotion_ros.io.errors import InvalidInput
from emotion_ros.io.microphone import MicrophoneCapture, MicrophoneError
from emotion_ros.io.stamps import to_stamp
from emotion_ros.nodes.managed_node import SUCCESS, ManagedNode
from emotion_ros.nodes.parameters import declare
from emotion_ros.nodes.runner import main_for


class MicrophoneNode(ManagedNode):
    """Lifecycle: configure checks the format, activate opens and starts the stream.

    Each chunk is stamped with the capture time of its first sample on the node clock.
    """

    def __init__(self, **kwargs):
        super().__init__("microphone", **kwargs)
        declare(self, "device", "", "PortAudio device name or index; empty for the default input.")
        declare(self, "sample_rate", 16000, f"Capture rate [Hz], one of {SUPPORTED_SAMPLE_RATES}.", 8000, 96000)
        declare(self, "channels", 1, "Channels to capture.", 1, 32)
        declare(self, "chunk", 0.1, "Duration of one published AudioFrame [s].", 0.005, 2.0)
        declare(self, "encoding", "S16LE", f"Published sample encoding: one of {', '.join(PCM_ENCODINGS)}.")
        declare(self, "frame_id", "microphone", "frame_id of the published audio.")
        self._capture: MicrophoneCapture | None = None
        self._publisher = None
        self.chunks_published = 0

    def on_configure(self, state):
        if self.param("encoding") not in PCM_ENCODINGS:
            return self.fail(f"unsupported encoding {self.param('encoding')!r} (supported: {', '.join(PCM_ENCODINGS)})")
        device = self.param("device")
        try:
            self._capture = MicrophoneCapture(
                self._on_chunk,
                clock=lambda: self.get_clock().now().nanoseconds * 1e-9,
                device=int(device) if device.strip().isdigit() else (device or None),
                sample_rate=self.param("sample_rate"),
                channels=self.param("channels"),
                chunk=self.param("chunk"),
            )
        except InvalidInput as exc:
            return self.fail(str(exc))
        self._publisher = self.create_lifecycle_publisher(AudioFrame, "audio", qos_profile_sensor_data)
        return SUCCESS

    def start(self):
        try:
            self._capture.start()
        except MicrophoneError as exc:
            return self.fail(str(exc))
        capture = self._capture
        self.get_logger().info(
            f"capturing {capture.channels} channel(s) at {capture.sample_rate} Hz from {capture.device or 'the default input'}"
        )
        return SUCCESS

    def stop(self) -> None:
        if self._capture is not None:
            self._capture.stop()

    def release(self) -> None:
        self._capture = None
        if self._publisher is not None:
            self.destroy_lifecycle_publisher(self._publisher)
            self._publisher = None

    def _on_chunk(self, chunk: PcmChunk) -> None:
        # Called on PortAudio's thread; rclpy publishers are thread-safe.
        publisher = self._publisher
        if publisher is None:
            return
        header = Header(stamp=to_stamp(chunk.stamp), frame_id=self.param("frame_id"))
        publisher.publish(pcm_to_audio_frame(chunk.samples, chunk.sample_rate, self.param("encoding"), header))
        self.chunks_published += 1


def main(args=None) -> int:
    return main_for(MicrophoneNode, args)
