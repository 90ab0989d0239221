"""Every frame read at a bounded cost: faces found at a set rate and followed in between.

Finding faces (two detectors, then the expression network on each face found) costs about
four times as much as reading faces whose place is known (the face_reader graph: crop and expression
network only). A FaceFollower runs the detector at most ``detection_rate`` times per second of
sensor time and, on the frames in between, moves each face found last by its velocity (box and
keypoints, from the last two detections) and reads its expression there. This is MediaPipe's
detect-then-track scheme, with the face embedding of each read (face_encoder.py) instead of a
landmark model's face score to say whether a followed face is still there:

- it detects again at once when a followed face is lost: its read no longer looks like the face
  found (the cosine of their embeddings falls below SAME_FACE), or it would leave the frame;
  and when the stream goes back in time or skips more than ``max_gap`` (a bag loop, dropped
  frames);
- while nobody was found, the frames in between show nobody: a face that comes into view is
  found within 1 / detection_rate s, and an empty room costs no more than a full one;
- the token of a followed face keeps the last detection's probability.

Each detection also goes to a PersonTracker, which gives the faces stable ids; a followed face
keeps the id of the face it follows. The ids of the last ``history`` frames can be looked up by
stamp (track_ids), for the windows that pool those frames.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from emotion_ros.model.face_encoder import BOX, DETECTION, EXPRESSION, SLOTS, empty_token
from emotion_ros.runtime.backend import Backend
from emotion_ros.runtime.estimate import SEQUENTIAL_PREFIX, person_id
from emotion_ros.runtime.frame_cache import stamp_key
from emotion_ros.runtime.people import MATCH_IOU, box_iou
from emotion_ros.runtime.person_tracker import DEFAULT_TRACK_TIMEOUT, PersonTracker

DEFAULT_DETECTION_RATE = 10.0  # [Hz] detections per second of sensor time; frames between are followed
# A followed read is the face found when its embedding's cosine with the detection's is at least
# this. Chosen on scikit-image's lfw_subset (scripts/calibrate_same_face.py): halfway between the
# 1st percentile of a face against itself shifted, scaled and turned a little (0.39) and the 99th
# of a face against a non-face (0.27).
SAME_FACE = 0.33


@dataclass
class _Detection:
    """The faces of the last detection: tokens (F, 12), keypoints (F, 6, 2) and embeddings (F, 128)
    of the F faces found, their track ids (F,) (-1: not confirmed yet), their velocities (F, 4)
    and (F, 6, 2) [fractions of the side per s], and its stamp [s]."""

    stamp: float
    tokens: np.ndarray
    ids: np.ndarray
    keypoints: np.ndarray
    embeddings: np.ndarray
    box_velocity: np.ndarray
    keypoint_velocity: np.ndarray


class FaceFollower:
    """Face tokens (SLOTS, 12) and track ids (SLOTS,) for each frame of one stream: encode() in
    stamp order from one thread; track_ids() from any thread."""

    def __init__(self, backend: Backend, detection_rate: float = DEFAULT_DETECTION_RATE, max_gap: float = 0.5,
                 track_timeout: float = DEFAULT_TRACK_TIMEOUT, history: int = 512, id_prefix: str = SEQUENTIAL_PREFIX):
        """id_prefix: what the tracks' ids start with (estimate.id_prefix)."""
        if not backend.reads_faces:
            raise ValueError(f"{backend.model_id} does not read faces: nothing to follow")
        self.backend = backend
        self.detection_period = 1.0 / detection_rate
        self.max_gap = max_gap
        self.tracker = PersonTracker(detection_rate, track_timeout)
        self.id_prefix = id_prefix
        self._last: _Detection | None = None
        self._previous_stamp = float("-inf")
        self._ids: OrderedDict[int, np.ndarray] = OrderedDict()  # stamp [us] -> (SLOTS,) track ids
        self._history = history
        self._lock = threading.Lock()
        self.detected = 0  # frames on which faces were found
        self.followed = 0  # frames on which followed faces were read
        self.lost = 0  # followed faces that were no longer there (each starts a detection)

    def reset(self) -> None:
        """A new timeline (stamps jumped back): end every track, forget the faces followed."""
        with self._lock:
            self._ids.clear()
        self.tracker.reset()
        self._last, self._previous_stamp = None, float("-inf")

    @property
    def newest_stamp(self) -> float:
        """Stamp of the newest frame encoded [s] (-inf before the first)."""
        return self._previous_stamp

    def encode(self, stamp: float, frame: np.ndarray) -> np.ndarray:
        """frame (H, W, 3) uint8 RGB (letterboxed), stamped ``stamp`` [s] -> (SLOTS, 12) face
        tokens; the faces' track ids are then track_ids([stamp])[0]."""
        tokens = self._encode(stamp, frame)
        ids = np.full(SLOTS, -1)
        ids[: len(self._last.ids)] = self._last.ids
        ids[tokens[:, DETECTION] <= 0] = -1
        with self._lock:
            self._ids[stamp_key(stamp)] = ids
            while len(self._ids) > self._history:
                self._ids.popitem(last=False)
        return tokens

    def track_ids(self, stamps: np.ndarray) -> np.ndarray:
        """stamps (N,) [s] of encoded frames -> (N, SLOTS) track ids of their face slots (-1: empty,
        not confirmed yet, or a frame this follower did not encode)."""
        with self._lock:
            return np.stack([self._ids.get(stamp_key(s), np.full(SLOTS, -1)) for s in stamps]) if len(stamps) \
                else np.zeros((0, SLOTS), int)

    def face_id(self, track: int) -> str:
        """A track's id in messages and topic names."""
        return person_id(track, self.id_prefix)

    def _encode(self, stamp: float, frame: np.ndarray) -> np.ndarray:
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
            tokens[:count, EXPRESSION], embeddings = self.backend.read_faces(frame, boxes, keypoints)
            lost = int(((embeddings * last.embeddings).sum(axis=1) < SAME_FACE).sum())
            if lost:  # turned away, covered, or gone: find out who is there now
                self.lost += lost
                return self._detect(stamp, frame)
        tokens[:count, DETECTION] = last.tokens[:, DETECTION]
        tokens[:count, BOX] = np.clip(boxes, 0.0, 1.0)
        self.followed += 1
        return tokens

    def _detect(self, stamp: float, frame: np.ndarray) -> np.ndarray:
        tokens, keypoints, embeddings = (a[0] for a in self.backend.locate_faces(frame[None]))
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
        ids = self.tracker.update(stamp, faces[:, BOX])
        self._last = _Detection(stamp, faces, ids, points, embeddings[found], box_velocity, keypoint_velocity)
        self.detected += 1
        return tokens
