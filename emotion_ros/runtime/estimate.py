"""What the runtime produces for one window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PersonEstimate:
    """One person in a window. index: 0 is the main person (the largest face), then by size;
    box (4,) x0, y0, x1, y1 [px] in the camera frame; seen: share of the window's frames that
    show the face; scores (L,), valence and arousal as in EmotionEstimate."""

    index: int
    box: np.ndarray
    seen: float
    scores: np.ndarray
    valence: float
    arousal: float


@dataclass(frozen=True)
class EmotionEstimate:
    """The emotional state over [t_start, t_end] (sensor time, seconds).

    scores: (L,) float32 probabilities over ``labels`` (sum 1); valence and arousal in
    [-1, 1]; speaking_probability in [0, 1]; latency: wall seconds from the window's
    completion to this estimate. With a model that finds faces (reads_faces), the scores,
    valence and arousal are the main person's, ``people`` holds everyone, and a window with
    nobody in it has no label (person_visible False, uniform scores).
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
    reads_faces: bool = False
    people: tuple[PersonEstimate, ...] = ()

    @property
    def person_visible(self) -> bool:
        return bool(self.people) if self.reads_faces else self.video_present

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
