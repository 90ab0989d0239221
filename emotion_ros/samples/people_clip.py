"""A generated camera stream with several people, whose face boxes are known in every frame.

The people are copies of the one real face the packages ship (the astronaut's head,
face_composites.py), so a tracker is tested on a real face, on a scene without people. The script
(PEOPLE_SCRIPT) has two people who walk past each other at different heights, a third who comes
in, leaves, and returns after longer than the default track timeout, so a tracker must keep the
first two ids through the crossing and give the returning person a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from emotion_ros.samples.face_composites import paste_faces, scene


@dataclass(frozen=True)
class Walk:
    """One person: visible during each (start, end) span [s]; the face centre moves linearly from
    ``start_at`` to ``end_at`` (x, y fractions of the frame) over the clip; face width in
    fractions of the frame width."""

    name: str
    spans: tuple[tuple[float, float], ...]
    start_at: tuple[float, float]
    end_at: tuple[float, float]
    width: float = 0.13

    def visible(self, t: float) -> bool:
        return any(start <= t < end for start, end in self.spans)

    def centre(self, t: float, duration: float) -> tuple[float, float]:
        share = t / duration
        return tuple(a + (b - a) * share for a, b in zip(self.start_at, self.end_at))


DURATION = 9.0  # [s]
PEOPLE_SCRIPT = (
    Walk("left to right", ((0.0, DURATION),), (0.15, 0.2), (0.85, 0.2)),
    Walk("right to left", ((0.0, DURATION),), (0.85, 0.8), (0.15, 0.8)),
    # comes in at 2.5 s, leaves at 5 s, returns at 6.8 s (1.8 s away: longer than the timeout);
    # the heads are far enough apart that nobody's hair or collar covers another's face
    Walk("comes and goes", ((2.5, 5.0), (6.8, DURATION)), (0.45, 0.5), (0.55, 0.5), width=0.1),
)


@dataclass(frozen=True)
class PeopleFrame:
    """stamp [s]; rgb (H, W, 3) uint8; boxes: person index -> face box (4,) x0, y0, x1, y1 [px]
    for the people visible in it."""

    stamp: float
    rgb: np.ndarray
    boxes: dict[int, np.ndarray]


def people_clip(fps: float = 15.0, size: tuple[int, int] = (480, 640), script: tuple[Walk, ...] = PEOPLE_SCRIPT,
                duration: float = DURATION, background: str = "grass") -> Iterator[PeopleFrame]:
    """The frames of the script at ``fps``, size (height, width) [px]."""
    height, width = size
    backdrop = scene(background, height, width)
    for i in range(int(round(duration * fps))):
        t = i / fps
        people = [k for k, walk in enumerate(script) if walk.visible(t)]
        placements = [(script[k].width * width, *script[k].centre(t, duration)) for k in people]
        rgb, boxes = paste_faces(backdrop, placements)
        yield PeopleFrame(t, rgb, {k: boxes[j] for j, k in enumerate(people)})
