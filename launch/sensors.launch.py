"""Camera + microphone drivers and the window monitor, with config/sensors.yaml.

  ros2 launch emotion_ros sensors.launch.py camera_source:=0 namespace:=robot1

The nodes are lifecycle nodes that configure and activate themselves (parameter
`autostart`); set autostart:=false to leave them to a lifecycle manager.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    params = PathJoinSubstitution([FindPackageShare("emotion_ros"), "config", "sensors.yaml"])
    namespace = LaunchConfiguration("namespace")
    autostart = LaunchConfiguration("autostart")
    common = {"autostart": autostart}
    return LaunchDescription(
        [
            DeclareLaunchArgument("namespace", default_value="", description="Namespace of all nodes and topics."),
            DeclareLaunchArgument("autostart", default_value="true", description="Configure and activate the nodes."),
            DeclareLaunchArgument("camera_source", default_value="0", description="OpenCV device index, path or file."),
            DeclareLaunchArgument("microphone_device", default_value="", description="PortAudio input device."),
            Node(
                package="emotion_ros",
                executable="camera_node",
                name="camera",
                namespace=namespace,
                parameters=[params, common, {"source": ParameterValue(LaunchConfiguration("camera_source"), value_type=str)}],
            ),
            Node(
                package="emotion_ros",
                executable="microphone_node",
                name="microphone",
                namespace=namespace,
                parameters=[params, common, {"device": ParameterValue(LaunchConfiguration("microphone_device"), value_type=str)}],
            ),
            Node(
                package="emotion_ros",
                executable="window_monitor_node",
                name="window_monitor",
                namespace=namespace,
                parameters=[params, common],
            ),
        ]
    )
