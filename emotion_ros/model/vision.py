"""The plain Vision Transformer frame encoder (Emotion-LLaMA's per-frame ViT)."""

from __future__ import annotations

import torch
from torch import nn

from emotion_ros.model.config import FrameEncoderConfig
from emotion_ros.model.encoder_block import EncoderBlock
from emotion_ros.model.frame_encoder import FrameEncoder


class VisionTransformer(FrameEncoder):
    """A plain ViT: conv patch embedding, CLS token, learned positions, pre-norm blocks."""

    def __init__(self, config: FrameEncoderConfig):
        super().__init__()
        self.config = config
        self.dim = config.dim
        self.patch_embed = nn.Conv2d(3, config.dim, kernel_size=config.patch_size, stride=config.patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + config.grid**2, config.dim))
        self.blocks = nn.ModuleList(
            EncoderBlock(config.dim, config.heads, config.mlp_dim, config.qkv_bias, config.norm_eps)
            for _ in range(config.depth)
        )
        self.norm = nn.LayerNorm(config.dim, eps=config.norm_eps) if config.final_norm else nn.Identity()
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, g = images.shape[0], self.config.grid
        patches = self.patch_embed(images).flatten(2).transpose(1, 2)  # (N, g*g, D), raster order
        x = torch.cat([self.cls_token.expand(n, -1, -1), patches], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        return x[:, 0], x[:, 1:].reshape(n, g, g, self.dim)
