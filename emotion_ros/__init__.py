"""emotion_ros: real-time multimodal emotion understanding for ROS 2 robots."""

__version__ = "0.1.0"
