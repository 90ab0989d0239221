"""Prompts in the Emotion-LLaMA instruction format, with the multimodal tokens spliced in.

  <s>[INST] <Vid><VideoHere></Vid> The person in video says: {subtitle}. [{task}] {instruction} [/INST]

<VideoHere> is replaced by the network's prefix tokens; without a subtitle the sentence
about what the person says is left out (as in the published inference script).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from emotion_ros.model.tokenizer import TextTokenizer

PLACEHOLDER = "<VideoHere>"
SUBTITLE_CHARACTERS = 200  # of what was said, the most recent, quoted in a prompt ...
SUBTITLE_TOKENS = 128  # ... and at most this many tokens of it (with a 256-token question, a prompt fits 512)

INSTRUCTIONS = {
    "emotion": "Please determine which emotion label in the video represents: {labels}.",
    "reason": "What emotion does the person show, and what in their face and voice shows it? "
    "Answer in one or two sentences.",
    "think": "Which of these emotions does the person show: {labels}? Think it through, then answer "
    "in the form <think>reasoning</think><answer>label</answer>.",
}


def instruction_text(task: str, labels: tuple[str, ...] | list[str], subtitle: str = "", question: str = "") -> str:
    """The text of the prompt, with PLACEHOLDER where the multimodal tokens go."""
    if task not in INSTRUCTIONS and not question:
        raise ValueError(f"unknown task {task!r} (known: {', '.join(INSTRUCTIONS)})")
    instruction = question or INSTRUCTIONS[task].format(labels=", ".join(labels))
    says = f" The person in video says: {subtitle.strip().rstrip('.')}." if subtitle.strip() else ""
    return f"[INST] <Vid>{PLACEHOLDER}</Vid>{says} [{task}] {instruction} [/INST]"


def quoted_subtitle(subtitle: str, tokenizer: TextTokenizer | None = None) -> str:
    """The end of what the person said, as a prompt quotes it: SUBTITLE_CHARACTERS characters,
    and with ``tokenizer`` SUBTITLE_TOKENS tokens ("..." where it was cut)."""
    subtitle = " ".join(subtitle.split())
    clipped = len(subtitle) > SUBTITLE_CHARACTERS
    if clipped:
        subtitle = subtitle[-SUBTITLE_CHARACTERS:].split(" ", 1)[-1]
    if tokenizer is not None and len(ids := tokenizer.encode(subtitle)) > SUBTITLE_TOKENS:
        subtitle, clipped = tokenizer.decode(ids[-SUBTITLE_TOKENS:]).strip(), True
    return ("..." if clipped else "") + subtitle


def explanation_prompt(labels: tuple[str, ...] | list[str], question: str = "", subtitle: str = "",
                       tokenizer: TextTokenizer | None = None) -> str:
    """The prompt of an explanation (the "reason" task, or ``question``), quoting the end of what
    the person said (quoted_subtitle)."""
    return instruction_text("reason", labels, subtitle=quoted_subtitle(subtitle, tokenizer), question=question)


@dataclass
class Prompt:
    """embeds (1, L, D) and key mask (1, L) for generate()."""

    embeds: torch.Tensor
    mask: torch.Tensor


def build_prompt(
    embed: Callable[[torch.Tensor], torch.Tensor],
    tokenizer: TextTokenizer,
    prefix: torch.Tensor,
    prefix_mask: torch.Tensor,
    text: str,
    add_bos: bool = True,
) -> Prompt:
    """BOS (unless add_bos is False: a chat template writes its own) + text before PLACEHOLDER +
    prefix tokens (1, P, D) + text after it.

    embed maps token ids (1, N) int64 to embeddings (1, N, D), e.g. LlamaForCausalLM.embed.
    """
    before, after = text.split(PLACEHOLDER)
    ids_before = tokenizer.encode(before, add_bos=add_bos)
    ids_after = tokenizer.encode(after)
    tokens = lambda ids: embed(torch.tensor([ids], dtype=torch.long, device=prefix.device)).to(prefix.dtype)  # noqa: E731
    embeds = torch.cat([tokens(ids_before), prefix, tokens(ids_after)], dim=1)
    ones = lambda n: torch.ones(1, n, dtype=torch.bool, device=prefix.device)  # noqa: E731
    mask = torch.cat([ones(len(ids_before)), prefix_mask, ones(len(ids_after))], dim=1)
    return Prompt(embeds, mask)
