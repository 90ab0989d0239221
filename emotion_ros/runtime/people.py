"""Who is in a window: face tokens of its frames grouped into people.

The face encoder gives up to eight faces per frame (face_encoder.py). With track ids (from the
FaceFollower's PersonTracker), a window's people are its tracks: everyone confirmed in any of its
frames, with a face not confirmed yet (found once) joined to the track whose box it overlaps in
the nearest frame; a face never confirmed is nobody (a one-frame false detection). Without ids
(frames encoded outside the follower), the people are the faces of the newest frame that shows any face, each followed back through the earlier frames by box
overlap (greedy, best IoU first), which is enough inside one 2 s window where faces move a few
pixels between frames. A window's frames are all the frames read in it (every camera frame when
frames are encoded on arrival), pooled into its T slices per person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from emotion_ros.model.face_encoder import BOX, DETECTION, empty_token, person_tokens, pool_face_tokens

MATCH_IOU = 0.3  # a face in an earlier frame is the same person when its box overlaps this much


@dataclass(frozen=True)
class PersonView:
    """slots (T,) int: the person's face slot in each frame (-1: not seen); box (4,) x0, y0, x1, y1
    in the newest frame that shows them, as fractions of the square frame's side; seen: the
    share of the window's frames that show them; track: their track id (-1 without tracking);
    detection: their mean face detection probability over the frames that show them."""

    slots: np.ndarray
    box: np.ndarray
    seen: float
    track: int = -1
    detection: float = 0.0

    @property
    def area(self) -> float:
        return float((self.box[2] - self.box[0]) * (self.box[3] - self.box[1]))


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (A, 4), b (B, 4) boxes x0, y0, x1, y1 -> (A, B) intersection over union."""
    x0, y0 = np.maximum(a[:, None, 0], b[None, :, 0]), np.maximum(a[:, None, 1], b[None, :, 1])
    x1, y1 = np.minimum(a[:, None, 2], b[None, :, 2]), np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda r: (r[:, 2] - r[:, 0]) * (r[:, 3] - r[:, 1])  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None] - inter, 1e-9)


def people_in_window(features: np.ndarray, frame_mask: np.ndarray | None = None,
                     ids: np.ndarray | None = None) -> list[PersonView]:
    """features (T, SLOTS, 12) face tokens; frame_mask (T,) bool, frames that really belong to the
    window (others are ignored); ids (T, SLOTS) their track ids (-1: none; given, only tracks are
    people) -> the people, largest face first."""
    t = features.shape[0]
    usable = np.ones(t, bool) if frame_mask is None else np.asarray(frame_mask, bool)
    present = (features[..., DETECTION] > 0) & usable[:, None]  # (T, SLOTS): detection probability > 0.5
    tracked = ids is not None
    ids = np.where(present, ids, -1) if tracked else np.full(present.shape, -1)
    tracks = np.unique(ids[ids >= 0])
    if tracks.size or tracked:
        people = [np.array([_slot_of(row, track) for row in ids]) for track in tracks]
    else:
        frames_with_faces = np.flatnonzero(present.any(axis=1))
        if frames_with_faces.size == 0:
            return []
        anchor = int(frames_with_faces[-1])
        people = [np.where(np.arange(t) == anchor, slot, -1) for slot in np.flatnonzero(present[anchor])]
        tracks = np.full(len(people), -1)
    _join_unidentified(features[..., BOX], present & (ids < 0), people)
    boxes, probability = features[..., BOX], 1 / (1 + np.exp(-features[..., DETECTION]))
    views = []
    for slots, track in zip(people, tracks):
        shown = np.flatnonzero(slots >= 0)
        views.append(PersonView(slots, boxes[shown[-1], slots[shown[-1]]].copy(), float(shown.size) / max(usable.sum(), 1),
                                int(track), float(probability[shown, slots[shown]].mean())))
    return sorted(views, key=lambda view: -view.area)


def _slot_of(row: np.ndarray, track: int) -> int:
    slots = np.flatnonzero(row == track)
    return int(slots[0]) if slots.size else -1


def _join_unidentified(boxes: np.ndarray, unidentified: np.ndarray, people: list[np.ndarray]) -> None:
    """Give each face without a person (unidentified (T, SLOTS) bool) to the person whose box it
    overlaps most (at least MATCH_IOU) in the nearest frame showing them, greedily, in place.
    Frames are visited newest first, then oldest first, so each face is matched to the person's
    box in a neighbouring frame as a chain (faces move between frames)."""
    unidentified = unidentified.copy()
    frames = np.flatnonzero(unidentified.any(axis=1))
    for frame in [*frames[::-1], *frames]:
        candidates = np.flatnonzero(unidentified[frame])
        if not candidates.size:
            continue
        free = [p for p, slots in enumerate(people) if slots[frame] < 0 and (slots >= 0).any()]
        if not free:
            continue
        reference = []
        for p in free:
            shown = np.flatnonzero(people[p] >= 0)
            nearest = shown[np.argmin(np.abs(shown - frame))]
            reference.append(boxes[nearest, people[p][nearest]])
        overlaps = box_iou(np.stack(reference), boxes[frame, candidates])  # (P, C)
        while overlaps.size and overlaps.max() >= MATCH_IOU:
            person, candidate = np.unravel_index(int(overlaps.argmax()), overlaps.shape)
            people[free[person]][frame] = candidates[candidate]
            unidentified[frame, candidates[candidate]] = False
            overlaps[person, :] = -1
            overlaps[:, candidate] = -1


def slice_members(stamps: np.ndarray, sampled: np.ndarray, frame_mask: np.ndarray, t_start: float,
                  t_end: float) -> np.ndarray:
    """Which frames make each of a window's T slices (T equal spans of [t_start, t_end]): stamps
    (N,) of the frames read in the window [s], sampled (T,) the index into stamps of each slice's
    picked frame, frame_mask (T,) whether it is usable -> (T, N) bool. A slice holds the frames
    stamped inside it; a slice with none holds its picked frame if usable (the nearest one)."""
    t = len(sampled)
    edges = t_start + np.arange(1, t) * (t_end - t_start) / t
    members = np.searchsorted(edges, stamps, side="right")[None, :] == np.arange(t)[:, None]
    empty = ~members.any(axis=1) & np.asarray(frame_mask, bool)
    members[np.flatnonzero(empty), sampled[empty]] = True
    return members


def slice_view(features: np.ndarray, slots: np.ndarray, members: np.ndarray) -> np.ndarray:
    """One person's view of a window read densely: features (N, SLOTS, 12) face tokens of the
    window's frames, slots (N,) the person's slot in each (-1: not seen), members (T, N) from
    slice_members -> (T, 4, 12): each slice's frames pooled as the model pools time steps
    (weighted by detection probability); a slice without frames is empty."""
    tokens = person_tokens(features, slots)  # (N, 4, 12)
    t, width = members.shape[0], max(1, int(members.sum(axis=1).max()))
    groups = np.broadcast_to(empty_token(), (t, width, *tokens.shape[1:])).copy()
    inside = np.zeros((t, width), bool)
    for s in range(t):
        frames = np.flatnonzero(members[s])
        groups[s, : len(frames)] = tokens[frames]
        inside[s, : len(frames)] = True
    return pool_face_tokens(torch.from_numpy(groups), torch.from_numpy(inside)).numpy()


def main_person_view(features: np.ndarray, reads_faces: bool, frame_mask: np.ndarray | None = None) -> np.ndarray:
    """What the window graph reads for the main person: a face reader's (T, SLOTS, 12) face
    tokens become the largest face's view (T, 4, 12), empty when nobody is seen; another
    encoder's (T, 4, D) features are the whole frame's and pass unchanged."""
    if not reads_faces:
        return features
    people = people_in_window(features, frame_mask)
    return person_tokens(features, people[0].slots if people else np.full(len(features), -1))
