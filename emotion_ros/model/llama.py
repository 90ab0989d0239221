"""A LLaMA-architecture decoder with an explicit key/value cache.

Module and parameter names follow Hugging Face's LlamaForCausalLM (model.embed_tokens,
model.layers.N.self_attn.q_proj, ..., lm_head), and rotary embeddings use its
rotate-half convention, so Llama checkpoints load without renaming or permuting.
RMSNorm is written out in elementary ops, which every ONNX exporter handles.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from emotion_ros.model.config import LlamaConfig

KVCache = list[tuple[torch.Tensor, torch.Tensor]]  # per layer: (B, kv_heads, length, head_dim) x 2


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()
        normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * normed.to(x.dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    first, second = x.chunk(2, dim=-1)
    return torch.cat([-second, first], dim=-1)


class RotaryEmbedding(nn.Module):
    def __init__(self, head_dim: int, theta: float):
        super().__init__()
        inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """positions (B, L) -> cos, sin (B, 1, L, head_dim)."""
        angles = positions[..., None].float() * self.inv_freq
        angles = torch.cat([angles, angles], dim=-1)[:, None]
        return angles.cos(), angles.sin()


class LlamaAttention(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = config.heads, config.kv_heads, config.head_dim
        self.q_proj = nn.Linear(config.dim, config.heads * config.head_dim, bias=False)
        self.k_proj = nn.Linear(config.dim, config.kv_heads * config.head_dim, bias=False)
        self.v_proj = nn.Linear(config.dim, config.kv_heads * config.head_dim, bias=False)
        self.o_proj = nn.Linear(config.heads * config.head_dim, config.dim, bias=False)

    def forward(self, x, cos, sin, mask, past: tuple[torch.Tensor, torch.Tensor] | None):
        """x (B, L, D); mask (B, 1, L, P+L) additive; past (k, v) each (B, kv, P, hd)."""
        b, n, _ = x.shape
        q = self.q_proj(x).view(b, n, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, n, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, n, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        groups = self.heads // self.kv_heads
        k_all = k.repeat_interleave(groups, dim=1) if groups > 1 else k
        v_all = v.repeat_interleave(groups, dim=1) if groups > 1 else v
        scores = (q @ k_all.transpose(-1, -2)) * self.head_dim**-0.5 + mask
        out = torch.softmax(scores.float(), dim=-1).to(q.dtype) @ v_all
        return self.o_proj(out.transpose(1, 2).reshape(b, n, -1)), (k, v)


class LlamaMLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x))."""

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(config.dim, config.ffn_dim, bias=False)
        self.up_proj = nn.Linear(config.dim, config.ffn_dim, bias=False)
        self.down_proj = nn.Linear(config.ffn_dim, config.dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(config.dim, config.rms_eps)
        self.self_attn = LlamaAttention(config)
        self.post_attention_layernorm = RMSNorm(config.dim, config.rms_eps)
        self.mlp = LlamaMLP(config)

    def forward(self, x, cos, sin, mask, past):
        attended, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, past)
        x = x + attended
        return x + self.mlp(self.post_attention_layernorm(x)), present


class LlamaModel(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.dim)
        self.layers = nn.ModuleList(LlamaDecoderLayer(config) for _ in range(config.layers))
        self.norm = RMSNorm(config.dim, config.rms_eps)
        self.rotary = RotaryEmbedding(config.head_dim, config.rope_theta)


def attention_bias(key_mask: torch.Tensor, new: int, dtype: torch.dtype) -> torch.Tensor:
    """Additive (B, 1, new, P+new) bias: causal over positions, and -inf on masked keys.

    key_mask (B, P+new) bool is True for keys that may be attended to. Each query always sees
    itself, so a masked position still yields finite values (which nothing reads).
    """
    total = key_mask.shape[1]
    past = total - new
    query_pos = torch.arange(new, device=key_mask.device)[:, None] + past
    key_pos = torch.arange(total, device=key_mask.device)[None]
    allowed = (key_pos <= query_pos)[None] & key_mask[:, None, :]
    allowed = allowed | (key_pos == query_pos)[None]
    zero = torch.zeros((), dtype=dtype, device=key_mask.device)
    blocked = torch.full((), torch.finfo(dtype).min, dtype=dtype, device=key_mask.device)
    return torch.where(allowed, zero, blocked)[:, None]


INITIALIZER_RANGE = 0.02


class LlamaForCausalLM(nn.Module):
    """forward(inputs_embeds (B, L, D), key_mask (B, P+L) bool, past) -> (logits (B, L, V), present).

    Positions are P .. P+L-1: a position is counted whether or not its key is masked, so the
    layout of a prompt never depends on which modalities are present.
    """

    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.config = config
        self.model = LlamaModel(config)
        self.lm_head = nn.Linear(config.dim, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        """Hugging Face Llama's initialisation (initializer_range 0.02): with PyTorch's default
        N(0, 1) embeddings, tied output logits start in the hundreds."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=INITIALIZER_RANGE)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def embed(self, token_ids: torch.Tensor) -> torch.Tensor:
        return self.model.embed_tokens(token_ids)

    def forward(
        self, inputs_embeds: torch.Tensor, key_mask: torch.Tensor | None = None, past: KVCache | None = None
    ) -> tuple[torch.Tensor, KVCache]:
        hidden, present = self.hidden_states(inputs_embeds, key_mask, past)
        return self.lm_head(hidden), present

    def hidden_states(
        self, inputs_embeds: torch.Tensor, key_mask: torch.Tensor | None = None, past: KVCache | None = None
    ) -> tuple[torch.Tensor, KVCache]:
        """forward without the vocabulary projection: the final-normed (B, L, D) states (training
        projects only the positions that carry a loss)."""
        b, n, _ = inputs_embeds.shape
        past_len = 0 if past is None else past[0][0].shape[2]
        if key_mask is None:
            key_mask = torch.ones(b, past_len + n, dtype=torch.bool, device=inputs_embeds.device)
        positions = torch.arange(past_len, past_len + n, device=inputs_embeds.device)[None].expand(b, n)
        cos, sin = self.model.rotary(positions)
        mask = attention_bias(key_mask, n, inputs_embeds.dtype)
        x, present = inputs_embeds, []
        for i, layer in enumerate(self.model.layers):
            x, kv = layer(x, cos.to(x.dtype), sin.to(x.dtype), mask, None if past is None else past[i])
            present.append(kv)
        return self.model.norm(x), present
