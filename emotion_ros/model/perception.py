"""The fast perception head: label probabilities, valence and arousal from fused tokens."""

from __future__ import annotations

import torch
from torch import nn


class PerceptionHead(nn.Module):
    """fused (B, K, C) -> (logits (B, labels), valence_arousal (B, 2) in [-1, 1])."""

    def __init__(self, in_dim: int, hidden: int, num_labels: int, dropout: float):
        super().__init__()
        self.trunk = nn.Sequential(nn.LayerNorm(in_dim), nn.Linear(in_dim, hidden), nn.GELU(), nn.Dropout(dropout))
        self.classifier = nn.Linear(hidden, num_labels)
        self.affect = nn.Linear(hidden, 2)

    def forward(self, fused: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(fused.mean(dim=1))
        return self.classifier(h), torch.tanh(self.affect(h))
