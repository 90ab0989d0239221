"""Words for the default model's training windows: generated sentences and their text cues.

The text view reads only the cues of the words (model/text_cues.py), so training needs sentences
whose cues cover what people say: templates filled with words from VADER's own lexicon, at every
sentiment strength, with negation, intensifiers, "but", exclamations and questions. HELD_OUT holds
hand-written sentences for evaluation only: no template makes them.
"""

from __future__ import annotations

import numpy as np
import torch

from emotion_ros.model.text_cues import text_cues

TEMPLATES = (
    "I feel {w}.", "That is so {w}!", "This is {w}.", "It was really {w}, wasn't it?", "I am not {w}.",
    "What a {w} day.", "You are {w}.", "Honestly, it looks {w} to me.", "It is {w}, but I can live with it.",
    "Why is everything so {w}?", "We were {w} yesterday.", "That sounds {w}.", "It is not {w} at all.",
    "The whole thing was extremely {w}!", "Well, that was {w} and {v}.", "Is it {w} or {v}?",
    "They said it was {w}.", "Nothing about this is {w}.", "I think it will be {w}.", "So {w}, so {v}!",
)


def word_corpus(count: int, rng: np.random.Generator) -> list[str]:
    """``count`` sentences: templates filled with random words of VADER's lexicon."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    lexicon = sorted(word for word in SentimentIntensityAnalyzer().lexicon if word.isalpha() and len(word) > 2)
    sentences = []
    for _ in range(count):
        template = TEMPLATES[rng.integers(len(TEMPLATES))]
        w, v = (lexicon[i] for i in rng.integers(0, len(lexicon), 2))
        sentences.append(template.format(w=w, v=v))
    return sentences


def cue_table(sentences: list[str]) -> torch.Tensor:
    """(len(sentences) + 1, TEXT_DIM) text cues; the last row (index -1) is "nothing said"."""
    return torch.from_numpy(np.stack([text_cues(s) for s in sentences] + [text_cues("")]))


# Hand-written, for evaluation only (build report, tests): clear, mild and neutral, both signs.
HELD_OUT = (
    "This is the worst day of my life.",
    "I can't believe it, this is wonderful news!",
    "I'm fine, thanks for asking.",
    "Please stop, you are really annoying me.",
    "We won the championship last night!",
    "My dog died this morning and I miss him terribly.",
    "The package arrived on Tuesday.",
    "I am so grateful for everything you did for me.",
    "Nobody listens to me, it is hopeless.",
    "Could you pass me the salt?",
    "What a lovely surprise, thank you so much!",
    "I hate waiting in this stupid queue.",
)
