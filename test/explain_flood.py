"""A separate process that abuses ~/explain (for test_node_integration.py) and writes what came back.

1. one call with max_new_tokens 4294967295;
2. a 100 kB and a 1 MB question;
3. N calls at once.
Usage: python explain_flood.py OUT.json N
"""

import sys
import time

import rclpy
from emotion_msgs.srv import Explain
from rclpy.qos import QoSProfile, ReliabilityPolicy

from ros_helpers import write_and_shut_down


def wait(node, futures, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not all(f.done() for f in futures):
        rclpy.spin_once(node, timeout_sec=0.05)
    return [{"success": f.result().success, "message": f.result().message, "tokens": f.result().explanation.tokens_generated}
            if f.done() else None for f in futures]


def main():
    out, count = sys.argv[1], int(sys.argv[2])
    rclpy.init()
    node = rclpy.create_node("explain_flood")
    # a burst needs room for its answers too: the default profile keeps 10
    client = node.create_client(Explain, "/emotion/explain", qos_profile=QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
    if not client.wait_for_service(timeout_sec=30):
        raise SystemExit("no /emotion/explain service")
    result = {}
    while True:  # until the node has perceived a window
        answer = wait(node, [client.call_async(Explain.Request(max_new_tokens=2))], 30)[0]
        if answer is None or answer["success"] or "no window" not in answer["message"]:
            break
        time.sleep(0.2)
    result["huge_budget"] = wait(node, [client.call_async(Explain.Request(max_new_tokens=4294967295))], 60)[0]
    result["long_questions"] = wait(node, [client.call_async(Explain.Request(question="why? " * (n // 5)))
                                           for n in (100_000, 1_000_000)], 30)
    result["flood"] = wait(node, [client.call_async(Explain.Request(question=f"call {i}", max_new_tokens=4))
                                  for i in range(count)], 60)
    write_and_shut_down(out, result, node)


if __name__ == "__main__":
    main()
