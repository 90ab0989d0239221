"""Microphone driver: publishes `audio` (emotion_msgs/AudioFrame) from a sound card."""

from __future__ import annotations

import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
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


RETRY_MIN = 0.5  # [s] first wait before opening a missing device again (it doubles up to retry_max_interval)


class MicrophoneNode(ManagedNode):
    """Lifecycle: configure checks the format, activate opens and starts the stream. A device
    that cannot be opened (not plugged in, busy) does not stop the node: it tries again, backing
    off, and reports on /diagnostics (ERROR until the stream runs).

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
        declare(self, "retry_max_interval", 10.0, "Longest wait between attempts to open a failed device [s].", 0.5, 600.0)
        declare(self, "diagnostics_period", 1.0, "Period of /diagnostics messages [s].", 0.1, 60.0)
        self._capture: MicrophoneCapture | None = None
        self._publisher = self._diagnostics = self._timer = None
        self._problem = ""  # why the stream is not running ("" while it is)
        self._retry_delay, self._next_attempt = RETRY_MIN, 0.0
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
        self._diagnostics = self.create_lifecycle_publisher(DiagnosticArray, "/diagnostics", 10)
        return SUCCESS

    def start(self):
        self._retry_delay, self._next_attempt = RETRY_MIN, 0.0
        self._open()
        self._timer = self.create_wall_timer(self.param("diagnostics_period"), self._tick)
        return SUCCESS

    def _open(self) -> None:
        try:
            self._capture.start()
        except MicrophoneError as exc:
            self._problem = f"{exc}; trying again in {self._retry_delay:g} s"
            self.get_logger().warning(self._problem)
            self._next_attempt = time.monotonic() + self._retry_delay
            self._retry_delay = min(2 * self._retry_delay, self.param("retry_max_interval"))
            return
        self._problem = ""
        capture = self._capture
        self.get_logger().info(
            f"capturing {capture.channels} channel(s) at {capture.sample_rate} Hz from {capture.device or 'the default input'}"
        )

    def _tick(self) -> None:
        if self._problem and time.monotonic() >= self._next_attempt:
            self._open()
        if self._diagnostics is None:
            return
        device = str(self._capture.device) if self._capture.device is not None else "default input"
        array = DiagnosticArray(status=[DiagnosticStatus(
            level=DiagnosticStatus.ERROR if self._problem else DiagnosticStatus.OK, name=f"{self.get_name()}: capture",
            message=self._problem or "capturing", hardware_id=device,
            values=[KeyValue(key="chunks", value=str(self.chunks_published))])])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics.publish(array)

    def stop(self) -> None:
        if self._timer is not None:
            self.destroy_timer(self._timer)
            self._timer = None
        if self._capture is not None:
            self._capture.stop()

    def release(self) -> None:
        self._capture = None
        for publisher in (self._publisher, self._diagnostics):
            if publisher is not None:
                self.destroy_lifecycle_publisher(publisher)
        self._publisher = self._diagnostics = None

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
