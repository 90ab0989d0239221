"""LoRA adapters (PEFT) on a network's LLM: injected for training, saved on their own, and
merged into the base weights, so an inference checkpoint has the plain architecture."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LoraSettings:
    """LoRA on the LLM's projections (published: r 64, alpha 16, q_proj and v_proj); targets
    name attention (q_proj k_proj v_proj o_proj) or MLP (gate_proj up_proj down_proj) layers."""

    r: int = 16
    alpha: float = 16.0
    dropout: float = 0.05
    targets: tuple[str, ...] = ("q_proj", "v_proj")


def add_lora(network: nn.Module, settings: LoraSettings):
    """Inject adapters into ``network.llm``'s decoder layers in place (everything else frozen);
    returns the PEFT wrapper, whose adapter_state and merged_network give them back."""
    from peft import LoraConfig, get_peft_model

    targets = "|".join(settings.targets)
    config = LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout, bias="none",
                        target_modules=rf".*llm\.model\.layers\.\d+\.(self_attn|mlp)\.({targets})")
    return get_peft_model(network, config)


def adapter_state(peft_model) -> dict[str, torch.Tensor]:
    """The adapters' tensors alone (PEFT's names, without the adapter's name)."""
    from peft import get_peft_model_state_dict

    return {name: tensor.detach().contiguous() for name, tensor in get_peft_model_state_dict(peft_model).items()}


def load_adapter_state(peft_model, state: dict[str, torch.Tensor]) -> None:
    """Load adapter_state's tensors; ValueError naming any the model does not have or lacks."""
    from peft import set_peft_model_state_dict

    expected = set(adapter_state(peft_model))
    if missing := expected - set(state):
        raise ValueError(f"the adapter lacks {len(missing)} tensor(s), e.g. {sorted(missing)[0]}")
    if unexpected := set(state) - expected:
        raise ValueError(f"the adapter has {len(unexpected)} unexpected tensor(s), e.g. {sorted(unexpected)[0]}")
    set_peft_model_state_dict(peft_model, state)


def merged_network(peft_model) -> nn.Module:
    """The network with its adapters folded into the base weights (the PEFT wrapper is consumed)."""
    return peft_model.merge_and_unload()
