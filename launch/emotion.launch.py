"""Camera + microphone + the emotion node (perception and explanation).

  ros2 launch emotion_ros emotion.launch.py camera_source:=0 model:=tiny
  ros2 launch emotion_ros emotion.launch.py use_sensors:=false   # perception on existing topics
  ros2 launch emotion_ros emotion.launch.py transcribe:=false    # the robot runs its own recogniser

Remap `image`/`audio` with the launch arguments to use a robot's own drivers. The nodes are
lifecycle nodes that configure and activate themselves (`autostart`).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    sensors = PathJoinSubstitution([FindPackageShare("emotion_ros"), "config", "sensors.yaml"])
    emotion = PathJoinSubstitution([FindPackageShare("emotion_ros"), "config", "emotion.yaml"])
    namespace = LaunchConfiguration("namespace")
    autostart = {"autostart": LaunchConfiguration("autostart")}
    remap = [("image", LaunchConfiguration("image_topic")), ("audio", LaunchConfiguration("audio_topic"))]
    with_sensors = IfCondition(LaunchConfiguration("use_sensors"))
    return LaunchDescription(
        [
            DeclareLaunchArgument("namespace", default_value="", description="Namespace of all nodes and topics."),
            DeclareLaunchArgument("autostart", default_value="true", description="Configure and activate the nodes."),
            DeclareLaunchArgument("use_sensors", default_value="true", description="Start the camera and microphone drivers."),
            DeclareLaunchArgument("camera_source", default_value="0", description="OpenCV device index, path or file."),
            DeclareLaunchArgument("microphone_device", default_value="", description="PortAudio input device."),
            DeclareLaunchArgument("image_topic", default_value="image", description="Camera topic."),
            DeclareLaunchArgument("audio_topic", default_value="audio", description="Microphone topic."),
            DeclareLaunchArgument("model", default_value="tiny", description="Checkpoint directory or preset."),
            DeclareLaunchArgument("explain", default_value="true", description="Run the LLaMA head."),
            DeclareLaunchArgument("transcribe", default_value="true",
                                  description="Run the speech recogniser on the audio (publishes `speech`)."),
            DeclareLaunchArgument("use_sim_time", default_value="false",
                                  description="Follow /clock (a bag played with its clock, a simulator)."),
            DeclareLaunchArgument("reliable", default_value="false",
                                  description="Reliable sensor subscriptions (a bag played faster than real time)."),
            Node(
                package="emotion_ros", executable="camera_node", name="camera", namespace=namespace,
                parameters=[sensors, autostart, {"source": ParameterValue(LaunchConfiguration("camera_source"), value_type=str)}],
                remappings=remap, condition=with_sensors,
            ),
            Node(
                package="emotion_ros", executable="microphone_node", name="microphone", namespace=namespace,
                parameters=[sensors, autostart, {"device": ParameterValue(LaunchConfiguration("microphone_device"), value_type=str)}],
                remappings=remap, condition=with_sensors,
            ),
            Node(
                package="emotion_ros", executable="speech_recognizer_node", name="speech_recognizer", namespace=namespace,
                parameters=[sensors, autostart], remappings=remap,
                condition=IfCondition(LaunchConfiguration("transcribe")),
            ),
            Node(
                package="emotion_ros", executable="emotion_node", name="emotion", namespace=namespace,
                parameters=[emotion, autostart, {"model": ParameterValue(LaunchConfiguration("model"), value_type=str),
                                                 "explanation.enabled": LaunchConfiguration("explain"),
                                                 "use_sim_time": LaunchConfiguration("use_sim_time"),
                                                 "qos.reliable": LaunchConfiguration("reliable")}],
                remappings=remap,
            ),
        ]
    )
