"""The pre-norm transformer encoder block shared by the vision and audio encoders."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SelfAttention(nn.Module):
    """Multi-head self-attention with separate q/k/v projections.

    qkv_bias: "all", "qv" (no bias on k, as in EVA-ViT and Whisper) or "none".
    """

    def __init__(self, dim: int, heads: int, qkv_bias: str = "all"):
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(dim, dim, bias=qkv_bias != "none")
        self.k_proj = nn.Linear(dim, dim, bias=qkv_bias == "all")
        self.v_proj = nn.Linear(dim, dim, bias=qkv_bias != "none")
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, N, D); key_mask: (B, N) bool, False for keys no query may attend to."""
        b, n, d = x.shape
        split = lambda t: t.view(b, n, self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        mask = None if key_mask is None else key_mask[:, None, None, :]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out_proj(out.transpose(1, 2).reshape(b, n, d))


class EncoderBlock(nn.Module):
    """x + Attn(LN(x)), then x + MLP(LN(x)) with a GELU MLP."""

    def __init__(self, dim: int, heads: int, mlp_dim: int, qkv_bias: str = "all", eps: float = 1e-6):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = SelfAttention(dim, heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Linear(mlp_dim, dim))

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), key_mask)
        return x + self.mlp(self.norm2(x))
