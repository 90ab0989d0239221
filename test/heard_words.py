"""A separate process that listens to `speech` and the emotion node's states and, once a state
carries the second utterance heard, asks ~/explain what the person said; writes what it got as JSON.

Usage: python heard_words.py OUT.json SECONDS QUESTION
"""

import sys
import time

import rclpy
from emotion_msgs.msg import EmotionState
from emotion_msgs.srv import Explain
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

from ros_helpers import write_and_shut_down


def main():
    out, seconds, question = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    rclpy.init()
    node = rclpy.create_node("heard_words")
    result = {"speech": [], "utterances": [], "answer": None}
    reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(String, "/speech", lambda m: result["speech"].append(m.data), reliable)
    node.create_subscription(EmotionState, "/emotion/state",
                             lambda m: m.utterance and result["utterances"].append(m.utterance), reliable)
    client = node.create_client(Explain, "/emotion/explain")
    pending, deadline = None, time.monotonic() + seconds
    while time.monotonic() < deadline and result["answer"] is None:
        rclpy.spin_once(node, timeout_sec=0.05)
        # the first utterance may have begun before the microphone's subscribers matched: ask
        # about a window that carries the second one (a whole loop of the clip)
        second = len(result["speech"]) >= 2 and any(result["speech"][1] in u for u in result["utterances"])
        if pending is None and second and client.service_is_ready():
            pending = client.call_async(Explain.Request(question=question, max_new_tokens=48))
        if pending is not None and pending.done():
            response = pending.result()
            result["answer"] = {"success": response.success, "text": response.explanation.text}
    write_and_shut_down(out, result, node)


if __name__ == "__main__":
    main()
