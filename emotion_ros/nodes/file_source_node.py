"""Media file source: publishes a file's video track on `image`, audio track on `audio` and
transcript (a .srt or .jsonl beside it) on `speech`.

For demos, tests and offline evaluation: it stands in for a camera, a microphone and a speech
recogniser.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from emotion_msgs.msg import AudioFrame
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import Header, String

from emotion_ros.io.audio import PCM_ENCODINGS, pcm_to_audio_frame
from emotion_ros.io.image import SUPPORTED_ENCODINGS, pixel_format, rgb_to_image
from emotion_ros.io.media import MediaError, VideoFrame, probe, read_media
from emotion_ros.io.stamps import to_stamp
from emotion_ros.io.transcript_file import TranscriptError, read_transcript, sidecar
from emotion_ros.nodes.managed_node import SUCCESS, ManagedNode
from emotion_ros.nodes.parameters import declare
from emotion_ros.nodes.runner import main_for

STAMP_ORIGINS = ("now", "media")


class FileSourceNode(ManagedNode):
    """Lifecycle: configure probes the file, activate starts playback, deactivate stops it.

    With rate 1.0 the file plays in real time; with rate 0 it plays as fast as possible
    (stamps still follow media time, so windows come out the same). Stamps are media time
    plus the activation time (stamp_origin "now") or plain media time ("media").
    """

    worker_name = "file-source"

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
        declare(self, "transcript", "",
                "Transcript to publish on `speech` (std_msgs/String), as a speech recogniser would: a .srt or .jsonl; "
                "empty: the media file's own (the same name with .srt or .jsonl), if any; 'none': no transcript.")
        declare(self, "transcript_delay", 0.5,
                "Each utterance is published this long after it ends, like a recogniser's result [s] (match the "
                "emotion node's transcript_delay).", 0.0, 30.0)
        declare(
            self, "wait_for_subscribers", 2.0,
            "At activation, wait up to this long for a subscriber on each topic, so the start of the file is not "
            "lost to discovery [s]; 0 starts at once.", 0.0, 60.0,
        )
        self.info = None
        self.finished = threading.Event()
        self.frames_published = 0
        self.chunks_published = 0
        self._image_pub = self._audio_pub = self._speech_pub = None
        self.utterances = []

    def on_configure(self, state):
        if not self.param("path"):
            return self.fail("parameter 'path' is empty: give the media file to play")
        if Path(self.param("path")).is_dir():
            return self.fail(f"{self.param('path')} is a directory, not a media file: play a rosbag2 bag into a running "
                             f"node with `emotion-ros replay {self.param('path')} --publish` (README: Replaying a robot's recording)")
        if self.param("stamp_origin") not in STAMP_ORIGINS:
            return self.fail(f"stamp_origin must be one of {STAMP_ORIGINS}, got {self.param('stamp_origin')!r}")
        if self.param("audio_encoding") not in PCM_ENCODINGS:
            return self.fail(f"unsupported audio_encoding {self.param('audio_encoding')!r}")
        try:
            pixel_format(self.param("image_encoding"))
            self.info = probe(self.param("path"))
        except (MediaError, ValueError) as exc:
            return self.fail(str(exc))
        qos = qos_profile_sensor_data
        if self.param("reliable"):
            qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        if self.info.has_video and self.param("publish_video"):
            self._image_pub = self.create_lifecycle_publisher(Image, "image", qos)
        if self.info.has_audio and self.param("publish_audio"):
            self._audio_pub = self.create_lifecycle_publisher(AudioFrame, "audio", qos)
        transcript = self.param("transcript")
        path = None if transcript == "none" else transcript or sidecar(self.param("path"))
        try:
            self.utterances = read_transcript(path) if path else []
        except TranscriptError as exc:
            return self.fail(str(exc))
        if self.utterances:
            self._speech_pub = self.create_lifecycle_publisher(String, "speech", QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
        i = self.info
        video = f"video {i.width}x{i.height} at {i.fps:.2f} fps" if i.has_video else "no video"
        self.get_logger().info(f"{i.path}: {i.duration:.2f} s, {video}, {'audio' if i.has_audio else 'no audio'}")
        return SUCCESS

    def start(self):
        self.finished.clear()
        return SUCCESS

    def release(self) -> None:
        for publisher in (self._image_pub, self._audio_pub, self._speech_pub):
            if publisher is not None:
                self.destroy_lifecycle_publisher(publisher)
        self._image_pub = self._audio_pub = self._speech_pub = None

    def _wait_for_subscribers(self) -> None:
        publishers = [p for p in (self._image_pub, self._audio_pub) if p is not None]
        deadline = time.monotonic() + self.param("wait_for_subscribers")
        while self.running and time.monotonic() < deadline and any(p.get_subscription_count() == 0 for p in publishers):
            time.sleep(0.02)

    def work(self) -> None:
        self._wait_for_subscribers()
        rate = self.param("rate")
        origin = self.get_clock().now().nanoseconds * 1e-9 if self.param("stamp_origin") == "now" else 0.0
        wall_start = time.monotonic()
        offset = 0.0  # media time of the current pass (grows with each loop)
        try:
            while self.running:
                end = self._play_once(origin + offset, wall_start, offset, rate)
                if not self.param("loop") or end is None:
                    break
                offset += end
        except MediaError as exc:
            self.get_logger().error(str(exc))
        self.get_logger().info(
            f"finished {self.info.path}: {self.frames_published} frames, {self.chunks_published} audio chunks"
        )
        self.finished.set()

    def _play_once(self, stamp_base: float, wall_start: float, offset: float, rate: float) -> float | None:
        """One pass over the file; returns where its last frame or sample ends, None if stopped early."""
        end = 0.0
        frame_period = 1.0 / (self.info.fps or 30.0)
        items = read_media(
            self.param("path"),
            video=self._image_pub is not None,
            audio=self._audio_pub is not None,
            chunk=self.param("audio_chunk"),
        )
        delay = self.param("transcript_delay")
        said = [(u.t_end + delay, u.text) for u in self.utterances]  # (when the recogniser would publish, what)
        for item in items:
            if not self.running:
                return None
            if rate > 0:
                time.sleep(max(0.0, wall_start + (offset + item.stamp) / rate - time.monotonic()))
            while said and said[0][0] <= item.stamp:
                self._speech_pub.publish(String(data=said.pop(0)[1]))
            stamp = to_stamp(stamp_base + item.stamp)
            if isinstance(item, VideoFrame):
                end = max(end, item.stamp + frame_period)
                header = Header(stamp=stamp, frame_id=self.param("camera_frame_id"))
                self._image_pub.publish(rgb_to_image(item.rgb, self.param("image_encoding"), header))
                self.frames_published += 1
            else:
                end = max(end, item.stamp + item.duration)
                header = Header(stamp=stamp, frame_id=self.param("microphone_frame_id"))
                frame = pcm_to_audio_frame(item.samples, item.sample_rate, self.param("audio_encoding"), header)
                self._audio_pub.publish(frame)
                self.chunks_published += 1
        for _, text in said:  # said after the last frame: the recogniser still answers
            self._speech_pub.publish(String(data=text))
        return end


def main(args=None) -> int:
    return main_for(FileSourceNode, args)
