"""Sensor messages in, windows out: validation, conversion, resampling and the assembler.

Plain Python (no rclpy), so every rule a node applies to its input is testable directly.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Callable

import cv2
import numpy as np

from emotion_ros.io.audio import MonoResampler, PcmChunk, audio_frame_to_pcm
from emotion_ros.io.audio_common import audio_data_to_pcm, audio_stamped_to_pcm
from emotion_ros.io.errors import InvalidInput
from emotion_ros.io.image import compressed_to_rgb, image_to_rgb
from emotion_ros.io.letterbox import letterbox
from emotion_ros.io.stamps import checked_seconds
from emotion_ros.io.transcript import Utterance, live_speech_to_utterance, string_to_utterance
from emotion_ros.window.assembler import WindowAssembler
from emotion_ros.window.config import WindowConfig
from emotion_ros.window.utterances import UtteranceBuffer
from emotion_ros.window.window import Window

# report(source, kind, message): source is a topic name or "window".
ReportFn = Callable[[str, str, str], None]


class SensorInput:
    """Feeds camera and microphone messages into one WindowAssembler.

    Every rejected message is counted in ``rejected[(topic, kind)]`` and reported; it never
    raises and never reaches the window. Audio from each topic goes through its own
    MonoResampler, so any supported rate and channel count arrives at the window's rate.
    """

    def __init__(self, config: WindowConfig, report: ReportFn | None = None, frame_size: int | None = None,
                 on_frame: Callable[[float, np.ndarray, int], None] | None = None):
        """frame_size: letterbox frames into frame_size x frame_size on arrival (aspect ratio
        kept, io/letterbox.py), e.g. the largest input of the model: the windows then hold
        small frames, and each window records the camera's frame size (source_size).
        on_frame(stamp, rgb, timeline): told of every frame the window buffers keep (at most
        window.max_frame_rate per second), as windows will hold it: to encode it before its
        window is complete (timeline: see Window.timeline)."""
        self.config = config
        self.frame_size = frame_size
        self.source_size: tuple[int, int] | None = None
        self._on_frame = on_frame
        self._report = report or (lambda source, kind, message: None)
        self.assembler = WindowAssembler(config, warn=lambda kind, message: self._report("window", kind, message))
        self.rejected: Counter[tuple[str, str]] = Counter()
        self.accepted: Counter[str] = Counter()  # messages decoded
        self.used: Counter[str] = Counter()  # ... whose data the window buffers took (not too old, not a duplicate)
        self._resamplers: dict[str, MonoResampler] = {}
        # words stay attachable for a window past their end, plus the recogniser's lag
        self.utterances = UtteranceBuffer(horizon=2 * config.duration + 10.0)
        self._words_timeline = 0

    def _reject(self, topic: str, error: Exception) -> list[Window]:
        kind = error.kind if isinstance(error, InvalidInput) else "error"
        self.rejected[(topic, kind)] += 1
        self._report(topic, kind, f"rejected a message: {error}")
        return []

    def image(self, msg, topic: str = "image") -> list[Window]:
        """sensor_msgs/Image in any supported encoding."""
        try:
            stamp = checked_seconds(msg.header.stamp)
            rgb = image_to_rgb(msg)
        except (InvalidInput, ValueError, cv2.error) as error:
            return self._reject(topic, error)
        return self.frame(stamp, rgb, topic)

    def compressed_image(self, msg, topic: str = "image/compressed") -> list[Window]:
        """sensor_msgs/CompressedImage (jpeg or png)."""
        try:
            stamp = checked_seconds(msg.header.stamp)
            rgb = compressed_to_rgb(msg)
        except (InvalidInput, ValueError, cv2.error) as error:
            return self._reject(topic, error)
        return self.frame(stamp, rgb, topic)

    def frame(self, stamp: float, rgb: np.ndarray, topic: str = "image") -> list[Window]:
        """rgb: (H, W, 3) uint8 captured at ``stamp`` [s]."""
        self.accepted[topic] += 1
        if self.frame_size:
            self.source_size = (int(rgb.shape[0]), int(rgb.shape[1]))
            rgb = letterbox(rgb, self.frame_size)
        windows = self._finished(self.assembler.add_frame(stamp, rgb))
        if self.assembler.last_admitted:
            self.used[topic] += 1
        if self._on_frame is not None and self.assembler.last_frame_kept:
            self._on_frame(stamp, rgb, self.assembler.timeline)
        return windows

    def _finished(self, windows: list[Window]) -> list[Window]:
        """The windows, with the words said during them and the camera's frame size when frames
        are letterboxed."""
        if self.assembler.timeline != self._words_timeline:  # sensor time jumped back: old words are void
            self.utterances.clear()
            self._words_timeline = self.assembler.timeline
        return [replace(window, words=self.utterances.during(window.t_start, window.t_end),
                        source_size=self.source_size or window.source_size) for window in windows]

    def transcript(self, msg, delay: float, now: float, topic: str = "speech") -> list[Window]:
        """std_msgs/String from a speech recogniser, ``delay`` [s] after the speech ended
        (io/transcript.py). It has no stamp: it arrived at the newest sensor stamp (``now``, the
        node's clock, before any sensor message), so bags and simulations line up too. Words
        never complete a window."""
        return self._words(topic, lambda: string_to_utterance(msg, self._sensor_now(now), delay))

    def live_speech(self, msg, delay: float, now: float, topic: str = "speech") -> list[Window]:
        """hri_msgs/LiveSpeech (ROS4HRI), incremental or final: its stamp, else as transcript()."""
        return self._words(topic, lambda: live_speech_to_utterance(msg, self._sensor_now(now), delay))

    def utterance(self, said: Utterance, topic: str = "speech") -> list[Window]:
        """Words already on sensor time (a transcript file)."""
        return self._words(topic, lambda: said)

    def _sensor_now(self, now: float) -> float:
        return self.assembler.clock if self.assembler.clock is not None else now

    def _words(self, topic: str, convert: Callable[[], Utterance | None]) -> list[Window]:
        try:
            said = convert()
        except (InvalidInput, ValueError) as error:
            return self._reject(topic, error)
        self.accepted[topic] += 1
        if said is not None:
            self.utterances.add(said)
            self.used[topic] += 1
        return []

    def audio(self, msg, topic: str = "audio") -> list[Window]:
        """emotion_msgs/AudioFrame."""
        return self._decoded(topic, msg, lambda: audio_frame_to_pcm(msg))

    def audio_common_stamped(self, msg, topic: str = "audio") -> list[Window]:
        """audio_common_msgs/AudioStamped (mgonzs13 layout)."""
        return self._decoded(topic, msg, lambda: audio_stamped_to_pcm(msg))

    def audio_common_data(self, msg, info, topic: str = "audio") -> list[Window]:
        """audio_common_msgs/AudioDataStamped with the stream's AudioInfo (ros-drivers layout)."""
        return self._decoded(topic, msg, lambda: audio_data_to_pcm(msg, info))

    def _decoded(self, topic: str, msg, decode: Callable[[], PcmChunk]) -> list[Window]:
        try:
            if hasattr(msg, "header"):
                checked_seconds(msg.header.stamp)
            chunk = decode()
        except (InvalidInput, ValueError) as error:
            return self._reject(topic, error)
        return self.pcm(chunk, topic)

    def pcm(self, chunk: PcmChunk, topic: str = "audio") -> list[Window]:
        """Decoded audio (e.g. from the audio_common adapters), any supported rate and channels."""
        resampler = self._resamplers.get(topic)
        if resampler is None:
            resampler = self._resamplers[topic] = MonoResampler(self.config.sample_rate)
        self.accepted[topic] += 1
        changes = resampler.sample_rate_changes
        windows, admitted = [], False
        for mono in resampler.push(chunk):
            windows += self.assembler.add_audio(mono.stamp, mono.samples)
            admitted = admitted or self.assembler.last_admitted
        if admitted:
            self.used[topic] += 1
        if resampler.sample_rate_changes != changes:
            self._report(topic, "sample_rate", f"audio sample rate changed to {chunk.sample_rate} Hz")
        return self._finished(windows)

    def flush(self, partial: bool = False, tail: bool = False) -> list[Window]:
        """End of input: drain the resamplers, then emit every window sensor time has reached
        (partial, tail: see WindowAssembler.flush)."""
        windows = []
        for resampler in self._resamplers.values():
            for mono in resampler.finish():
                windows += self.assembler.add_audio(mono.stamp, mono.samples)
        return self._finished(windows + self.assembler.flush(partial, tail))

    def close(self) -> None:
        """Free the resamplers' native state now rather than at interpreter exit."""
        self._resamplers.clear()

    def counters(self) -> dict[str, int]:
        """Assembler counters plus rejected-message totals, for diagnostics."""
        values = self.assembler.counters.as_dict()
        values["rejected"] = sum(self.rejected.values())
        values["sample_rate_changes"] = sum(r.sample_rate_changes for r in self._resamplers.values())
        values["audio_discontinuities"] = sum(r.discontinuities for r in self._resamplers.values())
        return values
