"""Play a media file as camera + microphone topics into the emotion node.

  ros2 launch emotion_ros replay.launch.py path:=/data/interview.mp4 rate:=1.0

The file waits (wait_for_subscribers, up to a minute) until the emotion node, which subscribes
once its model is loaded, listens. rate:=0 (as fast as possible) publishes and subscribes
reliably, so no message is lost to a full queue. A rosbag2 bag is played into a running node
with `emotion-ros replay BAG --publish` (see the README).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    params = PathJoinSubstitution([FindPackageShare("emotion_ros"), "config", "sensors.yaml"])
    emotion = PathJoinSubstitution([FindPackageShare("emotion_ros"), "config", "emotion.yaml"])
    namespace = LaunchConfiguration("namespace")
    as_fast_as_possible = PythonExpression(["float('", LaunchConfiguration("rate"), "') == 0"])
    return LaunchDescription(
        [
            DeclareLaunchArgument("path", description="Media file to play."),
            DeclareLaunchArgument("rate", default_value="1.0", description="1.0 = real time, 0 = as fast as possible."),
            DeclareLaunchArgument("loop", default_value="false", description="Play the file again at its end."),
            DeclareLaunchArgument("namespace", default_value="", description="Namespace of all nodes and topics."),
            DeclareLaunchArgument("model", default_value="tiny", description="Checkpoint directory or preset."),
            DeclareLaunchArgument("wait_for_subscribers", default_value="60.0",
                                  description="Longest wait for the emotion node to subscribe before playing [s]."),
            Node(
                package="emotion_ros",
                executable="file_source_node",
                name="file_source",
                namespace=namespace,
                parameters=[
                    params,
                    {
                        "path": ParameterValue(LaunchConfiguration("path"), value_type=str),
                        "rate": LaunchConfiguration("rate"),
                        "loop": LaunchConfiguration("loop"),
                        "wait_for_subscribers": LaunchConfiguration("wait_for_subscribers"),
                        "reliable": as_fast_as_possible,
                    },
                ],
            ),
            Node(
                package="emotion_ros",
                executable="emotion_node",
                name="emotion",
                namespace=namespace,
                parameters=[emotion, {"model": ParameterValue(LaunchConfiguration("model"), value_type=str),
                                      "qos.reliable": as_fast_as_possible}],
            ),
        ]
    )
