"""The emotion node behind a ROS4HRI face pipeline (`faces.source: ros4hri`): REP-155 faces in.

Subscribes /humans/faces/tracked (hri_msgs/IdsList) and, per listed face, its
/humans/faces/<id>/cropped (sensor_msgs/Image) and /humans/faces/<id>/roi
(hri_msgs/NormalizedRegionOfInterest2D), and hands them to an ExternalFaces; a face's
subscriptions go when it leaves the list. A malformed crop is rejected and reported like any
sensor message.
"""

from __future__ import annotations

from typing import Callable

from rclpy.node import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import Image

from emotion_ros.io.image import image_to_rgb
from emotion_ros.io.stamps import to_seconds
from emotion_ros.runtime.external_faces import ExternalFaces
from emotion_ros.runtime.rep155 import TRACKED_FACES, face_topic, valid_face_id


class Rep155FaceInput:
    def __init__(self, node: Node, faces: ExternalFaces, qos: QoSProfile, reject: Callable[[str, str], None]):
        """reject(topic, reason): report a message that could not be used."""
        from hri_msgs.msg import IdsList, NormalizedRegionOfInterest2D

        self._roi_type = NormalizedRegionOfInterest2D
        self._node, self._faces, self._qos, self._reject = node, faces, qos, reject
        self._subscriptions: dict[str, list] = {}
        self._tracked = node.create_subscription(IdsList, TRACKED_FACES, self._on_tracked, qos)

    def _on_tracked(self, msg) -> None:
        ids = [face_id for face_id in msg.ids if valid_face_id(face_id)]
        for bad in set(msg.ids) - set(ids):
            self._reject(TRACKED_FACES, f"{bad!r} is not a REP-155 face id")
        self._faces.set_tracked(to_seconds(msg.header.stamp), ids)
        for gone in set(self._subscriptions) - set(ids):
            for subscription in self._subscriptions.pop(gone):
                self._node.destroy_subscription(subscription)
        for face_id in ids:
            if face_id not in self._subscriptions:
                self._subscriptions[face_id] = [
                    self._node.create_subscription(Image, face_topic(face_id, "cropped"),
                                                   lambda m, f=face_id: self._on_crop(f, m), self._qos),
                    self._node.create_subscription(self._roi_type, face_topic(face_id, "roi"),
                                                   lambda m, f=face_id: self._faces.set_roi(f, m.xmin, m.ymin, m.xmax, m.ymax, m.c),
                                                   self._qos),
                ]

    def _on_crop(self, face_id: str, msg: Image) -> None:
        try:
            rgb = image_to_rgb(msg)
        except Exception as error:  # malformed image: one rejected message, not a dead node
            self._reject(face_topic(face_id, "cropped"), str(error))
            return
        self._faces.add_crop(face_id, to_seconds(msg.header.stamp), rgb)

    def close(self) -> None:
        for subscriptions in self._subscriptions.values():
            for subscription in subscriptions:
                self._node.destroy_subscription(subscription)
        self._subscriptions.clear()
        self._node.destroy_subscription(self._tracked)
