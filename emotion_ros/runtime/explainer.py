"""One explanation of one person in one window: the prompt, the model's answer, whom it is about
and what they said (shared by the node, offline replay and file prediction)."""

from __future__ import annotations

import time

import numpy as np

from emotion_ros.model.chat_prompt import perception_facts, voice_state
from emotion_ros.runtime.backend import Backend
from emotion_ros.runtime.estimate import EmotionEstimate, Explanation, PersonEstimate
from emotion_ros.runtime.faithful_answer import faithful, named_expression, published_label
from emotion_ros.runtime.person_description import about

QUOTE_CHARACTERS = 120  # of what was said, the most recent, quoted in an explanation


def their_words(estimate: EmotionEstimate) -> str:
    """What was said during the window, when it can be given to the person explained: while the
    voice is attributed (nobody or one person in view); with several people this model cannot
    tell whose mouth moves, so nobody's explanation quotes the words."""
    return estimate.utterance if estimate.voice_attributed else ""


def stated_facts(estimate: EmotionEstimate, person: PersonEstimate | None) -> str:
    """The published state of ``person`` (None: the window's main person) as the language head's
    prompt states it: the people in view, the label and its probability, and the voice."""
    label = published_label(estimate, person)
    confidence = float(np.max(person.scores)) if person is not None else estimate.confidence
    people = (len(estimate.people) or 1) if label is not None else 0
    return perception_facts(people, label, confidence, voice_state(estimate.audio_present, estimate.speaking))


def with_words(text: str, words: str) -> str:
    """The model's text, then the words quoted: ... They say: "I can't believe it!"."""
    words = " ".join(words.split())
    if not words:
        return text
    if len(words) > QUOTE_CHARACTERS:
        words = "..." + words[-QUOTE_CHARACTERS:].split(" ", 1)[-1]
    ending = "" if words[-1] in ".!?" else "."
    return f'{text} They say: "{words}{ending}"'.strip()


def explain_person(backend: Backend, estimate: EmotionEstimate, context: object, person_id: str, question: str,
                   max_new_tokens: int) -> Explanation:
    """Explain ``person_id`` ("" when nobody is tracked) in ``estimate``'s window from its
    ``context`` (ExplanationContexts.of); the person's words are in the prompt, as Emotion-LLaMA
    quotes them, and after the answer. An answer that names another expression than the
    published label is replaced by the published facts (faithful_answer.py)."""
    started = time.monotonic()
    words = their_words(estimate)
    person = estimate.person(person_id) if person_id else None
    generated = backend.explain(context, question, max_new_tokens, words, stated_facts(estimate, person))
    answer, replaced = faithful(generated.text, estimate, person)
    width = estimate.image_size[1] if estimate.image_size else 0
    text = about(person, width, len(estimate.people) <= 1, with_words(answer, words))
    return Explanation(estimate.t_start, estimate.t_end, text, named_expression(answer, estimate.labels), question,
                       generated.tokens, time.monotonic() - started, person_id, replaced)
