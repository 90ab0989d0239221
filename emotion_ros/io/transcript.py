"""Speech-recogniser output -> utterances on sensor time.

A recogniser publishes what a person said after they said it: a ``std_msgs/String`` (no stamp:
the utterance ended ``delay`` seconds before it arrived) or ROS4HRI's ``hri_msgs/LiveSpeech``
(``header``, ``incremental``, ``final``, ``confidence``: the stamp is used when set, else the
arrival time minus ``delay``). Neither says when the speech began, so an utterance is taken to
span SECONDS_PER_WORD per word before its end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from emotion_ros.io.errors import InvalidInput
from emotion_ros.io.stamps import checked_seconds

SECONDS_PER_WORD = 0.35  # ~170 words per minute, conversational English
MIN_SECONDS = 0.5  # a one-word utterance still takes this long
MAX_CHARACTERS = 2000  # longer is not one utterance (a recogniser fault, or a document)


@dataclass(frozen=True)
class Utterance:
    """Words one person said over [t_start, t_end] seconds of sensor time.

    final: False for an incremental hypothesis, which the next one from the same voice replaces;
    confidence: the recogniser's, in [0, 1] (NaN: not given); voice: the recogniser's speaker
    id ("" when it has none)."""

    text: str
    t_start: float
    t_end: float
    final: bool = True
    confidence: float = math.nan
    voice: str = ""


def utterance(text: str, t_end: float, final: bool = True, confidence: float = math.nan, voice: str = "") -> Utterance | None:
    """An Utterance ending at ``t_end`` [s], or None for empty text; InvalidInput for text that
    cannot be one utterance."""
    text = " ".join(str(text).split())
    if not text:
        return None
    if len(text) > MAX_CHARACTERS:
        raise InvalidInput("size", f"a transcript of {len(text)} characters is not one utterance (limit {MAX_CHARACTERS})")
    if not math.isnan(confidence) and not 0.0 <= confidence <= 1.0:
        raise InvalidInput("confidence", f"recogniser confidence {confidence} is outside [0, 1]")
    duration = max(MIN_SECONDS, SECONDS_PER_WORD * len(text.split()))
    return Utterance(text, max(0.0, t_end - duration), t_end, final, confidence, voice)


def string_to_utterance(msg, arrival: float, delay: float) -> Utterance | None:
    """std_msgs/String received at ``arrival`` [s], ``delay`` [s] after the speech ended."""
    return utterance(msg.data, max(0.0, arrival - delay))


def live_speech_to_utterance(msg, arrival: float, delay: float, voice: str = "") -> Utterance | None:
    """hri_msgs/LiveSpeech: its final text when set, else its incremental hypothesis."""
    stamp = checked_seconds(msg.header.stamp)
    t_end = stamp if stamp > 0 else max(0.0, arrival - delay)
    final = bool(msg.final.strip())
    confidence = float(msg.confidence) if final else math.nan
    return utterance(msg.final if final else msg.incremental, t_end, final, confidence, voice)
