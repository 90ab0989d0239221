"""Debounced label changes, so a behaviour tree does not flicker between labels."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LabelChange:
    label: str
    previous: str | None
    confidence: float
    stamp: float  # sensor time of the window that confirmed the change [s]


class LabelDebouncer:
    """Switches to a new label only when it has led for ``min_dwell`` seconds of sensor time.

    A challenger leads when it is the most probable label, its probability is at least
    ``min_confidence``, and it beats the current label's probability by ``hysteresis``.
    Any window where it does not lead restarts its dwell.
    """

    def __init__(self, labels: tuple[str, ...], hysteresis: float = 0.15, min_dwell: float = 1.0, min_confidence: float = 0.4):
        self.labels = labels
        self.hysteresis, self.min_dwell, self.min_confidence = hysteresis, min_dwell, min_confidence
        self.current: str | None = None
        self._candidate: str | None = None
        self._since = 0.0

    def reset(self) -> None:
        """Forget the current label and any challenger."""
        self.current, self._candidate = None, None

    def restart(self) -> None:
        """Forget any challenger (its dwell starts again); the current label stays."""
        self._candidate = None

    def update(self, stamp: float, scores) -> LabelChange | None:
        best = max(range(len(self.labels)), key=lambda i: scores[i])
        challenger, confidence = self.labels[best], float(scores[best])
        current_score = float(scores[self.labels.index(self.current)]) if self.current is not None else 0.0
        leads = (
            challenger != self.current
            and confidence >= self.min_confidence
            and confidence - current_score >= self.hysteresis
        )
        if not leads:
            self._candidate = None
            return None
        if challenger != self._candidate:
            self._candidate, self._since = challenger, stamp
        if stamp - self._since < self.min_dwell:
            return None
        change = LabelChange(challenger, self.current, confidence, stamp)
        self.current, self._candidate = challenger, None
        return change


class MainPersonEvents:
    """emotion/event's rule: the debounced label of whoever is the main person.

    A new main person starts with no label, so their first label is a change once it has led
    for ``min_dwell`` (the event then names them). Nobody in view for ``min_dwell`` is a change
    to no label (``label`` ""), so a late subscriber never receives a label for someone who left.
    """

    def __init__(self, debouncer: LabelDebouncer):
        self.debouncer = debouncer
        self.person: str | None = None  # whose label debouncer.current is
        self._nobody_since: float | None = None

    def reset(self) -> None:
        """A new timeline: the evidence of the old one is void, so the next person seen is a new
        main person and nobody's dwell restarts. The label last announced stays current until
        the new run changes it, so subscribers are told when it no longer holds."""
        self.debouncer.restart()
        self.person, self._nobody_since = None, None

    def update(self, stamp: float, person_id: str, visible: bool, scores) -> LabelChange | None:
        debouncer = self.debouncer
        if not visible:
            if self._nobody_since is None:
                self._nobody_since = stamp
            if debouncer.current is not None and stamp - self._nobody_since >= debouncer.min_dwell:
                change = LabelChange("", debouncer.current, 0.0, stamp)
                debouncer.reset()
                self.person = None
                return change
            return None
        self._nobody_since = None
        if person_id != self.person:
            debouncer.reset()
            self.person = person_id
        return debouncer.update(stamp, scores)
