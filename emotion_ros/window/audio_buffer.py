"""Mono audio chunks at one sample rate, placed on the sensor timeline by their stamps."""

from __future__ import annotations

import bisect
import enum

import numpy as np


class AudioInsert(enum.Enum):
    ADDED = "added"
    DUPLICATE = "duplicate"  # same start and length as a buffered chunk
    OVERLAP = "overlap"  # overlaps buffered audio by more than one sample


class AudioBuffer:
    """Chunks sorted by start stamp; overlapping chunks are refused, gaps stay gaps."""

    def __init__(self, sample_rate: int):
        self.sample_rate = sample_rate
        self._starts: list[float] = []
        self._chunks: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self._starts)

    @property
    def oldest(self) -> float | None:
        return self._starts[0] if self._starts else None

    def first_at_or_after(self, t: float) -> float | None:
        """The time of the first buffered sample at or after ``t``."""
        for i, start in enumerate(self._starts):
            if self._end(i) > t:
                return max(start, t)
        return None

    def clear(self) -> None:
        self._starts.clear()
        self._chunks.clear()

    def _end(self, i: int) -> float:
        return self._starts[i] + self._chunks[i].shape[0] / self.sample_rate

    def add(self, start: float, samples: np.ndarray) -> AudioInsert:
        """samples: (N,) float32 mono at sample_rate, the first one at ``start`` [s]."""
        one_sample = 1.0 / self.sample_rate
        end = start + samples.shape[0] / self.sample_rate
        i = bisect.bisect_left(self._starts, start)
        for j in (i - 1, i):
            if 0 <= j < len(self._starts):
                overlap = min(end, self._end(j)) - max(start, self._starts[j])
                if overlap > one_sample:
                    same = abs(self._starts[j] - start) < 0.5 * one_sample and self._chunks[j].shape == samples.shape
                    return AudioInsert.DUPLICATE if same else AudioInsert.OVERLAP
        self._starts.insert(i, start)
        self._chunks.insert(i, samples)
        return AudioInsert.ADDED

    def drop_before(self, stamp: float) -> None:
        """Forget chunks that end before ``stamp``."""
        keep = 0
        while keep < len(self._starts) and self._end(keep) < stamp:
            keep += 1
        del self._starts[:keep]
        del self._chunks[:keep]

    def extract(self, t_start: float, num_samples: int) -> tuple[np.ndarray, np.ndarray]:
        """Audio over [t_start, t_start + num_samples / rate): (samples (S,) float32, mask (S,) bool).

        Sample k of a chunk starting at s lands at index round((s - t_start) * rate) + k.
        """
        audio = np.zeros(num_samples, dtype=np.float32)
        mask = np.zeros(num_samples, dtype=bool)
        t_end = t_start + num_samples / self.sample_rate
        for start, chunk in zip(self._starts, self._chunks):
            if start >= t_end:
                break
            offset = round((start - t_start) * self.sample_rate)
            lo, hi = max(offset, 0), min(offset + chunk.shape[0], num_samples)
            if hi > lo:
                audio[lo:hi] = chunk[lo - offset : hi - offset]
                mask[lo:hi] = True
        return audio, mask
