"""One log line per (source, problem) per period, with a count of what was suppressed."""

from __future__ import annotations

import time
from typing import Callable


class ThrottledLog:
    """Rate-limits problem reports so a flood of bad messages cannot flood the log.

    Call it as ``log(source, kind, message)``; the first report of a (source, kind) pair is
    written at once, later ones at most every ``period`` seconds, saying how many were
    suppressed in between.
    """

    def __init__(self, write: Callable[[str], None], period: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self._write = write
        self.period = period
        self._clock = clock
        self._last: dict[tuple[str, str], float] = {}
        self._suppressed: dict[tuple[str, str], int] = {}

    def __call__(self, source: str, kind: str, message: str) -> None:
        key = (source, kind)
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.period:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return
        suppressed = self._suppressed.pop(key, 0)
        tail = f" ({suppressed} more like this in the last {now - last:.0f} s)" if suppressed else ""
        self._last[key] = now
        self._write(f"[{source}] {message}{tail}")
