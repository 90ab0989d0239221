"""Emotion of a person in an image or a media file, with the same pipeline the node runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emotion_ros.io.audio import MonoResampler
from emotion_ros.io.media import MediaError, read_audio
from emotion_ros.runtime.backend import Backend
from emotion_ros.runtime.estimator import EmotionEstimator
from emotion_ros.window.config import WindowConfig
from emotion_ros.window.media_windows import media_windows
from emotion_ros.window.window import Window


@dataclass
class FilePrediction:
    """label, scores (label -> probability), valence and arousal in [-1, 1], explanation text;
    windows: how many windows were averaged (1 for an image)."""

    label: str
    scores: dict[str, float]
    valence: float
    arousal: float
    explanation: str
    windows: int

    def as_json(self) -> dict:
        return {"label": self.label, "scores": self.scores, "valence": self.valence, "arousal": self.arousal,
                "explanation": self.explanation, "windows": self.windows}


def _read_image(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise MediaError(f"cannot read an image from {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _audio_track(path: Path, rate: int) -> np.ndarray:
    """A media file's first audio track as mono float32 at ``rate``."""
    resampler, parts = MonoResampler(rate), []
    for chunk in read_audio(str(path), chunk=0.1):
        parts += [c.samples for c in resampler.push(chunk)]
    parts += [c.samples for c in resampler.finish()]
    if not parts:
        raise MediaError(f"{path} has no audio track")
    return np.concatenate(parts)


def image_window(rgb: np.ndarray, backend: Backend, audio: np.ndarray | None = None) -> Window:
    """A window in which the camera saw ``rgb`` the whole time (and, if given, heard the last
    window-length of ``audio``; else the audio is masked as missing)."""
    size = backend.frame_size
    frame = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
    samples = round(backend.window * backend.sample_rate)
    sound = np.zeros(samples, np.float32)
    if audio is not None:
        tail = audio[-samples:]
        sound[samples - tail.size:] = tail
    t = backend.num_frames
    return Window(
        index=0, t_start=0.0, t_end=backend.window, frames=np.repeat(frame[None], t, axis=0),
        frame_stamps=np.linspace(0.0, backend.window, t, endpoint=False) + backend.window / t / 2,
        frame_mask=np.ones(t, bool), audio=sound, audio_mask=np.full(samples, audio is not None),
        sample_rate=backend.sample_rate, video_present=True, audio_present=audio is not None,
    )


def predict_file(backend: Backend, image: Path | None = None, video: Path | None = None, audio: Path | None = None,
                 explain: bool = True, max_new_tokens: int = 48) -> FilePrediction:
    """Estimate the emotion in an image (optionally with an audio file) or a media file.

    A media file is cut into windows like a live stream; scores, valence and arousal are
    averaged over them, and the window that shows the averaged label most clearly is explained
    (so the explanation is about the label reported, not about an outlier window).
    """
    estimator = EmotionEstimator(backend)
    results = []
    if image is not None:
        sound = _audio_track(audio, backend.sample_rate) if audio is not None else None
        results.append(estimator.estimate(image_window(_read_image(image), backend, sound)))
    else:
        config = WindowConfig(duration=backend.window, num_frames=backend.num_frames, sample_rate=backend.sample_rate)
        windows = media_windows(video, config, backend.frame_size, audio)
        if not windows:
            raise MediaError(f"{video} is shorter than one {backend.window:g} s window")
        results = [estimator.estimate(window) for window in windows]
    scores = np.mean([estimate.scores for estimate, _ in results], axis=0)
    top = int(np.argmax(scores))
    _, best_context = max(results, key=lambda pair: pair[0].scores[top])
    text = backend.explain(best_context, "", max_new_tokens).text if explain and backend.can_explain else ""
    return FilePrediction(
        label=backend.labels[top],
        scores={label: round(float(p), 4) for label, p in zip(backend.labels, scores)},
        valence=round(float(np.mean([e.valence for e, _ in results])), 4),
        arousal=round(float(np.mean([e.arousal for e, _ in results])), 4),
        explanation=text,
        windows=len(results),
    )
