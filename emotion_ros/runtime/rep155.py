"""REP-155 (ROS4HRI) names: our labels as hri_msgs/Expression constants, face topic names, and
face regions normalised to the image, for the per-face topics the node publishes (ROS-free)."""

from __future__ import annotations

import re

import numpy as np

from emotion_ros.model.labels import SYNONYMS

TRACKED_FACES = "/humans/faces/tracked"  # hri_msgs/IdsList: the ids of the faces in view

# Our canonical labels -> hri_msgs/Expression's constants. REP-155 has no "worried": it is read
# as its nearest basic emotion, as the label parser reads it (labels.NEAREST).
EXPRESSIONS = {
    "angry": "angry", "disgust": "disgusted", "fear": "scared", "happy": "happy", "sad": "sad",
    "surprise": "surprised", "neutral": "neutral", "worried": "scared",
}
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def expression_for(label: str) -> str:
    """A label of any preset's set (or a synonym: "joy", "fearful") -> an Expression constant;
    "" for a label REP-155 has no expression for."""
    word = label.lower()
    for canonical, words in SYNONYMS.items():
        if word == canonical or word in words:
            return EXPRESSIONS.get(canonical, "")
    return ""


def valid_face_id(face_id: str) -> bool:
    """Whether ``face_id`` can name REP-155 topics (a topic-name token: a letter, then letters, digits or _)."""
    return bool(_ID.match(face_id))


def face_topic(face_id: str, name: str) -> str:
    """/humans/faces/<id>/<name>, e.g. ("f3", "expression"); a face id must be a valid topic token."""
    if not valid_face_id(face_id):
        raise ValueError(f"{face_id!r} is not a REP-155 face id (a letter, then letters, digits or _)")
    return f"/humans/faces/{face_id}/{name}"


def normalized_roi(box: np.ndarray, image_size: tuple[int, int]) -> tuple[float, float, float, float]:
    """box (4,) x0, y0, x1, y1 [px], image_size (height, width) -> (xmin, ymin, xmax, ymax) in [0, 1],
    as hri_msgs/NormalizedRegionOfInterest2D has them."""
    height, width = image_size
    x0, y0, x1, y1 = (float(np.clip(v / size, 0.0, 1.0)) for v, size in zip(box, (width, height, width, height)))
    return x0, y0, x1, y1
