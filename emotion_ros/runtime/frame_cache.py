"""Per-frame visual features cached by frame stamp, so a stride encodes only its new frames."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable

import numpy as np


def stamp_key(stamp: float) -> int:
    """A frame's stamp [s] as a key: whole microseconds."""
    return int(round(float(stamp) * 1e6))


class FrameFeatureCache:
    """Bounded LRU map: frame stamp (rounded to the microsecond) -> (4, D) feature.

    Windows overlap: with a 2 s window, a 0.5 s stride and 16 frames, 12 of each window's
    frames were already encoded for the previous window. Thread-safe: frames may be encoded on
    arrival by one thread (prefill) while another reads windows; encoding runs outside the lock.
    """

    def __init__(self, capacity: int = 256):
        self.capacity = capacity
        self._features: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.prefilled = 0

    def clear(self) -> None:
        with self._lock:
            self._features.clear()

    def prefill(self, stamp: float, frame: np.ndarray, encode: Callable[[np.ndarray], np.ndarray]) -> bool:
        """Encode one frame ahead of its window (frame (H, W, 3)); False if it was cached already."""
        key = stamp_key(stamp)
        with self._lock:
            if key in self._features:
                return False
        feature = encode(frame[None])[0]
        with self._lock:
            self._features[key] = feature
            self.prefilled += 1
            self._evict()
        return True

    def between(self, t_start: float, t_end: float) -> tuple[np.ndarray, np.ndarray | None]:
        """The cached frames stamped in [t_start, t_end]: (stamps (N,) [s], features (N, ...)),
        in stamp order; features is None when there are none."""
        low, high = stamp_key(t_start), stamp_key(t_end)
        with self._lock:
            found = sorted((key, feature) for key, feature in self._features.items() if low <= key <= high)
        if not found:
            return np.zeros(0), None
        return np.array([key for key, _ in found]) / 1e6, np.stack([feature for _, feature in found])

    def _evict(self) -> None:
        while len(self._features) > self.capacity:
            self._features.popitem(last=False)

    def features(
        self, stamps: np.ndarray, frames: np.ndarray, encode: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """(T, 4, D) for frames (T, H, W, 3) stamped ``stamps`` (T,); encodes the unseen ones in one batch."""
        keys = [stamp_key(s) for s in stamps]
        with self._lock:
            todo = sorted({i for i, key in enumerate(keys) if key not in self._features}, key=lambda i: keys[i])
        first_of = {}
        for i in todo:
            first_of.setdefault(keys[i], i)
        encoded = encode(frames[list(first_of.values())]) if first_of else []
        with self._lock:
            for key, feature in zip(first_of, encoded):
                self._features[key] = feature
            self.misses += len(first_of)
            self.hits += len(keys) - len(first_of)
            for key in keys:
                self._features.move_to_end(key)
            result = np.stack([self._features[key] for key in keys])
            self._evict()
        return result
