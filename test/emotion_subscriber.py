"""A separate process that listens to the emotion node, asks ~/explain once, and writes JSON.

Usage: python emotion_subscriber.py OUT.json SECONDS
"""

import sys

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from emotion_msgs.msg import EmotionState, Explanation
from emotion_msgs.srv import Explain
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

from emotion_ros.io.stamps import to_seconds
from ros_helpers import listen_and_ask, write_and_shut_down


def state_dict(msg):
    return {
        "stamp": to_seconds(msg.header.stamp), "window_start": to_seconds(msg.window_start), "frame_id": msg.header.frame_id,
        "labels": list(msg.labels), "scores": list(msg.scores), "label": msg.label, "confidence": msg.confidence,
        "valence": msg.valence, "arousal": msg.arousal, "speaking": msg.speaking,
        "speaking_probability": msg.speaking_probability, "video_present": msg.video_present,
        "audio_present": msg.audio_present, "model_id": msg.model_id, "latency": msg.latency,
        "text_present": msg.text_present, "utterance": msg.utterance,
    }


def explanation_dict(msg):
    return {"stamp": to_seconds(msg.header.stamp), "text": msg.text, "tokens": msg.tokens_generated,
            "label": msg.label, "question": msg.question, "model_id": msg.model_id}


def main():
    out, seconds = sys.argv[1], float(sys.argv[2])
    rclpy.init()
    node = rclpy.create_node("emotion_test_subscriber")
    result = {"states": [], "events": [], "explanations": [], "diagnostics": [], "explain": None}
    reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    node.create_subscription(EmotionState, "/emotion/state", lambda m: result["states"].append(state_dict(m)), reliable)
    node.create_subscription(EmotionState, "/emotion/event", lambda m: result["events"].append(state_dict(m)), latched)
    node.create_subscription(Explanation, "/emotion/explanation", lambda m: result["explanations"].append(explanation_dict(m)), reliable)
    node.create_subscription(
        DiagnosticArray, "/diagnostics",
        lambda m: result["diagnostics"].extend({"name": s.name, "level": int.from_bytes(s.level, "little") if isinstance(s.level, bytes) else int(s.level), "message": s.message} for s in m.status),
        reliable,
    )
    client = node.create_client(Explain, "/emotion/explain")

    def request_for():
        return Explain.Request(question="Why does the person feel this way?", max_new_tokens=6) if len(result["states"]) >= 2 else None

    def answer(response):
        result["explain"] = {"success": response.success, "message": response.message, **explanation_dict(response.explanation)}

    listen_and_ask(node, client, seconds, request_for, answer)
    write_and_shut_down(out, result, node)

if __name__ == "__main__":
    main()
