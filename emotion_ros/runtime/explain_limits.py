"""Bounds on one explanation request: what a caller of ~/explain may ask for.

A question is refused when it is longer than ``max_question_tokens`` (checked on characters
first, so a megabyte never reaches the tokenizer); a token budget above ``max_new_tokens`` is
clamped and the answer says so. Generation itself also stops at the model's position limit
(GenerationConfig.max_positions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

MAX_NEW_TOKENS = 512  # one explanation's token ceiling (also explanation.max_new_tokens' range)
MAX_QUESTION_TOKENS = 256
CHARACTERS_PER_TOKEN = 16  # more than any BPE token spans: a cheap first check


@dataclass(frozen=True)
class ExplainLimits:
    max_new_tokens: int = MAX_NEW_TOKENS
    max_question_tokens: int = MAX_QUESTION_TOKENS

    def budget(self, requested: int, default: int) -> tuple[int, str]:
        """(tokens to generate, a note when ``requested`` was clamped); 0 asks for ``default``."""
        if requested <= 0:
            return min(default, self.max_new_tokens), ""
        if requested > self.max_new_tokens:
            return self.max_new_tokens, f"max_new_tokens {requested} clamped to {self.max_new_tokens}"
        return requested, ""

    def question_problem(self, question: str, count_tokens: Callable[[str], int]) -> str | None:
        """Why ``question`` is refused, or None."""
        if len(question) > self.max_question_tokens * CHARACTERS_PER_TOKEN:
            return f"the question has {len(question)} characters; the limit is {self.max_question_tokens} tokens"
        tokens = count_tokens(question)
        if tokens > self.max_question_tokens:
            return f"the question is {tokens} tokens; the limit is {self.max_question_tokens}"
        return None
