"""Text generation with a LLaMA head: greedy or sampled, stop tokens, a token budget.

The decoding loop is independent of the runtime: it drives a ``Stepper``, which holds the
sequence state (KV cache) of one backend. TorchStepper runs the PyTorch module, with the
KV cache or (as a reference) by recomputing the whole sequence every step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import torch

from emotion_ros.model.llama import KVCache, LlamaForCausalLM


@dataclass(frozen=True)
class GenerationConfig:
    """max_new_tokens: the token budget. temperature 0 (or do_sample False) is greedy.
    top_k 0 and top_p 1.0 disable those filters. seed makes sampling reproducible.
    vocab_limit: only ids below it are generated (a tokenizer smaller than the embedding).
    max_positions: the model's position limit: generation stops where prompt + tokens reach it."""

    max_new_tokens: int = 48
    do_sample: bool = False
    temperature: float = 0.7
    top_k: int = 0
    top_p: float = 0.9
    stop_token_ids: tuple[int, ...] = ()
    seed: int | None = None
    vocab_limit: int | None = None
    max_positions: int | None = None


@dataclass
class GenerationResult:
    tokens: list[int]
    stop_reason: str  # "stop" (a stop token, not included in tokens) or "budget"
    step_logits: list[torch.Tensor] = field(default_factory=list)  # (V,) per step


class Stepper(Protocol):
    """One sequence being decoded by some runtime."""

    def start(self, prompt_embeds, prompt_mask) -> torch.Tensor:
        """Encode the prompt (1, L, D) with key mask (1, L); logits (V,) of the last position."""

    def advance(self, token: int) -> torch.Tensor:
        """Append one token; logits (V,) for the next."""


class TorchStepper:
    def __init__(self, llm: LlamaForCausalLM, use_cache: bool = True):
        self.llm, self.use_cache = llm, use_cache
        self._embeds: torch.Tensor | None = None
        self._mask: torch.Tensor | None = None
        self._past: KVCache | None = None

    def start(self, prompt_embeds: torch.Tensor, prompt_mask: torch.Tensor) -> torch.Tensor:
        self._embeds, self._mask = prompt_embeds, prompt_mask
        logits, self._past = self.llm(prompt_embeds, prompt_mask)
        return logits[0, -1]

    def advance(self, token: int) -> torch.Tensor:
        new = self.llm.embed(torch.tensor([[token]], device=self._embeds.device)).to(self._embeds.dtype)
        self._mask = torch.cat([self._mask, torch.ones(1, 1, dtype=torch.bool, device=self._mask.device)], dim=1)
        if self.use_cache:
            logits, self._past = self.llm(new, self._mask, self._past)
        else:
            self._embeds = torch.cat([self._embeds, new], dim=1)
            logits, _ = self.llm(self._embeds, self._mask)
        return logits[0, -1]


def _next_token(logits: torch.Tensor, config: GenerationConfig, generator: torch.Generator | None) -> int:
    if not config.do_sample or config.temperature <= 0:
        return int(logits.argmax())
    scores = logits.float() / config.temperature
    if config.top_k > 0:
        kth = torch.topk(scores, min(config.top_k, scores.numel())).values[-1]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if config.top_p < 1.0:
        sorted_scores, order = torch.sort(scores, descending=True)
        probabilities = torch.softmax(sorted_scores, dim=-1)
        drop = probabilities.cumsum(-1) - probabilities > config.top_p  # keep the token crossing top_p
        scores[order[drop]] = float("-inf")
    return int(torch.multinomial(torch.softmax(scores, dim=-1), 1, generator=generator))


@torch.no_grad()
def generate(
    model: LlamaForCausalLM | Stepper,
    prompt_embeds,
    prompt_mask=None,
    config: GenerationConfig = GenerationConfig(),
    use_cache: bool = True,
    keep_logits: bool = False,
) -> GenerationResult:
    """Continue a prompt given as embeddings (1, L, D) with key mask (1, L) bool.

    ``model`` is a LlamaForCausalLM (decoded through a TorchStepper, with or without the KV
    cache) or any Stepper.
    """
    if prompt_embeds.shape[0] != 1:
        raise ValueError("generate() decodes one sequence at a time")
    stepper = TorchStepper(model, use_cache) if isinstance(model, LlamaForCausalLM) else model
    if prompt_mask is None:
        prompt_mask = torch.ones(prompt_embeds.shape[:2], dtype=torch.bool)
    generator = torch.Generator().manual_seed(config.seed) if config.do_sample and config.seed is not None else None
    tokens: list[int] = []
    step_logits: list[torch.Tensor] = []
    budget = config.max_new_tokens
    if config.max_positions is not None:
        budget = max(0, min(budget, config.max_positions - prompt_embeds.shape[1]))
    logits = stepper.start(prompt_embeds, prompt_mask)
    for step in range(budget):
        if config.vocab_limit is not None:
            logits = logits.clone()
            logits[config.vocab_limit :] = float("-inf")
        if keep_logits:
            step_logits.append(logits.clone())
        token = _next_token(logits, config, generator)
        if token in config.stop_token_ids:
            return GenerationResult(tokens, "stop", step_logits)
        tokens.append(token)
        if step + 1 < budget:
            logits = stepper.advance(token)
    return GenerationResult(tokens, "budget", step_logits)
