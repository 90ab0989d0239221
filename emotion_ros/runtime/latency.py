"""Rolling latency percentiles for diagnostics and benchmarks."""

from __future__ import annotations

from collections import deque

import numpy as np


class LatencyStats:
    """The last ``size`` latencies [s]; percentiles in milliseconds."""

    def __init__(self, size: int = 200):
        self._values: deque[float] = deque(maxlen=size)

    def add(self, seconds: float) -> None:
        self._values.append(seconds)

    def __len__(self) -> int:
        return len(self._values)

    def percentile_ms(self, q: float) -> float | None:
        return float(np.percentile(np.fromiter(self._values, float), q) * 1000) if self._values else None
