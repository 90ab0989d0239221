"""Faces in a frame of any size: letterbox, BlazeFace, anchor decoding, weighted suppression.

Everything is tensor code with fixed output sizes, so it runs inside the exported graphs:
a frame goes in, up to ``max_faces`` faces come out (boxes and keypoints in frame pixels,
scores; empty slots score 0). The decoding and suppression follow MediaPipe's
TensorsToDetectionsCalculator and its weighted non-maximum suppression, with MediaPipe's
published settings (score 0.5, suppression IoU 0.3), not settings tuned here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from emotion_ros.model.blazeface import INPUT_SIZE, NUM_KEYPOINTS, BlazeFaceFullRange, anchor_centres

SCORE_CLIP = 100.0  # MediaPipe clips the raw logits to +-100 before the sigmoid
CANDIDATES = 64  # the highest-scoring anchors that enter suppression
SUPPRESSION_ROUNDS = 4  # parallel greedy-suppression rounds (see _greedy_keep)


@dataclass
class Faces:
    """boxes (N, M, 4) x0, y0, x1, y1 and keypoints (N, M, 6, 2) x, y, in frame pixels (continuous:
    pixel i spans [i, i + 1]); scores (N, M) detection probabilities, sorted, 0 in empty slots.
    All float32, whatever the frames' precision."""

    boxes: torch.Tensor
    keypoints: torch.Tensor
    scores: torch.Tensor


def sampling_grid(theta: torch.Tensor, size: int) -> torch.Tensor:
    """affine_grid(theta, (F, C, size, size), align_corners=False) written as a matrix product:
    theta (F, 2, 3) -> (F, size, size, 2). (ONNX has AffineGrid only from opset 20.)"""
    steps = (torch.arange(size, device=theta.device, dtype=theta.dtype) * 2 + 1) / size - 1
    ys, xs = torch.meshgrid(steps, steps, indexing="ij")
    base = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1).reshape(1, size * size, 3)
    return (base @ theta.transpose(1, 2)).reshape(-1, size, size, 2)


def _iou(boxes: torch.Tensor) -> torch.Tensor:
    """boxes (N, K, 4) x0, y0, x1, y1 -> (N, K, K) intersection over union."""
    x0 = torch.maximum(boxes[:, :, None, 0], boxes[:, None, :, 0])
    y0 = torch.maximum(boxes[:, :, None, 1], boxes[:, None, :, 1])
    x1 = torch.minimum(boxes[:, :, None, 2], boxes[:, None, :, 2])
    y1 = torch.minimum(boxes[:, :, None, 3], boxes[:, None, :, 3])
    inter = (x1 - x0).clamp(min=0) * (y1 - y0).clamp(min=0)
    area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    return inter / (area[:, :, None] + area[:, None, :] - inter).clamp(min=1e-9)


def _greedy_keep(valid: torch.Tensor, overlap: torch.Tensor, rounds: int) -> torch.Tensor:
    """Greedy NMS over candidates sorted by score, as fixed-size tensor rounds.

    valid (N, K) bool; overlap (N, K, K) bool, [i, j] = i and j overlap. A candidate is kept
    when no kept, higher-scoring candidate overlaps it. Each round settles at least one more
    link of every suppression chain, so after ``rounds`` rounds the result is exact for chains
    up to that length (face detections overlap in clusters, not long chains).
    """
    k = valid.shape[1]
    earlier = torch.ones(k, k, dtype=torch.bool, device=valid.device).triu(1)  # [j, i]: j ranks above i
    blockers = overlap & earlier  # [j, i]
    keep = valid
    for _ in range(rounds):
        suppressed = (blockers & keep[:, :, None]).any(dim=1)
        keep = valid & ~suppressed
    return keep


class FaceLocaliser(nn.Module):
    """frames (N, 3, H, W) RGB in [0, 1], any H and W -> Faces with ``max_faces`` slots."""

    def __init__(self, max_faces: int = 4, min_score: float = 0.5, iou_threshold: float = 0.3):
        super().__init__()
        self.detector = BlazeFaceFullRange()
        self.max_faces, self.min_score, self.iou_threshold = max_faces, min_score, iou_threshold
        self.register_buffer("anchors", anchor_centres(), persistent=False)

    def detector_input(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, 3, 192, 192) in [-1, 1]: the letterboxed frame."""
        n, _, h, w = frames.shape
        # Average-pool by the integer part of the shrink first: bilinear sampling alone aliases
        # when a 640 px frame becomes 192 px. Python ints: the frame size is fixed per graph.
        factor = max(1, int(max(h, w)) // INPUT_SIZE)
        x = F.avg_pool2d(frames, factor, ceil_mode=True) if factor > 1 else frames
        # Letterbox: the longer side fills the input, centred; the rest is black padding.
        side = max(int(h), int(w))
        theta = torch.tensor([[side / int(w), 0.0, 0.0], [0.0, side / int(h), 0.0]], dtype=frames.dtype,
                             device=frames.device).expand(n, 2, 3)
        grid = sampling_grid(theta, INPUT_SIZE)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False) * 2.0 - 1.0

    def forward(self, frames: torch.Tensor) -> Faces:
        n, _, h, w = frames.shape
        logits, raw = self.detector(self.detector_input(frames))
        # Decoding and suppression in float32 even in a float16 graph: areas, IoUs and weight
        # sums underflow in half precision.
        logits, raw = logits.float(), raw.float()
        scores = torch.sigmoid(logits.clamp(-SCORE_CLIP, SCORE_CLIP))  # (N, A)
        scores, order = scores.topk(min(CANDIDATES, scores.shape[1]), dim=1)  # (N, K), sorted
        raw = torch.gather(raw, 1, order[:, :, None].expand(-1, -1, raw.shape[2])) / INPUT_SIZE
        anchors = self.anchors[order]  # (N, K, 2)
        centre, size = raw[..., 0:2] + anchors, raw[..., 2:4]
        boxes = torch.cat([centre - size / 2, centre + size / 2], dim=2)  # letterbox units [0, 1]
        keypoints = raw[..., 4:].reshape(n, -1, NUM_KEYPOINTS, 2) + anchors[:, :, None]

        overlap = _iou(boxes) > self.iou_threshold  # (N, K, K)
        valid = scores >= self.min_score
        keep = _greedy_keep(valid, overlap, SUPPRESSION_ROUNDS)
        # Weighted suppression: each candidate joins the best kept detection it overlaps, and a
        # kept detection becomes the score-weighted mean of its cluster (MediaPipe's WEIGHTED).
        k = scores.shape[1]
        rank = torch.arange(k, device=frames.device)
        allowed = overlap & keep[:, :, None] & valid[:, None, :] & (rank[:, None] <= rank[None, :])
        first_rank = torch.where(allowed, rank[None, :, None], k).amin(dim=1)  # (N, K members)
        first = allowed & (rank[None, :, None] == first_rank[:, None, :])  # [i, j]: i is the first kept over j
        weights = first.to(scores.dtype) * scores[:, None, :]  # (N, K kept, K members)
        total = weights.sum(dim=2, keepdim=True).clamp(min=1e-9)
        boxes = torch.einsum("nij,njc->nic", weights, boxes) / total
        keypoints = torch.einsum("nij,njc->nic", weights, keypoints.flatten(2)).reshape_as(keypoints) / total[..., None]

        kept = scores * keep.to(scores.dtype)
        top, slot = kept.topk(self.max_faces, dim=1)
        boxes = torch.gather(boxes, 1, slot[:, :, None].expand(-1, -1, 4))
        keypoints = torch.gather(keypoints, 1, slot[:, :, None, None].expand(-1, -1, NUM_KEYPOINTS, 2))
        # Letterbox units -> frame pixels.
        side = float(max(int(h), int(w)))
        offset = torch.tensor([(side - int(w)) / 2, (side - int(h)) / 2], device=frames.device)
        boxes = boxes * side - offset.repeat(2)
        keypoints = keypoints * side - offset
        return Faces(boxes, keypoints, top)
