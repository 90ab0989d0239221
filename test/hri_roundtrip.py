"""Publishes two windows of people through Rep155Faces and listens to the REP-155 topics over
DDS, in a process that can import an hri_msgs package; writes what it heard as JSON (for
test_rep155.py).

Usage: python hri_roundtrip.py OUT.json
"""

import json
import sys
import time

import numpy as np
import rclpy
from hri_msgs.msg import Expression, IdsList, NormalizedRegionOfInterest2D

from emotion_ros.model.label_sets import FER_LABELS
from emotion_ros.nodes.rep155_faces import Rep155Faces, faces_published_elsewhere
from emotion_ros.runtime.estimate import EmotionEstimate, PersonEstimate

LABELS = FER_LABELS


def window(t_end, people):
    """people: (track, label, box) each, in a 640 x 480 image."""
    persons = []
    for i, (track, label, box) in enumerate(people):
        scores = np.full(len(LABELS), 0.05, np.float32)
        scores[LABELS.index(label)] = 0.7
        persons.append(PersonEstimate(i, np.array(box, float), 1.0, scores, -0.4, 0.3, track, 1.0, 0.95))
    return EmotionEstimate(t_end - 2, t_end, LABELS, persons[0].scores, -0.4, 0.3, 0.0, True, True, reads_faces=True,
                           people=tuple(persons), image_size=(480, 640))


def main():
    out = sys.argv[1]
    rclpy.init()
    emotion, listener = rclpy.create_node("emotion"), rclpy.create_node("hri_listener")
    heard = {"tracked": [], "expression": [], "roi": [], "elsewhere_before": faces_published_elsewhere(emotion)}
    listener.create_subscription(IdsList, "/humans/faces/tracked", lambda m: heard["tracked"].append(list(m.ids)), 10)
    for face in ("f1", "f2"):
        listener.create_subscription(Expression, f"/humans/faces/{face}/expression", lambda m, face=face: heard["expression"].append(
            {"face": face, "expression": m.expression, "valence": m.valence, "arousal": m.arousal, "confidence": m.confidence,
             "stamp": m.header.stamp.sec + m.header.stamp.nanosec * 1e-9}), 10)
        listener.create_subscription(NormalizedRegionOfInterest2D, f"/humans/faces/{face}/roi", lambda m, face=face: heard["roi"].append(
            {"face": face, "box": [m.xmin, m.ymin, m.xmax, m.ymax], "c": m.c}), 10)
    faces = Rep155Faces(emotion, publish_faces="always")

    def spin(seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            rclpy.spin_once(listener, timeout_sec=0.02)

    spin(1.5)  # discovery
    two = window(10.0, [(1, "sad", (64, 48, 192, 240)), (2, "surprise", (320, 120, 480, 360))])
    for _ in range(3):
        faces.publish(two, "camera")
        spin(0.3)
    heard["publishers_of_f2_with_two"] = emotion.count_publishers("/humans/faces/f2/expression")
    faces.publish(window(10.5, [(1, "fear", (70, 48, 198, 240))]), "camera")  # f2 left
    spin(0.5)
    heard["publishers_of_f2_after"] = emotion.count_publishers("/humans/faces/f2/expression")
    heard["elsewhere_seen_by_listener"] = faces_published_elsewhere(listener)
    faces.close()
    with open(out, "w") as handle:
        json.dump(heard, handle)
    emotion.destroy_node()
    listener.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
