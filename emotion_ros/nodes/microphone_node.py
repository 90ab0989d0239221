"""Microphone driver: publishes `audio` (emotion_msgs/AudioFrame) from a sound card."""

from __future__ import annotations

from emotion_msgs.msg import AudioFrame
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
from rclpy.qos import qos_profile_sensor_data
from std_msgs.msg import Header

from emotion_ros.io.audio import PCM_ENCODINGS, SUPPORTED_SAMPLE_RATES, PcmChunk, pcm_to_audio_frame
from emotion_ros.io.errors import InvalidInput
from emotion_ros.io.microphone import MicrophoneCapture, MicrophoneError
from emotion_ros.io.stamps import to_stamp
from emotion_ros.nodes.parameters import declare
from emotion_ros.nodes.runner import main_for


class MicrophoneNode(LifecycleNode):
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
        self.failure_reason = ""
        self._capture: MicrophoneCapture | None = None
        self._publisher = None
        self.chunks_published = 0

    def _param(self, name):
        return self.get_parameter(name).value

    def on_configure(self, state) -> TransitionCallbackReturn:
        if self._param("encoding") not in PCM_ENCODINGS:
            return self._fail(f"unsupported encoding {self._param('encoding')!r} (supported: {', '.join(PCM_ENCODINGS)})")
        device = self._param("device")
        device = int(device) if device.strip().isdigit() else (device or None)
        try:
            self._capture = MicrophoneCapture(
                self._on_chunk,
                clock=lambda: self.get_clock().now().nanoseconds * 1e-9,
                device=device,
                sample_rate=self._param("sample_rate"),
                channels=self._param("channels"),
                chunk=self._param("chunk"),
            )
        except InvalidInput as exc:
            return self._fail(str(exc))
        self._publisher = self.create_lifecycle_publisher(AudioFrame, "audio", qos_profile_sensor_data)
        return TransitionCallbackReturn.SUCCESS

    def _fail(self, reason: str) -> TransitionCallbackReturn:
        self.failure_reason = reason
        self.get_logger().error(reason)
        return TransitionCallbackReturn.FAILURE

    def on_activate(self, state) -> TransitionCallbackReturn:
        try:
            self._capture.start()
        except MicrophoneError as exc:
            return self._fail(str(exc))
        self.get_logger().info(
            f"capturing {self._capture.channels} channel(s) at {self._capture.sample_rate} Hz from "
            f"{self._capture.device or 'the default input'}"
        )
        return super().on_activate(state)

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        if self._capture is not None:
            self._capture.stop()
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _release(self) -> None:
        if self._capture is not None:
            self._capture.stop()
            self._capture = None
        if self._publisher is not None:
            self.destroy_lifecycle_publisher(self._publisher)
            self._publisher = None

    def _on_chunk(self, chunk: PcmChunk) -> None:
        # Called on PortAudio's thread; rclpy publishers are thread-safe.
        publisher = self._publisher
        if publisher is None:
            return
        header = Header(stamp=to_stamp(chunk.stamp), frame_id=self._param("frame_id"))
        publisher.publish(pcm_to_audio_frame(chunk.samples, chunk.sample_rate, self._param("encoding"), header))
        self.chunks_published += 1


def main(args=None) -> int:
    return main_for(MicrophoneNode, args)
