"""A separate process that listens to `speech` and the emotion node's states and, once a state
carries the second utterance heard, asks ~/explain what the person said, until an answer is
about a window that carried the words (a newer window may not: words last as long as they
overlap a window); writes what it got as JSON.

Usage: python heard_words.py OUT.json SECONDS QUESTION
"""

import sys
import time

import rclpy
from emotion_msgs.msg import EmotionState
from emotion_msgs.srv import Explain
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

from emotion_ros.io.stamps import to_seconds
from ros_helpers import write_and_shut_down

TRIES = 5


def main():
    out, seconds, question = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    rclpy.init()
    node = rclpy.create_node("heard_words")
    result = {"speech": [], "said": {}, "answers": []}  # said: window end [s] -> the words its state carried
    reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(String, "/speech", lambda m: result["speech"].append(m.data), reliable)
    node.create_subscription(EmotionState, "/emotion/state",
                             lambda m: result["said"].__setitem__(str(round(to_seconds(m.header.stamp), 3)), m.utterance), reliable)
    client = node.create_client(Explain, "/emotion/explain")
    pending, deadline = None, time.monotonic() + seconds

    def about_words() -> bool:
        return any(result["said"].get(a["window"]) for a in result["answers"])

    while time.monotonic() < deadline and not about_words() and len(result["answers"]) < TRIES:
        rclpy.spin_once(node, timeout_sec=0.05)
        # the first utterance may have begun before the microphone's subscribers matched: ask
        # about windows that carry the second one (a whole loop of the clip)
        second = len(result["speech"]) >= 2 and any(result["speech"][1] in words for words in result["said"].values())
        if pending is None and second and client.service_is_ready():
            pending = client.call_async(Explain.Request(question=question, max_new_tokens=48))
        if pending is not None and pending.done():
            response = pending.result()
            result["answers"].append({"success": response.success, "text": response.explanation.text,
                                      "window": str(round(to_seconds(response.explanation.header.stamp), 3))})
            pending = None
    # the states of the answered windows may arrive after the answers
    end = time.monotonic() + 2.0
    while time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.05)
    write_and_shut_down(out, result, node)


if __name__ == "__main__":
    main()
