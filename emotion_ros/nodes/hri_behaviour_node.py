"""A ROS node that ticks the example HRI tree and publishes the chosen behaviour."""

from __future__ import annotations

import rclpy
from rclpy.executors import ExternalShutdownException
from std_msgs.msg import String

from emotion_ros.behaviours.emotion_listener import EmotionListener
from emotion_ros.behaviours.hri_tree import build_hri_tree


def main(args=None) -> int:
    rclpy.init(args=args)
    node = rclpy.create_node("hri_behaviour")
    publisher = node.create_publisher(String, "robot/behaviour", 10)

    def command(action: str) -> None:
        node.get_logger().info(f"behaviour: {action}")
        publisher.publish(String(data=action))

    EmotionListener(node)
    tree = build_hri_tree(command)
    node.create_timer(0.1, tree.tick)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
