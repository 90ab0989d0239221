"""An explanation is published only when it agrees with the published state.

The language head writes free text, and a language model can name an expression the perception
did not publish. The expression an answer names (model/labels.py: parse_label, the first label
word or synonym that is not negated) must be the label published for that person in that
window, and with nobody in view it must name none. Otherwise the answer is replaced by a plain
factual sentence written from the state itself, and the replacement is reported (the node counts
it on /diagnostics), so a subscriber never receives a contradiction as if it agreed.
"""

from __future__ import annotations

import re

import numpy as np

from emotion_ros.model.labels import parse_label
from emotion_ros.runtime.estimate import EmotionEstimate, PersonEstimate

QUOTED = re.compile(r'"[^"]*"|\u201c[^\u201d]*\u201d')


def published_label(estimate: EmotionEstimate, person: PersonEstimate | None) -> str | None:
    """The label published for ``person`` (None: the window's main person), or None when the
    window shows nobody (emotion/state then has no label)."""
    if person is not None:
        return estimate.labels[int(np.argmax(person.scores))]
    return estimate.label if estimate.person_visible else None


def factual_sentence(estimate: EmotionEstimate, person: PersonEstimate | None) -> str:
    """One or two sentences of the published facts: the label and its probability, and the voice."""
    label = published_label(estimate, person)
    if label is None:
        seeing = "No face is visible." if estimate.video_present else "There is no video."
    else:
        probability = float(np.max(person.scores)) if person is not None else estimate.confidence
        seeing = f"The expression reads {label} (probability {probability:.2f})."
    if not estimate.audio_present:
        return f"{seeing} There is no sound."
    return f"{seeing} {'Someone is speaking.' if estimate.speaking else 'Nobody is speaking.'}"


def named_expression(text: str, labels: tuple[str, ...]) -> str | None:
    """The expression ``text`` names, outside quotations (quoted words are what was said: "I am
    so sad" is not a reading of the face)."""
    return parse_label(QUOTED.sub(" ", text), labels)


def faithful(text: str, estimate: EmotionEstimate, person: PersonEstimate | None) -> tuple[str, bool]:
    """(the text to publish, whether ``text`` was replaced): ``text`` when it names no expression
    or the published label, else factual_sentence."""
    named = named_expression(text, estimate.labels)
    if named is None or named == published_label(estimate, person):
        return text, False
    return factual_sentence(estimate, person), True
