"""A ROS node that ticks the example HRI tree and publishes the chosen behaviour."""

from __future__ import annotations

import rclpy
from std_msgs.msg import String

from emotion_ros.behaviours.emotion_listener import EmotionListener
from emotion_ros.behaviours.hri_tree import build_hri_tree
from emotion_ros.nodes.runner import ros_session


def main(args=None) -> int:
    with ros_session(args) as stop:
        node = rclpy.create_node("hri_behaviour")
        try:
            run(node, stop)
        finally:
            node.destroy_node()
    return 0


def run(node, stop) -> None:
    """Tick the tree at 10 Hz until ``stop`` is set (SIGINT/SIGTERM) or ROS shuts down."""
    publisher = node.create_publisher(String, "robot/behaviour", 10)

    def command(action: str) -> None:
        node.get_logger().info(f"behaviour: {action}")
        publisher.publish(String(data=action))

    EmotionListener(node)
    tree = build_hri_tree(command)
    node.create_timer(0.1, tree.tick)
    while rclpy.ok() and not stop.is_set():
        rclpy.spin_once(node, timeout_sec=0.1)
