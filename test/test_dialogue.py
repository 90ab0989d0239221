"""The curriculum's questions and answers: every answer is faithful to its window's facts."""

import itertools

import numpy as np
import pytest
import torch

from emotion_ros.default_model.affect import Targets
from emotion_ros.default_model.dialogue import KINDS, NAMING, QUESTIONS, SPLITS, STAGES, WindowFacts, answer, exchange, window_facts
from emotion_ros.model.label_sets import FER_LABELS
from emotion_ros.runtime.estimate import EmotionEstimate, PersonEstimate
from emotion_ros.runtime.faithful_answer import faithful, named_expression


def every_window() -> list[WindowFacts]:
    """Every label at three strengths and nobody in view, speaking or not, with and without words
    (one with a label word of its own), one to three people, and a window without sound."""
    facts = []
    for label, confidence, speaking, words in itertools.product(
            (*FER_LABELS, None), (0.3, 0.6, 0.9), (False, True), ("", "I am so sad today.", "We won!")):
        people = 0 if label is None else 1 + len(facts) % 3
        facts.append(WindowFacts(label, confidence if label else 1 / 7, speaking, words, people))
    return facts + [WindowFacts("happy", 0.8, False, "", 1, audio=False)]


def estimate_of(facts: WindowFacts) -> EmotionEstimate:
    """The published state that has these facts."""
    scores = np.full(len(FER_LABELS), 1 / len(FER_LABELS), np.float32)
    people = ()
    if facts.label is not None:
        scores = np.full(len(FER_LABELS), (1 - facts.confidence) / (len(FER_LABELS) - 1), np.float32)
        scores[FER_LABELS.index(facts.label)] = facts.confidence
        people = tuple(PersonEstimate(i, np.zeros(4), 1.0, scores, 0.0, 0.0, track=i) for i in range(facts.people))
    return EmotionEstimate(0.0, 2.0, FER_LABELS, scores, 0.0, 0.0, 0.9 if facts.speaking else 0.0, True, facts.audio,
                           reads_faces=True, people=people, utterance=facts.words)


@pytest.mark.parametrize("split", SPLITS)
def test_every_answer_names_the_published_label_or_none_and_the_runtime_guard_keeps_it(split):
    rng = np.random.default_rng(0)
    for facts, kind in itertools.product(every_window(), KINDS):
        for _ in range(4):
            question, reply, _ = exchange(kind, facts, rng, split)
            named = named_expression(reply, FER_LABELS)
            if facts.label is None or kind not in NAMING:
                assert named is None, (question, reply)
            else:
                assert named == facts.label, (question, reply)
            assert faithful(reply, estimate_of(facts), None) == (reply, False), (question, reply)


def test_yes_and_no_follow_the_state_and_a_steering_question_changes_nothing():
    for label, asked in itertools.product(FER_LABELS, FER_LABELS):
        facts = WindowFacts(label, 0.8, False, "", 1)
        assert answer("is_label", facts, 0, asked).startswith("Yes" if asked == label else "No."), (label, asked)
        assert named_expression(answer("steer", facts, 0, asked), FER_LABELS) == label
    assert answer("is_label", WindowFacts(None, 1 / 7, False, "", 0), 0, "sad").startswith("I cannot tell")


def test_answers_state_the_facts_they_are_asked_for():
    facts = WindowFacts("surprise", 0.62, True, "We won!", 2)
    assert answer("said", facts, 0) == 'They said: "We won!"'
    assert answer("said", WindowFacts("happy", 0.9, False, "", 1), 1) == "I heard no words."
    assert answer("speaking", facts, 0) == "The person is speaking."
    assert answer("people", facts, 0) == "2 people are in view."
    assert answer("sure", facts, 0) == "The face shows a moderate surprise expression. Its probability is 0.62."
    assert "cannot" in answer("unanswerable", facts, 0)
    assert answer("describe", WindowFacts(None, 1 / 7, False, "", 0), 0) == "No face is visible."


def test_the_two_stages_cover_every_kind_once():
    assert STAGES["perception"] == ("perceive",) and sorted(sum(STAGES.values(), ())) == sorted(KINDS)


def test_held_out_phrasings_and_wordings_are_never_trained_on():
    for kind, phrasings in QUESTIONS.items():
        assert len(phrasings) == len(SPLITS) and all(phrasings), kind
        assert sum(map(len, phrasings)) == len(set().union(*phrasings)), kind  # no phrasing in two splits
    rng = np.random.default_rng(1)
    facts = WindowFacts("sad", 0.9, True, "Oh no.", 1)
    for kind in KINDS:
        trained = {exchange(kind, facts, rng, "train") for _ in range(200)}
        for split in ("validation", "held_out"):
            kept = {exchange(kind, facts, rng, split) for _ in range(60)}
            assert not {e.question.lower() for e in trained} & {e.question.lower() for e in kept}, (kind, split)
            assert not {e.answer for e in trained} & {e.answer for e in kept}, (kind, split)
    with pytest.raises(ValueError, match="split"):
        exchange("describe", facts, rng, "test")


def test_the_teachers_windows_become_facts_as_the_explanations_read_them():
    probabilities = torch.tensor([[0.05, 0.05, 0.05, 0.7, 0.05, 0.05, 0.05], [1 / 7] * 7, [0.1, 0.1, 0.4, 0.1, 0.1, 0.1, 0.1]])
    targets = Targets(probabilities, torch.tensor([[0.6, 0.4], [0.0, 0.1], [-0.3, 0.5]]), torch.tensor([1.0, 0.0, 0.9]),
                      torch.tensor([True, False, False]), torch.zeros(3), torch.full((3,), float("nan")))
    first, nobody, unseen = window_facts(targets, [True, True, False], [True, True, False], ["We won!", "", ""])
    assert first == WindowFacts("happy", pytest.approx(0.7), True, "We won!", 1, True, pytest.approx(0.6), pytest.approx(0.4))
    assert first.clarity == "moderate" and answer("perceive", first, 0) == \
        "Expression: happy, moderate, probability 0.70. Voice: speaking. Valence +0.60, arousal +0.40."
    assert nobody.label is None and nobody.people == 0
    assert unseen.label is None and not unseen.audio  # no video: nobody can be seen
    assert answer("perceive", unseen, 2) == "Reading: nobody in view; no sound; valence -0.30, arousal +0.50."
