"""Which parameters a stage trains: LoRA adapters (PEFT) or the whole LLM, plus named modules.

The encoders always stay frozen (their outputs are cached). After training, LoRA adapters are
merged into the LLM's weights, so the checkpoint has the plain inference architecture.
"""

from __future__ import annotations

from torch import nn

from emotion_ros.model.lora import add_lora, merged_network
from emotion_ros.model.network import EmotionNetwork
from emotion_ros.train.config import TrainConfig


class TrainableNetwork:
    """The network prepared for a stage; ``merged()`` gives the plain network back."""

    def __init__(self, network: EmotionNetwork, config: TrainConfig):
        network.requires_grad_(False)
        self._peft = None
        if config.finetune == "lora":
            self._peft = add_lora(network, config.lora)  # injects adapters in place, freezes the rest
        else:
            network.llm.requires_grad_(True)
        known = dict(network.named_children())
        for name in config.train_modules:
            if name not in known:
                raise ValueError(f"train_modules: the network has no module {name!r} (modules: {', '.join(known)})")
            known[name].requires_grad_(True)
        self.network = network

    def trainable(self) -> dict[str, nn.Parameter]:
        return {name: p for name, p in self.network.named_parameters() if p.requires_grad}

    def merged(self) -> EmotionNetwork:
        """The network with LoRA folded into the base weights (the training copy is consumed)."""
        if self._peft is None:
            return self.network
        return merged_network(self._peft)
