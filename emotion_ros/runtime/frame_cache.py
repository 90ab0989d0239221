"""Per-frame visual features cached by frame stamp, so a stride encodes only its new frames."""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import numpy as np


class FrameFeatureCache:
    """Bounded LRU map: frame stamp (rounded to the microsecond) -> (4, D) feature.

    Windows overlap: with a 2 s window, a 0.5 s stride and 16 frames, 12 of each window's
    frames were already encoded for the previous window.
    """

    def __init__(self, capacity: int = 256):
        self.capacity = capacity
        self._features: OrderedDict[int, np.ndarray] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        self._features.clear()

    def features(
        self, stamps: np.ndarray, frames: np.ndarray, encode: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """(T, 4, D) for frames (T, H, W, 3) stamped ``stamps`` (T,); encodes the unseen ones in one batch."""
        keys = [int(round(float(s) * 1e6)) for s in stamps]
        todo = sorted({i for i, key in enumerate(keys) if key not in self._features}, key=lambda i: keys[i])
        first_of = {}
        for i in todo:
            first_of.setdefault(keys[i], i)
        if first_of:
            encoded = encode(frames[list(first_of.values())])
            for key, feature in zip(first_of, encoded):
                self._features[key] = feature
        self.misses += len(first_of)
        self.hits += len(keys) - len(first_of)
        for key in keys:
            self._features.move_to_end(key)
        while len(self._features) > self.capacity:
            self._features.popitem(last=False)
        return np.stack([self._features[key] for key in keys])
