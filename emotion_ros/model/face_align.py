"""Aligned face crops by grid sampling: upright (eye line level), centred, a fixed margin.

The crop is a similarity transform of the frame, so it is one affine_grid + grid_sample in the
graph (exportable, any number of faces). Its framing follows what the FER2013 crops look like
(forehead to chin, a little background at the sides): the detector's box, which runs from the
brows to the chin, widened by ``margin``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from emotion_ros.model.face_localiser import sampling_grid

RIGHT_EYE, LEFT_EYE = 0, 1  # the person's right eye is on the image's left
SUPERSAMPLE = 2  # sample at twice the crop size and average 2x2: less aliasing on large faces


def crop_theta(boxes: torch.Tensor, keypoints: torch.Tensor, height: int, width: int,
               margin: float) -> torch.Tensor:
    """(F, 2, 3) affine_grid matrices of the aligned crops.

    boxes (F, 4) x0, y0, x1, y1 and keypoints (F, 6, 2) in frame pixels; the crop is a square of
    side max(box w, h) * margin around the box centre, rotated so the eyes are level.
    """
    centre = (boxes[:, 0:2] + boxes[:, 2:4]) / 2
    half = (boxes[:, 2:4] - boxes[:, 0:2]).amax(dim=1) * margin / 2
    eyes = keypoints[:, LEFT_EYE] - keypoints[:, RIGHT_EYE]
    # cos and sin of the eye line's angle, scaled by the half side (no atan2: ONNX lacks it).
    length = eyes.norm(dim=1).clamp(min=1e-6)
    cos, sin = eyes[:, 0] / length * half, eyes[:, 1] / length * half
    # Output (u, v) in [-1, 1] -> frame pixel c + R (u, v) * half -> grid units 2 p / size - 1.
    row_x = torch.stack([cos, -sin, centre[:, 0]], dim=1) * (2.0 / width)
    row_y = torch.stack([sin, cos, centre[:, 1]], dim=1) * (2.0 / height)
    offset = torch.tensor([0.0, 0.0, 1.0], device=boxes.device, dtype=boxes.dtype)
    return torch.stack([row_x - offset, row_y - offset], dim=1)


def aligned_crops(frames: torch.Tensor, frame_index: torch.Tensor, boxes: torch.Tensor,
                  keypoints: torch.Tensor, size: int, margin: float) -> torch.Tensor:
    """frames (N, C, H, W); frame_index (F,) long, the frame of each face; boxes (F, 4) and
    keypoints (F, 6, 2) in pixels -> (F, C, size, size) crops (zeros outside the frame)."""
    _, c, h, w = frames.shape
    theta = crop_theta(boxes.float(), keypoints.float(), int(h), int(w), margin)
    grid = sampling_grid(theta, size * SUPERSAMPLE).to(frames.dtype)
    crops = F.grid_sample(frames[frame_index], grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return F.avg_pool2d(crops, SUPERSAMPLE)
