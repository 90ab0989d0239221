"""The multiview video encoder, with no face detector.

Temporal view: each of the window's T frames is encoded on its own and its patch grid is
average-pooled to 2x2 tokens; the T x 4 tokens are ordered t, h, w. Because frames are
encoded independently, a frame's (4, D) feature can be cached and reused by every
overlapping window that contains it.

Global view: one frame at a higher resolution; LayerNorm (ln_vision) over CLS and patch
tokens, then groups of 4 consecutive raster-order patch tokens are concatenated into one
token of 4 x D, and the CLS token summarises the frame.
"""

from __future__ import annotations

import torch
from torch import nn

from emotion_ros.model.config import FrameEncoderConfig
from emotion_ros.model.face_encoder import FACE_TOKEN_DIM, SLOTS, pool_face_tokens
from emotion_ros.model.frame_encoder import TOKENS_PER_FRAME, FramePreprocessor
from emotion_ros.model.frame_encoders import build_frame_encoder
from emotion_ros.model.pooling import adaptive_pool_matrix


def frame_feature_shape(config: FrameEncoderConfig) -> tuple[int, int]:
    """The shape of one frame's cached feature: (4, D), or (SLOTS, 12) for a face reader."""
    if config.type == "face_reader":
        return SLOTS, FACE_TOKEN_DIM
    return TOKENS_PER_FRAME, config.dim


class TemporalView(nn.Module):
    def __init__(self, config: FrameEncoderConfig):
        super().__init__()
        self.preprocess = FramePreprocessor(config)
        self.config = config
        self.encoder = build_frame_encoder(config)
        self.dim = self.encoder.dim
        pool = adaptive_pool_matrix(config.grid, 2)
        self.register_buffer("pool", pool, persistent=False)  # (2, g)

    def encode_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """frames: (N, H, W, 3) uint8 RGB -> (N, 4, D) per-frame features (h, w order); a face
        reader gives (N, SLOTS, 12) face tokens instead (face_encoder.py)."""
        if self.config.type == "face_reader":
            return self.encoder(self.preprocess(frames))[1]
        _, patches = self.encoder(self.preprocess(frames))  # (N, g, g, D)
        pooled = torch.einsum("hi,nijd,wj->nhwd", self.pool, patches, self.pool)  # (N, 2, 2, D)
        return pooled.reshape(frames.shape[0], TOKENS_PER_FRAME, self.dim)

    def locate_faces(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A face reader's frames (N, H, W, 3) uint8 -> (face tokens (N, SLOTS, 12), keypoints
        (N, SLOTS, 6, 2) as fractions of the frame side, embeddings (N, SLOTS, 128)), for a
        runtime that follows faces."""
        return self.encoder.locate(self.preprocess(frames))

    def read_faces(self, frames: torch.Tensor, boxes: torch.Tensor, keypoints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A face reader's frames (N, H, W, 3) uint8 and faces to read there (boxes (N, M, 4),
        keypoints (N, M, 6, 2), fractions of the frame side) -> (expression logits (N, M, 7),
        embeddings (N, M, 128))."""
        return self.encoder.read(self.preprocess(frames), boxes, keypoints)

    def pool_in_time(self, frame_features: torch.Tensor, steps: int) -> torch.Tensor:
        """(B, T_read, 4, D) per-frame features -> (B, steps, 4, D): consecutive groups of frames
        averaged (face tokens: weighted by how surely each frame shows the face)."""
        b, t, n, d = frame_features.shape
        if t == steps:
            return frame_features
        groups = frame_features.reshape(b, steps, t // steps, n, d)
        if self.config.type == "face_reader":
            return pool_face_tokens(groups)
        return groups.mean(dim=2)

    @staticmethod
    def tokens(frame_features: torch.Tensor) -> torch.Tensor:
        """(B, T, 4, D) cached per-frame features -> (B, T*4, D) tokens in t, h, w order."""
        b, t, n, d = frame_features.shape
        return frame_features.reshape(b, t * n, d)


class GlobalView(nn.Module):
    def __init__(self, config: FrameEncoderConfig, vision_norm_eps: float):
        super().__init__()
        self.preprocess = FramePreprocessor(config)
        self.encoder = build_frame_encoder(config)
        self.dim = self.encoder.dim
        # The FER encoder's tokens are calibrated logits: normalising them would erase confidence.
        self.ln_vision = nn.LayerNorm(self.dim, eps=vision_norm_eps) if config.type == "vit" else nn.Identity()

    def forward(self, frame: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """frame: (B, H, W, 3) uint8 -> (cls (B, D), grouped patches (B, g*g/4, 4*D))."""
        cls, patches = self.encoder(self.preprocess(frame))
        b = frame.shape[0]
        tokens = self.ln_vision(torch.cat([cls[:, None], patches.reshape(b, -1, self.dim)], dim=1))
        return tokens[:, 0], tokens[:, 1:].reshape(b, -1, 4 * self.dim)
