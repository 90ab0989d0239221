"""Faces from another node's face pipeline (ROS4HRI's hri_face_detect), instead of our own.

A FaceSource like FaceFollower, for the node's `faces.source: ros4hri` mode: the other node
says which faces are in view (/humans/faces/tracked), where (/humans/faces/<id>/roi, normalised
to the image) and what they look like (/humans/faces/<id>/cropped, the face scaled, centred and
0-padded). Each new crop is read once by the model's face reader (read_faces: the crop and the
expression network, no detector), with the eyes taken as level (ROS4HRI crops are upright
faces); each camera frame then gets the newest read of every tracked face whose crop is at most
``max_age`` seconds older than the frame. Their ids are the other node's ("a1b2c"), and a face
is tracked for as long as it has been in its id list.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import numpy as np

from emotion_ros.io.letterbox import Letterbox, letterbox
from emotion_ros.model.face_encoder import BOX, DETECTION, EXPRESSION, SLOTS, empty_token
from emotion_ros.runtime.backend import Backend
from emotion_ros.runtime.frame_cache import stamp_key

FOUND_LOGIT = 4.0  # detection logit of a face the other node found without a confidence (probability 0.98)
MIN_LOGIT = 0.05  # a listed face with a low confidence still counts as present (probability > 0.5)
# Where a level face's eyes are in its box (fractions; RIGHT_EYE then LEFT_EYE as BlazeFace orders
# them): only their direction matters to the aligned read (face_align.py).
LEVEL_EYES = np.array([[0.3, 0.4], [0.7, 0.4]], np.float32)


@dataclass
class _Face:
    """One outside face: track (our number for its id), since [s] it was first listed, expression
    logits of its newest crop and that crop's stamp [s], and its region (x0, y0, x1, y1, confidence)
    normalised to the image, when known."""

    track: int
    since: float
    expression: np.ndarray | None = None
    read_at: float = float("-inf")
    roi: tuple[float, float, float, float, float] | None = None


class ExternalFaces:
    """Face tokens and ids for camera frames from faces another node finds. The update methods
    and encode() may run on different threads."""

    def __init__(self, backend: Backend, image_size: Callable[[], tuple[int, int] | None], max_age: float = 0.5,
                 history: int = 512):
        """image_size() -> the camera's (height, width) [px], to place the regions in our frames."""
        if not backend.reads_faces:
            raise ValueError(f"{backend.model_id} does not read faces: it cannot read another node's faces")
        self.backend = backend
        self.image_size = image_size
        self.max_age = max_age
        self.tracker = self  # tracked_for, as PersonTracker has it
        self._faces: dict[str, _Face] = {}
        self._names: dict[int, str] = {}
        self._count = 0
        self._ids: OrderedDict[int, np.ndarray] = OrderedDict()
        self._history = history
        self._newest = float("-inf")
        self._lock = threading.Lock()
        self.crops_read = 0

    # -- what the other node says -----------------------------------------------------------------
    def set_tracked(self, stamp: float, ids: list[str]) -> None:
        """The ids in view at ``stamp`` [s]; a face not listed is gone (its id is never reused)."""
        with self._lock:
            for gone in set(self._faces) - set(ids):
                del self._faces[gone]
            for face_id in ids:
                if face_id not in self._faces:
                    self._count += 1
                    self._faces[face_id] = _Face(self._count, stamp)
                    self._names[self._count] = face_id

    def set_roi(self, face_id: str, xmin: float, ymin: float, xmax: float, ymax: float, confidence: float) -> None:
        with self._lock:
            if face_id in self._faces:
                self._faces[face_id].roi = (xmin, ymin, xmax, ymax, confidence)

    def add_crop(self, face_id: str, stamp: float, crop: np.ndarray) -> bool:
        """crop (h, w, 3) uint8 RGB of a listed face, taken at ``stamp`` [s]; False for an unlisted id."""
        with self._lock:
            if face_id not in self._faces:
                return False
        side = self.backend.frame_size
        height, width = crop.shape[:2]
        frame = letterbox(crop, side)
        box = Letterbox(height, width, side).from_frame(np.array([0, 0, width, height])).astype(np.float32)
        eyes = box[:2] + LEVEL_EYES * (box[2:] - box[:2])
        keypoints = np.concatenate([eyes, np.repeat(eyes.mean(axis=0, keepdims=True), 4, axis=0)])
        expression, _ = self.backend.read_faces(frame, box[None], keypoints[None])
        with self._lock:
            face = self._faces.get(face_id)
            if face is not None and stamp >= face.read_at:
                face.expression, face.read_at = expression[0], stamp
                self.crops_read += 1
        return True

    # -- a FaceSource ------------------------------------------------------------------------------
    @property
    def newest_stamp(self) -> float:
        return self._newest

    def encode(self, stamp: float, frame: np.ndarray) -> np.ndarray:
        """frame (side, side, 3), letterboxed, at ``stamp`` [s] -> (SLOTS, 12) tokens of the faces
        with a crop read within max_age of it, largest first; their ids by track_ids."""
        size = self.image_size()
        with self._lock:
            faces = [f for f in self._faces.values() if f.expression is not None and abs(stamp - f.read_at) <= self.max_age]
        tokens = np.tile(empty_token(), (SLOTS, 1))
        ids = np.full(SLOTS, -1)
        rows = []
        for face in faces:
            token = empty_token().copy()
            token[EXPRESSION] = face.expression
            confidence = face.roi[4] if face.roi is not None and 0 < face.roi[4] < 1 else None
            # The other node lists the face, so it is there (a positive logit) however unsure its detector was.
            token[DETECTION] = FOUND_LOGIT if confidence is None else max(np.log(confidence / (1 - confidence)), MIN_LOGIT)
            if face.roi is not None and size is not None:
                height, width = size
                pixels = np.array(face.roi[:4]) * [width, height, width, height]
                token[BOX] = Letterbox(height, width, frame.shape[0]).from_frame(pixels)
            else:
                token[BOX] = 0.0  # where is not known yet
            rows.append((token, face.track))
        rows.sort(key=lambda row: -float((row[0][BOX][2] - row[0][BOX][0]) * (row[0][BOX][3] - row[0][BOX][1])))
        for slot, (token, track) in enumerate(rows[:SLOTS]):
            tokens[slot], ids[slot] = token, track
        with self._lock:
            self._newest = max(self._newest, stamp)
            self._ids[stamp_key(stamp)] = ids
            while len(self._ids) > self._history:
                self._ids.popitem(last=False)
        return tokens

    def track_ids(self, stamps: np.ndarray) -> np.ndarray:
        with self._lock:
            return np.stack([self._ids.get(stamp_key(s), np.full(SLOTS, -1)) for s in stamps]) if len(stamps) \
                else np.zeros((0, SLOTS), int)

    def face_id(self, track: int) -> str:
        """The other node's id of our track number."""
        return self._names.get(track, "")

    def tracked_for(self, track: int, stamp: float) -> float:
        with self._lock:
            face = self._faces.get(self._names.get(track, ""))
        return max(0.0, stamp - face.since) if face is not None else 0.0
