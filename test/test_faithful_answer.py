"""An answer naming another expression than the published label, or stating another voice, is replaced by the facts."""

import numpy as np
import pytest

from emotion_ros.model.label_sets import FER_LABELS
from emotion_ros.runtime.estimate import EmotionEstimate, PersonEstimate
from emotion_ros.runtime.explainer import explain_person
from emotion_ros.runtime.faithful_answer import faithful, published_label
from emotion_ros.runtime.backend import GeneratedText


def scores(label: str, top: float = 0.8) -> np.ndarray:
    out = np.full(len(FER_LABELS), (1 - top) / (len(FER_LABELS) - 1), np.float32)
    out[FER_LABELS.index(label)] = top
    return out


def estimate(*people: PersonEstimate, speaking: float = 0.0, audio: bool = True) -> EmotionEstimate:
    main = people[0].scores if people else np.full(len(FER_LABELS), 1 / len(FER_LABELS), np.float32)
    return EmotionEstimate(0.0, 2.0, FER_LABELS, main, 0.5, 0.2, speaking, True, audio, reads_faces=True,
                           people=people, image_size=(480, 640))


def person(label: str, track: int, top: float = 0.8) -> PersonEstimate:
    return PersonEstimate(track, np.array([100.0, 100.0, 200.0, 220.0]), 1.0, scores(label, top), 0.5, 0.2, track=track)


@pytest.mark.parametrize("text", ["The face shows a clear happy expression.", "They are smiling.",
                                  "She is not sad; she looks happy.", "They say something.", ""
                                  'Happy. They said: "I am so sad today."', 'They said: "I am so sad today."'])
def test_an_answer_that_agrees_or_names_no_expression_is_kept(text):
    window = estimate(person("happy", 1))
    assert faithful(text, window, None) == (text, False)


@pytest.mark.parametrize("text", ["The face shows a clear angry expression.", "Yes, the person is sad.",
                                  "They look furious, with a hint of happy."])
def test_an_answer_naming_another_expression_is_replaced_by_the_published_facts(text):
    window = estimate(person("happy", 1, 0.83), speaking=0.9)
    published, replaced = faithful(text, window, None)
    assert replaced and published == "The expression reads happy (probability 0.83). Someone is speaking."


@pytest.mark.parametrize("speaking, audio, text", [
    (0.0, False, "The person is speaking, and they look happy."),  # words can come without a microphone
    (0.0, True, "They look happy, and they are talking."),
    (0.9, True, "The face shows a clear happy expression. The person is not speaking."),
    (0.9, True, "They look happy. I hear nothing."),
])
def test_an_answer_that_contradicts_the_voice_is_replaced_by_the_published_facts(speaking, audio, text):
    window = estimate(person("happy", 1, 0.83), speaking=speaking, audio=audio)
    published, replaced = faithful(text, window, None)
    voice = "There is no sound." if not audio else "Someone is speaking." if speaking else "Nobody is speaking."
    assert replaced and published == f"The expression reads happy (probability 0.83). {voice}"


@pytest.mark.parametrize("speaking, audio, text", [
    (0.9, True, "The person is speaking and looks happy."),
    (0.0, True, "They look happy; they are not speaking."),
    (0.0, False, "They look happy. There is no sound."),
    (0.0, True, 'They look happy. They said: "My brother is talking nonsense."'),  # quoted words are not a reading
])
def test_an_answer_that_states_the_voice_as_published_is_kept(speaking, audio, text):
    window = estimate(person("happy", 1), speaking=speaking, audio=audio)
    assert faithful(text, window, None) == (text, False)


def test_with_nobody_in_view_no_expression_may_be_named():
    window = estimate(audio=False)
    assert published_label(window, None) is None
    assert faithful("No face is visible. There is no sound.", window, None) == ("No face is visible. There is no sound.", False)
    assert faithful("The person looks happy.", window, None) == ("No face is visible. There is no sound.", True)


def test_each_person_is_held_to_their_own_label():
    first, second = person("happy", 1), person("sad", 2, 0.6)
    window = estimate(first, second)
    assert faithful("They look sad.", window, second) == ("They look sad.", False)
    assert faithful("They look sad.", window, first)[1]
    assert faithful("They look happy.", window, second) == ("The expression reads sad (probability 0.60). Nobody is speaking.", True)


class _Backend:
    """A backend whose language head answers with a fixed text."""

    def __init__(self, text: str):
        self.text, self.facts = text, []

    def explain(self, context, question, max_new_tokens, words, facts):
        self.facts.append(facts)
        return GeneratedText(self.text, 7)


def test_explain_person_publishes_the_facts_and_marks_the_replacement():
    window = estimate(person("happy", 1, 0.9))
    backend = _Backend("The face shows a clear happy expression.")
    kept = explain_person(backend, window, None, "f1", "Is she sad?", 48)
    assert not kept.replaced and kept.label == "happy" and "clear happy" in kept.text
    assert backend.facts == ["In view: 1 person. Reading: happy, probability 0.90; not speaking."]  # the published state
    replaced = explain_person(_Backend("The face shows a clear fear expression."), window, None, "f1", "Is she sad?", 48)
    assert replaced.replaced and replaced.label == "happy"
    assert "fear" not in replaced.text and "The expression reads happy (probability 0.90)." in replaced.text


def test_the_prompt_states_the_published_reading_of_the_person_asked_about():
    from emotion_ros.runtime.explainer import stated_facts

    first, second = person("happy", 1, 0.9), person("sad", 2, 0.6)
    window = estimate(first, second, speaking=0.9)
    assert stated_facts(window, second) == "In view: 2 people. Reading: sad, probability 0.60; speaking."
    assert stated_facts(window, None) == "In view: 2 people. Reading: happy, probability 0.90; speaking."
    assert stated_facts(estimate(audio=False), None) == "In view: 0 people. Reading: no face; no sound."
