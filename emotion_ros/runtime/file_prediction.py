"""Emotion of a person in an image or a media file, with the same pipeline the node runs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from emotion_ros.io.audio import MonoResampler
from emotion_ros.io.media import MediaError, read_audio
from emotion_ros.io.transcript import Utterance
from emotion_ros.runtime.backend import Backend
from emotion_ros.io.letterbox import letterbox
from emotion_ros.runtime.estimate import EmotionEstimate, ExplanationContexts, PersonEstimate
from emotion_ros.runtime.estimator import EmotionEstimator
from emotion_ros.runtime.explainer import explain_person
from emotion_ros.runtime.media_transcription import words_json
from emotion_ros.window.config import WindowConfig
from emotion_ros.window.media_windows import iter_media_windows
from emotion_ros.window.window import Window


def _rounded(value: float) -> float:
    return round(float(value), 4)


def _scores(labels: tuple[str, ...], scores: np.ndarray) -> dict[str, float]:
    return {label: _rounded(p) for label, p in zip(labels, scores)}


@dataclass
class FilePrediction:
    """label and confidence: the main person's (the largest face), None and 0 when nobody is
    visible; scores (label -> probability), valence and arousal in [-1, 1], averaged over the
    windows that show someone; explanation text (about the main person of the window it
    explains); windows: how many windows were read (1 for an image); people: everyone tracked
    (see _people_json), the explained window's main person first; timeline: per window of a
    video, with each person's id and label; words: the transcript's utterances, media time
    (media_transcription.words_json)."""

    label: str | None
    confidence: float
    scores: dict[str, float]
    valence: float
    arousal: float
    explanation: str
    windows: int
    people: list[dict] = field(default_factory=list)
    timeline: list[dict] | None = None
    words: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        result = {"label": self.label, "confidence": self.confidence, "scores": self.scores, "valence": self.valence,
                  "arousal": self.arousal, "explanation": self.explanation, "windows": self.windows,
                  "people": self.people, "words": self.words}
        if self.timeline is not None:
            result["timeline"] = self.timeline
        return result


def _people_json(results: list[EmotionEstimate], labels: tuple[str, ...], main_id: str) -> list[dict]:
    """Every tracked person over the windows: id (as in emotion/people), their label, confidence,
    scores, valence and arousal averaged over the windows they are in, how many windows that is,
    first and last [s] (window ends), and box [x0, y0, x1, y1] in image pixels in the last one."""
    windows: dict[str, list[tuple[EmotionEstimate, PersonEstimate]]] = {}
    for estimate in results:
        for person in estimate.people:
            windows.setdefault(person.id, []).append((estimate, person))
    people = []
    for person_id, seen in windows.items():
        scores = np.mean([person.scores for _, person in seen], axis=0)
        top = int(np.argmax(scores))
        people.append({"id": person_id, "label": labels[top], "confidence": _rounded(scores[top]),
                       "scores": _scores(labels, scores),
                       "valence": _rounded(np.mean([person.valence for _, person in seen])),
                       "arousal": _rounded(np.mean([person.arousal for _, person in seen])),
                       "windows": len(seen), "first": round(seen[0][0].t_end, 3), "last": round(seen[-1][0].t_end, 3),
                       "box": [round(float(v), 1) for v in seen[-1][1].box]})
    return sorted(people, key=lambda p: (p["id"] != main_id, -p["windows"]))


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
    frame = letterbox(rgb, backend.frame_size)
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
        source_size=(int(rgb.shape[0]), int(rgb.shape[1])),
    )


def _said(subtitle: str, transcript: list[Utterance] | None, window: Window) -> tuple[Utterance, ...]:
    """The words of ``window``: the subtitle, else the transcript's utterances that overlap it."""
    if subtitle.strip():
        return (Utterance(" ".join(subtitle.split()), window.t_start, window.t_end),)
    return tuple(u for u in transcript or () if u.t_end >= window.t_start and u.t_start <= window.t_end)


def predict_file(backend: Backend, image: Path | None = None, video: Path | None = None, audio: Path | None = None,
                 explain: bool = True, max_new_tokens: int = 48, subtitle: str = "",
                 transcript: list[Utterance] | None = None, question: str = "") -> FilePrediction:
    """Estimate the emotion in an image (optionally with an audio file) or a media file.

    What the person says: ``subtitle`` (throughout), or for a media file the utterances of its
    ``transcript`` (media time), each in the windows it overlaps. ``question``: asked about the
    explained window instead of the model's own explanation ("" for that).

    A media file is cut into windows like a live stream; scores, valence and arousal are
    averaged over the windows that show someone (all windows for a model that does not find
    faces), and the window that shows the averaged label most clearly is explained (so the
    explanation is about the label reported, not about an outlier window).
    """
    estimator = EmotionEstimator(backend)
    results: list[tuple[EmotionEstimate, ExplanationContexts]] = []
    if image is not None:
        sound = _audio_track(audio, backend.sample_rate) if audio is not None else None
        window = image_window(_read_image(image), backend, sound)
        # the window heard the audio's last window-length: its words, moved onto window time
        offset = sound.size / backend.sample_rate - backend.window if sound is not None else 0.0
        moved = [replace(u, t_start=u.t_start - offset, t_end=u.t_end - offset) for u in transcript or ()]
        results.append(estimator.estimate(replace(window, words=_said(subtitle, moved, window))))
    else:
        config = WindowConfig(duration=backend.window, num_frames=backend.num_frames, sample_rate=backend.sample_rate)
        # Every frame is encoded as it is read (faces found at the node's rate and followed in
        # between), and each window as soon as it is cut, while its frames are still cached.
        windows = iter_media_windows(video, config, backend.frame_size, audio, on_frame=estimator.prefill)
        results = [estimator.estimate(replace(window, words=_said(subtitle, transcript, window))) for window in windows]
        if not results:
            raise MediaError(f"{video} is shorter than one {backend.window:g} s window")
    visible = [pair for pair in results if pair[0].person_visible]
    averaged = visible or results
    scores = np.mean([estimate.scores for estimate, _ in averaged], axis=0)
    top = int(np.argmax(scores))
    best, best_context = max(averaged, key=lambda pair: pair[0].scores[top])
    text = ""
    if explain and backend.can_explain:
        text = explain_person(backend, best, best_context.main, "", question, max_new_tokens).text
    timeline = None
    if video is not None:
        timeline = [{"t": round(e.t_end, 3), "label": e.label if e.person_visible else None,
                     "confidence": _rounded(e.confidence) if e.person_visible else 0.0, "valence": _rounded(e.valence),
                     "person_id": e.person_id,
                     "people": [{"id": p.id, "label": backend.labels[int(np.argmax(p.scores))],
                                 "confidence": _rounded(np.max(p.scores))} for p in e.people]} for e, _ in results]
    return FilePrediction(
        label=backend.labels[top] if visible else None,
        confidence=_rounded(scores[top]) if visible else 0.0,
        scores=_scores(backend.labels, scores),
        valence=_rounded(np.mean([e.valence for e, _ in averaged])),
        arousal=_rounded(np.mean([e.arousal for e, _ in averaged])),
        explanation=text,
        windows=len(results),
        people=_people_json([e for e, _ in results], backend.labels, best.person_id),
        timeline=timeline,
        words=words_json(transcript),
    )
