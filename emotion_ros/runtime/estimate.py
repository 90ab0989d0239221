"""What the runtime produces for one window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EmotionEstimate:
    """The emotional state over [t_start, t_end] (sensor time, seconds).

    scores: (L,) float32 probabilities over ``labels`` (sum 1); valence and arousal in
    [-1, 1]; speaking_probability in [0, 1]; latency: wall seconds from the window's
    completion to this estimate.
    """

    t_start: float
    t_end: float
    labels: tuple[str, ...]
    scores: np.ndarray
    valence: float
    arousal: float
    speaking_probability: float
    video_present: bool
    audio_present: bool
    latency: float = 0.0

    @property
    def label(self) -> str:
        return self.labels[int(np.argmax(self.scores))]

    @property
    def confidence(self) -> float:
        return float(np.max(self.scores))

    @property
    def speaking(self) -> bool:
        return self.speaking_probability >= 0.5


@dataclass(frozen=True)
class Explanation:
    """Generated text about one window; label is what the text names (None if no label)."""

    t_start: float
    t_end: float
    text: str
    label: str | None
    question: str
    tokens: int
    latency: float
