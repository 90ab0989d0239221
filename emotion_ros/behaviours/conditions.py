"""Condition behaviours over the emotion blackboard."""

from __future__ import annotations

import time

import py_trees
from py_trees.common import Status

from emotion_ros.behaviours.emotion_listener import EVENT_KEY, PEOPLE_KEY, RECEIVED_KEY, STATE_KEY


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


class PersonFeels(py_trees.behaviour.Behaviour):
    """SUCCESS while a person in view feels one of ``labels`` (from emotion/people), else FAILURE.

    person_id: "f3" asks about that person only (FAILURE once they leave: ids are never reused);
    None asks whether anyone does. The newest emotion/people must be younger than ``max_age``
    seconds (wall time). On SUCCESS, feedback_message names the person.
    """

    def __init__(self, labels: tuple[str, ...] | str, person_id: str | None = None, min_confidence: float = 0.0,
                 max_age: float = 2.0, name: str = ""):
        labels = (labels,) if isinstance(labels, str) else tuple(labels)
        super().__init__(name or f"PersonFeels({person_id or 'anyone'}: {'|'.join(labels)})")
        self.labels, self.person_id, self.min_confidence, self.max_age = labels, person_id, min_confidence, max_age
        self.blackboard = self.attach_blackboard_client(name=self.name)
        for key in (PEOPLE_KEY, RECEIVED_KEY):
            self.blackboard.register_key(key, access=py_trees.common.Access.READ)

    def update(self) -> Status:
        people, received = self.blackboard.get(PEOPLE_KEY), self.blackboard.get(RECEIVED_KEY).get(PEOPLE_KEY)
        if people is None or received is None:
            self.feedback_message = "no emotion/people yet"
            return Status.FAILURE
        if time.monotonic() - received > self.max_age:
            self.feedback_message = f"emotion/people is stale ({time.monotonic() - received:.1f} s old)"
            return Status.FAILURE
        asked = [p for p in people.people if self.person_id is None or p.id == self.person_id]
        if not asked:
            self.feedback_message = f"{self.person_id or 'nobody'} is not in view"
            return Status.FAILURE
        for person in asked:
            if person.label in self.labels and person.confidence >= self.min_confidence:
                self.feedback_message = f"{person.id}: {person.label} ({person.confidence:.2f})"
                return Status.SUCCESS
        self.feedback_message = ", ".join(f"{p.id}: {p.label} ({p.confidence:.2f})" for p in asked)
        return Status.FAILURE
