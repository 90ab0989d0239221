"""A separate process that asks the emotion node's ~/explain several questions in turn, once
states arrive, and writes the answers as JSON.

Usage: python explain_questions.py OUT.json SECONDS QUESTION...
"""

import sys
import time

import rclpy
from emotion_msgs.msg import EmotionState
from emotion_msgs.srv import Explain
from rclpy.qos import QoSProfile, ReliabilityPolicy

from ros_helpers import write_and_shut_down


def main():
    out, seconds, questions = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    rclpy.init()
    node = rclpy.create_node("explain_questions")
    result = {"states": [], "answers": []}
    reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(EmotionState, "/emotion/state", lambda m: result["states"].append(
        {"label": m.label, "person_visible": m.person_visible, "speaking": m.speaking}), reliable)
    client = node.create_client(Explain, "/emotion/explain")
    pending, deadline = None, time.monotonic() + seconds
    while time.monotonic() < deadline and len(result["answers"]) < len(questions):
        rclpy.spin_once(node, timeout_sec=0.05)
        if pending is None and result["states"] and client.service_is_ready():  # one question at a time
            pending = client.call_async(Explain.Request(question=questions[len(result["answers"])], max_new_tokens=48))
        if pending is not None and pending.done():
            response = pending.result()
            result["answers"].append({"question": questions[len(result["answers"])], "success": response.success,
                                      "message": response.message, "text": response.explanation.text,
                                      "label": response.explanation.label})
            pending = None
    write_and_shut_down(out, result, node)


if __name__ == "__main__":
    main()
