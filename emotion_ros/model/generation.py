"""Text generation with the LLaMA head: greedy or sampled, stop tokens, a token budget."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from emotion_ros.model.llama import LlamaForCausalLM


@dataclass(frozen=True)
class GenerationConfig:
    """max_new_tokens: the token budget. temperature 0 (or do_sample False) is greedy.
    top_k 0 and top_p 1.0 disable those filters. seed makes sampling reproducible."""

    max_new_tokens: int = 48
    do_sample: bool = False
    temperature: float = 0.7
    top_k: int = 0
    top_p: float = 0.9
    stop_token_ids: tuple[int, ...] = ()
    seed: int | None = None
    vocab_limit: int | None = None  # only ids below this are generated (a tokenizer smaller than the embedding)


@dataclass
class GenerationResult:
    tokens: list[int]
    stop_reason: str  # "stop" (a stop token, not included in tokens) or "budget"
    step_logits: list[torch.Tensor] = field(default_factory=list)  # (V,) per step


def _next_token(logits: torch.Tensor, config: GenerationConfig, generator: torch.Generator | None) -> int:
    if not config.do_sample or config.temperature <= 0:
        return int(logits.argmax())
    scores = logits.float() / config.temperature
    if config.top_k > 0:
        kth = torch.topk(scores, min(config.top_k, scores.numel())).values[-1]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if config.top_p < 1.0:
        sorted_scores, order = torch.sort(scores, descending=True)
        cumulative = torch.softmax(sorted_scores, dim=-1).cumsum(-1)
        drop = cumulative - torch.softmax(sorted_scores, dim=-1) > config.top_p  # keep the token crossing top_p
        scores[order[drop]] = float("-inf")
    return int(torch.multinomial(torch.softmax(scores, dim=-1), 1, generator=generator))


@torch.no_grad()
def generate(
    llm: LlamaForCausalLM,
    prompt_embeds: torch.Tensor,
    prompt_mask: torch.Tensor | None = None,
    config: GenerationConfig = GenerationConfig(),
    use_cache: bool = True,
    keep_logits: bool = False,
) -> GenerationResult:
    """Continue a prompt given as embeddings (1, L, D) with key mask (1, L) bool.

    With use_cache the prompt is encoded once and each step feeds one token against the
    KV cache; without it every step re-runs the whole sequence (the reference).
    """
    if prompt_embeds.shape[0] != 1:
        raise ValueError("generate() decodes one sequence at a time")
    mask = prompt_mask if prompt_mask is not None else torch.ones(prompt_embeds.shape[:2], dtype=torch.bool)
    generator = None
    if config.do_sample and config.seed is not None:
        generator = torch.Generator().manual_seed(config.seed)
    tokens: list[int] = []
    step_logits: list[torch.Tensor] = []
    embeds = prompt_embeds
    logits, past = llm(embeds, mask)
    for _ in range(config.max_new_tokens):
        last = logits[0, -1]
        if config.vocab_limit is not None:
            last = last.clone()
            last[config.vocab_limit :] = float("-inf")
        if keep_logits:
            step_logits.append(last.clone())
        token = _next_token(last, config, generator)
        if token in config.stop_token_ids:
            return GenerationResult(tokens, "stop", step_logits)
        tokens.append(token)
        new = llm.embed(torch.tensor([[token]], device=embeds.device)).to(embeds.dtype)
        mask = torch.cat([mask, torch.ones(1, 1, dtype=torch.bool, device=mask.device)], dim=1)
        if use_cache:
            logits, past = llm(new, mask, past)
        else:
            embeds = torch.cat([embeds, new], dim=1)
            logits, _ = llm(embeds, mask)
    return GenerationResult(tokens, "budget", step_logits)
