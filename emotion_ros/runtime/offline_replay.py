"""Recorded sensor data in, every window's estimate out: the node's pipeline without DDS.

Live, the node perceives only the newest window (a slow machine drops the rest). Offline there
is no clock to keep up with: every window is cut, perceived and returned in order, whatever the
machine's speed, and the end of the input gets a final window (masked past the end, see
Window.tail). Runs on the same input give the same estimates on the same machine.
"""

from __future__ import annotations

import heapq
import itertools
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from emotion_ros.io.media import VideoFrame, probe, read_media
from emotion_ros.io.rosbag import TRANSCRIPT_TYPES, BagError, open_bag, read_messages, sensor_topics
from emotion_ros.runtime.backend import Backend
from emotion_ros.runtime.estimate import EmotionEstimate, Explanation, ExplanationContexts
from emotion_ros.runtime.estimator import EmotionEstimator
from emotion_ros.runtime.explainer import explain_person
from emotion_ros.runtime.media_transcription import media_words, words_json
from emotion_ros.window.config import WindowConfig, emotion_node_parameters, emotion_node_window
from emotion_ros.window.sensor_input import SensorInput
from emotion_ros.window.window import Window


# a window, its estimate, and what explaining it needs (per person)
Replayed = tuple[Window, EmotionEstimate, ExplanationContexts]
MEDIA_CHUNK = 0.05  # [s] audio per item read from a media file, as the file source publishes it


class OfflineReplay:
    """Feed messages (or decoded frames and audio) in recorded order; each call returns the
    windows it completed with their estimates (latency: the time perceiving took) and explanation
    contexts; finish() returns the rest."""

    def __init__(self, backend: Backend, config: WindowConfig | None = None, report: Callable[[str, str, str], None] | None = None):
        node = emotion_node_parameters()  # the node's shipped settings: replay what the robot ran
        self.config = config or emotion_node_window()
        self.estimator = EmotionEstimator(backend, detection_rate=node["faces"]["detection_rate"],
                                          track_timeout=node["people"]["track_timeout"],
                                          main_person=node["people"]["main_person"])
        self.input = SensorInput(self.config, report=report, frame_size=backend.frame_size, on_frame=self.estimator.prefill)
        self.transcript_delay = node["transcript_delay"]
        self.windows = 0
        self.audio_info = None  # audio_common_msgs/AudioInfo of an AudioDataStamped stream

    def feed(self, kind: str, item: Any) -> list[Replayed]:
        """kind: a bag message's ("image", "compressed", "audio_frame", "audio_common_stamped",
        "audio_common_data", "audio_info", and "transcript" or "live_speech" with the receive
        time: see io/rosbag.py), or a media file's ("frame": a VideoFrame, "pcm": a PcmChunk,
        "words": an Utterance of its transcript)."""
        inputs = self.input
        if kind == "audio_info":  # the format of the AudioDataStamped that follow
            self.audio_info = item
            return []
        if kind == "words":  # an Utterance of a media file's transcript
            return self._perceive(inputs.utterance(item))
        if kind in ("transcript", "live_speech"):  # (receive time [s], message) of a bag's speech topic
            received, msg = item
            read = inputs.transcript if kind == "transcript" else inputs.live_speech
            return self._perceive(read(msg, self.transcript_delay, received))
        feed: dict[str, Callable[[Any], list[Window]]] = {
            "image": inputs.image, "compressed": inputs.compressed_image, "audio_frame": inputs.audio,
            "audio_common_stamped": inputs.audio_common_stamped,
            "audio_common_data": lambda msg: inputs.audio_common_data(msg, self.audio_info),
            "frame": lambda frame: inputs.frame(frame.stamp, frame.rgb), "pcm": inputs.pcm}
        return self._perceive(feed[kind](item))

    def finish(self) -> list[Replayed]:
        """End of input: the remaining windows, the last one reaching past the end (masked)."""
        return self._perceive(self.input.flush(tail=True))

    def _perceive(self, windows: list[Window]) -> list[Replayed]:
        self.windows += len(windows)
        return [(window, *self.estimator.estimate(window, time.monotonic())) for window in windows]


def estimate_record(window: Window, estimate: EmotionEstimate) -> dict:
    """One window's estimate as a JSON line: times [s] (tail: the last window, reaching past the
    end of the input), the main person's label (None when nobody is in view), scores, valence,
    arousal, speaking, what was said (utterance: the words joined; words: each utterance with its
    times), every person, and how long perceiving took."""
    visible = estimate.person_visible
    return {
        "t_start": round(estimate.t_start, 6), "t_end": round(estimate.t_end, 6), "tail": window.tail,
        "label": estimate.label if visible else None, "confidence": round(estimate.confidence, 6) if visible else 0.0,
        "scores": {label: round(float(p), 6) for label, p in zip(estimate.labels, estimate.scores)},
        "valence": round(estimate.valence, 6), "arousal": round(estimate.arousal, 6),
        "speaking": estimate.speaking, "speaking_probability": round(estimate.speaking_probability, 6),
        "video_present": estimate.video_present, "audio_present": estimate.audio_present, "utterance": estimate.utterance,
        "words": words_json(list(window.words)),
        "person_id": estimate.person_id, "latency_ms": round(estimate.latency * 1000, 2),
        "people": [{"id": p.id, "label": estimate.labels[int(np.argmax(p.scores))], "confidence": round(float(np.max(p.scores)), 6),
                    "box": [round(float(v), 1) for v in p.box]} for p in estimate.people],
    }


def recorded_items(path: str | Path, image_topic: str | None = None, audio_topic: str | None = None,
                   speech_topic: str | None = None, transcribe: bool = True) -> tuple[int, Iterator]:
    """(how many items, the items in recorded order) of a rosbag2 bag (a directory) or a media
    file, each a (kind, payload) OfflineReplay.feed takes. A media file's words: its transcript
    beside it, else (``transcribe``) its audio transcribed (media_transcription.py)."""
    path = Path(path)
    if path.is_dir():
        chosen = sensor_topics(path, image_topic, audio_topic, speech_topic).kinds()
        with open_bag(path) as reader:
            count = sum(c.msgcount for c in reader.connections if c.topic in chosen)
        return count, _bag_items(path, chosen)
    if image_topic or audio_topic or speech_topic:
        raise BagError(f"{path} is a media file, not a bag: it has no topics to choose")
    info = probe(str(path))
    said = media_words(path, transcribe=transcribe) or []
    count = round(info.duration * (info.fps or 0)) + round(info.duration / MEDIA_CHUNK) * info.has_audio + len(said)
    media = ((item.stamp, "frame" if isinstance(item, VideoFrame) else "pcm", item)
             for item in read_media(str(path), chunk=MEDIA_CHUNK))
    # each utterance goes in when it ends (a recogniser's result, without its delay)
    words = ((u.t_end, "words", u) for u in said)
    return count, ((kind, item) for _, kind, item in heapq.merge(media, words, key=lambda entry: entry[0]))


def _bag_items(path: Path, chosen: dict[str, str]) -> Iterator[tuple[str, Any]]:
    """(kind, message) of the chosen topics in recorded order; an AudioInfo topic's first message
    comes first, so audio recorded before it (a latched topic can arrive late) is not lost."""
    info = next((topic for topic, kind in chosen.items() if kind == "audio_info"), None)
    if info is not None:
        yield from (("audio_info", msg) for _, _, msg in itertools.islice(read_messages(path, [info]), 1))
    for topic, received, msg in read_messages(path, list(chosen)):
        kind = chosen[topic]
        yield kind, ((received / 1e9, msg) if kind in TRANSCRIPT_TYPES.values() else msg)


class PeriodicExplainer:
    """Explains the main person of a window every 1 / rate seconds of recorded time (rate 0:
    never), as the node does every 1 / explanation.rate seconds of wall time."""

    def __init__(self, backend: Backend, rate: float, max_new_tokens: int):
        self.backend, self.rate, self.max_new_tokens = backend, rate, max_new_tokens
        self._until = float("-inf")

    def __call__(self, estimate: EmotionEstimate, contexts: ExplanationContexts) -> Explanation | None:
        if self.rate <= 0 or not self.backend.can_explain or estimate.t_end < self._until + 1.0 / self.rate:
            return None
        self._until = estimate.t_end
        return explain_person(self.backend, estimate, contexts.main, estimate.person_id, "", self.max_new_tokens)
