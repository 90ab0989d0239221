"""Aligned face crops by grid sampling: upright (eye line level), framed as FER2013's faces are.

The crop is a similarity transform of the frame, so it is one affine_grid + grid_sample in the
graph (exportable, any number of faces).

Framing. FER2013's faces were boxed by OpenCV's Haar-cascade face detector and checked by
people (Goodfellow et al., 2013), so the expression network saw Haar-cascade boxes. The crop is
that box, predicted from the detector's (box_framing.py: a scale and an offset in the face's
axes). The two numbers are derived from unlabelled faces by comparing the two detectors' boxes
(default_model/face_framing.py), not chosen by any expression score.

Edges. A Haar-cascade box is always inside the image (its sliding windows never leave it), so
FER2013 crops hold only picture, never padding. A crop that would run past the picture is
therefore shifted back inside it, and shrunk to fit only when it is larger than the picture (a
face filling the frame). "The picture" excludes a letterbox's black bars: the rows and columns
of the frame that are exactly zero at its borders (image_extent). No sample's bilinear
footprint leaves the picture, so the grid sampler's padding is never read (zero padding: it is
2.5x faster than border padding in ONNX Runtime).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from emotion_ros.model.box_framing import BoxFraming, eye_axes, reframe
from emotion_ros.model.face_localiser import average_pool, sampling_grid

SUPERSAMPLE = 2  # sample at twice the crop size and average 2x2: less aliasing on large faces


def image_extent(frames: torch.Tensor) -> torch.Tensor:
    """frames (N, C, H, W) -> (N, 4) x0, y0, x1, y1 [px]: the picture inside any black border
    (a letterbox's padding is exactly zero). An all-black frame is all picture."""
    _, _, h, w = frames.shape
    extents = []
    for across, size in ((2, w), (3, h)):  # columns (x): reduce over rows; rows (y): over columns
        lit = frames.amax(dim=(1, across)) > 0  # (N, size): any channel, anywhere along the line
        index = torch.arange(size, device=frames.device)
        first = torch.where(lit, index, size).amin(dim=1)
        last = torch.where(lit, index + 1, 0).amax(dim=1)
        empty = last <= first
        extents.append((torch.where(empty, 0, first), torch.where(empty, size, last)))
    (x0, x1), (y0, y1) = extents
    return torch.stack([x0, y0, x1, y1], dim=1).to(torch.float32)


def crop_theta(boxes: torch.Tensor, keypoints: torch.Tensor, extent: torch.Tensor, height: int, width: int,
               framing: BoxFraming, samples: int) -> torch.Tensor:
    """(F, 2, 3) affine_grid matrices of the aligned crops, sampled ``samples`` x ``samples``.

    boxes (F, 4) x0, y0, x1, y1 and keypoints (F, 6, 2) in frame pixels; extent (F, 4) the
    picture each face is in [px]. The crop is the square that ``framing`` makes of the box
    (box_framing.py; its side: the longer side), rotated so the eyes are level, then kept
    inside the extent (shifted, and shrunk only to fit) so far that no sample's bilinear
    footprint leaves it.
    """
    centre, size = reframe(boxes, keypoints, framing)
    cos, sin = eye_axes(keypoints)
    # The outermost sample centres lie (1 - 1/samples) half sides from the centre along the
    # turned square's axes: half * (1 - 1/samples) * (|cos| + |sin|) away on the frame's axes.
    # Bilinear sampling reads the pixels around a sample, so it must stay half a pixel in.
    spread = (cos.abs() + sin.abs()) * (1.0 - 1.0 / samples)
    room = (extent[:, 2:4] - extent[:, 0:2]).amin(dim=1) / 2 - 0.5
    half = torch.minimum(size.amax(dim=1) / 2, room.clamp(min=0.0) / spread)
    reach = half * spread + 0.5
    centre_x = torch.minimum(torch.maximum(centre[:, 0], extent[:, 0] + reach), extent[:, 2] - reach)
    centre_y = torch.minimum(torch.maximum(centre[:, 1], extent[:, 1] + reach), extent[:, 3] - reach)
    # Output (u, v) in [-1, 1] -> frame pixel c + R (u, v) * half -> grid units 2 p / size - 1.
    row_x = torch.stack([cos * half, -sin * half, centre_x], dim=1) * (2.0 / width)
    row_y = torch.stack([sin * half, cos * half, centre_y], dim=1) * (2.0 / height)
    corner = torch.tensor([0.0, 0.0, 1.0], device=boxes.device, dtype=boxes.dtype)
    return torch.stack([row_x - corner, row_y - corner], dim=1)


def aligned_crops(frames: torch.Tensor, boxes: torch.Tensor, keypoints: torch.Tensor, size: int,
                  framing: BoxFraming) -> torch.Tensor:
    """frames (N, C, H, W); boxes (N, M, 4) and keypoints (N, M, 6, 2) in pixels, M faces per
    frame -> (N, M, C, size, size) crops, framed as crop_theta says.

    The M crops of a frame are sampled as one tall grid over that frame, so no frame is copied.
    Crops stay inside the picture (crop_theta), so the zero padding is never read."""
    n, c, h, w = frames.shape
    m = boxes.shape[1]
    extent = image_extent(frames).repeat_interleave(m, dim=0)
    side = size * SUPERSAMPLE
    theta = crop_theta(boxes.flatten(0, 1).float(), keypoints.flatten(0, 1).float(), extent, int(h), int(w), framing, side)
    grid = sampling_grid(theta, side).reshape(n, m * side, side, 2).to(frames.dtype)
    crops = F.grid_sample(frames, grid, mode="bilinear", padding_mode="zeros", align_corners=False)  # (N, C, M*side, side)
    crops = average_pool(crops, SUPERSAMPLE)  # (N, C, M*size, size)
    return crops.reshape(n, c, m, size, size).transpose(1, 2)
