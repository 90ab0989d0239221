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

# Words that deny the label word right after them, up to NEGATION_REACH words on.
NEGATIONS = frozenset({"not", "no", "never", "nor", "neither", "without", "nothing", "none", "hardly", "cannot"})
NEGATION_REACH = 3

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


def negated(span: str, start: int) -> bool:
    """Whether the word at ``start`` of lower-case ``span`` is denied: a negation within the
    NEGATION_REACH words before it, in the same clause ("not sad", "no sign of fear", "isn't
    angry"; but "not happy but sad" affirms sad)."""
    clause = re.split(r"[.;:!?,()]|\bbut\b|\bhowever\b|\bthough\b", span[:start])[-1]
    return any(word in NEGATIONS or word.endswith("n't") for word in clause.split()[-NEGATION_REACH:])


def parse_label(text: str, labels: list[str] | tuple[str, ...]) -> str | None:
    """The label a free-text answer names, or None.

    An <answer>...</answer> span wins over the rest of the text; within the chosen text the
    earliest word that is a label or one of its synonyms and is not negated decides (so "happy,
    not sad" is happy, and so is "not sad: happy").
    """
    match = _ANSWER.search(text)
    span = (match.group(1) if match else text).lower().replace("\u2019", "'")
    best: tuple[int, str] | None = None
    for word, label in _forms(labels):
        for hit in re.finditer(rf"\b{re.escape(word)}\b", span):
            if best is not None and hit.start() >= best[0]:
                break
            if not negated(span, hit.start()):
                best = (hit.start(), label)
                break
    return best[1] if best else None
