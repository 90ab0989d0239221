"""Faces in a frame of any size, near or far: letterbox, two BlazeFace models, anchor decoding,
weighted suppression.

MediaPipe ships two BlazeFace detectors: the full-range model (192 px input, blazeface.py) for
faces far from the camera, down to about 1/20 of the frame, and the short-range model (128 px,
blazeface_short.py) for faces close to it, up to one that fills the frame, where the full-range
model is unsure or misses. Both run on the same letterboxed frame; their candidates are decoded
into the same units and framing, pooled, and suppressed together, so a face both find becomes one
detection (with the full-range model's box where that model is sure of the face) and a face only
one finds is kept.

Everything is tensor code with fixed output sizes, so it runs inside the exported graphs:
a frame goes in, up to ``max_faces`` faces come out (boxes and keypoints in frame pixels,
scores; empty slots score 0). The decoding and suppression follow MediaPipe's
TensorsToDetectionsCalculator and its weighted non-maximum suppression, with MediaPipe's
published settings (score 0.5, suppression IoU 0.3, the same for both models), not settings
tuned here.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from emotion_ros.model import blazeface, blazeface_short
from emotion_ros.model.blazeface import NUM_KEYPOINTS
from emotion_ros.model.box_framing import BoxFraming, reframe

SCORE_CLIP = 100.0  # MediaPipe clips the raw logits to +-100 before the sigmoid
CANDIDATES = 64  # the highest-scoring anchors that enter suppression
SUPPRESSION_ROUNDS = 4  # parallel greedy-suppression rounds (see _greedy_keep)
NESTED = 0.5  # a box holds another face when more than this share of that face's box is inside it
# The short-range model boxes a face tighter and lower than the full-range model; its boxes are
# put in the full-range framing before the two are pooled. Derived from unlabelled faces that
# both models find (models/face_framing.json, scripts/derive_face_framing.py).
SHORT_TO_FULL = BoxFraming(scale=1.041, offset=(-0.044, -0.066))


@dataclass
class Faces:
    """boxes (N, M, 4) x0, y0, x1, y1 and keypoints (N, M, 6, 2) x, y, in frame pixels (continuous:
    pixel i spans [i, i + 1]); scores (N, M) detection probabilities, sorted, 0 in empty slots;
    full_range (N, M) the full-range model's best score among the candidates pooled into each
    face (below min_score: only the short-range model is sure of it). All float32, whatever the
    frames' precision."""

    boxes: torch.Tensor
    keypoints: torch.Tensor
    scores: torch.Tensor
    full_range: torch.Tensor


def average_pool(x: torch.Tensor, factor: int) -> torch.Tensor:
    """avg_pool2d(x, factor, ceil_mode=True): where factor tiles x, as a depthwise convolution
    with equal weights (the same means; ONNX Runtime runs it twice as fast as AveragePool)."""
    channels, h, w = x.shape[1:]
    if int(h) % factor or int(w) % factor:
        return F.avg_pool2d(x, factor, ceil_mode=True)
    weight = torch.full((int(channels), 1, factor, factor), 1.0 / factor**2, dtype=x.dtype, device=x.device)
    return F.conv2d(x, weight, stride=factor, groups=int(channels))


def _pooled(frames: torch.Tensor, factor: int, pooled: dict[int, torch.Tensor]) -> torch.Tensor:
    """frames average-pooled by factor (ceil mode), from the coarsest cached pooling that divides
    it (exactly the same means, at a fraction of the cost, where that pooling tiled the frame)."""
    if factor not in pooled:
        h, w = frames.shape[-2:]
        start = max(f for f in pooled if factor % f == 0 and int(h) % f == 0 and int(w) % f == 0)
        pooled[factor] = average_pool(pooled[start], factor // start)
    return pooled[factor]


def sampling_grid(theta: torch.Tensor, size: int) -> torch.Tensor:
    """affine_grid(theta, (F, C, size, size), align_corners=False) written as a matrix product:
    theta (F, 2, 3) -> (F, size, size, 2). (ONNX has AffineGrid only from opset 20.)"""
    steps = (torch.arange(size, device=theta.device, dtype=theta.dtype) * 2 + 1) / size - 1
    ys, xs = torch.meshgrid(steps, steps, indexing="ij")
    base = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1).reshape(1, size * size, 3)
    return (base @ theta.transpose(1, 2)).reshape(-1, size, size, 2)


def _overlaps(boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """boxes (N, K, 4) x0, y0, x1, y1 -> ((N, K, K) intersection over union, (N, K, K) [i, j]
    the share of box j that lies inside box i)."""
    x0 = torch.maximum(boxes[:, :, None, 0], boxes[:, None, :, 0])
    y0 = torch.maximum(boxes[:, :, None, 1], boxes[:, None, :, 1])
    x1 = torch.minimum(boxes[:, :, None, 2], boxes[:, None, :, 2])
    y1 = torch.minimum(boxes[:, :, None, 3], boxes[:, None, :, 3])
    inter = (x1 - x0).clamp(min=0) * (y1 - y0).clamp(min=0)
    area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    return inter / (area[:, :, None] + area[:, None, :] - inter).clamp(min=1e-9), inter / area[:, None, :].clamp(min=1e-9)


def _iou(boxes: torch.Tensor) -> torch.Tensor:
    """boxes (N, K, 4) x0, y0, x1, y1 -> (N, K, K) intersection over union."""
    return _overlaps(boxes)[0]


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

    def __init__(self, max_faces: int = 4, min_score: float = 0.5, iou_threshold: float = 0.3,
                 short_framing: BoxFraming = SHORT_TO_FULL):
        super().__init__()
        self.detector = blazeface.BlazeFaceFullRange()
        self.detector_short = blazeface_short.BlazeFaceShortRange()
        self.max_faces, self.min_score, self.iou_threshold = max_faces, min_score, iou_threshold
        self.short_framing = short_framing
        self.register_buffer("anchors", blazeface.anchor_centres(), persistent=False)
        self.register_buffer("anchors_short", blazeface_short.anchor_centres(), persistent=False)

    @staticmethod
    def detector_input(frames: torch.Tensor, size: int = blazeface.INPUT_SIZE,
                       pooled: dict[int, torch.Tensor] | None = None) -> torch.Tensor:
        """(N, 3, size, size) in [-1, 1]: the letterboxed frame. pooled: frames average-pooled
        by each factor so far, shared between the two detectors (filled in here)."""
        n, _, h, w = frames.shape
        # Average-pool by the integer part of the shrink first: bilinear sampling alone aliases
        # when a 640 px frame becomes 192 px. Python ints: the frame size is fixed per graph.
        factor = max(1, int(max(h, w)) // size)
        x = _pooled(frames, factor, {1: frames} if pooled is None else pooled)
        if x.shape[-2:] == (size, size):  # a square frame that pooled to the input exactly
            return x * 2.0 - 1.0
        # Letterbox: the longer side fills the input, centred; the rest is black padding.
        side = max(int(h), int(w))
        theta = torch.tensor([[side / int(w), 0.0, 0.0], [0.0, side / int(h), 0.0]], dtype=frames.dtype,
                             device=frames.device).expand(n, 2, 3)
        grid = sampling_grid(theta, size)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False) * 2.0 - 1.0

    def candidates(self, frames: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Each model's anchors decoded, full range then short range, each in its own framing:
        scores (N, A), boxes (N, A, 4) x0, y0, x1, y1 and keypoints (N, A, 6, 2) in letterbox
        units [0, 1]."""
        n = frames.shape[0]
        found, pooled = [], {1: frames}
        for detector, anchors, size in ((self.detector, self.anchors, blazeface.INPUT_SIZE),
                                        (self.detector_short, self.anchors_short, blazeface_short.INPUT_SIZE)):
            logits, raw = detector(self.detector_input(frames, size, pooled))
            # Decoding and suppression in float32 even in a float16 graph: areas, IoUs and
            # weight sums underflow in half precision.
            raw = raw.float() / size
            centre, extent = raw[..., 0:2] + anchors, raw[..., 2:4]
            found.append((torch.sigmoid(logits.float().clamp(-SCORE_CLIP, SCORE_CLIP)),
                          torch.cat([centre - extent / 2, centre + extent / 2], dim=2),
                          raw[..., 4:].reshape(n, -1, NUM_KEYPOINTS, 2) + anchors[:, None]))
        return found

    def forward(self, frames: torch.Tensor) -> Faces:
        (scores, boxes, keypoints), (short_scores, short_boxes, short_keypoints) = self.candidates(frames)
        centre, size = reframe(short_boxes, short_keypoints, self.short_framing)
        full_range = torch.cat([torch.ones_like(scores), torch.zeros_like(short_scores)], dim=1)
        return self.suppress(frames, torch.cat([scores, short_scores], dim=1),
                             torch.cat([boxes, torch.cat([centre - size / 2, centre + size / 2], dim=2)], dim=1),
                             torch.cat([keypoints, short_keypoints], dim=1), full_range)

    def suppress(self, frames: torch.Tensor, scores: torch.Tensor, boxes: torch.Tensor, keypoints: torch.Tensor,
                 full_range: torch.Tensor | None = None) -> Faces:
        """Candidates (as ``candidates`` gives them) of ``frames`` -> the faces, in frame pixels.
        full_range (N, A): 1 where a candidate is the full-range model's (default: all)."""
        n, _, h, w = frames.shape
        scores, order = scores.topk(min(CANDIDATES, scores.shape[1]), dim=1)  # (N, K), sorted
        boxes = torch.gather(boxes, 1, order[:, :, None].expand(-1, -1, 4))
        keypoints = torch.gather(keypoints, 1, order[:, :, None, None].expand(-1, -1, NUM_KEYPOINTS, 2))
        full_range = scores if full_range is None else scores * torch.gather(full_range, 1, order)

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
        # A face the full-range model is sure of keeps that model's box: only its members weigh
        # in (the short-range model adds the faces it alone finds, not a second opinion on these).
        sure_full = full_range >= self.min_score  # (N, K members)
        supported = (first & sure_full[:, None, :]).any(dim=2, keepdim=True)  # (N, K kept, 1)
        weights = torch.where(supported, weights * sure_full[:, None, :].to(scores.dtype), weights)
        total = weights.sum(dim=2, keepdim=True).clamp(min=1e-9)
        boxes = torch.einsum("nij,njc->nic", weights, boxes) / total
        keypoints = torch.einsum("nij,njc->nic", weights, keypoints.flatten(2)).reshape_as(keypoints) / total[..., None]
        full_range = (first.to(scores.dtype) * full_range[:, None, :]).amax(dim=2)  # (N, K kept)

        kept = scores * keep.to(scores.dtype)
        top, slot = kept.topk(self.max_faces, dim=1)
        full_range = torch.gather(full_range, 1, slot) * (top > 0).to(scores.dtype)
        boxes = torch.gather(boxes, 1, slot[:, :, None].expand(-1, -1, 4))
        keypoints = torch.gather(keypoints, 1, slot[:, :, None, None].expand(-1, -1, NUM_KEYPOINTS, 2))
        # A face only the short-range model is sure of that holds most of a face the full-range
        # model is sure of is that face again, boxed too large or shifted (the short-range model
        # misjudges faces far from the camera), not another face: faces do not nest.
        sure = full_range >= self.min_score
        others = ~torch.eye(self.max_faces, dtype=torch.bool, device=frames.device)
        nested = (_overlaps(boxes)[1] > NESTED) & sure[:, None, :] & others
        top = top * ~(~sure & nested.any(dim=2))
        # Letterbox units -> frame pixels.
        side = float(max(int(h), int(w)))
        offset = torch.tensor([(side - int(w)) / 2, (side - int(h)) / 2], device=frames.device)
        boxes = boxes * side - offset.repeat(2)
        keypoints = keypoints * side - offset
        return Faces(boxes, keypoints, top, full_range)
