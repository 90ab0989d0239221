"""Stable ids for the faces of one camera stream: norfair's tracker, driven in sensor time.

norfair (the maintained, numpy-2 fork `norfair-enough`) associates boxes across detections with
a Kalman filter on their corners and IoU distance, and ends a track whose hit counter runs out;
it counts in calls, not seconds. A PersonTracker makes that a time: it is called once per
detection (FaceFollower finds faces ``rate`` times per second of sensor time), and a gap between
detections longer than one period first steps the tracker once per missed period. So a face
survives ``timeout`` seconds of not being found (a blink of the detector, a head turn), and a
person who comes back later gets a new id. Ids count up from 1 and are never reused within a run:
when the clock jumps (it goes backwards, as in a bag loop or a simulator reset, or skips past the
timeout, or past 1.5 periods where the timeout is shorter than a period) every track ends and
the next ids continue the count.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
from norfair import Detection, Tracker

DEFAULT_TRACK_TIMEOUT = 1.0  # [s] a face not found for this long ends its track
FIRST_SEEN_KEPT = 1024  # tracks whose start is remembered after they end (for windows still pooling them)
MAX_DISTANCE = 0.8  # 1 - IoU: a face is matched to a track whose predicted box it overlaps by > 0.2


class PersonTracker:
    """Track ids for the faces of each detection, in stamp order (one thread)."""

    def __init__(self, rate: float, timeout: float = DEFAULT_TRACK_TIMEOUT):
        """rate [Hz]: how often update() is called (the detection rate); timeout [s]."""
        if rate <= 0 or timeout <= 0:
            raise ValueError(f"rate and timeout must be positive, got {rate} Hz and {timeout} s")
        self.period = 1.0 / rate
        self.timeout = timeout
        self.tracks: dict[int, float] = {}  # live tracks -> when their face was last found [s]
        self._first_seen: OrderedDict[int, float] = OrderedDict()  # also of the last ended ones
        self.ended = 0  # tracks ended by timeout or a clock jump
        self._base = 0  # ids of earlier trackers (before clock jumps) are at most this
        self._last_stamp: float | None = None
        self._steps = 0
        self._tracker = self._new_tracker()

    def _new_tracker(self) -> Tracker:
        # A new face is confirmed by its second detection (initialization_delay 1, which norfair
        # allows only below hit_counter_max); a confirmed one survives `timeout` of missed
        # periods: norfair drops a track when its counter falls below zero, and where fewer
        # than three detections fit in the timeout (the counter is then at least 2), _step
        # ends it in time.
        misses = math.ceil(self.timeout / self.period - 1e-9)
        self._ended_in_time = misses - 1 < 2  # norfair's counter alone would keep it too long
        return Tracker(distance_function="iou", distance_threshold=MAX_DISTANCE,
                       hit_counter_max=max(2, misses - 1), initialization_delay=1)

    @property
    def total_ids(self) -> int:
        """How many ids were given in this run."""
        return self._base + self._tracker.total_object_count

    def reset(self) -> None:
        """End every track; the next ids continue after the highest one given so far."""
        self.ended += len(self.tracks)
        self.tracks.clear()
        self._base = self.total_ids
        self._tracker = self._new_tracker()
        self._last_stamp = None

    def update(self, stamp: float, boxes: np.ndarray) -> np.ndarray:
        """One detection's faces: boxes (F, 4) x0, y0, x1, y1 (any consistent unit; IoU is scale
        free), at ``stamp`` [s] -> ids (F,) int, -1 for a face not yet confirmed (found once)."""
        last = self._last_stamp
        if last is not None and not last < stamp <= last + max(self.timeout, 1.5 * self.period):
            self.reset()
        elif last is not None:
            for missed in range(1, round((stamp - last) / self.period)):  # detections that did not happen
                self._step([], last + missed * self.period)
        self._last_stamp = stamp
        self._steps += 1
        faces = [Detection(np.asarray(box, float).reshape(2, 2), data=(self._steps, i)) for i, box in enumerate(boxes)]
        ids = np.full(len(faces), -1)
        for obj in self._step(faces, stamp):
            step, face = obj.last_detection.data
            if step == self._steps:  # matched (or confirmed) by this detection
                ids[face] = track = self._base + obj.id
                self.tracks[track] = stamp
                if track not in self._first_seen:
                    self._first_seen[track] = stamp
                    while len(self._first_seen) > FIRST_SEEN_KEPT:
                        self._first_seen.popitem(last=False)
        return ids

    def _step(self, faces: list[Detection], stamp: float):
        alive = []
        for obj in self._tracker.update(faces):  # confirmed tracks only
            found = self.tracks.get(self._base + obj.id)
            matched = faces and obj.last_detection.data[0] == self._steps
            if self._ended_in_time and found is not None and not matched and stamp - found >= self.timeout - 1e-6:
                obj.hit_counter = -1  # norfair forgets it at the next update
            else:
                alive.append(obj)
        live = {self._base + obj.id for obj in alive}
        for track in [t for t in self.tracks if t not in live]:
            del self.tracks[track]
            self.ended += 1
        return alive

    def tracked_for(self, track: int, stamp: float) -> float:
        """How long ``track`` has been followed at ``stamp`` [s] (0 for an unknown track)."""
        first = self._first_seen.get(track)
        return max(0.0, stamp - first) if first is not None else 0.0
