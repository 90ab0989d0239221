"""Condition behaviours over the emotion blackboard."""

from __future__ import annotations

import time

import py_trees
from py_trees.common import Status

from emotion_ros.behaviours.emotion_listener import EVENT_KEY, RECEIVED_KEY, STATE_KEY


class EmotionIs(py_trees.behaviour.Behaviour):
    """SUCCESS while the person's debounced emotion is one of ``labels``, else FAILURE.

    The debounced label comes from emotion/event; the newest emotion/state must still name it
    with at least ``min_confidence`` and be younger than ``max_age`` seconds (wall time), so
    a robot stops reacting when perception stops.
    """

    def __init__(self, labels: tuple[str, ...] | str, min_confidence: float = 0.0, max_age: float = 2.0, name: str = ""):
        labels = (labels,) if isinstance(labels, str) else tuple(labels)
        super().__init__(name or f"EmotionIs({'|'.join(labels)})")
        self.labels, self.min_confidence, self.max_age = labels, min_confidence, max_age
        self.blackboard = self.attach_blackboard_client(name=self.name)
        for key in (EVENT_KEY, STATE_KEY, RECEIVED_KEY):
            self.blackboard.register_key(key, access=py_trees.common.Access.READ)

    def update(self) -> Status:
        event, state = self.blackboard.get(EVENT_KEY), self.blackboard.get(STATE_KEY)
        received = self.blackboard.get(RECEIVED_KEY).get(STATE_KEY)
        if event is None or state is None or received is None:
            self.feedback_message = "no emotion yet"
            return Status.FAILURE
        if time.monotonic() - received > self.max_age:
            self.feedback_message = f"emotion/state is stale ({time.monotonic() - received:.1f} s old)"
            return Status.FAILURE
        if not state.person_visible:
            self.feedback_message = "nobody is visible"
            return Status.FAILURE
        label = event.label
        if label not in state.labels:
            self.feedback_message = f"emotion/event names {label!r}, which emotion/state does not score"
            return Status.FAILURE
        confidence = float(state.scores[state.labels.index(label)])
        self.feedback_message = f"{label} ({confidence:.2f})"
        return Status.SUCCESS if label in self.labels and confidence >= self.min_confidence else Status.FAILURE
