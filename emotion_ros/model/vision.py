"""Per-frame image encoders (ViT), pluggable behind one interface."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from emotion_ros.model.config import FrameEncoderConfig
from emotion_ros.model.encoder_block import EncoderBlock


class FrameEncoder(nn.Module):
    """The interface of a per-frame encoder.

    forward(images: (N, 3, S, S) float, normalised) -> (cls (N, D), patches (N, g, g, D)),
    with S = config.image_size and g = config.grid. ``dim`` is D.
    """

    config: FrameEncoderConfig
    dim: int


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


def build_frame_encoder(config: FrameEncoderConfig) -> FrameEncoder:
    if config.type == "fer_mini_xception":
        from emotion_ros.model.fer_encoder import FerFrameEncoder  # it builds on this module

        return FerFrameEncoder(config)
    if config.type == "face_reader":
        from emotion_ros.model.face_encoder import FaceFrameEncoder  # it builds on this module

        return FaceFrameEncoder(config)
    return VisionTransformer(config)


class FramePreprocessor(nn.Module):
    """uint8 RGB frames (N, H, W, 3) -> (N, 3, S, S) float, resized without cropping and
    normalised with the encoder's mean/std (the preset's constants)."""

    def __init__(self, config: FrameEncoderConfig):
        super().__init__()
        self.size = config.image_size
        self.mode = config.resize
        self.register_buffer("mean", torch.tensor(config.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(config.std).view(1, 3, 1, 1), persistent=False)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = frames.permute(0, 3, 1, 2).to(self.mean.dtype) / 255.0
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode=self.mode, align_corners=False)
            x = x.clamp(0.0, 1.0)  # bicubic overshoots
        return (x - self.mean) / self.std
