"""An explanation is published only when it agrees with the published state.

The language head writes free text, and a language model can name an expression the perception
did not publish, or hear a voice the state does not. The expression an answer names
(model/labels.py: parse_label, the first label word or synonym that is not negated) must be the
label published for that person in that window, and with nobody in view it must name none; what
it says of the voice (voice_stated), if anything, must be the state's ("speaking", "not
speaking" or "no sound"). Otherwise the answer is replaced by a plain factual sentence written
from the state itself, and the replacement is reported (the node counts it on /diagnostics), so
a subscriber never receives a contradiction as if it agreed. Quoted words are what was said,
not a reading, and are not checked.
"""

from __future__ import annotations

import re

import numpy as np

from emotion_ros.model.chat_prompt import voice_state
from emotion_ros.model.labels import parse_label
from emotion_ros.runtime.estimate import EmotionEstimate, PersonEstimate

QUOTED = re.compile(r'"[^"]*"|\u201c[^\u201d]*\u201d')
# What an answer can say of the voice, as chat_prompt.voice_state names it (first match wins).
VOICE = (("no sound", re.compile(r"\b(no sound|hear nothing)\b", re.I)),
         ("not speaking", re.compile(r"\b(not speaking|not talking|nobody is talking|no one speaks)\b", re.I)),
         ("speaking", re.compile(r"\b(is speaking|are speaking|is talking|are talking|voice: speaking|; speaking)\b", re.I)))


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


def voice_stated(text: str) -> str | None:
    """What ``text`` says of the voice outside quotations (a VOICE name), None when nothing."""
    unquoted = QUOTED.sub(" ", text)
    return next((name for name, pattern in VOICE if pattern.search(unquoted)), None)


def faithful(text: str, estimate: EmotionEstimate, person: PersonEstimate | None) -> tuple[str, bool]:
    """(the text to publish, whether ``text`` was replaced): ``text`` when it names no expression
    or the published label, and says nothing of the voice or what the state says; else
    factual_sentence."""
    named = named_expression(text, estimate.labels)
    voice = voice_stated(text)
    if (named is None or named == published_label(estimate, person)) and (
            voice is None or voice == voice_state(estimate.audio_present, estimate.speaking)):
        return text, False
    return factual_sentence(estimate, person), True
