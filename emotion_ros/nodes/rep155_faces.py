"""The emotion node's REP-155 (ROS4HRI) output, when hri_msgs is importable.

Per tracked face: hri_msgs/Expression on /humans/faces/<id>/expression (the label as REP-155's
expression constant, valence, arousal, confidence). Unless another node publishes faces (an
hri_face_detect in front of a robot's camera; hri.publish_faces, runtime/face_publishing.py),
also the face region on /humans/faces/<id>/roi (hri_msgs/NormalizedRegionOfInterest2D) and the
ids on /humans/faces/tracked (hri_msgs/IdsList). A face's topics are removed when its track
ends, as ROS4HRI nodes do.
"""

from __future__ import annotations

import importlib.util
import time

from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header

from emotion_ros.io.stamps import to_stamp
from emotion_ros.runtime.estimate import EmotionEstimate
from emotion_ros.runtime.face_publishing import FacePublishing
from emotion_ros.runtime.rep155 import TRACKED_FACES, expression_for, face_topic, normalized_roi, valid_face_id

QOS = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


def hri_msgs_available() -> bool:
    return importlib.util.find_spec("hri_msgs") is not None


def faces_published_elsewhere(node: Node, own: int = 0) -> int:
    """How many other publishers of /humans/faces/tracked discovery knows now (``own``: this node's)."""
    return node.count_publishers(TRACKED_FACES) - own


class Rep155Faces:
    """Publishes one window's people as REP-155 faces, and (publish_faces: "auto", "always" or
    "never", face_publishing.py) their regions and the id list."""

    def __init__(self, node: Node, publish_faces: str):
        from hri_msgs.msg import Expression, IdsList, NormalizedRegionOfInterest2D

        self._types = Expression, IdsList, NormalizedRegionOfInterest2D
        self._node = node
        self._policy = FacePublishing(publish_faces, faces_published_elsewhere(node), time.monotonic())
        self._tracked = None
        self._faces: dict[str, dict] = {}  # face id -> its publishers
        self._set_publishing(self._policy.active)

    @property
    def publish_faces(self) -> bool:
        """Whether regions and ids are published now."""
        return self._tracked is not None

    def _set_publishing(self, on: bool) -> None:
        if on == self.publish_faces:
            return
        for face_id in list(self._faces):  # their roi publishers come and go with the mode
            self._destroy(face_id)
        if on:
            self._tracked = self._node.create_publisher(self._types[1], TRACKED_FACES, QOS)
        else:
            self._node.destroy_publisher(self._tracked)
            self._tracked = None
        self._node.get_logger().info("REP-155: publishing face expressions" + (", regions and ids" if on else
                                     " (another node publishes faces' regions and ids)"))

    def publish(self, estimate: EmotionEstimate, frame_id: str) -> None:
        own = int(self.publish_faces)
        self._set_publishing(self._policy.publishing(faces_published_elsewhere(self._node, own), time.monotonic()))
        expression_type, ids_type, roi_type = self._types
        header = Header(stamp=to_stamp(estimate.t_end), frame_id=frame_id)
        people = [p for p in estimate.people if valid_face_id(p.id)]
        for gone in set(self._faces) - {p.id for p in people}:
            self._destroy(gone)
        for person in people:
            publishers = self._faces.get(person.id)
            if publishers is None:
                publishers = self._faces[person.id] = {
                    "expression": self._node.create_publisher(expression_type, face_topic(person.id, "expression"), QOS)}
                if self.publish_faces:
                    publishers["roi"] = self._node.create_publisher(roi_type, face_topic(person.id, "roi"), QOS)
            top = int(person.scores.argmax())
            publishers["expression"].publish(expression_type(
                header=header, expression=expression_for(estimate.labels[top]), valence=float(person.valence),
                arousal=float(person.arousal), confidence=float(person.scores[top])))
            if self.publish_faces and estimate.image_size is not None:
                xmin, ymin, xmax, ymax = normalized_roi(person.box, estimate.image_size)
                publishers["roi"].publish(roi_type(header=header, xmin=xmin, ymin=ymin, xmax=xmax, ymax=ymax,
                                                   c=float(person.detection)))
        if self._tracked is not None:
            self._tracked.publish(ids_type(header=header, ids=[p.id for p in people]))

    def _destroy(self, face_id: str) -> None:
        for publisher in self._faces.pop(face_id).values():
            self._node.destroy_publisher(publisher)

    def close(self) -> None:
        for face_id in list(self._faces):
            self._destroy(face_id)
        if self._tracked is not None:
            self._node.destroy_publisher(self._tracked)
            self._tracked = None
