"""Every frame read at a bounded cost: faces found at a set rate and followed in between.

Finding faces (the detector, then the expression network on all eight slots) costs about seven
times as much as reading faces whose place is known (the face_reader graph: crop and expression
network only). A FaceFollower runs the detector at most ``detection_rate`` times per second of
sensor time and, on the frames in between, moves each face found last by its velocity (box and
keypoints, from the last two detections) and reads its expression there. This is MediaPipe's
detect-then-track scheme, without a landmark model to say whether a followed face is still there:

- it detects again early when a followed face would leave the frame, when the stream goes back
  in time or skips more than ``max_gap`` (a bag loop, dropped frames);
- while nobody was found, the frames in between show nobody: a face that comes into view is
  found within 1 / detection_rate s, and an empty room costs no more than a full one;
- a face that leaves between detections is noticed at the next one, at most 1 / detection_rate
  later; until then its token keeps the last detection's probability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emotion_ros.model.face_encoder import BOX, DETECTION, EXPRESSION, SLOTS, empty_token
from emotion_ros.runtime.backend import Backend
from emotion_ros.runtime.people import MATCH_IOU, box_iou

DEFAULT_DETECTION_RATE = 10.0  # [Hz] detections per second of sensor time; frames between are followed


@dataclass
class _Detection:
    """The faces of the last detection: tokens (F, 12) and keypoints (F, 6, 2) of the F faces
    found, their velocities (F, 4) and (F, 6, 2) [fractions of the side per s], and its stamp [s]."""

    stamp: float
    tokens: np.ndarray
    keypoints: np.ndarray
    box_velocity: np.ndarray
    keypoint_velocity: np.ndarray


class FaceFollower:
    """Face tokens (SLOTS, 12) for each frame of one stream, in stamp order (one thread)."""

    def __init__(self, backend: Backend, detection_rate: float = DEFAULT_DETECTION_RATE, max_gap: float = 0.5):
        if not backend.reads_faces:
            raise ValueError(f"{backend.model_id} does not read faces: nothing to follow")
        self.backend = backend
        self.detection_period = 1.0 / detection_rate
        self.max_gap = max_gap
        self._last: _Detection | None = None
        self._previous_stamp = float("-inf")
        self.detected = 0  # frames on which faces were found
        self.followed = 0  # frames on which followed faces were read

    def encode(self, stamp: float, frame: np.ndarray) -> np.ndarray:
        """frame (H, W, 3) uint8 RGB (letterboxed), stamped ``stamp`` [s] -> (SLOTS, 12) face tokens."""
        last, previous = self._last, self._previous_stamp
        self._previous_stamp = stamp
        if last is None or not previous < stamp <= previous + self.max_gap \
                or stamp - last.stamp >= self.detection_period - 1e-6:
            return self._detect(stamp, frame)
        elapsed = stamp - last.stamp
        boxes = last.tokens[:, BOX] + last.box_velocity * elapsed
        keypoints = last.keypoints + last.keypoint_velocity * elapsed
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        if ((centres < 0) | (centres > 1)).any():  # walking out of view: find out who is still there
            return self._detect(stamp, frame)
        tokens = np.tile(empty_token(), (SLOTS, 1))
        count = len(boxes)
        if count:
            tokens[:count, EXPRESSION] = self.backend.read_faces(frame, boxes, keypoints)
        tokens[:count, DETECTION] = last.tokens[:, DETECTION]
        tokens[:count, BOX] = np.clip(boxes, 0.0, 1.0)
        self.followed += 1
        return tokens

    def _detect(self, stamp: float, frame: np.ndarray) -> np.ndarray:
        tokens, keypoints = (a[0] for a in self.backend.locate_faces(frame[None]))
        found = tokens[:, DETECTION] > 0  # empty slots come last
        faces, points = tokens[found], keypoints[found]
        box_velocity, keypoint_velocity = np.zeros((len(faces), 4), np.float32), np.zeros_like(points)
        last = self._last
        if last is not None and last.tokens.size and faces.size and 0 < stamp - last.stamp <= self.max_gap:
            # Each face moves like the face of the last detection it overlaps most (greedy).
            overlaps = box_iou(faces[:, BOX], last.tokens[:, BOX])
            while overlaps.size and overlaps.max() >= MATCH_IOU:
                new, old = np.unravel_index(int(overlaps.argmax()), overlaps.shape)
                dt = stamp - last.stamp
                box_velocity[new] = (faces[new, BOX] - last.tokens[old, BOX]) / dt
                keypoint_velocity[new] = (points[new] - last.keypoints[old]) / dt
                overlaps[new, :] = overlaps[:, old] = -1
        self._last = _Detection(stamp, faces, points, box_velocity, keypoint_velocity)
        self.detected += 1
        return tokens
