"""What every per-frame image encoder takes and gives: frames resized and normalised by
FramePreprocessor in, (cls, patches) out (FrameEncoder). The encoders themselves (ViT, FER,
face reader) build on this module; frame_encoders.py picks one by its config's type."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from emotion_ros.model.config import FrameEncoderConfig

TOKENS_PER_FRAME = 4  # a frame's patch grid pooled to 2x2 tokens (video.py)


class FrameEncoder(nn.Module):
    """The interface of a per-frame encoder.

    forward(images: (N, 3, S, S) float, normalised) -> (cls (N, D), patches (N, g, g, D)),
    with S = config.image_size and g = config.grid. ``dim`` is D.
    """

    config: FrameEncoderConfig
    dim: int


class FramePreprocessor(nn.Module):
    """uint8 RGB frames (N, H, W, 3) -> (N, 3, S, S) float, resized without cropping and
    normalised with the encoder's mean/std (the preset's constants)."""

    def __init__(self, config: FrameEncoderConfig):
        super().__init__()
        self.size = config.image_size
        self.mode = config.resize
        # (x / 255 - mean) / std as one multiply-add (resizing is linear, so it can come first).
        mean, std = torch.tensor(config.mean).view(1, 3, 1, 1), torch.tensor(config.std).view(1, 3, 1, 1)
        self.register_buffer("scale", 1.0 / (255.0 * std), persistent=False)
        self.register_buffer("shift", -mean / std, persistent=False)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = frames.permute(0, 3, 1, 2).to(self.scale.dtype)
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode=self.mode, align_corners=False)
            x = x.clamp(0.0, 255.0)  # bicubic overshoots
        return x * self.scale + self.shift
