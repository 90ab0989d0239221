"""What the runtime produces for one window."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

import numpy as np

from emotion_ros.model.voice_cues import SPEAKING_FRACTION


ID_SCHEMES = ("unique", "sequential")
SEQUENTIAL_PREFIX = "f"


def id_prefix(scheme: str, rng: random.Random | None = None) -> str:
    """What the person ids of one tracking run start with: "sequential": "f" (f1, f2, ... in
    every run: reproducible, for offline tools and tests); "unique": "f", four random letters
    and digits and "_" (fq3k9_1, ...), new for every run, so a REP-155 consumer that outlives
    the node (or its reconfiguration) never takes a new person for an old one."""
    if scheme not in ID_SCHEMES:
        raise ValueError(f"people.ids must be one of {', '.join(ID_SCHEMES)}, not {scheme!r}")
    if scheme == "sequential":
        return SEQUENTIAL_PREFIX
    rng = rng or random.SystemRandom()
    return SEQUENTIAL_PREFIX + "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(4)) + "_"


def person_id(track: int, prefix: str = SEQUENTIAL_PREFIX) -> str:
    """Track id -> the string id used in messages and in REP-155 topic names (which cannot
    start with a digit): 7 -> "f7" (with prefix id_prefix's); -1 (no track) -> ""."""
    return f"{prefix}{track}" if track >= 0 else ""


@dataclass(frozen=True)
class PersonEstimate:
    """One person in a window. index: 0 is the main person (see EmotionEstimator), then by face
    size; box (4,) x0, y0, x1, y1 [px] in the camera frame (in the newest frame that shows the
    face); seen: share of the window's frames that show the face; scores (L,), valence and arousal
    as in EmotionEstimate; track: the face's track id, stable while it is tracked and never reused
    in a run (-1 without tracking); tracked_for [s] at the window's end; detection: mean face
    detection probability; speaking_probability: the voice's when it is theirs (they are the only
    person in view), else 0; name: the face's id from another node's face pipeline (ROS4HRI), if
    faces come from one."""

    index: int
    box: np.ndarray
    seen: float
    scores: np.ndarray
    valence: float
    arousal: float
    track: int = -1
    tracked_for: float = 0.0
    detection: float = 0.0
    speaking_probability: float = 0.0
    name: str = ""

    @property
    def id(self) -> str:
        """The person's id in messages and topic names ("" without tracking)."""
        return self.name or person_id(self.track)

    @property
    def speaking(self) -> bool:
        return self.speaking_probability >= SPEAKING_FRACTION


@dataclass(frozen=True)
class EmotionEstimate:
    """The emotional state over [t_start, t_end] (sensor time, seconds).

    scores: (L,) float32 probabilities over ``labels`` (sum 1); valence and arousal in
    [-1, 1]; speaking_probability in [0, 1]; latency: wall seconds from the window's
    completion to this estimate. With a model that finds faces (reads_faces), the scores,
    valence and arousal are the main person's, ``people`` holds everyone (the main person
    first), and a window with nobody in it has no label (person_visible False, uniform scores).
    voice_attributed: whether the voice can be given to a person (nobody or one person in view;
    with several, the face keypoints this model has cannot tell whose mouth moves).
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
    image_size: tuple[int, int] | None = None  # (height, width) [px] of the camera frame, when video was present
    utterance: str = ""  # the words said during the window (Window.text), "" when none

    @property
    def text_present(self) -> bool:
        return bool(self.utterance)

    def person(self, person_id: str) -> PersonEstimate | None:
        """The person with this id in the window; "" is the main person (None when nobody)."""
        if not person_id:
            return self.people[0] if self.people else None
        return next((p for p in self.people if p.id == person_id), None)

    @property
    def voice_attributed(self) -> bool:
        return len(self.people) <= 1

    @property
    def person_id(self) -> str:
        """The main person's id ("" when nobody is visible or without tracking)."""
        return self.people[0].id if self.people else ""

    @property
    def speaker_id(self) -> str:
        """Who is speaking: the only person in view while the voice is active, else ""."""
        return self.people[0].id if self.speaking and len(self.people) == 1 else ""

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
        return self.speaking_probability >= SPEAKING_FRACTION


@dataclass(frozen=True)
class ExplanationContexts:
    """What the backend needs to explain a window: main: the main person's context (the window's
    with a model that does not find faces); by_person: person id -> that person's."""

    main: object
    by_person: dict[str, object]

    def of(self, person_id: str) -> object | None:
        """The context for ``person_id`` ("" is the main person); None for an unknown id."""
        return self.by_person.get(person_id) if person_id else self.main


@dataclass(frozen=True)
class Explanation:
    """Generated text about one window; label is what the text names (None if no label);
    person_id: who it is about ("" when nobody, or without tracking); replaced: the model's answer
    named another expression than the published label, so text is the published facts instead
    (runtime/faithful_answer.py)."""

    t_start: float
    t_end: float
    text: str
    label: str | None
    question: str
    tokens: int
    latency: float
    person_id: str = ""
    replaced: bool = False
