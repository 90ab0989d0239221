"""The emotion node behind a stand-in for hri_face_detect (faces.source: ros4hri): a camera,
/humans/faces/tracked and two faces' crops and regions in; emotion/people and the faces'
REP-155 expressions out. Runs where an hri_msgs package is importable; writes JSON (for
test_rep155.py).

Usage: python hri_face_source.py OUT.json
"""

import json
import sys
import time

import cv2
import numpy as np
import rclpy
from emotion_msgs.msg import PersonEmotionArray
from hri_msgs.msg import Expression, IdsList, NormalizedRegionOfInterest2D
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image
from skimage import data
from std_msgs.msg import Header

from emotion_ros.samples.face_composites import ASTRONAUT_FACE, scene
from emotion_ros.io.image import rgb_to_image
from emotion_ros.io.stamps import to_stamp
from emotion_ros.nodes.perception_node import PerceptionNode
from emotion_ros.nodes.runner import bring_up, shut_down

# Two faces another node found: ids and regions (normalised to the 640 x 480 image).
FACES = {"abcde": (0.1, 0.2, 0.3, 0.5), "fghij": (0.6, 0.3, 0.75, 0.6)}


def crop(mirror: bool) -> np.ndarray:
    """The astronaut's face as ROS4HRI crops it: the region, 0-padded to a square, 128 x 128."""
    x0, y0, x1, y1 = ASTRONAUT_FACE.astype(int)
    face = data.astronaut()[y0:y1, x0:x1]
    side = max(face.shape[:2])
    square = np.zeros((side, side, 3), np.uint8)
    top, left = (side - face.shape[0]) // 2, (side - face.shape[1]) // 2
    square[top : top + face.shape[0], left : left + face.shape[1]] = face
    square = cv2.resize(square, (128, 128), interpolation=cv2.INTER_AREA)
    return square[:, ::-1].copy() if mirror else square


def main():
    out = sys.argv[1]
    rclpy.init()
    stub = rclpy.create_node("hri_face_detect_stand_in")
    camera = stub.create_publisher(Image, "image", 10)
    tracked = stub.create_publisher(IdsList, "/humans/faces/tracked", 10)
    crops = {f: stub.create_publisher(Image, f"/humans/faces/{f}/cropped", 10) for f in FACES}
    rois = {f: stub.create_publisher(NormalizedRegionOfInterest2D, f"/humans/faces/{f}/roi", 10) for f in FACES}
    listener = rclpy.create_node("people_listener")
    heard = {"people": [], "expressions": []}
    listener.create_subscription(PersonEmotionArray, "emotion/people", lambda m: heard["people"].append(
        {"stamp": m.header.stamp.sec + m.header.stamp.nanosec * 1e-9, "main_id": m.main_id,
         "people": [{"id": p.id, "label": p.label, "confidence": p.confidence, "detection": p.detection_confidence,
                     "roi": [p.roi.x_offset, p.roi.y_offset, p.roi.width, p.roi.height]} for p in m.people]}), 10)
    for face in FACES:
        listener.create_subscription(Expression, f"/humans/faces/{face}/expression",
                                     lambda m, f=face: heard["expressions"].append([f, m.expression]), 10)
    emotion = PerceptionNode(parameter_overrides=[
        Parameter("faces.source", value="ros4hri"), Parameter("use_audio", value=False),
        Parameter("explanation.enabled", value=False), Parameter("qos.reliable", value=True)])
    executor = rclpy.executors.SingleThreadedExecutor()
    for node in (stub, listener, emotion):
        executor.add_node(node)

    def spin(seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.01)

    spin(1.0)  # the emotion node must see that faces are published already
    bring_up(emotion)
    spin(1.0)
    background = scene("grass", 480, 640)
    faces = {f: crop(mirror=i == 1) for i, f in enumerate(FACES)}
    for i in range(60):  # 4 s at 15 fps, twice real time
        header = Header(stamp=to_stamp(1000.0 + i / 15), frame_id="camera")
        tracked.publish(IdsList(header=header, ids=list(FACES)))
        for face, (xmin, ymin, xmax, ymax) in FACES.items():
            rois[face].publish(NormalizedRegionOfInterest2D(header=header, xmin=xmin, ymin=ymin, xmax=xmax, ymax=ymax, c=0.9))
            crops[face].publish(rgb_to_image(faces[face], "rgb8", header))
        camera.publish(rgb_to_image(background, "rgb8", header))
        spin(1 / 30)
    spin(2.0)
    heard["tracked_publishers"] = emotion.count_publishers("/humans/faces/tracked")
    heard["crops_read"] = emotion._external_faces.crops_read
    shut_down([emotion])
    with open(out, "w") as handle:
        json.dump(heard, handle)
    for node in (stub, listener):
        node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
