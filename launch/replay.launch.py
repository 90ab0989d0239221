"""Play a media file as camera + microphone topics into the emotion node.

  ros2 launch emotion_ros replay.launch.py path:=/data/interview.mp4 rate:=1.0
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    params = PathJoinSubstitution([FindPackageShare("emotion_ros"), "config", "sensors.yaml"])
    emotion = PathJoinSubstitution([FindPackageShare("emotion_ros"), "config", "emotion.yaml"])
    namespace = LaunchConfiguration("namespace")
    return LaunchDescription(
        [
            DeclareLaunchArgument("path", description="Media file to play."),
            DeclareLaunchArgument("rate", default_value="1.0", description="1.0 = real time, 0 = as fast as possible."),
            DeclareLaunchArgument("loop", default_value="false", description="Play the file again at its end."),
            DeclareLaunchArgument("namespace", default_value="", description="Namespace of all nodes and topics."),
            DeclareLaunchArgument("model", default_value="tiny", description="Checkpoint directory or preset."),
            Node(
                package="emotion_ros",
                executable="file_source_node",
                name="file_source",
                namespace=namespace,
                parameters=[
                    params,
                    {
                        "path": LaunchConfiguration("path"),
                        "rate": LaunchConfiguration("rate"),
                        "loop": LaunchConfiguration("loop"),
                    },
                ],
            ),
            Node(
                package="emotion_ros",
                executable="emotion_node",
                name="emotion",
                namespace=namespace,
                parameters=[emotion, {"model": LaunchConfiguration("model")}],
            ),
        ]
    )
