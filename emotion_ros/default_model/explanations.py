"""The default model's explanations: one or two sentences on the cues behind its estimate.

The `tiny` LLaMA head is trained to write these from the network's prefix alone; the text
depends only on the teacher's targets (affect.py), so what it says can be checked.
"""

from __future__ import annotations

import math

from emotion_ros.default_model.affect import LABELS, NEUTRAL_WORDS, Targets

CLEAR, MODERATE = 0.75, 0.45  # top probability for "a clear" / "a moderate" expression
SECOND = 0.2  # probability of the runner-up worth mentioning
SOME_FACE = 0.3  # face evidence below which no face is described
CALM, LIVELY = -0.2, 0.4  # vocal arousal thresholds
STRONG_WORDS = 0.6  # |sentiment| of "very" positive or negative words


def describe(probabilities: list[float], face: float, video: bool, audio: bool, speaking: bool,
             voice_arousal: float, words: float = math.nan) -> str:
    """The explanation for one window's cues (probabilities in LABELS order; words: the
    sentiment of what was said, NaN when nothing was)."""
    order = sorted(range(len(LABELS)), key=lambda i: -probabilities[i])
    top, second = order[0], order[1]
    if not video:
        seeing = "No video is available, so the face cannot be read."
    elif face < SOME_FACE:
        seeing = "No face is visible."
    else:
        strength = "a clear" if probabilities[top] >= CLEAR else "a moderate" if probabilities[top] >= MODERATE else "a faint"
        hint = f", with a hint of {LABELS[second]}" if probabilities[second] >= SECOND else ""
        seeing = f"The face shows {strength} {LABELS[top]} expression{hint}."
    if not audio:
        hearing = "There is no sound."
    elif not speaking:
        hearing = "The person is not speaking."
    else:
        manner = "softly" if voice_arousal < CALM else "energetically" if voice_arousal >= LIVELY else "with moderate energy"
        hearing = f"The person is speaking {manner}."
    return f"{seeing} {hearing}" + ("" if math.isnan(words) else f" {_words(words)}")


def _words(sentiment: float) -> str:
    if abs(sentiment) < NEUTRAL_WORDS:
        return "Their words sound neutral."
    tone = "positive" if sentiment > 0 else "negative"
    return f"Their words sound {'very ' if abs(sentiment) >= STRONG_WORDS else ''}{tone}."


def describe_batch(targets: Targets, video_present, audio_present) -> list[str]:
    return [
        describe(targets.probabilities[i].tolist(), float(targets.face[i]), bool(video_present[i]), bool(audio_present[i]),
                 bool(targets.speaking[i]), float(targets.voice_arousal[i]), float(targets.words[i]))
        for i in range(targets.probabilities.shape[0])
    ]
