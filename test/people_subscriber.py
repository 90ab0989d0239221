"""A separate process that listens to emotion/people and emotion/state, asks ~/explain about the
second person it sees, and writes JSON (for test_perception_node.py).

Usage: python people_subscriber.py OUT.json SECONDS
"""

import sys

import rclpy
from emotion_msgs.msg import EmotionState, PersonEmotionArray
from emotion_msgs.srv import Explain
from rclpy.qos import QoSProfile, ReliabilityPolicy

from emotion_ros.io.stamps import to_seconds
from ros_helpers import listen_and_ask, write_and_shut_down


def people_dict(msg):
    return {"stamp": to_seconds(msg.header.stamp), "main_id": msg.main_id, "voice_attributed": msg.voice_attributed,
            "labels": list(msg.labels),
            "people": [{"id": p.id, "roi": [p.roi.x_offset, p.roi.y_offset, p.roi.width, p.roi.height], "label": p.label,
                        "confidence": p.confidence, "seen": p.seen, "detection_confidence": p.detection_confidence,
                        "tracked_for": p.tracked_for.sec + p.tracked_for.nanosec * 1e-9, "speaking": p.speaking}
                       for p in msg.people]}


def main():
    out, seconds = sys.argv[1], float(sys.argv[2])
    rclpy.init()
    node = rclpy.create_node("people_test_subscriber")
    result = {"people": [], "states": [], "explain": None}
    reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(PersonEmotionArray, "/emotion/people", lambda m: result["people"].append(people_dict(m)), reliable)
    node.create_subscription(EmotionState, "/emotion/state", lambda m: result["states"].append(
        {"stamp": to_seconds(m.header.stamp), "person_id": m.person_id, "label": m.label, "faces": m.faces,
         "person_visible": m.person_visible, "speaker_id": m.speaker_id}), reliable)
    client = node.create_client(Explain, "/emotion/explain")
    asked = []

    def request_for():
        others = [p["id"] for m in result["people"][-1:] for p in m["people"][1:]]
        if not others:
            return None
        asked.append(others[0])
        return Explain.Request(max_new_tokens=6, person_id=others[0])

    def answer(response):
        result["explain"] = {"asked": asked[-1], "success": response.success, "message": response.message,
                             "person_id": response.explanation.person_id, "text": response.explanation.text}

    listen_and_ask(node, client, seconds, request_for, answer)
    write_and_shut_down(out, result, node)

if __name__ == "__main__":
    main()
