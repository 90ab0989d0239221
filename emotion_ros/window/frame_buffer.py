"""Camera frames kept in stamp order, bounded in time and in count."""

from __future__ import annotations

import bisect
import enum

import numpy as np


class FrameInsert(enum.Enum):
    ADDED = "added"
    DUPLICATE = "duplicate"  # a frame with the same stamp is already buffered
    DECIMATED = "decimated"  # closer than the minimum spacing to a buffered frame
    RESHAPED = "reshaped"  # added after clearing frames of another shape


class FrameBuffer:
    """Frames sorted by stamp.

    min_spacing [s]: a frame closer than this to a buffered neighbour is dropped, so the
    count stays below (time span / min_spacing) whatever the input rate.
    """

    def __init__(self, min_spacing: float):
        self.min_spacing = min_spacing
        self._stamps: list[float] = []
        self._frames: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self._stamps)

    @property
    def oldest(self) -> float | None:
        return self._stamps[0] if self._stamps else None

    def first_at_or_after(self, t: float) -> float | None:
        i = bisect.bisect_left(self._stamps, t)
        return self._stamps[i] if i < len(self._stamps) else None

    def clear(self) -> None:
        self._stamps.clear()
        self._frames.clear()

    def add(self, stamp: float, frame: np.ndarray) -> FrameInsert:
        result = FrameInsert.ADDED
        if self._frames and self._frames[0].shape != frame.shape:
            self.clear()
            result = FrameInsert.RESHAPED
        i = bisect.bisect_left(self._stamps, stamp)
        neighbours = [self._stamps[j] for j in (i - 1, i) if 0 <= j < len(self._stamps)]
        if any(abs(stamp - s) < 1e-6 for s in neighbours):
            return FrameInsert.DUPLICATE
        if any(abs(stamp - s) < self.min_spacing for s in neighbours):
            return FrameInsert.DECIMATED
        self._stamps.insert(i, stamp)
        self._frames.insert(i, frame)
        return result

    def drop_before(self, stamp: float) -> None:
        i = bisect.bisect_left(self._stamps, stamp)
        del self._stamps[:i]
        del self._frames[:i]

    def sample(
        self, targets: np.ndarray, t_end: float, tolerance: float
    ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """Pick, for each target time, the nearest frame stamped at or before t_end.

        Ties go to the earlier frame. Returns (frames (T, ...) or None, stamps (T,),
        mask (T,)), where mask is True when the pick lies within ``tolerance`` of its target.
        """
        count = bisect.bisect_right(self._stamps, t_end)
        if count == 0:
            return None, np.full(len(targets), np.nan), np.zeros(len(targets), dtype=bool)
        stamps = np.asarray(self._stamps[:count])
        right = np.searchsorted(stamps, targets, side="left").clip(0, count - 1)
        left = (right - 1).clip(0, count - 1)
        pick = np.where(np.abs(stamps[left] - targets) <= np.abs(stamps[right] - targets), left, right)
        picked = stamps[pick]
        frames = np.stack([self._frames[i] for i in pick])
        return frames, picked, np.abs(picked - targets) <= tolerance
