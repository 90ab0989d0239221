"""One face box expressed in another detector's framing: a scale and an offset in the face's axes.

Detectors box the same face differently (tighter or looser, higher or lower). Where a box from
one must stand for a box from another (BlazeFace's short-range boxes pooled with its
full-range ones; a BlazeFace box turned into the Haar-cascade box FER2013 was cropped by), the
other box is predicted as a similarity of this one: its side is ``scale`` x this box's side and
its centre moves by ``offset`` x that side along the face's own axes, u along the eye line (from
the person's right eye to the left) and v perpendicular to it, towards the chin. The numbers are
derived by comparing the detectors on unlabelled faces (default_model/face_framing.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

RIGHT_EYE, LEFT_EYE = 0, 1  # keypoint rows; the person's right eye is on the image's left


@dataclass(frozen=True)
class BoxFraming:
    scale: float = 1.0
    offset: tuple[float, float] = (0.0, 0.0)  # (u, v) / box side


def eye_axes(keypoints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """keypoints (..., 6, 2) -> cos, sin (...) of the eye line's angle (no atan2: ONNX lacks it)."""
    eyes = keypoints[..., LEFT_EYE, :] - keypoints[..., RIGHT_EYE, :]
    length = eyes.norm(dim=-1).clamp(min=1e-6)
    return eyes[..., 0] / length, eyes[..., 1] / length


def reframe(boxes: torch.Tensor, keypoints: torch.Tensor, framing: BoxFraming) -> tuple[torch.Tensor, torch.Tensor]:
    """boxes (..., 4) x0, y0, x1, y1 and keypoints (..., 6, 2) -> (centres (..., 2), sizes (..., 2)
    width, height) of the boxes in the other framing."""
    size = boxes[..., 2:4] - boxes[..., 0:2]
    side = size.amax(dim=-1)
    cos, sin = eye_axes(keypoints)
    du, dv = framing.offset[0] * side, framing.offset[1] * side
    centre = (boxes[..., 0:2] + boxes[..., 2:4]) / 2 + torch.stack([du * cos - dv * sin, du * sin + dv * cos], dim=-1)
    return centre, size * framing.scale
