"""Reading an emotion label back from generated text."""

from __future__ import annotations

import re

# Word forms and synonyms -> canonical label. A label set only uses the entries whose
# canonical label it contains (plus its own label words).
SYNONYMS = {
    "angry": ("anger", "angry", "mad", "furious", "irritated", "annoyed", "rage"),
    "disgust": ("disgust", "disgusted", "disgusting", "repulsed", "revulsion"),
    "fear": ("fear", "afraid", "scared", "frightened", "terrified", "fearful"),
    "happy": ("happy", "happiness", "joy", "joyful", "glad", "cheerful", "delighted", "smiling", "pleased"),
    "sad": ("sad", "sadness", "unhappy", "sorrow", "sorrowful", "depressed", "upset", "crying"),
    "surprise": ("surprise", "surprised", "astonished", "amazed", "shocked"),
    "neutral": ("neutral", "calm", "expressionless", "indifferent"),
    "worried": ("worried", "worry", "anxious", "anxiety", "nervous", "concerned"),
}

# A label set without a canonical label reads its words as this nearest one instead
# (basic-emotion sets have fear but not worried; MER sets have worried but not fear).
NEAREST = {"worried": "fear", "fear": "worried"}

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)


def _forms(labels: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    """(word form, label) pairs, longest forms first."""
    lowered = {label.lower(): label for label in labels}
    pairs = []
    for canonical, synonyms in SYNONYMS.items():
        target = lowered.get(canonical)
        if target is None:
            target = next((lowered[s] for s in synonyms if s in lowered), None)  # e.g. a set naming "joy"
        if target is None and NEAREST.get(canonical) in lowered:
            target = lowered[NEAREST[canonical]]
        if target is not None:
            pairs += [(word, target) for word in (canonical, *synonyms)]
    pairs += [(word, label) for word, label in lowered.items()]
    return sorted(pairs, key=lambda p: -len(p[0]))


def parse_label(text: str, labels: list[str] | tuple[str, ...]) -> str | None:
    """The label a free-text answer names, or None.

    An <answer>...</answer> span wins over the rest of the text; within the chosen text the
    earliest word that is a label or one of its synonyms decides (so "happy, not sad" is happy).
    """
    match = _ANSWER.search(text)
    span = (match.group(1) if match else text).lower()
    best: tuple[int, str] | None = None
    for word, label in _forms(labels):
        hit = re.search(rf"\b{re.escape(word)}\b", span)
        if hit and (best is None or hit.start() < best[0]):
            best = (hit.start(), label)
    return best[1] if best else None
