"""Media file source: publishes a file's video track on `image` and audio track on `audio`.

For demos, tests and offline evaluation: it stands in for a camera and a microphone.
"""

from __future__ import annotations

import threading
import time

from emotion_msgs.msg import AudioFrame
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from emotion_ros.io.audio import PCM_ENCODINGS, pcm_to_audio_frame
from emotion_ros.io.image import SUPPORTED_ENCODINGS, pixel_format, rgb_to_image
from emotion_ros.io.media import MediaError, VideoFrame, probe, read_media
from emotion_ros.io.stamps import to_stamp
from emotion_ros.nodes.parameters import declare
from emotion_ros.nodes.runner import main_for

STAMP_ORIGINS = ("now", "media")


class FileSourceNode(LifecycleNode):
    """Lifecycle: configure probes the file, activate starts playback, deactivate stops it.

    With rate 1.0 the file plays in real time; with rate 0 it plays as fast as possible
    (stamps still follow media time, so windows come out the same). Stamps are media time
    plus the activation time (stamp_origin "now") or plain media time ("media").
    """

    def __init__(self, **kwargs):
        super().__init__("file_source", **kwargs)
        declare(self, "path", "", "Media file to play (any container/codec FFmpeg reads).")
        declare(self, "rate", 1.0, "Playback speed: 1.0 is real time, 0 is as fast as possible.", 0.0, 100.0)
        declare(self, "loop", False, "Play the file again at its end (stamps keep increasing).")
        declare(self, "publish_video", True, "Publish the video track on `image`.")
        declare(self, "publish_audio", True, "Publish the audio track on `audio`.")
        declare(self, "audio_chunk", 0.05, "Duration of one published AudioFrame [s].", 0.005, 2.0)
        declare(self, "audio_encoding", "S16LE", f"AudioFrame encoding: one of {', '.join(PCM_ENCODINGS)}.")
        declare(self, "image_encoding", "rgb8", f"Image encoding: one of {', '.join(SUPPORTED_ENCODINGS)}.")
        declare(self, "camera_frame_id", "camera", "frame_id of the published images.")
        declare(self, "microphone_frame_id", "microphone", "frame_id of the published audio.")
        declare(self, "stamp_origin", "now", "'now': stamps start at activation; 'media': stamps are media time.")
        declare(self, "reliable", False, "Publish with reliable QoS (for offline runs at rate 0); default best effort.")
        self.failure_reason = ""
        self.info = None
        self.finished = threading.Event()
        self.frames_published = 0
        self.chunks_published = 0
        self._image_pub = self._audio_pub = None
        self._thread: threading.Thread | None = None
        self._running = threading.Event()

    def _param(self, name):
        return self.get_parameter(name).value

    def _fail(self, reason: str) -> TransitionCallbackReturn:
        self.failure_reason = reason
        self.get_logger().error(reason)
        return TransitionCallbackReturn.FAILURE

    def on_configure(self, state) -> TransitionCallbackReturn:
        if not self._param("path"):
            return self._fail("parameter 'path' is empty: give the media file to play")
        if self._param("stamp_origin") not in STAMP_ORIGINS:
            return self._fail(f"stamp_origin must be one of {STAMP_ORIGINS}, got {self._param('stamp_origin')!r}")
        if self._param("audio_encoding") not in PCM_ENCODINGS:
            return self._fail(f"unsupported audio_encoding {self._param('audio_encoding')!r}")
        try:
            pixel_format(self._param("image_encoding"))
            self.info = probe(self._param("path"))
        except (MediaError, ValueError) as exc:
            return self._fail(str(exc))
        qos = qos_profile_sensor_data
        if self._param("reliable"):
            qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        if self.info.has_video and self._param("publish_video"):
            self._image_pub = self.create_lifecycle_publisher(Image, "image", qos)
        if self.info.has_audio and self._param("publish_audio"):
            self._audio_pub = self.create_lifecycle_publisher(AudioFrame, "audio", qos)
        i = self.info
        self.get_logger().info(
            f"{i.path}: {i.duration:.2f} s, video {i.width}x{i.height} at {i.fps:.2f} fps"
            if i.has_video else f"{i.path}: {i.duration:.2f} s, no video"
        )
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state) -> TransitionCallbackReturn:
        self.finished.clear()
        self._running.set()
        self._thread = threading.Thread(target=self._play, name="file-source", daemon=True)
        self._thread.start()
        return super().on_activate(state)

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        self._stop()
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _stop(self) -> None:
        self._running.clear()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def _release(self) -> None:
        self._stop()
        for publisher in (self._image_pub, self._audio_pub):
            if publisher is not None:
                self.destroy_lifecycle_publisher(publisher)
        self._image_pub = self._audio_pub = None

    def _play(self) -> None:
        rate = self._param("rate")
        origin = self.get_clock().now().nanoseconds * 1e-9 if self._param("stamp_origin") == "now" else 0.0
        wall_start = time.monotonic()
        offset = 0.0  # media time of the current pass (grows with each loop)
        try:
            while self._running.is_set():
                end = self._play_once(origin + offset, wall_start, offset, rate)
                if not self._param("loop") or end is None:
                    break
                offset += max(self.info.duration, end)
        except MediaError as exc:
            self.get_logger().error(str(exc))
        self.get_logger().info(
            f"finished {self.info.path}: {self.frames_published} frames, {self.chunks_published} audio chunks"
        )
        self.finished.set()

    def _play_once(self, stamp_base: float, wall_start: float, offset: float, rate: float) -> float | None:
        """One pass over the file; returns the last media stamp, None if stopped early."""
        last = 0.0
        items = read_media(
            self._param("path"),
            video=self._image_pub is not None,
            audio=self._audio_pub is not None,
            chunk=self._param("audio_chunk"),
        )
        for item in items:
            if not self._running.is_set():
                return None
            if rate > 0:
                time.sleep(max(0.0, wall_start + (offset + item.stamp) / rate - time.monotonic()))
            last = item.stamp
            stamp = to_stamp(stamp_base + item.stamp)
            if isinstance(item, VideoFrame):
                header = Header(stamp=stamp, frame_id=self._param("camera_frame_id"))
                self._image_pub.publish(rgb_to_image(item.rgb, self._param("image_encoding"), header))
                self.frames_published += 1
            else:
                header = Header(stamp=stamp, frame_id=self._param("microphone_frame_id"))
                frame = pcm_to_audio_frame(item.samples, item.sample_rate, self._param("audio_encoding"), header)
                self._audio_pub.publish(frame)
                self.chunks_published += 1
        return last


def main(args=None) -> int:
    return main_for(FileSourceNode, args)
