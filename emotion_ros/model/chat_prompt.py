"""The language head's prompt: a chat in the language model's own template whose user turn
carries the person's perception tokens, Emotion-LLaMA's way, then the words they said and the
question.

With SmolLM2's template:

  <|im_start|>system\\n{SYSTEM}<|im_end|>\\n<|im_start|>user\\n<Vid><VideoHere></Vid> {facts} The
  person says: "{words}". {question}<|im_end|>\\n<|im_start|>assistant\\n

<VideoHere> (prompt.PLACEHOLDER) is replaced by the projected perception tokens (build_prompt
with add_bos=False: the template writes its own start token). {facts} (perception_facts) states
what the tokens cannot carry, how many people are in view, and optionally the published reading
of the person. A training example appends the answer and the end-of-turn token; only those
carry the loss.
"""

from __future__ import annotations

from dataclasses import dataclass

from emotion_ros.model.gguf_llama import render_chat
from emotion_ros.model.prompt import PLACEHOLDER, quoted_subtitle
from emotion_ros.model.tokenizer import TextTokenizer

SYSTEM = "You are a robot's emotion perception. Answer in one or two sentences, only from what you perceive."
DEFAULT_QUESTION = "How does the person feel, and what shows it?"


def voice_state(audio_present: bool, speaking: bool) -> str:
    """How the prompt states the voice: "no sound", "speaking" or "not speaking"."""
    return "no sound" if not audio_present else "speaking" if speaking else "not speaking"


def perception_facts(people: int, label: str | None = None, confidence: float = 0.0, voice: str | None = None) -> str:
    """The prompt's statement of the published state: the people in view, and (with ``voice``:
    "speaking", "not speaking" or "no sound") the person's reading, label None when nobody is in view."""
    count = f"In view: {people} {'person' if people == 1 else 'people'}."
    if voice is None:
        return count
    reading = "no face" if label is None else f"{label}, probability {confidence:.2f}"
    return f"{count} Reading: {reading}; {voice}."


def chat_text(template: str, question: str = "", words: str = "", tokenizer: TextTokenizer | None = None,
              facts: str = "") -> str:
    """The rendered prompt, with PLACEHOLDER where the perception tokens go, ready for the answer.
    words: what the person said (quoted as prompt.quoted_subtitle cuts it); question: the
    caller's, or DEFAULT_QUESTION; facts: perception_facts."""
    said = quoted_subtitle(words, tokenizer)
    says = f' The person says: "{said}".' if said else ""
    stated = f" {facts}" if facts else ""
    user = f"<Vid>{PLACEHOLDER}</Vid>{stated}{says} {' '.join(question.split()) or DEFAULT_QUESTION}"
    return render_chat(template, [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}])


@dataclass(frozen=True)
class ChatExample:
    """One training example's token ids: before (prompt up to the perception tokens), after (the
    rest of the prompt) and answer (the answer and the end-of-turn token: the loss's targets)."""

    before: list[int]
    after: list[int]
    answer: list[int]


def chat_example(tokenizer: TextTokenizer, template: str, question: str, words: str, answer: str,
                 facts: str = "") -> ChatExample:
    before, after = chat_text(template, question, words, tokenizer, facts).split(PLACEHOLDER)
    if tokenizer.eos_id is None:
        raise ValueError("the tokenizer has no end-of-turn token to end the answer with")
    return ChatExample(tokenizer.encode(before), tokenizer.encode(after), tokenizer.encode(answer) + [tokenizer.eos_id])
