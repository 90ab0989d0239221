"""Conv-Attention pre-fusion, as Emotion-LLaMAv2's ConvProAttention.

Submodule names match the published module (conv_pro_module.*), so official weights load
one to one. Inputs are the three modalities' token sequences of equal length K, in the
published order: audio, image (the global view's CLS repeated K times), video.
"""

from __future__ import annotations

import torch
from torch import nn

from emotion_ros.model.config import FusionConfig


def _mlp(in_dim: int, hidden: tuple[int, int], dropout: float) -> nn.Sequential:
    """Linear, ReLU, Dropout, Linear, ReLU, Dropout (weights at indices 0 and 3)."""
    return nn.Sequential(
        nn.Linear(in_dim, hidden[0]), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(hidden[0], hidden[1]), nn.ReLU(), nn.Dropout(dropout),
    )


class Switch(nn.Module):
    """x * sigmoid(x) (SiLU), under the published name."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


class ConvBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv1d(channels, channels, kernel_size=3, stride=1, padding=1), Switch())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ConvModule(nn.Module):
    def __init__(self, channels: int, blocks: int):
        super().__init__()
        self.conv_blocks = nn.ModuleList(ConvBlock(channels) for _ in range(blocks))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.conv_blocks:
            x = block(x)
        return x


class ConvProAttention(nn.Module):
    """inputs: [audio (B, K, d_a), image (B, K, d_i), video (B, K, d_v)] -> (B, K, out_dim).

    1. h_m = feats_prep[m](x_m)                       (B, K, w), w = hidden[1]
    2. modality attention: weights = fc_att(attention_mlp(cat(h))) (B, K, 3), no softmax,
       global = sum_m weights_m * h_m
    3. local: conv_entry over cat(h) (k=1), then residual SiLU Conv1d blocks over tokens
    4. fc_final(global + local)

    present (B, 3) bool masks a modality: its h_m is zeroed before both branches, so
    neither the attention nor the convolution sees anything of it.
    """

    def __init__(self, dims: tuple[int, int, int], config: FusionConfig):
        super().__init__()
        width = config.hidden[1]
        self.feats_prep = nn.ModuleList(_mlp(d, config.hidden, config.dropout) for d in dims)
        self.attention_mlp = _mlp(width * len(dims), config.hidden, config.dropout)
        self.fc_att = nn.Linear(width, len(dims))
        self.conv_entry = nn.Conv1d(width * len(dims), width, kernel_size=1)
        self.conv_module = ConvModule(width, config.conv_blocks)
        self.fc_final = nn.Linear(width, config.out_dim)

    def forward(self, inputs: list[torch.Tensor], present: torch.Tensor | None = None) -> torch.Tensor:
        hidden = [prep(x) for prep, x in zip(self.feats_prep, inputs)]
        stacked = torch.stack(hidden, dim=-1)  # (B, K, w, M)
        if present is not None:
            stacked = stacked * present[:, None, None, :].to(stacked.dtype)
        b, k, w, m = stacked.shape
        flat = stacked.permute(0, 1, 3, 2).reshape(b, k, m * w)  # cat(h_0, h_1, h_2)
        weights = self.fc_att(self.attention_mlp(flat))  # (B, K, M)
        global_branch = (stacked @ weights[..., None]).squeeze(-1)  # (B, K, w)
        local_branch = self.conv_module(self.conv_entry(flat.transpose(1, 2))).transpose(1, 2)
        return self.fc_final(global_branch + local_branch)
