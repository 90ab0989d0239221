"""The words' cues: what the default model's text view reads of what a person said.

VADER (vaderSentiment, MIT: a human-rated lexicon of ~7,500 words and emoticons with rules for
negation, intensifiers, "but" and punctuation) gives the sentiment of the words; punctuation and
length add how they were said. Computed outside the exported graphs, like a tokenizer: the
vector is the window graph's `text` input. Recognisers without punctuation leave those cues 0.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# cue order of the text view's vector
TEXT_CUES = ("present", "compound", "positive", "negative", "neutral", "exclamation", "question", "length")
TEXT_DIM = len(TEXT_CUES)
FULL_LENGTH = 20  # words that count as a long utterance (length cue 1)


@lru_cache(maxsize=1)
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=256)  # a window's words repeat over the windows that overlap them
def _cues(text: str) -> tuple[float, ...]:
    scores = _analyzer().polarity_scores(text)
    return (1.0, scores["compound"], scores["pos"], scores["neg"], scores["neu"], float("!" in text),
            float("?" in text), min(1.0, len(text.split()) / FULL_LENGTH))


def text_cues(text: str) -> np.ndarray:
    """What was said ("" for nothing) -> (TEXT_DIM,) float32 in TEXT_CUES order; all zeros
    (present 0) without words."""
    text = " ".join(text.split())
    return np.asarray(_cues(text) if text else (0.0,) * TEXT_DIM, dtype=np.float32)


def sentiment(cues: np.ndarray) -> float:
    """VADER's compound score in [-1, 1] of a (..., TEXT_DIM) cue vector (0 without words)."""
    return cues[..., TEXT_CUES.index("compound")] * cues[..., TEXT_CUES.index("present")]
