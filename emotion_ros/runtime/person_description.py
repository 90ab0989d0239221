"""Who a person is, in words, for explanations: "f3, the person on the left, tracked for 12 s"."""

from __future__ import annotations

from emotion_ros.runtime.estimate import PersonEstimate


def where(person: PersonEstimate, image_width: int) -> str:
    """"on the left", "in the middle" or "on the right" of the camera image, by the face's centre
    (thirds of the width)."""
    centre = (person.box[0] + person.box[2]) / 2 / max(image_width, 1)
    return "on the left" if centre < 1 / 3 else "on the right" if centre > 2 / 3 else "in the middle"


def describe(person: PersonEstimate, image_width: int, alone: bool) -> str:
    """The person's id, where they are (when others are in view) and how long they have been tracked."""
    place = "" if alone else f", the person {where(person, image_width)}"
    duration = f"{person.tracked_for:.0f} s" if person.tracked_for >= 1 else "under a second"
    return f"{person.id}{place}, tracked for {duration}"


def about(person: PersonEstimate | None, image_width: int, alone: bool, text: str) -> str:
    """An explanation's text, saying whom it is about when people are tracked."""
    if person is None or not person.id:
        return text
    return f"About {describe(person, image_width, alone)}: {text}"
