"""Whether the emotion node publishes REP-155 faces (regions and ids) itself: hri.publish_faces.

"always" and "never" are fixed. "auto" publishes them while no other node does, and is decided
again at every window, because DDS discovery is not finished when the node starts: started
beside hri_face_detect, it may begin publishing, and stops as soon as the other publisher is
discovered. It starts again only after nobody else has published for a random 1-3 s, so two
"auto" nodes do not start and stop in step: the first to start keeps publishing.
"""

from __future__ import annotations

import random

PUBLISH_FACES = ("auto", "always", "never")
QUIET_BEFORE_STARTING = (1.0, 3.0)  # [s] range of the random wait with no other publisher, in auto


class FacePublishing:
    """publishing(others, now): whether to publish faces now, given how many other publishers of
    /humans/faces/tracked discovery knows and the time [s, monotonic]."""

    def __init__(self, mode: str, others: int, now: float, rng: random.Random | None = None):
        if mode not in PUBLISH_FACES:
            raise ValueError(f"hri.publish_faces must be one of {', '.join(PUBLISH_FACES)}, not {mode!r}")
        self.mode = mode
        self._rng = rng or random.Random()
        self.active = mode == "always" or (mode == "auto" and others == 0)
        self._quiet_until: float | None = None

    def publishing(self, others: int, now: float) -> bool:
        if self.mode != "auto":
            return self.active
        if others:
            self.active, self._quiet_until = False, None
        elif not self.active:
            if self._quiet_until is None:
                self._quiet_until = now + self._rng.uniform(*QUIET_BEFORE_STARTING)
            elif now >= self._quiet_until:
                self.active, self._quiet_until = True, None
        return self.active
