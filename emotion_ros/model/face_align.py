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


def aligned_crops(frames: torch.Tensor, boxes: torch.Tensor, keypoints: torch.Tensor, size: int,
                  margin: float) -> torch.Tensor:
    """frames (N, C, H, W); boxes (N, M, 4) and keypoints (N, M, 6, 2) in pixels, M faces per
    frame -> (N, M, C, size, size) crops (zeros outside the frame).

    The M crops of a frame are sampled as one tall grid over that frame, so no frame is copied."""
    n, c, h, w = frames.shape
    m = boxes.shape[1]
    theta = crop_theta(boxes.flatten(0, 1).float(), keypoints.flatten(0, 1).float(), int(h), int(w), margin)
    side = size * SUPERSAMPLE
    grid = sampling_grid(theta, side).reshape(n, m * side, side, 2).to(frames.dtype)
    crops = F.grid_sample(frames, grid, mode="bilinear", padding_mode="zeros", align_corners=False)  # (N, C, M*side, side)
    crops = F.avg_pool2d(crops, SUPERSAMPLE)  # (N, C, M*size, size)
    return crops.reshape(n, c, m, size, size).transpose(1, 2)
